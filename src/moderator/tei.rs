//! `tei`: a sequence-classification model served by Hugging Face
//! text-embeddings-inference (`POST /predict`), e.g. a toxicity classifier run
//! on one's own machine.
//!
//! A batch is sent as a list of one-text lists,
//! `{"inputs": [["t1"], ["t2"]], "raw_scores": true, "truncate": true}`: a bare
//! list of two strings would be read as one sentence pair. TEI answers, per
//! input, every label with its score (highest first). Without `raw_scores` it
//! applies a softmax across the labels, which is wrong for the multi-label
//! heads toxicity models usually have; so the adapter asks for the raw logits
//! and applies the scenario's `activation` itself: a sigmoid per label (the
//! default), a softmax across labels, or none. Every label's score is
//! recorded; the score compared with the threshold is the highest among the
//! labels the scenario counts as violating (`labels`). The server truncates
//! texts longer than the model's maximum length unless `truncate = false`.
//!
//! API: <https://huggingface.github.io/text-embeddings-inference/#/Text%20Embeddings%20Inference/predict>;
//! request and answer types:
//! <https://github.com/huggingface/text-embeddings-inference/blob/main/router/src/http/types.rs>
//! (`PredictInput`, `PredictRequest`, `Prediction`).

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
use crate::decision::ScoreRule;

pub const DEFAULT_THRESHOLD: f64 = 0.5;
/// TEI's own default for `--max-client-batch-size`.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// `[target]` with `kind = "tei"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawTei {
    base_url: String,
    model: Option<String>,
    api_key_env: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    threshold: Option<f64>,
    activation: Option<Activation>,
    truncate: Option<bool>,
    batch_size: Option<usize>,
}

/// How the model's raw scores (logits) become the scores compared with the threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Each label on its own (multi-label heads).
    #[default]
    Sigmoid,
    /// Across the labels, which then sum to 1 (single-label heads).
    Softmax,
    /// The logits as they are.
    None,
}

impl Activation {
    fn name(self) -> &'static str {
        match self {
            Activation::Sigmoid => "sigmoid",
            Activation::Softmax => "softmax",
            Activation::None => "logit",
        }
    }

    /// The scores of one input's labels.
    pub fn apply(self, logits: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
        match self {
            Activation::Sigmoid => logits
                .iter()
                .map(|(label, x)| (label.clone(), 1.0 / (1.0 + (-x).exp())))
                .collect(),
            Activation::Softmax => {
                let top = logits.values().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = logits.values().map(|x| (x - top).exp()).sum();
                logits
                    .iter()
                    .map(|(label, x)| (label.clone(), (x - top).exp() / total))
                    .collect()
            }
            Activation::None => logits.clone(),
        }
    }
}

/// The scenario's settings for a text-embeddings-inference classifier (no secrets).
#[derive(Debug, Clone, PartialEq)]
pub struct TeiConfig {
    /// Where the server listens, e.g. `http://127.0.0.1:8080`.
    pub base_url: String,
    /// What the server runs (its `--model-id`), as the scenario names it: the
    /// server's answers do not say, so this keeps the cached answers of two
    /// models served at one address apart.
    pub model: Option<String>,
    /// The variable holding the token the server was started with (`--api-key`), if any.
    pub api_key_env: Option<String>,
    /// The model's labels that count as violating.
    pub labels: Vec<String>,
    /// Remove when the highest score among `labels` reaches this.
    pub threshold: f64,
    pub activation: Activation,
    /// Whether the server truncates texts longer than the model's maximum length.
    pub truncate: bool,
    pub batch_size: usize,
}

impl TargetKind for TeiConfig {
    const NAME: &'static str = "tei";
    type Raw = RawTei;

    fn check(raw: RawTei, checks: &mut Checks<'_>) -> Option<Self> {
        let base_url = checks.base_url(&raw.base_url);
        check_labels(checks, &raw.labels);
        let activation = raw.activation.unwrap_or_default();
        let threshold = match (activation, raw.threshold) {
            (Activation::None, None) => {
                checks.problem(
                    &["activation"],
                    "with activation = \"none\" the scores are raw logits: give a `threshold` in logits",
                );
                0.0
            }
            (Activation::None, Some(t)) => t,
            (_, t) => {
                checks.share(&["threshold"], t);
                t.unwrap_or(DEFAULT_THRESHOLD)
            }
        };
        let batch_size = raw.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
        checks.count_within(&["batch_size"], batch_size, 1..=1024);
        if raw.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
            checks.problem(&["model"], "is empty");
        }
        Some(TeiConfig {
            base_url,
            model: raw.model,
            api_key_env: raw.api_key_env.map(|name| checks.api_key_env(Some(name), "")),
            labels: raw.labels,
            threshold,
            activation,
            truncate: raw.truncate.unwrap_or(true),
            batch_size,
        })
    }
}

/// "remove when the sigmoid of toxic ≥ 0.5", "remove when the highest
/// probability among toxic, hate ≥ 0.5".
pub(super) fn rule_text(measure: &str, labels: &[String], threshold: f64) -> String {
    match labels {
        [label] => format!("remove when the {measure} of {label} ≥ {threshold}"),
        _ => format!(
            "remove when the highest {measure} among {} ≥ {threshold}",
            labels.join(", ")
        ),
    }
}

/// Checks the violating labels a classifier kind names: at least one, none empty.
pub(super) fn check_labels(checks: &mut Checks<'_>, labels: &[String]) {
    if labels.is_empty() {
        checks.problem(
            &["labels"],
            "name the model's labels that count as violating, e.g. labels = [\"toxic\"]",
        );
    }
    if labels.iter().any(|l| l.trim().is_empty()) {
        checks.problem(&["labels"], "a label is empty");
    }
}

impl TargetConfig for TeiConfig {
    fn required_env(&self) -> Vec<EnvUse> {
        self.api_key_env.iter().map(|v| env::api_key_use(v)).collect()
    }

    fn local_files(&self) -> Vec<&Path> {
        Vec::new()
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        let key = self.api_key_env.as_deref().map(|v| setup.api_key(v)).transpose()?;
        Ok(Arc::new(TeiTarget::new(self.clone(), key)?))
    }

    /// The highest score among `labels` at or above the threshold is `remove`.
    fn score_rule(&self) -> Option<ScoreRule> {
        Some(ScoreRule::remove_at_or_above(self.threshold))
    }
}

/// What the fingerprint of a `tei` target covers (not the batch size, which
/// does not change the answers, and never the key).
#[derive(Serialize)]
struct TeiFingerprint<'a> {
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<&'a str>,
    labels: &'a [String],
    threshold: f64,
    activation: Activation,
    truncate: bool,
}

/// A text-embeddings-inference classifier as a target.
pub type TeiTarget = HttpModerator<TeiApi>;

impl TeiTarget {
    pub fn new(config: TeiConfig, key: Option<Secret>) -> Result<Self, SetupError> {
        let transport = Transport::new(key.iter().cloned().collect()).map_err(SetupError::Build)?;
        let url = format!("{}/predict", config.base_url.trim_end_matches('/'));
        let fingerprint = fingerprint(
            TeiConfig::NAME,
            &TeiFingerprint {
                url: &url,
                model: config.model.as_deref(),
                labels: &config.labels,
                threshold: config.threshold,
                activation: config.activation,
                truncate: config.truncate,
            },
        );
        let info = TargetInfo {
            kind: TeiConfig::NAME.into(),
            description: format!(
                "text-embeddings-inference classifier{} at {} ({})",
                config.model.as_ref().map(|m| format!(" `{m}`")).unwrap_or_default(),
                config.base_url,
                rule_text(config.activation.name(), &config.labels, config.threshold)
            ),
            fingerprint,
            gives_notice: false,
            notes: Vec::new(),
        };
        let headers = key
            .map(|k| vec![("Authorization".to_string(), format!("Bearer {}", k.expose()))])
            .unwrap_or_default();
        Ok(HttpModerator::from_parts(
            TeiApi {
                config,
                headers,
                transport,
                url,
            },
            info,
        ))
    }
}

/// How text-embeddings-inference is asked: a batch per call.
pub struct TeiApi {
    config: TeiConfig,
    headers: Vec<(String, String)>,
    transport: Transport,
    url: String,
}

impl TeiApi {
    fn body(&self, batch: &[ModerationRequest<'_>]) -> Value {
        let inputs: Vec<[&str; 1]> = batch.iter().map(|r| [r.text]).collect();
        json!({ "inputs": inputs, "raw_scores": true, "truncate": self.config.truncate })
    }

    /// The verdict on one input's predictions (`[{label, score}, …]`).
    fn verdict(&self, predictions: &Value) -> Result<Verdict, AttemptError> {
        let malformed =
            || AttemptError::transient(format!("a prediction is not a list of {{label, score}}: {predictions}"));
        let mut logits = BTreeMap::new();
        for p in predictions.as_array().ok_or_else(malformed)? {
            let label = p.get("label").and_then(Value::as_str).ok_or_else(malformed)?;
            let score = p.get("score").and_then(Value::as_f64).ok_or_else(malformed)?;
            logits.insert(label.to_string(), score);
        }
        let scores = self.config.activation.apply(&logits);
        let mut top: Option<f64> = None;
        for label in &self.config.labels {
            let Some(score) = scores.get(label) else {
                let known: Vec<&str> = scores.keys().map(String::as_str).collect();
                return Err(AttemptError::permanent(format!(
                    "the model has no label `{label}` (its labels: {}); check `labels`",
                    known.join(", ")
                )));
            };
            top = Some(top.map_or(*score, |t| t.max(*score)));
        }
        let score = top.unwrap_or(f64::NEG_INFINITY);
        Ok(Verdict {
            action: Some(action_from_score(score, self.config.threshold)),
            score: top,
            scores,
            response: Some(predictions.clone()),
            ..Verdict::default()
        })
    }

    async fn ask(&self, batch: &[ModerationRequest<'_>]) -> Result<Vec<Verdict>, AttemptError> {
        let response = self
            .transport
            .post_json(&self.url, &self.headers, &self.body(batch))
            .await?;
        let value = self.transport.json_body(&response)?;
        let Some(predictions) = value.as_array() else {
            return Err(AttemptError::transient(format!(
                "the response is not a list of predictions: {}",
                excerpt(&response.body)
            )));
        };
        if predictions.len() != batch.len() {
            return Err(AttemptError::transient(format!(
                "{} predictions for {} inputs",
                predictions.len(),
                batch.len()
            )));
        }
        predictions.iter().map(|p| self.verdict(p)).collect()
    }
}

impl HttpApi for TeiApi {
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
    use crate::decision::Action;

    fn config(activation: Activation, labels: &[&str], threshold: f64) -> TeiConfig {
        TeiConfig {
            base_url: "http://127.0.0.1:8080".into(),
            model: None,
            api_key_env: None,
            labels: labels.iter().map(|l| l.to_string()).collect(),
            threshold,
            activation,
            truncate: true,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }

    fn target(activation: Activation, labels: &[&str], threshold: f64) -> TeiTarget {
        TeiTarget::new(config(activation, labels, threshold), None).unwrap()
    }

    fn logits() -> BTreeMap<String, f64> {
        [("toxic", 1.0), ("insult", -1.0), ("neutral", 0.0)]
            .into_iter()
            .map(|(l, x)| (l.to_string(), x))
            .collect()
    }

    #[test]
    fn activations_match_their_definitions() {
        // reference values: scipy.special.expit and scipy.special.softmax
        let sigmoid = Activation::Sigmoid.apply(&logits());
        assert!((sigmoid["toxic"] - 0.7310585786300049).abs() < 1e-15);
        assert!((sigmoid["insult"] - 0.2689414213699951).abs() < 1e-15);
        assert!((sigmoid["neutral"] - 0.5).abs() < 1e-15);
        let softmax = Activation::Softmax.apply(&logits());
        assert!((softmax["toxic"] - 0.6652409557748218).abs() < 1e-15);
        assert!((softmax["insult"] - 0.09003057317038046).abs() < 1e-15);
        assert!((softmax["neutral"] - 0.24472847105479764).abs() < 1e-15);
        assert!((softmax.values().sum::<f64>() - 1.0).abs() < 1e-15);
        let huge: BTreeMap<String, f64> = [("a".to_string(), 1000.0), ("b".to_string(), 999.0)].into();
        assert!(
            Activation::Softmax.apply(&huge).values().all(|p| p.is_finite()),
            "stable for large logits"
        );
        assert_eq!(Activation::None.apply(&logits()), logits());
    }

    #[test]
    fn the_highest_violating_label_decides_and_every_label_is_kept() {
        let predictions = json!([{"label": "toxic", "score": 1.0}, {"label": "neutral", "score": 0.0}, {"label": "insult", "score": -1.0}]);
        let v = target(Activation::Sigmoid, &["insult", "toxic"], 0.7)
            .api()
            .verdict(&predictions)
            .unwrap();
        assert_eq!(v.action, Some(Action::Remove));
        assert!((v.score.unwrap() - 0.7310585786300049).abs() < 1e-15);
        assert_eq!(v.scores.len(), 3);
        let v = target(Activation::Softmax, &["toxic"], 0.7)
            .api()
            .verdict(&predictions)
            .unwrap();
        assert_eq!(v.action, Some(Action::Allow), "softmax gives toxic 0.665");
        let v = target(Activation::None, &["insult"], -1.0)
            .api()
            .verdict(&predictions)
            .unwrap();
        assert_eq!((v.action, v.score), (Some(Action::Remove), Some(-1.0)));
        let e = target(Activation::Sigmoid, &["hate"], 0.5)
            .api()
            .verdict(&predictions)
            .unwrap_err();
        assert_eq!(
            e.message,
            "the model has no label `hate` (its labels: insult, neutral, toxic); check `labels`"
        );
        assert!(!e.is_retryable());
        let e = target(Activation::Sigmoid, &["toxic"], 0.5)
            .api()
            .verdict(&json!([{"label": "toxic"}]))
            .unwrap_err();
        assert!(e.is_retryable(), "a malformed answer is retried");
    }

    #[test]
    fn a_batch_is_a_list_of_one_text_lists_with_raw_scores() {
        let t = target(Activation::Sigmoid, &["toxic"], 0.5);
        let batch = [
            ModerationRequest {
                id: "a",
                lang: "en",
                text: "one",
            },
            ModerationRequest {
                id: "b",
                lang: "en",
                text: "two",
            },
        ];
        assert_eq!(
            t.api().body(&batch),
            json!({"inputs": [["one"], ["two"]], "raw_scores": true, "truncate": true})
        );
    }

    #[test]
    fn the_fingerprint_is_pinned() {
        let named = TeiTarget::new(
            TeiConfig {
                model: Some("unitary/toxic-bert".into()),
                ..config(Activation::Sigmoid, &["toxic", "threat"], 0.5)
            },
            None,
        )
        .unwrap();
        assert_eq!(
            named.info().fingerprint,
            "83135fbc160abb4b9fda06f046a9413aa5e532f2f8486c1c9a0c3b21bd56e2e4"
        );
        assert_eq!(
            named.info().description,
            "text-embeddings-inference classifier `unitary/toxic-bert` at http://127.0.0.1:8080 (remove when the highest sigmoid among toxic, threat ≥ 0.5)"
        );
        assert_eq!(
            target(Activation::Sigmoid, &["toxic", "threat"], 0.5)
                .info()
                .fingerprint,
            "2db0808aeaf5cf021ac852ceb0dfd7f04983a3a853766b6cf933516dc3a61c6d"
        );
    }
}
