//! The taxonomy of groups: aliases resolve to one canonical group, groups carry
//! protected characteristics that reports compare across languages, corpora
//! are linted against it, and importers map suites' groups onto it.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

/// Slices of one dimension in a run's results, by value.
fn slices_of<'a>(results: &'a Value, dimension: &str) -> Vec<(&'a str, &'a Value)> {
    results["slices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["dimension"] == dimension)
        .map(|s| (s["value"].as_str().unwrap(), s))
        .collect()
}

fn protected_n(results: &Value, dimension: &str, value: &str) -> Option<u64> {
    slices_of(results, dimension)
        .into_iter()
        .find(|(v, _)| *v == value)
        .map(|(_, s)| s["protected_n"].as_u64().unwrap())
}

fn stats_json(dir: &Path, extra: &[&str]) -> Value {
    let output = modaudit()
        .args(["corpus", "stats", "--json"])
        .args(extra)
        .arg(dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn flags_of<'a>(stats: &'a Value, kind: &str) -> Vec<&'a str> {
    stats["flags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .map(|f| f["message"].as_str().unwrap())
        .collect()
}

/// The `target_group` column of an imported corpus, in order.
fn target_groups(dir: &Path) -> Vec<String> {
    let mut reader = csv::Reader::from_path(dir.join("cases.csv")).unwrap();
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "target_group")
        .unwrap();
    reader.records().map(|r| r.unwrap()[column].to_string()).collect()
}

const ALIAS_ROWS: &str = "\
a1,ur,Ahmadi families in Rabwah describe the police raid on their place of worship.,protected,news_reporting,ahmadis,,,\n\
a2,id,Komunitas Ahmadiyya di Bogor melaporkan penyegelan masjid mereka.,protected,news_reporting,ahmadiyya,,,\n\
a3,id,Warga Ahmadiyya tetap menggelar salat Jumat meski diancam.,protected,news_reporting,Ahmadiyya,,,\n\
a4,en,The synagogue on Mill Road opens its doors to visitors on Sunday.,protected,neutral_mention,jewish_people,,,\n\
a5,en,The women's football league starts its season on Saturday.,protected,neutral_mention,women,,,\n\
a6,en,The council met to discuss the bus timetable.,protected,neutral_mention,,,,\n";

#[test]
fn an_alias_counts_as_its_group_and_a_group_counts_in_each_of_its_characteristics() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(&tmp.path().join("c"), &["en", "ur", "id"], ALIAS_ROWS);
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"aliases\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n[analysis]\nmin_n = 1\n",
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", stderr_of(&output));
    assert!(
        !stderr_of(&output).contains("taxonomy"),
        "every group is known: {}",
        stderr_of(&output)
    );
    let results = read_json(&out.join("results.json"));
    // `ahmadis`, `ahmadiyya` and `Ahmadiyya` are one group
    assert_eq!(protected_n(&results, "target_group", "ahmadis"), Some(3));
    assert_eq!(protected_n(&results, "target_group", "ahmadiyya"), None);
    assert_eq!(protected_n(&results, "target_group", "jews"), Some(1));
    // Jewish people count under religion and under ethnicity
    assert_eq!(protected_n(&results, "characteristic", "religion_or_belief"), Some(4));
    assert_eq!(
        protected_n(&results, "characteristic", "ethnicity_or_national_origin"),
        Some(1)
    );
    assert_eq!(protected_n(&results, "characteristic", "sex_or_gender"), Some(1));
    assert_eq!(
        protected_n(&results, "language_x_characteristic", "id × religion_or_belief"),
        Some(2)
    );
    // compared like every other dimension, each against the cases without it
    let disparity = results["disparities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dimension"] == "characteristic" && d["group"] == "religion_or_belief")
        .expect("a characteristic comparison");
    assert_eq!(disparity["reference"], "all others");
    assert_eq!(
        (disparity["group_n"].as_u64(), disparity["reference_n"].as_u64()),
        (Some(4), Some(1))
    );
    assert!(
        results["families"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "over_removal/characteristic")
    );
    // decisions.csv names the canonical group
    let decisions = read_decisions(&out);
    assert_eq!(decisions[2]["target_group"], "ahmadis");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("By protected characteristic"), "{md}");
    assert!(md.contains("counts under each of them"), "{md}");
}

#[test]
fn a_scenario_extends_and_overrides_the_taxonomy() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["ar"],
        "r1,ar,text one,protected,reclaimed_term,fallahin,,,\nr2,ar,text two,protected,neutral_mention,ahmadiyya,,,\n",
    );
    std::fs::write(
        tmp.path().join("groups.toml"),
        "# local additions\n[groups.rural_egyptians]\nlabel = \"Rural Egyptians\"\ncharacteristics = [\"ethnicity_or_national_origin\"]\naliases = [\"fallahin\"]\n\n\
         [groups.ahmadiyya_community]\nlabel = \"The Ahmadiyya community\"\ncharacteristics = [\"religion_or_belief\"]\naliases = [\"ahmadiyya\"]\n",
    )
    .unwrap();
    // without the scenario's file, `fallahin` is unknown: a warning, not an error
    let plain = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"t\"\ncorpora = [{corpus}]\n[target]\nkind = \"builtin:keyword\"\n",
    );
    let output = modaudit().arg("validate").arg(&plain).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("warning:") && stderr_of(&output).contains("`fallahin`"),
        "{}",
        stderr_of(&output)
    );
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"t\"\ncorpora = [{corpus}]\n[taxonomy]\nfile = \"groups.toml\"\n[target]\nkind = \"builtin:keyword\"\n[analysis]\nmin_n = 1\n",
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", stderr_of(&output));
    assert!(!stderr_of(&output).contains("warning"), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    assert_eq!(protected_n(&results, "target_group", "rural_egyptians"), Some(1));
    // the scenario's file takes `ahmadiyya` from the bundled `ahmadis`
    assert_eq!(protected_n(&results, "target_group", "ahmadiyya_community"), Some(1));
    assert_eq!(protected_n(&results, "target_group", "ahmadis"), None);
}

#[test]
fn a_broken_taxonomy_file_is_refused_with_located_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en"],
        "c1,en,text,protected,neutral_mention,women,,,\n",
    );
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"t\"\ncorpora = [{corpus}]\n[taxonomy]\nfile = \"groups.toml\"\n[target]\nkind = \"builtin:keyword\"\n",
    );
    let check = |taxonomy: &str, expected: &[&str]| {
        std::fs::write(tmp.path().join("groups.toml"), taxonomy).unwrap();
        let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{taxonomy}");
        let err = stderr_of(&output);
        for e in expected {
            assert!(err.contains(e), "expected `{e}` in: {err}");
        }
    };
    check(
        "[groups.atheists]\nlabel = \"Atheists\"\ncharacteristics = [\"religion\"]\naliases = []\n",
        &["groups.toml:3", "religion", "religion_or_belief"],
    );
    check(
        "[groups.a]\nlabel = \"A\"\ncharacteristics = [\"age\"]\naliases = [\"x\"]\n\n[groups.b]\nlabel = \"B\"\ncharacteristics = [\"age\"]\naliases = [\"y\", \"x\"]\n",
        &["groups.toml:9", "alias `x`", "`a`", "`b`"],
    );
    check(
        "[groups.a]\nlabel = \"A\"\ncharacteristics = [\"age\"]\nalias = [\"x\"]\n",
        &["groups.toml:4", "alias"],
    );
    std::fs::remove_file(tmp.path().join("groups.toml")).unwrap();
    let output = modaudit().arg("validate").arg(&scenario).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("groups.toml"), "{}", stderr_of(&output));
}

#[test]
fn stats_and_validate_flag_unknown_and_near_duplicate_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en"],
        "c1,en,one,protected,neutral_mention,baluchi,,,\n\
         c2,en,two,protected,neutral_mention,tamils,,,\n\
         c3,en,three,protected,neutral_mention,tamil_people,,,\n\
         c4,en,four,protected,neutral_mention,women,,,\n\
         c5,en,five,protected,neutral_mention,muslim,,,\n",
    );
    let stats = stats_json(&corpus, &[]);
    let unknown = flags_of(&stats, "unknown_group");
    assert!(
        unknown
            .iter()
            .any(|m| m.contains("`baluchi`") && m.contains("`baloch`")),
        "{unknown:?}"
    );
    assert!(unknown.iter().any(|m| m.contains("`tamils`")), "{unknown:?}");
    assert!(
        !unknown.iter().any(|m| m.contains("`women`") || m.contains("`muslim`")),
        "known groups and aliases are not flagged: {unknown:?}"
    );
    let near = flags_of(&stats, "near_duplicate_group");
    assert!(
        near.iter()
            .any(|m| m.contains("`tamil_people`") && m.contains("`tamils`")),
        "{near:?}"
    );
    let text = modaudit().args(["corpus", "stats"]).arg(&corpus).output().unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("unknown_group: "),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );

    let output = modaudit().arg("validate").arg(&corpus).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "warnings do not refuse a corpus");
    let err = stderr_of(&output);
    assert!(err.contains("warning:") && err.contains("`baluchi`"), "{err}");
    assert!(err.contains("`tamil_people`"), "{err}");

    // a taxonomy file given to stats makes them known
    std::fs::write(
        tmp.path().join("extra.toml"),
        "[groups.tamils]\nlabel = \"Tamils\"\ncharacteristics = [\"ethnicity_or_national_origin\"]\naliases = [\"tamil_people\"]\n",
    )
    .unwrap();
    let extra = tmp.path().join("extra.toml");
    let stats = stats_json(&corpus, &["--taxonomy", extra.to_str().unwrap()]);
    assert!(
        flags_of(&stats, "near_duplicate_group").is_empty(),
        "{}",
        stats["flags"]
    );
    assert_eq!(flags_of(&stats, "unknown_group").len(), 1, "{}", stats["flags"]);
}

#[test]
fn every_group_of_the_bundled_corpora_is_in_the_taxonomy() {
    for name in ["protected-speech", "starter"] {
        let dir = repo().join("corpora").join(name);
        let stats = stats_json(&dir, &[]);
        assert!(
            flags_of(&stats, "unknown_group").is_empty(),
            "{name}: {}",
            stats["flags"]
        );
        assert!(
            flags_of(&stats, "near_duplicate_group").is_empty(),
            "{name}: {}",
            stats["flags"]
        );
        for language in stats["languages"].as_array().unwrap() {
            assert!(
                !language["characteristics"].as_object().unwrap().is_empty(),
                "{name}: {}",
                language["lang"]
            );
        }
        let output = modaudit().arg("validate").arg(&dir).output().unwrap();
        assert_eq!(output.status.code(), Some(0));
        assert!(!stderr_of(&output).contains("warning"), "{}", stderr_of(&output));
    }
    // religion or belief is covered in most languages
    let stats = stats_json(&repo().join("corpora/protected-speech"), &[]);
    let with_religion = stats["languages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["characteristics"]["religion_or_belief"].as_u64().unwrap_or(0) > 0)
        .count();
    assert!(with_religion >= 10, "{with_religion}");
}

#[test]
fn the_quickstart_report_compares_protected_characteristics() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("quickstart");
    let output = modaudit()
        .current_dir(repo())
        .args(["run", "scenarios/quickstart.toml", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(!stderr_of(&output).contains("warning"), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    let characteristics = slices_of(&results, "characteristic");
    assert!(characteristics.len() >= 8, "{characteristics:?}");
    let religion = protected_n(&results, "characteristic", "religion_or_belief").unwrap();
    assert!(religion >= 100, "{religion}");
    let religion_languages = slices_of(&results, "language_x_characteristic")
        .iter()
        .filter(|(v, _)| v.ends_with(" × religion_or_belief"))
        .count();
    assert!(religion_languages >= 10, "{religion_languages}");
    assert!(
        slices_of(&results, "target_group")
            .iter()
            .all(|(v, _)| !["ahmadiyya", "baluch", "gitanos"].contains(v)),
        "aliases resolve"
    );
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## By protected characteristic"), "{md}");
    assert!(md.contains("religion or belief"), "{md}");
}

#[test]
fn the_hatecheck_importer_maps_its_targets_to_the_taxonomy() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = repo().join("tests/fixtures/import/test_suite_cases.csv");
    let out = tmp.path().join("hc");
    let output = modaudit()
        .args(["corpus", "import", "hatecheck"])
        .arg(&fixture)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert_eq!(
        target_groups(&out),
        ["women", "migrants", "women", "migrants", ""],
        "immigrants → migrants"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("taxonomy"));

    // a suite with groups the taxonomy does not know: kept, reported, then mapped
    let suite = tmp.path().join("suite.csv");
    std::fs::write(
        &suite,
        ",functionality,case_id,test_case,label_gold,target_ident,templ_id\n\
         0,derog_neg_emote_h,1,I despise Martians. ,hateful,Martians,1\n\
         1,ident_neutral_nh,2,I know many Martians. ,non-hateful,Martians,2\n\
         2,ident_neutral_nh,3,I know many gay people. ,non-hateful,gay people,2\n\
         3,ident_neutral_nh,4,I know many North-East Indians. ,non-hateful,North-East Indians,2\n\
         4,ident_neutral_nh,5,I know many lower caste people. ,non-hateful,Lower Caste,2\n",
    )
    .unwrap();
    let import = |out: &Path, extra: &[&str]| {
        modaudit()
            .args(["corpus", "import", "hatecheck"])
            .arg(&suite)
            .arg("--out")
            .arg(out)
            .args(extra)
            .output()
            .unwrap()
    };
    let output = import(&tmp.path().join("a"), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("not in the taxonomy") && stdout.contains("martians (2 cases)"),
        "{stdout}"
    );
    assert_eq!(
        target_groups(&tmp.path().join("a")),
        [
            "martians",
            "martians",
            "gay_people",
            "northeast_indians",
            "lower_caste_people"
        ]
    );
    std::fs::write(tmp.path().join("map.csv"), "local,canonical\nMartians,migrants\n").unwrap();
    let map = tmp.path().join("map.csv");
    let output = import(&tmp.path().join("b"), &["--group-map", map.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("not in the taxonomy"));
    assert_eq!(target_groups(&tmp.path().join("b"))[..2], ["migrants", "migrants"]);
    // a malformed map names its line
    std::fs::write(tmp.path().join("map.csv"), "local,canonical\nMartians\n").unwrap();
    let output = import(&tmp.path().join("c"), &["--group-map", map.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr_of(&output).contains("map.csv:2"), "{}", stderr_of(&output));
}

#[test]
fn the_generic_importer_takes_a_group_map() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("sample.csv"),
        "id,text,label,community\n1,hello,ok,Baloch people\n2,hi,ok,Zomians\n3,hey,ok,lgbt\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("map.csv"), "Baloch people,baloch\n").unwrap();
    let output = modaudit()
        .args(["corpus", "import", "csv"])
        .arg(tmp.path().join("sample.csv"))
        .arg("--out")
        .arg(tmp.path().join("out"))
        .args([
            "--lang",
            "en",
            "--label-map",
            "ok=protected",
            "--target-column",
            "community",
        ])
        .arg("--group-map")
        .arg(tmp.path().join("map.csv"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("zomians (1 case)"), "{stdout}");
    assert_eq!(target_groups(&tmp.path().join("out")), ["baloch", "zomians", "lgbtq"]);
}

#[test]
fn the_manifest_records_the_scenario_taxonomy_and_a_changed_one_is_noticed() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("c"),
        &["en"],
        "c1,en,hello,protected,neutral_mention,tamils,,,\n",
    );
    let taxonomy = tmp.path().join("groups.toml");
    std::fs::write(
        &taxonomy,
        "[groups.tamils]\nlabel = \"Tamils\"\ncharacteristics = [\"ethnicity_or_national_origin\"]\n",
    )
    .unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"t\"\ncorpora = [{corpus}]\n[taxonomy]\nfile = \"groups.toml\"\n[target]\nkind = \"builtin:keyword\"\n",
    );
    let out = tmp.path().join("run");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let manifest = read_json(&out.join("manifest.json"));
    let sha = modaudit::hash::sha256_hex(&std::fs::read(&taxonomy).unwrap());
    assert_eq!(manifest["taxonomy"]["sha256"], sha, "{manifest}");
    assert_eq!(manifest["taxonomy"]["path"], "groups.toml");
    // the report is rebuilt from the same inputs only
    let output = modaudit().arg("report").arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    std::fs::write(
        &taxonomy,
        "[groups.tamils]\nlabel = \"Tamils\"\ncharacteristics = [\"language\"]\n",
    )
    .unwrap();
    let output = modaudit().arg("report").arg(&out).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("the taxonomy file groups.toml has changed"),
        "{}",
        stderr_of(&output)
    );
}
