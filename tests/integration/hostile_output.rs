//! Hostile text from corpora, scenarios and system answers reaches every output
//! as text, never as instructions: no formula in a spreadsheet, no escape
//! sequence on a terminal, no reordering by bidi controls, no broken XML or
//! Markdown table — and no absolute local path in a published report.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::*;

/// Terminal escape sequences: OSC (set the window title, ended by BEL), CSI by
/// ESC and by its one-character C1 form, and DEL.
const ESCAPES: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{7f}";
/// Bidi controls that reorder what follows them.
const BIDI: &str = "\u{202e}exe.txt\u{202c} \u{2066}\u{200f}\u{61c}";
/// Non-characters: not allowed in XML 1.0.
const NON_CHARACTERS: &str = "\u{fffe}\u{ffff}\u{fdd0}";
const HTML: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";
const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"x\")";
/// Breaks a Markdown table row and starts a heading.
const TABLE_BREAKER: &str = "a | b\n| c |\n# heading";

fn everything() -> String {
    format!("{FORMULA} {HTML} {ESCAPES} {BIDI} {NON_CHARACTERS} {TABLE_BREAKER}")
}

/// Characters that must not reach a published document or a terminal as such.
fn hidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{200e}' | '\u{200f}' | '\u{61c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        | '\u{fdd0}'..='\u{fdef}' | '\u{fffe}' | '\u{ffff}')
}

fn assert_nothing_hidden(what: &str, text: &str) {
    let chars: Vec<char> = text.chars().collect();
    if let Some(at) = chars.iter().position(|&c| hidden(c)) {
        let around: String = chars[at.saturating_sub(60)..(at + 20).min(chars.len())]
            .iter()
            .collect();
        panic!("{what}: {:?} at character {at}: …{around:?}…", chars[at]);
    }
}

/// CSV rows, quoted where needed.
fn csv_rows<const N: usize>(rows: &[[&str; N]]) -> String {
    let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    for row in rows {
        writer.write_record(row).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

fn jsonl(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

struct HostileRun {
    _tmp: tempfile::TempDir,
    out: PathBuf,
    output: std::process::Output,
    group: String,
    category: String,
    reason: String,
    scenario_name: String,
}

/// Ten protected posts about a hostile group are removed, ten about another
/// group are kept (a significant disparity, so a gate fails and names the
/// group), one Spanish post is unsupported, one is never recorded, and the
/// recording holds a decision for an unknown hostile id.
fn hostile_run() -> HostileRun {
    let tmp = tempfile::tempdir().unwrap();
    let group = format!("{HTML} {ESCAPES} {BIDI} {NON_CHARACTERS} {TABLE_BREAKER}");
    let category = format!("{FORMULA} {ESCAPES} {BIDI}");
    let reason = everything();
    let scenario_name = format!("hostile {ESCAPES} {BIDI} {HTML} | {NON_CHARACTERS}");
    let text = format!("kill {}", everything());
    let mut cases: Vec<[String; 9]> = Vec::new();
    let mut recording = Vec::new();
    for i in 0..10 {
        let hostile_id = format!("=HYPERLINK(\"http://evil.example\",\"g{i}\")\u{202e}");
        let family = format!("{TABLE_BREAKER} {BIDI} p{i}");
        cases.push([
            hostile_id.clone(),
            "en".into(),
            text.clone(),
            "protected".into(),
            category.clone(),
            group.clone(),
            String::new(),
            family.clone(),
            String::new(),
        ]);
        cases.push([
            format!("w{i}"),
            "en".into(),
            "women deserve respect".into(),
            "protected".into(),
            "counter_speech".into(),
            "women".into(),
            String::new(),
            family,
            String::new(),
        ]);
        recording.push(json!({"id": hostile_id, "action": "remove", "score": 0.9, "reason": reason, "rule": "@rule(1)", "decision_id": "-1+cmd|' /C calc'!A0"}));
        recording.push(json!({"id": format!("w{i}"), "action": "allow", "score": -0.5}));
    }
    cases.push(
        [
            "es1",
            "es",
            "un texto",
            "protected",
            "counter_speech",
            "mujeres",
            "",
            "",
            "",
        ]
        .map(String::from),
    );
    recording.push(json!({"id": "es1", "action": "unsupported", "reason": reason}));
    cases.push(
        [
            "missing1",
            "en",
            "never recorded",
            "protected",
            "counter_speech",
            "women",
            "",
            "",
            "",
        ]
        .map(String::from),
    );
    recording.push(json!({"id": format!("zz {HTML} {BIDI} {TABLE_BREAKER} {ESCAPES}"), "action": "allow"}));
    let rows: Vec<[&str; 9]> = cases.iter().map(|c| c.each_ref().map(String::as_str)).collect();
    let corpus = write_corpus(&tmp.path().join("corpus"), &["en", "es"], &csv_rows(&rows));
    std::fs::write(tmp.path().join("recording.jsonl"), jsonl(&recording)).unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = {}\ncorpora = [{{corpus}}]\n[target]\nkind = \"replay\"\nfile = \"recording.jsonl\"\n\
             [run]\nerror_budget = 1.0\n[analysis]\nmin_n = 5\n[gates]\nmax_disparity_ratio = 1.0\n",
            toml_escaped(&scenario_name)
        ),
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    HostileRun {
        _tmp: tmp,
        out,
        output,
        group,
        category,
        reason,
        scenario_name,
    }
}

/// A TOML basic string with every character that is not printable ASCII escaped.
fn toml_escaped(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Number of cell separators in a Markdown table row (pipes not escaped).
fn unescaped_pipes(line: &str) -> usize {
    let mut count = 0;
    let mut escaped = false;
    for c in line.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => count += 1,
            _ => escaped = false,
        }
    }
    count
}

#[test]
fn hostile_text_is_shown_and_never_obeyed_in_every_report() {
    let run = hostile_run();
    assert_eq!(run.output.status.code(), Some(1), "{}", stderr_of(&run.output));

    let md = read(&run.out, "report.md");
    assert_nothing_hidden("report.md", &md);
    assert!(md.contains("&lt;U+202E&gt;exe.txt"), "bidi made visible in report.md");
    assert!(!md.contains("<script") && !md.contains("<img"), "no HTML in report.md");
    assert!(
        !md.lines().any(|l| l.starts_with("# heading") || l.starts_with("| c |")),
        "hostile text starts no heading or row"
    );
    let mut header_pipes = None;
    for line in md.lines() {
        if line.starts_with('|') {
            let pipes = unescaped_pipes(line);
            let expected = *header_pipes.get_or_insert(pipes);
            assert_eq!(pipes, expected, "a row with the columns of its table: {line}");
        } else {
            header_pipes = None;
        }
    }

    let html = read(&run.out, "report.html");
    assert_nothing_hidden("report.html", &html);
    assert!(
        html.contains("&lt;U+202E&gt;exe.txt"),
        "bidi made visible in report.html"
    );
    assert!(!html.contains("<script") && !html.contains("<img"), "no HTML injected");
    let svg_label = html.find("<svg").expect("a chart");
    assert!(
        html[svg_label..].contains("&lt;U+202E&gt;"),
        "bidi made visible in chart labels"
    );

    let junit = read(&run.out, "junit.xml");
    assert_nothing_hidden("junit.xml", &junit);
    let xml =
        roxmltree::Document::parse(&junit).unwrap_or_else(|e| panic!("junit.xml is not well-formed: {e}\n{junit}"));
    let suite = xml
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("a test suite");
    assert!(suite.attribute("name").unwrap().contains("<U+202E>"), "{junit}");
    let failure = xml
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("the disparity gate failed");
    assert!(failure.attribute("message").unwrap().contains("<U+FFFE>"), "{junit}");

    let results_text = read(&run.out, "results.json");
    assert_nothing_hidden("results.json", &results_text);
    let results: Value = serde_json::from_str(&results_text).unwrap();
    assert_eq!(
        results["run"]["scenario"],
        run.scenario_name.as_str(),
        "JSON escapes, losing nothing"
    );
    assert_eq!(results["unsupported"][0]["reason"], run.reason.as_str());
    let values: Vec<&str> = results["slices"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["value"].as_str())
        .collect();
    assert!(values.contains(&run.group.as_str()) && values.contains(&run.category.as_str()));

    let stdout = String::from_utf8(run.output.stdout.clone()).unwrap();
    assert_nothing_hidden("terminal summary", &stdout);
    assert!(!stdout.contains('\r'));
    assert!(
        !stdout
            .lines()
            .any(|l| l.starts_with("| c |") || l.starts_with("# heading")),
        "a value makes up no line of its own: {stdout}"
    );
    assert!(
        stdout.contains("\\x1b]0;pwned\\x07"),
        "escapes shown, not applied: {stdout}"
    );
    assert!(stdout.contains("\\u{202e}"), "{stdout}");

    let journal = read(&run.out, "journal.jsonl");
    let raw: Vec<Value> = journal.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(
        raw.iter().any(|d| d["notice"]["reason"] == run.reason.as_str()),
        "the journal keeps the raw answer"
    );
}

#[test]
fn decisions_csv_neutralises_formulas_and_keeps_numbers() {
    let run = hostile_run();
    let rows = read_decisions(&run.out);
    let hostile = rows
        .iter()
        .find(|r| r["case_id"].contains("\"g0\""))
        .expect("the hostile case");
    assert_eq!(
        hostile["case_id"],
        format!("'=HYPERLINK(\"http://evil.example\",\"g0\")\u{202e}")
    );
    assert_eq!(hostile["category"], format!("'{}", run.category));
    assert_eq!(hostile["reason"], format!("'{}", run.reason));
    assert_eq!(hostile["rule"], "'@rule(1)");
    assert_eq!(hostile["decision_id"], "'-1+cmd|' /C calc'!A0");
    assert_eq!(
        hostile["target_group"], run.group,
        "text not starting a formula is kept"
    );
    assert_eq!(hostile["score"], "0.9");
    let kept = rows.iter().find(|r| r["case_id"] == "w0").unwrap();
    assert_eq!(kept["score"], "-0.5", "a negative number stays a number");
    assert_eq!(kept["text"], "women deserve respect");
    for row in &rows {
        for (column, cell) in row {
            let starts_formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
            assert!(
                !starts_formula || cell.parse::<f64>().is_ok(),
                "{column} = {cell:?} would be a formula"
            );
        }
    }
}

#[test]
fn formula_like_text_with_tab_and_cr_is_neutralised() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = csv_rows(&[
        [
            "t1",
            "en",
            "\tTAB=1+1",
            "protected",
            "counter_speech",
            "+group",
            "",
            "",
            "",
        ],
        [
            "t2",
            "en",
            "\rCR=1+1",
            "protected",
            "counter_speech",
            "-group",
            "",
            "",
            "",
        ],
        ["t3", "en", "-3", "protected", "counter_speech", "@group", "", "", ""],
    ]);
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], &rows);
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"tabs\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n",
    );
    let out = tmp.path().join("out");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let rows = read_decisions(&out);
    assert_eq!(rows[0]["text"], "'\tTAB=1+1");
    assert_eq!(rows[0]["target_group"], "'+group");
    assert_eq!(rows[1]["text"], "'\rCR=1+1");
    assert_eq!(rows[1]["target_group"], "'-group");
    assert_eq!(rows[2]["text"], "-3", "a number is not a formula");
    assert_eq!(rows[2]["target_group"], "'@group");
}

#[test]
fn data_csv_files_keep_formula_like_text_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.csv");
    let text = format!("{FORMULA} {ESCAPES}");
    std::fs::write(
        &input,
        csv_rows(&[["text", "label"], [&text, "hateful"], ["\t@tab", "ok"]]),
    )
    .unwrap();
    let out = tmp.path().join("imported");
    let output = modaudit()
        .args(["corpus", "import", "csv"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(["--label-map", "hateful=violating,ok=protected", "--lang", "en"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let mut reader = csv::Reader::from_path(out.join("cases.csv")).unwrap();
    let texts: Vec<String> = reader.records().map(|r| r.unwrap()[2].to_string()).collect();
    assert_eq!(
        texts,
        [text.as_str(), "\t@tab"],
        "a corpus is data: its text stays exact"
    );
}

#[test]
fn values_with_line_breaks_cannot_make_up_lines_of_their_own() {
    // a category and a statement value that try to print a line of their own
    let tmp = tempfile::tempdir().unwrap();
    let forged = "news\nflags (0)";
    let rows = csv_rows(&[
        ["b1", "en", "a post", "protected", forged, "women", "", "", ""],
        ["b2", "en", "a post", "violating", "threat", "women", "", "", ""],
    ]);
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], &rows);
    let output = modaudit().args(["corpus", "stats"]).arg(&corpus).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        !stdout.lines().any(|l| l == "flags (0)"),
        "a corpus value printed a line of its own: {stdout}"
    );
    assert!(stdout.contains("news\\nflags (0)"), "{stdout}");

    let statements = tmp.path().join("statements.jsonl");
    std::fs::write(
        &statements,
        format!(
            "{}\n",
            json!({"puid": "D-1", "automated_detection": "Yes\njoined to the run: 9 of 9"})
        ),
    )
    .unwrap();
    let output = modaudit()
        .args(["statements", "check"])
        .arg(&statements)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        !stdout.lines().any(|l| l.starts_with("joined to the run")),
        "a statement's value printed a line of its own: {stdout}"
    );
}

#[test]
fn terminal_output_of_every_command_escapes_control_characters() {
    let tmp = tempfile::tempdir().unwrap();
    let hostile = format!("{ESCAPES} {BIDI}");
    let rows = csv_rows(&[
        ["a1", "en", "a post", "protected", &hostile, &hostile, "", "", ""],
        ["a2", "en", "a post", "violating", "threat", &hostile, "", "", ""],
    ]);
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], &rows);
    let manifest = std::fs::read_to_string(corpus.join("corpus.toml")).unwrap();
    std::fs::write(
        corpus.join("corpus.toml"),
        manifest.replace("name = \"test\"", &format!("name = {}", toml_escaped(&hostile))),
    )
    .unwrap();
    let check = |what: &str, output: std::process::Output, code: i32| {
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(code), "{what}: {stdout}{stderr}");
        for text in [&stdout, &stderr] {
            assert_nothing_hidden(what, text);
        }
        assert!(
            format!("{stdout}{stderr}").contains("\\x1b]0;pwned\\x07"),
            "{what}: the escape is shown: {stdout}{stderr}"
        );
    };
    check("validate", modaudit().arg("validate").arg(&corpus).output().unwrap(), 0);
    check(
        "corpus stats",
        modaudit().args(["corpus", "stats"]).arg(&corpus).output().unwrap(),
        0,
    );
    let output = modaudit()
        .args(["corpus", "stats", "--json"])
        .arg(&corpus)
        .output()
        .unwrap();
    let json = String::from_utf8(output.stdout).unwrap();
    assert_nothing_hidden("corpus stats --json", &json);
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert!(parsed.to_string().contains('\u{202e}'), "JSON output loses nothing");

    let statements = tmp.path().join("statements.jsonl");
    std::fs::write(
        &statements,
        format!("{}\n", json!({"puid": hostile, "automated_detection": hostile})),
    )
    .unwrap();
    check(
        "statements check",
        modaudit()
            .args(["statements", "check"])
            .arg(&statements)
            .output()
            .unwrap(),
        1,
    );

    let scenario = tmp.path().join("bad.toml");
    std::fs::write(
        &scenario,
        format!(
            "name = \"x\"\ncorpora = [{}]\n[target]\nkind = \"builtin:keyword\"\n",
            toml_escaped(&format!("missing {ESCAPES}"))
        ),
    )
    .unwrap();
    check(
        "an error",
        modaudit().arg("validate").arg(&scenario).output().unwrap(),
        2,
    );
}

#[test]
fn corpus_expand_writes_exact_data_when_piped() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en"],
        "x1,en,a post,protected,counter_speech,,,,\n",
    );
    let manifest = std::fs::read_to_string(corpus.join("corpus.toml")).unwrap();
    std::fs::write(
        corpus.join("corpus.toml"),
        format!("{manifest}\n[[templates]]\nlang = \"en\"\ntemplates = \"templates.csv\"\ngroups = \"groups.csv\"\n"),
    )
    .unwrap();
    let text = format!("=SUM(1) {{plural}} {ESCAPES} {BIDI}");
    std::fs::write(
        corpus.join("templates.csv"),
        csv_rows(&[
            ["template_id", "label", "category", "text", "groups", "notes"],
            ["t1", "protected", "counter_speech", &text, "", ""],
        ]),
    )
    .unwrap();
    std::fs::write(corpus.join("groups.csv"), "group,plural\nwomen,women\n").unwrap();
    let output = modaudit().args(["corpus", "expand"]).arg(&corpus).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let mut reader = csv::Reader::from_reader(output.stdout.as_slice());
    let texts: Vec<String> = reader.records().map(|r| r.unwrap()[2].to_string()).collect();
    assert_eq!(texts, [text.replace("{plural}", "women")]);
}

#[test]
fn published_reports_name_no_local_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("corpus"),
        &["en"],
        "c1,en,people like you should be killed,violating,threat,women,,,\n\
         c2,en,a normal post,protected,counter_speech,women,,,\n\
         c3,en,crash here,protected,counter_speech,women,,,\n",
    );
    let log = tmp.path().join("model.log");
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"paths\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"command\"\ncommand = {}\n\
             [run]\nerror_budget = 1.0\nmax_attempts = 1\n",
            toml_command(&[
                fake_model(),
                "--remove-if-contains",
                "killed",
                "--log",
                &log.display().to_string(),
                "--crash-on",
                "c3"
            ])
        ),
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_no_local_paths(tmp.path(), &out);
    let md = read(&out, "report.md");
    assert!(md.contains("modaudit-fake-model"), "the program is still named: {md}");
    assert!(
        md.contains("model.log"),
        "files are named relative to the scenario: {md}"
    );
}

#[test]
fn replayed_decisions_name_their_file_without_its_location() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("corpus"),
        &["en"],
        "r1,en,post one,protected,counter_speech,women,,,\nr2,en,post two,protected,counter_speech,women,,,\n",
    );
    std::fs::create_dir(tmp.path().join("recorded")).unwrap();
    std::fs::write(
        tmp.path().join("recorded/decisions.csv"),
        "id,action\nr1,remove\nzz,allow\n",
    )
    .unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"replay\"\ncorpora = [{corpus}]\n[target]\nkind = \"replay\"\nfile = \"recorded/decisions.csv\"\n[run]\nerror_budget = 1.0\n",
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_no_local_paths(tmp.path(), &out);
    let md = read(&out, "report.md");
    assert!(md.contains("recorded/decisions.csv"), "{md}");
    let rows = read_decisions(&out);
    assert!(rows[1]["error"].contains("recorded/decisions.csv"), "{:?}", rows[1]);
}

/// No published file holds the absolute path of `root` (or of the repository,
/// where the test programs live); the manifest may.
fn assert_no_local_paths(root: &Path, out: &Path) {
    let mut locations = vec![root.display().to_string(), repo().display().to_string()];
    if let Ok(canonical) = root.canonicalize() {
        locations.push(canonical.display().to_string());
    }
    for name in modaudit::report::OUTPUT_FILES {
        // HTML escapes `/` as `&#x2f;`; JSON may escape it as `\/`.
        let text = read(out, name).replace("&#x2f;", "/").replace("\\/", "/");
        for location in &locations {
            assert!(!text.contains(location.as_str()), "{name} names {location}:\n{text}");
        }
    }
    let manifest = read(out, "manifest.json");
    assert!(
        manifest.contains(&root.display().to_string()),
        "the manifest keeps where the run came from"
    );
}
