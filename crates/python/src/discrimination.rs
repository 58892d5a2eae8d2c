//! Cross-temporal discriminability (Kim & Sejnowski 2021, after Murray et
//! al. 2017) and the cluster-based permutation test over its maps (Maris &
//! Oostenveld 2007).

use ndarray::{Array2, Ix2, Ix3};
use numpy::{IntoPyArray, PyReadonlyArrayDyn};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wm_analysis::AnalysisError;
use wm_analysis::discriminability::{SplitHalves, split_half_means};
use wm_analysis::permutation::{
    Cluster, ClusterParams, Connectivity, Tail, cluster_permutation_test, find_clusters as clusters,
};

use crate::convert::{float_array, float_vec, invalid, value_error, view};

/// Most permutations one test draws (each keeps one float of its null).
const MAX_PERMUTATIONS: usize = 10_000_000;

/// Each condition's `[trial, time, unit]` rates, kept alive for their views.
fn condition_arrays<'py>(
    conditions: &Bound<'py, PyAny>,
) -> PyResult<Vec<PyReadonlyArrayDyn<'py, f64>>> {
    conditions
        .try_iter()?
        .map(|c| float_array(&c?, "conditions[i]", "[trial, time, unit]", 3))
        .collect()
}

fn halves(arrays: &[PyReadonlyArrayDyn<'_, f64>], py: Python<'_>) -> PyResult<SplitHalves> {
    let views = arrays
        .iter()
        .map(|a| view::<Ix3>(a, "conditions[i]"))
        .collect::<PyResult<Vec<_>>>()?;
    py.detach(|| split_half_means(&views)).map_err(value_error)
}

/// Cross-temporal discriminability map (Kim & Sejnowski 2021, Fig. 6; after
/// Murray et al. 2017): each condition's trials are split into interleaved
/// halves (A: trials 0, 2, 4...; B: 1, 3, 5...); for every pair of
/// conditions the across-unit difference of the half means, centred across
/// units, is correlated between half A at t1 and half B at t2.
///
/// conditions: a sequence of >= 2 arrays [trial, time, unit] (same time and
///     unit axes, >= 2 trials each, >= 3 units), finite rates.
///
/// Returns a dict: `r` and `z` = atanh(r) as float64 [t1, t2] (NaN where a
/// difference is constant across units, +-inf where |r| = 1), `n_units`,
/// `n_pairs`.
#[pyfunction]
pub fn cross_temporal_discriminability<'py>(
    conditions: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let py = conditions.py();
    let arrays = condition_arrays(conditions)?;
    let h = halves(&arrays, py)?;
    let d = py.detach(|| h.discriminability()).map_err(value_error)?;
    let out = PyDict::new(py);
    out.set_item("r", d.r.into_pyarray(py))?;
    out.set_item("z", d.z.into_pyarray(py))?;
    out.set_item("n_units", d.n_units)?;
    out.set_item("n_pairs", d.n_pairs)?;
    Ok(out)
}

fn parse_tail(tail: &str) -> PyResult<Tail> {
    match tail {
        "both" => Ok(Tail::Both),
        "upper" => Ok(Tail::Upper),
        "lower" => Ok(Tail::Lower),
        other => Err(invalid("tail", other, "\"both\", \"upper\" or \"lower\"")),
    }
}

fn parse_connectivity(connectivity: u8) -> PyResult<Connectivity> {
    match connectivity {
        4 => Ok(Connectivity::Four),
        8 => Ok(Connectivity::Eight),
        other => Err(invalid("connectivity", other, "4 or 8")),
    }
}

fn cluster_list<'py>(py: Python<'py>, found: &[Cluster]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for c in found {
        let d = PyDict::new(py);
        d.set_item("sign", c.sign)?;
        let cells = Array2::from_shape_fn((c.cells.len(), 2), |(k, a)| {
            let (i, j) = c.cells[k];
            if a == 0 { i as i64 } else { j as i64 }
        });
        d.set_item("cells", cells.into_pyarray(py))?;
        d.set_item("mass", c.mass)?;
        d.set_item("p_value", c.p_value)?;
        d.set_item("size", c.size())?;
        list.append(d)?;
    }
    Ok(list)
}

/// Clusters of a 2-D map (Maris & Oostenveld 2007): connected cells above
/// `threshold` (tail "upper"), below -threshold ("lower"), or either, in
/// separate clusters of each sign ("both"); 4- or 8-neighbour adjacency.
///
/// Returns a list of dicts, largest |mass| first: `sign` (+1/-1), `cells`
/// (int64 [n, 2] of (row, col)), `mass` (sum of the map over the cells),
/// `p_value` (NaN: no permutations here), `size`.
#[pyfunction]
#[pyo3(signature = (map, threshold, *, tail = "both", connectivity = 4))]
pub fn find_clusters<'py>(
    map: &Bound<'py, PyAny>,
    threshold: f64,
    tail: &str,
    connectivity: u8,
) -> PyResult<Bound<'py, PyList>> {
    let py = map.py();
    let array = float_array(map, "map", "[rows, cols]", 2)?;
    let m = view::<Ix2>(&array, "map")?;
    let (tail, conn) = (parse_tail(tail)?, parse_connectivity(connectivity)?);
    let found = clusters(m, threshold, tail, conn).map_err(value_error)?;
    cluster_list(py, &found)
}

/// Do two groups of units hold the stimulus differently across time? The
/// cluster-based permutation test of Kim & Sejnowski 2021 (Fig. 6c): the
/// statistic is the Fisher-z discriminability map of the units in the group
/// minus that of the others (r clipped to +-0.999 before atanh so that
/// cluster masses stay finite); the null permutes the group labels over
/// units (group sizes kept) with a seeded ChaCha8 generator.
///
/// conditions: as in `cross_temporal_discriminability`.
/// in_group: bool (or 0/1) [unit]; each group needs >= 3 units.
/// threshold: cluster-forming threshold on the z difference (>= 0).
///
/// Returns a dict: `observed` [t1, t2] (z_group - z_rest), `z_group`,
/// `z_rest`, `clusters` (as `find_clusters`, each with its permutation
/// p-value (1 + #null >= |mass|) / (1 + n_permutations)) and
/// `null_max_mass` [n_permutations].
#[pyfunction]
#[pyo3(signature = (conditions, in_group, threshold, *, n_permutations = 1000, seed = 0, tail = "both", connectivity = 4))]
#[allow(clippy::too_many_arguments)]
pub fn discriminability_group_test<'py>(
    conditions: &Bound<'py, PyAny>,
    in_group: &Bound<'py, PyAny>,
    threshold: f64,
    n_permutations: usize,
    seed: u64,
    tail: &str,
    connectivity: u8,
) -> PyResult<Bound<'py, PyDict>> {
    let py = conditions.py();
    let arrays = condition_arrays(conditions)?;
    let h = halves(&arrays, py)?;
    let labels: Vec<bool> = float_vec(in_group, "in_group")?
        .iter()
        .map(|&v| v != 0.0)
        .collect();
    if labels.len() != h.n_units() {
        return Err(value_error(AnalysisError::shape(
            "in_group",
            format!("one label per unit ({})", h.n_units()),
            format!("{} labels", labels.len()),
        )));
    }
    if n_permutations > MAX_PERMUTATIONS {
        return Err(invalid(
            "n_permutations",
            n_permutations,
            &format!("1 ..= {MAX_PERMUTATIONS}"),
        ));
    }
    let params = ClusterParams {
        tail: parse_tail(tail)?,
        connectivity: parse_connectivity(connectivity)?,
        n_permutations,
        ..ClusterParams::new(threshold)
    };
    let z_of = |labels: &[bool], g: bool| -> wm_analysis::Result<Array2<f64>> {
        let units: Vec<usize> = (0..labels.len()).filter(|&u| labels[u] == g).collect();
        let r = h.discriminability_of(&units)?.r;
        Ok(r.mapv(|v| v.clamp(-0.999, 0.999).atanh()))
    };
    let statistic =
        |l: &[bool]| -> wm_analysis::Result<Array2<f64>> { Ok(z_of(l, true)? - z_of(l, false)?) };
    let (test, z_group, z_rest) = py
        .detach(|| -> wm_analysis::Result<_> {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let test = cluster_permutation_test(&labels, statistic, &params, &mut rng)?;
            Ok((test, z_of(&labels, true)?, z_of(&labels, false)?))
        })
        .map_err(value_error)?;
    let out = PyDict::new(py);
    out.set_item("clusters", cluster_list(py, &test.clusters)?)?;
    out.set_item("observed", test.observed.into_pyarray(py))?;
    out.set_item("z_group", z_group.into_pyarray(py))?;
    out.set_item("z_rest", z_rest.into_pyarray(py))?;
    out.set_item("null_max_mass", test.null_max_mass.into_pyarray(py))?;
    Ok(out)
}
