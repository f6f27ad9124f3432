//! `http`: any JSON moderation API, by mapping — how a platform's own moderation
//! endpoint is audited.
//!
//! The request body is a template in which `{text}`, `{lang}` and `{id}` (placed
//! inside JSON strings) are replaced by the JSON-escaped case values. Header
//! values and the URL may name environment variables as `${NAME}`: in a header
//! or the URL's query they are secrets, in the URL's host or path they name the
//! endpoint (see [`super::env`]). JSON pointers (RFC 6901) say where the
//! response keeps the action, the score(s) and each notice element.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::env::{self, EnvUse};
use super::transport::{Transport, excerpt};
use super::{
    AttemptError, BoxFuture, ModerationRequest, Moderator, SetupError, TargetInfo, Verdict, action_from_score,
    fingerprint, one_by_one,
};
use crate::decision::{Action, Notice};

/// Where a response keeps what modaudit needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResponseMapping {
    /// Pointer to the action value.
    pub action: Option<String>,
    /// The system's action values (as text: strings, `true`/`false`, numbers) → actions.
    pub action_map: BTreeMap<String, Action>,
    /// Pointer to the score compared with `threshold` when there is no action.
    pub score: Option<String>,
    /// Further scores to record: name → pointer.
    pub scores: BTreeMap<String, String>,
    pub threshold: Option<f64>,
    pub notice: NoticePointers,
}

/// Pointers to the notice elements of a response.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NoticePointers {
    pub decision_id: Option<String>,
    pub reason: Option<String>,
    pub rule: Option<String>,
    pub automated: Option<String>,
    pub automated_detection: Option<String>,
    pub territorial_scope: Option<String>,
    pub appeal_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    /// The endpoint; may contain `${NAME}`.
    pub url: String,
    /// Header name → value; values may contain `${NAME}`.
    pub headers: BTreeMap<String, String>,
    /// The request body template.
    pub body: String,
    pub mapping: ResponseMapping,
}

pub struct HttpTarget {
    config: HttpConfig,
    url: String,
    headers: Vec<(String, String)>,
    transport: Transport,
    info: TargetInfo,
}

/// Renders the body template for one case; the result must be JSON.
pub fn render_body(template: &str, id: &str, lang: &str, text: &str) -> Result<Value, String> {
    render_template(template, &[("text", text), ("lang", lang), ("id", id)])
}

/// Replaces each `{name}` with the JSON-escaped value (for use inside JSON
/// strings) in one pass, so a value containing `{…}` is never expanded again;
/// the result must be JSON.
pub fn render_template(template: &str, values: &[(&str, &str)]) -> Result<Value, String> {
    let escape = |s: &str| {
        let quoted = serde_json::to_string(s).unwrap_or_default();
        quoted[1..quoted.len() - 1].to_string()
    };
    let mut rendered = String::with_capacity(template.len());
    let mut rest = template;
    'scan: while let Some(start) = rest.find('{') {
        rendered.push_str(&rest[..start]);
        let after = &rest[start..];
        for (name, value) in values {
            let placeholder = format!("{{{name}}}");
            if after.starts_with(&placeholder) {
                rendered.push_str(&escape(value));
                rest = &after[placeholder.len()..];
                continue 'scan;
            }
        }
        rendered.push('{');
        rest = &after[1..];
    }
    rendered.push_str(rest);
    serde_json::from_str(&rendered).map_err(|e| format!("the body template does not give valid JSON ({e}): {rendered}"))
}

impl HttpConfig {
    /// The environment variables the URL and the headers name.
    pub fn env_uses(&self) -> Vec<EnvUse> {
        let mut uses = env::url_uses(&self.url, "target.url");
        for (name, template) in &self.headers {
            uses.extend(env::header_uses(template, &format!("target.headers.{name}")));
        }
        uses
    }
}

/// What the fingerprint of an `http` target covers: the resolved endpoint, the
/// headers and the URL's query with their secrets masked, the body template and
/// the response mapping.
#[derive(Serialize)]
struct HttpFingerprint<'a> {
    url: &'a str,
    headers: &'a BTreeMap<String, String>,
    body: &'a str,
    response: &'a ResponseMapping,
}

impl HttpTarget {
    pub fn new(config: HttpConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, SetupError> {
        let url = env::resolve_url(&config.url, "target.url", env)?;
        let mut secrets = url.secrets;
        let mut headers = Vec::new();
        let mut public_headers = BTreeMap::new();
        for (name, template) in &config.headers {
            let value = env::resolve_header(template, &format!("target.headers.{name}"), env)?;
            secrets.extend(value.secrets);
            headers.push((name.clone(), value.value));
            public_headers.insert(name.clone(), value.public);
        }
        let transport = Transport::new(secrets).map_err(SetupError::Build)?;
        let fingerprint = fingerprint(
            "http",
            &HttpFingerprint {
                url: &url.public,
                headers: &public_headers,
                body: &config.body,
                response: &config.mapping,
            },
        );
        let info = TargetInfo {
            kind: "http".into(),
            description: format!("JSON API at {}", url.public),
            fingerprint,
            gives_notice: true,
            notes: Vec::new(),
        };
        Ok(HttpTarget {
            config,
            url: url.value,
            headers,
            transport,
            info,
        })
    }

    async fn call(&self, request: &ModerationRequest<'_>) -> Result<Verdict, AttemptError> {
        let body =
            render_body(&self.config.body, request.id, request.lang, request.text).map_err(AttemptError::permanent)?;
        let response = self.transport.post_json(&self.url, &self.headers, &body).await?;
        let value = self.transport.json_body(&response)?;
        let mut verdict = map_response(&value, &self.config.mapping).map_err(|e| AttemptError {
            message: format!("{}: {}", e.message, excerpt(&response.body)),
            retry: e.retry,
        })?;
        verdict.response = Some(value);
        Ok(verdict)
    }
}

/// Reads action, scores and notice from a response by the mapping's pointers.
pub fn map_response(value: &Value, mapping: &ResponseMapping) -> Result<Verdict, AttemptError> {
    let at = |pointer: &Option<String>| {
        pointer
            .as_deref()
            .and_then(|p| value.pointer(p))
            .filter(|v| !v.is_null())
    };
    let score = match at(&mapping.score) {
        None => None,
        Some(v) => Some(
            v.as_f64()
                .ok_or_else(|| AttemptError::permanent(format!("the score is not a number: {v}")))?,
        ),
    };
    let mut scores = BTreeMap::new();
    for (name, pointer) in &mapping.scores {
        if let Some(s) = value.pointer(pointer).and_then(Value::as_f64) {
            scores.insert(name.clone(), s);
        }
    }
    if let Some(s) = score {
        scores.entry("score".to_string()).or_insert(s);
    }
    let action = match at(&mapping.action) {
        Some(v) => Some(map_action(v, &mapping.action_map)?),
        None => None,
    };
    let action = match (action, score, mapping.threshold) {
        (Some(a), _, _) => a,
        (None, Some(s), Some(t)) => action_from_score(s, t),
        (None, _, _) => {
            return Err(AttemptError::permanent(format!(
                "the response has no action at {}{}",
                mapping.action.as_deref().unwrap_or("(no action pointer)"),
                mapping
                    .score
                    .as_deref()
                    .map(|p| format!(" and no score at {p}"))
                    .unwrap_or_default()
            )));
        }
    };
    let text = |pointer: &Option<String>| at(pointer).map(value_text);
    Ok(Verdict {
        action: Some(action),
        score,
        scores,
        notice: Notice {
            decision_id: text(&mapping.notice.decision_id),
            reason: text(&mapping.notice.reason),
            rule: text(&mapping.notice.rule),
            automated: at(&mapping.notice.automated).and_then(automated_flag),
            automated_detection: at(&mapping.notice.automated_detection).and_then(automated_flag),
            territorial_scope: at(&mapping.notice.territorial_scope).map(scope_text),
            appeal_url: text(&mapping.notice.appeal_url),
        },
        detail: None,
        response: None,
    })
}

/// A territorial scope as text: a list of codes is joined with commas.
pub fn scope_text(value: &Value) -> String {
    match value {
        Value::Array(items) => items.iter().map(value_text).collect::<Vec<_>>().join(","),
        other => value_text(other),
    }
}

/// A JSON value as plain text (strings unquoted).
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Maps a system's action value to an action: through the map, else by name.
pub fn map_action(value: &Value, map: &BTreeMap<String, Action>) -> Result<Action, AttemptError> {
    let text = value_text(value);
    if let Some(action) = map.get(&text) {
        return Ok(*action);
    }
    if text == "unsupported" {
        return Ok(Action::Unsupported);
    }
    Action::parse_moderation(&text.to_ascii_lowercase()).ok_or_else(|| {
        AttemptError::permanent(format!(
            "unmapped action value `{text}` (add it to the target's action_map)"
        ))
    })
}

/// Reads a disclosure of automation: a boolean, or the usual words and the DSA
/// Transparency Database values (`AUTOMATED_DECISION_FULLY` …).
pub fn automated_flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => {
            let s = s.trim().to_ascii_uppercase();
            if s.contains("NOT_AUTOMATED") || matches!(s.as_str(), "NO" | "FALSE" | "MANUAL" | "HUMAN") {
                Some(false)
            } else if s.contains("FULLY")
                || s.contains("PARTIALLY")
                || matches!(s.as_str(), "YES" | "TRUE" | "AUTOMATED")
            {
                Some(true)
            } else {
                None
            }
        }
        _ => None,
    }
}

impl Moderator for HttpTarget {
    fn info(&self) -> TargetInfo {
        self.info.clone()
    }

    fn cacheable(&self) -> bool {
        true
    }

    fn moderate<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        one_by_one(batch, |request| self.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_placeholders_are_json_escaped() {
        let v = render_body(
            r#"{"content": "{text}", "meta": {"lang": "{lang}", "ref": "{id}"}}"#,
            "a\"1",
            "ar",
            "قال \"اقتل\"\n{text} {id}",
        )
        .unwrap();
        assert_eq!(
            v["content"], "قال \"اقتل\"\n{text} {id}",
            "a value is never expanded again"
        );
        assert_eq!(v["meta"]["ref"], "a\"1");
    }

    #[test]
    fn the_fingerprint_is_pinned_and_follows_the_endpoint_not_the_key() {
        let config = HttpConfig {
            url: "http://${HOST}/v2/moderate?key=${KEY}".into(),
            headers: [("Authorization".to_string(), "Bearer ${TOKEN}".to_string())].into(),
            body: r#"{"text": "{text}"}"#.into(),
            mapping: ResponseMapping {
                action: Some("/decision".into()),
                action_map: [("removed".to_string(), Action::Remove)].into(),
                threshold: Some(0.5),
                ..ResponseMapping::default()
            },
        };
        let target = |host: &str, key: &str| {
            let env = |name: &str| match name {
                "HOST" => Some(host.to_string()),
                _ => Some(key.to_string()),
            };
            HttpTarget::new(config.clone(), &env).unwrap().info()
        };
        let info = target("a.example.org", "k1");
        assert_eq!(
            info.fingerprint,
            "e1a7671d5c6edb7676eb429a82399026180496788435c1905b82d64c53fc3df9"
        );
        assert_eq!(
            info.description,
            "JSON API at http://a.example.org/v2/moderate?key=[REDACTED]"
        );
        assert_eq!(
            target("a.example.org", "k2").fingerprint,
            info.fingerprint,
            "never the key"
        );
        assert_ne!(
            target("b.example.org", "k1").fingerprint,
            info.fingerprint,
            "the endpoint"
        );
    }

    #[test]
    fn mapping_reads_action_score_and_notice() {
        let mapping = ResponseMapping {
            action: Some("/decision".into()),
            action_map: [("taken_down".to_string(), Action::Remove)].into(),
            score: Some("/confidence".into()),
            notice: NoticePointers {
                decision_id: Some("/id".into()),
                automated: Some("/automated_decision".into()),
                appeal_url: Some("/appeal/url".into()),
                ..NoticePointers::default()
            },
            ..ResponseMapping::default()
        };
        let v = serde_json::json!({"decision": "taken_down", "confidence": 0.8, "id": 17,
            "automated_decision": "AUTOMATED_DECISION_FULLY", "appeal": {"url": "https://a"}});
        let verdict = map_response(&v, &mapping).unwrap();
        assert_eq!(verdict.action, Some(Action::Remove));
        assert_eq!(verdict.notice.decision_id.as_deref(), Some("17"));
        assert_eq!(verdict.notice.automated, Some(true));
        assert_eq!(verdict.notice.appeal_url.as_deref(), Some("https://a"));
        let e = map_response(&serde_json::json!({"decision": "zapped"}), &mapping).unwrap_err();
        assert!(e.message.contains("unmapped action value `zapped`"));
    }
}
