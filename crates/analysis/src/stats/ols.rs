//! Ordinary least squares with classical standard errors and per-coefficient
//! Wald t-tests.

use nalgebra::{DMatrix, DVector, SVD};
use ndarray::{Array2, ArrayView1, ArrayView2};
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use super::descriptive::summarize;
use super::dist::{t_quantile, t_two_sided_p};
use crate::error::{AnalysisError, Result, ensure_at_least, ensure_finite};

/// Designs whose column-equilibrated condition number exceeds this are
/// rejected as singular.
const MAX_CONDITION: f64 = 1e12;

/// Fit of `y = X β + ε` by ordinary least squares.
///
/// Standard errors use the classical homoscedastic covariance
/// `σ̂² (XᵀX)⁻¹` with `σ̂² = RSS / (n − k)`; each coefficient gets a two-sided
/// Wald test `t = β̂ / SE(β̂)` against `t(n − k)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OlsFit {
    /// Coefficient names, one per design column (see [`OlsFit::with_names`]).
    pub names: Vec<String>,
    /// Estimated coefficients β̂, one per design column.
    pub coefficients: Vec<f64>,
    /// Standard errors `√diag(covariance)`.
    pub std_errors: Vec<f64>,
    /// Wald statistics `β̂ / SE`. If the fit is exact (RSS = 0) the standard
    /// errors are 0 and these are `±∞` (or NaN for a zero coefficient).
    pub t_values: Vec<f64>,
    /// Two-sided p-values of `t_values` under `t(residual_df)`
    /// (`0` for `±∞`, NaN for NaN).
    pub p_values: Vec<f64>,
    /// Coefficient of determination `1 − RSS/TSS`. TSS is centred when the
    /// design has an intercept (a constant non-zero column) and uncentred
    /// (`Σ y²`) otherwise, as in R and statsmodels. NaN when TSS = 0.
    pub r_squared: f64,
    /// Adjusted R², `1 − (1 − R²)(n − c)/(n − k)` with `c = 1` if the design
    /// has an intercept, else `0`. NaN when `r_squared` is.
    pub adj_r_squared: f64,
    /// Number of observations `n`.
    pub n: usize,
    /// Residual degrees of freedom `n − k`.
    pub residual_df: usize,
    /// Residual standard error `σ̂ = √(RSS / (n − k))`.
    pub sigma: f64,
    /// Residual sum of squares.
    pub rss: f64,
    /// Whether a constant non-zero column (an intercept) was detected.
    pub has_intercept: bool,
    /// Residuals `y − X β̂`, length `n`.
    pub residuals: Vec<f64>,
    /// Classical covariance of β̂, `σ̂² (XᵀX)⁻¹`, shape `[k, k]`.
    pub covariance: Array2<f64>,
}

/// One row of a coefficient table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coefficient {
    /// Coefficient name.
    pub name: String,
    /// Estimate β̂.
    pub estimate: f64,
    /// Standard error.
    pub std_error: f64,
    /// Wald statistic `β̂ / SE`.
    pub t_value: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

impl OlsFit {
    /// Number of coefficients `k`.
    pub fn k(&self) -> usize {
        self.coefficients.len()
    }

    /// Replace the coefficient names (one per design column, intercept
    /// included), e.g. `["intercept", "sigma0", "lambda0", "rho"]`.
    ///
    /// # Errors
    /// [`AnalysisError::ShapeMismatch`] if `names.len() != k`.
    pub fn with_names(mut self, names: &[&str]) -> Result<Self> {
        if names.len() != self.k() {
            return Err(AnalysisError::shape(
                "names",
                format!("{} names", self.k()),
                format!("{} names", names.len()),
            ));
        }
        self.names = names.iter().map(|s| (*s).to_string()).collect();
        Ok(self)
    }

    /// The coefficient table, in design-column order.
    pub fn table(&self) -> Vec<Coefficient> {
        (0..self.k())
            .map(|j| Coefficient {
                name: self.names[j].clone(),
                estimate: self.coefficients[j],
                std_error: self.std_errors[j],
                t_value: self.t_values[j],
                p_value: self.p_values[j],
            })
            .collect()
    }

    /// The table row of the coefficient called `name`, if any.
    pub fn coefficient(&self, name: &str) -> Option<Coefficient> {
        self.table().into_iter().find(|c| c.name == name)
    }

    /// Two-sided p-values of `t_values` under the standard normal (the
    /// large-sample Wald z-test, `2·Φ(−|z|)`), for reports that use z rather
    /// than `t(n − k)`. `±∞ → 0`, NaN → NaN.
    pub fn wald_z_p_values(&self) -> Vec<f64> {
        let normal = Normal::standard();
        self.t_values
            .iter()
            .map(|&z| {
                if z.is_nan() {
                    f64::NAN
                } else {
                    (2.0 * normal.sf(z.abs())).clamp(0.0, 1.0)
                }
            })
            .collect()
    }

    /// Two-sided confidence intervals `β̂ ± t_{(1+level)/2, n−k}·SE` for all
    /// coefficients.
    ///
    /// # Errors
    /// [`AnalysisError::InvalidParameter`] if `level` is not in `(0, 1)`.
    pub fn conf_int(&self, level: f64) -> Result<Vec<(f64, f64)>> {
        let q = self.quantile(level)?;
        Ok(self
            .coefficients
            .iter()
            .zip(&self.std_errors)
            .map(|(b, s)| (b - q * s, b + q * s))
            .collect())
    }

    /// Fitted mean at a new design row `x_row` (length `k`, intercept entry
    /// included) with its 95% confidence band for the *mean* response:
    /// returns `(fit, lo, hi)`.
    ///
    /// # Errors
    /// See [`OlsFit::confidence_band_level`].
    pub fn confidence_band(&self, x_row: &[f64]) -> Result<(f64, f64, f64)> {
        self.confidence_band_level(x_row, 0.95)
    }

    /// Like [`OlsFit::confidence_band`] at an arbitrary `level`:
    /// `fit ± t_{(1+level)/2, n−k} · √(xᵀ Σ x)` with Σ = `covariance`.
    ///
    /// # Errors
    /// * [`AnalysisError::ShapeMismatch`] if `x_row.len() != k`.
    /// * [`AnalysisError::NonFinite`] if `x_row` holds NaN/±∞.
    /// * [`AnalysisError::InvalidParameter`] if `level` is not in `(0, 1)`.
    pub fn confidence_band_level(&self, x_row: &[f64], level: f64) -> Result<(f64, f64, f64)> {
        let k = self.k();
        if x_row.len() != k {
            return Err(AnalysisError::shape(
                "x_row",
                format!("length {k}"),
                format!("length {}", x_row.len()),
            ));
        }
        ensure_finite("x_row", x_row)?;
        let q = self.quantile(level)?;
        let fit: f64 = x_row
            .iter()
            .zip(&self.coefficients)
            .map(|(x, b)| x * b)
            .sum();
        let mut var = 0.0;
        for i in 0..k {
            for j in 0..k {
                var += x_row[i] * self.covariance[[i, j]] * x_row[j];
            }
        }
        let half = q * var.max(0.0).sqrt();
        Ok((fit, fit - half, fit + half))
    }

    fn quantile(&self, level: f64) -> Result<f64> {
        if !(level > 0.0 && level < 1.0) {
            return Err(AnalysisError::invalid(
                "level",
                level,
                "strictly between 0 and 1",
            ));
        }
        t_quantile(0.5 + level / 2.0, self.residual_df as f64)
    }
}

/// OLS of `y` on `design` (shape `[n, k]`) exactly as given: include a column
/// of ones yourself for an intercept, or use [`ols_with_intercept`].
/// Coefficients are named `x0 … x{k−1}`; rename with [`OlsFit::with_names`].
///
/// Solved by Householder QR of the column-equilibrated design (each column
/// scaled to unit norm), so `XᵀX` is never formed.
///
/// # Errors
/// * [`AnalysisError::ShapeMismatch`] if `y.len() != n`.
/// * [`AnalysisError::TooFew`] if `k = 0` or `n < k + 1` (no residual df).
/// * [`AnalysisError::NonFinite`] if `design` or `y` holds NaN/±∞.
/// * [`AnalysisError::Numerical`] if the design is singular: a zero column,
///   or a condition number of the column-equilibrated design above 1e12
///   (collinear regressors).
pub fn ols(design: ArrayView2<f64>, y: ArrayView1<f64>) -> Result<OlsFit> {
    let (n, k) = design.dim();
    if y.len() != n {
        return Err(AnalysisError::shape(
            "y",
            format!("length {n} (design rows)"),
            format!("length {}", y.len()),
        ));
    }
    ensure_at_least("design columns", 1, k)?;
    ensure_at_least("observations (need more rows than columns)", k + 1, n)?;
    ensure_finite("design", design.iter())?;
    ensure_finite("y", y.iter())?;

    // Column equilibration: X = Xs · diag(norms).
    let mut norms = vec![0.0; k];
    for (j, norm) in norms.iter_mut().enumerate() {
        let col = design.column(j);
        let m = col.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        *norm = if m == 0.0 {
            0.0
        } else {
            m * col.iter().map(|v| (v / m).powi(2)).sum::<f64>().sqrt()
        };
        if *norm == 0.0 || !norm.is_finite() {
            return Err(AnalysisError::Numerical {
                what: "ols",
                reason: format!("singular design: column {j} is all zeros (or overflows)"),
            });
        }
    }
    let xs = DMatrix::from_fn(n, k, |i, j| design[[i, j]] / norms[j]);
    let qr = xs.qr();
    let r = qr.r(); // k × k (n > k)

    let svd =
        SVD::try_new_unordered(r.clone(), false, false, f64::EPSILON, 10_000).ok_or_else(|| {
            AnalysisError::Numerical {
                what: "ols",
                reason: "SVD of R did not converge".into(),
            }
        })?;
    let sv = svd.singular_values;
    let smax = sv.iter().fold(0.0_f64, |a, &v| a.max(v));
    let smin = sv.iter().fold(f64::INFINITY, |a, &v| a.min(v));
    if !(smin > 0.0 && smax / smin <= MAX_CONDITION) {
        return Err(AnalysisError::Numerical {
            what: "ols",
            reason: format!(
                "singular design: condition number {:.3e} of the column-scaled design exceeds {MAX_CONDITION:e} \
                 (collinear columns?)",
                smax / smin
            ),
        });
    }

    let mut qty = DVector::from_iterator(n, y.iter().copied());
    qr.q_tr_mul(&mut qty);
    let qty_k = qty.rows(0, k).into_owned();
    let numerr = |what: &str| AnalysisError::Numerical {
        what: "ols",
        reason: format!("{what}: triangular solve failed"),
    };
    let beta_s = r
        .solve_upper_triangular(&qty_k)
        .ok_or_else(|| numerr("coefficients"))?;
    let r_inv = r
        .solve_upper_triangular(&DMatrix::identity(k, k))
        .ok_or_else(|| numerr("covariance"))?;
    let coefficients: Vec<f64> = (0..k).map(|j| beta_s[j] / norms[j]).collect();

    let residuals: Vec<f64> = (0..n)
        .map(|i| {
            y[i] - (0..k)
                .map(|j| design[[i, j]] * coefficients[j])
                .sum::<f64>()
        })
        .collect();
    let rss: f64 = residuals.iter().map(|e| e * e).sum();
    let residual_df = n - k;
    let sigma2 = rss / residual_df as f64;

    // (XᵀX)⁻¹ = D⁻¹ R⁻¹ R⁻ᵀ D⁻¹.
    let xtx_inv_s = &r_inv * r_inv.transpose();
    let covariance = Array2::from_shape_fn((k, k), |(i, j)| {
        sigma2 * xtx_inv_s[(i, j)] / (norms[i] * norms[j])
    });
    let std_errors: Vec<f64> = (0..k).map(|j| covariance[[j, j]].max(0.0).sqrt()).collect();
    let t_values: Vec<f64> = coefficients
        .iter()
        .zip(&std_errors)
        .map(|(b, s)| b / s)
        .collect();
    let p_values = t_values
        .iter()
        .map(|&t| t_two_sided_p(t, residual_df as f64))
        .collect::<Result<Vec<_>>>()?;

    let has_intercept = (0..k).any(|j| {
        let c = design.column(j);
        c[0] != 0.0 && c.iter().all(|&v| v == c[0])
    });
    let tss = if has_intercept {
        let ybar = y.iter().sum::<f64>() / n as f64;
        y.iter().map(|v| (v - ybar).powi(2)).sum::<f64>()
    } else {
        y.iter().map(|v| v * v).sum::<f64>()
    };
    let (r_squared, adj_r_squared) = if tss > 0.0 {
        let r2 = 1.0 - rss / tss;
        let c = usize::from(has_intercept) as f64;
        (r2, 1.0 - (1.0 - r2) * (n as f64 - c) / residual_df as f64)
    } else {
        (f64::NAN, f64::NAN)
    };

    Ok(OlsFit {
        names: (0..k).map(|j| format!("x{j}")).collect(),
        coefficients,
        std_errors,
        t_values,
        p_values,
        r_squared,
        adj_r_squared,
        n,
        residual_df,
        sigma: sigma2.sqrt(),
        rss,
        has_intercept,
        residuals,
        covariance,
    })
}

/// OLS of `y` on `regressors` (shape `[n, p]`) plus an intercept, which is
/// prepended as column 0. Coefficients are named `intercept, x1 … xp`.
///
/// # Errors
/// As [`ols`] with `k = p + 1`.
pub fn ols_with_intercept(regressors: ArrayView2<f64>, y: ArrayView1<f64>) -> Result<OlsFit> {
    let (n, p) = regressors.dim();
    let design = Array2::from_shape_fn((n, p + 1), |(i, j)| {
        if j == 0 { 1.0 } else { regressors[[i, j - 1]] }
    });
    let fit = ols(design.view(), y)?;
    let names: Vec<String> = std::iter::once("intercept".to_string())
        .chain((1..=p).map(|j| format!("x{j}")))
        .collect();
    Ok(OlsFit { names, ..fit })
}

/// Simple linear regression `y = a + b·x`; coefficients are named
/// `intercept` and `slope`. The slope's Wald t equals Pearson's t of `(x, y)`.
///
/// # Errors
/// * [`AnalysisError::ShapeMismatch`] if the lengths differ.
/// * [`AnalysisError::TooFew`] if there are fewer than 3 points.
/// * [`AnalysisError::NonFinite`] if either input holds NaN/±∞.
/// * [`AnalysisError::ZeroVariance`] if `x` is (numerically) constant.
pub fn simple_linear_regression(x: &[f64], y: &[f64]) -> Result<OlsFit> {
    if x.len() != y.len() {
        return Err(AnalysisError::shape(
            "y",
            format!("length {} (as x)", x.len()),
            format!("length {}", y.len()),
        ));
    }
    if summarize("x", x, 3)?.constant {
        return Err(AnalysisError::ZeroVariance { what: "x" });
    }
    let regressors = ArrayView2::from_shape((x.len(), 1), x)
        .map_err(|e| AnalysisError::shape("x", "a contiguous slice", e.to_string()))?;
    let fit = ols_with_intercept(regressors, ArrayView1::from(y))?;
    fit.with_names(&["intercept", "slope"])
}
