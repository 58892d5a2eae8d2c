//! Tail probabilities and quantiles of the t and F distributions (statrs).

use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::function::beta::checked_beta_reg;

use crate::error::{AnalysisError, Result};

fn check_df(name: &'static str, df: f64) -> Result<()> {
    if df.is_finite() && df > 0.0 {
        Ok(())
    } else {
        Err(AnalysisError::invalid(name, df, "finite and > 0"))
    }
}

fn students_t(df: f64) -> Result<StudentsT> {
    StudentsT::new(0.0, 1.0, df).map_err(|e| AnalysisError::Numerical {
        what: "Student t distribution",
        reason: e.to_string(),
    })
}

/// Two-sided p-value `P(|T| ≥ |t|)` for `T ~ t(df)`, computed as
/// `2·sf(|t|)` (no `1 − cdf` cancellation).
///
/// `df` may be non-integer (Welch). `t = ±∞` gives `0`; `t = NaN` gives NaN.
///
/// # Errors
/// [`AnalysisError::InvalidParameter`] if `df` is not finite and positive.
pub fn t_two_sided_p(t: f64, df: f64) -> Result<f64> {
    check_df("df", df)?;
    if t.is_nan() {
        return Ok(f64::NAN);
    }
    if t.is_infinite() {
        return Ok(0.0);
    }
    let p = 2.0 * students_t(df)?.sf(t.abs());
    Ok(p.clamp(0.0, 1.0))
}

/// Quantile `q` with `P(T ≤ q) = prob` for `T ~ t(df)` (statrs `inverse_cdf`).
///
/// # Errors
/// [`AnalysisError::InvalidParameter`] if `df` is not finite and positive or
/// `prob` is not strictly inside `(0, 1)`.
pub fn t_quantile(prob: f64, df: f64) -> Result<f64> {
    check_df("df", df)?;
    if !(prob > 0.0 && prob < 1.0) {
        return Err(AnalysisError::invalid(
            "prob",
            prob,
            "strictly between 0 and 1",
        ));
    }
    Ok(students_t(df)?.inverse_cdf(prob))
}

/// Upper-tail p-value `P(F ≥ f)` for `F ~ F(d1, d2)`.
///
/// Evaluated as the regularized incomplete beta `I_{d2/(d2+d1·f)}(d2/2, d1/2)`,
/// which is the F survival function with its argument formed without
/// cancellation (so tiny p-values stay accurate). `f ≤ 0` gives `1`,
/// `f = +∞` gives `0`, `f = NaN` gives NaN.
///
/// # Errors
/// [`AnalysisError::InvalidParameter`] if `d1` or `d2` is not finite and
/// positive.
pub fn f_upper_p(f: f64, d1: f64, d2: f64) -> Result<f64> {
    check_df("d1", d1)?;
    check_df("d2", d2)?;
    if f.is_nan() {
        return Ok(f64::NAN);
    }
    if f <= 0.0 {
        return Ok(1.0);
    }
    if f.is_infinite() {
        return Ok(0.0);
    }
    let x = d2 / (d2 + d1 * f);
    checked_beta_reg(d2 / 2.0, d1 / 2.0, x.clamp(0.0, 1.0))
        .map(|p| p.clamp(0.0, 1.0))
        .map_err(|e| AnalysisError::Numerical {
            what: "F survival function",
            reason: e.to_string(),
        })
}
