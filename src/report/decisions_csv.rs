//! `decisions.csv`: one row per case with its decision, for spreadsheets and
//! independent re-analysis. A variant made by `[perturb]` names its original
//! (`perturbation_of`, also its `pair_id`) and its `transform`. Fields are
//! quoted by the `csv` writer as RFC 4180 requires.
//!
//! Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (or with a tab
//! or carriage return before one) as a formula, and corpus text or a system's
//! answer can be written to do harm that way (`=HYPERLINK(…)`, DDE commands).
//! As OWASP recommends, such a cell is written with a leading `'`, which makes
//! it text; a cell that is a plain number (`-0.5`) is left as it is. The raw
//! values stay in `journal.jsonl` and `results.json`.

use std::borrow::Cow;

use super::local_paths::LocalPaths;
use crate::decision::DecisionIndex;
use crate::scenario::Plan;

/// Column names of `decisions.csv`.
pub const COLUMNS: [&str; 27] = [
    "case_id",
    "lang",
    "label",
    "category",
    "target_group",
    "speaker_group",
    "pair_id",
    "perturbation_of",
    "transform",
    "action",
    "adverse",
    "score",
    "reason",
    "latency_ms",
    "attempts",
    "error",
    "decision_id",
    "rule",
    "automated",
    "automated_detection",
    "territorial_scope",
    "appeal_url",
    "model",
    "detail",
    "cache_hit",
    "response_sha256",
    "text",
];

/// Renders `decisions.csv` in memory (see [`write_decisions_csv`], which a run uses).
pub fn decisions_csv(plan: &Plan, decisions: &DecisionIndex) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write_decisions_csv(&mut bytes, plan, decisions)?;
    Ok(bytes)
}

/// Writes `decisions.csv` to `out` in corpus order, row by row (no more than a
/// row is held in memory); undecided cases have an empty action. Local paths
/// in the system's words are shortened as in every published file (see
/// [`LocalPaths`]). A case text that cannot be read back from its corpus file
/// fails the write with that [`crate::corpus::TextError`] inside the
/// [`std::io::Error`].
pub fn write_decisions_csv(out: impl std::io::Write, plan: &Plan, decisions: &DecisionIndex) -> std::io::Result<()> {
    let local = LocalPaths::of(plan, None);
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out);
    writer.write_record(COLUMNS)?;
    for case in &plan.cases {
        let d = decisions.get(case.id);
        let response_sha256 = decisions.response_sha256(case.id).map_err(std::io::Error::other)?;
        let words = |v| shortened(&local, v);
        let text = case.text().map_err(std::io::Error::other)?;
        let row: [Cow<'_, str>; COLUMNS.len()] = [
            Cow::Borrowed(&case.id),
            Cow::Borrowed(&case.lang),
            Cow::Owned(case.label.to_string()),
            Cow::Borrowed(&case.category),
            Cow::Borrowed(case.target_group.as_deref().unwrap_or_default()),
            Cow::Borrowed(case.speaker_group.as_deref().unwrap_or_default()),
            Cow::Borrowed(case.pair_id.as_deref().unwrap_or_default()),
            Cow::Borrowed(case.perturbation_of().unwrap_or_default()),
            Cow::Borrowed(case.transform().map_or("", |t| t.as_str())),
            shown(d.map(|d| d.action.to_string())),
            shown(d.map(|d| plan.is_adverse(d.action).to_string())),
            shown(d.and_then(|d| d.score.get()).map(|s| s.to_string())),
            words(d.and_then(|d| d.notice().reason.as_deref())),
            shown(d.map(|d| d.latency_ms.to_string())),
            shown(d.map(|d| d.attempts.to_string())),
            words(d.and_then(|d| d.error())),
            borrowed(d.and_then(|d| d.notice().decision_id.as_ref())),
            words(d.and_then(|d| d.notice().rule.as_deref())),
            shown(d.and_then(|d| d.notice().automated).map(|a| a.to_string())),
            shown(d.and_then(|d| d.notice().automated_detection).map(|a| a.to_string())),
            borrowed(d.and_then(|d| d.notice().territorial_scope.as_ref())),
            borrowed(d.and_then(|d| d.notice().appeal_url.as_ref())),
            words(d.and_then(|d| d.model())),
            words(d.and_then(|d| d.detail())),
            shown(d.map(|d| d.cache_hit.to_string())),
            shown(response_sha256.map(|sha| sha.to_string())),
            text,
        ];
        for cell in &row {
            writer.write_field(neutralise_formula(cell).as_bytes())?;
        }
        writer.write_record(None::<&[u8]>)?;
    }
    writer.flush()
}

/// A text cell, empty when there is no value.
fn borrowed(value: Option<&String>) -> Cow<'_, str> {
    Cow::Borrowed(value.map_or("", String::as_str))
}

/// A cell of the system's words, with local paths shortened; empty when there is no value.
fn shortened<'a>(local: &LocalPaths, value: Option<&'a str>) -> Cow<'a, str> {
    value.map_or(Cow::Borrowed(""), |words| local.shorten(words))
}

/// A formatted cell, empty when there is no value.
fn shown(value: Option<String>) -> Cow<'static, str> {
    value.map_or(Cow::Borrowed(""), Cow::Owned)
}

/// The cell as a spreadsheet should show it: text that would start a formula
/// gets a leading `'`; anything else, plain numbers included, is unchanged.
fn neutralise_formula(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The value a cell of `decisions.csv` was written from: the leading `'` that
/// [`neutralise_formula`] adds is taken off again. A value that itself began
/// with `'` and then `=`, `+`, `-`, `@`, tab or carriage return reads the
/// same as one that was neutralised, and loses its `'`: the one value this
/// cannot restore.
pub fn restore_formula_cell(cell: &str) -> Cow<'_, str> {
    match cell.strip_prefix('\'') {
        Some(value) if value.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_plain_number(value) => {
            Cow::Borrowed(value)
        }
        _ => Cow::Borrowed(cell),
    }
}

/// A decimal number as a spreadsheet reads one: an optional sign, digits with
/// an optional point, an optional exponent (`-0.5`, `+3`, `1e-7`).
fn is_plain_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (digits(whole) || whole.is_empty())
                && (digits(fraction) || fraction.is_empty())
                && !(whole.is_empty() && fraction.is_empty())
        }
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_would_be_formulas_become_text() {
        for cell in [
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1:A9)",
            "\t=1+1",
            "\r=1+1",
            "-inf",
            "-NaN",
            "-",
            "+.",
            "-1e",
        ] {
            assert_eq!(neutralise_formula(cell), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn restoring_undoes_neutralising() {
        for value in [
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "-2+3",
            "@user",
            "- a list",
            "\t=1",
            "-0.5",
            "'quoted",
            "''=x",
            "plain",
            "",
        ] {
            assert_eq!(restore_formula_cell(&neutralise_formula(value)), value, "{value:?}");
        }
        // The one value that cannot be told apart from a neutralised one.
        assert_eq!(restore_formula_cell(&neutralise_formula("'=x")), "=x");
    }

    #[test]
    fn numbers_and_ordinary_text_stay_as_they_are() {
        for cell in [
            "-0.5", "+3", "-.5", "-5.", "1e-7", "-2.5E+3", "0.9", "", "text", "a=b", " =1", "'quoted",
        ] {
            assert_eq!(neutralise_formula(cell), cell, "{cell:?}");
        }
    }
}
