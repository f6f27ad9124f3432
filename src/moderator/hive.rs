//! `hive`: Hive text moderation, synchronous task API (`/api/v2/task/sync`).
//!
//! Wire format: <https://docs.thehive.ai/docs/text-moderation-api> and
//! <https://docs.thehive.ai/reference/text-moderation>. `POST /api/v2/task/sync`
//! with `Authorization: token KEY` and `{"text_data": …}` answers
//! `{"status": [{"status": {"code", "message"}, "response": {"language",
//! "moderated_classes", "output": [{"classes": [{"class", "score"}]}], …}}]}`.
//! Scores are severities from 0 (benign) to 3 (most severe) per class
//! (<https://docs.thehive.ai/docs/classification-text>); binary heads (spam,
//! promotions …) answer 0 or 3; a head the language does not support answers -1.
//!
//! The action is `remove` when the highest severity among the chosen classes
//! (default hate, bullying and violence) reaches the threshold (default 2 —
//! for hate, level 2 covers negative stereotypes, degrading comments and
//! denouncing slurs; 3 slurs, hate speech and hateful ideology). Every class's
//! severity is recorded (the highest over the answer's chunks).
//!
//! Hive says it cannot moderate a text's language by classifying it as
//! `UNSUPPORTED` with no `moderated_classes`: that is `unsupported`, and so is
//! an answer in which none of the chosen classes was moderated.
//!
//! Hive takes at most 1,024 characters by default (a project may be granted
//! more: `max_chars`). A longer case is an `error` and is not sent: a truncated
//! text is not the case the corpus holds.

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
    AttemptError, BoxFuture, ModerationRequest, Moderator, SetupError, TargetInfo, Verdict, fingerprint, one_by_one,
};
use crate::decision::{Action, ScoreRule};

pub const DEFAULT_BASE_URL: &str = "https://api.hivemoderation.com";
pub const DEFAULT_KEY_ENV: &str = "HIVE_API_KEY";
pub const DEFAULT_CLASSES: [&str; 3] = ["hate", "bullying", "violence"];
pub const DEFAULT_THRESHOLD: u32 = 2;
/// Hive's default limit on one text.
pub const DEFAULT_MAX_CHARS: usize = 1024;
/// The highest severity.
const MAX_SEVERITY: u32 = 3;

/// `[target]` with `kind = "hive"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHive {
    base_url: Option<String>,
    api_key_env: Option<String>,
    #[serde(default)]
    classes: Vec<String>,
    threshold: Option<u32>,
    max_chars: Option<usize>,
}

/// The scenario's settings for Hive text moderation (no secrets).
#[derive(Debug, Clone, PartialEq)]
pub struct HiveConfig {
    pub base_url: String,
    pub api_key_env: String,
    /// Classes whose highest severity decides.
    pub classes: Vec<String>,
    /// Severity (1–3) at or above which the action is `remove`.
    pub threshold: u32,
    /// The longest text sent, in characters.
    pub max_chars: usize,
}

impl TargetKind for HiveConfig {
    const NAME: &'static str = "hive";
    type Raw = RawHive;

    fn check(raw: RawHive, checks: &mut Checks<'_>) -> Option<Self> {
        let base_url = checks.base_url(raw.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL));
        let classes: Vec<String> = if raw.classes.is_empty() {
            DEFAULT_CLASSES.iter().map(|c| c.to_string()).collect()
        } else {
            raw.classes
        };
        if classes.iter().any(|c| c.trim().is_empty()) {
            checks.problem(&["classes"], "a class name is empty");
        }
        let threshold = raw.threshold.unwrap_or(DEFAULT_THRESHOLD);
        if !(1..=MAX_SEVERITY).contains(&threshold) {
            checks.problem(
                &["threshold"],
                format!("a severity threshold is 1–3 (0 would remove everything), got {threshold}"),
            );
        }
        let max_chars = raw.max_chars.unwrap_or(DEFAULT_MAX_CHARS);
        checks.count_within(&["max_chars"], max_chars, 1..=1_000_000);
        Some(HiveConfig {
            base_url,
            api_key_env: checks.api_key_env(raw.api_key_env, DEFAULT_KEY_ENV),
            classes,
            threshold,
            max_chars,
        })
    }
}

impl TargetConfig for HiveConfig {
    fn required_env(&self) -> Vec<EnvUse> {
        vec![env::api_key_use(&self.api_key_env)]
    }

    fn local_files(&self) -> Vec<&Path> {
        Vec::new()
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        let key = setup.api_key(&self.api_key_env)?;
        Ok(Arc::new(HiveTarget::new(self.clone(), key)?))
    }

    /// The highest severity among the classes at or above the threshold is `remove`.
    fn score_rule(&self) -> Option<ScoreRule> {
        Some(ScoreRule::remove_at_or_above(f64::from(self.threshold)))
    }
}

/// What the fingerprint of a `hive` target covers (not `max_chars`, which
/// decides only what is sent, and never the key). The project behind the key
/// decides the model too; the endpoint is all that names it here.
#[derive(Serialize)]
struct HiveFingerprint<'a> {
    url: &'a str,
    classes: &'a [String],
    threshold: u32,
}

/// Hive text moderation as a target.
pub type HiveTarget = HttpModerator<HiveApi>;

impl HiveTarget {
    pub fn new(config: HiveConfig, key: Secret) -> Result<Self, SetupError> {
        let transport = Transport::new(vec![key.clone()]).map_err(SetupError::Build)?;
        let url = format!("{}/api/v2/task/sync", config.base_url);
        let fingerprint = fingerprint(
            HiveConfig::NAME,
            &HiveFingerprint {
                url: &url,
                classes: &config.classes,
                threshold: config.threshold,
            },
        );
        let info = TargetInfo {
            kind: HiveConfig::NAME.into(),
            description: format!(
                "Hive text moderation at {} (severity ≥ {} in {})",
                config.base_url,
                config.threshold,
                config.classes.join(", ")
            ),
            fingerprint,
            gives_notice: false,
            notes: Vec::new(),
        };
        Ok(HttpModerator::from_parts(
            HiveApi {
                config,
                key,
                transport,
                url,
            },
            info,
        ))
    }
}

/// How Hive is asked: one text per call.
pub struct HiveApi {
    config: HiveConfig,
    key: Secret,
    transport: Transport,
    url: String,
}

impl HiveApi {
    async fn ask(&self, request: &ModerationRequest<'_>) -> Result<Verdict, AttemptError> {
        let length = request.text.chars().count();
        if length > self.config.max_chars {
            return Err(AttemptError::permanent(format!(
                "the text has {length} characters; Hive takes at most {} (`max_chars`): not sent (a truncated text would not be the case)",
                self.config.max_chars
            )));
        }
        let headers = [("Authorization".to_string(), format!("token {}", self.key.expose()))];
        let body = json!({ "text_data": request.text });
        let response = self.transport.post_json(&self.url, &headers, &body).await?;
        let value = self.transport.json_body(&response)?;
        self.verdict(value)
    }

    fn verdict(&self, value: Value) -> Result<Verdict, AttemptError> {
        let Some(answer) = value.pointer("/status/0/response") else {
            return Err(AttemptError::transient(format!(
                "the response has no `status[0].response`: {}",
                excerpt(value.to_string().as_bytes())
            )));
        };
        let language = answer.get("language").and_then(Value::as_str).unwrap_or("unknown");
        let moderated: Vec<&str> = answer
            .get("moderated_classes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if language.eq_ignore_ascii_case("UNSUPPORTED") || moderated.is_empty() {
            return Ok(unsupported(
                format!("Hive classified the language as {language} and moderated no class"),
                value,
            ));
        }
        let Some(outputs) = answer.get("output").and_then(Value::as_array) else {
            return Err(AttemptError::transient(format!(
                "the response has no `output` array: {}",
                excerpt(value.to_string().as_bytes())
            )));
        };
        let mut severities: BTreeMap<String, f64> = BTreeMap::new();
        for class in outputs
            .iter()
            .filter_map(|o| o.get("classes").and_then(Value::as_array))
            .flatten()
        {
            if let (Some(name), Some(score)) = (
                class.get("class").and_then(Value::as_str),
                class.get("score").and_then(Value::as_f64),
            ) {
                let highest = severities.entry(name.to_string()).or_insert(score);
                *highest = highest.max(score);
            }
        }
        // A head the language does not support answers -1: it was not moderated.
        severities.retain(|_, score| *score >= 0.0);
        let chosen: Vec<f64> = self
            .config
            .classes
            .iter()
            .filter(|c| moderated.contains(&c.as_str()))
            .filter_map(|c| severities.get(c).copied())
            .collect();
        let Some(top) = chosen.into_iter().reduce(f64::max) else {
            return Ok(Verdict {
                scores: severities,
                ..unsupported(
                    format!(
                        "Hive does not moderate {} in {language}",
                        self.config.classes.join(", ")
                    ),
                    value,
                )
            });
        };
        let action = if top >= f64::from(self.config.threshold) {
            Action::Remove
        } else {
            Action::Allow
        };
        Ok(Verdict {
            action: Some(action),
            score: Some(top),
            scores: severities,
            response: Some(value),
            ..Verdict::default()
        })
    }
}

fn unsupported(detail: String, response: Value) -> Verdict {
    Verdict {
        action: Some(Action::Unsupported),
        detail: Some(detail),
        response: Some(response),
        ..Verdict::default()
    }
}

impl HttpApi for HiveApi {
    fn call<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        one_by_one(batch, |request| self.ask(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(classes: &[&str], threshold: u32) -> HiveTarget {
        HiveTarget::new(
            HiveConfig {
                base_url: DEFAULT_BASE_URL.into(),
                api_key_env: DEFAULT_KEY_ENV.into(),
                classes: classes.iter().map(|c| c.to_string()).collect(),
                threshold,
                max_chars: DEFAULT_MAX_CHARS,
            },
            Secret::new("hive-SECRET".into()),
        )
        .unwrap()
    }

    fn answer(language: &str, moderated: &[&str], chunks: Value) -> Value {
        json!({"status": [{"status": {"code": "0", "message": "SUCCESS"},
            "response": {"language": language, "moderated_classes": moderated, "output": chunks}}]})
    }

    #[test]
    fn each_key_is_checked_where_it_is_written() {
        use crate::moderator::registry::check_as;
        let (config, problems, _) = check_as::<HiveConfig>("[target]\nkind = 'hive'\n");
        assert!(problems.is_empty(), "{problems:?}");
        let config = config.unwrap();
        assert_eq!(
            (config.classes.len(), config.threshold, config.max_chars),
            (3, DEFAULT_THRESHOLD, DEFAULT_MAX_CHARS)
        );
        let (_, problems, _) = check_as::<HiveConfig>(
            "[target]\nkind = 'hive'\nclasses = ['hate', ' ']\nthreshold = 0\nmax_chars = 0\napi_key_env = 'MY KEY'\n",
        );
        assert_eq!(
            problems,
            [
                "s.toml:3: `target.classes`: a class name is empty",
                "s.toml:4: `target.threshold`: a severity threshold is 1–3 (0 would remove everything), got 0",
                "s.toml:5: `target.max_chars`: must be between 1 and 1000000, got 0",
                "s.toml:6: `target.api_key_env`: `MY KEY` is not an environment variable name (the key itself never goes in the scenario)",
            ]
        );
        let (_, problems, _) = check_as::<HiveConfig>("[target]\nkind = 'hive'\nthreshold = 4\n");
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn the_fingerprint_is_pinned() {
        let t = target(&DEFAULT_CLASSES, 2);
        assert_eq!(
            t.info().fingerprint,
            "0118b5c24723453cb1040beebc656806b7ebb07df9cc1aaeada5a5315eed85b3"
        );
        assert!(!format!("{:?}", t.info()).contains("hive-SECRET"));
        assert_eq!(t.api().url, "https://api.hivemoderation.com/api/v2/task/sync");
    }

    #[test]
    fn the_highest_chosen_severity_over_every_chunk_decides() {
        let chunks = json!([
            {"classes": [{"class": "hate", "score": 1}, {"class": "sexual", "score": 3}, {"class": "bullying", "score": 0}]},
            {"classes": [{"class": "hate", "score": 2}, {"class": "sexual", "score": 0}, {"class": "bullying", "score": 1}]}
        ]);
        let moderated = ["hate", "sexual", "bullying"];
        let v = target(&["hate", "bullying"], 2)
            .api()
            .verdict(answer("EN", &moderated, chunks.clone()))
            .unwrap();
        assert_eq!((v.action, v.score), (Some(Action::Remove), Some(2.0)));
        assert_eq!(v.scores["sexual"], 3.0, "every class is recorded");
        let v = target(&["hate", "bullying"], 3)
            .api()
            .verdict(answer("EN", &moderated, chunks))
            .unwrap();
        assert_eq!(v.action, Some(Action::Allow));
    }

    #[test]
    fn a_language_or_class_hive_cannot_moderate_is_unsupported() {
        let t = target(&["hate"], 2);
        let v = t.api().verdict(answer("UNSUPPORTED", &[], json!([]))).unwrap();
        assert_eq!(v.action, Some(Action::Unsupported));
        assert_eq!(
            v.detail.as_deref(),
            Some("Hive classified the language as UNSUPPORTED and moderated no class")
        );
        let chunks = json!([{"classes": [{"class": "hate", "score": -1}, {"class": "violence", "score": 0}]}]);
        let v = t.api().verdict(answer("SW", &["hate", "violence"], chunks)).unwrap();
        assert_eq!(v.action, Some(Action::Unsupported));
        assert_eq!(v.detail.as_deref(), Some("Hive does not moderate hate in SW"));
        assert!(!v.scores.contains_key("hate"), "-1 is no severity");
        assert!(t.api().verdict(json!({"status": []})).is_err());
    }
}
