//! Counterfactual flips: within a family of cases that differ only by an identity
//! term or dialect (`pair_id`), a consistent system treats every member alike.
//!
//! Families differ in kind and size, so flips are counted per kind of family
//! ([`FamilyKind`]) and both per family (a family flips when its decided members
//! were not all treated alike) and per pair (every two decided members of a
//! family; a pair flips when exactly one of them met adverse action). A family
//! of ten with one member actioned is one flipped family but nine flipped pairs
//! of 45. Pairs of one family are not independent, so the pair rate also carries
//! a cluster-robust interval with families as clusters.
//!
//! A family's kind is the one its members declare (`family_kind`), else
//! inferred: members that name different target groups within one speaker
//! group are a group swap; members of different speaker groups about one target
//! group are dialect variants; anything else is unclassified.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::cluster::{ClusterRobust, ClusterSums, Tally, cluster_robust};
use super::{Observation, rate_with_interval};
use crate::corpus::{FamilyKind, Label};

/// Flip statistics over all counterfactual families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Counterfactual {
    /// Families with at least two decided members, of every kind.
    pub families: u64,
    /// Families whose members were not all treated alike, of every kind.
    pub flipped: u64,
    /// `flipped / families`, pooled over kinds of family; see `by_kind`.
    pub flip_rate: Option<f64>,
    pub flip_ci: Option<[f64; 2]>,
    /// Flips per kind of family, per family and per pair.
    pub by_kind: Vec<KindFlips>,
    /// Every flipped family, with who was actioned and who was not.
    pub flipped_families: Vec<FlippedFamily>,
}

/// Flips among the families of one kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KindFlips {
    pub kind: FamilyKind,
    /// Families with at least two decided members.
    pub families: u64,
    pub flipped_families: u64,
    pub family_flip_rate: Option<f64>,
    /// Wilson interval of the family flip rate.
    pub family_flip_ci: Option<[f64; 2]>,
    /// Pairs of decided members within these families.
    pub pairs: u64,
    /// Pairs of which exactly one member met adverse action.
    pub flipped_pairs: u64,
    pub pair_flip_rate: Option<f64>,
    /// Wilson interval of the pair flip rate, as if pairs were independent.
    pub pair_flip_ci: Option<[f64; 2]>,
    /// The pair flip rate's interval with families as clusters.
    pub pair_flip_cluster_robust: Option<ClusterRobust>,
    /// Families by number of decided members, smallest first.
    pub family_sizes: Vec<FamilySize>,
    /// Each distinguishing value (target group of a group swap, speaker group of
    /// a dialect family), most often on the actioned side of a flipped pair first.
    pub members: Vec<MemberFlips>,
}

/// How many families of one size there are, and how many of them flipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FamilySize {
    /// Decided members.
    pub members: u64,
    pub families: u64,
    pub flipped: u64,
}

/// How the members sharing one distinguishing value took part in flips.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MemberFlips {
    /// The target group (group swaps), speaker group (dialect families) or, for
    /// other kinds, the target group else the speaker group; `None` if the
    /// member has none.
    pub value: Option<String>,
    /// Decided members with this value.
    pub members: u64,
    /// Of those, how many met adverse action.
    pub actioned: u64,
    /// Flipped families in which a member with this value was actioned.
    pub adverse_in_flipped_families: u64,
    /// Flipped pairs in which the member with this value was the actioned one.
    pub adverse_side_of_flipped_pairs: u64,
    /// Flipped pairs in which the member with this value was the one left alone.
    pub allowed_side_of_flipped_pairs: u64,
}

/// A family whose members were treated differently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FlippedFamily {
    pub pair_id: String,
    pub kind: FamilyKind,
    pub label: Label,
    pub category: String,
    /// Members that met adverse action: (case id, target group or speaker group).
    pub adverse: Vec<Member>,
    /// Members that did not.
    pub not_adverse: Vec<Member>,
}

/// A member of a counterfactual family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Member {
    pub case_id: String,
    /// The value that distinguishes the member within its kind of family.
    pub group: Option<String>,
}

/// The kind of a family: declared by a member, else inferred from the members.
fn family_kind(members: &[&Observation<'_>]) -> FamilyKind {
    if let Some(kind) = members.iter().find_map(|o| o.case.family_kind()) {
        return kind;
    }
    let targets: BTreeSet<Option<&str>> = members.iter().map(|o| o.case.target_group.as_deref()).collect();
    let speakers: BTreeSet<Option<&str>> = members.iter().map(|o| o.case.speaker_group.as_deref()).collect();
    match (targets.len() > 1, speakers.len() > 1) {
        (true, false) => FamilyKind::GroupSwap,
        (false, true) => FamilyKind::Dialect,
        _ => FamilyKind::Unclassified,
    }
}

/// The value that distinguishes a member within its kind of family.
fn distinguishing_value(o: &Observation<'_>, kind: FamilyKind) -> Option<String> {
    let case = o.case;
    match kind {
        FamilyKind::GroupSwap => case.target_group.clone(),
        FamilyKind::Dialect => case.speaker_group.clone(),
        FamilyKind::Perturbation | FamilyKind::Unclassified => {
            case.target_group.clone().or_else(|| case.speaker_group.clone())
        }
    }
}

/// Running counts for one kind of family.
#[derive(Default)]
struct KindCounts {
    families: u64,
    flipped_families: u64,
    pairs: ClusterSums,
    sizes: BTreeMap<u64, (u64, u64)>,
    members: BTreeMap<Option<String>, MemberFlips>,
}

impl KindCounts {
    fn add_family(&mut self, kind: FamilyKind, members: &[&Observation<'_>]) -> bool {
        let size = members.len() as u64;
        let actioned = members.iter().filter(|o| o.adverse).count() as u64;
        let allowed = size - actioned;
        let flipped = actioned > 0 && allowed > 0;
        self.families += 1;
        self.flipped_families += u64::from(flipped);
        self.pairs.add(Tally {
            n: size * (size - 1) / 2,
            successes: actioned * allowed,
        });
        let by_size = self.sizes.entry(size).or_default();
        by_size.0 += 1;
        by_size.1 += u64::from(flipped);
        let mut counted_in_family = BTreeSet::new();
        for o in members {
            let value = distinguishing_value(o, kind);
            let entry = self.members.entry(value.clone()).or_insert_with(|| MemberFlips {
                value: value.clone(),
                members: 0,
                actioned: 0,
                adverse_in_flipped_families: 0,
                adverse_side_of_flipped_pairs: 0,
                allowed_side_of_flipped_pairs: 0,
            });
            entry.members += 1;
            if o.adverse {
                entry.actioned += 1;
                entry.adverse_side_of_flipped_pairs += allowed;
                if flipped && counted_in_family.insert(value) {
                    entry.adverse_in_flipped_families += 1;
                }
            } else {
                entry.allowed_side_of_flipped_pairs += actioned;
            }
        }
        flipped
    }

    fn finish(self, kind: FamilyKind, confidence: f64) -> KindFlips {
        let (family_flip_rate, family_flip_ci) = rate_with_interval(self.flipped_families, self.families, confidence);
        let Tally {
            n: pairs,
            successes: flipped_pairs,
        } = self.pairs.total();
        let (pair_flip_rate, pair_flip_ci) = rate_with_interval(flipped_pairs, pairs, confidence);
        let mut members: Vec<MemberFlips> = self.members.into_values().collect();
        members.sort_by(|a, b| {
            b.adverse_side_of_flipped_pairs
                .cmp(&a.adverse_side_of_flipped_pairs)
                .then_with(|| b.adverse_in_flipped_families.cmp(&a.adverse_in_flipped_families))
                .then_with(|| a.value.cmp(&b.value))
        });
        KindFlips {
            kind,
            families: self.families,
            flipped_families: self.flipped_families,
            family_flip_rate,
            family_flip_ci,
            pairs,
            flipped_pairs,
            pair_flip_rate,
            pair_flip_ci,
            pair_flip_cluster_robust: cluster_robust(&self.pairs, confidence),
            family_sizes: self
                .sizes
                .into_iter()
                .map(|(members, (families, flipped))| FamilySize {
                    members,
                    families,
                    flipped,
                })
                .collect(),
            members,
        }
    }
}

/// Flip rates within `pair_id` families (cases not decided are left out).
pub fn counterfactual(observations: &[Observation<'_>], confidence: f64) -> Counterfactual {
    let mut families: BTreeMap<&str, Vec<&Observation<'_>>> = BTreeMap::new();
    for o in observations.iter().filter(|o| o.decided()) {
        if let Some(pair) = &o.case.pair_id {
            families.entry(pair).or_default().push(o);
        }
    }
    let mut counted = 0;
    let mut kinds: BTreeMap<FamilyKind, KindCounts> = BTreeMap::new();
    let mut flipped_families = Vec::new();
    for (pair_id, members) in families {
        if members.len() < 2 {
            continue;
        }
        counted += 1;
        let kind = family_kind(&members);
        if !kinds.entry(kind).or_default().add_family(kind, &members) {
            continue;
        }
        let member = |o: &&Observation<'_>| Member {
            case_id: o.case.id.clone(),
            group: distinguishing_value(o, kind),
        };
        flipped_families.push(FlippedFamily {
            pair_id: pair_id.to_string(),
            kind,
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
        by_kind: kinds
            .into_iter()
            .map(|(kind, counts)| counts.finish(kind, confidence))
            .collect(),
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
        assert_eq!((f.pair_id.as_str(), f.kind), ("f1", FamilyKind::GroupSwap));
        assert_eq!(f.adverse[0].group.as_deref(), Some("muslims"));
        assert_eq!(f.not_adverse[0].case_id, "a2");
    }

    fn with_speaker(mut c: crate::corpus::Case, speaker: &str) -> crate::corpus::Case {
        c.speaker_group = Some(speaker.into());
        c
    }

    /// A family of ten with one member actioned is one flipped family of one but
    /// nine flipped pairs of 45; a dialect pair is one pair.
    #[test]
    fn counts_pairs_by_kind_and_who_was_actioned() {
        let groups = ["g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9"];
        let mut cases: Vec<_> = groups
            .iter()
            .map(|g| case(&format!("t-{g}"), "id", Label::Protected, "s", Some(g), Some("big")))
            .collect();
        cases.push(with_speaker(
            case("d1", "ar", Label::Protected, "dialect", None, Some("dia")),
            "egyptian",
        ));
        cases.push(with_speaker(
            case("d2", "ar", Label::Protected, "dialect", None, Some("dia")),
            "msa",
        ));
        cases.push(with_speaker(
            case("x1", "ar", Label::Protected, "s", Some("a"), Some("mixed")),
            "p",
        ));
        cases.push(with_speaker(
            case("x2", "ar", Label::Protected, "s", Some("b"), Some("mixed")),
            "q",
        ));
        let obs: Vec<_> = cases
            .iter()
            .map(|c| {
                let adverse = ["t-g3", "d2", "x1"].contains(&c.id.as_str());
                observe(c, if adverse { Action::Remove } else { Action::Allow })
            })
            .collect();
        let cf = counterfactual(&obs, 0.95);
        assert_eq!((cf.families, cf.flipped), (3, 3));
        let kinds: Vec<FamilyKind> = cf.by_kind.iter().map(|k| k.kind).collect();
        assert_eq!(
            kinds,
            [FamilyKind::GroupSwap, FamilyKind::Dialect, FamilyKind::Unclassified]
        );
        let swap = &cf.by_kind[0];
        assert_eq!(
            (swap.families, swap.flipped_families, swap.pairs, swap.flipped_pairs),
            (1, 1, 45, 9)
        );
        assert_eq!(swap.pair_flip_rate, Some(0.2));
        assert_eq!(
            swap.family_sizes,
            [FamilySize {
                members: 10,
                families: 1,
                flipped: 1
            }]
        );
        let g3 = &swap.members[0];
        assert_eq!(g3.value.as_deref(), Some("g3"));
        assert_eq!(
            (
                g3.actioned,
                g3.adverse_in_flipped_families,
                g3.adverse_side_of_flipped_pairs
            ),
            (1, 1, 9)
        );
        assert_eq!(swap.members[1].allowed_side_of_flipped_pairs, 1);
        // one family is one cluster: no design effect to estimate
        let robust = swap.pair_flip_cluster_robust.as_ref().unwrap();
        assert_eq!((robust.clusters, robust.design_effect), (1, None));
        let dialect = &cf.by_kind[1];
        assert_eq!((dialect.pairs, dialect.flipped_pairs), (1, 1));
        assert_eq!(dialect.members[0].value.as_deref(), Some("msa"));
        assert_eq!(cf.flipped_families[1].adverse[0].group.as_deref(), Some("msa"));
    }
}
