//! The simplified banded model of Orhan & Ma 2019, Supplementary Fig. 7.
//!
//! A ReLU network with no inputs or biases whose recurrent matrix is a mean
//! weight profile alone: a self-weight on the diagonal and, in the sequential
//! case, a band `W[i][i−1]` = 0.09 (forward) and `W[i−1][i]` = 0.01
//! (backward); in the persistent case no band. Here `W[i][j]` is the weight
//! onto unit i from unit j (column-vector convention, `h_t = relu(W h_{t−1})`),
//! as the supplement writes it.
//!
//! # Why wm's default departs from the supplement's text
//! The text gives a self-weight of 1 and a unit pulse into every unit at
//! t = 0. That model cannot produce a sequence:
//! * with a self-weight of 1 and non-negative band weights, `W ≥ I`
//!   element-wise, so `h_{t+1} = W h_t ≥ h_t` for any `h_t ≥ 0`: every unit's
//!   activity only grows and every unit peaks at the last step (the interior
//!   grows as `1.1^t`);
//! * a uniform pulse is invariant under shifts of the unit index, and a banded
//!   (Toeplitz) matrix commutes with shifts, so away from the two edges the
//!   response stays uniform at every step, whatever the weights.
//!
//! wm's default therefore keeps the supplement's band (0.09 forward, 0.01
//! backward) but (a) sets the self-weight to `1 − 0.09 − 0.01 = 0.9`, so that
//! the band moves activity along the chain instead of adding to it (every
//! row sums to 1), and (b) puts the pulse into the first unit only. Unit i then
//! peaks near step `i / 0.1`: a sequence along the band. The persistent case
//! is exactly the supplement's (no band, self-weight 1, a pulse into every
//! unit): every unit holds its pulse. The model as the text
//! writes it is [`BandedModel::as_written`]; the study simulates it too and
//! reports its peak order beside the default's.

use anyhow::ensure;
use serde::{Deserialize, Serialize};
use wm_analysis::stats::spearman;

/// Which units receive the unit pulse at t = 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pulse {
    /// Every unit (the supplement's text).
    All,
    /// The first unit of the chain only (wm's default; see the module docs).
    First,
}

/// Parameters of the banded model (defaults: wm's sequential case; see the
/// module docs for why they differ from the supplement's text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BandedModel {
    /// Number of recurrent units (500).
    pub n_units: usize,
    /// Diagonal (self-recurrence) weight (0.9 = 1 − forward − backward; the
    /// supplement's text gives 1).
    pub self_weight: f64,
    /// Weight onto unit i from unit i−1 (0.09; 0 gives the persistent case).
    pub forward: f64,
    /// Weight onto unit i−1 from unit i (0.01; 0 gives the persistent case).
    pub backward: f64,
    /// Which units receive the unit pulse at t = 0 (`"first"`; the
    /// supplement's text: `"all"`).
    pub pulse: Pulse,
    /// Time steps simulated after the pulse (150, the task's trial length).
    pub n_steps: usize,
}

impl Default for BandedModel {
    fn default() -> Self {
        Self {
            n_units: 500,
            self_weight: 0.9,
            forward: 0.09,
            backward: 0.01,
            pulse: Pulse::First,
            n_steps: 150,
        }
    }
}

/// Units whose peak is below this fraction of the population's peak are left
/// out of [`peak_order_rho`]: they carry rounding-level activity only.
pub const PEAK_ORDER_MIN_FRACTION: f64 = 0.01;

impl BandedModel {
    /// Check sizes and weights; the error names the field, value and range.
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::limits::{check_count, check_memory, check_value};
        use crate::orhan_ma::config::{MAX_STEPS, MAX_UNITS};
        check_count("n_units", self.n_units, 1, MAX_UNITS)?;
        check_count("n_steps", self.n_steps, 1, MAX_STEPS)?;
        for (field, v) in [
            ("self_weight", self.self_weight),
            ("forward", self.forward),
            ("backward", self.backward),
        ] {
            check_value(field, v, -10.0, 10.0)?;
        }
        check_memory(
            "the banded model's activity",
            8.0 * 2.0 * self.n_units as f64 * self.n_steps as f64,
        )
    }

    /// The model exactly as the supplement's text gives it: self-weight 1,
    /// band 0.09/0.01, a pulse into every unit (it does not make a sequence;
    /// see the module docs).
    pub fn as_written(&self) -> Self {
        Self {
            self_weight: 1.0,
            forward: 0.09,
            backward: 0.01,
            pulse: Pulse::All,
            ..self.clone()
        }
    }

    /// The persistent comparison as the supplement gives it: no off-diagonal
    /// band, a self-weight of 1 and a pulse into every unit.
    pub fn persistent(&self) -> Self {
        Self {
            self_weight: 1.0,
            forward: 0.0,
            backward: 0.0,
            pulse: Pulse::All,
            ..self.clone()
        }
    }

    /// Simulate: `h_0` = the unit pulse, then `h_t = relu(W h_{t−1})`.
    /// Returns activity `[n_steps][n_units]`, row t = h_t.
    pub fn simulate(&self) -> Vec<Vec<f64>> {
        let n = self.n_units;
        let mut out = Vec::with_capacity(self.n_steps);
        let mut h = match self.pulse {
            Pulse::All => vec![1.0; n],
            Pulse::First => {
                let mut h = vec![0.0; n];
                h[0] = 1.0;
                h
            }
        };
        for t in 0..self.n_steps {
            if t > 0 {
                let prev = h.clone();
                for i in 0..n {
                    let mut a = self.self_weight * prev[i];
                    if i > 0 {
                        a += self.forward * prev[i - 1];
                    }
                    if i + 1 < n {
                        a += self.backward * prev[i + 1];
                    }
                    h[i] = a.max(0.0);
                }
            }
            out.push(h.clone());
        }
        out
    }
}

/// Spearman correlation of unit index with peak time (first argmax) over the
/// units whose peak reaches [`PEAK_ORDER_MIN_FRACTION`] of the population's
/// peak, for `[time][unit]` activity. Near 1 when activity travels along the
/// chain unit by unit (a sequence); 0 when no ordering exists because every
/// counted unit peaks at the same step (e.g. all at the last step, or
/// persistent activity that peaks at the pulse).
///
/// # Errors
/// Fewer than 3 counted units, or non-finite activity.
pub fn peak_order_rho(activity: &[Vec<f64>]) -> anyhow::Result<f64> {
    let n_units = activity.first().map_or(0, Vec::len);
    let mut peak = vec![f64::NEG_INFINITY; n_units];
    let mut peak_step = vec![0usize; n_units];
    for (t, row) in activity.iter().enumerate() {
        for (i, &v) in row.iter().enumerate() {
            ensure!(v.is_finite(), "activity of unit {i} at step {t} is {v}");
            if v > peak[i] {
                peak[i] = v;
                peak_step[i] = t;
            }
        }
    }
    let top = peak.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (index, step): (Vec<f64>, Vec<f64>) = (0..n_units)
        .filter(|&i| peak[i] > 0.0 && peak[i] >= PEAK_ORDER_MIN_FRACTION * top)
        .map(|i| (i as f64, peak_step[i] as f64))
        .unzip();
    ensure!(
        index.len() >= 3,
        "only {} units reach {PEAK_ORDER_MIN_FRACTION} of the peak activity; at least 3 are needed for a peak order",
        index.len()
    );
    if step.iter().all(|&s| s == step[0]) {
        return Ok(0.0);
    }
    Ok(spearman(&index, &step)?.r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dense reference: build W explicitly and multiply.
    fn dense(m: &BandedModel) -> Vec<Vec<f64>> {
        let n = m.n_units;
        let mut w = vec![vec![0.0; n]; n];
        for i in 0..n {
            w[i][i] = m.self_weight;
            if i > 0 {
                w[i][i - 1] = m.forward;
                w[i - 1][i] = m.backward;
            }
        }
        let mut h = vec![0.0; n];
        match m.pulse {
            Pulse::All => h.fill(1.0),
            Pulse::First => h[0] = 1.0,
        }
        let mut out = vec![h.clone()];
        for _ in 1..m.n_steps {
            h = (0..n)
                .map(|i| (0..n).map(|j| w[i][j] * h[j]).sum::<f64>().max(0.0))
                .collect();
            out.push(h.clone());
        }
        out
    }

    #[test]
    fn banded_simulation_matches_a_dense_matrix_product() {
        let m = BandedModel {
            n_units: 40,
            n_steps: 30,
            ..Default::default()
        };
        for m in [m.clone(), m.as_written(), m.persistent()] {
            let fast = m.simulate();
            let slow = dense(&m);
            for (a, b) in fast.iter().flatten().zip(slow.iter().flatten()) {
                assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0));
            }
        }
    }

    #[test]
    fn persistent_case_holds_the_pulse_exactly() {
        let m = BandedModel {
            n_units: 10,
            n_steps: 20,
            ..Default::default()
        };
        assert!(
            m.persistent()
                .simulate()
                .iter()
                .flatten()
                .all(|&v| v == 1.0)
        );
        // With the pulse in the first unit only, that unit alone holds it.
        let one = BandedModel {
            pulse: Pulse::First,
            ..m.persistent()
        };
        for row in one.simulate() {
            assert_eq!(row[0], 1.0);
            assert!(row[1..].iter().all(|&v| v == 0.0));
        }
    }

    #[test]
    fn as_written_interior_units_grow_by_the_row_sum_until_the_edge_arrives() {
        // Before the boundary's influence reaches unit i (t < i), it sees a
        // uniform neighbourhood, so h_t = (1 + 0.09 + 0.01)^t exactly.
        let m = BandedModel {
            n_units: 60,
            n_steps: 20,
            ..Default::default()
        }
        .as_written();
        let h = m.simulate();
        for (t, row) in h.iter().enumerate() {
            let expect = 1.1_f64.powi(t as i32);
            assert!((row[30] - expect).abs() < 1e-9 * expect);
        }
    }

    #[test]
    fn forward_chain_is_binomial_and_peaks_in_unit_order() {
        // With no backward weight, unit i sees only units ≤ i, so the pulse
        // into unit 0 spreads as h_t[i] = C(t, i)·f^i·s^(t−i) (a binomial
        // wave); it peaks where h_{t+1}/h_t = (t+1)s/(t+1−i) drops below 1.
        let (f, s) = (0.09, 0.9);
        let m = BandedModel {
            n_units: 12,
            n_steps: 140,
            self_weight: s,
            forward: f,
            backward: 0.0,
            ..Default::default()
        };
        let h = m.simulate();
        let binom = |t: usize, i: usize| -> f64 {
            (0..i).map(|k| (t - k) as f64 / (k + 1) as f64).product()
        };
        for (t, row) in h.iter().enumerate() {
            for (i, &v) in row.iter().enumerate() {
                let expect = if i > t {
                    0.0
                } else {
                    binom(t, i) * f.powi(i as i32) * s.powi((t - i) as i32)
                };
                assert!(
                    (v - expect).abs() <= 1e-12 * expect.max(1e-300),
                    "t {t} unit {i}: {v} vs {expect}"
                );
            }
        }
        for i in 1..12 {
            let peak = (0..h.len())
                .max_by(|&a, &b| h[a][i].total_cmp(&h[b][i]))
                .unwrap();
            // Ratio ≥ 1 ⇔ t + 1 ≤ i / (1 − s): the peak is at i/(1−s) − 1, or
            // one step later or earlier where the ratio is exactly 1 (a tie).
            let expect = i as f64 / (1.0 - s) - 1.0;
            assert!(
                (peak as f64 - expect).abs() <= 1.0,
                "unit {i}: peak {peak}, expected {expect}"
            );
        }
    }

    #[test]
    fn default_model_is_a_sequence_and_the_text_model_is_not() {
        let m = BandedModel::default();
        let rho = peak_order_rho(&m.simulate()).unwrap();
        assert!(rho >= 0.9, "default sequential peak order {rho}");
        // As written, every unit only grows, so all peak at the last step.
        let written = m.as_written().simulate();
        assert_eq!(peak_order_rho(&written).unwrap(), 0.0);
        // Persistent: every unit holds its pulse, so all peak at t = 0.
        assert_eq!(peak_order_rho(&m.persistent().simulate()).unwrap(), 0.0);
    }
}
