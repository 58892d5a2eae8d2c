//! Ring measures of the oculomotor delayed response (Xie et al. 2022, after
//! Funahashi et al. 1989 and Wimmer et al. 2014): population-vector
//! decoding, preferred directions, tuning curves aligned to the preferred
//! location, signed angular deviation.

use ndarray::{Ix1, Ix2};
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use wm_analysis::ring::{
    align_tuning as align, align_tuning_to_peak, population_vector_decode_trials,
    preferred_directions as preferred, signed_deviation as deviation,
};

use crate::convert::{float_array, float_vec, index_vec, value_error, view};
use crate::sequences::to_i64;

/// Population-vector decoding of each trial: theta = atan2(sum a_k sin
/// phi_k, sum a_k cos phi_k) mod 2 pi, with phi_k the preferred direction of
/// unit k.
///
/// activity: [trial, unit] (raw values; no baseline subtracted).
/// preferred_rad: [unit], rad.
/// Returns float64 [trial] in [0, 2 pi); NaN where the resultant is zero.
#[pyfunction]
pub fn population_vector_decode<'py>(
    activity: &Bound<'py, PyAny>,
    preferred_rad: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let py = activity.py();
    let array = float_array(activity, "activity", "[trial, unit]", 2)?;
    let a = view::<Ix2>(&array, "activity")?;
    let pref = float_array(preferred_rad, "preferred_rad", "[unit]", 1)?;
    let p = view::<Ix1>(&pref, "preferred_rad")?;
    let angles = py
        .detach(|| population_vector_decode_trials(a, p))
        .map_err(value_error)?;
    Ok(angles.into_pyarray(py))
}

/// Preferred direction of every unit by the vector sum of its tuning curve.
///
/// tuning: [unit, direction] responses (may be negative, e.g. rate /
/// baseline - 1); directions_rad: [direction], rad.
/// Returns a dict of float64 [unit]: `direction_rad` in [0, 2 pi) (NaN for a
/// zero resultant), `resultant_length` and `selectivity` (resultant length
/// over the summed |response|, in [0, 1]).
#[pyfunction]
pub fn preferred_directions<'py>(
    tuning: &Bound<'py, PyAny>,
    directions_rad: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let py = tuning.py();
    let array = float_array(tuning, "tuning", "[unit, direction]", 2)?;
    let t = view::<Ix2>(&array, "tuning")?;
    let dirs = float_array(directions_rad, "directions_rad", "[direction]", 1)?;
    let d = view::<Ix1>(&dirs, "directions_rad")?;
    let units = py.detach(|| preferred(t, d)).map_err(value_error)?;
    let out = PyDict::new(py);
    let column = |f: &dyn Fn(&wm_analysis::ring::PreferredDirection) -> f64| {
        units.iter().map(f).collect::<Vec<f64>>().into_pyarray(py)
    };
    out.set_item("direction_rad", column(&|u| u.direction_rad))?;
    out.set_item("resultant_length", column(&|u| u.resultant_length))?;
    out.set_item("selectivity", column(&|u| u.selectivity))?;
    Ok(out)
}

/// Rotate each unit's values at L evenly spaced locations so that its
/// preferred location sits at relative angle 0 (Xie et al. 2022: tuning
/// curves and Fano factors centred on the best location).
///
/// values: [unit, location] (NaN allowed and carried along).
/// preferred: [unit] location indices; default: each row's argmax (then
///     values must be finite).
/// Returns a dict: `offsets_rad` (relative angle of each column, -pi..pi;
/// L + 1 columns for even L, the opposite location at both ends), `curves`
/// [unit, offset], `preferred` (int64 [unit]) and `mean` (nanmean over
/// units [offset]).
#[pyfunction]
#[pyo3(signature = (values, preferred = None))]
pub fn align_tuning<'py>(
    values: &Bound<'py, PyAny>,
    preferred: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let py = values.py();
    let array = float_array(values, "values", "[unit, location]", 2)?;
    let v = view::<Ix2>(&array, "values")?;
    let aligned = match preferred {
        Some(p) => {
            let idx = index_vec(p, "preferred")?;
            align(v, &idx)
        }
        None => align_tuning_to_peak(v),
    }
    .map_err(value_error)?;
    let out = PyDict::new(py);
    out.set_item("mean", aligned.mean_curve().into_pyarray(py))?;
    out.set_item("offsets_rad", aligned.offsets_rad.into_pyarray(py))?;
    out.set_item("curves", aligned.curves.into_pyarray(py))?;
    out.set_item("preferred", to_i64(aligned.preferred).into_pyarray(py))?;
    Ok(out)
}

/// Signed angular deviation theta - reference wrapped to (-pi, pi], element
/// by element (rad). Returns float64 of the broadcast length.
#[pyfunction]
pub fn signed_deviation<'py>(
    theta: &Bound<'py, PyAny>,
    reference: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let py = theta.py();
    let t = float_vec(theta, "theta")?;
    let r = float_vec(reference, "reference")?;
    let out: Vec<f64> = match (t.len(), r.len()) {
        (a, b) if a == b => t.iter().zip(&r).map(|(&x, &y)| deviation(x, y)).collect(),
        (_, 1) => t.iter().map(|&x| deviation(x, r[0])).collect(),
        (1, _) => r.iter().map(|&y| deviation(t[0], y)).collect(),
        (a, b) => {
            return Err(value_error(wm_analysis::AnalysisError::shape(
                "theta and reference",
                "equal lengths, or one of length 1",
                format!("{a} and {b}"),
            )));
        }
    };
    Ok(out.into_pyarray(py))
}
