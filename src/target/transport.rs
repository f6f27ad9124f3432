//! The HTTP transport shared by the API adapters: one pooled client, responses
//! classified into success, transient failure (retry, honouring `Retry-After`)
//! and permanent failure, and every message scrubbed of secrets.
//!
//! Timeouts and retries are the runner's; this module only says what a response
//! means. Keys travel in headers or (for Perspective) the query string, so every
//! error text passes through [`Transport::redact`] before it can reach a journal,
//! log or report.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::AttemptError;

/// Largest response body read.
const MAX_BODY_BYTES: usize = 16 << 20;
/// Connection set-up limit (the runner's timeout bounds the whole attempt).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A secret (API key, token) read from the environment. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
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

/// What came back from the server.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

/// An HTTP client that knows which strings it must never repeat.
pub struct Transport {
    client: reqwest::Client,
    secrets: Vec<Secret>,
}

impl Transport {
    pub fn new(secrets: Vec<Secret>) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("modaudit/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(256)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Transport {
            client,
            secrets: secrets.into_iter().filter(|s| !s.0.is_empty()).collect(),
        })
    }

    /// Replaces every secret in `text` with `[REDACTED]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            out = out.replace(secret.expose(), "[REDACTED]");
        }
        out
    }

    /// A copy of `value` with every secret removed from its strings.
    pub fn redact_value(&self, value: Value) -> Value {
        if self.secrets.is_empty() {
            return value;
        }
        let text = value.to_string();
        if !self.secrets.iter().any(|s| text.contains(s.expose())) {
            return value;
        }
        serde_json::from_str(&self.redact(&text)).unwrap_or(Value::Null)
    }

    /// POSTs a JSON body and reads the whole response.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: &Value,
    ) -> Result<Response, AttemptError> {
        self.send(self.client.post(url).json(body), headers).await
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
                .map(str::to_string)
        };
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
            body: bytes,
        })
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
        AttemptError::transient(self.redact(&message))
    }

    /// Checks a response for success and parses its JSON body, classifying every
    /// failure: 429 is rate limiting, 408 and 5xx are transient (each with the
    /// server's `Retry-After`), other 4xx permanent; a wrong content type or an unreadable body transient.
    pub fn json_body(&self, response: &Response) -> Result<Value, AttemptError> {
        if !(200..300).contains(&response.status) {
            return Err(self.status_error(response));
        }
        let is_json = response
            .content_type
            .as_deref()
            .map(|ct| ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .is_some_and(|ct| ct == "application/json" || ct.ends_with("+json"));
        if !is_json {
            return Err(AttemptError::transient(format!(
                "expected a JSON response but got content type {} ({})",
                response.content_type.as_deref().unwrap_or("none"),
                self.excerpt(&response.body)
            )));
        }
        serde_json::from_slice(&response.body).map_err(|e| {
            AttemptError::transient(format!(
                "the response is not valid JSON ({e}): {}",
                self.excerpt(&response.body)
            ))
        })
    }

    /// The error for a non-success status.
    pub fn status_error(&self, response: &Response) -> AttemptError {
        let status = response.status;
        let detail = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|v| api_error_message(&v))
            .unwrap_or_else(|| self.excerpt(&response.body));
        let message = self.redact(&format!("HTTP {status} {}: {detail}", reason_phrase(status)));
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

    /// A short, single-line, redacted excerpt of a body for messages.
    pub fn excerpt(&self, body: &[u8]) -> String {
        const MAX: usize = 200;
        let text = String::from_utf8_lossy(body);
        let one_line: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX + 1)
            .collect();
        let mut out = self.redact(one_line.trim());
        if out.chars().count() > MAX {
            out = format!("{}…", out.chars().take(MAX).collect::<String>());
        }
        if out.is_empty() { "empty body".into() } else { out }
    }
}

/// The `message` of the common JSON error shapes (`{"error": {"message": …}}`,
/// `{"error": "…"}`, `{"message": …}`).
pub fn api_error_message(value: &Value) -> Option<String> {
    let error = value.get("error");
    error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .or_else(|| error.and_then(Value::as_str))
        .or_else(|| value.get("message").and_then(Value::as_str))
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
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
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
        assert_eq!(e.retry, crate::target::Retry::RateLimited(Some(Duration::from_secs(2))));
        assert_eq!(e.message, "HTTP 429 Too Many Requests: slow down");
        assert!(
            t.json_body(&response(503, "text/plain", "busy"))
                .unwrap_err()
                .is_retryable()
        );
        let e = t
            .json_body(&response(401, "application/json", r#"{"error":"bad key sk-SECRET"}"#))
            .unwrap_err();
        assert!(!e.is_retryable());
        assert_eq!(e.message, "HTTP 401 Unauthorized: bad key [REDACTED]");
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
    }

    #[test]
    fn secrets_never_show() {
        let t = transport();
        assert_eq!(format!("{:?}", Secret::new("x".into())), "Secret(***)");
        let v = t.redact_value(serde_json::json!({"echo": "key=sk-SECRET"}));
        assert_eq!(v["echo"], "key=[REDACTED]");
    }
}
