//! Whole-network training time, products skipping silent units against
//! dense ones: an Orhan & Ma (2019) 2AFC network (λ0 = 0.9, σ0 = 0.2, lr
//! 1e-3, batch 50) trained from initialisation, twice from the same seed —
//! once with the products chosen per step (dense or over the active units,
//! `recurrence::Products::Auto`), once dense (the default). The two runs alternate
//! in rounds of 50 iterations so that both see the same machine load.
//! Prints the seconds of each, the speed-up, and how the activity (mean
//! fraction of units active in some trial per step) and the loss change
//! along training. The loss curves agree to rounding until training leaves
//! the plateau at chance; after that they need not (see `Products`).
//!
//! Run: `cargo bench -p wm-rate-rnn --bench train_time` (`WM_BENCH_N=500,100`
//! picks the sizes, `WM_BENCH_ITERS` the iterations, default 2,000, and
//! `WM_BENCH_SEEDS=2019,1,2` the initialisation seeds, default 2019; every
//! seed trains on the same stream of trials, seeded 7).

mod common;

use std::time::{Duration, Instant};

use candle_core::DType;
use rand::SeedableRng;
use wm_rate_rnn::loss::Objective;
use wm_rate_rnn::recurrence::{Products, with_products};
use wm_rate_rnn::train::objective;
use wm_rate_rnn::{Adam, AdamConfig, RateModel, Vanilla, VanillaConfig};
use wm_tasks::{OrhanMaTaskOptions, Task, TaskRng, orhan_ma_task};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 50;
const ROUND: usize = 50;

/// One network being trained, with its data stream and clock.
struct Run {
    products: Products,
    model: Vanilla,
    adam: Adam,
    rng: TaskRng,
    elapsed: Duration,
    /// (iteration, loss, density) at the start of every tenth of training.
    trace: Vec<(usize, f64, f64)>,
}

impl Run {
    fn new(products: Products, n: usize, seed: u64, task: &dyn Task) -> Self {
        let cfg = VanillaConfig {
            n_inputs: task.n_inputs(),
            n_units: n,
            n_outputs: task.n_outputs(),
            lambda0: 0.9,
            sigma0: 0.2,
            ..Default::default()
        };
        let model = Vanilla::new(
            cfg,
            DType::F32,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed),
        )
        .unwrap();
        let adam = Adam::new(
            model.named_vars(),
            AdamConfig {
                learning_rate: 1e-3,
                ..Default::default()
            },
        )
        .unwrap();
        Self {
            products,
            model,
            adam,
            rng: TaskRng::seed_from_u64(7),
            elapsed: Duration::ZERO,
            trace: Vec::new(),
        }
    }

    /// Iterations `from..to`, timed; records the trace at multiples of `every`.
    fn train(&mut self, task: &dyn Task, from: usize, to: usize, every: usize) {
        // Orhan & Ma's objective: activity penalty 1e-4 on the last 5 steps.
        let obj = Objective {
            activity_penalty: 1e-4,
            penalty_steps: 5,
            rho: 0.0,
        };
        for it in from..to {
            let batch = task.batch(&mut self.rng, BATCH);
            let t0 = Instant::now();
            let (loss, parts, _) = with_products(self.products, || {
                objective(&self.model, task, &batch, &obj, None).unwrap()
            });
            let grads = with_products(self.products, || loss.backward().unwrap());
            self.adam.step(&grads).unwrap();
            self.elapsed += t0.elapsed();
            if it % every == 0 {
                self.trace
                    .push((it, parts.total, density(&self.model, &batch)));
            }
        }
    }
}

/// Mean over steps of the fraction of units active in some trial.
fn density(model: &Vanilla, batch: &wm_tasks::TrialBatch) -> f64 {
    let (input, _, _) = wm_rate_rnn::train::batch_tensors(batch, DType::F32).unwrap();
    common::active_density(&model.forward(&input, None).unwrap().rates)
}

fn main() {
    let sizes: Vec<usize> = std::env::var("WM_BENCH_N").map_or(vec![500, 100], |v| {
        v.split(',').filter_map(|x| x.trim().parse().ok()).collect()
    });
    let iters: usize = std::env::var("WM_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let seeds: Vec<u64> = std::env::var("WM_BENCH_SEEDS").map_or(vec![2019], |v| {
        v.split(',').filter_map(|x| x.trim().parse().ok()).collect()
    });
    let task = orhan_ma_task("2AFC", &OrhanMaTaskOptions::default()).unwrap();
    let every = (iters / 10).max(1);
    for n in sizes {
        for &seed in &seeds {
            compare(n, seed, iters, every, task.as_ref());
        }
    }
}

/// Train one network of `n` units from `seed` both ways, alternating, and
/// print the times and the two traces.
fn compare(n: usize, seed: u64, iters: usize, every: usize, task: &dyn Task) {
    let mut auto = Run::new(Products::Auto, n, seed, task);
    let mut dense = Run::new(Products::Dense, n, seed, task);
    for from in (0..iters).step_by(ROUND) {
        let to = (from + ROUND).min(iters);
        auto.train(task, from, to, every);
        dense.train(task, from, to, every);
    }
    let (a, d) = (auto.elapsed.as_secs_f64(), dense.elapsed.as_secs_f64());
    println!(
        "N = {n}, seed {seed}, {iters} iterations: {a:.1} s (sparse where it pays) vs {d:.1} s dense: {:.2}× faster",
        d / a
    );
    println!(
        "{:>10} {:>9} {:>12} {:>12}",
        "iteration", "density", "loss", "dense loss"
    );
    for (&(it, loss, dens), &(_, dloss, _)) in auto.trace.iter().zip(&dense.trace) {
        println!("{it:>10} {dens:>9.3} {loss:>12.6} {dloss:>12.6}");
    }
}
