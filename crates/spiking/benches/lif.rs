//! Benchmark of the LIF simulation: run with `cargo bench -p wm-spiking`.
//!
//! A Kim-style network (200 units, 20 % inhibitory, 20 % connectivity,
//! weights N(0, 1.5²/(N p)) divided by a scaling factor of 40, τ^s drawn in
//! 20–125 ms) runs 50 zero-input trials of 1 s (20,000 steps of 0.05 ms
//! each) in `f32` and in `f64`, rayon-parallel over trials: the fixation
//! block of the Kim & Sejnowski reproduction. Prints wall time, simulated
//! neuron-steps per second and the mean firing rate (Hz), so runs on
//! different machines compare.

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

fn run<T: Real>(label: &str) {
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
}

fn main() {
    run::<f32>("f32");
    run::<f64>("f64");
}
