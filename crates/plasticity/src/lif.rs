//! The spiking version (Fig. A4): leaky integrate-and-fire E and I cells with
//! Dale's law (all weights ≥ 0, the sign set by the presynaptic type) and the
//! plastic E→E rule driven by the read-out's change (the paper's Appendix,
//! Eqs. 6–7 and Fig. A4; the original code is `NN_LIF.py` in
//! github.com/cfederer/SOMN).
//!
//! Time is in units of τ = `tau_ms` (20 ms); one step is `dt` τ (0.01 τ =
//! 0.2 ms). Each presynaptic cell j has a doubly filtered spike trace
//! (x_j, m_j): x ← x + dt(−x + S), m ← m + dt(−m + x), with S the previous
//! step's spikes. Inputs (mV): E cell i gets
//! g_E (Σ_j L_EE[i←j] m_j^E − Σ_k L_EI[i←k] m_k^I), I cell l gets
//! g_I (Σ_j L_IE[l←j] m_j^E − Σ_k L_II[l←k] m_k^I); the code's row-sum
//! factors g_E = N_E, g_I = N_I are explicit gains here. Voltages follow
//! v ← v + dt/τ_{E,I} ((V_rest − v) + I + |ξ|) with |ξ| half-normal noise,
//! spike at v ≥ V_thr, reset to V_reset after the step is recorded. The
//! voltage update is `wm_spiking`'s [`LifPopulation`] (one population per
//! cell type, no refractory period, the noise and V_rest carried in its
//! current), so both studies' networks share one integrate-and-fire step.
//!
//! The read-out ŝ follows ŝ ← ŝ + Δŝ, Δŝ = dt(−ŝ + dᵀS_E), and the rule is
//! L_EE[i←j] ← max(0, L_EE[i←j] − 2η Δŝ dᵢ r_j) with the smoothed rate
//! r ← r + dt(−r + S_E): the paper's orientation (post i, pre j). The code's
//! transposed variant, ΔL_EE[i←j] ∝ d_j r_j (presynaptic only), is
//! [`LifRule::Transposed`].

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use wm_spiking::{LifPopulation, NoiseRng};

use crate::ParamError;

/// Orientation of the plastic E→E rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LifRule {
    /// ΔL[i←j] = −2η Δŝ dᵢ r_j (the paper).
    #[default]
    Paper,
    /// ΔL[i←j] = −2η Δŝ d_j r_j, the same change to all of j's targets (the code).
    Transposed,
}

/// Parameters of the LIF network (defaults: the constants of `NN_LIF.py` in
/// github.com/cfederer/SOMN).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifParams {
    /// Excitatory cells N_E (100).
    pub n_e: usize,
    /// Inhibitory cells N_I (20).
    pub n_i: usize,
    /// Membrane/synaptic time unit τ in ms (20).
    pub tau_ms: f64,
    /// Euler step in units of τ (0.01 = 0.2 ms).
    pub dt: f64,
    /// Membrane time constant of E cells, in τ (1).
    pub tau_e: f64,
    /// Membrane time constant of I cells, in τ (0.5).
    pub tau_i: f64,
    /// Threshold, mV (−50).
    pub v_thr_mv: f64,
    /// Resting potential, mV (−70).
    pub v_rest_mv: f64,
    /// Reset potential, mV (−60).
    pub v_reset_mv: f64,
    /// Weight gains g_EE, g_EI, g_IE, g_II (all 1).
    pub g_ee: f64,
    /// g_EI (I→E).
    pub g_ei: f64,
    /// g_IE (E→I).
    pub g_ie: f64,
    /// g_II.
    pub g_ii: f64,
    /// Input gain of E cells (the code's row-count factor, N_E); `None` = N_E.
    pub input_gain_e: Option<f64>,
    /// Input gain of I cells (N_I); `None` = N_I.
    pub input_gain_i: Option<f64>,
    /// Learning rate η (code: 1000, unstable with the paper's rule; report what is used).
    pub eta: f64,
    /// Orientation of the rule.
    pub rule: LifRule,
    /// Apply the rule.
    pub plastic: bool,
    /// Read-out sampling interval, in steps (5 = 1 ms).
    pub record_every_steps: usize,
}

impl Default for LifParams {
    fn default() -> Self {
        Self {
            n_e: 100,
            n_i: 20,
            tau_ms: 20.0,
            dt: 0.01,
            tau_e: 1.0,
            tau_i: 0.5,
            v_thr_mv: -50.0,
            v_rest_mv: -70.0,
            v_reset_mv: -60.0,
            g_ee: 1.0,
            g_ei: 1.0,
            g_ie: 1.0,
            g_ii: 1.0,
            input_gain_e: None,
            input_gain_i: None,
            eta: 1000.0,
            rule: LifRule::Paper,
            plastic: true,
            record_every_steps: 5,
        }
    }
}

impl LifParams {
    /// Check ranges; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<(), ParamError> {
        ParamError::check("n_e", self.n_e as f64, ">= 2", self.n_e >= 2)?;
        ParamError::check("n_i", self.n_i as f64, ">= 1", self.n_i >= 1)?;
        ParamError::check("tau_ms", self.tau_ms, "> 0", self.tau_ms > 0.0)?;
        ParamError::check("dt", self.dt, "(0, 0.5]", self.dt > 0.0 && self.dt <= 0.5)?;
        ParamError::check("tau_e", self.tau_e, "> 0", self.tau_e > 0.0)?;
        ParamError::check("tau_i", self.tau_i, "> 0", self.tau_i > 0.0)?;
        ParamError::check(
            "v_thr_mv",
            self.v_thr_mv,
            "> v_reset_mv",
            self.v_thr_mv > self.v_reset_mv,
        )?;
        ParamError::check("eta", self.eta, ">= 0", self.eta >= 0.0)?;
        let rec = self.record_every_steps as f64;
        ParamError::check(
            "record_every_steps",
            rec,
            ">= 1",
            self.record_every_steps >= 1,
        )?;
        for (f, g) in [
            ("g_ee", self.g_ee),
            ("g_ei", self.g_ei),
            ("g_ie", self.g_ie),
            ("g_ii", self.g_ii),
        ] {
            ParamError::check(f, g, ">= 0", g >= 0.0)?;
        }
        Ok(())
    }
}

/// What a LIF run recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct LifTrace {
    /// Sampling interval, ms.
    pub record_every_ms: f64,
    /// ŝ at each sample (sample 0 = ŝ(0) = dᵀS_E(0)).
    pub s_hat: Vec<f64>,
    /// E spikes as (time ms, cell) pairs.
    pub spikes_e: Vec<(f64, usize)>,
}

impl LifTrace {
    /// ŝ(t)/ŝ(0).
    pub fn ratio(&self) -> Vec<f64> {
        let s0 = self.s_hat.first().copied().unwrap_or(f64::NAN);
        self.s_hat.iter().map(|s| s / s0).collect()
    }
}

fn relu_normal(rng: &mut ChaCha8Rng, scale: f64) -> f64 {
    rng.sample::<f64, _>(StandardNormal).max(0.0) * scale
}

/// Simulate the LIF network drawn from `seed` for `duration_ms`, recording
/// E spikes during the first `raster_ms` ms.
pub fn simulate_lif(
    p: &LifParams,
    seed: u64,
    duration_ms: f64,
    raster_ms: f64,
) -> Result<LifTrace, ParamError> {
    p.validate()?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (ne, ni) = (p.n_e, p.n_i);
    // 1. Voltages: uniform integers in [V_reset, V_thr + 10).
    let lo = p.v_reset_mv as i64;
    let hi = p.v_thr_mv as i64 + 10;
    let ve: Vec<f64> = (0..ne).map(|_| rng.random_range(lo..hi) as f64).collect();
    let vi: Vec<f64> = (0..ni).map(|_| rng.random_range(lo..hi) as f64).collect();
    // 2. Read-out.
    let d: Vec<f64> = (0..ne)
        .map(|_| rng.sample::<f64, _>(StandardNormal).abs())
        .collect();
    // 3. Weights, all ≥ 0; stored row = post, column = pre.
    let (se, si) = (1.0 / (ne as f64).sqrt(), 1.0 / (ni as f64).sqrt());
    let mut l_ee: Vec<f64> = (0..ne * ne)
        .map(|_| relu_normal(&mut rng, p.g_ee * se))
        .collect();
    let mut l_ii: Vec<f64> = (0..ni * ni)
        .map(|_| relu_normal(&mut rng, p.g_ii * si))
        .collect();
    let mut l_ei: Vec<f64> = (0..ne * ni)
        .map(|_| relu_normal(&mut rng, p.g_ei * se))
        .collect();
    let mut l_ie: Vec<f64> = (0..ni * ne)
        .map(|_| relu_normal(&mut rng, p.g_ie * si))
        .collect();
    for i in 0..ne {
        l_ee[i * ne + i] = 0.0;
    }
    for i in 0..ni {
        l_ii[i * ni + i] = 0.0;
        l_ei[i * ni + i] = 0.0; // (k, k) entries, as the code's fill_diagonal
        l_ie[i * ne + i] = 0.0;
    }
    let ge = p.input_gain_e.unwrap_or(ne as f64);
    let gi = p.input_gain_i.unwrap_or(ni as f64);
    let thr = p.v_thr_mv;
    let mut se_spk: Vec<f64> = ve.iter().map(|&v| f64::from(u8::from(v >= thr))).collect();
    let mut si_spk: Vec<f64> = vi.iter().map(|&v| f64::from(u8::from(v >= thr))).collect();
    let (mut pop_e, mut pop_i) = (population(p, p.tau_e, ve), population(p, p.tau_i, vi));
    // Unused: the populations draw no voltage noise (σ_v = 0); |ξ| enters
    // their current instead, from `rng`.
    let mut no_noise = NoiseRng::new(seed, 0);
    let (mut fired_e, mut fired_i) = (Vec::with_capacity(ne), Vec::with_capacity(ni));
    let (mut cur_e, mut cur_i) = (vec![0.0; ne], vec![0.0; ni]);
    let dt = p.dt;
    let step_ms = dt * p.tau_ms;
    let steps = (duration_ms / step_ms).round() as usize;
    let raster_steps = (raster_ms / step_ms).round() as usize;
    if steps > i32::MAX as usize {
        return Err(ParamError::invalid(
            "duration_ms",
            duration_ms,
            "at most 2³¹ − 1 steps of dt·tau_ms",
        ));
    }
    let mut s_hat: f64 = d.iter().zip(&se_spk).map(|(a, b)| a * b).sum();
    let mut r = se_spk.clone();
    let mut trace = LifTrace {
        record_every_ms: p.record_every_steps as f64 * step_ms,
        s_hat: vec![s_hat],
        spikes_e: Vec::new(),
    };
    for (i, &s) in se_spk.iter().enumerate() {
        if s > 0.0 && raster_steps > 0 {
            trace.spikes_e.push((0.0, i));
        }
    }
    for (v, s) in pop_e
        .v
        .iter_mut()
        .zip(&se_spk)
        .chain(pop_i.v.iter_mut().zip(&si_spk))
    {
        if *s > 0.0 {
            *v = p.v_reset_mv;
        }
    }
    let (mut xe, mut me) = (vec![0.0; ne], vec![0.0; ne]);
    let (mut xi, mut mi) = (vec![0.0; ni], vec![0.0; ni]);
    for t in 1..steps {
        for j in 0..ne {
            xe[j] += dt * (-xe[j] + se_spk[j]);
            me[j] += dt * (-me[j] + xe[j]);
        }
        for j in 0..ni {
            xi[j] += dt * (-xi[j] + si_spk[j]);
            mi[j] += dt * (-mi[j] + xi[j]);
        }
        for i in 0..ne {
            let exc: f64 = l_ee[i * ne..(i + 1) * ne]
                .iter()
                .zip(&me)
                .map(|(w, m)| w * m)
                .sum();
            let inh: f64 = l_ei[i * ni..(i + 1) * ni]
                .iter()
                .zip(&mi)
                .map(|(w, m)| w * m)
                .sum();
            let xi_n: f64 = rng.sample::<f64, _>(StandardNormal).abs();
            cur_e[i] = p.v_rest_mv + ge * (exc - inh) + xi_n;
        }
        for l in 0..ni {
            let exc: f64 = l_ie[l * ne..(l + 1) * ne]
                .iter()
                .zip(&me)
                .map(|(w, m)| w * m)
                .sum();
            let inh: f64 = l_ii[l * ni..(l + 1) * ni]
                .iter()
                .zip(&mi)
                .map(|(w, m)| w * m)
                .sum();
            let xi_n: f64 = rng.sample::<f64, _>(StandardNormal).abs();
            cur_i[l] = p.v_rest_mv + gi * (exc - inh) + xi_n;
        }
        // Integrate, spike at v ≥ V_thr and reset (the populations reset at
        // once; nothing below reads v, so this equals resetting at the end).
        let step = t as i32; // t < steps ≤ i32::MAX, checked above
        pop_e.step(step, &cur_e, &mut no_noise, &mut fired_e);
        pop_i.step(step, &cur_i, &mut no_noise, &mut fired_i);
        flags(&fired_e, &mut se_spk);
        flags(&fired_i, &mut si_spk);
        for (rj, &s) in r.iter_mut().zip(&se_spk) {
            *rj += dt * (-*rj + s);
        }
        let drive: f64 = d.iter().zip(&se_spk).map(|(a, b)| a * b).sum();
        let ds = dt * (-s_hat + drive);
        if p.plastic && ds != 0.0 {
            let c = 2.0 * p.eta * ds;
            for i in 0..ne {
                let row = &mut l_ee[i * ne..(i + 1) * ne];
                for j in 0..ne {
                    let dl = match p.rule {
                        LifRule::Paper => c * d[i] * r[j],
                        LifRule::Transposed => c * d[j] * r[j],
                    };
                    row[j] = (row[j] - dl).max(0.0);
                }
                row[i] = 0.0;
            }
        }
        s_hat += ds;
        if t % p.record_every_steps == 0 {
            trace.s_hat.push(s_hat);
        }
        if t < raster_steps {
            for (i, &s) in se_spk.iter().enumerate() {
                if s > 0.0 {
                    trace.spikes_e.push((t as f64 * step_ms, i));
                }
            }
        }
    }
    Ok(trace)
}

/// A population of LIF cells with membrane time constant `tau` (in τ) and
/// initial voltages `v0` (mV), no refractory period and no own noise.
fn population(p: &LifParams, tau: f64, v0: Vec<f64>) -> LifPopulation<f64> {
    let cell = wm_spiking::LifParams {
        dt_ms: p.dt * p.tau_ms,
        tau_m_ms: tau * p.tau_ms,
        v_threshold_mv: p.v_thr_mv,
        v_reset_mv: p.v_reset_mv,
        refractory_ms: 0.0,
        noise_mv: 0.0,
        ..wm_spiking::LifParams::default()
    };
    let mut pop = LifPopulation::new(v0.len(), &cell);
    pop.v = v0;
    pop
}

/// 0/1 spike flags from the indices of the cells that fired.
fn flags(fired: &[u32], out: &mut [f64]) {
    out.fill(0.0);
    for &i in fired {
        out[i as usize] = 1.0;
    }
}
