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
    Google,
    Aws,
    Hive,
    Tei,
    Classify,
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
            Adapter::Tei => ("TEI_API_KEY", "test-tei-token"),
            Adapter::Classify => ("VLLM_API_KEY", "test-vllm-token"),
            Adapter::Google => ("GOOGLE_API_KEY", "test-google-key"),
            Adapter::Aws => ("AWS_SECRET_ACCESS_KEY", "test-aws-secret"),
            Adapter::Hive => ("HIVE_API_KEY", "test-hive-key"),
        }
    }

    /// Every environment variable a run needs: the key, and AWS's other credentials.
    pub fn env(self) -> Vec<(&'static str, &'static str)> {
        let mut env = vec![self.key_env()];
        if let Adapter::Aws = self {
            env.extend([("AWS_ACCESS_KEY_ID", AWS_ACCESS_KEY_ID), ("AWS_REGION", "eu-west-1")]);
        }
        env
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
            Adapter::Google => format!("kind = \"google\"\nbase_url = \"{url}\"\n"),
            Adapter::Aws => format!("kind = \"aws\"\nbase_url = \"{url}\"\n"),
            Adapter::Hive => format!("kind = \"hive\"\nbase_url = \"{url}\"\n"),
            Adapter::Tei => format!(
                "kind = \"tei\"\nbase_url = \"{url}\"\napi_key_env = \"TEI_API_KEY\"\nlabels = [\"toxic\", \"threat\"]\nthreshold = 0.5\n"
            ),
            Adapter::Classify => format!(
                "kind = \"classify\"\nbase_url = \"{url}\"\napi_key_env = \"VLLM_API_KEY\"\nmodel = \"unitary/toxic-classifier\"\n\
                 class_names = [\"neutral\", \"toxic\"]\nlabels = [\"toxic\"]\n"
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
            Adapter::Google => google_answer(&body),
            Adapter::Aws => aws_answer(request),
            Adapter::Hive => hive_answer(&body),
            Adapter::Tei => tei_answer(&body),
            Adapter::Classify => classify_answer(&body),
        }
    }

    /// Checks the request carries the key the way the real API expects it.
    fn authenticated(self, request: &Request) -> bool {
        let (_, key) = self.key_env();
        match self {
            Adapter::OpenAi => request.header("authorization") == Some(&format!("Bearer {key}")),
            Adapter::Perspective => request.target.ends_with(&format!("key={key}")),
            Adapter::Azure => request.header("ocp-apim-subscription-key") == Some(key),
            Adapter::Http | Adapter::Tei | Adapter::Classify => {
                request.header("authorization") == Some(&format!("Bearer {key}"))
            }
            Adapter::Google => request.header("x-goog-api-key") == Some(key),
            Adapter::Aws => aws_signed(request, None),
            Adapter::Hive => request.header("authorization") == Some(&format!("token {key}")),
        }
    }

    fn path(self) -> &'static str {
        match self {
            Adapter::OpenAi => "/v1/moderations",
            Adapter::Perspective => "/v1alpha1/comments:analyze?key=",
            Adapter::Azure => "/contentsafety/text:analyze?api-version=2024-09-01",
            Adapter::Http => "/v2/moderate",
            Adapter::Google => "/v2/documents:moderateText",
            Adapter::Aws => "/",
            Adapter::Hive => "/api/v2/task/sync",
            Adapter::Tei => "/predict",
            Adapter::Classify => "/classify",
        }
    }

    /// Whether the adapter sends several cases in one call.
    fn batches(self) -> bool {
        matches!(self, Adapter::OpenAi | Adapter::Aws | Adapter::Tei | Adapter::Classify)
    }
}

/// The AWS access key id the tests use (not a secret, but redacted all the same).
pub const AWS_ACCESS_KEY_ID: &str = "AKIDMODAUDITTEST";

/// The Natural Language API's answer: every category's confidence, and
/// `languageSupported: false` (with a best-effort answer) for Swahili.
fn google_answer(body: &Value) -> Reply {
    let text = body["document"]["content"].as_str().unwrap_or_default();
    let lang = body["document"]["languageCode"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if body["document"]["type"] != "PLAIN_TEXT" {
        return Reply::Json(
            400,
            json!({"error": {"code": 400, "message": "Invalid document type", "status": "INVALID_ARGUMENT"}}),
        );
    }
    let bad = violating(text);
    let categories: Vec<Value> = [
        ("Toxic", if bad { 0.92 } else { 0.04 }),
        ("Insult", 0.03),
        ("Profanity", 0.02),
        ("Derogatory", if bad { 0.41 } else { 0.01 }),
        ("Sexual", 0.01),
        ("Death, Harm & Tragedy", 0.05),
        ("Violent", if bad { 0.88 } else { 0.02 }),
        ("Firearms & Weapons", 0.01),
        ("Public Safety", 0.02),
        ("Health", 0.01),
        ("Religion & Belief", 0.01),
        ("Illicit Drugs", 0.0),
        ("War & Conflict", 0.03),
        ("Politics", 0.02),
        ("Finance", 0.0),
        ("Legal", 0.01),
    ]
    .into_iter()
    .map(|(name, confidence)| json!({"name": name, "confidence": confidence, "severity": 0.0}))
    .collect();
    Reply::Json(
        200,
        json!({"moderationCategories": categories, "languageCode": lang, "languageSupported": lang != "sw"}),
    )
}

/// Comprehend's answer to `DetectToxicContent`: one result per segment, in order.
fn aws_answer(request: &Request) -> Reply {
    let body = request.json();
    if request.header("x-amz-target") != Some("Comprehend_20171127.DetectToxicContent")
        || request.header("content-type") != Some("application/x-amz-json-1.1")
    {
        return Reply::status(
            400,
            "application/x-amz-json-1.1",
            r#"{"__type":"UnknownOperationException"}"#,
            &[],
        );
    }
    if body["LanguageCode"] != "en" {
        return Reply::status(
            400,
            "application/x-amz-json-1.1",
            &json!({"__type": "com.amazonaws.comprehend#UnsupportedLanguageException",
                    "Message": format!("Unsupported language: {}", body["LanguageCode"].as_str().unwrap_or_default())})
            .to_string(),
            &[],
        );
    }
    let segments = body["TextSegments"].as_array().cloned().unwrap_or_default();
    if segments.is_empty() || segments.len() > 10 {
        return Reply::status(
            400,
            "application/x-amz-json-1.1",
            r#"{"__type":"com.amazonaws.comprehend#InvalidRequestException","Message":"1 to 10 segments"}"#,
            &[],
        );
    }
    let results: Vec<Value> = segments
        .iter()
        .map(|segment| {
            let bad = violating(segment["Text"].as_str().unwrap_or_default());
            json!({
                "Labels": [
                    {"Name": "PROFANITY", "Score": 0.02}, {"Name": "HATE_SPEECH", "Score": if bad {0.31} else {0.01}},
                    {"Name": "INSULT", "Score": 0.05}, {"Name": "GRAPHIC", "Score": 0.01},
                    {"Name": "HARASSMENT_OR_ABUSE", "Score": 0.04}, {"Name": "SEXUAL", "Score": 0.01},
                    {"Name": "VIOLENCE_OR_THREAT", "Score": if bad {0.93} else {0.02}}
                ],
                "Toxicity": if bad {0.91} else {0.03}
            })
        })
        .collect();
    Reply::status(
        200,
        "application/x-amz-json-1.1",
        &json!({"ResultList": results}).to_string(),
        &[],
    )
}

/// Whether a request is signed with SigV4 for Comprehend by the test's access key
/// (and carries `session_token`, when given): the shape of the headers, since
/// the signature itself is checked against AWS's published vectors in the unit tests.
pub fn aws_signed(request: &Request, session_token: Option<&str>) -> bool {
    let Some(authorization) = request.header("authorization") else {
        return false;
    };
    let Some(date) = request.header("x-amz-date") else {
        return false;
    };
    let day = date.get(..8).unwrap_or_default();
    let mut signed_headers = "content-type;host;x-amz-date;x-amz-target".to_string();
    if session_token.is_some() {
        signed_headers = "content-type;host;x-amz-date;x-amz-security-token;x-amz-target".into();
    }
    let prefix = format!(
        "AWS4-HMAC-SHA256 Credential={AWS_ACCESS_KEY_ID}/{day}/eu-west-1/comprehend/aws4_request, SignedHeaders={signed_headers}, Signature="
    );
    let signature = authorization.strip_prefix(&prefix).unwrap_or_default();
    date.len() == 16
        && date.ends_with('Z')
        && signature.len() == 64
        && signature
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && request.header("x-amz-security-token") == session_token
}

/// Hive's synchronous answer: severities 0–3 per class; Swahili is `UNSUPPORTED`
/// (no class moderated).
fn hive_answer(body: &Value) -> Reply {
    let text = body["text_data"].as_str().unwrap_or_default();
    let bad = violating(text);
    let unsupported = text.contains("habari");
    let (language, moderated, classes) = if unsupported {
        ("UNSUPPORTED", json!([]), json!([]))
    } else {
        (
            if text.contains("texto") { "ES" } else { "EN" },
            json!(["sexual", "hate", "violence", "bullying", "spam"]),
            json!([
                {"class": "spam", "score": 0}, {"class": "sexual", "score": 0},
                {"class": "hate", "score": if bad {2} else {0}}, {"class": "violence", "score": if bad {3} else {0}},
                {"class": "bullying", "score": if bad {1} else {0}}
            ]),
        )
    };
    Reply::Json(
        200,
        json!({
            "id": "19fa9f60-5b06-11ed-8fc4-659b38d4c6a6", "code": 200, "project_id": 41392, "user_id": 3121654,
            "created_on": "2026-11-02T23:28:48.546Z",
            "status": [{
                "status": {"code": "0", "message": "SUCCESS"},
                "response": {
                    "input": {"model_type": "TEXT_CLASSIFICATION", "model_version": 1, "text": text, "charge": 0.0005},
                    "custom_classes": [], "text_filters": [], "pii_entities": [], "urls": [],
                    "language": language, "moderated_classes": moderated,
                    "output": [{"time": 0, "start_char_index": 0, "end_char_index": text.chars().count(), "classes": classes}]
                }
            }],
            "from_cache": false
        }),
    )
}

/// text-embeddings-inference `/predict`: a batch is a list of one-text lists
/// (a bare list of two strings would be one sentence pair); with `raw_scores`
/// each input gets every label's logit, highest first.
pub fn tei_answer(body: &Value) -> Reply {
    let Some(inputs) = body["inputs"].as_array() else {
        return Reply::Json(
            422,
            json!({"error": "Input validation error: `inputs` cannot be empty", "error_type": "validation"}),
        );
    };
    let mut predictions = Vec::new();
    for input in inputs {
        let Some([Value::String(text)]) = input.as_array().map(Vec::as_slice) else {
            return Reply::Json(
                422,
                json!({"error": "expected a batch of single texts", "error_type": "validation"}),
            );
        };
        if body["raw_scores"] != json!(true) {
            return Reply::Json(
                422,
                json!({"error": "this test server only answers raw scores", "error_type": "validation"}),
            );
        }
        let (toxic, threat) = if violating(text) { (2.5, 1.0) } else { (-3.0, -4.0) };
        predictions.push(json!([
            {"label": "neutral", "score": -toxic},
            {"label": "toxic", "score": toxic},
            {"label": "threat", "score": threat},
        ]));
    }
    Reply::Json(200, Value::Array(predictions))
}

/// vLLM `/classify`: one `data` item per input, softmax probabilities in the
/// model's class order, and the predicted class's label.
pub fn classify_answer(body: &Value) -> Reply {
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap_or_default().to_string()).collect(),
        _ => {
            return Reply::Json(
                400,
                json!({"object": "error", "message": "input is required", "type": "BadRequestError", "code": 400}),
            );
        }
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let toxic = if violating(text) { 0.97 } else { 0.02 };
            json!({"index": index, "label": if toxic > 0.5 {"toxic"} else {"neutral"}, "probs": [1.0 - toxic, toxic], "num_classes": 2})
        })
        .collect();
    Reply::Json(
        200,
        json!({"id": "classify-test", "object": "list", "created": 1_745_383_213, "model": body["model"], "data": data,
               "usage": {"prompt_tokens": 10, "total_tokens": 10, "completion_tokens": 0, "prompt_tokens_details": null}}),
    )
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
    run_against_in_env(adapter, server, rows, target, run, &adapter.env())
}

/// As [`run_against_with`], in the environment `env` instead of the adapter's own.
pub fn run_against_in_env(
    adapter: Adapter,
    server: &Server,
    rows: &str,
    target: &str,
    run: &str,
    env: &[(&str, &str)],
) -> HttpRun {
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
    let mut command = modaudit();
    command.arg("run").arg(&scenario).arg("--out").arg(&dir);
    if !env.iter().any(|(name, _)| *name == "AWS_SESSION_TOKEN") {
        // a developer's own temporary credentials would change what is signed
        command.env_remove("AWS_SESSION_TOKEN");
    }
    let output = command.envs(env.iter().copied()).output().unwrap();
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
    let unsupported = |id: &str, why: &str| {
        assert_eq!(
            rows[id]["action"], "unsupported",
            "an unsupported language is its own outcome: {:?}",
            rows[id]
        );
        assert!(rows[id]["error"].contains(why), "{:?}", rows[id]);
    };
    match adapter {
        Adapter::Perspective => unsupported("b3", "does not support request languages: sw"),
        Adapter::Google => unsupported("b3", "does not officially support `sw`"),
        Adapter::Hive => unsupported("b3", "classified the language as UNSUPPORTED"),
        Adapter::Aws => {
            unsupported("b3", "toxicity detection takes English only");
            unsupported("b2", "toxicity detection takes English only");
        }
        _ => assert_eq!(rows["b3"]["action"], "allow"),
    }
    if !matches!(adapter, Adapter::Aws) {
        assert_eq!(rows["b2"]["action"], "allow");
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
    if !adapter.batches() {
        // unbatched: the other cases were not disturbed (a batching adapter sends them in k1's batch)
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
    google => Adapter::Google,
    aws => Adapter::Aws,
    hive => Adapter::Hive,
    tei => Adapter::Tei,
    classify => Adapter::Classify,
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
    // nothing listens there, and no other test's server can take the port
    let refusing = RefusingPort::new();
    let port = refusing.port;
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
