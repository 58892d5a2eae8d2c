//! 2AFC — `Harvey2012` of the original `generators.py` (github.com/eminorhan/recurrent-memory).

use rand::Rng;

use super::encoding::{N_PER_LOCATION, Population, TrialWriter};
use super::observer::two_afc_posterior;
use super::{DynamicSpec, Generator, Readout, TrialLayout};
use crate::{TaskRng, TrialInfo};

/// Stimulus position magnitude |S|, in degrees.
pub(crate) const S_ABS: f64 = 15.0;
/// Tuning width σ, in degrees.
pub(crate) const SIGMA: f64 = 15.0;
/// Tuning-centre range, in degrees.
pub(crate) const RANGE: (f64, f64) = (-40.0, 40.0);

/// `C ~ Bernoulli(½)`, stimulus `S = −15°` (C = 0) or `+15°` (C = 1) in the
/// stimulus epoch, Gaussian tuning σ = 15° on centres −40…40°; spontaneous
/// only in the delay and response epochs. Target: C.
#[derive(Debug)]
pub(crate) struct TwoAfc {
    pop: Population,
}

impl TwoAfc {
    pub(crate) fn new() -> Self {
        Self {
            pop: Population::gaussian(RANGE.0, RANGE.1, SIGMA),
        }
    }
}

impl Generator for TwoAfc {
    fn name(&self) -> &'static str {
        "2AFC"
    }
    fn n_inputs(&self) -> usize {
        N_PER_LOCATION
    }
    fn readout(&self) -> Readout {
        Readout::BINARY
    }
    fn dynamic(&self) -> Option<DynamicSpec> {
        Some(DynamicSpec::over(&self.pop, RANGE, 1.0))
    }

    fn trial(&self, rng: &mut TaskRng, layout: &TrialLayout, w: &mut TrialWriter<'_>) -> TrialInfo {
        let c = rng.random::<bool>();
        let s = if c { S_ABS } else { -S_ABS };
        let rates = self.pop.rates(s, layout.gain, layout.stimulus.len());
        let counts = w.poisson_epoch(rng, layout.stimulus.clone(), 0, &rates);
        w.spontaneous(
            rng,
            layout.delay.clone(),
            0,
            N_PER_LOCATION,
            layout.delay_rate,
        );
        w.spontaneous(
            rng,
            layout.response.clone(),
            0,
            N_PER_LOCATION,
            layout.response_rate,
        );
        w.fill_target(layout.n_steps, 0, f32::from(u8::from(c)));
        TrialInfo {
            stimuli: vec![s],
            condition: Some(u8::from(c)),
            ideal: vec![two_afc_posterior(&counts, &self.pop.centres, SIGMA, S_ABS)],
            ..TrialInfo::default()
        }
    }
}
