//! Training-update benchmark of Kim et al.'s Dale's-law network at the
//! paper's size and rule: N = 200, one DMS trial per update (1 s fixation,
//! two 250-ms stimuli around a 750-ms delay, the response window; 5-ms
//! steps), trained τ^s, recurrent noise on. Prints milliseconds per update
//! (forward + BPTT backward + Adam) on one thread, and for comparison the
//! time of a 100-trial evaluation batch (forward only), the two costs of
//! `train_kim`.
//!
//! Run: `cargo bench -p wm-rate-rnn --bench dale_step` (`WM_BENCH_REPS`
//! sets the number of updates timed).

use std::time::Instant;

use candle_core::DType;
use rand::SeedableRng;
use wm_rate_rnn::dale::{DaleConfig, DaleLeaky};
use wm_rate_rnn::train::kim::kim_objective;
use wm_rate_rnn::{Adam, AdamConfig, RateModel};
use wm_tasks::kim::{DmsOptions, KimDms};
use wm_tasks::{Task, TaskRng};

/// mimalloc keeps freed pages for reuse; glibc's malloc returns the step's
/// multi-MB buffers to the kernel and page-faults them in again each step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let reps: usize = std::env::var("WM_BENCH_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let task = KimDms::new(DmsOptions::default()).expect("default DMS");
    let mut rng = TaskRng::seed_from_u64(1);
    let cfg = DaleConfig {
        n_inputs: task.n_inputs(),
        ..DaleConfig::default()
    };
    let model = DaleLeaky::new(cfg, DType::F32, &mut rng).expect("default network");
    let mut adam = Adam::new(
        model.named_vars(),
        AdamConfig {
            learning_rate: 0.01,
            ..AdamConfig::default()
        },
    )
    .expect("adam");
    let batches: Vec<_> = (0..reps).map(|_| task.batch(&mut rng, 1)).collect();
    let steps = batches[0].n_steps;
    // Warm-up, then the timed updates.
    for b in batches.iter().take(5) {
        let (loss, _, _) = kim_objective(&model, b, &mut rng).expect("objective");
        adam.step(&loss.backward().expect("backward"))
            .expect("adam");
    }
    let t0 = Instant::now();
    for b in &batches {
        let (loss, _, _) = kim_objective(&model, b, &mut rng).expect("objective");
        adam.step(&loss.backward().expect("backward"))
            .expect("adam");
    }
    let per_update = t0.elapsed().as_secs_f64() / reps as f64;
    println!(
        "dale update (N=200, B=1, T={steps}): {:.2} ms per update; {:.0} updates/s",
        per_update * 1e3,
        1.0 / per_update
    );
    let eval = task.batch(&mut rng, 100);
    // The fastest of three evaluations: the first also faults in its buffers.
    let eval_ms = (0..3)
        .map(|_| {
            let t0 = Instant::now();
            kim_objective(&model, &eval, &mut rng).expect("objective");
            t0.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min);
    println!("dale evaluation (N=200, B=100, T={steps}): {eval_ms:.1} ms (fastest of 3)");
}
