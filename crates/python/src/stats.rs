//! The statistics wm's reports use: mean ± SEM, t-tests, the Mann–Whitney
//! U test, one-way ANOVA, Pearson correlation and OLS with Wald tests. Results are dicts with the
//! field names of `wm-analysis`.

use ndarray::{Ix1, Ix2};
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pythonize::pythonize;
use serde::Serialize;
use wm_analysis::stats;

use crate::convert::{float_array, float_vec, invalid, value_error, view};

/// A serde struct of scalars as a Python dict.
fn to_dict<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    Ok(pythonize(py, value)?)
}

/// Mean, sample s.d. (ddof 1), standard error and n of one sample.
#[pyfunction]
pub fn mean_sem<'py>(x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let v = float_vec(x, "x")?;
    to_dict(x.py(), &stats::mean_sem(&v).map_err(value_error)?)
}

/// Student t-test of two samples. kind: "one_sample" (x against mu),
/// "paired" (x - y), "student" (pooled variance) or "welch".
///
/// Returns a dict: `statistic` (t), `df`, `p_value` (two-sided),
/// `estimate` (mean(x) - mu, mean(x - y) or mean(x) - mean(y)) and
/// `std_error`.
#[pyfunction]
#[pyo3(signature = (x, y = None, *, kind = "welch", mu = 0.0))]
pub fn ttest<'py>(
    x: &Bound<'py, PyAny>,
    y: Option<&Bound<'py, PyAny>>,
    kind: &str,
    mu: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let xs = float_vec(x, "x")?;
    let ys = y.map(|y| float_vec(y, "y")).transpose()?;
    let result = match (kind, ys) {
        ("one_sample", None) => stats::ttest_one_sample(&xs, mu),
        ("paired", Some(ys)) => stats::ttest_paired(&xs, &ys),
        ("student", Some(ys)) => stats::ttest_student(&xs, &ys),
        ("welch", Some(ys)) => stats::ttest_welch(&xs, &ys),
        ("one_sample", Some(_)) => {
            return Err(invalid("y", "given", "None for kind=\"one_sample\""));
        }
        ("paired" | "student" | "welch", None) => {
            return Err(invalid("y", "None", "a second sample for this kind"));
        }
        (other, _) => {
            return Err(invalid(
                "kind",
                other,
                "\"one_sample\", \"paired\", \"student\" or \"welch\"",
            ));
        }
    }
    .map_err(value_error)?;
    to_dict(x.py(), &result)
}

/// Two-sided Mann–Whitney U test of x against y (normal approximation with
/// tie and continuity corrections, as scipy's `method="asymptotic"`).
///
/// Returns a dict: `u` (pairs with x > y, ties ½), `prob_superiority`
/// (u / (n_x n_y)), `z` (positive when x tends to be larger), `p_value`.
#[pyfunction]
pub fn mann_whitney_u<'py>(
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let xs = float_vec(x, "x")?;
    let ys = float_vec(y, "y")?;
    to_dict(
        x.py(),
        &stats::mann_whitney_u(&xs, &ys).map_err(value_error)?,
    )
}

/// One-way ANOVA over two or more groups (each a 1-D sample).
///
/// Returns a dict: `f`, `df_between`, `df_within`, `p_value`,
/// `ss_between`, `ss_within`, `eta_squared`.
#[pyfunction]
#[pyo3(signature = (*groups))]
pub fn anova_one_way<'py>(
    py: Python<'py>,
    groups: Vec<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let samples = groups
        .iter()
        .map(|g| float_vec(g, "groups[i]"))
        .collect::<PyResult<Vec<_>>>()?;
    let slices: Vec<&[f64]> = samples.iter().map(Vec::as_slice).collect();
    to_dict(py, &stats::anova_one_way(&slices).map_err(value_error)?)
}

/// Pearson correlation and its two-sided t-test of rho = 0, with a Fisher-z
/// confidence interval at `level` (None below 4 pairs).
///
/// Returns a dict: `r`, `n`, `t`, `df`, `p_value`, `ci` (low, high).
#[pyfunction]
#[pyo3(signature = (x, y, *, level = 0.95))]
pub fn pearson<'py>(
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    level: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let (xs, ys) = (float_vec(x, "x")?, float_vec(y, "y")?);
    let c = stats::pearson(&xs, &ys).map_err(value_error)?;
    let out = to_dict(x.py(), &c)?;
    let ci = if c.n >= 4 {
        Some(c.confidence_interval(level).map_err(value_error)?)
    } else {
        None
    };
    out.set_item("ci", ci)?;
    Ok(out)
}

/// Ordinary least squares with classical standard errors and two-sided Wald
/// t-tests of each coefficient.
///
/// design: [n, k] design matrix (add a column of ones for an intercept, or
///     pass `intercept=True`, which puts it first); y: [n].
/// names: optional coefficient names (default x0, x1, ...; "intercept").
///
/// Returns a dict: `names`, `coefficients`, `std_errors`, `t_values`,
/// `p_values` (float64 [k]), `r_squared`, `adj_r_squared`, `n`,
/// `residual_df`, `sigma`, `rss`, `has_intercept`, `residuals` [n] and
/// `covariance` [k, k].
#[pyfunction]
#[pyo3(signature = (design, y, *, intercept = false, names = None))]
pub fn ols<'py>(
    design: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    intercept: bool,
    names: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyDict>> {
    let py = design.py();
    let x_array = float_array(design, "design", "[n, k]", 2)?;
    let x = view::<Ix2>(&x_array, "design")?;
    let y_array = float_array(y, "y", "[n]", 1)?;
    let yv = view::<Ix1>(&y_array, "y")?;
    let fit = py
        .detach(|| {
            if intercept {
                stats::ols_with_intercept(x, yv)
            } else {
                stats::ols(x, yv)
            }
        })
        .map_err(value_error)?;
    let fit = match names {
        Some(n) => {
            let refs: Vec<&str> = n.iter().map(String::as_str).collect();
            fit.with_names(&refs).map_err(value_error)?
        }
        None => fit,
    };
    let out = PyDict::new(py);
    out.set_item("names", fit.names)?;
    out.set_item("coefficients", fit.coefficients.into_pyarray(py))?;
    out.set_item("std_errors", fit.std_errors.into_pyarray(py))?;
    out.set_item("t_values", fit.t_values.into_pyarray(py))?;
    out.set_item("p_values", fit.p_values.into_pyarray(py))?;
    out.set_item("r_squared", fit.r_squared)?;
    out.set_item("adj_r_squared", fit.adj_r_squared)?;
    out.set_item("n", fit.n)?;
    out.set_item("residual_df", fit.residual_df)?;
    out.set_item("sigma", fit.sigma)?;
    out.set_item("rss", fit.rss)?;
    out.set_item("has_intercept", fit.has_intercept)?;
    out.set_item("residuals", fit.residuals.into_pyarray(py))?;
    out.set_item("covariance", fit.covariance.into_pyarray(py))?;
    Ok(out)
}
