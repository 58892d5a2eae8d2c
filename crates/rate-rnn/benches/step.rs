//! Training-step benchmark: milliseconds per step (forward + BPTT backward +
//! Adam) of the vanilla ReLU RNN at three sizes, single-threaded and as
//! whole-machine throughput (one network per core), each beside its roofline
//! (FLOPs per step ÷ the single-thread gemm rate, measured in rounds
//! interleaved with the timed steps; last column) and, when
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

/// Size of the square products that measure the machine's gemm rate.
const GEMM_N: usize = 512;

/// The single-thread f32 gemm rate on `GEMM_N`³ products, by the faster of
/// wm's two kernels: the gemm crate's (candle's, `linalg::matmul`) and the
/// packed one of the recurrent loop (`linalg::PackedRhs`, weights packed once).
struct GemmProbe {
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    packed: PackedRhs<f32>,
}

impl GemmProbe {
    fn new() -> Self {
        let n = GEMM_N;
        let b = vec![0.25f32; n * n];
        Self {
            a: vec![0.5f32; n * n],
            packed: PackedRhs::new(&b, Op::N, n, n),
            b,
            c: vec![0.0f32; n * n],
        }
    }

    /// One round of `reps` products by each kernel: `(gemm crate, packed)`
    /// in FLOP/s.
    fn round(&mut self, reps: usize) -> (f64, f64) {
        let n = GEMM_N;
        let flops = 2.0 * (n as f64).powi(3) * reps as f64;
        let t0 = Instant::now();
        for _ in 0..reps {
            matmul(&mut self.c, &self.a, Op::N, &self.b, Op::N, n, n, n, true);
        }
        let crate_rate = flops / t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        for _ in 0..reps {
            self.packed.matmul_acc(&mut self.c, &self.a, n);
        }
        (crate_rate, flops / t0.elapsed().as_secs_f64())
    }
}

/// FLOPs of one training step as dense products: the recurrent and read-out
/// products forward and their two backward products each (activation and
/// weight gradient); the input projection forward and its weight gradient
/// (the inputs themselves need no gradient). wm skips the zeros of the
/// sparse inputs (linalg::SparseRows), so it does fewer than this.
fn step_flops(n: usize, t: usize, b: usize) -> f64 {
    let (n, t, b, i) = (n as f64, t as f64, b as f64, N_IN as f64);
    let recurrent = 2.0 * b * n * n * (t - 1.0);
    let input = 2.0 * t * b * i * n;
    let readout = 2.0 * t * b * n;
    3.0 * (recurrent + readout) + 2.0 * input
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
    // Spike counts as dense as Orhan & Ma's stimulus epoch at its peak
    // (0.04 per neuron and step) on every step: an upper bound on a task's.
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
/// `timeit` advice); PyTorch's step is taken the same way. With a probe,
/// a round of gemm products follows every step, so that the roofline's
/// rate (the fastest round, returned second) is measured in the same
/// conditions as the steps: this machine's rate swings by half between runs.
fn time_steps(
    n: usize,
    t: usize,
    b: usize,
    reps: usize,
    seed: u64,
    mut probe: Option<&mut GemmProbe>,
) -> (f64, Option<(f64, f64)>) {
    let mut s = setup(n, t, b, seed);
    let obj = Objective {
        rho: 1e-4,
        ..Default::default()
    };
    for _ in 0..2 {
        step(&mut s, &obj);
    }
    // Each probe round lasts about as long as the step (at 60 GFLOP/s).
    let probe_reps = (step_flops(n, t, b) / (2.0 * (GEMM_N as f64).powi(3))).ceil() as usize;
    let mut best_ms = f64::INFINITY;
    let mut best_rates: Option<(f64, f64)> = None;
    for _ in 0..reps.max(1) {
        let t0 = Instant::now();
        step(&mut s, &obj);
        best_ms = best_ms.min(t0.elapsed().as_secs_f64() * 1e3);
        if let Some(p) = probe.as_deref_mut() {
            let (c, k) = p.round(probe_reps);
            let (bc, bk) = best_rates.unwrap_or((0.0, 0.0));
            best_rates = Some((bc.max(c), bk.max(k)));
        }
    }
    (best_ms, best_rates)
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
    let torch = torch_reference(reps);
    println!(
        "{:>16} {:>10} {:>9} {:>10} {:>14} {:>12} {:>18}",
        "(N, T, B)",
        "ms/step",
        "roofline",
        "×roofline",
        "steps/s (all)",
        "PyTorch ms",
        "GFLOP/s crate/own"
    );
    let mut probe = GemmProbe::new();
    probe.round(1);
    let only: Option<Vec<usize>> = std::env::var("WM_BENCH_N")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    for (n, t, b) in SIZES {
        if only.as_ref().is_some_and(|o| !o.contains(&n)) {
            continue;
        }
        let (single, rates) = time_steps(n, t, b, reps, 1, Some(&mut probe));
        let (crate_rate, own_rate) = rates.expect("the probe ran");
        let roof = step_flops(n, t, b) / crate_rate.max(own_rate) * 1e3;
        let wall = Instant::now();
        std::thread::scope(|sc| {
            for k in 0..cores {
                sc.spawn(move || time_steps(n, t, b, reps, 10 + k as u64, None));
            }
        });
        // Each thread also ran 2 warm-up steps.
        let throughput = (cores * (reps + 2)) as f64 / wall.elapsed().as_secs_f64();
        let pt = torch
            .as_ref()
            .and_then(|rows| rows.iter().find(|r| (r.0, r.1, r.2) == (n, t, b)))
            .map_or("-".to_string(), |r| format!("{:.1}", r.3));
        println!(
            "{:>16} {:>10.1} {:>9.1} {:>10.2} {:>14.1} {:>12} {:>18}",
            format!("({n}, {t}, {b})"),
            single,
            roof,
            single / roof,
            throughput,
            pt,
            format!("{:.0}/{:.0}", crate_rate / 1e9, own_rate / 1e9)
        );
    }
}
