//! AWS Signature Version 4 for one request with a body and headers (the
//! `Authorization` header form), as AWS's general reference describes it:
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.
//!
//! A canonical request (method, URI, query, the signed headers lower-cased and
//! sorted, the hex sha256 of the body) is hashed into a string to sign, which
//! is signed with a key derived from the secret access key, the day, the region
//! and the service. The tests check the result against AWS's published
//! Signature Version 4 test suite.
//!
//! Written here rather than taken from `aws-sigv4`: that crate (1.3, the last
//! line that builds with this crate's Rust version) brings about thirty crates
//! (the smithy runtime, `http` 0.2, `time`, a second generation of the hash
//! crates) for the one request shape Comprehend needs; this needs only `hmac`
//! over the `sha2` already used.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::moderator::transport::Secret;

/// The signing algorithm's name, as it appears in the string to sign and the header.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// An AWS identity's credentials (from the standard environment variables).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
    /// Present for temporary credentials; sent (and signed) as `X-Amz-Security-Token`.
    pub session_token: Option<Secret>,
}

/// Where and when a request is signed for.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
    pub time: DateTime<Utc>,
}

/// What a request to sign consists of. `headers` are those sent besides `Host`
/// (which is taken from the URL) and the ones signing adds; all are signed.
pub struct Unsigned<'a> {
    pub method: &'a str,
    pub url: &'a reqwest::Url,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The headers signing adds to a request: `X-Amz-Date`, `X-Amz-Security-Token`
/// when there is a session token, and `Authorization`.
pub fn sign(request: &Unsigned<'_>, credentials: &Credentials, scope: Scope<'_>) -> Vec<(String, String)> {
    let amz_date = scope.time.format("%Y%m%dT%H%M%SZ").to_string();
    let day = scope.time.format("%Y%m%d").to_string();
    let mut added = vec![("X-Amz-Date".to_string(), amz_date.clone())];
    if let Some(token) = &credentials.session_token {
        added.push(("X-Amz-Security-Token".to_string(), token.expose().to_string()));
    }
    let mut signed: Vec<(String, String)> = request
        .headers
        .iter()
        .chain(&added)
        .map(|(name, value)| (name.to_ascii_lowercase(), canonical_header_value(value)))
        .chain(std::iter::once(("host".to_string(), host_header(request.url))))
        .collect();
    signed.sort();
    let signed_names = signed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
    let canonical_headers: String = signed.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_names}\n{}",
        request.method,
        canonical_uri(request.url),
        canonical_query(request.url),
        hex::encode(Sha256::digest(request.body))
    );
    let credential_scope = format!("{day}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{credential_scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let key = signing_key(&credentials.secret_access_key, &day, scope.region, scope.service);
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    added.push((
        "Authorization".to_string(),
        format!(
            "{ALGORITHM} Credential={}/{credential_scope}, SignedHeaders={signed_names}, Signature={signature}",
            credentials.access_key_id.expose()
        ),
    ));
    added
}

/// The key for one day, region and service: HMAC chained from `AWS4` + the secret.
fn signing_key(secret: &Secret, day: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{}", secret.expose()).as_bytes(), day.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// `Host` as the HTTP client sends it: the host, and the port when it is not
/// the scheme's default.
fn host_header(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// A header value as signed: trimmed, runs of spaces made one.
fn canonical_header_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The URL's path with every segment URI-encoded (again: services other than
/// S3 sign the path encoded twice).
fn canonical_uri(url: &reqwest::Url) -> String {
    let path = url.path();
    if path.is_empty() {
        return "/".into();
    }
    path.split('/').map(uri_encode).collect::<Vec<_>>().join("/")
}

/// The query's parameters URI-encoded and sorted by name, then value.
fn canonical_query(url: &reqwest::Url) -> String {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(name, value)| (uri_encode(&name), uri_encode(&value)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes every byte but the unreserved characters (RFC 3986), with
/// upper-case hex digits, as SigV4 requires.
fn uri_encode(value: &str) -> String {
    crate::moderator::env::percent_encode(value)
}

#[cfg(test)]
mod tests {
    //! Vectors from AWS's Signature Version 4 test suite (credentials
    //! `AKIDEXAMPLE`, region `us-east-1`, service `service`, 2015-08-30T12:36:00Z),
    //! once published in the AWS General Reference and kept in the AWS SDKs'
    //! sources (e.g. smithy-rs, `aws-sigv4/aws-sig-v4-test-suite/`).

    use super::*;

    fn credentials(session_token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: Secret::new("AKIDEXAMPLE".into()),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
            session_token: session_token.map(|t| Secret::new(t.into())),
        }
    }

    fn scope() -> Scope<'static> {
        Scope {
            region: "us-east-1",
            service: "service",
            time: DateTime::parse_from_rfc3339("2015-08-30T12:36:00Z")
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    fn authorization(url: &str, headers: &[(&str, &str)], body: &str, session_token: Option<&str>) -> String {
        let url = reqwest::Url::parse(url).unwrap();
        let headers: Vec<(String, String)> = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        let request = Unsigned {
            method: "POST",
            url: &url,
            headers: &headers,
            body: body.as_bytes(),
        };
        let added = sign(&request, &credentials(session_token), scope());
        assert_eq!(added[0], ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()));
        added
            .into_iter()
            .find(|(n, _)| n == "Authorization")
            .map(|(_, v)| v)
            .unwrap()
    }

    const PREFIX: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";

    #[test]
    fn post_vanilla() {
        assert_eq!(
            authorization("https://example.amazonaws.com/", &[], "", None),
            format!(
                "{PREFIX}SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
            )
        );
    }

    #[test]
    fn post_vanilla_query() {
        assert_eq!(
            authorization("https://example.amazonaws.com/?Param1=value1", &[], "", None),
            format!(
                "{PREFIX}SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"
            )
        );
    }

    #[test]
    fn post_x_www_form_urlencoded() {
        assert_eq!(
            authorization(
                "https://example.amazonaws.com/",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                "Param1=value1",
                None
            ),
            format!(
                "{PREFIX}SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
            )
        );
    }

    #[test]
    fn post_sts_header_before() {
        let token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
        assert_eq!(
            authorization("https://example.amazonaws.com/", &[], "", Some(token)),
            format!(
                "{PREFIX}SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"
            )
        );
    }

    #[test]
    fn a_port_that_is_not_the_default_is_part_of_the_signed_host() {
        let with_port = reqwest::Url::parse("http://127.0.0.1:8443/").unwrap();
        assert_eq!(host_header(&with_port), "127.0.0.1:8443");
        let default_port = reqwest::Url::parse("https://comprehend.eu-west-1.amazonaws.com:443/").unwrap();
        assert_eq!(host_header(&default_port), "comprehend.eu-west-1.amazonaws.com");
        assert_eq!(canonical_header_value("  a   b\tc "), "a b c");
    }
}
