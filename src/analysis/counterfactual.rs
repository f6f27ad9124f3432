//! Counterfactual flips: within a family of cases that differ only by an identity
//! term or dialect (`pair_id`), a consistent system treats every member alike.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Observation, rate_with_interval};
use crate::corpus::Label;

/// Flip statistics over all counterfactual families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counterfactual {
    /// Families with at least two decided members.
    pub families: u64,
    /// Families whose members were not all treated alike.
    pub flipped: u64,
    pub flip_rate: Option<f64>,
    pub flip_ci: Option<[f64; 2]>,
    /// Every flipped family, with who was actioned and who was not.
    pub flipped_families: Vec<FlippedFamily>,
}

/// A family whose members were treated differently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlippedFamily {
    pub pair_id: String,
    pub label: Label,
    pub category: String,
    /// Members that met adverse action: (case id, target group or speaker group).
    pub adverse: Vec<Member>,
    /// Members that did not.
    pub not_adverse: Vec<Member>,
}

/// A member of a counterfactual family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub case_id: String,
    /// The group that distinguishes the member: target group, else speaker group.
    pub group: Option<String>,
}

/// Flip rate within `pair_id` families (cases in error are left out).
pub fn counterfactual(observations: &[Observation<'_>], confidence: f64) -> Counterfactual {
    let mut families: BTreeMap<&str, Vec<&Observation<'_>>> = BTreeMap::new();
    for o in observations.iter().filter(|o| o.decided()) {
        if let Some(pair) = &o.case.pair_id {
            families.entry(pair).or_default().push(o);
        }
    }
    let mut counted = 0;
    let mut flipped_families = Vec::new();
    for (pair_id, members) in families {
        if members.len() < 2 {
            continue;
        }
        counted += 1;
        let adverse = members.iter().filter(|o| o.adverse).count();
        if adverse == 0 || adverse == members.len() {
            continue;
        }
        let member = |o: &&Observation<'_>| Member {
            case_id: o.case.id.clone(),
            group: o.case.target_group.clone().or_else(|| o.case.speaker_group.clone()),
        };
        flipped_families.push(FlippedFamily {
            pair_id: pair_id.to_string(),
            label: members[0].case.label,
            category: members[0].case.category.clone(),
            adverse: members.iter().filter(|o| o.adverse).map(member).collect(),
            not_adverse: members.iter().filter(|o| !o.adverse).map(member).collect(),
        });
    }
    let flipped = flipped_families.len() as u64;
    let (flip_rate, flip_ci) = rate_with_interval(flipped, counted, confidence);
    Counterfactual {
        families: counted,
        flipped,
        flip_rate,
        flip_ci,
        flipped_families,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{case, observe};
    use super::*;
    use crate::decision::Action;

    #[test]
    fn counts_flips_and_ignores_singletons_and_errors() {
        let cases = [
            case("a1", "en", Label::Protected, "s", Some("muslims"), Some("f1")),
            case("a2", "en", Label::Protected, "s", Some("christians"), Some("f1")),
            case("b1", "en", Label::Protected, "s", Some("muslims"), Some("f2")),
            case("b2", "en", Label::Protected, "s", Some("christians"), Some("f2")),
            case("c1", "en", Label::Protected, "s", Some("muslims"), Some("f3")),
            case("c2", "en", Label::Protected, "s", Some("christians"), Some("f3")),
            case("d1", "en", Label::Protected, "s", None, Some("f4")),
        ];
        let obs = [
            observe(&cases[0], Action::Remove),
            observe(&cases[1], Action::Allow),
            observe(&cases[2], Action::Allow),
            observe(&cases[3], Action::Allow),
            observe(&cases[4], Action::Remove),
            observe(&cases[5], Action::Error),
            observe(&cases[6], Action::Remove),
        ];
        let cf = counterfactual(&obs, 0.95);
        assert_eq!((cf.families, cf.flipped), (2, 1));
        assert_eq!(cf.flip_rate, Some(0.5));
        let f = &cf.flipped_families[0];
        assert_eq!(f.pair_id, "f1");
        assert_eq!(f.adverse[0].group.as_deref(), Some("muslims"));
        assert_eq!(f.not_adverse[0].case_id, "a2");
    }
}
