//! Seeded, reproducible draws of cases: each case's position in a draw is a
//! key derived from the seed and its id ([`draw_key`]), and a budget is split
//! across strata in proportion, with at least one per stratum whenever the
//! budget allows ([`allocate`]). The appeal sample (stratified by language)
//! and the review sheet's sample (stratified by kind of speech) both draw this
//! way: random, reproducible from the seed, and stable when the budget grows.

use crate::hash::sha256_hex;

/// A case's random position in a draw with this seed: the first 64 bits of
/// sha256(seed, NUL, case id).
pub fn draw_key(seed: u64, case_id: &str) -> u64 {
    let hash = sha256_hex(format!("{seed}\0{case_id}").as_bytes());
    u64::from_str_radix(&hash[..16], 16).expect("sha256_hex gives hex digits")
}

/// Splits `budget` across strata of these sizes in proportion (largest
/// remainders: Hamilton's method), then gives each stratum left empty one unit,
/// the largest strata first, taken from the stratum most above its exact quota
/// among those with two or more, for as long as there is one. Ties go to the
/// larger stratum, then to the earlier one.
pub fn allocate(sizes: &[u64], budget: u64) -> Vec<u64> {
    let total: u64 = sizes.iter().sum();
    if total == 0 {
        return vec![0; sizes.len()];
    }
    let budget = budget.min(total);
    let quota: Vec<f64> = sizes.iter().map(|&n| budget as f64 * n as f64 / total as f64).collect();
    // integer floors avoid a quota like 2.9999999 being floored to 2
    let mut allocation: Vec<u64> = sizes.iter().map(|&n| budget * n / total).collect();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    let remainder = |i: usize| (budget * sizes[i]) % total;
    order.sort_by(|&a, &b| {
        remainder(b)
            .cmp(&remainder(a))
            .then(sizes[b].cmp(&sizes[a]))
            .then(a.cmp(&b))
    });
    let left = budget - allocation.iter().sum::<u64>();
    for &i in order.iter().take(left as usize) {
        allocation[i] += 1;
    }
    let mut empty: Vec<usize> = (0..sizes.len())
        .filter(|&i| sizes[i] > 0 && allocation[i] == 0)
        .collect();
    empty.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    for i in empty {
        let donor = (0..sizes.len()).filter(|&j| allocation[j] >= 2).max_by(|&a, &b| {
            (allocation[a] as f64 - quota[a])
                .total_cmp(&(allocation[b] as f64 - quota[b]))
                .then(allocation[a].cmp(&allocation[b]))
                .then(b.cmp(&a))
        });
        let Some(donor) = donor else { break };
        allocation[donor] -= 1;
        allocation[i] += 1;
    }
    allocation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_is_proportional_with_one_per_stratum_when_possible() {
        assert_eq!(allocate(&[20, 20, 20], 9), vec![3, 3, 3]);
        assert_eq!(
            allocate(&[100, 10, 1], 10),
            vec![8, 1, 1],
            "proportional 9.0/0.9/0.09, then one for the smallest"
        );
        assert_eq!(
            allocate(&[100, 10, 1], 2),
            vec![1, 1, 0],
            "too small a budget for every language"
        );
        assert_eq!(allocate(&[5, 3], 100), vec![5, 3], "never more than a stratum holds");
        assert_eq!(allocate(&[0, 4], 2), vec![0, 2]);
        assert_eq!(allocate(&[], 3), Vec::<u64>::new());
        for budget in 0..=30 {
            let a = allocate(&[17, 9, 4], budget);
            assert_eq!(a.iter().sum::<u64>(), budget);
            assert!(a.iter().zip([17, 9, 4]).all(|(k, n)| *k <= n));
        }
    }
}
