//! `azure`: Azure AI Content Safety, text analysis (`text:analyze`).
//!
//! Each category's severity (0–7; 0, 2, 4, 6 with the default four levels) is
//! recorded; the action is `remove` when any requested category reaches the
//! threshold severity.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

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

/// What the fingerprint of an `azure` target covers (never the key).
#[derive(Serialize)]
struct AzureFingerprint<'a> {
    url: &'a str,
    categories: &'a [String],
    threshold: u32,
    output_type: &'a str,
}

pub struct AzureTarget {
    config: AzureConfig,
    key: Secret,
    transport: Transport,
    url: String,
    info: TargetInfo,
}

impl AzureTarget {
    pub fn new(config: AzureConfig, key: Secret) -> Result<Self, SetupError> {
        let transport = Transport::new(vec![key.clone()]).map_err(SetupError::Build)?;
        let url = format!(
            "{}/contentsafety/text:analyze?api-version={}",
            config.base_url.trim_end_matches('/'),
            config.api_version
        );
        let fingerprint = fingerprint(
            "azure",
            &AzureFingerprint {
                url: &url,
                categories: &config.categories,
                threshold: config.threshold,
                output_type: &config.output_type,
            },
        );
        let info = TargetInfo {
            kind: "azure".into(),
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
        Ok(AzureTarget {
            config,
            key,
            transport,
            url,
            info,
        })
    }

    async fn call(&self, request: &ModerationRequest<'_>) -> Result<Verdict, AttemptError> {
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

impl Moderator for AzureTarget {
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
