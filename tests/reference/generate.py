#!/usr/bin/env python3
"""Reference values for every statistic in modaudit's results.json, computed
independently with SciPy, statsmodels, lifelines and NumPy.

The recompute test (tests/integration/recompute.rs) produces three runs with
the real binary and checks every number of their results.json against the
files this script writes to tests/fixtures/reference/:

- quickstart.json: `modaudit run scenarios/quickstart.toml` (the bundled
  corpora against the built-in keyword filter);
- appeals.json: `modaudit report` over a copy of
  tests/fixtures/recompute/appeals/run (appeal records with fixed times);
- cells.json: `modaudit run tests/fixtures/recompute/cells/scenario.toml`
  (zero and full cells: 1 of 1 against 367 of 2,845, 1 of 1 against 7 of 7,
  and scores, so that every AUC appears);
- mann_whitney.json: SciPy's Mann–Whitney U p-value of one example, checked
  against `modaudit::analysis::rank`.

Regenerate them whenever the bundled corpora, the keyword filter or the
statistics change (from the repository root, after `cargo build`):

    python3 tests/reference/generate.py [--binary target/debug/modaudit] [--check]

`--check` writes nothing and exits 1 when a committed file differs from what
this script computes by more than 1e-10 (library versions may move the last
digits; `versions` is not compared). Needs Python 3.11+ with numpy, scipy,
statsmodels and lifelines; the versions used are recorded in each file
(`versions`). The inputs of the appeal and cells runs are written by
tests/reference/build_inputs.py.

Nothing here reads a statistic modaudit computed. From a run directory the
script reads the cases and decisions (decisions.csv; the corpus files for the
optional `cluster` and `family_kind` columns; journal.jsonl for appeals) and
the scenario's settings, computes every statistic from them, and uses
results.json only to know where each value goes: each reference file mirrors
results.json, holding for each element the fields that identify it (checked
too) and every number computed here. The script refuses to write a file when
results.json holds an element or a floating-point number it did not compute,
or the other way round.

How each value is computed (`sources` in each file says the same):

- rates: Wilson intervals, statsmodels `proportion_confint(method="wilson")`;
- cluster-robust intervals: the variance of the mean of the 0/1 outcomes from
  statsmodels `OLS(y, 1).fit(cov_type="cluster")`, the design effect as that
  over the same fit with every case its own cluster, n_eff = N / max(deff, 1)
  (N² / Σ n_c² when the design effect cannot be estimated: a rate of 0 or 1,
  or a single cluster, whose variance is then undefined), and the Wilson
  interval at n_eff (README, "Statistics");
- rate ratios: MOVER–Wilson (Donner & Zou 2012), written here from the paper's
  formulas; differences: statsmodels `confint_proportions_2indep(compare="diff",
  method="newcomb")`; both at the report's confidence and, for tested
  comparisons, at 1 − α/m;
- p-values: SciPy `fisher_exact` (two-sided), adjusted within each family with
  statsmodels `multipletests`; omnibus: SciPy `chi2_contingency` (Yates only at
  one degree of freedom);
- minimum detectable rates: statsmodels `NormalIndPower().power` of
  `proportion_effectsize`, solved for the rate with SciPy `brentq`;
- stratified checks: statsmodels `StratifiedTable` (`oddsratio_pooled`,
  `oddsratio_pooled_confint`, `test_null_odds`, `test_equal_odds`), with the p-value
  of each statistic as SciPy `chi2.sf` (statsmodels' `1 − cdf` loses small ones);
- AUC: SciPy's Mann–Whitney U / (m·n); DeLong variances by the NumPy midrank
  formulation (DeLong et al. 1988; Sun & Xu 2014);
- appeals: lifelines `KaplanMeierFitter` (curve, median, 90th percentile) and
  `logrank_test`, expected events from lifelines' `survival_table_from_events`;
  reversal rates as above.

Definitional choices of modaudit that these libraries leave open, followed here
(README "Statistics" documents each):

- the CMH continuity correction subtracts 0.5 only when |Σ(a − E a)| ≥ 0.5
  (as R's `mantelhaen.test`; statsmodels subtracts it always, so the correction
  is switched off below 0.5); strata without both the group and its reference
  are left out, and so are strata with an empty column for Breslow–Day;
- an undefined value is null, not NaN or infinity: an odds ratio of 0 or ∞, a χ²
  test on a table with an empty column, the MOVER upper limit when the
  reference rate is 0 (and the whole interval when both rates are 0), a lower
  limit is never below 0, a median or percentile the Kaplan–Meier curve never
  reaches;
- times between journal timestamps are taken to the millisecond (truncated);
- a case counts under every protected characteristic of its target group in
  the taxonomy of groups (corpora/taxonomy.toml, with a scenario's
  `[taxonomy] file` merged over it); the reference of a comparison never holds
  a case of the group, and no omnibus test is made across groups that share
  cases.
"""

import argparse
import csv
import json
import math
import platform
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections import defaultdict
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import lifelines
import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from lifelines.utils import survival_table_from_events
from scipy import optimize, special, stats
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportion_effectsize

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = ROOT / "tests" / "fixtures" / "reference"
RECOMPUTE = ROOT / "tests" / "fixtures" / "recompute"
MANN_WHITNEY = {
    "x": [5.956, 6.958, 7.957, 8.959],
    "y": [1.499, 0.999, 2.499, 1.999, 3.956, 4.457, 3.456, 2.954, 5.458, 4.957, 3.289],
}
# Sections of results.json that are not analysis: bookkeeping, settings echoed
# from the scenario, prose, and gate values copied from the analysis.
NOT_ANALYSIS = {"schema_version", "run", "corpora", "settings", "summary", "findings", "limitations", "gates", "outcome"}
DIMENSIONS = ["overall", "language", "category", "target_group", "speaker_group", "language_x_target_group", "characteristic", "language_x_characteristic"]
COMPARED = ["language", "category", "target_group", "speaker_group", "characteristic"]
APPEAL_DIMENSIONS = ["language", "target_group", "speaker_group", "category"]
STRATA_BY = {"target_group": ["category", "language"], "speaker_group": ["category", "language"], "characteristic": ["category", "language"], "language": ["category"]}
# The taxonomy of groups (README, "Taxonomy"): which protected characteristics a
# target group has; a scenario's `[taxonomy] file` is merged over this one.
BUNDLED_TAXONOMY = ROOT / "corpora" / "taxonomy.toml"
CHARACTERISTICS = ["religion_or_belief", "ethnicity_or_national_origin", "race_or_colour", "sex_or_gender", "gender_identity", "sexual_orientation", "disability", "age", "migration_status", "caste", "language", "political_opinion"]
CORRECTIONS = {"holm": "holm", "bonferroni": "bonferroni", "benjamini_hochberg": "fdr_bh", "benjamini_yekutieli": "fdr_by"}
POWER = 0.8
AUC_POWER = -5.0
SOURCES = {
    "wilson": "statsmodels.stats.proportion.proportion_confint(count, nobs, alpha, method='wilson')",
    "cluster_robust": "statsmodels OLS(y, ones).fit(cov_type='cluster', cov_kwds={'groups': clusters}).cov_params()[0, 0]; design effect: over the same fit with groups = arange(N); Wilson interval at N / max(deff, 1), else N^2 / sum n_c^2",
    "ratio_ci": "MOVER-Wilson, Donner & Zou (2012) Stat Methods Med Res 21(4): L = (p1 p2 - sqrt((p1 p2)^2 - l1(2p1 - l1) u2(2p2 - u2))) / (u2(2p2 - u2)), U = (p1 p2 + sqrt((p1 p2)^2 - u1(2p1 - u1) l2(2p2 - l2))) / (l2(2p2 - l2)) with Wilson limits (l, u)",
    "difference_ci": "statsmodels.stats.proportion.confint_proportions_2indep(a, n1, c, n2, compare='diff', method='newcomb', alpha)",
    "p_value": "scipy.stats.fisher_exact([[a, n1 - a], [c, n2 - c]]).pvalue (two-sided)",
    "p_adjusted": "statsmodels.stats.multitest.multipletests(p, method=holm|bonferroni|fdr_bh|fdr_by) within each family",
    "omnibus": "scipy.stats.chi2_contingency(table) (Yates' correction at one degree of freedom)",
    "min_detectable": "scipy.optimize.brentq on statsmodels NormalIndPower().power(proportion_effectsize(rate, reference_rate), n, alpha/m, ratio=n_ref/n) - 0.8",
    "stratified": "statsmodels StratifiedTable: oddsratio_pooled, oddsratio_pooled_confint, test_null_odds(correction=|O-E| >= 0.5).statistic, test_equal_odds().statistic; p = scipy.stats.chi2.sf(statistic, df)",
    "auc": "scipy.stats.mannwhitneyu(positives, negatives).statistic / (m n); DeLong variance from scipy.stats.rankdata midranks with numpy (ddof 1)",
    "power_means": "numpy: mean(auc ** -5) ** (-1 / 5)",
    "time_to_decision": "lifelines KaplanMeierFitter: survival_function_, median_survival_time_, percentile(0.1)",
    "log_rank": "lifelines.statistics.logrank_test; expected events from lifelines.utils.survival_table_from_events",
    "mann_whitney": "scipy.stats.mannwhitneyu(x, y, alternative='two-sided') (method='auto')",
}


class Mismatch(Exception):
    """results.json and the recomputation disagree on what exists."""


# ---------------------------------------------------------------- helpers


def z_of(confidence):
    return float(stats.norm.ppf(1 - (1 - confidence) / 2))


def fl(x):
    """A float for JSON, None for a missing value."""
    return None if x is None else float(x)


def rate(k, n):
    return k / n if n else None


def wilson(k, n, confidence):
    if n == 0:
        return None
    lo, hi = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    return [float(lo), float(hi)]


def mover_wilson(a, n1, c, n2, confidence):
    """Donner & Zou (2012), MOVER with Wilson limits, for p1 / p2."""
    if n1 == 0 or n2 == 0 or (a == 0 and c == 0):
        return None
    alpha = 1 - confidence
    l1, u1 = proportion_confint(a, n1, alpha=alpha, method="wilson")
    l2, u2 = proportion_confint(c, n2, alpha=alpha, method="wilson")
    p1, p2 = a / n1, c / n2
    # lower: (p1 p2 − √((p1 p2)² − l1(2p1 − l1)·u2(2p2 − u2))) / (u2(2p2 − u2))
    if a == 0:
        lower = 0.0
    else:
        denominator = u2 * (2 * p2 - u2)
        discriminant = max((p1 * p2) ** 2 - l1 * (2 * p1 - l1) * denominator, 0.0)
        if abs(denominator) < 1e-300:
            lower = l1 * (2 * p1 - l1) / (2 * p1 * p2)
        else:
            lower = (p1 * p2 - math.sqrt(discriminant)) / denominator
        lower = max(lower, 0.0)
    # upper: (p1 p2 + √((p1 p2)² − u1(2p1 − u1)·l2(2p2 − l2))) / (l2(2p2 − l2)); unbounded at p2 = 0
    upper = None
    if c > 0:
        denominator = l2 * (2 * p2 - l2)
        discriminant = max((p1 * p2) ** 2 - u1 * (2 * p1 - u1) * denominator, 0.0)
        upper = (p1 * p2 + math.sqrt(discriminant)) / denominator
    return {"lower": float(lower), "upper": fl(upper)}


def newcombe(a, n1, c, n2, confidence):
    if n1 == 0 or n2 == 0:
        return None
    lo, hi = confint_proportions_2indep(a, n1, c, n2, compare="diff", method="newcomb", alpha=1 - confidence)
    return [float(max(lo, -1.0)), float(min(hi, 1.0))]


def fisher(a, n1, c, n2):
    return float(stats.fisher_exact([[a, n1 - a], [c, n2 - c]]).pvalue)


def adjust(p_values, correction):
    if correction == "none" or not p_values:
        return list(p_values)
    return [float(x) for x in multipletests(p_values, method=CORRECTIONS[correction])[1]]


def cluster_codes(keys):
    """Integer codes of hashable cluster keys, in order of first appearance."""
    index = {}
    return np.array([index.setdefault(k, len(index)) for k in keys])


def ols_mean_variance(y, groups):
    fit = sm.OLS(np.asarray(y, dtype=float), np.ones((len(y), 1))).fit(cov_type="cluster", cov_kwds={"groups": groups})
    return float(fit.cov_params()[0, 0])


def cluster_robust(outcomes, confidence):
    """outcomes: list of (cluster key, 0/1) of the decided cases of a rate."""
    n = len(outcomes)
    if n == 0:
        return None
    y = np.array([o for _, o in outcomes], dtype=float)
    keys = [k for k, _ in outcomes]
    codes = cluster_codes(keys)
    k = int(codes.max()) + 1
    sizes = np.bincount(codes)
    successes = int(y.sum())
    variance = ols_mean_variance(y, codes) if k > 1 else None
    design_effect = None
    if variance is not None and 0 < successes < n:
        design_effect = variance / ols_mean_variance(y, np.arange(n))
    effective_n = n / max(design_effect, 1.0) if design_effect is not None else n * n / float((sizes.astype(float) ** 2).sum())
    p = successes / n
    lo, hi = proportion_confint(p * effective_n, effective_n, alpha=1 - confidence, method="wilson")
    return {
        "clusters": k,
        "largest_cluster": int(sizes.max()),
        "variance": fl(variance),
        "design_effect": fl(design_effect),
        "effective_n": float(effective_n),
        "ci": [float(min(max(lo, 0.0), 1.0)), float(min(max(hi, 0.0), 1.0))],
    }


def cluster_robust_of_tallies(tallies, confidence):
    """tallies: list of (n_c, y_c) per cluster, expanded into 0/1 rows."""
    outcomes = []
    for index, (size, successes) in enumerate(tallies):
        outcomes.extend([(index, 1)] * successes + [(index, 0)] * (size - successes))
    return cluster_robust(outcomes, confidence)


def minimum_detectable(reference_rate, n, n_ref, alpha):
    analysis = NormalIndPower()

    def power_at(p1):
        h = proportion_effectsize(p1, reference_rate)
        return float(analysis.power(effect_size=h, nobs1=n, alpha=alpha, ratio=n_ref / n, alternative="two-sided"))

    def solve(extreme):
        if extreme == reference_rate or power_at(extreme) < POWER:
            return {"rate": None, "ratio": None}
        p1 = optimize.brentq(lambda p: power_at(p) - POWER, reference_rate, extreme, xtol=1e-16, rtol=4 * np.finfo(float).eps, maxiter=500)
        return {"rate": float(p1), "ratio": float(p1 / reference_rate) if reference_rate > 0 else None}

    return {"alpha": float(alpha), "power": POWER, "increase": solve(1.0), "decrease": solve(0.0)}


# ---------------------------------------------------------------- inputs


class Case:
    __slots__ = ("id", "lang", "label", "category", "target_group", "characteristics", "speaker_group", "pair_id", "cluster", "family_kind", "action", "score", "appeal_url", "decided", "adverse")

    def values_of(self, dimension):
        """Every value of the case in a dimension: a group with several
        characteristics counts under each."""
        if dimension == "characteristic":
            return list(self.characteristics)
        if dimension == "language_x_characteristic":
            return [f"{self.lang} × {c}" for c in self.characteristics]
        value = self.value_of(dimension)
        return [] if value is None else [value]

    def value_of(self, dimension):
        if dimension == "overall":
            return "all"
        if dimension == "language":
            return self.lang
        if dimension == "category":
            return self.category
        if dimension == "target_group":
            return self.target_group
        if dimension == "speaker_group":
            return self.speaker_group
        if dimension == "language_x_target_group":
            return f"{self.lang} × {self.target_group}" if self.target_group is not None else None
        raise ValueError(dimension)

    def cluster_key(self):
        if self.cluster:
            return ("explicit", self.cluster)
        if self.pair_id:
            return ("family", self.pair_id)
        return ("single", self.id)


def corpus_columns(scenario_path):
    """The optional `cluster` and `family_kind` columns of every corpus file, by case id."""
    scenario = tomllib.loads(scenario_path.read_text(encoding="utf-8"))
    extra = {}
    for corpus in scenario["corpora"]:
        directory = (scenario_path.parent / (corpus if isinstance(corpus, str) else corpus["path"])).resolve()
        manifest = tomllib.loads((directory / "corpus.toml").read_text(encoding="utf-8"))
        for name in manifest.get("files", ["cases.csv"]):
            path = directory / name
            if not path.exists():
                continue
            with path.open(encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    extra[row["id"]] = ((row.get("cluster") or "").strip(), (row.get("family_kind") or "").strip())
    return extra


def name_key(name):
    """A group name as the taxonomy matches it: lower case, runs of other
    characters than letters and digits one `_`, none at the ends."""
    out = []
    for ch in name.strip():
        if ch.isalnum():
            out.append(ch.lower())
        elif out and out[-1] != "_":
            out.append("_")
    return "".join(out).rstrip("_")


def taxonomy_of(scenario_path):
    """Name or alias key → (canonical name, characteristics in list order):
    the bundled taxonomy with the scenario's file merged over it (its groups
    replace those of the same name and take the names they claim)."""
    def groups_in(path):
        return tomllib.loads(path.read_text(encoding="utf-8")).get("groups", {})

    groups = dict(groups_in(BUNDLED_TAXONOMY))
    scenario = tomllib.loads(scenario_path.read_text(encoding="utf-8"))
    if "taxonomy" in scenario:
        own = groups_in(scenario_path.parent / scenario["taxonomy"]["file"])
        claimed = {name_key(n) for name, g in own.items() for n in [name, *g.get("aliases", [])]}
        groups = {name: dict(g, aliases=[a for a in g.get("aliases", []) if name_key(a) not in claimed]) for name, g in groups.items() if name_key(name) not in claimed}
        groups.update(own)
    index = {}
    for name, g in groups.items():
        characteristics = tuple(c for c in CHARACTERISTICS if c in g["characteristics"])
        for written in [name, *g.get("aliases", [])]:
            index[name_key(written)] = (name, characteristics)
    return index


def cell(text):
    """A decisions.csv cell as the case had it: a leading `'` that guards a
    formula-like cell in spreadsheets is taken off (README, "Output files")."""
    return text[1:] if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@", "\t", "\r") else text


def load_cases(run_dir, scenario_path, settings):
    extra = corpus_columns(scenario_path)
    taxonomy = taxonomy_of(scenario_path)
    adverse_actions = set(settings["adverse_actions"])
    cases = []
    with (run_dir / "decisions.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            c = Case()
            c.id = cell(row["case_id"])
            c.lang = row["lang"]
            c.label = row["label"]
            c.category = cell(row["category"])
            c.target_group = cell(row["target_group"]) or None
            c.characteristics = ()
            if c.target_group is not None and name_key(c.target_group) in taxonomy:
                canonical, c.characteristics = taxonomy[name_key(c.target_group)]
                if canonical != c.target_group:
                    raise Mismatch(f"decisions.csv names `{c.target_group}` for {c.id}, not its canonical group `{canonical}`")
            c.speaker_group = cell(row["speaker_group"]) or None
            c.pair_id = cell(row["pair_id"]) or None
            c.cluster, c.family_kind = extra.get(c.id, ("", ""))
            c.action = row["action"] or None
            c.score = float(row["score"]) if row["score"] else None
            c.appeal_url = row["appeal_url"]
            c.decided = c.action not in (None, "error", "unsupported")
            c.adverse = c.decided and c.action in adverse_actions
            if row["adverse"] not in ("", "true" if c.adverse else "false"):
                raise Mismatch(f"decisions.csv says adverse={row['adverse']} for {c.id} ({c.action})")
            cases.append(c)
    return cases


# ---------------------------------------------------------------- analysis


def slices(cases, settings):
    confidence, min_n = settings["confidence"], settings["min_n"]
    out = {}
    for dimension in DIMENSIONS:
        groups = defaultdict(list)
        for c in cases:
            for v in c.values_of(dimension):
                groups[v].append(c)
        for value, members in groups.items():
            entry = {"dimension": dimension, "value": value}
            for label, prefix, rate_key, small_key in (
                ("protected", "over_removal", "protected", "small_sample"),
                ("violating", "detection", "violating", "detection_small_sample"),
            ):
                decided = [c for c in members if c.decided and c.label == label]
                n, k = len(decided), sum(c.adverse for c in decided)
                entry[f"{rate_key}_n"] = n
                entry[f"{rate_key}_adverse"] = k
                entry[f"{prefix}_rate"] = fl(rate(k, n))
                entry[f"{prefix}_ci"] = wilson(k, n, confidence)
                entry[f"{prefix}_cluster_robust"] = cluster_robust([(c.cluster_key(), int(c.adverse)) for c in decided], confidence)
                entry[small_key] = n < min_n
            entry["errors"] = sum(c.action == "error" for c in members)
            entry["unsupported"] = sum(c.action == "unsupported" for c in members)
            out[(dimension, value)] = entry
    return out


def strata_key(c, by):
    return " × ".join(c.value_of(d) for d in by if c.value_of(d) is not None)


def stratified(group, reference, by, difference, ratio, alpha, confidence):
    """group, reference: lists of cases of one measure's label; by: the dimensions of the strata."""
    by_stratum = defaultdict(lambda: [0, 0, 0, 0])
    for cases, row in ((group, 0), (reference, 1)):
        for c in cases:
            cell = by_stratum[strata_key(c, by)]
            cell[2 * row + (0 if c.adverse else 1)] += 1
    tables = [t for _, t in sorted(by_stratum.items()) if sum(t) > 0]
    used = [t for t in tables if t[0] + t[1] > 0 and t[2] + t[3] > 0]
    total = np.sum(np.array(tables), axis=0)
    crude = total[0] * total[3] / (total[1] * total[2]) if total[1] * total[2] > 0 else None
    result = {
        "strata": len(tables),
        "strata_used": len(used),
        "crude_odds_ratio": fl(crude),
        "crude_rate_ratio": fl(ratio),
        "odds_ratio": None,
        "odds_ratio_ci": None,
        "cmh_p_value": None,
        "breslow_day_p_value": None,
        "alpha": float(alpha),
        "survives": None,
    }
    if used:
        array = np.array([[[t[0], t[1]], [t[2], t[3]]] for t in used], dtype=float).transpose(1, 2, 0)
        st = StratifiedTable(array)
        a, b, c, d = array[0, 0], array[0, 1], array[1, 0], array[1, 1]
        n = a + b + c + d
        r, s = float(np.sum(a * d / n)), float(np.sum(b * c / n))
        if r > 0 and s > 0:
            result["odds_ratio"] = float(st.oddsratio_pooled)
            lo, hi = st.oddsratio_pooled_confint(alpha=1 - confidence)
            result["odds_ratio_ci"] = [float(lo), float(hi)]
        observed_minus_expected = float(np.sum(a - (a + b) * (a + c) / n))
        variance = float(np.sum((a + b) * (c + d) * (a + c) * (b + d) / (n * n * (n - 1))))
        if variance > 0:
            statistic = st.test_null_odds(correction=abs(observed_minus_expected) >= 0.5).statistic
            result["cmh_p_value"] = float(stats.chi2.sf(statistic, 1))
        informative = [t for t in used if t[0] + t[2] > 0 and t[1] + t[3] > 0]
        if r > 0 and s > 0 and len(informative) >= 2:
            informative_array = np.array([[[t[0], t[1]], [t[2], t[3]]] for t in informative], dtype=float).transpose(1, 2, 0)
            statistic = StratifiedTable(informative_array).test_equal_odds(adjust=False).statistic
            result["breslow_day_p_value"] = float(stats.chi2.sf(statistic, len(informative) - 1))
        same_side = (observed_minus_expected > 0) == (difference > 0)
        result["survives"] = bool(same_side and result["cmh_p_value"] is not None and result["cmh_p_value"] < alpha)
    # the kind of speech most over-represented in the group
    def shares(cases):
        counts = defaultdict(int)
        for c in cases:
            counts[c.category] += 1
        total = sum(counts.values())
        return counts, total

    g_counts, g_total = shares(group)
    r_counts, r_total = shares(reference)
    best, imbalance = -math.inf, None
    for key in sorted(g_counts):
        gs = g_counts[key] / g_total if g_total else 0.0
        rs = r_counts.get(key, 0) / r_total if r_total else 0.0
        if gs - rs > best:
            best, imbalance = gs - rs, {"dimension": "category", "value": key, "group_share": float(gs), "reference_share": float(rs)}
    result["largest_imbalance"] = imbalance
    return result


def disparities(cases, settings):
    confidence, alpha, min_n = settings["confidence"], settings["alpha"], settings["min_n"]
    references = settings["references"]
    out, dimension_records = {}, {}
    for measure, label in (("over_removal", "protected"), ("detection", "violating")):
        for dimension in COMPARED:
            groups = defaultdict(list)
            with_value = [c for c in cases if c.decided and c.label == label and c.values_of(dimension)]
            for c in with_value:
                for v in c.values_of(dimension):
                    groups[v].append(c)
            if not groups:
                continue
            counts = {g: (sum(c.adverse for c in m), len(m)) for g, m in groups.items()}
            eligible = [(k, n) for (k, n) in counts.values() if n >= min_n]
            # groups that share cases are not independent samples: no omnibus test across them
            shared = any(len(c.values_of(dimension)) > 1 for c in with_value)
            record = {
                "measure": measure,
                "dimension": dimension,
                "groups": len(groups),
                "groups_with_min_n": len(eligible),
                "omnibus": None if shared else omnibus(eligible),
            }
            dimension_records[(measure, dimension)] = record
            if dimension in references:
                reference = references[dimension]
                if reference not in groups:
                    record.update(tested=0, not_tested=0)
                    continue
                mode = "fixed"
            elif settings["reference_mode"] == "rest":
                reference, mode = None, "rest"
            elif settings["reference_mode"] == "lowest":
                candidates = sorted((k / n, g) for g, (k, n) in counts.items() if n >= min_n)
                if not candidates:
                    record.update(tested=0, not_tested=0)
                    continue
                reference, mode = candidates[0][1], "lowest"
            else:
                record.update(tested=0, not_tested=0)
                continue
            tested = not_tested = 0
            for group, members in groups.items():
                if group == reference:
                    continue
                # the reference never holds a case of the group (a case can be in several groups)
                pool = with_value if reference is None else groups[reference]
                others = [c for c in pool if group not in c.values_of(dimension)]
                (a, n1), (c, n2) = counts[group], (sum(x.adverse for x in others), len(others))
                if n1 == 0 or n2 == 0:
                    continue
                is_tested = n1 >= min_n
                tested += is_tested
                not_tested += not is_tested
                family = (f"{measure}/{dimension}" if settings["families"] == "per_dimension" else measure) if is_tested else None
                out[(measure, dimension, group)] = {
                    "measure": measure,
                    "dimension": dimension,
                    "group": group,
                    "reference": reference if reference is not None else "all others",
                    "reference_mode": mode,
                    "family": family,
                    "group_n": n1,
                    "group_adverse": a,
                    "reference_n": n2,
                    "reference_adverse": c,
                    "rate": a / n1,
                    "rate_ci": wilson(a, n1, confidence),
                    "reference_rate": c / n2,
                    "reference_rate_ci": wilson(c, n2, confidence),
                    "ratio": fl((a / n1) / (c / n2)) if c > 0 else None,
                    "ratio_ci": mover_wilson(a, n1, c, n2, confidence),
                    "ratio_ci_simultaneous": None,
                    "difference": a / n1 - c / n2,
                    "difference_ci": newcombe(a, n1, c, n2, confidence),
                    "difference_ci_simultaneous": None,
                    "tested": is_tested,
                    "p_value": fisher(a, n1, c, n2) if is_tested else None,
                    "p_adjusted": None,
                    "significant": False,
                    "small_sample": n1 < min_n or n2 < min_n,
                    "min_detectable": None,
                    "stratified": None,
                    "_members": (members, others),
                }
            record.update(tested=tested, not_tested=not_tested)
    # families: adjust, then what follows from the family
    families = defaultdict(list)
    for key, d in out.items():
        if d["tested"]:
            families[d["family"]].append(key)
    family_records = {}
    for name, keys in families.items():
        m = len(keys)
        adjusted = adjust([out[k]["p_value"] for k in keys], settings["correction"])
        per_comparison = alpha / m
        for key, p in zip(keys, adjusted):
            d = out[key]
            d["p_adjusted"] = p
            d["significant"] = p < alpha
            a, n1, c, n2 = d["group_adverse"], d["group_n"], d["reference_adverse"], d["reference_n"]
            d["ratio_ci_simultaneous"] = mover_wilson(a, n1, c, n2, 1 - per_comparison)
            d["difference_ci_simultaneous"] = newcombe(a, n1, c, n2, 1 - per_comparison)
            d["min_detectable"] = minimum_detectable(d["reference_rate"], n1, n2, per_comparison)
            if d["significant"] and d["dimension"] in STRATA_BY:
                group, reference = d["_members"]
                d["stratified"] = stratified(group, reference, STRATA_BY[d["dimension"]], d["difference"], d["ratio"], per_comparison, confidence)
        family_records[name] = {
            "name": name,
            "m": m,
            "significant": sum(out[k]["significant"] for k in keys),
            "alpha": float(alpha),
            "per_comparison_alpha": float(per_comparison),
            "simultaneous_confidence": float(1 - per_comparison),
        }
    for (measure, dimension), record in dimension_records.items():
        record["significant"] = sum(d["significant"] for (m, dim, _), d in out.items() if (m, dim) == (measure, dimension))
    for d in out.values():
        del d["_members"]
    return out, family_records, dimension_records


def omnibus(groups):
    if len(groups) < 2:
        return None
    table = np.array([[k, n - k] for k, n in groups], dtype=float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    df = len(groups) - 1
    result = {
        "groups": len(groups),
        "df": df,
        "statistic": None,
        "p_value": None,
        "min_expected": float(expected.min()),
        "cells_expected_below_5": int((expected < 5).sum()),
        "small_expected": bool((expected < 5).any()),
        "continuity_correction": df == 1,
    }
    if table.sum(axis=0).min() > 0:
        statistic, p, dof, expected = stats.chi2_contingency(table, correction=True)
        assert dof == df
        result.update(statistic=float(statistic), p_value=float(p), min_expected=float(expected.min()))
    return result


def family_kind(members):
    for c in members:
        if c.family_kind:
            return c.family_kind
    targets = {c.target_group for c in members}
    speakers = {c.speaker_group for c in members}
    if len(targets) > 1 and len(speakers) == 1:
        return "group_swap"
    if len(speakers) > 1 and len(targets) == 1:
        return "dialect"
    return "unclassified"


def distinguishing(c, kind):
    if kind == "group_swap":
        return c.target_group
    if kind == "dialect":
        return c.speaker_group
    return c.target_group if c.target_group is not None else c.speaker_group


def counterfactual(cases, confidence):
    families = defaultdict(list)
    for c in cases:
        if c.decided and c.pair_id:
            families[c.pair_id].append(c)
    kinds = defaultdict(list)
    for members in families.values():
        if len(members) >= 2:
            kinds[family_kind(members)].append(members)
    by_kind = {}
    total = flipped_total = 0
    for kind, fams in kinds.items():
        sizes = defaultdict(lambda: [0, 0])
        member_stats = {}
        tallies = []
        flipped = 0
        for members in fams:
            size = len(members)
            actioned = sum(c.adverse for c in members)
            allowed = size - actioned
            is_flipped = actioned > 0 and allowed > 0
            flipped += is_flipped
            tallies.append((size * (size - 1) // 2, actioned * allowed))
            sizes[size][0] += 1
            sizes[size][1] += is_flipped
            seen = set()
            for c in members:
                value = distinguishing(c, kind)
                s = member_stats.setdefault(value, {"value": value, "members": 0, "actioned": 0, "adverse_in_flipped_families": 0, "adverse_side_of_flipped_pairs": 0, "allowed_side_of_flipped_pairs": 0})
                s["members"] += 1
                if c.adverse:
                    s["actioned"] += 1
                    s["adverse_side_of_flipped_pairs"] += allowed
                    if is_flipped and value not in seen:
                        seen.add(value)
                        s["adverse_in_flipped_families"] += 1
                else:
                    s["allowed_side_of_flipped_pairs"] += actioned
        pairs = sum(n for n, _ in tallies)
        flipped_pairs = sum(y for _, y in tallies)
        total += len(fams)
        flipped_total += flipped
        by_kind[kind] = {
            "kind": kind,
            "families": len(fams),
            "flipped_families": flipped,
            "family_flip_rate": fl(rate(flipped, len(fams))),
            "family_flip_ci": wilson(flipped, len(fams), confidence),
            "pairs": pairs,
            "flipped_pairs": flipped_pairs,
            "pair_flip_rate": fl(rate(flipped_pairs, pairs)),
            "pair_flip_ci": wilson(flipped_pairs, pairs, confidence),
            "pair_flip_cluster_robust": cluster_robust_of_tallies(tallies, confidence),
            "family_sizes": {size: {"members": size, "families": f, "flipped": x} for size, (f, x) in sizes.items()},
            "members": member_stats,
        }
    return {
        "families": total,
        "flipped": flipped_total,
        "flip_rate": fl(rate(flipped_total, total)),
        "flip_ci": wilson(flipped_total, total, confidence),
        "by_kind": by_kind,
    }


def delong(positives, negatives, confidence):
    m, n = len(positives), len(negatives)
    if m == 0 or n == 0:
        return None, None
    positives, negatives = np.asarray(positives, dtype=float), np.asarray(negatives, dtype=float)
    auc = float(stats.mannwhitneyu(positives, negatives, alternative="two-sided", method="asymptotic").statistic / (m * n))
    variance = None
    if m > 1 and n > 1:
        tx, ty = stats.rankdata(positives), stats.rankdata(negatives)
        tz = stats.rankdata(np.concatenate([positives, negatives]))
        v10 = (tz[:m] - tx) / n
        v01 = 1.0 - (tz[m:] - ty) / m
        variance = float(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n)
    ci = None
    if variance is not None and variance > 0:
        z = z_of(confidence)
        ci = [max(auc - z * math.sqrt(variance), 0.0), min(auc + z * math.sqrt(variance), 1.0)]
    if ci is not None:
        separates = ci[0] > 0.5
    else:
        separates = auc == 1.0 and 1.0 / float(special.comb(m + n, m, exact=True)) <= (1 - confidence) / 2
    return auc, {"positives": m, "negatives": n, "variance": variance, "ci": ci, "separates": bool(separates)}


def power_mean(values):
    if not values:
        return None
    return float(np.mean(np.asarray(values) ** AUC_POWER) ** (1 / AUC_POWER))


def score_bias(cases, settings):
    scored = [c for c in cases if c.decided and c.score is not None and math.isfinite(c.score)]
    if not scored:
        return None
    confidence, min_n = settings["confidence"], settings["min_n"]

    def auc(side):
        pos = [c.score for c in scored if side(c) is True]
        neg = [c.score for c in scored if side(c) is False]
        return delong(pos, neg, confidence)

    overall, overall_interval = auc(lambda c: c.label == "violating")
    groups = {}
    for g in sorted({c.target_group for c in scored if c.target_group is not None}):
        inside = lambda c, g=g: c.target_group == g
        violating = lambda c: c.label == "violating"
        sub, sub_i = auc(lambda c: violating(c) if inside(c) else None)
        bpsn, bpsn_i = auc(lambda c: violating(c) if inside(c) != violating(c) else None)
        bnsp, bnsp_i = auc(lambda c: violating(c) if inside(c) == violating(c) else None)
        positives = sum(1 for c in scored if inside(c) and violating(c))
        negatives = sum(1 for c in scored if inside(c) and not violating(c))
        groups[g] = {
            "group": g,
            "n": positives + negatives,
            "positives": positives,
            "negatives": negatives,
            "small_sample": positives + negatives < min_n,
            "subgroup_auc": sub,
            "bpsn_auc": bpsn,
            "bnsp_auc": bnsp,
            "subgroup_auc_interval": sub_i,
            "bpsn_auc_interval": bpsn_i,
            "bnsp_auc_interval": bnsp_i,
        }
    eligible = [g for g in groups.values() if not g["small_sample"]]
    means = {key: power_mean([g[key] for g in eligible if g[key] is not None]) for key in ("subgroup_auc", "bpsn_auc", "bnsp_auc")}
    final = None
    if overall is not None and all(v is not None for v in means.values()):
        final = 0.25 * overall + 0.25 * (means["subgroup_auc"] + means["bpsn_auc"] + means["bnsp_auc"])
    return {
        "scored_cases": len(scored),
        "overall_auc": overall,
        "overall_auc_interval": overall_interval,
        "groups": groups,
        "min_n": min_n,
        "groups_in_means": len(eligible),
        "power_means": means,
        "final_bias_metric": fl(final),
    }


# ---------------------------------------------------------------- appeals


def timestamp(text):
    """An RFC 3339 time in microseconds since the epoch (nanoseconds cut)."""
    head, _, zone = text.rstrip("Z").partition("+")
    if "." in head:
        whole, fraction = head.split(".")
        head = f"{whole}.{fraction[:6].ljust(6, '0')}"
    moment = datetime.fromisoformat(head + "+00:00")
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def millis_between(start, end):
    """Seconds from start to end, truncated to the millisecond."""
    micros = timestamp(end) - timestamp(start)
    return int(micros / 1000) / 1000


class Appeal:
    def __init__(self, case):
        self.case = case
        self.filed = None
        self.outcome = None

    @property
    def result(self):
        return self.outcome["result"] if self.outcome else None

    def follow_up(self):
        if not self.filed or not self.outcome:
            return None
        since = max(millis_between(self.filed["filed_at"], self.outcome["observed_at"]), 0.0)
        if self.result in ("reversed", "upheld"):
            seconds = self.outcome.get("seconds")
            return (float(seconds) if seconds is not None else since, True)
        return (since, False)


def appeal_counts(appeals):
    counts = defaultdict(int)
    follow_ups = []
    for a in appeals:
        counts["selected"] += 1
        counts["filed"] += a.filed is not None
        result = a.result
        counts[{"reversed": "reversed", "upheld": "upheld", "pending": "pending_at_deadline", "failed": "failed", None: "unfinished"}[result]] += 1
        if result in ("reversed", "upheld") and (a.outcome.get("reason") or "").strip():
            counts["decisions_with_reason"] += 1
        f = a.follow_up()
        if f is not None:
            follow_ups.append(f)
    counts["decided"] = counts["reversed"] + counts["upheld"]
    counts["followed"] = counts["decided"] + counts["pending_at_deadline"]
    return counts, follow_ups


def kaplan_meier(follow_ups, pending):
    result = {"n": len(follow_ups), "events": sum(e for _, e in follow_ups), "censored": sum(not e for _, e in follow_ups), "censored_at_deadline": pending}
    if not follow_ups:
        result.update(follow_up_secs=None, median_secs=None, p90_secs=None, curve=[[0.0, 1.0]])
        return result
    kmf = KaplanMeierFitter().fit([t for t, _ in follow_ups], [e for _, e in follow_ups])
    sf = kmf.survival_function_.iloc[:, 0]
    result.update(
        follow_up_secs=float(max(t for t, _ in follow_ups)),
        median_secs=km_quantile(kmf, 0.5),
        p90_secs=km_quantile(kmf, 0.1),
        curve=[[float(t), float(s)] for t, s in sf.items()],
    )
    return result


def km_quantile(kmf, q):
    """The first time with S(t) ≤ q, as lifelines' `percentile(q)` defines it,
    but with S(t) in exact rational arithmetic from lifelines' event table:
    lifelines computes S as exp(Σ log(1 − d/n)), which lands just above 1/2
    when S is exactly 1/2, and would then skip to the next time."""
    survival = Fraction(1)
    for time, row in kmf.event_table.iterrows():
        if row["observed"] > 0:
            survival *= 1 - Fraction(int(row["observed"]), int(row["at_risk"]))
            if survival <= Fraction(q).limit_denominator(1000):
                return float(time)
    return None


def km_median(follow_ups):
    if not follow_ups:
        return None
    return km_quantile(KaplanMeierFitter().fit([t for t, _ in follow_ups], [e for _, e in follow_ups]), 0.5)


def log_rank(group, reference):
    """lifelines' log-rank test, with observed and expected events; None when no event falls where both are at risk."""
    if not group or not reference:
        return None
    durations = np.array([t for t, _ in group] + [t for t, _ in reference])
    events = np.array([e for _, e in group] + [e for _, e in reference], dtype=bool)
    labels = np.array([0] * len(group) + [1] * len(reference))
    table = survival_table_from_events(durations, events)
    expected_group = 0.0
    informative = False
    for time, row in table.iterrows():
        d = row["observed"]
        if d == 0:
            continue
        n = row["at_risk"]
        n1 = int(np.sum(durations[labels == 0] >= time))
        n2 = n - n1
        if n1 > 0 and n2 > 0:
            informative = True
        expected_group += d * n1 / n
    if not informative:
        return None
    test = logrank_test([t for t, _ in group], [t for t, _ in reference], [e for _, e in group], [e for _, e in reference])
    observed = [sum(e for _, e in group), sum(e for _, e in reference)]
    total_events = observed[0] + observed[1]
    expected = [expected_group, total_events - expected_group]
    return {"statistic": float(test.test_statistic), "p_value": float(test.p_value), "observed": observed, "expected": expected}


def probe(cases, journal_path, settings, scenario):
    confidence, min_n = settings["confidence"], settings["min_n"]
    appeal_settings = scenario["appeal"]
    if appeal_settings.get("sample", 1.0) != 1.0 or "max_appeals" in appeal_settings:
        raise NotImplementedError("the reference covers appeal runs that appeal every wrongful removal")
    wrongful = [c for c in cases if c.label == "protected" and c.adverse]
    by_id = {c.id: Appeal(c) for c in wrongful}
    for line in journal_path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        appeal = by_id.get(record.get("case_id"))
        if appeal is None:
            continue
        if record["record"] == "appeal_filed":
            appeal.filed = record
        elif record["record"] == "appeal_outcome":
            appeal.outcome = record
    appealed = [by_id[c.id] for c in wrongful]
    counts, follow_ups = appeal_counts(appealed)
    report = {key: counts[key] for key in ("selected", "filed", "failed", "decided", "reversed", "upheld", "pending_at_deadline", "unfinished", "followed", "decisions_with_reason")}
    report.update(
        wrongful_removals=len(wrongful),
        deadline_secs=float(appeal_settings.get("deadline_secs", 604800)),
        reversal_rate=fl(rate(counts["reversed"], counts["decided"])),
        reversal_ci=wilson(counts["reversed"], counts["decided"], confidence),
        reversal_within_deadline=fl(rate(counts["reversed"], counts["followed"])),
        reversal_within_deadline_ci=wilson(counts["reversed"], counts["followed"], confidence),
        time_to_decision=kaplan_meier(follow_ups, counts["pending_at_deadline"]),
        sampling={"share": float(appeal_settings.get("sample", 1.0))},
    )
    # slices: every group of protected cases
    slices_out = {}
    for dimension in APPEAL_DIMENSIONS:
        values = {c.value_of(dimension) for c in cases if c.label == "protected"} - {None}
        for value in values:
            members = [a for a in appealed if a.case.value_of(dimension) == value]
            cnt, fus = appeal_counts(members)
            slices_out[(dimension, value)] = {
                "dimension": dimension,
                "value": value,
                "wrongful_removals": sum(1 for c in wrongful if c.value_of(dimension) == value),
                **{key: cnt[key] for key in ("selected", "filed", "failed", "decided", "reversed", "pending_at_deadline", "followed")},
                "reversal_rate": fl(rate(cnt["reversed"], cnt["decided"])),
                "reversal_ci": wilson(cnt["reversed"], cnt["decided"], confidence),
                "reversal_within_deadline": fl(rate(cnt["reversed"], cnt["followed"])),
                "reversal_within_deadline_ci": wilson(cnt["reversed"], cnt["followed"], confidence),
                "time_to_decision": kaplan_meier(fus, cnt["pending_at_deadline"]),
                "small_sample": cnt["decided"] < min_n,
            }
    report["slices"] = slices_out
    # comparisons
    comparisons = {}
    references = settings["references"]
    for dimension in APPEAL_DIMENSIONS:
        values = sorted({a.case.value_of(dimension) for a in appealed} - {None})
        reference = references.get(dimension)
        for group in values:
            if group == reference:
                continue
            g = [a for a in appealed if a.case.value_of(dimension) == group]
            r = [a for a in appealed if a.case.value_of(dimension) is not None and (a.case.value_of(dimension) == reference if reference else a.case.value_of(dimension) != group)]
            gc, gf = appeal_counts(g)
            rc, rf = appeal_counts(r)
            name = reference or "all others"
            for measure, gn, rn in (("reversal_among_decided", gc["decided"], rc["decided"]), ("reversal_within_deadline", gc["followed"], rc["followed"])):
                if gn == 0 or rn == 0:
                    continue
                ga, ra = gc["reversed"], rc["reversed"]
                small = gn < min_n or rn < min_n
                comparisons[(measure, dimension, group)] = {
                    "measure": measure,
                    "dimension": dimension,
                    "group": group,
                    "reference": name,
                    "group_n": gn,
                    "reference_n": rn,
                    "group_events": ga,
                    "reference_events": ra,
                    "value": ga / gn,
                    "reference_value": ra / rn,
                    "ratio": fl((ga / gn) / (ra / rn)) if ra > 0 else None,
                    "ratio_ci": mover_wilson(ga, gn, ra, rn, confidence),
                    "group_expected_events": None,
                    "decision_rate_ratio": None,
                    "statistic": None,
                    "tested": not small,
                    "p_value": fisher(ga, gn, ra, rn) if not small else None,
                    "p_adjusted": None,
                    "significant": False,
                    "small_sample": small,
                }
            test = log_rank(gf, rf)
            if test is not None:
                gm, rm = km_median(gf), km_median(rf)
                small = len(gf) < min_n or len(rf) < min_n
                (o1, o2), (e1, e2) = test["observed"], test["expected"]
                comparisons[("time_to_decision", dimension, group)] = {
                    "measure": "time_to_decision",
                    "dimension": dimension,
                    "group": group,
                    "reference": name,
                    "group_n": len(gf),
                    "reference_n": len(rf),
                    "group_events": o1,
                    "reference_events": o2,
                    "value": gm,
                    "reference_value": rm,
                    "ratio": gm / rm if gm is not None and rm is not None and rm > 0 else None,
                    "ratio_ci": None,
                    "group_expected_events": float(e1),
                    "decision_rate_ratio": float((o1 / e1) / (o2 / e2)) if e1 > 0 and e2 > 0 and o2 > 0 else None,
                    "statistic": test["statistic"],
                    "tested": not small,
                    "p_value": test["p_value"] if not small else None,
                    "p_adjusted": None,
                    "significant": False,
                    "small_sample": small,
                }
    families = defaultdict(list)
    for key, d in comparisons.items():
        if d["p_value"] is not None:
            families[(d["measure"], d["dimension"])].append(key)
    for keys in families.values():
        for key, p in zip(keys, adjust([comparisons[k]["p_value"] for k in keys], settings["correction"])):
            comparisons[key]["p_adjusted"] = p
            comparisons[key]["significant"] = p < settings["alpha"]
    report["disparities"] = comparisons
    return report


# ---------------------------------------------------------------- alignment


def float_paths(value, path=""):
    """Pointers of every floating-point number under value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from float_paths(v, f"{path}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from float_paths(v, f"{path}/{i}")
    elif isinstance(value, float):
        yield path


def mirror(result, model, path):
    """The model's values in the shape of result: lists in results.json's order,
    dict-keyed model collections matched by their identity."""
    if isinstance(model, dict) and isinstance(result, dict):
        out = {}
        for key, value in model.items():
            if key not in result:
                raise Mismatch(f"{path}/{key}: computed here, absent from results.json")
            out[key] = mirror(result[key], value, f"{path}/{key}")
        missing = [f"{path}/{k}" for k, v in result.items() if k not in model and any(True for _ in float_paths(v))]
        if missing:
            raise Mismatch("results.json holds numbers this script does not compute: " + ", ".join(missing))
        return out
    if isinstance(model, list) and isinstance(result, list):
        if len(model) != len(result):
            raise Mismatch(f"{path}: {len(result)} values in results.json, {len(model)} computed")
        return [mirror(r, m, f"{path}/{i}") for i, (r, m) in enumerate(zip(result, model))]
    if model is None:
        if result is not None:
            raise Mismatch(f"{path}: results.json has {json.dumps(result)[:80]}, computed here: null")
        return None
    if result is None:
        raise Mismatch(f"{path}: results.json has null, computed here: {json.dumps(model)[:80]}")
    if isinstance(model, (bool, int, float, str)):
        return model
    raise Mismatch(f"{path}: results.json has {type(result).__name__}, computed {type(model).__name__}")


def keyed(result_list, model_map, key_of, path):
    """Orders model_map's values as the elements of result_list, by identity."""
    keys = [key_of(r) for r in result_list]
    if sorted(map(repr, keys)) != sorted(map(repr, model_map)):
        extra = set(map(repr, keys)) ^ set(map(repr, model_map))
        raise Mismatch(f"{path}: results.json and the recomputation hold different elements: {sorted(extra)[:10]}")
    return [mirror(r, model_map[k], f"{path}/{i}") for i, (r, k) in enumerate(zip(result_list, keys))]


def reference_of(results, cases, settings, scenario, run_dir):
    """The reference skeleton of one run's results.json."""
    confidence = settings["confidence"]
    values = {}
    sections = set(results) - NOT_ANALYSIS
    values["totals"] = mirror(results["totals"], {
        "cases": len(cases),
        "decided": sum(c.decided for c in cases),
        "errors": sum(c.action == "error" for c in cases),
        "unsupported": sum(c.action == "unsupported" for c in cases),
        "pending": sum(c.action is None for c in cases),
        "protected": sum(c.label == "protected" for c in cases),
        "violating": sum(c.label == "violating" for c in cases),
    }, "/totals")
    values["slices"] = keyed(results["slices"], slices(cases, settings), lambda s: (s["dimension"], s["value"]), "/slices")
    comparisons, families, dimensions = disparities(cases, settings)
    values["disparities"] = keyed(results["disparities"], comparisons, lambda d: (d["measure"], d["dimension"], d["group"]), "/disparities")
    values["families"] = keyed(results["families"], families, lambda f: f["name"], "/families")
    values["dimension_comparisons"] = keyed(results["dimension_comparisons"], dimensions, lambda d: (d["measure"], d["dimension"]), "/dimension_comparisons")
    cf = counterfactual(cases, confidence)
    cf_result = results["counterfactual"]
    by_kind = []
    if sorted(k["kind"] for k in cf_result["by_kind"]) != sorted(cf["by_kind"]):
        raise Mismatch("/counterfactual/by_kind: different kinds of family")
    for i, kind in enumerate(cf_result["by_kind"]):
        model = dict(cf["by_kind"][kind["kind"]])
        model["family_sizes"] = keyed(kind["family_sizes"], model["family_sizes"], lambda s: s["members"], f"/counterfactual/by_kind/{i}/family_sizes")
        model["members"] = keyed(kind["members"], model["members"], lambda m: m["value"], f"/counterfactual/by_kind/{i}/members")
        plain = {k: v for k, v in model.items() if k not in ("family_sizes", "members")}
        entry = mirror({k: v for k, v in kind.items() if k not in ("family_sizes", "members")}, plain, f"/counterfactual/by_kind/{i}")
        entry["family_sizes"] = model["family_sizes"]
        entry["members"] = model["members"]
        by_kind.append(entry)
    cf_plain = {k: v for k, v in cf.items() if k != "by_kind"}
    values["counterfactual"] = mirror({k: v for k, v in cf_result.items() if k not in ("by_kind",)}, cf_plain, "/counterfactual")
    values["counterfactual"]["by_kind"] = by_kind
    adverse = [c for c in cases if c.adverse]
    with_route = sum(1 for c in adverse if c.appeal_url.strip())
    appeal = {"availability": {"adverse": len(adverse), "with_appeal_route": with_route, "share": fl(rate(with_route, len(adverse)))}}
    if results["appeal"]["probe"] is not None:
        p = probe(cases, run_dir / "journal.jsonl", settings, scenario)
        r = results["appeal"]["probe"]
        p["slices"] = keyed(r["slices"], p["slices"], lambda s: (s["dimension"], s["value"]), "/appeal/probe/slices")
        p["disparities"] = keyed(r["disparities"], p["disparities"], lambda d: (d["measure"], d["dimension"], d["group"]), "/appeal/probe/disparities")
        plain = {k: v for k, v in p.items() if k not in ("slices", "disparities")}
        probe_values = mirror({k: v for k, v in r.items() if k not in ("slices", "disparities")}, plain, "/appeal/probe")
        probe_values["slices"], probe_values["disparities"] = p["slices"], p["disparities"]
        appeal_values = mirror({k: v for k, v in results["appeal"].items() if k != "probe"}, appeal, "/appeal")
        appeal_values["probe"] = probe_values
        values["appeal"] = appeal_values
    else:
        appeal["probe"] = None
        values["appeal"] = mirror(results["appeal"], appeal, "/appeal")
    if "score_bias" in results or score_bias(cases, settings) is not None:
        sb = score_bias(cases, settings)
        if sb is None or "score_bias" not in results:
            raise Mismatch("/score_bias: present on one side only")
        sb["groups"] = keyed(results["score_bias"]["groups"], sb["groups"], lambda g: g["group"], "/score_bias/groups")
        plain = {k: v for k, v in sb.items() if k != "groups"}
        sb_values = mirror({k: v for k, v in results["score_bias"].items() if k != "groups"}, plain, "/score_bias")
        sb_values["groups"] = sb["groups"]
        values["score_bias"] = sb_values
    uncovered = sections - set(values)
    for section in sorted(uncovered):
        floats = list(float_paths(results[section], f"/{section}"))
        if floats:
            raise Mismatch(f"/{section}: a section with numbers this script does not compute ({floats[:5]})")
    return values


# ---------------------------------------------------------------- runs


def run_binary(binary, *args, cwd=ROOT):
    done = subprocess.run([str(binary), *map(str, args)], cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        sys.exit(f"modaudit {' '.join(map(str, args))} exited {done.returncode}:\n{done.stderr}")


def produce(name, binary, tmp):
    """Runs modaudit as the recompute test does; returns (run dir, scenario path, how)."""
    out = tmp / name
    if name == "quickstart":
        scenario = ROOT / "scenarios" / "quickstart.toml"
        run_binary(binary, "run", scenario, "--out", out, "--quiet")
        return out, scenario, "modaudit run scenarios/quickstart.toml"
    if name == "cells":
        scenario = RECOMPUTE / "cells" / "scenario.toml"
        run_binary(binary, "run", scenario, "--out", out, "--quiet")
        return out, scenario, "modaudit run tests/fixtures/recompute/cells/scenario.toml"
    if name == "appeals":
        scenario = RECOMPUTE / "appeals" / "scenario.toml"
        shutil.copytree(RECOMPUTE / "appeals" / "run", out)
        run_binary(binary, "report", out, "--scenario", scenario)
        return out, scenario, "modaudit report <copy of tests/fixtures/recompute/appeals/run> --scenario tests/fixtures/recompute/appeals/scenario.toml"
    raise ValueError(name)


def versions():
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "statsmodels": statsmodels.__version__,
        "lifelines": lifelines.__version__,
    }


def header(run, how):
    return {
        "run": run,
        "how": how,
        "generated_by": "python3 tests/reference/generate.py",
        "versions": versions(),
        "sources": SOURCES,
    }


def settings_of(scenario, echoed):
    """The analysis settings, from the scenario with README's defaults (not
    from results.json, whose echo of them is checked instead)."""
    raw = scenario.get("analysis", {})
    settings = {
        "confidence": float(raw.get("confidence", 0.95)),
        "alpha": float(raw.get("alpha", 0.05)),
        "min_n": int(raw.get("min_n", 30)),
        "correction": raw.get("correction", "holm"),
        "families": raw.get("families", "per_dimension"),
        "reference_mode": raw.get("reference_mode", "rest"),
        "references": dict(raw.get("reference", {})),
        "adverse_actions": sorted(raw.get("adverse_actions", ["label", "reduce", "demonetize", "remove", "suspend"])),
    }
    for key, value in settings.items():
        echo = sorted(echoed[key]) if key == "adverse_actions" else echoed[key]
        if echo != value:
            raise Mismatch(f"/settings/{key}: results.json echoes {echo!r}, the scenario says {value!r}")
    return settings


def reference_file(name, binary, tmp):
    run_dir, scenario_path, how = produce(name, binary, tmp)
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    scenario = tomllib.loads(scenario_path.read_text(encoding="utf-8"))
    settings = settings_of(scenario, results["settings"])
    cases = load_cases(run_dir, scenario_path, settings)
    return {**header(name, how), "values": reference_of(results, cases, settings, scenario, run_dir)}


def mann_whitney_file():
    p = stats.mannwhitneyu(MANN_WHITNEY["x"], MANN_WHITNEY["y"], alternative="two-sided").pvalue
    return {
        "generated_by": "python3 tests/reference/generate.py",
        "versions": versions(),
        "source": SOURCES["mann_whitney"],
        **MANN_WHITNEY,
        "p_value": float(p),
    }


def dump(value, indent=""):
    """JSON with one member per line, except that an object or array holding
    no object or array of objects is written on one line."""
    inner = indent + " "
    flat = lambda v: not isinstance(v, dict) and not (isinstance(v, list) and any(isinstance(x, dict) for x in v))
    if isinstance(value, dict) and value and not all(flat(v) for v in value.values()):
        members = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {dump(v, inner).rstrip()}" for k, v in value.items()]
        text = "{\n" + ",\n".join(members) + "\n" + indent + "}"
    elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        text = "[\n" + ",\n".join(inner + dump(v, inner).rstrip() for v in value) + "\n" + indent + "]"
    else:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
    return text + ("\n" if not indent else "")


def differing(committed, computed, path):
    """Where a committed reference differs from a fresh one by more than
    1e-10 (relative above 1): the last digits may move with library versions."""
    if isinstance(committed, dict) and isinstance(computed, dict):
        for key in committed.keys() | computed.keys():
            if key not in committed or key not in computed:
                yield f"{path}/{key}"
            else:
                yield from differing(committed[key], computed[key], f"{path}/{key}")
    elif isinstance(committed, list) and isinstance(computed, list) and len(committed) == len(computed):
        for i, (a, b) in enumerate(zip(committed, computed)):
            yield from differing(a, b, f"{path}/{i}")
    elif isinstance(committed, float) and isinstance(computed, float):
        if abs(committed - computed) > 1e-10 * max(1.0, abs(computed)):
            yield path
    elif committed != computed:
        yield path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=str(ROOT / "target" / "debug" / "modaudit"))
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing them")
    parser.add_argument("runs", nargs="*", default=["quickstart", "appeals", "cells"])
    args = parser.parse_args()
    files = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.runs:
            try:
                files[f"{name}.json"] = reference_file(name, Path(args.binary), Path(tmp))
            except Mismatch as e:
                sys.exit(f"{name}: {e}")
    files["mann_whitney.json"] = mann_whitney_file()
    stale = []
    for file_name, content in files.items():
        path = REFERENCE_DIR / file_name
        if args.check:
            committed = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
            differences = [] if committed is not None else ["missing"]
            if committed is not None:
                content, committed = dict(content), dict(committed)
                content.pop("versions"), committed.pop("versions", None)
                differences = list(differing(committed, content, ""))
            if differences:
                stale.append(f"{path.relative_to(ROOT)} ({', '.join(differences[:5])})")
        else:
            REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(dump(content), encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
    if stale:
        sys.exit("out of date, regenerate with python3 tests/reference/generate.py: " + "; ".join(stale))


if __name__ == "__main__":
    main()
