//! Values a scenario takes from the environment: keys named by `api_key_env`
//! and `${NAME}` references in URLs and header values.
//!
//! Where a reference sits decides what its value is:
//! - in a header value, or in the query or fragment of a URL (after `?` or
//!   `#`), it is a **secret**: sent, redacted from everything that comes back,
//!   and never shown or fingerprinted (a marker stands in for it);
//! - in the scheme, host, port or path of a URL it names the **endpoint**: it
//!   is shown in descriptions and fingerprinted by value, so that two systems
//!   reached through one scenario never share cached answers or a run. Keys
//!   therefore go in a header or the query string, never in the path.
//!
//! Every value is checked when it is read: a key that could not be sent as it
//! is (a trailing newline, a control or non-ASCII character) is bad input
//! naming the variable, never a request that fails and is retried.

use super::transport::Secret;

/// What stands for a secret wherever a resolved template is shown or hashed.
pub const SECRET_MARKER: &str = "[REDACTED]";

/// The scenario key that names the environment variable holding an API's key.
pub const API_KEY_ENV: &str = "target.api_key_env";

/// A value the environment should hold but does not, or holds in a form that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("environment variable {variable} is not set (the scenario names it in `{key}`)")]
    Missing { variable: String, key: String },
    #[error("environment variable {variable} (named by scenario key `{key}`) {problem}")]
    Invalid {
        variable: String,
        key: String,
        problem: String,
    },
}

/// One environment variable a scenario names, with the key that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvUse {
    pub variable: String,
    /// The scenario key, e.g. `target.headers.Authorization`.
    pub key: String,
    /// Whether the value is a secret (else it names the endpoint).
    pub secret: bool,
}

/// A template with its `${NAME}` references resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The text that is sent.
    pub value: String,
    /// The same text with every secret replaced by [`SECRET_MARKER`]: safe to
    /// show and to fingerprint.
    pub public: String,
    /// The secret values used.
    pub secrets: Vec<Secret>,
}

/// The key an API's adapter reads from the variable `api_key_env` names.
pub fn api_key_use(variable: &str) -> EnvUse {
    EnvUse {
        variable: variable.to_string(),
        key: API_KEY_ENV.to_string(),
        secret: true,
    }
}

/// Reads a key named by `api_key_env` (scenario key `key`).
pub fn read_key(variable: &str, key: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Secret, EnvError> {
    let value = env(variable).ok_or_else(|| EnvError::Missing {
        variable: variable.to_string(),
        key: key.to_string(),
    })?;
    check_secret(&value).map_err(|problem| EnvError::Invalid {
        variable: variable.to_string(),
        key: key.to_string(),
        problem,
    })?;
    Ok(Secret::new(value))
}

/// Resolves a header value: every reference in it is a secret.
pub fn resolve_header(template: &str, key: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Resolved, EnvError> {
    let mut resolved = Resolved {
        value: String::new(),
        public: String::new(),
        secrets: Vec::new(),
    };
    for piece in pieces(template) {
        match piece {
            Piece::Text(text) => {
                resolved.value.push_str(text);
                resolved.public.push_str(text);
            }
            Piece::Variable(variable) => {
                let secret = read_key(variable, key, env)?;
                resolved.value.push_str(secret.expose());
                resolved.public.push_str(SECRET_MARKER);
                resolved.secrets.push(secret);
            }
        }
    }
    Ok(resolved)
}

/// Resolves a URL: references before the first `?` or `#` name the endpoint,
/// references after it are secrets (percent-encoded as they are inserted).
pub fn resolve_url(template: &str, key: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Resolved, EnvError> {
    let query_start = query_start(template);
    let mut resolved = Resolved {
        value: String::new(),
        public: String::new(),
        secrets: Vec::new(),
    };
    let mut offset = 0;
    for piece in pieces(template) {
        match piece {
            Piece::Text(text) => {
                resolved.value.push_str(text);
                resolved.public.push_str(text);
                offset += text.len();
            }
            Piece::Variable(variable) => {
                if offset >= query_start {
                    let secret = read_key(variable, key, env)?;
                    resolved.value.push_str(&percent_encode(secret.expose()));
                    resolved.public.push_str(SECRET_MARKER);
                    resolved.secrets.push(secret);
                } else {
                    let value = env(variable).ok_or_else(|| EnvError::Missing {
                        variable: variable.to_string(),
                        key: key.to_string(),
                    })?;
                    check_endpoint(&value).map_err(|problem| EnvError::Invalid {
                        variable: variable.to_string(),
                        key: key.to_string(),
                        problem,
                    })?;
                    resolved.value.push_str(&value);
                    resolved.public.push_str(&value);
                }
                offset += variable.len() + 3;
            }
        }
    }
    if let Err(problem) = check_url(&resolved.value) {
        let variables: Vec<&str> = pieces(template)
            .into_iter()
            .filter_map(|p| match p {
                Piece::Variable(v) => Some(v),
                Piece::Text(_) => None,
            })
            .collect();
        return Err(EnvError::Invalid {
            variable: variables.join(", "),
            key: key.to_string(),
            problem: format!("makes `{}`, which {problem}", resolved.public),
        });
    }
    Ok(resolved)
}

/// The environment variables a URL template names, classed as secret or endpoint.
pub fn url_uses(template: &str, key: &str) -> Vec<EnvUse> {
    let query_start = query_start(template);
    let mut uses = Vec::new();
    let mut offset = 0;
    for piece in pieces(template) {
        match piece {
            Piece::Text(text) => offset += text.len(),
            Piece::Variable(variable) => {
                uses.push(EnvUse {
                    variable: variable.to_string(),
                    key: key.to_string(),
                    secret: offset >= query_start,
                });
                offset += variable.len() + 3;
            }
        }
    }
    uses
}

/// The environment variables a header value names (all secrets).
pub fn header_uses(template: &str, key: &str) -> Vec<EnvUse> {
    names(template)
        .into_iter()
        .map(|variable| EnvUse {
            variable,
            key: key.to_string(),
            secret: true,
        })
        .collect()
}

/// Names of the environment variables a template refers to.
pub fn names(template: &str) -> Vec<String> {
    pieces(template)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Variable(v) => Some(v.to_string()),
            Piece::Text(_) => None,
        })
        .collect()
}

/// The template with every reference replaced by `stand_in` (for checking its shape).
pub fn with_stand_in(template: &str, stand_in: &str) -> String {
    pieces(template)
        .into_iter()
        .map(|p| match p {
            Piece::Text(text) => text,
            Piece::Variable(_) => stand_in,
        })
        .collect()
}

/// Checks, before any request, that every variable in `uses` is set to a usable value.
pub fn check_all(uses: &[EnvUse], env: &dyn Fn(&str) -> Option<String>) -> Result<(), EnvError> {
    for u in uses {
        let value = env(&u.variable).ok_or_else(|| EnvError::Missing {
            variable: u.variable.clone(),
            key: u.key.clone(),
        })?;
        let checked = if u.secret {
            check_secret(&value)
        } else {
            check_endpoint(&value)
        };
        checked.map_err(|problem| EnvError::Invalid {
            variable: u.variable.clone(),
            key: u.key.clone(),
            problem,
        })?;
    }
    Ok(())
}

/// Checks that a key can be sent as it is, in a header or a URL.
pub fn check_secret(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".into());
    }
    if value.trim() != value {
        return Err("begins or ends with whitespace (a trailing newline from `echo` or a file?); remove it".into());
    }
    if !value.chars().all(|c| (' '..='~').contains(&c)) {
        return Err(
            "contains a control or non-ASCII character, which cannot be sent in an HTTP header; check how it was set"
                .into(),
        );
    }
    Ok(())
}

/// Checks a value that becomes part of a URL's scheme, host, port or path.
fn check_endpoint(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("is empty".into());
    }
    if let Some(c) = value.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "contains {c:?}; it names part of the endpoint, which has no whitespace or control characters"
        ));
    }
    if let Some(c) = value.chars().find(|c| matches!(c, '?' | '#' | '@')) {
        return Err(format!(
            "contains `{c}`; it names part of the endpoint (host or path), so it cannot carry a query or credentials — put keys in a header or after `?` in the URL"
        ));
    }
    Ok(())
}

/// Checks a resolved URL: parseable, http or https.
fn check_url(url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        Ok(u) => Err(format!(
            "is not an http or https URL with a host (scheme {})",
            u.scheme()
        )),
        Err(e) => Err(format!("is not a URL ({e})")),
    }
}

/// Percent-encodes every byte but the unreserved ones (RFC 3986).
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Byte offset where a URL template's query (or fragment) begins; its length when it has none.
fn query_start(template: &str) -> usize {
    let mut offset = 0;
    for piece in pieces(template) {
        match piece {
            Piece::Text(text) => {
                if let Some(i) = text.find(['?', '#']) {
                    return offset + i;
                }
                offset += text.len();
            }
            Piece::Variable(variable) => offset += variable.len() + 3,
        }
    }
    template.len()
}

enum Piece<'a> {
    Text(&'a str),
    /// The name inside `${…}`.
    Variable(&'a str),
}

/// Splits a template into literal text and `${NAME}` references; an unclosed
/// `${` is literal text.
fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        if start > 0 {
            pieces.push(Piece::Text(&rest[..start]));
        }
        pieces.push(Piece::Variable(&after[..end]));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("api.example.org:8443".into()),
            "TOKEN" => Some("s3cr+t/=".into()),
            "NEWLINE" => Some("abc\n".into()),
            "QUERYING" => Some("h.example.org/?key=1".into()),
            _ => None,
        }
    }

    #[test]
    fn host_and_path_references_are_endpoints_and_query_references_secrets() {
        let r = resolve_url("https://${HOST}/v1/${HOST}?key=${TOKEN}&x=1", "target.url", &env).unwrap();
        assert_eq!(
            r.value,
            "https://api.example.org:8443/v1/api.example.org:8443?key=s3cr%2Bt%2F%3D&x=1"
        );
        assert_eq!(
            r.public,
            "https://api.example.org:8443/v1/api.example.org:8443?key=[REDACTED]&x=1"
        );
        assert_eq!(r.secrets, vec![Secret::new("s3cr+t/=".into())]);
        let uses = url_uses("https://${HOST}/a#${TOKEN}", "target.url");
        assert_eq!(
            uses.iter().map(|u| (u.variable.as_str(), u.secret)).collect::<Vec<_>>(),
            [("HOST", false), ("TOKEN", true)]
        );
    }

    #[test]
    fn header_references_are_secrets() {
        let r = resolve_header("Bearer ${TOKEN}", "target.headers.Authorization", &env).unwrap();
        assert_eq!(r.value, "Bearer s3cr+t/=");
        assert_eq!(r.public, "Bearer [REDACTED]");
        assert_eq!(names("a ${X} b ${Y} ${unclosed"), ["X", "Y"]);
        assert_eq!(with_stand_in("a ${X} b", "x"), "a x b");
    }

    #[test]
    fn unusable_values_name_the_variable_and_never_the_value() {
        let e = resolve_header("Bearer ${NEWLINE}", "target.headers.Authorization", &env).unwrap_err();
        assert!(
            matches!(&e, EnvError::Invalid { variable, problem, .. } if variable == "NEWLINE" && problem.contains("trailing newline")),
            "{e}"
        );
        assert!(!e.to_string().contains("abc"));
        assert_eq!(
            read_key("NOPE", "target.api_key_env", &env).unwrap_err(),
            EnvError::Missing {
                variable: "NOPE".into(),
                key: "target.api_key_env".into()
            }
        );
        let e = resolve_url("http://${QUERYING}/x", "target.url", &env).unwrap_err();
        assert!(e.to_string().contains("cannot carry a query"), "{e}");
        let uses = url_uses("https://${QUERYING}/?k=${TOKEN}", "appeal.submit_url");
        assert!(check_all(&uses[1..], &env).is_ok());
        assert!(matches!(check_all(&uses, &env), Err(EnvError::Invalid { variable, .. }) if variable == "QUERYING"));
        for bad in ["", " k", "k\t", "k\u{7}ey", "kéy"] {
            assert!(check_secret(bad).is_err(), "{bad:?}");
        }
        assert!(check_secret("sk-proj_AZ09+/=.~\"x y").is_ok());
    }
}
