//! The simplified banded model of Orhan & Ma 2019, Supplementary Fig. 7.
//!
//! A ReLU network with no inputs or biases whose recurrent matrix is the mean
//! weight profile alone: self-weight 1 on the diagonal and, in the sequential
//! case, a band `W[i][i−1]` = 0.09 (forward) and `W[i−1][i]` = 0.01 (backward);
//! in the persistent case no band. Every unit receives a unit pulse at
//! t = 0. Here `W[i][j]` is the weight onto unit i from unit j (column-vector
//! convention, `h_t = relu(W h_{t−1})`), as the supplement writes it.

use serde::{Deserialize, Serialize};

/// Parameters of the banded model (defaults: the supplement's sequential case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BandedModel {
    /// Number of recurrent units (500).
    pub n_units: usize,
    /// Diagonal (self-recurrence) weight (1).
    pub self_weight: f64,
    /// Weight onto unit i from unit i−1 (0.09; 0 gives the persistent case).
    pub forward: f64,
    /// Weight onto unit i−1 from unit i (0.01; 0 gives the persistent case).
    pub backward: f64,
    /// Time steps simulated after the pulse (150, the task's trial length).
    pub n_steps: usize,
}

impl Default for BandedModel {
    fn default() -> Self {
        Self {
            n_units: 500,
            self_weight: 1.0,
            forward: 0.09,
            backward: 0.01,
            n_steps: 150,
        }
    }
}

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

    /// The persistent comparison: the same model with no off-diagonal band.
    pub fn persistent(&self) -> Self {
        Self {
            forward: 0.0,
            backward: 0.0,
            ..self.clone()
        }
    }

    /// Simulate: `h_0` = 1 for every unit (the unit pulse), then
    /// `h_t = relu(W h_{t−1})`. Returns activity `[n_steps][n_units]`, row t = h_t.
    pub fn simulate(&self) -> Vec<Vec<f64>> {
        let n = self.n_units;
        let mut out = Vec::with_capacity(self.n_steps);
        let mut h = vec![1.0; n];
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
        let mut h = vec![1.0; n];
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
        let fast = m.simulate();
        let slow = dense(&m);
        for (a, b) in fast.iter().flatten().zip(slow.iter().flatten()) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0));
        }
    }

    #[test]
    fn persistent_case_holds_the_pulse_exactly() {
        let m = BandedModel {
            n_units: 10,
            n_steps: 20,
            ..Default::default()
        }
        .persistent();
        assert!(m.simulate().iter().flatten().all(|&v| v == 1.0));
    }

    #[test]
    fn interior_units_grow_by_the_row_sum_until_the_edge_arrives() {
        // Before the boundary's influence reaches unit i (t < i), it sees a
        // uniform neighbourhood, so h_t = (1 + 0.09 + 0.01)^t exactly.
        let m = BandedModel {
            n_units: 60,
            n_steps: 20,
            ..Default::default()
        };
        let h = m.simulate();
        for (t, row) in h.iter().enumerate() {
            let expect = 1.1_f64.powi(t as i32);
            assert!((row[30] - expect).abs() < 1e-9 * expect);
        }
    }
}
