//! Cluster-based permutation test over a 2-D map (Maris & Oostenveld 2007),
//! e.g. a cross-temporal discriminability map `[t1, t2]`
//! such as those of Kim & Sejnowski 2021.
//!
//! Testing every cell of a map separately has a severe multiple-comparison
//! problem; the cluster test controls the family-wise error rate by testing
//! *clusters* instead:
//!
//! 1. **Cluster-forming threshold.** A cell is supra-threshold if its value
//!    `v > threshold` ([`Tail::Upper`]), `v < −threshold` ([`Tail::Lower`]),
//!    or `|v| > threshold` ([`Tail::Both`]; positive and negative cells form
//!    separate clusters). NaN cells are never supra-threshold; ±∞ cells are.
//! 2. **Clusters** are connected sets of same-sign supra-threshold cells,
//!    with 4-neighbour ([`Connectivity::Four`]: shared edge) or 8-neighbour
//!    ([`Connectivity::Eight`]: also diagonal) adjacency.
//! 3. **Cluster mass** = the sum of the map's values over the cluster's cells
//!    (negative for a negative cluster). The test statistic of a cluster is
//!    |mass|.
//! 4. **Null distribution.** The map is recomputed by a user-supplied
//!    statistic for `n_permutations` random relabellings (permutations of
//!    labels drawn from an explicitly passed, seeded [`ChaCha8Rng`]); for each,
//!    the largest |mass| of any cluster (0 if there is none) is kept.
//! 5. **p-value** of an observed cluster: `(1 + #{null ≥ |mass|}) / (1 + n)`
//!    for n permutations (the observed labelling counts as one member of the
//!    null, so p ≥ 1/(n + 1) and never 0; Phipson & Smyth 2010).
//!
//! Resamples are drawn sequentially from the RNG and only then evaluated in
//! parallel (rayon), so a given seed gives the same result on any number of
//! threads.
//!
//! # Example: long- vs short-timescale units (Kim & Sejnowski)
//! ```
//! use ndarray::Array3;
//! use rand::{Rng, SeedableRng};
//! use rand_chacha::ChaCha8Rng;
//! use wm_analysis::discriminability::split_half_means;
//! use wm_analysis::permutation::{ClusterParams, cluster_permutation_test};
//!
//! // 2 cues × 6 trials × 10 time points × 40 units; units 0–19 hold the cue pattern
//! // through the trial, units 20–39 lose it after t = 3.
//! let mut noise = ChaCha8Rng::seed_from_u64(1);
//! let mut cue = |s: f64| Array3::from_shape_fn((6, 10, 40), |(_, t, u)| {
//!     let signal = if u < 20 || t < 3 { s * ((u % 5) as f64 - 2.0) } else { 0.0 };
//!     5.0 + signal + noise.random_range(-1.0..1.0)
//! });
//! let (a, b) = (cue(1.0), cue(-1.0));
//! let halves = split_half_means(&[a.view(), b.view()]).unwrap();
//! let long: Vec<bool> = (0..40).map(|u| u < 20).collect(); // group label per unit
//! // Statistic: z(long) − z(short); permuting the labels keeps the group sizes.
//! let stat = |labels: &[bool]| -> wm_analysis::Result<ndarray::Array2<f64>> {
//!     let pick = |g: bool| (0..40).filter(|&u| labels[u] == g).collect::<Vec<_>>();
//!     Ok(halves.discriminability_of(&pick(true))?.z - halves.discriminability_of(&pick(false))?.z)
//! };
//! let params = ClusterParams { n_permutations: 200, ..ClusterParams::new(0.5) };
//! let mut rng = ChaCha8Rng::seed_from_u64(7);
//! let test = cluster_permutation_test(&long, stat, &params, &mut rng).unwrap();
//! assert!(test.clusters[0].mass > 0.0 && test.clusters[0].p_value <= 0.05);
//! ```

use ndarray::{Array2, ArrayView2};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{AnalysisError, Result, ensure_at_least};

/// Which values form clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Tail {
    /// `v > threshold`.
    Upper,
    /// `v < −threshold`.
    Lower,
    /// `|v| > threshold`, positive and negative cells in separate clusters.
    Both,
}

/// Which cells are neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Connectivity {
    /// Cells sharing an edge (up, down, left, right).
    Four,
    /// Cells sharing an edge or a corner.
    Eight,
}

/// Parameters of the cluster permutation test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterParams {
    /// Cluster-forming threshold (finite, ≥ 0), in the units of the map (e.g.
    /// a z-difference, or a t value whose two-sided p is 0.05).
    pub threshold: f64,
    /// Which tail(s) form clusters.
    pub tail: Tail,
    /// Neighbourhood of a cell.
    pub connectivity: Connectivity,
    /// Number of random relabellings (≥ 1; Maris & Oostenveld 2007: ≥ 1000).
    pub n_permutations: usize,
}

impl ClusterParams {
    /// Two-sided, 4-neighbour clusters at `threshold`, 1000 permutations.
    pub fn new(threshold: f64) -> Self {
        Self {
            threshold,
            tail: Tail::Both,
            connectivity: Connectivity::Four,
            n_permutations: 1000,
        }
    }

    /// Check the parameters.
    pub fn validate(&self) -> Result<()> {
        validate_threshold(self.threshold)?;
        if self.n_permutations == 0 {
            return Err(AnalysisError::invalid("n_permutations", 0, ">= 1"));
        }
        Ok(())
    }
}

fn validate_threshold(threshold: f64) -> Result<()> {
    if threshold.is_finite() && threshold >= 0.0 {
        Ok(())
    } else {
        Err(AnalysisError::invalid(
            "threshold",
            threshold,
            "finite and >= 0",
        ))
    }
}

/// One cluster of supra-threshold cells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// +1 for a cluster of values above the threshold, −1 below −threshold.
    pub sign: i8,
    /// The cells `(row, column)` (for a discriminability map, `(t1, t2)`), in
    /// row-major order.
    pub cells: Vec<(usize, usize)>,
    /// Sum of the map's values over the cells (negative for sign −1; ±∞ if a
    /// cell is).
    pub mass: f64,
    /// Permutation p-value of |mass| against the null of the largest cluster
    /// |mass| (see the module docs); NaN from [`find_clusters`], which does no
    /// permutations.
    pub p_value: f64,
}

impl Cluster {
    /// Number of cells.
    pub fn size(&self) -> usize {
        self.cells.len()
    }
}

/// The result of [`cluster_permutation_test`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterTest {
    /// The map of the observed (unpermuted) labels.
    pub observed: Array2<f64>,
    /// The observed clusters, largest |mass| first, each with its p-value.
    pub clusters: Vec<Cluster>,
    /// For each permutation in draw order, the largest |mass| of its clusters
    /// (0 when it has none).
    pub null_max_mass: Vec<f64>,
    /// The parameters used.
    pub params: ClusterParams,
}

impl ClusterTest {
    /// The clusters with `p_value ≤ alpha`.
    pub fn significant(&self, alpha: f64) -> Vec<&Cluster> {
        self.clusters
            .iter()
            .filter(|c| c.p_value <= alpha)
            .collect()
    }

    /// `[rows, cols]` mask of the cells belonging to a cluster with
    /// `p_value ≤ alpha` (for contour plots).
    pub fn significance_mask(&self, alpha: f64) -> Array2<bool> {
        let mut mask = Array2::from_elem(self.observed.dim(), false);
        for c in self.significant(alpha) {
            for &cell in &c.cells {
                mask[cell] = true;
            }
        }
        mask
    }
}

/// Sign (+1/−1) of a supra-threshold cell, or 0.
fn cell_sign(v: f64, threshold: f64, tail: Tail) -> i8 {
    let up = v > threshold;
    let down = v < -threshold;
    match tail {
        Tail::Upper if up => 1,
        Tail::Lower if down => -1,
        Tail::Both if up => 1,
        Tail::Both if down => -1,
        _ => 0,
    }
}

/// Clusters of supra-threshold cells of `map` (any `[rows, cols]` map; see the
/// module docs for the threshold, tails and adjacency), largest |mass| first
/// (ties: earlier first cell first). p-values are NaN. An empty map has no
/// clusters.
///
/// # Errors
/// [`AnalysisError::InvalidParameter`] if `threshold` is negative or not finite.
pub fn find_clusters(
    map: ArrayView2<f64>,
    threshold: f64,
    tail: Tail,
    connectivity: Connectivity,
) -> Result<Vec<Cluster>> {
    validate_threshold(threshold)?;
    Ok(clusters_unchecked(map, threshold, tail, connectivity))
}

fn clusters_unchecked(
    map: ArrayView2<f64>,
    threshold: f64,
    tail: Tail,
    connectivity: Connectivity,
) -> Vec<Cluster> {
    let (rows, cols) = map.dim();
    let sign = map.mapv(|v| cell_sign(v, threshold, tail));
    let mut seen = Array2::from_elem((rows, cols), false);
    let mut clusters = Vec::new();
    let mut stack = Vec::new();
    let offsets: &[(isize, isize)] = match connectivity {
        Connectivity::Four => &[(-1, 0), (1, 0), (0, -1), (0, 1)],
        Connectivity::Eight => &[
            (-1, -1),
            (-1, 0),
            (-1, 1),
            (0, -1),
            (0, 1),
            (1, -1),
            (1, 0),
            (1, 1),
        ],
    };
    for i in 0..rows {
        for j in 0..cols {
            let sg = sign[[i, j]];
            if sg == 0 || seen[[i, j]] {
                continue;
            }
            seen[[i, j]] = true;
            stack.push((i, j));
            let mut cells = Vec::new();
            while let Some((a, b)) = stack.pop() {
                cells.push((a, b));
                for &(di, dj) in offsets {
                    let (na, nb) = (a as isize + di, b as isize + dj);
                    if na < 0 || nb < 0 || na >= rows as isize || nb >= cols as isize {
                        continue;
                    }
                    let (na, nb) = (na as usize, nb as usize);
                    if !seen[[na, nb]] && sign[[na, nb]] == sg {
                        seen[[na, nb]] = true;
                        stack.push((na, nb));
                    }
                }
            }
            cells.sort_unstable();
            let mass = cells.iter().map(|&c| map[c]).sum();
            clusters.push(Cluster {
                sign: sg,
                cells,
                mass,
                p_value: f64::NAN,
            });
        }
    }
    clusters.sort_by(|a, b| {
        b.mass
            .abs()
            .total_cmp(&a.mass.abs())
            .then_with(|| a.cells[0].cmp(&b.cells[0]))
    });
    clusters
}

/// Largest |mass| over the clusters of `map` (0 if none).
fn max_mass(map: ArrayView2<f64>, params: &ClusterParams) -> f64 {
    clusters_unchecked(map, params.threshold, params.tail, params.connectivity)
        .first()
        .map_or(0.0, |c| c.mass.abs())
}

/// Resamples are drawn (sequentially) and evaluated (in parallel) this many at a time.
const CHUNK: usize = 64;

/// Cluster-based permutation test with a statistic over permuted labels.
///
/// `labels` are the observed labels (e.g. the long/short group of each unit,
/// or the condition of each trial); `statistic` maps a labelling to a 2-D map
/// (e.g. a difference of Fisher-z discriminability maps). The observed map is
/// `statistic(labels)`; each of the `params.n_permutations` null maps is
/// `statistic` of a uniformly random permutation of `labels` (Fisher–Yates
/// shuffle with `rng`). Group sizes are therefore kept. See the module docs
/// for clusters, masses and p-values.
///
/// # Errors
/// [`AnalysisError::InvalidParameter`] for bad `params`;
/// [`AnalysisError::TooFew`] if the observed map has no cells;
/// [`AnalysisError::ShapeMismatch`] if a permuted map's shape differs from the
/// observed one; any error returned by `statistic`.
pub fn cluster_permutation_test<L, F>(
    labels: &[L],
    statistic: F,
    params: &ClusterParams,
    rng: &mut ChaCha8Rng,
) -> Result<ClusterTest>
where
    L: Clone + Send + Sync,
    F: Fn(&[L]) -> Result<Array2<f64>> + Sync,
{
    let observed = labels.to_vec();
    cluster_resampling_test(
        &observed,
        |rng| {
            let mut v = labels.to_vec();
            v.shuffle(rng);
            v
        },
        |v: &Vec<L>| statistic(v),
        params,
        rng,
    )
}

/// The general form of [`cluster_permutation_test`]: any resampling scheme.
///
/// `observed` is the observed data or labelling (type `P`); `draw` produces
/// one resample from the RNG (a permutation within blocks, a vector of random
/// sign flips, …) and is called `params.n_permutations` times, in order, on
/// this thread; `statistic` maps `observed` or a resample to a 2-D map and is
/// evaluated in parallel.
///
/// # Errors
/// As [`cluster_permutation_test`].
pub fn cluster_resampling_test<P, D, F>(
    observed: &P,
    mut draw: D,
    statistic: F,
    params: &ClusterParams,
    rng: &mut ChaCha8Rng,
) -> Result<ClusterTest>
where
    P: Send + Sync,
    D: FnMut(&mut ChaCha8Rng) -> P,
    F: Fn(&P) -> Result<Array2<f64>> + Sync,
{
    params.validate()?;
    let obs_map = statistic(observed)?;
    ensure_at_least("cells of the observed map", 1, obs_map.len())?;
    let shape = obs_map.dim();
    let mut null_max_mass = Vec::with_capacity(params.n_permutations);
    let mut done = 0;
    while done < params.n_permutations {
        let m = CHUNK.min(params.n_permutations - done);
        let resamples: Vec<P> = (0..m).map(|_| draw(rng)).collect();
        let masses = resamples
            .par_iter()
            .map(|p| {
                let map = statistic(p)?;
                if map.dim() != shape {
                    return Err(AnalysisError::shape(
                        "statistic",
                        format!("{shape:?} (as the observed map)"),
                        format!("{:?}", map.dim()),
                    ));
                }
                Ok(max_mass(map.view(), params))
            })
            .collect::<Result<Vec<f64>>>()?;
        null_max_mass.extend(masses);
        done += m;
    }
    let n = null_max_mass.len() as f64;
    let mut clusters = clusters_unchecked(
        obs_map.view(),
        params.threshold,
        params.tail,
        params.connectivity,
    );
    for c in &mut clusters {
        let stat = c.mass.abs();
        let exceed = null_max_mass.iter().filter(|&&x| x >= stat).count();
        c.p_value = (1.0 + exceed as f64) / (1.0 + n);
    }
    Ok(ClusterTest {
        observed: obs_map,
        clusters,
        null_max_mass,
        params: params.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    /// (sign, cells, mass)
    type SlowCluster = (i8, Vec<(usize, usize)>, f64);

    /// Slow reference labelling: every supra-threshold cell starts with its own
    /// label; repeat "take the minimum label of same-sign neighbours" until
    /// nothing changes. Returns the partition as sorted cell lists with masses.
    fn slow_clusters(map: &Array2<f64>, thr: f64, tail: Tail, eight: bool) -> Vec<SlowCluster> {
        let (r, c) = map.dim();
        let sg = |v: f64| -> i8 {
            let up = v > thr && tail != Tail::Lower;
            let down = v < -thr && tail != Tail::Upper;
            if up {
                1
            } else if down {
                -1
            } else {
                0
            }
        };
        let mut label = Array2::from_elem((r, c), usize::MAX);
        for i in 0..r {
            for j in 0..c {
                if sg(map[[i, j]]) != 0 {
                    label[[i, j]] = i * c + j;
                }
            }
        }
        loop {
            let mut changed = false;
            for i in 0..r {
                for j in 0..c {
                    if label[[i, j]] == usize::MAX {
                        continue;
                    }
                    for di in -1i64..=1 {
                        for dj in -1i64..=1 {
                            if (di == 0 && dj == 0) || (!eight && di != 0 && dj != 0) {
                                continue;
                            }
                            let (a, b) = (i as i64 + di, j as i64 + dj);
                            if a < 0 || b < 0 || a >= r as i64 || b >= c as i64 {
                                continue;
                            }
                            let (a, b) = (a as usize, b as usize);
                            if label[[a, b]] != usize::MAX
                                && sg(map[[a, b]]) == sg(map[[i, j]])
                                && label[[a, b]] < label[[i, j]]
                            {
                                label[[i, j]] = label[[a, b]];
                                changed = true;
                            }
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut groups: std::collections::BTreeMap<usize, Vec<(usize, usize)>> = Default::default();
        for ((i, j), &l) in label.indexed_iter() {
            if l != usize::MAX {
                groups.entry(l).or_default().push((i, j));
            }
        }
        groups
            .into_values()
            .map(|cells| {
                let mass: f64 = cells.iter().map(|&x| map[x]).sum();
                (sg(map[cells[0]]), cells, mass)
            })
            .collect()
    }

    fn canonical(cl: &[Cluster]) -> Vec<(i8, Vec<(usize, usize)>)> {
        let mut v: Vec<_> = cl.iter().map(|c| (c.sign, c.cells.clone())).collect();
        v.sort();
        v
    }

    #[test]
    fn clusters_hand_example() {
        let m = array![
            [3.0, 3.0, 0.0, -4.0],
            [0.0, 2.5, 0.0, -4.0],
            [0.0, 0.0, 2.0, f64::NAN],
            [5.0, 0.0, 0.0, 0.0]
        ];
        let four = find_clusters(m.view(), 1.0, Tail::Both, Connectivity::Four).unwrap();
        assert_eq!(four.len(), 4);
        assert_eq!((four[0].sign, four[0].mass, four[0].size()), (1, 8.5, 3));
        assert_eq!(four[0].cells, vec![(0, 0), (0, 1), (1, 1)]);
        assert_eq!((four[1].sign, four[1].mass), (-1, -8.0));
        assert_eq!((four[2].mass, four[3].mass), (5.0, 2.0));
        assert!(four.iter().all(|c| c.p_value.is_nan()));
        // Diagonal neighbours join (1,1) and (2,2).
        let eight = find_clusters(m.view(), 1.0, Tail::Both, Connectivity::Eight).unwrap();
        assert_eq!(eight.len(), 3);
        assert_eq!(eight[0].mass, 10.5);
        let up = find_clusters(m.view(), 1.0, Tail::Upper, Connectivity::Four).unwrap();
        assert!(up.iter().all(|c| c.sign == 1) && up.len() == 3);
        let down = find_clusters(m.view(), 1.0, Tail::Lower, Connectivity::Four).unwrap();
        assert_eq!(down.len(), 1);
        // Threshold is strict: 2.0 is not above 2.0.
        let strict = find_clusters(m.view(), 2.0, Tail::Upper, Connectivity::Four).unwrap();
        assert_eq!(strict.iter().map(|c| c.size()).sum::<usize>(), 4);
        // ±∞ cells form clusters with infinite mass.
        let inf = array![[f64::INFINITY, 1.0]];
        let c = find_clusters(inf.view(), 0.5, Tail::Both, Connectivity::Four).unwrap();
        assert_eq!(c[0].mass, f64::INFINITY);
        assert!(
            find_clusters(
                Array2::<f64>::zeros((0, 3)).view(),
                1.0,
                Tail::Both,
                Connectivity::Four
            )
            .unwrap()
            .is_empty()
        );
    }

    /// A 1×1 map = difference of group means; with 3 + 3 values the exact
    /// permutation p-value is (#arrangements with difference ≥ observed)/20.
    #[test]
    fn p_value_matches_exact_enumeration() {
        let values = [1.0, 2.5, 3.0, 4.2, 6.0, 9.1];
        let labels = [false, false, false, true, true, true];
        let stat = |l: &[bool]| -> Result<Array2<f64>> {
            let (mut a, mut b) = (0.0, 0.0);
            for (v, &g) in values.iter().zip(l) {
                if g { a += v / 3.0 } else { b += v / 3.0 }
            }
            Ok(Array2::from_elem((1, 1), a - b))
        };
        let obs = stat(&labels).unwrap()[[0, 0]];
        // Exact enumeration of the 20 splits.
        let mut ge = 0;
        for mask in 0u32..64 {
            if mask.count_ones() != 3 {
                continue;
            }
            let l: Vec<bool> = (0..6).map(|i| mask >> i & 1 == 1).collect();
            if stat(&l).unwrap()[[0, 0]] >= obs - 1e-12 {
                ge += 1;
            }
        }
        let exact = ge as f64 / 20.0;
        let params = ClusterParams {
            tail: Tail::Upper,
            n_permutations: 20_000,
            ..ClusterParams::new(0.0)
        };
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let t = cluster_permutation_test(&labels, stat, &params, &mut rng).unwrap();
        let p = t.clusters[0].p_value;
        let se = (exact * (1.0 - exact) / 20_000.0).sqrt();
        assert!((p - exact).abs() < 4.0 * se + 1e-4, "{p} vs {exact}");
        assert_eq!(t.null_max_mass.len(), 20_000);
    }

    #[test]
    fn null_distribution_matches_slow_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let noise = ndarray::Array3::from_shape_fn((10, 6, 6), |_| rng.random_range(-1.0..1.0));
        let labels: Vec<usize> = (0..10).map(|i| i % 2).collect();
        let stat = |l: &[usize]| -> Result<Array2<f64>> {
            let mut m = Array2::zeros((6, 6));
            for (k, &g) in l.iter().enumerate() {
                let s = if g == 1 { 1.0 } else { -1.0 };
                m.scaled_add(s, &noise.index_axis(ndarray::Axis(0), k));
            }
            Ok(m)
        };
        let params = ClusterParams {
            n_permutations: 150,
            connectivity: Connectivity::Eight,
            ..ClusterParams::new(0.8)
        };
        let seed_rng = ChaCha8Rng::seed_from_u64(42);
        let t = cluster_permutation_test(&labels, stat, &params, &mut seed_rng.clone()).unwrap();
        // Reference: the same shuffles, one by one, with the slow labelling.
        let mut r2 = seed_rng.clone();
        let mut null = Vec::new();
        for _ in 0..150 {
            let mut l = labels.clone();
            l.shuffle(&mut r2);
            let m = stat(&l).unwrap();
            let best = slow_clusters(&m, 0.8, Tail::Both, true)
                .iter()
                .map(|c| c.2.abs())
                .fold(0.0, f64::max);
            null.push(best);
        }
        for (a, b) in t.null_max_mass.iter().zip(&null) {
            assert!((a - b).abs() < 1e-12);
        }
        for c in &t.clusters {
            // (a 1e-9 slack: the two labellings sum cluster cells in different orders)
            let ge = null.iter().filter(|&&x| x >= c.mass.abs() - 1e-9).count();
            assert_eq!(c.p_value, (1.0 + ge as f64) / 151.0);
        }
        // Deterministic for a seed.
        let again =
            cluster_permutation_test(&labels, stat, &params, &mut seed_rng.clone()).unwrap();
        assert_eq!(again, t);
    }

    #[test]
    fn strong_and_absent_effects() {
        // Statistic ignores the labels: every null max equals the observed → p = 1.
        let m = array![[2.0, 2.0], [0.0, -3.0]];
        let params = ClusterParams {
            n_permutations: 30,
            ..ClusterParams::new(1.0)
        };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let t = cluster_permutation_test(&[0, 1, 2], |_| Ok(m.clone()), &params, &mut rng).unwrap();
        // Largest cluster (mass 4) has p = 1; the smaller one (|−3|) too, since null = 4 ≥ 3.
        assert!(t.clusters.iter().all(|c| c.p_value == 1.0));
        // A block effect that exists only for the observed labelling: p = 1/(n + 1).
        let labels: Vec<u8> = vec![0, 0, 0, 0, 1, 1, 1, 1];
        let stat = |l: &[u8]| -> Result<Array2<f64>> {
            let aligned = l == [0, 0, 0, 0, 1, 1, 1, 1];
            Ok(Array2::from_shape_fn((5, 5), |(i, j)| {
                if aligned && (1..4).contains(&i) && (1..4).contains(&j) {
                    3.0
                } else {
                    0.0
                }
            }))
        };
        let params = ClusterParams {
            n_permutations: 99,
            ..ClusterParams::new(1.0)
        };
        let t = cluster_permutation_test(&labels, stat, &params, &mut rng).unwrap();
        assert_eq!(t.clusters.len(), 1);
        assert_eq!((t.clusters[0].mass, t.clusters[0].size()), (27.0, 9));
        // A random shuffle can restore the labelling (probability 1/70 each), so
        // count those draws: p = (1 + hits)/100.
        let hits = t.null_max_mass.iter().filter(|&&x| x >= 27.0).count();
        assert_eq!(t.clusters[0].p_value, (1.0 + hits as f64) / 100.0);
        assert!(t.clusters[0].p_value <= 0.06);
        let mask = t.significance_mask(0.06);
        assert_eq!(mask.iter().filter(|&&b| b).count(), 9);
        assert_eq!(t.significant(0.06).len(), 1);
    }

    #[test]
    fn resampling_with_sign_flips() {
        // One-sample test by sign flips: mean of 8 subjects' maps, all with a bump.
        let maps: Vec<Array2<f64>> = (0..8)
            .map(|k| {
                Array2::from_shape_fn(
                    (4, 4),
                    |(i, j)| if i == j { 1.0 + 0.1 * k as f64 } else { 0.0 },
                )
            })
            .collect();
        let obs = vec![1.0f64; 8];
        let stat = |signs: &Vec<f64>| -> Result<Array2<f64>> {
            let mut m = Array2::zeros((4, 4));
            for (s, x) in signs.iter().zip(&maps) {
                m.scaled_add(*s / 8.0, x);
            }
            Ok(m)
        };
        let params = ClusterParams {
            n_permutations: 500,
            tail: Tail::Upper,
            connectivity: Connectivity::Eight,
            threshold: 0.5,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let t = cluster_resampling_test(
            &obs,
            |r| {
                (0..8)
                    .map(|_| if r.random_bool(0.5) { 1.0 } else { -1.0 })
                    .collect()
            },
            stat,
            &params,
            &mut rng,
        )
        .unwrap();
        assert_eq!(t.clusters[0].size(), 4);
        // Only all-plus flips (1/256) reach the observed mass.
        assert!(t.clusters[0].p_value < 0.03, "{}", t.clusters[0].p_value);
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let ok = |_: &[u8]| Ok(Array2::zeros((2, 2)));
        for p in [
            ClusterParams::new(-1.0),
            ClusterParams::new(f64::NAN),
            ClusterParams::new(f64::INFINITY),
            ClusterParams {
                n_permutations: 0,
                ..ClusterParams::new(1.0)
            },
        ] {
            assert!(matches!(
                cluster_permutation_test(&[0u8, 1], ok, &p, &mut rng),
                Err(AnalysisError::InvalidParameter { .. })
            ));
        }
        let p = ClusterParams {
            n_permutations: 5,
            ..ClusterParams::new(1.0)
        };
        assert!(matches!(
            cluster_permutation_test(&[0u8, 1], |_| Ok(Array2::zeros((0, 2))), &p, &mut rng),
            Err(AnalysisError::TooFew { .. })
        ));
        let changing = |l: &[u8]| Ok(Array2::zeros((1, 1 + l[0] as usize)));
        assert!(matches!(
            cluster_permutation_test(&[0u8, 1, 0, 1, 0, 1, 0, 1], changing, &p, &mut rng),
            Err(AnalysisError::ShapeMismatch { .. })
        ));
        let failing = |_: &[u8]| Err(AnalysisError::ZeroVariance { what: "x" });
        assert!(matches!(
            cluster_permutation_test(&[0u8, 1], failing, &p, &mut rng),
            Err(AnalysisError::ZeroVariance { .. })
        ));
        assert!(
            find_clusters(
                Array2::zeros((2, 2)).view(),
                -0.1,
                Tail::Both,
                Connectivity::Four
            )
            .is_err()
        );
        // Empty labels are fine for the permutation itself.
        let t = cluster_permutation_test::<u8, _>(&[], |_| Ok(Array2::ones((1, 2))), &p, &mut rng)
            .unwrap();
        assert!(t.clusters.is_empty());
    }

    fn small_map() -> impl Strategy<Value = Array2<f64>> {
        (1usize..9, 1usize..9).prop_flat_map(|(r, c)| {
            proptest::collection::vec(prop_oneof![Just(0.0), -3.0f64..3.0, Just(f64::NAN)], r * c)
                .prop_map(move |v| Array2::from_shape_vec((r, c), v).unwrap())
        })
    }

    fn tail() -> impl Strategy<Value = Tail> {
        prop_oneof![Just(Tail::Upper), Just(Tail::Lower), Just(Tail::Both)]
    }

    proptest! {
        /// Flood fill agrees with slow label propagation; clusters partition the
        /// supra-threshold cells; masses sum to their values.
        #[test]
        fn clusters_match_slow_labelling(m in small_map(), thr in 0.0f64..2.0, tail in tail(), eight in any::<bool>()) {
            let conn = if eight { Connectivity::Eight } else { Connectivity::Four };
            let fast = find_clusters(m.view(), thr, tail, conn).unwrap();
            let slow = slow_clusters(&m, thr, tail, eight);
            let mut slow_canon: Vec<_> = slow.iter().map(|(s, c, _)| (*s, c.clone())).collect();
            slow_canon.sort();
            prop_assert_eq!(canonical(&fast), slow_canon);
            for c in &fast {
                let want: f64 = c.cells.iter().map(|&x| m[x]).sum();
                prop_assert!((c.mass - want).abs() < 1e-12);
            }
            for w in fast.windows(2) {
                prop_assert!(w[0].mass.abs() >= w[1].mass.abs());
            }
        }

        /// Transposing the map transposes every cluster and keeps the masses.
        #[test]
        fn clusters_equivariant_to_transpose(m in small_map(), thr in 0.0f64..2.0, tail in tail()) {
            let a = find_clusters(m.view(), thr, tail, Connectivity::Four).unwrap();
            let b = find_clusters(m.t(), thr, tail, Connectivity::Four).unwrap();
            let mut ta: Vec<_> = a.iter().map(|c| {
                let mut cells: Vec<_> = c.cells.iter().map(|&(i, j)| (j, i)).collect();
                cells.sort();
                (c.sign, cells)
            }).collect();
            ta.sort();
            prop_assert_eq!(ta, canonical(&b));
        }

        /// p-values lie in [1/(n + 1), 1] and a larger |mass| never has a larger p.
        #[test]
        fn p_values_are_valid(seed in any::<u64>(), n in 1usize..60) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let base = Array2::from_shape_fn((5, 5), |_| rng.random_range(-2.0..2.0));
            let labels: Vec<i32> = (0..6).collect();
            let stat = |l: &[i32]| Ok(&base * (1.0 + l[0] as f64 * 0.1));
            let params = ClusterParams { n_permutations: n, ..ClusterParams::new(0.7) };
            let t = cluster_permutation_test(&labels, stat, &params, &mut rng).unwrap();
            for c in &t.clusters {
                prop_assert!(c.p_value >= 1.0 / (n as f64 + 1.0) && c.p_value <= 1.0);
            }
            for w in t.clusters.windows(2) {
                prop_assert!(w[0].p_value <= w[1].p_value);
            }
        }
    }
}
