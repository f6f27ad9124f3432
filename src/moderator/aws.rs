//! `aws`: Amazon Comprehend toxicity detection (`DetectToxicContent`).
//!
//! Wire format (AWS JSON 1.1, signed with Signature Version 4 for the service
//! `comprehend`): <https://docs.aws.amazon.com/comprehend/latest/APIReference/API_DetectToxicContent.html>.
//! `POST /` with `X-Amz-Target: Comprehend_20171127.DetectToxicContent` and
//! `{"LanguageCode": "en", "TextSegments": [{"Text": …}, …]}` — at most 10
//! segments of at most 1 KB each — answers `{"ResultList": [{"Toxicity", "Labels":
//! [{"Name", "Score"}]}]}`, one result per segment, in order. The labels are
//! GRAPHIC, HARASSMENT_OR_ABUSE, HATE_SPEECH, INSULT, PROFANITY, SEXUAL and
//! VIOLENCE_OR_THREAT (<https://docs.aws.amazon.com/comprehend/latest/APIReference/API_ToxicContent.html>).
//!
//! Cases are batched, up to 10 per call (`batch_size`), one call per language
//! in a batch. The action is `remove` when the `Toxicity` — or, with `labels`,
//! the highest of those labels' scores — reaches the threshold; every label's
//! score and the `Toxicity` are recorded.
//!
//! Two cases are never sent:
//! - a language outside `languages` (default `en`: the API reference says
//!   "Currently, English is the only supported language") is `unsupported`
//!   without a call; a language that is sent and refused with
//!   `UnsupportedLanguageException` is `unsupported` too;
//! - a text over 1 KB (1,024 bytes of UTF-8) is an `error` for that case alone:
//!   a truncated text is not the case the corpus holds, so it is not truncated.
//!
//! Credentials come from the standard environment variables —
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` when the
//! credentials are temporary — and the region from `region`, else `AWS_REGION`.
//! All three credentials are redacted from everything a response brings back.

mod sigv4;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::check::Checks;
use super::env::{self, EnvError, EnvUse};
use super::kind::{Setup, TargetConfig, TargetKind};
use super::remote::{HttpApi, HttpModerator};
use super::transport::{Response, Transport, excerpt};
use super::{
    AttemptError, BoxFuture, ModerationRequest, Moderator, Retry, SetupError, TargetInfo, Verdict, action_from_score,
    fingerprint,
};
use crate::decision::{Action, ScoreRule};

pub use sigv4::Credentials;

pub const ACCESS_KEY_ID_ENV: &str = "AWS_ACCESS_KEY_ID";
pub const SECRET_ACCESS_KEY_ENV: &str = "AWS_SECRET_ACCESS_KEY";
pub const SESSION_TOKEN_ENV: &str = "AWS_SESSION_TOKEN";
pub const REGION_ENV: &str = "AWS_REGION";
pub const DEFAULT_THRESHOLD: f64 = 0.5;
/// The API's limit on segments per call.
pub const MAX_SEGMENTS: usize = 10;
/// The API's limit on one segment, in bytes of UTF-8.
pub const MAX_SEGMENT_BYTES: usize = 1024;
pub const LABELS: [&str; 7] = [
    "GRAPHIC",
    "HARASSMENT_OR_ABUSE",
    "HATE_SPEECH",
    "INSULT",
    "PROFANITY",
    "SEXUAL",
    "VIOLENCE_OR_THREAT",
];
/// The operation, as `X-Amz-Target` names it.
const TARGET: &str = "Comprehend_20171127.DetectToxicContent";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The service name requests are signed for.
const SERVICE: &str = "comprehend";
/// Error types with which AWS JSON services say "too many requests" (with HTTP 400).
const THROTTLING: [&str; 4] = [
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
];
/// The scenario key the credentials belong to (the scenario names no variable:
/// `kind = "aws"` implies the standard ones).
const CREDENTIALS_KEY: &str = "target.kind";
const REGION_KEY: &str = "target.region";

/// `[target]` with `kind = "aws"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAws {
    region: Option<String>,
    base_url: Option<String>,
    #[serde(default)]
    languages: Vec<String>,
    threshold: Option<f64>,
    #[serde(default)]
    labels: Vec<String>,
    batch_size: Option<usize>,
}

/// The scenario's settings for Comprehend toxicity detection (no secrets).
#[derive(Debug, Clone, PartialEq)]
pub struct AwsConfig {
    /// The region; `None`: `AWS_REGION`'s, read when the target is built.
    pub region: Option<String>,
    /// The endpoint; `None`: `https://comprehend.<region>.amazonaws.com`.
    pub base_url: Option<String>,
    /// The `LanguageCode`s sent; cases in other languages are `unsupported`.
    pub languages: Vec<String>,
    pub threshold: f64,
    /// Labels whose highest score decides instead of `Toxicity` (none: `Toxicity`).
    pub labels: Vec<String>,
    pub batch_size: usize,
}

impl TargetKind for AwsConfig {
    const NAME: &'static str = "aws";
    type Raw = RawAws;

    fn check(raw: RawAws, checks: &mut Checks<'_>) -> Option<Self> {
        if let Some(region) = raw.region.as_deref().filter(|r| !valid_region(r)) {
            checks.problem(
                &["region"],
                format!("`{region}` is not an AWS region name (e.g. `us-east-1`)"),
            );
        }
        let base_url = raw.base_url.as_deref().map(|url| checks.base_url(url));
        if base_url.as_deref().is_some_and(|url| url.contains('?')) {
            checks.problem(&["base_url"], "the endpoint takes no query string");
        }
        checks.share(&["threshold"], raw.threshold);
        for label in &raw.labels {
            if !LABELS.contains(&label.as_str()) {
                checks.problem(
                    &["labels"],
                    format!("unknown label `{label}` (expected one of {})", LABELS.join(", ")),
                );
            }
        }
        let languages = if raw.languages.is_empty() {
            vec!["en".to_string()]
        } else {
            raw.languages
        };
        let batch_size = raw.batch_size.unwrap_or(MAX_SEGMENTS);
        checks.count_within(&["batch_size"], batch_size, 1..=MAX_SEGMENTS);
        Some(AwsConfig {
            region: raw.region,
            base_url,
            languages,
            threshold: raw.threshold.unwrap_or(DEFAULT_THRESHOLD),
            labels: raw.labels,
            batch_size,
        })
    }
}

impl TargetConfig for AwsConfig {
    fn required_env(&self) -> Vec<EnvUse> {
        let credential = |variable: &str| EnvUse {
            variable: variable.to_string(),
            key: CREDENTIALS_KEY.to_string(),
            secret: true,
        };
        let mut uses = vec![credential(ACCESS_KEY_ID_ENV), credential(SECRET_ACCESS_KEY_ENV)];
        if self.region.is_none() {
            uses.push(EnvUse {
                variable: REGION_ENV.to_string(),
                key: REGION_KEY.to_string(),
                secret: false,
            });
        }
        uses
    }

    fn local_files(&self) -> Vec<&Path> {
        Vec::new()
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        let credentials = Credentials {
            access_key_id: env::read_key(ACCESS_KEY_ID_ENV, CREDENTIALS_KEY, setup.env)?,
            secret_access_key: env::read_key(SECRET_ACCESS_KEY_ENV, CREDENTIALS_KEY, setup.env)?,
            session_token: match (setup.env)(SESSION_TOKEN_ENV) {
                Some(_) => Some(env::read_key(SESSION_TOKEN_ENV, CREDENTIALS_KEY, setup.env)?),
                None => None,
            },
        };
        let region = match &self.region {
            Some(region) => region.clone(),
            None => region_from_env(setup.env)?,
        };
        Ok(Arc::new(AwsTarget::new(self.clone(), region, credentials)?))
    }

    /// `Toxicity` (or the highest of `labels`) at or above the threshold is `remove`.
    fn score_rule(&self) -> Option<ScoreRule> {
        Some(ScoreRule::remove_at_or_above(self.threshold))
    }
}

/// Whether `region` can be an AWS region name (lower-case letters, digits, dashes).
fn valid_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn region_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<String, EnvError> {
    let region = env(REGION_ENV).ok_or_else(|| EnvError::Missing {
        variable: REGION_ENV.to_string(),
        key: REGION_KEY.to_string(),
    })?;
    if !valid_region(&region) {
        return Err(EnvError::Invalid {
            variable: REGION_ENV.to_string(),
            key: REGION_KEY.to_string(),
            problem: format!("is `{region}`, which is not an AWS region name (e.g. `us-east-1`)"),
        });
    }
    Ok(region)
}

/// What the fingerprint of an `aws` target covers: never a credential. The
/// batch size is covered: the API's first description said it reads the
/// segments of a call in order, as context, so neighbours may change an answer.
#[derive(Serialize)]
struct AwsFingerprint<'a> {
    url: &'a str,
    region: &'a str,
    languages: &'a [String],
    threshold: f64,
    labels: &'a [String],
    batch_size: usize,
}

/// Comprehend toxicity detection as a target.
pub type AwsTarget = HttpModerator<AwsApi>;

impl AwsTarget {
    pub fn new(config: AwsConfig, region: String, credentials: Credentials) -> Result<Self, SetupError> {
        let endpoint = match &config.base_url {
            Some(url) => format!("{url}/"),
            None => format!("https://comprehend.{region}.amazonaws.com/"),
        };
        let url =
            reqwest::Url::parse(&endpoint).map_err(|e| SetupError::Build(format!("`{endpoint}` is not a URL: {e}")))?;
        let mut secrets = vec![credentials.access_key_id.clone(), credentials.secret_access_key.clone()];
        secrets.extend(credentials.session_token.clone());
        let transport = Transport::new(secrets).map_err(SetupError::Build)?;
        let fingerprint = fingerprint(
            AwsConfig::NAME,
            &AwsFingerprint {
                url: url.as_str(),
                region: &region,
                languages: &config.languages,
                threshold: config.threshold,
                labels: &config.labels,
                batch_size: config.batch_size,
            },
        );
        let decided_by = if config.labels.is_empty() {
            "Toxicity".to_string()
        } else {
            config.labels.join(", ")
        };
        let info = TargetInfo {
            kind: AwsConfig::NAME.into(),
            description: format!(
                "AWS Comprehend DetectToxicContent in {region} at {} ({decided_by} ≥ {}; languages {}; {} segments per call)",
                url.as_str().trim_end_matches('/'),
                config.threshold,
                config.languages.join(", "),
                config.batch_size
            ),
            fingerprint,
            gives_notice: false,
            notes: Vec::new(),
        };
        Ok(HttpModerator::from_parts(
            AwsApi {
                config,
                region,
                credentials,
                transport,
                url,
            },
            info,
        ))
    }
}

/// How Comprehend is asked: the batch's texts in one signed call per language.
pub struct AwsApi {
    config: AwsConfig,
    region: String,
    credentials: Credentials,
    transport: Transport,
    url: reqwest::Url,
}

impl AwsApi {
    /// The `LanguageCode` a case's language is sent as, if it is sent at all.
    fn language_code(&self, tag: &str) -> Option<String> {
        let code = comprehend_language(tag);
        self.config
            .languages
            .iter()
            .any(|l| l.eq_ignore_ascii_case(&code))
            .then_some(code)
    }

    /// Why a case in language `tag` is not sent.
    fn not_sent_reason(&self, tag: &str) -> String {
        if self.config.languages == ["en"] {
            format!(
                "Comprehend toxicity detection takes English only (LanguageCode `en`; `languages` can name others): `{tag}` not sent"
            )
        } else {
            format!(
                "Comprehend toxicity detection was asked only for {} (`languages`): `{tag}` not sent",
                self.config.languages.join(", ")
            )
        }
    }

    async fn ask(&self, batch: &[ModerationRequest<'_>]) -> Result<Vec<Verdict>, AttemptError> {
        let mut verdicts: Vec<Option<Verdict>> = vec![None; batch.len()];
        let mut by_language: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, request) in batch.iter().enumerate() {
            let bytes = request.text.len();
            match self.language_code(request.lang) {
                None => {
                    verdicts[i] = Some(Verdict {
                        action: Some(Action::Unsupported),
                        detail: Some(self.not_sent_reason(request.lang)),
                        ..Verdict::default()
                    });
                }
                Some(_) if bytes > MAX_SEGMENT_BYTES => {
                    verdicts[i] = Some(Verdict::failed(format!(
                        "the text is {bytes} bytes; Comprehend DetectToxicContent takes at most {MAX_SEGMENT_BYTES} (1 KB) per segment: not sent (a truncated text would not be the case)"
                    )));
                }
                Some(code) => by_language.entry(code).or_default().push(i),
            }
        }
        for (code, members) in by_language {
            let texts: Vec<&str> = members.iter().map(|&i| batch[i].text).collect();
            for (i, verdict) in members.into_iter().zip(self.ask_segments(&code, &texts).await?) {
                verdicts[i] = Some(verdict);
            }
        }
        Ok(verdicts
            .into_iter()
            .map(|v| v.unwrap_or_else(|| Verdict::failed("no verdict was made for this case")))
            .collect())
    }

    /// One signed `DetectToxicContent` call for `texts`, all in `language`.
    async fn ask_segments(&self, language: &str, texts: &[&str]) -> Result<Vec<Verdict>, AttemptError> {
        let segments: Vec<Value> = texts.iter().map(|t| json!({ "Text": t })).collect();
        let body = serde_json::to_vec(&json!({ "LanguageCode": language, "TextSegments": segments }))
            .map_err(AttemptError::permanent)?;
        let headers = self.headers(&body, chrono::Utc::now());
        let response = self
            .transport
            .post_bytes(self.url.as_str(), &headers, CONTENT_TYPE, body)
            .await?;
        if !(200..300).contains(&response.status) {
            return match unsupported_language(&response) {
                Some(detail) => Ok(texts
                    .iter()
                    .map(|_| Verdict {
                        action: Some(Action::Unsupported),
                        detail: Some(detail.clone()),
                        response: serde_json::from_slice(&response.body).ok(),
                        ..Verdict::default()
                    })
                    .collect()),
                None => Err(self.error(&response)),
            };
        }
        let value = self.transport.json_body(&response)?;
        let Some(results) = value.get("ResultList").and_then(Value::as_array) else {
            return Err(AttemptError::transient(format!(
                "the response has no `ResultList` array: {}",
                excerpt(&response.body)
            )));
        };
        if results.len() != texts.len() {
            return Err(AttemptError::transient(format!(
                "{} results for {} segments",
                results.len(),
                texts.len()
            )));
        }
        results.iter().map(|r| self.verdict(r)).collect()
    }

    /// The headers of a call carrying `body` made at `time`, besides its
    /// `Content-Type` (which is signed too): the operation, and the signature's.
    fn headers(&self, body: &[u8], time: chrono::DateTime<chrono::Utc>) -> Vec<(String, String)> {
        let target = ("X-Amz-Target".to_string(), TARGET.to_string());
        let signed = sigv4::sign(
            &sigv4::Unsigned {
                method: "POST",
                url: &self.url,
                headers: &[("Content-Type".to_string(), CONTENT_TYPE.to_string()), target.clone()],
                body,
            },
            &self.credentials,
            sigv4::Scope {
                region: &self.region,
                service: SERVICE,
                time,
            },
        );
        std::iter::once(target).chain(signed).collect()
    }

    /// The failure a non-success answer means, naming AWS's error type; its
    /// throttling errors (HTTP 400) are rate limiting, as 429 is.
    fn error(&self, response: &Response) -> AttemptError {
        let mut error = self.transport.status_error(response);
        if let Some((kind, _)) = aws_error(&response.body) {
            error.message.push_str(&format!(" ({kind})"));
            if THROTTLING.contains(&kind.as_str()) {
                error.retry = Retry::RateLimited(response.retry_after);
            }
        }
        error
    }

    fn verdict(&self, result: &Value) -> Result<Verdict, AttemptError> {
        let Some(toxicity) = result.get("Toxicity").and_then(Value::as_f64) else {
            return Err(AttemptError::permanent(format!(
                "a result has no numeric `Toxicity`: {}",
                excerpt(result.to_string().as_bytes())
            )));
        };
        let mut scores = BTreeMap::from([("Toxicity".to_string(), toxicity)]);
        for label in result.get("Labels").and_then(Value::as_array).into_iter().flatten() {
            if let (Some(name), Some(score)) = (
                label.get("Name").and_then(Value::as_str),
                label.get("Score").and_then(Value::as_f64),
            ) {
                scores.insert(name.to_string(), score);
            }
        }
        let score = if self.config.labels.is_empty() {
            toxicity
        } else {
            self.config
                .labels
                .iter()
                .filter_map(|l| scores.get(l).copied())
                .fold(0.0, f64::max)
        };
        Ok(Verdict {
            action: Some(action_from_score(score, self.config.threshold)),
            score: Some(score),
            scores,
            response: Some(result.clone()),
            ..Verdict::default()
        })
    }
}

impl HttpApi for AwsApi {
    fn batch_size(&self) -> usize {
        self.config.batch_size
    }

    fn call<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        Box::pin(self.ask(batch))
    }
}

/// The `LanguageCode` for a BCP 47 tag: the primary subtag, except Traditional
/// Chinese, which Comprehend names `zh-TW`.
fn comprehend_language(tag: &str) -> String {
    let lower = tag.to_ascii_lowercase();
    if lower == "zh-tw" || lower.starts_with("zh-hant") {
        return "zh-TW".into();
    }
    lower.split('-').next().unwrap_or_default().to_string()
}

/// AWS's error type (without its namespace) and message from an error body.
fn aws_error(body: &[u8]) -> Option<(String, String)> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let kind = value.get("__type").and_then(Value::as_str)?;
    let kind = kind.rsplit('#').next().unwrap_or(kind).to_string();
    let message = ["message", "Message"]
        .iter()
        .find_map(|k| value.get(*k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    Some((kind, message))
}

/// The detail when an answer is Comprehend refusing the language.
fn unsupported_language(response: &Response) -> Option<String> {
    let (kind, message) = aws_error(&response.body).filter(|_| response.status == 400)?;
    (kind == "UnsupportedLanguageException").then(|| format!("Comprehend answered {kind}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moderator::transport::Secret;

    fn config(labels: &[&str]) -> AwsConfig {
        AwsConfig {
            region: None,
            base_url: None,
            languages: vec!["en".into()],
            threshold: 0.5,
            labels: labels.iter().map(|l| l.to_string()).collect(),
            batch_size: 10,
        }
    }

    fn credentials() -> Credentials {
        Credentials {
            access_key_id: Secret::new("AKIDEXAMPLE".into()),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into()),
            session_token: Some(Secret::new("session-token".into())),
        }
    }

    fn target(labels: &[&str]) -> AwsTarget {
        AwsTarget::new(config(labels), "eu-west-1".into(), credentials()).unwrap()
    }

    #[test]
    fn the_fingerprint_is_pinned_and_holds_no_credential() {
        let t = target(&["HATE_SPEECH"]);
        let info = t.info();
        assert_eq!(
            info.fingerprint,
            "1ca9fa89e15d0672ee1b1d696bf6811ece6de1f0a36001af253725e33731e1bb"
        );
        assert!(
            info.description
                .starts_with("AWS Comprehend DetectToxicContent in eu-west-1 at https://comprehend.eu-west-1.amazonaws.com (HATE_SPEECH ≥ 0.5"),
            "{}",
            info.description
        );
        assert!(!format!("{info:?}").contains("AKIDEXAMPLE"));
        let other_region = AwsTarget::new(config(&["HATE_SPEECH"]), "us-east-1".into(), credentials()).unwrap();
        assert_ne!(other_region.info().fingerprint, info.fingerprint);
    }

    #[test]
    fn each_key_is_checked_where_it_is_written() {
        use crate::moderator::registry::check_as;
        let (config, problems, _) = check_as::<AwsConfig>("[target]\nkind = 'aws'\n");
        assert!(problems.is_empty(), "{problems:?}");
        let config = config.unwrap();
        assert_eq!(config, self::config(&[]));
        let variables: Vec<String> = config.required_env().into_iter().map(|u| u.variable).collect();
        assert_eq!(variables, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]);
        let (_, problems, _) = check_as::<AwsConfig>(
            "[target]\nkind = 'aws'\nregion = 'EU West'\nbase_url = 'http://127.0.0.1:9/?x=1'\n\
             labels = ['HATE']\nbatch_size = 11\nthreshold = -0.1\n",
        );
        assert_eq!(
            problems,
            [
                "s.toml:3: `target.region`: `EU West` is not an AWS region name (e.g. `us-east-1`)",
                "s.toml:4: `target.base_url`: the endpoint takes no query string",
                "s.toml:7: `target.threshold`: must be between 0 and 1, got -0.1",
                "s.toml:5: `target.labels`: unknown label `HATE` (expected one of GRAPHIC, HARASSMENT_OR_ABUSE, HATE_SPEECH, INSULT, PROFANITY, SEXUAL, VIOLENCE_OR_THREAT)",
                "s.toml:6: `target.batch_size`: must be between 1 and 10, got 11",
            ]
        );
        let (config, _, _) = check_as::<AwsConfig>("[target]\nkind = 'aws'\nregion = 'eu-west-1'\n");
        assert_eq!(
            config.unwrap().required_env().len(),
            2,
            "a region in the scenario needs no AWS_REGION"
        );
        let env = |name: &str| (name == REGION_ENV).then(|| "eu west".to_string());
        assert!(matches!(region_from_env(&env), Err(EnvError::Invalid { variable, .. }) if variable == REGION_ENV));
    }

    #[test]
    fn a_call_is_signed_as_the_aws_sdk_signs_it() {
        // The signature the `aws-sigv4` crate (1.3.8, default settings) computes
        // for the same request, credentials and time.
        let body = br#"{"LanguageCode":"en","TextSegments":[{"Text":"I will kill them all"}]}"#;
        let time = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let headers = target(&[]).api().headers(body, time);
        let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["X-Amz-Target", "X-Amz-Date", "X-Amz-Security-Token", "Authorization"]
        );
        assert_eq!(headers[0].1, "Comprehend_20171127.DetectToxicContent");
        assert_eq!(headers[1].1, "20261201T100000Z");
        assert_eq!(
            headers[3].1,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/eu-west-1/comprehend/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, \
             Signature=58b2b5aeb02bf34ed7ebfd0418bb97600f2dcfb95244d2365691a5aa68cba677"
        );
    }

    #[test]
    fn toxicity_or_the_chosen_labels_decide() {
        let result = json!({"Toxicity": 0.62, "Labels": [{"Name": "HATE_SPEECH", "Score": 0.2}, {"Name": "INSULT", "Score": 0.55}]});
        let v = target(&[]).api().verdict(&result).unwrap();
        assert_eq!((v.action, v.score), (Some(Action::Remove), Some(0.62)));
        assert_eq!(v.scores.len(), 3);
        let v = target(&["HATE_SPEECH"]).api().verdict(&result).unwrap();
        assert_eq!((v.action, v.score), (Some(Action::Allow), Some(0.2)));
        let v = target(&["HATE_SPEECH", "INSULT"]).api().verdict(&result).unwrap();
        assert_eq!((v.action, v.score), (Some(Action::Remove), Some(0.55)));
        assert!(target(&[]).api().verdict(&json!({"Labels": []})).is_err());
    }

    #[test]
    fn languages_are_sent_as_comprehend_names_them() {
        assert_eq!(comprehend_language("en-GB"), "en");
        assert_eq!(comprehend_language("zh-Hant-TW"), "zh-TW");
        assert_eq!(comprehend_language("zh-Hans"), "zh");
        let api = target(&[]);
        assert_eq!(api.api().language_code("EN-us").as_deref(), Some("en"));
        assert_eq!(api.api().language_code("es"), None);
    }

    #[test]
    fn error_types_are_read_with_or_without_their_namespace() {
        assert_eq!(
            aws_error(br#"{"__type":"com.amazonaws.comprehend#TextSizeLimitExceededException","Message":"too big"}"#),
            Some(("TextSizeLimitExceededException".into(), "too big".into()))
        );
        assert_eq!(
            aws_error(br#"{"__type":"ThrottlingException","message":"slow"}"#),
            Some(("ThrottlingException".into(), "slow".into()))
        );
        assert_eq!(aws_error(br#"{"message":"no type"}"#), None);
        let api = target(&[]);
        let response = |status, body: &str| Response {
            status,
            content_type: Some(CONTENT_TYPE.into()),
            retry_after: None,
            body: body.as_bytes().to_vec(),
        };
        let throttled = api.api().error(&response(
            400,
            r#"{"__type":"com.amazonaws.comprehend#TooManyRequestsException","Message":"Rate exceeded"}"#,
        ));
        assert_eq!(throttled.retry, Retry::RateLimited(None));
        assert_eq!(
            throttled.message,
            "HTTP 400 Bad Request: Rate exceeded (TooManyRequestsException)"
        );
        let refused = api.api().error(&response(
            403,
            r#"{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match"}"#,
        ));
        assert_eq!(refused.retry, Retry::Never);
        assert!(
            refused.message.ends_with("(InvalidSignatureException)"),
            "{}",
            refused.message
        );
    }
}
