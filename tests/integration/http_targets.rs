//! Every HTTP adapter against a loopback server that speaks its real wire format,
//! through the faults real APIs show. After each, every case is decided (or an
//! `error` with a reason) exactly once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::server::{Reply, Request, Server};
use crate::support::*;

/// The cases: one violating (contains "kill"), benign ones in three languages.
pub const ROWS: &str = "\
k1,en,I will kill them all,violating,threat,women,,,\n\
b1,en,a perfectly normal post,protected,neutral_mention,women,,,\n\
b2,es,un texto normal,protected,neutral_mention,women,,,\n\
b3,sw,habari ya asubuhi,protected,neutral_mention,women,,,\n";

#[derive(Clone, Copy, Debug)]
pub enum Adapter {
    OpenAi,
    Perspective,
    Azure,
    Http,
}

fn violating(text: &str) -> bool {
    text.to_lowercase().contains("kill")
}

impl Adapter {
    pub fn key_env(self) -> (&'static str, &'static str) {
        match self {
            Adapter::OpenAi => ("OPENAI_API_KEY", "sk-test-openai"),
            Adapter::Perspective => ("PERSPECTIVE_API_KEY", "test-perspective-key"),
            Adapter::Azure => ("AZURE_CONTENT_SAFETY_KEY", "test-azure-key"),
            Adapter::Http => ("PLATFORM_TOKEN", "test-platform-token"),
        }
    }

    /// The `[target]` table pointing at `url`.
    pub fn target(self, url: &str) -> String {
        match self {
            Adapter::OpenAi => format!("kind = \"openai\"\nbase_url = \"{url}\"\n"),
            Adapter::Perspective => format!("kind = \"perspective\"\nbase_url = \"{url}\"\nthreshold = 0.5\n"),
            Adapter::Azure => format!("kind = \"azure\"\nbase_url = \"{url}\"\nthreshold = 4\n"),
            Adapter::Http => format!(
                "kind = \"http\"\nurl = \"{url}/v2/moderate\"\nbody = '{{\"content\": {{\"text\": \"{{text}}\", \"language\": \"{{lang}}\"}}, \"ref\": \"{{id}}\"}}'\n\
                 headers = {{ Authorization = \"Bearer ${{PLATFORM_TOKEN}}\" }}\n\
                 [target.response]\naction = \"/result/decision\"\naction_map = {{ removed = \"remove\", kept = \"allow\" }}\n\
                 score = \"/result/confidence\"\ndecision_id = \"/notice/id\"\nreason = \"/notice/statement\"\nrule = \"/notice/policy\"\n\
                 automated = \"/notice/automated\"\nappeal_url = \"/notice/appeal\"\n"
            ),
        }
    }

    /// A correct answer to `request` in the adapter's wire format.
    pub fn answer(self, request: &Request) -> Reply {
        let body = request.json();
        match self {
            Adapter::OpenAi => {
                let inputs: Vec<String> = match &body["input"] {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(a) => a.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect(),
                    _ => {
                        return Reply::Json(
                            400,
                            json!({"error": {"message": "input missing", "type": "invalid_request_error"}}),
                        );
                    }
                };
                let results: Vec<Value> = inputs
                    .iter()
                    .map(|t| {
                        let bad = violating(t);
                        json!({
                            "flagged": bad,
                            "categories": {"harassment": false, "hate": bad, "violence": bad},
                            "category_scores": {"harassment": 0.05, "hate": if bad {0.93} else {0.02}, "violence": if bad {0.88} else {0.01}},
                            "category_applied_input_types": {"hate": ["text"]}
                        })
                    })
                    .collect();
                Reply::Json(
                    200,
                    json!({"id": "modr-test", "model": "omni-moderation-2024-09-26", "results": results}),
                )
            }
            Adapter::Perspective => {
                let lang = body["languages"][0].as_str().unwrap_or_default().to_string();
                if lang == "sw" {
                    return Reply::Json(
                        400,
                        json!({"error": {"code": 400, "message": "Attribute TOXICITY does not support request languages: sw", "status": "INVALID_ARGUMENT",
                          "details": [{"@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error", "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
                                       "languageNotSupportedByAttributeError": {"detectedLanguages": ["sw"], "attribute": "TOXICITY"}}]}}),
                    );
                }
                let score = if violating(body["comment"]["text"].as_str().unwrap_or_default()) {
                    0.91
                } else {
                    0.08
                };
                Reply::Json(
                    200,
                    json!({
                        "attributeScores": {"TOXICITY": {"spanScores": [{"begin": 0, "end": 5, "score": {"value": score, "type": "PROBABILITY"}}],
                                                         "summaryScore": {"value": score, "type": "PROBABILITY"}}},
                        "languages": [lang], "detectedLanguages": [lang]
                    }),
                )
            }
            Adapter::Azure => {
                let severity = if violating(body["text"].as_str().unwrap_or_default()) {
                    6
                } else {
                    0
                };
                Reply::Json(
                    200,
                    json!({"blocklistsMatch": [], "categoriesAnalysis": [
                    {"category": "Hate", "severity": severity}, {"category": "SelfHarm", "severity": 0},
                    {"category": "Sexual", "severity": 0}, {"category": "Violence", "severity": severity / 2}]}),
                )
            }
            Adapter::Http => {
                let bad = violating(body["content"]["text"].as_str().unwrap_or_default());
                let id = body["ref"].as_str().unwrap_or_default().to_string();
                let mut answer = json!({"result": {"decision": if bad {"removed"} else {"kept"}, "confidence": if bad {0.97} else {0.03}}});
                if bad {
                    answer["notice"] = json!({"id": format!("D-{id}"), "statement": "Violent threat", "policy": "violence/threats",
                                              "automated": true, "appeal": format!("https://platform.example/appeal/{id}")});
                }
                Reply::Json(200, answer)
            }
        }
    }

    /// Checks the request carries the key the way the real API expects it.
    fn authenticated(self, request: &Request) -> bool {
        let (_, key) = self.key_env();
        match self {
            Adapter::OpenAi => request.header("authorization") == Some(&format!("Bearer {key}")),
            Adapter::Perspective => request.target.ends_with(&format!("key={key}")),
            Adapter::Azure => request.header("ocp-apim-subscription-key") == Some(key),
            Adapter::Http => request.header("authorization") == Some(&format!("Bearer {key}")),
        }
    }

    fn path(self) -> &'static str {
        match self {
            Adapter::OpenAi => "/v1/moderations",
            Adapter::Perspective => "/v1alpha1/comments:analyze?key=",
            Adapter::Azure => "/contentsafety/text:analyze?api-version=2024-09-01",
            Adapter::Http => "/v2/moderate",
        }
    }
}

/// A finished run against a server.
pub struct HttpRun {
    pub dir: PathBuf,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Keeps the run's directory alive for the test.
    _tmp: tempfile::TempDir,
}

/// Runs `rows` against the server with the adapter's target; `run` is extra `[run]` keys.
pub fn run_against(adapter: Adapter, server: &Server, rows: &str, run: &str) -> HttpRun {
    run_against_with(adapter, server, rows, "", run)
}

/// As [`run_against`], with extra `[target]` keys too.
pub fn run_against_with(adapter: Adapter, server: &Server, rows: &str, target: &str, run: &str) -> HttpRun {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("corpus"), &["en", "es", "sw"], rows);
    let cache = tmp.path().join("cache");
    // defaults, unless `run` sets the key itself
    let mut run_table = String::from(run);
    for (key, value) in [("concurrency", "4"), ("timeout_secs", "1"), ("max_attempts", "4")] {
        if !run.lines().any(|l| l.trim_start().starts_with(key)) {
            run_table.push_str(&format!("{key} = {value}\n"));
        }
    }
    if !run.contains("cache") {
        run_table.push_str(&format!("cache_dir = {}\n", toml_string(&cache.display().to_string())));
    }
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"http-test\"\ncorpora = [{{corpus}}]\n[target]\n{}{target}\n[run]\n{run_table}",
            adapter.target(&server.url)
        ),
    );
    let dir = tmp.path().join("run");
    let (key, value) = adapter.key_env();
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&dir)
        .env(key, value)
        .output()
        .unwrap();
    HttpRun {
        dir,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: stderr_of(&output),
        _tmp: tmp,
    }
}

pub fn rows_by_case(dir: &Path) -> HashMap<String, HashMap<String, String>> {
    read_decisions(dir)
        .into_iter()
        .map(|r| (r["case_id"].clone(), r))
        .collect()
}

/// Every case decided exactly once, with the expected actions.
fn assert_all_decided(adapter: Adapter, run: &HttpRun) {
    assert_eq!(run.code, Some(0), "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    let mut ids = journal_case_ids(&run.dir);
    ids.sort();
    assert_eq!(ids, ["b1", "b2", "b3", "k1"], "every case exactly once");
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["k1"]["action"], "remove", "{:?}", rows["k1"]);
    assert_eq!(rows["b1"]["action"], "allow", "{:?}", rows["b1"]);
    assert_eq!(rows["b2"]["action"], "allow");
    match adapter {
        Adapter::Perspective => {
            assert_eq!(
                rows["b3"]["action"], "unsupported",
                "an unsupported language is its own outcome"
            );
            assert!(rows["b3"]["error"].contains("does not support request languages: sw"));
        }
        _ => assert_eq!(rows["b3"]["action"], "allow"),
    }
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    None,
    RateLimited,
    ServerErrors,
    Slow,
    MalformedJson,
    CutConnection,
    CutMidBody,
    WrongContentType,
}

/// Whether a request concerns case `k1` (the one that says "kill").
fn about_k1(request: &Request) -> bool {
    String::from_utf8_lossy(&request.body).contains("kill")
}

/// The fault hits the first attempts at case `k1`; other cases are answered normally.
fn check(adapter: Adapter, fault: Fault) {
    let k1_attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = Server::start(move |request, _| {
        if !adapter.authenticated(request) {
            return Reply::Json(401, json!({"error": {"message": "missing or wrong key"}}));
        }
        let attempt = if about_k1(request) {
            k1_attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        } else {
            usize::MAX
        };
        let first = attempt == 0;
        match fault {
            Fault::RateLimited if first => Reply::status(
                429,
                "application/json",
                r#"{"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}"#,
                &[("Retry-After", "1")],
            ),
            Fault::ServerErrors if attempt == 0 => {
                Reply::status(500, "application/json", r#"{"error": {"message": "internal"}}"#, &[])
            }
            Fault::ServerErrors if attempt == 1 => Reply::status(503, "text/plain", "upstream unavailable", &[]),
            Fault::Slow if first => Reply::Delay(Duration::from_millis(2500), Box::new(adapter.answer(request))),
            Fault::MalformedJson if first => Reply::status(200, "application/json", "{\"results\": [oops", &[]),
            Fault::CutConnection if first => Reply::Cut,
            Fault::CutMidBody if first => Reply::CutMidBody,
            Fault::WrongContentType if first => {
                Reply::status(200, "text/html", "<html><body>Gateway says hi</body></html>", &[])
            }
            _ => adapter.answer(request),
        }
    });
    let run = run_against(adapter, &server, ROWS, "");
    assert_all_decided(adapter, &run);
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.method == "POST" && r.target.starts_with(adapter.path())),
        "{:?}",
        requests.iter().map(|r| &r.target).collect::<Vec<_>>()
    );
    let rows = rows_by_case(&run.dir);
    let k1_attempts: u32 = rows["k1"]["attempts"].parse().unwrap();
    match fault {
        Fault::None => assert_eq!(k1_attempts, 1),
        Fault::RateLimited => {
            let k1: Vec<_> = requests.iter().filter(|r| about_k1(r)).collect();
            let gap = k1[1].at.duration_since(k1[0].at);
            assert!(
                gap >= Duration::from_secs(1),
                "Retry-After: 1 was honoured (waited {gap:?})"
            );
            assert_eq!(k1_attempts, 2);
        }
        Fault::ServerErrors => assert_eq!(k1_attempts, 3),
        _ => assert_eq!(k1_attempts, 2, "{fault:?}"),
    }
    if !matches!(adapter, Adapter::OpenAi) {
        // unbatched: the other cases were not disturbed (OpenAI sends them in k1's batch)
        for id in ["b1", "b2", "b3"] {
            assert_eq!(rows[id]["attempts"], "1", "{fault:?}");
        }
    }
    if let Adapter::Http = adapter {
        assert_eq!(rows["k1"]["decision_id"], "D-k1");
        assert_eq!(rows["k1"]["rule"], "violence/threats");
        assert_eq!(rows["k1"]["automated"], "true");
        assert_eq!(rows["k1"]["appeal_url"], "https://platform.example/appeal/k1");
    }
}

macro_rules! fault_matrix {
    ($($module:ident => $adapter:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[test] fn success() { check($adapter, Fault::None) }
            #[test] fn rate_limited_with_retry_after_then_success() { check($adapter, Fault::RateLimited) }
            #[test] fn server_errors_then_success() { check($adapter, Fault::ServerErrors) }
            #[test] fn slower_than_the_timeout_then_success() { check($adapter, Fault::Slow) }
            #[test] fn malformed_json_then_success() { check($adapter, Fault::MalformedJson) }
            #[test] fn cut_connection_then_success() { check($adapter, Fault::CutConnection) }
            #[test] fn cut_mid_body_then_success() { check($adapter, Fault::CutMidBody) }
            #[test] fn wrong_content_type_then_success() { check($adapter, Fault::WrongContentType) }
        }
    )*};
}

fault_matrix! {
    openai => Adapter::OpenAi,
    perspective => Adapter::Perspective,
    azure => Adapter::Azure,
    http => Adapter::Http,
}

#[test]
fn a_failure_that_outlasts_the_retries_is_an_error_with_the_last_status() {
    let server =
        Server::start(|_, _| Reply::status(503, "application/json", r#"{"error": {"message": "overloaded"}}"#, &[]));
    let run = run_against(Adapter::Azure, &server, ROWS, "max_attempts = 2\nerror_budget = 1.0\n");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    for id in ["k1", "b1", "b2", "b3"] {
        assert_eq!(rows[id]["action"], "error");
        assert_eq!(
            rows[id]["error"],
            "HTTP 503 Service Unavailable: overloaded (after 2 attempts)"
        );
    }
    assert_eq!(server.count(), 8);
}

#[test]
fn a_client_error_is_not_retried() {
    let server = Server::start(|_, _| {
        Reply::Json(
            400,
            json!({"error": {"message": "Invalid input", "type": "invalid_request_error"}}),
        )
    });
    let run = run_against(Adapter::OpenAi, &server, ROWS, "error_budget = 1.0\n");
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["k1"]["error"], "HTTP 400 Bad Request: Invalid input");
    assert_eq!(rows["k1"]["attempts"], "1");
    assert_eq!(server.count(), 1, "one batch, not retried");
}

#[test]
fn an_exhausted_quota_is_not_retried() {
    let server = Server::start(|_, _| {
        Reply::Json(
            429,
            json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}}),
        )
    });
    let run = run_against(Adapter::OpenAi, &server, ROWS, "error_budget = 1.0\n");
    let rows = rows_by_case(&run.dir);
    assert!(
        rows["k1"]["error"].contains("quota is exhausted; retrying will not help"),
        "{:?}",
        rows["k1"]
    );
    assert_eq!(server.count(), 1);
}

#[test]
fn an_unreachable_api_is_an_error_naming_the_host() {
    // a port that was just free: nothing listens there
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en", "es", "sw"], ROWS);
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"x\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}\"\n[run]\nmax_attempts = 2\nerror_budget = 0.5\ncache = false\n"
        ),
    );
    let out = tmp.path().join("run");
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .env("OPENAI_API_KEY", "k")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "every case failed: the run is incomplete"
    );
    let rows = rows_by_case(&out);
    assert!(
        rows["k1"]["error"].starts_with(&format!("cannot connect (127.0.0.1:{port})")),
        "{:?}",
        rows["k1"]
    );
}

#[test]
fn a_missing_key_is_bad_input_naming_the_variable() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en", "es", "sw"], ROWS);
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n[target]\nkind = \"perspective\"\napi_key_env = \"MY_PERSPECTIVE_KEY\"\n",
    );
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(tmp.path().join("r"))
        .env_remove("MY_PERSPECTIVE_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("environment variable MY_PERSPECTIVE_KEY is not set"),
        "{}",
        stderr_of(&output)
    );
    // validate explains, but does not fail, so CI can validate without secrets
    let output = modaudit()
        .arg("validate")
        .arg(&scenario)
        .env_remove("MY_PERSPECTIVE_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("set MY_PERSPECTIVE_KEY before running"));
}

#[test]
fn unsupported_languages_are_reported_per_language() {
    let server = Server::start(move |request, _| Adapter::Perspective.answer(request));
    let run = run_against(Adapter::Perspective, &server, ROWS, "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = read_json(&run.dir.join("results.json"));
    assert_eq!(results["unsupported"][0]["language"], "sw");
    assert_eq!(results["unsupported"][0]["cases"], 1);
    let sw = results["slices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["dimension"] == "language" && s["value"] == "sw")
        .unwrap();
    assert_eq!(sw["unsupported"], 1);
    assert_eq!(sw["protected_n"], 0, "unsupported cases are not counted as allowed");
    let md = std::fs::read_to_string(run.dir.join("report.md")).unwrap();
    assert!(
        md.contains("The system declared it could not moderate the only Swahili case;"),
        "{md}"
    );
}
