//! The Mann–Whitney U (Wilcoxon rank-sum) test, two-sided, by its normal
//! approximation with the tie and continuity corrections (Mann & Whitney
//! 1947; the tie-corrected variance as in Hollander & Wolfe, Nonparametric
//! Statistical Methods, §4.1). It compares two samples by ranks, so a few
//! extreme values — a ratio to a near-zero baseline, say — weigh no more
//! than any other value, where they can dominate a t-test's variance.

use serde::Serialize;

use super::descriptive::summarize;
use crate::error::{AnalysisError, Result};

/// Result of a two-sided Mann–Whitney U test of `x` against `y`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RankTestResult {
    /// U of `x`: the number of pairs (xᵢ, yⱼ) with xᵢ > yⱼ, ties counting ½.
    pub u: f64,
    /// `u / (n₁ n₂)`: P(X > Y) + ½ P(X = Y) for one value drawn from each
    /// sample (½ when neither tends to be larger).
    pub prob_superiority: f64,
    /// The standardised statistic, `(|U − n₁n₂/2| − ½) / σ_U`, signed as
    /// `U − n₁n₂/2` (positive when `x` tends to be larger).
    pub z: f64,
    /// Two-sided p-value of the normal approximation, `2·P(Z ≥ |z|)`.
    pub p_value: f64,
}

/// Two-sided Mann–Whitney U test of `H0: P(X > Y) = P(Y > X)`.
///
/// Ranks of the pooled sample are averaged over ties; `σ_U² = n₁n₂/12 ·
/// ((n + 1) − Σ(t³ − t) / (n(n − 1)))` over the tie groups of size `t`.
///
/// # Errors
/// * [`AnalysisError::TooFew`] if a sample is empty.
/// * [`AnalysisError::NonFinite`] if either sample holds NaN/±∞.
/// * [`AnalysisError::ZeroVariance`] if every value of both samples is equal.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Result<RankTestResult> {
    summarize("x", x, 1)?;
    summarize("y", y, 1)?;
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    let n = n1 + n2;
    let mut pooled: Vec<(f64, bool)> = x
        .iter()
        .map(|&v| (v, true))
        .chain(y.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut rank_sum_x, mut ties) = (0.0, 0.0);
    let mut start = 0;
    while start < pooled.len() {
        let end = start + pooled[start..].partition_point(|p| p.0 == pooled[start].0);
        // Ranks start + 1 … end share their mean.
        let mean_rank = (start + 1 + end) as f64 / 2.0;
        let in_x = pooled[start..end].iter().filter(|p| p.1).count() as f64;
        rank_sum_x += in_x * mean_rank;
        let t = (end - start) as f64;
        ties += t * t * t - t;
        start = end;
    }
    let u = rank_sum_x - n1 * (n1 + 1.0) / 2.0;
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if variance <= 0.0 || !variance.is_finite() {
        return Err(AnalysisError::ZeroVariance {
            what: "x and y (pooled ranks)",
        });
    }
    let centred = u - n1 * n2 / 2.0;
    let z = ((centred.abs() - 0.5).max(0.0) / variance.sqrt()).copysign(centred);
    let p_value = statrs::function::erf::erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0);
    Ok(RankTestResult {
        u,
        prob_superiority: u / (n1 * n2),
        z,
        p_value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// U by counting pairs, the definition, against the rank-sum formula.
    fn u_by_pairs(x: &[f64], y: &[f64]) -> f64 {
        x.iter()
            .flat_map(|a| y.iter().map(move |b| (a, b)))
            .map(|(a, b)| match a.partial_cmp(b).unwrap() {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            })
            .sum()
    }

    #[test]
    fn u_and_p_match_scipy_with_and_without_ties() {
        // p-values of scipy 1.x `mannwhitneyu(x, y, alternative="two-sided",
        // method="asymptotic", use_continuity=True)`, computed outside wm.
        let cases: [(&[f64], &[f64], f64, f64); 3] = [
            (
                &[1.0, 2.0, 3.0, 4.0, 5.0],
                &[6.0, 7.0, 8.0, 9.0, 10.0],
                0.0,
                0.012185780355344813,
            ),
            (
                &[1.5, 2.0, 2.0, 3.1, 7.0, 0.2],
                &[2.0, 0.1, 0.3, 0.3, 1.0],
                24.0,
                0.1164565298413952,
            ),
            (
                &[0.5, 4.0, 4.0, 4.0, 9.0, -1.0, 2.5],
                &[4.0, 3.0, 3.0, 10.0, 11.0, 0.0, 2.5, 2.5],
                25.5,
                0.8145047980682159,
            ),
        ];
        for (x, y, u, p) in cases {
            let r = mann_whitney_u(x, y).unwrap();
            assert_eq!(r.u, u, "{x:?} {y:?}");
            assert_eq!(r.u, u_by_pairs(x, y));
            assert!((r.p_value - p).abs() < 1e-10 * p, "{} vs {p}", r.p_value);
            assert_eq!(r.prob_superiority, u / (x.len() * y.len()) as f64);
            // Swapping the samples mirrors U and keeps p.
            let s = mann_whitney_u(y, x).unwrap();
            assert_eq!(s.u, (x.len() * y.len()) as f64 - u);
            assert_eq!(s.z, -r.z);
            assert!((s.p_value - r.p_value).abs() < 1e-15);
        }
    }

    #[test]
    fn one_extreme_value_moves_the_ranks_no_more_than_any_other() {
        let x = [1.0, 2.0, 3.0, 4.0, 100.0];
        let y = [0.5, 1.5, 2.5, 3.5, 4.5];
        let big = mann_whitney_u(&x, &y).unwrap();
        let small = mann_whitney_u(&[1.0, 2.0, 3.0, 4.0, 5.0], &y).unwrap();
        assert_eq!(big, small);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            mann_whitney_u(&[], &[1.0]),
            Err(AnalysisError::TooFew { .. })
        ));
        assert!(matches!(
            mann_whitney_u(&[1.0, f64::NAN], &[1.0]),
            Err(AnalysisError::NonFinite { .. })
        ));
        assert!(matches!(
            mann_whitney_u(&[2.0, 2.0], &[2.0]),
            Err(AnalysisError::ZeroVariance { .. })
        ));
    }
}
