//! `azure`: Azure AI Content Safety, text analysis (`text:analyze`).
//!
//! Each category's severity (0–7; 0, 2, 4, 6 with the default four levels) is
//! recorded; the action is `remove` when any requested category reaches the
//! threshold severity.

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
use crate::decision::Action;

pub const DEFAULT_KEY_ENV: &str = "AZURE_CONTENT_SAFETY_KEY";
pub const DEFAULT_API_VERSION: &str = "2024-09-01";
pub const DEFAULT_THRESHOLD: u32 = 4;
pub const DEFAULT_CATEGORIES: [&str; 4] = ["Hate", "Sexual", "SelfHarm", "Violence"];
/// The service's limit on one text.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// The answer's severity scales.
const OUTPUT_TYPES: [&str; 2] = ["FourSeverityLevels", "EightSeverityLevels"];

/// `[target]` with `kind = "azure"`, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAzure {
    base_url: String,
    api_key_env: Option<String>,
    api_version: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
    threshold: Option<u32>,
    output_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AzureConfig {
    /// The resource's endpoint, e.g. `https://<name>.cognitiveservices.azure.com`.
    pub base_url: String,
    pub api_key_env: String,
    pub api_version: String,
    pub categories: Vec<String>,
    /// Severity at or above which the action is `remove`.
    pub threshold: u32,
    /// `FourSeverityLevels` or `EightSeverityLevels`.
    pub output_type: String,
}

impl TargetKind for AzureConfig {
    const NAME: &'static str = "azure";
    type Raw = RawAzure;

    fn check(raw: RawAzure, checks: &mut Checks<'_>) -> Option<Self> {
        let base_url = checks.base_url(&raw.base_url);
        let categories: Vec<String> = if raw.categories.is_empty() {
            DEFAULT_CATEGORIES.iter().map(|c| c.to_string()).collect()
        } else {
            raw.categories
        };
        for c in &categories {
            if !DEFAULT_CATEGORIES.contains(&c.as_str()) {
                checks.problem(
                    &["categories"],
                    format!("unknown category `{c}` (expected Hate, Sexual, SelfHarm or Violence)"),
                );
            }
        }
        let output_type = raw.output_type.unwrap_or_else(|| OUTPUT_TYPES[0].into());
        if !OUTPUT_TYPES.contains(&output_type.as_str()) {
            checks.problem(&["output_type"], "must be FourSeverityLevels or EightSeverityLevels");
        }
        let threshold = raw.threshold.unwrap_or(DEFAULT_THRESHOLD);
        if threshold > 7 {
            checks.problem(&["threshold"], format!("a severity is 0–7, got {threshold}"));
        }
        Some(AzureConfig {
            base_url,
            api_key_env: checks.api_key_env(raw.api_key_env, DEFAULT_KEY_ENV),
            api_version: raw.api_version.unwrap_or_else(|| DEFAULT_API_VERSION.to_string()),
            categories,
            threshold,
            output_type,
        })
    }
}

impl TargetConfig for AzureConfig {
    fn required_env(&self) -> Vec<EnvUse> {
        vec![env::api_key_use(&self.api_key_env)]
    }

    fn local_files(&self) -> Vec<&Path> {
        Vec::new()
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        let key = setup.api_key(&self.api_key_env)?;
        Ok(Arc::new(AzureTarget::new(self.clone(), key)?))
    }
}

/// What the fingerprint of an `azure` target covers (never the key).
#[derive(Serialize)]
struct AzureFingerprint<'a> {
    url: &'a str,
    categories: &'a [String],
    threshold: u32,
    output_type: &'a str,
}

/// Azure AI Content Safety as a target.
pub type AzureTarget = HttpModerator<AzureApi>;

impl AzureTarget {
    pub fn new(config: AzureConfig, key: Secret) -> Result<Self, SetupError> {
        let transport = Transport::new(vec![key.clone()]).map_err(SetupError::Build)?;
        let url = format!(
            "{}/contentsafety/text:analyze?api-version={}",
            config.base_url.trim_end_matches('/'),
            config.api_version
        );
        let fingerprint = fingerprint(
            AzureConfig::NAME,
            &AzureFingerprint {
                url: &url,
                categories: &config.categories,
                threshold: config.threshold,
                output_type: &config.output_type,
            },
        );
        let info = TargetInfo {
            kind: AzureConfig::NAME.into(),
            description: format!(
                "Azure AI Content Safety at {} (severity ≥ {} in {})",
                config.base_url,
                config.threshold,
                config.categories.join(", ")
            ),
            fingerprint,
            gives_notice: false,
            notes: Vec::new(),
        };
        Ok(HttpModerator::from_parts(
            AzureApi {
                config,
                key,
                transport,
                url,
            },
            info,
        ))
    }
}

/// How Azure AI Content Safety is asked: one text per call.
pub struct AzureApi {
    config: AzureConfig,
    key: Secret,
    transport: Transport,
    url: String,
}

impl AzureApi {
    async fn ask(&self, request: &ModerationRequest<'_>) -> Result<Verdict, AttemptError> {
        let length = request.text.chars().count();
        if length > MAX_TEXT_CHARS {
            return Err(AttemptError::permanent(format!(
                "the text has {length} characters; the service accepts at most {MAX_TEXT_CHARS}"
            )));
        }
        let body = json!({
            "text": request.text,
            "categories": self.config.categories,
            "outputType": self.config.output_type,
            "haltOnBlocklistHit": false,
        });
        let headers = [("Ocp-Apim-Subscription-Key".to_string(), self.key.expose().to_string())];
        let response = self.transport.post_json(&self.url, &headers, &body).await?;
        let value = self.transport.json_body(&response)?;
        let Some(analysis) = value.get("categoriesAnalysis").and_then(Value::as_array) else {
            return Err(AttemptError::transient(format!(
                "the response has no `categoriesAnalysis`: {}",
                excerpt(&response.body)
            )));
        };
        let mut scores = BTreeMap::new();
        for entry in analysis {
            if let (Some(category), Some(severity)) = (
                entry.get("category").and_then(Value::as_str),
                entry.get("severity").and_then(Value::as_f64),
            ) {
                scores.insert(category.to_string(), severity);
            }
        }
        let requested = scores
            .iter()
            .filter(|(c, _)| self.config.categories.iter().any(|r| r == *c));
        let top = requested
            .map(|(_, s)| *s)
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
        let action = if top.is_some_and(|s| s >= f64::from(self.config.threshold)) {
            Action::Remove
        } else {
            Action::Allow
        };
        Ok(Verdict {
            action: Some(action),
            score: top,
            scores,
            response: Some(value),
            ..Verdict::default()
        })
    }
}

impl HttpApi for AzureApi {
    fn call<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        one_by_one(batch, |request| self.ask(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_pinned() {
        let target = AzureTarget::new(
            AzureConfig {
                base_url: "https://example-resource.cognitiveservices.azure.com".into(),
                api_key_env: DEFAULT_KEY_ENV.into(),
                api_version: DEFAULT_API_VERSION.into(),
                categories: vec!["Hate".into(), "Violence".into()],
                threshold: 4,
                output_type: "FourSeverityLevels".into(),
            },
            Secret::new("k".into()),
        )
        .unwrap();
        assert_eq!(
            target.info().fingerprint,
            "a26fd6aea4f4e885d11c00171c34a0ad402c319e3c82db53d04e846add3ae58e"
        );
    }
}
