//! `modaudit diff RUN_A RUN_B` and `[baseline]`: two runs of the same cases
//! compared case for case, with every decision recorded (the `replay` target),
//! so each flip is known in advance.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

const HOSTILE_TEXT: &str =
    "<script>alert(1)</script> | **bold** \u{1b}]0;pwned\u{7}\u{1b}[2J \u{202e}exe.txt\n# heading";

/// A corpus of 60 protected Arabic and 60 protected English posts (counter-speech
/// about migrants) and 20 violating threats in each language.
struct Bench {
    tmp: tempfile::TempDir,
    corpus: PathBuf,
    ids: Vec<String>,
}

fn bench() -> Bench {
    bench_with(|_| None)
}

/// A bench whose case texts `text(id)` may replace.
fn bench_with(text: impl Fn(&str) -> Option<String>) -> Bench {
    let tmp = tempfile::tempdir().unwrap();
    let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    let mut ids = Vec::new();
    for (lang, protected, violating) in [
        ("ar", "نحن نرفض خطاب الكراهية ضد المهاجرين", "سنقتلكم جميعا"),
        (
            "en",
            "we stand with migrants against hate",
            "we will hurt every one of you",
        ),
    ] {
        for (label, prefix, body, category, count) in [
            ("protected", "p", protected, "counter_speech", 60),
            ("violating", "v", violating, "threat", 20),
        ] {
            for i in 0..count {
                let id = format!("{lang}-{prefix}{i:02}");
                let content = text(&id).unwrap_or_else(|| format!("{body} {i}"));
                writer
                    .write_record([id.as_str(), lang, &content, label, category, "migrants", "", "", ""])
                    .unwrap();
                ids.push(id);
            }
        }
    }
    let rows = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    let corpus = write_corpus(&tmp.path().join("corpus"), &["ar", "en"], &rows);
    Bench { tmp, corpus, ids }
}

/// What run A decides: protected posts stay up, threats come down.
fn baseline_action(id: &str) -> &'static str {
    if id.contains("-v") { "remove" } else { "allow" }
}

/// What run B decides: as run A, and the first 30 protected Arabic posts come down too.
fn regressed_action(id: &str) -> &'static str {
    match id.strip_prefix("ar-p").and_then(|n| n.parse::<u32>().ok()) {
        Some(n) if n < 30 => "remove",
        _ => baseline_action(id),
    }
}

impl Bench {
    fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes scenario `name` (its own directory, recording and `extra` TOML)
    /// replaying `action` for every case, and returns the scenario's path.
    fn scenario(&self, name: &str, action: impl Fn(&str) -> &'static str, extra: &str) -> PathBuf {
        let dir = self.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let recording: String = self.ids.iter().map(|id| format!("{id},{}\n", action(id))).collect();
        std::fs::write(dir.join("recorded.csv"), format!("id,action\n{recording}")).unwrap();
        write_scenario(
            &dir,
            &self.corpus,
            &format!(
                "name = \"{name}\"\ncorpora = [{{corpus}}]\n\n[target]\nkind = \"replay\"\nfile = \"recorded.csv\"\n{extra}"
            ),
        )
    }

    /// Runs scenario `name` into `<name>-run` and returns the run directory.
    fn run(&self, name: &str, action: impl Fn(&str) -> &'static str) -> PathBuf {
        let scenario = self.scenario(name, action, "");
        let out = self.path().join(format!("{name}-run"));
        let output = run_scenario(&scenario, &out);
        assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
        out
    }
}

fn diff(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let output = modaudit().arg("diff").args(args).output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr_of(&output),
    )
}

fn slice<'a>(diff: &'a Value, key: &str) -> &'a Value {
    let (measure, rest) = key.split_once('.').unwrap();
    let (dimension, value) = rest.split_once('.').unwrap_or((rest, "all"));
    diff["slices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["measure"] == measure && s["dimension"] == dimension && s["value"] == value)
        .unwrap_or_else(|| panic!("no slice {key}"))
}

fn flipped_ids(diff: &Value) -> BTreeSet<String> {
    diff["flips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["case_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn thirty_more_protected_arabic_posts_removed_is_a_significant_regression() {
    let bench = bench();
    let a = bench.run("before", baseline_action);
    let b = bench.run("after", regressed_action);
    let out = bench.path().join("comparison");
    let (code, stdout, stderr) = diff(&[
        a.as_os_str(),
        b.as_os_str(),
        "--max-regression".as_ref(),
        "0.02".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("Regression: over-removal rose by more than 2.0 points"),
        "{stdout}"
    );

    let json = read_json(&out.join("diff.json"));
    assert_eq!(json["schema_version"], 1);
    let arabic = slice(&json, "over_removal.language.ar");
    assert_eq!(arabic["n"], 60);
    assert_eq!(arabic["a"]["adverse"], 0);
    assert_eq!(arabic["b"]["adverse"], 30);
    assert_eq!(arabic["newly_adverse"], 30);
    assert_eq!(arabic["change"], 0.5);
    assert_eq!(arabic["significant"], true);
    assert!(arabic["p_adjusted"].as_f64().unwrap() < 1e-8, "{arabic}");
    let [lower, upper] = [0, 1].map(|i| arabic["change_ci"][i].as_f64().unwrap());
    assert!(0.3 < lower && lower < 0.5 && 0.5 < upper && upper < 0.7, "{arabic}");
    let english = slice(&json, "over_removal.language.en");
    assert_eq!(
        (english["change"].as_f64(), &english["significant"]),
        (Some(0.0), &Value::Bool(false))
    );
    assert_eq!(slice(&json, "detection.overall")["change"], 0.0);

    let expected: BTreeSet<String> = (0..30).map(|i| format!("ar-p{i:02}")).collect();
    assert_eq!(flipped_ids(&json), expected);
    assert!(
        json["flips"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["flip"] == "newly_adverse"
                && f["label"] == "protected"
                && f["a"] == "allow"
                && f["b"] == "remove")
    );
    assert!(json["outcome_changes"].as_array().unwrap().is_empty());

    let gate = &json["gate"];
    assert_eq!(gate["status"], "failed");
    let regressed: BTreeSet<&str> = gate["checked"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["regressed"] == true)
        .map(|c| c["slice"].as_str().unwrap())
        .collect();
    assert!(regressed.contains("over_removal.language.ar"), "{regressed:?}");
    assert!(!regressed.contains("over_removal.language.en"), "{regressed:?}");

    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let failing: BTreeSet<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase") && n.children().any(|c| c.has_tag_name("failure")))
        .filter_map(|n| n.attribute("name"))
        .collect();
    assert_eq!(failing, regressed);
    let passing = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase") && n.attribute("name") == Some("over_removal.language.en"))
        .count();
    assert_eq!(passing, 1, "every checked slice is a test case: {junit}");

    let md = std::fs::read_to_string(out.join("diff.md")).unwrap();
    for id in &expected {
        assert!(md.contains(id.as_str()), "{id} listed in diff.md");
    }
    assert!(md.contains("Language: Arabic (ar)"), "{md}");
    let html = std::fs::read_to_string(out.join("diff.html")).unwrap();
    assert!(
        html.contains("ar-p29") && !html.contains("<script"),
        "self-contained and script-free"
    );
    assert!(html.contains("Content-Security-Policy"));
}

#[test]
fn two_identical_runs_show_no_change_and_pass() {
    let bench = bench();
    let a = bench.run("first", baseline_action);
    let b = bench.run("second", baseline_action);
    let out = bench.path().join("comparison");
    let (code, stdout, stderr) = diff(&[
        a.as_os_str(),
        b.as_os_str(),
        "--max-regression".as_ref(),
        "0.02".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("No regression beyond 2.0 points"), "{stdout}");
    let json = read_json(&out.join("diff.json"));
    assert!(json["flips"].as_array().unwrap().is_empty());
    for s in json["slices"].as_array().unwrap() {
        assert_eq!(s["change"], 0.0, "{s}");
        assert_eq!(s["significant"], false, "{s}");
    }
    assert_eq!(json["system"]["same_fingerprint"], true);
    assert_eq!(json["corpus"]["compared"], 160);
    assert_eq!(json["gate"]["status"], "passed");
    // Without a threshold there is nothing to fail.
    let (code, stdout, _) = diff(&[a.as_os_str(), b.as_os_str()]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("No regression gate set"), "{stdout}");
}

#[test]
fn a_changed_corpus_is_refused_naming_a_case_or_left_out_with_counts() {
    let bench = bench();
    let a = bench.run("before", baseline_action);
    // The same ids in a second corpus: one text edited, one label changed, one case dropped, one added.
    let changed = bench.path().join("corpus-v2");
    std::fs::create_dir_all(&changed).unwrap();
    std::fs::copy(bench.corpus.join("corpus.toml"), changed.join("corpus.toml")).unwrap();
    let cases = std::fs::read_to_string(bench.corpus.join("cases.csv")).unwrap();
    let mut lines: Vec<String> = cases.lines().map(String::from).collect();
    let find = |lines: &[String], id: &str| lines.iter().position(|l| l.starts_with(&format!("{id},"))).unwrap();
    let edited = find(&lines, "en-p05");
    lines[edited] = lines[edited].replace("hate 5", "hate! 5");
    let relabelled = find(&lines, "en-p06");
    lines[relabelled] = lines[relabelled].replace("protected", "violating");
    let dropped = find(&lines, "en-p07");
    lines.remove(dropped);
    lines.push("en-new,en,a post added later,protected,counter_speech,migrants,,,".into());
    std::fs::write(changed.join("cases.csv"), lines.join("\n") + "\n").unwrap();
    let scenario_dir = bench.path().join("v2");
    std::fs::create_dir_all(&scenario_dir).unwrap();
    let ids: Vec<String> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let recording: String = ids.iter().map(|id| format!("{id},{}\n", baseline_action(id))).collect();
    std::fs::write(scenario_dir.join("recorded.csv"), format!("id,action\n{recording}")).unwrap();
    let scenario = write_scenario(
        &scenario_dir,
        &changed,
        "name = \"v2\"\ncorpora = [{corpus}]\n\n[target]\nkind = \"replay\"\nfile = \"recorded.csv\"\n",
    );
    let b = bench.path().join("v2-run");
    let output = run_scenario(&scenario, &b);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));

    let (code, stdout, stderr) = diff(&[a.as_os_str(), b.as_os_str()]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("not made on the same cases"), "{stderr}");
    assert!(
        stderr.contains("case `en-p05` has a different text in run B"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-corpus-change"), "{stderr}");

    let out = bench.path().join("comparison");
    let (code, stdout, stderr) = diff(&[
        a.as_os_str(),
        b.as_os_str(),
        "--allow-corpus-change".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "1 case only in run A, 1 case only in run B, 1 case with a changed text, 1 case with a changed label"
        ),
        "{stdout}"
    );
    let json = read_json(&out.join("diff.json"));
    assert_eq!(json["corpus"]["compared"], 157);
    assert_eq!(
        json["corpus"]["left_out"],
        serde_json::json!({"only_in_a": 1, "only_in_b": 1, "text_changed": 1, "label_changed": 1})
    );
    let md = std::fs::read_to_string(out.join("diff.md")).unwrap();
    assert!(md.contains("Left out because the corpora differ"), "{md}");
}

#[test]
fn hostile_text_of_flipped_cases_is_escaped_in_every_medium() {
    let bench = bench_with(|id| (id == "ar-p00").then(|| HOSTILE_TEXT.to_string()));
    let a = bench.run("before", baseline_action);
    let b = bench.run("after", regressed_action);
    let out = bench.path().join("comparison");
    let (code, stdout, stderr) = diff(&[
        a.as_os_str(),
        b.as_os_str(),
        "--max-regression".as_ref(),
        "0.02".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let acting = |c: char| matches!(c, '\u{1b}' | '\u{7}' | '\u{202e}');
    assert!(!stdout.chars().any(acting), "terminal: {stdout:?}");
    assert!(stdout.contains("\\x1b]0;pwned"), "{stdout}");

    let md = std::fs::read_to_string(out.join("diff.md")).unwrap();
    assert!(!md.chars().any(acting));
    assert!(!md.contains("<script>") && md.contains("&lt;script&gt;"), "{md}");
    assert!(md.contains("\\*\\*bold\\*\\*") && !md.contains("\n# heading"), "{md}");
    let row = md.lines().find(|l| l.contains("ar-p00")).unwrap();
    assert_eq!(row.matches(" | ").count(), 7, "the text stays in its cell: {row}");
    assert!(row.contains("<U+001B>") || row.contains("&lt;U+001B&gt;"), "{row}");

    let html = std::fs::read_to_string(out.join("diff.html")).unwrap();
    assert!(!html.chars().any(acting));
    assert!(
        !html.contains("<script") && html.contains("&lt;script&gt;alert(1)"),
        "escaped"
    );
    assert!(html.contains("&lt;U+202E&gt;exe.txt"), "bidi control shown");

    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(!junit.chars().any(acting));
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let arabic = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("over_removal.language.ar"))
        .unwrap();
    let text: String = arabic.descendants().filter_map(|n| n.text()).collect();
    assert!(
        text.contains("ar-p00") && text.contains("<script>alert(1)</script>"),
        "{text}"
    );
    assert!(text.contains("<U+001B>]0;pwned<U+0007>"), "{text}");

    let json = std::fs::read_to_string(out.join("diff.json")).unwrap();
    assert!(!json.chars().any(acting));
    let value: Value = serde_json::from_str(&json).unwrap();
    let flip = value["flips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["case_id"] == "ar-p00")
        .unwrap();
    assert_eq!(flip["text"], HOSTILE_TEXT, "diff.json keeps the exact text");
}

#[test]
fn cases_are_read_from_the_corpora_or_decisions_csv_when_the_scenario_has_changed() {
    // A text that starts a spreadsheet formula comes back exactly from decisions.csv.
    let bench = bench_with(|id| (id == "en-p00").then(|| "=1+1 and -minus".to_string()));
    let a = bench.run("before", baseline_action);
    let b = bench.run("after", regressed_action);
    // Run A's scenario changes after the run: its corpus files still match.
    let scenario = bench.path().join("before/scenario.toml");
    let text = std::fs::read_to_string(&scenario).unwrap();
    std::fs::write(&scenario, format!("# edited after the run\n{text}")).unwrap();
    let (code, stdout, stderr) = diff(&[
        a.as_os_str(),
        b.as_os_str(),
        "--out".as_ref(),
        bench.path().join("c1").as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let json = read_json(&bench.path().join("c1/diff.json"));
    assert_eq!(json["a"]["case_source"], "corpora");
    assert_eq!(json["b"]["case_source"], "scenario");
    assert_eq!(flipped_ids(&json).len(), 30);

    // The corpus moves away: run A's own decisions.csv is the source.
    std::fs::rename(&bench.corpus, bench.path().join("moved")).unwrap();
    let (code, stdout, stderr) = diff(&[
        b.as_os_str(),
        a.as_os_str(),
        "--out".as_ref(),
        bench.path().join("c2").as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let json = read_json(&bench.path().join("c2/diff.json"));
    assert_eq!(json["a"]["case_source"], "decisions_csv");
    assert_eq!(json["b"]["case_source"], "decisions_csv");
    assert_eq!(
        json["corpus"]["compared"], 160,
        "the formula guard is undone: texts match"
    );
    let flips = json["flips"].as_array().unwrap();
    assert_eq!(flips.len(), 30);
    assert!(flips.iter().all(|f| f["flip"] == "no_longer_adverse"));

    // A decisions.csv edited since the run is not trusted.
    let csv = b.join("decisions.csv");
    let edited = std::fs::read_to_string(&csv)
        .unwrap()
        .replace("we stand with", "we stood with");
    std::fs::write(&csv, edited).unwrap();
    let (code, _, stderr) = diff(&[a.as_os_str(), b.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot find the texts and labels of the run's cases"),
        "{stderr}"
    );
    assert!(
        stderr.contains("decisions.csv has changed since the run was reported"),
        "{stderr}"
    );
}

#[test]
fn an_incomplete_run_or_a_foreign_case_cannot_be_compared() {
    let bench = bench();
    let a = bench.run("before", baseline_action);
    let b = bench.run("after", baseline_action);
    let journal = std::fs::read_to_string(b.join("journal.jsonl")).unwrap();

    let mut half: Vec<&str> = journal.lines().collect();
    half.truncate(100);
    std::fs::write(b.join("journal.jsonl"), half.join("\n") + "\n").unwrap();
    let (code, _, stderr) = diff(&[a.as_os_str(), b.as_os_str()]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("the run is incomplete (60 cases undecided)"),
        "{stderr}"
    );
    assert!(stderr.contains("modaudit run --resume"), "{stderr}");

    let foreign = journal.lines().next().unwrap().replace("\"ar-p00\"", "\"zz-unknown\"");
    std::fs::write(b.join("journal.jsonl"), format!("{journal}{foreign}\n")).unwrap();
    let (code, _, stderr) = diff(&[a.as_os_str(), b.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("zz-unknown"), "{stderr}");

    let (code, _, stderr) = diff(&[a.as_os_str(), bench.corpus.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is not a modaudit run directory"), "{stderr}");

    let (code, _, stderr) = diff(&[a.as_os_str(), a.as_os_str(), "--max-regression".as_ref(), "2".as_ref()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not a share between 0 and 1"), "{stderr}");
}

#[test]
fn a_scenario_baseline_is_compared_reported_and_gated() {
    let bench = bench();
    let baseline = bench.run("before", baseline_action);
    assert!(baseline.ends_with("before-run"));
    let scenario = bench.scenario(
        "after",
        regressed_action,
        "\n[baseline]\nrun = \"../before-run\"\nmax_regression = 0.02\n",
    );
    let out = bench.path().join("after-run");
    let output = run_scenario(&scenario, &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}{}", stderr_of(&output));
    assert!(stdout.contains("baseline      before-run"), "{stdout}");
    assert!(stdout.contains("max_regression"), "{stdout}");

    for file in ["diff.md", "diff.html", "diff.json"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let json = read_json(&out.join("diff.json"));
    assert_eq!(flipped_ids(&json).len(), 30);
    let results = read_json(&out.join("results.json"));
    assert_eq!(results["outcome"]["status"], "gates_failed");
    assert_eq!(results["baseline"]["baseline"]["run_id"], "before-run");
    let gate = results["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "max_regression")
        .unwrap();
    assert_eq!(gate["passed"], false);
    assert!(
        gate["detail"].as_str().unwrap().contains("over_removal.language.ar"),
        "{gate}"
    );
    let manifest = read_json(&out.join("manifest.json"));
    assert!(manifest["outputs"]["diff.json"].is_string(), "{manifest}");

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Change since the baseline"), "{md}");
    assert!(md.contains("Language: Arabic (ar)"), "{md}");
    assert!(md.contains("FAILED"), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Change since the baseline"));
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let gate_case = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("max_regression"))
        .unwrap();
    assert!(gate_case.children().any(|c| c.has_tag_name("failure")));

    // Rebuilding the report compares again, with the same result.
    let rebuilt = modaudit().arg("report").arg(&out).output().unwrap();
    assert_eq!(rebuilt.status.code(), Some(1), "{}", stderr_of(&rebuilt));

    // Without a gate the comparison is reported and nothing fails.
    let scenario = bench.scenario("informed", regressed_action, "\n[baseline]\nrun = \"../before-run\"\n");
    let output = run_scenario(&scenario, &bench.path().join("informed-run"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
}

#[test]
fn a_baseline_that_cannot_be_compared_stops_the_run_before_it_asks_anything() {
    let bench = bench();
    let scenario = bench.scenario("after", baseline_action, "\n[baseline]\nrun = \"../nowhere\"\n");
    let output = run_scenario(&scenario, &bench.path().join("after-run"));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("baseline.run"), "{}", stderr_of(&output));

    // A baseline on other cases.
    let other = write_corpus(
        &bench.path().join("other"),
        &["en"],
        "x1,en,another post,protected,quotation,,,,\n",
    );
    let dir = bench.path().join("small");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("recorded.csv"), "id,action\nx1,allow\n").unwrap();
    let small = write_scenario(
        &dir,
        &other,
        "name = \"small\"\ncorpora = [{corpus}]\n\n[target]\nkind = \"replay\"\nfile = \"recorded.csv\"\n",
    );
    let output = run_scenario(&small, &bench.path().join("small-run"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let scenario = bench.scenario("after2", baseline_action, "\n[baseline]\nrun = \"../small-run\"\n");
    let out = bench.path().join("after2-run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("not made on the same cases"),
        "{}",
        stderr_of(&output)
    );
    assert!(!out.join("journal.jsonl").exists(), "nothing was asked");
}

/// Snapshots of every comparison format, from fixed runs built in the test.
mod snapshot {
    use std::collections::{BTreeSet, HashMap};

    use modaudit::corpus::{Case, Label};
    use modaudit::decision::Action;
    use modaudit::report::ModelSnapshot;
    use modaudit::report::diff::{
        CaseSource, ComparedRun, DiffOptions, DiffSettings, compare, render_html, render_json, render_junit,
        render_markdown, render_terminal,
    };

    fn case(id: &str, lang: &str, label: Label, category: &str, text: &str) -> Case {
        Case {
            id: id.into(),
            lang: lang.into(),
            text: text.into(),
            label,
            category: category.into(),
            target_group: Some("migrants".into()),
            characteristics: Default::default(),
            speaker_group: None,
            pair_id: None,
            notes: Default::default(),
            metadata: Default::default(),
        }
    }

    fn run(name: &str, model: &str, cases: &[Case], action: impl Fn(usize, &Case) -> Action) -> ComparedRun {
        ComparedRun {
            dir: format!("runs/{name}"),
            run_id: name.into(),
            scenario: "release check".into(),
            target_kind: "openai".into(),
            target_description: "OpenAI moderation".into(),
            target_fingerprint: "f1f2f3f4f5f6f7f8".into(),
            model_snapshots: vec![ModelSnapshot {
                model: model.into(),
                cases: cases.len() as u64,
            }],
            adverse_actions: [Action::Remove].into_iter().collect::<BTreeSet<_>>(),
            case_source: CaseSource::Scenario,
            started_at: None,
            finished_at: None,
            cases: cases.to_vec(),
            actions: cases
                .iter()
                .enumerate()
                .map(|(i, c)| (c.id.to_string(), action(i, c)))
                .collect::<HashMap<_, _>>(),
        }
    }

    #[test]
    fn every_format() {
        let mut cases = Vec::new();
        for i in 0..40 {
            let text = if i == 0 {
                super::HOSTILE_TEXT.to_string()
            } else {
                format!("نحن ضد الكراهية {i}")
            };
            cases.push(case(
                &format!("ar-{i:02}"),
                "ar",
                Label::Protected,
                "counter_speech",
                &text,
            ));
            cases.push(case(
                &format!("en-{i:02}"),
                "en",
                Label::Protected,
                "counter_speech",
                &format!("we stand together {i}"),
            ));
        }
        for i in 0..10 {
            cases.push(case(
                &format!("v-{i:02}"),
                "en",
                Label::Violating,
                "threat",
                &format!("threat {i}"),
            ));
        }
        let a = run("2026-05", "omni-moderation-2026-01-01", &cases, |_, c| {
            if c.label == Label::Violating {
                Action::Remove
            } else {
                Action::Allow
            }
        });
        let b = run("2026-06", "omni-moderation-2026-06-01", &cases, |i, c| match c.label {
            Label::Violating if i % 4 == 0 => Action::Error,
            Label::Violating => Action::Remove,
            Label::Protected if c.lang == "ar" && i < 24 => Action::Remove,
            Label::Protected => Action::Allow,
        });
        let options = DiffOptions {
            settings: DiffSettings {
                confidence: 0.95,
                alpha: 0.05,
                min_n: 30,
                correction: modaudit::analysis::Correction::Holm,
                from: "run B's scenario".into(),
            },
            allow_corpus_change: false,
            max_regression: Some(0.02),
            strict: false,
        };
        let diff = compare(&a, &b, &options).unwrap();
        insta::assert_snapshot!("diff_markdown", render_markdown(&diff));
        insta::assert_snapshot!("diff_html", render_html(&diff).unwrap());
        insta::assert_snapshot!("diff_json", render_json(&diff).unwrap());
        insta::assert_snapshot!("diff_junit", render_junit(&diff));
        insta::assert_snapshot!(
            "diff_terminal",
            render_terminal(&diff, Some(std::path::Path::new("out")))
        );
    }
}
