//! A stand-in platform for appeal-path tests: it moderates (removing any post
//! that contains a listed word — so counter-speech quoting a threat is removed
//! wrongly), answers with a full notice, and runs an appeal queue whose
//! behaviour the test chooses: no appeal route at all, appeals that never
//! resolve, a fixed share reversed, slower decisions for one language (past the
//! audit's deadline if the test wants). Appeals
//! are deduplicated by idempotency key, as real APIs do, and the stand-in counts
//! the appeals filed and the submissions received per decision.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;

use crate::server::{Reply, Request, Server};

/// Words whose presence gets a post removed.
const BLOCKED: [&str; 3] = ["kill", "vermin", "exterminate"];

#[derive(Clone, Copy, Debug)]
pub struct Behaviour {
    /// Notices carry an appeal URL and the appeal API exists.
    pub appeal_route: bool,
    /// Reverse `k` of every `n` appeals, by the number that ends the post's id
    /// (`en-w07` → 7): posts numbered alike in every language and group get the
    /// same share, whatever order the appeals arrive in.
    pub reverse: (usize, usize),
    pub decide_after: Duration,
    /// Decisions for this language take this many times longer.
    pub slow_language: Option<(&'static str, u32)>,
    pub never_resolve: bool,
    /// Answer every n-th request to the appeal API with 429 and `Retry-After: 0`
    /// (0: never).
    pub appeal_429_every: usize,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            appeal_route: true,
            reverse: (2, 5),
            decide_after: Duration::from_millis(300),
            slow_language: None,
            never_resolve: false,
            appeal_429_every: 0,
        }
    }
}

struct Appeal {
    id: String,
    decision_id: String,
    filed: Instant,
    filed_at: chrono::DateTime<Utc>,
    due: Duration,
    reversed: bool,
}

#[derive(Default)]
struct State {
    /// decision id → language of the post.
    decisions: HashMap<String, String>,
    appeals: Vec<Appeal>,
    by_key: HashMap<String, usize>,
    submissions: HashMap<String, usize>,
    /// Requests to the appeal API so far.
    appeal_requests: usize,
    /// Of those, how many were answered 429.
    rate_limited: usize,
}

pub struct StandIn {
    pub server: Server,
    state: Arc<Mutex<State>>,
}

impl StandIn {
    pub fn start(behaviour: Behaviour) -> StandIn {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let server = Server::start(move |request, _| handle(&behaviour, &shared, request));
        StandIn { server, state }
    }

    pub fn url(&self) -> &str {
        &self.server.url
    }

    /// Appeals filed per decision id (after deduplication by idempotency key).
    pub fn appeals_per_decision(&self) -> HashMap<String, usize> {
        let state = self.state.lock().unwrap();
        let mut out = HashMap::new();
        for a in &state.appeals {
            *out.entry(a.decision_id.clone()).or_default() += 1;
        }
        out
    }

    /// Requests to the appeal API answered 429.
    pub fn rate_limited(&self) -> usize {
        self.state.lock().unwrap().rate_limited
    }

    /// Appeal submissions received per decision id (retries included).
    pub fn submissions_per_decision(&self) -> HashMap<String, usize> {
        self.state.lock().unwrap().submissions.clone()
    }
}

fn handle(behaviour: &Behaviour, state: &Mutex<State>, request: &Request) -> Reply {
    let body = request.json();
    let path = request.target.split('?').next().unwrap_or_default();
    if path.starts_with("/appeals") && behaviour.appeal_429_every > 0 {
        let mut state = state.lock().unwrap();
        state.appeal_requests += 1;
        if state.appeal_requests.is_multiple_of(behaviour.appeal_429_every) {
            state.rate_limited += 1;
            return Reply::status(
                429,
                "application/json",
                r#"{"error":{"message":"slow down"}}"#,
                &[("Retry-After", "0")],
            );
        }
    }
    match (request.method.as_str(), path) {
        ("POST", "/moderate") => {
            let text = body["content"]["text"].as_str().unwrap_or_default().to_lowercase();
            let lang = body["content"]["language"].as_str().unwrap_or_default().to_string();
            let reference = body["ref"].as_str().unwrap_or_default().to_string();
            let Some(word) = BLOCKED.iter().find(|w| text.contains(*w)) else {
                return Reply::Json(200, json!({"result": {"decision": "kept"}}));
            };
            let decision_id = format!("D-{reference}");
            state.lock().unwrap().decisions.insert(decision_id.clone(), lang);
            let mut notice = json!({
                "id": decision_id,
                "reason": format!("The post contains \"{word}\", which our rules on violence prohibit."),
                "policy": "community-standards/violence-and-incitement",
                "automated": true,
                "automated_detection": true,
                "scope": ["DE", "FR", "ES"],
            });
            if behaviour.appeal_route {
                notice["appeal"] = json!("https://platform.example/appeals");
            }
            Reply::Json(200, json!({"result": {"decision": "removed"}, "notice": notice}))
        }
        ("POST", "/appeals") => {
            if !behaviour.appeal_route {
                return Reply::Json(404, json!({"error": {"message": "this platform has no appeals"}}));
            }
            let decision_id = body["decision_id"].as_str().unwrap_or_default().to_string();
            let key = request.header("idempotency-key").unwrap_or_default().to_string();
            let mut state = state.lock().unwrap();
            *state.submissions.entry(decision_id.clone()).or_default() += 1;
            if let Some(&i) = state.by_key.get(&key) {
                return Reply::Json(200, json!({"appeal_id": state.appeals[i].id, "status": "in_review"}));
            }
            let Some(lang) = state.decisions.get(&decision_id).cloned() else {
                return Reply::Json(
                    400,
                    json!({"error": {"message": format!("unknown decision {decision_id}")}}),
                );
            };
            let n = state.appeals.len();
            let factor = match behaviour.slow_language {
                Some((slow, f)) if slow == lang => f,
                _ => 1,
            };
            let number: usize = decision_id
                .rsplit(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|digits| digits.parse().ok())
                .unwrap_or(n);
            let appeal = Appeal {
                id: format!("A-{n}"),
                reversed: number % behaviour.reverse.1 < behaviour.reverse.0,
                decision_id,
                filed: Instant::now(),
                filed_at: Utc::now(),
                due: behaviour.decide_after * factor,
            };
            let id = appeal.id.clone();
            state.appeals.push(appeal);
            state.by_key.insert(key, n);
            let filed_at = state.appeals[n].filed_at.to_rfc3339();
            Reply::Json(
                201,
                json!({"appeal_id": id, "status": "in_review", "filed_at": filed_at}),
            )
        }
        ("GET", p) if p.starts_with("/appeals/") => {
            let id = &p["/appeals/".len()..];
            let state = state.lock().unwrap();
            let Some(appeal) = state.appeals.iter().find(|a| a.id == id) else {
                return Reply::Json(404, json!({"error": {"message": "no such appeal"}}));
            };
            if behaviour.never_resolve || appeal.filed.elapsed() < appeal.due {
                return Reply::Json(200, json!({"status": "in_review"}));
            }
            let decided_at = appeal.filed_at + chrono::Duration::from_std(appeal.due).unwrap();
            let (status, reason) = if appeal.reversed {
                (
                    "reinstated",
                    "On review the post is counter-speech and breaks no rule; it has been restored.",
                )
            } else {
                ("upheld", "On review the removal stands.")
            };
            Reply::Json(
                200,
                json!({"status": status, "decided_at": decided_at.to_rfc3339(), "reason": reason}),
            )
        }
        _ => Reply::Json(404, json!({"error": {"message": "not found"}})),
    }
}

/// The `[target]` and `[appeal]` tables for a scenario against the stand-in.
pub fn scenario_tables(url: &str, with_appeal: bool, deadline_secs: f64) -> String {
    scenario_tables_with(url, with_appeal, deadline_secs, "")
}

/// [`scenario_tables`] with `appeal_keys` added to the `[appeal]` table (e.g. `max_appeals = 9`).
pub fn scenario_tables_with(url: &str, with_appeal: bool, deadline_secs: f64, appeal_keys: &str) -> String {
    let mut text = format!(
        "[target]\nkind = \"http\"\nurl = \"{url}/moderate\"\nbody = '{{\"content\": {{\"text\": \"{{text}}\", \"language\": \"{{lang}}\"}}, \"ref\": \"{{id}}\"}}'\n\
         [target.response]\naction = \"/result/decision\"\naction_map = {{ removed = \"remove\", kept = \"allow\" }}\ndecision_id = \"/notice/id\"\n\
         reason = \"/notice/reason\"\nrule = \"/notice/policy\"\nautomated = \"/notice/automated\"\nautomated_detection = \"/notice/automated_detection\"\n\
         territorial_scope = \"/notice/scope\"\nappeal_url = \"/notice/appeal\"\n"
    );
    if with_appeal {
        text.push_str(&format!(
            "[appeal]\nsubmit_url = \"{url}/appeals\"\nsubmit_body = '{{\"decision_id\": \"{{decision_id}}\", \"statement\": \"{{appeal_text}}\"}}'\n\
             appeal_id = \"/appeal_id\"\nstatus_url = \"{url}/appeals/{{appeal_id}}\"\nstatus = \"/status\"\n\
             status_map = {{ reinstated = \"reversed\", in_review = \"pending\" }}\ndecided_at = \"/decided_at\"\nfiled_at = \"/filed_at\"\noutcome_reason = \"/reason\"\n\
             poll_interval_secs = 0.05\ndeadline_secs = {deadline_secs}\nconcurrency = 16\n{appeal_keys}\n"
        ));
    }
    text
}
