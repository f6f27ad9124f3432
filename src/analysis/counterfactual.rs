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
//!
//! The variants `[perturb]` made of one original form a perturbation family
//! with it, the original as anchor; a variant that changed the label (a post
//! quoted to condemn it) is not a member, because the system should treat it
//! differently. In these families a member is told apart by its transform (the
//! anchor by `original`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::cluster::{ClusterRobust, ClusterSums, Tally, cluster_robust};
use super::{Observation, rate_with_interval};
use crate::corpus::{FamilyKind, Label};
use crate::sym::{Sym, SymMap};

/// Flip statistics over all counterfactual families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Counterfactual {
    /// Families of the corpus with at least two decided members, of every
    /// kind (the families of variants made by `[perturb]` are in `by_kind` only,
    /// so that edits do not move the pooled rate or its gate).
    pub families: u64,
    /// Of those, the families whose members were not all treated alike.
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
    pub pair_id: Sym,
    pub kind: FamilyKind,
    pub label: Label,
    pub category: Sym,
    /// Members that met adverse action: (case id, target group or speaker group).
    pub adverse: Vec<Member>,
    /// Members that did not.
    pub not_adverse: Vec<Member>,
}

/// A member of a counterfactual family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Member {
    pub case_id: Sym,
    /// The value that distinguishes the member within its kind of family.
    pub group: Option<Sym>,
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

/// What the anchor of a perturbation family is called beside its variants.
pub const ORIGINAL: &str = "original";

/// The value that distinguishes a member within its kind of family; members of
/// a family of variants are told apart by their transform.
fn distinguishing_value(o: &Observation<'_>, kind: FamilyKind, variants: bool) -> Option<Sym> {
    let case = o.case;
    if variants {
        return Some(Sym::new(case.transform().map_or(ORIGINAL, |t| t.as_str())));
    }
    match kind {
        FamilyKind::GroupSwap => case.target_group,
        FamilyKind::Dialect => case.speaker_group,
        FamilyKind::Perturbation | FamilyKind::Unclassified => case.target_group.or(case.speaker_group),
    }
}

/// A family: the cases sharing a `pair_id`, or an original with its variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FamilyKey<'a> {
    Declared(&'a str),
    /// Named after the original.
    Variants(&'a str),
}

/// Running counts for one kind of family.
#[derive(Default)]
struct KindCounts {
    families: u64,
    flipped_families: u64,
    pairs: ClusterSums,
    sizes: BTreeMap<u64, (u64, u64)>,
    members: BTreeMap<Option<Sym>, MemberFlips>,
}

impl KindCounts {
    fn add_family(&mut self, kind: FamilyKind, variants: bool, members: &[&Observation<'_>]) -> bool {
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
            let value = distinguishing_value(o, kind, variants);
            let entry = self.members.entry(value).or_insert_with(|| MemberFlips {
                value: value.map(String::from),
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
    // Decided observations by case id, as positions in a flat table: needed
    // only to find the originals of `[perturb]` variants.
    let mut by_id: SymMap<u32> = SymMap::new();
    if observations.iter().any(|o| o.case.perturbation_of().is_some()) {
        for (at, o) in observations.iter().enumerate().filter(|(_, o)| o.decided()) {
            by_id.insert(o.case.id, u32::try_from(at).expect("fewer than 2^32 cases"));
        }
    }
    let decided = |id: &str| -> Option<&Observation<'_>> {
        let &at = by_id.get(Sym::existing(id)?)?;
        Some(&observations[at as usize])
    };
    let mut families: BTreeMap<FamilyKey<'_>, Vec<&Observation<'_>>> = BTreeMap::new();
    for o in observations.iter().filter(|o| o.decided()) {
        let key = match o.case.perturbation_of() {
            Some(anchor) => {
                let original = decided(anchor);
                if original.is_some_and(|a| a.case.label != o.case.label) {
                    continue;
                }
                FamilyKey::Variants(anchor)
            }
            None => match &o.case.pair_id {
                Some(pair) => FamilyKey::Declared(pair),
                None => continue,
            },
        };
        families.entry(key).or_default().push(o);
    }
    for (key, members) in &mut families {
        if let FamilyKey::Variants(anchor) = key
            && let Some(original) = decided(anchor)
        {
            members.insert(0, original);
        }
    }
    let mut counted = 0;
    let mut flipped = 0;
    let mut kinds: BTreeMap<FamilyKind, KindCounts> = BTreeMap::new();
    let mut flipped_families = Vec::new();
    for (key, members) in families {
        if members.len() < 2 {
            continue;
        }
        let (pair_id, variants) = match key {
            FamilyKey::Declared(pair) => (pair, false),
            FamilyKey::Variants(anchor) => (anchor, true),
        };
        counted += u64::from(!variants);
        let kind = if variants {
            FamilyKind::Perturbation
        } else {
            family_kind(&members)
        };
        if !kinds.entry(kind).or_default().add_family(kind, variants, &members) {
            continue;
        }
        flipped += u64::from(!variants);
        let member = |o: &&Observation<'_>| Member {
            case_id: o.case.id,
            group: distinguishing_value(o, kind, variants),
        };
        flipped_families.push(FlippedFamily {
            pair_id: Sym::new(pair_id),
            kind,
            label: members[0].case.label,
            category: members[0].case.category,
            adverse: members.iter().filter(|o| o.adverse).map(member).collect(),
            not_adverse: members.iter().filter(|o| !o.adverse).map(member).collect(),
        });
    }
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

    /// An original and its variants form one family, anchored at the original,
    /// beside the original's own group-swap family; a variant that changed the
    /// label stays out.
    #[test]
    fn variants_join_their_original_not_its_group_swap_family() {
        use crate::corpus::perturb::{PERTURBATION_OF_COLUMN, TRANSFORM_COLUMN};
        let variant = |id: &str, of: &str, transform: &str, label: Label| {
            let mut v = case(id, "en", label, "s", Some("muslims"), Some(of));
            v.metadata.insert(PERTURBATION_OF_COLUMN.into(), of.into());
            v.metadata.insert(TRANSFORM_COLUMN.into(), transform.into());
            v
        };
        let cases = [
            case("a1", "en", Label::Violating, "s", Some("muslims"), Some("f1")),
            case("a2", "en", Label::Violating, "s", Some("jews"), Some("f1")),
            variant("a1~leetspeak", "a1", "leetspeak", Label::Violating),
            variant("a1~emoji", "a1", "emoji", Label::Violating),
            variant("a1~quote_condemn", "a1", "quote_condemn", Label::Protected),
        ];
        let actions = [
            Action::Remove,
            Action::Remove,
            Action::Allow,
            Action::Remove,
            Action::Remove,
        ];
        let obs: Vec<_> = cases.iter().zip(actions).map(|(c, a)| observe(c, a)).collect();
        let cf = counterfactual(&obs, 0.95);
        // the pooled rate is the corpus's own families'
        assert_eq!((cf.families, cf.flipped), (1, 0));
        let swap = cf.by_kind.iter().find(|k| k.kind == FamilyKind::GroupSwap).unwrap();
        assert_eq!((swap.families, swap.flipped_families), (1, 0));
        let edits = cf.by_kind.iter().find(|k| k.kind == FamilyKind::Perturbation).unwrap();
        assert_eq!((edits.families, edits.pairs, edits.flipped_pairs), (1, 3, 2));
        let flipped = &cf.flipped_families[0];
        assert_eq!(flipped.pair_id, "a1");
        assert_eq!(flipped.not_adverse[0].group.as_deref(), Some("leetspeak"));
        let actioned: Vec<Option<&str>> = flipped.adverse.iter().map(|m| m.group.as_deref()).collect();
        assert_eq!(actioned, [Some(ORIGINAL), Some("emoji")]);
    }
}
