//! # wm-python: `import wm`
//!
//! Python bindings of [`wm_analysis`], the measures and statistics of wm, on
//! numpy arrays. The extension module is `wm._wm`; the Python package `wm`
//! (in `python/wm`) re-exports its functions and adds `wm.load`, which reads
//! wm's results and network folders.
//!
//! Design: the bindings wrap `wm-analysis` only (no candle, no training
//! code), so the wheel is small and builds in a minute. Every function takes
//! any numeric numpy array (integer spike counts, `float32` rates, any
//! strides), converts the dtype only where needed, releases the GIL while
//! it computes, and raises `ValueError` with `wm-analysis`'s own message on
//! bad input. Arrays of activity are `[trial, time, unit]`, as in every file
//! wm writes.
#![deny(missing_docs)]
// PyO3's macros expand to unsafe FFI glue; this crate writes none by hand.
#![allow(unsafe_code)]

use pyo3::prelude::*;

mod convert;
mod discrimination;
mod ring;
mod schur;
mod sequences;
mod stats;
mod timescales;

/// The native module `wm._wm`.
#[pymodule]
fn _wm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(sequences::sequentiality_index, m)?)?;
    m.add_function(wrap_pyfunction!(sequences::peak_time_order, m)?)?;
    m.add_function(wrap_pyfunction!(sequences::trial_averaged_peak_order, m)?)?;
    m.add_function(wrap_pyfunction!(sequences::weight_profile, m)?)?;
    m.add_function(wrap_pyfunction!(timescales::bin_spikes, m)?)?;
    m.add_function(wrap_pyfunction!(timescales::autocorrelation_timescales, m)?)?;
    m.add_function(wrap_pyfunction!(
        timescales::timescales_with_uncertainty,
        m
    )?)?;
    m.add_function(wrap_pyfunction!(
        timescales::spike_count_autocorrelation,
        m
    )?)?;
    m.add_function(wrap_pyfunction!(timescales::fano_factors, m)?)?;
    m.add_function(wrap_pyfunction!(
        discrimination::cross_temporal_discriminability,
        m
    )?)?;
    m.add_function(wrap_pyfunction!(discrimination::find_clusters, m)?)?;
    m.add_function(wrap_pyfunction!(
        discrimination::discriminability_group_test,
        m
    )?)?;
    m.add_function(wrap_pyfunction!(schur::real_schur, m)?)?;
    m.add_function(wrap_pyfunction!(schur::schur_modes, m)?)?;
    m.add_function(wrap_pyfunction!(ring::population_vector_decode, m)?)?;
    m.add_function(wrap_pyfunction!(ring::preferred_directions, m)?)?;
    m.add_function(wrap_pyfunction!(ring::align_tuning, m)?)?;
    m.add_function(wrap_pyfunction!(ring::signed_deviation, m)?)?;
    m.add_function(wrap_pyfunction!(stats::mean_sem, m)?)?;
    m.add_function(wrap_pyfunction!(stats::ttest, m)?)?;
    m.add_function(wrap_pyfunction!(stats::mann_whitney_u, m)?)?;
    m.add_function(wrap_pyfunction!(stats::anova_one_way, m)?)?;
    m.add_function(wrap_pyfunction!(stats::pearson, m)?)?;
    m.add_function(wrap_pyfunction!(stats::ols, m)?)?;
    Ok(())
}
