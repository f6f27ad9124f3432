//! What is particular to the hosted moderation APIs — Google Cloud Natural
//! Language `moderateText`, AWS Comprehend `DetectToxicContent` and Hive text
//! moderation — beyond the faults every HTTP adapter goes through (see
//! [`crate::http_targets`]): how each authenticates, batches, limits a text's
//! length and says that it cannot moderate a language.

use serde_json::{Value, json};

use crate::http_targets::{
    AWS_ACCESS_KEY_ID, Adapter, ROWS, aws_signed, rows_by_case, run_against, run_against_in_env, run_against_with,
};
use crate::server::{Reply, Server};

/// `n` English cases, every fifth violating.
fn english_rows(n: usize) -> String {
    (0..n)
        .map(|i| {
            let (text, label) = if i.is_multiple_of(5) {
                (format!("post {i}: kill them"), "violating")
            } else {
                (format!("post number {i}"), "protected")
            };
            format!("c{i:03},en,{text},{label},neutral_mention,women,,,\n")
        })
        .collect()
}

#[test]
fn aws_sends_ten_signed_segments_per_call_in_order() {
    let server = Server::start(|request, _| Adapter::Aws.answer(request));
    let run = run_against(Adapter::Aws, &server, &english_rows(23), "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let requests = server.requests();
    let mut sizes: Vec<usize> = requests
        .iter()
        .map(|r| r.json()["TextSegments"].as_array().map_or(0, Vec::len))
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [3, 10, 10], "23 cases in calls of at most 10 segments");
    for request in &requests {
        assert!(aws_signed(request, None), "{:?}", request.headers);
        assert_eq!(request.method, "POST");
        assert_eq!(request.target, "/");
        assert_eq!(request.json()["LanguageCode"], "en");
        let authorization = request.header("authorization").unwrap();
        assert!(
            authorization.starts_with(&format!("AWS4-HMAC-SHA256 Credential={AWS_ACCESS_KEY_ID}/"))
                && authorization.contains("/eu-west-1/comprehend/aws4_request, "),
            "{authorization}"
        );
    }
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows.len(), 23);
    for (id, row) in &rows {
        let number: usize = id[1..].parse().unwrap();
        let expected = if number.is_multiple_of(5) { "remove" } else { "allow" };
        assert_eq!(
            row["action"], expected,
            "{id}: the answers match their segments: {row:?}"
        );
    }
    assert_eq!(rows["c000"]["score"], "0.91", "the score is the Toxicity");
}

#[test]
fn aws_signs_the_session_token_and_a_configured_region() {
    let server = Server::start(|request, _| {
        if !aws_signed(request, Some("session-token-for-test")) {
            return Reply::status(
                403,
                "application/x-amz-json-1.1",
                r#"{"__type":"InvalidSignatureException","message":"bad signature"}"#,
                &[],
            );
        }
        Adapter::Aws.answer(request)
    });
    let env = [
        ("AWS_ACCESS_KEY_ID", AWS_ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", "test-aws-secret"),
        ("AWS_SESSION_TOKEN", "session-token-for-test"),
        ("AWS_REGION", "us-west-2"),
    ];
    let run = run_against_in_env(Adapter::Aws, &server, ROWS, "region = \"eu-west-1\"\n", "", &env);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["k1"]["action"], "remove", "{:?}", rows["k1"]);
    assert_eq!(rows["b1"]["action"], "allow", "{:?}", rows["b1"]);
}

#[test]
fn aws_takes_languages_it_is_told_and_reads_its_unsupported_language_error() {
    let server = Server::start(|request, _| Adapter::Aws.answer(request));
    let run = run_against_with(Adapter::Aws, &server, ROWS, "languages = [\"en\", \"es\"]\n", "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["b2"]["action"], "unsupported", "{:?}", rows["b2"]);
    assert!(
        rows["b2"]["error"].contains("UnsupportedLanguageException: Unsupported language: es"),
        "{:?}",
        rows["b2"]
    );
    assert_eq!(rows["b2"]["attempts"], "1", "not retried");
    assert_eq!(rows["b3"]["action"], "unsupported", "sw is still not sent");
    assert_eq!(rows["k1"]["action"], "remove");
    let languages: Vec<Value> = server
        .requests()
        .iter()
        .map(|r| r.json()["LanguageCode"].clone())
        .collect();
    assert!(
        languages.contains(&json!("es")) && !languages.contains(&json!("sw")),
        "{languages:?}"
    );
}

#[test]
fn aws_refuses_a_text_over_one_kilobyte_without_sending_it() {
    let long = "é".repeat(513); // 1,026 bytes in UTF-8, 513 characters
    let rows = format!("{ROWS}l1,en,{long},protected,neutral_mention,women,,,\n");
    let server = Server::start(|request, _| Adapter::Aws.answer(request));
    let run = run_against_with(Adapter::Aws, &server, &rows, "", "error_budget = 0.5\n");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["l1"]["action"], "error", "{:?}", rows["l1"]);
    assert!(
        rows["l1"]["error"].contains("1026 bytes") && rows["l1"]["error"].contains("at most 1024"),
        "{:?}",
        rows["l1"]
    );
    assert_eq!(rows["k1"]["action"], "remove", "the rest of the batch is decided");
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !String::from_utf8_lossy(&r.body).contains("éé")),
        "the long text was never sent"
    );
}

#[test]
fn aws_treats_a_throttling_exception_as_rate_limiting() {
    let server = Server::start(|request, index| {
        if index == 0 {
            return Reply::status(
                400,
                "application/x-amz-json-1.1",
                r#"{"__type":"com.amazonaws.comprehend#TooManyRequestsException","Message":"Rate exceeded"}"#,
                &[],
            );
        }
        Adapter::Aws.answer(request)
    });
    let run = run_against(Adapter::Aws, &server, ROWS, "max_attempts = 1\n");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(
        rows["k1"]["action"], "remove",
        "asked again although one attempt is allowed: {:?}",
        rows["k1"]
    );
    assert_eq!(server.count(), 2);
}

#[test]
fn aws_reads_its_region_from_the_environment_only_when_the_scenario_names_none() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = crate::support::write_corpus(&tmp.path().join("c"), &["en", "es", "sw"], ROWS);
    let scenario = crate::support::write_scenario(
        tmp.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n[target]\nkind = \"aws\"\n",
    );
    let output = crate::support::modaudit()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(tmp.path().join("run"))
        .env("AWS_ACCESS_KEY_ID", AWS_ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", "test-aws-secret")
        .env_remove("AWS_REGION")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = crate::support::stderr_of(&output);
    assert!(
        stderr.contains("environment variable AWS_REGION is not set"),
        "{stderr}"
    );
    let output = crate::support::modaudit()
        .arg("validate")
        .arg(&scenario)
        .env_remove("AWS_REGION")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", crate::support::stderr_of(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("(set AWS_ACCESS_KEY_ID before running)"), "{stdout}");
}

#[test]
fn google_sends_a_bearer_token_and_the_quota_project_when_told() {
    let server = Server::start(|request, _| {
        if request.header("authorization") != Some("Bearer ya29.test-token")
            || request.header("x-goog-user-project") != Some("audit-project")
            || request.header("x-goog-api-key").is_some()
        {
            return Reply::Json(
                401,
                json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}),
            );
        }
        Adapter::Google.answer(request)
    });
    let run = run_against_in_env(
        Adapter::Google,
        &server,
        ROWS,
        "access_token_env = \"GOOGLE_ACCESS_TOKEN\"\nquota_project = \"audit-project\"\n",
        "",
        &[("GOOGLE_ACCESS_TOKEN", "ya29.test-token")],
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["k1"]["action"], "remove", "{:?}", rows["k1"]);
    let body = server.requests()[0].json();
    assert_eq!(body["document"]["type"], "PLAIN_TEXT");
    assert!(body["document"]["languageCode"].is_string(), "{body}");
}

#[test]
fn google_records_every_category_and_decides_on_the_chosen_ones() {
    let server = Server::start(|request, _| Adapter::Google.answer(request));
    let run = run_against_with(Adapter::Google, &server, ROWS, "categories = [\"Derogatory\"]\n", "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(
        rows["k1"]["action"], "allow",
        "Derogatory 0.41 < 0.5, whatever Toxic says: {:?}",
        rows["k1"]
    );
    assert_eq!(rows["k1"]["score"], "0.41");
    let journal = std::fs::read_to_string(run.dir.join("journal.jsonl")).unwrap();
    let k1: Value = journal
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["case_id"] == "k1")
        .unwrap();
    assert_eq!(k1["scores"].as_object().unwrap().len(), 16, "{k1}");
    assert_eq!(k1["scores"]["Death, Harm & Tragedy"], 0.05);
}

#[test]
fn google_reads_an_unsupported_language_error_as_unsupported() {
    let server = Server::start(|request, _| {
        if request.json()["document"]["languageCode"] == "sw" {
            return Reply::Json(
                400,
                json!({"error": {"code": 400, "message": "The language sw is not supported for text moderation.", "status": "INVALID_ARGUMENT"}}),
            );
        }
        Adapter::Google.answer(request)
    });
    let run = run_against(Adapter::Google, &server, ROWS, "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["b3"]["action"], "unsupported", "{:?}", rows["b3"]);
    assert!(
        rows["b3"]["error"].contains("The language sw is not supported"),
        "{:?}",
        rows["b3"]
    );
    assert_eq!(rows["b3"]["attempts"], "1");
}

#[test]
fn hive_refuses_a_text_over_its_limit_without_sending_it() {
    let long = "a".repeat(1025);
    let rows = format!("{ROWS}l1,en,{long},protected,neutral_mention,women,,,\n");
    let server = Server::start(|request, _| Adapter::Hive.answer(request));
    let run = run_against_with(Adapter::Hive, &server, &rows, "", "error_budget = 0.5\n");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["l1"]["action"], "error", "{:?}", rows["l1"]);
    assert!(
        rows["l1"]["error"].contains("1025 characters") && rows["l1"]["error"].contains("at most 1024"),
        "{:?}",
        rows["l1"]
    );
    assert_eq!(server.count(), 4, "only the other cases were sent");
    let longer = run_against_with(
        Adapter::Hive,
        &server,
        &format!("{ROWS}l1,en,{long},protected,neutral_mention,women,,,\n"),
        "max_chars = 2048\n",
        "",
    );
    assert_eq!(
        rows_by_case(&longer.dir)["l1"]["action"],
        "allow",
        "a project with a larger limit"
    );
}

#[test]
fn hive_decides_on_the_chosen_classes_and_a_class_it_cannot_moderate_is_unsupported() {
    let server = Server::start(|request, _| {
        let text = request.json()["text_data"].as_str().unwrap_or_default().to_string();
        if text.contains("texto") {
            // Spanish: the hate head is not supported (-1), violence is
            return Reply::Json(
                200,
                json!({"status": [{"status": {"code": "0", "message": "SUCCESS"}, "response": {
                    "language": "ES", "moderated_classes": ["violence"],
                    "output": [{"classes": [{"class": "hate", "score": -1}, {"class": "violence", "score": 0}]}]}}]}),
            );
        }
        Adapter::Hive.answer(request)
    });
    let run = run_against_with(
        Adapter::Hive,
        &server,
        ROWS,
        "classes = [\"hate\"]\nthreshold = 3\n",
        "",
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["k1"]["action"], "allow", "hate 2 < 3: {:?}", rows["k1"]);
    assert_eq!(rows["k1"]["score"], "2");
    assert_eq!(rows["b2"]["action"], "unsupported", "{:?}", rows["b2"]);
    assert!(
        rows["b2"]["error"].contains("does not moderate hate in ES"),
        "{:?}",
        rows["b2"]
    );
    let run = run_against_with(Adapter::Hive, &server, ROWS, "classes = [\"hate\", \"violence\"]\n", "");
    let rows = rows_by_case(&run.dir);
    assert_eq!(rows["k1"]["action"], "remove", "violence 3 ≥ 2: {:?}", rows["k1"]);
    assert_eq!(
        rows["b2"]["action"], "allow",
        "violence is moderated in ES: {:?}",
        rows["b2"]
    );
}
