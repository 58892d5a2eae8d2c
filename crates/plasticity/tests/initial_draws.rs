//! The initial rate networks against the closed-form moments of the paper's
//! definitions (Federer & Zylberberg, Methods): a(0) ~ N(0, 1) per unit,
//! read-out weights d = |N(0, 1)| (half-normal: mean √(2/π), second moment 1),
//! recurrent weights L_ij ~ N(0, g²/N) with L_ii = 0, and ŝ(0) = dᵀ relu(a(0)),
//! whose mean over networks is N E|z| E[max(z, 0)] = N/π and whose variance is
//! N (E[d²] E[r²] − (E d E r)²) = N (1/2 − 1/π²).
//!
//! Tolerances are 4 standard errors of the estimate (or the stated relative
//! error of a pooled second moment), so a different scaling of L with N or
//! g (e.g. g/N or g²/N as the s.d.), a signed d, a non-zero diagonal or a
//! rescaled a(0) fails.

use std::f64::consts::PI;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wm_plasticity::rate::{RateNetwork, RateParams};

fn draw(n: usize, gain: f64, seed: u64) -> RateNetwork {
    let p = RateParams {
        n_units: n,
        gain,
        ..RateParams::default()
    };
    RateNetwork::new(&p, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap()
}

#[test]
fn s_hat_at_zero_has_the_closed_form_mean_and_spread_over_networks() {
    let (n, nets) = (100usize, 1000u64);
    let s0: Vec<f64> = (0..nets).map(|k| draw(n, 1.0, k).s_hat()[0]).collect();
    let m = s0.iter().sum::<f64>() / nets as f64;
    let var = s0.iter().map(|s| (s - m).powi(2)).sum::<f64>() / (nets as f64 - 1.0);
    let var_exact = n as f64 * (0.5 - 1.0 / (PI * PI));
    let se_mean = (var_exact / nets as f64).sqrt();
    assert!(
        (m - n as f64 / PI).abs() < 4.0 * se_mean,
        "mean ŝ(0) {m} vs N/π = {}",
        n as f64 / PI
    );
    // s.d. of a sample s.d. ≈ σ/√(2(n − 1)) (ŝ(0) is close to normal at N = 100).
    let sd_exact = var_exact.sqrt();
    let se_sd = sd_exact / (2.0 * (nets as f64 - 1.0)).sqrt();
    assert!(
        (var.sqrt() - sd_exact).abs() < 4.0 * se_sd,
        "s.d. of ŝ(0) {} vs √(N (1/2 − 1/π²)) = {sd_exact}",
        var.sqrt()
    );
}

#[test]
fn activity_and_readout_moments_match_normal_and_half_normal() {
    let (n, nets) = (100usize, 200u64);
    let (mut a1, mut a2, mut d1, mut d2, mut count) = (0.0, 0.0, 0.0, 0.0, 0.0_f64);
    for k in 0..nets {
        let net = draw(n, 1.0, k);
        for (&a, &d) in net.activity().iter().zip(net.readout()) {
            assert!(d >= 0.0, "read-out weights are |N(0,1)|");
            a1 += a;
            a2 += a * a;
            d1 += d;
            d2 += d * d;
            count += 1.0;
        }
    }
    let se1 = (1.0 / count).sqrt();
    // Var(z²) = 2 for z ~ N(0, 1) and for |z|.
    let se2 = (2.0 / count).sqrt();
    assert!((a1 / count).abs() < 4.0 * se1, "E a(0) = {}", a1 / count);
    assert!(
        (a2 / count - 1.0).abs() < 4.0 * se2,
        "E a(0)² = {}",
        a2 / count
    );
    let d_mean = (2.0 / PI).sqrt();
    let d_se = ((1.0 - 2.0 / PI) / count).sqrt();
    assert!(
        (d1 / count - d_mean).abs() < 4.0 * d_se,
        "E d = {}",
        d1 / count
    );
    assert!(
        (d2 / count - 1.0).abs() < 4.0 * se2,
        "E d² = {}",
        d2 / count
    );
}

/// Pooled mean and second moment of the off-diagonal weights, and the
/// largest |L_ii|, over `nets` networks.
fn weight_moments(n: usize, gain: f64, nets: u64) -> (f64, f64, f64, f64) {
    let (mut s1, mut s2, mut count, mut diag) = (0.0, 0.0, 0.0_f64, 0.0_f64);
    for k in 0..nets {
        let net = draw(n, gain, 1000 + k);
        let l = net.weights();
        for i in 0..n {
            for j in 0..n {
                let w = l[i * n + j];
                if i == j {
                    diag = diag.max(w.abs());
                } else {
                    s1 += w;
                    s2 += w * w;
                    count += 1.0;
                }
            }
        }
    }
    (s1 / count, s2 / count, count, diag)
}

#[test]
fn recurrent_weights_have_variance_g_squared_over_n_and_no_self_connections() {
    for (n, gain, nets) in [(100, 1.0, 100), (400, 1.0, 10), (100, 2.0, 100)] {
        let (m1, m2, count, diag) = weight_moments(n, gain, nets);
        let var = gain * gain / n as f64;
        // Pooled over ~10⁶ entries: E w = 0 ± √(var/count), E w² = var ± var √(2/count).
        assert!(
            m1.abs() < 4.0 * (var / count).sqrt(),
            "N = {n}, g = {gain}: E L_ij = {m1}"
        );
        assert!(
            (m2 / var - 1.0).abs() < 4.0 * (2.0 / count).sqrt(),
            "N = {n}, g = {gain}: E L_ij² = {m2}, want g²/N = {var}"
        );
        assert_eq!(diag, 0.0, "N = {n}: L has a non-zero diagonal entry");
    }
}
