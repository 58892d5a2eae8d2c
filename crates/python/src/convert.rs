//! Crossing the boundary: numpy inputs of any numeric dtype and layout in,
//! `wm-analysis` errors out as `ValueError`.
//!
//! Inputs go through `numpy.asarray(x, dtype=float64)`, which returns the
//! array itself when it already is `float64` (any strides: ndarray views
//! read them in place) and copies only to convert another dtype (integer
//! spike counts, `float32` rates, booleans, nested lists).

use ndarray::{ArrayViewD, Dimension};
use numpy::{PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use wm_analysis::AnalysisError;

/// A `wm-analysis` error as a Python `ValueError` with the same message.
pub fn value_error(e: AnalysisError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// `ValueError` naming the argument, its value and the allowed range, in the
/// words of [`AnalysisError::InvalidParameter`].
pub fn invalid(name: &'static str, value: impl std::fmt::Display, allowed: &str) -> PyErr {
    value_error(AnalysisError::invalid(name, value, allowed))
}

/// `obj` as a read-only `float64` numpy array of exactly `ndim` axes.
pub fn float_array<'py>(
    obj: &Bound<'py, PyAny>,
    name: &'static str,
    axes: &str,
    ndim: usize,
) -> PyResult<PyReadonlyArrayDyn<'py, f64>> {
    let py = obj.py();
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", "float64")?;
    let converted = py
        .import("numpy")?
        .call_method("asarray", (obj,), Some(&kwargs))
        .map_err(|e| {
            PyValueError::new_err(format!(
                "{name}: cannot be read as a float64 array {axes}: {e}"
            ))
        })?;
    let array: PyReadonlyArrayDyn<'py, f64> = converted.extract()?;
    let got = array.ndim();
    if got != ndim {
        return Err(value_error(AnalysisError::shape(
            name,
            format!("{ndim}-D array {axes}"),
            format!("{got}-D array of shape {:?}", array.shape()),
        )));
    }
    Ok(array)
}

/// A fixed-dimension view of an array returned by [`float_array`].
pub fn view<'a, D: Dimension>(
    array: &'a PyReadonlyArrayDyn<'_, f64>,
    name: &'static str,
) -> PyResult<ndarray::ArrayView<'a, f64, D>> {
    let dynamic: ArrayViewD<'a, f64> = array.as_array();
    let got = format!("{:?}", dynamic.shape());
    dynamic.into_dimensionality::<D>().map_err(|_| {
        value_error(AnalysisError::shape(
            name,
            format!("{} axes", D::NDIM.unwrap_or(0)),
            got,
        ))
    })
}

/// `obj` as a vector of `f64` (any 1-D array-like).
pub fn float_vec(obj: &Bound<'_, PyAny>, name: &'static str) -> PyResult<Vec<f64>> {
    let array = float_array(obj, name, "[n]", 1)?;
    Ok(array.as_array().iter().copied().collect())
}

/// `obj` as 0-based indices: every entry a whole number in `0..2⁵³`.
pub fn index_vec(obj: &Bound<'_, PyAny>, name: &'static str) -> PyResult<Vec<usize>> {
    let values = float_vec(obj, name)?;
    values
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            if v.fract() == 0.0 && (0.0..9.007_199_254_740_992e15).contains(&v) {
                Ok(v as usize)
            } else {
                Err(invalid(
                    name,
                    format!("{v} (entry {k})"),
                    "whole numbers >= 0 (0-based indices)",
                ))
            }
        })
        .collect()
}
