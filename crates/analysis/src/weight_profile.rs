//! Recurrent-weight profile along the peak-time order (Orhan & Ma 2019,
//! Fig. 6a,b).
//!
//! Order the (active) units by the peak time of their trial-averaged response,
//! `o_0, o_1, …` (earliest first), and average the recurrent weight between units
//! `k` positions apart: `P(k) = mean_a W[o_a, o_{a+k}]`.
//!
//! **Orientation.** Weight matrices follow the row-vector convention of the
//! original Lasagne code (github.com/eminorhan/recurrent-memory): `W[i, j]` is
//! the weight *from* presynaptic unit `i` *to* postsynaptic unit `j`
//! (`h_t = relu(h_{t−1} W + …)`). So `k > 0` measures connections
//! from earlier-peaking to later-peaking units (feed-forward along the
//! sequence), `k < 0` the backward connections, and `k = 0` the self-weights. A
//! forward asymmetry `P(k) > P(−k)` for small `k > 0` indicates feed-forward
//! chaining. If your matrix is in the column convention (`W[post, pre]`), pass its
//! transpose.

use ndarray::{Array2, ArrayView2, ArrayView3, Axis};
use serde::Serialize;

use crate::error::{AnalysisError, Result, ensure_at_least, ensure_finite};
use crate::sequentiality::peak_times;

/// Mean and spread of the recurrent weights as a function of the peak-order offset.
///
/// All vectors have length `2K + 1` for `max_offset = K`, indexed by
/// `offsets = [−K, …, K]`; entry `K` is the self-weight (`k = 0`) term.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightProfile {
    /// Offsets `k` in positions of the peak order, `−K..=K`.
    pub offsets: Vec<i64>,
    /// Mean of `W[o_a, o_{a+k}]` over all valid positions `a` (weight units). NaN
    /// when no pair is `|k|` apart (`|k| ≥ order.len()`).
    pub mean: Vec<f64>,
    /// Population standard deviation (ddof = 0, as numpy's `std`) of the same
    /// weights; 0 for a single pair, NaN for none.
    pub sd: Vec<f64>,
    /// Number of pairs averaged, `order.len() − |k|` (or 0).
    pub count: Vec<usize>,
}

impl WeightProfile {
    /// `(mean, sd, count)` at offset `k`, or `None` if `|k| > K`.
    pub fn at(&self, k: i64) -> Option<(f64, f64, usize)> {
        let i = self.offsets.iter().position(|&o| o == k)?;
        Some((self.mean[i], self.sd[i], self.count[i]))
    }
}

/// Profile of a recurrent weight matrix along a unit order (see the module docs
/// for the orientation).
///
/// * `w`: `[pre, post]` square weight matrix (N × N), finite.
/// * `order`: distinct unit indices (< N) sorted by peak time, earliest first,
///   typically the active units only (see [`active_peak_order`]). Units not in
///   `order` are ignored.
/// * `max_offset`: K; offsets `−K..=K` are reported. Offsets with no pair give
///   NaN mean and sd and count 0 (not an error).
///
/// # Errors
/// [`AnalysisError::ShapeMismatch`] if `w` is not square,
/// [`AnalysisError::NonFinite`] for NaN/∞ weights,
/// [`AnalysisError::TooFew`] for an empty `order`,
/// [`AnalysisError::InvalidParameter`] for an out-of-range or repeated index in
/// `order`, or `max_offset` beyond `i64` range.
pub fn weight_profile(
    w: ArrayView2<f64>,
    order: &[usize],
    max_offset: usize,
) -> Result<WeightProfile> {
    let (n, m) = w.dim();
    if n != m {
        return Err(AnalysisError::shape(
            "w",
            "square [pre, post] matrix",
            format!("{n}x{m}"),
        ));
    }
    ensure_finite("w", w.iter())?;
    ensure_at_least("order", 1, order.len())?;
    let mut seen = vec![false; n];
    for &u in order {
        if u >= n {
            return Err(AnalysisError::invalid(
                "order",
                u,
                format!("unit indices < {n}"),
            ));
        }
        if std::mem::replace(&mut seen[u], true) {
            return Err(AnalysisError::invalid(
                "order",
                u,
                "distinct unit indices (this one repeats)",
            ));
        }
    }
    let k_max = i64::try_from(max_offset)
        .ok()
        .filter(|k| *k < i64::MAX)
        .ok_or_else(|| AnalysisError::invalid("max_offset", max_offset, "< i64::MAX"))?;
    let len = order.len();
    let offsets: Vec<i64> = (-k_max..=k_max).collect();
    let mut mean = Vec::with_capacity(offsets.len());
    let mut sd = Vec::with_capacity(offsets.len());
    let mut count = Vec::with_capacity(offsets.len());
    for &k in &offsets {
        let d = k.unsigned_abs() as usize;
        let pairs = len.saturating_sub(d);
        // Positions a with both a and a + k in range.
        let pair = |i: usize| {
            let (a, b) = if k >= 0 { (i, i + d) } else { (i + d, i) };
            w[[order[a], order[b]]]
        };
        if pairs == 0 {
            mean.push(f64::NAN);
            sd.push(f64::NAN);
        } else {
            let mu = (0..pairs).map(pair).sum::<f64>() / pairs as f64;
            let var = (0..pairs).map(|i| (pair(i) - mu).powi(2)).sum::<f64>() / pairs as f64;
            mean.push(mu);
            sd.push(var.sqrt());
        }
        count.push(pairs);
    }
    Ok(WeightProfile {
        offsets,
        mean,
        sd,
        count,
    })
}

/// Peak-time order of the active units of a trial-averaged response.
///
/// `mean_activity` is `[time, units]` (already averaged over trials), finite.
/// A unit is active if its mean over time is strictly greater than `threshold`
/// (0.1 in the paper). Returns the active units' indices sorted by peak time
/// (first argmax), earliest first, ties in index order. May be empty.
///
/// # Errors
/// [`AnalysisError::TooFew`] for zero time steps, [`AnalysisError::NonFinite`]
/// for NaN/∞ activity or threshold.
pub fn active_peak_order(mean_activity: ArrayView2<f64>, threshold: f64) -> Result<Vec<usize>> {
    let t = mean_activity.nrows();
    ensure_at_least("time steps", 1, t)?;
    ensure_finite("mean_activity", mean_activity.iter())?;
    if !threshold.is_finite() {
        return Err(AnalysisError::invalid("threshold", threshold, "finite"));
    }
    let peaks = peak_times(mean_activity);
    let mut order: Vec<usize> = mean_activity
        .axis_iter(Axis(1))
        .enumerate()
        .filter(|(_, col)| col.sum() / t as f64 > threshold)
        .map(|(i, _)| i)
        .collect();
    order.sort_by_key(|&i| peaks[i]);
    Ok(order)
}

/// Average `[trials, time, units]` activity over trials and return the active
/// units' peak-time order, as [`active_peak_order`] (for an Orhan & Ma network: the
/// 300 saved test trials, or the trials of one condition).
///
/// # Errors
/// [`AnalysisError::TooFew`] for zero trials or steps, [`AnalysisError::NonFinite`]
/// for NaN/∞ values or threshold.
pub fn trial_averaged_peak_order(activity: ArrayView3<f64>, threshold: f64) -> Result<Vec<usize>> {
    let b = activity.len_of(Axis(0));
    ensure_at_least("trials", 1, b)?;
    let avg: Array2<f64> = activity.sum_axis(Axis(0)) / b as f64;
    active_peak_order(avg.view(), threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::Array3;
    use proptest::prelude::*;
    use rand::{SeedableRng, seq::SliceRandom};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    /// Slow reference: explicit double loop over ordered positions.
    fn reference(w: &Array2<f64>, order: &[usize], k_max: i64) -> Vec<(f64, f64, usize)> {
        let mut out = Vec::new();
        for k in -k_max..=k_max {
            let mut vals = Vec::new();
            for a in 0..order.len() as i64 {
                for b in 0..order.len() as i64 {
                    if b - a == k {
                        vals.push(w[[order[a as usize], order[b as usize]]]);
                    }
                }
            }
            let n = vals.len();
            if n == 0 {
                out.push((f64::NAN, f64::NAN, 0));
                continue;
            }
            let mu = vals.iter().sum::<f64>() / n as f64;
            let var = vals.iter().map(|v| (v - mu) * (v - mu)).sum::<f64>() / n as f64;
            out.push((mu, var.sqrt(), n));
        }
        out
    }

    fn assert_matches_reference(w: &Array2<f64>, order: &[usize], k_max: usize) {
        let p = weight_profile(w.view(), order, k_max).unwrap();
        let r = reference(w, order, k_max as i64);
        assert_eq!(p.offsets.len(), r.len());
        for (i, (mu, sd, n)) in r.into_iter().enumerate() {
            assert_eq!(p.offsets[i], i as i64 - k_max as i64);
            assert_eq!(p.count[i], n);
            if n == 0 {
                assert!(p.mean[i].is_nan() && p.sd[i].is_nan());
            } else {
                assert_abs_diff_eq!(p.mean[i], mu, epsilon = 1e-12);
                assert_abs_diff_eq!(p.sd[i], sd, epsilon = 1e-12);
            }
        }
    }

    #[test]
    fn random_matrix_matches_reference() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let n = 60;
        let w = Array2::from_shape_fn((n, n), |_| normal.sample(&mut rng));
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        order.truncate(45); // active subset
        assert_matches_reference(&w, &order, 20);
        assert_matches_reference(&w, &order, 50); // beyond the order length: NaN, count 0
    }

    #[test]
    fn banded_matrix_closed_form() {
        // W[o_a, o_b] = f(b − a) for a banded f: the profile is f exactly, sd 0.
        let f = |d: i64| match d {
            0 => 0.9,
            1 => 0.5,
            2 => 0.2,
            -1 => -0.1,
            _ => 0.0,
        };
        let n = 40;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        let mut w = Array2::zeros((n, n));
        for a in 0..n {
            for b in 0..n {
                w[[order[a], order[b]]] = f(b as i64 - a as i64);
            }
        }
        let p = weight_profile(w.view(), &order, 5).unwrap();
        for (i, &k) in p.offsets.iter().enumerate() {
            assert_abs_diff_eq!(p.mean[i], f(k), epsilon = 1e-14);
            assert_abs_diff_eq!(p.sd[i], 0.0, epsilon = 1e-14);
            assert_eq!(p.count[i], n - k.unsigned_abs() as usize);
        }
        let (m1, _, c1) = p.at(1).unwrap();
        assert_abs_diff_eq!(m1, 0.5, epsilon = 1e-14);
        assert_eq!(c1, n - 1);
        assert_abs_diff_eq!(p.at(-1).unwrap().0, -0.1, epsilon = 1e-14);
        assert_eq!(p.at(6), None);

        // The same band in unit order (identity order) with a random extra term on
        // one diagonal: mean is f(k) + mean of the extra, a simple closed form.
        let mut w2 = Array2::from_shape_fn((n, n), |(i, j)| f(j as i64 - i as i64));
        for a in 0..n - 3 {
            w2[[a, a + 3]] = a as f64;
        }
        let id: Vec<usize> = (0..n).collect();
        let p = weight_profile(w2.view(), &id, 3).unwrap();
        let m = (n - 3) as f64;
        assert_abs_diff_eq!(p.at(3).unwrap().0, (m - 1.0) / 2.0, epsilon = 1e-12);
        // Population sd of 0..m−1 is sqrt((m² − 1) / 12).
        assert_abs_diff_eq!(
            p.at(3).unwrap().1,
            ((m * m - 1.0) / 12.0).sqrt(),
            epsilon = 1e-12
        );
    }

    #[test]
    fn orientation_is_pre_to_post() {
        // A chain 0 → 1 → 2 → 3 in the [pre, post] convention: W[i, i + 1] = 1.
        let mut w = Array2::zeros((4, 4));
        for i in 0..3 {
            w[[i, i + 1]] = 1.0;
        }
        let p = weight_profile(w.view(), &[0, 1, 2, 3], 1).unwrap();
        assert_eq!(p.mean, vec![0.0, 0.0, 1.0]);
        // Reversing the order makes the chain backward.
        let p = weight_profile(w.view(), &[3, 2, 1, 0], 1).unwrap();
        assert_eq!(p.mean, vec![1.0, 0.0, 0.0]);
    }

    #[test]
    fn peak_orders() {
        // Unit 0 peaks late, unit 1 early, unit 2 silent, unit 3 in the middle.
        let mut h = Array3::zeros((2, 5, 4));
        for b in 0..2 {
            h[[b, 4, 0]] = 2.0;
            h[[b, 0, 1]] = 2.0;
            h[[b, 2, 3]] = 2.0;
            h[[b, 1, 2]] = 0.1;
        }
        h[[0, 3, 3]] = 3.0; // trial 0 alone would move unit 3's peak: average is 1.5 < 2
        assert_eq!(
            trial_averaged_peak_order(h.view(), 0.1).unwrap(),
            vec![1, 3, 0]
        );
        assert_eq!(
            active_peak_order(h.index_axis(Axis(0), 0), 0.1).unwrap(),
            vec![1, 3, 0]
        );
        assert!(trial_averaged_peak_order(Array3::zeros((0, 5, 4)).view(), 0.1).is_err());
        assert!(active_peak_order(Array2::zeros((0, 4)).view(), 0.1).is_err());
        assert!(active_peak_order(Array2::zeros((3, 4)).view(), f64::NAN).is_err());
    }

    #[test]
    fn bad_input_is_an_error() {
        let w = Array2::zeros((4, 4));
        assert!(matches!(
            weight_profile(Array2::zeros((3, 4)).view(), &[0], 1),
            Err(AnalysisError::ShapeMismatch { .. })
        ));
        assert!(matches!(
            weight_profile(w.view(), &[], 1),
            Err(AnalysisError::TooFew { .. })
        ));
        assert!(matches!(
            weight_profile(w.view(), &[0, 4], 1),
            Err(AnalysisError::InvalidParameter { .. })
        ));
        assert!(matches!(
            weight_profile(w.view(), &[1, 1], 1),
            Err(AnalysisError::InvalidParameter { .. })
        ));
        let mut bad = w.clone();
        bad[[1, 2]] = f64::INFINITY;
        assert!(matches!(
            weight_profile(bad.view(), &[0, 1], 1),
            Err(AnalysisError::NonFinite { .. })
        ));
        assert!(weight_profile(w.view(), &[0], usize::MAX).is_err());
    }

    proptest! {
        #[test]
        fn matches_reference_on_random_input(
            (w, order, k) in (1usize..12).prop_flat_map(|n| (
                proptest::collection::vec(-2.0f64..2.0, n * n)
                    .prop_map(move |v| Array2::from_shape_vec((n, n), v).unwrap()),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
                0usize..14,
                1usize..=n,
            )).prop_map(|(w, mut o, k, m)| { o.truncate(m); (w, o, k) })
        ) {
            assert_matches_reference(&w, &order, k);
        }
    }
}
