//! The products that skip silent units (`recurrence::Products::Sparse`)
//! against the dense ones, in value and gradient, at densities from 0 to
//! 100 %, on random and on recorded activity, and over a training run.

mod common;

use std::sync::Arc;

use candle_core::{DType, Device, Tensor, Var};
use common::{SignMemory, net};
use rand::{Rng, SeedableRng};
use wm_rate_rnn::loss::Objective;
use wm_rate_rnn::optim::AdamConfig;
use wm_rate_rnn::recurrence::{Products, RecurrenceSpec, recurrence_with_readout, with_products};
use wm_rate_rnn::train::{TrainConfig, batch_tensors, objective};
use wm_rate_rnn::{Nonlinearity, RateModel, Vanilla, VanillaConfig, train};
use wm_tasks::{OrhanMaTaskOptions, OutputKind, TaskRng, orhan_ma_task};

/// Which (step, trial, unit) entries are driven into activity.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    /// Every unit silent in every trial.
    Silent,
    /// Every unit active in every trial.
    Active,
    /// Each unit active at a step with probability `p`, and then in about
    /// half the trials.
    Random(f64),
    /// One unit active in one trial only, everything else silent.
    OneUnitOneTrial,
}

/// A drive `[T, B, N]` that makes the pattern's entries active (+2.5…3.5)
/// and the others silent (−8), far enough from 0 that the other inputs
/// never flip a sign: |x w_in + bias| ≤ 0.25, and with |W_jk| ≤ 0.2/N the
/// rates stay below 3.75 / 0.8 < 4.7, so |h W| < 0.94.
fn drive(pattern: Pattern, (t, b, n): (usize, usize, usize), rng: &mut impl Rng) -> Vec<f64> {
    let mut d = vec![-8.0; t * b * n];
    for s in 0..t {
        for j in 0..n {
            let unit_on = match pattern {
                Pattern::Silent => false,
                Pattern::Active => true,
                Pattern::Random(p) => rng.random_bool(p),
                Pattern::OneUnitOneTrial => j == 3,
            };
            for k in 0..b {
                let on = unit_on
                    && match pattern {
                        Pattern::Random(_) => rng.random_bool(0.5),
                        Pattern::OneUnitOneTrial => k == 1,
                        _ => true,
                    };
                if on {
                    d[(s * b + k) * n + j] = rng.random_range(2.5..3.5);
                }
            }
        }
    }
    d
}

/// Outputs and gradients of one recurrence with its read-out, in f64.
fn run(
    products: Products,
    pattern: Pattern,
    spec: &RecurrenceSpec,
    dims: (usize, usize, usize),
    dtype: DType,
) -> Vec<(String, Vec<f64>)> {
    let (t, b, n) = dims;
    let (ni, o) = (4, 2);
    let dev = Device::Cpu;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut tensor = |shape: &[usize], scale: f64| {
        let len = shape.iter().product();
        let v: Vec<f64> = (0..len).map(|_| rng.random_range(-scale..scale)).collect();
        Tensor::from_vec(v, shape, &dev)
            .unwrap()
            .to_dtype(dtype)
            .unwrap()
    };
    let x = tensor(&[t, b, ni], 1.0);
    let w_in = Var::from_tensor(&tensor(&[ni, n], 0.05)).unwrap();
    let bias = Var::from_tensor(&tensor(&[n], 0.05)).unwrap();
    let w = Var::from_tensor(&tensor(&[n, n], 0.2 / n as f64)).unwrap();
    let w_out = Var::from_tensor(&tensor(&[n, o], 1.0)).unwrap();
    let b_out = Var::from_tensor(&tensor(&[o], 1.0)).unwrap();
    let cy = tensor(&[t, b, o], 1.0);
    let cp = tensor(&[t, b], 1.0);
    let extra = Tensor::from_vec(drive(pattern, dims, &mut rng), (t, b, n), &dev)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    let out = with_products(products, || {
        recurrence_with_readout(
            &x,
            w_in.as_tensor(),
            bias.as_tensor(),
            w.as_tensor(),
            Some(&extra),
            w_out.as_tensor(),
            b_out.as_tensor(),
            spec,
        )
        .unwrap()
    });
    let loss = ((&out.readout * &cy).unwrap().sum_all().unwrap()
        + (&out.rate_power * &cp).unwrap().sum_all().unwrap())
    .unwrap();
    let grads = with_products(products, || loss.backward().unwrap());
    let flat = |t: &Tensor| -> Vec<f64> {
        t.to_dtype(DType::F64)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap()
    };
    let mut all = vec![
        ("rates".to_string(), flat(&out.rates)),
        ("readout".to_string(), flat(&out.readout)),
        ("rate power".to_string(), flat(&out.rate_power)),
    ];
    for (name, v) in [
        ("∂w_in", &w_in),
        ("∂bias", &bias),
        ("∂w", &w),
        ("∂w_out", &w_out),
        ("∂b_out", &b_out),
    ] {
        all.push((name.to_string(), flat(grads.get(v.as_tensor()).unwrap())));
    }
    all
}

/// Fraction of (step, unit) pairs active in some trial.
fn density(rates: &[f64], (t, b, n): (usize, usize, usize)) -> f64 {
    let active = (0..t)
        .flat_map(|s| (0..n).map(move |j| (s, j)))
        .filter(|&(s, j)| (0..b).any(|k| rates[(s * b + k) * n + j] != 0.0))
        .count();
    active as f64 / (t * n) as f64
}

fn assert_close(got: &[(String, Vec<f64>)], want: &[(String, Vec<f64>)], tol: f64, case: &str) {
    for ((name, g), (_, w)) in got.iter().zip(want) {
        assert_eq!(g.len(), w.len());
        let scale = w.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            assert!(
                (a - b).abs() <= tol * scale,
                "{case} {name}[{i}]: {a} vs {b}"
            );
        }
    }
}

#[test]
fn sparse_products_equal_the_dense_ones_at_every_density() {
    // 40 trials × 17 steps: the weight gradient in a block of 13 steps
    // and a remainder; N = 37 (a narrow last panel) and 300 (two slices of
    // the inner dimension).
    let relu = RecurrenceSpec {
        grad_clip: Some(100.0),
        ..Default::default()
    };
    let mut held = vec![1.0f32; 17 * 40];
    held[5 * 40 + 2..5 * 40 + 9].fill(0.0);
    let leaky_held = RecurrenceSpec {
        alpha: 0.5,
        update: Some(Arc::new(held)),
        ..Default::default()
    };
    // Saturated units: active forward, silent backward.
    let clipped = RecurrenceSpec {
        phi: Nonlinearity::ClippedRelu { r_max: 1.0 },
        grad_clip: Some(0.5),
        ..Default::default()
    };
    let patterns = [
        Pattern::Silent,
        Pattern::OneUnitOneTrial,
        Pattern::Random(0.05),
        Pattern::Random(0.4),
        Pattern::Random(0.9),
        Pattern::Active,
    ];
    for (dims, specs) in [
        ((17, 40, 37), vec![&relu, &leaky_held, &clipped]),
        ((6, 5, 300), vec![&relu]),
    ] {
        for spec in specs {
            for pattern in patterns {
                let case = format!("{dims:?} {pattern:?} α={} {:?}", spec.alpha, spec.phi);
                let dense = run(Products::Dense, pattern, spec, dims, DType::F64);
                let d = density(&dense[0].1, dims);
                match pattern {
                    Pattern::Silent => assert_eq!(d, 0.0, "{case}"),
                    Pattern::OneUnitOneTrial => assert_eq!(d, 1.0 / dims.2 as f64, "{case}"),
                    Pattern::Active => assert_eq!(d, 1.0, "{case}"),
                    // With a leak, rates decay towards 0 but never reach it.
                    Pattern::Random(p) if spec.alpha == 1.0 => {
                        assert!((d - p).abs() < 0.1, "{case}: density {d}");
                    }
                    Pattern::Random(_) => assert!(d > 0.0 && d < 1.0, "{case}: density {d}"),
                }
                for products in [Products::Sparse, Products::Auto] {
                    let got = run(products, pattern, spec, dims, DType::F64);
                    assert_close(&got, &dense, 1e-13, &format!("{case} {products:?}"));
                }
            }
        }
    }
}

#[test]
fn f32_sparse_products_equal_the_dense_ones_to_rounding() {
    let dims = (12, 50, 100);
    let spec = RecurrenceSpec::default();
    for pattern in [Pattern::Random(0.2), Pattern::Random(0.7), Pattern::Active] {
        let dense = run(Products::Dense, pattern, &spec, dims, DType::F32);
        let sparse = run(Products::Sparse, pattern, &spec, dims, DType::F32);
        // The rates are the same numbers: the recurrent products sum the
        // same nonzero terms in the same order.
        assert_eq!(sparse[0].1, dense[0].1, "{pattern:?} rates");
        assert_close(&sparse, &dense, 1e-5, &format!("{pattern:?}"));
    }
}

/// Largest error of `got` against `truth` in each gradient, relative to the
/// gradient's largest entry.
fn relative_errors(got: &[(String, Vec<f64>)], truth: &[(String, Vec<f64>)]) -> Vec<(String, f64)> {
    got.iter()
        .zip(truth)
        .filter(|(g, _)| g.0.starts_with('∂'))
        .map(|((name, g), (_, t))| {
            let scale = t.iter().fold(f64::MIN_POSITIVE, |m, v| m.max(v.abs()));
            let err = g
                .iter()
                .zip(t)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            (name.clone(), err / scale)
        })
        .collect()
}

#[test]
fn f32_sparse_gradients_are_as_accurate_as_the_dense_ones() {
    // Many steps (the per-step weight gradient adds up T terms) at N = 300,
    // where the sparse path runs: both f32 paths against the f64 truth.
    let dims = (60, 20, 300);
    let spec = RecurrenceSpec::default();
    for pattern in [Pattern::Random(0.2), Pattern::Random(0.5)] {
        let truth = run(Products::Dense, pattern, &spec, dims, DType::F64);
        let dense = relative_errors(
            &run(Products::Dense, pattern, &spec, dims, DType::F32),
            &truth,
        );
        let sparse = relative_errors(
            &run(Products::Sparse, pattern, &spec, dims, DType::F32),
            &truth,
        );
        for ((name, d), (_, s)) in dense.iter().zip(&sparse) {
            eprintln!("{pattern:?} {name}: dense f32 error {d:.2e}, sparse f32 error {s:.2e}");
            assert!(
                *s <= 4.0 * d.max(1e-7),
                "{pattern:?} {name}: sparse {s:e} vs dense {d:e}"
            );
        }
    }
}

#[test]
fn training_with_sparse_products_follows_the_dense_loss_curve() {
    let task = SignMemory::new(12.0, OutputKind::Sigmoid);
    let cfg = TrainConfig {
        iterations: 120,
        batch_size: 16,
        adam: AdamConfig {
            learning_rate: 3e-3,
            ..Default::default()
        },
        log_every: 10,
        checkpoint_every: 0,
        ..Default::default()
    };
    let curve = |products| {
        let model = net(3, 48);
        let mut rng = TaskRng::seed_from_u64(5);
        let out = with_products(products, || {
            train(&model, &task, &cfg, &mut rng, None, &mut |_| {}).unwrap()
        });
        out.log.iter().map(|r| r.loss).collect::<Vec<f64>>()
    };
    let dense = curve(Products::Dense);
    assert!(dense[11] < dense[0], "the network must learn: {dense:?}");
    for products in [Products::Sparse, Products::Auto] {
        let got = curve(products);
        for (i, (a, b)) in got.iter().zip(&dense).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 * b.abs(),
                "{products:?} log row {i}: loss {a} vs {b}"
            );
        }
    }
}

#[test]
fn recorded_activity_of_a_trained_network_gives_the_same_gradients() {
    // The trained 2AFC network of the step benchmark (N = 256, about a
    // third of its units active per step) on a batch of its task's trials.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/data/orhan-ma-2afc-n256/weights.safetensors");
    let saved = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    let task = orhan_ma_task("2AFC", &OrhanMaTaskOptions::default()).unwrap();
    let batch = task.batch(&mut TaskRng::seed_from_u64(3), 8);
    let run = |products| {
        let cfg = VanillaConfig {
            n_inputs: task.n_inputs(),
            n_units: 256,
            n_outputs: task.n_outputs(),
            ..Default::default()
        };
        let model = Vanilla::new(
            cfg,
            DType::F32,
            &mut rand_chacha::ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap();
        for (name, var) in model.named_vars() {
            var.set(&saved[name]).unwrap();
        }
        let (loss, parts, _) = with_products(products, || {
            objective(&model, task.as_ref(), &batch, &Objective::default(), None).unwrap()
        });
        let grads = with_products(products, || loss.backward().unwrap());
        let mut all = vec![("loss".to_string(), vec![parts.total])];
        for (name, var) in model.named_vars() {
            let g = grads.get(var.as_tensor()).unwrap();
            let g: Vec<f32> = g.flatten_all().unwrap().to_vec1().unwrap();
            all.push((name.to_string(), g.iter().map(|&v| f64::from(v)).collect()));
        }
        let input = batch_tensors(&batch, DType::F32).unwrap().0;
        let rates = model.forward(&input, None).unwrap().rates;
        let rates: Vec<f32> = rates.flatten_all().unwrap().to_vec1().unwrap();
        let dims = (batch.n_steps, 8, 256);
        let r: Vec<f64> = rates.iter().map(|&v| f64::from(v)).collect();
        (all, density(&r, dims))
    };
    let (dense, d) = run(Products::Dense);
    assert!(d > 0.1 && d < 0.6, "density {d}");
    let (sparse, _) = run(Products::Sparse);
    assert_close(&sparse, &dense, 1e-5, "trained N = 256");
}

#[test]
fn auto_products_mixing_sparse_and_dense_steps_equal_the_dense_ones() {
    // N = 256 (above the size where Auto measures activity) at about half
    // the units active per step: some steps' products and weight-gradient
    // shares run over the active units, the others dense, in one pass.
    let spec = RecurrenceSpec::default();
    for p in [0.45, 0.55, 0.6] {
        for dims in [(40, 20, 256), (30, 50, 256)] {
            let dense = run(Products::Dense, Pattern::Random(p), &spec, dims, DType::F64);
            let auto = run(Products::Auto, Pattern::Random(p), &spec, dims, DType::F64);
            assert_close(&auto, &dense, 1e-13, &format!("p {p} {dims:?}"));
        }
    }
}

#[test]
fn auto_gradients_stay_within_rounding_of_dense_along_training() {
    // A 2AFC network of 256 units trained with Auto products: at every
    // iteration both paths' f32 gradients at the same weights and batch.
    let task = orhan_ma_task("2AFC", &OrhanMaTaskOptions::default()).unwrap();
    let cfg = VanillaConfig {
        n_inputs: task.n_inputs(),
        n_units: 256,
        n_outputs: task.n_outputs(),
        lambda0: 0.9,
        sigma0: 0.2,
        ..Default::default()
    };
    let model = Vanilla::new(
        cfg,
        DType::F32,
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(5),
    )
    .unwrap();
    let mut adam = wm_rate_rnn::Adam::new(
        model.named_vars(),
        AdamConfig {
            learning_rate: 1e-3,
            ..Default::default()
        },
    )
    .unwrap();
    let mut rng = TaskRng::seed_from_u64(7);
    let obj = Objective {
        activity_penalty: 1e-4,
        penalty_steps: 5,
        rho: 0.0,
    };
    for it in 0..60 {
        let batch = task.batch(&mut rng, 50);
        let grads = |p: Products| {
            with_products(p, || {
                let (loss, _, _) = objective(&model, task.as_ref(), &batch, &obj, None).unwrap();
                loss.backward().unwrap()
            })
        };
        let (auto, dense) = (grads(Products::Auto), grads(Products::Dense));
        for (name, var) in model.named_vars() {
            let flat = |g: &candle_core::backprop::GradStore| -> Vec<f32> {
                g.get(var.as_tensor())
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1()
                    .unwrap()
            };
            let (a, d) = (flat(&auto), flat(&dense));
            let scale = d.iter().fold(f32::MIN_POSITIVE, |m, v| m.max(v.abs()));
            let err = a
                .iter()
                .zip(&d)
                .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(
                err <= 2e-6 * scale,
                "iteration {it} {name}: {err:e} of {scale:e}"
            );
        }
        adam.step(&auto).unwrap();
    }
}
