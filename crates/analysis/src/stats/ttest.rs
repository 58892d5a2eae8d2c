//! One-sample, paired, Student (pooled) and Welch t-tests, all two-sided.

use serde::Serialize;

use super::descriptive::{Summary, summarize};
use super::dist::t_two_sided_p;
use crate::error::{AnalysisError, Result, ensure_at_least};

/// Result of a two-sided t-test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TestResult {
    /// The t statistic, `estimate / std_error`.
    pub statistic: f64,
    /// Degrees of freedom (non-integer for Welch).
    pub df: f64,
    /// Two-sided p-value, `2·P(T ≥ |t|)` with `T ~ t(df)`.
    pub p_value: f64,
    /// The estimated effect: `mean(x) − mu` (one-sample), `mean(x − y)`
    /// (paired) or `mean(x) − mean(y)` (two-sample).
    pub estimate: f64,
    /// Standard error of `estimate`.
    pub std_error: f64,
}

fn finish(estimate: f64, std_error: f64, df: f64) -> Result<TestResult> {
    let statistic = estimate / std_error;
    if !statistic.is_finite() {
        return Err(AnalysisError::Numerical {
            what: "t statistic",
            reason: format!("non-finite t = {estimate} / {std_error}"),
        });
    }
    Ok(TestResult {
        statistic,
        df,
        p_value: t_two_sided_p(statistic, df)?,
        estimate,
        std_error,
    })
}

fn one_sample(what: &'static str, s: Summary, mu: f64) -> Result<TestResult> {
    if s.constant {
        return Err(AnalysisError::ZeroVariance { what });
    }
    let nf = s.n as f64;
    let sd = (s.ss / (nf - 1.0)).sqrt();
    finish(s.mean - mu, sd / nf.sqrt(), nf - 1.0)
}

/// One-sample t-test of `H0: mean(x) = mu`, df = n − 1.
///
/// # Errors
/// * [`AnalysisError::TooFew`] if `x` has fewer than 2 values.
/// * [`AnalysisError::NonFinite`] if `x` holds NaN/±∞.
/// * [`AnalysisError::InvalidParameter`] if `mu` is not finite.
/// * [`AnalysisError::ZeroVariance`] if `x` is (numerically) constant.
pub fn ttest_one_sample(x: &[f64], mu: f64) -> Result<TestResult> {
    if !mu.is_finite() {
        return Err(AnalysisError::invalid("mu", mu, "finite"));
    }
    let s = summarize("x", x, 2)?;
    one_sample("x", s, mu)
}

/// Paired t-test of `H0: mean(x − y) = 0`, df = n − 1.
///
/// # Errors
/// * [`AnalysisError::ShapeMismatch`] if `x` and `y` differ in length.
/// * [`AnalysisError::TooFew`] if there are fewer than 2 pairs.
/// * [`AnalysisError::NonFinite`] if either sample holds NaN/±∞.
/// * [`AnalysisError::ZeroVariance`] if the differences are constant.
pub fn ttest_paired(x: &[f64], y: &[f64]) -> Result<TestResult> {
    if x.len() != y.len() {
        return Err(AnalysisError::shape(
            "y",
            format!("length {} (as x)", x.len()),
            format!("length {}", y.len()),
        ));
    }
    summarize("x", x, 2)?;
    summarize("y", y, 2)?;
    let d: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    let s = summarize("x − y", &d, 2)?;
    one_sample("x − y", s, 0.0)
}

/// Two-sample Student t-test with pooled variance, df = n₁ + n₂ − 2.
///
/// `s_p² = (SSx + SSy) / (n₁ + n₂ − 2)`, `SE = s_p·√(1/n₁ + 1/n₂)`.
/// A group of size 1 is allowed as long as n₁ + n₂ ≥ 3.
///
/// # Errors
/// * [`AnalysisError::TooFew`] if a sample is empty or n₁ + n₂ < 3.
/// * [`AnalysisError::NonFinite`] if either sample holds NaN/±∞.
/// * [`AnalysisError::ZeroVariance`] if both samples are constant.
pub fn ttest_student(x: &[f64], y: &[f64]) -> Result<TestResult> {
    let sx = summarize("x", x, 1)?;
    let sy = summarize("y", y, 1)?;
    let total = sx.n + sy.n;
    ensure_at_least("x and y together", 3, total)?;
    if sx.constant && sy.constant {
        return Err(AnalysisError::ZeroVariance {
            what: "x and y (pooled)",
        });
    }
    let (n1, n2) = (sx.n as f64, sy.n as f64);
    let df = n1 + n2 - 2.0;
    let sp2 = (sx.ss + sy.ss) / df;
    finish(sx.mean - sy.mean, (sp2 * (1.0 / n1 + 1.0 / n2)).sqrt(), df)
}

/// Welch's unequal-variance t-test with Welch–Satterthwaite df
/// `(v₁/n₁ + v₂/n₂)² / ((v₁/n₁)²/(n₁−1) + (v₂/n₂)²/(n₂−1))`.
///
/// # Errors
/// * [`AnalysisError::TooFew`] if either sample has fewer than 2 values.
/// * [`AnalysisError::NonFinite`] if either sample holds NaN/±∞.
/// * [`AnalysisError::ZeroVariance`] if both samples are constant.
pub fn ttest_welch(x: &[f64], y: &[f64]) -> Result<TestResult> {
    let sx = summarize("x", x, 2)?;
    let sy = summarize("y", y, 2)?;
    if sx.constant && sy.constant {
        return Err(AnalysisError::ZeroVariance { what: "x and y" });
    }
    let (n1, n2) = (sx.n as f64, sy.n as f64);
    let a = sx.ss / (n1 - 1.0) / n1;
    let b = sy.ss / (n2 - 1.0) / n2;
    let se2 = a + b;
    let df = se2 * se2 / (a * a / (n1 - 1.0) + b * b / (n2 - 1.0));
    if !(df.is_finite() && df > 0.0) {
        return Err(AnalysisError::Numerical {
            what: "Welch df",
            reason: format!("df = {df}"),
        });
    }
    finish(sx.mean - sy.mean, se2.sqrt(), df)
}
