//! `[perturb]`: seeded, script-aware edits of the bundled corpora's cases,
//! run against the built-in keyword filter. The variants are linked to their
//! originals in `decisions.csv`, and `results.json` reports how often an edit
//! let a detected post through (evasion), changed the decision on a protected
//! post (instability), and whether a post quoted to condemn it was treated more
//! harshly than the post itself.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

/// A scenario over the bundled corpora (as the quickstart) with `perturb` as
/// its `[perturb]` table, or none.
fn scenario(dir: &Path, perturb: Option<&str>) -> PathBuf {
    let corpora = ["corpora/starter", "corpora/protected-speech"]
        .map(|c| toml_string(&repo().join(c).display().to_string()))
        .join(", ");
    let path = dir.join("scenario.toml");
    let mut text = format!(
        "name = \"perturbed quickstart\"\ncorpora = [{corpora}]\n\n[target]\nkind = \"builtin:keyword\"\n\n[run]\nconcurrency = 4\n\n\
         [gates]\nmax_over_removal_rate = 0.5\nmax_flip_rate = 0.5\n"
    );
    if let Some(table) = perturb {
        text.push_str("\n[perturb]\n");
        text.push_str(table);
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn run(dir: &Path, perturb: Option<&str>) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let out = dir.join("out");
    let output = run_scenario(&scenario(dir, perturb), &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    out
}

const ALL_TRANSFORMS: &str = "transforms = [\"leetspeak\", \"symbols\", \"homoglyphs\", \"strip_diacritics\", \
\"zero_width\", \"soft_hyphen\", \"spaced_letters\", \"transliterate\", \"emoji\", \"quote_condemn\"]\nseed = 7\n";

/// The acceptance test of `[perturb]`: the keyword filter's evasion rate under
/// leetspeak per language, and every variant linked back to its original.
#[test]
fn perturbed_quickstart_reports_evasion_per_language_and_links_variants_to_originals() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), Some(ALL_TRANSFORMS));
    let results = read_json(&out.join("results.json"));
    let perturbation = &results["perturbation"];
    assert_eq!(perturbation["seed"], 7);

    // leetspeak: an evasion rate with its interval and n for every Latin-script language
    let leet = perturbation["evasion"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["transform"] == "leetspeak")
        .expect("an evasion entry for leetspeak");
    let by_language: HashMap<&str, &Value> = leet["by_language"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["language"].as_str().unwrap(), row))
        .collect();
    for lang in ["en", "es", "fr", "id", "pt", "sw", "tr"] {
        let row = by_language
            .get(lang)
            .unwrap_or_else(|| panic!("no leetspeak evasion row for {lang}: {leet}"));
        let n = row["n"].as_u64().unwrap();
        assert!(n > 0, "{lang}: {row}");
        let rate = row["rate"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&rate));
        assert_eq!(rate, row["count"].as_f64().unwrap() / n as f64);
        let ci = row["ci"].as_array().unwrap();
        assert!(ci[0].as_f64().unwrap() <= rate && rate <= ci[1].as_f64().unwrap());
    }
    // a keyword filter is evaded by leetspeak almost every time
    assert!(leet["overall"]["rate"].as_f64().unwrap() > 0.8, "{leet}");
    // leetspeak does not apply to Arabic script: no variant, counted and reported
    let generated = perturbation["transforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["transform"] == "leetspeak")
        .unwrap();
    let arabic = generated["by_language"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["language"] == "ar")
        .unwrap();
    assert_eq!(arabic["variants"], 0, "{arabic}");
    assert!(arabic["not_applicable"].as_u64().unwrap() > 0, "{arabic}");

    // every variant's family links back to its original in decisions.csv
    let rows = read_decisions(&out);
    let ids: HashMap<&str, &HashMap<String, String>> = rows.iter().map(|r| (r["case_id"].as_str(), r)).collect();
    let variants: Vec<&HashMap<String, String>> = rows.iter().filter(|r| !r["perturbation_of"].is_empty()).collect();
    assert!(variants.len() > 1000, "{} variants", variants.len());
    let mut transforms = BTreeSet::new();
    for v in &variants {
        let original = ids
            .get(v["perturbation_of"].as_str())
            .unwrap_or_else(|| panic!("{} names no case of the run", v["case_id"]));
        assert!(original["perturbation_of"].is_empty(), "an original is no variant");
        assert_eq!(v["pair_id"], v["perturbation_of"], "{}", v["case_id"]);
        assert_eq!(v["case_id"], format!("{}~{}", v["perturbation_of"], v["transform"]));
        assert_ne!(
            v["text"], original["text"],
            "{}: a variant is never a copy",
            v["case_id"]
        );
        transforms.insert(v["transform"].clone());
    }
    assert_eq!(transforms.len(), 10, "{transforms:?}");
    // the quoted-to-condemn variant is protected counter-speech about a violating post
    let framed = variants
        .iter()
        .find(|v| v["transform"] == "quote_condemn" && v["lang"] == "en")
        .unwrap();
    assert_eq!(framed["label"], "protected");
    assert_eq!(ids[framed["perturbation_of"].as_str()]["label"], "violating");
    // transliteration marks the script
    let arabizi = variants
        .iter()
        .find(|v| v["transform"] == "transliterate" && v["lang"].starts_with("ar"))
        .unwrap();
    assert_eq!(arabizi["lang"], "ar-Latn");

    // the directional check: never harsher on the quotation than on the post
    let directional = &perturbation["directional"];
    assert_eq!(directional["transform"], "quote_condemn");
    assert!(directional["n"].as_u64().unwrap() > 100, "{directional}");

    // the report and the claims ledger say it
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Robustness to evasion"), "no perturbation section");
    assert!(md.contains("Leetspeak"), "leetspeak is named in the report");
    let finding = results["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "perturbation.evasion.leetspeak")
        .expect("a finding on evasion by leetspeak");
    assert_eq!(finding["evidence"]["n"], leet["overall"]["n"]);
    assert!(finding["text"].as_str().unwrap().contains("leetspeak"), "{finding}");
}

/// Variants are measured against their originals only: the corpus's rates,
/// disparities and gates are those of the run without `[perturb]`, and the
/// variants are the same in every run with the same seed.
#[test]
fn perturbation_leaves_the_corpus_rates_alone_and_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let table = "transforms = [\"leetspeak\", \"homoglyphs\", \"zero_width\"]\nlabels = [\"violating\"]\nshare = 0.5\nseed = 3\n";
    let plain = read_json(&run(&tmp.path().join("plain"), None).join("results.json"));
    let first = run(&tmp.path().join("first"), Some(table));
    let second = run(&tmp.path().join("second"), Some(table));
    let perturbed = read_json(&first.join("results.json"));
    for key in ["slices", "disparities", "dimension_comparisons", "notice", "gates"] {
        assert_eq!(perturbed[key], plain[key], "{key} changed by [perturb]");
    }
    for key in ["families", "flipped", "flip_rate", "flip_ci"] {
        assert_eq!(perturbed["counterfactual"][key], plain["counterfactual"][key], "{key}");
    }
    // the edited variants form perturbation families of their own
    let kinds = perturbed["counterfactual"]["by_kind"].as_array().unwrap();
    let edits = kinds
        .iter()
        .find(|k| k["kind"] == "perturbation")
        .expect("perturbation families");
    assert!(edits["families"].as_u64().unwrap() > 100, "{edits}");
    let decisions = |dir: &Path| {
        read_decisions(dir)
            .into_iter()
            .map(|r| (r["case_id"].clone(), r["text"].clone(), r["action"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(decisions(&first), decisions(&second));
    // half of each language's violating cases, no protected one
    let rows = read_decisions(&first);
    let variants: Vec<_> = rows.iter().filter(|r| !r["perturbation_of"].is_empty()).collect();
    assert!(variants.iter().all(|v| v["label"] == "violating"));
    let originals: BTreeSet<&str> = variants.iter().map(|v| v["perturbation_of"].as_str()).collect();
    let violating = rows
        .iter()
        .filter(|r| r["label"] == "violating" && r["perturbation_of"].is_empty())
        .count();
    assert!(
        originals.len() * 2 <= violating + 13 && originals.len() * 2 + 26 >= violating,
        "{} of {violating}",
        originals.len()
    );
    // a different seed picks other cases and other edits
    let third = run(&tmp.path().join("third"), Some(&table.replace("seed = 3", "seed = 4")));
    assert_ne!(decisions(&first), decisions(&third));
}

#[test]
fn an_unknown_transform_is_a_located_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = scenario(
        tmp.path(),
        Some("transforms = [\"leetspeak\", \"pig_latin\"]\nshare = 1.5\n"),
    );
    let output = modaudit().arg("validate").arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("perturb.transforms"), "{stderr}");
    assert!(stderr.contains("pig_latin") && stderr.contains("leetspeak"), "{stderr}");
    assert!(stderr.contains("perturb.share"), "{stderr}");
}

/// A system that reacts to the words of condemnation ("reported") acts on the
/// quotation while it leaves the post up: each such pair is a violation of the
/// directional check, with examples in the results, the report and the summary.
#[test]
fn a_quotation_treated_more_harshly_than_its_post_is_reported_with_examples() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus = write_corpus(
        &tmp.path().join("corpus"),
        &["en"],
        "v1,en,They are vermin.,violating,dehumanisation,,,,\n\
         v2,en,Send them all back.,violating,exclusion,,,,\n\
         v3,en,Nobody wants them here.,violating,exclusion,,,,\n\
         p1,en,Calling people vermin is how it starts.,protected,counter_speech,,,,\n",
    );
    std::fs::write(tmp.path().join("words.txt"), "vermin\nreported\n").unwrap();
    let scenario = write_scenario(
        tmp.path(),
        &corpus,
        "name = \"harsher\"\ncorpora = [{corpus}]\n\n[target]\nkind = \"builtin:keyword\"\nlexicons = { en = \"words.txt\" }\n\n\
         [perturb]\ntransforms = [\"quote_condemn\"]\n",
    );
    let out = tmp.path().join("out");
    let output = run_scenario(&scenario, &out);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let results = read_json(&out.join("results.json"));
    let directional = &results["perturbation"]["directional"];
    assert_eq!(
        (directional["n"].as_u64(), directional["count"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(directional["both_adverse"], 1);
    let examples: Vec<&str> = directional["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["variant"].as_str().unwrap())
        .collect();
    assert_eq!(examples, ["v2~quote_condemn", "v3~quote_condemn"]);
    // only violating posts are quoted; the protected one is left alone
    assert_eq!(results["perturbation"]["transforms"][0]["originals"], 3);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("`v2` → `v2~quote_condemn`"),
        "examples listed in the report"
    );
    let finding = results["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "perturbation.directional")
        .unwrap();
    assert_eq!(finding["kind"], "directional");
    assert!(finding["text"].as_str().unwrap().contains("harsher"), "{finding}");
    assert_eq!(finding["evidence"]["count"], 2);
}
