//! `DaleLeaky`: gradients (θ included) against central finite differences in
//! f64, Dale's signs and the initial sparsity preserved by training, and a
//! slow independent forward pass written here in plain f64.

mod common;

use candle_core::{DType, Device, Tensor};
use common::{FlatVar, short_go_nogo};
use rand::SeedableRng;
use wm_rate_rnn::RateModel;
use wm_rate_rnn::dale::{DaleConfig, DaleLeaky, EiSplit, TauMode};
use wm_rate_rnn::train::kim::{KimTrainConfig, kim_objective, train_kim};
use wm_tasks::{Task, TaskRng};

fn small(tau_mode: TauMode, seed: u64) -> DaleLeaky {
    let cfg = DaleConfig {
        n_units: 10,
        p_connect: 0.5,
        tau_mode,
        ..DaleConfig::default()
    };
    DaleLeaky::new(cfg, DType::F64, &mut TaskRng::seed_from_u64(seed)).unwrap()
}

#[test]
fn gradients_match_finite_differences_including_tau() {
    let task = short_go_nogo();
    for mode in [TauMode::Trained, TauMode::Fixed] {
        let model = small(mode, 3);
        let batch = task.batch(&mut TaskRng::seed_from_u64(5), 4);
        // The same noise for every evaluation: reseed the noise RNG each time.
        let loss_at =
            |m: &DaleLeaky| kim_objective(m, &batch, &mut TaskRng::seed_from_u64(9)).unwrap();
        let (loss, _, _) = loss_at(&model);
        let grads = loss.backward().unwrap();
        let names: Vec<&str> = model.named_vars().iter().map(|(n, _)| *n).collect();
        assert_eq!(names.contains(&"theta"), mode == TauMode::Trained);
        for (name, var) in model.named_vars() {
            let v = FlatVar::new(&var, &grads);
            let eps = 1e-6;
            let mut checked = 0;
            for (k, (&w, &g)) in v.value.iter().zip(&v.grad).enumerate() {
                // w: only entries away from the relu kink (exact zeros have zero gradient).
                if name == "w" && w.abs() < 1e-3 {
                    assert_eq!(g, 0.0, "w[{k}] = {w} must get no gradient");
                    continue;
                }
                if checked >= 12 {
                    break;
                }
                checked += 1;
                let fd = v.central_difference(&var, k, eps, || loss_at(&model).1);
                assert!(
                    (fd - g).abs() <= 1e-6 * (1.0 + fd.abs()),
                    "{mode:?} {name}[{k}]: autograd {g} vs finite difference {fd}"
                );
            }
            assert!(checked > 0, "{name}: nothing checked");
        }
    }
}

#[test]
fn f32_loss_and_gradients_track_the_f64_ones() {
    let task = short_go_nogo();
    let batch = task.batch(&mut TaskRng::seed_from_u64(4), 3);
    let cfg = DaleConfig {
        n_units: 30,
        ..DaleConfig::default()
    };
    let run = |dtype: DType| {
        let m = DaleLeaky::new(cfg.clone(), dtype, &mut TaskRng::seed_from_u64(6)).unwrap();
        let (loss, value, _) = kim_objective(&m, &batch, &mut TaskRng::seed_from_u64(8)).unwrap();
        let grads = loss.backward().unwrap();
        let g: Vec<Vec<f64>> = m
            .named_vars()
            .iter()
            .map(|(_, v)| {
                grads
                    .get(v.as_tensor())
                    .unwrap()
                    .to_dtype(DType::F64)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap()
            })
            .collect();
        (value, g)
    };
    let (l32, g32) = run(DType::F32);
    let (l64, g64) = run(DType::F64);
    assert!((l32 - l64).abs() < 1e-5 * l64.abs(), "loss {l32} vs {l64}");
    for (a, b) in g32.iter().zip(&g64) {
        let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(scale > 0.0);
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-4 * scale, "{x} vs {y} (scale {scale})");
        }
    }
}

#[test]
fn forward_matches_an_independent_f64_loop() {
    let task = short_go_nogo();
    let model = small(TauMode::Trained, 11);
    let batch = task.batch(&mut TaskRng::seed_from_u64(2), 3);
    let a = model.arrays().unwrap();
    let input = Tensor::from_slice(&batch.input, (batch.n_steps, 3, 1), &Device::Cpu).unwrap();
    let fwd = model.forward(&input, None).unwrap();
    let out: Vec<f64> = fwd.readout.flatten_all().unwrap().to_vec1().unwrap();
    let n = a.n_units;
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    for b in 0..3 {
        let mut x = vec![0.0; n];
        let mut r: Vec<f64> = x.iter().map(|&v| sig(v)).collect();
        for t in 0..batch.n_steps {
            let u = batch.input[batch.input_index(t, b, 0)] as f64;
            let mut xn = vec![0.0; n];
            for i in 0..n {
                let rec: f64 = (0..n).map(|j| a.w_rec[i * n + j] * r[j]).sum();
                let alpha = 5.0 / a.tau_ms[i];
                xn[i] = (1.0 - alpha) * x[i] + alpha * (rec + a.w_in[i] * u);
            }
            x = xn;
            r = x.iter().map(|&v| sig(v)).collect();
            let o: f64 = (0..n).map(|j| a.w_out[j] * r[j]).sum::<f64>() + a.b_out[0];
            let got = out[t * 3 + b];
            assert!((o - got).abs() < 1e-10, "t={t} b={b}: {o} vs {got}");
        }
    }
    // τ inside (20, 125) ms, signs as the presynaptic unit's.
    assert!(a.tau_ms.iter().all(|&t| t > 20.0 && t < 125.0));
    for i in 0..n {
        for j in 0..n {
            assert!(a.w_rec[i * n + j] * a.sign[j] >= 0.0);
        }
    }
}

#[test]
fn training_keeps_dale_signs_and_pruned_weights_stay_pruned() {
    let task = short_go_nogo();
    let cfg = DaleConfig {
        n_units: 30,
        ei_split: EiSplit::Fixed,
        ..DaleConfig::default()
    };
    let model = DaleLeaky::new(cfg, DType::F32, &mut TaskRng::seed_from_u64(1)).unwrap();
    let n_inh = model.signs().iter().filter(|&&s| s < 0.0).count();
    assert_eq!(n_inh, 6, "fixed 80/20 split of 30 units");
    let before = model.w_rec().unwrap();
    let tau_before = model.tau_ms().unwrap();
    let out = train_kim(
        &model,
        &task,
        &KimTrainConfig {
            batch_size: 4,
            max_iterations: 60,
            eval_every: 1000,
            ..KimTrainConfig::default()
        },
        &mut TaskRng::seed_from_u64(2),
        None,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(out.iterations, 60);
    let after = model.w_rec().unwrap();
    let signs = model.signs();
    let n = 30;
    let mut changed = 0;
    let mut zero_after = 0;
    for i in 0..n {
        for j in 0..n {
            let (b, a) = (before[i * n + j], after[i * n + j]);
            assert!(a * signs[j] >= 0.0, "W[{i},{j}] = {a} has the wrong sign");
            if b == 0.0 {
                assert_eq!(a, 0.0, "pruned W[{i},{j}] regrew to {a}");
            }
            changed += usize::from(a != b);
            zero_after += usize::from(a == 0.0);
        }
    }
    assert!(changed > 50, "training changed only {changed} weights");
    let zero_before = before.iter().filter(|&&v| v == 0.0).count();
    assert!(zero_after >= zero_before);
    // τ moved but stayed inside its bounds.
    let tau_after = model.tau_ms().unwrap();
    assert!(tau_after.iter().zip(&tau_before).any(|(a, b)| a != b));
    assert!(tau_after.iter().all(|&t| t > 20.0 && t < 125.0));
}

#[test]
fn save_then_load_restores_the_network() {
    let model = small(TauMode::Trained, 4);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("net.safetensors");
    model.save(&p, Default::default()).unwrap();
    let mut other = small(TauMode::Trained, 99);
    other.load(&p).unwrap();
    let (a, b) = (model.arrays().unwrap(), other.arrays().unwrap());
    for (x, y) in a.w_rec.iter().zip(&b.w_rec) {
        assert!((x - y).abs() < 1e-6);
    }
    assert_eq!(a.sign, b.sign);
    let mut wrong = DaleLeaky::new(
        DaleConfig {
            n_units: 12,
            ..DaleConfig::default()
        },
        DType::F64,
        &mut TaskRng::seed_from_u64(0),
    )
    .unwrap();
    let err = wrong.load(&p).unwrap_err().to_string();
    assert!(err.contains("shape"), "{err}");
}

#[test]
fn theta_init_mean_shifts_every_initial_theta_and_nothing_else() {
    // The same seed with θ ~ N(3, 1) instead of N(0, 1): each unit's τ^s is
    // τ_min + σ(θ + 3)(τ_max − τ_min) of the unshifted draw, and the weights
    // are the same draws.
    let make = |theta_init_mean: f64| {
        let cfg = DaleConfig {
            n_units: 10,
            p_connect: 0.5,
            theta_init_mean,
            ..DaleConfig::default()
        };
        DaleLeaky::new(cfg, DType::F64, &mut TaskRng::seed_from_u64(7)).unwrap()
    };
    let (base, shifted) = (make(0.0), make(3.0));
    let (lo, hi) = (20.0, 125.0);
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    for (&t0, &t3) in base
        .tau_ms()
        .unwrap()
        .iter()
        .zip(&shifted.tau_ms().unwrap())
    {
        // θ = logit((τ − τ_min)/(τ_max − τ_min)) of the unshifted unit.
        let p = (t0 - lo) / (hi - lo);
        let theta = (p / (1.0 - p)).ln();
        let expected = lo + sigmoid(theta + 3.0) * (hi - lo);
        assert!((t3 - expected).abs() < 1e-9, "{t3} vs {expected}");
        assert!(t3 > t0);
    }
    assert_eq!(base.w_rec().unwrap(), shifted.w_rec().unwrap());
    let bad = DaleConfig {
        theta_init_mean: f64::NAN,
        ..DaleConfig::default()
    };
    let err = DaleLeaky::new(bad, DType::F64, &mut TaskRng::seed_from_u64(7))
        .err()
        .expect("NaN theta_init_mean is refused");
    assert!(err.to_string().contains("theta_init_mean"), "{err}");
}
