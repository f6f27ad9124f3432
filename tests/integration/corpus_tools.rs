//! The corpus tools: importers, template expansion, coverage and lint.

use std::path::PathBuf;

use crate::support::*;

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/import").join(name)
}

fn shared(path: &str) -> Option<PathBuf> {
    let p = repo().join("../shared/corpora-external").join(path);
    p.exists().then_some(p)
}

#[test]
fn hatecheck_files_import_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("hc");
    let output = modaudit()
        .args(["corpus", "import", "hatecheck"])
        .arg(fixture("test_suite_cases.csv"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!(
            "imported `hatecheck-en`: 5 cases (3 protected, 2 violating) into {}",
            out.display()
        )
    );
    let cases = read_cases(&out);
    assert_eq!(cases[0]["text"], "I despise women. ", "trailing space kept");
    assert_eq!(cases[0]["id"], "hatecheck-en-1");
    assert_eq!(cases[0]["label"], "violating");
    assert_eq!(cases[2]["label"], "protected");
    assert_eq!(cases[2]["category"], "counter_quote_nh");
    assert_eq!(cases[2]["pair_id"], "hatecheck-en-t2");
    assert_eq!(cases[4]["target_group"], "");
    assert_eq!(cases[0]["source_index"], "0");
    let manifest = std::fs::read_to_string(out.join("corpus.toml")).unwrap();
    assert!(manifest.contains("license = \"CC-BY-4.0\""));
    let sha = modaudit::hash::sha256_hex(&std::fs::read(fixture("test_suite_cases.csv")).unwrap());
    assert!(manifest.contains(&format!("sha256 = \"{sha}\"")), "{manifest}");
    let output = modaudit().arg("validate").arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn multilingual_hatecheck_keeps_annotation_flags_for_filtering() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mhc-es");
    let output = modaudit()
        .args(["corpus", "import", "hatecheck"])
        .arg(fixture("hatecheck_cases_final_spanish.csv"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let cases = read_cases(&out);
    assert_eq!(cases.len(), 4);
    assert!(cases.iter().all(|c| c["lang"] == "es"), "language from the file name");
    assert_eq!(cases[1]["target_group"], "jews");
    assert_eq!(
        cases[3]["target_group"], "jews",
        "`jewish people` and `Jews` are one group"
    );
    assert_eq!(cases[3]["target_ident"], "jewish people", "the original is kept");
    assert_eq!(cases[1]["disagreement_in_case"], "True");
    // a scenario filters on the annotation flag
    let scenario = write_scenario(
        tmp.path(),
        &out,
        "name = \"mhc\"\ncorpora = [{corpus}]\n[filter]\nmetadata = { disagreement_in_case = \"False\" }\n[target]\nkind = \"builtin:keyword\"\n",
    );
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("— 3 cases from 1 corpus"));
}

#[test]
fn the_real_suites_import_with_their_row_counts() {
    let Some(hatecheck) = shared("hatecheck/test_suite_cases.csv") else {
        eprintln!("../shared not present: skipped (the fixtures above cover the format)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let output = modaudit()
        .args(["corpus", "import", "hatecheck"])
        .arg(&hatecheck)
        .arg("--out")
        .arg(tmp.path().join("en"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap_or_default(),
        format!(
            "imported `hatecheck-en`: 3728 cases (1165 protected, 2563 violating) into {}",
            tmp.path().join("en").display()
        )
    );
    for (language, rows) in [("arabic", 3570), ("mandarin", 3378), ("polish", 3815), ("hindi", 3565)] {
        let file = shared(&format!("multilingual-hatecheck/hatecheck_cases_final_{language}.csv")).unwrap();
        let out = tmp.path().join(language);
        let output = modaudit()
            .args(["corpus", "import", "hatecheck"])
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{language}: {}", stderr_of(&output));
        assert_eq!(read_cases(&out).len(), rows, "{language}");
    }
}

#[test]
fn a_generic_csv_imports_with_a_label_map_and_reports_unmapped_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sample");
    let args = |cmd: &mut assert_cmd::Command| {
        cmd.args(["corpus", "import", "csv"])
            .arg(fixture("platform_sample.csv"))
            .arg("--out")
            .arg(&out)
            .args([
                "--id-column",
                "post_id",
                "--text-column",
                "body",
                "--label-column",
                "verdict",
            ])
            .args(["--label-map", "hateful=violating,not_hateful=protected"])
            .args([
                "--category-column",
                "topic",
                "--target-column",
                "community",
                "--lang-column",
                "language",
            ]);
    };
    let mut cmd = modaudit();
    args(&mut cmd);
    let output = cmd.output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr_of(&output);
    assert!(
        err.contains("1 row with label `offensive` (line 5) maps to nothing"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");

    let mut cmd = modaudit();
    args(&mut cmd);
    let output = cmd.arg("--skip-unmapped").output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("3 cases (2 protected, 1 violating)"), "{stdout}");
    assert!(stdout.contains("left out 1 row"), "{stdout}");
    assert!(
        stdout.contains("1 × label `offensive` maps to nothing (line 5)"),
        "{stdout}"
    );
    let cases = read_cases(&out);
    assert_eq!(cases[0]["id"], "p1");
    assert_eq!(cases[2]["lang"], "es");
    assert_eq!(cases[1]["target_group"], "lgbtq");
    let manifest = read_manifest(&out);
    assert_eq!(
        manifest["source"]["skipped"],
        toml::Value::Array(vec![skipped("label `offensive` maps to nothing", &[5])])
    );
}

/// A `[[source.skipped]]` entry of an imported corpus's manifest.
fn skipped(reason: &str, lines: &[i64]) -> toml::Value {
    let mut entry = toml::Table::new();
    entry.insert("reason".into(), reason.into());
    entry.insert(
        "lines".into(),
        toml::Value::Array(lines.iter().map(|&l| l.into()).collect()),
    );
    toml::Value::Table(entry)
}

fn read_manifest(dir: &std::path::Path) -> toml::Table {
    toml::from_str(&std::fs::read_to_string(dir.join("corpus.toml")).unwrap()).unwrap()
}

/// An SGHateCheck-style suite: rows 3, 5 and 7 have no gold label (as in the
/// published files), row 9 has no text, row 11 repeats an id, row 12 a label
/// the map does not know; the rest import.
const SUITE: &str = "\
c_id,c_testcase,t_gold,functionality
1,I love my neighbours,non-hateful,ident_pos
2,Just a post,,ident_neutral
3,They are vermin,hateful,derog
4,Another post,,ident_neutral
5,Kill them all,hateful,threat
6,A third post,,ident_neutral
7,A fine day,non-hateful,profanity
8,,hateful,derog
9,We welcome them,non-hateful,ident_pos
9,Duplicate of nine,non-hateful,ident_pos
10,Not sure,unclear,ident_neutral
";

fn import_suite(dir: &std::path::Path, flags: &[&str]) -> std::process::Output {
    std::fs::write(dir.join("sghatecheck.csv"), SUITE).unwrap();
    modaudit()
        .current_dir(dir)
        .args([
            "corpus",
            "import",
            "csv",
            "sghatecheck.csv",
            "--out",
            "imported",
            "--force",
        ])
        .args([
            "--id-column",
            "c_id",
            "--text-column",
            "c_testcase",
            "--label-column",
            "t_gold",
        ])
        .args(["--label-map", "hateful=violating,non-hateful=protected"])
        .args(["--category-column", "functionality", "--lang", "en"])
        .args(flags)
        .output()
        .unwrap()
}

#[test]
fn rows_without_a_label_are_unmapped_and_invalid_rows_can_be_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let strict = import_suite(tmp.path(), &[]);
    assert_eq!(strict.status.code(), Some(2));
    let err = stderr_of(&strict);
    assert!(
        err.contains("3 rows with no value in `t_gold` (lines 3, 5, 7): pass --skip-unmapped"),
        "empty labels are reported once, not row by row: {err}"
    );
    assert!(err.contains("--skip-unmapped"), "{err}");
    assert!(
        err.contains("sghatecheck.csv:9: `c_testcase`: no value in `c_testcase`"),
        "{err}"
    );
    assert!(err.contains("--skip-invalid"), "{err}");
    assert!(!tmp.path().join("imported").exists(), "nothing written");

    let unmapped_only = import_suite(tmp.path(), &["--skip-unmapped"]);
    assert_eq!(
        unmapped_only.status.code(),
        Some(2),
        "one invalid row still refuses the file"
    );
    let err = stderr_of(&unmapped_only);
    assert!(!err.contains("`t_gold`"), "{err}");
    assert!(
        err.contains("sghatecheck.csv:9: `c_testcase`: no value in `c_testcase`"),
        "{err}"
    );
    assert!(
        err.contains("sghatecheck.csv:11: duplicate id `9` (first at line 10)"),
        "{err}"
    );

    let both = import_suite(tmp.path(), &["--skip-unmapped", "--skip-invalid"]);
    assert_eq!(both.status.code(), Some(0), "{}", stderr_of(&both));
    let stdout = String::from_utf8_lossy(&both.stdout);
    assert!(stdout.contains("5 cases (3 protected, 2 violating)"), "{stdout}");
    assert!(stdout.contains("left out 6 rows"), "{stdout}");
    assert!(stdout.contains("3 × no value in `t_gold` (lines 3, 5, 7)"), "{stdout}");
    let manifest = read_manifest(&tmp.path().join("imported"));
    assert_eq!(
        manifest["source"]["skipped"],
        toml::Value::Array(vec![
            skipped("no value in `t_gold`", &[3, 5, 7]),
            skipped("no value in `c_testcase`", &[9]),
            skipped("duplicate id", &[11]),
            skipped("label `unclear` maps to nothing", &[12]),
        ])
    );
    assert!(
        manifest["source"]["imported_with"]
            .as_str()
            .unwrap()
            .contains("--skip-unmapped --skip-invalid")
    );
    let output = modaudit()
        .arg("validate")
        .arg(tmp.path().join("imported"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
}

#[test]
fn hatecheck_rows_that_fail_validation_can_be_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let source = std::fs::read_to_string(fixture("test_suite_cases.csv")).unwrap();
    let mut lines: Vec<String> = source.lines().map(str::to_string).collect();
    lines[2] = lines[2].replace("I despise immigrants. ", " ");
    lines[4] = lines[4].replace("non-hateful", "");
    let input = tmp.path().join("test_suite_cases.csv");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let import = |flags: &[&str]| {
        modaudit()
            .current_dir(tmp.path())
            .args(["corpus", "import", "hatecheck", "test_suite_cases.csv", "--out", "hc"])
            .args(flags)
            .output()
            .unwrap()
    };
    let strict = import(&[]);
    assert_eq!(strict.status.code(), Some(2));
    let err = stderr_of(&strict);
    assert!(
        err.contains("test_suite_cases.csv:3: `test_case`: text is empty"),
        "{err}"
    );
    assert!(
        err.contains("test_suite_cases.csv:5: `label_gold`: unknown label_gold \"\""),
        "{err}"
    );
    assert!(err.contains("--skip-invalid"), "{err}");
    assert!(!tmp.path().join("hc").exists(), "refused before anything is written");

    let skipping = import(&["--skip-invalid"]);
    assert_eq!(skipping.status.code(), Some(0), "{}", stderr_of(&skipping));
    let stdout = String::from_utf8_lossy(&skipping.stdout);
    assert!(stdout.contains("3 cases (2 protected, 1 violating)"), "{stdout}");
    assert!(stdout.contains("left out 2 rows"), "{stdout}");
    let manifest = read_manifest(&tmp.path().join("hc"));
    assert_eq!(
        manifest["source"]["skipped"],
        toml::Value::Array(vec![
            skipped("`test_case`: text is empty", &[3]),
            skipped("`label_gold`: neither hateful nor non-hateful", &[5]),
        ])
    );
}

#[test]
fn a_generic_jsonl_imports_with_pointers() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("j");
    let output = modaudit()
        .args(["corpus", "import", "jsonl"])
        .arg(fixture("platform_sample.jsonl"))
        .arg("--out")
        .arg(&out)
        .args([
            "--id-column",
            "id",
            "--text-column",
            "/content/text",
            "--label-column",
            "gold",
            "--lang-column",
            "/content/lang",
        ])
        .args([
            "--label-map",
            "1=violating,0=protected",
            "--category",
            "platform_sample",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let cases = read_cases(&out);
    assert_eq!(
        (cases[1]["label"].as_str(), cases[1]["lang"].as_str()),
        ("violating", "fr")
    );
    assert_eq!(cases[0]["category"], "platform_sample");
}

#[test]
fn an_imported_suite_runs_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("imported/hatecheck-en");
    let output = modaudit()
        .args(["corpus", "import", "hatecheck"])
        .arg(fixture("test_suite_cases.csv"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    std::fs::create_dir_all(tmp.path().join("scenarios")).unwrap();
    std::fs::copy(
        repo().join("scenarios/hatecheck.toml"),
        tmp.path().join("scenarios/hatecheck.toml"),
    )
    .unwrap();
    let run = tmp.path().join("run");
    let output = run_scenario(&tmp.path().join("scenarios/hatecheck.toml"), &run);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", stderr_of(&output));
    let results = read_json(&run.join("results.json"));
    assert_eq!(results["totals"]["cases"], 5);
    assert!(
        results["slices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["dimension"] == "category" && s["value"] == "counter_quote_nh")
    );
}

#[test]
fn stats_and_expand_describe_a_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en", "ar"],
        "a1,en,The council meeting was postponed until next Tuesday evening.,protected,neutral_mention,,,,\n\
         a2,en,The council meeting was postponed until next Tuesday evening!,protected,neutral_mention,,,,\n\
         a3,ar,written in latin letters here,protected,neutral_mention,,,,\n",
    );
    add_templates(
        &corpus,
        "en",
        "templates/en",
        "group,plural\nwomen,women\nmuslims,Muslims\n",
        "t1,protected,neutral_mention,I admire {plural}.,,\nt2,violating,dehumanisation,\"{plural} are vermin, all of them.\",muslims,\n",
    );

    let output = modaudit().args(["corpus", "expand"]).arg(&corpus).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "id,lang,text,label,category,target_group,pair_id\n\
         t1-women,en,I admire women.,protected,neutral_mention,women,t1\n\
         t1-muslims,en,I admire Muslims.,protected,neutral_mention,muslims,t1\n\
         t2-muslims,en,\"Muslims are vermin, all of them.\",violating,dehumanisation,muslims,t2\n"
    );

    let output = modaudit()
        .args(["corpus", "stats", "--min", "2"])
        .arg(&corpus)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("6 cases in 2 languages"), "{text}");
    assert!(
        text.contains("near_duplicate: `a1` and `a2` have the same text"),
        "{text}"
    );
    assert!(
        text.contains("script_mismatch: `a3` is declared `ar` but written in Latin script"),
        "{text}"
    );
    assert!(
        text.contains("single_member_family: counterfactual family `t2` has a single member"),
        "{text}"
    );
    assert!(
        text.contains("thin_cell: en / dehumanisation (violating): 1 cases, fewer than 2"),
        "{text}"
    );
    let json = modaudit()
        .args(["corpus", "stats", "--json"])
        .arg(&corpus)
        .output()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(stats["languages"][1]["lang"], "en");
    assert_eq!(stats["languages"][1]["protected"], 4);
}

#[test]
fn a_broken_template_names_its_file_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["es"], "");
    std::fs::write(corpus.join("cases.csv"), HEADER).unwrap();
    add_templates(
        &corpus,
        "es",
        ".",
        "group,gender,plural\nmigrants,m,migrantes\nwomen,f,mujeres\nnb,x,personas no binarias\n",
        "t1,protected,neutral_mention,{gender:m=Los|f=Las} {plural} son bienvenidos.,,\n",
    );
    let output = modaudit().arg("validate").arg(&corpus).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let err = stderr_of(&output);
    assert!(
        err.contains("templates.csv:2: `text`: group `nb` has gender = `x`, which `{gender:…}` does not cover"),
        "{err}"
    );
}

/// Writes `groups.csv` and `templates.csv` (rows after the header) into `subdir`
/// of a corpus and lists them in its manifest for `lang`.
pub(crate) fn add_templates(corpus: &std::path::Path, lang: &str, subdir: &str, groups: &str, template_rows: &str) {
    std::fs::create_dir_all(corpus.join(subdir)).unwrap();
    std::fs::write(corpus.join(subdir).join("groups.csv"), groups).unwrap();
    std::fs::write(
        corpus.join(subdir).join("templates.csv"),
        format!("template_id,label,category,text,groups,notes\n{template_rows}"),
    )
    .unwrap();
    let manifest = corpus.join("corpus.toml");
    let text = std::fs::read_to_string(&manifest).unwrap()
        + &format!(
            "\n[[templates]]\nlang = \"{lang}\"\ntemplates = \"{subdir}/templates.csv\"\ngroups = \"{subdir}/groups.csv\"\n"
        );
    std::fs::write(&manifest, text).unwrap();
}

/// The cases of a corpus directory as maps.
fn read_cases(dir: &std::path::Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(dir.join("cases.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            r.unwrap()
                .iter()
                .zip(headers.iter())
                .map(|(v, h)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn the_bundled_corpus_covers_what_an_audit_needs() {
    let dir = repo().join("corpora/protected-speech");
    let output = modaudit()
        .args(["corpus", "stats", "--json", "--min", "8"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let languages = stats["languages"].as_array().unwrap();
    assert!(languages.len() >= 12, "{} languages", languages.len());
    for l in languages {
        let lang = l["lang"].as_str().unwrap();
        assert!(l["protected"].as_u64().unwrap() >= 120, "{lang}: protected");
        assert!(l["violating"].as_u64().unwrap() >= 40, "{lang}: violating");
        assert!(
            l["protected_categories"].as_u64().unwrap() >= 8,
            "{lang}: protected categories with ≥ 8 cases"
        );
        assert!(
            l["target_groups"].as_object().unwrap().len() >= 6,
            "{lang}: target groups"
        );
        for category in ["slur", "dehumanisation", "threat", "exclusion"] {
            assert!(
                l["categories"]["violating"][category].as_u64().unwrap_or(0) > 0,
                "{lang}: violating {category}"
            );
        }
    }
    let with = |category: &str| {
        languages
            .iter()
            .filter(|l| l["categories"]["protected"][category].as_u64().unwrap_or(0) > 0)
            .count()
    };
    assert!(
        with("reclaimed_term") >= 6,
        "reclaimed terms in {} languages",
        with("reclaimed_term")
    );
    let has = |lang: &str| languages.iter().any(|l| l["lang"] == lang);
    for lang in ["ar", "en", "es", "fa", "fr", "pt", "sw", "id", "tr", "zh"] {
        assert!(has(lang), "{lang}");
    }
    assert!(has("hi") && (has("ur") || has("bn")) && (has("ru") || has("uk")));
    let non_latin = ["ar", "fa", "ur", "hi", "bn", "ru", "uk", "zh"]
        .iter()
        .filter(|l| has(l))
        .count();
    assert!(non_latin >= 4);
    let rtl = ["ar", "fa", "ur", "he"].iter().filter(|l| has(l)).count();
    assert!(rtl >= 2);
    // dialect pairs: African-American vs standard American English, a regional Arabic dialect vs MSA
    let cases = std::fs::read_to_string(dir.join("cases/en.csv")).unwrap()
        + &std::fs::read_to_string(dir.join("cases/ar.csv")).unwrap();
    for speaker in [",aae,", ",sae,", ",msa,", ",egyptian_arabic,"] {
        assert!(cases.contains(speaker), "{speaker}");
    }
    // every language has counterfactual templates, and no lint flag is raised
    let manifest = std::fs::read_to_string(dir.join("corpus.toml")).unwrap();
    assert!(manifest.matches("[[templates]]").count() >= 12);
    assert_eq!(stats["flags"].as_array().unwrap().len(), 0, "{}", stats["flags"]);
    assert!(
        manifest.matches("review_status = ").count() >= 12,
        "every language states its review status"
    );
}
