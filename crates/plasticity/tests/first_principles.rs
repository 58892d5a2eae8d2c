//! The rate network against closed forms and slow references written here:
//! FEVER's exact conservation, the matrix exponential of the frozen linear
//! regime, and one plastic update against a finite-difference gradient.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wm_plasticity::rate::{Activation, RateNetwork, RateParams};

fn net(p: &RateParams, seed: u64) -> (RateNetwork, ChaCha8Rng) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = RateNetwork::new(p, &mut rng).unwrap();
    (n, rng)
}

#[test]
fn fever_conserves_the_readout_to_round_off_without_noise() {
    for plastic in [false, true] {
        let p = RateParams {
            n_units: 60,
            fever: true,
            plastic,
            ..RateParams::default()
        };
        let (mut n, mut rng) = net(&p, 3);
        let l0 = n.weights().to_vec();
        // Its weights are the projector d dᵀ/(dᵀd): L d = d.
        let d = n.readout().to_vec();
        for i in 0..60 {
            let ld: f64 = (0..60).map(|j| l0[i * 60 + j] * d[j]).sum();
            assert!((ld - d[i]).abs() < 1e-12);
        }
        let tr = n.run(300.0, plastic, &mut rng);
        let s = &tr.s_hat[0];
        let worst = s.iter().map(|v| (v / s[0] - 1.0).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-11, "plastic = {plastic}: drift {worst}");
        // Orthogonal activity decays with τ: after 300 ms (15 τ) a ∥ d.
        let a = n.activity();
        let dd: f64 = d.iter().map(|x| x * x).sum();
        let proj: f64 = a.iter().zip(&d).map(|(x, y)| x * y).sum::<f64>() / dd;
        let resid: f64 = a
            .iter()
            .zip(&d)
            .map(|(x, y)| (x - proj * y).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(resid < 1e-5, "orthogonal residue {resid}");
    }
}

/// exp(M) by scaling and squaring of a Taylor series (slow, independent).
fn expm(m: &[f64], n: usize) -> Vec<f64> {
    let norm: f64 = m.iter().map(|x| x.abs()).sum();
    let s = (norm.max(1.0).log2().ceil() as i32 + 4).max(0);
    let scale = 0.5f64.powi(s);
    let a: Vec<f64> = m.iter().map(|x| x * scale).collect();
    let mul = |x: &[f64], y: &[f64]| {
        let mut z = vec![0.0; n * n];
        for i in 0..n {
            for k in 0..n {
                for j in 0..n {
                    z[i * n + j] += x[i * n + k] * y[k * n + j];
                }
            }
        }
        z
    };
    let mut e = vec![0.0; n * n];
    let mut term = vec![0.0; n * n];
    for i in 0..n {
        e[i * n + i] = 1.0;
        term[i * n + i] = 1.0;
    }
    for k in 1..30 {
        term = mul(&term, &a).iter().map(|x| x / k as f64).collect();
        for (ei, ti) in e.iter_mut().zip(&term) {
            *ei += ti;
        }
    }
    for _ in 0..s {
        e = mul(&e, &e);
    }
    e
}

#[test]
fn frozen_linear_network_converges_to_the_matrix_exponential() {
    let n = 8;
    let t_ms = 100.0;
    let mut errors = Vec::new();
    for dt_ms in [0.2, 0.02] {
        let p = RateParams {
            n_units: n,
            dt_ms,
            gain: 0.8,
            plastic: false,
            activation: Activation::Linear,
            record_every_ms: 1.0,
            ..RateParams::default()
        };
        let (mut net, mut rng) = net(&p, 11);
        let a0 = net.activity().to_vec();
        let l = net.weights().to_vec();
        let d = net.readout().to_vec();
        let tr = net.run(t_ms + 1.0, false, &mut rng);
        // a(t) = exp((L − I) t/τ) a(0), ŝ = dᵀ a (linear units).
        let mut m: Vec<f64> = l.iter().map(|x| x * t_ms / 20.0).collect();
        for i in 0..n {
            m[i * n + i] -= t_ms / 20.0;
        }
        let e = expm(&m, n);
        let exact: f64 = (0..n)
            .map(|i| d[i] * (0..n).map(|j| e[i * n + j] * a0[j]).sum::<f64>())
            .sum();
        let sim = tr.s_hat[0][t_ms as usize];
        errors.push(((sim - exact) / exact).abs());
    }
    // Forward Euler is first order: its global error is ≈ (h/2)·(t/τ)·|λ|²
    // with h = dt/τ = 1e-3 here, a few 1e-3 relative; 10× smaller steps give
    // ≈ 10× smaller error.
    assert!(errors[1] < 5e-3, "{errors:?}");
    let ratio = errors[0] / errors[1];
    assert!(
        (7.0..13.0).contains(&ratio),
        "error ratio {ratio} ({errors:?})"
    );
}

/// (τ dŝ/dt)² at activity `a` and weights `l` (ReLU units), computed directly.
fn error_sq(a: &[f64], l: &[f64], d: &[f64]) -> f64 {
    let n = a.len();
    let e: f64 = (0..n)
        .filter(|&i| a[i] > 0.0)
        .map(|i| {
            let lr: f64 = (0..n).map(|j| l[i * n + j] * a[j].max(0.0)).sum();
            d[i] * (-a[i] + lr)
        })
        .sum();
    e * e
}

#[test]
fn one_plastic_update_is_a_gradient_step_on_the_squared_readout_derivative() {
    let n = 20;
    let p = RateParams {
        n_units: n,
        eta: 1e-6,
        ..RateParams::default()
    };
    let eta = p.effective_eta();
    let (mut net, mut rng) = net(&p, 5);
    let l0 = net.weights().to_vec();
    net.run(p.dt_ms, true, &mut rng); // exactly one step
    let a = net.activity().to_vec();
    let l1 = net.weights().to_vec();
    let d = net.readout().to_vec();
    let h = 1e-6;
    let mut max_grad: f64 = 0.0;
    let mut max_dev: f64 = 0.0;
    for i in 0..n {
        for j in 0..n {
            if i == j {
                assert_eq!(l1[i * n + i], 0.0, "autapse created");
                continue;
            }
            let mut lp = l0.clone();
            lp[i * n + j] += h;
            let mut lm = l0.clone();
            lm[i * n + j] -= h;
            let g = (error_sq(&a, &lp, &d) - error_sq(&a, &lm, &d)) / (2.0 * h);
            let step = (l0[i * n + j] - l1[i * n + j]) / eta;
            max_grad = max_grad.max(g.abs());
            max_dev = max_dev.max((step - g).abs());
        }
    }
    assert!(max_grad > 1e-3, "degenerate gradient");
    assert!(
        max_dev < 1e-6 * max_grad.max(1.0),
        "deviation {max_dev} of {max_grad}"
    );
    assert!(error_sq(&a, &l1, &d) < error_sq(&a, &l0, &d));
}

#[test]
fn masks_keep_absent_and_non_plastic_synapses_fixed() {
    let p = RateParams {
        n_units: 40,
        connectivity: 0.3,
        ..RateParams::default()
    };
    let (mut n, mut rng) = net(&p, 1);
    let l0 = n.weights().to_vec();
    n.run(20.0, true, &mut rng);
    let l1 = n.weights();
    let zeros0 = l0.iter().filter(|w| **w == 0.0).count();
    assert!(zeros0 > 40 * 40 / 2, "connectivity mask not applied");
    for (a, b) in l0.iter().zip(l1) {
        if *a == 0.0 {
            assert_eq!(*b, 0.0, "an absent synapse grew");
        }
    }
    let p = RateParams {
        n_units: 40,
        plastic_fraction: 0.0,
        ..RateParams::default()
    };
    let (mut n, mut rng) = net(&p, 1);
    let l0 = n.weights().to_vec();
    n.run(20.0, true, &mut rng);
    assert_eq!(l0, n.weights(), "no synapse is plastic");
}

#[test]
fn the_plastic_network_holds_its_readout_while_the_constant_one_forgets() {
    let p = RateParams::default();
    let plastic = wm_plasticity::rate::simulate(&p, 2, 300.0)
        .unwrap()
        .ratio(0);
    let frozen = RateParams {
        plastic: false,
        ..p
    };
    let constant = wm_plasticity::rate::simulate(&frozen, 2, 300.0)
        .unwrap()
        .ratio(0);
    assert!(plastic[299] > 0.98, "{}", plastic[299]);
    assert!(constant[299] < 0.05, "{}", constant[299]);
}

#[test]
fn parameters_out_of_range_are_refused_by_name() {
    let p = RateParams {
        connectivity: 1.5,
        ..RateParams::default()
    };
    let err = p.validate().unwrap_err().to_string();
    assert!(
        err.contains("connectivity") && err.contains("[0, 1]"),
        "{err}"
    );
}

/// The documented step order (module docs of `rate`), written as plainly as
/// possible: no fused passes, no reordering of units, nothing deferred.
fn reference_session(
    p: &RateParams,
    a: &mut [f64],
    l: &mut [f64],
    d: &[f64],
    steps: usize,
    plastic: bool,
) -> Vec<f64> {
    let n = a.len();
    let h = p.dt_ms / p.tau_ms;
    let eta = p.effective_eta();
    let mut s_hat = Vec::new();
    let mut r: Vec<f64> = a.iter().map(|x| x.max(0.0)).collect();
    for _ in 0..steps {
        s_hat.push(d.iter().zip(&r).map(|(x, y)| x * y).sum::<f64>());
        let lr: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| l[i * n + j] * r[j]).sum())
            .collect();
        for i in 0..n {
            a[i] = (1.0 - h) * a[i] + h * lr[i];
            r[i] = a[i].max(0.0);
        }
        if !plastic {
            continue;
        }
        let fp: Vec<f64> = a.iter().map(|&x| f64::from(u8::from(x > 0.0))).collect();
        let e: f64 = (0..n)
            .map(|i| {
                let lri: f64 = (0..n).map(|j| l[i * n + j] * r[j]).sum();
                d[i] * fp[i] * (lri - a[i])
            })
            .sum();
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    l[i * n + j] -= 2.0 * eta * fp[i] * d[i] * e * r[j];
                }
            }
        }
    }
    s_hat
}

/// The optimized integrator (fused update and mat-vec, active units kept in
/// a leading block, updates deferred) follows the plain loop through the
/// transient, where units cross threshold, over two sessions.
#[test]
fn the_integrator_matches_a_plain_reference_loop() {
    let p = RateParams {
        n_units: 37,
        record_every_ms: 0.02,
        ..RateParams::default()
    };
    let (mut net, mut rng) = net(&p, 11);
    let mut a = net.activity().to_vec();
    let mut l = net.weights().to_vec();
    let d = net.readout().to_vec();
    let mut crossings = 0;
    for (ms, plastic) in [(100.0, true), (40.0, false), (60.0, true)] {
        let steps = (ms / p.dt_ms) as usize;
        let before: Vec<bool> = a.iter().map(|&x| x > 0.0).collect();
        let expect = reference_session(&p, &mut a, &mut l, &d, steps, plastic);
        crossings += a
            .iter()
            .zip(&before)
            .filter(|(x, b)| (**x > 0.0) != **b)
            .count();
        let got = net.run(ms, plastic, &mut rng).s_hat.remove(0);
        assert_eq!(got.len(), expect.len());
        for (t, (x, y)) in got.iter().zip(&expect).enumerate() {
            assert!(
                (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                "step {t}: {x} vs {y}"
            );
        }
        for (x, y) in net.activity().iter().zip(&a) {
            assert!((x - y).abs() < 1e-9, "activity {x} vs {y}");
        }
        for (x, y) in net.weights().iter().zip(&l) {
            assert!((x - y).abs() < 1e-9, "weight {x} vs {y}");
        }
    }
    assert!(
        crossings > 0,
        "the sessions must exercise threshold crossings"
    );
}

/// The read-out errors e_k = Σᵢ d_ik 1[aᵢ > 0](−aᵢ + Σ_j L_ij relu(a_j)),
/// computed directly.
fn readout_errors(a: &[f64], l: &[f64], d: &[f64], k: usize) -> Vec<f64> {
    let n = a.len();
    let mut e = vec![0.0; k];
    for i in (0..n).filter(|&i| a[i] > 0.0) {
        let lr: f64 = (0..n).map(|j| l[i * n + j] * a[j].max(0.0)).sum();
        for (kk, ek) in e.iter_mut().enumerate() {
            *ek += d[i * k + kk] * (lr - a[i]);
        }
    }
    e
}

#[test]
fn the_rule_matrix_is_the_error_map_of_one_integrator_update() {
    // Three read-outs, random feedback, both masks: one step of the real
    // integrator must change the errors at the new activity by exactly −M e.
    let k = 3;
    let p = RateParams {
        n_units: 30,
        n_readouts: k,
        feedback: wm_plasticity::rate::Feedback::Random,
        plastic_fraction: 0.6,
        connectivity: 0.7,
        ..RateParams::default()
    };
    let (mut net, mut rng) = net(&p, 11);
    let l0 = net.weights().to_vec();
    net.run(p.dt_ms, true, &mut rng); // exactly one step
    let a = net.activity().to_vec();
    let d = net.readout().to_vec();
    let e0 = readout_errors(&a, &l0, &d, k);
    let e1 = readout_errors(&a, net.weights(), &d, k);
    let m = net.rule_matrix();
    let scale = e0.iter().fold(0.0_f64, |s, v| s.max(v.abs()));
    assert!(scale > 1e-3, "degenerate errors {e0:?}");
    let mut moved = 0.0_f64;
    for x in 0..k {
        let me: f64 = (0..k).map(|y| m[x * k + y] * e0[y]).sum();
        moved = moved.max(me.abs());
        assert!(
            (e1[x] - (e0[x] - me)).abs() < 1e-10 * scale,
            "read-out {x}: {} after the update, {} predicted",
            e1[x],
            e0[x] - me
        );
    }
    assert!(moved > 1e-3 * scale, "the update did not move the errors");
}

#[test]
fn the_rule_gain_is_the_largest_eigenvalue_of_the_rule_matrix() {
    for k in [1, 2] {
        let p = RateParams {
            n_readouts: k,
            ..RateParams::default()
        };
        let (net, _) = net(&p, 4);
        let m = net.rule_matrix();
        let expected = if k == 1 {
            m[0]
        } else {
            // Larger root of λ² − tr λ + det = 0.
            let (tr, det) = (m[0] + m[3], m[0] * m[3] - m[1] * m[2]);
            0.5 * (tr + (tr * tr - 4.0 * det).sqrt())
        };
        let kappa = net.rule_gain();
        assert!(
            (kappa - expected).abs() < 1e-9 * expected,
            "K = {k}: {kappa} vs {expected}"
        );
        // κ ≈ 0.49 for one read-out at N = 100 with the paper's parameters (it
        // varies with a(0)).
        if k == 1 {
            assert!((0.2..1.0).contains(&kappa), "{kappa}");
        }
    }
}
