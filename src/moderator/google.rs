//! `google`: Google Cloud Natural Language text moderation (`documents:moderateText`, v2).
//!
//! Wire format: <https://cloud.google.com/natural-language/docs/reference/rest/v2/documents/moderateText>.
//! `POST /v2/documents:moderateText` with `{"document": {"type": "PLAIN_TEXT",
//! "content": …, "languageCode": …}}` (and `modelVersion` when set) answers
//! `{"moderationCategories": [{"name", "confidence", "severity"}], "languageCode",
//! "languageSupported"}`. The categories are listed at
//! <https://cloud.google.com/natural-language/docs/moderating-text>.
//!
//! Every category's confidence is recorded; the action is `remove` when the
//! highest confidence among the chosen categories (by default the ones a
//! hate and harassment policy concerns: Toxic, Derogatory, Insult, Violent)
//! reaches the threshold. `languageSupported: false` — the API's answer is then
//! "best effort" — is `unsupported`, as is a 400 answer saying the language is
//! not supported; the best-effort scores are kept as evidence.
//!
//! Authentication is an API key, sent in the `x-goog-api-key` header (never in
//! the URL), or an OAuth access token (`access_token_env`, e.g. from
//! `gcloud auth print-access-token`) sent as a bearer token, with the project
//! billed for it in `x-goog-user-project` when `quota_project` is set.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::check::Checks;
use super::env::{self, EnvUse};
use super::kind::{Setup, TargetConfig, TargetKind};
use super::remote::{HttpApi, HttpModerator};
use super::transport::{Secret, Transport, api_error_message, excerpt};
use super::{
    AttemptError, BoxFuture, ModerationRequest, Moderator, SetupError, TargetInfo, Verdict, action_from_score,
    fingerprint, one_by_one,
};
use crate::decision::{Action, ScoreRule};

pub const DEFAULT_BASE_URL: &str = "https://language.googleapis.com";
pub const DEFAULT_KEY_ENV: &str = "GOOGLE_API_KEY";
pub const DEFAULT_THRESHOLD: f64 = 0.5;
/// The categories that concern a hate and harassment policy.
pub const DEFAULT_CATEGORIES: [&str; 4] = ["Toxic", "Derogatory", "Insult", "Violent"];
/// The documented categories (16).
pub const CATEGORIES: [&str; 16] = [
    "Toxic",
    "Derogatory",
    "Violent",
    "Sexual",
    "Insult",
    "Profanity",
    "Death, Harm & Tragedy",
    "Firearms & Weapons",
    "Public Safety",
    "Health",
    "Religion & Belief",
    "Illicit Drugs",
    "War & Conflict",
    "Politics",
    "Finance",
    "Legal",
];
/// The model versions `modelVersion` takes (version 2 adds a severity to some categories).
const MODEL_VERSIONS: [&str; 2] = ["MODEL_VERSION_1", "MODEL_VERSION_2"];
const ACCESS_TOKEN_KEY: &str = "target.access_token_env";

/// `[target]` with `kind = "google"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGoogle {
    base_url: Option<String>,
    api_key_env: Option<String>,
    access_token_env: Option<String>,
    quota_project: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
    threshold: Option<f64>,
    model_version: Option<String>,
}

/// How requests are authenticated.
#[derive(Debug, Clone, PartialEq)]
pub enum GoogleAuth {
    /// An API key from this variable, in `x-goog-api-key`.
    ApiKey { env: String },
    /// An OAuth access token from this variable, as a bearer token.
    AccessToken { env: String },
}

/// The scenario's settings for Natural Language text moderation (no secrets).
#[derive(Debug, Clone, PartialEq)]
pub struct GoogleConfig {
    pub base_url: String,
    pub auth: GoogleAuth,
    /// The project billed for a request made with a user's access token.
    pub quota_project: Option<String>,
    /// Categories whose highest confidence decides.
    pub categories: Vec<String>,
    pub threshold: f64,
    /// `modelVersion`, when the scenario sets it (else the API's default).
    pub model_version: Option<String>,
}

impl TargetKind for GoogleConfig {
    const NAME: &'static str = "google";
    type Raw = RawGoogle;

    fn check(raw: RawGoogle, checks: &mut Checks<'_>) -> Option<Self> {
        let base_url = checks.base_url(raw.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL));
        if raw.api_key_env.is_some() && raw.access_token_env.is_some() {
            checks.problem(
                &["access_token_env"],
                "give `api_key_env` or `access_token_env`, not both",
            );
        }
        let auth = match raw.access_token_env {
            Some(name) => GoogleAuth::AccessToken {
                env: checks.env_variable(&["access_token_env"], name),
            },
            None => GoogleAuth::ApiKey {
                env: checks.api_key_env(raw.api_key_env, DEFAULT_KEY_ENV),
            },
        };
        if let Some(project) = raw
            .quota_project
            .as_deref()
            .filter(|p| p.is_empty() || reqwest::header::HeaderValue::from_str(p).is_err())
        {
            checks.problem(&["quota_project"], format!("`{project}` is not a project id"));
        }
        let categories = if raw.categories.is_empty() {
            DEFAULT_CATEGORIES.iter().map(|c| c.to_string()).collect()
        } else {
            raw.categories
        };
        for category in categories.iter().filter(|c| !CATEGORIES.contains(&c.as_str())) {
            checks.warning(
                &["categories"],
                format!(
                    "`{category}` is not one of the documented categories ({}); it counts only if the API returns it",
                    CATEGORIES.join(", ")
                ),
            );
        }
        checks.share(&["threshold"], raw.threshold);
        if let Some(version) = raw.model_version.as_deref().filter(|v| !MODEL_VERSIONS.contains(v)) {
            checks.problem(
                &["model_version"],
                format!("`{version}` is not a model version (expected MODEL_VERSION_1 or MODEL_VERSION_2)"),
            );
        }
        Some(GoogleConfig {
            base_url,
            auth,
            quota_project: raw.quota_project,
            categories,
            threshold: raw.threshold.unwrap_or(DEFAULT_THRESHOLD),
            model_version: raw.model_version,
        })
    }
}

impl TargetConfig for GoogleConfig {
    fn required_env(&self) -> Vec<EnvUse> {
        match &self.auth {
            GoogleAuth::ApiKey { env } => vec![env::api_key_use(env)],
            GoogleAuth::AccessToken { env } => vec![EnvUse {
                variable: env.clone(),
                key: ACCESS_TOKEN_KEY.to_string(),
                secret: true,
            }],
        }
    }

    fn local_files(&self) -> Vec<&Path> {
        Vec::new()
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        let secret = match &self.auth {
            GoogleAuth::ApiKey { env } => setup.api_key(env)?,
            GoogleAuth::AccessToken { env } => env::read_key(env, ACCESS_TOKEN_KEY, setup.env)?,
        };
        Ok(Arc::new(GoogleTarget::new(self.clone(), secret)?))
    }

    /// The highest confidence among the categories at or above the threshold is `remove`.
    fn score_rule(&self) -> Option<ScoreRule> {
        Some(ScoreRule::remove_at_or_above(self.threshold))
    }
}

/// What the fingerprint of a `google` target covers: not how it authenticates
/// or who is billed, which do not change the answers, and never a secret.
#[derive(Serialize)]
struct GoogleFingerprint<'a> {
    url: &'a str,
    categories: &'a [String],
    threshold: f64,
    model_version: Option<&'a str>,
}

/// Natural Language text moderation as a target.
pub type GoogleTarget = HttpModerator<GoogleApi>;

impl GoogleTarget {
    /// The target; `secret` is the API key or the access token, as `config.auth` says.
    pub fn new(config: GoogleConfig, secret: Secret) -> Result<Self, SetupError> {
        let transport = Transport::new(vec![secret.clone()]).map_err(SetupError::Build)?;
        let url = format!("{}/v2/documents:moderateText", config.base_url);
        let mut headers = vec![match config.auth {
            GoogleAuth::ApiKey { .. } => ("x-goog-api-key".to_string(), secret.expose().to_string()),
            GoogleAuth::AccessToken { .. } => ("Authorization".to_string(), format!("Bearer {}", secret.expose())),
        }];
        if let Some(project) = &config.quota_project {
            headers.push(("x-goog-user-project".to_string(), project.clone()));
        }
        let fingerprint = fingerprint(
            GoogleConfig::NAME,
            &GoogleFingerprint {
                url: &url,
                categories: &config.categories,
                threshold: config.threshold,
                model_version: config.model_version.as_deref(),
            },
        );
        let info = TargetInfo {
            kind: GoogleConfig::NAME.into(),
            description: format!(
                "Google Cloud Natural Language moderateText at {} (confidence ≥ {} in {}{})",
                config.base_url,
                config.threshold,
                config.categories.join(", "),
                config
                    .model_version
                    .as_deref()
                    .map(|v| format!("; {v}"))
                    .unwrap_or_default()
            ),
            fingerprint,
            gives_notice: false,
            notes: Vec::new(),
        };
        Ok(HttpModerator::from_parts(
            GoogleApi {
                config,
                headers,
                transport,
                url,
            },
            info,
        ))
    }
}

/// How Natural Language is asked: one document per call.
pub struct GoogleApi {
    config: GoogleConfig,
    headers: Vec<(String, String)>,
    transport: Transport,
    url: String,
}

impl GoogleApi {
    async fn ask(&self, request: &ModerationRequest<'_>) -> Result<Verdict, AttemptError> {
        let mut body = json!({
            "document": { "type": "PLAIN_TEXT", "content": request.text, "languageCode": request.lang },
        });
        if let Some(version) = &self.config.model_version {
            body["modelVersion"] = json!(version);
        }
        let response = self.transport.post_json(&self.url, &self.headers, &body).await?;
        let refusal = (response.status == 400)
            .then(|| unsupported_language(&response.body))
            .flatten();
        if let Some(message) = refusal {
            return Ok(Verdict {
                action: Some(Action::Unsupported),
                detail: Some(message),
                response: serde_json::from_slice(&response.body).ok(),
                ..Verdict::default()
            });
        }
        let value = self.transport.json_body(&response)?;
        self.verdict(value, request.lang)
    }

    fn verdict(&self, value: Value, lang: &str) -> Result<Verdict, AttemptError> {
        let Some(categories) = value.get("moderationCategories").and_then(Value::as_array) else {
            return Err(AttemptError::transient(format!(
                "the response has no `moderationCategories` array: {}",
                excerpt(value.to_string().as_bytes())
            )));
        };
        let scores: BTreeMap<String, f64> = categories
            .iter()
            .filter_map(|c| {
                let name = c.get("name").and_then(Value::as_str)?;
                let confidence = c.get("confidence").and_then(Value::as_f64)?;
                Some((name.to_string(), confidence))
            })
            .collect();
        if value.get("languageSupported").and_then(Value::as_bool) == Some(false) {
            return Ok(Verdict {
                action: Some(Action::Unsupported),
                scores,
                detail: Some(format!(
                    "Natural Language text moderation does not officially support `{lang}` (languageSupported: false; its best-effort scores are kept)"
                )),
                response: Some(value),
                ..Verdict::default()
            });
        }
        let top = self
            .config
            .categories
            .iter()
            .filter_map(|c| scores.get(c).copied())
            .reduce(f64::max);
        let Some(top) = top else {
            return Err(AttemptError::permanent(format!(
                "the response scores none of the chosen categories ({}): {}",
                self.config.categories.join(", "),
                excerpt(value.to_string().as_bytes())
            )));
        };
        Ok(Verdict {
            action: Some(action_from_score(top, self.config.threshold)),
            score: Some(top),
            scores,
            response: Some(value),
            ..Verdict::default()
        })
    }
}

impl HttpApi for GoogleApi {
    fn call<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        one_by_one(batch, |request| self.ask(request))
    }
}

/// The message of a 400 answer that refuses the document's language.
fn unsupported_language(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let message = api_error_message(&value)?;
    let lower = message.to_ascii_lowercase();
    (lower.contains("language") && (lower.contains("not supported") || lower.contains("unsupported")))
        .then_some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(categories: &[&str]) -> GoogleConfig {
        GoogleConfig {
            base_url: DEFAULT_BASE_URL.into(),
            auth: GoogleAuth::ApiKey {
                env: DEFAULT_KEY_ENV.into(),
            },
            quota_project: None,
            categories: categories.iter().map(|c| c.to_string()).collect(),
            threshold: 0.5,
            model_version: None,
        }
    }

    fn target(categories: &[&str]) -> GoogleTarget {
        GoogleTarget::new(config(categories), Secret::new("AIzaSECRET".into())).unwrap()
    }

    fn answer(supported: bool) -> Value {
        json!({
            "moderationCategories": [
                {"name": "Toxic", "confidence": 0.71, "severity": 0.4},
                {"name": "Derogatory", "confidence": 0.22},
                {"name": "Politics", "confidence": 0.9}
            ],
            "languageCode": "en",
            "languageSupported": supported
        })
    }

    #[test]
    fn each_key_is_checked_where_it_is_written() {
        use crate::moderator::registry::check_as;
        let (checked, problems, warnings) = check_as::<GoogleConfig>("[target]\nkind = 'google'\n");
        assert_eq!((problems.len(), warnings.len()), (0, 0));
        assert_eq!(checked, Some(config(&DEFAULT_CATEGORIES)));
        let (_, problems, warnings) = check_as::<GoogleConfig>(
            "[target]\nkind = 'google'\napi_key_env = 'K'\naccess_token_env = 'T'\nthreshold = 2.0\n\
             model_version = 'MODEL_VERSION_3'\ncategories = ['Toxic', 'Hate']\nquota_project = ''\n",
        );
        assert_eq!(
            problems,
            [
                "s.toml:4: `target.access_token_env`: give `api_key_env` or `access_token_env`, not both",
                "s.toml:8: `target.quota_project`: `` is not a project id",
                "s.toml:5: `target.threshold`: must be between 0 and 1, got 2",
                "s.toml:6: `target.model_version`: `MODEL_VERSION_3` is not a model version (expected MODEL_VERSION_1 or MODEL_VERSION_2)",
            ]
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("s.toml:7: `target.categories`: `Hate` is not one of the documented categories")
        );
        let (checked, _, _) = check_as::<GoogleConfig>("[target]\nkind = 'google'\naccess_token_env = 'TOKEN'\n");
        let checked = checked.unwrap();
        assert_eq!(checked.auth, GoogleAuth::AccessToken { env: "TOKEN".into() });
        assert_eq!(checked.required_env()[0].key, "target.access_token_env");
    }

    #[test]
    fn the_fingerprint_is_pinned_and_the_key_travels_in_a_header() {
        let t = target(&DEFAULT_CATEGORIES);
        let info = t.info();
        assert_eq!(
            info.fingerprint,
            "2d60f9e7d6508913280ff6451352c43e021e37648726fe22538ae685bcbdfb01"
        );
        assert!(!format!("{info:?}").contains("AIzaSECRET"));
        assert_eq!(t.api().url, "https://language.googleapis.com/v2/documents:moderateText");
        assert_eq!(
            t.api().headers,
            [("x-goog-api-key".to_string(), "AIzaSECRET".to_string())]
        );
        let by_token = GoogleTarget::new(
            GoogleConfig {
                auth: GoogleAuth::AccessToken { env: "TOKEN".into() },
                quota_project: Some("billing-project".into()),
                ..config(&DEFAULT_CATEGORIES)
            },
            Secret::new("ya29.SECRET".into()),
        )
        .unwrap();
        assert_eq!(
            by_token.info().fingerprint,
            info.fingerprint,
            "how a request is authenticated does not change its answer"
        );
        assert_eq!(by_token.api().headers[0].1, "Bearer ya29.SECRET");
    }

    #[test]
    fn the_chosen_categories_decide_and_every_category_is_recorded() {
        let v = target(&DEFAULT_CATEGORIES).api().verdict(answer(true), "en").unwrap();
        assert_eq!((v.action, v.score), (Some(Action::Remove), Some(0.71)));
        assert_eq!(v.scores.len(), 3);
        let v = target(&["Derogatory"]).api().verdict(answer(true), "en").unwrap();
        assert_eq!((v.action, v.score), (Some(Action::Allow), Some(0.22)));
        assert!(target(&["Legal"]).api().verdict(answer(true), "en").is_err());
    }

    #[test]
    fn an_unsupported_language_is_its_own_outcome() {
        let v = target(&DEFAULT_CATEGORIES).api().verdict(answer(false), "sw").unwrap();
        assert_eq!(v.action, Some(Action::Unsupported));
        assert_eq!(v.score, None);
        assert_eq!(v.scores.len(), 3, "the best-effort scores are kept");
        assert!(v.detail.unwrap().contains("does not officially support `sw`"));
        assert_eq!(
            unsupported_language(
                br#"{"error": {"code": 400, "message": "The language sw is not supported for text moderation.", "status": "INVALID_ARGUMENT"}}"#
            )
            .as_deref(),
            Some("The language sw is not supported for text moderation.")
        );
        assert_eq!(
            unsupported_language(br#"{"error": {"code": 400, "message": "Invalid document type"}}"#),
            None
        );
    }
}
