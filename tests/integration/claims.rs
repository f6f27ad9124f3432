//! The claims ledger: every sentence of the plain-language summary is a
//! finding in `results.json` whose evidence supports it; rankings only where
//! the tests separate the groups; "no disparity" with what could have been
//! detected; the corpus's review status and the limits of the run up front.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::*;

struct Run {
    _tmp: tempfile::TempDir,
    out: PathBuf,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn results(&self) -> Value {
        read_json(&self.out.join("results.json"))
    }

    fn markdown(&self) -> String {
        std::fs::read_to_string(self.out.join("report.md")).unwrap()
    }
}

/// The quickstart: the bundled corpora against the keyword baseline.
fn quickstart() -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("quickstart");
    let output = modaudit()
        .current_dir(repo())
        .arg("run")
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    Run {
        _tmp: tmp,
        out,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: stderr_of(&output),
    }
}

/// `count` cases sharing language, label, category and target group, the first
/// `actioned` removed and the next `unsupported` recorded as unsupported.
struct Block {
    lang: &'static str,
    label: &'static str,
    category: &'static str,
    target_group: &'static str,
    count: u64,
    actioned: u64,
    unsupported: u64,
}

fn protected(
    lang: &'static str,
    category: &'static str,
    target_group: &'static str,
    count: u64,
    actioned: u64,
) -> Block {
    Block {
        lang,
        label: "protected",
        category,
        target_group,
        count,
        actioned,
        unsupported: 0,
    }
}

/// Runs the blocks through the replay target; `provenance` is appended to the
/// corpus manifest.
fn replay(blocks: &[Block], analysis: &str, provenance: &str) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let mut rows = String::new();
    let mut recording = String::new();
    let mut languages = BTreeSet::new();
    let mut id = 0;
    for b in blocks {
        languages.insert(b.lang);
        for i in 0..b.count {
            id += 1;
            rows.push_str(&format!(
                "c{id},{},post {id},{},{},{},,,\n",
                b.lang, b.label, b.category, b.target_group
            ));
            let action = if i < b.actioned {
                "remove"
            } else if i < b.actioned + b.unsupported {
                "unsupported"
            } else {
                "allow"
            };
            recording.push_str(&format!("{{\"id\": \"c{id}\", \"action\": \"{action}\"}}\n"));
        }
    }
    let languages: Vec<&str> = languages.into_iter().collect();
    let corpus = write_corpus(&tmp.path().join("corpus"), &languages, &rows);
    if !provenance.is_empty() {
        let manifest = corpus.join("corpus.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(&manifest, format!("{text}{provenance}")).unwrap();
    }
    std::fs::write(tmp.path().join("recording.jsonl"), recording).unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        &format!(
            "name = \"claims\"\ncorpora = [{{corpus}}]\n[target]\nkind = \"replay\"\nfile = \"recording.jsonl\"\n[analysis]\n{analysis}\n"
        ),
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    Run {
        _tmp: tmp,
        out,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: stderr_of(&output),
    }
}

fn findings(results: &Value) -> Vec<Value> {
    results["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("results.json has no findings: {}", results["summary"]))
        .clone()
}

fn of_kind(results: &Value, kind: &str) -> Vec<Value> {
    findings(results).into_iter().filter(|f| f["kind"] == kind).collect()
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn summary(results: &Value) -> Vec<String> {
    results["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The paragraph under `## Summary` in report.md.
fn first_summary_paragraph(md: &str) -> String {
    md.split("## Summary\n\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or_else(|| panic!("no summary: {md}"))
        .to_string()
}

#[test]
fn quickstart_extremes_name_a_language_only_when_the_tests_separate_it() {
    let run = quickstart();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    // problem: "removed most often in Indonesian (16.8 %) and least often in
    // French (7.3 %)" although the languages do not differ detectably
    for sentence in summary(&results) {
        assert!(
            !sentence.contains("most often in") && !sentence.contains("least often in"),
            "{sentence}"
        );
    }
    for f in of_kind(&results, "extreme") {
        let e = &f["evidence"];
        let alpha = number(&e["alpha"]);
        assert!(number(&e["p_adjusted"]) < alpha, "{f}");
        assert!(number(&e["omnibus"]["p"]) < alpha, "{f}");
    }
    assert!(
        !of_kind(&results, "extreme")
            .iter()
            .any(|f| f["evidence"]["dimension"] == "language"),
        "no language is separated in the quickstart"
    );
    let languages = of_kind(&results, "no_extreme")
        .into_iter()
        .find(|f| f["evidence"]["dimension"] == "language")
        .expect("a finding says the languages are not distinguishable");
    let text = languages["text"].as_str().unwrap();
    assert!(text.contains("not distinguishable"), "{text}");
    assert!(
        text.contains("7.3 %") && text.contains("16.8 %"),
        "the observed range: {text}"
    );
    let p = number(&languages["evidence"]["omnibus"]["p"]);
    assert!((0.05..0.2).contains(&p), "{languages}");
}

#[test]
fn quickstart_every_no_disparity_finding_states_the_minimum_detectable_ratio() {
    let run = quickstart();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    let none = of_kind(&results, "no_disparity");
    assert!(
        none.iter().any(|f| f["evidence"]["dimension"] == "language"),
        "no language differs significantly: {none:?}"
    );
    for f in none {
        let detectable = &f["evidence"]["min_detectable"];
        let [lo, hi] = [number(&detectable["ratio"][0]), number(&detectable["ratio"][1])];
        assert!(1.0 < lo && lo <= hi, "{f}");
        assert_eq!(number(&detectable["power"]), 0.8, "{f}");
        let text = f["text"].as_str().unwrap();
        assert!(text.contains(&format!("{lo:.1}")), "{text}");
    }
}

#[test]
fn quickstart_every_summary_sentence_is_a_finding_with_evidence() {
    let run = quickstart();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    let findings = findings(&results);
    let texts: Vec<String> = findings
        .iter()
        .map(|f| f["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(summary(&results), texts, "the summary is the findings' texts, in order");
    let mut ids = BTreeSet::new();
    for f in &findings {
        assert!(ids.insert(f["id"].as_str().unwrap().to_string()), "duplicate id: {f}");
        let evidence = f["evidence"].as_object().unwrap_or_else(|| panic!("{f}"));
        assert!(evidence.values().any(|v| !v.is_null()), "empty evidence: {f}");
        assert!(!f["kind"].as_str().unwrap().is_empty());
    }
    // the Markdown report numbers each sentence's evidence under the summary
    let md = run.markdown();
    assert!(md.contains("### Evidence for each sentence"), "{md}");
    for (i, f) in findings.iter().enumerate() {
        assert!(
            md.contains(&format!("{}. `{}`", i + 1, f["id"].as_str().unwrap())),
            "evidence item {} for {}",
            i + 1,
            f["id"]
        );
    }
    let html = std::fs::read_to_string(run.out.join("report.html")).unwrap();
    assert!(
        html.contains("id=\"evidence-1\""),
        "the HTML links each sentence to its evidence"
    );
    // limitations: a section of their own, generated from the run
    let limitations = results["limitations"].as_array().expect("results.json has limitations");
    let ids: Vec<&str> = limitations.iter().map(|l| l["id"].as_str().unwrap()).collect();
    for id in [
        "limitation.review_status",
        "limitation.small_samples",
        "limitation.pipeline",
        "limitation.not_prevalence",
        "limitation.template_families",
        "limitation.scope",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    assert!(md.contains("## Limitations"), "{md}");
    // no sentence doubles a word ("target group group")
    let limitation_texts = limitations.iter().map(|l| l["text"].as_str().unwrap().to_string());
    for text in texts.iter().cloned().chain(limitation_texts) {
        let words: Vec<&str> = text.split_whitespace().collect();
        assert!(
            words.windows(2).all(|w| w[0].to_lowercase() != w[1].to_lowercase()),
            "{text}"
        );
    }
}

#[test]
fn quickstart_summary_opens_with_the_corpus_review_status() {
    let run = quickstart();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let md = run.markdown();
    let first = first_summary_paragraph(&md);
    assert!(first.contains("machine-drafted"), "{first}");
    assert!(
        first.contains("not yet been reviewed") || first.contains("unreviewed"),
        "{first}"
    );
    assert!(first.contains("not estimates of how often"), "{first}");
}

#[test]
fn no_sentence_calls_the_corpus_labels_clearly_violating() {
    let run = quickstart();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    for sentence in summary(&results) {
        assert!(!sentence.contains("clearly violating"), "{sentence}");
    }
    let detection = of_kind(&results, "detection");
    let text = detection[0]["text"].as_str().unwrap();
    assert!(text.contains("the corpus labels as violating"), "{text}");
    assert!(
        detection[0]["evidence"]["interval"]["lower"].is_number(),
        "{}",
        detection[0]
    );
}

#[test]
fn quickstart_disparities_say_what_kind_of_group_they_compare() {
    let run = quickstart();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    // problem: "6 groups had protected speech removed significantly more often"
    // counted 4 kinds of speech as groups
    for sentence in summary(&results) {
        let words: Vec<&str> = sentence.split_whitespace().collect();
        assert!(!words.windows(2).any(|w| w == ["6", "groups"]), "{sentence}");
    }
    let disparities = of_kind(&results, "disparity");
    let dimension_of = |f: &Value| f["evidence"]["dimension"].as_str().unwrap().to_string();
    let category: Vec<&Value> = disparities.iter().filter(|f| dimension_of(f) == "category").collect();
    let people: Vec<&Value> = disparities
        .iter()
        .filter(|f| dimension_of(f) == "target_group")
        .collect();
    assert!(!category.is_empty() && !people.is_empty(), "{disparities:?}");
    assert!(
        category[0]["text"]
            .as_str()
            .unwrap()
            .contains("4 of the 13 kinds of speech tested"),
        "{}",
        category[0]
    );
    assert!(
        people[0]["text"]
            .as_str()
            .unwrap()
            .contains("Posts about 2 of the 16 groups of people tested"),
        "{}",
        people[0]
    );
    for f in &disparities {
        let e = &f["evidence"];
        assert!(number(&e["p_adjusted"]) < number(&e["alpha"]), "{f}");
        assert!(e["ratio_interval"]["lower"].is_number(), "{f}");
        let text = f["text"].as_str().unwrap();
        assert!(
            text.contains(&format!("n = {}", e["n"])),
            "the sentence gives n: {text}"
        );
        assert!(text.contains("adjusted p"), "{text}");
    }
}

#[test]
fn quickstart_says_when_adjusting_for_the_kind_of_speech_removes_a_disparity() {
    let run = quickstart();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    let lesbians = of_kind(&results, "confounded")
        .into_iter()
        .find(|f| f["id"] == "confounded.target_group.lesbians")
        .expect("the lesbians disparity does not survive stratification");
    let text = lesbians["text"].as_str().unwrap();
    assert!(
        text.contains("reclaimed term"),
        "names the over-represented kind of speech: {text}"
    );
    assert!(text.contains("44 %") && text.contains("6 %"), "{text}");
    let stratified = &lesbians["evidence"]["stratified"];
    assert_eq!(stratified["survives"], false);
    assert!(number(&stratified["odds_ratio_interval"]["lower"]) < 1.0, "{lesbians}");
}

#[test]
fn quickstart_terminal_names_no_worst_language_without_evidence() {
    let run = quickstart();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stdout.contains("worst language"), "{}", run.stdout);
    assert!(run.stdout.contains("not distinguishable"), "{}", run.stdout);
    assert!(run.stdout.contains("machine-drafted"), "{}", run.stdout);
}

#[test]
fn a_language_that_really_differs_is_named_as_removed_most_often() {
    let blocks = [
        protected("en", "news_reporting", "", 100, 60),
        protected("fr", "news_reporting", "", 100, 10),
        protected("de", "news_reporting", "", 100, 10),
        protected("es", "news_reporting", "", 100, 10),
        protected("it", "news_reporting", "", 100, 10),
    ];
    let run = replay(&blocks, "", "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    let extremes = of_kind(&results, "extreme");
    let most = extremes
        .iter()
        .find(|f| f["id"] == "extreme.language.most")
        .unwrap_or_else(|| panic!("English stands out: {extremes:?}"));
    assert_eq!(most["evidence"]["group"], "en");
    assert!(most["text"].as_str().unwrap().contains("English"), "{most}");
    // the four others share one rate: whichever is called lowest is tied with the rest
    if let Some(least) = extremes.iter().find(|f| f["id"] == "extreme.language.least") {
        let text = least["text"].as_str().unwrap();
        assert!(text.contains("not distinguishably"), "{text}");
        assert_eq!(least["evidence"]["tied_with"].as_array().unwrap().len(), 3, "{least}");
    }
    assert!(run.stdout.contains("English"), "{}", run.stdout);
    assert!(!run.stdout.contains("worst language"), "{}", run.stdout);
}

#[test]
fn a_group_whose_gap_comes_from_its_kind_of_speech_is_reported_as_confounded() {
    let blocks = [
        protected("en", "reclaimed_term", "lesbians", 44, 22),
        protected("en", "news_reporting", "lesbians", 56, 3),
        protected("en", "reclaimed_term", "women", 12, 6),
        protected("en", "news_reporting", "women", 188, 10),
    ];
    let run = replay(&blocks, "", "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    let confounded = of_kind(&results, "confounded");
    assert_eq!(confounded.len(), 1, "{confounded:?}");
    assert_eq!(confounded[0]["id"], "confounded.target_group.lesbians");
    let text = confounded[0]["text"].as_str().unwrap();
    assert!(text.contains("lesbians") && text.contains("reclaimed term"), "{text}");
    // and the disparity sentence itself warns that adjustment removes the gap
    let disparity = of_kind(&results, "disparity")
        .into_iter()
        .find(|f| f["evidence"]["group"] == "lesbians")
        .unwrap();
    assert!(
        disparity["text"].as_str().unwrap().contains("kind of speech"),
        "{disparity}"
    );
}

#[test]
fn unsupported_cases_are_counted_against_their_language() {
    // problem: "could not moderate these languages at all: Arabic (5 cases)"
    // when 5 of 10 Arabic cases were decided
    let blocks = [
        protected("en", "news_reporting", "", 40, 4),
        Block {
            lang: "ar",
            label: "protected",
            category: "news_reporting",
            target_group: "",
            count: 10,
            actioned: 0,
            unsupported: 5,
        },
    ];
    let run = replay(&blocks, "", "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    let coverage = of_kind(&results, "coverage");
    let unsupported = coverage
        .iter()
        .find(|f| f["id"] == "coverage.unsupported")
        .unwrap_or_else(|| panic!("{coverage:?}"));
    let text = unsupported["text"].as_str().unwrap();
    assert!(text.contains("5 of the 10 Arabic cases"), "{text}");
    assert!(!text.contains("at all"), "{text}");
}

#[test]
fn a_corpus_without_provenance_says_its_review_status_is_not_declared() {
    let blocks = [protected("en", "news_reporting", "", 40, 4)];
    let run = replay(&blocks, "", "");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let first = first_summary_paragraph(&run.markdown());
    assert!(first.contains("does not declare"), "{first}");
    // a corpus declared reviewed carries no review caveat in the summary
    let reviewed = "\n[[provenance]]\nlanguages = [\"en\"]\nwritten_by = \"an NGO\"\nchecked_by = \"two annotators\"\nreview_status = \"reviewed by native speakers, 2026-10\"\n";
    let run = replay(&blocks, "", reviewed);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = run.results();
    assert!(
        !findings(&results).iter().any(|f| f["id"] == "limitation.review_status"),
        "{:?}",
        results["summary"]
    );
    let limitation = results["limitations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == "limitation.review_status")
        .cloned()
        .unwrap();
    assert!(
        limitation["text"]
            .as_str()
            .unwrap()
            .contains("reviewed by native speakers, 2026-10"),
        "{limitation}"
    );
}
