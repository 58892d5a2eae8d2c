//! Ideal observers of Orhan & Ma 2019, as the original `generators.py`
//! (github.com/eminorhan/recurrent-memory) computes them, and the special functions they need.
//!
//! Every observer takes spike counts summed over an epoch (spikes per epoch,
//! one entry per neuron of one location) and the population's preferred
//! stimuli `centres` (rad or degrees, as the task's [`super::encoding::Population`]).

use std::f64::consts::PI;

/// Which κ the change-detection observer uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CdObserver {
    /// As coded in the original: `κ = sqrt(Σ_j Σ_k r_j r_k cos(φ_j − φ_k))`.
    /// The default for F and the success threshold: it decided which networks
    /// the paper counted as successful.
    #[default]
    Coded,
    /// The exact posterior concentration: `κ = κ_tuning · |Σ_k r_k e^{2iφ_k}|`.
    Corrected,
}

/// `ln I₀(x)`, the log of the modified Bessel function of the first kind of
/// order 0 (`x` dimensionless; `I₀` is even, so `|x|` is used).
///
/// Power series below 20 (all terms positive), asymptotic expansion above.
pub fn ln_bessel_i0(x: f64) -> f64 {
    let x = x.abs();
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 20.0 {
        let q = 0.25 * x * x;
        let (mut term, mut sum, mut k) = (1.0f64, 1.0f64, 1.0f64);
        while term > sum * 1e-18 {
            term *= q / (k * k);
            sum += term;
            k += 1.0;
        }
        sum.ln()
    } else {
        // I₀(x) ~ e^x / sqrt(2πx) · Σ_k ((2k−1)!!)² / (k! (8x)^k)
        let (mut term, mut sum) = (1.0f64, 1.0f64);
        for k in 1..60 {
            let kf = f64::from(k);
            let next = term * (2.0 * kf - 1.0).powi(2) / (kf * 8.0 * x);
            if next > term || next < sum * 1e-18 {
                break;
            }
            term = next;
            sum += term;
        }
        x - 0.5 * (2.0 * PI * x).ln() + sum.ln()
    }
}

/// Standard normal CDF `Φ(x)`.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-x / std::f64::consts::SQRT_2)
}

/// `KL(Bern(p) ‖ Bern(q))` in nats, written as the original does:
/// `p ln(p/q) + (1 − p) ln((1 − p)/(1 − q))`. NaN when `p ∈ {0, 1}`
/// (`0 · ln 0`), so nan-means drop those trials exactly as the original does.
pub fn kl_bernoulli(p: f64, q: f64) -> f64 {
    p * (p / q).ln() + (1.0 - p) * ((1.0 - p) / (1.0 - q)).ln()
}

/// `(Σ r_k cos mφ_k, Σ r_k sin mφ_k)`: the resultant of the counts at angle multiple `m`.
fn resultant(counts: &[f64], centres: &[f64], m: f64) -> (f64, f64) {
    counts
        .iter()
        .zip(centres)
        .fold((0.0, 0.0), |(c, s), (&r, &phi)| {
            (c + r * (m * phi).cos(), s + r * (m * phi).sin())
        })
}

/// DE/GDE ideal observer: the ML orientation in rad, `[0, π)`.
///
/// `θ̂ = ½ atan2(Σ r_k sin 2φ_k, Σ r_k cos 2φ_k)`, plus π when negative. With no
/// spikes `atan2(0, 0) = 0`, so `θ̂ = 0`.
pub fn de_estimate(counts: &[f64], centres: &[f64]) -> f64 {
    let (c, s) = resultant(counts, centres, 2.0);
    let theta = 0.5 * s.atan2(c);
    if theta < 0.0 { theta + PI } else { theta }
}

/// Mean direction (doubled-angle space, rad, not halved) and concentration of
/// the CD observer for one epoch's counts.
fn cd_params(counts: &[f64], centres: &[f64], kappa: f64, which: CdObserver) -> (f64, f64) {
    let (c2, s2) = resultant(counts, centres, 2.0);
    let mu = s2.atan2(c2);
    let conc = match which {
        // ΣΣ r_j r_k cos(φ_j − φ_k) = |Σ r_k e^{iφ_k}|²
        CdObserver::Coded => {
            let (c1, s1) = resultant(counts, centres, 1.0);
            (c1 * c1 + s1 * s1).sqrt()
        }
        CdObserver::Corrected => kappa * (c2 * c2 + s2 * s2).sqrt(),
    };
    (mu, conc)
}

/// CD likelihood ratio `d = P(r¹, r² | change) / P(r¹, r² | no change)` for one
/// location: `I₀(κ_x) I₀(κ_y) / I₀(sqrt(κ_x² + κ_y² + 2κ_xκ_y cos(μ_y − μ_x)))`.
///
/// `first`/`second` are the stimulus- and response-epoch counts; `kappa` is the
/// tuning concentration (used only by [`CdObserver::Corrected`]).
pub fn cd_likelihood_ratio(
    first: &[f64],
    second: &[f64],
    centres: &[f64],
    kappa: f64,
    which: CdObserver,
) -> f64 {
    let (mx, kx) = cd_params(first, centres, kappa, which);
    let (my, ky) = cd_params(second, centres, kappa, which);
    let kxy = (kx * kx + ky * ky + 2.0 * kx * ky * (my - mx).cos())
        .max(0.0)
        .sqrt();
    (ln_bessel_i0(kx) + ln_bessel_i0(ky) - ln_bessel_i0(kxy)).exp()
}

/// CD posterior `P(C = 1 | r) = d / (1 + d)`, with `d` the nan-mean over
/// locations of [`cd_likelihood_ratio`]. `first[ℓ]`, `second[ℓ]` are location
/// ℓ's counts.
pub fn cd_posterior(
    first: &[Vec<f64>],
    second: &[Vec<f64>],
    centres: &[f64],
    kappa: f64,
    which: CdObserver,
) -> f64 {
    let ds: Vec<f64> = first
        .iter()
        .zip(second)
        .map(|(a, b)| cd_likelihood_ratio(a, b, centres, kappa, which))
        .filter(|d| !d.is_nan())
        .collect();
    if ds.is_empty() {
        return f64::NAN;
    }
    let d = ds.iter().sum::<f64>() / ds.len() as f64;
    if d.is_infinite() { 1.0 } else { d / (1.0 + d) }
}

/// 2AFC ideal observer: `P(C = 1 | r) = 1 / (1 + e^{−d})` with
/// `d = ½ τ Σr ((−S − μ)² − (S − μ)²) = 2 S τ Σ_k r_k φ_k`, `τ = 1/σ²`,
/// stimuli `±s_abs` degrees. The simplified form gives ½ (not NaN) with no spikes.
pub fn two_afc_posterior(counts: &[f64], centres: &[f64], sigma: f64, s_abs: f64) -> f64 {
    let tau = 1.0 / (sigma * sigma);
    let weighted: f64 = counts.iter().zip(centres).map(|(r, phi)| r * phi).sum();
    let d = 2.0 * s_abs * tau * weighted;
    1.0 / (1.0 + (-d).exp())
}

/// COMP ideal observer, flat prior ignoring the ±40° bounds:
/// `P(s₁ > s₂ | r) = Φ((μ_x − μ_y) / sqrt(v_x + v_y))`, with `μ = Σ r φ / Σ r`
/// (degrees) and `v = σ² / Σ r` (degrees²). NaN when either epoch has no spikes.
pub fn comp_posterior(first: &[f64], second: &[f64], centres: &[f64], sigma: f64) -> f64 {
    let moments = |r: &[f64]| {
        let n: f64 = r.iter().sum();
        let m: f64 = r.iter().zip(centres).map(|(a, b)| a * b).sum::<f64>() / n;
        (m, sigma * sigma / n)
    };
    let (mx, vx) = moments(first);
    let (my, vy) = moments(second);
    normal_cdf((mx - my) / (vx + vy).sqrt())
}
