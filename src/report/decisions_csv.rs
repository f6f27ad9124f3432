//! `decisions.csv`: one row per case with its decision, for spreadsheets and
//! independent re-analysis. Fields are quoted by the `csv` writer as RFC 4180
//! requires; text is written byte for byte.

use super::DecisionIndex;
use crate::scenario::Plan;

/// Column names of `decisions.csv`.
pub const COLUMNS: [&str; 23] = [
    "case_id",
    "lang",
    "label",
    "category",
    "target_group",
    "speaker_group",
    "pair_id",
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
    "cache_hit",
    "response_sha256",
    "text",
];

/// Renders `decisions.csv` in corpus order; undecided cases have an empty action.
pub fn decisions_csv(plan: &Plan, decisions: &DecisionIndex) -> std::io::Result<Vec<u8>> {
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    writer.write_record(COLUMNS)?;
    for case in &plan.cases {
        let d = decisions.get(&case.id);
        let opt = |v: Option<&String>| v.cloned().unwrap_or_default();
        let row = [
            case.id.clone(),
            case.lang.clone(),
            case.label.to_string(),
            case.category.clone(),
            opt(case.target_group.as_ref()),
            opt(case.speaker_group.as_ref()),
            opt(case.pair_id.as_ref()),
            d.map(|d| d.action.to_string()).unwrap_or_default(),
            d.map(|d| plan.is_adverse(d.action).to_string()).unwrap_or_default(),
            d.and_then(|d| d.score).map(|s| s.to_string()).unwrap_or_default(),
            opt(d.and_then(|d| d.notice.reason.as_ref())),
            d.map(|d| d.latency_ms.to_string()).unwrap_or_default(),
            d.map(|d| d.attempts.to_string()).unwrap_or_default(),
            opt(d.and_then(|d| d.error.as_ref())),
            opt(d.and_then(|d| d.notice.decision_id.as_ref())),
            opt(d.and_then(|d| d.notice.rule.as_ref())),
            d.and_then(|d| d.notice.automated)
                .map(|a| a.to_string())
                .unwrap_or_default(),
            d.and_then(|d| d.notice.automated_detection)
                .map(|a| a.to_string())
                .unwrap_or_default(),
            opt(d.and_then(|d| d.notice.territorial_scope.as_ref())),
            opt(d.and_then(|d| d.notice.appeal_url.as_ref())),
            d.map(|d| d.cache_hit.to_string()).unwrap_or_default(),
            opt(d.and_then(|d| d.response_sha256.as_ref())),
            case.text.clone(),
        ];
        writer.write_record(&row)?;
    }
    writer.into_inner().map_err(|e| e.into_error())
}
