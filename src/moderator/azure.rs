//! `azure`: Azure AI Content Safety, text analysis (`text:analyze`).
//!
//! Each category's severity (0–7; 0, 2, 4, 6 with the default four levels) is
//! recorded; the action is `remove` when any requested category reaches the
//! threshold severity.
//!
//! Custom blocklists (`blocklist_names`, sent as `blocklistNames`) audit the
//! service as a deployer runs it: a text matching an entry of one of them is
//! `remove` whatever its severities, and the decision's detail names each list,
//! entry and item id (decisions.csv `detail`). With `halt_on_blocklist_hit`
//! the service stops at a match, so such a case has no severities and no score.
//!
//! Requests authenticate with the resource key (`Ocp-Apim-Subscription-Key`)
//! or, with `auth = "entra"`, with a Microsoft Entra ID access token
//! (`Authorization: Bearer`) read once from the environment: it lasts about an
//! hour, so an expired token shows as HTTP 401 saying so.
//! Wire format: <https://learn.microsoft.com/en-us/rest/api/contentsafety/text-operations/analyze-text?view=rest-contentsafety-2024-09-01>;
//! blocklists: <https://learn.microsoft.com/en-us/azure/ai-services/content-safety/how-to/use-blocklist>;
//! Entra ID: <https://learn.microsoft.com/en-us/azure/ai-services/authentication#authenticate-with-microsoft-entra-id>.

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

pub const DEFAULT_KEY_ENV: &str = "AZURE_CONTENT_SAFETY_KEY";
pub const DEFAULT_TOKEN_ENV: &str = "AZURE_CONTENT_SAFETY_TOKEN";
/// The scenario key naming the variable that holds an Entra ID token.
pub const TOKEN_ENV_KEY: &str = "target.token_env";
pub const DEFAULT_API_VERSION: &str = "2024-09-01";
pub const DEFAULT_THRESHOLD: u32 = 4;
pub const DEFAULT_CATEGORIES: [&str; 4] = ["Hate", "Sexual", "SelfHarm", "Violence"];
/// The service's limit on one text.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// The answer's severity scales.
const OUTPUT_TYPES: [&str; 2] = ["FourSeverityLevels", "EightSeverityLevels"];

/// `[target]` with `kind = "azure"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAzure {
    base_url: String,
    auth: Option<RawAuth>,
    api_key_env: Option<String>,
    token_env: Option<String>,
    api_version: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
    threshold: Option<u32>,
    output_type: Option<String>,
    #[serde(default)]
    blocklist_names: Vec<String>,
    halt_on_blocklist_hit: Option<bool>,
}

/// `auth = "key" | "entra"`.
#[derive(Debug, Clone, Copy, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum RawAuth {
    #[default]
    Key,
    Entra,
}

/// How requests prove they may use the resource, and the environment variable
/// holding the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AzureAuth {
    /// The resource key, sent as `Ocp-Apim-Subscription-Key`.
    Key { env: String },
    /// A Microsoft Entra ID access token (scope
    /// `https://cognitiveservices.azure.com/.default`), sent as `Authorization: Bearer`.
    Entra { env: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct AzureConfig {
    /// The resource's endpoint, e.g. `https://<name>.cognitiveservices.azure.com`.
    pub base_url: String,
    pub auth: AzureAuth,
    pub api_version: String,
    pub categories: Vec<String>,
    /// Severity at or above which the action is `remove`.
    pub threshold: u32,
    /// `FourSeverityLevels` or `EightSeverityLevels`.
    pub output_type: String,
    /// Custom blocklists the text is also matched against; a match is `remove`.
    pub blocklist_names: Vec<String>,
    /// Whether the service stops analysing a text that matched a blocklist.
    pub halt_on_blocklist_hit: bool,
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
        for name in &raw.blocklist_names {
            // https://learn.microsoft.com/en-us/azure/ai-services/content-safety/how-to/use-blocklist
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)) {
                checks.problem(
                    &["blocklist_names"],
                    format!("`{name}` is not a blocklist name (letters, digits, `-`, `.`, `_` and `~`)"),
                );
            }
        }
        let halt_on_blocklist_hit = raw.halt_on_blocklist_hit.unwrap_or(false);
        if halt_on_blocklist_hit && raw.blocklist_names.is_empty() {
            checks.problem(&["halt_on_blocklist_hit"], "has no effect without `blocklist_names`");
        }
        let auth = match raw.auth.unwrap_or_default() {
            RawAuth::Key => {
                if raw.token_env.is_some() {
                    checks.problem(
                        &["token_env"],
                        "only with auth = \"entra\"; the key comes from `api_key_env`",
                    );
                }
                AzureAuth::Key {
                    env: checks.api_key_env(raw.api_key_env, DEFAULT_KEY_ENV),
                }
            }
            RawAuth::Entra => {
                if raw.api_key_env.is_some() {
                    checks.problem(
                        &["api_key_env"],
                        "only with auth = \"key\"; an Entra ID token comes from `token_env`",
                    );
                }
                AzureAuth::Entra {
                    env: checks.secret_env(&["token_env"], raw.token_env, DEFAULT_TOKEN_ENV),
                }
            }
        };
        Some(AzureConfig {
            base_url,
            auth,
            api_version: raw.api_version.unwrap_or_else(|| DEFAULT_API_VERSION.to_string()),
            categories,
            threshold,
            output_type,
            blocklist_names: raw.blocklist_names,
            halt_on_blocklist_hit,
        })
    }
}

impl TargetConfig for AzureConfig {
    fn required_env(&self) -> Vec<EnvUse> {
        match &self.auth {
            AzureAuth::Key { env } => vec![env::api_key_use(env)],
            AzureAuth::Entra { env } => vec![EnvUse {
                variable: env.clone(),
                key: TOKEN_ENV_KEY.to_string(),
                secret: true,
            }],
        }
    }

    fn local_files(&self) -> Vec<&Path> {
        Vec::new()
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        let secret = match &self.auth {
            AzureAuth::Key { env } => setup.api_key(env)?,
            AzureAuth::Entra { env } => env::read_key(env, TOKEN_ENV_KEY, setup.env)?,
        };
        Ok(Arc::new(AzureTarget::new(self.clone(), secret)?))
    }

    /// The highest severity among the categories at or above the threshold is
    /// `remove` — unless blocklists are matched too: a blocklist match is
    /// `remove` whatever the severity, so the action is no longer a threshold
    /// on the score alone.
    fn score_rule(&self) -> Option<ScoreRule> {
        self.blocklist_names
            .is_empty()
            .then(|| ScoreRule::remove_at_or_above(f64::from(self.threshold)))
    }
}

/// What the fingerprint of an `azure` target covers (never the key or token,
/// nor how requests authenticate, which changes no answer). Blocklists are
/// left out when there are none, so that such targets keep their fingerprint.
#[derive(Serialize)]
struct AzureFingerprint<'a> {
    url: &'a str,
    categories: &'a [String],
    threshold: u32,
    output_type: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    blocklist_names: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    halt_on_blocklist_hit: bool,
}

/// Azure AI Content Safety as a target.
pub type AzureTarget = HttpModerator<AzureApi>;

impl AzureTarget {
    /// The target; `secret` is the key or the Entra ID token, as `config.auth` says.
    pub fn new(config: AzureConfig, secret: Secret) -> Result<Self, SetupError> {
        let transport = Transport::new(vec![secret.clone()]).map_err(SetupError::Build)?;
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
                blocklist_names: &config.blocklist_names,
                halt_on_blocklist_hit: config.halt_on_blocklist_hit,
            },
        );
        let mut description = format!(
            "Azure AI Content Safety at {} (severity ≥ {} in {}",
            config.base_url,
            config.threshold,
            config.categories.join(", ")
        );
        if !config.blocklist_names.is_empty() {
            description.push_str(&format!(
                "; blocklists {}{}",
                config.blocklist_names.join(", "),
                if config.halt_on_blocklist_hit {
                    ", halting at a match"
                } else {
                    ""
                }
            ));
        }
        description.push(')');
        let info = TargetInfo {
            kind: AzureConfig::NAME.into(),
            description,
            fingerprint,
            gives_notice: false,
            notes: Vec::new(),
        };
        let header = match config.auth {
            AzureAuth::Key { .. } => ("Ocp-Apim-Subscription-Key".to_string(), secret.expose().to_string()),
            AzureAuth::Entra { .. } => ("Authorization".to_string(), format!("Bearer {}", secret.expose())),
        };
        Ok(HttpModerator::from_parts(
            AzureApi {
                config,
                header,
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
    /// The header that carries the key or the token.
    header: (String, String),
    transport: Transport,
    url: String,
}

impl AzureApi {
    fn body(&self, text: &str) -> Value {
        let mut body = json!({
            "text": text,
            "categories": self.config.categories,
            "outputType": self.config.output_type,
            "haltOnBlocklistHit": self.config.halt_on_blocklist_hit,
        });
        if !self.config.blocklist_names.is_empty() {
            body["blocklistNames"] = json!(self.config.blocklist_names);
        }
        body
    }

    async fn ask(&self, request: &ModerationRequest<'_>) -> Result<Verdict, AttemptError> {
        let length = request.text.chars().count();
        if length > MAX_TEXT_CHARS {
            return Err(AttemptError::permanent(format!(
                "the text has {length} characters; the service accepts at most {MAX_TEXT_CHARS}"
            )));
        }
        let response = self
            .transport
            .post_json(&self.url, std::slice::from_ref(&self.header), &self.body(request.text))
            .await?;
        if response.status == 401 && matches!(self.config.auth, AzureAuth::Entra { .. }) {
            let mut error = self.transport.status_error(&response);
            error.message.push_str(
                " (the Entra ID token may have expired — tokens last about an hour — or lack the Cognitive Services User role)",
            );
            return Err(error);
        }
        let value = self.transport.json_body(&response)?;
        self.verdict(value, &response.body)
    }

    /// The verdict on an answer (`body` is its text, for messages).
    fn verdict(&self, value: Value, body: &[u8]) -> Result<Verdict, AttemptError> {
        let matches = blocklist_matches(&value);
        let analysis = value.get("categoriesAnalysis").and_then(Value::as_array);
        let analysis = match analysis {
            Some(analysis) => analysis.as_slice(),
            // The service may stop before the analysis once a blocklist matched.
            None if !matches.is_empty() => &[],
            None => {
                return Err(AttemptError::transient(format!(
                    "the response has no `categoriesAnalysis`: {}",
                    excerpt(body)
                )));
            }
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
        let action = if !matches.is_empty() || top.is_some_and(|s| s >= f64::from(self.config.threshold)) {
            Action::Remove
        } else {
            Action::Allow
        };
        Ok(Verdict {
            action: Some(action),
            score: top,
            scores,
            detail: (!matches.is_empty()).then(|| format!("blocklist match: {}", matches.join("; "))),
            response: Some(value),
            ..Verdict::default()
        })
    }
}

/// Each entry of `blocklistsMatch`, as `list "entry" (item id)`.
fn blocklist_matches(value: &Value) -> Vec<String> {
    let field = |m: &Value, name: &str| m.get(name).and_then(Value::as_str).unwrap_or("?").to_string();
    value
        .get("blocklistsMatch")
        .and_then(Value::as_array)
        .map(|matches| {
            matches
                .iter()
                .map(|m| {
                    format!(
                        "{} {} (item {})",
                        field(m, "blocklistName"),
                        serde_json::to_string(&field(m, "blocklistItemText")).unwrap_or_default(),
                        field(m, "blocklistItemId")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

impl HttpApi for AzureApi {
    fn call<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        one_by_one(batch, |request| self.ask(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(auth: AzureAuth, blocklist_names: &[&str], halt_on_blocklist_hit: bool) -> AzureConfig {
        AzureConfig {
            base_url: "https://example-resource.cognitiveservices.azure.com".into(),
            auth,
            api_version: DEFAULT_API_VERSION.into(),
            categories: vec!["Hate".into(), "Violence".into()],
            threshold: 4,
            output_type: "FourSeverityLevels".into(),
            blocklist_names: blocklist_names.iter().map(|b| b.to_string()).collect(),
            halt_on_blocklist_hit,
        }
    }

    fn key() -> AzureAuth {
        AzureAuth::Key {
            env: DEFAULT_KEY_ENV.into(),
        }
    }

    fn target(config: AzureConfig) -> AzureTarget {
        AzureTarget::new(config, Secret::new("k".into())).unwrap()
    }

    #[test]
    fn the_fingerprint_is_pinned() {
        assert_eq!(
            target(config(key(), &[], false)).info().fingerprint,
            "a26fd6aea4f4e885d11c00171c34a0ad402c319e3c82db53d04e846add3ae58e"
        );
        let entra = AzureAuth::Entra {
            env: DEFAULT_TOKEN_ENV.into(),
        };
        assert_eq!(
            target(config(entra, &[], false)).info().fingerprint,
            "a26fd6aea4f4e885d11c00171c34a0ad402c319e3c82db53d04e846add3ae58e",
            "how requests authenticate changes no answer"
        );
        assert_eq!(
            target(config(key(), &["slurs-en"], true)).info().fingerprint,
            "18a6f3e89f85ab55a50022a4adedb2fd63e079c30de53647de7855a855c7d766"
        );
        assert_ne!(
            target(config(key(), &["slurs-en"], false)).info().fingerprint,
            target(config(key(), &["slurs-en"], true)).info().fingerprint
        );
    }

    #[test]
    fn the_credential_travels_in_the_header_its_method_names() {
        let t = target(config(key(), &[], false));
        assert_eq!(t.api().header, ("Ocp-Apim-Subscription-Key".into(), "k".into()));
        let entra = AzureAuth::Entra {
            env: DEFAULT_TOKEN_ENV.into(),
        };
        let t = target(config(entra, &[], false));
        assert_eq!(t.api().header, ("Authorization".into(), "Bearer k".into()));
    }

    #[test]
    fn blocklists_are_requested_only_when_named() {
        let plain = target(config(key(), &[], false));
        assert_eq!(
            plain.api().body("t"),
            json!({"text": "t", "categories": ["Hate", "Violence"], "outputType": "FourSeverityLevels", "haltOnBlocklistHit": false})
        );
        let listed = target(config(key(), &["a", "b"], true));
        let body = listed.api().body("t");
        assert_eq!(body["blocklistNames"], json!(["a", "b"]));
        assert_eq!(body["haltOnBlocklistHit"], json!(true));
    }

    #[test]
    fn a_blocklist_match_removes_and_names_the_entries() {
        let t = target(config(key(), &["a", "b"], true));
        let halted = json!({"blocklistsMatch": [
            {"blocklistName": "a", "blocklistItemId": "i1", "blocklistItemText": "x\"y"},
            {"blocklistName": "b", "blocklistItemId": "i2", "blocklistItemText": "z"}]});
        let v = t.api().verdict(halted, b"").unwrap();
        assert_eq!(v.action, Some(Action::Remove));
        assert_eq!(v.score, None);
        assert_eq!(
            v.detail.as_deref(),
            Some(r#"blocklist match: a "x\"y" (item i1); b "z" (item i2)"#)
        );
        let clean = json!({"blocklistsMatch": [], "categoriesAnalysis": [{"category": "Hate", "severity": 2}]});
        let v = t.api().verdict(clean, b"").unwrap();
        assert_eq!((v.action, v.score, v.detail), (Some(Action::Allow), Some(2.0), None));
        assert!(t.api().verdict(json!({"blocklistsMatch": []}), b"").is_err());
    }
}
