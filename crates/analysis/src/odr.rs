//! Single-unit measures of the oculomotor delayed-response analyses of Xie
//! et al. 2022 (Methods; their code: github.com/maiziezhoulab/RNN_workingmemoryaccuracy,
//! `analysis/`).
//!
//! * [`normalized_rate`]: ρ = rate/baseline − 1 (dimensionless).
//! * [`population_fano_factor`]: variance with the N denominator (ddof 0) over
//!   the mean, as Xie's code computes it (not the sample Fano factor of
//!   [`crate::spikes::fano_factor`]); it is not scale-invariant, so Xie's rates
//!   are 50·r "Hz".
//! * [`toward_preferred_sign`]: +1 when a saccade deviating clockwise or
//!   counter-clockwise from a location's median moved **toward** a unit's
//!   preferred location, −1 when it moved away, with Xie's conventions at the
//!   preferred and opposite locations.
//! * [`median`]: the middle value (mean of the two middle ones for even n).

/// ρ = rate/baseline − 1. NaN for a zero or non-finite baseline.
pub fn normalized_rate(rate: f64, baseline: f64) -> f64 {
    if baseline == 0.0 || !baseline.is_finite() {
        return f64::NAN;
    }
    rate / baseline - 1.0
}

/// Population Fano factor Σ(x − x̄)²/n / x̄ (ddof 0) of per-trial values.
/// NaN for fewer than 2 values, a zero mean or non-finite values.
pub fn population_fano_factor(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 2 || x.iter().any(|v| !v.is_finite()) {
        return f64::NAN;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    if mean == 0.0 {
        return f64::NAN;
    }
    x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64 / mean
}

/// The sign of a saccade deviation relative to a unit's preferred location
/// (Xie et al. 2022, Methods, rate–behaviour correlation): `location` and
/// `preferred` index L locations whose angle increases with the index; `ccw` says the saccade landed counter-clockwise
/// of the location's median. Locations "below" the preferred one (relative
/// offset in [L/2, L), the opposite location included) count CCW as toward
/// (+1); locations above count CW as toward; at the preferred location every
/// deviation is away (−1).
///
/// # Panics
/// If `n_locations` is 0.
pub fn toward_preferred_sign(
    location: usize,
    preferred: usize,
    n_locations: usize,
    ccw: bool,
) -> f64 {
    assert!(n_locations > 0, "no locations");
    let rel = (location + n_locations - preferred % n_locations) % n_locations;
    if rel == 0 {
        return -1.0;
    }
    let below = 2 * rel >= n_locations;
    if below == ccw { 1.0 } else { -1.0 }
}

/// Median of the finite values of `x` (NaN if none).
pub fn median(x: &[f64]) -> f64 {
    let mut v: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_fano_factor_uses_the_n_denominator() {
        // x = (1, 2, 3): mean 2, Σ(x − 2)² = 2, /3 → 2/3, /2 → 1/3.
        assert!((population_fano_factor(&[1.0, 2.0, 3.0]) - 1.0 / 3.0).abs() < 1e-15);
        // Scaling by c multiplies it by c.
        assert!((population_fano_factor(&[50.0, 100.0, 150.0]) - 50.0 / 3.0).abs() < 1e-12);
        assert!(population_fano_factor(&[1.0]).is_nan());
        assert!(population_fano_factor(&[0.0, 0.0]).is_nan());
    }

    #[test]
    fn toward_sign_follows_xies_conventions() {
        // 8 locations, preferred 2: locations 3, 4, 5 are above (CW toward),
        // 6 (opposite), 7, 0, 1 below (CCW toward), 2 always away.
        for ccw in [false, true] {
            assert_eq!(toward_preferred_sign(2, 2, 8, ccw), -1.0);
        }
        for loc in [3, 4, 5] {
            assert_eq!(toward_preferred_sign(loc, 2, 8, false), 1.0);
            assert_eq!(toward_preferred_sign(loc, 2, 8, true), -1.0);
        }
        for loc in [6, 7, 0, 1] {
            assert_eq!(toward_preferred_sign(loc, 2, 8, true), 1.0);
            assert_eq!(toward_preferred_sign(loc, 2, 8, false), -1.0);
        }
    }

    #[test]
    fn median_and_normalized_rate() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert_eq!(normalized_rate(15.0, 10.0), 0.5);
        assert!(normalized_rate(1.0, 0.0).is_nan());
    }
}
