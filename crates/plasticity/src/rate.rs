//! The rate network with the three-factor plasticity rule, its FEVER baseline
//! and every variant of the paper's experiments.
//!
//! Dynamics (time in ms, τ = `tau_ms`):
//!
//! τ da/dt = −a + L r,  r = f(a),  ŝ(t) = dᵀ r(t),
//!
//! integrated by forward Euler with step `dt_ms`. Each step, in this order
//! (the order of the original code, `NN.py` in github.com/cfederer/SOMN):
//!
//! 1. record ŝ (and a few rates) every `record_every_ms`, *before* the update;
//! 2. a ← (1 − h) a + h L r with h = dt/τ, then r ← f(a);
//! 3. if plastic: the analytic error e = τ dŝ/dt = Σᵢ dᵢ f′(aᵢ)(−aᵢ + (L r)ᵢ)
//!    at the new state, then ΔL_ij = 2 η_N · f′ᵢ · r_j · Σ_k q_ik e_k and
//!    L ← L − W ⊙ ΔL (W: plastic-synapse mask × connectivity mask), diagonal
//!    kept at zero.
//!
//! `eta` follows the convention of `NN.py`: the per-step change is
//! 2η · e · qᵢ f′ᵢ r_j, not multiplied by dt, so the paper's η (Eq. 3) equals 2η here
//! (2e-4 per step, 0.2 per τ at the default). With `eta_size_scaling` the rate
//! used is η_N = η · (100/N)², which keeps the per-step error reduction
//! κ ∝ η N² fixed so large networks stay stable (the paper, Sec. 4, says only
//! that the best η falls as N grows; the (100/N)² form is ours).
//!
//! Implementation: the noise-free, unmasked plastic change of a step is
//! deferred and applied in the next step's single pass over L, which also
//! computes that step's L r (`kernels::update_and_matvec`); L r after the
//! change, needed for the activity update in between, follows in closed form,
//! (L − c rᵀ) r = L r − c ‖r‖² (less the zeroed diagonal). Units with a
//! non-zero rate are kept in a leading block of an internal order, so the
//! pass covers only their columns (silent units neither receive a change in
//! their column nor contribute to L r); the original order is restored at the
//! end of each session. With masks or synaptic noise each step makes the
//! mat-vec and then the update as two passes. Rows are split over rayon's
//! threads for N ≥ [`PARALLEL_ROWS`], so the per-row arithmetic, and the
//! result, do not depend on the thread count.

use rand::Rng;
use rand::seq::index::sample;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ParamError;
use crate::kernels::{RankOneUpdate, dot, sub_scaled, sub_scaled_masked, update_and_matvec};

/// Networks with at least this many units split each step's row loops over
/// rayon's threads.
pub const PARALLEL_ROWS: usize = 1024;

/// Rate nonlinearity f.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// f(a) = max(a, 0), f′(a) = 1[a > 0] (f′(0) = 0).
    #[default]
    Relu,
    /// f(a) = a, f′ ≡ 1 (FEVER, and the linear regime of the tests).
    Linear,
}

/// Which weights carry the error back to the synapses (Fig. 8C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Feedback {
    /// q = d: the read-out weights themselves.
    #[default]
    Readout,
    /// q = |N(0,1)|, drawn independently of d ("random feedback weights").
    Random,
}

/// The error signal of the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorSignal {
    /// e = τ dŝ/dt, computed analytically.
    #[default]
    Analytic,
    /// sign(e) ∈ {−1, 0, +1}, elementwise per read-out (Fig. 8C).
    Binary,
}

/// How the multiplicative update noise ΔL ← ΔL (1 + α ξ) is drawn (Fig. 3B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateNoise {
    /// One ξ ~ N(0,1) per step shared by every synapse (as in the original code, `NN.py`).
    #[default]
    Shared,
    /// An independent ξ_ij per synapse per step (ablation).
    Independent,
}

/// How the additive synaptic noise L ← L + σ ξ is drawn (Fig. 3A).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SynapticNoise {
    /// Independent ξ_ij ~ N(0,1) per existing synapse per step (our default; the
    /// paper, Sec. 3.2, does not say how the noise is drawn).
    #[default]
    Independent,
    /// One ξ per step added to every entry (an earlier version of the original
    /// code, commit `6d0db9d` of github.com/cfederer/SOMN).
    Shared,
}

/// Every parameter of a rate network. Defaults are the paper's (Secs. 2–3) and
/// its code's (`NN.py` in github.com/cfederer/SOMN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateParams {
    /// Number of units N (paper: 100).
    pub n_units: usize,
    /// Neuronal time constant τ in ms (paper: 20).
    pub tau_ms: f64,
    /// Euler step in ms (paper: 0.02 = 0.001 τ).
    pub dt_ms: f64,
    /// Gain g of the initial weights L ~ N(0, g²/N) (paper: 1).
    pub gain: f64,
    /// Learning rate η at N = 100, code convention: ΔL = 2η e qᵢ f′ᵢ r_j per step (paper: 1e-4).
    pub eta: f64,
    /// Use η_N = η (100/N)² (our choice: the paper, Sec. 4, says only that η must
    /// shrink as N grows); no effect at N = 100.
    pub eta_size_scaling: bool,
    /// Read-outs (stimuli) K sharing one network (Fig. 7: 4); the rule sums over them.
    pub n_readouts: usize,
    /// Feedback weights of the rule.
    pub feedback: Feedback,
    /// Error signal of the rule.
    pub error: ErrorSignal,
    /// Fraction f of plastic synapses, a fixed random mask (Fig. 4; 1 = all).
    pub plastic_fraction: f64,
    /// Connection probability p, a fixed random mask (Fig. 5; 1 = all-to-all).
    pub connectivity: f64,
    /// Multiplicative update noise α: ΔL ← ΔL (1 + α ξ) (Fig. 3B).
    pub update_noise: f64,
    /// How the update noise is drawn.
    pub update_noise_kind: UpdateNoise,
    /// Additive synaptic noise σ per step: L ← L + σ ξ (Fig. 3A: 1e-5).
    pub synaptic_noise_sd: f64,
    /// How the additive noise is drawn.
    pub synaptic_noise_kind: SynapticNoise,
    /// Feedback delay D in ms (Fig. A2); the update uses the error of D ms earlier.
    pub feedback_delay_ms: f64,
    /// Error used while t < D, before any feedback has arrived (code: −1,
    /// which potentiates active→active synapses, though the paper's Fig. A2 calls
    /// this phase anti-Hebbian; `figa2_delayedfeedback.py` in github.com/cfederer/SOMN).
    pub pre_feedback_error: f64,
    /// Apply the plasticity rule (false: the "constant random synapse" network).
    pub plastic: bool,
    /// FEVER baseline: linear units and L = d dᵀ/(dᵀd) (diagonal kept), no random L.
    pub fever: bool,
    /// FEVER with the original code's error masked by 1[aᵢ > 0] (the artefact
    /// behind the Fig. 3A curve stored in github.com/cfederer/SOMN,
    /// `storing/Fig3A_fever.csv`); ignored unless `fever`.
    pub fever_masked_error: bool,
    /// Nonlinearity (FEVER forces `linear`).
    pub activation: Activation,
    /// Sampling interval of the recorded trace, ms (paper: 1).
    pub record_every_ms: f64,
    /// Units whose rates are recorded (drawn without replacement; Fig. 2A: 10).
    pub record_units: usize,
}

impl Default for RateParams {
    fn default() -> Self {
        Self {
            n_units: 100,
            tau_ms: 20.0,
            dt_ms: 0.02,
            gain: 1.0,
            eta: 1e-4,
            eta_size_scaling: true,
            n_readouts: 1,
            feedback: Feedback::Readout,
            error: ErrorSignal::Analytic,
            plastic_fraction: 1.0,
            connectivity: 1.0,
            update_noise: 0.0,
            update_noise_kind: UpdateNoise::Shared,
            synaptic_noise_sd: 0.0,
            synaptic_noise_kind: SynapticNoise::Independent,
            feedback_delay_ms: 0.0,
            pre_feedback_error: -1.0,
            plastic: true,
            fever: false,
            fever_masked_error: false,
            activation: Activation::Relu,
            record_every_ms: 1.0,
            record_units: 0,
        }
    }
}

impl RateParams {
    /// Check every field's range; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<(), ParamError> {
        let n = self.n_units as f64;
        ParamError::check(
            "n_units",
            n,
            "an integer in [2, 20000] (dense N x N weights)",
            (2..=MAX_UNITS).contains(&self.n_units),
        )?;
        ParamError::check("tau_ms", self.tau_ms, "> 0", self.tau_ms > 0.0)?;
        ParamError::check(
            "dt_ms",
            self.dt_ms,
            "(0, tau_ms]",
            self.dt_ms > 0.0 && self.dt_ms <= self.tau_ms,
        )?;
        ParamError::check("gain", self.gain, ">= 0", self.gain >= 0.0)?;
        ParamError::check("eta", self.eta, ">= 0", self.eta >= 0.0)?;
        let k = self.n_readouts as f64;
        ParamError::check(
            "n_readouts",
            k,
            "an integer in [1, 1000]",
            (1..=1000).contains(&self.n_readouts),
        )?;
        ParamError::check(
            "n_readouts",
            k,
            "1 with `fever`",
            !self.fever || self.n_readouts == 1,
        )?;
        let f = self.plastic_fraction;
        ParamError::check("plastic_fraction", f, "[0, 1]", (0.0..=1.0).contains(&f))?;
        let p = self.connectivity;
        ParamError::check("connectivity", p, "[0, 1]", (0.0..=1.0).contains(&p))?;
        ParamError::check(
            "update_noise",
            self.update_noise,
            ">= 0",
            self.update_noise >= 0.0,
        )?;
        let s = self.synaptic_noise_sd;
        ParamError::check("synaptic_noise_sd", s, ">= 0", s >= 0.0)?;
        let dly = self.feedback_delay_ms;
        ParamError::check(
            "feedback_delay_ms",
            dly,
            ">= 0 and at most 1e7 steps of dt_ms",
            dly >= 0.0 && dly / self.dt_ms <= MAX_STEPS_BUFFERED,
        )?;
        let e0 = self.pre_feedback_error;
        ParamError::check("pre_feedback_error", e0, "a finite number", true)?;
        let rec = self.record_every_ms;
        ParamError::check("record_every_ms", rec, ">= dt_ms", rec >= self.dt_ms)?;
        let ru = self.record_units as f64;
        ParamError::check(
            "record_units",
            ru,
            "<= n_units",
            self.record_units <= self.n_units,
        )?;
        Ok(())
    }

    /// Size-scaled learning rate η_N used per step.
    pub fn effective_eta(&self) -> f64 {
        if self.eta_size_scaling {
            self.eta * (100.0 / self.n_units as f64).powi(2)
        } else {
            self.eta
        }
    }

    /// Euler steps per ms (50 at the default).
    pub fn steps_per_ms(&self) -> f64 {
        1.0 / self.dt_ms
    }

    /// Nonlinearity actually used (FEVER is linear).
    pub fn activation_used(&self) -> Activation {
        if self.fever {
            Activation::Linear
        } else {
            self.activation
        }
    }
}

/// What one session recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Sampling interval, ms.
    pub record_every_ms: f64,
    /// ŝ_k(t) per read-out k: `s_hat[k][sample]`, sample m at m · `record_every_ms` ms.
    pub s_hat: Vec<Vec<f64>>,
    /// Rates of the recorded units: `rates[sample][unit]`.
    pub rates: Vec<Vec<f64>>,
    /// Indices of the recorded units.
    pub units: Vec<usize>,
}

impl Trace {
    /// ŝ_k(t)/ŝ_k(0) of read-out `k` (the paper's memory measure).
    pub fn ratio(&self, k: usize) -> Vec<f64> {
        let s = &self.s_hat[k];
        let s0 = s.first().copied().unwrap_or(f64::NAN);
        s.iter().map(|v| v / s0).collect()
    }

    /// Times of the samples, ms.
    pub fn times_ms(&self) -> Vec<f64> {
        let n = self.s_hat.first().map_or(0, Vec::len);
        (0..n).map(|m| m as f64 * self.record_every_ms).collect()
    }
}

/// One rate network: parameters, its fixed random draws and its state.
#[derive(Debug, Clone)]
pub struct RateNetwork {
    p: RateParams,
    n: usize,
    k: usize,
    /// Activation a (the "voltage"), dimensionless.
    a: Vec<f64>,
    /// Rates r = f(a).
    r: Vec<f64>,
    /// The rates of the previous step, whose deferred plastic change is
    /// applied in the next step's pass over L.
    r_prev: Vec<f64>,
    /// L r at the current L and r (drives the next activity update).
    v: Vec<f64>,
    /// Read-out weights, `d[i * k + k']`.
    d: Vec<f64>,
    /// Feedback weights (a copy of d unless random).
    q: Vec<f64>,
    /// Recurrent weights, row-major `L[i * n + j]` (post i ← pre j).
    l: Vec<f64>,
    /// Where the plastic update lands (plastic mask × connectivity), row-major; `None` = everywhere.
    update_mask: Option<Vec<f64>>,
    /// Existing synapses (connectivity mask), row-major; `None` = all-to-all.
    conn: Option<Vec<f64>>,
    /// Units whose rates are recorded.
    units: Vec<usize>,
    // scratch
    y: Vec<f64>,
    c: Vec<f64>,
}

impl RateNetwork {
    /// Draw a network from `rng` in the original code's order (`NN.py`):
    /// a(0) ~ N(0,1); d = |N(0,1)| (N × K); q = |N(0,1)| if random feedback;
    /// L ~ N(0, g²/N) with zero diagonal (FEVER: L = d dᵀ/(dᵀd)); the
    /// connectivity mask 1[U ≤ p]; the plastic mask 1[U ≤ f]; recorded units.
    pub fn new(params: &RateParams, rng: &mut ChaCha8Rng) -> Result<Self, ParamError> {
        params.validate()?;
        let p = params.clone();
        let (n, k) = (p.n_units, p.n_readouts);
        let a: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
        let d: Vec<f64> = (0..n * k)
            .map(|_| rng.sample::<f64, _>(StandardNormal).abs())
            .collect();
        let q = match p.feedback {
            Feedback::Readout => d.clone(),
            Feedback::Random => (0..n * k)
                .map(|_| rng.sample::<f64, _>(StandardNormal).abs())
                .collect(),
        };
        let l = if p.fever {
            let dd: f64 = d.iter().map(|x| x * x).sum();
            let mut l = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    l[i * n + j] = d[i] * d[j] / dd;
                }
            }
            l
        } else {
            let s = p.gain / (n as f64).sqrt();
            let mut l: Vec<f64> = (0..n * n)
                .map(|_| s * rng.sample::<f64, _>(StandardNormal))
                .collect();
            for i in 0..n {
                l[i * n + i] = 0.0;
            }
            l
        };
        let mut draw_mask = |prob: f64| -> Option<Vec<f64>> {
            (prob < 1.0).then(|| {
                (0..n * n)
                    .map(|_| f64::from(u8::from(rng.random::<f64>() <= prob)))
                    .collect()
            })
        };
        let conn = draw_mask(p.connectivity);
        let plastic_mask = draw_mask(p.plastic_fraction);
        let update_mask = match (&conn, plastic_mask) {
            (None, m) => m,
            (Some(c), None) => Some(c.clone()),
            (Some(c), Some(m)) => Some(c.iter().zip(&m).map(|(x, y)| x * y).collect()),
        };
        let units = sample(rng, n, p.record_units).into_vec();
        let mut net = Self {
            n,
            k,
            r: vec![0.0; n],
            r_prev: vec![0.0; n],
            v: vec![0.0; n],
            a,
            d,
            q,
            l,
            update_mask,
            conn,
            units,
            y: vec![0.0; n],
            c: vec![0.0; n],
            p,
        };
        // The connectivity mask is applied before the first step (the original
        // code applies it only after the first update; the difference is negligible).
        if let Some(c) = &net.conn {
            for (w, m) in net.l.iter_mut().zip(c) {
                *w *= m;
            }
        }
        net.refresh();
        Ok(net)
    }

    /// Recompute r = f(a) and L r from a and L.
    fn refresh(&mut self) {
        let act = self.p.activation_used();
        for (r, &a) in self.r.iter_mut().zip(&self.a) {
            *r = match act {
                Activation::Relu => a.max(0.0),
                Activation::Linear => a,
            };
        }
        matvec(&self.l, self.n, &self.r, &mut self.v);
    }

    /// Draw a new initial activity a(0) ~ N(0,1) (a new "stimulus"); d, q, L
    /// and the masks are kept (pre-training, the paper's Sec. 3.4 and Fig. 6).
    pub fn reset_activity(&mut self, rng: &mut ChaCha8Rng) {
        for a in &mut self.a {
            *a = rng.sample(StandardNormal);
        }
        self.refresh();
    }

    /// The parameters.
    pub fn params(&self) -> &RateParams {
        &self.p
    }

    /// Activation a, length N.
    pub fn activity(&self) -> &[f64] {
        &self.a
    }

    /// Rates r = f(a), length N.
    pub fn rates(&self) -> &[f64] {
        &self.r
    }

    /// Recurrent weights, row-major N × N, `L[i * N + j]` from j to i.
    pub fn weights(&self) -> &[f64] {
        &self.l
    }

    /// Replace the recurrent weights (row-major N × N) and recompute L r.
    ///
    /// # Panics
    /// If `l.len() != N²`.
    pub fn set_weights(&mut self, l: &[f64]) {
        assert_eq!(l.len(), self.n * self.n, "weights must be N x N");
        self.l.copy_from_slice(l);
        self.refresh();
    }

    /// Read-out weights, `d[i * K + k]`.
    pub fn readout(&self) -> &[f64] {
        &self.d
    }

    /// Feedback weights q, `q[i * K + k]`.
    pub fn feedback(&self) -> &[f64] {
        &self.q
    }

    /// Current read-outs ŝ_k = Σᵢ d_ik rᵢ.
    pub fn s_hat(&self) -> Vec<f64> {
        (0..self.k)
            .map(|kk| {
                (0..self.n)
                    .map(|i| self.d[i * self.k + kk] * self.r[i])
                    .sum()
            })
            .collect()
    }

    /// The rule's one-step error map at the current state: the K × K matrix
    /// M (row-major) with e ← (I − M) e for one update of L at fixed
    /// activity, M_kl = 2η_N Σᵢ d_ik f′ᵢ q_il Σ_{j≠i} m_ij r_j² (m: the
    /// plastic-synapse and connectivity masks; FEVER keeps j = i).
    ///
    /// Exact for the analytic error without update noise: e_k is linear in
    /// L, and ΔL_ij = 2η_N f′ᵢ r_j Σ_l q_il e_l m_ij changes it by −(M e)_k.
    pub fn rule_matrix(&self) -> Vec<f64> {
        let (n, k) = (self.n, self.k);
        let eta2 = 2.0 * self.p.effective_eta();
        let r2: Vec<f64> = self.r.iter().map(|r| r * r).collect();
        let total: f64 = r2.iter().sum();
        let mut m = vec![0.0; k * k];
        for i in 0..n {
            let fp = self.fprime(self.a[i]);
            if fp == 0.0 {
                continue;
            }
            let mut w = match &self.update_mask {
                Some(mask) => mask[i * n..(i + 1) * n]
                    .iter()
                    .zip(&r2)
                    .map(|(m, r)| m * r)
                    .sum(),
                None => total,
            };
            if !self.p.fever {
                w -= self
                    .update_mask
                    .as_ref()
                    .map_or(1.0, |mask| mask[i * n + i])
                    * r2[i];
            }
            let g = eta2 * fp * w;
            for x in 0..k {
                for y in 0..k {
                    m[x * k + y] += g * self.d[i * k + x] * self.q[i * k + y];
                }
            }
        }
        m
    }

    /// The rule gain κ: the spectral radius of [`Self::rule_matrix`], the
    /// factor by which one update shrinks the read-out error along its
    /// slowest-settling direction (κ ≈ 0.49 for one read-out at N = 100 with the
    /// paper's parameters). A discrete gradient step overshoots when κ > 2: the error
    /// then changes sign and grows every step until the activity has moved
    /// (with d = q, M is symmetric positive semi-definite and κ < 2 is also
    /// sufficient for the error to shrink).
    ///
    /// d, q ≥ 0 make M entrywise non-negative, so κ is its Perron root,
    /// found by power iteration between the Collatz–Wielandt bounds.
    pub fn rule_gain(&self) -> f64 {
        perron_root(&self.rule_matrix(), self.k)
    }

    /// f′(aᵢ) as used by the rule (the FEVER artefact masks it by 1[a > 0]).
    fn fprime(&self, a: f64) -> f64 {
        let relu_like = match self.p.activation_used() {
            Activation::Relu => true,
            Activation::Linear => self.p.fever && self.p.fever_masked_error,
        };
        if relu_like {
            f64::from(u8::from(a > 0.0))
        } else {
            1.0
        }
    }

    /// e_k = Σᵢ d_ik f′(aᵢ)(−aᵢ + lrᵢ): τ dŝ_k/dt at activity a with L r = `lr`.
    fn readout_error(&self, lr: &[f64], e: &mut [f64]) {
        e.fill(0.0);
        for (i, (&ai, &lri)) in self.a.iter().zip(lr).enumerate() {
            let fp = self.fprime(ai);
            if fp == 0.0 {
                continue;
            }
            let g = fp * (lri - ai);
            for (kk, ek) in e.iter_mut().enumerate() {
                *ek += self.d[i * self.k + kk] * g;
            }
        }
    }

    /// Simulate `duration_ms`, with plasticity on or off for this session,
    /// recording ŝ every `record_every_ms` (samples at 0, Δ, …, < duration).
    /// Every random draw (noise) comes from `rng`.
    pub fn run(&mut self, duration_ms: f64, plastic: bool, rng: &mut ChaCha8Rng) -> Trace {
        let p = self.p.clone();
        let steps = (duration_ms / p.dt_ms).round() as usize;
        let every = ((p.record_every_ms / p.dt_ms).round() as usize).max(1);
        let delay = (p.feedback_delay_ms / p.dt_ms).round() as usize;
        let h = p.dt_ms / p.tau_ms;
        let eta = p.effective_eta();
        let (n, k) = (self.n, self.k);
        let mut trace = Trace {
            record_every_ms: every as f64 * p.dt_ms,
            s_hat: vec![Vec::with_capacity(steps / every + 1); k],
            rates: Vec::new(),
            units: self.units.clone(),
        };
        // Ring buffer of errors computed before each step's activity update.
        let mut buffer = vec![0.0; if plastic { delay * k } else { 0 }];
        let mut e = vec![0.0; k];
        let mut e_pre = vec![0.0; k];
        let act = p.activation_used();
        let noise_sd = p.synaptic_noise_sd;
        // The noise-free, unmasked update is deferred and fused with the next
        // step's mat-vec (one pass over L per step, kernels::update_and_matvec);
        // L r after the change is then known in closed form.
        let fused = self.update_mask.is_none()
            && noise_sd == 0.0
            && !(p.update_noise > 0.0 && p.update_noise_kind == UpdateNoise::Independent);
        let mut pending = false;
        // In the fused path the units with r ≠ 0 are kept in a leading block
        // of the internal order (`order[i]` is the unit at position i, `pos`
        // its inverse), so each pass covers only the block's columns: silent
        // units neither receive a change in their column nor contribute to
        // L r. Units enter and leave the block as they cross threshold (rare);
        // the original order is restored at the end of the session.
        let mut order: Vec<usize> = (0..n).collect();
        let mut pos = order.clone();
        let mut n_active = n;
        if fused {
            n_active = 0;
            self.admit_active(&mut n_active, &mut order, &mut pos);
        }
        for t in 0..steps {
            if t % every == 0 {
                for (kk, s) in self.s_hat().into_iter().enumerate() {
                    trace.s_hat[kk].push(s);
                }
                if !self.units.is_empty() {
                    trace
                        .rates
                        .push(self.units.iter().map(|&u| self.r[pos[u]]).collect());
                }
            }
            if plastic && delay > 0 {
                let v = std::mem::take(&mut self.v);
                self.readout_error(&v, &mut e_pre);
                self.v = v;
            }
            if pending {
                std::mem::swap(&mut self.r, &mut self.r_prev);
            }
            // Activity: a ← (1 − h) a + h L r (old r, old L).
            for ((a, r), v) in self.a.iter_mut().zip(&mut self.r).zip(&self.v) {
                *a = (1.0 - h) * *a + h * v;
                *r = match act {
                    Activation::Relu => a.max(0.0),
                    Activation::Linear => *a,
                };
            }
            if fused {
                self.admit_active(&mut n_active, &mut order, &mut pos);
            }
            // The pass covers the leading block rounded up to whole SIMD
            // chunks (the extra columns have r = 0 and change nothing).
            let m = n_active.div_ceil(16).saturating_mul(16).min(n);
            if pending {
                self.apply_pending_and_matvec(m);
                pending = false;
            } else {
                matvec(&self.l, n, &self.r[..m], &mut self.y);
            }
            if fused {
                self.evict_silent(&mut n_active, &mut order, &mut pos);
            }
            let mut any_update = false;
            if plastic {
                if delay > 0 {
                    let slot = (t % delay) * k;
                    if t < delay {
                        e.fill(p.pre_feedback_error);
                    } else {
                        e.copy_from_slice(&buffer[slot..slot + k]);
                    }
                    buffer[slot..slot + k].copy_from_slice(&e_pre);
                } else {
                    let y = std::mem::take(&mut self.y);
                    self.readout_error(&y, &mut e);
                    self.y = y;
                }
                if p.error == ErrorSignal::Binary {
                    for ek in &mut e {
                        *ek = if *ek > 0.0 {
                            1.0
                        } else if *ek < 0.0 {
                            -1.0
                        } else {
                            0.0
                        };
                    }
                }
                let mut factor = 2.0 * eta;
                if p.update_noise > 0.0 && p.update_noise_kind == UpdateNoise::Shared {
                    factor *= 1.0 + p.update_noise * rng.sample::<f64, _>(StandardNormal);
                }
                for i in 0..n {
                    let fp = self.fprime(self.a[i]);
                    let g: f64 = (0..k).map(|kk| self.q[i * k + kk] * e[kk]).sum();
                    self.c[i] = factor * fp * g;
                    any_update |= self.c[i] != 0.0;
                }
            }
            if noise_sd > 0.0
                || (any_update
                    && p.update_noise > 0.0
                    && p.update_noise_kind == UpdateNoise::Independent)
            {
                self.update_rows_noisy(any_update, rng);
            } else if any_update && fused {
                self.defer_update();
                pending = true;
            } else if any_update {
                self.update_rows();
            } else {
                std::mem::swap(&mut self.v, &mut self.y);
            }
        }
        if pending {
            self.update_rows();
        }
        for i in 0..n {
            while order[i] != i {
                let j = pos[i];
                self.swap_units(i, j);
                order.swap(i, j);
                pos[order[i]] = i;
                pos[order[j]] = j;
            }
        }
        trace
    }

    /// Defer the unmasked update L ← L − c rᵀ to the next step's fused pass
    /// and set v = L r after it in closed form: vᵢ = yᵢ − cᵢ (‖r‖² − rᵢ²)
    /// (the diagonal stays zero; FEVER keeps its diagonal, so ‖r‖²).
    fn defer_update(&mut self) {
        let rr: f64 = self.r.iter().map(|x| x * x).sum();
        let fever = self.p.fever;
        for (((v, &y), &c), &r) in self.v.iter_mut().zip(&self.y).zip(&self.c).zip(&self.r) {
            let own = if fever { 0.0 } else { r * r };
            *v = y - c * (rr - own);
        }
    }

    /// Apply the deferred change L ← L − c r_prevᵀ and compute y = L r in
    /// one pass over L, covering the leading `m` columns (every unit with a
    /// non-zero rate, now or at the previous step, lies among them).
    fn apply_pending_and_matvec(&mut self, m: usize) {
        let n = self.n;
        let update = RankOneUpdate {
            c: &self.c,
            p: &self.r_prev[..m],
            zero_diag: !self.p.fever,
        };
        let x = &self.r[..m];
        if n >= PARALLEL_ROWS {
            const BLOCK: usize = 16;
            self.l
                .par_chunks_mut(n * BLOCK)
                .zip(self.y.par_chunks_mut(BLOCK))
                .enumerate()
                .for_each(|(b, (rows, yb))| update_and_matvec(rows, n, b * BLOCK, &update, x, yb));
        } else {
            update_and_matvec(&mut self.l, n, 0, &update, x, &mut self.y);
        }
    }

    /// Exchange the internal positions of units i and j: rows and columns
    /// of L and every per-unit vector.
    fn swap_units(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        let (n, k) = (self.n, self.k);
        for row in self.l.chunks_exact_mut(n) {
            row.swap(i, j);
        }
        let (lo, hi) = (i.min(j), i.max(j));
        let (head, tail) = self.l.split_at_mut(hi * n);
        head[lo * n..(lo + 1) * n].swap_with_slice(&mut tail[..n]);
        for v in [
            &mut self.a,
            &mut self.r,
            &mut self.r_prev,
            &mut self.v,
            &mut self.y,
            &mut self.c,
        ] {
            v.swap(i, j);
        }
        for w in [&mut self.d, &mut self.q] {
            for kk in 0..k {
                w.swap(i * k + kk, j * k + kk);
            }
        }
    }

    /// Move every unit outside the leading block whose rate is non-zero
    /// into it.
    fn admit_active(&mut self, n_active: &mut usize, order: &mut [usize], pos: &mut [usize]) {
        for i in *n_active..self.n {
            if self.r[i] != 0.0 {
                let j = *n_active;
                self.swap_units(i, j);
                order.swap(i, j);
                pos[order[i]] = i;
                pos[order[j]] = j;
                *n_active += 1;
            }
        }
    }

    /// Move every unit of the leading block whose rate is zero out of it.
    fn evict_silent(&mut self, n_active: &mut usize, order: &mut [usize], pos: &mut [usize]) {
        for i in (0..*n_active).rev() {
            if self.r[i] == 0.0 {
                let j = *n_active - 1;
                self.swap_units(i, j);
                order.swap(i, j);
                pos[order[i]] = i;
                pos[order[j]] = j;
                *n_active -= 1;
            }
        }
    }

    /// Apply L ← L − W ⊙ (c rᵀ), keep the diagonal at zero and set v = L r
    /// (rows without an update keep v = y). Deterministic and noise-free.
    fn update_rows(&mut self) {
        let n = self.n;
        let fever = self.p.fever;
        let (r, c, y) = (&self.r, &self.c, &self.y);
        let mask = self.update_mask.as_deref();
        let row_op = |(i, (row, v)): (usize, (&mut [f64], &mut f64))| {
            let ci = c[i];
            if ci == 0.0 {
                *v = y[i];
                return;
            }
            match mask {
                None => sub_scaled(row, ci, r),
                Some(m) => sub_scaled_masked(row, ci, &m[i * n..(i + 1) * n], r),
            }
            if !fever {
                row[i] = 0.0;
            }
            *v = dot(row, r);
        };
        if n >= PARALLEL_ROWS {
            self.l
                .par_chunks_mut(n)
                .zip(self.v.par_iter_mut())
                .enumerate()
                .for_each(row_op);
        } else {
            self.l
                .chunks_mut(n)
                .zip(self.v.iter_mut())
                .enumerate()
                .for_each(row_op);
        }
    }

    /// The update with synaptic noise (sequential: the noise is drawn in row order).
    fn update_rows_noisy(&mut self, plastic: bool, rng: &mut ChaCha8Rng) {
        let n = self.n;
        let p = &self.p;
        let alpha = if p.update_noise_kind == UpdateNoise::Independent {
            p.update_noise
        } else {
            0.0
        };
        let sd = p.synaptic_noise_sd;
        let shared = if sd > 0.0 && p.synaptic_noise_kind == SynapticNoise::Shared {
            sd * rng.sample::<f64, _>(StandardNormal)
        } else {
            0.0
        };
        for i in 0..n {
            let row = &mut self.l[i * n..(i + 1) * n];
            let ci = if plastic { self.c[i] } else { 0.0 };
            for j in 0..n {
                let w = self.update_mask.as_ref().map_or(1.0, |m| m[i * n + j]);
                let mut delta = ci * w * self.r[j];
                if alpha > 0.0 && delta != 0.0 {
                    delta *= 1.0 + alpha * rng.sample::<f64, _>(StandardNormal);
                }
                row[j] -= delta;
                if sd > 0.0 {
                    let exists = self.conn.as_ref().map_or(1.0, |m| m[i * n + j]);
                    let xi = match p.synaptic_noise_kind {
                        SynapticNoise::Independent => sd * rng.sample::<f64, _>(StandardNormal),
                        SynapticNoise::Shared => shared,
                    };
                    row[j] += exists * xi;
                }
            }
            if !p.fever {
                row[i] = 0.0;
            }
            self.v[i] = dot(row, &self.r);
        }
    }
}

/// y = L x over the leading `x.len()` columns of the row-major matrix `l`
/// with rows of `stride` entries (rows over rayon's threads for
/// `stride` ≥ [`PARALLEL_ROWS`]).
fn matvec(l: &[f64], stride: usize, x: &[f64], y: &mut [f64]) {
    let m = x.len();
    if stride >= PARALLEL_ROWS {
        y.par_iter_mut()
            .zip(l.par_chunks(stride))
            .for_each(|(yi, row)| *yi = dot(&row[..m], x));
    } else {
        for (yi, row) in y.iter_mut().zip(l.chunks_exact(stride)) {
            *yi = dot(&row[..m], x);
        }
    }
}

/// Perron root of a non-negative `k` × `k` matrix (row-major): power
/// iteration from the all-ones vector until the Collatz–Wielandt bounds
/// min (Mx)ᵢ/xᵢ ≤ ρ ≤ max (Mx)ᵢ/xᵢ agree to 1e-12 (relative), or 10,000
/// iterations (then the upper bound).
fn perron_root(m: &[f64], k: usize) -> f64 {
    let mut x = vec![1.0; k];
    let mut y = vec![0.0; k];
    let mut upper = f64::INFINITY;
    for _ in 0..10_000 {
        for (i, yi) in y.iter_mut().enumerate() {
            *yi = (0..k).map(|j| m[i * k + j] * x[j]).sum();
        }
        let ratios = y.iter().zip(&x).map(|(a, b)| a / b);
        let (lo, hi) = ratios.fold((f64::INFINITY, 0.0_f64), |(lo, hi), q| {
            (lo.min(q), hi.max(q))
        });
        upper = hi;
        if hi - lo <= 1e-12 * hi || hi == 0.0 {
            return hi;
        }
        let norm = y.iter().cloned().fold(0.0_f64, f64::max);
        // A zero component would stall the bounds; keep x positive.
        for (xi, yi) in x.iter_mut().zip(&y) {
            *xi = (yi / norm).max(1e-300);
        }
    }
    upper
}

/// Largest network [`RateParams::validate`] accepts (the weights are dense
/// N × N; the paper's largest network has 10,000 units).
pub const MAX_UNITS: usize = 20_000;

/// Largest feedback delay, in steps, kept in the error ring buffer.
const MAX_STEPS_BUFFERED: f64 = 1e7;

/// Largest number of ŝ samples one session records (all read-outs together).
const MAX_RECORDED_SAMPLES: f64 = 1e9;

/// Check that a session of `duration_ms` is finite, positive and small
/// enough to simulate and record: at most 2³¹ − 1 steps of `dt_ms`, and at
/// most 10⁹ recorded ŝ samples over the read-outs.
pub fn check_duration(params: &RateParams, duration_ms: f64) -> Result<(), ParamError> {
    let steps = duration_ms / params.dt_ms;
    let every = (params.record_every_ms / params.dt_ms).round().max(1.0);
    ParamError::check(
        "duration_ms",
        duration_ms,
        "> 0, at most 2^31 - 1 steps of dt_ms and 1e9 recorded samples",
        duration_ms > 0.0
            && steps <= f64::from(i32::MAX)
            && steps / every * params.n_readouts as f64 <= MAX_RECORDED_SAMPLES,
    )
}

/// Draw a network from `seed` and run one session of `duration_ms` with
/// plasticity as `params.plastic` says; the one-call form of the paper's runs.
///
/// # Errors
/// Invalid `params` ([`RateParams::validate`]) or `duration_ms`
/// ([`check_duration`]).
pub fn simulate(params: &RateParams, seed: u64, duration_ms: f64) -> Result<Trace, ParamError> {
    use rand::SeedableRng;
    params.validate()?;
    check_duration(params, duration_ms)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net = RateNetwork::new(params, &mut rng)?;
    Ok(net.run(duration_ms, params.plastic, &mut rng))
}

/// Pre-train on `sessions` stimuli, then test on a new one (Fig. 6, A2).
///
/// The network (a(0), d, q, L, masks) is drawn once from `seed`; each of the
/// `sessions` plastic sessions of `session_ms` starts from a new a(0) and
/// carries L over. The test starts from one more new a(0) and is run twice
/// from the same pre-trained state: with plasticity on, then frozen.
/// Returns (plastic test, frozen test).
pub fn pretrain_then_test(
    params: &RateParams,
    seed: u64,
    sessions: usize,
    session_ms: f64,
    test_ms: f64,
) -> Result<(Trace, Trace), ParamError> {
    use rand::SeedableRng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut net = RateNetwork::new(params, &mut rng)?;
    for s in 0..sessions {
        if s > 0 {
            net.reset_activity(&mut rng);
        }
        net.run(session_ms, true, &mut rng);
    }
    net.reset_activity(&mut rng);
    let mut frozen = net.clone();
    let mut rng_frozen = rng.clone();
    let plastic = net.run(test_ms, true, &mut rng);
    let frozen = frozen.run(test_ms, false, &mut rng_frozen);
    Ok((plastic, frozen))
}
