//! The report of a run of several targets (`[[targets]]`): every system's own
//! report, as a run of it alone writes it, and a comparison of the systems on
//! the same cases.
//!
//! The comparison is paired: both systems decided the same posts, so whether
//! they differ is the exact McNemar test of the discordant posts (adverse in
//! one system and not the other, [`crate::analysis::paired`]), the difference
//! of the two rates gets Newcombe's paired interval, and the p-values of one
//! measure, dimension and pair of systems form one correction family (the
//! scenario's `analysis.correction`, Holm by default). A post enters a pair's
//! table only when both systems decided it: an `error` or `unsupported` in
//! either leaves it out. Cohen's κ says how far the systems agree on every
//! post both decided. Rates per system come from each system's own report.
//!
//! Pure: [`build_systems_report`] is a function of the plans, decisions and
//! reports; the renderers in `render` return text.

mod render;

use serde::{Deserialize, Serialize};

use super::{OutcomeSection, Report, Status, UnsupportedLanguage, percent};
use crate::analysis::agreement::cohen_kappa;
use crate::analysis::interval::z_critical;
use crate::analysis::paired::{PairedTable, mcnemar_exact, newcombe_paired};
use crate::analysis::{Dimension, Measure};
use crate::corpus::Case;
use crate::decision::DecisionIndex;
use crate::manifest::RunManifest;
use crate::scenario::Plan;

pub use render::{render_systems_html, render_systems_junit, render_systems_markdown, render_systems_terminal};

/// Version of the `results.json` of a run of several targets. A run of one
/// target writes [`super::SCHEMA_VERSION`] and its schema, unchanged.
///
/// 5: `targets` (each system's full report, with its `label`) and
/// `comparison`.
pub const SYSTEMS_SCHEMA_VERSION: u32 = 5;

/// The dimensions the systems are compared by.
pub const COMPARED_DIMENSIONS: [Dimension; 3] = [Dimension::Overall, Dimension::Language, Dimension::TargetGroup];

/// What `results.json` of a run of several targets holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemsReport {
    pub schema_version: u32,
    pub run: SystemsRun,
    /// Every system's report, in the scenario's order.
    pub targets: Vec<TargetReport>,
    pub comparison: Comparison,
    /// The run's outcome: the worst of the targets' (incomplete, then gates
    /// failed, then passed).
    pub outcome: OutcomeSection,
}

/// The run as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemsRun {
    pub id: String,
    pub scenario: String,
    pub scenario_sha256: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Cases every system is asked about.
    pub cases: u64,
}

/// One system's report: what `targets/<label>/results.json` holds, with its label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TargetReport {
    pub label: String,
    #[serde(flatten)]
    pub report: Report,
}

/// The systems compared with each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Comparison {
    /// Each system's rate per slice, side by side.
    pub rates: Vec<SlicedRates>,
    /// Every pair of systems, per measure and slice: the paired difference and its test.
    pub differences: Vec<PairedDifference>,
    /// Cohen's κ of every pair of systems on the posts both decided.
    pub agreement: Vec<SystemsAgreement>,
    /// Per system, the languages it declared it cannot moderate.
    pub unsupported: Vec<SystemUnsupported>,
    /// A sentence per pair and measure (and per slice where the systems
    /// differ significantly), each with the test it rests on.
    pub findings: Vec<ComparisonFinding>,
}

/// One slice's rate of one measure, for every system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SlicedRates {
    pub measure: Measure,
    pub dimension: Dimension,
    pub value: String,
    /// In the scenario's order; a system with no case in the slice has n 0.
    pub systems: Vec<SystemRate>,
}

/// A system's rate in a slice, from its own report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemRate {
    pub label: String,
    /// Cases of the slice's label the system decided.
    pub n: u64,
    /// Of those, how many met adverse action.
    pub adverse: u64,
    pub rate: Option<f64>,
    /// Wilson interval at the scenario's confidence.
    pub ci: Option<[f64; 2]>,
    /// `n` is below the scenario's minimum n.
    pub small_sample: bool,
}

/// Two systems on the same cases of a slice: `a` before `b` in the scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PairedDifference {
    pub measure: Measure,
    pub dimension: Dimension,
    pub value: String,
    pub a: String,
    pub b: String,
    /// Cases of the slice's label both systems decided.
    pub n: u64,
    pub both: u64,
    /// Adverse in `a` only.
    pub only_a: u64,
    /// Adverse in `b` only.
    pub only_b: u64,
    pub neither: u64,
    /// `a`'s rate minus `b`'s on these cases.
    pub difference: Option<f64>,
    /// Newcombe's paired interval (method 10) of the difference.
    pub difference_ci: Option<[f64; 2]>,
    /// Exact McNemar (two-sided); `null` when the slice is not tested: no
    /// case decided by both, or (but overall) fewer than `min_n`.
    pub p_value: Option<f64>,
    /// Corrected within the measure, dimension and pair.
    pub p_adjusted: Option<f64>,
    /// `p_adjusted` is below the scenario's α.
    pub significant: bool,
    /// `n` is below the scenario's minimum n.
    pub small_sample: bool,
}

/// Cohen's κ of two systems' adverse / not adverse decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemsAgreement {
    pub a: String,
    pub b: String,
    /// Cases both decided.
    pub n: u64,
    /// Share of those on which they agree.
    pub observed: Option<f64>,
    /// `null` when undefined (no case, or both systems always the same way).
    pub kappa: Option<f64>,
    /// Asymptotic standard error (Fleiss, Cohen & Everitt 1969).
    pub se: Option<f64>,
    /// κ ± z·SE at the scenario's confidence.
    pub ci: Option<[f64; 2]>,
}

/// What one system declared it cannot moderate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemUnsupported {
    pub label: String,
    pub languages: Vec<UnsupportedLanguage>,
}

/// A claim about two systems, with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ComparisonFinding {
    /// `comparison.<measure>.<dimension>[.<value>].<a>.<b>`.
    pub id: String,
    pub text: String,
    pub evidence: ComparisonEvidence,
}

/// The test a comparison finding rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ComparisonEvidence {
    /// Always `mcnemar_exact`.
    pub test: String,
    pub n: u64,
    pub only_a: u64,
    pub only_b: u64,
    pub difference: Option<f64>,
    pub difference_ci: Option<[f64; 2]>,
    pub p_value: Option<f64>,
    pub p_adjusted: Option<f64>,
}

/// One system of the run, as the comparison reads it.
pub struct SystemInput<'a> {
    pub label: &'a str,
    /// Its own plan (its gates, its adverse actions: those of the scenario).
    pub plan: &'a Plan,
    pub decisions: &'a DecisionIndex,
    pub report: Report,
}

/// The report of a run of several targets, from each system's plan,
/// decisions and report.
pub fn build_systems_report(plan: &Plan, manifest: &RunManifest, systems: Vec<SystemInput<'_>>) -> SystemsReport {
    let comparison = Comparison {
        rates: sliced_rates(plan, &systems),
        differences: differences(plan, &systems),
        agreement: agreement(plan, &systems),
        unsupported: systems
            .iter()
            .map(|s| SystemUnsupported {
                label: s.label.to_string(),
                languages: s.report.unsupported.clone(),
            })
            .collect(),
        findings: Vec::new(),
    };
    let comparison = Comparison {
        findings: findings(&comparison),
        ..comparison
    };
    let outcome = systems
        .iter()
        .map(|s| &s.report.outcome)
        .fold(None, |worst: Option<&OutcomeSection>, o| match worst {
            Some(w) if severity(w.status) >= severity(o.status) => Some(w),
            _ => Some(o),
        })
        .cloned()
        .unwrap_or(OutcomeSection {
            status: Status::Passed,
            exit_code: crate::exit::SUCCESS,
            error_rate: 0.0,
            error_budget: 0.0,
        });
    SystemsReport {
        schema_version: SYSTEMS_SCHEMA_VERSION,
        run: SystemsRun {
            id: manifest.run_id.clone(),
            scenario: plan.name.clone(),
            scenario_sha256: manifest.scenario.sha256.clone(),
            started_at: manifest.started_at,
            finished_at: manifest.finished_at,
            cases: plan.cases.len() as u64,
        },
        targets: systems
            .into_iter()
            .map(|s| TargetReport {
                label: s.label.to_string(),
                report: s.report,
            })
            .collect(),
        comparison,
        outcome,
    }
}

/// How bad a status is, for the worst of several.
fn severity(status: Status) -> u8 {
    match status {
        Status::Passed => 0,
        Status::GatesFailed => 1,
        Status::Incomplete => 2,
    }
}

fn sliced_rates(plan: &Plan, systems: &[SystemInput<'_>]) -> Vec<SlicedRates> {
    let mut out = Vec::new();
    for measure in Measure::ALL {
        for dimension in COMPARED_DIMENSIONS {
            let mut values: Vec<&str> = systems
                .iter()
                .flat_map(|s| &s.report.slices)
                .filter(|s| s.dimension == dimension)
                .map(|s| s.value.as_str())
                .collect();
            values.sort_unstable();
            values.dedup();
            for value in values {
                let rates = systems
                    .iter()
                    .map(|system| {
                        let slice = system
                            .report
                            .slices
                            .iter()
                            .find(|s| s.dimension == dimension && s.value == value);
                        let (n, adverse, rate, ci) = match (slice, measure) {
                            (None, _) => (0, 0, None, None),
                            (Some(s), Measure::OverRemoval) => (
                                s.protected_n,
                                s.protected_adverse,
                                s.over_removal_rate,
                                s.over_removal_ci,
                            ),
                            (Some(s), Measure::Detection) => {
                                (s.violating_n, s.violating_adverse, s.detection_rate, s.detection_ci)
                            }
                        };
                        SystemRate {
                            label: system.label.to_string(),
                            n,
                            adverse,
                            rate,
                            ci,
                            small_sample: n < plan.analysis.min_n,
                        }
                    })
                    .collect();
                out.push(SlicedRates {
                    measure,
                    dimension,
                    value: value.to_string(),
                    systems: rates,
                });
            }
        }
    }
    out
}

/// Whether `system` decided `case`, and if so whether adversely.
fn adverse(system: &SystemInput<'_>, case: &Case) -> Option<bool> {
    let decision = system.decisions.get(case.id)?;
    decision
        .action
        .is_decision()
        .then(|| system.plan.is_adverse(decision.action))
}

/// Every pair of systems, `a` before `b` in the scenario's order.
fn pairs<'s, 'a>(systems: &'s [SystemInput<'a>]) -> Vec<(&'s SystemInput<'a>, &'s SystemInput<'a>)> {
    let mut out = Vec::new();
    for (i, a) in systems.iter().enumerate() {
        for b in &systems[i + 1..] {
            out.push((a, b));
        }
    }
    out
}

fn differences(plan: &Plan, systems: &[SystemInput<'_>]) -> Vec<PairedDifference> {
    let z = z_critical(plan.analysis.confidence);
    let mut out = Vec::new();
    for (a, b) in pairs(systems) {
        for measure in Measure::ALL {
            for dimension in COMPARED_DIMENSIONS {
                // The table of B-then-A, so that its difference is a's rate minus b's.
                let mut tables: std::collections::BTreeMap<String, PairedTable> = Default::default();
                for case in plan.cases.iter().filter(|c| c.label == measure.label()) {
                    let decided = adverse(a, case).zip(adverse(b, case));
                    for value in dimension.values_of(case) {
                        let table = tables.entry(value.into_owned()).or_default();
                        if let Some((in_a, in_b)) = decided {
                            table.add(in_b, in_a);
                        }
                    }
                }
                // As in every comparison: slices under min_n are described, not tested; overall always is.
                let testable = |table: &PairedTable| {
                    table.n() > 0 && (dimension == Dimension::Overall || table.n() >= plan.analysis.min_n)
                };
                let tested: Vec<f64> = tables
                    .values()
                    .filter(|t| testable(t))
                    .map(|t| mcnemar_exact(t.only_a, t.only_b))
                    .collect();
                let mut adjusted = plan.analysis.correction.adjust(&tested).into_iter();
                for (value, table) in tables {
                    let p_value = testable(&table).then(|| mcnemar_exact(table.only_a, table.only_b));
                    let p_adjusted = p_value.and_then(|_| adjusted.next());
                    out.push(PairedDifference {
                        measure,
                        dimension,
                        value,
                        a: a.label.to_string(),
                        b: b.label.to_string(),
                        n: table.n(),
                        both: table.both,
                        only_a: table.only_b,
                        only_b: table.only_a,
                        neither: table.neither,
                        difference: table.difference(),
                        difference_ci: newcombe_paired(&table, z).map(|(lower, upper)| [lower, upper]),
                        p_value,
                        p_adjusted,
                        significant: p_adjusted.is_some_and(|p| p < plan.analysis.alpha),
                        small_sample: table.n() < plan.analysis.min_n,
                    });
                }
            }
        }
    }
    out
}

fn agreement(plan: &Plan, systems: &[SystemInput<'_>]) -> Vec<SystemsAgreement> {
    pairs(systems)
        .into_iter()
        .map(|(a, b)| {
            let decided: Vec<(usize, usize)> = plan
                .cases
                .iter()
                .filter_map(|case| adverse(a, case).zip(adverse(b, case)))
                .map(|(in_a, in_b)| (usize::from(in_a), usize::from(in_b)))
                .collect();
            let kappa = cohen_kappa(&decided);
            let agreeing = decided.iter().filter(|(x, y)| x == y).count();
            SystemsAgreement {
                a: a.label.to_string(),
                b: b.label.to_string(),
                n: decided.len() as u64,
                observed: (!decided.is_empty()).then(|| agreeing as f64 / decided.len() as f64),
                kappa: kappa.map(|k| k.kappa),
                se: kappa.map(|k| k.se),
                ci: kappa.map(|k| k.interval(plan.analysis.confidence)),
            }
        })
        .collect()
}

/// What a measure's adverse action is, in a sentence: "removed protected speech".
fn verb(measure: Measure) -> &'static str {
    match measure {
        Measure::OverRemoval => "removed protected speech",
        Measure::Detection => "acted on violating posts",
    }
}

/// The slice in words, for a finding.
fn slice_words(d: &PairedDifference) -> String {
    let name = super::summary::group_name(d.dimension, &d.value);
    match d.dimension {
        Dimension::Overall => String::new(),
        Dimension::Language => format!(" in {name}"),
        _ => format!(" about {name}"),
    }
}

/// Each pair's overall difference for each measure, and every slice where the
/// systems differ significantly: claims only where the test supports them.
fn findings(comparison: &Comparison) -> Vec<ComparisonFinding> {
    comparison
        .differences
        .iter()
        .filter(|d| d.dimension == Dimension::Overall || d.significant)
        .map(|d| {
            let id = match d.dimension {
                Dimension::Overall => format!("comparison.{}.overall.{}.{}", d.measure.as_str(), d.a, d.b),
                _ => format!(
                    "comparison.{}.{}.{}.{}.{}",
                    d.measure.as_str(),
                    d.dimension.as_str(),
                    d.value,
                    d.a,
                    d.b
                ),
            };
            ComparisonFinding {
                id,
                text: finding_text(d),
                evidence: ComparisonEvidence {
                    test: "mcnemar_exact".into(),
                    n: d.n,
                    only_a: d.only_a,
                    only_b: d.only_b,
                    difference: d.difference,
                    difference_ci: d.difference_ci,
                    p_value: d.p_value,
                    p_adjusted: d.p_adjusted,
                },
            }
        })
        .collect()
}

fn finding_text(d: &PairedDifference) -> String {
    let posts = match d.measure {
        Measure::OverRemoval => "protected posts",
        Measure::Detection => "violating posts",
    };
    let slice = slice_words(d);
    let (Some(p), Some(difference)) = (d.p_adjusted, d.difference) else {
        return format!(
            "{} and {} both decided only {} of the same {posts}{slice}, too few to compare them.",
            d.a, d.b, d.n
        );
    };
    let rate = |adverse: u64| percent(adverse as f64 / d.n as f64);
    let rates = format!(
        "{} vs {} of the same {} {posts}",
        rate(d.both + d.only_a),
        rate(d.both + d.only_b),
        d.n
    );
    let test = format!(
        "{} (corrected), {} by {} alone, {} by {} alone",
        crate::report::summary::p_text("exact McNemar p", p),
        d.only_a,
        d.a,
        d.only_b,
        d.b
    );
    if d.significant {
        let (more, less) = if difference > 0.0 { (&d.a, &d.b) } else { (&d.b, &d.a) };
        format!(
            "{more} {} significantly more often than {less}{slice} ({rates}; {test}).",
            verb(d.measure)
        )
    } else {
        format!(
            "The test does not tell {} and {} apart on {posts}{slice} at this n ({rates}; {test}).",
            d.a, d.b
        )
    }
}

/// Renders the files at the top of a run of several targets (`report.md`,
/// `report.html`, `results.json`, `junit.xml`; each target's own are in
/// `targets/<label>/`) and writes them into `dir`; returns the sha256 of
/// each file written.
pub fn write_systems_outputs(
    dir: &std::path::Path,
    report: &SystemsReport,
) -> Result<std::collections::BTreeMap<String, String>, crate::error::Error> {
    let results = serde_json::to_string_pretty(report)
        .map_err(|e| crate::error::Error::io(dir.join("results.json"))(e.into()))?;
    let results = format!("{}\n", crate::visible::json_escaped(&results));
    let files = [
        ("report.md", render_systems_markdown(report)),
        ("report.html", render_systems_html(report)),
        ("results.json", results),
        ("junit.xml", render_systems_junit(report)),
    ];
    let mut hashes = std::collections::BTreeMap::new();
    for (name, text) in files {
        crate::fsutil::write_atomically(&dir.join(name), text.as_bytes())?;
        hashes.insert(name.to_string(), crate::hash::sha256_hex(text.as_bytes()));
    }
    Ok(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn difference(only_a: u64, only_b: u64, p_adjusted: Option<f64>, significant: bool) -> PairedDifference {
        let n = 20;
        PairedDifference {
            measure: Measure::OverRemoval,
            dimension: Dimension::Overall,
            value: "all".into(),
            a: "first".into(),
            b: "second".into(),
            n,
            both: 1,
            only_a,
            only_b,
            neither: n - 1 - only_a - only_b,
            difference: Some((only_a as f64 - only_b as f64) / n as f64),
            difference_ci: None,
            p_value: p_adjusted,
            p_adjusted,
            significant,
            small_sample: false,
        }
    }

    #[test]
    fn a_claim_names_the_system_that_removed_more() {
        let text = finding_text(&difference(0, 10, Some(0.002), true));
        assert!(
            text.starts_with("second removed protected speech significantly more often than first"),
            "{text}"
        );
        assert!(
            text.contains("5.0 % vs 55.0 % of the same 20 protected posts"),
            "{text}"
        );
        let text = finding_text(&difference(10, 0, Some(0.002), true));
        assert!(text.starts_with("first removed"), "{text}");
    }

    #[test]
    fn no_claim_where_the_test_does_not_support_one() {
        let text = finding_text(&difference(4, 1, Some(0.375), false));
        assert!(!text.contains("significantly"), "{text}");
        assert!(
            text.starts_with("The test does not tell first and second apart"),
            "{text}"
        );
        let text = finding_text(&difference(0, 0, None, false));
        assert!(text.contains("too few to compare them"), "{text}");
    }

    #[test]
    fn a_tiny_p_value_is_written_as_a_bound_not_as_zero() {
        let text = finding_text(&difference(0, 19, Some(3.8e-6), true));
        assert!(text.contains("exact McNemar p < 0.0001 (corrected)"), "{text}");
        let text = finding_text(&difference(0, 10, Some(0.00196), true));
        assert!(text.contains("exact McNemar p = 0.0020 (corrected)"), "{text}");
    }

    #[test]
    fn the_worst_outcome_is_the_runs() {
        assert!(severity(Status::Incomplete) > severity(Status::GatesFailed));
        assert!(severity(Status::GatesFailed) > severity(Status::Passed));
    }
}
