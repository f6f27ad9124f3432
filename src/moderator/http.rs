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
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::check::Checks;
use super::env::{self, EnvUse};
use super::kind::{Setup, TargetConfig, TargetKind};
use super::remote::{HttpApi, HttpModerator};
use super::transport::{Transport, excerpt};
use super::{
    AttemptError, BoxFuture, ModerationRequest, Moderator, SetupError, TargetInfo, Verdict, action_from_score,
    fingerprint, one_by_one,
};
use crate::decision::{Action, Notice, ScoreRule};

/// `[target]` with `kind = "http"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: String,
    response: RawMapping,
}

/// `[target.response]`: JSON pointers into the API's answer.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMapping {
    action: Option<String>,
    #[serde(default)]
    action_map: BTreeMap<String, String>,
    score: Option<String>,
    #[serde(default)]
    scores: BTreeMap<String, String>,
    threshold: Option<f64>,
    decision_id: Option<String>,
    reason: Option<String>,
    rule: Option<String>,
    automated: Option<String>,
    automated_detection: Option<String>,
    territorial_scope: Option<String>,
    appeal_url: Option<String>,
}

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

/// A body template that does not give JSON.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the body template does not give valid JSON ({message}): {rendered}")]
pub struct TemplateError {
    /// What the JSON parser found wrong.
    pub message: String,
    /// The rendered body.
    pub rendered: String,
}

/// Renders the body template for one case; the result must be JSON.
pub fn render_body(template: &str, id: &str, lang: &str, text: &str) -> Result<Value, TemplateError> {
    render_template(template, &[("text", text), ("lang", lang), ("id", id)])
}

/// Replaces each `{name}` with the JSON-escaped value (for use inside JSON
/// strings) in one pass, so a value containing `{…}` is never expanded again;
/// the result must be JSON.
pub fn render_template(template: &str, values: &[(&str, &str)]) -> Result<Value, TemplateError> {
    let rendered = substitute(template, values);
    serde_json::from_str(&rendered).map_err(|e| TemplateError {
        message: e.to_string(),
        rendered,
    })
}

/// Renders the body template for one case as the bytes sent: the template's
/// own text with the values in place, checked to be JSON without building it.
pub fn render_body_bytes(template: &str, id: &str, lang: &str, text: &str) -> Result<Vec<u8>, TemplateError> {
    let rendered = substitute(template, &[("text", text), ("lang", lang), ("id", id)]);
    match serde_json::from_str::<serde::de::IgnoredAny>(&rendered) {
        Ok(_) => Ok(rendered.into_bytes()),
        Err(e) => Err(TemplateError {
            message: e.to_string(),
            rendered,
        }),
    }
}

/// The template with each `{name}` replaced by its JSON-escaped value, in one pass.
fn substitute(template: &str, values: &[(&str, &str)]) -> String {
    let mut rendered = String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    'scan: while let Some(start) = rest.find('{') {
        rendered.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        for (name, value) in values {
            if let Some(tail) = after.strip_prefix(name).and_then(|t| t.strip_prefix('}')) {
                let quoted = serde_json::to_string(value).expect("a string always serializes as JSON");
                rendered.push_str(&quoted[1..quoted.len() - 1]);
                rest = tail;
                continue 'scan;
            }
        }
        rendered.push('{');
        rest = after;
    }
    rendered.push_str(rest);
    rendered
}

impl TargetKind for HttpConfig {
    const NAME: &'static str = "http";
    type Raw = RawHttp;

    fn check(raw: RawHttp, checks: &mut Checks<'_>) -> Option<Self> {
        checks.endpoint(&["url"], &raw.url, &env::with_stand_in(&raw.url, "1"));
        checks.headers(&raw.headers);
        if let Err(error) = render_body(&raw.body, "case-1", "en", "a \"quoted\" text\n") {
            checks.problem(&["body"], error.to_string());
        }
        let mapping = check_mapping(&raw.response, checks);
        Some(HttpConfig {
            url: raw.url,
            headers: raw.headers,
            body: raw.body,
            mapping,
        })
    }
}

/// Checks `[target.response]`: JSON pointers, and where the decision is.
fn check_mapping(raw: &RawMapping, checks: &mut Checks<'_>) -> ResponseMapping {
    let pointers = [
        ("action", &raw.action),
        ("score", &raw.score),
        ("decision_id", &raw.decision_id),
        ("reason", &raw.reason),
        ("rule", &raw.rule),
        ("automated", &raw.automated),
        ("automated_detection", &raw.automated_detection),
        ("territorial_scope", &raw.territorial_scope),
        ("appeal_url", &raw.appeal_url),
    ];
    for (key, pointer) in pointers {
        if let Some(p) = pointer.as_deref().filter(|p| !p.is_empty() && !p.starts_with('/')) {
            checks.problem(
                &["response", key],
                format!("`{p}` is not a JSON pointer (it must start with `/`, e.g. `/result/action`)"),
            );
        }
    }
    if raw.action.is_none() && (raw.score.is_none() || raw.threshold.is_none()) {
        checks.problem(
            &["response"],
            "give `action`, or `score` with `threshold`, to say where the decision is",
        );
    }
    if let Some(t) = raw.threshold.filter(|t| !t.is_finite()) {
        checks.problem(&["response", "threshold"], format!("must be a number, got {t}"));
    }
    ResponseMapping {
        action: raw.action.clone(),
        action_map: checks.action_map(&["response", "action_map"], &raw.action_map),
        score: raw.score.clone(),
        scores: raw.scores.clone(),
        threshold: raw.threshold,
        notice: NoticePointers {
            decision_id: raw.decision_id.clone(),
            reason: raw.reason.clone(),
            rule: raw.rule.clone(),
            automated: raw.automated.clone(),
            automated_detection: raw.automated_detection.clone(),
            territorial_scope: raw.territorial_scope.clone(),
            appeal_url: raw.appeal_url.clone(),
        },
    }
}

impl TargetConfig for HttpConfig {
    /// The environment variables the URL and the headers name.
    fn required_env(&self) -> Vec<EnvUse> {
        let mut uses = env::url_uses(&self.url, "target.url");
        for (name, template) in &self.headers {
            uses.extend(env::header_uses(template, &format!("target.headers.{name}")));
        }
        uses
    }

    fn local_files(&self) -> Vec<&Path> {
        Vec::new()
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        Ok(Arc::new(HttpTarget::new(self.clone(), setup.env)?))
    }

    /// With `score` and `threshold`, a score the API answers without an
    /// action is compared with the threshold; an action it answers is its own.
    fn score_rule(&self) -> Option<ScoreRule> {
        self.mapping
            .score
            .as_ref()
            .and(self.mapping.threshold)
            .map(ScoreRule::remove_at_or_above)
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

/// A JSON API, by mapping, as a target.
pub type HttpTarget = HttpModerator<MappedApi>;

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
            HttpConfig::NAME,
            &HttpFingerprint {
                url: &url.public,
                headers: &public_headers,
                body: &config.body,
                response: &config.mapping,
            },
        );
        let info = TargetInfo {
            kind: HttpConfig::NAME.into(),
            description: format!("JSON API at {}", url.public),
            fingerprint,
            gives_notice: true,
            notes: Vec::new(),
        };
        Ok(HttpModerator::from_parts(
            MappedApi {
                config,
                parsed_url: reqwest::Url::parse(&url.value).ok(),
                url: url.value,
                headers,
                transport,
            },
            info,
        ))
    }
}

/// The content type of the request body.
const JSON: &str = "application/json";

/// How a JSON API is asked: one case per call, the body from the template,
/// the verdict by the mapping.
pub struct MappedApi {
    config: HttpConfig,
    url: String,
    /// `url` parsed once, rather than for every request (`None`: it does not
    /// parse, and every request says so).
    parsed_url: Option<reqwest::Url>,
    headers: Vec<(String, String)>,
    transport: Transport,
}

impl MappedApi {
    async fn ask(&self, request: &ModerationRequest<'_>) -> Result<Verdict, AttemptError> {
        let body = render_body_bytes(&self.config.body, request.id, request.lang, request.text)
            .map_err(AttemptError::permanent)?;
        let response = match &self.parsed_url {
            Some(url) => {
                self.transport
                    .post_bytes(url.clone(), &self.headers, JSON, body)
                    .await?
            }
            None => self.transport.post_bytes(&self.url, &self.headers, JSON, body).await?,
        };
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
        ..Verdict::default()
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

impl HttpApi for MappedApi {
    fn call<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        one_by_one(batch, |request| self.ask(request))
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
    fn the_body_sent_is_the_template_with_its_values_in_place() {
        let template = r#"{ "content": "{text}",  "ref": "{id}", "n": 1 }"#;
        let bytes = render_body_bytes(template, "p\"1", "en", "a {id} \\ b\n").unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{ "content": "a {id} \\ b\n",  "ref": "p\"1", "n": 1 }"#
        );
        let broken = render_body_bytes(r#"{"n": {id}}"#, "p1", "en", "x").unwrap_err();
        assert_eq!(broken.rendered, r#"{"n": p1}"#);
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
