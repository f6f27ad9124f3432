//! `perspective`: Google's Perspective API (`comments:analyze`).
//!
//! The chosen attribute's summary score is compared with the threshold. A
//! language the attribute does not support is its own outcome, `unsupported` —
//! a finding ("this system cannot moderate Swahili at all"), never `allow` and
//! never a transport error. The key travels in the query string, so it is
//! redacted from everything the adapter says.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::check::Checks;
use super::env::{self, EnvUse};
use super::kind::{Setup, TargetConfig, TargetKind};
use super::remote::{HttpApi, HttpModerator};
use super::transport::{Secret, Transport, excerpt};
use super::{
    AttemptError, BoxFuture, ModerationRequest, Moderator, SetupError, TargetInfo, Verdict, action_from_score,
    fingerprint, one_by_one,
};
use crate::decision::{Action, ScoreRule};

pub const DEFAULT_BASE_URL: &str = "https://commentanalyzer.googleapis.com";
pub const DEFAULT_KEY_ENV: &str = "PERSPECTIVE_API_KEY";
pub const DEFAULT_ATTRIBUTE: &str = "TOXICITY";
pub const DEFAULT_THRESHOLD: f64 = 0.7;

/// `[target]` with `kind = "perspective"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPerspective {
    base_url: Option<String>,
    api_key_env: Option<String>,
    attribute: Option<String>,
    /// Further attributes to request and record.
    #[serde(default)]
    attributes: Vec<String>,
    threshold: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PerspectiveConfig {
    pub base_url: String,
    pub api_key_env: String,
    /// The attribute whose score decides the action.
    pub attribute: String,
    /// Further attributes to request and record.
    pub extra_attributes: Vec<String>,
    pub threshold: f64,
}

impl TargetKind for PerspectiveConfig {
    const NAME: &'static str = "perspective";
    type Raw = RawPerspective;

    fn check(raw: RawPerspective, checks: &mut Checks<'_>) -> Option<Self> {
        let base_url = checks.base_url(raw.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL));
        checks.share(&["threshold"], raw.threshold);
        Some(PerspectiveConfig {
            base_url,
            api_key_env: checks.api_key_env(raw.api_key_env, DEFAULT_KEY_ENV),
            attribute: raw.attribute.unwrap_or_else(|| DEFAULT_ATTRIBUTE.to_string()),
            extra_attributes: raw.attributes,
            threshold: raw.threshold.unwrap_or(DEFAULT_THRESHOLD),
        })
    }
}

impl TargetConfig for PerspectiveConfig {
    fn required_env(&self) -> Vec<EnvUse> {
        vec![env::api_key_use(&self.api_key_env)]
    }

    fn local_files(&self) -> Vec<&Path> {
        Vec::new()
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        let key = setup.api_key(&self.api_key_env)?;
        Ok(Arc::new(PerspectiveTarget::new(self.clone(), key)?))
    }

    /// The attribute's summary score at or above the threshold is `remove`.
    fn score_rule(&self) -> Option<ScoreRule> {
        Some(ScoreRule::remove_at_or_above(self.threshold))
    }
}

/// What the fingerprint of a `perspective` target covers (the URL without its
/// `?key=`).
#[derive(Serialize)]
struct PerspectiveFingerprint<'a> {
    url: &'a str,
    attribute: &'a str,
    extra_attributes: &'a [String],
    threshold: f64,
}

/// The Perspective API as a target.
pub type PerspectiveTarget = HttpModerator<PerspectiveApi>;

impl PerspectiveTarget {
    pub fn new(config: PerspectiveConfig, key: Secret) -> Result<Self, SetupError> {
        let base = config.base_url.trim_end_matches('/');
        let endpoint = format!("{base}/v1alpha1/comments:analyze");
        let mut url =
            reqwest::Url::parse(&endpoint).map_err(|e| SetupError::Build(format!("`{endpoint}` is not a URL: {e}")))?;
        url.query_pairs_mut().append_pair("key", key.expose());
        let transport = Transport::new(vec![key]).map_err(SetupError::Build)?;
        let fingerprint = fingerprint(
            PerspectiveConfig::NAME,
            &PerspectiveFingerprint {
                url: &endpoint,
                attribute: &config.attribute,
                extra_attributes: &config.extra_attributes,
                threshold: config.threshold,
            },
        );
        let info = TargetInfo {
            kind: PerspectiveConfig::NAME.into(),
            description: format!(
                "Perspective API at {base} ({} ≥ {})",
                config.attribute, config.threshold
            ),
            fingerprint,
            gives_notice: false,
            notes: Vec::new(),
        };
        Ok(HttpModerator::from_parts(
            PerspectiveApi {
                config,
                transport,
                url: url.into(),
            },
            info,
        ))
    }
}

/// How Perspective is asked: one text per call, the key in the URL.
pub struct PerspectiveApi {
    config: PerspectiveConfig,
    transport: Transport,
    url: String,
}

impl PerspectiveApi {
    async fn ask(&self, request: &ModerationRequest<'_>) -> Result<Verdict, AttemptError> {
        let mut attributes = serde_json::Map::new();
        attributes.insert(self.config.attribute.clone(), json!({}));
        for a in &self.config.extra_attributes {
            attributes.insert(a.clone(), json!({}));
        }
        let body = json!({
            "comment": { "text": request.text, "type": "PLAIN_TEXT" },
            "languages": [perspective_language(request.lang)],
            "requestedAttributes": attributes,
            "doNotStore": true,
        });
        let response = self.transport.post_json(&self.url, &[], &body).await?;
        let unsupported = (response.status == 400)
            .then(|| unsupported_language(&response.body))
            .flatten();
        if let Some(unsupported) = unsupported {
            return Ok(Verdict {
                action: Some(Action::Unsupported),
                detail: Some(unsupported),
                response: serde_json::from_slice(&response.body).ok(),
                ..Verdict::default()
            });
        }
        let value = self.transport.json_body(&response)?;
        let score_of = |attribute: &str| {
            value
                .pointer(&format!("/attributeScores/{attribute}/summaryScore/value"))
                .and_then(Value::as_f64)
        };
        let Some(score) = score_of(&self.config.attribute) else {
            return Err(AttemptError::transient(format!(
                "the response has no summary score for {}: {}",
                self.config.attribute,
                excerpt(&response.body)
            )));
        };
        let mut scores = BTreeMap::new();
        for attribute in std::iter::once(&self.config.attribute).chain(&self.config.extra_attributes) {
            if let Some(s) = score_of(attribute) {
                scores.insert(attribute.clone(), s);
            }
        }
        Ok(Verdict {
            action: Some(action_from_score(score, self.config.threshold)),
            score: Some(score),
            scores,
            response: Some(value),
            ..Verdict::default()
        })
    }
}

/// The language code Perspective expects: the primary subtag (`zh` for `zh-Hans`,
/// `pt` for `pt-PT`), except romanised Hindi, which it supports as `hi-Latn`.
fn perspective_language(tag: &str) -> String {
    if tag.eq_ignore_ascii_case("hi-Latn") {
        return "hi-Latn".into();
    }
    tag.split('-').next().unwrap_or(tag).to_ascii_lowercase()
}

/// The error message when a 400 answer says the language is not supported.
fn unsupported_language(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let error = value.get("error")?;
    let details = error.get("details").and_then(Value::as_array);
    let by_type = details.is_some_and(|d| {
        d.iter().any(|x| {
            x.get("errorType")
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("LANGUAGE_NOT_SUPPORTED"))
        })
    });
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("language not supported");
    (by_type || message.contains("does not support request languages")).then(|| message.to_string())
}

impl HttpApi for PerspectiveApi {
    fn call<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        one_by_one(batch, |request| self.ask(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_unsupported_language_error() {
        let body = br#"{"error": {"code": 400, "message": "Attribute TOXICITY does not support request languages: sw", "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error", "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"}]}}"#;
        assert_eq!(
            unsupported_language(body).as_deref(),
            Some("Attribute TOXICITY does not support request languages: sw")
        );
        assert_eq!(
            unsupported_language(br#"{"error": {"code": 400, "message": "Comment text too long"}}"#),
            None
        );
    }

    #[test]
    fn languages_are_sent_as_perspective_expects_them() {
        assert_eq!(perspective_language("zh-Hans"), "zh");
        assert_eq!(perspective_language("pt-PT"), "pt");
        assert_eq!(perspective_language("hi-Latn"), "hi-Latn");
        assert_eq!(perspective_language("ar"), "ar");
    }

    #[test]
    fn the_key_is_in_the_url_only_and_the_fingerprint_is_pinned() {
        let t = PerspectiveTarget::new(
            PerspectiveConfig {
                base_url: DEFAULT_BASE_URL.into(),
                api_key_env: DEFAULT_KEY_ENV.into(),
                attribute: DEFAULT_ATTRIBUTE.into(),
                extra_attributes: vec![],
                threshold: 0.7,
            },
            Secret::new("AIzaSECRET".into()),
        )
        .unwrap();
        let info = t.info();
        assert!(!format!("{info:?}").contains("AIzaSECRET"));
        assert!(t.api().url.ends_with("/v1alpha1/comments:analyze?key=AIzaSECRET"));
        assert_eq!(
            info.fingerprint,
            "d863578bfccf40edcff037f4c50b4b63b99c8f48be692e34e7af9375f0897192"
        );
    }
}
