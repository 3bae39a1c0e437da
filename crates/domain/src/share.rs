//! Pro-rata sharing in whole units, the rule the spec uses for marginal auction orders (§3.3) and
//! for short sellers and buyers in settlement (§5).

/// Splits `total` whole units across `weights` pro rata: each gets `floor(total × w / Σw)`, and
/// the units left by rounding go one each to the largest fractional remainders, ties to the
/// earlier position. The result sums to `total` exactly and no share exceeds its weight.
///
/// # Panics
/// If `total` is negative or above `Σw`, or a weight is not positive.
pub fn pro_rata(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
    assert!(
        i128::from(total) <= sum,
        "total {total} above the weights' sum {sum}"
    );
    split_by_weight(total, weights)
}

/// The same sharing rule as [`pro_rata`] for a total of any size: `total` whole units shared in
/// proportion to `weights`, the units left by rounding going one each by largest remainder,
/// then to the earlier position. The shares sum to `total` exactly. Used where a total is
/// spread over parts that are not capacities, e.g. a contract's window volume over the days of
/// its months (spec §4, 月度分解).
///
/// # Panics
/// If `total` is negative, or positive with no weights, or a weight is not positive.
pub fn split_by_weight(total: i64, weights: &[i64]) -> Vec<i64> {
    assert!(total >= 0, "negative total {total}");
    assert!(total == 0 || !weights.is_empty(), "{total} over no weights");
    assert!(weights.iter().all(|&w| w > 0), "weights must be positive");
    let sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
    if total == 0 || weights.is_empty() {
        return vec![0; weights.len()];
    }
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: i64 = 0;
    for (position, &w) in weights.iter().enumerate() {
        let exact = i128::from(total) * i128::from(w);
        let share = (exact / sum) as i64;
        shares.push(share);
        given += share;
        remainders.push((exact % sum, position));
    }
    // Each share is floor(total·w/Σw), so fewer units than weights are left.
    let left = (total - given) as usize;
    debug_assert!(left < weights.len().max(1));
    if left > 0 {
        // Largest remainder first, then earlier position.
        let by_priority = |a: &(i128, usize), b: &(i128, usize)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
        if left < remainders.len() {
            remainders.select_nth_unstable_by(left - 1, by_priority);
        }
        for &(_, position) in &remainders[..left] {
            shares[position] += 1;
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::{pro_rata, split_by_weight};

    #[test]
    fn splits_by_largest_remainder_then_position() {
        // 8 over 3, 3, 3: 2.67 each, the two left over go to the first two.
        assert_eq!(pro_rata(8, &[3, 3, 3]), vec![3, 3, 2]);
        // 7 over 2, 3, 5: 1.4, 2.1, 3.5 -> 1, 2, 3 and one left to the largest remainder (.5).
        assert_eq!(pro_rata(7, &[2, 3, 5]), vec![1, 2, 4]);
        // 2 over 1, 1, 1: remainders tie, earlier positions win.
        assert_eq!(pro_rata(2, &[1, 1, 1]), vec![1, 1, 0]);
        assert_eq!(pro_rata(0, &[5, 5]), vec![0, 0]);
        assert_eq!(pro_rata(10, &[4, 6]), vec![4, 6]);
    }

    #[test]
    fn splits_a_window_volume_over_the_days_of_its_months() {
        // Spec §4: 100.500 MWh over 2024-01..03 (31 + 29 + 31 days).
        assert_eq!(
            split_by_weight(100_500, &[31, 29, 31]),
            vec![34_236, 32_028, 34_236]
        );
        // Remainders tie between January and March: the earlier month takes the kWh.
        assert_eq!(
            split_by_weight(100_501, &[31, 29, 31]),
            vec![34_237, 32_028, 34_236]
        );
        assert_eq!(split_by_weight(0, &[31, 30]), vec![0, 0]);
    }

    proptest::proptest! {
        #[test]
        fn shares_sum_to_total_and_stay_within_weights(
            weights in proptest::collection::vec(1i64..10_000, 1..20),
            fraction in 0u32..=1000,
        ) {
            let sum: i64 = weights.iter().sum();
            let total = sum * i64::from(fraction) / 1000;
            let shares = pro_rata(total, &weights);
            proptest::prop_assert_eq!(shares.iter().sum::<i64>(), total);
            for (s, w) in shares.iter().zip(&weights) {
                proptest::prop_assert!(*s >= 0 && s <= w);
                // Never more than one unit away from the exact share.
                let exact = i128::from(total) * i128::from(*w);
                let s = i128::from(*s) * i128::from(sum);
                proptest::prop_assert!((s - exact).abs() < i128::from(sum));
            }
        }
    }
}
