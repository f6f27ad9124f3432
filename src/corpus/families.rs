//! How cases depend on each other: two optional columns of `cases.csv`.
//!
//! - `cluster`: cases that are not independent of each other, such as posts of
//!   one thread or paraphrases of one source. The analysis treats each cluster as
//!   one unit of evidence. Without it, a case's cluster is its counterfactual
//!   family (`pair_id`), and a case with neither is a cluster of its own.
//! - `family_kind`: what distinguishes the members of a family: `group_swap` (the
//!   group named, as in template expansions), `dialect` (the dialect or script
//!   of the writer) or `perturbation` (spelling, spacing or other surface edits).
//!   Without it the kind is inferred from the members (see the analysis).
//!
//! Like any extra column, both stay in [`Case::metadata`]; [`Case::cluster`] and
//! [`Case::family_kind`] read them, and [`check_families`] validates them when
//! the corpus loads.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Case;
use crate::diagnostic::Diagnostic;

/// The optional column naming a case's cluster.
pub const CLUSTER_COLUMN: &str = "cluster";
/// The optional column naming the kind of a case's family.
pub const FAMILY_KIND_COLUMN: &str = "family_kind";

/// What distinguishes the members of a counterfactual family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FamilyKind {
    /// Members name different target groups (template expansions).
    GroupSwap,
    /// Members are written in different dialects or scripts (speaker groups).
    Dialect,
    /// Members differ by surface edits of one text.
    Perturbation,
    /// Neither given nor inferable: members differ in both groups or in neither.
    Unclassified,
}

impl FamilyKind {
    /// The kinds a corpus may declare, by their column value.
    pub const DECLARABLE: [FamilyKind; 3] = [FamilyKind::GroupSwap, FamilyKind::Dialect, FamilyKind::Perturbation];

    pub fn as_str(self) -> &'static str {
        match self {
            FamilyKind::GroupSwap => "group_swap",
            FamilyKind::Dialect => "dialect",
            FamilyKind::Perturbation => "perturbation",
            FamilyKind::Unclassified => "unclassified",
        }
    }

    /// A human-readable name for reports.
    pub fn title(self) -> &'static str {
        match self {
            FamilyKind::GroupSwap => "Group swap",
            FamilyKind::Dialect => "Dialect",
            FamilyKind::Perturbation => "Perturbation",
            FamilyKind::Unclassified => "Unclassified",
        }
    }

    /// Parses a declarable kind.
    pub fn parse(value: &str) -> Option<FamilyKind> {
        FamilyKind::DECLARABLE.into_iter().find(|k| k.as_str() == value)
    }
}

fn optional_column<'a>(case: &'a Case, column: &str) -> Option<&'a str> {
    case.metadata.get(column).map(|v| v.trim()).filter(|v| !v.is_empty())
}

impl Case {
    /// The explicit cluster of the case, from the `cluster` column.
    pub fn cluster(&self) -> Option<&str> {
        optional_column(self, CLUSTER_COLUMN)
    }

    /// The declared kind of the case's family, from the `family_kind` column
    /// (an unknown value is rejected when the corpus loads).
    pub fn family_kind(&self) -> Option<FamilyKind> {
        optional_column(self, FAMILY_KIND_COLUMN).and_then(FamilyKind::parse)
    }
}

/// Checks every declared family kind: a known value, on a case with a `pair_id`,
/// and the same for every member of the family that declares one. Each case
/// comes with the file and line it was read from.
pub fn check_families<'a>(cases: impl IntoIterator<Item = (&'a Case, &'a Path, u64)>, problems: &mut Vec<Diagnostic>) {
    let mut declared: BTreeMap<&str, (FamilyKind, &str)> = BTreeMap::new();
    for (case, path, line) in cases {
        let Some(value) = optional_column(case, FAMILY_KIND_COLUMN) else {
            continue;
        };
        let problem = |message: String| Diagnostic::at_line(path, line, message).with_field(FAMILY_KIND_COLUMN);
        let Some(kind) = FamilyKind::parse(value) else {
            let known: Vec<&str> = FamilyKind::DECLARABLE.iter().map(|k| k.as_str()).collect();
            problems.push(problem(format!(
                "unknown family kind {value:?} (expected one of {})",
                known.join(", ")
            )));
            continue;
        };
        let Some(pair_id) = case.pair_id.as_deref() else {
            problems.push(problem(format!(
                "case `{}` declares a family kind but belongs to no family (its `pair_id` is empty)",
                case.id
            )));
            continue;
        };
        match declared.get(pair_id) {
            Some((first, first_case)) if *first != kind => problems.push(problem(format!(
                "family `{pair_id}` is declared `{}` here but `{}` at case `{first_case}`",
                kind.as_str(),
                first.as_str()
            ))),
            Some(_) => {}
            None => {
                declared.insert(pair_id, (kind, &case.id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Label;

    fn case(id: &str, pair: Option<&str>, kind: &str) -> Case {
        Case {
            id: id.into(),
            lang: "en".into(),
            text: "t".into(),
            label: Label::Protected,
            category: "c".into(),
            target_group: None,
            characteristics: Default::default(),
            speaker_group: None,
            pair_id: pair.map(Into::into),
            notes: Default::default(),
            metadata: BTreeMap::from([(FAMILY_KIND_COLUMN.to_string(), kind.to_string())]).into(),
        }
    }

    #[test]
    fn reads_and_checks_declared_kinds() {
        let cases = [
            case("a", Some("f"), " dialect "),
            case("b", Some("f"), ""),
            case("c", Some("f"), "group_swap"),
            case("d", Some("g"), "typo"),
            case("e", None, "dialect"),
        ];
        assert_eq!(cases[0].family_kind(), Some(FamilyKind::Dialect));
        assert_eq!(cases[1].family_kind(), None);
        let mut problems = Vec::new();
        let located = cases.iter().zip(2..).map(|(c, line)| (c, Path::new("cases.csv"), line));
        check_families(located, &mut problems);
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "cases.csv:4: `family_kind`: family `f` is declared `group_swap` here but `dialect` at case `a`",
                "cases.csv:5: `family_kind`: unknown family kind \"typo\" (expected one of group_swap, dialect, perturbation)",
                "cases.csv:6: `family_kind`: case `e` declares a family kind but belongs to no family (its `pair_id` is empty)",
            ]
        );
    }
}
