//! Schur modes of a recurrent weight matrix (Orhan & Ma 2019, Supp. Fig. 12;
//! after Goldman 2009): the real Schur form, the mode-interaction matrix and
//! its significant (feed-forward) interactions.

use ndarray::Ix2;
use numpy::{Complex64, IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use wm_analysis::schur::{
    ModeOrder, RealSchur, interaction_matrix, real_schur as schur, reference_interaction_sd,
    reorder_schur, schur_modes as modes,
};

use crate::convert::{float_array, invalid, value_error, view};

fn parse_order(order: &str) -> PyResult<ModeOrder> {
    match order {
        "magnitude" => Ok(ModeOrder::Magnitude),
        "real" => Ok(ModeOrder::RealPart),
        "computed" => Ok(ModeOrder::AsComputed),
        other => Err(invalid(
            "order",
            other,
            "\"magnitude\", \"real\" or \"computed\"",
        )),
    }
}

fn ordered_schur(
    w: &Bound<'_, PyAny>,
    name: &'static str,
    order: ModeOrder,
) -> PyResult<RealSchur> {
    let array = float_array(w, name, "[N, N]", 2)?;
    let a = view::<Ix2>(&array, name)?;
    w.py()
        .detach(|| reorder_schur(&schur(a)?, order))
        .map_err(value_error)
}

fn eigenvalues<'py>(py: Python<'py>, s: &RealSchur) -> Bound<'py, PyArray1<Complex64>> {
    s.eigenvalues
        .iter()
        .map(|&(re, im)| Complex64::new(re, im))
        .collect::<Vec<_>>()
        .into_pyarray(py)
}

/// Real Schur decomposition W = Q T Q^T.
///
/// w: [N, N] finite matrix. order: mode order along the diagonal,
/// "magnitude" (decreasing |lambda|, the default), "real" (decreasing real
/// part) or "computed".
///
/// Returns a dict: `q` (orthogonal [N, N], column i the direction of mode
/// i), `t` (quasi-upper-triangular [N, N]; a 2x2 block holds a complex
/// pair), `eigenvalues` (complex128 [N], in diagonal order) and
/// `interaction` ([N, N]: T above the block diagonal, the feed-forward
/// interaction from mode i to mode j > i; zero elsewhere).
#[pyfunction]
#[pyo3(signature = (w, order = "magnitude"))]
pub fn real_schur<'py>(w: &Bound<'py, PyAny>, order: &str) -> PyResult<Bound<'py, PyDict>> {
    let py = w.py();
    let s = ordered_schur(w, "w", parse_order(order)?)?;
    let out = PyDict::new(py);
    out.set_item("eigenvalues", eigenvalues(py, &s))?;
    out.set_item("interaction", interaction_matrix(&s).into_pyarray(py))?;
    out.set_item("q", s.q.into_pyarray(py))?;
    out.set_item("t", s.t.into_pyarray(py))?;
    Ok(out)
}

/// Schur-mode analysis (Orhan & Ma 2019, Supp. Fig. 12): an interaction
/// T[i, j] between modes is significant when |T[i, j]| > c * reference_sd,
/// where reference_sd is the s.d. of the interaction entries of a reference
/// matrix (typically the untrained network), given directly or computed
/// from `reference`.
///
/// Returns a dict: `eigenvalues` (complex128 [N]), `frequency` (rad per
/// step, |arg lambda|), `magnitude`, `interaction` [N, N], `threshold`,
/// `significant` (bool [N]: the mode takes part in a significant
/// interaction), `n_significant_modes`, `feedforward_fraction`
/// (||interaction||_F / ||W||_F), `nonnormal_fraction` (Henrici's departure
/// from normality / ||W||_F: 0 for a normal matrix) and `interaction_sd`.
#[pyfunction]
#[pyo3(signature = (w, *, c, reference = None, reference_sd = None, order = "magnitude"))]
pub fn schur_modes<'py>(
    w: &Bound<'py, PyAny>,
    c: f64,
    reference: Option<&Bound<'py, PyAny>>,
    reference_sd: Option<f64>,
    order: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let py = w.py();
    let order = parse_order(order)?;
    let reference_sd = match (reference, reference_sd) {
        (Some(r), None) => {
            let array = float_array(r, "reference", "[N, N]", 2)?;
            let a = view::<Ix2>(&array, "reference")?;
            py.detach(|| reference_interaction_sd(a, order))
                .map_err(value_error)?
        }
        (None, Some(sd)) => sd,
        _ => {
            return Err(invalid(
                "reference",
                "both or neither of reference and reference_sd",
                "exactly one of them",
            ));
        }
    };
    let s = ordered_schur(w, "w", order)?;
    let m = modes(&s, c, reference_sd).map_err(value_error)?;
    let out = PyDict::new(py);
    out.set_item("eigenvalues", eigenvalues(py, &s))?;
    let column = |f: &dyn Fn(&wm_analysis::schur::ModeInfo) -> f64| {
        m.modes.iter().map(f).collect::<Vec<f64>>().into_pyarray(py)
    };
    out.set_item("frequency", column(&|x| x.frequency))?;
    out.set_item("magnitude", column(&|x| x.magnitude))?;
    out.set_item("significant", m.significant.clone().into_pyarray(py))?;
    out.set_item("n_significant_modes", m.n_significant_modes)?;
    out.set_item("threshold", m.threshold)?;
    out.set_item("reference_sd", m.reference_sd)?;
    out.set_item("interaction_sd", m.interaction_sd)?;
    out.set_item("feedforward_fraction", m.feedforward_fraction)?;
    out.set_item("nonnormal_fraction", m.nonnormal_fraction)?;
    out.set_item("interaction", m.interaction.into_pyarray(py))?;
    Ok(out)
}
