//! A small memory task written for these tests, independent of `wm-tasks`'
//! published tasks: a ±1 pulse on channel 0 in the first 3 steps, a delay,
//! and the sign to report (as a probability) in the last 5 steps.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use wm_rate_rnn::{DType, Vanilla, VanillaConfig};
use wm_tasks::kim::{GoNoGoOptions, KimGoNoGo};
use wm_tasks::{LossKind, OutputKind, Score, Task, TaskRng, Timeline, TrialBatch, TrialInfo};

pub struct SignMemory {
    pub timeline: Timeline,
    pub loss: LossKind,
    pub output: OutputKind,
}

impl SignMemory {
    pub fn new(delay: f64, output: OutputKind) -> Self {
        let loss = match output {
            OutputKind::Sigmoid => LossKind::BinaryCrossEntropy,
            OutputKind::Linear => LossKind::ModAbs {
                period: std::f64::consts::PI,
            },
        };
        Self {
            timeline: Timeline::fixed(
                &[("stimulus", 3.0), ("delay", delay), ("response", 5.0)],
                1.0,
            ),
            loss,
            output,
        }
    }
}

impl Task for SignMemory {
    fn name(&self) -> &str {
        "sign-memory"
    }
    fn n_inputs(&self) -> usize {
        2
    }
    fn n_outputs(&self) -> usize {
        1
    }
    fn timeline(&self) -> &Timeline {
        &self.timeline
    }
    fn output_kind(&self) -> OutputKind {
        self.output
    }
    fn loss_kind(&self) -> LossKind {
        self.loss
    }
    fn batch(&self, rng: &mut TaskRng, n: usize) -> TrialBatch {
        let t = self.n_steps();
        let mut b = TrialBatch::zeros(t, n, 2, 1);
        for k in 0..n {
            let c: u8 = rng.random_range(0..2);
            let sign = if c == 1 { 1.0 } else { -1.0 };
            for s in 0..3 {
                let i = b.input_index(s, k, 0);
                b.input[i] = sign;
                let j = b.input_index(s, k, 1);
                b.input[j] = 1.0;
            }
            for s in 0..t {
                let i = b.output_index(s, k, 0);
                b.target[i] = if self.output == OutputKind::Sigmoid {
                    f32::from(c)
                } else {
                    1.0 + sign * 0.5
                };
                b.mask[i] = if s + 5 >= t { 1.0 } else { 0.0 };
            }
            b.trials.push(TrialInfo {
                condition: Some(c),
                ..Default::default()
            });
        }
        b
    }
    fn score(&self, batch: &TrialBatch, output: &[f32]) -> Score {
        let t = batch.n_steps - 1;
        let mut correct = 0;
        for k in 0..batch.batch_size {
            let y = output[batch.output_index(t, k, 0)];
            let target = batch.target[batch.output_index(t, k, 0)];
            let right = match self.output {
                OutputKind::Sigmoid => (y > 0.5) == (target > 0.5),
                OutputKind::Linear => (y > 1.0) == (target > 1.0),
            };
            correct += usize::from(right);
        }
        let acc = correct as f64 / batch.batch_size as f64;
        Score {
            accuracy: Some(acc),
            error: 1.0 - acc,
            ..Default::default()
        }
    }
}

/// An untrained vanilla ReLU network of `n` units for [`SignMemory`]
/// (2 inputs, 1 output, λ0 = 0.9, σ0 = 0.3), seeded.
pub fn net(seed: u64, n: usize) -> Vanilla {
    let cfg = VanillaConfig {
        n_inputs: 2,
        n_units: n,
        n_outputs: 1,
        lambda0: 0.9,
        sigma0: 0.3,
        ..Default::default()
    };
    Vanilla::new(
        cfg,
        DType::F32,
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed),
    )
    .unwrap()
}

/// A parameter's autograd gradient and value, flattened, with its shape:
/// what a finite-difference check of it needs.
pub struct FlatVar {
    pub grad: Vec<f64>,
    pub value: Vec<f64>,
    shape: Vec<usize>,
}

impl FlatVar {
    /// `var` (f64) and its gradient in `grads`.
    pub fn new(var: &candle_core::Var, grads: &candle_core::backprop::GradStore) -> Self {
        let flat = |t: &candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f64>().unwrap();
        Self {
            grad: flat(grads.get(var.as_tensor()).expect("no gradient")),
            value: flat(var.as_tensor()),
            shape: var.dims().to_vec(),
        }
    }

    /// (f(θ + ε e_k) − f(θ − ε e_k)) / 2ε, the objective `f` read after
    /// setting entry `k` of `var`; `var` is restored afterwards.
    pub fn central_difference(
        &self,
        var: &candle_core::Var,
        k: usize,
        eps: f64,
        f: impl Fn() -> f64,
    ) -> f64 {
        let set = |delta: f64| {
            let mut p = self.value.clone();
            p[k] += delta;
            let t =
                candle_core::Tensor::from_vec(p, self.shape.as_slice(), &candle_core::Device::Cpu);
            var.set(&t.unwrap()).unwrap();
        };
        set(eps);
        let up = f();
        set(-eps);
        let down = f();
        set(0.0);
        (up - down) / (2.0 * eps)
    }
}

/// Kim & Sejnowski's Go-NoGo task with short epochs (20, 25 and 40 ms), so
/// that a test trial has few steps.
pub fn short_go_nogo() -> KimGoNoGo {
    KimGoNoGo::new(GoNoGoOptions {
        fixation_ms: 20.0,
        cue_ms: 25.0,
        response_ms: 40.0,
        ..GoNoGoOptions::default()
    })
    .unwrap()
}
