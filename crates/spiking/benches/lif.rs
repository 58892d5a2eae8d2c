//! Benchmark of the LIF simulation: run with `cargo bench -p wm-spiking`.
//!
//! A Kim-style network (200 units, 20 % inhibitory, 20 % connectivity,
//! weights N(0, 1.5²/(N p)) divided by a scaling factor of 40, τ^s drawn in
//! 20–125 ms) runs 50 zero-input trials of 1 s (20,000 steps of 0.05 ms
//! each): the fixation block of the Kim & Sejnowski reproduction. Prints,
//! in `f32` and `f64`, on one core and on every core (rayon over trials),
//! the simulated neuron-steps per second and the mean firing rate (Hz), so
//! runs on different machines compare; then the noise generator alone
//! (standard normals per second); then runs `xtask/bench/lif_numpy.py` (when
//! `python3` with numpy is available, one BLAS thread) and prints the
//! speed-ups over it. Target: ≥ 20×.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use wm_spiking::{LifNetwork, LifParams, Real, SimOptions};

const N: usize = 200;
const TRIALS: usize = 50;
const DURATION_MS: f64 = 1000.0;

fn network<T: Real>(seed: u64) -> LifNetwork<T> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sign: Vec<f64> = (0..N)
        .map(|_| if rng.random_bool(0.2) { -1.0 } else { 1.0 })
        .collect();
    let sd = 1.5 / (N as f64 * 0.2).sqrt();
    let mut w = vec![0.0; N * N];
    for i in 0..N {
        for j in 0..N {
            if i != j && rng.random_bool(0.2) {
                let x: f64 = StandardNormal.sample(&mut rng);
                w[i * N + j] = (sd * x).abs() * sign[j] / 40.0;
            }
        }
    }
    let tau: Vec<f64> = (0..N).map(|_| rng.random_range(20.0..125.0)).collect();
    let w_in = vec![0.0; N];
    let w_out = vec![0.0; N];
    LifNetwork::new(&w, &w_in, &w_out, &tau, 1, LifParams::default()).expect("valid network")
}

/// Neuron-steps per second of one simulation of the fixation block.
fn run<T: Real>(label: &str) -> f64 {
    let net = network::<T>(1);
    let opts = SimOptions {
        seed: 7,
        readout: false,
        ..SimOptions::default()
    };
    let _ = net
        .simulate_spontaneous(100.0, 2, &opts)
        .expect("simulates");
    let t0 = Instant::now();
    let sim = net
        .simulate_spontaneous(DURATION_MS, TRIALS, &opts)
        .expect("simulates");
    let secs = t0.elapsed().as_secs_f64();
    let spikes: usize = sim.spikes.trials.iter().map(Vec::len).sum();
    let rate_hz = spikes as f64 / (N * TRIALS) as f64 / (DURATION_MS / 1000.0);
    let neuron_steps = (N * TRIALS) as f64 * DURATION_MS / LifParams::default().dt_ms;
    println!(
        "lif {label}: {TRIALS} trials × {DURATION_MS} ms × {N} units in {secs:.2} s; {:.2e} neuron-steps/s; mean rate {rate_hz:.1} Hz",
        neuron_steps / secs
    );
    neuron_steps / secs
}

/// The noise generator alone: standard normals per second, one core.
fn normals() {
    let mut rng = wm_spiking::NoiseRng::new(3, 0);
    let mut buf = vec![0f32; N];
    let calls = 1_000_000;
    let t0 = Instant::now();
    let mut acc = 0.0f32;
    for _ in 0..calls {
        rng.fill_standard_normal(&mut buf);
        acc += buf[7];
    }
    let secs = t0.elapsed().as_secs_f64();
    let n = (calls * N) as f64;
    println!(
        "noise: {n:.1e} standard normals (blocks of {N}) in {secs:.2} s; {:.2} ns each (checksum {acc:.1})",
        secs / n * 1e9
    );
}

/// Neuron-steps per second of the numpy loop, if it runs here.
fn numpy_reference() -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../xtask/bench/lif_numpy.py");
    let out = Command::new("python3")
        .arg(script)
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("OMP_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rate = text.lines().find_map(|line| {
        let mut it = line.split_whitespace();
        (it.next()? == "neuron_steps_per_s").then_some(())?;
        it.next()?.parse().ok()
    });
    if !out.status.success() || rate.is_none() {
        println!("numpy reference: skipped (python3 with numpy not available here)");
    }
    rate
}

fn main() {
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    let cores = rayon::current_num_threads();
    let single = one.install(|| run::<f32>("f32, 1 core"));
    one.install(|| run::<f64>("f64, 1 core"));
    let all = run::<f32>(&format!("f32, {cores} cores"));
    run::<f64>(&format!("f64, {cores} cores"));
    normals();
    if let Some(numpy) = numpy_reference() {
        println!(
            "lif numpy (one BLAS thread): {numpy:.2e} neuron-steps/s; speed-up {:.1}x on 1 core, {:.1}x on {cores} cores (target >= 20x)",
            single / numpy,
            all / numpy
        );
    }
}
