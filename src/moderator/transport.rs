//! The HTTP transport shared by the API adapters and the appeal prober: one
//! pooled client, responses classified into success, transient failure (retry,
//! honouring `Retry-After`) and permanent failure — and the one point where a
//! response enters the program.
//!
//! Timeouts and retries are the runner's; this module only says what a response
//! means. Two rules keep keys and case texts with the system under audit:
//! - **No redirect leaves the origin.** A redirect to the same scheme, host and
//!   port is followed with every header; any other is a permanent failure naming
//!   the status and the other origin (never its path or query), so neither a key
//!   (headers, `?key=`) nor a case text is sent there and nothing it answers is
//!   taken as the audited system's answer. No `Referer` is sent.
//! - **Secrets are redacted as a response is read**, before anything parses it:
//!   every string of a JSON body (keys included, whatever its escaping), any
//!   other body byte for byte, and the header values kept, in each form a key
//!   can take (as is, JSON-escaped, percent- or form-encoded). Nothing later —
//!   notice fields, scores, error messages, the cache, the journal — can repeat
//!   a key the server echoed.

use std::fmt;
use std::time::Duration;

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;

use super::AttemptError;
use super::env::SECRET_MARKER;

/// Largest response body read.
const MAX_BODY_BYTES: usize = 16 << 20;
/// Connection set-up limit (the runner's timeout bounds the whole attempt).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest chain of same-origin redirects followed.
const MAX_REDIRECTS: usize = 10;

/// A secret (API key, token) read from the environment. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value; [`super::env`] checks values read from the environment.
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What came back from the server, with every secret already redacted.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

/// Finds every form of a set of secrets in text.
#[derive(Debug, Clone)]
struct Redactor {
    /// `None` when there is nothing to redact.
    forms: Option<AhoCorasick>,
}

impl Redactor {
    fn new(secrets: &[Secret]) -> Result<Self, String> {
        let mut forms: Vec<String> = secrets
            .iter()
            .filter(|s| !s.expose().is_empty())
            .flat_map(|s| secret_forms(s.expose()))
            .collect();
        forms.sort();
        forms.dedup();
        if forms.is_empty() {
            return Ok(Redactor { forms: None });
        }
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&forms)
            .map_err(|e| format!("cannot build the redaction of secrets: {e}"))?;
        Ok(Redactor { forms: Some(matcher) })
    }

    fn text(&self, text: &str) -> String {
        match &self.forms {
            Some(m) if m.is_match(text) => m.replace_all(text, &vec![SECRET_MARKER; m.patterns_len()]),
            _ => text.to_string(),
        }
    }

    fn bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        match &self.forms {
            Some(m) if m.is_match(&bytes) => {
                m.replace_all_bytes(&bytes, &vec![SECRET_MARKER.as_bytes(); m.patterns_len()])
            }
            _ => bytes,
        }
    }

    /// Redacts every string, object key and number of a JSON value; says whether anything changed.
    fn json(&self, value: &mut Value) -> bool {
        let Some(m) = &self.forms else { return false };
        match value {
            Value::String(s) if m.is_match(s.as_str()) => {
                *s = self.text(s);
                true
            }
            Value::Number(n) if m.is_match(&n.to_string()) => {
                let text = self.text(&n.to_string());
                *value = Value::String(text);
                true
            }
            Value::Array(items) => {
                let mut changed = false;
                for item in items {
                    changed |= self.json(item);
                }
                changed
            }
            Value::Object(map) => {
                let mut changed = map.keys().any(|k| m.is_match(k.as_str()));
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    changed |= self.json(&mut item);
                    map.insert(self.text(&key), item);
                }
                changed
            }
            _ => false,
        }
    }

    /// A body without secrets: a JSON body string by string (whatever escapes
    /// spell the secret), then every body byte for byte.
    fn body(&self, bytes: Vec<u8>) -> Vec<u8> {
        if self.forms.is_none() {
            return bytes;
        }
        let bytes = match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut value) => {
                if self.json(&mut value) {
                    serde_json::to_vec(&value).unwrap_or_default()
                } else {
                    bytes
                }
            }
            Err(_) => bytes,
        };
        self.bytes(bytes)
    }
}

/// Every form in which `secret` can appear in a response or a message: as is,
/// JSON-escaped, percent-encoded (either case of hex digits), form-encoded, and
/// as a URL parser writes it in a query or a path.
fn secret_forms(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap_or_default();
    let percent = super::env::percent_encode(secret);
    let percent_lower: String = {
        let mut out = String::with_capacity(percent.len());
        let mut hex_left = 0;
        for c in percent.chars() {
            if c == '%' {
                hex_left = 2;
                out.push(c);
            } else if hex_left > 0 {
                hex_left -= 1;
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    };
    let mut forms = vec![
        secret.to_string(),
        json.get(1..json.len().saturating_sub(1))
            .unwrap_or_default()
            .to_string(),
        percent,
        percent_lower,
    ];
    if let Ok(mut url) = reqwest::Url::parse("http://redaction.invalid/") {
        url.query_pairs_mut().append_pair("k", secret);
        if let Some(form) = url.query().and_then(|q| q.strip_prefix("k=")) {
            forms.push(form.to_string());
        }
        url.set_query(Some(secret));
        if let Some(query) = url.query() {
            forms.push(query.to_string());
        }
        url.set_query(None);
        url.set_path(secret);
        forms.push(url.path().trim_start_matches('/').to_string());
    }
    forms.retain(|f| !f.is_empty());
    forms
}

/// An HTTP client that keeps to the origin it is sent to and never repeats a secret.
pub struct Transport {
    client: reqwest::Client,
    redactor: Redactor,
}

impl Transport {
    pub fn new(secrets: Vec<Secret>) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("modaudit/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(256)
            .redirect(reqwest::redirect::Policy::custom(same_origin_only))
            .referer(false)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Transport {
            client,
            redactor: Redactor::new(&secrets)?,
        })
    }

    /// Replaces every form of every secret in `text` with `[REDACTED]`.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.text(text)
    }

    /// POSTs a JSON body and reads the whole response.
    pub async fn post_json(
        &self,
        url: impl reqwest::IntoUrl,
        headers: &[(String, String)],
        body: &Value,
    ) -> Result<Response, AttemptError> {
        self.send(self.client.post(url).json(body), headers).await
    }

    /// POSTs `body` exactly as given, as `content_type` (for a body that is
    /// signed, such as AWS's), and reads the whole response.
    pub async fn post_bytes(
        &self,
        url: impl reqwest::IntoUrl,
        headers: &[(String, String)],
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Response, AttemptError> {
        let request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        self.send(request, headers).await
    }

    /// GETs a resource and reads the whole response.
    pub async fn get(&self, url: &str, headers: &[(String, String)]) -> Result<Response, AttemptError> {
        self.send(self.client.get(url), headers).await
    }

    async fn send(
        &self,
        mut request: reqwest::RequestBuilder,
        headers: &[(String, String)],
    ) -> Result<Response, AttemptError> {
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut response = request.send().await.map_err(|e| self.send_error(&e))?;
        let status = response.status().as_u16();
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| self.redactor.text(v))
        };
        if response.status().is_redirection() {
            return Err(self.redirect_error(status, header(reqwest::header::LOCATION), response.url()));
        }
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let retry_after = header(reqwest::header::RETRY_AFTER).and_then(|v| parse_retry_after(&v, chrono::Utc::now()));
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(AttemptError::permanent(format!(
                            "the response body exceeds {} MiB",
                            MAX_BODY_BYTES >> 20
                        )));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(AttemptError::transient(self.redact(&format!(
                        "the connection was cut before the response was complete (HTTP {status}): {}",
                        error_chain(&e.without_url())
                    ))));
                }
            }
        }
        Ok(Response {
            status,
            content_type,
            retry_after,
            body: self.redactor.body(bytes),
        })
    }

    /// The permanent failure for a redirect that was not followed: its status
    /// and where it led, as an origin (never a path or query).
    fn redirect_error(&self, status: u16, location: Option<String>, from: &reqwest::Url) -> AttemptError {
        let target = location.as_deref().map(|l| from.join(l));
        let message = match target {
            Some(Ok(to)) if to.origin() != from.origin() => format!(
                "HTTP {status} {}: a redirect to another origin ({}), not followed (the key and the text stay with the audited system)",
                reason_phrase(status),
                to.origin().ascii_serialization()
            ),
            Some(Ok(_)) => format!(
                "HTTP {status} {}: more than {MAX_REDIRECTS} redirects within {}",
                reason_phrase(status),
                from.origin().ascii_serialization()
            ),
            Some(Err(_)) => format!(
                "HTTP {status} {}: a redirect to an unreadable location, not followed",
                reason_phrase(status)
            ),
            None => format!("HTTP {status} {}: a redirect without a location", reason_phrase(status)),
        };
        AttemptError::permanent(self.redact(&message))
    }

    fn send_error(&self, error: &reqwest::Error) -> AttemptError {
        let host = error.url().and_then(|u| {
            u.host_str()
                .map(|h| format!("{h}:{}", u.port_or_known_default().unwrap_or(0)))
        });
        let what = if error.is_connect() {
            "cannot connect"
        } else if error.is_timeout() {
            "the request timed out"
        } else if error.is_redirect() {
            "too many redirects"
        } else if error.is_builder() {
            "the request cannot be built"
        } else if error.is_request() || error.is_body() {
            "the request failed"
        } else {
            "no usable response"
        };
        let chain = error_chain(error);
        let message = match host {
            Some(host) => format!("{what} ({host}): {chain}"),
            None => format!("{what}: {chain}"),
        };
        if error.is_redirect() || error.is_builder() {
            AttemptError::permanent(self.redact(&message))
        } else {
            AttemptError::transient(self.redact(&message))
        }
    }

    /// Checks a response for success and parses its JSON body, classifying every
    /// failure: 429 is rate limiting, 408 and 5xx are transient (each with the
    /// server's `Retry-After`), other 4xx permanent; a wrong content type or an unreadable body transient.
    /// JSON is `application/json`, `…+json`, or AWS's `application/x-amz-json-1.0`/`-1.1`.
    pub fn json_body(&self, response: &Response) -> Result<Value, AttemptError> {
        if !(200..300).contains(&response.status) {
            return Err(self.status_error(response));
        }
        let is_json = response
            .content_type
            .as_deref()
            .map(|ct| ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .is_some_and(|ct| {
                ct == "application/json" || ct.ends_with("+json") || ct.starts_with("application/x-amz-json-")
            });
        if !is_json {
            return Err(AttemptError::transient(format!(
                "expected a JSON response but got content type {} ({})",
                excerpt(response.content_type.as_deref().unwrap_or("none").as_bytes()),
                excerpt(&response.body)
            )));
        }
        serde_json::from_slice(&response.body).map_err(|e| {
            AttemptError::transient(format!(
                "the response is not valid JSON ({e}): {}",
                excerpt(&response.body)
            ))
        })
    }

    /// The error for a non-success status.
    pub fn status_error(&self, response: &Response) -> AttemptError {
        let status = response.status;
        let detail = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|v| api_error_message(&v))
            .map_or_else(|| excerpt(&response.body), |m| excerpt(m.as_bytes()));
        let message = format!("HTTP {status} {}: {detail}", reason_phrase(status));
        match status {
            429 => AttemptError {
                message,
                retry: super::Retry::RateLimited(response.retry_after),
            },
            408 | 500..=599 => AttemptError {
                message,
                retry: super::Retry::After(response.retry_after),
            },
            _ => AttemptError::permanent(message),
        }
    }
}

/// The redirect policy: follow within the origin of the first request, stop
/// (leaving the 3xx answer to [`Transport`]) at anything else.
fn same_origin_only(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let same_origin = attempt
        .previous()
        .first()
        .is_some_and(|first| first.origin() == attempt.url().origin());
    if !same_origin || attempt.previous().len() > MAX_REDIRECTS {
        attempt.stop()
    } else {
        attempt.follow()
    }
}

/// A short, single-line excerpt of a (redacted) body for messages.
pub fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX + 1)
        .collect();
    let one_line = one_line.trim();
    let out = if one_line.chars().count() > MAX {
        format!("{}…", one_line.chars().take(MAX).collect::<String>())
    } else {
        one_line.to_string()
    };
    if out.is_empty() { "empty body".into() } else { out }
}

/// The `message` of the common JSON error shapes (`{"error": {"message": …}}`,
/// `{"error": "…"}`, `{"message": …}`, AWS's `{"Message": …}`).
pub fn api_error_message(value: &Value) -> Option<String> {
    let error = value.get("error");
    error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .or_else(|| error.and_then(Value::as_str))
        .or_else(|| value.get("message").and_then(Value::as_str))
        .or_else(|| value.get("Message").and_then(Value::as_str))
        .map(str::to_string)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

fn reason_phrase(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// Parses `Retry-After`: delay-seconds or an HTTP-date (a date in the past means now).
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&chrono::Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 10:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 09:59:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("1e300", now),
            None,
            "too long for a Duration: no panic"
        );
        assert_eq!(parse_retry_after("NaN", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    fn transport() -> Transport {
        Transport::new(vec![Secret::new("sk-SECRET".into())]).unwrap()
    }

    fn response(status: u16, content_type: &str, body: &str) -> Response {
        Response {
            status,
            content_type: Some(content_type.into()),
            retry_after: Some(Duration::from_secs(2)),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn statuses_are_classified() {
        let t = transport();
        let e = t
            .json_body(&response(
                429,
                "application/json",
                r#"{"error":{"message":"slow down"}}"#,
            ))
            .unwrap_err();
        assert_eq!(
            e.retry,
            crate::moderator::Retry::RateLimited(Some(Duration::from_secs(2)))
        );
        assert_eq!(e.message, "HTTP 429 Too Many Requests: slow down");
        assert!(
            t.json_body(&response(503, "text/plain", "busy"))
                .unwrap_err()
                .is_retryable()
        );
        let e = t
            .json_body(&response(401, "application/json", r#"{"error":"bad key"}"#))
            .unwrap_err();
        assert!(!e.is_retryable());
        assert_eq!(e.message, "HTTP 401 Unauthorized: bad key");
        let e = t.json_body(&response(200, "text/html", "<html>")).unwrap_err();
        assert!(e.is_retryable() && e.message.contains("content type text/html"));
        let e = t
            .json_body(&response(200, "application/json; charset=utf-8", "{oops"))
            .unwrap_err();
        assert!(e.message.starts_with("the response is not valid JSON"));
        assert_eq!(
            t.json_body(&response(200, "application/json", r#"{"a":1}"#)).unwrap()["a"],
            1
        );
        assert_eq!(
            t.json_body(&response(200, "application/x-amz-json-1.1", r#"{"a":2}"#))
                .unwrap()["a"],
            2
        );
        let e = t
            .json_body(&response(
                400,
                "application/x-amz-json-1.1",
                r#"{"__type":"InvalidRequestException","Message":"bad segment"}"#,
            ))
            .unwrap_err();
        assert_eq!(e.message, "HTTP 400 Bad Request: bad segment");
    }

    #[test]
    fn secrets_never_show() {
        assert_eq!(format!("{:?}", Secret::new("x".into())), "Secret(***)");
        let t = Transport::new(vec![Secret::new("k\"e/y+1".into())]).unwrap();
        assert_eq!(
            t.redact("a k\"e/y+1 b k%22e%2Fy%2B1 c k%22e%2fy%2b1"),
            "a [REDACTED] b [REDACTED] c [REDACTED]"
        );
        assert_eq!(t.redact("?key=k%22e%2Fy%2B1&x"), "?key=[REDACTED]&x");
    }

    #[test]
    fn a_json_body_is_redacted_string_by_string_whatever_its_escapes() {
        let r = Redactor::new(&[Secret::new("sk-9\"x".into()), Secret::new("12345".into())]).unwrap();
        let body = br#"{"a": "\u0073k-9\"x", "sk-9\"x": [1, 12345, "id 12345"], "n": 0.5}"#.to_vec();
        let clean: Value = serde_json::from_slice(&r.body(body)).unwrap();
        assert_eq!(
            clean,
            serde_json::json!({"a": "[REDACTED]", "[REDACTED]": [1, "[REDACTED]", "id [REDACTED]"], "n": 0.5})
        );
        let untouched = br#"{"a": "nothing to see"}"#.to_vec();
        assert_eq!(r.body(untouched.clone()), untouched);
        assert_eq!(r.body(b"<p>sk-9\"x</p>".to_vec()), b"<p>[REDACTED]</p>");
        assert_eq!(
            r.body(b"<p>sk-9\\\"x</p>".to_vec()),
            b"<p>[REDACTED]</p>",
            "JSON-escaped in a non-JSON body"
        );
    }
}
