//! Benchmarks of `wm-analysis` (divan): run with `cargo bench -p wm-analysis`.
//!
//! * `timescales_10k_units`: the full autocorrelation-timescale pipeline
//!   (autocorrelation, start rule, Levenberg–Marquardt fit) for 10,000 units ×
//!   50 trials × 20 bins of synthetic, seeded counts, in parallel over units.
//!   Target: under 2 s on 2 cores. Before divan runs, `main` times one pass
//!   and prints units/second.
//! * `fit_exponential_decay_13_lags`: one fit, for per-fit latency.
//! * `real_schur_500`: real Schur decomposition of a 500 × 500 random matrix.

use std::time::Instant;

use divan::{Bencher, black_box, counter::ItemsCount};
use ndarray::{Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Poisson};
use wm_analysis::lm::LmOptions;
use wm_analysis::timescale::{TimescaleParams, autocorrelation_timescales, fit_exponential_decay};

const UNITS: usize = 10_000;
const TRIALS: usize = 50;
const BINS: usize = 20;
const BIN_MS: f64 = 50.0;

/// `[units, trials, bins]` Poisson counts whose per-bin rate follows a
/// two-state Markov chain per trial (low 1, high 6 counts per bin), with a
/// unit-specific timescale drawn from 40–300 ms: Kim & Sejnowski's data shape.
fn synthetic_counts(units: usize, seed: u64) -> Array3<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (lo, hi) = (Poisson::new(1.0).unwrap(), Poisson::new(6.0).unwrap());
    let mut out = Array3::zeros((units, TRIALS, BINS));
    for mut unit in out.outer_iter_mut() {
        let tau_ms: f64 = rng.random_range(40.0..300.0);
        let p_switch = 0.5 * (1.0 - (-BIN_MS / tau_ms).exp());
        for mut trial in unit.outer_iter_mut() {
            let mut high = rng.random_bool(0.5);
            for c in trial.iter_mut() {
                *c = if high {
                    hi.sample(&mut rng)
                } else {
                    lo.sample(&mut rng)
                };
                if rng.random_bool(p_switch) {
                    high = !high;
                }
            }
        }
    }
    out
}

fn main() {
    let counts = synthetic_counts(UNITS, 1);
    let params = TimescaleParams::default();
    let _ = autocorrelation_timescales(counts.view(), &params).unwrap(); // warm-up (thread pool)
    let t0 = Instant::now();
    let res = autocorrelation_timescales(counts.view(), &params).unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let included = res.iter().filter(|u| u.tau_ms.is_some()).count();
    println!(
        "timescales: {UNITS} units x {TRIALS} trials x {BINS} bins in {secs:.3} s = {:.0} units/s \
         ({} rayon threads; {included} units included)",
        UNITS as f64 / secs,
        rayon::current_num_threads()
    );
    divan::main();
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn timescales_10k_units(bencher: Bencher) {
    let counts = synthetic_counts(UNITS, 1);
    let params = TimescaleParams::default();
    bencher
        .counter(ItemsCount::new(UNITS))
        .bench(|| autocorrelation_timescales(black_box(counts.view()), &params).unwrap());
}

#[divan::bench]
fn fit_exponential_decay_13_lags(bencher: Bencher) {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let noise = Normal::new(0.0, 0.01).unwrap();
    let lags: Vec<f64> = (1..=13).map(|k| k as f64 * BIN_MS).collect();
    let ac: Vec<f64> = lags
        .iter()
        .map(|l| 0.5 * ((-l / 150.0).exp() + 0.05) + noise.sample(&mut rng))
        .collect();
    let opts = LmOptions::default();
    bencher.bench(|| fit_exponential_decay(black_box(&lags), black_box(&ac), &opts).unwrap());
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn real_schur_500(bencher: Bencher) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let normal = Normal::new(0.0, 1.0 / (500f64).sqrt()).unwrap();
    let a = Array2::from_shape_fn((500, 500), |_| normal.sample(&mut rng));
    bencher.bench(|| wm_analysis::schur::real_schur(black_box(a.view())).unwrap());
}
