//! Xie, Liu, Constantinidis & Zhou 2022 (Front. Syst. Neurosci. 16:760864):
//! leaky softplus RNNs trained on ODR (fixed 3-s or variable delay), ODR
//! with a distractor and four anti-saccade tasks, analysed at three training
//! stages for the neural correlates of working-memory accuracy
//! (Xie et al. 2022; their code: github.com/maiziezhoulab/RNN_workingmemoryaccuracy).
//!
//! Reproduced: the correct-vs-error difference of the normalised delay rate
//! by training stage, with the PSTHs and saccade endpoints (Figs. 2–3); the
//! rate–behaviour correlation and Fano factor of fully trained networks
//! (Fig. 5); the activity heat map (Fig. 4) and the recurrent weights sorted
//! by preferred location (Fig. 5A).
//!
//! [`compute`] trains and analyses the networks into a [`measures::Outcome`];
//! [`measures`] names its statistics, [`figures`] draws it and [`report`]
//! writes REPORT.md and the CSV tables from it.

pub mod compute;
pub mod config;
pub mod figures;
pub mod maps;
pub mod measures;
pub mod network;
pub mod recording;
pub mod report;
pub mod train;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use crate::regress::Summary;
use crate::study::{RunContext, Study, Work};
use crate::sweep::ManifestRow;
use config::XieConfig;
use measures::Outcome;
use train::{network_specs, train_network};

/// The Xie et al. 2022 reproduction.
pub struct Xie;

impl Study for Xie {
    const NAME: &'static str = "xie";
    const TITLE: &'static str =
        "Xie, Liu, Constantinidis & Zhou 2022: ODR, distractor and anti-saccade RNNs";
    type Config = XieConfig;
    type Outcome = Outcome;

    fn work(cfg: &XieConfig) -> Work {
        Work {
            total: network_specs(cfg).len(),
            unit: "networks",
        }
    }

    fn compute(cfg: &XieConfig, ctx: &RunContext) -> Result<Outcome> {
        compute::compute(cfg, ctx)
    }

    fn statistics(_cfg: &XieConfig, outcome: &Outcome) -> BTreeMap<String, f64> {
        measures::statistics(outcome)
    }

    fn tables(_cfg: &XieConfig, outcome: &Outcome, out: &Path) -> Result<()> {
        report::write_tables(outcome, out)
    }

    fn figures(cfg: &XieConfig, outcome: &Outcome, out: &Path) -> Result<()> {
        figures::draw(cfg, outcome, out)
    }

    fn report(cfg: &XieConfig, outcome: &Outcome, summary: &Summary) -> String {
        report::markdown(cfg, outcome, summary)
    }

    const SWEEPABLE: bool = true;

    /// One point per network, with its condition as the parameter.
    fn sweep_points(cfg: &XieConfig) -> Vec<ManifestRow> {
        network_specs(cfg)
            .into_iter()
            .map(|s| ManifestRow {
                index: s.index,
                seed: s.seed,
                name: s.dir_name(),
                parameters: format!("condition={}", s.condition.name()),
            })
            .collect()
    }

    /// Train (or resume) the network and keep its training steps, final
    /// analysed-ODR performance and number of stage checkpoints.
    fn run_sweep_point(
        cfg: &XieConfig,
        index: usize,
        net_dir: &Path,
    ) -> Result<BTreeMap<String, f64>> {
        let specs = network_specs(cfg);
        let n = specs.len();
        let spec = specs.into_iter().nth(index).with_context(|| {
            format!("sweep point {index} is outside the allowed range (0..{n}, one per network)")
        })?;
        let net = train_network(&spec, cfg, net_dir)?;
        Ok(BTreeMap::from([
            (
                "steps".to_string(),
                net.evals.last().map_or(0.0, |e| e.step as f64),
            ),
            ("final_odr_perf".to_string(), net.final_odr_perf()),
            (
                "stage_checkpoints".to_string(),
                net.checkpoints.len() as f64,
            ),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::read_toml;

    fn smoke_toml() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/xie/smoke.toml")
    }

    /// `wm sweep plan` writes the study's points for the smoke experiment:
    /// one per network, in run order, named by index and condition.
    #[test]
    fn sweep_points_are_the_planned_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let planned = crate::sweep::plan(&smoke_toml(), "xie", "smoke", dir.path()).unwrap();
        let cfg: XieConfig = read_toml(&smoke_toml()).unwrap();
        let points = Xie::sweep_points(&cfg);
        assert_eq!(points, planned);
        // Smoke: one network of each of the two conditions.
        let names: Vec<&str> = points.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["000-fixed", "001-variable"]);
        assert_eq!(points[1].parameters, "condition=variable");
    }

    /// The registry reaches the study by its name, and a loaded smoke
    /// config counts its two networks as the run's work.
    #[test]
    fn the_registry_finds_xie_by_name() {
        let entry = crate::study::find("xie").unwrap();
        assert_eq!((entry.name(), entry.title()), (Xie::NAME, Xie::TITLE));
        let loaded = entry.load(&smoke_toml()).unwrap();
        assert_eq!(
            loaded.work(),
            Work {
                total: 2,
                unit: "networks"
            }
        );
        assert!(entry.sweepable());
        assert_eq!(loaded.sweep_points().len(), 2);
    }

    /// An index past the last network is refused, not trained.
    #[test]
    fn a_sweep_point_past_the_last_network_is_refused() {
        let cfg: XieConfig = read_toml(&smoke_toml()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = Xie::run_sweep_point(&cfg, 2, dir.path()).unwrap_err();
        let err = err.to_string();
        assert!(err.contains("point 2") && err.contains("0..2"), "{err}");
    }
}
