//! Pearson and Spearman rank correlation with their t-tests, and the Fisher
//! z transform.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use super::descriptive::summarize;
use super::dist::t_two_sided_p;
use crate::error::{AnalysisError, Result, ensure_at_least};

/// Pearson correlation and its two-sided test of `H0: ρ = 0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Correlation {
    /// Sample correlation coefficient, in `[−1, 1]`.
    pub r: f64,
    /// Number of pairs.
    pub n: usize,
    /// `t = r·√((n − 2) / (1 − r²))`; `±∞` when `|r| = 1`.
    pub t: f64,
    /// Degrees of freedom of `t`, `n − 2`.
    pub df: usize,
    /// Two-sided p-value of `t` under `t(n − 2)`; `0` when `|r| = 1`.
    pub p_value: f64,
}

impl Correlation {
    /// Confidence interval for ρ at `level` (e.g. `0.95`) by the Fisher z
    /// method: `tanh(atanh(r) ± z_{(1+level)/2} / √(n − 3))`.
    ///
    /// When `|r| = 1` both ends equal `r`.
    ///
    /// # Errors
    /// * [`AnalysisError::InvalidParameter`] if `level` is not in `(0, 1)`.
    /// * [`AnalysisError::TooFew`] if `n < 4`.
    pub fn confidence_interval(&self, level: f64) -> Result<(f64, f64)> {
        if !(level > 0.0 && level < 1.0) {
            return Err(AnalysisError::invalid(
                "level",
                level,
                "strictly between 0 and 1",
            ));
        }
        ensure_at_least("pairs for the Fisher-z interval", 4, self.n)?;
        let z = fisher_z(self.r)?;
        let q = Normal::standard().inverse_cdf(0.5 + level / 2.0);
        let half = q / (self.n as f64 - 3.0).sqrt();
        Ok((fisher_z_inv(z - half), fisher_z_inv(z + half)))
    }
}

/// Pearson correlation of `x` and `y` with the t-test `t = r√((n−2)/(1−r²))`,
/// df = n − 2.
///
/// # Errors
/// * [`AnalysisError::ShapeMismatch`] if the lengths differ.
/// * [`AnalysisError::TooFew`] if there are fewer than 3 pairs.
/// * [`AnalysisError::NonFinite`] if either input holds NaN/±∞.
/// * [`AnalysisError::ZeroVariance`] if `x` or `y` is (numerically) constant.
pub fn pearson(x: &[f64], y: &[f64]) -> Result<Correlation> {
    if x.len() != y.len() {
        return Err(AnalysisError::shape(
            "y",
            format!("length {} (as x)", x.len()),
            format!("length {}", y.len()),
        ));
    }
    let sx = summarize("x", x, 3)?;
    let sy = summarize("y", y, 3)?;
    if sx.constant {
        return Err(AnalysisError::ZeroVariance { what: "x" });
    }
    if sy.constant {
        return Err(AnalysisError::ZeroVariance { what: "y" });
    }
    let sxy: f64 = x
        .iter()
        .zip(y)
        .map(|(a, b)| (a - sx.mean) * (b - sy.mean))
        .sum();
    // One square root of the product is exact more often (e.g. y = a·x gives |r| = 1
    // exactly); fall back to two roots if the product over- or underflows.
    let prod = sx.ss * sy.ss;
    let denom = if prod.is_normal() {
        prod.sqrt()
    } else {
        sx.ss.sqrt() * sy.ss.sqrt()
    };
    let r = (sxy / denom).clamp(-1.0, 1.0);
    let n = x.len();
    let df = n - 2;
    let one_minus = (1.0 - r) * (1.0 + r);
    let (t, p_value) = if one_minus <= 0.0 {
        (r.signum() * f64::INFINITY, 0.0)
    } else {
        let t = r * (df as f64 / one_minus).sqrt();
        (t, t_two_sided_p(t, df as f64)?)
    };
    Ok(Correlation {
        r,
        n,
        t,
        df,
        p_value,
    })
}

/// Spearman rank correlation of `x` and `y`: the Pearson correlation of their
/// ranks, tied values sharing the mean of their ranks (Spearman 1904), with the
/// same t-approximation test as [`pearson`] (valid for n ≳ 10).
///
/// # Errors
/// As [`pearson`]; [`AnalysisError::ZeroVariance`] when every value of `x` (or
/// of `y`) is tied.
pub fn spearman(x: &[f64], y: &[f64]) -> Result<Correlation> {
    if x.len() != y.len() {
        return Err(AnalysisError::shape(
            "y",
            format!("length {} (as x)", x.len()),
            format!("length {}", y.len()),
        ));
    }
    summarize("x", x, 3)?;
    summarize("y", y, 3)?;
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Ranks 1..=n of finite values, ties given the mean of the ranks they span.
fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && v[order[end]] == v[order[start]] {
            end += 1;
        }
        // Ranks start+1 ..= end share their mean.
        let mean_rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = mean_rank;
        }
        start = end;
    }
    ranks
}

/// Fisher z transform `atanh(r) = ½ ln((1 + r)/(1 − r))`.
///
/// `r = ±1` maps to `±∞`.
///
/// # Errors
/// [`AnalysisError::InvalidParameter`] if `r` is NaN or `|r| > 1`.
pub fn fisher_z(r: f64) -> Result<f64> {
    if !(-1.0..=1.0).contains(&r) {
        return Err(AnalysisError::invalid("r", r, "in [-1, 1]"));
    }
    Ok(r.atanh())
}

/// Inverse Fisher z transform, `tanh(z)`; `±∞ → ±1`, NaN → NaN.
pub fn fisher_z_inv(z: f64) -> f64 {
    z.tanh()
}
