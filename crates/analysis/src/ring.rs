//! Ring and tuning measures for oculomotor delayed-response (ODR) studies
//! (Xie et al. 2022, Methods).
//!
//! All angles are in **radians**. A *ring* is a set of units (or stimulus
//! locations) with preferred directions θₖ; for R evenly spaced units
//! θₖ = 2πk/R ([`ring_directions`]).
//!
//! * [`population_vector_decode`]: the direction read out from a ring of
//!   activities, θ̂ = atan2(Σ aₖ sin θₖ, Σ aₖ cos θₖ) mod 2π, in `[0, 2π)`.
//!   Xie's decoding of the network's saccade uses the raw sigmoid outputs,
//!   baseline included.
//! * [`preferred_direction`]: a unit's preferred direction from its tuning
//!   curve by the same vector sum, with the normalised resultant length as a
//!   selectivity index; [`preferred_location`] is the discrete alternative
//!   (argmax location, as Xie's analysis code uses).
//! * [`align_tuning`]: tuning curves rotated so that each unit's preferred
//!   location sits at relative angle 0 (Xie's "best location in the centre";
//!   for 8 locations, 9 positions −180°…+180° with the opposite location at
//!   both ends).
//! * [`wrap_angle`], [`signed_deviation`], [`circular_distance`]: angular
//!   differences; the signed deviation is wrapped to `(−π, π]` and positive
//!   means counter-clockwise (towards larger angle).
//!
//! Non-finite angles give NaN from the scalar helpers (documented, not
//! errors); the array functions return a typed [`AnalysisError`] for empty,
//! mismatched or non-finite input.

use std::f64::consts::{PI, TAU};

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use serde::Serialize;

use crate::error::{AnalysisError, Result, ensure_at_least, ensure_finite};

/// A resultant is treated as zero (direction undefined, NaN) when its length
/// is at most this fraction of Σ|aₖ|.
pub const ZERO_RESULTANT_REL: f64 = 1e-12;

/// Wrap an angle (rad) to `(−π, π]`. NaN or ±∞ give NaN.
///
/// ```
/// use std::f64::consts::PI;
/// use wm_analysis::ring::wrap_angle;
/// assert_eq!(wrap_angle(-PI), PI);
/// assert!((wrap_angle(1.5 * PI) + 0.5 * PI).abs() < 1e-12);
/// ```
pub fn wrap_angle(x: f64) -> f64 {
    if !x.is_finite() {
        return f64::NAN;
    }
    let y = x.rem_euclid(TAU); // in [0, 2π] (2π only by rounding)
    if y > PI { y - TAU } else { y }
}

/// Wrap an angle (rad) to `[0, 2π)`. NaN or ±∞ give NaN.
pub fn wrap_angle_positive(x: f64) -> f64 {
    if !x.is_finite() {
        return f64::NAN;
    }
    let y = x.rem_euclid(TAU);
    if y >= TAU { 0.0 } else { y }
}

/// Signed angular deviation `theta − reference` (rad), wrapped to `(−π, π]`.
/// Positive: `theta` lies counter-clockwise of `reference` (by less than
/// half a turn); exactly opposite angles give +π. NaN if either is non-finite.
pub fn signed_deviation(theta: f64, reference: f64) -> f64 {
    wrap_angle(theta - reference)
}

/// Unsigned circular distance between two angles (rad), in `[0, π]`:
/// `min(|a − b|, 2π − |a − b|)` modulo 2π. NaN if either is non-finite.
pub fn circular_distance(a: f64, b: f64) -> f64 {
    signed_deviation(a, b).abs()
}

/// Preferred directions θₖ = 2πk/R (rad), k = 0..R, of R evenly spaced ring
/// units (Xie: R = 8 or 360). Empty for R = 0.
pub fn ring_directions(r: usize) -> Vec<f64> {
    (0..r).map(|k| TAU * k as f64 / r as f64).collect()
}

fn check_pair(
    what_a: &'static str,
    a: ArrayView1<f64>,
    what_b: &'static str,
    b: ArrayView1<f64>,
) -> Result<()> {
    if a.is_empty() {
        return Err(AnalysisError::TooFew {
            what: what_a,
            needed: 1,
            got: 0,
        });
    }
    if a.len() != b.len() {
        return Err(AnalysisError::shape(
            what_b,
            format!("length {} (as {what_a})", a.len()),
            format!("length {}", b.len()),
        ));
    }
    ensure_finite(what_a, a.iter())?;
    ensure_finite(what_b, b.iter())
}

/// Vector sum (Σ wₖ cos θₖ, Σ wₖ sin θₖ) and Σ|wₖ| of validated input.
fn resultant(weights: ArrayView1<f64>, angles: ArrayView1<f64>) -> (f64, f64, f64) {
    let (mut c, mut s, mut mass) = (0.0, 0.0, 0.0);
    for (&w, &th) in weights.iter().zip(angles.iter()) {
        c += w * th.cos();
        s += w * th.sin();
        mass += w.abs();
    }
    (c, s, mass)
}

fn direction_of(c: f64, s: f64, mass: f64) -> f64 {
    if c.hypot(s) > ZERO_RESULTANT_REL * mass {
        wrap_angle_positive(s.atan2(c))
    } else {
        f64::NAN
    }
}

/// Population-vector decoding of a direction (rad) from one ring activity
/// pattern: θ̂ = atan2(Σ aₖ sin θₖ, Σ aₖ cos θₖ) mod 2π, in `[0, 2π)`.
///
/// `activity` (length R, any activity units, raw values are used: no
/// baseline subtraction) and `preferred_rad` (length R, each unit's preferred
/// direction in rad) must be finite and non-empty. The decoded angle is
/// **NaN** (documented, not an error) when the resultant is zero: its length
/// is ≤ [`ZERO_RESULTANT_REL`] · Σ|aₖ| (e.g. uniform activity on an evenly
/// spaced ring, or all-zero activity).
///
/// # Errors
/// [`AnalysisError::TooFew`] for R = 0, [`AnalysisError::ShapeMismatch`] if
/// the lengths differ, [`AnalysisError::NonFinite`] for NaN/±∞.
pub fn population_vector_decode(
    activity: ArrayView1<f64>,
    preferred_rad: ArrayView1<f64>,
) -> Result<f64> {
    check_pair("activity", activity, "preferred_rad", preferred_rad)?;
    let (c, s, mass) = resultant(activity, preferred_rad);
    Ok(direction_of(c, s, mass))
}

/// [`population_vector_decode`] for each row of `[trials, units]` activity
/// (units share `preferred_rad`, length = units). Returns one angle in
/// `[0, 2π)` (or NaN for a zero resultant) per trial.
///
/// # Errors
/// As [`population_vector_decode`]: no units, a length mismatch, non-finite
/// values. Zero trials give an empty vector.
pub fn population_vector_decode_trials(
    activity: ArrayView2<f64>,
    preferred_rad: ArrayView1<f64>,
) -> Result<Vec<f64>> {
    let units = activity.ncols();
    ensure_at_least("units", 1, units)?;
    if units != preferred_rad.len() {
        return Err(AnalysisError::shape(
            "preferred_rad",
            format!("length {units} (activity columns)"),
            format!("length {}", preferred_rad.len()),
        ));
    }
    ensure_finite("activity", activity.iter())?;
    ensure_finite("preferred_rad", preferred_rad.iter())?;
    Ok(activity
        .axis_iter(Axis(0))
        .map(|row| {
            let (c, s, mass) = resultant(row, preferred_rad);
            direction_of(c, s, mass)
        })
        .collect())
}

/// A unit's preferred direction from its tuning curve (vector sum).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PreferredDirection {
    /// Direction of Σ rₖ (cos φₖ, sin φₖ), rad in `[0, 2π)`; NaN for a zero
    /// resultant (flat tuning on an evenly spaced ring, or all-zero responses).
    pub direction_rad: f64,
    /// Resultant length |Σ rₖ e^{iφₖ}| (units of the responses).
    pub resultant_length: f64,
    /// `resultant_length / Σ|rₖ|`, in `[0, 1]` (dimensionless; 1 = responds at
    /// one direction only); NaN when all responses are 0.
    pub selectivity: f64,
}

/// Preferred direction of one unit from its responses `responses[k]` to
/// stimuli at `directions_rad[k]` (rad), by the vector sum
/// Σ rₖ (cos φₖ, sin φₖ), as in population-vector decoding.
///
/// Responses may be negative (e.g. normalised rates ρ = rate/baseline − 1);
/// they are used as given. The direction is NaN for a zero resultant (see
/// [`PreferredDirection`]).
///
/// # Errors
/// [`AnalysisError::TooFew`] for no directions,
/// [`AnalysisError::ShapeMismatch`] for differing lengths,
/// [`AnalysisError::NonFinite`] for NaN/±∞.
pub fn preferred_direction(
    responses: ArrayView1<f64>,
    directions_rad: ArrayView1<f64>,
) -> Result<PreferredDirection> {
    check_pair("responses", responses, "directions_rad", directions_rad)?;
    let (c, s, mass) = resultant(responses, directions_rad);
    let len = c.hypot(s);
    Ok(PreferredDirection {
        direction_rad: direction_of(c, s, mass),
        resultant_length: len,
        selectivity: if mass > 0.0 { len / mass } else { f64::NAN },
    })
}

/// [`preferred_direction`] of every unit of a `[units, directions]` tuning
/// matrix (responses to stimuli at `directions_rad`, length = columns).
///
/// # Errors
/// As [`preferred_direction`]; zero units give an empty vector.
pub fn preferred_directions(
    tuning: ArrayView2<f64>,
    directions_rad: ArrayView1<f64>,
) -> Result<Vec<PreferredDirection>> {
    tuning
        .axis_iter(Axis(0))
        .map(|row| preferred_direction(row, directions_rad))
        .collect()
}

/// Index of the preferred location of a tuning curve sampled at discrete
/// locations: the first argmax (ties go to the lowest index), as in Xie's
/// analysis code.
///
/// # Errors
/// [`AnalysisError::TooFew`] for an empty curve, [`AnalysisError::NonFinite`]
/// for NaN/±∞.
pub fn preferred_location(responses: ArrayView1<f64>) -> Result<usize> {
    ensure_at_least("responses", 1, responses.len())?;
    ensure_finite("responses", responses.iter())?;
    let mut best = 0;
    for (k, &v) in responses.iter().enumerate() {
        if v > responses[best] {
            best = k;
        }
    }
    Ok(best)
}

/// Tuning curves aligned to each unit's preferred location.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlignedTuning {
    /// Relative direction of each column, rad: 2π·j/L for
    /// j = −⌊L/2⌋ ..= ⌊L/2⌋ (L even: L + 1 columns from −π to +π, the
    /// opposite location at both ends; L odd: L columns). 0 is the preferred
    /// location.
    pub offsets_rad: Vec<f64>,
    /// `[units, offsets]`: `curves[u, j]` is the unit's value at location
    /// `(preferred[u] + offset_j) mod L`, i.e. the original row rotated.
    pub curves: Array2<f64>,
    /// The preferred location index of each unit (as given or the argmax).
    pub preferred: Vec<usize>,
}

impl AlignedTuning {
    /// Mean over units at each relative offset, ignoring NaN (NaN where
    /// every unit is NaN, or with no units). Length = `offsets_rad.len()`.
    pub fn mean_curve(&self) -> Vec<f64> {
        self.curves
            .axis_iter(Axis(1))
            .map(|col| {
                let (s, n) = col
                    .iter()
                    .filter(|v| !v.is_nan())
                    .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
                if n == 0 { f64::NAN } else { s / n as f64 }
            })
            .collect()
    }
}

/// Rotate each row of a `[units, locations]` array of values at L evenly
/// spaced locations (location k at 2πk/L) so that the unit's preferred
/// location `preferred[u]` is at relative angle 0 (Xie et al. 2022, Fig. 3C and
/// Methods: tuning curves and Fano factors with each unit's best location
/// in the centre). See [`AlignedTuning`] for the column layout.
///
/// Values are moved, not computed on, so NaN entries (e.g. an undefined Fano
/// factor) are allowed and carried along.
///
/// # Errors
/// [`AnalysisError::TooFew`] for L = 0, [`AnalysisError::ShapeMismatch`] if
/// `preferred.len()` ≠ units, [`AnalysisError::InvalidParameter`] for a
/// preferred index ≥ L.
pub fn align_tuning(values: ArrayView2<f64>, preferred: &[usize]) -> Result<AlignedTuning> {
    let (units, l) = values.dim();
    ensure_at_least("locations", 1, l)?;
    if preferred.len() != units {
        return Err(AnalysisError::shape(
            "preferred",
            format!("length {units} (units)"),
            format!("length {}", preferred.len()),
        ));
    }
    if let Some(&bad) = preferred.iter().find(|&&p| p >= l) {
        return Err(AnalysisError::invalid(
            "preferred",
            bad,
            format!("location index < {l}"),
        ));
    }
    let half = (l / 2) as isize;
    // L even: −L/2 ..= L/2 (L + 1 columns); L odd: −(L−1)/2 ..= (L−1)/2 (L columns).
    let rel: Vec<isize> = (-half..=half).collect();
    let offsets_rad = rel.iter().map(|&j| TAU * j as f64 / l as f64).collect();
    let curves = Array2::from_shape_fn((units, rel.len()), |(u, j)| {
        let k = (preferred[u] as isize + rel[j]).rem_euclid(l as isize) as usize;
        values[[u, k]]
    });
    Ok(AlignedTuning {
        offsets_rad,
        curves,
        preferred: preferred.to_vec(),
    })
}

/// [`align_tuning`] with each unit's preferred location taken as the argmax
/// of its own row ([`preferred_location`]).
///
/// # Errors
/// As [`align_tuning`] and [`preferred_location`] (non-finite values are an
/// error here, since the argmax needs them).
pub fn align_tuning_to_peak(tuning: ArrayView2<f64>) -> Result<AlignedTuning> {
    ensure_at_least("locations", 1, tuning.ncols())?;
    let preferred = tuning
        .axis_iter(Axis(0))
        .map(preferred_location)
        .collect::<Result<Vec<_>>>()?;
    align_tuning(tuning, &preferred)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use ndarray::{Array1, array};
    use proptest::prelude::*;

    #[test]
    fn wrap_and_deviation_closed_forms() {
        assert_eq!(wrap_angle(0.0), 0.0);
        assert_eq!(wrap_angle(PI), PI);
        assert_eq!(wrap_angle(-PI), PI);
        assert_abs_diff_eq!(wrap_angle(3.0 * PI), PI, epsilon = 1e-12);
        assert_abs_diff_eq!(wrap_angle(-0.5 * PI), -0.5 * PI, epsilon = 1e-15);
        assert_abs_diff_eq!(wrap_angle(7.0 * TAU + 0.25), 0.25, epsilon = 1e-12);
        assert!(wrap_angle(f64::NAN).is_nan() && wrap_angle(f64::INFINITY).is_nan());
        // 350° → 10°: +20° counter-clockwise across 0.
        let d = signed_deviation(10f64.to_radians(), 350f64.to_radians());
        assert_abs_diff_eq!(d, 20f64.to_radians(), epsilon = 1e-12);
        assert_abs_diff_eq!(
            signed_deviation(350f64.to_radians(), 10f64.to_radians()),
            -20f64.to_radians(),
            epsilon = 1e-12
        );
        assert_abs_diff_eq!(signed_deviation(0.0, PI), PI, epsilon = 1e-15);
        assert_abs_diff_eq!(circular_distance(0.1, TAU - 0.1), 0.2, epsilon = 1e-12);
        // −1e-300 + 2π rounds to 2π, which wraps to 0 (the range is half-open).
        assert_eq!(wrap_angle_positive(-1e-300), 0.0);
        assert_eq!(wrap_angle_positive(-0.5), TAU - 0.5);
        assert_eq!(wrap_angle_positive(TAU), 0.0);
        assert_eq!(ring_directions(4), vec![0.0, PI / 2.0, PI, 1.5 * PI]);
    }

    #[test]
    fn decode_closed_forms() {
        let pref = Array1::from(ring_directions(8));
        // One active unit: its direction exactly.
        let mut a = Array1::zeros(8);
        a[3] = 2.0;
        assert_abs_diff_eq!(
            population_vector_decode(a.view(), pref.view()).unwrap(),
            3.0 * PI / 4.0,
            epsilon = 1e-12
        );
        // Two equal neighbours at 0 and 45°: the bisector, 22.5°, even with a baseline.
        let a = Array1::from_shape_fn(8, |k| 0.05 + if k < 2 { 1.0 } else { 0.0 });
        assert_abs_diff_eq!(
            population_vector_decode(a.view(), pref.view()).unwrap(),
            PI / 8.0,
            epsilon = 1e-12
        );
        // Xie's bump 0.05 + 0.8·exp(−d²/2σ²) centred on θ0 between units decodes near θ0;
        // by symmetry of the ring around 0 the bump centred on unit 0 decodes to exactly 0.
        let sigma = PI / 8.0;
        let bump = |th0: f64| {
            Array1::from_shape_fn(8, |k| {
                let d = circular_distance(pref[k], th0);
                0.05 + 0.8 * (-d * d / (2.0 * sigma * sigma)).exp()
            })
        };
        let d0 = population_vector_decode(bump(0.0).view(), pref.view()).unwrap();
        assert!(circular_distance(d0, 0.0) < 1e-12, "{d0}");
        // Uniform activity: zero resultant → NaN, as documented.
        let flat = Array1::from_elem(8, 0.7);
        assert!(
            population_vector_decode(flat.view(), pref.view())
                .unwrap()
                .is_nan()
        );
        assert!(
            population_vector_decode(Array1::zeros(8).view(), pref.view())
                .unwrap()
                .is_nan()
        );
        // Batch = per-row.
        let m = ndarray::stack(Axis(0), &[bump(1.0).view(), bump(4.0).view()]).unwrap();
        let v = population_vector_decode_trials(m.view(), pref.view()).unwrap();
        assert_eq!(
            v[1],
            population_vector_decode(bump(4.0).view(), pref.view()).unwrap()
        );
    }

    #[test]
    fn decode_matches_slow_complex_mean() {
        // Independent reference: the argument of the mean of aₖ·e^{iθₖ}, computed via
        // the polar form and accumulated in a different order.
        let pref: Array1<f64> = array![0.3, 1.9, 2.2, 4.0, 5.5, 6.0];
        let a = array![0.2, 1.5, 0.7, 0.1, 0.0, 0.9];
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for k in (0..6).rev() {
            let (s, c) = pref[k].sin_cos();
            re += a[k] * c / 6.0;
            im += a[k] * s / 6.0;
        }
        let mut expect = im.atan2(re);
        if expect < 0.0 {
            expect += TAU;
        }
        let got = population_vector_decode(a.view(), pref.view()).unwrap();
        assert_abs_diff_eq!(got, expect, epsilon = 1e-12);
    }

    #[test]
    fn preferred_direction_and_selectivity() {
        let dirs = Array1::from(ring_directions(4));
        let p = preferred_direction(array![1.0, 0.0, 0.0, 0.0].view(), dirs.view()).unwrap();
        assert_abs_diff_eq!(p.direction_rad, 0.0, epsilon = 1e-15);
        assert_abs_diff_eq!(p.selectivity, 1.0, epsilon = 1e-15);
        // Cosine tuning r = 1 + cos(φ − φ0): resultant (R/2)e^{iφ0}, Σ|r| = R.
        let phi0 = 2.0;
        let dirs = Array1::from(ring_directions(16));
        let r = dirs.mapv(|p| 1.0 + (p - phi0).cos());
        let p = preferred_direction(r.view(), dirs.view()).unwrap();
        assert_abs_diff_eq!(p.direction_rad, phi0, epsilon = 1e-12);
        assert_abs_diff_eq!(p.resultant_length, 8.0, epsilon = 1e-12);
        assert_abs_diff_eq!(p.selectivity, 0.5, epsilon = 1e-12);
        let p = preferred_direction(Array1::zeros(16).view(), dirs.view()).unwrap();
        assert!(p.direction_rad.is_nan() && p.selectivity.is_nan());
        let tuning = ndarray::stack(Axis(0), &[r.view(), r.view()]).unwrap();
        assert_eq!(
            preferred_directions(tuning.view(), dirs.view()).unwrap()[1],
            { preferred_direction(r.view(), dirs.view()).unwrap() }
        );
        assert_eq!(
            preferred_location(array![1.0, 3.0, 3.0, 0.0].view()).unwrap(),
            1
        );
    }

    #[test]
    fn alignment_even_and_odd() {
        // 8 locations: 9 columns, −180…+180, opposite location at both ends.
        let t = Array2::from_shape_fn((2, 8), |(u, k)| (10 * u + k) as f64);
        let a = align_tuning(t.view(), &[2, 7]).unwrap();
        assert_eq!(a.offsets_rad.len(), 9);
        assert_abs_diff_eq!(a.offsets_rad[0], -PI, epsilon = 1e-15);
        assert_abs_diff_eq!(a.offsets_rad[8], PI, epsilon = 1e-15);
        assert_eq!(a.offsets_rad[4], 0.0);
        assert_eq!(
            a.curves.row(0).to_vec(),
            vec![6.0, 7.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        assert_eq!(
            a.curves.row(1).to_vec(),
            vec![13.0, 14.0, 15.0, 16.0, 17.0, 10.0, 11.0, 12.0, 13.0]
        );
        assert_eq!(a.mean_curve()[4], (2.0 + 17.0) / 2.0);
        // 3 locations: 3 columns, −120°, 0, +120°.
        let t = array![[1.0, 5.0, 2.0]];
        let a = align_tuning_to_peak(t.view()).unwrap();
        assert_eq!(a.preferred, vec![1]);
        assert_eq!(a.curves.row(0).to_vec(), vec![1.0, 5.0, 2.0]);
        assert_abs_diff_eq!(a.offsets_rad[2], TAU / 3.0, epsilon = 1e-15);
        // NaN values are carried along.
        let t = array![[f64::NAN, 1.0]];
        let a = align_tuning(t.view(), &[1]).unwrap();
        assert!(a.curves[[0, 0]].is_nan() && a.curves[[0, 2]].is_nan());
        assert!(a.mean_curve()[0].is_nan());
    }

    #[test]
    fn bad_input_is_an_error() {
        let e = Array1::<f64>::zeros(0);
        assert!(matches!(
            population_vector_decode(e.view(), e.view()),
            Err(AnalysisError::TooFew { .. })
        ));
        assert!(matches!(
            population_vector_decode(array![1.0, 2.0].view(), array![0.0].view()),
            Err(AnalysisError::ShapeMismatch { .. })
        ));
        assert!(matches!(
            population_vector_decode(array![f64::NAN].view(), array![0.0].view()),
            Err(AnalysisError::NonFinite { .. })
        ));
        assert!(matches!(
            population_vector_decode(array![1.0].view(), array![f64::INFINITY].view()),
            Err(AnalysisError::NonFinite { .. })
        ));
        assert!(population_vector_decode_trials(Array2::zeros((3, 0)).view(), e.view()).is_err());
        assert!(
            population_vector_decode_trials(Array2::zeros((3, 2)).view(), array![0.0].view())
                .is_err()
        );
        assert_eq!(
            population_vector_decode_trials(Array2::zeros((0, 1)).view(), array![0.0].view())
                .unwrap(),
            Vec::<f64>::new()
        );
        assert!(preferred_direction(e.view(), e.view()).is_err());
        assert!(preferred_location(e.view()).is_err());
        assert!(preferred_location(array![1.0, f64::NAN].view()).is_err());
        assert!(align_tuning(Array2::zeros((2, 0)).view(), &[0, 0]).is_err());
        assert!(align_tuning(Array2::zeros((2, 4)).view(), &[0]).is_err());
        assert!(matches!(
            align_tuning(Array2::zeros((1, 4)).view(), &[4]),
            Err(AnalysisError::InvalidParameter { .. })
        ));
        assert!(align_tuning_to_peak(array![[f64::NAN, 1.0]].view()).is_err());
        assert!(align_tuning_to_peak(Array2::zeros((1, 0)).view()).is_err());
    }

    fn ring_activity() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
        (1usize..24).prop_flat_map(|n| {
            (
                proptest::collection::vec(0.0f64..2.0, n),
                proptest::collection::vec(0.0f64..TAU, n),
            )
        })
    }

    proptest! {
        /// Rotating every preferred direction by δ rotates the decoded direction by δ.
        #[test]
        fn decoding_equivariant_to_rotation((a, pref) in ring_activity(), delta in -10.0f64..10.0) {
            let a = Array1::from(a);
            let pref = Array1::from(pref);
            let d0 = population_vector_decode(a.view(), pref.view()).unwrap();
            let rotated = pref.mapv(|p| p + delta);
            let d1 = population_vector_decode(a.view(), rotated.view()).unwrap();
            // Skip near-zero resultants, where the direction is ill-conditioned.
            let (c, s, m) = resultant(a.view(), pref.view());
            prop_assume!(c.hypot(s) > 1e-6 * m.max(1e-300));
            prop_assert!(circular_distance(d1, d0 + delta) < 1e-8, "{} vs {}", d1, d0 + delta);
            prop_assert!((0.0..TAU).contains(&d0));
        }

        /// On an evenly spaced ring, circularly shifting the activity by s units
        /// shifts the decoded direction by 2πs/R; scaling by c > 0 changes nothing.
        #[test]
        fn decoding_equivariant_to_circular_shift(
            a in proptest::collection::vec(0.0f64..2.0, 3..20), s in 0usize..40, c in 0.01f64..100.0
        ) {
            let r = a.len();
            let pref = Array1::from(ring_directions(r));
            let a = Array1::from(a);
            let shifted = Array1::from_shape_fn(r, |k| a[(k + r - s % r) % r]);
            let d0 = population_vector_decode(a.view(), pref.view()).unwrap();
            let (cc, ss, m) = resultant(a.view(), pref.view());
            prop_assume!(cc.hypot(ss) > 1e-6 * m.max(1e-300));
            let d1 = population_vector_decode(shifted.view(), pref.view()).unwrap();
            let d2 = population_vector_decode((&a * c).view(), pref.view()).unwrap();
            prop_assert!(circular_distance(d1, d0 + TAU * s as f64 / r as f64) < 1e-8);
            prop_assert!(circular_distance(d2, d0) < 1e-9);
        }

        /// The signed deviation lies in (−π, π], is antisymmetric away from ±π, and
        /// adding it to the reference recovers the angle modulo 2π.
        #[test]
        fn signed_deviation_properties(a in -50.0f64..50.0, b in -50.0f64..50.0) {
            let d = signed_deviation(a, b);
            prop_assert!(d > -PI && d <= PI);
            if d.abs() < PI - 1e-9 {
                prop_assert!((signed_deviation(b, a) + d).abs() < 1e-9);
            }
            prop_assert!(circular_distance(b + d, a) < 1e-9);
            prop_assert_eq!(wrap_angle(d), d);
        }

        /// The aligned curve always has the preferred value at offset 0, and aligning
        /// is a rotation: each row holds the same multiset of values (plus one repeat).
        #[test]
        fn alignment_puts_peak_at_centre(v in proptest::collection::vec(-5.0f64..5.0, 1..12)) {
            let l = v.len();
            let t = Array2::from_shape_vec((1, l), v.clone()).unwrap();
            let a = align_tuning_to_peak(t.view()).unwrap();
            let centre = a.offsets_rad.iter().position(|&o| o == 0.0).unwrap();
            let max = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            prop_assert_eq!(a.curves[[0, centre]], max);
            let mut got: Vec<f64> = a.curves.row(0).iter().take(l).cloned().collect();
            let mut want = v.clone();
            got.sort_by(f64::total_cmp);
            want.sort_by(f64::total_cmp);
            prop_assert_eq!(got, want);
        }
    }
}
