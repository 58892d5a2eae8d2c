//! GDE — `GatedDelayedEstimationTask` of the original `generators.py`
//! (github.com/eminorhan/recurrent-memory).

use rand::Rng;
use std::f64::consts::PI;

use super::delayed_estimation::stimulus_rates;
use super::encoding::{N_PER_LOCATION, Population, TrialWriter};
use super::observer::de_estimate;
use super::{DynamicSpec, Generator, KAPPA, Readout, TrialLayout};
use crate::{TaskRng, TrialInfo};

/// Multiple of the spontaneous response rate at which the cued location fires.
const CUE_FACTOR: f64 = 5.0;

/// Two orientations `s₁, s₂ ~ U[0, π)` (rad) shown together; in the response
/// epoch the cued location (C = 0: neurons 0–49, C = 1: 50–99) fires at 5× the
/// spontaneous rate, and the cued orientation is the target.
#[derive(Debug)]
pub(crate) struct GatedDelayedEstimation {
    legacy_alias: bool,
    pop: Population,
}

impl GatedDelayedEstimation {
    pub(crate) fn new(legacy_alias: bool) -> Self {
        Self {
            legacy_alias,
            pop: Population::orientation(KAPPA),
        }
    }
}

impl Generator for GatedDelayedEstimation {
    fn name(&self) -> &'static str {
        "GDE"
    }
    fn n_inputs(&self) -> usize {
        2 * N_PER_LOCATION
    }
    fn readout(&self) -> Readout {
        Readout::estimation(1)
    }
    fn dynamic(&self) -> Option<DynamicSpec> {
        Some(DynamicSpec::over(&self.pop, (0.0, PI), 1.0))
    }

    fn trial(&self, rng: &mut TaskRng, layout: &TrialLayout, w: &mut TrialWriter<'_>) -> TrialInfo {
        let mut stimuli: Vec<f64> = (0..2).map(|_| rng.random::<f64>() * PI).collect();
        let cue = usize::from(rng.random::<bool>());
        if self.legacy_alias && cue == 1 {
            // The paper-era generator wrote the cued value through a view of
            // the stimulus array: location 1 shows location 2's orientation.
            stimuli[0] = stimuli[1];
        }
        let rates = stimulus_rates(&self.pop, &stimuli, layout.gain, layout.stimulus.len());
        let counts = w.poisson_epoch(rng, layout.stimulus.clone(), 0, &rates);
        w.spontaneous(
            rng,
            layout.delay.clone(),
            0,
            2 * N_PER_LOCATION,
            layout.delay_rate,
        );
        let mut response = vec![layout.response_rate; 2 * N_PER_LOCATION];
        for r in &mut response[cue * N_PER_LOCATION..(cue + 1) * N_PER_LOCATION] {
            *r *= CUE_FACTOR;
        }
        w.poisson_epoch(rng, layout.response.clone(), 0, &response);
        let cued = &counts[cue * N_PER_LOCATION..(cue + 1) * N_PER_LOCATION];
        let target = stimuli[cue];
        w.fill_target(layout.n_steps, 0, target as f32);
        TrialInfo {
            stimuli,
            condition: Some(cue as u8),
            ideal: vec![de_estimate(cued, &self.pop.centres)],
            ..TrialInfo::default()
        }
    }
}
