//! Benchmark of the self-organizing memory network's integrator: run with
//! `cargo bench -p wm-plasticity`.
//!
//! Prints, for N = 100 (the paper's network) and N = 1,000, the wall time of
//! one plastic 3-s session (150,000 Euler steps of 0.02 ms, one mat-vec and
//! one rank-1 update of L per step) and the resulting synapse updates per
//! second, a figure comparable across machines and with the NumPy reference
//! in `xtask/bench/somn_numpy.py`, which it runs right after (when `python3`
//! with numpy is available) to print the speed-up over it. Target: a 3-s,
//! N = 100 run in well under a second on one core, ≥ 20× the numpy loop.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use wm_plasticity::rate::{RateParams, simulate};

/// Steps per second of the numpy loop at each size, if it runs here.
fn numpy_reference(sizes: &[usize]) -> Option<Vec<(usize, f64)>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../xtask/bench/somn_numpy.py");
    // One BLAS thread: the comparison is per core.
    let out = Command::new("python3")
        .arg(script)
        .args(sizes.iter().map(|n| n.to_string()))
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("OMP_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .output()
        .ok()?;
    if !out.status.success() {
        println!("numpy reference: skipped (python3 with numpy not available here)");
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<(usize, f64)> = text
        .lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            (it.next()? == "steps_per_s").then_some(())?;
            Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
        })
        .collect();
    (!rows.is_empty()).then_some(rows)
}

fn main() {
    let mut ours = Vec::new();
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
        ours.push((n, steps / best));
    }
    let sizes: Vec<usize> = ours.iter().map(|(n, _)| *n).collect();
    if let Some(reference) = numpy_reference(&sizes) {
        for ((n, rust), (_, numpy)) in ours.iter().zip(&reference) {
            println!(
                "somn rate N={n:>5}: numpy {numpy:.0} steps/s; speed-up {:.1}x (target >= 20x)",
                rust / numpy
            );
        }
    }
}
