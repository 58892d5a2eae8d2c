//! Sequences or persistence (Orhan & Ma 2019): the sequentiality index, the
//! peak-time order of units and the recurrent-weight profile along it.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use wm_analysis::sequentiality::{
    SiParams, peak_time_order as peak_order, sequentiality_index as si,
};
use wm_analysis::weight_profile::{
    trial_averaged_peak_order as averaged_order, weight_profile as profile,
};

use crate::convert::{float_array, index_vec, value_error, view};

/// Sequentiality index (SI) of every trial (Orhan & Ma 2019, after Harvey
/// et al. 2012): the entropy of the active units' peak-time histogram plus
/// the mean log ridge-to-background ratio, in nats.
///
/// activity: [trial, time, unit] single-trial responses (any numeric dtype),
///     at least 2 time steps and 1 unit, finite.
/// bins: peak-time histogram bins (entropy at most ln(bins)).
/// window: ridge window in steps (half-width window // 2).
/// activity_threshold: a unit is active in a trial if its mean activity
///     exceeds this (activity units).
/// pseudo_count: count added to every histogram bin.
///
/// Returns a float64 array [trial]: NaN for a trial without an active unit,
/// +inf where an active unit has zero background. The network SI of the
/// paper is `numpy.nanmean` of it.
#[pyfunction]
#[pyo3(signature = (activity, *, bins = 20, window = 5, activity_threshold = 0.1, pseudo_count = 0.1))]
pub fn sequentiality_index<'py>(
    activity: &Bound<'py, PyAny>,
    bins: usize,
    window: usize,
    activity_threshold: f64,
    pseudo_count: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let py = activity.py();
    let array = float_array(activity, "activity", "[trial, time, unit]", 3)?;
    let a = view::<ndarray::Ix3>(&array, "activity")?;
    let params = SiParams {
        bins,
        window,
        activity_threshold,
        pseudo_count,
    };
    let summary = py.detach(|| si(a, &params)).map_err(value_error)?;
    Ok(summary.per_trial.into_pyarray(py))
}

/// Units of one trial's [time, unit] activity sorted by peak time (first
/// argmax), earliest first; ties keep unit order. For heat maps.
///
/// Returns an int64 array [unit].
#[pyfunction]
pub fn peak_time_order<'py>(activity: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let py = activity.py();
    let array = float_array(activity, "activity", "[time, unit]", 2)?;
    let a = view::<ndarray::Ix2>(&array, "activity")?;
    let order = peak_order(a);
    Ok(to_i64(order).into_pyarray(py))
}

/// Active units sorted by the peak time of their trial-averaged response
/// (Orhan & Ma 2019, the order of the weight profile of their Fig. 6).
///
/// activity: [trial, time, unit]; threshold: a unit is active if the time
/// mean of its trial-averaged response exceeds this (activity units; 0.1 in
/// the paper).
/// Returns an int64 array of the active units, earliest peak first.
#[pyfunction]
#[pyo3(signature = (activity, threshold = 0.1))]
pub fn trial_averaged_peak_order<'py>(
    activity: &Bound<'py, PyAny>,
    threshold: f64,
) -> PyResult<Bound<'py, PyArray1<i64>>> {
    let py = activity.py();
    let array = float_array(activity, "activity", "[trial, time, unit]", 3)?;
    let a = view::<ndarray::Ix3>(&array, "activity")?;
    let order = py
        .detach(|| averaged_order(a, threshold))
        .map_err(value_error)?;
    Ok(to_i64(order).into_pyarray(py))
}

/// Recurrent-weight profile along a peak-time order (Orhan & Ma 2019,
/// Fig. 6): P(k) = mean over a of W[o_a, o_(a+k)] for offsets k = -K..K.
///
/// w: [pre, post] square weight matrix, W[i, j] the weight from unit i to
///     unit j (the row-vector convention h_t = relu(h_(t-1) W + ...); pass
///     W.T for a [post, pre] matrix).
/// order: distinct unit indices sorted by peak time, earliest first.
/// max_offset: K.
///
/// Returns a dict of arrays of length 2K + 1: `offsets` (int64), `mean` and
/// `sd` (population s.d., weight units; NaN where no pair is |k| apart) and
/// `count` (pairs averaged, int64). k > 0 are the forward connections.
#[pyfunction]
pub fn weight_profile<'py>(
    w: &Bound<'py, PyAny>,
    order: &Bound<'py, PyAny>,
    max_offset: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let py = w.py();
    let array = float_array(w, "w", "[pre, post]", 2)?;
    let wv = view::<ndarray::Ix2>(&array, "w")?;
    let order = index_vec(order, "order")?;
    let p = py
        .detach(|| profile(wv, &order, max_offset))
        .map_err(value_error)?;
    let out = PyDict::new(py);
    out.set_item("offsets", p.offsets.into_pyarray(py))?;
    out.set_item("mean", p.mean.into_pyarray(py))?;
    out.set_item("sd", p.sd.into_pyarray(py))?;
    out.set_item("count", to_i64(p.count).into_pyarray(py))?;
    Ok(out)
}

/// Indices as int64 for numpy (every index here is below 2⁶³).
pub fn to_i64(v: Vec<usize>) -> Vec<i64> {
    v.into_iter()
        .map(|i| i64::try_from(i).unwrap_or(i64::MAX))
        .collect()
}
