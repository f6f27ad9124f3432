//! The `guard` target against a loopback server that answers like vLLM's
//! OpenAI-compatible server (`/v1/chat/completions`, `/v1/completions`), with
//! and without logprobs: every preset's request and parser, the faults real
//! servers show, and languages the model card does not list.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::http_targets::{ROWS, rows_by_case};
use crate::server::{Reply, Request, Server};
use crate::support::*;

/// One generated token: its text, its logprob and the alternatives the server lists.
struct Token<'a> {
    text: &'a str,
    logprob: f64,
    top: Vec<(&'a str, f64)>,
}

fn token<'a>(text: &'a str, logprob: f64, top: &[(&'a str, f64)]) -> Token<'a> {
    Token {
        text,
        logprob,
        top: top.to_vec(),
    }
}

/// `ln p`, for writing logprobs as the probabilities they stand for.
fn ln(p: f64) -> f64 {
    p.ln()
}

/// A vLLM chat completion whose answer is `content`, with `tokens` as its logprobs (if any).
fn vllm_chat(model: &str, content: &str, tokens: Option<&[Token<'_>]>) -> Value {
    let logprobs = tokens.map(|tokens| {
        json!({"content": tokens.iter().map(|t| json!({
            "token": t.text, "logprob": t.logprob, "bytes": t.text.as_bytes(),
            "top_logprobs": t.top.iter().map(|(text, lp)| json!({"token": text, "logprob": lp, "bytes": text.as_bytes()})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()})
    });
    json!({
        "id": "chatcmpl-7f3a", "object": "chat.completion", "created": 1_765_000_000, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "reasoning_content": null, "tool_calls": []},
                     "logprobs": logprobs, "finish_reason": "stop", "stop_reason": null}],
        "usage": {"prompt_tokens": 212, "total_tokens": 218, "completion_tokens": 6, "prompt_tokens_details": null},
        "prompt_logprobs": null, "kv_transfer_params": null
    })
}

/// A vLLM text completion whose answer is `text`, with `tokens` as its logprobs (if any).
fn vllm_completion(model: &str, text: &str, tokens: Option<&[Token<'_>]>, finish_reason: &str) -> Value {
    let logprobs = tokens.map(|tokens| {
        let mut offset = 0;
        let offsets: Vec<usize> = tokens
            .iter()
            .map(|t| {
                let at = offset;
                offset += t.text.len();
                at
            })
            .collect();
        json!({
            "text_offset": offsets,
            "token_logprobs": tokens.iter().map(|t| t.logprob).collect::<Vec<_>>(),
            "tokens": tokens.iter().map(|t| t.text).collect::<Vec<_>>(),
            "top_logprobs": tokens.iter().map(|t| t.top.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>()).collect::<Vec<_>>(),
        })
    });
    json!({
        "id": "cmpl-5c2e", "object": "text_completion", "created": 1_765_000_000, "model": model,
        "choices": [{"index": 0, "text": text, "logprobs": logprobs, "finish_reason": finish_reason, "stop_reason": null, "prompt_logprobs": null}],
        "usage": {"prompt_tokens": 301, "total_tokens": 302, "completion_tokens": 1, "prompt_tokens_details": null}
    })
}

/// The case text a chat request carries (its last message).
fn chat_text(request: &Request) -> String {
    let body = request.json();
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    messages
        .last()
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn violating(text: &str) -> bool {
    text.to_lowercase().contains("kill")
}

/// Llama Guard 3 as vLLM serves it: `unsafe\nS1` for a threat, `safe` otherwise.
fn llama_guard(request: &Request, logprobs: bool) -> Reply {
    let model = "meta-llama/Llama-Guard-3-8B";
    let answer = if violating(&chat_text(request)) {
        let tokens = [
            token("\n\n", -0.0001, &[("\n\n", -0.0001)]),
            token("unsafe", ln(0.93), &[("unsafe", ln(0.93)), ("safe", ln(0.06))]),
            token("\n", -0.0002, &[("\n", -0.0002)]),
            token("S", -0.001, &[("S", -0.001)]),
            token("1", -0.05, &[("1", -0.05), ("10", ln(0.04))]),
        ];
        vllm_chat(model, "\n\nunsafe\nS1", logprobs.then_some(&tokens[..]))
    } else {
        let tokens = [
            token("\n\n", -0.0001, &[("\n\n", -0.0001)]),
            token("safe", ln(0.98), &[("safe", ln(0.98)), ("unsafe", ln(0.015))]),
        ];
        vllm_chat(model, "\n\nsafe", logprobs.then_some(&tokens[..]))
    };
    Reply::Json(200, answer)
}

/// A finished run against a server.
struct GuardRun {
    dir: PathBuf,
    code: Option<i32>,
    stderr: String,
    _tmp: tempfile::TempDir,
}

/// Runs `rows` with `[target]` = `target` (its `base_url` is the server's); `run` is extra `[run]` keys.
fn run_guard(server: &Server, target: &str, rows: &str, run: &str, env: &[(&str, &str)]) -> GuardRun {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("corpus"), &["en", "es", "sw"], rows);
    std::fs::write(
        tmp.path().join("policy.md"),
        "# Hate speech policy\nLabel 1 when the text attacks people for a protected attribute, else 0.\n",
    )
    .unwrap();
    let mut run_table = String::from(run);
    for (key, value) in [("concurrency", "4"), ("timeout_secs", "1"), ("max_attempts", "4")] {
        if !run.lines().any(|l| l.trim_start().starts_with(key)) {
            run_table.push_str(&format!("{key} = {value}\n"));
        }
    }
    run_table.push_str(&format!(
        "cache_dir = {}\n",
        toml_string(&tmp.path().join("cache").display().to_string())
    ));
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"guard-test\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"guard\"\nbase_url = \"{}/v1\"\n{target}\n[run]\n{run_table}",
            server.url
        ),
    );
    let dir = tmp.path().join("run");
    let mut command = modaudit();
    command.arg("run").arg(&scenario).arg("--out").arg(&dir);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    GuardRun {
        dir,
        code: output.status.code(),
        stderr: stderr_of(&output),
        _tmp: tmp,
    }
}

/// The journal's record of a case.
fn journal_record(dir: &std::path::Path, case_id: &str) -> Value {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r["case_id"] == case_id)
        .unwrap_or_else(|| panic!("no journal record for {case_id}"))
}

const LLAMA_GUARD_3: &str = "model_family = \"llama-guard-3\"\n";

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

/// The fault hits the first attempts at case `k1`; every other case is answered normally.
fn check(fault: Fault, logprobs: bool) {
    let k1_attempts = Arc::new(AtomicUsize::new(0));
    let server = Server::start(move |request, _| {
        let attempt = if violating(&chat_text(request)) {
            k1_attempts.fetch_add(1, Ordering::SeqCst)
        } else {
            usize::MAX
        };
        match fault {
            Fault::RateLimited if attempt == 0 => Reply::status(
                429,
                "application/json",
                r#"{"object": "error", "message": "Too many requests", "type": "TooManyRequests", "code": 429}"#,
                &[("Retry-After", "1")],
            ),
            Fault::ServerErrors if attempt == 0 => Reply::status(
                500,
                "application/json",
                r#"{"object": "error", "message": "CUDA out of memory", "type": "InternalServerError", "code": 500}"#,
                &[],
            ),
            Fault::ServerErrors if attempt == 1 => Reply::status(503, "text/plain", "upstream unavailable", &[]),
            Fault::Slow if attempt == 0 => {
                Reply::Delay(Duration::from_millis(2500), Box::new(llama_guard(request, logprobs)))
            }
            Fault::MalformedJson if attempt == 0 => Reply::status(200, "application/json", "{\"choices\": [oops", &[]),
            Fault::CutConnection if attempt == 0 => Reply::Cut,
            Fault::CutMidBody if attempt == 0 => Reply::CutMidBody,
            Fault::WrongContentType if attempt == 0 => {
                Reply::status(200, "text/html", "<html><body>Bad gateway</body></html>", &[])
            }
            _ => llama_guard(request, logprobs),
        }
    });
    let run = run_guard(&server, LLAMA_GUARD_3, ROWS, "", &[]);
    assert_eq!(run.code, Some(0), "{fault:?}: {}", run.stderr);
    let mut ids = journal_case_ids(&run.dir);
    ids.sort();
    assert_eq!(ids, ["b1", "b2", "b3", "k1"], "every case exactly once");
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["k1"]["action"], "remove", "{fault:?}: {:?}", rows["k1"]);
    assert_eq!(rows["b1"]["action"], "allow");
    assert_eq!(rows["b2"]["action"], "allow", "Spanish is on the model card");
    assert_eq!(
        rows["b3"]["action"], "unsupported",
        "Swahili is not on Llama Guard 3's model card"
    );
    assert!(
        rows["b3"]["error"].contains("sw") && rows["b3"]["error"].contains("llama-guard-3"),
        "{:?}",
        rows["b3"]
    );
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.method == "POST" && r.target == "/v1/chat/completions"),
        "{:?}",
        requests.iter().map(|r| &r.target).collect::<Vec<_>>()
    );
    assert!(
        !requests.iter().any(|r| chat_text(r).contains("habari")),
        "an unsupported language is never sent"
    );
    assert!(
        requests.iter().all(|r| r.header("authorization").is_none()),
        "no key by default"
    );
    let k1_attempts: u32 = rows["k1"]["attempts"].parse().unwrap();
    match fault {
        Fault::None => assert_eq!(k1_attempts, 1),
        Fault::RateLimited => {
            let k1: Vec<_> = requests.iter().filter(|r| violating(&chat_text(r))).collect();
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
    for id in ["b1", "b2"] {
        assert_eq!(rows[id]["attempts"], "1", "{fault:?}");
    }
    let score = |id: &str| rows[id]["score"].parse::<f64>().ok();
    if logprobs {
        let expected = 0.93 / (0.93 + 0.06);
        assert!((score("k1").unwrap() - expected).abs() < 1e-12, "{:?}", rows["k1"]);
        assert!(score("b1").unwrap() < 0.02);
    } else {
        assert_eq!(score("k1"), None, "no logprobs, no score");
        assert_eq!(score("b1"), None);
    }
}

macro_rules! fault_matrix {
    ($($module:ident => $logprobs:expr),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[test] fn success() { check(Fault::None, $logprobs) }
            #[test] fn rate_limited_with_retry_after_then_success() { check(Fault::RateLimited, $logprobs) }
            #[test] fn server_errors_then_success() { check(Fault::ServerErrors, $logprobs) }
            #[test] fn slower_than_the_timeout_then_success() { check(Fault::Slow, $logprobs) }
            #[test] fn malformed_json_then_success() { check(Fault::MalformedJson, $logprobs) }
            #[test] fn cut_connection_then_success() { check(Fault::CutConnection, $logprobs) }
            #[test] fn cut_mid_body_then_success() { check(Fault::CutMidBody, $logprobs) }
            #[test] fn wrong_content_type_then_success() { check(Fault::WrongContentType, $logprobs) }
        }
    )*};
}

fault_matrix! {
    with_logprobs => true,
    without_logprobs => false,
}

const HATE_ROWS: &str = "\
h1,en,those people are vermin,violating,dehumanisation,migrants,,,\n\
s1,en,a perfectly normal post,protected,neutral_mention,women,,,\n\
g1,en,what a lovely day,protected,neutral_mention,women,,,\n";

#[test]
fn llama_guard_3_unsafe_s10_is_remove_with_the_hate_category_and_the_normalised_probability() {
    let (p_unsafe, p_safe) = (0.9, 0.075);
    let server = Server::start(move |request, _| {
        let text = chat_text(request);
        let model = "meta-llama/Llama-Guard-3-8B";
        let answer = if text.contains("vermin") {
            let top = [("unsafe", ln(p_unsafe)), ("safe", ln(p_safe)), ("Unsafe", ln(0.0001))];
            let tokens = [
                token("\n\n", -0.00002, &[("\n\n", -0.00002)]),
                token("unsafe", ln(p_unsafe), &top),
                token("\n", -0.0001, &[("\n", -0.0001)]),
                token("S", -0.0003, &[("S", -0.0003)]),
                token("10", -0.02, &[("10", -0.02), ("1", ln(0.01))]),
            ];
            vllm_chat(model, "\n\nunsafe\nS10", Some(&tokens[..]))
        } else if text.contains("normal") {
            let tokens = [
                token("\n\n", -0.00002, &[("\n\n", -0.00002)]),
                token("safe", ln(0.97), &[("safe", ln(0.97)), ("unsafe", ln(0.02))]),
            ];
            vllm_chat(model, "\n\nsafe", Some(&tokens[..]))
        } else {
            vllm_chat(model, "I'm sorry, I can't help with classifying that.", None)
        };
        Reply::Json(200, answer)
    });
    let run = run_guard(&server, LLAMA_GUARD_3, HATE_ROWS, "error_budget = 1.0\n", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);

    assert_eq!(rows["h1"]["action"], "remove");
    // the score is P(unsafe) normalised over the two answers at the first
    // non-whitespace token: exp(lp_unsafe) / (exp(lp_unsafe) + exp(lp_safe)),
    // where an alternative counts when it is the word up to case and spaces
    let expected = (p_unsafe + 0.0001) / (p_unsafe + 0.0001 + p_safe);
    let score: f64 = rows["h1"]["score"].parse().unwrap();
    assert!((score - expected).abs() < 1e-12, "{score} vs {expected}");
    let h1 = journal_record(&run.dir, "h1");
    assert_eq!(h1["scores"]["hate"], 1.0, "S10 is the report's `hate`: {h1}");
    assert_eq!(h1["scores"]["S10"], 1.0, "the model's own code is kept: {h1}");
    assert_eq!(h1["response"]["output"], "\n\nunsafe\nS10");
    assert_eq!(h1["response"]["preset"], "llama-guard-3");

    assert_eq!(rows["s1"]["action"], "allow");
    let score: f64 = rows["s1"]["score"].parse().unwrap();
    assert!((score - 0.02 / 0.99).abs() < 1e-12, "{score}");

    assert_eq!(rows["g1"]["action"], "error");
    let error = &rows["g1"]["error"];
    assert!(error.contains("llama-guard-3"), "names the preset: {error}");
    assert!(error.contains("I'm sorry, I can't help"), "quotes the answer: {error}");
    assert_eq!(
        rows["g1"]["attempts"], "1",
        "the same answer would come again: not retried"
    );

    let request = server
        .requests()
        .into_iter()
        .find(|r| chat_text(r).contains("vermin"))
        .unwrap()
        .json();
    assert_eq!(request["model"], "meta-llama/Llama-Guard-3-8B");
    assert_eq!(
        request["messages"],
        json!([{"role": "user", "content": "those people are vermin"}])
    );
    assert_eq!(request["temperature"], 0.0);
    assert_eq!(request["logprobs"], true);
    assert_eq!(request["top_logprobs"], 5);
}

#[test]
fn a_category_filter_counts_only_the_chosen_categories() {
    let server = Server::start(|request, _| {
        let content = if chat_text(request).contains("vermin") {
            "unsafe\nS10"
        } else {
            "unsafe\nS2,S6"
        };
        Reply::Json(200, vllm_chat("meta-llama/Llama-Guard-4-12B", content, None))
    });
    let target = "model_family = \"llama-guard-4\"\ncategories = [\"hate\", \"S1\"]\n";
    let run = run_guard(&server, target, HATE_ROWS, "", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["h1"]["action"], "remove");
    assert_eq!(rows["s1"]["action"], "allow", "S2 and S6 are not chosen");
    let s1 = journal_record(&run.dir, "s1");
    assert_eq!(s1["scores"]["S2"], 1.0, "what the model said is still recorded: {s1}");
    assert_eq!(server.requests()[0].json()["model"], "meta-llama/Llama-Guard-4-12B");
}

#[test]
fn shieldgemma_asks_for_one_token_by_raw_completion_and_scores_yes_against_no() {
    let server = Server::start(|request, _| {
        let prompt = request.json()["prompt"].as_str().unwrap_or_default().to_string();
        let model = "google/shieldgemma-2b";
        let (text, tokens) = if prompt.contains("vermin") {
            ("Yes", [token("Yes", ln(0.8), &[("Yes", ln(0.8)), ("No", ln(0.15))])])
        } else {
            ("No", [token("No", ln(0.9), &[("No", ln(0.9)), ("Yes", ln(0.05))])])
        };
        Reply::Json(200, vllm_completion(model, text, Some(&tokens[..]), "length"))
    });
    let run = run_guard(&server, "model_family = \"shieldgemma\"\n", HATE_ROWS, "", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["h1"]["action"], "remove");
    assert!((rows["h1"]["score"].parse::<f64>().unwrap() - 0.8 / 0.95).abs() < 1e-12);
    assert_eq!(rows["s1"]["action"], "allow");
    assert!((rows["s1"]["score"].parse::<f64>().unwrap() - 0.05 / 0.95).abs() < 1e-12);
    assert_eq!(journal_record(&run.dir, "h1")["scores"]["hate"], 1.0);

    let requests = server.requests();
    assert!(requests.iter().all(|r| r.target == "/v1/completions"));
    let request = requests
        .iter()
        .find(|r| String::from_utf8_lossy(&r.body).contains("vermin"))
        .unwrap()
        .json();
    assert_eq!(request["model"], "google/shieldgemma-2b");
    assert_eq!(request["max_tokens"], 1);
    assert_eq!(request["logprobs"], 5);
    assert_eq!(request["temperature"], 0.0);
    let prompt = request["prompt"].as_str().unwrap();
    assert!(
        prompt.contains("<start_of_turn>\nHuman Question: those people are vermin\n<end_of_turn>"),
        "{prompt}"
    );
    assert!(
        prompt.contains("\"No Hate Speech\""),
        "the hate guideline by default: {prompt}"
    );
    assert!(
        prompt.contains("Your answer must start with\n'Yes' or 'No'"),
        "{prompt}"
    );
}

#[test]
fn granite_guardian_gets_the_risk_as_system_message_and_may_think_first() {
    let server = Server::start(|request, _| {
        let body = request.json();
        let model = "ibm-granite/granite-guardian-3.3-8b";
        let content = if chat_text(request).contains("vermin") {
            "<think>\nThe message calls a group of people vermin, which dehumanises them.\n</think>\n<score> yes </score>"
        } else {
            "<score> no </score>"
        };
        assert_eq!(body["messages"][0]["role"], "system");
        Reply::Json(200, vllm_chat(model, content, None))
    });
    let target = "model_family = \"granite-guardian\"\nrisk = \"social_bias\"\n";
    let run = run_guard(&server, target, HATE_ROWS, "", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["h1"]["action"], "remove");
    assert_eq!(rows["h1"]["score"], "", "no logprobs, no score");
    assert_eq!(rows["s1"]["action"], "allow");
    assert_eq!(journal_record(&run.dir, "h1")["scores"]["social_bias"], 1.0);
    let request = server.requests()[0].json();
    assert_eq!(
        request["messages"][0],
        json!({"role": "system", "content": "social_bias"})
    );
    assert_eq!(request["messages"][1]["role"], "user");
    assert_eq!(request["model"], "ibm-granite/granite-guardian-3.3-8b");
}

#[test]
fn wildguard_reads_harmful_request_from_its_three_lines() {
    let server = Server::start(|request, _| {
        let prompt = request.json()["prompt"].as_str().unwrap_or_default().to_string();
        let verdict = if prompt.contains("vermin") { "yes" } else { "no" };
        let text = format!(" Harmful request: {verdict}\nResponse refusal: N/A\nHarmful response: N/A");
        Reply::Json(200, vllm_completion("allenai/wildguard", &text, None, "stop"))
    });
    let run = run_guard(&server, "model_family = \"wildguard\"\n", HATE_ROWS, "", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["h1"]["action"], "remove");
    assert_eq!(rows["s1"]["action"], "allow");
    let request = server.requests()[0].json();
    let prompt = request["prompt"].as_str().unwrap();
    assert!(
        prompt.starts_with("<s><|user|>\n[INST] You are a classifier"),
        "{prompt}"
    );
    assert!(prompt.ends_with("Answers: [/INST]\n<|assistant|>\n"), "{prompt}");
    assert!(prompt.contains("Human user:\n"), "{prompt}");
}

#[test]
fn a_policy_model_gets_the_policy_file_as_system_message_and_may_answer_json() {
    let server = Server::start(|request, _| {
        let content = if chat_text(request).contains("vermin") {
            r#"{"violation": 1, "policy_category": "dehumanisation"}"#
        } else {
            "0"
        };
        Reply::Json(200, vllm_chat("openai/gpt-oss-safeguard-20b", content, None))
    });
    let target = "model_family = \"gpt-oss-safeguard\"\npolicy_file = \"policy.md\"\n";
    let run = run_guard(&server, target, HATE_ROWS, "", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["h1"]["action"], "remove");
    assert_eq!(rows["s1"]["action"], "allow");
    assert_eq!(journal_record(&run.dir, "h1")["scores"]["dehumanisation"], 1.0);
    let request = server.requests()[0].json();
    assert_eq!(request["messages"][0]["role"], "system");
    assert!(
        request["messages"][0]["content"]
            .as_str()
            .unwrap()
            .starts_with("# Hate speech policy\n")
    );
    assert_eq!(request["reasoning_effort"], "low");
    let policy = std::fs::read(run.dir.parent().unwrap().join("policy.md")).unwrap();
    let manifest = read_json(&run.dir.join("manifest.json")).to_string();
    assert!(
        manifest.contains(&modaudit::hash::sha256_hex(&policy)),
        "the policy's sha256 is in the manifest: {manifest}"
    );
}

#[test]
fn a_key_is_sent_only_when_the_scenario_names_one() {
    let server = Server::start(|request, _| {
        if request.header("authorization") != Some("Bearer local-vllm-key") {
            return Reply::Json(401, json!({"error": "Unauthorized"}));
        }
        llama_guard(request, true)
    });
    let target = format!("{LLAMA_GUARD_3}api_key_env = \"VLLM_API_KEY\"\n");
    let run = run_guard(&server, &target, ROWS, "", &[("VLLM_API_KEY", "local-vllm-key")]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(rows_by_case(&run.dir)["k1"]["action"], "remove");
}

#[test]
fn the_languages_asked_about_can_be_overridden() {
    let server = Server::start(|request, _| llama_guard(request, false));
    let target = format!("{LLAMA_GUARD_3}supported_languages = [\"*\"]\nunsupported_languages = [\"es\"]\n");
    let run = run_guard(&server, &target, ROWS, "", &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["b3"]["action"], "allow", "every language is asked about");
    assert_eq!(rows["b2"]["action"], "unsupported", "Spanish is declared unsupported");
    assert!(
        rows["b2"]["error"].contains("unsupported_languages"),
        "{:?}",
        rows["b2"]
    );
}

#[test]
fn a_reasoning_model_that_runs_out_of_tokens_is_an_error_naming_max_tokens() {
    let server = Server::start(|_, _| {
        let mut answer = vllm_chat("openai/gpt-oss-safeguard-20b", "", None);
        answer["choices"][0]["message"]["content"] = Value::Null;
        answer["choices"][0]["finish_reason"] = json!("length");
        Reply::Json(200, answer)
    });
    let target = "model_family = \"gpt-oss-safeguard\"\npolicy_file = \"policy.md\"\nmax_tokens = 64\n";
    let run = run_guard(&server, target, HATE_ROWS, "error_budget = 1.0\n", &[]);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["h1"]["action"], "error");
    assert!(rows["h1"]["error"].contains("max_tokens"), "{:?}", rows["h1"]);
}

#[test]
fn a_guard_scenario_is_checked_key_by_key() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en"],
        "a1,en,a post,protected,counter_speech,women,,,\n",
    );
    let validate = |target: &str| {
        let scenario = write_scenario(
            tmp.path(),
            &corpus,
            &format!("name = \"x\"\ncorpora = [{{corpus}}]\n\n[target]\nkind = \"guard\"\n{target}"),
        );
        let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
        (
            output.status.code(),
            stderr_of(&output),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (code, err, _) = validate("model_family = \"llama-guard-5\"\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("scenario.toml:6: `target.model_family`: unknown"), "{err}");
    for preset in [
        "llama-guard-3",
        "llama-guard-4",
        "shieldgemma",
        "granite-guardian",
        "wildguard",
        "gpt-oss-safeguard",
        "policy",
    ] {
        assert!(err.contains(&format!("`{preset}`")), "{preset} is listed: {err}");
    }
    let (code, err, _) = validate("model_family = \"gpt-oss-safeguard\"\n");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("`target.policy_file`") || err.contains("`target`: "),
        "{err}"
    );
    assert!(err.contains("policy_file"), "{err}");
    let (code, err, _) = validate("model_family = \"llama-guard-3\"\ncategories = [\"S99\"]\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("scenario.toml:7: `target.categories`: "), "{err}");
    let (code, err, _) = validate("model_family = \"shieldgemma\"\nrisk = \"violence\"\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("`target.risk`") && err.contains("harassment"), "{err}");
    let (code, err, _) = validate("model_family = \"llama-guard-3\"\nthreshold = 0.5\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown field `threshold`"), "{err}");
    let (code, err, shown) = validate("model_family = \"llama-guard-3\"\n");
    assert_eq!(code, Some(0), "{err}");
    assert!(shown.contains("Llama Guard 3"), "{shown}");
}
