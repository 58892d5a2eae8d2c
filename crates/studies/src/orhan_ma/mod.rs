//! Orhan & Ma 2019: "A diverse range of factors affect the nature of neural
//! representations underlying short-term memory" (Nat. Neurosci. 22:275).
//!
//! Vanilla ReLU networks trained on six memory tasks over a grid of initial
//! coupling (λ0, σ0), regularization ρ, conditions and input gain; the
//! sequentiality index, weight profiles and Schur modes of the trained
//! networks, the untrained grid and the banded model.

pub mod aggregate;
pub mod banded;
pub mod compute;
pub mod config;
pub mod figures;
pub mod grid;
pub mod measures;
pub mod network;
pub mod report;
pub mod task_ordering;
pub mod train;
pub mod untrained;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use crate::orhan_ma::compute::Outcome;
use crate::orhan_ma::config::OrhanMaConfig;
use crate::regress::Summary;
use crate::study::{RunContext, Study, StudyConfig, Work};
use crate::sweep::ManifestRow;

/// The Orhan & Ma 2019 reproduction.
pub struct OrhanMa;

impl StudyConfig for OrhanMaConfig {
    fn validate(&self) -> Result<()> {
        OrhanMaConfig::validate(self)
    }

    fn seed(&self) -> u64 {
        self.seed
    }
}

impl Study for OrhanMa {
    const NAME: &'static str = "orhan-ma";
    const TITLE: &'static str =
        "Orhan & Ma 2019, Nat. Neurosci.: sequential vs persistent memory in vanilla ReLU RNNs";
    type Config = OrhanMaConfig;
    type Outcome = Outcome;

    fn work(cfg: &OrhanMaConfig) -> Work {
        compute::work(cfg)
    }

    fn compute(cfg: &OrhanMaConfig, ctx: &RunContext) -> Result<Outcome> {
        compute::compute(cfg, ctx)
    }

    fn statistics(cfg: &OrhanMaConfig, outcome: &Outcome) -> BTreeMap<String, f64> {
        measures::statistics(cfg, outcome)
    }

    fn tables(_cfg: &OrhanMaConfig, outcome: &Outcome, out: &Path) -> Result<()> {
        report::tables(outcome, out)
    }

    fn figures(cfg: &OrhanMaConfig, outcome: &Outcome, out: &Path) -> Result<()> {
        figures::draw(cfg, outcome, out)
    }

    fn report(_cfg: &OrhanMaConfig, outcome: &Outcome, summary: &Summary) -> String {
        report::report(outcome, summary)
    }

    const SWEEPABLE: bool = true;

    fn sweep_points(cfg: &OrhanMaConfig) -> Vec<ManifestRow> {
        grid::expand(cfg)
            .into_iter()
            .map(|s| ManifestRow {
                index: s.index,
                seed: s.seed,
                name: s.dir_name(),
                parameters: format!(
                    "task={};condition={};lambda0={};sigma0={};rho={};input_gain={};replicate={}",
                    s.task,
                    s.condition.name(),
                    s.lambda0,
                    s.sigma0,
                    s.rho,
                    s.input_gain,
                    s.replicate
                ),
            })
            .collect()
    }

    fn run_sweep_point(
        cfg: &OrhanMaConfig,
        index: usize,
        net_dir: &Path,
    ) -> Result<BTreeMap<String, f64>> {
        let spec = grid::expand(cfg)
            .into_iter()
            .nth(index)
            .context("grid point vanished")?;
        let net = train::train_network(&spec, cfg, net_dir, &|_| {})?;
        let r = &net.result;
        Ok(BTreeMap::from([
            ("lambda0".to_string(), r.lambda0),
            ("sigma0".to_string(), r.sigma0),
            ("rho".to_string(), r.rho),
            ("input_gain".to_string(), r.input_gain),
            ("fractional_loss".to_string(), r.fractional_loss),
            ("accuracy".to_string(), r.accuracy),
            ("success".to_string(), f64::from(u8::from(r.success))),
            ("si".to_string(), r.si),
            ("diverged".to_string(), f64::from(u8::from(r.diverged))),
        ]))
    }
}
