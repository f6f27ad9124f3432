//! Keys and case texts stay with the system under audit: a redirect to another
//! origin is not followed (by the adapters or the appeal prober); a server that
//! echoes its key into every field of its answers leaves no trace of it in any
//! file or output; a key that cannot be sent is bad input before any request;
//! and the target's fingerprint follows the endpoint its variables resolve to,
//! so neither the cache nor a resume mixes two systems.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::http_targets::{AWS_ACCESS_KEY_ID, Adapter, ROWS, aws_signed, rows_by_case, run_against};
use crate::server::{Reply, Request, Server};
use crate::support::*;

/// A server that sends every request to `elsewhere` with `status`, keeping path and query.
fn redirecting_to(elsewhere: &Server, status: u16) -> Server {
    let base = elsewhere.url.clone();
    Server::start(move |request, _| {
        let location = format!("{base}{}", request.target);
        Reply::status(status, "text/plain", "moved", &[("Location", &location)])
    })
}

/// Every case sent ended as a permanent error naming the redirect and the
/// other origin, and nothing of the request's query.
fn assert_redirect_refused(run_dir: &Path, status: u16, elsewhere: &Server, what: &str) {
    let rows = rows_by_case(run_dir);
    assert_eq!(rows.len(), 4, "{what}");
    for (id, row) in rows {
        if row["action"] == "unsupported" && row["error"].contains("not sent") {
            continue; // a language the adapter never sends
        }
        assert_eq!(row["action"], "error", "{what} {id}: {row:?}");
        let error = &row["error"];
        assert!(error.starts_with(&format!("HTTP {status} ")), "{what} {id}: {error}");
        assert!(error.contains(&elsewhere.url), "{what} {id}: names the origin: {error}");
        assert!(!error.contains('?'), "{what} {id}: no query: {error}");
        assert_eq!(row["attempts"], "1", "{what} {id}: a redirect is not retried");
    }
}

#[test]
fn no_adapter_follows_a_redirect_to_another_origin() {
    for adapter in [
        Adapter::OpenAi,
        Adapter::Perspective,
        Adapter::Azure,
        Adapter::Http,
        Adapter::Google,
        Adapter::Aws,
        Adapter::Hive,
        Adapter::Tei,
        Adapter::Classify,
    ] {
        let elsewhere = Server::start(move |request, _| adapter.answer(request));
        let redirecting = redirecting_to(&elsewhere, 307);
        let run = run_against(adapter, &redirecting, ROWS, "error_budget = 1.0\n");
        assert_eq!(
            elsewhere.count(),
            0,
            "{adapter:?}: the other origin received {:?}",
            elsewhere.requests()
        );
        assert_eq!(run.code, Some(0), "{adapter:?}: {}", run.stderr);
        assert_redirect_refused(&run.dir, 307, &elsewhere, &format!("{adapter:?}"));
    }
}

#[test]
fn no_redirect_status_carries_the_key_to_another_origin() {
    for status in [301, 302, 303, 307, 308] {
        let elsewhere = Server::start(|request, _| Adapter::Azure.answer(request));
        let redirecting = redirecting_to(&elsewhere, status);
        let run = run_against(Adapter::Azure, &redirecting, ROWS, "error_budget = 1.0\n");
        assert_eq!(elsewhere.count(), 0, "HTTP {status}: {:?}", elsewhere.requests());
        assert_redirect_refused(&run.dir, status, &elsewhere, &format!("HTTP {status}"));
    }
}

#[test]
fn a_redirect_within_the_origin_is_followed_with_key_and_body() {
    let server = Server::start(|request, _| {
        if request.target.starts_with("/v2/") {
            return Reply::status(308, "text/plain", "moved", &[("Location", "/v3/moderate")]);
        }
        if request.header("authorization") != Some("Bearer test-platform-token") {
            return Reply::Json(401, json!({"error": {"message": "missing key"}}));
        }
        Adapter::Http.answer(request)
    });
    let run = run_against(Adapter::Http, &server, ROWS, "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["k1"]["action"], "remove", "{:?}", rows["k1"]);
    assert_eq!(rows["b1"]["action"], "allow", "{:?}", rows["b1"]);
}

/// Protected posts the platform removes, so each is appealed.
const WRONGFUL_ROWS: &str = "\
w1,en,a post the platform removes,protected,counter_speech,women,,,\n\
w2,en,another post the platform removes,protected,counter_speech,women,,,\n";

#[test]
fn the_appeal_prober_does_not_follow_a_redirect_to_another_origin() {
    let elsewhere = Server::start(|_, _| Reply::Json(201, json!({"appeal_id": "A-1", "status": "in_review"})));
    let base = elsewhere.url.clone();
    let platform = Server::start(move |request, _| match request.target.as_str() {
        "/moderate" => {
            let id = request.json()["ref"].as_str().unwrap_or_default().to_string();
            Reply::Json(
                200,
                json!({"result": {"decision": "removed"}, "notice": {"id": format!("D-{id}"), "appeal": "https://platform.example/appeals"}}),
            )
        }
        _ => Reply::status(
            307,
            "text/plain",
            "moved",
            &[("Location", &format!("{base}{}", request.target))],
        ),
    });
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("corpus"), &["en"], WRONGFUL_ROWS);
    let url = &platform.url;
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"appeal-redirect\"\ncorpora = [{{corpus}}]\n\
             [target]\nkind = \"http\"\nurl = \"{url}/moderate\"\nbody = '{{\"text\": \"{{text}}\", \"ref\": \"{{id}}\"}}'\n\
             headers = {{ X-Api-Key = \"${{PLATFORM_TOKEN}}\" }}\n\
             [target.response]\naction = \"/result/decision\"\naction_map = {{ removed = \"remove\" }}\ndecision_id = \"/notice/id\"\nappeal_url = \"/notice/appeal\"\n\
             [run]\ncache = false\n\
             [appeal]\nsubmit_url = \"{url}/appeals?token=${{PLATFORM_TOKEN}}\"\n\
             submit_body = '{{\"decision_id\": \"{{decision_id}}\", \"text\": \"{{text}}\"}}'\n\
             headers = {{ X-Api-Key = \"${{PLATFORM_TOKEN}}\" }}\n\
             appeal_id = \"/appeal_id\"\nstatus_url = \"{url}/appeals/{{appeal_id}}\"\nstatus = \"/status\"\n\
             poll_interval_secs = 0.05\ndeadline_secs = 2\n"
        ),
    );
    let out = tmp.path().join("run");
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .env("PLATFORM_TOKEN", "appeal-secret-token")
        .output()
        .unwrap();
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", stderr_of(&output));
    assert_eq!(elsewhere.count(), 0, "{:?}", elsewhere.requests());
    let outcomes: Vec<Value> = std::fs::read_to_string(out.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["record"] == "appeal_outcome")
        .collect();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    for outcome in outcomes {
        assert_eq!(outcome["result"], "failed", "{outcome}");
        let error = outcome["error"].as_str().unwrap();
        assert!(error.contains("HTTP 307 ") && error.contains(&elsewhere.url), "{error}");
        assert!(
            !error.contains("appeal-secret-token") && !error.contains('?'),
            "{error}"
        );
    }
}

/// A key with characters that JSON and URLs escape, so every form of it is looked for.
const ECHOED_KEY: &str = "sk-ECHO\"9/q+w=e%r";

/// The forms a key can take in a file: raw, JSON-escaped and percent-encoded.
fn key_forms() -> Vec<String> {
    let json_escaped = serde_json::to_string(ECHOED_KEY).unwrap();
    let percent: String = ECHOED_KEY
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    vec![
        ECHOED_KEY.to_string(),
        json_escaped[1..json_escaped.len() - 1].to_string(),
        percent.clone(),
        percent.to_lowercase(),
    ]
}

/// `value` with every character as a JSON `\uXXXX` escape.
fn unicode_escaped(value: &str) -> String {
    value.chars().map(|c| format!("\\u{:04x}", c as u32)).collect()
}

/// Decodes an `application/x-www-form-urlencoded` value.
fn form_decode(value: &str) -> String {
    let mut out = Vec::new();
    let mut rest = value.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' => out.push(b' '),
            b'%' => match std::str::from_utf8(rest.get(..2).unwrap_or_default())
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                Some(decoded) => {
                    out.push(decoded);
                    rest = &rest[2..];
                }
                None => out.push(b'%'),
            },
            other => out.push(other),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the request carried the echoed key the way `adapter` sends it.
fn carries_key(adapter: Adapter, request: &Request) -> bool {
    match adapter {
        Adapter::Perspective => request
            .target
            .split_once("key=")
            .is_some_and(|(_, v)| form_decode(v.split('&').next().unwrap_or_default()) == ECHOED_KEY),
        Adapter::Azure => request.header("ocp-apim-subscription-key") == Some(ECHOED_KEY),
        Adapter::OpenAi | Adapter::Http | Adapter::Tei | Adapter::Classify => {
            request.header("authorization") == Some(&format!("Bearer {ECHOED_KEY}"))
        }
        Adapter::Google => request.header("x-goog-api-key") == Some(ECHOED_KEY),
        Adapter::Aws => aws_signed(request, Some(ECHOED_KEY)),
        Adapter::Hive => request.header("authorization") == Some(&format!("token {ECHOED_KEY}")),
    }
}

/// The environment of a run whose keys are all [`ECHOED_KEY`]: for AWS the
/// secret access key (which never travels) and the session token (which does).
fn echo_env(adapter: Adapter) -> Vec<(&'static str, &'static str)> {
    match adapter {
        Adapter::Aws => vec![
            ("AWS_ACCESS_KEY_ID", AWS_ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", ECHOED_KEY),
            ("AWS_SESSION_TOKEN", ECHOED_KEY),
            ("AWS_REGION", "eu-west-1"),
        ],
        _ => vec![(adapter.key_env().0, ECHOED_KEY)],
    }
}

/// The text of the case a request is about (any adapter's wire format).
fn case_text(request: &Request) -> String {
    let body = request.json();
    [
        &body["input"],
        &body["comment"]["text"],
        &body["text"],
        &body["content"]["text"],
        &body["document"]["content"],
        &body["TextSegments"][0]["Text"],
        &body["text_data"],
        &body["inputs"][0][0],
        &body["input"][0],
    ]
    .into_iter()
    .find_map(|v| v.as_str().map(str::to_string))
    .unwrap_or_default()
}

fn json_reply(status: u16, value: Value) -> Reply {
    Reply::Json(status, value)
}

/// One post per way of echoing the key: a good answer full of it, and the
/// answers that make error messages quote it.
const ECHO_ROWS: &str = "\
e1,en,echo one,protected,counter_speech,women,,,\n\
e2,en,echo two,protected,counter_speech,women,,,\n\
e3,en,echo three,protected,counter_speech,women,,,\n\
e4,en,echo four,protected,counter_speech,women,,,\n\
e5,en,echo five,protected,counter_speech,women,,,\n\
e6,en,echo six,protected,counter_speech,women,,,\n\
e7,en,echo seven,protected,counter_speech,women,,,\n";

/// A server that echoes the key it received into every field it can.
fn echo_server(adapter: Adapter) -> Server {
    Server::start(move |request, _| {
        if request.target.starts_with("/appeals") {
            if request.header("authorization") != Some(&format!("Bearer {ECHOED_KEY}")) {
                return json_reply(401, json!({"error": {"message": "missing key"}}));
            }
            return if request.method == "POST" {
                json_reply(201, json!({"appeal_id": ECHOED_KEY, "status": "in_review"}))
            } else {
                json_reply(
                    200,
                    json!({"status": "reinstated", "reason": format!("restored, {ECHOED_KEY}"), "decided_at": ECHOED_KEY}),
                )
            };
        }
        if !carries_key(adapter, request) {
            return json_reply(401, json!({"error": {"message": "missing or wrong key"}}));
        }
        let text = case_text(request);
        let which = text.rsplit(' ').next().unwrap_or_default();
        let key = ECHOED_KEY;
        match which {
            "one" => json_reply(200, echo_answer(adapter)),
            "two" => match adapter {
                Adapter::Http => json_reply(200, json!({"result": {"decision": key}})),
                Adapter::OpenAi => json_reply(200, json!({"id": key, "model": key, "results": [{"flagged": key}]})),
                Adapter::Perspective => json_reply(
                    400,
                    json!({"error": {"code": 400, "message": format!("Attribute TOXICITY does not support request languages: {key}"),
                        "details": [{"errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"}]}}),
                ),
                Adapter::Azure => json_reply(200, json!({"categoriesAnalysis": key})),
                Adapter::Google => json_reply(200, json!({"moderationCategories": key, "languageCode": key})),
                Adapter::Aws => Reply::status(
                    400,
                    "application/x-amz-json-1.1",
                    &json!({"__type": format!("com.amazonaws.comprehend#UnsupportedLanguageException{key}"), "Message": key})
                        .to_string(),
                    &[],
                ),
                Adapter::Hive => json_reply(
                    200,
                    json!({"status": [{"status": {"code": "0", "message": "SUCCESS"},
                        "response": {"language": key, "moderated_classes": [], "output": []}}]}),
                ),
                Adapter::Tei => json_reply(200, json!([[{"label": key, "score": key}]])),
                Adapter::Classify => json_reply(
                    200,
                    json!({"model": key, "data": [{"index": 0, "label": key, "probs": key}]}),
                ),
            },
            "three" => json_reply(
                200,
                json!({"result": {"confidence": key}, "attributeScores": {"TOXICITY": {"summaryScore": {"value": key}}}}),
            ),
            "four" => Reply::status(
                200,
                &format!("text/plain; charset=\"{key}\""),
                &format!("hello {key}"),
                &[],
            ),
            "five" => json_reply(
                400,
                json!({"error": {"message": format!("the key {key} is wrong"), "code": key}}),
            ),
            "six" => Reply::status(503, "text/plain", &format!("overloaded for {key}"), &[("X-Echo", key)]),
            _ => Reply::status(
                200,
                "application/json",
                &format!(
                    "{{\"result\": {{\"decision\": \"removed\"}}, \"notice\": {{\"id\": \"{0}\", \"statement\": \"{0}\"}}, \"error\": {{\"message\": \"{0}\"}}, \"results\": [{{\"flagged\": true, \"category_scores\": {{\"{0}\": 0.5}}}}], \"categoriesAnalysis\": [{{\"category\": \"{0}\", \"severity\": 6}}], \"attributeScores\": {{\"TOXICITY\": {{\"summaryScore\": {{\"value\": 0.9}}}}, \"{0}\": {{\"summaryScore\": {{\"value\": 0.9}}}}}}}}",
                    unicode_escaped(key)
                ),
                &[],
            ),
        }
    })
}

/// A successful answer in the adapter's format with the key in every field.
fn echo_answer(adapter: Adapter) -> Value {
    let key = ECHOED_KEY;
    let encoded = key_forms()[2].clone();
    match adapter {
        Adapter::Http => json!({
            "result": {"decision": "removed", "confidence": 0.9},
            "notice": {"id": key, "statement": format!("removed: {key}"), "policy": key, "automated": key,
                       "scope": [key, "DE"], "appeal": format!("https://platform.example/appeal?token={encoded}&raw={key}")},
            key: key,
        }),
        Adapter::OpenAi => json!({
            "id": key, "model": key,
            "results": [{"flagged": true, "categories": {key: true}, "category_scores": {key: 0.91, "hate": 0.9}}],
        }),
        Adapter::Perspective => json!({
            "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0.9, "type": key}}, key: {"summaryScore": {"value": 0.2}}},
            "languages": [key], "clientToken": key,
        }),
        Adapter::Azure => json!({
            "blocklistsMatch": [{"blocklistName": key}],
            "categoriesAnalysis": [{"category": "Hate", "severity": 6}, {"category": key, "severity": 4}],
        }),
        Adapter::Google => json!({
            "moderationCategories": [{"name": "Toxic", "confidence": 0.9}, {"name": key, "confidence": 0.2}],
            "languageCode": key, "languageSupported": true,
        }),
        Adapter::Aws => json!({
            "ResultList": [{"Toxicity": 0.9, "Labels": [{"Name": key, "Score": 0.5}, {"Name": "INSULT", "Score": 0.9}]}],
            key: key,
        }),
        Adapter::Hive => json!({
            "id": key, "code": 200, "status": [{"status": {"code": "0", "message": "SUCCESS"},
            "response": {"input": {"text": key}, "language": "EN", "moderated_classes": ["hate", key],
                "text_filters": [{"value": key, "type": "profanity"}],
                "output": [{"classes": [{"class": "hate", "score": 3}, {"class": key, "score": 1}]}]}}],
        }),
        Adapter::Tei => {
            json!([[{"label": "toxic", "score": 2.0}, {"label": key, "score": 1.0}, {"label": "threat", "score": -1.0}]])
        }
        Adapter::Classify => json!({
            "id": key, "object": "list", "model": key,
            "data": [{"index": 0, "label": "toxic", "probs": [0.1, 0.9], "num_classes": 2}],
        }),
    }
}

/// The scenario's `[appeal]` table against the echo server.
fn echo_appeal(url: &str) -> String {
    format!(
        "[appeal]\nsubmit_url = \"{url}/appeals\"\nsubmit_body = '{{\"decision_id\": \"{{decision_id}}\"}}'\n\
         headers = {{ Authorization = \"Bearer ${{PLATFORM_TOKEN}}\" }}\n\
         appeal_id = \"/appeal_id\"\nstatus_url = \"{url}/appeals/{{appeal_id}}\"\nstatus = \"/status\"\n\
         status_map = {{ reinstated = \"reversed\" }}\noutcome_reason = \"/reason\"\n\
         poll_interval_secs = 0.05\ndeadline_secs = 5\n"
    )
}

/// Every file under `dir` that holds the key in any form.
fn files_with_key(dir: &Path) -> Vec<(PathBuf, String)> {
    let forms = key_forms();
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for form in &forms {
            if let Some(at) = text.find(form.as_str()) {
                let context: String = text[at..].chars().take(form.len() + 60).collect();
                found.push((path.clone(), context));
            }
        }
    }
    found
}

#[test]
fn a_key_echoed_into_every_field_reaches_no_file_and_no_output() {
    for adapter in [
        Adapter::Http,
        Adapter::OpenAi,
        Adapter::Perspective,
        Adapter::Azure,
        Adapter::Google,
        Adapter::Aws,
        Adapter::Hive,
        Adapter::Tei,
        Adapter::Classify,
    ] {
        let server = echo_server(adapter);
        let tmp = tempfile::tempdir().unwrap();
        let corpus = write_corpus(&tmp.path().join("corpus"), &["en"], ECHO_ROWS);
        let mut target = adapter.target(&server.url);
        match adapter {
            Adapter::Http => {
                target.push_str("territorial_scope = \"/notice/scope\"\nscores = { echoed = \"/result/confidence\" }\n")
            }
            Adapter::OpenAi | Adapter::Aws | Adapter::Tei | Adapter::Classify => {
                target = target.replacen('\n', "\nbatch_size = 1\n", 1)
            }
            _ => {}
        }
        let appeal = match adapter {
            Adapter::Http => echo_appeal(&server.url),
            _ => String::new(),
        };
        let cache = tmp.path().join("cache");
        let scenario = write_scenario(
            tmp.path(),
            &corpus,
            &format!(
                "name = \"echo\"\ncorpora = [{{corpus}}]\n[target]\n{target}\n\
                 [run]\nconcurrency = 2\nmax_attempts = 2\ntimeout_secs = 2\nerror_budget = 1.0\n{appeal}"
            ),
        );
        let out = tmp.path().join("run");
        let output = modaudit()
            .arg("run")
            .arg(&scenario)
            .arg("--out")
            .arg(&out)
            .arg("--cache-dir")
            .arg(&cache)
            .envs(echo_env(adapter))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = stderr_of(&output);
        assert!(matches!(output.status.code(), Some(0 | 1)), "{adapter:?}: {stderr}");
        let rows = rows_by_case(&out);
        assert_eq!(
            rows["e1"]["action"], "remove",
            "{adapter:?}: the echo server was asked with the key: {:?}",
            rows["e1"]
        );
        assert!(cache.is_dir(), "{adapter:?}: answers were cached");
        for form in key_forms() {
            assert!(!stdout.contains(&form), "{adapter:?}: stdout holds the key: {stdout}");
            assert!(!stderr.contains(&form), "{adapter:?}: stderr holds the key: {stderr}");
        }
        let leaks = files_with_key(tmp.path());
        assert!(leaks.is_empty(), "{adapter:?}: the key is in {leaks:#?}");
        if let Adapter::Http = adapter {
            let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap();
            assert!(
                journal.contains("\"record\":\"appeal_outcome\""),
                "the appeals were followed: {journal}"
            );
        }
    }
}

#[test]
fn a_key_that_cannot_be_sent_is_bad_input_naming_the_variable() {
    for (adapter, value) in [
        (Adapter::Http, "zq-secret-zq\n"),
        (Adapter::Http, " zq-secret-zq"),
        (Adapter::Http, "zq-secret\u{7}-zq"),
        (Adapter::Http, "zq-secret-zqé"),
        (Adapter::Azure, "zq-secret-zq\r\n"),
        (Adapter::Perspective, "zq-secret-zq\n"),
        (Adapter::OpenAi, "zq-secret-zq\n"),
        (Adapter::Google, "zq-secret-zq\n"),
        (Adapter::Aws, "zq-secret-zq\n"),
        (Adapter::Hive, "zq-secret\u{7}-zq"),
        (Adapter::Tei, "zq-secret-zq\n"),
        (Adapter::Classify, "zq-secret-zq\n"),
    ] {
        let server = Server::start(move |request, _| adapter.answer(request));
        let tmp = tempfile::tempdir().unwrap();
        let corpus = write_corpus(&tmp.path().join("corpus"), &["en", "es", "sw"], ROWS);
        let scenario = write_scenario(
            tmp.path(),
            &corpus,
            &format!(
                "name = \"bad-key\"\ncorpora = [{{corpus}}]\n[target]\n{}\n[run]\ncache = false\n",
                adapter.target(&server.url)
            ),
        );
        let (key_env, _) = adapter.key_env();
        let output = modaudit()
            .arg("run")
            .arg(&scenario)
            .arg("--out")
            .arg(tmp.path().join("run"))
            .envs(adapter.env())
            .env(key_env, value)
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{adapter:?} {value:?}: {stderr}");
        assert!(
            stderr.contains(key_env),
            "{adapter:?} {value:?}: names the variable: {stderr}"
        );
        assert!(
            !stderr.contains("zq-secret"),
            "{adapter:?} {value:?}: never the value: {stderr}"
        );
        assert_eq!(server.count(), 0, "{adapter:?} {value:?}: nothing was sent");
    }
}

/// Answers every case with `decision` (`kept` or `removed`).
fn deciding(decision: &'static str) -> Server {
    Server::start(move |_, _| Reply::Json(200, json!({"result": {"decision": decision, "confidence": 0.5}})))
}

const HOST_ENV: &str = "MODERATION_HOST";

/// A scenario whose URL names its host through `${MODERATION_HOST}`.
fn host_scenario(dir: &Path) -> PathBuf {
    let corpus = write_corpus(&dir.join("corpus"), &["en", "es", "sw"], ROWS);
    let cache = dir.join("cache");
    write_scenario(
        dir,
        &corpus,
        &format!(
            "name = \"by-host\"\ncorpora = [{{corpus}}]\n[target]\n{}\n[run]\ncache_dir = {}\n",
            Adapter::Http.target(&format!("http://${{{HOST_ENV}}}")),
            toml_string(&cache.display().to_string())
        ),
    )
}

fn host_of(server: &Server) -> String {
    server.url.trim_start_matches("http://").to_string()
}

fn run_on_host(scenario: Option<&Path>, server: &Server, args: &[&dyn AsRef<std::ffi::OsStr>]) -> std::process::Output {
    let mut command = modaudit();
    command.arg("run");
    if let Some(s) = scenario {
        command.arg(s);
    }
    for a in args {
        command.arg(a);
    }
    command
        .env(HOST_ENV, host_of(server))
        .env("PLATFORM_TOKEN", "host-test-token")
        .output()
        .unwrap()
}

#[test]
fn the_cache_keeps_the_answers_of_each_endpoint_apart() {
    let (a, b) = (deciding("kept"), deciding("removed"));
    let tmp = tempfile::tempdir().unwrap();
    let scenario = host_scenario(tmp.path());
    let (out_a, out_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let output = run_on_host(Some(&scenario), &a, &[&"--out", &out_a]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(a.count(), 4);
    let output = run_on_host(Some(&scenario), &b, &[&"--out", &out_b]);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", stderr_of(&output));
    assert_eq!(b.count(), 4, "endpoint B was asked, not served A's cached answers");
    for (id, row) in rows_by_case(&out_b) {
        assert_eq!(row["action"], "remove", "{id}: {row:?}");
        assert_eq!(row["cache_hit"], "false", "{id}: {row:?}");
    }
    let results = read_json(&out_b.join("results.json"));
    let overall = results["slices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["dimension"] == "overall")
        .unwrap();
    assert_eq!(overall["over_removal_rate"], 1.0, "{overall}");
    // the same endpoint again is served from the cache
    let output = run_on_host(Some(&scenario), &a, &[&"--out", &tmp.path().join("a2")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(a.count(), 4, "A's answers came from the cache");
}

#[test]
fn a_run_is_not_resumed_against_another_endpoint() {
    let (a, b) = (deciding("kept"), deciding("removed"));
    let tmp = tempfile::tempdir().unwrap();
    let scenario = host_scenario(tmp.path());
    let out = tmp.path().join("run");
    let output = run_on_host(Some(&scenario), &a, &[&"--out", &out]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let output = run_on_host(None, &b, &[&"--resume", &out]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("the target has changed"),
        "{}",
        stderr_of(&output)
    );
    assert!(stderr_of(&output).contains(&host_of(&b)), "{}", stderr_of(&output));
    assert_eq!(b.count(), 0);
    let output = run_on_host(None, &a, &[&"--resume", &out]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the same endpoint resumes: {}",
        stderr_of(&output)
    );
    // re-reporting needs neither the key nor the host
    let output = modaudit()
        .arg("report")
        .arg(&out)
        .env_remove(HOST_ENV)
        .env_remove("PLATFORM_TOKEN")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
}

#[test]
fn a_host_variable_that_is_not_a_host_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = host_scenario(tmp.path());
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(tmp.path().join("run"))
        .env(HOST_ENV, "127.0.0.1:9/x?key=")
        .env("PLATFORM_TOKEN", "host-test-token")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains(HOST_ENV), "{}", stderr_of(&output));
}
