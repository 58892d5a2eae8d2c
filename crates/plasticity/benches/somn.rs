//! Benchmark of the self-organizing memory network's integrator: run with
//! `cargo bench -p wm-plasticity`.
//!
//! Prints, for N = 100 (the paper's network) and N = 1,000, the wall time of
//! one plastic 3-s session (150,000 Euler steps of 0.02 ms, one mat-vec and
//! one rank-1 update of L per step) and the resulting synapse updates per
//! second, a figure comparable across machines and with the NumPy reference
//! in `xtask/bench/somn_numpy.py`. Target: a 3-s, N = 100 run in well under
//! a second on one core.

use std::time::Instant;

use wm_plasticity::rate::{RateParams, simulate};

fn main() {
    for (n, ms) in [(100usize, 3000.0), (1000, 300.0)] {
        let p = RateParams {
            n_units: n,
            ..RateParams::default()
        };
        // One warm-up run, then the best of three.
        let _ = simulate(&p, 0, ms / 10.0).expect("valid parameters");
        let mut best = f64::INFINITY;
        let mut last = 0.0;
        for seed in 1..=3 {
            let t0 = Instant::now();
            let trace = simulate(&p, seed, ms).expect("valid parameters");
            best = best.min(t0.elapsed().as_secs_f64());
            last = *trace.ratio(0).last().unwrap_or(&f64::NAN);
        }
        let steps = ms / p.dt_ms;
        let synapse_updates = steps * (n * n) as f64;
        println!(
            "somn rate N={n:>5}: {ms:.0} ms simulated in {best:.3} s; steps_per_s {:.0}; {:.2e} synapse updates/s; ŝ(end)/ŝ(0) = {last:.3}",
            steps / best,
            synapse_updates / best
        );
    }
}
