//! The leaky softplus RNN (Xie et al. 2022): an independent plain-loop
//! reference of the forward equations with the same noise draws, gradients
//! against central finite differences in f64, elementwise gradient clipping,
//! seeded noise reproducibility and the initialisation's closed forms.

mod common;

use std::sync::Arc;

use common::FlatVar;

use candle_core::DType;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use wm_rate_rnn::loss::Objective;
use wm_rate_rnn::train::{batch_tensors, objective};
use wm_rate_rnn::{Leaky, LeakyConfig, Noise, RateModel};
use wm_tasks::{Task, TaskRng, XieRule, XieTask, XieTaskOptions};

fn small(seed: u64, clip: Option<f64>) -> Leaky {
    let cfg = LeakyConfig {
        n_inputs: 15,
        n_units: 10,
        n_outputs: 9,
        grad_clip_value: clip,
        ..LeakyConfig::default()
    };
    let mut rng = TaskRng::seed_from_u64(seed);
    Leaky::new(cfg, DType::F64, &mut rng).unwrap()
}

fn overlap() -> XieTask {
    XieTask::new(XieRule::Overlap, 0, 6, XieTaskOptions::default()).unwrap()
}

fn no_extra() -> Objective {
    Objective {
        activity_penalty: 0.0,
        penalty_steps: 5,
        rho: 0.0,
    }
}

fn softplus(z: f64) -> f64 {
    if z > 30.0 { z } else { z.exp().ln_1p() }
}

#[test]
fn forward_matches_a_plain_loop_reference_with_the_same_noise_draws() {
    let model = small(1, Some(1.0));
    let task = overlap();
    let batch = task.batch(&mut TaskRng::seed_from_u64(2), 3);
    let (input, _, _) = batch_tensors(&batch, DType::F64).unwrap();
    let fwd = model
        .forward_with(
            &input,
            None,
            &mut TaskRng::seed_from_u64(77),
            Noise::TRAINING,
        )
        .unwrap();
    let rates: Vec<f64> = fwd.rates.flatten_all().unwrap().to_vec1().unwrap();
    let readout: Vec<f64> = fwd.readout.flatten_all().unwrap().to_vec1().unwrap();

    let (t, b, ni, n, o) = (batch.n_steps, 3, 15, 10, 9);
    let cfg = model.config();
    let alpha = 0.2;
    let sd_x = (2.0f64 / alpha).sqrt() * 0.01;
    let sd_r = (2.0f64 / alpha).sqrt() * 0.05;
    assert!((cfg.input_noise_sd() - sd_x).abs() < 1e-15);
    assert!((cfg.rec_noise_sd() - sd_r).abs() < 1e-15);
    // The same draws, in the documented order: input noise [T,B,I], then recurrent [T,B,N], f32.
    let mut rng = TaskRng::seed_from_u64(77);
    let mut draw = |len: usize, sd: f64| -> Vec<f64> {
        (0..len)
            .map(|_| {
                let z: f32 = StandardNormal.sample(&mut rng);
                f64::from(sd as f32 * z)
            })
            .collect()
    };
    let eta = draw(t * b * ni, sd_x);
    let xi = draw(t * b * n, sd_r);
    let w_in = model.parameter("w_in").unwrap();
    let w_rec = model.parameter("w_rec").unwrap();
    let b_rec = model.parameter("b_rec").unwrap();
    let w_out = model.parameter("w_out").unwrap();
    let b_out = model.parameter("b_out").unwrap();
    let mut r = vec![vec![0.0; n]; b];
    for s in 0..t {
        for k in 0..b {
            let mut next = vec![0.0; n];
            for j in 0..n {
                let mut z = b_rec[j] + xi[(s * b + k) * n + j];
                for i in 0..ni {
                    let x = f64::from(batch.input[batch.input_index(s, k, i)])
                        + eta[(s * b + k) * ni + i];
                    z += x * w_in[i * n + j];
                }
                for i in 0..n {
                    z += r[k][i] * w_rec[i * n + j];
                }
                next[j] = (1.0 - alpha) * r[k][j] + alpha * softplus(z);
            }
            r[k] = next;
            for j in 0..n {
                let got = rates[(s * b + k) * n + j];
                assert!(
                    (got - r[k][j]).abs() < 1e-9,
                    "rate t={s} b={k} j={j}: {got} vs {}",
                    r[k][j]
                );
            }
            for q in 0..o {
                let want = b_out[q] + (0..n).map(|i| r[k][i] * w_out[i * o + q]).sum::<f64>();
                assert!((readout[(s * b + k) * o + q] - want).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn gradients_match_finite_differences_with_noise_on() {
    let model = small(3, None);
    let task = overlap();
    let batch = task.batch(&mut TaskRng::seed_from_u64(4), 4);
    let obj = no_extra();
    // A fixed noise realisation: every evaluation reseeds the noise RNG.
    let value = |m: &Leaky| {
        objective(m, &task, &batch, &obj, Some(&mut TaskRng::seed_from_u64(9)))
            .unwrap()
            .1
            .total
    };
    let (total, _, _) = objective(
        &model,
        &task,
        &batch,
        &obj,
        Some(&mut TaskRng::seed_from_u64(9)),
    )
    .unwrap();
    let grads = total.backward().unwrap();
    let eps = 1e-6;
    for (name, var) in model.named_vars() {
        let v = FlatVar::new(&var, &grads);
        for k in (0..v.value.len()).step_by((v.value.len() / 7).max(1)) {
            let fd = v.central_difference(&var, k, eps, || value(&model));
            let g = v.grad[k];
            let rel = (fd - g).abs() / fd.abs().max(g.abs()).max(1e-8);
            assert!(
                rel < 1e-5,
                "{name}[{k}]: analytic {g} vs finite difference {fd} (rel {rel:e})"
            );
        }
    }
}

#[test]
fn gradient_clipping_is_elementwise_on_the_parameter_gradients() {
    let task = overlap();
    let batch = task.batch(&mut TaskRng::seed_from_u64(4), 4);
    let bound = 1e-4;
    let free = small(5, None);
    let clipped = small(5, Some(bound));
    let grads = |m: &Leaky| {
        let (total, _, _) = objective(
            m,
            &task,
            &batch,
            &no_extra(),
            Some(&mut TaskRng::seed_from_u64(1)),
        )
        .unwrap();
        let g = total.backward().unwrap();
        m.named_vars()
            .into_iter()
            .map(|(_, v)| {
                g.get(v.as_tensor())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f64>()
                    .unwrap()
            })
            .collect::<Vec<_>>()
    };
    let (a, b) = (grads(&free), grads(&clipped));
    let mut n_clipped = 0;
    for (ga, gb) in a.iter().zip(&b) {
        for (x, y) in ga.iter().zip(gb) {
            assert_eq!(*y, x.clamp(-bound, bound));
            n_clipped += usize::from(x.abs() > bound);
        }
    }
    assert!(
        n_clipped > 0,
        "the bound must bind somewhere for the test to mean anything"
    );
}

#[test]
fn noise_is_reproducible_from_the_seed_and_absent_from_the_plain_forward() {
    let model = small(6, Some(1.0));
    let task = overlap();
    let batch = task.batch(&mut TaskRng::seed_from_u64(4), 2);
    let (input, _, _) = batch_tensors(&batch, DType::F64).unwrap();
    let run = |seed: u64, noise: Noise| -> Vec<f64> {
        model
            .forward_with(&input, None, &mut TaskRng::seed_from_u64(seed), noise)
            .unwrap()
            .rates
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    assert_eq!(run(1, Noise::TRAINING), run(1, Noise::TRAINING));
    assert_ne!(run(1, Noise::TRAINING), run(2, Noise::TRAINING));
    assert_ne!(run(1, Noise::RECORDING), run(1, Noise::TRAINING));
    assert_eq!(run(1, Noise::NONE), run(2, Noise::NONE));
    let plain: Vec<f64> = model
        .forward(&input, None)
        .unwrap()
        .rates
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(plain, run(3, Noise::NONE));
    // forward_noisy draws from the caller's RNG and advances it.
    let mut rng = TaskRng::seed_from_u64(1);
    let noisy: Vec<f64> = model
        .forward_noisy(&input, None, &mut rng)
        .unwrap()
        .rates
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(noisy, run(1, Noise::TRAINING));
    assert_ne!(rng, TaskRng::seed_from_u64(1));
    // Held steps (update flag 0) keep the state in the noisy pass too.
    let mut upd = vec![1.0f32; batch.n_steps * 2];
    upd[10 * 2] = 0.0;
    let held = model
        .forward_with(
            &input,
            Some(Arc::new(upd)),
            &mut TaskRng::seed_from_u64(1),
            Noise::TRAINING,
        )
        .unwrap()
        .rates;
    let h9: Vec<f64> = held.get(9).unwrap().get(0).unwrap().to_vec1().unwrap();
    let h10: Vec<f64> = held.get(10).unwrap().get(0).unwrap().to_vec1().unwrap();
    assert_eq!(h9, h10);
}

#[test]
fn initialisation_has_the_closed_form_statistics() {
    let cfg = LeakyConfig::default();
    let model = Leaky::new(cfg.clone(), DType::F64, &mut TaskRng::seed_from_u64(0)).unwrap();
    let n = 256;
    // W_rec = 0.5 Q with Q orthogonal: W Wᵀ = 0.25 I (every singular value, hence |λ|, is 0.5).
    let w = model.parameter("w_rec").unwrap();
    for i in (0..n).step_by(17) {
        for j in (0..n).step_by(13) {
            let d: f64 = (0..n).map(|k| w[i * n + k] * w[j * n + k]).sum();
            let want = if i == j { 0.25 } else { 0.0 };
            assert!((d - want).abs() < 1e-12, "({i},{j}): {d}");
        }
    }
    // W_in ~ N(0, 1/15): sample variance within 4 s.e. (s.e. of s² ≈ σ²√(2/n), n = 3840).
    let w_in = model.parameter("w_in").unwrap();
    let var = w_in.iter().map(|x| x * x).sum::<f64>() / w_in.len() as f64;
    let se = (1.0 / 15.0) * (2.0 / w_in.len() as f64).sqrt();
    assert!((var - 1.0 / 15.0).abs() < 4.0 * se, "{var}");
    // W_out ~ U(±√(6/265)): bounded, variance limit²/3.
    let lim = (6.0f64 / 265.0).sqrt();
    let w_out = model.parameter("w_out").unwrap();
    assert!(w_out.iter().all(|x| x.abs() <= lim));
    let var = w_out.iter().map(|x| x * x).sum::<f64>() / w_out.len() as f64;
    assert!(
        (var - lim * lim / 3.0).abs() < 0.1 * lim * lim / 3.0,
        "{var}"
    );
    assert!(model.parameter("b_rec").unwrap().iter().all(|&b| b == 0.0));
    // Same seed, same network.
    let again = Leaky::new(cfg, DType::F64, &mut TaskRng::seed_from_u64(0)).unwrap();
    assert_eq!(again.parameter("w_rec").unwrap(), w);
}
