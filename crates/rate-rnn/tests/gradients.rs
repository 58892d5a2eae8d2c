//! Gradients of the rate models: the fused recurrence against the per-step
//! candle reference, and both against central finite differences in f64.

mod common;

use std::sync::Arc;

use candle_core::{DType, Device, Tensor, Var};
use common::{FlatVar, SignMemory};
use rand::SeedableRng;
use wm_rate_rnn::loss::Objective;
use wm_rate_rnn::recurrence::{RecurrenceSpec, recurrence};
use wm_rate_rnn::train::objective;
use wm_rate_rnn::{FastWeights, Nonlinearity, RateModel, RecurrencePath, Vanilla, VanillaConfig};
use wm_tasks::{OutputKind, Task, TaskRng};

const PHIS: [Nonlinearity; 4] = [
    Nonlinearity::Relu,
    Nonlinearity::ClippedRelu { r_max: 0.8 },
    Nonlinearity::Elu,
    Nonlinearity::Softplus,
];

fn small(phi: Nonlinearity, fast: bool, seed: u64, path: RecurrencePath) -> Vanilla {
    let cfg = VanillaConfig {
        n_inputs: 2,
        n_units: 12,
        n_outputs: 1,
        lambda0: 0.6,
        sigma0: 0.8,
        nonlinearity: phi,
        grad_clip: Some(100.0),
        fast_weights: fast.then_some(FastWeights { gamma: 0.01 }),
        glorot_gain: 1.0,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Vanilla::new(cfg, DType::F64, &mut rng)
        .unwrap()
        .with_path(path)
}

fn objective_value(
    model: &dyn RateModel,
    task: &dyn Task,
    batch: &wm_tasks::TrialBatch,
    obj: &Objective,
) -> f64 {
    objective(model, task, batch, obj, None).unwrap().1.total
}

/// Central differences of the objective for a few entries of every parameter.
fn check_against_finite_differences(model: &dyn RateModel, task: &dyn Task) {
    let mut rng = TaskRng::seed_from_u64(7);
    let batch = task.batch(&mut rng, 6);
    let obj = Objective {
        activity_penalty: 0.3,
        penalty_steps: 5,
        rho: 1e-2,
    };
    let (total, _, _) = objective(model, task, &batch, &obj, None).unwrap();
    let grads = total.backward().unwrap();
    let eps = 1e-6;
    for (name, var) in model.named_vars() {
        let v = FlatVar::new(&var, &grads);
        for k in (0..v.value.len()).step_by((v.value.len() / 5).max(1)) {
            let fd =
                v.central_difference(&var, k, eps, || objective_value(model, task, &batch, &obj));
            let g = v.grad[k];
            let rel = (fd - g).abs() / fd.abs().max(g.abs()).max(1e-7);
            assert!(
                rel < 1e-5,
                "{name}[{k}]: analytic {g} vs finite difference {fd} (rel {rel:e})"
            );
        }
    }
}

#[test]
fn vanilla_gradients_match_finite_differences_for_every_nonlinearity() {
    // Inputs are nonzero on 3 of 9 steps (33 %, the dense input product)
    // and on 3 of 14 (21 %, below linalg::MAX_DENSITY: the sparse one).
    for delay in [1.0, 6.0] {
        for (k, phi) in PHIS.into_iter().enumerate() {
            for output in [OutputKind::Sigmoid, OutputKind::Linear] {
                let task = SignMemory::new(delay, output);
                check_against_finite_differences(
                    &small(phi, false, k as u64, RecurrencePath::Fused),
                    &task,
                );
            }
        }
    }
}

#[test]
fn fast_weight_gradients_match_finite_differences() {
    let task = SignMemory::new(6.0, OutputKind::Sigmoid);
    check_against_finite_differences(
        &small(Nonlinearity::Relu, true, 3, RecurrencePath::Fused),
        &task,
    );
}

#[test]
fn fused_recurrence_equals_the_per_step_reference_in_value_and_gradient() {
    let task = SignMemory::new(9.0, OutputKind::Sigmoid);
    // 5 trials: ∂L/∂W in one product. 40 trials × 17 steps: in a block of
    // 13 steps (≥ 512 rows) and a remainder of 3.
    for (k, (phi, nb)) in PHIS
        .into_iter()
        .flat_map(|phi| [(phi, 5), (phi, 40)])
        .enumerate()
    {
        let fused = small(phi, false, 10 + k as u64, RecurrencePath::Fused);
        let reference = small(phi, false, 10 + k as u64, RecurrencePath::Reference);
        let mut rng = TaskRng::seed_from_u64(1);
        let mut batch = task.batch(&mut rng, nb);
        // Hold the state on a few steps of some trials, as variable delays do.
        let mut update = vec![1.0f32; batch.n_steps * nb];
        for s in [4usize, 5, 6] {
            update[s * nb + 2] = 0.0;
            update[s * nb + 4] = 0.0;
        }
        batch.update = Some(update);
        let obj = Objective {
            activity_penalty: 0.1,
            penalty_steps: 5,
            rho: 1e-3,
        };
        let (lf, pf, _) = objective(&fused, &task, &batch, &obj, None).unwrap();
        let (lr, pr, _) = objective(&reference, &task, &batch, &obj, None).unwrap();
        assert!(
            (pf.total - pr.total).abs() < 1e-12,
            "{phi:?}: {} vs {}",
            pf.total,
            pr.total
        );
        let (gf, gr) = (lf.backward().unwrap(), lr.backward().unwrap());
        for ((name, vf), (_, vr)) in fused.named_vars().into_iter().zip(reference.named_vars()) {
            let a: Vec<f64> = gf
                .get(vf.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let b: Vec<f64> = gr
                .get(vr.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            for (x, y) in a.iter().zip(&b) {
                assert!(
                    (x - y).abs() <= 1e-10 * (1.0 + y.abs()),
                    "{phi:?} {name}: {x} vs {y}"
                );
            }
        }
    }
}

#[test]
fn leaky_recurrence_gradient_matches_finite_differences() {
    // The fused op alone, with a leak α = 0.3 and held steps, against a plain loop.
    let (t, b, n) = (7, 3, 5);
    let u0: Vec<f64> = (0..t * b * n)
        .map(|k| ((k * 37 % 17) as f64 - 8.0) / 9.0)
        .collect();
    let w0: Vec<f64> = (0..n * n)
        .map(|k| ((k * 29 % 13) as f64 - 6.0) / 10.0)
        .collect();
    let mut update = vec![1.0f32; t * b];
    update[3 * b + 1] = 0.0;
    let spec = RecurrenceSpec {
        phi: Nonlinearity::Softplus,
        alpha: 0.3,
        grad_clip: None,
        update: Some(Arc::new(update.clone())),
    };
    // Independent plain-loop forward; loss = Σ h·c with fixed weights c.
    let plain = |u: &[f64], w: &[f64]| -> f64 {
        let mut h = vec![0.0; b * n];
        let mut total = 0.0;
        for s in 0..t {
            let prev = h.clone();
            for tr in 0..b {
                let c = 0.3 * f64::from(update[s * b + tr]);
                for j in 0..n {
                    let mut a = u[(s * b + tr) * n + j];
                    for i in 0..n {
                        a += prev[tr * n + i] * w[i * n + j];
                    }
                    let r = Nonlinearity::Softplus.apply(a);
                    h[tr * n + j] = prev[tr * n + j] + c * (r - prev[tr * n + j]);
                    total += h[tr * n + j] * ((s + j) as f64 * 0.1 - 0.3);
                }
            }
        }
        total
    };
    let dev = Device::Cpu;
    let u = Var::from_tensor(&Tensor::from_vec(u0.clone(), (t, b, n), &dev).unwrap()).unwrap();
    let w = Var::from_tensor(&Tensor::from_vec(w0.clone(), (n, n), &dev).unwrap()).unwrap();
    let coef = Tensor::from_vec(
        (0..t * b * n)
            .map(|k| ((k / (b * n)) + (k % n)) as f64 * 0.1 - 0.3)
            .collect::<Vec<_>>(),
        (t, b, n),
        &dev,
    )
    .unwrap();
    let h = recurrence(u.as_tensor(), w.as_tensor(), &spec).unwrap();
    let loss = (h * coef).unwrap().sum_all().unwrap();
    let value: f64 = loss.to_scalar().unwrap();
    assert!(
        (value - plain(&u0, &w0)).abs() < 1e-12,
        "forward differs from the plain loop"
    );
    let grads = loss.backward().unwrap();
    let eps = 1e-6;
    for (var, base, is_w) in [(&u, &u0, false), (&w, &w0, true)] {
        let g: Vec<f64> = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for k in 0..base.len() {
            let f = |d: f64| {
                let mut p = base.clone();
                p[k] += d;
                if is_w { plain(&u0, &p) } else { plain(&p, &w0) }
            };
            let fd = (f(eps) - f(-eps)) / (2.0 * eps);
            assert!(
                (fd - g[k]).abs() <= 1e-6 * (1.0 + fd.abs()),
                "entry {k}: {} vs {fd}",
                g[k]
            );
        }
    }
}

#[test]
fn gradient_clip_bounds_the_preactivation_gradient() {
    // With a bound of 1e-3 the fused path must give the same clipped gradient as the reference.
    let task = SignMemory::new(4.0, OutputKind::Sigmoid);
    let mk = |path| {
        let mut m = small(Nonlinearity::Relu, false, 5, path);
        let mut cfg = m.config().clone();
        cfg.grad_clip = Some(1e-3);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        m = Vanilla::new(cfg, DType::F64, &mut rng)
            .unwrap()
            .with_path(path);
        m
    };
    let (a, b) = (mk(RecurrencePath::Fused), mk(RecurrencePath::Reference));
    let mut rng = TaskRng::seed_from_u64(2);
    let batch = task.batch(&mut rng, 4);
    let obj = Objective {
        activity_penalty: 5.0,
        penalty_steps: 5,
        rho: 0.0,
    };
    let ga = objective(&a, &task, &batch, &obj, None)
        .unwrap()
        .0
        .backward()
        .unwrap();
    let gb = objective(&b, &task, &batch, &obj, None)
        .unwrap()
        .0
        .backward()
        .unwrap();
    let unclipped = {
        let c = small(Nonlinearity::Relu, false, 5, RecurrencePath::Fused);
        objective(&c, &task, &batch, &obj, None)
            .unwrap()
            .0
            .backward()
            .unwrap()
            .get(c.named_vars()[2].1.as_tensor())
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    };
    let x: Vec<f64> = ga
        .get(a.named_vars()[2].1.as_tensor())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let y: Vec<f64> = gb
        .get(b.named_vars()[2].1.as_tensor())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    for (p, q) in x.iter().zip(&y) {
        assert!((p - q).abs() < 1e-12);
    }
    let clipped: f64 = x.iter().map(|v| v.abs()).sum();
    assert!(
        clipped < unclipped,
        "clipping must shrink the W_hh gradient ({clipped} vs {unclipped})"
    );
}

#[test]
fn f32_recurrence_tracks_the_f64_one_for_every_nonlinearity() {
    // f32 evaluates softplus and the logistic with its own polynomials
    // (wm_rate_rnn::fastmath); f64 with libm. Rates and gradients must agree
    // to f32 precision over a leaky run with held steps.
    let (t, b, n) = (20, 4, 16);
    let u0: Vec<f64> = (0..t * b * n)
        .map(|k| ((k * 37 % 23) as f64 - 11.0) / 3.0)
        .collect();
    let w0: Vec<f64> = (0..n * n)
        .map(|k| ((k * 29 % 13) as f64 - 6.0) / 12.0)
        .collect();
    let mut update = vec![1.0f32; t * b];
    update[5 * b + 2] = 0.0;
    let dev = Device::Cpu;
    for phi in [
        Nonlinearity::Relu,
        Nonlinearity::ClippedRelu { r_max: 1.5 },
        Nonlinearity::Elu,
        Nonlinearity::Softplus,
        Nonlinearity::Sigmoid,
    ] {
        let spec = RecurrenceSpec {
            phi,
            alpha: 0.4,
            grad_clip: None,
            update: Some(Arc::new(update.clone())),
        };
        let run = |dtype: DType| -> (Vec<f64>, Vec<f64>, Vec<f64>) {
            let u = Tensor::from_vec(u0.clone(), (t, b, n), &dev).unwrap();
            let w = Tensor::from_vec(w0.clone(), (n, n), &dev).unwrap();
            let u = Var::from_tensor(&u.to_dtype(dtype).unwrap()).unwrap();
            let w = Var::from_tensor(&w.to_dtype(dtype).unwrap()).unwrap();
            let h = recurrence(u.as_tensor(), w.as_tensor(), &spec).unwrap();
            let loss = h.sqr().unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            let flat = |x: &Tensor| -> Vec<f64> {
                let x = x.to_dtype(DType::F64).unwrap();
                x.flatten_all().unwrap().to_vec1().unwrap()
            };
            (
                flat(&h),
                flat(grads.get(u.as_tensor()).unwrap()),
                flat(grads.get(w.as_tensor()).unwrap()),
            )
        };
        let (h32, du32, dw32) = run(DType::F32);
        let (h64, du64, dw64) = run(DType::F64);
        for (name, x, y) in [
            ("h", &h32, &h64),
            ("du", &du32, &du64),
            ("dw", &dw32, &dw64),
        ] {
            let scale = y.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            assert!(scale > 1e-3, "{phi:?} {name}: degenerate");
            let worst = x
                .iter()
                .zip(y.iter())
                .fold(0.0_f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                worst < 1e-4 * scale,
                "{phi:?} {name}: f32 differs by {worst:e} (scale {scale:e})"
            );
        }
    }
}

#[test]
fn fused_read_out_equals_the_recurrence_then_the_read_out_in_value_and_gradient() {
    // One read-out over 37 units (the single-sweep path, with whole
    // 16-lane chunks and a remainder) and two over 7 (the general path).
    for (n, o) in [(37, 1), (7, 2)] {
        fused_read_out_matches(n, o);
    }
}

fn fused_read_out_matches(n: usize, o: usize) {
    use wm_rate_rnn::recurrence::{
        readout_with_power, recurrence_from_input, recurrence_with_readout,
    };
    let (t, b, ni) = (6, 3, 2);
    let dev = Device::Cpu;
    let vals = |len: usize, s: usize| -> Vec<f64> {
        (0..len)
            .map(|k| (((k * 31 + s * 7) % 19) as f64 - 9.0) / 12.0)
            .collect()
    };
    let var = |len: usize, s: usize, shape: &[usize]| {
        Var::from_tensor(&Tensor::from_vec(vals(len, s), shape, &dev).unwrap()).unwrap()
    };
    let x = Tensor::from_vec(vals(t * b * ni, 1), (t, b, ni), &dev).unwrap();
    let extra = Tensor::from_vec(vals(t * b * n, 2), (t, b, n), &dev).unwrap();
    let (w_in, bias, w) = (
        var(ni * n, 3, &[ni, n]),
        var(n, 4, &[n]),
        var(n * n, 5, &[n, n]),
    );
    let (w_out, b_out) = (var(n * o, 6, &[n, o]), var(o, 7, &[o]));
    let mut update = vec![1.0f32; t * b];
    update[2 * b + 1] = 0.0;
    let spec = RecurrenceSpec {
        phi: Nonlinearity::Softplus,
        alpha: 0.4,
        grad_clip: Some(0.05),
        update: Some(Arc::new(update)),
    };
    let cy = Tensor::from_vec(vals(t * b * o, 8), (t, b, o), &dev).unwrap();
    let cp = Tensor::from_vec(vals(t * b, 9), (t, b), &dev).unwrap();
    let loss = |y: &Tensor, p: &Tensor| {
        ((y * &cy).unwrap().sum_all().unwrap() + (p * &cp).unwrap().sum_all().unwrap()).unwrap()
    };
    let fused = recurrence_with_readout(
        &x,
        w_in.as_tensor(),
        bias.as_tensor(),
        w.as_tensor(),
        Some(&extra),
        w_out.as_tensor(),
        b_out.as_tensor(),
        &spec,
    )
    .unwrap();
    let rates = recurrence_from_input(
        &x,
        w_in.as_tensor(),
        bias.as_tensor(),
        w.as_tensor(),
        Some(&extra),
        &spec,
    )
    .unwrap();
    let (y, p) = readout_with_power(&rates, w_out.as_tensor(), b_out.as_tensor()).unwrap();
    let flat = |t: &Tensor| -> Vec<f64> { t.flatten_all().unwrap().to_vec1().unwrap() };
    for (a, r) in [
        (&fused.rates, &rates),
        (&fused.readout, &y),
        (&fused.rate_power, &p),
    ] {
        // Relative: the two sum a row's terms in different orders.
        for (u, v) in flat(a).iter().zip(flat(r)) {
            assert!((u - v).abs() <= 1e-12 * (1.0 + v.abs()), "{u} vs {v}");
        }
    }
    let (gf, gr) = (
        loss(&fused.readout, &fused.rate_power).backward().unwrap(),
        loss(&y, &p).backward().unwrap(),
    );
    for v in [&w_in, &bias, &w, &w_out, &b_out] {
        let (a, r) = (
            flat(gf.get(v.as_tensor()).unwrap()),
            flat(gr.get(v.as_tensor()).unwrap()),
        );
        assert!(a.iter().any(|g| *g != 0.0), "a parameter got no gradient");
        for (u, v) in a.iter().zip(&r) {
            assert!((u - v).abs() <= 1e-12 * (1.0 + v.abs()), "{u} vs {v}");
        }
    }
}
