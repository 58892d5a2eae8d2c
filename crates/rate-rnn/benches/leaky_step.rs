//! Training-step benchmark of the leaky softplus RNN at Xie et al.'s size
//! (N = 256, T = 250 (the 3-s ODR), B = 64, 15 inputs, 9 logistic outputs,
//! input and recurrent noise on): milliseconds per step (forward + BPTT
//! backward + Adam) single-threaded, trials per second, whole-machine
//! throughput (one network per core) and, when `python3 -c "import torch"`
//! works, PyTorch running the same model single-threaded on this machine
//! (the script is embedded below).
//!
//! Run: `RAYON_NUM_THREADS=1 cargo bench -p wm-rate-rnn --bench leaky_step`
//! (`WM_BENCH_REPS` sets repetitions).

use std::process::Command;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use rand::{Rng, SeedableRng};
use wm_rate_rnn::loss::task_loss;
use wm_rate_rnn::{Adam, AdamConfig, Leaky, LeakyConfig, RateModel};
use wm_tasks::{LossKind, TaskRng};

/// mimalloc keeps freed pages for reuse; glibc's malloc returns the step's
/// multi-MB buffers to the kernel and page-faults them in again each step.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const N: usize = 256;
const T: usize = 250;
const B: usize = 64;
const N_IN: usize = 15;
const N_OUT: usize = 9;

struct Setup {
    model: Leaky,
    adam: Adam,
    input: Tensor,
    target: Tensor,
    mask: Tensor,
    noise: TaskRng,
}

fn setup(seed: u64) -> Setup {
    let mut rng = TaskRng::seed_from_u64(seed);
    let model = Leaky::new(LeakyConfig::default(), DType::F32, &mut rng).unwrap();
    let adam = Adam::new(
        model.named_vars(),
        AdamConfig {
            learning_rate: 1e-3,
            ..Default::default()
        },
    )
    .unwrap();
    let dev = &Device::Cpu;
    let x: Vec<f32> = (0..T * B * N_IN).map(|_| rng.random::<f32>()).collect();
    let y: Vec<f32> = (0..T * B * N_OUT).map(|_| rng.random::<f32>()).collect();
    let m: Vec<f32> = (0..T * B * N_OUT)
        .map(|k| if k / (B * N_OUT) < 5 { 0.0 } else { 1.0 })
        .collect();
    Setup {
        model,
        adam,
        input: Tensor::from_vec(x, (T, B, N_IN), dev).unwrap(),
        target: Tensor::from_vec(y, (T, B, N_OUT), dev).unwrap(),
        mask: Tensor::from_vec(m, (T, B, N_OUT), dev).unwrap(),
        noise: TaskRng::seed_from_u64(seed + 1),
    }
}

fn step(s: &mut Setup) {
    let fwd = s.model.forward_noisy(&s.input, None, &mut s.noise).unwrap();
    let out = candle_nn::ops::sigmoid(&fwd.readout).unwrap();
    let loss = task_loss(&out, &s.target, &s.mask, LossKind::Squared).unwrap();
    let grads = loss.backward().unwrap();
    s.adam.step(&grads).unwrap();
}

fn time_steps(reps: usize, seed: u64) -> f64 {
    let mut s = setup(seed);
    for _ in 0..2 {
        step(&mut s);
    }
    let t0 = Instant::now();
    for _ in 0..reps {
        step(&mut s);
    }
    t0.elapsed().as_secs_f64() * 1e3 / reps as f64
}

const TORCH: &str = r#"
import sys, time, torch
torch.set_num_threads(1)
N, T, B, I, O, reps = 256, 250, 64, 15, 9, int(sys.argv[1])
g = torch.Generator().manual_seed(0)
w_in = (torch.randn(I, N, generator=g) / I**0.5).requires_grad_()
q, _ = torch.linalg.qr(torch.randn(N, N, generator=g))
w_rec = (0.5 * q).requires_grad_()
b_rec = torch.zeros(N, requires_grad=True)
w_out = ((torch.rand(N, O, generator=g) * 2 - 1) * (6 / (N + O))**0.5).requires_grad_()
b_out = torch.zeros(O, requires_grad=True)
ps = [w_in, w_rec, b_rec, w_out, b_out]
opt = torch.optim.Adam(ps, lr=1e-3)
x, y = torch.rand(T, B, I, generator=g), torch.rand(T, B, O, generator=g)
m = torch.ones(T, B, O); m[:5] = 0
def step():
    opt.zero_grad(set_to_none=True)
    xn = x + 10**0.5 * 0.01 * torch.randn(T, B, I)
    u = (xn @ w_in + b_rec + 10**0.5 * 0.05 * torch.randn(T, B, N)).unbind(0)
    r = torch.zeros(B, N); rs = []
    for k in range(T):
        r = 0.8 * r + 0.2 * torch.nn.functional.softplus(u[k] + r @ w_rec)
        rs.append(r)
    out = torch.sigmoid(torch.stack(rs) @ w_out + b_out)
    loss = (((out - y) * m) ** 2).mean()
    loss.backward()
    for p in ps: p.grad.clamp_(-1, 1)
    opt.step()
for _ in range(2): step()
t0 = time.perf_counter()
for _ in range(reps): step()
print((time.perf_counter() - t0) / reps * 1e3)
"#;

fn torch_ms(reps: usize) -> Option<f64> {
    let out = Command::new("python3")
        .args(["-c", TORCH, &reps.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        println!("PyTorch: skipped (python3 with torch not available here)");
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn main() {
    if std::env::var("RAYON_NUM_THREADS").as_deref() != Ok("1") {
        println!("note: run with RAYON_NUM_THREADS=1 (the trainer's setting)");
    }
    let reps: usize = std::env::var("WM_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let single = time_steps(reps, 1);
    let wall = Instant::now();
    std::thread::scope(|sc| {
        for k in 0..cores {
            sc.spawn(move || time_steps(reps, 10 + k as u64));
        }
    });
    let all = (cores * (reps + 2) * B) as f64 / wall.elapsed().as_secs_f64();
    let torch = torch_ms(reps);
    println!("leaky softplus RNN, (N, T, B) = ({N}, {T}, {B}), f32, noise on");
    println!(
        "{:>10} {:>14} {:>20} {:>12} {:>18}",
        "ms/step",
        "trials/s (1)",
        format!("trials/s ({cores} cores)"),
        "PyTorch ms",
        "PyTorch trials/s"
    );
    println!(
        "{:>10.1} {:>14.0} {:>20.0} {:>12} {:>18}",
        single,
        B as f64 / single * 1e3,
        all,
        torch.map_or("-".into(), |t| format!("{t:.1}")),
        torch.map_or("-".into(), |t| format!("{:.0}", B as f64 / t * 1e3)),
    );
}
