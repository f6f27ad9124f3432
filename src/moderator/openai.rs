//! `openai`: the OpenAI moderation endpoint (`POST /v1/moderations`).
//!
//! Inputs are batched (`input` as an array, one result per input, same order).
//! The action comes from the scenario's rule: per-category thresholds, else one
//! threshold on the highest chosen category score, else the endpoint's own
//! `flagged` (restricted to the chosen categories when they are given). Every
//! category score is kept. The endpoint is a classifier, not a platform: its
//! answers carry no notice.
//!
//! A model alias such as `omni-moderation-latest` resolves to a dated snapshot,
//! which the answer names in `model` (e.g. `omni-moderation-2024-09-26`); each
//! decision records it, so a model updated under a running audit shows in the
//! report. The recorded answer keeps each result whole, its
//! `category_applied_input_types` included.
//! See <https://platform.openai.com/docs/api-reference/moderations/object>.

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
    fingerprint,
};
use crate::decision::{Action, ScoreRule};

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com";
pub const DEFAULT_MODEL: &str = "omni-moderation-latest";
pub const DEFAULT_KEY_ENV: &str = "OPENAI_API_KEY";
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// `[target]` with `kind = "openai"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOpenAi {
    base_url: Option<String>,
    api_key_env: Option<String>,
    model: Option<String>,
    threshold: Option<f64>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    category_thresholds: BTreeMap<String, f64>,
    batch_size: Option<usize>,
}

/// The scenario's settings for the OpenAI target (no secrets).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiConfig {
    pub base_url: String,
    pub api_key_env: String,
    pub model: String,
    /// Remove when the highest chosen category score reaches this.
    pub threshold: Option<f64>,
    /// Categories that count (default: all).
    pub categories: Vec<String>,
    /// Remove when any of these categories reaches its own threshold.
    pub category_thresholds: BTreeMap<String, f64>,
    pub batch_size: usize,
}

impl TargetKind for OpenAiConfig {
    const NAME: &'static str = "openai";
    type Raw = RawOpenAi;

    fn check(raw: RawOpenAi, checks: &mut Checks<'_>) -> Option<Self> {
        let base_url = checks.base_url(raw.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL));
        checks.share(&["threshold"], raw.threshold);
        for (category, t) in &raw.category_thresholds {
            checks.share(&["category_thresholds", category], Some(*t));
        }
        let batch_size = raw.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
        checks.count_within(&["batch_size"], batch_size, 1..=1024);
        Some(OpenAiConfig {
            base_url,
            api_key_env: checks.api_key_env(raw.api_key_env, DEFAULT_KEY_ENV),
            model: raw.model.unwrap_or_else(|| DEFAULT_MODEL.to_string()),
            threshold: raw.threshold,
            categories: raw.categories,
            category_thresholds: raw.category_thresholds,
            batch_size,
        })
    }
}

impl TargetConfig for OpenAiConfig {
    fn required_env(&self) -> Vec<EnvUse> {
        vec![env::api_key_use(&self.api_key_env)]
    }

    fn local_files(&self) -> Vec<&Path> {
        Vec::new()
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        let key = setup.api_key(&self.api_key_env)?;
        Ok(Arc::new(OpenAiTarget::new(self.clone(), key)?))
    }

    /// One `threshold` on the highest chosen category score is a score rule;
    /// per-category thresholds, or the endpoint's own `flagged`, are not.
    fn score_rule(&self) -> Option<ScoreRule> {
        if self.category_thresholds.is_empty() {
            self.threshold.map(ScoreRule::remove_at_or_above)
        } else {
            None
        }
    }
}

/// What the fingerprint of an `openai` target covers (not the batch size,
/// which does not change the answers, and never the key).
#[derive(Serialize)]
struct OpenAiFingerprint<'a> {
    url: &'a str,
    model: &'a str,
    threshold: Option<f64>,
    categories: &'a [String],
    category_thresholds: &'a BTreeMap<String, f64>,
}

/// The OpenAI moderation endpoint as a target.
pub type OpenAiTarget = HttpModerator<OpenAiApi>;

impl OpenAiTarget {
    pub fn new(config: OpenAiConfig, key: Secret) -> Result<Self, SetupError> {
        let transport = Transport::new(vec![key.clone()]).map_err(SetupError::Build)?;
        let url = format!("{}/v1/moderations", config.base_url.trim_end_matches('/'));
        let rule = if !config.category_thresholds.is_empty() {
            let parts: Vec<String> = config
                .category_thresholds
                .iter()
                .map(|(c, t)| format!("{c} ≥ {t}"))
                .collect();
            format!("remove when {}", parts.join(" or "))
        } else if let Some(t) = config.threshold {
            format!("remove when a category score ≥ {t}")
        } else {
            "remove when flagged".to_string()
        };
        let fingerprint = fingerprint(
            OpenAiConfig::NAME,
            &OpenAiFingerprint {
                url: &url,
                model: &config.model,
                threshold: config.threshold,
                categories: &config.categories,
                category_thresholds: &config.category_thresholds,
            },
        );
        let info = TargetInfo {
            kind: OpenAiConfig::NAME.into(),
            description: format!("OpenAI moderation `{}` at {} ({rule})", config.model, config.base_url),
            fingerprint,
            gives_notice: false,
            notes: Vec::new(),
        };
        Ok(HttpModerator::from_parts(
            OpenAiApi {
                config,
                key,
                transport,
                url,
            },
            info,
        ))
    }
}

/// How the OpenAI endpoint is asked: a batch per call.
pub struct OpenAiApi {
    config: OpenAiConfig,
    key: Secret,
    transport: Transport,
    url: String,
}

impl OpenAiApi {
    fn verdict(&self, result: &Value, envelope: &Value) -> Result<Verdict, AttemptError> {
        let Some(category_scores) = result.get("category_scores").and_then(Value::as_object) else {
            return Err(AttemptError::permanent("a result has no `category_scores`"));
        };
        let scores: BTreeMap<String, f64> = category_scores
            .iter()
            .filter_map(|(k, v)| v.as_f64().map(|s| (k.clone(), s)))
            .collect();
        let chosen = |name: &str| self.config.categories.is_empty() || self.config.categories.iter().any(|c| c == name);
        let top = scores
            .iter()
            .filter(|(k, _)| chosen(k))
            .map(|(_, s)| *s)
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
        let action = if !self.config.category_thresholds.is_empty() {
            let hit = self
                .config
                .category_thresholds
                .iter()
                .any(|(c, t)| scores.get(c).is_some_and(|s| s >= t));
            if hit { Action::Remove } else { Action::Allow }
        } else if let Some(threshold) = self.config.threshold {
            action_from_score(top.unwrap_or(0.0), threshold)
        } else if self.config.categories.is_empty() {
            match result.get("flagged").and_then(Value::as_bool) {
                Some(true) => Action::Remove,
                Some(false) => Action::Allow,
                None => return Err(AttemptError::permanent("a result has no boolean `flagged`")),
            }
        } else {
            let categories = result.get("categories").and_then(Value::as_object);
            let flagged = self
                .config
                .categories
                .iter()
                .any(|c| categories.and_then(|m| m.get(c)).and_then(Value::as_bool) == Some(true));
            if flagged { Action::Remove } else { Action::Allow }
        };
        Ok(Verdict {
            action: Some(action),
            score: top,
            scores,
            model: envelope.get("model").and_then(Value::as_str).map(str::to_string),
            response: Some(json!({
                "id": envelope.get("id"),
                "model": envelope.get("model"),
                "result": result,
            })),
            ..Verdict::default()
        })
    }

    async fn ask(&self, batch: &[ModerationRequest<'_>]) -> Result<Vec<Verdict>, AttemptError> {
        let input = if batch.len() == 1 {
            json!(batch[0].text)
        } else {
            json!(batch.iter().map(|r| r.text).collect::<Vec<_>>())
        };
        let body = json!({ "model": self.config.model, "input": input });
        let headers = [("Authorization".to_string(), format!("Bearer {}", self.key.expose()))];
        let response = self.transport.post_json(&self.url, &headers, &body).await?;
        if response.status == 429 {
            let quota = serde_json::from_slice::<Value>(&response.body)
                .ok()
                .and_then(|v| v.pointer("/error/type").and_then(Value::as_str).map(str::to_string));
            if quota.as_deref() == Some("insufficient_quota") {
                let mut error = self.transport.status_error(&response);
                error
                    .message
                    .push_str(" (the account's quota is exhausted; retrying will not help)");
                error.retry = super::Retry::Never;
                return Err(error);
            }
        }
        let envelope = self.transport.json_body(&response)?;
        let Some(results) = envelope.get("results").and_then(Value::as_array) else {
            return Err(AttemptError::transient(format!(
                "the response has no `results` array: {}",
                excerpt(&response.body)
            )));
        };
        if results.len() != batch.len() {
            return Err(AttemptError::transient(format!(
                "{} results for {} inputs",
                results.len(),
                batch.len()
            )));
        }
        results.iter().map(|r| self.verdict(r, &envelope)).collect()
    }
}

impl HttpApi for OpenAiApi {
    fn batch_size(&self) -> usize {
        self.config.batch_size
    }

    fn call<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        Box::pin(self.ask(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(threshold: Option<f64>, categories: &[&str], per_category: &[(&str, f64)]) -> OpenAiTarget {
        OpenAiTarget::new(
            OpenAiConfig {
                base_url: DEFAULT_BASE_URL.into(),
                api_key_env: DEFAULT_KEY_ENV.into(),
                model: DEFAULT_MODEL.into(),
                threshold,
                categories: categories.iter().map(|c| c.to_string()).collect(),
                category_thresholds: per_category.iter().map(|(c, t)| (c.to_string(), *t)).collect(),
                batch_size: 32,
            },
            Secret::new("k".into()),
        )
        .unwrap()
    }

    fn result() -> Value {
        json!({
            "flagged": true,
            "categories": {"harassment": true, "hate": false},
            "category_scores": {"harassment": 0.91, "hate": 0.42}
        })
    }

    #[test]
    fn the_fingerprint_is_pinned() {
        assert_eq!(
            target(Some(0.5), &["hate"], &[("violence", 0.7)]).info().fingerprint,
            "f35f1494739bfb2583f96829dda9ca873d747ec650cc962baaa77ffd61f30d05"
        );
    }

    #[test]
    fn rules_decide_the_action() {
        let envelope = json!({"id": "modr-1", "model": "m"});
        let act = |t: &OpenAiTarget| t.api().verdict(&result(), &envelope).unwrap().action;
        assert_eq!(act(&target(None, &[], &[])), Some(Action::Remove));
        assert_eq!(act(&target(None, &["hate"], &[])), Some(Action::Allow));
        assert_eq!(act(&target(Some(0.5), &["hate"], &[])), Some(Action::Allow));
        assert_eq!(act(&target(Some(0.4), &["hate"], &[])), Some(Action::Remove));
        assert_eq!(act(&target(None, &[], &[("hate", 0.4)])), Some(Action::Remove));
        assert_eq!(act(&target(None, &[], &[("hate", 0.5)])), Some(Action::Allow));
        let v = target(None, &[], &[]).api().verdict(&result(), &envelope).unwrap();
        assert_eq!(v.score, Some(0.91));
        assert_eq!(v.scores.len(), 2);
        assert_eq!(v.model.as_deref(), Some("m"), "the snapshot that answered");
    }
}
