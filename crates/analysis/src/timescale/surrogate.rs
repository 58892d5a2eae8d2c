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
        let phi = (-self.bin_ms / self.tau_ms).exp();
        let innov = (1.0 - phi * phi).max(0.0).sqrt();
        let mut normal = NormalSampler::default();
        for trial in out.chunks_mut(bins.max(1)) {
            let offset = self.mean_count + self.trial_sd_count * normal.sample(rng);
            let mut y = normal.sample(rng);
            for c in trial.iter_mut() {
                let lambda = (offset + self.ou_sd_count * y).max(0.0);
                *c = poisson(lambda, rng);
                y = phi * y + innov * normal.sample(rng);
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

/// One Poisson(λ) draw: inversion (sequential search from 0) for λ ≤ 30; a
/// rounded normal N(λ, λ) clipped at 0 above (relative error of its moments
/// below 2 % there).
pub(crate) fn poisson<R: Rng + ?Sized>(lambda: f64, rng: &mut R) -> f64 {
    if lambda <= 0.0 {
        return 0.0;
    }
    if lambda > 30.0 {
        let z = NormalSampler::default().sample(rng);
        return (lambda + lambda.sqrt() * z).round().max(0.0);
    }
    let u: f64 = rng.random();
    let mut p = (-lambda).exp();
    let mut f = p;
    let mut k = 0u32;
    while u > f && k < 1000 {
        k += 1;
        p *= lambda / k as f64;
        f += p;
    }
    k as f64
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
            assert!((m - lambda).abs() < 5.0 * (lambda / n as f64).sqrt(), "{lambda}: {m}");
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
        let col = |j: usize| (0..trials).map(move |t| c[t * bins + j]);
        let mean = |j: usize| col(j).sum::<f64>() / trials as f64;
        let corr = |i: usize, j: usize| {
            let (mi, mj) = (mean(i), mean(j));
            let cov: f64 = col(i).zip(col(j)).map(|(a, b)| (a - mi) * (b - mj)).sum();
            let vi: f64 = col(i).map(|a| (a - mi) * (a - mi)).sum();
            let vj: f64 = col(j).map(|b| (b - mj) * (b - mj)).sum();
            cov / (vi * vj).sqrt()
        };
        for k in 1..=3 {
            let want = 0.3 * (-(k as f64) * 0.5).exp() + 0.1;
            let got = corr(0, k);
            assert!((got - want).abs() < 0.02, "lag {k}: {got} vs {want}");
        }
        assert!((mean(2) - 4.0).abs() < 0.05);
    }

    #[test]
    fn bad_fractions_are_errors() {
        assert!(OuPoissonModel::from_correlation(100.0, 50.0, 1.0, 0.6, 0.5).is_err());
        assert!(OuPoissonModel::from_correlation(100.0, 50.0, 1.0, -0.1, 0.0).is_err());
        assert!(OuPoissonModel::from_correlation(f64::NAN, 50.0, 1.0, 0.1, 0.0).is_err());
    }
}
