//! Benchmark of the bias-corrected timescales with bootstrap intervals
//! (divan): run with `cargo bench -p wm-analysis --bench timescales_uncertainty`.
//!
//! `main` first times one pass of [`timescales_with_uncertainty`] with
//! `--bias-correct` and 95 % intervals (200 resamples) on 1,000 units ×
//! 100 trials × 20 bins of 50 ms, on one thread, and prints it (target:
//! under 10 s on one core). The counts are Poisson with an
//! Ornstein–Uhlenbeck rate, τ drawn from 50–300 ms per unit, seeded.
//! divan then times the same on 100 units.

use std::time::Instant;

use divan::{Bencher, black_box};
use ndarray::Array3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wm_analysis::timescale::{
    OuPoissonModel, TimescaleParams, UncertaintyOptions, seeded_rng, timescales_with_uncertainty,
};

const TRIALS: usize = 100;
const BINS: usize = 20;

fn counts(units: usize, seed: u64) -> Array3<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Array3::zeros((units, TRIALS, BINS));
    for mut unit in out.outer_iter_mut() {
        let tau: f64 = rng.random_range(50.0..300.0);
        let m = OuPoissonModel::from_correlation(tau, 50.0, 1.0, 0.2, 0.0).unwrap();
        let c = m.sample(TRIALS, BINS, &mut rng);
        for (d, s) in unit.iter_mut().zip(c) {
            *d = s;
        }
    }
    out
}

fn options() -> UncertaintyOptions {
    UncertaintyOptions {
        ci_level: Some(0.95),
        bias_correct: true,
        ..UncertaintyOptions::default()
    }
}

fn main() {
    let data = counts(1000, 1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let params = TimescaleParams::default();
    let t0 = Instant::now();
    let r = pool
        .install(|| {
            timescales_with_uncertainty(data.view(), &params, &options(), &mut seeded_rng(0))
        })
        .unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let n = r.units.iter().filter(|u| u.tau_ci_low_ms.is_some()).count();
    println!(
        "bias-corrected τ with 95 % CIs (200 resamples), 1000 units × {TRIALS} trials × {BINS} bins, \
         one thread: {secs:.2} s ({n} units with an interval; target < 10 s)"
    );
    divan::main();
}

#[divan::bench(sample_count = 3)]
fn corrected_with_ci_100_units(b: Bencher) {
    let data = counts(100, 2);
    let params = TimescaleParams::default();
    b.bench(|| {
        timescales_with_uncertainty(
            black_box(data.view()),
            &params,
            &options(),
            &mut seeded_rng(0),
        )
        .unwrap()
    });
}
