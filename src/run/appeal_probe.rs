//! The appeal phase: for each wrongful removal (adverse action on a protected
//! case) — or a seeded sample of them ([`crate::appeal::selected`]) — file an appeal
//! with the platform and follow it until it is decided or the deadline passes.
//!
//! Appeals are not idempotent. Each step is journaled and fsynced before the
//! next: the intent (with its idempotency key) before the request leaves, the
//! filing once acknowledged, the outcome once known. On resume, an intent
//! without a filing is sent again with the same key (the platform files it at
//! most once), and a filing without an outcome is polled again. With
//! `--retry-errors`, an appeal that failed is taken up again from its last
//! journaled step the same way. A stop (Ctrl-C) cancels every appeal where it
//! stands, requests in flight included; the journal then holds only the steps
//! that were complete.
//!
//! Idempotency keys are derived from a random secret of the run (kept in its
//! manifest) and the case id: the same across resumptions of one run, never
//! shared between two runs, whatever their directories are called.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::executor::retrying;
use crate::appeal::selected;
use crate::corpus::Case;
use crate::decision::Decision;
use crate::decision::DecisionIndex;
use crate::error::Error;
use crate::hash::sha256_hex;
use crate::journal::appeal::{AppealFiled, AppealIndex, AppealIntent, AppealOutcome, AppealResult, AppealState};
use crate::journal::{Journal, Record};
use crate::moderator::AttemptError;
use crate::moderator::env;
use crate::moderator::http::{render_template, value_text};
use crate::moderator::transport::Transport;
use crate::run::{StopSignal, Throttle};
use crate::scenario::{AppealPlan, Plan, RunSettings};

/// How the appeal phase of one run files and retries.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    /// The run's secret ([`crate::run::RunManifest::idempotency_secret`]).
    pub idempotency_secret: String,
    /// Take up again the appeals whose outcome is `failed`.
    pub retry_failed: bool,
}

/// The idempotency key of a run's appeal against one case's decision.
fn idempotency_key(secret: &str, case_id: &str) -> String {
    sha256_hex(format!("{secret}\0{case_id}").as_bytes())[..32].to_string()
}

struct Prober {
    appeal: AppealPlan,
    transport: Transport,
    submit_url: String,
    status_url: String,
    headers: Vec<(String, String)>,
    journal: Arc<Mutex<Journal>>,
    throttle: Throttle,
    idempotency_secret: String,
    /// Timeout, attempts and rate-limit bounds, as for the moderation phase.
    settings: RunSettings,
}

/// Files and follows the appeals of a run; returns whether it was interrupted.
pub async fn probe_appeals(
    plan: Arc<Plan>,
    decisions: Arc<DecisionIndex>,
    prior: AppealIndex,
    journal: Journal,
    settings: ProbeSettings,
    env: &dyn Fn(&str) -> Option<String>,
    stop: StopSignal,
) -> Result<bool, Error> {
    let Some(appeal) = plan.appeal.clone() else {
        return Ok(false);
    };
    let submit_url = env::resolve_url(&appeal.submit_url, "appeal.submit_url", env)?;
    let status_url = env::resolve_url(&appeal.status_url, "appeal.status_url", env)?;
    let mut secrets = submit_url.secrets;
    secrets.extend(status_url.secrets);
    let mut headers = Vec::new();
    for (name, template) in &appeal.headers {
        let value = env::resolve_header(template, &format!("appeal.headers.{name}"), env)?;
        secrets.extend(value.secrets);
        headers.push((name.clone(), value.value));
    }
    let prober = Arc::new(Prober {
        transport: Transport::new(secrets).map_err(Error::Target)?,
        submit_url: submit_url.value,
        status_url: status_url.value,
        headers,
        journal: Arc::new(Mutex::new(journal)),
        throttle: Throttle::new(
            plan.run.requests_per_second,
            plan.run.requests_per_minute,
            plan.run.max_retry_after,
        ),
        idempotency_secret: settings.idempotency_secret,
        settings: plan.run.clone(),
        appeal,
    });
    let todo: Vec<(String, AppealState)> = selected(&plan, &decisions, &prior)
        .chosen
        .into_iter()
        .map(|(case, _)| {
            (
                case.id.to_string(),
                prior.get(case.id.as_str()).cloned().unwrap_or_default(),
            )
        })
        .filter(|(_, state)| match &state.outcome {
            None => true,
            Some(outcome) => settings.retry_failed && outcome.result == AppealResult::Failed,
        })
        .collect();
    let semaphore = Arc::new(Semaphore::new(prober.appeal.concurrency));
    // Polls can last until a distant deadline: they listen for the stop too, and
    // an interrupted poll writes no outcome (a resumed run polls it again).
    let (stopped_tx, stopped) = watch::channel(false);
    let watcher = tokio::spawn(async move {
        stop.await;
        let _ = stopped_tx.send(true);
    });
    let mut tasks = JoinSet::new();
    for (case_id, state) in todo {
        let mut stopped_now = stopped.clone();
        let permit = tokio::select! {
            biased;
            _ = stopped_now.wait_for(|s| *s) => break,
            permit = Arc::clone(&semaphore).acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (prober, plan, decisions, stopped) = (
            Arc::clone(&prober),
            Arc::clone(&plan),
            Arc::clone(&decisions),
            stopped.clone(),
        );
        tasks.spawn(async move {
            let case = plan
                .cases
                .iter()
                .find(|c| c.id == case_id)
                .expect("selected from the plan");
            let decision = decisions.get(&case_id).expect("selected from the decisions");
            let mut stopped_now = stopped.clone();
            let result = tokio::select! {
                biased;
                _ = stopped_now.wait_for(|s| *s) => Ok(()),
                result = prober.follow(case, decision, state, stopped) => result,
            };
            drop(permit);
            result
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| Error::Target(format!("an appeal task failed: {e}")))??;
    }
    let interrupted = *stopped.borrow();
    watcher.abort();
    Ok(interrupted)
}

impl Prober {
    /// Takes one appeal from wherever it stands to an outcome.
    async fn follow(
        &self,
        case: &Case,
        decision: &Decision,
        state: AppealState,
        stopped: watch::Receiver<bool>,
    ) -> Result<(), Error> {
        let filed = match state.filed {
            Some(filed) => filed,
            None => {
                let needs_id = self.appeal.submit_body.contains("{decision_id}")
                    || self.appeal.status_url.contains("{decision_id}");
                if needs_id && decision.notice().decision_id.is_none() {
                    return self.finish(failed(
                        &case.id,
                        "the decision carries no decision id to appeal against".into(),
                    ));
                }
                let key = match &state.intent {
                    Some(intent) => intent.idempotency_key.clone(),
                    None => {
                        let key = idempotency_key(&self.idempotency_secret, &case.id);
                        let intent = AppealIntent {
                            case_id: case.id.to_string(),
                            idempotency_key: key.clone(),
                            at: Utc::now(),
                        };
                        self.write(Record::AppealIntent(intent))?;
                        key
                    }
                };
                match self.submit(case, decision, &key).await {
                    Ok(filed) => {
                        self.write(Record::AppealFiled(filed.clone()))?;
                        filed
                    }
                    Err(e) => {
                        return self.finish(failed(&case.id, format!("could not file the appeal: {}", e.message)));
                    }
                }
            }
        };
        match self.poll(case, decision, &filed, stopped).await {
            Some(outcome) => self.finish(outcome),
            None => Ok(()),
        }
    }

    fn finish(&self, outcome: AppealOutcome) -> Result<(), Error> {
        self.write(Record::AppealOutcome(outcome))
    }

    /// Appends a record and forces it to disk before anything else happens.
    fn write(&self, record: Record) -> Result<(), Error> {
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        let path = journal.path().to_path_buf();
        journal.append(&record).map_err(Error::io(&path))?;
        journal.sync().map_err(Error::io(&path))
    }

    /// One request with the rate limit, the timeout and retries of transient
    /// failures; a 429 uses up no attempt (see [`retrying`]).
    async fn request(
        &self,
        post: Option<&Value>,
        url: &str,
        extra: Option<(&str, &str)>,
    ) -> Result<Value, AttemptError> {
        let mut headers = self.headers.clone();
        if let Some((k, v)) = extra {
            headers.push((k.to_string(), v.to_string()));
        }
        let call = || async {
            let response = match post {
                Some(body) => self.transport.post_json(url, &headers, body).await?,
                None => self.transport.get(url, &headers).await?,
            };
            self.transport.json_body(&response)
        };
        retrying(
            &self.throttle,
            &self.settings,
            Some(self.settings.timeout),
            |_| {},
            call,
        )
        .await
        .result
    }

    async fn submit(&self, case: &Case, decision: &Decision, key: &str) -> Result<AppealFiled, AttemptError> {
        let decision_id = decision.notice().decision_id.clone().unwrap_or_default();
        let text = case.text().map_err(AttemptError::permanent)?;
        let body = render_template(
            &self.appeal.submit_body,
            &[
                ("id", &case.id),
                ("decision_id", &decision_id),
                ("lang", &case.lang),
                ("text", &text),
                ("appeal_text", &self.appeal.appeal_text),
                ("idempotency_key", key),
            ],
        )
        .map_err(AttemptError::permanent)?;
        let answer = self
            .request(
                Some(&body),
                &self.submit_url,
                Some((&self.appeal.idempotency_header, key)),
            )
            .await?;
        let appeal_id = answer
            .pointer(&self.appeal.appeal_id)
            .filter(|v| !v.is_null())
            .map(value_text)
            .ok_or_else(|| {
                AttemptError::permanent(format!(
                    "the platform's answer has no appeal id at {}",
                    self.appeal.appeal_id
                ))
            })?;
        let filed_at = self
            .appeal
            .filed_at
            .as_deref()
            .and_then(|p| answer.pointer(p))
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map_or_else(Utc::now, |d| d.with_timezone(&Utc));
        Ok(AppealFiled {
            case_id: case.id.to_string(),
            appeal_id,
            filed_at,
            response: Some(answer),
        })
    }

    /// Polls the appeal's status until decided or past the deadline; `None` when
    /// the run is stopped first.
    async fn poll(
        &self,
        case: &Case,
        decision: &Decision,
        filed: &AppealFiled,
        mut stopped: watch::Receiver<bool>,
    ) -> Option<AppealOutcome> {
        let url = self
            .status_url
            .replace("{appeal_id}", &encode(&filed.appeal_id))
            .replace(
                "{decision_id}",
                &encode(decision.notice().decision_id.as_deref().unwrap_or_default()),
            )
            .replace("{id}", &encode(&case.id));
        let deadline_at =
            filed.filed_at + chrono::Duration::from_std(self.appeal.deadline).unwrap_or(chrono::Duration::MAX);
        let mut last_error = None;
        loop {
            match self.request(None, &url, None).await {
                Ok(answer) => {
                    let status = answer.pointer(&self.appeal.status).map(value_text).unwrap_or_default();
                    match self.appeal.status_map.get(&status).copied() {
                        Some(result @ (AppealResult::Reversed | AppealResult::Upheld)) => {
                            let observed_at = Utc::now();
                            let decided_at = self
                                .appeal
                                .decided_at
                                .as_deref()
                                .and_then(|p| answer.pointer(p))
                                .and_then(Value::as_str)
                                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                                .map(|d| d.with_timezone(&Utc))
                                .unwrap_or(observed_at);
                            let seconds = ((decided_at - filed.filed_at).num_milliseconds() as f64 / 1000.0).max(0.0);
                            let reason = self
                                .appeal
                                .outcome_reason
                                .as_deref()
                                .and_then(|p| answer.pointer(p))
                                .map(value_text);
                            return Some(AppealOutcome {
                                case_id: case.id.to_string(),
                                result,
                                decided_at: Some(decided_at),
                                observed_at,
                                seconds: Some(seconds),
                                reason,
                                error: None,
                                response: Some(answer),
                            });
                        }
                        Some(_) => {}
                        None => {
                            return Some(failed(
                                &case.id,
                                format!("the status `{status}` is not in the appeal's status_map"),
                            ));
                        }
                    }
                }
                Err(e) if e.is_retryable() => last_error = Some(e.message),
                Err(e) => {
                    return Some(failed(
                        &case.id,
                        format!("could not read the appeal's status: {}", e.message),
                    ));
                }
            }
            let now = Utc::now();
            if now >= deadline_at {
                return Some(AppealOutcome {
                    case_id: case.id.to_string(),
                    result: AppealResult::Pending,
                    decided_at: None,
                    observed_at: now,
                    seconds: None,
                    reason: None,
                    error: last_error,
                    response: None,
                });
            }
            let remaining = (deadline_at - now).to_std().unwrap_or_default();
            tokio::select! {
                () = tokio::time::sleep(self.appeal.poll_interval.min(remaining)) => {}
                _ = stopped.wait_for(|s| *s) => return None,
            }
        }
    }
}

fn failed(case_id: &str, error: String) -> AppealOutcome {
    AppealOutcome {
        case_id: case_id.to_string(),
        result: AppealResult::Failed,
        decided_at: None,
        observed_at: Utc::now(),
        seconds: None,
        reason: None,
        error: Some(error),
        response: None,
    }
}

/// Percent-encodes a value for a URL path segment or query value.
fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_differ_between_secrets_and_cases_and_not_otherwise() {
        use super::idempotency_key;
        let (a, b) = ("0a".repeat(32), "0b".repeat(32));
        assert_eq!(idempotency_key(&a, "en-1"), idempotency_key(&a, "en-1"));
        assert_ne!(idempotency_key(&a, "en-1"), idempotency_key(&b, "en-1"));
        assert_ne!(idempotency_key(&a, "en-1"), idempotency_key(&a, "en-2"));
        assert_eq!(idempotency_key(&a, "en-1").len(), 32);
    }

    #[test]
    fn values_are_percent_encoded() {
        assert_eq!(super::encode("A-1_b.c~"), "A-1_b.c~");
        assert_eq!(super::encode("a/b?c d"), "a%2Fb%3Fc%20d");
    }
}
