//! `--format github`: a Markdown summary appended to the file
//! `GITHUB_STEP_SUMMARY` names, and an `::error` workflow command per failing
//! gate, with every value from a corpus or scenario escaped so that it can
//! neither end a command nor start one of its own.

use std::path::{Path, PathBuf};

use crate::support::*;

/// Runs the starter corpus against the keyword filter with `gates`, with
/// `summary` as `GITHUB_STEP_SUMMARY` (when given) and `args` after `run`.
fn run_with(
    tmp: &Path,
    name: &str,
    gates: &str,
    summary: Option<&Path>,
    args: &[&str],
) -> (Option<i32>, String, PathBuf) {
    let scenario = write_scenario(
        tmp,
        &repo().join("corpora/starter"),
        &format!(
            "name = {}\ncorpora = [{{corpus}}]\n[target]\nkind = \"builtin:keyword\"\n[gates]\n{gates}",
            toml_string(name)
        ),
    );
    let out = tmp.join("out");
    let mut command = modaudit();
    command.arg("run").arg(&scenario).arg("--out").arg(&out).args(args);
    if let Some(summary) = summary {
        command.env("GITHUB_STEP_SUMMARY", summary);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert!(output.status.code() != Some(2), "{stdout}{}", stderr_of(&output));
    (output.status.code(), stdout, out)
}

const GATES: &str = "max_over_removal_rate = 0.01\nmax_error_rate = 0.0\n";

#[test]
fn format_github_appends_a_summary_and_annotates_failing_gates() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("summary.md");
    std::fs::write(&summary, "# earlier step\n").unwrap();
    let (code, stdout, out) = run_with(tmp.path(), "ci", GATES, Some(&summary), &["--format", "github"]);
    assert_eq!(code, Some(1), "{stdout}");
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("# earlier step\n"), "appended, not replaced: {text}");
    assert!(text.contains("| Gate | Threshold | Value | Status |"), "{text}");
    assert!(text.contains("| max_over_removal_rate | ≤ 0.0100 |"), "{text}");
    assert!(
        text.contains("| max_error_rate | ≤ 0.0000 | 0.0000 | ✅ passed |"),
        "{text}"
    );
    assert!(text.contains("❌ failed"), "{text}");
    assert!(text.contains("Over-removal of protected cases"), "{text}");
    assert!(text.contains("Detection of violating cases"), "{text}");
    assert!(text.contains("95 % CI"), "{text}");
    assert!(text.contains(&out.join("report.md").display().to_string()), "{text}");
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 1, "{stdout}");
    assert!(
        annotations[0].starts_with("::error title=ci%3A gate max_over_removal_rate failed::overall over-removal rate"),
        "{stdout}"
    );
    assert!(annotations[0].contains("exceeds the maximum 0.0100"), "{stdout}");
    assert!(
        stdout.contains("modaudit · ci"),
        "the terminal summary is still shown: {stdout}"
    );
}

#[test]
fn the_step_summary_is_written_whenever_github_names_one_unless_plain() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("summary.md");
    let (code, stdout, _) = run_with(tmp.path(), "auto", GATES, Some(&summary), &[]);
    assert_eq!(code, Some(1));
    assert!(std::fs::read_to_string(&summary).unwrap().contains("| Gate |"));
    assert!(stdout.contains("::error title="), "{stdout}");

    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("summary.md");
    let (code, stdout, _) = run_with(tmp.path(), "plain", GATES, Some(&summary), &["--format", "plain"]);
    assert_eq!(code, Some(1));
    assert!(!summary.exists(), "--format plain writes no step summary");
    assert!(!stdout.contains("::"), "{stdout}");
}

#[test]
fn passing_gates_are_summarised_without_annotations() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = tmp.path().join("summary.md");
    let (code, stdout, _) = run_with(
        tmp.path(),
        "ok",
        "max_over_removal_rate = 0.9\n",
        Some(&summary),
        &["--format", "github", "--quiet"],
    );
    assert_eq!(code, Some(0));
    assert_eq!(stdout, "", "--quiet prints no summary and no gate failed");
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.contains("| max_over_removal_rate | ≤ 0.9000 |"), "{text}");
    assert!(text.contains("✅ passed"), "{text}");
}

#[test]
fn without_a_step_summary_file_github_format_annotates_and_says_why_no_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &repo().join("corpora/starter"),
        &format!("name = \"x\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"builtin:keyword\"\n[gates]\n{GATES}"),
    );
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(tmp.path().join("out"))
        .args(["--format", "github"])
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("::error title="));
    assert!(
        stderr_of(&output).contains("GITHUB_STEP_SUMMARY is not set"),
        "{}",
        stderr_of(&output)
    );
}

/// Ends a workflow command's data and starts commands of its own, in a
/// target group's name (a corpus is data from anyone) and in the scenario's.
const FORGING: &str = "g 100%25 \r\n::warning file=x,line=1::forged\n::add-mask::x, y: z";

#[test]
fn corpus_and_scenario_text_cannot_forge_or_break_workflow_commands() {
    let tmp = tempfile::tempdir().unwrap();
    // 40 protected posts about each group: all removed about the hostile one,
    // 4 about the other; the disparity is significant and its ratio 10.
    let mut rows = String::new();
    let mut recording = String::from("id,action\n");
    for i in 0..80 {
        let hostile = i < 40;
        let group = if hostile { FORGING } else { "others" };
        rows.push_str(&format!("c{i},en,post {i},protected,counter_speech,\"{group}\",,,\n"));
        let removed = hostile || i % 10 == 0;
        recording.push_str(&format!("c{i},{}\n", if removed { "remove" } else { "allow" }));
    }
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], &rows);
    std::fs::write(tmp.path().join("recording.csv"), recording).unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = {}\ncorpora = [{{corpus}}]\n[target]\nkind = \"replay\"\nfile = \"recording.csv\"\n[gates]\nmax_disparity_ratio = 2.0\n",
            serde_json::to_string(FORGING).unwrap()
        ),
    );
    let summary = tmp.path().join("summary.md");
    let output = modaudit()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(tmp.path().join("out"))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let commands: Vec<&str> = stdout.lines().filter(|l| l.trim_start().starts_with("::")).collect();
    assert_eq!(commands.len(), 1, "one annotation, no forged command: {stdout}");
    let annotation = commands[0];
    let (properties, data) = annotation
        .strip_prefix("::error ")
        .and_then(|rest| rest.split_once("::"))
        .unwrap_or_else(|| panic!("{annotation}"));
    let title = properties.strip_prefix("title=").unwrap();
    assert!(!title.contains([',', ':', '\r', '\n']), "{title}");
    assert!(title.contains("g 100%2525 "), "% is escaped first: {title}");
    assert!(title.contains("%3A"), "{title}");
    assert!(title.contains("%2C"), "{title}");
    assert!(data.contains("g 100%2525 "), "{data}");
    assert!(!data.contains(['\r', '\n']), "{data}");
    assert!(data.contains("max"), "{data}");
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(!text.lines().any(|l| l.starts_with("::")), "{text}");
    assert!(
        !text.lines().any(|l| l.starts_with("# ")),
        "no heading made up by a value: {text}"
    );
}

/// Writes a scenario in `dir/name/` replaying `removed(i)` for 60 protected
/// English posts (`p0`…`p59`) and removing 20 threats, with `extra` TOML.
fn replayed_scenario(dir: &Path, name: &str, removed: impl Fn(usize) -> bool, extra: &str) -> PathBuf {
    let corpus = dir.join("corpus");
    if !corpus.exists() {
        let mut rows: String = (0..60)
            .map(|i| format!("p{i},en,we stand with migrants {i},protected,counter_speech,migrants,,,\n"))
            .collect();
        rows.extend((0..20).map(|i| format!("v{i},en,we will hurt you {i},violating,threat,migrants,,,\n")));
        write_corpus(&corpus, &["en"], &rows);
    }
    let scenario_dir = dir.join(name);
    std::fs::create_dir_all(&scenario_dir).unwrap();
    let mut recording = String::from("id,action\n");
    for i in 0..60 {
        recording.push_str(&format!("p{i},{}\n", if removed(i) { "remove" } else { "allow" }));
    }
    for i in 0..20 {
        recording.push_str(&format!("v{i},remove\n"));
    }
    std::fs::write(scenario_dir.join("recorded.csv"), recording).unwrap();
    write_scenario(
        &scenario_dir,
        &corpus,
        &format!(
            "name = \"{name}\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"replay\"\nfile = \"recorded.csv\"\n{extra}"
        ),
    )
}

#[test]
fn regressions_against_the_baseline_are_in_the_step_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let before = replayed_scenario(tmp.path(), "before", |_| false, "");
    let output = run_scenario(&before, &tmp.path().join("before-run"));
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    // 30 of the 60 protected posts now come down
    let after = replayed_scenario(
        tmp.path(),
        "after",
        |i| i < 30,
        "[baseline]\nrun = \"../before-run\"\nmax_regression = 0.02\n",
    );
    let summary = tmp.path().join("summary.md");
    let output = modaudit()
        .arg("run")
        .arg(&after)
        .arg("--out")
        .arg(tmp.path().join("after-run"))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}{}", stderr_of(&output));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.contains("#### Regressions against the baseline `before-run`"),
        "{text}"
    );
    assert!(
        text.contains("| Over-removal · Overall | 0.0 % | 50.0 % | \\+50.0 points (+36.3 to +62.3)"),
        "{text}"
    );
    assert!(text.contains("adjusted p &lt; 0.0001, n = 60 |"), "{text}");
    assert!(text.contains("| max_regression | ≤ 0.0200 |"), "{text}");
    assert!(
        stdout.contains("::error title=after%3A gate max_regression failed::"),
        "{stdout}"
    );

    // the same cases decided alike: no regression
    let same = replayed_scenario(tmp.path(), "same", |_| false, "[baseline]\nrun = \"../before-run\"\n");
    std::fs::remove_file(&summary).unwrap();
    let output = modaudit()
        .arg("run")
        .arg(&same)
        .arg("--out")
        .arg(tmp.path().join("same-run"))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.contains("**Baseline** `before-run`: no regression."), "{text}");
}
