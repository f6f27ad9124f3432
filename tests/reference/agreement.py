"""Reference values for src/analysis/agreement.rs and the review integration
tests: Cohen's kappa (scikit-learn, and statsmodels for its asymptotic
standard error), Fleiss' kappa (statsmodels) and Krippendorff's alpha
(krippendorff, nominal, NaN = missing rating).

Run with python3 (statsmodels 0.15, scikit-learn 1.9, krippendorff 0.9):
    python3 tests/reference/agreement.py
and copy the printed values into the tests; the data below are written out in
those tests too.
"""

import numpy as np
import krippendorff
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa, to_table


def ratings(s):
    return [int(c) for c in s]


A = ratings("100000000000100101101000001111")
B = ratings("110000010100100101101110001011")
C = ratings("110100010000100111101101101101")
X = ratings("12100211001221000201")
Y = ratings("12100211021021000200")


def cohen(a, b):
    table, _ = to_table(np.column_stack([a, b]))
    result = cohens_kappa(table)
    return cohen_kappa_score(a, b), result.kappa, result.std_kappa


def fleiss(*raters):
    table, _ = aggregate_raters(np.column_stack(raters))
    return fleiss_kappa(table, method="fleiss")


def alpha(*raters):
    return krippendorff.alpha(reliability_data=np.array(raters, dtype=float), level_of_measurement="nominal")


print("cohen A B (sklearn, statsmodels kappa, statsmodels std_kappa):", *cohen(A, B))
print("cohen X Y (3 categories):", *cohen(X, Y))
print("fleiss A B C:", fleiss(A, B, C))
print("krippendorff A B C:", alpha(A, B, C))
print("krippendorff A B:", alpha(A, B))
print("krippendorff X Y:", alpha(X, Y))
C_missing = [np.nan if i % 5 == 0 else v for i, v in enumerate(C)]
B_missing = [np.nan if i in (3, 17) else v for i, v in enumerate(B)]
print("krippendorff A, B (missing 3, 17), C (missing every 5th from 0):", alpha(A, B_missing, C_missing))

# The two reviewers of the integration test
# `review::two_reviewers_agreement_matches_the_reference_values`:
# 12 cases, proposed labels and each reviewer's label (1 = violating).
PROPOSED = ratings("000000111111")
R1 = ratings("000001111110")
R2 = ratings("000011111100")
print("review test: cohen R1 R2:", *cohen(R1, R2))
print("review test: cohen proposed R1:", *cohen(PROPOSED, R1))
print("review test: cohen proposed R2:", *cohen(PROPOSED, R2))
print("review test: cohen proposed (R1+R2 pooled):", *cohen(PROPOSED + PROPOSED, R1 + R2))
print("review test: krippendorff R1 R2:", alpha(R1, R2))
