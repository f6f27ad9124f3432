//! `guard`: open safety-classifier ("guard") models served behind an
//! OpenAI-compatible endpoint — vLLM, Ollama, SGLang, llama.cpp — through
//! `/v1/chat/completions` or `/v1/completions`.
//!
//! `model_family` names a preset ([`presets`]): the prompt (a user turn the
//! model's chat template turns into its classifier prompt, the risk or the
//! auditor's policy as system message, or a raw prompt template), the parser
//! of the answer ([`parse`]), the model's categories with the report's names
//! for them, and the languages its model card lists. The model is asked at
//! temperature 0 for logprobs; when the server returns them, the score is the
//! probability of a violation against none at the deciding token (see
//! [`logprobs`]), so score-based metrics work; the action always comes from
//! the answer's text (`remove` for a violation in a category that counts,
//! else `allow`).
//!
//! Every category the answer names is recorded in `scores` (value 1), under
//! the model's code and under the report's name (`S10` and `hate`). A case in
//! a language the model is not asked about is `unsupported` without a request.
//! An answer the parser cannot read is an `error` quoting it (redacted by the
//! transport, shortened) and naming the preset; it is not retried, since the
//! same question at temperature 0 gets the same answer.

pub mod logprobs;
pub mod parse;
pub mod presets;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use self::presets::{Asks, Category, Endpoint, LanguageScope, PRESETS, Preset, Prompt};
use super::check::Checks;
use super::env::{self, EnvUse};
use super::kind::{Setup, TargetConfig, TargetKind};
use super::remote::{HttpApi, HttpModerator};
use super::transport::{Secret, Transport, excerpt};
use super::{
    AttemptError, BoxFuture, ModerationRequest, Moderator, SetupError, TargetInfo, Verdict, fingerprint, one_by_one,
};
use crate::decision::{Action, ScoreRule};
use crate::hash::sha256_hex;
use crate::input::{Limit, read_input};

/// A local vLLM server (`vllm serve MODEL`).
pub const DEFAULT_BASE_URL: &str = "http://localhost:8000/v1";
/// How many alternatives are asked for at each generated token.
pub const TOP_LOGPROBS: u32 = 5;
/// The most tokens a scenario may ask for.
const MAX_TOKENS: usize = 32_768;
/// The largest policy file read.
const POLICY_LIMIT: Limit = Limit {
    bytes: 1 << 20,
    label: "1 MiB",
};

/// `[target]` with `kind = "guard"`, as written.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGuard {
    model_family: String,
    base_url: Option<String>,
    api_key_env: Option<String>,
    model: Option<String>,
    risk: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
    policy_file: Option<String>,
    supported_languages: Option<Vec<String>>,
    #[serde(default)]
    unsupported_languages: Vec<String>,
    max_tokens: Option<usize>,
    logprobs: Option<bool>,
}

/// The auditor's policy, as sent to a policy-prompted model.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyText {
    pub path: PathBuf,
    pub text: Arc<str>,
    /// sha256 of `text`: part of the fingerprint.
    pub sha256: String,
}

/// The scenario's settings for a guard model (no secrets).
#[derive(Debug, Clone, PartialEq)]
pub struct GuardConfig {
    pub preset: &'static Preset,
    /// The server's OpenAI-compatible base, ending in `/v1`.
    pub base_url: String,
    /// The variable holding a key, for a server that wants one.
    pub api_key_env: Option<String>,
    /// The model as the server names it.
    pub model: String,
    /// The category asked about, for a family asked about one at a time.
    pub risk: Option<&'static Category>,
    /// The model's categories (codes, or the policy's names) that count as
    /// adverse; empty: every one.
    pub categories: Vec<String>,
    pub languages: LanguageScope,
    /// The policy, for a policy-prompted family.
    pub policy: Option<PolicyText>,
    pub max_tokens: u32,
    /// Whether logprobs are asked for (for the score).
    pub logprobs: bool,
}

impl TargetKind for GuardConfig {
    const NAME: &'static str = "guard";
    type Raw = RawGuard;

    fn check(raw: RawGuard, checks: &mut Checks<'_>) -> Option<Self> {
        let Some(preset) = presets::find(&raw.model_family) else {
            let known: Vec<String> = PRESETS.iter().map(|p| format!("`{}`", p.name)).collect();
            checks.problem(
                &["model_family"],
                format!(
                    "unknown model family `{}` (expected one of {})",
                    raw.model_family,
                    known.join(", ")
                ),
            );
            return None;
        };
        let base_url = checks.base_url(raw.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL));
        let api_key_env = raw.api_key_env.map(|name| checks.api_key_env(Some(name), ""));
        let model = raw
            .model
            .or_else(|| preset.model.map(str::to_string))
            .unwrap_or_default();
        if model.trim().is_empty() {
            checks.problem(
                &["model"],
                format!(
                    "name the model as the server serves it (`{}` has no default)",
                    preset.name
                ),
            );
        }
        let risk = check_risk(preset, raw.risk.as_deref(), checks);
        let categories = check_categories(preset, &raw.categories, checks);
        let languages = LanguageScope {
            supported: match raw.supported_languages {
                None => preset.languages.map(|l| l.iter().map(|s| s.to_string()).collect()),
                Some(list) => check_supported(&list, checks),
            },
            unsupported: check_languages(&["unsupported_languages"], &raw.unsupported_languages, checks),
        };
        let policy = check_policy(preset, raw.policy_file.as_deref(), checks);
        let max_tokens = raw.max_tokens.unwrap_or(preset.max_tokens as usize);
        checks.count_within(&["max_tokens"], max_tokens, 1..=MAX_TOKENS);
        if preset.prompt == Prompt::PolicyAsSystem && policy.is_none() {
            return None;
        }
        Some(GuardConfig {
            preset,
            base_url,
            api_key_env,
            model,
            risk,
            categories,
            languages,
            policy,
            max_tokens: u32::try_from(max_tokens).unwrap_or(u32::MAX),
            logprobs: raw.logprobs.unwrap_or(true),
        })
    }
}

/// The category a one-at-a-time family is asked about: `risk`, else its default.
fn check_risk(preset: &'static Preset, risk: Option<&str>, checks: &mut Checks<'_>) -> Option<&'static Category> {
    match preset.asks {
        Asks::One { default } => {
            let name = risk.unwrap_or(default);
            let found = preset.categories.iter().find(|c| c.code == name);
            if found.is_none() {
                let known: Vec<String> = preset.categories.iter().map(|c| format!("`{}`", c.code)).collect();
                checks.problem(
                    &["risk"],
                    format!(
                        "unknown risk `{name}` for {} (expected one of {})",
                        preset.label,
                        known.join(", ")
                    ),
                );
            }
            found
        }
        Asks::Named => {
            if risk.is_some() {
                checks.problem(
                    &["risk"],
                    format!(
                        "{} judges against all its categories at once; choose the ones that count with `categories`",
                        preset.label
                    ),
                );
            }
            None
        }
    }
}

/// The categories that count, as the model's codes (report names are
/// accepted for a family with a taxonomy).
fn check_categories(preset: &Preset, categories: &[String], checks: &mut Checks<'_>) -> Vec<String> {
    if matches!(preset.asks, Asks::One { .. }) {
        if !categories.is_empty() {
            checks.problem(
                &["categories"],
                format!(
                    "{} is asked about one risk at a time: choose it with `risk`",
                    preset.label
                ),
            );
        }
        return Vec::new();
    }
    let mut codes = Vec::new();
    for category in categories {
        let category = category.trim();
        if category.is_empty() {
            checks.problem(&["categories"], "a category is empty");
        } else if preset.categories.is_empty() {
            codes.push(category.to_string());
        } else if let Some(found) = preset.category(category) {
            codes.push(found.code.to_string());
        } else {
            let known: Vec<String> = preset
                .categories
                .iter()
                .map(|c| format!("`{}` ({})", c.code, c.name))
                .collect();
            checks.problem(
                &["categories"],
                format!(
                    "unknown category `{category}` for {} (expected one of {})",
                    preset.label,
                    known.join(", ")
                ),
            );
        }
    }
    codes.sort();
    codes.dedup();
    codes
}

/// `supported_languages`: the languages asked about, or `["*"]` for every one.
fn check_supported(list: &[String], checks: &mut Checks<'_>) -> Option<Vec<String>> {
    if list.iter().any(|l| l == "*") {
        if list.len() > 1 {
            checks.problem(&["supported_languages"], "`*` (every language) stands alone");
        }
        return None;
    }
    if list.is_empty() {
        checks.problem(
            &["supported_languages"],
            "name the languages to ask about, or `[\"*\"]` for every language",
        );
    }
    Some(check_languages(&["supported_languages"], list, checks))
}

/// Language tags (BCP 47), in lower case.
fn check_languages(key: &[&str], list: &[String], checks: &mut Checks<'_>) -> Vec<String> {
    for tag in list {
        let well_formed = (1..=35).contains(&tag.len())
            && tag
                .split('-')
                .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !well_formed {
            checks.problem(key, format!("`{tag}` is not a language tag (e.g. `en`, `pt-BR`)"));
        }
    }
    list.iter().map(|l| l.to_ascii_lowercase()).collect()
}

/// Reads the policy a policy-prompted family needs.
fn check_policy(preset: &Preset, file: Option<&str>, checks: &mut Checks<'_>) -> Option<PolicyText> {
    let wanted = preset.prompt == Prompt::PolicyAsSystem;
    let Some(file) = file else {
        if wanted {
            checks.problem(
                &[],
                format!(
                    "{} is prompted with your policy: set `policy_file` to a text file that states it and its output format (`0`/`1`, or JSON with `violation`)",
                    preset.label
                ),
            );
        }
        return None;
    };
    if !wanted {
        checks.problem(
            &["policy_file"],
            format!(
                "{} is not prompted with a policy (`policy_file` is for `gpt-oss-safeguard` and `policy`)",
                preset.label
            ),
        );
        return None;
    }
    let path = checks.resolve(file);
    let text = read_input(&path, POLICY_LIMIT)
        .map_err(|e| e.to_string())
        .and_then(|bytes| String::from_utf8(bytes.content().to_vec()).map_err(|e| format!("not UTF-8: {e}")));
    match text {
        Ok(text) if text.trim().is_empty() => {
            checks.problem(&["policy_file"], format!("the policy at {} is empty", path.display()));
            None
        }
        Ok(text) => Some(PolicyText {
            sha256: sha256_hex(text.as_bytes()),
            text: text.into(),
            path,
        }),
        Err(e) => {
            checks.problem(
                &["policy_file"],
                format!("cannot read the policy at {}: {e}", path.display()),
            );
            None
        }
    }
}

impl TargetConfig for GuardConfig {
    fn required_env(&self) -> Vec<EnvUse> {
        self.api_key_env.iter().map(|v| env::api_key_use(v)).collect()
    }

    fn local_files(&self) -> Vec<&Path> {
        self.policy.iter().map(|p| p.path.as_path()).collect()
    }

    fn build(&self, setup: &Setup<'_>) -> Result<Arc<dyn Moderator>, SetupError> {
        let key = self.api_key_env.as_deref().map(|v| setup.api_key(v)).transpose()?;
        Ok(Arc::new(GuardTarget::new(self.clone(), key)?))
    }

    /// A guard model answers with a verdict, not a score compared with a threshold.
    fn score_rule(&self) -> Option<ScoreRule> {
        None
    }
}

/// What the fingerprint of a `guard` target covers: the endpoint, the model,
/// the preset and its version, what is asked and what counts, the languages
/// asked about, the policy's sha256 and the generation settings (never the key).
#[derive(Serialize)]
struct GuardFingerprint<'a> {
    url: &'a str,
    model: &'a str,
    preset: &'a str,
    preset_version: u32,
    risk: Option<&'a str>,
    categories: &'a [String],
    supported_languages: Option<&'a [String]>,
    unsupported_languages: &'a [String],
    policy_sha256: Option<&'a str>,
    max_tokens: u32,
    logprobs: bool,
}

/// A guard model behind an OpenAI-compatible server, as a target.
pub type GuardTarget = HttpModerator<GuardApi>;

impl GuardTarget {
    pub fn new(config: GuardConfig, key: Option<Secret>) -> Result<Self, SetupError> {
        let preset = config.preset;
        if preset.prompt == Prompt::PolicyAsSystem && config.policy.is_none() {
            return Err(SetupError::Build(format!(
                "{} (preset `{}`) needs the auditor's policy",
                preset.label, preset.name
            )));
        }
        let transport = Transport::new(key.iter().cloned().collect()).map_err(SetupError::Build)?;
        let url = format!(
            "{}{}",
            config.base_url.trim_end_matches('/'),
            preset.prompt.endpoint().path()
        );
        let fingerprint = fingerprint(
            GuardConfig::NAME,
            &GuardFingerprint {
                url: &url,
                model: &config.model,
                preset: preset.name,
                preset_version: preset.version,
                risk: config.risk.map(|r| r.code),
                categories: &config.categories,
                supported_languages: config.languages.supported.as_deref(),
                unsupported_languages: &config.languages.unsupported,
                policy_sha256: config.policy.as_ref().map(|p| p.sha256.as_str()),
                max_tokens: config.max_tokens,
                logprobs: config.logprobs,
            },
        );
        let rule = match (config.risk, config.categories.as_slice()) {
            (Some(risk), _) => format!("`{}` → remove", risk.code),
            (None, []) => "a violation → remove".to_string(),
            (None, chosen) => format!("a violation in {} → remove", chosen.join(", ")),
        };
        let info = TargetInfo {
            kind: GuardConfig::NAME.into(),
            description: format!(
                "{} `{}` at {} (preset `{}` v{}; {rule})",
                preset.label, config.model, config.base_url, preset.name, preset.version
            ),
            fingerprint,
            gives_notice: false,
            notes: notes(&config),
        };
        Ok(HttpModerator::from_parts(
            GuardApi {
                config,
                key,
                transport,
                url,
            },
            info,
        ))
    }
}

/// What a reader of the report must know about the target.
fn notes(config: &GuardConfig) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(list) = &config.languages.supported {
        notes.push(format!(
            "Only cases in {} are sent to the model (the languages of its model card, {}, unless the scenario's `supported_languages` says otherwise); the others are recorded as `unsupported`.",
            list.join(", "),
            config.preset.source
        ));
    }
    if !config.languages.unsupported.is_empty() {
        notes.push(format!(
            "Cases in {} are recorded as `unsupported` (the scenario's `unsupported_languages`).",
            config.languages.unsupported.join(", ")
        ));
    }
    if let Some(policy) = &config.policy {
        let name = policy.path.file_name().map_or_else(
            || policy.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        notes.push(format!(
            "The model is prompted with the policy in {name} (sha256 {}).",
            policy.sha256
        ));
    }
    if config.logprobs {
        notes.push(
            "The score is the model's probability of a violation against none at its deciding token, from the server's logprobs; a server that returns none gives no score.".to_string(),
        );
    }
    notes
}

/// How a guard model is asked: one text per call.
pub struct GuardApi {
    config: GuardConfig,
    key: Option<Secret>,
    transport: Transport,
    url: String,
}

impl GuardApi {
    /// The request body for `text`.
    fn body(&self, text: &str) -> Value {
        let config = &self.config;
        let preset = config.preset;
        let system = |content: &str| json!({"messages": [{"role": "system", "content": content}, {"role": "user", "content": text}]});
        let mut body = match preset.prompt {
            Prompt::UserTurn => json!({"messages": [{"role": "user", "content": text}]}),
            Prompt::RiskAsSystem => system(config.risk.map_or("", |r| r.code)),
            Prompt::PolicyAsSystem => system(config.policy.as_ref().map_or("", |p| &p.text)),
            Prompt::Raw(template) => {
                let guideline = config.risk.map_or("", |r| r.guideline);
                json!({"prompt": fill(template, text, guideline)})
            }
        };
        body["model"] = json!(config.model);
        body["temperature"] = json!(0.0);
        body["max_tokens"] = json!(config.max_tokens);
        if config.logprobs {
            match preset.prompt.endpoint() {
                Endpoint::Chat => {
                    body["logprobs"] = json!(true);
                    body["top_logprobs"] = json!(TOP_LOGPROBS);
                }
                Endpoint::Completions => body["logprobs"] = json!(TOP_LOGPROBS),
            }
        }
        if let Some(effort) = preset.reasoning_effort {
            body["reasoning_effort"] = json!(effort);
        }
        body
    }

    /// Why a case in language `lang` is not asked about, if it is not.
    fn unsupported(&self, lang: &str) -> Option<String> {
        let languages = &self.config.languages;
        if languages.supports(lang) {
            return None;
        }
        let preset = self.config.preset;
        Some(if languages.excludes(lang) {
            format!("`{lang}` is declared unsupported by the scenario's `unsupported_languages`")
        } else {
            format!(
                "{} (preset `{}`) is not asked about `{lang}`: it is asked about {} only (its model card's languages, unless `supported_languages` says otherwise)",
                preset.label,
                preset.name,
                languages.supported.as_deref().unwrap_or_default().join(", ")
            )
        })
    }

    async fn ask(&self, request: &ModerationRequest<'_>) -> Result<Verdict, AttemptError> {
        if let Some(reason) = self.unsupported(request.lang) {
            return Ok(Verdict {
                action: Some(Action::Unsupported),
                detail: Some(reason),
                ..Verdict::default()
            });
        }
        let headers: Vec<(String, String)> = self
            .key
            .iter()
            .map(|k| ("Authorization".to_string(), format!("Bearer {}", k.expose())))
            .collect();
        let response = self
            .transport
            .post_json(&self.url, &headers, &self.body(request.text))
            .await?;
        let envelope = self.transport.json_body(&response)?;
        let Some(choice) = envelope.pointer("/choices/0") else {
            return Err(AttemptError::transient(format!(
                "the response has no `choices`: {}",
                excerpt(&response.body)
            )));
        };
        let pointer = match self.config.preset.prompt.endpoint() {
            Endpoint::Chat => "/message/content",
            Endpoint::Completions => "/text",
        };
        let out_of_tokens = choice.get("finish_reason").and_then(Value::as_str) == Some("length");
        match choice.pointer(pointer).and_then(Value::as_str) {
            Some(output) if !(out_of_tokens && output.trim().is_empty()) => Ok(self.verdict(output, choice, &envelope)),
            _ if out_of_tokens => Ok(Verdict::failed(format!(
                "{} (preset `{}`) used all {} tokens without answering; raise `max_tokens`",
                self.config.preset.label, self.config.preset.name, self.config.max_tokens
            ))),
            _ => Err(AttemptError::transient(format!(
                "the response has no answer at `choices[0]{}`: {}",
                pointer.replace('/', "."),
                excerpt(&response.body)
            ))),
        }
    }

    /// The verdict on the model's answer `output`, from `choice` of the response `envelope`.
    fn verdict(&self, output: &str, choice: &Value, envelope: &Value) -> Verdict {
        let config = &self.config;
        let preset = config.preset;
        let mut evidence = json!({
            "id": envelope.get("id"),
            "model": envelope.get("model"),
            "preset": preset.name,
            "output": output,
            "finish_reason": choice.get("finish_reason"),
        });
        let answer = match preset.parser.parse(output) {
            Ok(answer) => answer,
            Err(unreadable) => {
                return Verdict {
                    response: Some(evidence),
                    ..Verdict::failed(format!(
                        "{} (preset `{}`): {unreadable}: {}",
                        preset.label,
                        preset.name,
                        excerpt(output.as_bytes())
                    ))
                };
            }
        };
        let mut codes = answer.codes.clone();
        if let (true, true, Some(risk)) = (answer.violation, codes.is_empty(), config.risk) {
            codes.push(risk.code.to_string());
        }
        let counts = |code: &String| config.categories.iter().any(|c| c.eq_ignore_ascii_case(code));
        let adverse = answer.violation && (config.categories.is_empty() || codes.iter().any(counts));
        let mut scores = BTreeMap::new();
        for code in &codes {
            scores.insert(code.clone(), 1.0);
            if let Some(name) = preset.report_name(code) {
                scores.insert(name.to_string(), 1.0);
            }
        }
        let decision = if config.logprobs {
            logprobs::positions(choice)
                .and_then(|p| logprobs::decision_score(&p, output, answer.decision_at, preset.parser.words()))
        } else {
            None
        };
        evidence["categories"] = json!(codes);
        if let Some(decision) = &decision {
            evidence["decision"] = json!(decision);
        }
        Verdict {
            action: Some(if adverse { Action::Remove } else { Action::Allow }),
            score: decision.map(|d| d.score),
            scores,
            response: Some(evidence),
            ..Verdict::default()
        }
    }
}

/// The raw prompt: `{text}` and `{guideline}` replaced in one pass, so a text
/// that contains `{guideline}` is never expanded.
fn fill(template: &str, text: &str, guideline: &str) -> String {
    let mut filled = String::with_capacity(template.len() + text.len() + guideline.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        filled.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(tail) = after.strip_prefix("{text}") {
            filled.push_str(text);
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("{guideline}") {
            filled.push_str(guideline);
            rest = tail;
        } else {
            filled.push('{');
            rest = &after[1..];
        }
    }
    filled.push_str(rest);
    filled
}

impl HttpApi for GuardApi {
    fn call<'a>(&'a self, batch: &'a [ModerationRequest<'a>]) -> BoxFuture<'a, Result<Vec<Verdict>, AttemptError>> {
        one_by_one(batch, |request| self.ask(request))
    }
}

#[cfg(test)]
mod tests {
    use super::presets::{GPT_OSS_SAFEGUARD, LLAMA_GUARD_3, SHIELDGEMMA};
    use super::*;

    fn config(preset: &'static Preset) -> GuardConfig {
        GuardConfig {
            preset,
            base_url: DEFAULT_BASE_URL.into(),
            api_key_env: None,
            model: preset.model.unwrap_or("m").into(),
            risk: match preset.asks {
                Asks::One { default } => preset.category(default),
                Asks::Named => None,
            },
            categories: Vec::new(),
            languages: LanguageScope {
                supported: preset.languages.map(|l| l.iter().map(|s| s.to_string()).collect()),
                unsupported: Vec::new(),
            },
            policy: None,
            max_tokens: preset.max_tokens,
            logprobs: true,
        }
    }

    fn target(config: GuardConfig) -> GuardTarget {
        GuardTarget::new(config, None).unwrap()
    }

    fn policy(text: &str) -> PolicyText {
        PolicyText {
            path: "policy.md".into(),
            text: text.into(),
            sha256: sha256_hex(text.as_bytes()),
        }
    }

    #[test]
    fn the_fingerprint_is_pinned() {
        let mut llama = config(&LLAMA_GUARD_3);
        llama.categories = vec!["S10".into()];
        assert_eq!(
            target(llama.clone()).info().fingerprint,
            "51e6203554e79db9d990862f3c669158fce14aa871cde9218417b8cf063aee84"
        );
        static BUMPED: Preset = Preset {
            version: 2,
            ..LLAMA_GUARD_3
        };
        let mut other_version = llama.clone();
        other_version.preset = &BUMPED;
        assert_ne!(
            target(other_version).info().fingerprint,
            target(llama).info().fingerprint
        );
    }

    #[test]
    fn the_policy_text_is_in_the_fingerprint() {
        let with = |text: &str| {
            let mut c = config(&GPT_OSS_SAFEGUARD);
            c.policy = Some(policy(text));
            target(c).info()
        };
        let info = with("Label 1 for hate, else 0.");
        assert_eq!(
            info.fingerprint,
            "62274a3184d8527cc43bc31fee31a5eceb277cbd32ed6d587df9ed0fcbebb6ef"
        );
        assert_ne!(
            with("Label 1 for hate or threats, else 0.").fingerprint,
            info.fingerprint
        );
        assert!(
            info.notes
                .iter()
                .any(|n| n.contains(&sha256_hex(b"Label 1 for hate, else 0.")))
        );
        assert!(matches!(
            GuardTarget::new(config(&GPT_OSS_SAFEGUARD), None),
            Err(SetupError::Build(_))
        ));
    }

    #[test]
    fn a_raw_prompt_is_filled_once() {
        let api = target(config(&SHIELDGEMMA));
        let body = api.api().body("say {guideline} and {text}");
        let prompt = body["prompt"].as_str().unwrap();
        assert!(
            prompt.contains("Human Question: say {guideline} and {text}\n"),
            "{prompt}"
        );
        assert!(
            prompt.contains("* \"No Hate Speech\": The prompt shall not"),
            "{prompt}"
        );
        assert_eq!(body["max_tokens"], 1);
        assert_eq!(body["logprobs"], 5);
        assert_eq!(fill("{a} {text}{", "t", "g"), "{a} t{");
    }

    #[test]
    fn without_logprobs_none_are_asked_for() {
        let mut c = config(&LLAMA_GUARD_3);
        c.logprobs = false;
        let body = target(c).api().body("x");
        assert!(body.get("logprobs").is_none() && body.get("top_logprobs").is_none());
    }

    #[test]
    fn answers_become_verdicts() {
        let api = target(config(&LLAMA_GUARD_3));
        let choice = json!({"message": {"content": "unsafe\nS10,S1"}, "finish_reason": "stop"});
        let v = api.api().verdict("unsafe\nS10,S1", &choice, &json!({"id": "x"}));
        assert_eq!(v.action, Some(Action::Remove));
        assert_eq!(v.score, None, "no logprobs in the choice");
        assert_eq!(
            v.scores.keys().collect::<Vec<_>>(),
            ["S1", "S10", "hate", "violent_crimes"]
        );
        let v = api.api().verdict("Sure, here is", &choice, &json!({}));
        assert_eq!(v.action, Some(Action::Error));
        assert_eq!(
            v.detail.as_deref(),
            Some(
                "Llama Guard 3 (preset `llama-guard-3`): the answer is not `safe`, or `unsafe` and a line of category codes: Sure, here is"
            )
        );
        let long = "x".repeat(500);
        let v = api.api().verdict(&long, &choice, &json!({}));
        assert!(
            v.detail.unwrap().ends_with(&format!("{}…", "x".repeat(200))),
            "the answer is shortened"
        );
    }

    #[test]
    fn languages_outside_the_card_are_unsupported() {
        let api = target(config(&LLAMA_GUARD_3));
        assert_eq!(api.api().unsupported("pt-BR"), None);
        let reason = api.api().unsupported("sw").unwrap();
        assert!(
            reason.contains("`sw`") && reason.contains("en, fr, de, hi, it, pt, es, th"),
            "{reason}"
        );
    }
}
