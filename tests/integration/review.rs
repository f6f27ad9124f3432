//! Native-speaker review of a corpus: sheets and offline forms exported per
//! language, reviewers' answers imported beside the cases, agreement and
//! disputed cases shown, and runs that keep only what reviewers confirmed or
//! leave out what they disputed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

/// The sheet's columns, in order.
const SHEET_HEADER: [&str; 12] = [
    "case_id",
    "lang",
    "text",
    "text_sha256",
    "proposed_label",
    "category",
    "target_group",
    "reviewer_label",
    "reviewer_category",
    "natural",
    "corrected_text",
    "comment",
];

/// Twelve Swahili cases: six protected (three counter-speech, three news),
/// six violating (three slurs, three threats), and two English ones.
fn twelve_cases(dir: &Path) -> PathBuf {
    let mut rows = String::new();
    for i in 1..=12 {
        let (label, category) = match i {
            1..=3 => ("protected", "counter_speech"),
            4..=6 => ("protected", "news_reporting"),
            7..=9 => ("violating", "slur"),
            _ => ("violating", "threat"),
        };
        let group = if i % 2 == 0 { "women" } else { "refugees" };
        rows.push_str(&format!(
            "sw-{i:02},sw,maandishi ya mfano {i},{label},{category},{group},,,\n"
        ));
    }
    rows.push_str("en-01,en,an English example,protected,counter_speech,women,,,\n");
    rows.push_str("en-02,en,another English example,violating,slur,women,,,\n");
    write_corpus(&dir.join("corpus"), &["sw", "en"], &rows)
}

/// Proposed labels of the twelve Swahili cases and two reviewers' labels
/// (1 = violating); their κ values are in tests/reference/agreement.py.
const PROPOSED: &str = "000000111111";
const AMINA: &str = "000001111110";
const BARAKA: &str = "000011111100";

fn label(bit: u8) -> &'static str {
    if bit == b'1' { "violating" } else { "protected" }
}

fn export(corpus: &Path, sheet: &Path, extra: &[&str]) -> std::process::Output {
    modaudit()
        .args(["corpus", "review", "export"])
        .arg(corpus)
        .args(["--lang", "sw", "--out"])
        .arg(sheet)
        .args(extra)
        .output()
        .unwrap()
}

fn import(corpus: &Path, sheet: &Path, reviewer: &str, extra: &[&str]) -> std::process::Output {
    modaudit()
        .args(["corpus", "review", "import"])
        .arg(corpus)
        .arg(sheet)
        .args(["--reviewer", reviewer, "--date", "2027-01-15"])
        .args(extra)
        .output()
        .unwrap()
}

/// The rows of a sheet (after its header) as column → value maps.
fn read_sheet(path: &Path) -> Vec<BTreeMap<String, String>> {
    let bytes = std::fs::read(path).unwrap();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader.headers().unwrap().clone();
    assert_eq!(headers.iter().collect::<Vec<_>>(), SHEET_HEADER);
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn write_sheet(path: &Path, rows: &[BTreeMap<String, String>]) {
    let mut writer = csv::Writer::from_path(path).unwrap();
    writer.write_record(SHEET_HEADER).unwrap();
    for row in rows {
        writer
            .write_record(SHEET_HEADER.iter().map(|c| row.get(*c).cloned().unwrap_or_default()))
            .unwrap();
    }
    writer.flush().unwrap();
}

/// Exports a sheet and fills it with one reviewer's answers: `labels` per
/// case in id order, every case natural except `unnatural`, and corrected
/// texts where given.
fn answer(corpus: &Path, sheet: &Path, labels: &str, unnatural: &[&str], corrected: &[(&str, &str)]) {
    let output = export(corpus, sheet, &["--force"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let mut rows = read_sheet(sheet);
    rows.sort_by(|a, b| a["case_id"].cmp(&b["case_id"]));
    for (row, bit) in rows.iter_mut().zip(labels.bytes()) {
        let id = row["case_id"].clone();
        row.insert("reviewer_label".into(), label(bit).into());
        let natural = if unnatural.contains(&id.as_str()) { "no" } else { "yes" };
        row.insert("natural".into(), natural.into());
        if let Some((_, text)) = corrected.iter().find(|(c, _)| *c == id) {
            row.insert("corrected_text".into(), (*text).into());
        }
    }
    write_sheet(sheet, &rows);
}

/// The corpus reviewed by amina (who finds sw-03 unnatural) and baraka (who
/// corrects the text of sw-04).
fn reviewed_corpus(tmp: &Path) -> PathBuf {
    let corpus = twelve_cases(tmp);
    let sheet = tmp.join("amina.csv");
    answer(&corpus, &sheet, AMINA, &["sw-03"], &[]);
    let output = import(&corpus, &sheet, "amina", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let sheet = tmp.join("baraka.csv");
    answer(
        &corpus,
        &sheet,
        BARAKA,
        &[],
        &[("sw-04", "maandishi ya mfano 4, yaliyosahihishwa")],
    );
    let output = import(&corpus, &sheet, "baraka", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    corpus
}

fn status_json(corpus: &Path) -> Value {
    let output = modaudit()
        .args(["corpus", "review", "status"])
        .arg(corpus)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn close(value: &Value, expected: f64, what: &str) {
    let got = value
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number: {value}"));
    assert!((got - expected).abs() < 1e-12, "{what}: {got} vs {expected}");
}

#[test]
fn the_sheet_lists_one_language_in_a_seeded_order_with_empty_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = twelve_cases(tmp.path());
    let sheet = tmp.path().join("sheet.csv");
    let output = export(&corpus, &sheet, &["--seed", "3"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let rows = read_sheet(&sheet);
    assert_eq!(rows.len(), 12, "the Swahili cases only");
    let row = rows.iter().find(|r| r["case_id"] == "sw-07").unwrap();
    assert_eq!(row["text"], "maandishi ya mfano 7");
    assert_eq!(
        row["text_sha256"],
        modaudit::hash::sha256_hex("maandishi ya mfano 7".as_bytes())
    );
    assert_eq!(row["proposed_label"], "violating");
    assert_eq!(row["category"], "slur");
    assert_eq!(row["target_group"], "refugees");
    for column in [
        "reviewer_label",
        "reviewer_category",
        "natural",
        "corrected_text",
        "comment",
    ] {
        assert!(
            rows.iter().all(|r| r[column].is_empty()),
            "{column} is left to the reviewer"
        );
    }
    let order = |rows: &[BTreeMap<String, String>]| rows.iter().map(|r| r["case_id"].clone()).collect::<Vec<_>>();
    let again = tmp.path().join("again.csv");
    export(&corpus, &again, &["--seed", "3"]);
    assert_eq!(
        std::fs::read(&sheet).unwrap(),
        std::fs::read(&again).unwrap(),
        "same seed, same sheet"
    );
    let other = tmp.path().join("other.csv");
    export(&corpus, &other, &["--seed", "4"]);
    assert_ne!(order(&rows), order(&read_sheet(&other)), "another seed, another order");
    let mut sorted = order(&rows);
    sorted.sort();
    assert_ne!(order(&rows), sorted, "not in id order");
    // an existing sheet may hold a reviewer's work: never overwritten silently
    let output = export(&corpus, &sheet, &["--seed", "3"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("--force"), "{}", stderr_of(&output));
}

#[test]
fn a_sample_is_stratified_by_kind_of_speech() {
    let tmp = tempfile::tempdir().unwrap();
    let mut rows = String::new();
    for i in 0..40 {
        let category = match i {
            0..=29 => "counter_speech",
            30..=38 => "news_reporting",
            _ => "satire",
        };
        rows.push_str(&format!("c{i:02},sw,maandishi {i},protected,{category},,,,\n"));
    }
    let corpus = write_corpus(&tmp.path().join("corpus"), &["sw"], &rows);
    let sheet = tmp.path().join("sheet.csv");
    let output = export(&corpus, &sheet, &["--sample", "10", "--seed", "1"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let rows = read_sheet(&sheet);
    let mut per_category: BTreeMap<String, usize> = BTreeMap::new();
    for row in &rows {
        *per_category.entry(row["category"].clone()).or_default() += 1;
    }
    assert_eq!(
        per_category,
        BTreeMap::from([
            ("counter_speech".to_string(), 7),
            ("news_reporting".to_string(), 2),
            ("satire".to_string(), 1)
        ]),
        "proportional (7.5, 2.25, 0.25), at least one per kind"
    );
    let bigger = tmp.path().join("bigger.csv");
    export(&corpus, &bigger, &["--sample", "20", "--seed", "1"]);
    let bigger: Vec<String> = read_sheet(&bigger).iter().map(|r| r["case_id"].clone()).collect();
    assert!(
        rows.iter().all(|r| bigger.contains(&r["case_id"])),
        "a larger sample holds the smaller"
    );
}

#[test]
fn template_cases_are_reviewed_as_they_expand() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("corpus"),
        &["sw"],
        "sw-01,sw,maandishi,protected,counter_speech,,,,\n",
    );
    std::fs::create_dir_all(corpus.join("templates")).unwrap();
    std::fs::write(
        corpus.join("templates/templates.csv"),
        "template_id,label,category,text,groups,notes\nsw-t1,protected,self_identification,Mimi ni {singular}.,,\n",
    )
    .unwrap();
    std::fs::write(
        corpus.join("templates/groups.csv"),
        "group,plural,singular\nwomen,wanawake,mwanamke\nrefugees,wakimbizi,mkimbizi\n",
    )
    .unwrap();
    let manifest = std::fs::read_to_string(corpus.join("corpus.toml")).unwrap();
    std::fs::write(
        corpus.join("corpus.toml"),
        format!("{manifest}\n[[templates]]\nlang = \"sw\"\ntemplates = \"templates/templates.csv\"\ngroups = \"templates/groups.csv\"\n"),
    )
    .unwrap();
    let sheet = tmp.path().join("sheet.csv");
    let output = export(&corpus, &sheet, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let rows = read_sheet(&sheet);
    let texts: BTreeMap<String, String> = rows.iter().map(|r| (r["case_id"].clone(), r["text"].clone())).collect();
    assert_eq!(texts.len(), 3);
    assert_eq!(texts["sw-t1-women"], "Mimi ni mwanamke.");
    assert_eq!(texts["sw-t1-refugees"], "Mimi ni mkimbizi.");
}

#[test]
fn two_reviewers_agreement_matches_the_reference_values() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = reviewed_corpus(tmp.path());
    let mut rows = read_sheet(&tmp.path().join("amina.csv"));
    rows.sort_by(|a, b| a["case_id"].cmp(&b["case_id"]));
    let proposed: String = rows
        .iter()
        .map(|r| if r["proposed_label"] == "violating" { '1' } else { '0' })
        .collect();
    assert_eq!(proposed, PROPOSED, "the labels the reference values assume");
    let status = status_json(&corpus);
    let sw = status["languages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["language"] == "sw")
        .unwrap()
        .clone();
    assert_eq!(sw["cases"], 12);
    assert_eq!(sw["reviewed"], 12);
    assert_eq!(
        sw["reviewers_per_case"],
        serde_json::json!([{"reviewers": 2, "cases": 12}])
    );
    // reference values: tests/reference/agreement.py (scikit-learn, statsmodels, krippendorff)
    let between = &sw["between_reviewers"];
    assert_eq!(between["reviewers"], serde_json::json!(["amina", "baraka"]));
    close(&between["cohen"]["kappa"], 0.6666666666666667, "Cohen's κ amina–baraka");
    close(&between["cohen"]["se"], 0.21516574145596756, "its asymptotic SE");
    close(
        &between["krippendorff"]["alpha"],
        0.6805555555555556,
        "Krippendorff's α",
    );
    assert!(between["krippendorff"]["ci"]["lower"].as_f64().unwrap() < 0.68);
    assert!(between["fleiss"].is_null(), "two reviewers: Cohen's κ, not Fleiss'");
    let with = |who: &str| {
        sw["with_proposed"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["reviewer"] == who)
            .unwrap()
            .clone()
    };
    close(
        &with("amina")["kappa"]["kappa"],
        0.6666666666666667,
        "amina vs proposed",
    );
    close(
        &with("baraka")["kappa"]["kappa"],
        0.33333333333333337,
        "baraka vs proposed",
    );
    assert_eq!(with("amina")["agreeing"], 10);
    close(
        &sw["with_proposed_all"]["kappa"]["kappa"],
        0.5,
        "every review vs proposed",
    );
    close(&sw["with_proposed_all"]["kappa"]["se"], 0.1767766952966369, "its SE");
    // label disputes: amina on sw-06 and sw-12, baraka on sw-05, sw-06, sw-11 and sw-12;
    // sw-03 not natural; sw-04 corrected
    let disputed: BTreeMap<String, Vec<String>> = sw["disputed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let reasons = d["reasons"].as_array().unwrap().iter();
            (
                d["id"].as_str().unwrap().to_string(),
                reasons.map(|r| r.as_str().unwrap().to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(
        disputed.keys().collect::<Vec<_>>(),
        ["sw-03", "sw-04", "sw-05", "sw-06", "sw-11", "sw-12"]
    );
    assert_eq!(disputed["sw-03"], ["not_natural"]);
    assert_eq!(disputed["sw-04"], ["corrected_text"]);
    assert_eq!(disputed["sw-05"], ["label", "reviewers_disagree"]);
    assert_eq!(disputed["sw-06"], ["label"]);
    assert_eq!(
        sw["status"],
        serde_json::json!({"confirmed": 6, "disputed": 6, "corrected": 0, "unreviewed": 0})
    );
    let en = status["languages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["language"] == "en")
        .unwrap();
    assert_eq!(en["reviewed"], 0);
    assert_eq!(en["status"]["unreviewed"], 2);

    let output = modaudit()
        .args(["corpus", "review", "status"])
        .arg(&corpus)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Cohen's κ 0.667"), "{text}");
    assert!(text.contains("Krippendorff's α 0.681"), "{text}");
    assert!(text.contains("sw-04"), "{text}");
    assert!(text.contains("maandishi ya mfano 4, yaliyosahihishwa"), "{text}");
}

#[test]
fn reviews_sit_beside_the_cases_one_file_per_reviewer() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = twelve_cases(tmp.path());
    let cases_before = std::fs::read(corpus.join("cases.csv")).unwrap();
    let manifest_before = std::fs::read(corpus.join("corpus.toml")).unwrap();
    let sheet = tmp.path().join("amina.csv");
    answer(&corpus, &sheet, AMINA, &[], &[]);
    let output = import(&corpus, &sheet, "amina", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("12 reviews"), "{stdout}");
    assert_eq!(std::fs::read(corpus.join("cases.csv")).unwrap(), cases_before);
    assert_eq!(std::fs::read(corpus.join("corpus.toml")).unwrap(), manifest_before);
    let reviews = std::fs::read_to_string(corpus.join("reviews/amina.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(reviews.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "case_id",
            "reviewer",
            "reviewed_on",
            "text_sha256",
            "label",
            "category",
            "natural",
            "corrected_text",
            "comment"
        ]
    );
    let first = reader.records().next().unwrap().unwrap();
    assert_eq!(&first[0], "sw-01");
    assert_eq!(&first[1], "amina");
    assert_eq!(&first[2], "2027-01-15");
    assert_eq!(&first[3], modaudit::hash::sha256_hex(b"maandishi ya mfano 1"));
    // the corpus still validates, with its reviews
    let output = modaudit().arg("validate").arg(&corpus).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));

    // the same reviewer again: refused without --replace, nothing written
    let sheet = tmp.path().join("amina-again.csv");
    answer(&corpus, &sheet, BARAKA, &[], &[]);
    let output = import(&corpus, &sheet, "amina", &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("--replace") && stderr.contains("sw-01"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(corpus.join("reviews/amina.csv")).unwrap(),
        reviews
    );
    // with --replace, only amina's rows of the cases in the sheet are replaced
    let baraka_sheet = tmp.path().join("baraka.csv");
    answer(&corpus, &baraka_sheet, BARAKA, &[], &[]);
    import(&corpus, &baraka_sheet, "baraka", &[]);
    let baraka = std::fs::read(corpus.join("reviews/baraka.csv")).unwrap();
    let mut rows = read_sheet(&sheet);
    rows.retain(|r| r["case_id"] == "sw-05");
    write_sheet(&sheet, &rows);
    let output = import(&corpus, &sheet, "amina", &["--replace"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let replaced = std::fs::read_to_string(corpus.join("reviews/amina.csv")).unwrap();
    assert_eq!(replaced.lines().count(), 13, "still one row per case");
    let sw05 = replaced.lines().find(|l| l.starts_with("sw-05,")).unwrap();
    assert!(sw05.contains(",violating,"), "{sw05}");
    assert_eq!(
        std::fs::read(corpus.join("reviews/baraka.csv")).unwrap(),
        baraka,
        "another reviewer's file is never touched"
    );
}

#[test]
fn bad_sheets_are_refused_with_located_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = twelve_cases(tmp.path());
    let sheet = tmp.path().join("sheet.csv");
    answer(&corpus, &sheet, AMINA, &[], &[]);
    let mut rows = read_sheet(&sheet);
    rows.sort_by(|a, b| a["case_id"].cmp(&b["case_id"]));
    rows[0].insert("case_id".into(), "sw-99".into());
    rows[1].insert("reviewer_label".into(), "hateful".into());
    rows[2].insert("natural".into(), "maybe".into());
    rows[3].insert("natural".into(), String::new());
    rows[4].insert("text_sha256".into(), "0".repeat(64));
    write_sheet(&sheet, &rows);
    let output = import(&corpus, &sheet, "amina", &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    let sheet_name = sheet.display().to_string();
    for expected in [
        format!("{sheet_name}:2:1: `case_id`: unknown case `sw-99`"),
        format!("{sheet_name}:3:8: `reviewer_label`: unknown label \"hateful\""),
        format!("{sheet_name}:4:10: `natural`: \"maybe\" is not yes or no"),
        format!("{sheet_name}:5:10: `natural`: missing"),
        format!("{sheet_name}:6:4: `text_sha256`: the case's text has changed since this sheet was exported"),
    ] {
        assert!(stderr.contains(&expected), "missing `{expected}` in:\n{stderr}");
    }
    assert!(!corpus.join("reviews").exists(), "nothing is written");
    // a reviewer id that cannot be a file name
    let output = import(&corpus, &sheet, "../x", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("reviewer"), "{}", stderr_of(&output));
    // a header that is not the sheet's
    std::fs::write(&sheet, "case_id,label\nsw-01,protected\n").unwrap();
    let output = import(&corpus, &sheet, "amina", &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr_of(&output).contains(&format!("{sheet_name}:1")),
        "{}",
        stderr_of(&output)
    );
}

#[test]
fn a_review_file_edited_by_hand_is_validated_with_the_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = reviewed_corpus(tmp.path());
    let path = corpus.join("reviews/amina.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen(",yes,", ",perhaps,", 1)).unwrap();
    let output = modaudit().arg("validate").arg(&corpus).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("reviews/amina.csv:2:7: `natural`"), "{stderr}");
}

/// A scenario over the reviewed corpus with the keyword baseline.
fn reviewed_scenario(tmp: &Path, corpus: &Path, filter: &str) -> PathBuf {
    write_scenario(
        tmp,
        corpus,
        &format!(
            "name = \"reviewed\"\ncorpora = [{{corpus}}]\n[filter]\nlanguages = [\"sw\"]\n{filter}\n[target]\nkind = \"builtin:keyword\"\n"
        ),
    )
}

#[test]
fn a_run_can_leave_out_disputed_cases_and_its_report_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = reviewed_corpus(tmp.path());
    let manifest = std::fs::read_to_string(corpus.join("corpus.toml")).unwrap();
    std::fs::write(
        corpus.join("corpus.toml"),
        format!("{manifest}\n[[provenance]]\nlanguages = [\"sw\"]\nwritten_by = \"a drafter\"\nchecked_by = \"a script\"\nreview_status = \"machine-drafted, awaiting native-speaker review\"\n"),
    )
    .unwrap();
    let scenario = reviewed_scenario(tmp.path(), &corpus, "review = \"exclude_disputed\"");
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    assert_eq!(results["totals"]["cases"], 6, "the six confirmed Swahili cases");
    assert_eq!(results["settings"]["review_filter"], "exclude_disputed");
    let review = &results["corpora"][0]["review_status"];
    let sw = review
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["languages"] == serde_json::json!(["sw"]))
        .unwrap_or_else(|| panic!("{review}"));
    assert_eq!(sw["review"], "reviewed");
    assert_eq!(sw["recorded"]["run"]["confirmed"], 6);
    assert_eq!(sw["recorded"]["left_out"]["disputed"], 6);
    assert_eq!(sw["recorded"]["reviewers"], serde_json::json!(["amina", "baraka"]));
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        markdown.contains("left out the 6 posts that reviewers disputed"),
        "{markdown}"
    );
    assert!(
        !markdown.contains("awaiting native-speaker review"),
        "records replace the declared status"
    );
    // the manifest records which reviews the run used
    let manifest = read_json(&out.join("manifest.json"));
    let files: Vec<String> = manifest["corpora"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert!(files.contains(&"reviews/amina.csv".to_string()), "{files:?}");
    assert!(files.contains(&"reviews/baraka.csv".to_string()), "{files:?}");
}

#[test]
fn a_run_can_keep_only_confirmed_cases() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = reviewed_corpus(tmp.path());
    let scenario = reviewed_scenario(tmp.path(), &corpus, "review = \"confirmed\"");
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", stderr_of(&output));
    let ids: Vec<String> = read_decisions(&out).into_iter().map(|r| r["case_id"].clone()).collect();
    assert_eq!(ids, ["sw-01", "sw-02", "sw-07", "sw-08", "sw-09", "sw-10"]);
    // a filter over a corpus that has no reviews is valid, and said to do nothing
    let unreviewed = twelve_cases(&tmp.path().join("plain"));
    let plain = reviewed_scenario(&tmp.path().join("plain"), &unreviewed, "review = \"exclude_disputed\"");
    let output = modaudit().arg("validate").arg(&plain).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output)
            .contains("no corpus has review records (reviews/*.csv), so `exclude_disputed` leaves out no case"),
        "{}",
        stderr_of(&output)
    );
    // an unknown filter value is a located problem
    let bad = reviewed_scenario(tmp.path(), &corpus, "review = \"approved\"");
    let output = modaudit().arg("validate").arg(&bad).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("scenario.toml:5:") && stderr.contains("expected `confirmed` or `exclude_disputed`"),
        "{stderr}"
    );
}

/// A corpus where one group is removed far more often than another, and a
/// recording of those removals; `disputed` of the removed posts of the first
/// group are disputed by a reviewer.
fn disparity_run(tmp: &Path, disputed: usize) -> Value {
    let mut rows = String::new();
    let mut recording = String::new();
    for i in 0..80 {
        let (group, removed) = if i < 40 {
            ("women", i < 30)
        } else {
            ("refugees", i < 43)
        };
        rows.push_str(&format!(
            "c{i:02},sw,maandishi {i},protected,counter_speech,{group},,,\n"
        ));
        let action = if removed { "remove" } else { "allow" };
        recording.push_str(&format!("{{\"id\": \"c{i:02}\", \"action\": \"{action}\"}}\n"));
    }
    let corpus = write_corpus(&tmp.join("corpus"), &["sw"], &rows);
    let sheet = tmp.join("sheet.csv");
    let output = export(&corpus, &sheet, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let mut sheet_rows = read_sheet(&sheet);
    for row in sheet_rows.iter_mut() {
        let i: usize = row["case_id"][1..].parse().unwrap();
        let label = if i < disputed { "violating" } else { "protected" };
        row.insert("reviewer_label".into(), label.into());
        row.insert("natural".into(), "yes".into());
    }
    write_sheet(&sheet, &sheet_rows);
    let output = import(&corpus, &sheet, "amina", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    std::fs::write(tmp.join("recording.jsonl"), recording).unwrap();
    let scenario = write_scenario(
        tmp,
        &corpus,
        "name = \"robust\"\ncorpora = [{corpus}]\n[target]\nkind = \"replay\"\nfile = \"recording.jsonl\"\n",
    );
    let out = tmp.join("run");
    let output = run_scenario(&scenario, &out);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", stderr_of(&output));
    read_json(&out.join("results.json"))
}

fn robustness(results: &Value) -> Value {
    results["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "review.disputed")
        .cloned()
        .unwrap_or_else(|| panic!("no review.disputed finding in {}", results["summary"]))
}

#[test]
fn the_report_says_whether_disparities_survive_leaving_out_disputed_cases() {
    let tmp = tempfile::tempdir().unwrap();
    let results = disparity_run(tmp.path(), 2);
    let finding = robustness(&results);
    let text = finding["text"].as_str().unwrap();
    assert!(text.contains("2 posts that reviewers disputed"), "{text}");
    assert!(text.contains("remain significant"), "{text}");
    assert_eq!(finding["evidence"]["counts"]["disputed"], 2);

    let tmp = tempfile::tempdir().unwrap();
    let results = disparity_run(tmp.path(), 28);
    let text = robustness(&results)["text"].as_str().unwrap().to_string();
    assert!(text.contains("28 posts that reviewers disputed"), "{text}");
    assert!(text.contains("no longer significant"), "{text}");
}

#[test]
fn hostile_text_in_the_form_is_escaped_and_never_interpreted() {
    let tmp = tempfile::tempdir().unwrap();
    let hostile = [
        "</script><script>alert(1)</script>",
        "<img src=x onerror=alert(2)>",
        "\"quoted\" & 'single' \u{2028} line\u{2029}separator",
        "=HYPERLINK(\"http://example.invalid\",\"click\")",
        "\u{202e}reversed <!-- comment",
    ];
    let mut rows = String::new();
    for (i, text) in hostile.iter().enumerate() {
        rows.push_str(&format!(
            "h{i},sw,\"{}\",protected,\"<b>cat</b>\",\"</textarea>\",,,\n",
            text.replace('"', "\"\"")
        ));
    }
    let corpus = write_corpus(&tmp.path().join("corpus"), &["sw"], &rows);
    let sheet = tmp.path().join("sheet.csv");
    let form = tmp.path().join("form.html");
    let output = export(&corpus, &sheet, &["--html", form.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let html = std::fs::read_to_string(&form).unwrap();
    for raw in [
        "<script>alert",
        "<img",
        "<b>cat",
        "</textarea>\"",
        "<!-- comment",
        "onerror=alert(2)>",
    ] {
        assert!(!html.contains(raw), "`{raw}` reached the form unescaped");
    }
    assert_eq!(
        html.matches("<script").count(),
        2,
        "the data block and the form's own script"
    );
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(html.contains("&lt;U+202E&gt;reversed"), "bidi controls are shown");
    assert!(
        !html.contains("src=\"") && !html.contains("href=\"http"),
        "no external resource"
    );
    // the policy allows the form's own script, by its hash, and nothing else
    let script = html
        .split("<script>")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .unwrap();
    let hash = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script.as_bytes()))
    };
    assert!(
        html.contains(&format!(
            "content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}';"
        )),
        "the Content-Security-Policy names the script's hash"
    );
    assert!(
        !html.contains('\u{2028}'),
        "line separators are escaped in the data block"
    );
    // the data block holds the sheet's rows exactly
    let data = data_block(&html);
    let rows = read_sheet(&sheet);
    assert_eq!(data["rows"].as_array().unwrap().len(), rows.len());
    for (row, sheet_row) in data["rows"].as_array().unwrap().iter().zip(&rows) {
        for (i, column) in SHEET_HEADER.iter().take(7).enumerate() {
            assert_eq!(row[i].as_str().unwrap(), sheet_row[*column], "{column}");
        }
    }
    let formula = rows.iter().find(|r| r["case_id"] == "h3").unwrap();
    assert_eq!(
        formula["text"], "'=HYPERLINK(\"http://example.invalid\",\"click\")",
        "a spreadsheet shows a formula as text"
    );
    assert_eq!(
        formula["text_sha256"],
        modaudit::hash::sha256_hex(hostile[3].as_bytes()),
        "the review is of the case's own text"
    );
}

/// The JSON of the form's data block.
fn data_block(html: &str) -> Value {
    let start = html.find("<script type=\"application/json\" id=\"cases\">").unwrap();
    let rest = &html[start..];
    let body = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
    serde_json::from_str(body).unwrap()
}

#[test]
fn the_form_saves_exactly_the_sheet_format() {
    let Ok(node) = which_node() else {
        eprintln!("node is not installed: the form's script is not run (its data block is checked above)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("corpus"),
        &["sw"],
        "a1,sw,\"line one\nline \"\"two\"\", with comma\",protected,counter_speech,women,,,\n\
         a2,sw,-leading dash,violating,slur,,,,\n\
         a3,sw,plain,protected,news_reporting,,,,\n",
    );
    let sheet = tmp.path().join("sheet.csv");
    let form = tmp.path().join("form.html");
    let output = export(&corpus, &sheet, &["--html", form.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let html = std::fs::read_to_string(&form).unwrap();
    let script = html
        .split("<script>")
        .nth(1)
        .and_then(|s| s.split("</script>").next())
        .expect("the form's script");
    let data = &data_block(&html)["rows"];
    let answers = serde_json::json!({
        "a1": {"reviewer_label": "violating", "reviewer_category": "", "natural": "no", "corrected_text": "better,\n\"text\"", "comment": "é, ü"},
        "a3": {"reviewer_label": "protected", "reviewer_category": "quotation", "natural": "yes", "corrected_text": "", "comment": ""}
    });
    let program = format!(
        "{script}\nprocess.stdout.write(sheetCsv({data}, {answers}));\nprocess.stdout.write('\\u0000');\nprocess.stdout.write(sheetCsv({data}, {{}}));\n"
    );
    let js = tmp.path().join("form.js");
    std::fs::write(&js, program).unwrap();
    let output = std::process::Command::new(node).arg(&js).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = output.stdout;
    let split = stdout.iter().position(|&b| b == 0).unwrap();
    let (filled, empty) = (&stdout[..split], &stdout[split + 1..]);
    assert_eq!(
        empty,
        std::fs::read(&sheet).unwrap(),
        "an empty form saves the exported sheet"
    );
    // the filled form imports like a filled sheet
    let saved = tmp.path().join("saved.csv");
    std::fs::write(&saved, filled).unwrap();
    let output = import(&corpus, &saved, "amina", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let reviews = std::fs::read_to_string(corpus.join("reviews/amina.csv")).unwrap();
    assert!(reviews.contains("\"better,\n\"\"text\"\"\""), "{reviews}");
    assert!(reviews.contains(",quotation,yes,"), "{reviews}");
    assert_eq!(reviews.lines().filter(|l| l.contains("amina")).count(), 2, "{reviews}");
}

fn which_node() -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("node"))
        .find(|p| p.is_file())
        .ok_or(())
}

#[test]
fn a_review_added_after_a_run_began_is_a_change_of_its_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = reviewed_corpus(tmp.path());
    let scenario = reviewed_scenario(tmp.path(), &corpus, "");
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", stderr_of(&output));
    let sheet = tmp.path().join("chidi.csv");
    answer(&corpus, &sheet, PROPOSED, &[], &[]);
    let output = import(&corpus, &sheet, "chidi", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    // the run's statuses depended on the reviews it read: a new one changes them
    let output = modaudit().arg("report").arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("corpus `test` has changed (reviews/chidi.csv)"),
        "{stderr}"
    );
}
