//! Mean, standard deviation and standard error of the mean.

use std::borrow::Borrow;

use serde::Serialize;

use crate::error::{Result, ensure_at_least, ensure_finite};

/// Mean, sample standard deviation and standard error of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MeanSem {
    /// Arithmetic mean.
    pub mean: f64,
    /// Standard error of the mean, `sd / √n`.
    pub sem: f64,
    /// Sample standard deviation with the `N − 1` (Bessel) denominator.
    pub sd: f64,
    /// Number of observations.
    pub n: usize,
}

/// Summary of one validated sample, shared by the tests in this module.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sum of squared deviations from the mean, `Σ (x − x̄)²`.
    pub ss: f64,
    /// True when the sample is constant up to rounding (see [`summarize`]).
    pub constant: bool,
}

/// Validate `x` (at least `min_n` values, all finite) and return its mean and
/// centred sum of squares (corrected two-pass algorithm).
///
/// `constant` is set when the spread is at rounding level:
/// `√ss ≤ 4·ε·√n·max|x|`. Exactly equal values always qualify.
pub(crate) fn summarize(what: &'static str, x: &[f64], min_n: usize) -> Result<Summary> {
    let n = x.len();
    ensure_at_least(what, min_n.max(1), n)?;
    ensure_finite(what, x)?;
    let nf = n as f64;
    let mean0 = x.iter().sum::<f64>() / nf;
    let (mut s1, mut s2) = (0.0_f64, 0.0_f64);
    for &v in x {
        let d = v - mean0;
        s1 += d;
        s2 += d * d;
    }
    let mean = mean0 + s1 / nf;
    let ss = (s2 - s1 * s1 / nf).max(0.0);
    let scale = x.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let all_equal = x.iter().all(|&v| v == x[0]);
    let constant = all_equal || ss.sqrt() <= 4.0 * f64::EPSILON * nf.sqrt() * scale;
    Ok(Summary {
        n,
        mean: if all_equal { x[0] } else { mean },
        ss: if all_equal { 0.0 } else { ss },
        constant,
    })
}

/// Mean of the finite values of `values`, skipping NaN and ±∞; NaN when
/// none is finite. numpy's `nanmean`, except that ±∞ are skipped too: one
/// diverged network or an undefined score leaves a summary over the rest.
/// The values are added in order, starting from `0.0`.
/// Takes values or references (`finite_mean(&v)` for a `Vec<f64>`).
pub fn finite_mean(values: impl IntoIterator<Item = impl Borrow<f64>>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .map(|v| *v.borrow())
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// Mean, sample SD (`N − 1`) and SEM of `x`.
///
/// A constant sample is fine here (`sd = sem = 0`).
///
/// # Errors
/// * [`AnalysisError::TooFew`](crate::AnalysisError::TooFew) if `x` has fewer than 2 values (the SD needs
///   `N − 1 ≥ 1`).
/// * [`AnalysisError::NonFinite`](crate::AnalysisError::NonFinite) if `x` holds NaN or ±∞.
pub fn mean_sem(x: &[f64]) -> Result<MeanSem> {
    let s = summarize("x", x, 2)?;
    let sd = (s.ss / (s.n as f64 - 1.0)).sqrt();
    Ok(MeanSem {
        mean: s.mean,
        sem: sd / (s.n as f64).sqrt(),
        sd,
        n: s.n,
    })
}
