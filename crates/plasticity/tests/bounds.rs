//! Sizes a user controls are refused before any memory is reserved, with the
//! field, the value and the allowed range in the error.

use wm_plasticity::rate::{RateParams, check_duration, simulate};

#[test]
fn huge_durations_and_delays_are_refused_not_allocated() {
    let p = RateParams::default();
    for duration_ms in [1e300, f64::INFINITY, f64::NAN, 0.0, -5.0] {
        let err = simulate(&p, 0, duration_ms).unwrap_err();
        assert_eq!(err.name, "duration_ms", "{duration_ms}");
        assert!(err.to_string().contains("duration_ms"), "{err}");
    }
    // Huge values are printed in scientific notation, not as 301 digits.
    let msg = simulate(&p, 0, 1e300).unwrap_err().to_string();
    assert!(
        msg.starts_with("`duration_ms` = 1e300: allowed is"),
        "{msg}"
    );
    let delayed = RateParams {
        feedback_delay_ms: 1e300,
        ..RateParams::default()
    };
    let err = simulate(&delayed, 0, 10.0).unwrap_err();
    assert_eq!(err.name, "feedback_delay_ms");
    let wide = RateParams {
        n_units: 10_000_000,
        ..RateParams::default()
    };
    assert_eq!(wide.validate().unwrap_err().name, "n_units");
    let many = RateParams {
        n_readouts: 1_000_000,
        ..RateParams::default()
    };
    assert_eq!(many.validate().unwrap_err().name, "n_readouts");
}

#[test]
fn a_duration_within_the_bounds_runs_and_records_its_samples() {
    let p = RateParams::default();
    check_duration(&p, 50.0).unwrap();
    let trace = simulate(&p, 0, 50.0).unwrap();
    let samples = (50.0 / trace.record_every_ms).round() as usize;
    assert!(
        trace.s_hat[0].len().abs_diff(samples) <= 1,
        "{} vs {samples}",
        trace.s_hat[0].len()
    );
}
