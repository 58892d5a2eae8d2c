//! Training-step benchmark: milliseconds per step (forward + BPTT backward +
//! Adam) of the vanilla ReLU RNN, single-threaded, beside its dense
//! roofline (FLOPs per step ÷ the single-thread gemm rate, measured in
//! rounds interleaved with the timed steps) and, when a `python3` with
//! torch is found, beside PyTorch running the same sizes
//! (`xtask/bench/torch_step.py`).
//!
//! Two kinds of cases:
//! - untrained networks at three sizes (random weights, spike-count
//!   inputs), with whole-machine throughput (one network per core): their
//!   units are active in nearly every step, so they measure the dense path;
//! - trained Orhan & Ma (2019) 2AFC networks (`benches/data/`, N = 500 and
//!   256) on their own task's trials: their activity is mostly silent units,
//!   which the recurrence's products skip.
//!
//! Each case runs with `recurrence::Products::Auto` (silent units skipped
//! where it pays; opt-in, since training runs dense by default) and with
//! dense products (`recurrence::Products::Dense`); `density` is the mean fraction of units active (nonzero in
//! some trial) per step. Every row is also written to
//! `target/wm-bench/step.json`, one object per case.
//!
//! Run: `cargo bench -p wm-rate-rnn --bench step` (set `WM_BENCH_REPS` to change
//! repetitions, `WM_BENCH_N=500,100` to run only those network sizes). PyTorch:
//! `WM_BENCH_PYTHON` names the interpreter; otherwise the first `python3` on
//! `PATH` that imports torch is used.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use wm_rate_rnn::linalg::{Op, PackedRhs, matmul};
use wm_rate_rnn::loss::{Objective, activity_penalty, task_loss, weight_decay};
use wm_rate_rnn::recurrence::{Products, with_products};
use wm_rate_rnn::train::batch_tensors;
use wm_rate_rnn::{Adam, AdamConfig, RateModel, Vanilla, VanillaConfig};
use wm_tasks::{LossKind, OrhanMaTaskOptions, TaskRng, orhan_ma_task};

/// mimalloc keeps freed pages for reuse; glibc's malloc returns the step's
/// multi-MB buffers to the kernel and page-faults them in again each step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIZES: [(usize, usize, usize); 3] = [(500, 100, 50), (256, 150, 64), (100, 100, 50)];
const N_IN: usize = 50;

/// Trained networks: (N, folder under `benches/data/`), each holding the
/// parameters of a 2AFC network of Orhan & Ma (2019) trained with `wm
/// train --config train.toml` for 2,000 iterations). Their 2AFC
/// trials have 150 steps and 50 inputs; the batch is 50 trials.
const TRAINED: [(usize, &str); 2] = [(500, "orhan-ma-2afc-n500"), (256, "orhan-ma-2afc-n256")];
const TRAINED_BATCH: usize = 50;

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
    loss: LossKind,
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
        loss: LossKind::Squared,
    }
}

/// A trained network from `benches/data/<dir>` on a batch of its task's
/// trials; returns it and the trials' length.
fn trained(n: usize, dir: &str) -> (Setup, usize) {
    let task = orhan_ma_task("2AFC", &OrhanMaTaskOptions::default()).unwrap();
    let cfg = VanillaConfig {
        n_inputs: task.n_inputs(),
        n_units: n,
        n_outputs: task.n_outputs(),
        ..Default::default()
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let model = Vanilla::new(cfg, DType::F32, &mut rng).unwrap();
    let path = data_dir().join(dir).join("weights.safetensors");
    let saved = candle_core::safetensors::load(&path, &Device::Cpu)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for (name, var) in model.named_vars() {
        let value = saved
            .get(name)
            .unwrap_or_else(|| panic!("{}: no tensor `{name}`", path.display()));
        var.set(value).unwrap();
    }
    let adam = Adam::new(model.named_vars(), AdamConfig::default()).unwrap();
    let batch = task.batch(&mut TaskRng::seed_from_u64(3), TRAINED_BATCH);
    let (input, target, mask) = batch_tensors(&batch, DType::F32).unwrap();
    let setup = Setup {
        model,
        adam,
        input,
        target,
        mask,
        loss: task.loss_kind(),
    };
    (setup, batch.n_steps)
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data")
}

fn step(s: &mut Setup, obj: &Objective) {
    let fwd = s.model.forward(&s.input, None).unwrap();
    let task = task_loss(&fwd.readout, &s.target, &s.mask, s.loss).unwrap();
    let act = activity_penalty(&fwd, obj.penalty_steps, obj.activity_penalty).unwrap();
    let wd = weight_decay(&s.model.named_vars(), obj.rho).unwrap();
    let loss = ((task + act).unwrap() + wd).unwrap();
    let grads = loss.backward().unwrap();
    s.adam.step(&grads).unwrap();
}

/// Mean over steps of the fraction of units active (nonzero) in some
/// trial, for the network's current forward pass.
fn density(s: &Setup) -> f64 {
    common::active_density(&s.model.forward(&s.input, None).unwrap().rates)
}

/// The fastest of `reps` steps in ms, after two warm-up steps. On a shared
/// machine interference only ever slows a step down, so the fastest
/// repetition is the best estimate of the code's own cost (Python's
/// `timeit` advice); PyTorch's step is taken the same way. With a probe,
/// a round of gemm products follows every step, so that the roofline's
/// rate (the fastest round, returned second) is measured in the same
/// conditions as the steps: this machine's rate swings by half between runs.
fn time_steps(
    mut s: Setup,
    (n, t, b): (usize, usize, usize),
    reps: usize,
    mut probe: Option<&mut GemmProbe>,
) -> (f64, Option<(f64, f64)>) {
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

/// The interpreter for the PyTorch reference: `WM_BENCH_PYTHON`, else the
/// first `python3` on `PATH` that imports torch.
fn torch_python() -> Option<PathBuf> {
    let imports_torch = |py: &Path| {
        Command::new(py)
            .args(["-c", "import torch"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Some(py) = std::env::var_os("WM_BENCH_PYTHON") {
        let py = PathBuf::from(py);
        return imports_torch(&py).then_some(py);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("python3"))
        .find(|py| py.is_file() && imports_torch(py))
}

/// PyTorch's ms per step at each size `(N, T, B)`.
fn torch_reference(
    reps: usize,
    sizes: &[(usize, usize, usize)],
) -> Option<Vec<(usize, usize, usize, f64)>> {
    let Some(python) = torch_python() else {
        println!(
            "PyTorch: skipped (no python3 on PATH imports torch; pip install torch, or set WM_BENCH_PYTHON)"
        );
        return None;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../xtask/bench/torch_step.py");
    let sizes: Vec<String> = sizes
        .iter()
        .map(|(n, t, b)| format!("{n}x{t}x{b}"))
        .collect();
    let out = Command::new(python)
        .arg(script)
        .args(["--reps", &reps.to_string(), "--sizes", &sizes.join(",")])
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

/// One bench result, as written to `target/wm-bench/step.json`.
struct Row {
    n: usize,
    t: usize,
    b: usize,
    density: f64,
    ms_per_step: f64,
    dense_ms_per_step: f64,
    dense_roofline_ms: f64,
    torch_ms: Option<f64>,
    trained: bool,
}

impl Row {
    fn json(&self) -> String {
        format!(
            "{{\"n\": {}, \"t\": {}, \"b\": {}, \"trained\": {}, \"density\": {:.4}, \"ms_per_step\": {:.3}, \"dense_ms_per_step\": {:.3}, \"dense_roofline_ms\": {:.3}, \"torch_ms\": {}}}",
            self.n,
            self.t,
            self.b,
            self.trained,
            self.density,
            self.ms_per_step,
            self.dense_ms_per_step,
            self.dense_roofline_ms,
            self.torch_ms
                .map_or("null".to_string(), |v| format!("{v:.3}"))
        )
    }
}

/// `target/wm-bench/step.json`: the workspace's target folder (or
/// `CARGO_TARGET_DIR`).
fn write_json(rows: &[Row]) {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    let dir = target.join("wm-bench");
    let body: Vec<String> = rows.iter().map(|r| format!("  {}", r.json())).collect();
    let text = format!("[\n{}\n]\n", body.join(",\n"));
    let path = dir.join("step.json");
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text)) {
        Ok(()) => println!("results in {}", path.display()),
        Err(e) => println!("cannot write {}: {e}", path.display()),
    }
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
    let only: Option<Vec<usize>> = std::env::var("WM_BENCH_N")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let wanted = |n: usize| only.as_ref().is_none_or(|o| o.contains(&n));
    let trained_cases: Vec<(usize, &str, usize)> = TRAINED
        .iter()
        .filter(|(n, _)| wanted(*n))
        .map(|&(n, dir)| (n, dir, trained(n, dir).1))
        .collect();
    let mut sizes: Vec<(usize, usize, usize)> = SIZES
        .iter()
        .copied()
        .filter(|&(n, _, _)| wanted(n))
        .collect();
    for &(n, _, t) in &trained_cases {
        if !sizes.contains(&(n, t, TRAINED_BATCH)) {
            sizes.push((n, t, TRAINED_BATCH));
        }
    }
    let torch = torch_reference(reps, &sizes);
    println!(
        "{:>16} {:>8} {:>9} {:>9} {:>9} {:>10} {:>10} {:>14} {:>11} {:>18}",
        "(N, T, B)",
        "density",
        "ms/step",
        "dense ms",
        "roofline",
        "×roofline",
        "×PyTorch",
        "steps/s (all)",
        "PyTorch ms",
        "GFLOP/s crate/own"
    );
    let mut probe = GemmProbe::new();
    probe.round(1);
    let mut rows = Vec::new();
    let cases = SIZES
        .iter()
        .filter(|&&(n, _, _)| wanted(n))
        .map(|&(n, t, b)| (n, t, b, None))
        .chain(
            trained_cases
                .iter()
                .map(|&(n, dir, t)| (n, t, TRAINED_BATCH, Some(dir))),
        );
    for (n, t, b, dir) in cases {
        let build = |seed: u64| match dir {
            Some(d) => trained(n, d).0,
            None => setup(n, t, b, seed),
        };
        let density = density(&build(1));
        let (single, rates) = with_products(Products::Auto, || {
            time_steps(build(1), (n, t, b), reps, Some(&mut probe))
        });
        let (dense, _) = with_products(Products::Dense, || {
            time_steps(build(1), (n, t, b), reps, Some(&mut probe))
        });
        let (crate_rate, own_rate) = rates.expect("the probe ran");
        let roof = step_flops(n, t, b) / crate_rate.max(own_rate) * 1e3;
        // Whole-machine throughput, for the untrained networks only.
        let throughput = if dir.is_none() {
            let wall = Instant::now();
            std::thread::scope(|sc| {
                for k in 0..cores {
                    sc.spawn(move || {
                        with_products(Products::Auto, || {
                            time_steps(setup(n, t, b, 10 + k as u64), (n, t, b), reps, None)
                        })
                    });
                }
            });
            // Each thread also ran 2 warm-up steps.
            format!(
                "{:.1}",
                (cores * (reps + 2)) as f64 / wall.elapsed().as_secs_f64()
            )
        } else {
            "-".to_string()
        };
        let pt = torch
            .as_ref()
            .and_then(|rows| rows.iter().find(|r| (r.0, r.1, r.2) == (n, t, b)))
            .map(|r| r.3);
        let label = match dir {
            Some(_) => format!("trained ({n}, {t}, {b})"),
            None => format!("({n}, {t}, {b})"),
        };
        println!(
            "{:>16} {:>8.3} {:>9.1} {:>9.1} {:>9.1} {:>10.2} {:>10} {:>14} {:>11} {:>18}",
            label,
            density,
            single,
            dense,
            roof,
            single / roof,
            pt.map_or("-".to_string(), |p| format!("{:.2}", single / p)),
            throughput,
            pt.map_or("-".to_string(), |p| format!("{p:.1}")),
            format!("{:.0}/{:.0}", crate_rate / 1e9, own_rate / 1e9)
        );
        rows.push(Row {
            n,
            t,
            b,
            density,
            ms_per_step: single,
            dense_ms_per_step: dense,
            dense_roofline_ms: roof,
            torch_ms: pt,
            trained: dir.is_some(),
        });
    }
    write_json(&rows);
}
