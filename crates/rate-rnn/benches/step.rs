//! Training-step benchmark: milliseconds per step (forward + BPTT backward +
//! Adam) of the vanilla ReLU RNN at three sizes, single-threaded and as
//! whole-machine throughput (one network per core), each beside its roofline
//! (FLOPs per step ÷ the machine's measured single-thread gemm rate) and, when
//! `python3 -c "import torch"` works, beside PyTorch running the same model
//! (`xtask/bench/torch_step.py`).
//!
//! Run: `cargo bench -p wm-rate-rnn --bench step` (set `WM_BENCH_REPS` to change
//! repetitions, `WM_BENCH_N=500,100` to run only those network sizes).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use wm_rate_rnn::linalg::{Op, PackedRhs, matmul};
use wm_rate_rnn::loss::{Objective, activity_penalty, task_loss, weight_decay};
use wm_rate_rnn::{Adam, AdamConfig, RateModel, Vanilla, VanillaConfig};
use wm_tasks::LossKind;

/// mimalloc keeps freed pages for reuse; glibc's malloc returns the step's
/// multi-MB buffers to the kernel and page-faults them in again each step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIZES: [(usize, usize, usize); 3] = [(500, 100, 50), (256, 150, 64), (100, 100, 50)];
const N_IN: usize = 50;

/// Single-thread f32 gemm rate (FLOP/s) of `product` on square matrices of
/// size `n`: the best of five rounds (the machine's rate, not a neighbour's).
fn gemm_rate(n: usize, mut product: impl FnMut(&mut [f32], &[f32], &[f32])) -> f64 {
    let a = vec![0.5f32; n * n];
    let b = vec![0.25f32; n * n];
    let mut c = vec![0.0f32; n * n];
    product(&mut c, &a, &b);
    let reps = (4e9 / (2.0 * (n as f64).powi(3))).ceil() as usize;
    let best = (0..5)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..reps {
                product(&mut c, &a, &b);
            }
            t0.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    2.0 * (n as f64).powi(3) * reps as f64 / best
}

/// FLOPs of one training step: the forward products and their two backward
/// products each (activation gradient and weight gradient).
fn step_flops(n: usize, t: usize, b: usize) -> f64 {
    let (n, t, b, i) = (n as f64, t as f64, b as f64, N_IN as f64);
    let forward = 2.0 * b * n * n * (t - 1.0) + 2.0 * t * b * i * n + 2.0 * t * b * n;
    3.0 * forward
}

struct Setup {
    model: Vanilla,
    adam: Adam,
    input: Tensor,
    target: Tensor,
    mask: Tensor,
}

fn setup(n: usize, t: usize, b: usize, seed: u64) -> Setup {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let cfg = VanillaConfig {
        n_inputs: N_IN,
        n_units: n,
        n_outputs: 1,
        lambda0: 0.9,
        sigma0: 0.2,
        ..Default::default()
    };
    let model = Vanilla::new(cfg, DType::F32, &mut rng).unwrap();
    let adam = Adam::new(model.named_vars(), AdamConfig::default()).unwrap();
    let dev = &Device::Cpu;
    let x: Vec<f32> = (0..t * b * N_IN)
        .map(|_| f32::from(rng.random_bool(0.04)))
        .collect();
    let y: Vec<f32> = (0..t * b).map(|_| rng.random::<f32>()).collect();
    let m: Vec<f32> = (0..t * b).map(|k| f32::from(k / b >= t - t / 6)).collect();
    Setup {
        model,
        adam,
        input: Tensor::from_vec(x, (t, b, N_IN), dev).unwrap(),
        target: Tensor::from_vec(y, (t, b, 1), dev).unwrap(),
        mask: Tensor::from_vec(m, (t, b, 1), dev).unwrap(),
    }
}

fn step(s: &mut Setup, obj: &Objective) {
    let fwd = s.model.forward(&s.input, None).unwrap();
    let task = task_loss(&fwd.readout, &s.target, &s.mask, LossKind::Squared).unwrap();
    let act = activity_penalty(&fwd, obj.penalty_steps, obj.activity_penalty).unwrap();
    let wd = weight_decay(&s.model.named_vars(), obj.rho).unwrap();
    let loss = ((task + act).unwrap() + wd).unwrap();
    let grads = loss.backward().unwrap();
    s.adam.step(&grads).unwrap();
}

/// The fastest of `reps` steps in ms, after two warm-up steps. On a shared
/// machine interference only ever slows a step down, so the fastest
/// repetition is the best estimate of the code's own cost (Python's
/// `timeit` advice); the gemm rate and PyTorch's step are taken the same way.
fn time_steps(n: usize, t: usize, b: usize, reps: usize, seed: u64) -> f64 {
    let mut s = setup(n, t, b, seed);
    let obj = Objective {
        rho: 1e-4,
        ..Default::default()
    };
    for _ in 0..2 {
        step(&mut s, &obj);
    }
    let ms: Vec<f64> = (0..reps.max(1))
        .map(|_| {
            let t0 = Instant::now();
            step(&mut s, &obj);
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.into_iter().fold(f64::INFINITY, f64::min)
}

fn torch_reference(reps: usize) -> Option<Vec<(usize, usize, usize, f64)>> {
    let ok = Command::new("python3")
        .args(["-c", "import torch"])
        .output()
        .ok()?
        .status
        .success();
    if !ok {
        println!(
            "PyTorch: skipped (python3 -c \"import torch\" fails; pip install torch to compare)"
        );
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../xtask/bench/torch_step.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["--reps", &reps.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = Vec::new();
    for line in text.lines() {
        let field = |k: &str| -> Option<f64> {
            let rest = line.split(&format!("\"{k}\": ")).nth(1)?;
            rest.split([',', '}']).next()?.trim().parse().ok()
        };
        rows.push((
            field("n")? as usize,
            field("t")? as usize,
            field("b")? as usize,
            field("ms_per_step")?,
        ));
    }
    Some(rows)
}

fn main() {
    // candle's own matmuls (input projection, read-out) must not spawn threads.
    if std::env::var("RAYON_NUM_THREADS").as_deref() != Ok("1") {
        println!(
            "note: run with RAYON_NUM_THREADS=1 for single-threaded candle matmuls (the trainer's setting)"
        );
    }
    let reps: usize = std::env::var("WM_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // The roofline takes the faster of wm's two kernels on a large square
    // product: the gemm crate's (candle's, linalg::matmul) and the packed
    // one of the recurrent loop (linalg::PackedRhs, weights packed once).
    let crate_rate = gemm_rate(512, |c, a, b| {
        matmul(c, a, Op::N, b, Op::N, 512, 512, 512, true);
    });
    let mut packed: Option<PackedRhs<f32>> = None;
    let own_rate = gemm_rate(512, |c, a, b| {
        packed
            .get_or_insert_with(|| PackedRhs::new(b, Op::N, 512, 512))
            .matmul_acc(c, a, 512);
    });
    let rate = crate_rate.max(own_rate);
    println!(
        "single-thread f32 gemm rate (512³): gemm crate {:.1}, packed kernel {:.1} GFLOP/s",
        crate_rate / 1e9,
        own_rate / 1e9
    );
    let torch = torch_reference(reps);
    println!(
        "{:>16} {:>10} {:>9} {:>10} {:>14} {:>12}",
        "(N, T, B)", "ms/step", "roofline", "×roofline", "steps/s (all)", "PyTorch ms"
    );
    let only: Option<Vec<usize>> = std::env::var("WM_BENCH_N")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    for (n, t, b) in SIZES {
        if only.as_ref().is_some_and(|o| !o.contains(&n)) {
            continue;
        }
        let single = time_steps(n, t, b, reps, 1);
        let roof = step_flops(n, t, b) / rate * 1e3;
        let wall = Instant::now();
        std::thread::scope(|sc| {
            for k in 0..cores {
                sc.spawn(move || time_steps(n, t, b, reps, 10 + k as u64));
            }
        });
        // Each thread also ran 2 warm-up steps.
        let throughput = (cores * (reps + 2)) as f64 / wall.elapsed().as_secs_f64();
        let pt = torch
            .as_ref()
            .and_then(|rows| rows.iter().find(|r| (r.0, r.1, r.2) == (n, t, b)))
            .map_or("-".to_string(), |r| format!("{:.1}", r.3));
        println!(
            "{:>16} {:>10.1} {:>9.1} {:>10.2} {:>14.1} {:>12}",
            format!("({n}, {t}, {b})"),
            single,
            roof,
            single / roof,
            throughput,
            pt
        );
    }
}
