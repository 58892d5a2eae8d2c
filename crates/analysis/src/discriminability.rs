//! Cross-temporal discriminability (Kim & Sejnowski 2021, after Murray et al.
//! 2017; the original `cross_temporal_disc.m` of github.com/rkim35/wmRNN).
//!
//! How reliably does a population carry a stimulus-specific difference from
//! time t1 to time t2? For each stimulus condition the trials are split into
//! two interleaved halves: half A holds trials 0, 2, 4, … and half B trials
//! 1, 3, 5, … (MATLAB's odd and even trials), and each half is averaged over
//! its trials. For every pair of conditions p = (a, b), a < b, the
//! **pairwise difference** across units is `d_p(t) = mean_a(t) − mean_b(t)`
//! (a vector over units), computed in each half: `d_p^A`, `d_p^B`. With
//! `d̃` the difference centred across units (its mean over units removed),
//!
//! ```text
//! r(t1, t2) = Σ_p ⟨d̃_p^A(t1), d̃_p^B(t2)⟩ / sqrt( Σ_p |d̃_p^A(t1)|² · Σ_p |d̃_p^B(t2)|² )
//! z(t1, t2) = atanh r(t1, t2)                      (Fisher z)
//! ```
//!
//! With two conditions (Kim's DMS analysis, `rate(c = −1) − rate(c = +1)`)
//! this is exactly the Pearson correlation across units of `D_A(t1)` and
//! `D_B(t2)`. With more conditions it pools the pairs, each centred on its
//! own, so that relabelling or reordering the conditions (which flips the
//! sign of some pairs in both halves at once) leaves r unchanged.
//!
//! A high z means the cue-specific pattern seen in one half at t1 is present
//! in the independent other half at t2: stable coding when the map is high
//! off the diagonal. Both r and z are dimensionless. The map is **not**
//! symmetric in general (rows are half A, columns half B); swapping the
//! halves transposes it, and swapping or relabelling the conditions leaves it
//! unchanged (both halves' differences flip sign together).
//!
//! Shapes: each condition is `[trials, time, units]` of firing rates (any
//! units, e.g. Hz of smoothed spikes or RNN rates), all conditions with the
//! same time and unit axes (trial counts may differ, ≥ 2 each). The result is
//! `[time (t1, half A), time (t2, half B)]`.
//!
//! **Documented NaN and ∞.** At a time where every pair's difference is
//! constant across units (e.g. identical responses to every condition before
//! the cue), the correlation is undefined: that row (t1) or column (t2) of r
//! and z is NaN. |r| = 1 gives z = ±∞. Both are values, not errors.
//!
//! To compare unit groups (Kim: long- vs short-timescale units), compute the
//! halves once with [`split_half_means`] and evaluate
//! [`SplitHalves::discriminability_of`] on each group; the cluster test of
//! [`crate::permutation`] can then permute the group labels.

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, Axis, s};
use serde::Serialize;

use crate::error::{AnalysisError, Result, ensure_at_least, ensure_finite};

/// The cross-temporal discriminability map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discriminability {
    /// Correlation r (Pearson for two conditions, pooled within-pair for more),
    /// `[time, time]` = `[t1 (half A), t2 (half B)]`, in `[−1, 1]`;
    /// NaN where a difference vector is constant (see the module docs).
    pub r: Array2<f64>,
    /// Fisher z = atanh(r), same shape; ±∞ where |r| = 1, NaN where r is NaN.
    pub z: Array2<f64>,
    /// Number of units used.
    pub n_units: usize,
    /// Number of condition pairs (C·(C − 1)/2 for C conditions).
    pub n_pairs: usize,
}

/// Split-half trial means of every condition (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitHalves {
    /// `[conditions, time, units]`: mean over trials 0, 2, 4, … of each condition.
    pub half_a: Array3<f64>,
    /// `[conditions, time, units]`: mean over trials 1, 3, 5, … of each condition.
    pub half_b: Array3<f64>,
    /// Trials in half A per condition (⌈trials/2⌉).
    pub trials_a: Vec<usize>,
    /// Trials in half B per condition (⌊trials/2⌋).
    pub trials_b: Vec<usize>,
}

impl SplitHalves {
    /// Number of conditions C.
    pub fn n_conditions(&self) -> usize {
        self.half_a.dim().0
    }

    /// Number of time points T.
    pub fn n_time(&self) -> usize {
        self.half_a.dim().1
    }

    /// Number of units N.
    pub fn n_units(&self) -> usize {
        self.half_a.dim().2
    }

    /// The discriminability map over all units.
    ///
    /// # Errors
    /// [`AnalysisError::TooFew`] for fewer than 3 units.
    pub fn discriminability(&self) -> Result<Discriminability> {
        discriminability_from_halves(self.half_a.view(), self.half_b.view())
    }

    /// The discriminability map over the units `units` (indices into the unit
    /// axis, in any order; repeats are allowed and count twice).
    ///
    /// # Errors
    /// [`AnalysisError::InvalidParameter`] for an index ≥ N;
    /// [`AnalysisError::TooFew`] for fewer than 3 units.
    pub fn discriminability_of(&self, units: &[usize]) -> Result<Discriminability> {
        let n = self.n_units();
        if let Some(&bad) = units.iter().find(|&&u| u >= n) {
            return Err(AnalysisError::invalid(
                "units",
                bad,
                format!("unit index < {n}"),
            ));
        }
        let a = self.half_a.select(Axis(2), units);
        let b = self.half_b.select(Axis(2), units);
        discriminability_from_halves(a.view(), b.view())
    }
}

/// Split each condition's `[trials, time, units]` rates into interleaved
/// halves (A: trials 0, 2, 4, …; B: 1, 3, 5, …) and average each half over
/// its trials.
///
/// # Errors
/// [`AnalysisError::TooFew`] for fewer than 2 conditions, fewer than 2
/// trials in a condition, no time points or no units;
/// [`AnalysisError::ShapeMismatch`] if the conditions' time or unit axes
/// differ; [`AnalysisError::NonFinite`] for NaN/±∞ rates.
pub fn split_half_means(conditions: &[ArrayView3<f64>]) -> Result<SplitHalves> {
    ensure_at_least("conditions", 2, conditions.len())?;
    let (_, t, n) = conditions[0].dim();
    ensure_at_least("time points", 1, t)?;
    ensure_at_least("units", 1, n)?;
    for c in conditions {
        let (trials, tc, nc) = c.dim();
        if (tc, nc) != (t, n) {
            return Err(AnalysisError::shape(
                "conditions",
                format!("[trials, {t}, {n}] for every condition"),
                format!("[{trials}, {tc}, {nc}]"),
            ));
        }
        ensure_at_least("trials per condition (one per half)", 2, trials)?;
        ensure_finite("conditions", c.iter())?;
    }
    let k = conditions.len();
    let mut half_a = Array3::zeros((k, t, n));
    let mut half_b = Array3::zeros((k, t, n));
    let mut trials_a = Vec::with_capacity(k);
    let mut trials_b = Vec::with_capacity(k);
    for (i, c) in conditions.iter().enumerate() {
        let a = c.slice(s![0..;2, .., ..]);
        let b = c.slice(s![1..;2, .., ..]);
        trials_a.push(a.dim().0);
        trials_b.push(b.dim().0);
        half_a
            .index_axis_mut(Axis(0), i)
            .assign(&(a.sum_axis(Axis(0)) / a.dim().0 as f64));
        half_b
            .index_axis_mut(Axis(0), i)
            .assign(&(b.sum_axis(Axis(0)) / b.dim().0 as f64));
    }
    Ok(SplitHalves {
        half_a,
        half_b,
        trials_a,
        trials_b,
    })
}

/// Cross-temporal discriminability of `[trials, time, units]` rates of two
/// or more stimulus conditions: split halves ([`split_half_means`]), pairwise
/// differences, their correlation r between half A at t1 and half B at t2
/// (Pearson for two conditions), Fisher z.
/// See the module docs for the definition, shapes and NaN/∞ cases.
///
/// # Errors
/// As [`split_half_means`], plus [`AnalysisError::TooFew`] for fewer than
/// 3 units.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use wm_analysis::discriminability::cross_temporal_discriminability;
///
/// // 2 conditions × 6 trials × 4 time points × 5 units; the cue moves unit u by ±u.
/// let cond = |sign: f64| {
///     Array3::from_shape_fn((6, 4, 5), |(k, t, u)| {
///         1.0 + sign * u as f64 * (t >= 1) as u8 as f64 + 0.01 * ((k * 7 + u * 3) % 5) as f64
///     })
/// };
/// let (a, b) = (cond(1.0), cond(-1.0));
/// let d = cross_temporal_discriminability(&[a.view(), b.view()]).unwrap();
/// assert_eq!(d.r.dim(), (4, 4));
/// assert!(d.r[[1, 3]] > 0.99 && d.z[[1, 3]] > 2.0); // the cue pattern persists
/// ```
pub fn cross_temporal_discriminability(conditions: &[ArrayView3<f64>]) -> Result<Discriminability> {
    split_half_means(conditions)?.discriminability()
}

/// Cross-temporal discriminability from precomputed half means,
/// `[conditions, time, units]` each (e.g. [`SplitHalves::half_a`] and
/// [`SplitHalves::half_b`], or halves split another way).
///
/// # Errors
/// [`AnalysisError::ShapeMismatch`] if the shapes differ;
/// [`AnalysisError::TooFew`] for fewer than 2 conditions, no time points, or
/// fewer than 3 units; [`AnalysisError::NonFinite`] for NaN/±∞.
pub fn discriminability_from_halves(
    half_a: ArrayView3<f64>,
    half_b: ArrayView3<f64>,
) -> Result<Discriminability> {
    if half_a.dim() != half_b.dim() {
        return Err(AnalysisError::shape(
            "half_b",
            format!("{:?} (as half_a)", half_a.dim()),
            format!("{:?}", half_b.dim()),
        ));
    }
    let (k, t, n) = half_a.dim();
    ensure_at_least("conditions", 2, k)?;
    ensure_at_least("time points", 1, t)?;
    let pairs = k * (k - 1) / 2;
    ensure_at_least("units (correlation across units)", 3, n)?;
    ensure_finite("half_a", half_a.iter())?;
    ensure_finite("half_b", half_b.iter())?;
    let da = standardized_differences(half_a);
    let db = standardized_differences(half_b);
    let mut r = da.dot(&db.t());
    r.mapv_inplace(|v| v.clamp(-1.0, 1.0)); // NaN stays NaN
    let z = r.mapv(f64::atanh);
    Ok(Discriminability {
        r,
        z,
        n_units: n,
        n_pairs: pairs,
    })
}

/// `[time, pairs·units]`: each row holds the pairwise differences at that
/// time, each pair's block centred across units, the whole row scaled to unit
/// norm (a NaN row if every block is constant).
fn standardized_differences(half: ArrayView3<f64>) -> Array2<f64> {
    let (k, t, n) = half.dim();
    let pairs = k * (k - 1) / 2;
    let mut d = Array2::zeros((t, pairs * n));
    let mut col = 0;
    for a in 0..k {
        for b in a + 1..k {
            let mut block = d.slice_mut(s![.., col..col + n]);
            block.assign(&(&half.index_axis(Axis(0), a) - &half.index_axis(Axis(0), b)));
            for mut row in block.axis_iter_mut(Axis(0)) {
                centre(&mut row);
            }
            col += n;
        }
    }
    for mut row in d.axis_iter_mut(Axis(0)) {
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 && norm.is_finite() {
            row.mapv_inplace(|v| v / norm);
        } else {
            row.fill(f64::NAN);
        }
    }
    d
}

/// Remove the mean; a constant vector becomes exactly 0 (no rounding residue).
fn centre(row: &mut ndarray::ArrayViewMut1<f64>) {
    let first = row[0];
    if row.iter().all(|&v| v == first) {
        row.fill(0.0);
        return;
    }
    let mean = row.sum() / row.len() as f64;
    row.mapv_inplace(|v| v - mean);
}

/// Mean of the Fisher-z map over a block of times, ignoring NaN (e.g. the
/// delay × delay block): `z[t1, t2]` for t1 in `rows`, t2 in `cols`. NaN if
/// every entry is NaN; ±∞ entries are kept.
///
/// # Errors
/// [`AnalysisError::InvalidParameter`] if a range exceeds the map.
pub fn mean_z_in_block(
    z: ArrayView2<f64>,
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
) -> Result<f64> {
    let (t1, t2) = z.dim();
    if rows.start > rows.end || rows.end > t1 {
        return Err(AnalysisError::invalid(
            "rows",
            format!("{rows:?}"),
            format!("a range within 0..{t1}"),
        ));
    }
    if cols.start > cols.end || cols.end > t2 {
        return Err(AnalysisError::invalid(
            "cols",
            format!("{cols:?}"),
            format!("a range within 0..{t2}"),
        ));
    }
    let (s, c) = z
        .slice(s![rows, cols])
        .iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    Ok(if c == 0 { f64::NAN } else { s / c as f64 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::Array1;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Slow reference: explicit loops, the formula of the module docs, no shared code.
    fn slow_reference(conds: &[Array3<f64>]) -> Array2<f64> {
        let k = conds.len();
        let (_, t, n) = conds[0].dim();
        let half_mean = |c: &Array3<f64>, parity: usize, time: usize, unit: usize| {
            let mut s = 0.0;
            let mut m = 0;
            for tr in 0..c.dim().0 {
                if tr % 2 == parity {
                    s += c[[tr, time, unit]];
                    m += 1;
                }
            }
            s / m as f64
        };
        // One centred difference vector per pair.
        let diffs = |parity: usize, time: usize| {
            let mut out = Vec::new();
            for a in 0..k {
                for b in a + 1..k {
                    let v: Vec<f64> = (0..n)
                        .map(|u| {
                            half_mean(&conds[a], parity, time, u)
                                - half_mean(&conds[b], parity, time, u)
                        })
                        .collect();
                    let m = v.iter().sum::<f64>() / n as f64;
                    out.push(v.iter().map(|x| x - m).collect::<Vec<f64>>());
                }
            }
            out
        };
        // Pooled within-pair correlation; for one pair, the textbook Pearson r.
        let pooled = |x: &[Vec<f64>], y: &[Vec<f64>]| {
            let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
            for p in 0..x.len() {
                for i in 0..n {
                    sxy += x[p][i] * y[p][i];
                    sxx += x[p][i] * x[p][i];
                    syy += y[p][i] * y[p][i];
                }
            }
            sxy / (sxx * syy).sqrt()
        };
        Array2::from_shape_fn((t, t), |(t1, t2)| pooled(&diffs(0, t1), &diffs(1, t2)))
    }

    fn random_conditions(
        rng: &mut ChaCha8Rng,
        k: usize,
        trials: usize,
        t: usize,
        n: usize,
    ) -> Vec<Array3<f64>> {
        (0..k)
            .map(|_| Array3::from_shape_fn((trials, t, n), |_| rng.random_range(0.0..10.0)))
            .collect()
    }

    #[test]
    fn matches_slow_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (k, trials, t, n) in [(2, 6, 7, 9), (3, 5, 4, 3), (4, 2, 3, 5)] {
            let conds = random_conditions(&mut rng, k, trials, t, n);
            let views: Vec<_> = conds.iter().map(|c| c.view()).collect();
            let d = cross_temporal_discriminability(&views).unwrap();
            let want = slow_reference(&conds);
            assert_eq!(d.n_pairs, k * (k - 1) / 2);
            for ((got, want), z) in d.r.iter().zip(want.iter()).zip(d.z.iter()) {
                assert_abs_diff_eq!(*got, *want, epsilon = 1e-12);
                assert_abs_diff_eq!(*z, 0.5 * ((1.0 + want) / (1.0 - want)).ln(), epsilon = 1e-9);
            }
        }
    }

    #[test]
    fn rotating_code_gives_cosine_closed_form() {
        // Noise-free trials; difference vector D(t) = cos(ωt)·u + sin(ωt)·w with u, w
        // centred and orthonormal, so r(t1, t2) = cos(ω(t1 − t2)) exactly.
        let n = 4;
        let u = Array1::from(vec![0.5, 0.5, -0.5, -0.5]);
        let w = Array1::from(vec![0.5, -0.5, 0.5, -0.5]);
        let omega = 0.3;
        let t = 12;
        let cond = |sign: f64| {
            Array3::from_shape_fn((4, t, n), |(_, tt, i)| {
                let th = omega * tt as f64;
                3.0 + sign * 0.5 * (th.cos() * u[i] + th.sin() * w[i])
            })
        };
        let (a, b) = (cond(1.0), cond(-1.0));
        let d = cross_temporal_discriminability(&[a.view(), b.view()]).unwrap();
        for ((t1, t2), &r) in d.r.indexed_iter() {
            assert_abs_diff_eq!(r, (omega * (t1 as f64 - t2 as f64)).cos(), epsilon = 1e-12);
        }
        // Diagonal: r = 1 exactly (clamped), z = +∞, as documented.
        assert!(d.r.diag().iter().all(|&r| (r - 1.0).abs() < 1e-14));
        assert!(d.z[[3, 3]] > 15.0);
    }

    #[test]
    fn constant_difference_gives_nan_row_and_column() {
        // Identical responses to both cues at t = 0 (before the cue): D(0) ≡ 0.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut conds = random_conditions(&mut rng, 2, 4, 3, 6);
        let first = conds[0].slice(s![.., 0, ..]).to_owned();
        conds[1].slice_mut(s![.., 0, ..]).assign(&first);
        let d = cross_temporal_discriminability(&[conds[0].view(), conds[1].view()]).unwrap();
        assert!(d.r.row(0).iter().all(|v| v.is_nan()));
        assert!(d.r.column(0).iter().all(|v| v.is_nan()));
        assert!(d.z[[0, 2]].is_nan());
        assert!(d.r[[1, 2]].is_finite());
        assert!(mean_z_in_block(d.z.view(), 1..3, 1..3).unwrap().is_finite());
        assert!(mean_z_in_block(d.z.view(), 0..1, 0..3).unwrap().is_nan());
    }

    #[test]
    fn unit_subsets() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let conds = random_conditions(&mut rng, 2, 6, 5, 10);
        let views: Vec<_> = conds.iter().map(|c| c.view()).collect();
        let halves = split_half_means(&views).unwrap();
        assert_eq!(
            (halves.trials_a.clone(), halves.trials_b.clone()),
            (vec![3, 3], vec![3, 3])
        );
        let sub = [7, 2, 4, 9];
        let got = halves.discriminability_of(&sub).unwrap();
        let picked: Vec<Array3<f64>> = conds.iter().map(|c| c.select(Axis(2), &sub)).collect();
        let want = slow_reference(&picked);
        for (g, w) in got.r.iter().zip(want.iter()) {
            assert_abs_diff_eq!(*g, *w, epsilon = 1e-12);
        }
        assert_eq!(got.n_units, 4);
        assert!(matches!(
            halves.discriminability_of(&[0, 10]),
            Err(AnalysisError::InvalidParameter { .. })
        ));
        assert!(matches!(
            halves.discriminability_of(&[0, 1]),
            Err(AnalysisError::TooFew { .. })
        ));
    }

    #[test]
    fn bad_input_is_an_error() {
        let a = Array3::<f64>::zeros((4, 3, 5));
        assert!(matches!(
            cross_temporal_discriminability(&[a.view()]),
            Err(AnalysisError::TooFew { .. })
        ));
        let b = Array3::<f64>::zeros((4, 3, 4));
        assert!(matches!(
            cross_temporal_discriminability(&[a.view(), b.view()]),
            Err(AnalysisError::ShapeMismatch { .. })
        ));
        let one = Array3::<f64>::zeros((1, 3, 5));
        assert!(matches!(
            cross_temporal_discriminability(&[a.view(), one.view()]),
            Err(AnalysisError::TooFew { .. })
        ));
        let empty_t = Array3::<f64>::zeros((4, 0, 5));
        assert!(cross_temporal_discriminability(&[empty_t.view(), empty_t.view()]).is_err());
        let empty_n = Array3::<f64>::zeros((4, 3, 0));
        assert!(cross_temporal_discriminability(&[empty_n.view(), empty_n.view()]).is_err());
        let two_units = Array3::<f64>::zeros((4, 3, 2));
        assert!(matches!(
            cross_temporal_discriminability(&[two_units.view(), two_units.view()]),
            Err(AnalysisError::TooFew { .. })
        ));
        let mut nan = a.clone();
        nan[[1, 1, 1]] = f64::NAN;
        assert!(matches!(
            cross_temporal_discriminability(&[a.view(), nan.view()]),
            Err(AnalysisError::NonFinite { .. })
        ));
        // All-equal (zero-variance) data: a map of NaN, not a panic.
        let d = cross_temporal_discriminability(&[a.view(), a.view()]).unwrap();
        assert!(d.r.iter().all(|v| v.is_nan()));
        assert!(
            discriminability_from_halves(
                Array3::zeros((2, 3, 4)).view(),
                Array3::zeros((2, 3, 5)).view()
            )
            .is_err()
        );
        assert!(
            discriminability_from_halves(
                Array3::zeros((1, 3, 4)).view(),
                Array3::zeros((1, 3, 4)).view()
            )
            .is_err()
        );
        assert!(mean_z_in_block(Array2::zeros((3, 3)).view(), 0..4, 0..1).is_err());
        assert!(mean_z_in_block(Array2::zeros((3, 3)).view(), 0..1, 2..5).is_err());
    }

    fn conditions() -> impl Strategy<Value = Vec<Array3<f64>>> {
        (2usize..4, 2usize..6, 1usize..6, 3usize..8, any::<u64>()).prop_map(
            |(k, trials, t, n, seed)| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                random_conditions(&mut rng, k, trials, t, n)
            },
        )
    }

    fn close(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-10
    }

    proptest! {
        /// Swapping (or otherwise reordering) the conditions flips the sign of every
        /// pairwise difference in both halves at once, so r is unchanged.
        #[test]
        fn symmetric_under_swapping_conditions(conds in conditions(), shift in 1usize..4) {
            let k = conds.len();
            let views: Vec<_> = conds.iter().map(|c| c.view()).collect();
            let rotated: Vec<_> = (0..k).map(|i| conds[(i + shift) % k].view()).collect();
            let reversed: Vec<_> = views.iter().rev().cloned().collect();
            let d = cross_temporal_discriminability(&views).unwrap();
            for other in [rotated, reversed] {
                let e = cross_temporal_discriminability(&other).unwrap();
                for (x, y) in d.r.iter().zip(e.r.iter()) {
                    prop_assert!(close(*x, *y), "{} vs {}", x, y);
                }
            }
        }

        /// Units are a set (permuting them changes nothing), a positive affine
        /// change of rate units (a·x + b, a > 0) changes nothing, and swapping the
        /// halves transposes the map.
        #[test]
        fn invariances(conds in conditions(), scale in 0.01f64..100.0, offset in -50.0f64..50.0, seed in any::<u64>()) {
            let views: Vec<_> = conds.iter().map(|c| c.view()).collect();
            let halves = split_half_means(&views).unwrap();
            let d = halves.discriminability().unwrap();
            let n = halves.n_units();
            let mut order: Vec<usize> = (0..n).collect();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            for i in (1..n).rev() {
                order.swap(i, rng.random_range(0..=i));
            }
            let p = halves.discriminability_of(&order).unwrap();
            let scaled: Vec<Array3<f64>> = conds.iter().map(|c| c.mapv(|v| scale * v + offset)).collect();
            let sv: Vec<_> = scaled.iter().map(|c| c.view()).collect();
            let s = cross_temporal_discriminability(&sv).unwrap();
            let swapped = discriminability_from_halves(halves.half_b.view(), halves.half_a.view()).unwrap();
            for ((t1, t2), &x) in d.r.indexed_iter() {
                prop_assert!(close(x, p.r[[t1, t2]]));
                prop_assert!(close(x, s.r[[t1, t2]]) || (x - s.r[[t1, t2]]).abs() < 1e-8);
                prop_assert!(close(x, swapped.r[[t2, t1]]));
                prop_assert!(x.is_nan() || x.abs() <= 1.0);
            }
        }
    }
}
