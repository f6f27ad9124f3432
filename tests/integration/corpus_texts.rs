//! Case texts read back from the corpus file: what a target receives and what
//! decisions.csv holds are the texts exactly as the file writes them (quoted
//! commas, quotes, line breaks, CRLF, non-ASCII, a byte-order mark), and a
//! corpus file changed during a run stops the run instead of sending other
//! text.

use std::path::Path;

use serde_json::json;

use crate::server::{Reply, Server};
use crate::support::*;

/// Texts that need quoting in CSV, in file order.
const TEXTS: [&str; 6] = [
    "plain text",
    "commas, and \"quotes\", too",
    "a line\nand another",
    "carriage\r\nreturn and line feed",
    "ünïcödé — 日本語 — عربى 🙂",
    "  leading and trailing spaces  ",
];

/// A corpus of [`TEXTS`] with a UTF-8 byte-order mark and CRLF line ends.
fn write_tricky_corpus(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("corpus.toml"),
        "name = \"tricky\"\nversion = \"0.1.0\"\ndescription = \"texts that need quoting\"\nlicense = \"CC0-1.0\"\nlanguages = [\"en\"]\n",
    )
    .unwrap();
    let mut csv = format!("\u{feff}{}", HEADER.replace('\n', "\r\n"));
    for (i, text) in TEXTS.iter().enumerate() {
        csv.push_str(&format!(
            "t{i},en,\"{}\",protected,counter_speech,,,,\r\n",
            text.replace('"', "\"\"")
        ));
    }
    std::fs::write(dir.join("cases.csv"), csv).unwrap();
}

#[test]
fn quoted_texts_reach_the_target_and_decisions_csv_exactly() {
    let server = Server::start(|_, _| Reply::Json(200, json!({"action": "allow"})));
    let tmp = tempfile::tempdir().unwrap();
    let corpus = tmp.path().join("corpus");
    write_tricky_corpus(&corpus);
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"texts\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"http\"\nurl = \"{}/moderate\"\n\
             body = '{{\"text\": \"{{text}}\", \"ref\": \"{{id}}\"}}'\n[target.response]\naction = \"/action\"\n\
             [run]\nconcurrency = 2\ncache = false\n",
            server.url
        ),
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));

    let mut received: Vec<(String, String)> = server
        .requests()
        .iter()
        .map(|r| {
            let body = r.json();
            (
                body["ref"].as_str().unwrap().to_string(),
                body["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    received.sort();
    let expected: Vec<(String, String)> = TEXTS
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("t{i}"), t.to_string()))
        .collect();
    assert_eq!(received, expected);

    let written: Vec<(String, String)> = read_decisions(&out)
        .into_iter()
        .map(|row| (row["case_id"].clone(), row["text"].clone()))
        .collect();
    assert_eq!(written, expected);
}

#[test]
fn a_corpus_file_changed_during_a_run_stops_it_and_resume_works_once_restored() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("corpus"),
        &["en"],
        "c1,en,first post,protected,neutral_mention,,,,\n\
         c2,en,second post,protected,neutral_mention,,,,\n\
         c3,en,third post,protected,neutral_mention,,,,\n",
    );
    let cases = corpus.join("cases.csv");
    let original = std::fs::read(&cases).unwrap();
    // The same length with another word: only the texts' checksums tell. The
    // model removes a text with that word, so a changed text sent shows.
    let changed = String::from_utf8(original.clone()).unwrap().replace("post", "kill");
    std::fs::write(tmp.path().join("changed.csv"), &changed).unwrap();
    // A model that rewrites the corpus file in place as it starts, after the
    // plan was built.
    let model = tmp.path().join("model.sh");
    std::fs::write(
        &model,
        format!(
            "#!/bin/sh\ncat {} > {}\nexec {} --remove-if-contains kill\n",
            toml_string(&tmp.path().join("changed.csv").display().to_string()).replace('"', "'"),
            toml_string(&cases.display().to_string()).replace('"', "'"),
            fake_model()
        ),
    )
    .unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"changed\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"command\"\ncommand = {}\n[run]\nconcurrency = 1\n",
            toml_command(&["sh", &model.display().to_string()])
        ),
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "corpus file {} changed since it was loaded: case c",
            cases.display()
        )),
        "{stderr}"
    );
    let journal = std::fs::read_to_string(out.join("journal.jsonl")).unwrap_or_default();
    assert!(!journal.contains("\"remove\""), "a changed text was sent: {journal}");

    std::fs::write(&cases, &original).unwrap();
    std::fs::write(tmp.path().join("changed.csv"), &original).unwrap();
    let output = modaudit().arg("run").arg("--resume").arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let rows: Vec<(String, String)> = read_decisions(&out)
        .into_iter()
        .map(|row| (row["text"].clone(), row["action"].clone()))
        .collect();
    let allowed = |text: &str| (text.to_string(), "allow".to_string());
    assert_eq!(
        rows,
        [allowed("first post"), allowed("second post"), allowed("third post")]
    );
}
