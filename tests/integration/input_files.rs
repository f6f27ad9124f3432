//! Input files as they arrive from elsewhere: symlinks out of a corpus (corpora
//! come as pull requests and CI validates them), devices, FIFOs and oversized
//! files, UTF-16 and byte-order marks, and CRLF line endings. Every reader is
//! bounded, refuses what is not a regular file, and names the right line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::corpus_tools::add_templates;
use crate::support::*;

const ROWS: &str = "a1,en,Counter-speech text,protected,counter_speech,women,,,\n";

/// Looks like a header to the CSV reader, and like a secret to a person.
const SECRET: &str = "AWS_SECRET_ACCESS_KEY=hunter2-very-secret,PATH=/usr/bin\nx,y\n";

/// `modaudit validate PATH` with a timeout, so a reader that blocks or reads
/// without end fails the test instead of hanging it.
fn validate(path: &Path) -> (Option<i32>, String) {
    let output = modaudit()
        .arg("validate")
        .arg(path)
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    (output.status.code(), stderr_of(&output))
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

/// A corpus in `tmp/c` and a secret file beside it, outside the corpus.
fn corpus_and_secret(tmp: &Path) -> (PathBuf, PathBuf) {
    let corpus = write_corpus(&tmp.join("c"), &["en"], ROWS);
    let secret = tmp.join("secret.env");
    std::fs::write(&secret, SECRET).unwrap();
    (corpus, secret)
}

#[cfg(unix)]
#[test]
fn a_case_file_symlinked_out_of_the_corpus_is_refused_without_quoting_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (corpus, secret) = corpus_and_secret(tmp.path());
    std::fs::remove_file(corpus.join("cases.csv")).unwrap();
    symlink(&secret, &corpus.join("cases.csv"));
    let (code, err) = validate(&corpus);
    assert_eq!(code, Some(2), "{err}");
    assert!(!err.contains("hunter2"), "the target's content is quoted: {err}");
    assert!(
        err.contains("cases.csv") && err.contains("outside the corpus directory"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn every_file_a_manifest_names_stays_inside_the_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let (corpus, secret) = corpus_and_secret(tmp.path());
    add_templates(
        &corpus,
        "en",
        "templates",
        "group,plural\nwomen,women\n",
        "t1,protected,neutral_mention,I admire {plural}.,,\n",
    );
    for file in ["templates/templates.csv", "templates/groups.csv", "corpus.toml"] {
        let link = corpus.join(file);
        let original = std::fs::read(&link).unwrap();
        std::fs::remove_file(&link).unwrap();
        symlink(&secret, &link);
        let (code, err) = validate(&corpus);
        assert_eq!(code, Some(2), "{file}: {err}");
        assert!(!err.contains("hunter2"), "{file}: {err}");
        assert!(err.contains("outside the corpus directory"), "{file}: {err}");
        std::fs::remove_file(&link).unwrap();
        std::fs::write(&link, original).unwrap();
    }
    let (code, err) = validate(&corpus);
    assert_eq!(code, Some(0), "restored: {err}");
}

#[cfg(unix)]
#[test]
fn a_symlinked_directory_on_the_way_out_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (corpus, _) = corpus_and_secret(tmp.path());
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("cases.csv"), format!("{HEADER}{ROWS}")).unwrap();
    symlink(&outside, &corpus.join("data"));
    let manifest = std::fs::read_to_string(corpus.join("corpus.toml")).unwrap();
    std::fs::write(
        corpus.join("corpus.toml"),
        format!("{manifest}files = [\"data/cases.csv\"]\n"),
    )
    .unwrap();
    let (code, err) = validate(&corpus);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("data/cases.csv") && err.contains("outside the corpus directory"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_that_stays_inside_the_corpus_is_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], ROWS);
    std::fs::create_dir(corpus.join("data")).unwrap();
    std::fs::rename(corpus.join("cases.csv"), corpus.join("data/all.csv")).unwrap();
    symlink(Path::new("data/all.csv"), &corpus.join("cases.csv"));
    let (code, err) = validate(&corpus);
    assert_eq!(code, Some(0), "{err}");
}

#[cfg(unix)]
#[test]
fn a_device_or_a_fifo_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], ROWS);
    std::fs::remove_file(corpus.join("cases.csv")).unwrap();
    mkfifo(&corpus.join("cases.csv"));
    let (code, err) = validate(&corpus);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cases.csv: not a regular file (a FIFO)"), "{err}");

    std::fs::remove_file(corpus.join("cases.csv")).unwrap();
    symlink(Path::new("/dev/zero"), &corpus.join("cases.csv"));
    let (code, err) = validate(&corpus);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cases.csv"), "{err}");
}

#[cfg(unix)]
#[test]
fn every_reader_refuses_a_device_or_a_fifo() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], ROWS);
    let fifo = tmp.path().join("fifo.csv");
    mkfifo(&fifo);
    let zero = tmp.path().join("zero.csv");
    symlink(Path::new("/dev/zero"), &zero);
    for input in [&fifo, &zero] {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let commands: Vec<Vec<String>> = vec![
            vec!["statements".into(), "check".into(), name.clone()],
            vec![
                "corpus".into(),
                "import".into(),
                "csv".into(),
                name.clone(),
                "--out".into(),
                "imported".into(),
                "--label-map".into(),
                "1=violating".into(),
                "--lang".into(),
                "en".into(),
            ],
            vec![
                "corpus".into(),
                "import".into(),
                "hatecheck".into(),
                name.clone(),
                "--out".into(),
                "imported".into(),
            ],
        ];
        for args in commands {
            let output = modaudit()
                .current_dir(tmp.path())
                .args(&args)
                .timeout(Duration::from_secs(20))
                .output()
                .unwrap();
            assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr_of(&output));
            assert!(
                stderr_of(&output).contains("not a regular file"),
                "{args:?}: {}",
                stderr_of(&output)
            );
        }
        for (what, target) in [
            ("replay", format!("kind = \"replay\"\nfile = \"{name}\"")),
            (
                "lexicon",
                format!("kind = \"builtin:keyword\"\nlexicons = {{ en = \"{name}\" }}"),
            ),
        ] {
            let scenario = write_scenario(
                tmp.path(),
                &corpus,
                &format!("name = \"s\"\ncorpora = [{{corpus}}]\n[target]\n{target}\n"),
            );
            let (code, err) = validate(&scenario);
            assert_eq!(code, Some(2), "{what} {name}: {err}");
            assert!(err.contains("not a regular file"), "{what} {name}: {err}");
        }
        let scenario = tmp.path().join("scenario.toml");
        std::fs::remove_file(&scenario).unwrap();
        symlink(input, &scenario);
        let (code, err) = validate(&scenario);
        assert_eq!(code, Some(2), "scenario {name}: {err}");
        assert!(err.contains("not a regular file"), "scenario {name}: {err}");
        std::fs::remove_file(&scenario).unwrap();
    }
}

#[test]
fn an_oversized_file_is_refused_naming_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], ROWS);
    let manifest = std::fs::read_to_string(corpus.join("corpus.toml")).unwrap();
    let padding = format!("# {}\n", "x".repeat(1 << 20));
    std::fs::write(corpus.join("corpus.toml"), format!("{manifest}{padding}")).unwrap();
    let (code, err) = validate(&corpus);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("corpus.toml: larger than the 1 MiB limit"), "{err}");

    std::fs::write(corpus.join("corpus.toml"), manifest).unwrap();
    // A sparse file: its size is over the limit, and nothing has to be read to know.
    let file = std::fs::File::create(corpus.join("cases.csv")).unwrap();
    file.set_len((1 << 30) + 1).unwrap();
    let (code, err) = validate(&corpus);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cases.csv: larger than the 1 GiB limit"), "{err}");
}

#[test]
fn a_quoted_header_is_cut_short_and_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], "");
    let header = format!("id,lang,text,category,\x1b[31mred,{}\n", "y".repeat(5000));
    std::fs::write(corpus.join("cases.csv"), format!("{header}a1,en,t,c,r,y\n")).unwrap();
    let (code, err) = validate(&corpus);
    assert_eq!(code, Some(2), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("missing required column `label`"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(!line.contains('\x1b'), "control characters are escaped: {line:?}");
    assert!(line.contains("\\u{1b}[31mred"), "{line}");
    assert!(line.contains('…'), "{line}");
    assert!(
        line.chars().count() < 400,
        "{} characters: {line}",
        line.chars().count()
    );
}

/// `text` as UTF-16 little-endian, with a byte-order mark if `bom`.
fn utf16le(text: &str, bom: bool) -> Vec<u8> {
    let mut bytes = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

/// `text` as UTF-16 big-endian, with a byte-order mark if `bom`.
fn utf16be(text: &str, bom: bool) -> Vec<u8> {
    let mut bytes = if bom { vec![0xFE, 0xFF] } else { Vec::new() };
    bytes.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    bytes
}

#[test]
fn utf16_gets_one_clear_message_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], ROWS);
    let cases = format!("{HEADER}{ROWS}");
    for bytes in [
        utf16le(&cases, true),
        utf16le(&cases, false),
        utf16be(&cases, true),
        utf16be(&cases, false),
    ] {
        std::fs::write(corpus.join("cases.csv"), bytes).unwrap();
        let (code, err) = validate(&corpus);
        assert_eq!(code, Some(2), "{err}");
        assert_eq!(
            err.trim_end().lines().collect::<Vec<_>>(),
            [format!(
                "error: {}: UTF-16 is not supported; save as UTF-8",
                corpus.join("cases.csv").display()
            )],
        );
    }
    std::fs::write(corpus.join("cases.csv"), &cases).unwrap();

    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"s\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n",
    );
    let text = std::fs::read_to_string(&scenario).unwrap();
    std::fs::write(&scenario, utf16le(&text, true)).unwrap();
    let (code, err) = validate(&scenario);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("scenario.toml: UTF-16 is not supported; save as UTF-8"),
        "{err}"
    );

    let statements = tmp.path().join("statements.csv");
    std::fs::write(&statements, utf16le("uuid,puid\n1,D-1\n", true)).unwrap();
    let output = modaudit()
        .args(["statements", "check"])
        .arg(&statements)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("statements.csv: UTF-16 is not supported; save as UTF-8"),
        "{}",
        stderr_of(&output)
    );

    let import = tmp.path().join("suite.csv");
    std::fs::write(&import, utf16le("text,label\nhello,1\n", true)).unwrap();
    let output = modaudit()
        .args(["corpus", "import", "csv"])
        .arg(&import)
        .args(["--out", "x", "--label-map", "1=violating", "--lang", "en"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("suite.csv: UTF-16 is not supported; save as UTF-8"),
        "{}",
        stderr_of(&output)
    );
}

const BOM: &str = "\u{feff}";

#[test]
fn a_utf8_byte_order_mark_is_accepted_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], ROWS);
    add_templates(
        &corpus,
        "en",
        ".",
        "group,plural\nwomen,women\n",
        "t1,protected,neutral_mention,I admire {plural}.,,\n",
    );
    for file in ["corpus.toml", "cases.csv", "templates.csv", "groups.csv"] {
        let text = std::fs::read_to_string(corpus.join(file)).unwrap();
        std::fs::write(corpus.join(file), format!("{BOM}{text}")).unwrap();
    }
    let (code, err) = validate(&corpus);
    assert_eq!(code, Some(0), "{err}");

    std::fs::write(tmp.path().join("lexicon.txt"), format!("{BOM}counter\n")).unwrap();
    std::fs::write(
        tmp.path().join("decisions.jsonl"),
        format!("{BOM}{{\"id\": \"a1\", \"action\": \"remove\"}}\n"),
    )
    .unwrap();
    for target in [
        "kind = \"builtin:keyword\"\nlexicons = { en = \"lexicon.txt\" }",
        "kind = \"replay\"\nfile = \"decisions.jsonl\"",
    ] {
        let scenario = write_scenario(
            tmp.path(),
            &corpus,
            &format!("{BOM}name = \"s\"\ncorpora = [{{corpus}}]\n[run]\nerror_budget = 1.0\n[target]\n{target}\n"),
        );
        let out = tmp.path().join("run");
        let output = run_scenario(&scenario, &out);
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{target}: {}",
            stderr_of(&output)
        );
        let rows = read_decisions(&out);
        let a1 = rows.iter().find(|r| r["case_id"] == "a1").unwrap();
        assert_eq!(
            a1["action"], "remove",
            "{target}: the first entry is read without the mark"
        );
        std::fs::remove_dir_all(&out).unwrap();
    }

    let suite = tmp.path().join("suite.jsonl");
    std::fs::write(&suite, format!("{BOM}{{\"text\": \"hello\", \"label\": \"1\"}}\n")).unwrap();
    let output = modaudit()
        .args(["corpus", "import", "jsonl"])
        .arg(&suite)
        .args(["--out", "imported", "--label-map", "1=violating", "--lang", "en"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));

    let statements = tmp.path().join("statements.jsonl");
    std::fs::write(&statements, format!("{BOM}{{\"puid\": \"D-1\"}}\n")).unwrap();
    let output = modaudit()
        .args(["statements", "check"])
        .arg(&statements)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
}

/// Replaces every `\n` with `\r\n`.
fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

#[test]
fn crlf_case_files_name_the_right_line() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], "");
    let rows = "a1,en,fine,protected,c,,,,\n\
                a2,en,\"two\nlines\",protected,c,,,,\n\
                a3,en,fine,hateful,c,,,,\n\
                a4,en,fine,protected\n";
    std::fs::write(corpus.join("cases.csv"), crlf(&format!("{HEADER}{rows}"))).unwrap();
    let (code, err) = validate(&corpus);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("cases.csv:5: `label`: unknown label \"hateful\""), "{err}");
    assert!(
        err.contains("cases.csv:6: record has 4 fields but the header has 9"),
        "{err}"
    );
}

#[test]
fn crlf_templates_and_groups_name_the_right_line() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], ROWS);
    add_templates(
        &corpus,
        "en",
        ".",
        &crlf("group,plural\nwomen,women\n,nobody\n"),
        &crlf("t1,protected,neutral_mention,\"I admire\n{plural}.\",,\nt2,protected,x,{missing},,\n"),
    );
    let (code, err) = validate(&corpus);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("groups.csv:3: `group`: empty group id"), "{err}");
    assert!(
        err.contains("templates.csv:4: `text`: groups have no column `missing`"),
        "{err}"
    );
}

#[test]
fn crlf_scenarios_name_the_right_line() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], ROWS);
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &crlf("name = \"s\"\ncorpora = [{corpus}]\n\n[target]\nkind = \"builtin:keyword\"\nlexicon = \"x\"\n"),
    );
    let (code, err) = validate(&scenario);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("scenario.toml:6:1: `lexicon`: unknown field `lexicon`"),
        "{err}"
    );
}

#[test]
fn crlf_recordings_name_the_right_line() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], ROWS);
    std::fs::write(
        tmp.path().join("decisions.csv"),
        crlf("id,action,reason\na1,remove,\"two\nlines\"\na2,zapped,\n"),
    )
    .unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"s\"\ncorpora = [{corpus}]\n[target]\nkind = \"replay\"\nfile = \"decisions.csv\"\n",
    );
    let (code, err) = validate(&scenario);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("decisions.csv:4: `action`: unmapped action value `zapped`"),
        "{err}"
    );
}

#[test]
fn crlf_imports_name_the_right_line() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("suite.csv");
    std::fs::write(&suite, crlf("text,label\n\"two\nlines\",1\n,1\n")).unwrap();
    let output = modaudit()
        .args(["corpus", "import", "csv"])
        .arg(&suite)
        .args(["--out", "x", "--label-map", "1=violating", "--lang", "en"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("suite.csv:4: `text`: no value in `text`"),
        "{}",
        stderr_of(&output)
    );

    let hatecheck = tmp.path().join("test_suite_cases.csv");
    let source = std::fs::read_to_string(repo().join("tests/fixtures/import/test_suite_cases.csv")).unwrap();
    let mut lines: Vec<String> = source.lines().map(str::to_string).collect();
    lines[3] = lines[3].replace("non-hateful", "maybe");
    std::fs::write(&hatecheck, crlf(&(lines.join("\n") + "\n"))).unwrap();
    let output = modaudit()
        .args(["corpus", "import", "hatecheck"])
        .arg(&hatecheck)
        .args(["--out", "hc"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("test_suite_cases.csv:4: `label_gold`: unknown label_gold \"maybe\""),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn crlf_statements_name_the_right_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("statements.csv");
    let clean = std::fs::read_to_string(repo().join("tests/fixtures/statements/clean.csv")).unwrap();
    let mut lines: Vec<String> = clean.lines().map(str::to_string).collect();
    lines[2] = lines[2].replace(",No,AUTOMATED", ",Maybe,AUTOMATED");
    lines[1] = lines[1].replace(
        "Detected and removed by an automated classifier.",
        "\"Detected and removed\nby an automated classifier.\"",
    );
    std::fs::write(&path, crlf(&(lines.join("\n") + "\n"))).unwrap();
    let output = modaudit()
        .args(["statements", "check", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let field = report["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "automated_detection")
        .cloned()
        .unwrap();
    assert_eq!(field["examples"][0], "line 4: `Maybe` is not an allowed value");
}
