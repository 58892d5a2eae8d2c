//! Sequentiality index (SI) of Orhan & Ma (2019), and peak-time helpers for heat maps.
//!
//! The SI scores how "sequential" a population response is: a high SI means the
//! units' peak times tile the trial evenly (high peak-time entropy) *and* each
//! unit is active in a narrow ridge around its peak (high ridge-to-background
//! ratio). This is a faithful port of `utils.compute_SI` of
//! the original code (github.com/eminorhan/recurrent-memory), including its quirks:
//!
//! * active units are chosen per trial (mean over all steps > `activity_threshold`);
//! * the peak is the *first* argmax;
//! * the ridge is the half-open window `[clip(p − w), clip(p + w))` with
//!   `w = window / 2` and `clip` to `[0, T − 1]`, so at `p = T − 1` the ridge
//!   excludes the peak itself; the background is the mean over all other steps;
//! * the peak-time entropy uses numpy-histogram semantics: `bins` equal bins over
//!   `[min p, max p]` (or `[p − 0.5, p + 0.5]` when all peaks are equal, `[0, 1]`
//!   when there are none), the last bin closed; `pseudo_count` is added to every
//!   bin before normalising; the entropy is in nats;
//! * the ridge-to-background log ratios are averaged with a *nanmean*
//!   (NaN dropped, ±∞ kept), so a zero background gives SI = +∞.
//!
//! Activity arrays are `[time, units]` for one trial and `[trials, time, units]`
//! for a batch, in the network's own activity units (e.g. ReLU rates).

use ndarray::{Array2, ArrayView1, ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{AnalysisError, Result, ensure_at_least, ensure_finite};

/// Parameters of the sequentiality index. The defaults are the paper's
/// (`bins = 20`, `window = 5`, `r_threshold = 0.1`, pseudo-count 0.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiParams {
    /// Number of equal-width peak-time histogram bins (≥ 1). The entropy is at
    /// most `ln(bins)` nats.
    pub bins: usize,
    /// Ridge window length in steps (≥ 2); the half-width is `window / 2`
    /// (integer division), so 5 gives a ridge of the 4 steps `p − 2 … p + 1`.
    pub window: usize,
    /// A unit is active in a trial if its mean activity over all steps is
    /// strictly greater than this (same units as the activity; finite).
    pub activity_threshold: f64,
    /// Count added to every histogram bin before normalising (finite, > 0).
    pub pseudo_count: f64,
}

impl Default for SiParams {
    fn default() -> Self {
        Self {
            bins: 20,
            window: 5,
            activity_threshold: 0.1,
            pseudo_count: 0.1,
        }
    }
}

impl SiParams {
    /// Check that every parameter is in its allowed range.
    pub fn validate(&self) -> Result<()> {
        if self.bins < 1 {
            return Err(AnalysisError::invalid("bins", self.bins, ">= 1"));
        }
        if self.window < 2 {
            return Err(AnalysisError::invalid(
                "window",
                self.window,
                ">= 2 (half-width window/2 >= 1)",
            ));
        }
        if !self.activity_threshold.is_finite() {
            return Err(AnalysisError::invalid(
                "activity_threshold",
                self.activity_threshold,
                "finite",
            ));
        }
        if !(self.pseudo_count.is_finite() && self.pseudo_count > 0.0) {
            return Err(AnalysisError::invalid(
                "pseudo_count",
                self.pseudo_count,
                "finite and > 0",
            ));
        }
        Ok(())
    }
}

/// The sequentiality index of one trial and its two parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiTrial {
    /// Peak-time entropy of the active units, in nats (≤ ln `bins`). With no
    /// active units this is `ln(bins)` (an empty histogram plus pseudo-counts).
    pub entropy_nats: f64,
    /// nanmean over active units of `ln(ridge) − ln(background)` (dimensionless).
    /// NaN when there are no active units (or all ratios are NaN); +∞ when some
    /// unit has a zero background and none has −∞.
    pub mean_log_ridge_to_background: f64,
    /// `entropy_nats + mean_log_ridge_to_background`; NaN with no active units.
    pub si: f64,
    /// Number of active units (mean activity > `activity_threshold`).
    pub n_active: usize,
}

/// The sequentiality index of a batch of trials.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiSummary {
    /// SI of each trial, in trial order (may hold NaN or +∞, see [`SiTrial`]).
    pub per_trial: Vec<f64>,
    /// The network SI: nanmean of `per_trial` (NaN dropped, ∞ kept; NaN if every
    /// trial is NaN).
    pub si: f64,
    /// How many trials have SI = NaN (typically: no active unit).
    pub n_nan: usize,
    /// How many trials have an infinite SI (typically: a zero background).
    pub n_inf: usize,
}

/// Sequentiality index of one trial (Orhan & Ma 2019, Methods).
///
/// `activity` is `[time, units]` (T ≥ 2 steps, N ≥ 1 units), finite. Returns the
/// entropy, the mean log ridge-to-background ratio, their sum (the SI) and the
/// number of active units. A trial with no active unit has SI = NaN; a zero
/// background gives +∞ (both documented, not errors).
///
/// # Errors
/// [`AnalysisError::InvalidParameter`] for bad `params`,
/// [`AnalysisError::TooFew`] for T < 2 or N = 0,
/// [`AnalysisError::NonFinite`] if `activity` holds NaN or ±∞.
pub fn sequentiality_index_trial(activity: ArrayView2<f64>, params: &SiParams) -> Result<SiTrial> {
    params.validate()?;
    let (t, n) = activity.dim();
    check_dims(t, n)?;
    ensure_finite("activity", activity.iter())?;
    Ok(si_trial_unchecked(activity, params))
}

/// Sequentiality index of a batch of trials (Orhan & Ma 2019): the SI of every trial
/// and their nanmean, the network SI.
///
/// `activity` is `[trials, time, units]` (≥ 1 trial, T ≥ 2, N ≥ 1), finite; these
/// are single-trial responses, not trial averages. Trials are processed in
/// parallel.
///
/// # Errors
/// As [`sequentiality_index_trial`], plus [`AnalysisError::TooFew`] for zero trials.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use wm_analysis::sequentiality::{SiParams, sequentiality_index};
///
/// // 2 trials, 150 steps, 500 units: unit i peaks at step 0.3·i (a clean sequence).
/// let h = Array3::from_shape_fn((2, 150, 500), |(_, t, i)| {
///     let d = t as f64 - 0.3 * i as f64;
///     5.0 * (-d * d / 18.0).exp()
/// });
/// let s = sequentiality_index(h.view(), &SiParams::default()).unwrap();
/// assert_eq!(s.per_trial.len(), 2);
/// assert!((s.si - 6.567894).abs() < 1e-6);
/// assert_eq!((s.n_nan, s.n_inf), (0, 0));
/// ```
pub fn sequentiality_index(activity: ArrayView3<f64>, params: &SiParams) -> Result<SiSummary> {
    params.validate()?;
    let (b, t, n) = activity.dim();
    ensure_at_least("trials", 1, b)?;
    check_dims(t, n)?;
    ensure_finite("activity", activity.iter())?;
    let per_trial: Vec<f64> = (0..b)
        .into_par_iter()
        .map(|k| si_trial_unchecked(activity.index_axis(Axis(0), k), params).si)
        .collect();
    let n_nan = per_trial.iter().filter(|v| v.is_nan()).count();
    let n_inf = per_trial.iter().filter(|v| v.is_infinite()).count();
    let si = nanmean(per_trial.iter().copied());
    Ok(SiSummary {
        per_trial,
        si,
        n_nan,
        n_inf,
    })
}

/// Peak time (first argmax over time) of every unit of a `[time, units]` array,
/// in steps. NaN entries are skipped; a unit with no finite value (or T = 0)
/// gets peak 0. Never panics.
pub fn peak_times(activity: ArrayView2<f64>) -> Vec<usize> {
    activity.axis_iter(Axis(1)).map(first_argmax).collect()
}

/// Units of a `[time, units]` array sorted by peak time (first argmax), earliest
/// first; ties keep unit-index order (stable). Used to order heat-map rows and
/// the weight profile. Peaks are as in [`peak_times`]. Never panics.
pub fn peak_time_order(activity: ArrayView2<f64>) -> Vec<usize> {
    let peaks = peak_times(activity);
    let mut order: Vec<usize> = (0..peaks.len()).collect();
    order.sort_by_key(|&i| peaks[i]);
    order
}

/// Each unit (column) of a `[time, units]` array divided by its maximum over
/// time, so every responsive unit peaks at 1 (for sequence heat maps). A unit
/// whose maximum is not > 0 (a silent ReLU unit) is returned unchanged, so a
/// silent unit stays 0. NaN entries are ignored for the maximum and stay NaN.
/// Output shape = input shape.
pub fn normalized_by_peak(activity: ArrayView2<f64>) -> Array2<f64> {
    let mut out = activity.to_owned();
    for mut col in out.axis_iter_mut(Axis(1)) {
        let max = col
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .fold(f64::NEG_INFINITY, f64::max);
        if max > 0.0 && max.is_finite() {
            col.mapv_inplace(|v| v / max);
        }
    }
    out
}

fn check_dims(t: usize, n: usize) -> Result<()> {
    ensure_at_least("time steps", 2, t)?;
    ensure_at_least("units", 1, n)?;
    Ok(())
}

/// Index of the first maximum; NaN skipped; 0 if nothing finite-comparable.
fn first_argmax(x: ArrayView1<f64>) -> usize {
    let mut best = 0;
    let mut best_v = f64::NAN;
    for (i, &v) in x.iter().enumerate() {
        if !v.is_nan() && (best_v.is_nan() || v > best_v) {
            best = i;
            best_v = v;
        }
    }
    best
}

/// Mean of the non-NaN values (±∞ kept); NaN when there are none.
fn nanmean(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut count) = (0.0, 0usize);
    for v in values.filter(|v| !v.is_nan()) {
        sum += v;
        count += 1;
    }
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// SI of one validated trial (`[time, units]`, T ≥ 2, finite, valid params).
fn si_trial_unchecked(activity: ArrayView2<f64>, params: &SiParams) -> SiTrial {
    let t = activity.nrows();
    let w = params.window / 2;
    let mut peaks = Vec::new();
    let mut r2b = Vec::new();
    for col in activity.axis_iter(Axis(1)) {
        let total: f64 = col.sum();
        if total / t as f64 <= params.activity_threshold {
            continue;
        }
        let p = first_argmax(col);
        // Half-open ridge [clip(p − w), clip(p + w)) with clip to [0, T − 1].
        let start = p.saturating_sub(w).min(t - 1);
        let end = (p + w).min(t - 1);
        let (mut ridge, mut back) = (0.0, 0.0);
        for (k, &v) in col.iter().enumerate() {
            if (start..end).contains(&k) {
                ridge += v;
            } else {
                back += v;
            }
        }
        // With T ≥ 2 and w ≥ 1 the ridge is non-empty and never contains T − 1.
        let ridge = ridge / (end - start) as f64;
        let back = back / (t - (end - start)) as f64;
        peaks.push(p);
        r2b.push(ridge.ln() - back.ln());
    }
    let entropy_nats = peak_entropy(&peaks, params.bins, params.pseudo_count);
    let mean_r2b = nanmean(r2b.iter().copied());
    SiTrial {
        entropy_nats,
        mean_log_ridge_to_background: mean_r2b,
        si: entropy_nats + mean_r2b,
        n_active: peaks.len(),
    }
}

/// numpy `histogram(peaks, bins)` counts (uniform-bin fast path, reproduced
/// step by step), plus a pseudo-count, then the Shannon entropy in nats.
fn peak_entropy(peaks: &[usize], bins: usize, pseudo: f64) -> f64 {
    let counts = numpy_histogram_counts(peaks, bins);
    let probs: Vec<f64> = counts.iter().map(|&c| c as f64 + pseudo).collect();
    let total: f64 = probs.iter().sum();
    -probs
        .iter()
        .map(|&c| c / total)
        .map(|p| p * p.ln())
        .sum::<f64>()
}

fn numpy_histogram_counts(values: &[usize], bins: usize) -> Vec<usize> {
    let mut counts = vec![0usize; bins];
    let (first, last) = match (values.iter().min(), values.iter().max()) {
        (Some(&lo), Some(&hi)) if lo == hi => (lo as f64 - 0.5, hi as f64 + 0.5),
        (Some(&lo), Some(&hi)) => (lo as f64, hi as f64),
        _ => return counts, // numpy uses range (0, 1) for empty input: all counts 0.
    };
    // np.linspace(first, last, bins + 1): i·step + first, last edge exactly `last`.
    let step = (last - first) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + first).collect();
    edges[bins] = last;
    let denom = last - first;
    for &v in values {
        let x = v as f64;
        // Truncation toward zero, like numpy's astype(intp); x ≥ first so ≥ 0.
        let mut idx = (((x - first) / denom) * bins as f64) as usize;
        if idx == bins {
            idx -= 1;
        }
        if x < edges[idx] {
            idx -= 1;
        }
        if x >= edges[idx + 1] && idx != bins - 1 {
            idx += 1;
        }
        counts[idx] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::{Array3, s};
    use proptest::prelude::*;

    const T: usize = 150;
    const N: usize = 500;

    fn vec_b() -> Array2<f64> {
        Array2::from_shape_fn((T, N), |(t, i)| {
            let d = t as f64 - 0.3 * i as f64;
            5.0 * (-d * d / 18.0).exp()
        })
    }
    fn vec_a() -> Array2<f64> {
        Array2::ones((T, N))
    }
    fn vec_c() -> Array2<f64> {
        Array2::from_shape_fn((T, N), |(t, _)| (1.0 - 0.005 * t as f64).max(0.0))
    }
    fn vec_d() -> Array2<f64> {
        Array2::from_shape_fn((T, N), |(t, _)| if t >= 25 { 2.0 } else { 0.0 })
    }
    fn si(a: &Array2<f64>) -> SiTrial {
        sequentiality_index_trial(a.view(), &SiParams::default()).unwrap()
    }

    #[test]
    fn vector_a_constant() {
        let r = si(&vec_a());
        assert_abs_diff_eq!(r.entropy_nats, 0.036029, epsilon = 1e-6);
        assert_abs_diff_eq!(r.mean_log_ridge_to_background, 0.0, epsilon = 1e-12);
        assert_abs_diff_eq!(r.si, 0.036029, epsilon = 1e-6);
        assert_eq!(r.n_active, N);
    }

    #[test]
    fn vector_b_gaussian_sequence() {
        let r = si(&vec_b());
        assert_abs_diff_eq!(r.entropy_nats, 2.992481, epsilon = 1e-6);
        assert_abs_diff_eq!(r.mean_log_ridge_to_background, 3.575413, epsilon = 1e-6);
        assert_abs_diff_eq!(r.si, 6.567894, epsilon = 1e-6);
        assert_eq!(r.n_active, N);
    }

    #[test]
    fn vector_c_linear_decay() {
        assert_abs_diff_eq!(si(&vec_c()).si, 0.507538, epsilon = 1e-6);
    }

    #[test]
    fn vector_d_step() {
        let r = si(&vec_d());
        assert_abs_diff_eq!(r.entropy_nats, 0.036029, epsilon = 1e-6);
        assert_abs_diff_eq!(r.mean_log_ridge_to_background, -0.521725, epsilon = 1e-6);
    }

    #[test]
    fn batched_b_a_d() {
        let mut h = Array3::zeros((3, T, N));
        h.slice_mut(s![0, .., ..]).assign(&vec_b());
        h.slice_mut(s![1, .., ..]).assign(&vec_a());
        h.slice_mut(s![2, .., ..]).assign(&vec_d());
        let r = sequentiality_index(h.view(), &SiParams::default()).unwrap();
        assert_abs_diff_eq!(r.si, 2.039409, epsilon = 1e-6);
        assert_abs_diff_eq!(r.per_trial[0], 6.567894, epsilon = 1e-6);
        assert_eq!((r.n_nan, r.n_inf), (0, 0));
    }

    #[test]
    fn no_active_units_is_nan() {
        let h = Array2::from_elem((T, 7), 0.05);
        let r = si(&h);
        assert!(r.si.is_nan());
        assert!(r.mean_log_ridge_to_background.is_nan());
        assert_abs_diff_eq!(r.entropy_nats, 20f64.ln(), epsilon = 1e-12);
        assert_eq!(r.n_active, 0);

        // In a batch, a NaN trial is counted and dropped by the nanmean.
        let mut b = Array3::zeros((2, T, N));
        b.slice_mut(s![1, .., ..]).assign(&vec_b());
        let r = sequentiality_index(b.view(), &SiParams::default()).unwrap();
        assert_eq!(r.n_nan, 1);
        assert!(r.per_trial[0].is_nan());
        assert_abs_diff_eq!(r.si, 6.567894, epsilon = 1e-6);

        let all_nan =
            sequentiality_index(Array3::zeros((2, 10, 3)).view(), &SiParams::default()).unwrap();
        assert!(all_nan.si.is_nan());
        assert_eq!(all_nan.n_nan, 2);
    }

    #[test]
    fn zero_background_is_inf() {
        // One unit active only inside its ridge: peak at 10, ridge [8, 12), background 0.
        let mut h = Array2::zeros((T, 3));
        for (t, v) in [(8, 5.0), (9, 5.0), (10, 20.0), (11, 5.0)] {
            h[[t, 0]] = v;
        }
        h.column_mut(1).fill(1.0);
        let r = si(&h);
        assert_eq!(r.si, f64::INFINITY);
        let b = h.insert_axis(Axis(0));
        let r = sequentiality_index(b.view(), &SiParams::default()).unwrap();
        assert_eq!((r.n_inf, r.n_nan), (1, 0));
        assert_eq!(r.si, f64::INFINITY);
    }

    #[test]
    fn peak_at_last_step_excludes_peak_from_ridge() {
        // T = 6, peak at 5: ridge [3, 5) = steps 3, 4; background = steps 0, 1, 2, 5.
        let col = [0.0, 0.0, 0.0, 1.0, 2.0, 9.0];
        let h = Array2::from_shape_fn((6, 1), |(t, _)| col[t]);
        let r = si(&h);
        let expect = (1.5f64).ln() - (9.0f64 / 4.0).ln();
        assert_abs_diff_eq!(r.mean_log_ridge_to_background, expect, epsilon = 1e-12);
    }

    #[test]
    fn histogram_matches_numpy() {
        // np.histogram([0, 1, 2, 3], bins=3) -> [1, 1, 2] (last bin closed).
        assert_eq!(numpy_histogram_counts(&[0, 1, 2, 3], 3), vec![1, 1, 2]);
        // Equal values: range [p - 0.5, p + 0.5], value lands in the middle bin.
        assert_eq!(numpy_histogram_counts(&[4, 4], 4), vec![0, 0, 2, 0]);
        // np.histogram([0, 10], bins=20) -> first and last bins.
        let c = numpy_histogram_counts(&[0, 10, 5], 20);
        assert_eq!((c[0], c[10], c[19], c.iter().sum::<usize>()), (1, 1, 1, 3));
        assert_eq!(numpy_histogram_counts(&[], 5), vec![0; 5]);
    }

    #[test]
    fn bad_input_is_an_error() {
        let p = SiParams::default();
        assert!(matches!(
            sequentiality_index_trial(Array2::zeros((1, 3)).view(), &p),
            Err(AnalysisError::TooFew { .. })
        ));
        assert!(matches!(
            sequentiality_index_trial(Array2::zeros((5, 0)).view(), &p),
            Err(AnalysisError::TooFew { .. })
        ));
        assert!(matches!(
            sequentiality_index(Array3::zeros((0, 5, 3)).view(), &p),
            Err(AnalysisError::TooFew { .. })
        ));
        let mut h = Array2::zeros((5, 3));
        h[[2, 1]] = f64::NAN;
        assert!(matches!(
            sequentiality_index_trial(h.view(), &p),
            Err(AnalysisError::NonFinite { .. })
        ));
        for bad in [
            SiParams {
                bins: 0,
                ..p.clone()
            },
            SiParams {
                window: 1,
                ..p.clone()
            },
            SiParams {
                activity_threshold: f64::NAN,
                ..p.clone()
            },
            SiParams {
                pseudo_count: 0.0,
                ..p.clone()
            },
        ] {
            assert!(matches!(
                sequentiality_index_trial(Array2::zeros((5, 3)).view(), &bad),
                Err(AnalysisError::InvalidParameter { .. })
            ));
        }
    }

    #[test]
    fn peak_order_and_normalisation() {
        let h = ndarray::array![
            [0.0, 3.0, 1.0, 0.0],
            [2.0, 1.0, 1.0, 0.0],
            [1.0, 0.0, 4.0, 0.0]
        ];
        assert_eq!(peak_times(h.view()), vec![1, 0, 2, 0]);
        assert_eq!(peak_time_order(h.view()), vec![1, 3, 0, 2]);
        let n = normalized_by_peak(h.view());
        assert_eq!(n.column(0).to_vec(), vec![0.0, 1.0, 0.5]);
        assert_eq!(n.column(2).to_vec(), vec![0.25, 0.25, 1.0]);
        assert_eq!(n.column(3).to_vec(), vec![0.0; 3]);
        assert!(peak_time_order(Array2::<f64>::zeros((0, 3)).view()) == vec![0, 1, 2]);
    }

    /// Random non-negative `[time, units]` activity with T in 2..40, N in 1..25.
    fn activity() -> impl Strategy<Value = Array2<f64>> {
        (2usize..40, 1usize..25).prop_flat_map(|(t, n)| {
            proptest::collection::vec(prop_oneof![Just(0.0), 0.0f64..3.0], t * n)
                .prop_map(move |v| Array2::from_shape_vec((t, n), v).unwrap())
        })
    }

    fn same(a: f64, b: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-12 * (1.0 + a.abs())
    }

    proptest! {
        /// Units are a set: the histogram counts are order-free and the nanmean
        /// is a sum, so permuting columns changes the SI only by rounding.
        #[test]
        fn si_invariant_to_unit_permutation(
            (h, perm) in activity().prop_flat_map(|h| {
                let n = h.ncols();
                (Just(h), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
            })
        ) {
            let p = SiParams::default();
            let a = sequentiality_index_trial(h.view(), &p).unwrap();
            let b = sequentiality_index_trial(h.select(Axis(1), &perm).view(), &p).unwrap();
            prop_assert_eq!(a.n_active, b.n_active);
            prop_assert_eq!(a.entropy_nats, b.entropy_nats);
            prop_assert!(same(a.si, b.si), "{} vs {}", a.si, b.si);
        }

        /// Scaling activity and threshold by c = 2^k is exact in floating point,
        /// so the active set and peaks are identical and ln(c r) − ln(c b) = ln r − ln b
        /// up to rounding of the logarithms.
        #[test]
        fn si_invariant_to_scaling_with_threshold(h in activity(), k in -8i32..8) {
            let c = 2f64.powi(k);
            let p = SiParams::default();
            let q = SiParams { activity_threshold: p.activity_threshold * c, ..p.clone() };
            let a = sequentiality_index_trial(h.view(), &p).unwrap();
            let b = sequentiality_index_trial((&h * c).view(), &q).unwrap();
            prop_assert_eq!(a.n_active, b.n_active);
            prop_assert_eq!(a.entropy_nats, b.entropy_nats);
            prop_assert!(same(a.si, b.si) || (a.si - b.si).abs() < 1e-9, "{} vs {}", a.si, b.si);
        }

        /// Appending silent units (mean 0 ≤ threshold) leaves the SI exactly unchanged.
        #[test]
        fn silent_units_do_not_count(h in activity(), extra in 1usize..5) {
            let p = SiParams::default();
            let t = h.nrows();
            let wider = ndarray::concatenate(Axis(1), &[h.view(), Array2::zeros((t, extra)).view()]).unwrap();
            let a = sequentiality_index_trial(h.view(), &p).unwrap();
            let b = sequentiality_index_trial(wider.view(), &p).unwrap();
            prop_assert!(same(a.si, b.si));
            prop_assert!(a.entropy_nats <= (p.bins as f64).ln() + 1e-12);
        }
    }
}
