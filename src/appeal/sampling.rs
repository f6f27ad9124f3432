//! Which wrongful removals are appealed: all of them, or a seeded random sample
//! stratified by language when `[appeal] sample` or `max_appeals` limits the
//! budget.
//!
//! Appeals cost the platform's reviewers and the audit's time, so a run may
//! appeal only some wrongful removals. Taking the first ones in corpus order
//! would appeal one language only; drawing at random overall may leave a small
//! language out by chance. The budget is therefore split across languages in
//! proportion to their wrongful removals (largest remainders), with at least
//! one appeal per language whenever the budget allows, and each language's
//! appeals are those with the smallest keys sha256(seed, case id): random,
//! reproducible from the run's seed, and stable when the budget grows (a larger
//! sample contains the smaller one's cases of each language).
//!
//! A resumed run selects the same appeals: the draw depends only on the seed
//! and the wrongful removals, and appeals already journaled are kept in their
//! language's share before any other is drawn, so an appeal once filed is
//! never dropped from the report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::corpus::{Case, Label};
use crate::decision::Decision;
use crate::decision::DecisionIndex;
use crate::draw::{allocate, draw_key};
use crate::journal::appeal::AppealIndex;
use crate::scenario::{AppealPlan, Plan};

/// How the appeals were chosen (`results.json` → `appeal.probe.sampling`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sampling {
    pub method: SamplingMethod,
    /// The run's seed, which orders the cases of each language.
    pub seed: u64,
    /// `[appeal] sample`: the share of wrongful removals to appeal.
    pub share: f64,
    pub max_appeals: Option<u64>,
    /// Appeals the settings allow: ⌈share × wrongful removals⌉, at most `max_appeals`.
    pub budget: u64,
    /// One per language with wrongful removals, in language order.
    pub strata: Vec<Stratum>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SamplingMethod {
    /// Every wrongful removal is appealed.
    All,
    /// A seeded random sample, allocated to languages in proportion.
    StratifiedByLanguage,
}

/// The appeals of one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stratum {
    pub language: String,
    pub wrongful_removals: u64,
    /// Its share of the budget.
    pub allocated: u64,
    /// Appeals selected: the allocation, or more when a resumed run had
    /// already journaled more appeals of this language.
    pub selected: u64,
}

/// The appeals chosen, in corpus order, and how.
pub struct Selection<'a> {
    pub chosen: Vec<(&'a Case, &'a Decision)>,
    pub sampling: Sampling,
}

/// The wrongful removals of a run, in corpus order: adverse decisions on protected cases.
pub fn wrongful_removals<'a>(plan: &'a Plan, decisions: &'a DecisionIndex) -> Vec<(&'a Case, &'a Decision)> {
    plan.cases
        .iter()
        // an edited variant (`[perturb]`) was never posted: there is nothing to appeal
        .filter(|c| c.label == Label::Protected && !c.is_variant())
        .filter_map(|c| {
            decisions
                .get(c.id)
                .filter(|d| plan.is_adverse(d.action))
                .map(|d| (c, d))
        })
        .collect()
}

/// Chooses the appeals to file among the wrongful removals; `journaled` holds
/// the appeals an earlier pass of this run already began.
pub fn select<'a>(
    seed: u64,
    appeal: &AppealPlan,
    wrongful: Vec<(&'a Case, &'a Decision)>,
    journaled: &AppealIndex,
) -> Selection<'a> {
    let total = wrongful.len() as u64;
    let mut budget = if appeal.sample >= 1.0 {
        total
    } else {
        // the small slack keeps 0.3 × 10 at 3 despite binary rounding
        ((appeal.sample * total as f64 - 1e-9).ceil().max(0.0) as u64).min(total)
    };
    if let Some(max) = appeal.max_appeals {
        budget = budget.min(max as u64);
    }
    let mut by_language: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (case, _)) in wrongful.iter().enumerate() {
        by_language.entry(case.lang.as_str()).or_default().push(i);
    }
    let sizes: Vec<u64> = by_language.values().map(|members| members.len() as u64).collect();
    let allocation = allocate(&sizes, budget);
    let mut keep = vec![false; wrongful.len()];
    let mut strata = Vec::new();
    for ((language, members), allocated) in by_language.iter().zip(allocation) {
        let mut ordered: Vec<(bool, u64, &str, usize)> = members
            .iter()
            .map(|&i| {
                let id = wrongful[i].0.id.as_str();
                (!journaled.contains_key(id), draw_key(seed, id), id, i)
            })
            .collect();
        // journaled first, then by key; the id breaks a tie of keys
        ordered.sort();
        let pinned = ordered.iter().filter(|(fresh, ..)| !fresh).count() as u64;
        let selected = allocated.max(pinned);
        for &(.., i) in ordered.iter().take(selected as usize) {
            keep[i] = true;
        }
        strata.push(Stratum {
            language: language.to_string(),
            wrongful_removals: members.len() as u64,
            allocated,
            selected,
        });
    }
    let chosen = wrongful
        .into_iter()
        .zip(keep)
        .filter_map(|(pair, kept)| kept.then_some(pair))
        .collect();
    Selection {
        chosen,
        sampling: Sampling {
            method: if budget == total {
                SamplingMethod::All
            } else {
                SamplingMethod::StratifiedByLanguage
            },
            seed,
            share: appeal.sample,
            max_appeals: appeal.max_appeals.map(|m| m as u64),
            budget,
            strata,
        },
    }
}

/// The appeals a plan selects, given what its journal already holds.
pub fn selected<'a>(plan: &'a Plan, decisions: &'a DecisionIndex, journaled: &AppealIndex) -> Selection<'a> {
    let appeal = plan.appeal.as_ref().expect("selecting appeals needs an [appeal] table");
    select(plan.run.seed, appeal, wrongful_removals(plan, decisions), journaled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::test_support::case;
    use crate::appeal::AppealState;
    use crate::decision::{Action, OptionalScore};
    use std::time::Duration;

    fn plan(sample: f64, max_appeals: Option<usize>) -> AppealPlan {
        AppealPlan {
            submit_url: String::new(),
            submit_body: String::new(),
            headers: BTreeMap::new(),
            appeal_text: String::new(),
            appeal_id: String::new(),
            status_url: String::new(),
            status: String::new(),
            status_map: BTreeMap::new(),
            decided_at: None,
            filed_at: None,
            outcome_reason: None,
            poll_interval: Duration::from_secs(1),
            deadline: Duration::from_secs(10),
            sample,
            max_appeals,
            concurrency: 1,
            idempotency_header: String::new(),
        }
    }

    fn cases(per_language: &[(&str, usize)]) -> Vec<Case> {
        per_language
            .iter()
            .flat_map(|&(lang, n)| {
                (0..n).map(move |i| case(&format!("{lang}-{i:03}"), lang, Label::Protected, "quote", None, None))
            })
            .collect()
    }

    fn removal() -> Decision {
        Decision {
            action: Action::Remove,
            score: OptionalScore::NONE,
            latency_ms: 0,
            attempts: 1,
            cache_hit: false,
            details: None,
        }
    }

    fn ids(selection: &Selection<'_>) -> Vec<String> {
        selection.chosen.iter().map(|(c, _)| c.id.to_string()).collect()
    }

    #[test]
    fn the_draw_is_seeded_stratified_and_in_corpus_order() {
        let cases = cases(&[("en", 40), ("es", 15), ("ar", 5)]);
        let decisions: Vec<Decision> = cases.iter().map(|_| removal()).collect();
        let wrongful = || cases.iter().zip(&decisions).collect::<Vec<_>>();
        let none = AppealIndex::new();
        let a = select(1, &plan(1.0, Some(12)), wrongful(), &none);
        assert_eq!(a.sampling.method, SamplingMethod::StratifiedByLanguage);
        assert_eq!(a.sampling.budget, 12);
        let per = |s: &Selection<'_>, lang: &str| s.chosen.iter().filter(|(c, _)| c.lang == lang).count();
        assert_eq!((per(&a, "en"), per(&a, "es"), per(&a, "ar")), (8, 3, 1));
        assert_eq!(ids(&a), ids(&select(1, &plan(1.0, Some(12)), wrongful(), &none)));
        assert_ne!(ids(&a), ids(&select(2, &plan(1.0, Some(12)), wrongful(), &none)));
        let order: Vec<usize> = a
            .chosen
            .iter()
            .map(|(c, _)| cases.iter().position(|x| x.id == c.id).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "corpus order");
        // a larger budget keeps the smaller sample's cases
        let larger = select(1, &plan(1.0, Some(30)), wrongful(), &none);
        assert!(ids(&a).iter().all(|id| ids(&larger).contains(id)));
        // a share: ⌈0.25 × 60⌉ = 15
        let share = select(1, &plan(0.25, None), wrongful(), &none);
        assert_eq!(share.sampling.budget, 15);
        assert_eq!(share.chosen.len(), 15);
        let all = select(1, &plan(1.0, None), wrongful(), &none);
        assert_eq!((all.sampling.method, all.chosen.len()), (SamplingMethod::All, 60));
    }

    #[test]
    fn journaled_appeals_stay_selected() {
        let cases = cases(&[("en", 20), ("es", 20)]);
        let decisions: Vec<Decision> = cases.iter().map(|_| removal()).collect();
        let wrongful = || cases.iter().zip(&decisions).collect::<Vec<_>>();
        let first = select(3, &plan(1.0, Some(4)), wrongful(), &AppealIndex::new());
        let journaled: AppealIndex = ids(&first).into_iter().map(|id| (id, AppealState::default())).collect();
        let again = select(3, &plan(1.0, Some(4)), wrongful(), &journaled);
        assert_eq!(ids(&first), ids(&again), "the same draw on resume");
        // appeals journaled beyond the share are kept, never dropped
        let mut more = journaled.clone();
        for id in ["en-000", "en-001", "en-002", "en-003"] {
            more.insert(id.into(), AppealState::default());
        }
        let kept = select(3, &plan(1.0, Some(4)), wrongful(), &more);
        assert!(more.keys().all(|id| ids(&kept).contains(id)));
        assert!(kept.sampling.strata.iter().any(|s| s.selected > s.allocated));
    }
}
