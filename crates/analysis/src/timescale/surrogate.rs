//! The generative model of the bias correction: Poisson spike counts whose
//! rate is an autocorrelated (Ornstein–Uhlenbeck-like) process plus a
//! per-trial offset, sampled at the resolution of the bins.
//!
//! Per trial, the bin-averaged rate fluctuation follows the AR(1) recursion
//! `y₀ ~ N(0, 1)`, `y_{i+1} = φ yᵢ + √(1 − φ²) εᵢ` with `φ = exp(−bin/τ)`:
//! the exact sampling of an Ornstein–Uhlenbeck process at the bin centres,
//! whose autocorrelation at lag k bins is `φᵏ = exp(−k·bin/τ)` (Uhlenbeck &
//! Ornstein 1930). The expected count in bin i is
//! `λᵢ = max(0, μ + σ_ou yᵢ + σ_trial z)` with `z ~ N(0, 1)` once per trial,
//! and the count is Poisson(λᵢ). As long as λ rarely hits 0, the across-trial
//! correlation of counts at lag k ≥ 1 is
//! `ρ(k) = (σ_ou² φᵏ + σ_trial²) / (μ + σ_ou² + σ_trial²)`: the single
//! exponential plus offset that [`super`] fits, with the true τ. A rate
//! integrated over each bin (rather than sampled) adds only bin-to-bin white
//! noise to `y`, so it has the same form at lags ≥ 1.
//!
//! Every random number comes from the `rng` passed in; the samplers are
//! written here (inversion for Poisson, Marsaglia's polar method for the
//! normal) so that the same uniforms give the same counts on every platform.

use rand::Rng;

use crate::error::{AnalysisError, Result};

/// Parameters of the count model of one unit (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OuPoissonModel {
    /// Timescale τ of the rate fluctuations, ms (> 0).
    pub tau_ms: f64,
    /// Bin width, ms (> 0).
    pub bin_ms: f64,
    /// Mean count per bin μ (≥ 0), i.e. rate × bin width.
    pub mean_count: f64,
    /// Standard deviation σ_ou of the autocorrelated part of the expected
    /// count per bin (≥ 0; counts, not Hz).
    pub ou_sd_count: f64,
    /// Standard deviation σ_trial of the per-trial offset of the expected
    /// count per bin (≥ 0; counts).
    pub trial_sd_count: f64,
}

impl OuPoissonModel {
    /// The model whose count autocorrelation at lag k ≥ 1 is
    /// `ou_fraction·exp(−k·bin/τ) + trial_fraction`, for counts of mean
    /// `mean_count` per bin under Poisson spiking: the rate variance is the
    /// fraction `ou_fraction + trial_fraction` of the count variance
    /// `μ / (1 − ou_fraction − trial_fraction)` (Fano factor
    /// `1 / (1 − ou_fraction − trial_fraction)`).
    ///
    /// Errors: τ, bin or mean not finite and positive (mean ≥ 0); fractions
    /// negative or summing to ≥ 1.
    pub fn from_correlation(
        tau_ms: f64,
        bin_ms: f64,
        mean_count: f64,
        ou_fraction: f64,
        trial_fraction: f64,
    ) -> Result<Self> {
        if !(ou_fraction >= 0.0 && trial_fraction >= 0.0 && ou_fraction + trial_fraction < 1.0) {
            return Err(AnalysisError::invalid(
                "ou_fraction + trial_fraction",
                ou_fraction + trial_fraction,
                "each >= 0, sum < 1",
            ));
        }
        let total = mean_count / (1.0 - ou_fraction - trial_fraction);
        let m = Self {
            tau_ms,
            bin_ms,
            mean_count,
            ou_sd_count: (ou_fraction * total).sqrt(),
            trial_sd_count: (trial_fraction * total).sqrt(),
        };
        m.validate()?;
        Ok(m)
    }

    /// Check every field: finite; τ, bin > 0; mean and SDs ≥ 0.
    pub fn validate(&self) -> Result<()> {
        if !(self.tau_ms.is_finite() && self.tau_ms > 0.0) {
            return Err(AnalysisError::invalid(
                "tau_ms",
                self.tau_ms,
                "finite and > 0",
            ));
        }
        if !(self.bin_ms.is_finite() && self.bin_ms > 0.0) {
            return Err(AnalysisError::invalid(
                "bin_ms",
                self.bin_ms,
                "finite and > 0",
            ));
        }
        for (name, v) in [
            ("mean_count", self.mean_count),
            ("ou_sd_count", self.ou_sd_count),
            ("trial_sd_count", self.trial_sd_count),
        ] {
            if !(v.is_finite() && (0.0..=1e6).contains(&v)) {
                return Err(AnalysisError::invalid(name, v, "finite, 0 ..= 1e6"));
            }
        }
        Ok(())
    }

    /// Fill `out` (row-major `[trials, bins]`, length a multiple of `bins`)
    /// with counts drawn from the model. Fields are assumed valid
    /// ([`OuPoissonModel::validate`]).
    pub fn sample_into<R: Rng + ?Sized>(&self, bins: usize, out: &mut [f64], rng: &mut R) {
        let noise = SurrogateNoise::draw(out.len() / bins.max(1), bins, rng);
        self.counts_from_noise(&noise, out);
    }

    /// Counts from pre-drawn random numbers (`noise` for `[trials, bins]`,
    /// `out` of length trials × bins): the same noise under different
    /// parameters gives common-random-number surrogates.
    pub(crate) fn counts_from_noise(&self, noise: &SurrogateNoise, out: &mut [f64]) {
        let bins = noise.bins;
        let phi = (-self.bin_ms / self.tau_ms).exp();
        let innov = (1.0 - phi * phi).max(0.0).sqrt();
        let per = 2 * bins + 1;
        for (t, trial) in out.chunks_mut(bins.max(1)).enumerate() {
            let z = &noise.normals[t * per..(t + 1) * per];
            let u = &noise.uniforms[t * bins..(t + 1) * bins];
            let offset = self.mean_count + self.trial_sd_count * z[0];
            let mut y = z[1];
            for (i, c) in trial.iter_mut().enumerate() {
                let lambda = (offset + self.ou_sd_count * y).max(0.0);
                *c = poisson_from(lambda, u[i], z[bins + 1 + i]);
                if i + 1 < bins {
                    y = phi * y + innov * z[2 + i];
                }
            }
        }
    }

    /// Counts `[trials, bins]` drawn from the model, as a row-major vector.
    pub fn sample<R: Rng + ?Sized>(&self, trials: usize, bins: usize, rng: &mut R) -> Vec<f64> {
        let mut out = vec![0.0; trials * bins];
        self.sample_into(bins, &mut out, rng);
        out
    }
}

/// Standard normal draws by Marsaglia's polar method (two per accepted pair).
#[derive(Debug, Default, Clone)]
pub(crate) struct NormalSampler {
    spare: Option<f64>,
}

impl NormalSampler {
    /// One N(0, 1) draw.
    pub(crate) fn sample<R: Rng + ?Sized>(&mut self, rng: &mut R) -> f64 {
        if let Some(s) = self.spare.take() {
            return s;
        }
        loop {
            let u = 2.0 * rng.random::<f64>() - 1.0;
            let v = 2.0 * rng.random::<f64>() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * s.ln() / s).sqrt();
                self.spare = Some(v * f);
                return u * f;
            }
        }
    }
}

/// The random numbers of one surrogate data set `[trials, bins]`: per trial
/// 2·bins + 1 standard normals (trial offset, initial state, bins − 1
/// innovations, bins for large-count Poisson draws) and bins uniforms.
#[derive(Debug, Clone)]
pub(crate) struct SurrogateNoise {
    bins: usize,
    normals: Vec<f64>,
    uniforms: Vec<f64>,
}

impl SurrogateNoise {
    /// Draw the numbers for `trials` × `bins` counts from `rng`.
    pub(crate) fn draw<R: Rng + ?Sized>(trials: usize, bins: usize, rng: &mut R) -> Self {
        let mut normal = NormalSampler::default();
        let normals = (0..trials * (2 * bins + 1))
            .map(|_| normal.sample(rng))
            .collect();
        let uniforms = (0..trials * bins).map(|_| rng.random::<f64>()).collect();
        Self {
            bins,
            normals,
            uniforms,
        }
    }
}

/// A Poisson(λ) draw from one uniform `u` (inversion by sequential search
/// from 0, for λ ≤ 30) or, above, from one standard normal `z` (rounded
/// N(λ, λ) clipped at 0; relative error of its moments below 2 % there).
pub(crate) fn poisson_from(lambda: f64, u: f64, z: f64) -> f64 {
    if lambda <= 0.0 {
        return 0.0;
    }
    if lambda > 30.0 {
        return (lambda + lambda.sqrt() * z).round().max(0.0);
    }
    let mut p = (-lambda).exp();
    let mut f = p;
    let mut k = 0usize;
    while u > f && k < 1000 {
        k += 1;
        p *= lambda * INV.get(k).copied().unwrap_or(1.0 / k as f64);
        f += p;
    }
    k as f64
}

/// 1/k for k < 64 (multiplication instead of division in the inversion loop).
const INV: [f64; 64] = {
    let mut t = [0.0; 64];
    let mut k = 1;
    while k < 64 {
        t[k] = 1.0 / k as f64;
        k += 1;
    }
    t
};

/// One Poisson(λ) draw from `rng` ([`poisson_from`]).
#[cfg(test)]
fn poisson<R: Rng + ?Sized>(lambda: f64, rng: &mut R) -> f64 {
    let u: f64 = rng.random();
    let z = NormalSampler::default().sample(rng);
    poisson_from(lambda, u, z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn poisson_moments() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for lambda in [0.3, 2.5, 12.0, 50.0] {
            let n = 40_000;
            let xs: Vec<f64> = (0..n).map(|_| poisson(lambda, &mut rng)).collect();
            let m = xs.iter().sum::<f64>() / n as f64;
            let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
            // SE of the mean sqrt(λ/n); of the variance about λ·sqrt(2/n).
            assert!(
                (m - lambda).abs() < 5.0 * (lambda / n as f64).sqrt(),
                "{lambda}: {m}"
            );
            assert!((v - lambda).abs() < 0.05 * lambda + 0.02, "{lambda}: {v}");
        }
    }

    #[test]
    fn count_correlation_is_the_closed_form() {
        // ρ(k) = (σ_ou² φ^k + σ_tr²) / (μ + σ_ou² + σ_tr²), estimated across trials.
        let m = OuPoissonModel::from_correlation(100.0, 50.0, 4.0, 0.3, 0.1).unwrap();
        let (trials, bins) = (40_000, 4);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let c = m.sample(trials, bins, &mut rng);
        let col = |j: usize| -> Vec<f64> { (0..trials).map(|t| c[t * bins + j]).collect() };
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let corr = |i: usize, j: usize| {
            let (x, y) = (col(i), col(j));
            let (mx, my) = (mean(&x), mean(&y));
            let cov: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
            let vx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
            let vy: f64 = y.iter().map(|b| (b - my) * (b - my)).sum();
            cov / (vx * vy).sqrt()
        };
        for k in 1..=3 {
            let want = 0.3 * (-(k as f64) * 0.5).exp() + 0.1;
            let got = corr(0, k);
            assert!((got - want).abs() < 0.02, "lag {k}: {got} vs {want}");
        }
        assert!((mean(&col(2)) - 4.0).abs() < 0.05);
    }

    #[test]
    fn bad_fractions_are_errors() {
        assert!(OuPoissonModel::from_correlation(100.0, 50.0, 1.0, 0.6, 0.5).is_err());
        assert!(OuPoissonModel::from_correlation(100.0, 50.0, 1.0, -0.1, 0.0).is_err());
        assert!(OuPoissonModel::from_correlation(f64::NAN, 50.0, 1.0, 0.1, 0.0).is_err());
    }
}
