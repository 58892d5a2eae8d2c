//! Spike counts and intrinsic timescales (Kim & Sejnowski 2021, after Murray
//! et al. 2014): binning a spike table, the across-trial spike-count
//! autocorrelation and its exponential-decay timescale, Fano factors.

use ndarray::{Array1, Array2, Ix2, Ix3};
use numpy::{IntoPyArray, PyArray1, PyArray3};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use wm_analysis::spikes::{bin_spike_table, fano_factors_binned as fano_binned};
use wm_analysis::timescale::{
    TimescaleParams, UnitTimescale, autocorrelation_timescales as timescales,
    spike_count_autocorrelation as autocorrelation,
};

use crate::convert::{float_array, float_vec, index_vec, invalid, value_error, view};

/// Spike counts [unit, trial, bin] from a spike table, one entry per spike.
///
/// unit, trial: 0-based indices (any integer or whole-float array); pass
///     `trial=None` for one trial, e.g. a Brian2 SpikeMonitor's `i` with
///     `time_ms = numpy.asarray(monitor.t / ms)`.
/// time_ms: spike times, ms.
/// bin_ms: bin width, ms. Bins are half-open, [start + i*bin, start +
///     (i+1)*bin); a trailing partial bin is dropped.
/// start_ms, stop_ms: the window, ms (stop default: the last spike, rounded
///     up to a whole bin).
/// n_units, n_trials: table size (default: largest index + 1); silent units
///     and trials are rows of zeros.
///
/// Returns float64 counts [unit, trial, bin]. A table of more than 2**28
/// counts (a stray huge index, say) raises ValueError before allocating.
#[pyfunction]
#[pyo3(signature = (unit, trial, time_ms, bin_ms = 50.0, start_ms = 0.0, stop_ms = None, *, n_units = None, n_trials = None))]
#[allow(clippy::too_many_arguments)]
pub fn bin_spikes<'py>(
    unit: &Bound<'py, PyAny>,
    trial: Option<&Bound<'py, PyAny>>,
    time_ms: &Bound<'py, PyAny>,
    bin_ms: f64,
    start_ms: f64,
    stop_ms: Option<f64>,
    n_units: Option<usize>,
    n_trials: Option<usize>,
) -> PyResult<Bound<'py, PyArray3<f64>>> {
    let py = unit.py();
    let unit = index_vec(unit, "unit")?;
    let time = float_vec(time_ms, "time_ms")?;
    let trial = match trial {
        Some(t) => index_vec(t, "trial")?,
        None => vec![0; time.len()],
    };
    if !(bin_ms.is_finite() && bin_ms > 0.0) {
        return Err(invalid("bin_ms", bin_ms, "finite and > 0"));
    }
    let stop = match stop_ms {
        Some(s) => s,
        None => {
            let last = time.iter().copied().fold(start_ms, f64::max);
            start_ms + ((last - start_ms) / bin_ms).floor() * bin_ms + bin_ms
        }
    };
    let counts = py
        .detach(|| {
            bin_spike_table(
                &unit, &trial, &time, start_ms, stop, bin_ms, n_units, n_trials,
            )
        })
        .map_err(value_error)?;
    Ok(counts.into_pyarray(py))
}

/// The fitting parameters both timescale functions take as keywords.
fn fit_params(
    bin_ms: f64,
    max_lag_ms: f64,
    min_rate_hz: Option<f64>,
    max_start_lag_ms: f64,
    max_tau_ms: f64,
) -> TimescaleParams {
    TimescaleParams {
        bin_ms,
        max_lag_ms,
        max_start_lag_ms,
        max_tau_ms,
        min_rate_hz,
        ..TimescaleParams::default()
    }
}

/// Spike-count autocorrelation timescale of every unit (Murray et al. 2014,
/// as Kim & Sejnowski 2021 use it): the across-trial Pearson correlation of
/// counts at every pair of bins, averaged per lag; from the first decrease
/// on, a fit of A (exp(-lag / tau) + B) by Levenberg-Marquardt; units kept
/// when the peak comes by `max_start_lag_ms`, 0 < tau <= `max_tau_ms`, A > 0
/// (and the rate is at least `min_rate_hz`, if given).
///
/// counts: [unit, trial, bin] spike counts in bins of `bin_ms` (any numeric
///     dtype; at least 2 trials and max_lag_ms / bin_ms + 1 bins).
///
/// Returns a dict: `tau_ms`, `a`, `b`, `rate_hz`, `start_lag_ms` (float64
/// [unit], NaN where undefined or excluded), `exclusion` (str [unit]: the
/// reason a unit has no timescale, "" if it has one: NonFiniteCounts,
/// LowRate, NanAutocorrelation, LatePeak, FitFailed, TauOutOfRange,
/// NegativeAmplitude), `autocorrelation` [unit, lag] and `lags_ms` [lag].
#[pyfunction]
#[pyo3(signature = (counts, bin_ms = 50.0, max_lag_ms = 650.0, min_rate_hz = None, *, max_start_lag_ms = 150.0, max_tau_ms = 500.0))]
pub fn autocorrelation_timescales<'py>(
    counts: &Bound<'py, PyAny>,
    bin_ms: f64,
    max_lag_ms: f64,
    min_rate_hz: Option<f64>,
    max_start_lag_ms: f64,
    max_tau_ms: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let py = counts.py();
    let array = float_array(counts, "counts", "[unit, trial, bin]", 3)?;
    let c = view::<Ix3>(&array, "counts")?;
    let params = fit_params(
        bin_ms,
        max_lag_ms,
        min_rate_hz,
        max_start_lag_ms,
        max_tau_ms,
    );
    let units = py.detach(|| timescales(c, &params)).map_err(value_error)?;
    timescale_dict(py, &units.iter().collect::<Vec<_>>(), &params)
}

/// The dict of `autocorrelation_timescales` for the fits `units`: their
/// per-unit columns, the autocorrelations and the lags.
fn timescale_dict<'py>(
    py: Python<'py>,
    units: &[&UnitTimescale],
    params: &TimescaleParams,
) -> PyResult<Bound<'py, PyDict>> {
    let k = params.max_lag_bins();
    let column = |f: &dyn Fn(&UnitTimescale) -> f64| {
        units
            .iter()
            .map(|u| f(u))
            .collect::<Vec<f64>>()
            .into_pyarray(py)
    };
    let nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
    let out = PyDict::new(py);
    out.set_item("tau_ms", column(&|u| nan(u.tau_ms)))?;
    out.set_item("a", column(&|u| u.a))?;
    out.set_item("b", column(&|u| u.b))?;
    out.set_item("rate_hz", column(&|u| u.rate_hz))?;
    out.set_item("start_lag_ms", column(&|u| nan(u.start_lag_ms)))?;
    let reasons: Vec<String> = units
        .iter()
        .map(|u| u.exclusion.map_or(String::new(), |e| format!("{e:?}")))
        .collect();
    out.set_item("exclusion", numpy_array(py, reasons)?)?;
    let ac = Array2::from_shape_fn((units.len(), k), |(u, j)| units[u].autocorrelation[j]);
    out.set_item("autocorrelation", ac.into_pyarray(py))?;
    let lags: Array1<f64> = (1..=k).map(|j| j as f64 * params.bin_ms).collect();
    out.set_item("lags_ms", lags.into_pyarray(py))?;
    Ok(out)
}

/// `numpy.asarray(values)`, for the string and bool columns.
fn numpy_array<'py, T: IntoPyObject<'py>>(
    py: Python<'py>,
    values: T,
) -> PyResult<Bound<'py, PyAny>> {
    py.import("numpy")?.call_method1("asarray", (values,))
}

/// Across-trial spike-count autocorrelation of one unit (Murray et al.
/// 2014): for each lag k = 1..max_lag_bins, the mean over bin pairs (i, i+k)
/// of the Pearson correlation across trials of the counts in the two bins.
///
/// counts: [trial, bin]. Returns float64 [lag] (NaN where a bin pair has no
/// variance).
#[pyfunction]
pub fn spike_count_autocorrelation<'py>(
    counts: &Bound<'py, PyAny>,
    max_lag_bins: usize,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let py = counts.py();
    let array = float_array(counts, "counts", "[trial, bin]", 2)?;
    let c = view::<Ix2>(&array, "counts")?;
    let bins = c.ncols();
    if max_lag_bins == 0 || max_lag_bins >= bins {
        return Err(invalid(
            "max_lag_bins",
            max_lag_bins,
            &format!("1 ..= bins - 1 = {}", bins.saturating_sub(1)),
        ));
    }
    let ac = py.detach(|| autocorrelation(c, max_lag_bins));
    Ok(ac.into_pyarray(py))
}

/// Fano factor of every unit: the across-trial variance (ddof 1) over the
/// mean of each trial's total count (Kim & Sejnowski 2021). counts: [unit,
/// trial, bin]. Returns float64 [unit], NaN for fewer than 2 trials or no
/// spikes.
#[pyfunction]
pub fn fano_factors<'py>(counts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let py = counts.py();
    let array = float_array(counts, "counts", "[unit, trial, bin]", 3)?;
    let c = view::<Ix3>(&array, "counts")?;
    Ok(py.detach(|| fano_binned(c)).into_pyarray(py))
}

/// The timescale of every unit as `autocorrelation_timescales`, plus, on
/// request, a bias-corrected tau, bootstrap confidence intervals and a
/// two-timescale fit (see wm-analysis `timescale::corrected` for the
/// methods and their assumptions).
///
/// counts: [unit, trial, bin] spike counts in bins of `bin_ms`.
/// ci: confidence level in (0, 1) of bootstrap intervals over trials
///     (`resamples` resamples); of the corrected tau with `bias_correct`,
///     else of the default tau. None: no intervals.
/// bias_correct: correct tau by simulation from a fitted Ornstein-Uhlenbeck
///     rate Poisson model (indirect inference after Zeraati et al. 2022):
///     median-unbiased when the model holds.
/// two_timescales: fit a1 exp(-lag/tau1) + a2 exp(-lag/tau2) + c beside one
///     exponential and choose by BIC.
/// seed: seed of the resampling and the surrogates (same seed, same result).
///
/// Returns the dict of `autocorrelation_timescales` with, per unit (float64
/// [unit], NaN where not computed): `tau_corrected_ms`, `tau_raw_ms` (the
/// weighted least-squares tau the correction starts from),
/// `corrected_at_bound` (bool: the corrected tau is the end of the range
/// over which tau is identifiable, a bound), `tau_ci_low_ms`,
/// `tau_ci_high_ms`, `tau1_ms`, `tau2_ms`, `model` (str: "one", "two" or
/// ""), `population`: a dict of `n_units`, `mean_tau_ms`, `ci_low_ms`,
/// `ci_high_ms` (NaN without an interval), and `pooled`: the tau fitted to
/// the units' mean autocorrelation, a dict of `n_units`, `tau_ms`,
/// `ci_low_ms`, `ci_high_ms`, and with `two_timescales` the fit of two to
/// that mean: `model`, `tau1_ms`, `tau2_ms`. A corrected unit's interval end at the end of
/// the identifiable range is widened to the searched range (10 or 2000 ms):
/// "at most" or "at least".
#[pyfunction]
#[pyo3(signature = (counts, bin_ms = 50.0, max_lag_ms = 650.0, min_rate_hz = None, *, ci = None, resamples = 200, bias_correct = false, two_timescales = false, seed = 0, max_start_lag_ms = 150.0, max_tau_ms = 500.0))]
#[allow(clippy::too_many_arguments)]
pub fn timescales_with_uncertainty<'py>(
    counts: &Bound<'py, PyAny>,
    bin_ms: f64,
    max_lag_ms: f64,
    min_rate_hz: Option<f64>,
    ci: Option<f64>,
    resamples: usize,
    bias_correct: bool,
    two_timescales: bool,
    seed: u64,
    max_start_lag_ms: f64,
    max_tau_ms: f64,
) -> PyResult<Bound<'py, PyDict>> {
    use wm_analysis::timescale::{
        UncertaintyOptions, seeded_rng, timescales_with_uncertainty as run,
    };
    let py = counts.py();
    if let Some(level) = ci
        && !(level > 0.0 && level < 1.0)
    {
        return Err(invalid("ci", level, "0 < ci < 1"));
    }
    let array = float_array(counts, "counts", "[unit, trial, bin]", 3)?;
    let c = view::<Ix3>(&array, "counts")?;
    let params = fit_params(
        bin_ms,
        max_lag_ms,
        min_rate_hz,
        max_start_lag_ms,
        max_tau_ms,
    );
    let opts = UncertaintyOptions {
        ci_level: ci,
        resamples,
        bias_correct,
        two_timescales,
        ..UncertaintyOptions::default()
    };
    let r = py
        .detach(|| run(c, &params, &opts, &mut seeded_rng(seed)))
        .map_err(value_error)?;
    let out = timescale_dict(
        py,
        &r.units.iter().map(|u| &u.base).collect::<Vec<_>>(),
        &params,
    )?;
    let column = |f: &dyn Fn(&wm_analysis::timescale::UnitUncertainty) -> f64| {
        r.units.iter().map(f).collect::<Vec<f64>>().into_pyarray(py)
    };
    let nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
    out.set_item("tau_raw_ms", column(&|u| u.tau_raw_ms))?;
    out.set_item("tau_corrected_ms", column(&|u| nan(u.tau_corrected_ms)))?;
    let bound: Vec<bool> = r.units.iter().map(|u| u.corrected_at_bound).collect();
    out.set_item("corrected_at_bound", numpy_array(py, bound)?)?;
    out.set_item("tau_ci_low_ms", column(&|u| nan(u.tau_ci_low_ms)))?;
    out.set_item("tau_ci_high_ms", column(&|u| nan(u.tau_ci_high_ms)))?;
    let fit2 = |u: &wm_analysis::timescale::UnitUncertainty| u.two.as_ref().and_then(|t| t.fit);
    out.set_item("tau1_ms", column(&|u| nan(fit2(u).map(|f| f.tau1_ms))))?;
    out.set_item("tau2_ms", column(&|u| nan(fit2(u).map(|f| f.tau2_ms))))?;
    out.set_item(
        "model",
        numpy_array(
            py,
            r.units
                .iter()
                .map(|u| u.model_name().to_string())
                .collect::<Vec<_>>(),
        )?,
    )?;
    let pop = PyDict::new(py);
    let p = &r.population;
    pop.set_item("n_units", p.n_units)?;
    pop.set_item("mean_tau_ms", p.mean_tau_ms)?;
    pop.set_item("ci_low_ms", nan(p.ci_low_ms))?;
    pop.set_item("ci_high_ms", nan(p.ci_high_ms))?;
    out.set_item("population", pop)?;
    let pooled = PyDict::new(py);
    pooled.set_item("n_units", p.pooled.n_units)?;
    pooled.set_item("tau_ms", nan(p.pooled.tau_ms))?;
    pooled.set_item("ci_low_ms", nan(p.pooled.ci_low_ms))?;
    pooled.set_item("ci_high_ms", nan(p.pooled.ci_high_ms))?;
    let two = p.pooled.two.as_ref();
    let fit = two.and_then(|t| t.fit);
    pooled.set_item("model", two.map_or("", |t| t.model.name()))?;
    pooled.set_item("tau1_ms", nan(fit.map(|f| f.tau1_ms)))?;
    pooled.set_item("tau2_ms", nan(fit.map(|f| f.tau2_ms)))?;
    out.set_item("pooled", pooled)?;
    Ok(out)
}
