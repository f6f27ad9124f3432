//! Robustness to evasion (`[perturb]`): per transform, how many violating posts
//! the system had detected got through once edited (evasion), how many
//! protected posts it decided differently once edited (instability), and
//! whether it was harsher on a post quoted to condemn it than on the post
//! itself (the directional check). Each sentence gives n and its Wilson
//! interval; transforms are never ranked against each other, because the
//! pairs of one original are not independent across transforms.

use super::{Evidence, Finding, FindingKind, GroupRate, Interval};
use crate::analysis::{Directional, PairRate, TransformRates};
use crate::report::summary::rate_interval_text;
use crate::report::{PerturbationSection, Report, percent};

pub(super) fn findings(report: &Report) -> Vec<Finding> {
    let Some(section) = &report.perturbation else {
        return Vec::new();
    };
    let confidence = report.settings.confidence;
    let results = &section.results;
    let mut out: Vec<Finding> = results
        .evasion
        .iter()
        .filter(|t| t.overall.n > 0)
        .map(|t| evasion(t, confidence))
        .collect();
    out.extend(
        results
            .instability
            .iter()
            .filter(|t| t.overall.n > 0)
            .map(|t| instability(t, confidence)),
    );
    out.extend(
        results
            .directional
            .as_ref()
            .filter(|d| d.overall.n > 0)
            .map(|d| directional(d, confidence)),
    );
    out.extend(inapplicable(section));
    out
}

fn interval_of(rate: &PairRate, confidence: f64) -> Option<Interval> {
    rate.ci.map(|ci| Interval::new("wilson", confidence, ci))
}

/// ", 95 % CI 78.6–95.7 %" or nothing.
fn ci_text(interval: Option<&Interval>, confidence: f64) -> String {
    interval.map_or(String::new(), |i| {
        format!(", {:.0} % CI {}", confidence * 100.0, rate_interval_text(i))
    })
}

fn evidence(rates: &PairRate, interval: Option<Interval>, groups: Vec<GroupRate>, note: String) -> Evidence {
    Evidence {
        n: Some(rates.n),
        count: Some(rates.count),
        rate: rates.rate,
        interval,
        groups,
        counts: [
            ("pairs".to_string(), rates.pairs),
            ("variant_only_adverse".to_string(), rates.variant_only_adverse),
            ("both_adverse".to_string(), rates.both_adverse),
        ]
        .into(),
        note: Some(note),
        ..Evidence::default()
    }
}

fn by_language(t: &[crate::analysis::LanguageRate]) -> Vec<GroupRate> {
    t.iter()
        .filter(|l| l.rate.n > 0)
        .map(|l| GroupRate::new(&l.language, l.rate.count, l.rate.n))
        .collect()
}

fn evasion(t: &TransformRates, confidence: f64) -> Finding {
    let r = &t.overall;
    let interval = interval_of(r, confidence);
    let ci = ci_text(interval.as_ref(), confidence);
    let rate = percent(r.rate.unwrap_or(0.0));
    let text = if r.count == 0 {
        format!(
            "With {}, the system still caught all {} violating posts it had caught unedited (0.0 % evaded{ci}).",
            t.transform.phrase(),
            r.n
        )
    } else {
        format!(
            "With {}, {} of the {} violating posts the system had caught unedited got through ({rate}{ci}).",
            t.transform.phrase(),
            r.count,
            r.n
        )
    };
    let mut e = evidence(
        r,
        interval,
        by_language(&t.by_language),
        "pairs of a violating post the system met with adverse action and its edited variant, both decided; \
         count: variants left alone; groups: per language of the originals"
            .into(),
    );
    e.group = Some(t.transform.as_str().into());
    Finding::new(
        format!("perturbation.evasion.{}", t.transform.as_str()),
        FindingKind::Evasion,
        text,
        e,
    )
}

fn instability(t: &TransformRates, confidence: f64) -> Finding {
    let r = &t.overall;
    let interval = interval_of(r, confidence);
    let ci = ci_text(interval.as_ref(), confidence);
    let text = if r.count == 0 {
        format!(
            "With {}, it decided all {} protected posts as it had unedited (0.0 % changed{ci}).",
            t.transform.phrase(),
            r.n
        )
    } else {
        format!(
            "With {}, it decided {} of {} protected posts differently from the unedited post ({}{ci}).",
            t.transform.phrase(),
            r.count,
            r.n,
            percent(r.rate.unwrap_or(0.0))
        )
    };
    let mut e = evidence(
        r,
        interval,
        by_language(&t.by_language),
        "pairs of a protected post and its edited variant, both decided; count: pairs decided differently".into(),
    );
    e.group = Some(t.transform.as_str().into());
    Finding::new(
        format!("perturbation.instability.{}", t.transform.as_str()),
        FindingKind::Instability,
        text,
        e,
    )
}

fn directional(d: &Directional, confidence: f64) -> Finding {
    let r = &d.overall;
    let interval = interval_of(r, confidence);
    let ci = ci_text(interval.as_ref(), confidence);
    let both = if r.both_adverse > 0 {
        format!(
            " It took adverse action on the quotation along with the post in {} of the {}.",
            r.both_adverse, r.n
        )
    } else {
        String::new()
    };
    let text = if r.count == 0 {
        format!(
            "Quoted to condemn it, a violating post never met adverse action when the post itself did not (0 of {}{ci}).{both}",
            r.n
        )
    } else {
        format!(
            "In {} of {} cases ({}{ci}), a violating post quoted to condemn it met adverse action while the post itself did not: \
             the system was harsher on the counter-speech than on the hate it quoted.{both}",
            r.count,
            r.n,
            percent(r.rate.unwrap_or(0.0))
        )
    };
    let mut e = evidence(
        r,
        interval,
        by_language(&d.by_language),
        "pairs of a violating post and the protected counter-speech quoting it, both decided; \
         count: quotation actioned while the post was not"
            .into(),
    );
    e.group = Some(d.transform.as_str().into());
    Finding::new("perturbation.directional", FindingKind::Directional, text, e)
}

/// What the edits could not be applied to, so that a missing rate is not read as robustness.
fn inapplicable(section: &PerturbationSection) -> Option<Finding> {
    let skipped: Vec<GroupRate> = section
        .transforms
        .iter()
        .filter(|t| t.counts.not_applicable > 0)
        .map(|t| GroupRate::new(t.transform.as_str(), t.counts.not_applicable, t.counts.originals))
        .collect();
    if skipped.is_empty() {
        return None;
    }
    let originals: u64 = skipped.iter().map(|g| g.n).sum();
    let not_applicable: u64 = skipped.iter().map(|g| g.count).sum();
    let parts: Vec<String> = skipped
        .iter()
        .map(|g| format!("{} {} of {}", g.group.replace('_', " "), g.count, g.n))
        .collect();
    Some(Finding::new(
        "perturbation.not_applicable",
        FindingKind::Evasion,
        format!(
            "Some edits do not apply to some texts (leetspeak to Arabic script, for one): {} of {} edits made no variant ({}).",
            not_applicable,
            originals,
            parts.join(", ")
        ),
        Evidence {
            n: Some(originals),
            count: Some(not_applicable),
            groups: skipped,
            note: Some("per transform: originals it did not apply to, of those selected".into()),
            ..Evidence::default()
        },
    ))
}
