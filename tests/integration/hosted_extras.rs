//! What hosted classifiers say besides their scores reaches the outputs: the
//! OpenAI model snapshot that answered each case (so a silent model update
//! shows), Azure custom blocklist matches, and Azure Entra ID tokens in place
//! of the key. Classifier servers (text-embeddings-inference, vLLM, SGLang) are
//! read with the labels the scenario names, and a mismatch is said, never
//! guessed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::http_targets::{Adapter, ROWS, classify_answer, rows_by_case, run_against, run_against_with, tei_answer};
use crate::server::{Reply, Request, Server};
use crate::support::*;

/// A run of `target` (a `[target]` table) over [`ROWS`] with the given environment.
fn run_with_env(target: &str, env: &[(&str, &str)]) -> (std::process::Output, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("corpus"), &["en", "es", "sw"], ROWS);
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"extras\"\ncorpora = [{{corpus}}]\n[target]\n{target}\n[run]\nconcurrency = 2\ntimeout_secs = 2\nmax_attempts = 2\nerror_budget = 1.0\ncache = false\n"
        ),
    );
    let mut command = modaudit();
    command
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(tmp.path().join("run"));
    for (name, value) in env {
        command.env(name, value);
    }
    (command.output().unwrap(), tmp)
}

fn journal_responses(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["case_id"] == "k1")
        .map(|r| r["response"].clone())
        .collect()
}

#[test]
fn the_openai_model_snapshot_is_recorded_per_case_and_a_change_is_reported() {
    let requests = Arc::new(AtomicUsize::new(0));
    let server = Server::start(move |request, _| {
        let first = requests.fetch_add(1, Ordering::SeqCst) == 0;
        match Adapter::OpenAi.answer(request) {
            Reply::Json(200, mut answer) => {
                answer["model"] = json!(if first {
                    "omni-moderation-2024-09-26"
                } else {
                    "omni-moderation-2025-11-03"
                });
                Reply::Json(200, answer)
            }
            other => other,
        }
    });
    let run = run_against_with(Adapter::OpenAi, &server, ROWS, "batch_size = 1\n", "concurrency = 1\n");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    let models: Vec<&str> = ["k1", "b1", "b2", "b3"]
        .iter()
        .map(|id| rows[*id]["model"].as_str())
        .collect();
    assert_eq!(
        models.iter().filter(|m| **m == "omni-moderation-2024-09-26").count(),
        1,
        "{models:?}"
    );
    assert_eq!(
        models.iter().filter(|m| **m == "omni-moderation-2025-11-03").count(),
        3,
        "{models:?}"
    );
    let results = read_json(&run.dir.join("results.json"));
    assert_eq!(
        results["run"]["model_snapshots"],
        json!([{"model": "omni-moderation-2024-09-26", "cases": 1}, {"model": "omni-moderation-2025-11-03", "cases": 3}])
    );
    let md = std::fs::read_to_string(run.dir.join("report.md")).unwrap();
    assert!(
        md.contains("omni-moderation-2024-09-26 (1 case), omni-moderation-2025-11-03 (3 cases)"),
        "{md}"
    );
    assert!(md.contains("changed during the run"), "{md}");
    assert!(run.stdout.contains("changed during the run"), "{}", run.stdout);
    let response = &journal_responses(&run.dir)[0];
    assert!(
        response["result"]["category_applied_input_types"].is_object(),
        "the applied input types are kept: {response}"
    );
}

#[test]
fn one_openai_snapshot_is_named_without_a_warning() {
    let server = Server::start(|request, _| Adapter::OpenAi.answer(request));
    let run = run_against(Adapter::OpenAi, &server, ROWS, "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = read_json(&run.dir.join("results.json"));
    assert_eq!(
        results["run"]["model_snapshots"],
        json!([{"model": "omni-moderation-2024-09-26", "cases": 4}])
    );
    let md = std::fs::read_to_string(run.dir.join("report.md")).unwrap();
    assert!(md.contains("omni-moderation-2024-09-26 (4 cases)"), "{md}");
    assert!(!md.contains("changed during the run"), "{md}");
}

/// Azure with two custom blocklists: "normal post" is on one of them.
fn blocklist_server() -> Server {
    Server::start(|request, _| {
        let body = request.json();
        if body["blocklistNames"] != json!(["slurs-en", "threats"]) || body["haltOnBlocklistHit"] != json!(true) {
            return Reply::Json(
                400,
                json!({"error": {"code": "InvalidRequestBody", "message": format!("unexpected body {body}")}}),
            );
        }
        if body["text"].as_str().unwrap_or_default().contains("normal post") {
            return Reply::Json(
                200,
                json!({"blocklistsMatch": [{"blocklistName": "slurs-en", "blocklistItemId": "9f1c-item", "blocklistItemText": "normal"}],
                       "categoriesAnalysis": []}),
            );
        }
        Adapter::Azure.answer(request)
    })
}

#[test]
fn azure_blocklists_are_sent_and_a_match_is_a_removal_naming_the_list() {
    let server = blocklist_server();
    let run = run_against_with(
        Adapter::Azure,
        &server,
        ROWS,
        "blocklist_names = [\"slurs-en\", \"threats\"]\nhalt_on_blocklist_hit = true\n",
        "",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["b1"]["action"], "remove", "{:?}", rows["b1"]);
    assert_eq!(
        rows["b1"]["detail"], "blocklist match: slurs-en \"normal\" (item 9f1c-item)",
        "{:?}",
        rows["b1"]
    );
    assert_eq!(rows["b1"]["score"], "", "the analysis halted at the blocklist");
    assert_eq!(rows["k1"]["action"], "remove");
    assert_eq!(rows["k1"]["detail"], "");
    assert_eq!(rows["b2"]["action"], "allow");

    let plain = Server::start(|request, _| {
        let body = request.json();
        if body.get("blocklistNames").is_some() || body["haltOnBlocklistHit"] != json!(false) {
            return Reply::Json(400, json!({"error": {"message": format!("unexpected body {body}")}}));
        }
        Adapter::Azure.answer(request)
    });
    let without = run_against(Adapter::Azure, &plain, ROWS, "");
    assert_eq!(without.code, Some(0), "{}", without.stderr);
    assert_eq!(rows_by_case(&without.dir)["b1"]["action"], "allow");
    let fingerprint = |dir: &std::path::Path| read_json(&dir.join("results.json"))["run"]["target_fingerprint"].clone();
    assert_ne!(
        fingerprint(&run.dir),
        fingerprint(&without.dir),
        "blocklists change the answers, so the fingerprint"
    );
}

/// An Azure resource that takes only an Entra ID bearer token.
fn entra_server(token: &'static str) -> Server {
    Server::start(move |request: &Request, _| {
        if request.header("ocp-apim-subscription-key").is_some() {
            return Reply::Json(400, json!({"error": {"message": "a key was sent"}}));
        }
        if request.header("authorization") != Some(&format!("Bearer {token}")) {
            return Reply::Json(
                401,
                json!({"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API endpoint."}}),
            );
        }
        Adapter::Azure.answer(request)
    })
}

#[test]
fn azure_takes_an_entra_id_token_instead_of_the_key() {
    let server = entra_server("eyJ0eXAi.entra-token");
    let target = format!(
        "kind = \"azure\"\nbase_url = \"{}\"\nauth = \"entra\"\ntoken_env = \"AZURE_CS_TOKEN\"\n",
        server.url
    );
    let (output, tmp) = run_with_env(&target, &[("AZURE_CS_TOKEN", "eyJ0eXAi.entra-token")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let rows = rows_by_case(&tmp.path().join("run"));
    assert_eq!(rows["k1"]["action"], "remove", "{:?}", rows["k1"]);
    assert_eq!(rows["b1"]["action"], "allow");

    let (output, tmp) = run_with_env(&target, &[("AZURE_CS_TOKEN", "eyJ0eXAi.expired")]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "within the error budget of 1: {}",
        stderr_of(&output)
    );
    let rows = rows_by_case(&tmp.path().join("run"));
    assert!(
        rows["k1"]["error"].starts_with("HTTP 401 Unauthorized") && rows["k1"]["error"].contains("Entra ID token"),
        "{:?}",
        rows["k1"]
    );
    assert!(!rows["k1"]["error"].contains("eyJ0eXAi"));

    let output = modaudit()
        .arg("run")
        .arg(write_entra_scenario(&server.url, tmp.path()))
        .arg("--out")
        .arg(tmp.path().join("missing"))
        .env_remove("AZURE_CS_TOKEN")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output)
            .contains("environment variable AZURE_CS_TOKEN is not set (the scenario names it in `target.token_env`)"),
        "{}",
        stderr_of(&output)
    );
}

fn write_entra_scenario(url: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let corpus = write_corpus(&dir.join("corpus2"), &["en", "es", "sw"], ROWS);
    write_scenario(
        dir,
        &corpus,
        &format!(
            "name = \"x\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"azure\"\nbase_url = \"{url}\"\nauth = \"entra\"\ntoken_env = \"AZURE_CS_TOKEN\"\n"
        ),
    )
}

#[test]
fn azure_credentials_of_the_other_method_are_refused_at_their_line() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en"],
        "a1,en,a post,protected,counter_speech,women,,,\n",
    );
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n[target]\nkind = \"azure\"\nbase_url = \"http://127.0.0.1:9\"\nauth = \"entra\"\napi_key_env = \"AZURE_CONTENT_SAFETY_KEY\"\nhalt_on_blocklist_hit = true\n",
    );
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr_of(&output);
    assert!(
        err.contains("scenario.toml:7: `target.api_key_env`: only with auth = \"key\""),
        "{err}"
    );
    assert!(err.contains("`target.halt_on_blocklist_hit`"), "{err}");
}

#[test]
fn tei_is_asked_with_single_text_inputs_and_raw_scores_and_every_label_is_recorded() {
    let server = Server::start(|request, _| tei_answer(&request.json()));
    let run = run_against(Adapter::Tei, &server, ROWS, "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one batch");
    let body = requests[0].json();
    assert_eq!(body["raw_scores"], json!(true));
    assert_eq!(body["truncate"], json!(true));
    assert_eq!(body["inputs"].as_array().unwrap().len(), 4);
    assert!(
        body["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i.as_array().is_some_and(|a| a.len() == 1))
    );
    let journal = std::fs::read_to_string(run.dir.join("journal.jsonl")).unwrap();
    let k1: Value = journal
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["case_id"] == "k1")
        .unwrap();
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    for (label, logit) in [("toxic", 2.5), ("threat", 1.0), ("neutral", -2.5)] {
        let got = k1["scores"][label].as_f64().unwrap();
        assert!((got - sigmoid(logit)).abs() < 1e-12, "{label}: {got}");
    }
    assert!((k1["score"].as_f64().unwrap() - sigmoid(2.5)).abs() < 1e-12);
}

#[test]
fn a_label_the_model_lacks_is_an_error_listing_its_labels() {
    let server = Server::start(|request, _| tei_answer(&request.json()));
    let target = format!(
        "kind = \"tei\"\nbase_url = \"{}\"\nlabels = [\"hate\"]\nactivation = \"softmax\"\n",
        server.url
    );
    let (output, tmp) = run_with_env(&target, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let rows = rows_by_case(&tmp.path().join("run"));
    assert_eq!(
        rows["k1"]["error"],
        "the model has no label `hate` (its labels: neutral, threat, toxic); check `labels`"
    );
    assert_eq!(server.count(), 1, "not retried");
}

#[test]
fn sglang_is_asked_at_its_own_path() {
    let server = Server::start(|request, _| {
        if request.target != "/v1/classify" {
            return Reply::Json(404, json!({"detail": "Not Found"}));
        }
        classify_answer(&request.json())
    });
    let target = format!(
        "kind = \"classify\"\nserver = \"sglang\"\nbase_url = \"{}\"\nmodel = \"m\"\nclass_names = [\"neutral\", \"toxic\"]\nlabels = [\"toxic\"]\nthreshold = 0.9\n",
        server.url
    );
    let (output, tmp) = run_with_env(&target, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let rows = rows_by_case(&tmp.path().join("run"));
    assert_eq!(rows["k1"]["action"], "remove");
    assert_eq!(rows["k1"]["score"], "0.97");
    assert_eq!(rows["b1"]["action"], "allow");
    assert_eq!(rows["k1"]["model"], "m", "the served model is recorded");
    assert!(
        server.requests()[0].header("authorization").is_none(),
        "no key configured, none sent"
    );
}

#[test]
fn class_names_that_contradict_the_server_are_an_error() {
    let server = Server::start(|request, _| classify_answer(&request.json()));
    let target = format!(
        "kind = \"classify\"\nbase_url = \"{}\"\nmodel = \"m\"\nclass_names = [\"toxic\", \"neutral\"]\nlabels = [\"toxic\"]\n",
        server.url
    );
    let (output, tmp) = run_with_env(&target, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let rows = rows_by_case(&tmp.path().join("run"));
    assert_eq!(
        rows["k1"]["error"],
        "the server names class 1 `toxic` but `class_names` names it `neutral`; list the classes in the model's order"
    );

    let target = format!(
        "kind = \"classify\"\nbase_url = \"{}\"\nmodel = \"m\"\nclass_names = [\"neutral\", \"toxic\", \"hate\"]\nlabels = [\"toxic\", \"hate\"]\n",
        server.url
    );
    let (_, tmp) = run_with_env(&target, &[]);
    let rows = rows_by_case(&tmp.path().join("run"));
    assert_eq!(
        rows["b1"]["error"],
        "the server answered 2 class probabilities but `class_names` names 3 classes"
    );
}

#[test]
fn class_names_can_come_from_the_models_config() {
    let server = Server::start(|request, _| classify_answer(&request.json()));
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("config.json"),
        r#"{"architectures": ["XLMRobertaForSequenceClassification"], "id2label": {"1": "toxic", "0": "neutral"}}"#,
    )
    .unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en", "es", "sw"], ROWS);
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"x\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"classify\"\nbase_url = \"{}\"\nmodel = \"m\"\nmodel_config = \"config.json\"\nlabels = [\"toxic\"]\n[run]\ncache = false\n",
            server.url
        ),
    );
    let output = run_scenario(&scenario, &tmp.path().join("run"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let rows = rows_by_case(&tmp.path().join("run"));
    assert_eq!(rows["k1"]["action"], "remove");
    assert_eq!(rows["b1"]["action"], "allow");

    std::fs::write(
        tmp.path().join("config.json"),
        r#"{"id2label": {"0": "neutral", "2": "toxic"}}"#,
    )
    .unwrap();
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("`target.model_config`: config.json: `id2label` has no class 1"),
        "{}",
        stderr_of(&output)
    );
}
