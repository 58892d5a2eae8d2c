//! DE-1 / DE-2 — `DelayedEstimationTask` of the original `generators.py`
//! (github.com/eminorhan/recurrent-memory).

use rand::Rng;
use std::f64::consts::PI;

use super::encoding::{N_PER_LOCATION, Population, TrialWriter};
use super::observer::de_estimate;
use super::{DynamicSpec, Generator, KAPPA, Readout, TrialLayout};
use crate::{TaskRng, TrialInfo};

/// Orientations `s_ℓ ~ U[0, π)` (rad) at `n_loc` locations, to be reported
/// after the delay on output ℓ.
#[derive(Debug)]
pub(crate) struct DelayedEstimation {
    n_loc: usize,
    pop: Population,
}

impl DelayedEstimation {
    pub(crate) fn new(n_loc: usize) -> Self {
        Self {
            n_loc,
            pop: Population::orientation(KAPPA),
        }
    }
}

/// Von Mises stimulus-epoch rates of several locations, concatenated.
pub(crate) fn stimulus_rates(
    pop: &Population,
    stimuli: &[f64],
    gain: f64,
    steps: usize,
) -> Vec<f64> {
    stimuli
        .iter()
        .flat_map(|&s| pop.rates(s, gain, steps))
        .collect()
}

impl Generator for DelayedEstimation {
    fn name(&self) -> &'static str {
        if self.n_loc == 1 { "DE-1" } else { "DE-2" }
    }
    fn n_inputs(&self) -> usize {
        N_PER_LOCATION * self.n_loc
    }
    fn readout(&self) -> Readout {
        Readout::estimation(self.n_loc)
    }
    fn dynamic(&self) -> Option<DynamicSpec> {
        Some(DynamicSpec::over(&self.pop, (0.0, PI), 1.0))
    }

    fn trial(&self, rng: &mut TaskRng, layout: &TrialLayout, w: &mut TrialWriter<'_>) -> TrialInfo {
        let stimuli: Vec<f64> = (0..self.n_loc).map(|_| rng.random::<f64>() * PI).collect();
        let rates = stimulus_rates(&self.pop, &stimuli, layout.gain, layout.stimulus.len());
        let counts = w.poisson_epoch(rng, layout.stimulus.clone(), 0, &rates);
        let n_in = self.n_inputs();
        w.spontaneous(rng, layout.delay.clone(), 0, n_in, layout.delay_rate);
        w.spontaneous(rng, layout.response.clone(), 0, n_in, layout.response_rate);
        let ideal = counts
            .chunks(N_PER_LOCATION)
            .map(|r| de_estimate(r, &self.pop.centres))
            .collect();
        for (o, &s) in stimuli.iter().enumerate() {
            w.fill_target(layout.n_steps, o, s as f32);
        }
        TrialInfo {
            stimuli,
            ideal,
            ..TrialInfo::default()
        }
    }
}
