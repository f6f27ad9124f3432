//! The quickstart: `modaudit run` from the repository root audits the bundled
//! corpus against the built-in keyword filter and writes every report file.

use crate::support::*;

#[test]
fn run_without_a_scenario_runs_the_quickstart_and_writes_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("quickstart");
    let output = modaudit()
        .current_dir(repo())
        .arg("run")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    for file in [
        "report.md",
        "report.html",
        "results.json",
        "decisions.csv",
        "junit.xml",
        "manifest.json",
        "journal.jsonl",
    ] {
        let path = out.join(file);
        assert!(
            path.is_file() && std::fs::metadata(&path).unwrap().len() > 0,
            "{file} missing or empty"
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("over-removal"), "{stdout}");
    assert!(stdout.contains("report.md"), "{stdout}");

    let results = read_json(&out.join("results.json"));
    assert_eq!(results["schema_version"], 4);
    assert_eq!(results["run"]["target"], "builtin:keyword");
    let cases = results["totals"]["cases"].as_u64().unwrap();
    assert!(cases >= 300);
    assert_eq!(results["totals"]["decided"].as_u64().unwrap(), cases);
    // the keyword baseline gives a reason and nothing else: no appeal route exists
    let adverse = results["notice"]["adverse"].as_u64().unwrap();
    assert!(adverse > 0);
    assert_eq!(results["notice"]["with_reason"].as_u64().unwrap(), adverse);
    assert_eq!(results["notice"]["with_appeal_route"], 0);
    assert_eq!(results["notice"]["with_decision_id"], 0);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains(&format!(
            "None of its {adverse} adverse decisions offered any route to appeal"
        )),
        "{md}"
    );
    let summary = md
        .lines()
        .find(|l| l.starts_with("Of "))
        .expect("the summary opens with a quotable sentence");
    assert!(
        summary.contains("protected posts") && summary.contains("were removed"),
        "{summary}"
    );

    let manifest = read_json(&out.join("manifest.json"));
    assert_eq!(manifest["tool_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["scenario"]["sha256"].as_str().unwrap().len(), 64);
    assert!(
        manifest["corpora"][0]["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["sha256"].as_str().unwrap().len() == 64)
    );
    assert!(manifest["finished_at"].is_string());
    assert_eq!(manifest["seed"], 0);
    for file in ["report.md", "results.json", "journal.jsonl"] {
        assert!(manifest["outputs"][file].is_string(), "{file} hashed in the manifest");
    }

    // README lists exactly the columns decisions.csv has, in order
    let header = std::fs::read_to_string(out.join("decisions.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `decisions.csv` |"))
        .expect("README describes decisions.csv");
    let listed = row
        .split("with the columns `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("README lists the columns of decisions.csv");
    assert_eq!(listed.replace(", ", ","), header, "README's decisions.csv columns");
}

#[test]
fn run_without_a_scenario_elsewhere_explains_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let output = modaudit().current_dir(tmp.path()).arg("run").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains("no scenario given"),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn the_bundled_scenarios_and_corpora_validate() {
    let output = modaudit()
        .current_dir(repo())
        .args(["validate", "scenarios/quickstart.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let output = modaudit()
        .current_dir(repo())
        .args(["validate", "corpora/starter"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("ok: corpus `starter`"));
}

#[test]
fn help_explains_the_commands_and_exit_codes() {
    let output = modaudit().arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in ["run", "validate", "report", "Exit codes: 0"] {
        assert!(help.contains(needle), "{help}");
    }
}

#[test]
fn hostile_corpus_text_is_escaped_in_every_report() {
    let tmp = tempfile::tempdir().unwrap();
    let hostile_group = "<img src=x onerror=alert(1)>";
    let hostile_text = "kill <script>alert('x')</script> | **bold** =HYPERLINK(\"http://evil\")";
    let rows = format!(
        "h1,en,\"{}\",protected,counter_speech,\"{hostile_group}\",,,\nh2,en,fine,protected,counter_speech,women,,,\n",
        hostile_text.replace('"', "\"\"")
    );
    let corpus = write_corpus(&tmp.path().join("c"), &["en"], &rows);
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"hostile\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n",
    );
    let out = tmp.path().join("out");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("<img src=x"), "group name injected into HTML");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains("<script"), "no script at all in the report");
    assert!(html.contains("Content-Security-Policy"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external requests"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(!md.contains("<img"), "group name injected into Markdown");
    // text that starts no formula round-trips byte for byte through decisions.csv
    let rows = read_decisions(&out);
    let h1 = rows.iter().find(|r| r["case_id"] == "h1").unwrap();
    assert_eq!(h1["text"], hostile_text);
    assert_eq!(h1["target_group"], hostile_group);
}

#[test]
fn every_bundled_scenario_validates_without_its_keys() {
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("scenarios")).unwrap() {
        let path = entry.unwrap().path();
        // scenarios over imported suites need the import first (see corpus_tools)
        let imports = std::fs::read_to_string(&path).unwrap().contains("../imported/");
        if path.extension().is_some_and(|e| e == "toml") && !imports {
            let output = modaudit()
                .current_dir(repo())
                .arg("validate")
                .arg(&path)
                .env_remove("OPENAI_API_KEY")
                .env_remove("PERSPECTIVE_API_KEY")
                .env_remove("AZURE_CONTENT_SAFETY_KEY")
                .env_remove("PLATFORM_TOKEN")
                .output()
                .unwrap();
            assert_eq!(
                output.status.code(),
                Some(0),
                "{}: {}",
                path.display(),
                stderr_of(&output)
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "the quickstart and one scenario per API");
}
