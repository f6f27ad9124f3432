use std::collections::{BTreeSet, HashMap};

use super::*;
use crate::analysis::test_support::case;

fn run(name: &str, cases: Vec<Case>, actions: &[(&str, Action)]) -> ComparedRun {
    ComparedRun {
        dir: format!("runs/{name}"),
        run_id: name.into(),
        scenario: "s".into(),
        target_kind: "replay".into(),
        target_description: format!("system {name}"),
        target_fingerprint: "f".into(),
        model_snapshots: Vec::new(),
        adverse_actions: [Action::Remove, Action::Suspend].into_iter().collect::<BTreeSet<_>>(),
        case_source: CaseSource::Scenario,
        started_at: None,
        finished_at: None,
        cases,
        actions: actions
            .iter()
            .map(|(id, a)| (id.to_string(), *a))
            .collect::<HashMap<_, _>>(),
    }
}

fn options(max_regression: Option<f64>, strict: bool) -> DiffOptions {
    DiffOptions {
        settings: DiffSettings {
            confidence: 0.95,
            alpha: 0.05,
            min_n: 30,
            correction: Correction::Holm,
            from: "defaults".into(),
        },
        allow_corpus_change: false,
        max_regression,
        strict,
    }
}

/// 60 protected Arabic and 60 protected English cases, all allowed in A; in B
/// the first `removed` Arabic ones are removed.
fn arabic_regression(removed: usize) -> (ComparedRun, ComparedRun) {
    let mut cases = Vec::new();
    for lang in ["ar", "en"] {
        for i in 0..60 {
            cases.push(case(
                &format!("{lang}{i}"),
                lang,
                Label::Protected,
                "counter_speech",
                None,
                None,
            ));
        }
    }
    let allow: Vec<(String, Action)> = cases.iter().map(|c| (c.id.to_string(), Action::Allow)).collect();
    let a_actions: Vec<(&str, Action)> = allow.iter().map(|(id, a)| (id.as_str(), *a)).collect();
    let b_actions: Vec<(&str, Action)> = allow
        .iter()
        .map(|(id, a)| {
            let index: usize = id[2..].parse().unwrap();
            let action = if id.starts_with("ar") && index < removed {
                Action::Remove
            } else {
                *a
            };
            (id.as_str(), action)
        })
        .collect();
    (run("a", cases.clone(), &a_actions), run("b", cases, &b_actions))
}

#[test]
fn a_regression_in_one_language_is_found_and_gated() {
    let (a, b) = arabic_regression(30);
    let diff = compare(&a, &b, &options(Some(0.02), false)).unwrap();
    let arabic = diff
        .slices
        .iter()
        .find(|s| s.key() == "over_removal.language.ar")
        .unwrap();
    assert_eq!((arabic.n, arabic.a.adverse, arabic.b.adverse), (60, 0, 30));
    assert_eq!(arabic.change, Some(0.5));
    assert_eq!(arabic.p_value, Some(mcnemar_exact(0, 30)));
    // Holm over the two languages: the smaller p doubled.
    assert_eq!(arabic.p_adjusted, Some(2.0 * mcnemar_exact(0, 30)));
    assert!(arabic.significant);
    let english = diff
        .slices
        .iter()
        .find(|s| s.key() == "over_removal.language.en")
        .unwrap();
    assert_eq!(english.change, Some(0.0));
    assert!(!english.significant);
    assert_eq!(diff.flips.len(), 30);
    assert!(
        diff.flips
            .iter()
            .all(|f| f.flip == Flip::NewlyAdverse && f.lang == "ar")
    );
    let gate = diff.gate.as_ref().unwrap();
    let regressed: Vec<&str> = gate.regressions().map(|c| c.slice.as_str()).collect();
    assert_eq!(
        regressed,
        [
            "over_removal.overall",
            "over_removal.language.ar",
            "over_removal.category.counter_speech"
        ]
    );
    assert_eq!(diff.exit_code, exit::GATE_FAILED);
    assert_eq!(gate.as_gate_result().status, GateStatus::Failed);
}

#[test]
fn a_rise_beyond_the_threshold_that_chance_explains_fails_only_when_strict() {
    // 2 of 60 Arabic posts newly removed: +3.3 points, p = 0.5.
    let (a, b) = arabic_regression(2);
    let lenient = compare(&a, &b, &options(Some(0.02), false)).unwrap();
    assert_eq!(lenient.exit_code, exit::SUCCESS);
    assert!(lenient.gate.as_ref().unwrap().passed());
    let strict = compare(&a, &b, &options(Some(0.02), true)).unwrap();
    assert_eq!(strict.exit_code, exit::GATE_FAILED);
    let regressed: Vec<&str> = strict
        .gate
        .as_ref()
        .unwrap()
        .regressions()
        .map(|c| c.slice.as_str())
        .collect();
    assert!(regressed.contains(&"over_removal.language.ar"), "{regressed:?}");
    assert!(
        !regressed.contains(&"over_removal.overall"),
        "1.7 points overall is within 2: {regressed:?}"
    );
}

#[test]
fn identical_runs_show_no_change() {
    let (a, _) = arabic_regression(0);
    let diff = compare(&a, &a, &options(Some(0.0), false)).unwrap();
    assert!(diff.flips.is_empty());
    assert!(
        diff.slices
            .iter()
            .all(|s| s.change == Some(0.0) && s.p_value.is_none_or(|p| p == 1.0))
    );
    assert_eq!(diff.exit_code, exit::SUCCESS);
    assert!(diff.system.same_fingerprint && diff.system.notes[0].starts_with("Same system"));
}

#[test]
fn differing_corpora_are_refused_or_left_out_with_reasons() {
    let base = vec![
        case("same", "en", Label::Protected, "quotation", None, None),
        case("gone", "en", Label::Protected, "quotation", None, None),
        case("edited", "en", Label::Protected, "quotation", None, None),
        case("relabelled", "en", Label::Protected, "quotation", None, None),
    ];
    let mut changed = base.clone();
    changed.remove(1);
    changed[1].text = format!("{}!", changed[1].text().unwrap()).into();
    changed[2].label = Label::Violating;
    changed.push(case("new", "en", Label::Violating, "threat", None, None));
    let ids = ["same", "gone", "edited", "relabelled", "new"].map(|id| (id, Action::Allow));
    let (a, b) = (run("a", base, &ids), run("b", changed, &ids));
    let err = compare(&a, &b, &options(None, false)).unwrap_err();
    assert!(err.to_string().contains("case `gone` is only in run A"), "{err}");
    assert!(
        err.to_string().contains(
            "1 case only in run A, 1 case only in run B, 1 case with a changed text, 1 case with a changed label"
        ),
        "{err}"
    );
    let mut allowed = options(None, false);
    allowed.allow_corpus_change = true;
    let diff = compare(&a, &b, &allowed).unwrap();
    assert_eq!(diff.corpus.compared, 1);
    assert_eq!(
        diff.corpus.left_out,
        LeftOut {
            only_in_a: 1,
            only_in_b: 1,
            text_changed: 1,
            label_changed: 1
        }
    );
}

#[test]
fn errors_are_in_no_rate_and_listed_apart() {
    let cases = vec![
        case("p1", "en", Label::Protected, "quotation", None, None),
        case("p2", "en", Label::Protected, "quotation", None, None),
    ];
    let a = run("a", cases.clone(), &[("p1", Action::Error), ("p2", Action::Allow)]);
    let b = run("b", cases, &[("p1", Action::Remove), ("p2", Action::Unsupported)]);
    let diff = compare(&a, &b, &options(Some(0.0), false)).unwrap();
    assert!(diff.flips.is_empty());
    assert_eq!(diff.outcome_changes.len(), 2);
    assert_eq!(diff.corpus.not_decided_in_both, 2);
    let overall = diff.slices.iter().find(|s| s.key() == "over_removal.overall").unwrap();
    assert_eq!((overall.n, overall.not_decided_in_both), (0, 2));
    // Nothing decided in both runs: the gate cannot pass on nothing.
    assert_eq!(diff.gate.unwrap().status, GateStatus::NotMeasurable);
    assert_eq!(diff.exit_code, exit::GATE_FAILED);
}

#[test]
fn a_silent_model_update_is_named() {
    let (mut a, mut b) = arabic_regression(0);
    a.model_snapshots = vec![ModelSnapshot {
        model: "m-2025-01".into(),
        cases: 120,
    }];
    b.model_snapshots = vec![ModelSnapshot {
        model: "m-2025-06".into(),
        cases: 120,
    }];
    let diff = compare(&a, &b, &options(None, false)).unwrap();
    assert!(!diff.system.same_model_snapshots);
    assert!(
        diff.system.notes[0].starts_with("Same fingerprint, different model snapshot"),
        "{:?}",
        diff.system.notes
    );
    assert!(diff.system.notes[0].contains("m-2025-01") && diff.system.notes[0].contains("m-2025-06"));
}
