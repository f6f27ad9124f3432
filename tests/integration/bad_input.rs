//! Every class of bad input is refused with exit code 2 and a message that names
//! the file, line and field; nothing is silently skipped.

use std::path::Path;

use crate::support::*;

fn validate_fails(path: &Path) -> String {
    let output = modaudit().arg("validate").arg(path).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr_of(&output)
}

const GOOD_ROW: &str = "a1,en,Counter-speech text,protected,counter_speech,women,,,\n";

#[test]
fn missing_required_column() {
    let dir = tempfile::tempdir().unwrap();
    write_corpus(dir.path(), &["en"], "");
    std::fs::write(
        dir.path().join("cases.csv"),
        "id,lang,text,category\na1,en,hello,counter_speech\n",
    )
    .unwrap();
    let err = validate_fails(dir.path());
    assert!(
        err.contains("cases.csv:1: `label`: missing required column `label`"),
        "{err}"
    );
}

#[test]
fn empty_text() {
    let dir = tempfile::tempdir().unwrap();
    write_corpus(
        dir.path(),
        &["en"],
        &format!("{GOOD_ROW}a2,en,,protected,counter_speech,,,,\n"),
    );
    let err = validate_fails(dir.path());
    assert!(err.contains("cases.csv:3: `text`: text is empty"), "{err}");
}

#[test]
fn unknown_label() {
    let dir = tempfile::tempdir().unwrap();
    write_corpus(
        dir.path(),
        &["en"],
        &format!("{GOOD_ROW}a2,en,some text,hateful,slur,,,,\n"),
    );
    let err = validate_fails(dir.path());
    assert!(
        err.contains("cases.csv:3: `label`: unknown label \"hateful\" (expected \"protected\" or \"violating\")"),
        "{err}"
    );
}

#[test]
fn duplicate_id() {
    let dir = tempfile::tempdir().unwrap();
    write_corpus(dir.path(), &["en"], &format!("{GOOD_ROW}{GOOD_ROW}"));
    let err = validate_fails(dir.path());
    assert!(
        err.contains("cases.csv:3: `id`: duplicate id `a1` (first used at "),
        "{err}"
    );
    assert!(err.contains("cases.csv:2)"), "{err}");
}

#[test]
fn invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    write_corpus(dir.path(), &["en"], "");
    let mut bytes = HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(GOOD_ROW.as_bytes());
    bytes.extend_from_slice(b"a2,en,caf\xe9 au lait,protected,counter_speech,,,,\n");
    std::fs::write(dir.path().join("cases.csv"), bytes).unwrap();
    let err = validate_fails(dir.path());
    assert!(
        err.contains("cases.csv:3: `text`: invalid UTF-8 (byte 4 of the field)"),
        "{err}"
    );
}

#[test]
fn malformed_language_tag() {
    let dir = tempfile::tempdir().unwrap();
    write_corpus(
        dir.path(),
        &["en"],
        &format!("{GOOD_ROW}a2,en_US,some text,protected,counter_speech,,,,\n"),
    );
    let err = validate_fails(dir.path());
    assert!(err.contains("cases.csv:3: `lang`: malformed language tag"), "{err}");
    assert!(err.contains("use `-`, not `_`"), "{err}");
}

#[test]
fn language_not_declared_in_manifest() {
    let dir = tempfile::tempdir().unwrap();
    write_corpus(
        dir.path(),
        &["en"],
        &format!("{GOOD_ROW}a2,fr,du texte,protected,counter_speech,,,,\n"),
    );
    let err = validate_fails(dir.path());
    assert!(
        err.contains("cases.csv:3: `lang`: language `fr` is not among the corpus languages [en]"),
        "{err}"
    );
}

#[test]
fn manifest_lists_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    write_corpus(dir.path(), &["en"], GOOD_ROW);
    let manifest = dir.path().join("corpus.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str("files = [\"cases.csv\", \"more.csv\"]\n");
    std::fs::write(&manifest, text).unwrap();
    let err = validate_fails(dir.path());
    assert!(
        err.contains("corpus.toml:6: `files`: manifest lists `more.csv` but"),
        "{err}"
    );
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn malformed_csv_record() {
    let dir = tempfile::tempdir().unwrap();
    write_corpus(
        dir.path(),
        &["en"],
        &format!("{GOOD_ROW}a2,en,\"unterminated,protected\n"),
    );
    let err = validate_fails(dir.path());
    assert!(err.contains("cases.csv:3: record has"), "{err}");
}

#[test]
fn unknown_manifest_key() {
    let dir = tempfile::tempdir().unwrap();
    write_corpus(dir.path(), &["en"], GOOD_ROW);
    let manifest = dir.path().join("corpus.toml");
    let text = std::fs::read_to_string(&manifest).unwrap() + "licence = \"CC0\"\n";
    std::fs::write(&manifest, text).unwrap();
    let err = validate_fails(dir.path());
    assert!(
        err.contains("corpus.toml:6:1: `licence`: unknown field `licence`"),
        "{err}"
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let dir = tempfile::tempdir().unwrap();
    write_corpus(
        dir.path(),
        &["en"],
        "a1,en,,protected,c,,,,\na2,xx_Y,t,protected,c,,,,\na3,en,t,bad,c,,,,\n",
    );
    let err = validate_fails(dir.path());
    assert!(
        err.contains("cases.csv:2:") && err.contains("cases.csv:3:") && err.contains("cases.csv:4:"),
        "{err}"
    );
}

#[test]
fn unknown_scenario_key_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&dir.path().join("c"), &["en"], GOOD_ROW);
    let scenario = write_scenario(
        dir.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n\n[target]\nkind = \"builtin:keyword\"\n\n[run]\nconcurrency = 2\nconcurency = 3\n",
    );
    let err = validate_fails(&scenario);
    assert!(
        err.contains("scenario.toml:9:1: `concurency`: unknown field `concurency`, expected one of"),
        "{err}"
    );
}

#[test]
fn unknown_key_inside_the_target_table_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&dir.path().join("c"), &["en"], GOOD_ROW);
    let scenario = write_scenario(
        dir.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n\n[target]\nkind = \"builtin:keyword\"\nthreshold = 0.5\n",
    );
    let err = validate_fails(&scenario);
    assert!(
        err.contains("scenario.toml:6:1: `threshold`: unknown field `threshold`"),
        "{err}"
    );
}

#[test]
fn bad_values_in_the_scenario_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&dir.path().join("c"), &["en"], GOOD_ROW);
    let scenario = write_scenario(
        dir.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n[target]\nkind = \"command\"\ncommand = [\"./no-such-program\"]\n[run]\nconcurrency = 0\n[gates]\nmax_over_removal_rate = 1.5\n[analysis.reference]\nlanguage = \"fr\"\n",
    );
    let err = validate_fails(&scenario);
    assert!(
        err.contains("scenario.toml:5: `target.command`: program `./no-such-program` not found"),
        "{err}"
    );
    assert!(
        err.contains("scenario.toml:7: `run.concurrency`: must be between 1 and 4096, got 0"),
        "{err}"
    );
    assert!(
        err.contains("scenario.toml:9: `gates.max_over_removal_rate`: must be a share between 0 and 1"),
        "{err}"
    );
    assert!(
        err.contains("`analysis.reference.language`: reference `fr` has no cases"),
        "{err}"
    );
}

#[test]
fn run_refuses_bad_input_with_exit_2_before_writing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&dir.path().join("c"), &["en"], &format!("{GOOD_ROW}{GOOD_ROW}"));
    let scenario = write_scenario(
        dir.path(),
        &corpus,
        "name = \"x\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n",
    );
    let out = dir.path().join("out");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("duplicate id `a1`"));
    assert!(!out.exists());
}

#[test]
fn a_missing_corpus_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        dir.path(),
        &dir.path().join("nowhere"),
        "name = \"x\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n",
    );
    let err = validate_fails(&scenario);
    assert!(err.contains("nowhere: corpus directory does not exist"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let output = modaudit().args(["run", "--retry-errors"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = modaudit().arg("frobnicate").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}
