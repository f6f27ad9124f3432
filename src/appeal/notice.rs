//! Notice and appeal: whether adverse decisions told the affected person what
//! happened, why, under which rule, whether a machine decided, and how to appeal.

use serde::{Deserialize, Serialize};

use crate::decision::Notice;

/// Coverage of each notice element among adverse decisions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NoticeCoverage {
    /// Adverse decisions (the denominator of every other count).
    pub adverse: u64,
    pub with_decision_id: u64,
    pub with_reason: u64,
    pub with_rule: u64,
    /// Decisions that said whether they were automated (either way).
    pub with_automated_flag: u64,
    /// Decisions that said whether the content was detected by automated means.
    #[serde(default)]
    pub with_automated_detection_flag: u64,
    #[serde(default)]
    pub with_territorial_scope: u64,
    pub with_appeal_route: u64,
}

/// The notice elements, in report order, with their display names.
pub const NOTICE_ELEMENTS: [(&str, &str); 7] = [
    ("with_decision_id", "a decision id"),
    ("with_reason", "a reason"),
    ("with_rule", "the rule applied"),
    ("with_automated_flag", "a disclosure of automated decision"),
    ("with_automated_detection_flag", "a disclosure of automated detection"),
    ("with_territorial_scope", "the territorial scope"),
    ("with_appeal_route", "a route to appeal"),
];

impl NoticeCoverage {
    /// Counts the notice elements present in the notices of adverse decisions.
    pub fn of<'a>(adverse_notices: impl IntoIterator<Item = &'a Notice>) -> Self {
        let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let mut c = NoticeCoverage::default();
        for n in adverse_notices {
            c.adverse += 1;
            c.with_decision_id += u64::from(present(&n.decision_id));
            c.with_reason += u64::from(present(&n.reason));
            c.with_rule += u64::from(present(&n.rule));
            c.with_automated_flag += u64::from(n.automated.is_some());
            c.with_automated_detection_flag += u64::from(n.automated_detection.is_some());
            c.with_territorial_scope += u64::from(present(&n.territorial_scope));
            c.with_appeal_route += u64::from(present(&n.appeal_url));
        }
        c
    }

    /// The count of an element by its field name.
    pub fn count(&self, element: &str) -> u64 {
        match element {
            "with_decision_id" => self.with_decision_id,
            "with_reason" => self.with_reason,
            "with_rule" => self.with_rule,
            "with_automated_flag" => self.with_automated_flag,
            "with_automated_detection_flag" => self.with_automated_detection_flag,
            "with_territorial_scope" => self.with_territorial_scope,
            "with_appeal_route" => self.with_appeal_route,
            _ => 0,
        }
    }

    /// Share of adverse decisions carrying an element; `None` with no adverse decisions.
    pub fn share(&self, element: &str) -> Option<f64> {
        (self.adverse > 0).then(|| self.count(element) as f64 / self.adverse as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_present_non_blank_elements() {
        let notices = [
            Notice {
                reason: Some("term".into()),
                ..Notice::default()
            },
            Notice {
                reason: Some("  ".into()),
                automated: Some(false),
                appeal_url: Some("https://a".into()),
                ..Notice::default()
            },
        ];
        let c = NoticeCoverage::of(&notices);
        assert_eq!(
            (
                c.adverse,
                c.with_reason,
                c.with_automated_flag,
                c.with_appeal_route,
                c.with_rule
            ),
            (2, 1, 1, 1, 0)
        );
        assert_eq!(c.share("with_appeal_route"), Some(0.5));
        assert_eq!(NoticeCoverage::default().share("with_reason"), None);
    }
}
