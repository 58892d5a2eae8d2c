//! One-way (between-groups) analysis of variance.

use serde::Serialize;

use super::descriptive::summarize;
use super::dist::f_upper_p;
use crate::error::{AnalysisError, Result, ensure_at_least};

/// Result of a one-way ANOVA.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AnovaResult {
    /// F statistic, `(SS_between / df_between) / (SS_within / df_within)`.
    pub f: f64,
    /// Between-groups degrees of freedom, `k − 1`.
    pub df_between: usize,
    /// Within-groups degrees of freedom, `N − k`.
    pub df_within: usize,
    /// Upper-tail p-value `P(F(df_between, df_within) ≥ f)`.
    pub p_value: f64,
    /// Between-groups sum of squares, `Σ nᵢ (x̄ᵢ − x̄)²`.
    pub ss_between: f64,
    /// Within-groups sum of squares, `Σᵢ Σⱼ (xᵢⱼ − x̄ᵢ)²`.
    pub ss_within: f64,
    /// Effect size η² = `SS_between / (SS_between + SS_within)`.
    pub eta_squared: f64,
}

/// One-way ANOVA over `groups` (k ≥ 2 groups, each non-empty, N > k).
///
/// With two groups, `f` equals the square of [`ttest_student`](super::ttest_student)'s
/// statistic and the p-values agree.
///
/// # Errors
/// * [`AnalysisError::TooFew`] if there are fewer than 2 groups, a group is
///   empty, or the total count N ≤ k (no within-group df).
/// * [`AnalysisError::NonFinite`] if any value is NaN/±∞.
/// * [`AnalysisError::ZeroVariance`] if every group is (numerically)
///   constant, so the within-group variance is zero.
pub fn anova_one_way(groups: &[&[f64]]) -> Result<AnovaResult> {
    let k = groups.len();
    ensure_at_least("groups", 2, k)?;
    let sums = groups
        .iter()
        .map(|g| summarize("group", g, 1))
        .collect::<Result<Vec<_>>>()?;
    let n_total: usize = sums.iter().map(|s| s.n).sum();
    ensure_at_least("observations over all groups", k + 1, n_total)?;
    if sums.iter().all(|s| s.constant) {
        return Err(AnalysisError::ZeroVariance {
            what: "within-group",
        });
    }
    let grand = sums.iter().map(|s| s.mean * s.n as f64).sum::<f64>() / n_total as f64;
    let ss_between: f64 = sums
        .iter()
        .map(|s| s.n as f64 * (s.mean - grand).powi(2))
        .sum();
    let ss_within: f64 = sums.iter().map(|s| s.ss).sum();
    let (df_between, df_within) = (k - 1, n_total - k);
    let f = (ss_between / df_between as f64) / (ss_within / df_within as f64);
    if !f.is_finite() {
        return Err(AnalysisError::Numerical {
            what: "ANOVA F",
            reason: format!("non-finite F = {f}"),
        });
    }
    let p_value = f_upper_p(f, df_between as f64, df_within as f64)?;
    Ok(AnovaResult {
        f,
        df_between,
        df_within,
        p_value,
        ss_between,
        ss_within,
        eta_squared: ss_between / (ss_between + ss_within),
    })
}
