//! `classify`: a sequence-classification model behind vLLM (`POST /classify`)
//! or SGLang (`POST /v1/classify`), e.g. a toxicity classifier run on one's own
//! machine.
//!
//! A batch is one request, `{"model": M, "input": ["t1", "t2"]}`; the answer
//! has one `data` item per input, `{index, label, probs, num_classes}`, where
//! `probs` are the class probabilities in the model's class order and `label`
//! names the most probable class. The answer names each class only through
//! that `label`, so the scenario names the classes in order: `class_names`, or
//! `model_config`, the model's `config.json`, whose `id2label` the server
//! itself uses. Where the server names the predicted class, the adapter checks
//! it against the scenario's name for it: class names in the wrong order would
//! otherwise invert the audit silently. Every class probability is recorded;
//! the score compared with the threshold is the highest among the classes the
//! scenario counts as violating (`labels`). The served model's name is recorded
//! with each decision.
//!
//! vLLM: <https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html#classification-api>
//! (answer built in `vllm/entrypoints/pooling/classify/serving.py`); SGLang:
//! <https://docs.sglang.io/supported_models/classify_models.html> — when it
//! cannot classify one input it answers one class labelled `Default`, which is
//! that case's error here, never a decision.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::check::Checks;
use super::env::{self, EnvUse};
use super::kind::{Setup, TargetConfig, TargetKind};
use super::remote::{HttpApi, HttpModerator};
use super::tei::{check_labels, rule_text};
use super::transport::{Secret, Transport, excerpt};
use super::{
    AttemptError, BoxFuture, ModerationRequest, Moderator, SetupError, TargetInfo, Verdict, action_from_score,
    fingerprint,
};
use crate::decision::ScoreRule;
use crate::input::{DATA_LIMIT, read_input};

pub const DEFAULT_THRESHOLD: f64 = 0.5;
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// `[target]` with `kind = "classify"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawClassify {
    base_url: String,
    server: Option<ClassifyServer>,
    model: String,
    api_key_env: Option<String>,
    #[serde(default)]
    class_names: Vec<String>,
    model_config: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    threshold: Option<f64>,
    batch_size: Option<usize>,
}

/// The server in front of the model, which decides the endpoint's path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ClassifyServer {
    #[default]
    Vllm,
    Sglang,
}

impl ClassifyServer {
    fn path(self) -> &'static str {
        match self {
            ClassifyServer::Vllm => "/classify",
            ClassifyServer::Sglang => "/v1/classify",
        }
    }

    fn name(self) -> &'static str {
        match self {
            ClassifyServer::Vllm => "vLLM",
            ClassifyServer::Sglang => "SGLang",
        }
    }
}

/// The scenario's settings for a classifier behind vLLM or SGLang (no secrets).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyConfig {
    /// Where the server listens, e.g. `http://127.0.0.1:8000`.
    pub base_url: String,
    pub server: ClassifyServer,
    /// The served model's name, as the server knows it.
    pub model: String,
    /// The variable holding the token the server (or its proxy) expects, if any.
    pub api_key_env: Option<String>,
    /// The model's classes, in its order (index 0 first).
    pub class_names: Vec<String>,
    /// The model's `config.json` the class names were read from, if they were.
    pub model_config: Option<PathBuf>,
    /// The classes that count as violating.
    pub labels: Vec<String>,
    /// Remove when the highest probability among `labels` reaches this.
    pub threshold: f64,
    pub batch_size: usize,
}

impl TargetKind for ClassifyConfig {
    const NAME: &'static str = "classify";
    type Raw = RawClassify;

    fn check(raw: RawClassify, checks: &mut Checks<'_>) -> Option<Self> {
        let base_url = checks.base_url(&raw.base_url);
        if raw.model.trim().is_empty() {
            checks.problem(&["model"], "name the served model, as the server knows it");
        }
        let model_config = raw.model_config.as_ref().map(|written| checks.resolve(written));
        let class_names = match (&raw.model_config, &model_config) {
            (Some(_), _) if !raw.class_names.is_empty() => {
                checks.problem(
                    &["model_config"],
                    "name the classes once: either `class_names` or `model_config`",
                );
                raw.class_names
            }
            (Some(written), Some(path)) => match id2label(path) {
                Ok(names) => names,
                Err(problem) => {
                    checks.problem(&["model_config"], format!("{written}: {problem}"));
                    Vec::new()
                }
            },
            _ if raw.class_names.is_empty() => {
                checks.problem(
                    &[],
                    "name the model's classes in its order: `class_names = [\"neutral\", \"toxic\"]`, or `model_config = \"…/config.json\"` (the model's config, whose `id2label` the server uses)",
                );
                Vec::new()
            }
            _ => raw.class_names,
        };
        if let Some(duplicate) = class_names
            .iter()
            .enumerate()
            .find_map(|(i, name)| class_names[..i].contains(name).then_some(name))
        {
            checks.problem(&["class_names"], format!("`{duplicate}` names two classes"));
        }
        check_labels(checks, &raw.labels);
        if !class_names.is_empty() {
            for label in raw.labels.iter().filter(|l| !class_names.contains(l)) {
                checks.problem(
                    &["labels"],
                    format!("`{label}` is not one of the classes ({})", class_names.join(", ")),
                );
            }
        }
        checks.share(&["threshold"], raw.threshold);
        let batch_size = raw.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
        checks.count_within(&["batch_size"], batch_size, 1..=1024);
        Some(ClassifyConfig {
            base_url,
            server: raw.server.unwrap_or_default(),
            model: raw.model,
            api_key_env: raw.api_key_env.map(|name| checks.api_key_env(Some(name), "")),
            class_names,
            model_config,
            labels: raw.labels,
            threshold: raw.threshold.unwrap_or(DEFAULT_THRESHOLD),
            batch_size,
        })
    }
}

/// The class names of a model's `config.json`, from its `id2label` (`{"0": "neutral", "1": "toxic"}`).
fn id2label(path: &Path) -> Result<Vec<String>, String> {
    let bytes = read_input(path, DATA_LIMIT).map_err(|e| e.to_string())?;
    let config: Value = serde_json::from_slice(bytes.content()).map_err(|e| format!("not JSON ({e})"))?;
    let Some(map) = config.get("id2label").and_then(Value::as_object) else {
        return Err("has no `id2label` object".into());
    };
    (0..map.len())
        .map(|i| {
            map.get(&i.to_string())
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("`id2label` has no class {i}"))
        })
        .collect()
}

impl TargetConfig for ClassifyConfig {
    fn required_env(&self) -> Vec<EnvUse> {
        self.api_key_env.iter().map(|v| env::api_key_use(v)).collect()
    }

    fn local_files(&self) -> Vec<&Path> {
        self.model_config.iter().map(PathBuf::as_path).collect()
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        let key = self.api_key_env.as_deref().map(|v| setup.api_key(v)).transpose()?;
        Ok(Arc::new(ClassifyTarget::new(self.clone(), key)?))
    }

    /// The highest probability among `labels` at or above the threshold is `remove`.
    fn score_rule(&self) -> Option<ScoreRule> {
        Some(ScoreRule::remove_at_or_above(self.threshold))
    }
}

/// What the fingerprint of a `classify` target covers: the class names
/// however they were given (not the file they came from), never the key or
/// the batch size.
#[derive(Serialize)]
struct ClassifyFingerprint<'a> {
    url: &'a str,
    model: &'a str,
    class_names: &'a [String],
    labels: &'a [String],
    threshold: f64,
}

/// A classifier behind vLLM or SGLang as a target.
pub type ClassifyTarget = HttpModerator<ClassifyApi>;

impl ClassifyTarget {
    pub fn new(config: ClassifyConfig, key: Option<Secret>) -> Result<Self, SetupError> {
        let transport = Transport::new(key.iter().cloned().collect()).map_err(SetupError::Build)?;
        let url = format!("{}{}", config.base_url.trim_end_matches('/'), config.server.path());
        let fingerprint = fingerprint(
            ClassifyConfig::NAME,
            &ClassifyFingerprint {
                url: &url,
                model: &config.model,
                class_names: &config.class_names,
                labels: &config.labels,
                threshold: config.threshold,
            },
        );
        let info = TargetInfo {
            kind: ClassifyConfig::NAME.into(),
            description: format!(
                "{} classifier `{}` at {} ({})",
                config.server.name(),
                config.model,
                config.base_url,
                rule_text("probability", &config.labels, config.threshold)
            ),
            fingerprint,
            gives_notice: false,
            notes: Vec::new(),
        };
        let headers = key
            .map(|k| vec![("Authorization".to_string(), format!("Bearer {}", k.expose()))])
            .unwrap_or_default();
        Ok(HttpModerator::from_parts(
            ClassifyApi {
                config,
                headers,
                transport,
                url,
            },
            info,
        ))
    }
}

/// How vLLM or SGLang is asked: a batch per call.
pub struct ClassifyApi {
    config: ClassifyConfig,
    headers: Vec<(String, String)>,
    transport: Transport,
    url: String,
}

impl ClassifyApi {
    /// The verdict on one `data` item; a case the server could not classify,
    /// or whose classes contradict the scenario, fails alone.
    fn verdict(&self, item: &Value, model: Option<&str>) -> Result<Verdict, AttemptError> {
        let Some(probs) = item
            .get("probs")
            .and_then(Value::as_array)
            .and_then(|p| p.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>())
        else {
            return Err(AttemptError::transient(format!(
                "a result has no list of `probs`: {item}"
            )));
        };
        let label = item.get("label").and_then(Value::as_str);
        let names = &self.config.class_names;
        if probs.len() != names.len() {
            let failure = if probs.len() == 1 && label == Some("Default") {
                "the server could not classify this text (it answered its fallback: one class labelled `Default`)"
                    .to_string()
            } else {
                format!(
                    "the server answered {} class probabilities but `class_names` names {} classes",
                    probs.len(),
                    names.len()
                )
            };
            return Ok(Verdict::failed(failure));
        }
        let predicted = probs
            .iter()
            .enumerate()
            .fold(0, |best, (i, p)| if *p > probs[best] { i } else { best });
        if let Some(label) = label.filter(|l| *l != names[predicted]) {
            return Ok(Verdict::failed(format!(
                "the server names class {predicted} `{label}` but `class_names` names it `{}`; list the classes in the model's order",
                names[predicted]
            )));
        }
        let scores: BTreeMap<String, f64> = names.iter().cloned().zip(probs).collect();
        let top = self
            .config
            .labels
            .iter()
            .filter_map(|l| scores.get(l).copied())
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
        Ok(Verdict {
            action: Some(action_from_score(top.unwrap_or(0.0), self.config.threshold)),
            score: top,
            scores,
            model: model.map(str::to_string),
            response: Some(item.clone()),
            ..Verdict::default()
        })
    }

    async fn ask(&self, batch: &[ModerationRequest<'_>]) -> Result<Vec<Verdict>, AttemptError> {
        let input: Vec<&str> = batch.iter().map(|r| r.text).collect();
        let body = json!({ "model": self.config.model, "input": input });
        let response = self.transport.post_json(&self.url, &self.headers, &body).await?;
        let value = self.transport.json_body(&response)?;
        let Some(data) = value.get("data").and_then(Value::as_array) else {
            return Err(AttemptError::transient(format!(
                "the response has no `data` array: {}",
                excerpt(&response.body)
            )));
        };
        let mut items: Vec<Option<&Value>> = vec![None; batch.len()];
        for item in data {
            let slot = item
                .get("index")
                .and_then(Value::as_u64)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| items.get_mut(i));
            match slot {
                Some(slot @ None) => *slot = Some(item),
                _ => {
                    return Err(AttemptError::transient(format!(
                        "a result's `index` is missing, repeated or beyond the {} inputs: {item}",
                        batch.len()
                    )));
                }
            }
        }
        let model = value.get("model").and_then(Value::as_str);
        items
            .into_iter()
            .map(|item| match item {
                Some(item) => self.verdict(item, model),
                None => Err(AttemptError::transient(format!(
                    "{} results for {} inputs",
                    data.len(),
                    batch.len()
                ))),
            })
            .collect()
    }
}

impl HttpApi for ClassifyApi {
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

    fn target(server: ClassifyServer, class_names: &[&str], labels: &[&str]) -> ClassifyTarget {
        ClassifyTarget::new(
            ClassifyConfig {
                base_url: "http://127.0.0.1:8000".into(),
                server,
                model: "unitary/toxic-classifier".into(),
                api_key_env: None,
                class_names: class_names.iter().map(|c| c.to_string()).collect(),
                model_config: None,
                labels: labels.iter().map(|l| l.to_string()).collect(),
                threshold: 0.5,
                batch_size: DEFAULT_BATCH_SIZE,
            },
            None,
        )
        .unwrap()
    }

    #[test]
    fn the_server_decides_the_path() {
        assert_eq!(
            target(ClassifyServer::Vllm, &["a"], &["a"]).api().url,
            "http://127.0.0.1:8000/classify"
        );
        assert_eq!(
            target(ClassifyServer::Sglang, &["a"], &["a"]).api().url,
            "http://127.0.0.1:8000/v1/classify"
        );
    }

    #[test]
    fn probabilities_are_named_by_class_and_checked_against_the_servers_label() {
        let t = target(
            ClassifyServer::Vllm,
            &["neutral", "offensive", "hate"],
            &["offensive", "hate"],
        );
        let item = json!({"index": 0, "label": "offensive", "probs": [0.3, 0.45, 0.25], "num_classes": 3});
        let v = t.api().verdict(&item, Some("m")).unwrap();
        assert_eq!((v.action, v.score), (Some(Action::Allow), Some(0.45)));
        assert_eq!(v.scores["hate"], 0.25);
        assert_eq!(v.model.as_deref(), Some("m"));
        let unnamed = json!({"index": 0, "label": null, "probs": [0.1, 0.2, 0.7], "num_classes": 3});
        assert_eq!(t.api().verdict(&unnamed, None).unwrap().action, Some(Action::Remove));
        let contradicting = json!({"index": 0, "label": "neutral", "probs": [0.1, 0.2, 0.7], "num_classes": 3});
        let v = t.api().verdict(&contradicting, None).unwrap();
        assert_eq!(v.action, Some(Action::Error));
        assert_eq!(
            v.detail.as_deref(),
            Some(
                "the server names class 2 `neutral` but `class_names` names it `hate`; list the classes in the model's order"
            )
        );
        let fallback = json!({"index": 0, "label": "Default", "probs": [1.0], "num_classes": 1});
        let v = t.api().verdict(&fallback, None).unwrap();
        assert_eq!(v.action, Some(Action::Error));
        assert!(v.detail.unwrap().contains("could not classify this text"));
        assert!(
            t.api()
                .verdict(&json!({"index": 0, "probs": "x"}), None)
                .unwrap_err()
                .is_retryable()
        );
    }

    #[test]
    fn class_names_are_read_from_id2label_in_index_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"id2label": {"1": "toxic", "0": "neutral", "2": "hate"}}"#).unwrap();
        assert_eq!(id2label(&path).unwrap(), ["neutral", "toxic", "hate"]);
        std::fs::write(&path, r#"{"label2id": {}}"#).unwrap();
        assert_eq!(id2label(&path).unwrap_err(), "has no `id2label` object");
        std::fs::write(&path, "{").unwrap();
        assert!(id2label(&path).unwrap_err().starts_with("not JSON"));
    }

    #[test]
    fn the_fingerprint_is_pinned() {
        assert_eq!(
            target(ClassifyServer::Vllm, &["neutral", "toxic"], &["toxic"])
                .info()
                .fingerprint,
            "eed1700258b0740bf34f1c60480a636f2c71a760b7338882a8f63383a4029e8c"
        );
    }
}
