//! Federer & Zylberberg 2018, "A self-organizing short-term dynamical memory
//! network" (Neural Networks 106; original code: github.com/cfederer/SOMN):
//! the rate network with the three-factor rule against constant random
//! synapses and FEVER (Fig. 2), its robustness to synaptic and update noise
//! (Fig. 3), partial plasticity and connectivity (Figs. 4, 5, A3), pre-training
//! (Fig. 6), several read-outs (Fig. 7), random and binary feedback (Fig. 8),
//! delayed feedback (Fig. A2), the LIF version (Fig. A4) and a large network
//! (Sec. 4). The simulations are `wm-plasticity`'s; this module runs the
//! experiments listed in `experiments/federer-zylberberg/<scale>.toml`
//! ([`config`]), simulates them ([`compute`]), measures them ([`measures`]),
//! and draws ([`figures`]) and writes ([`report`]) the results.

pub mod compute;
pub mod config;
pub mod figures;
pub mod measures;
pub mod report;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use crate::regress::Summary;
use crate::study::{RunContext, Study, Work};
use compute::Outcome;
use config::FedererZylberbergConfig;

/// The Federer & Zylberberg reproduction.
pub struct FedererZylberberg;

impl Study for FedererZylberberg {
    const NAME: &'static str = "federer-zylberberg";
    const TITLE: &'static str = "Federer & Zylberberg 2018: a self-organizing short-term \
                                 dynamical memory network (Figs. 2–8, A2–A4)";
    type Config = FedererZylberbergConfig;
    type Outcome = Outcome;

    fn work(cfg: &FedererZylberbergConfig) -> Work {
        Work {
            total: compute::total_runs(cfg),
            unit: "network runs",
        }
    }

    fn compute(cfg: &FedererZylberbergConfig, ctx: &RunContext) -> Result<Outcome> {
        compute::compute(cfg, ctx)
    }

    fn statistics(cfg: &FedererZylberbergConfig, outcome: &Outcome) -> BTreeMap<String, f64> {
        measures::statistics(cfg, outcome)
    }

    fn tables(_cfg: &FedererZylberbergConfig, outcome: &Outcome, out: &Path) -> Result<()> {
        report::write_tables(outcome, out)
    }

    fn figures(_cfg: &FedererZylberbergConfig, outcome: &Outcome, out: &Path) -> Result<()> {
        figures::draw(outcome, out)
    }

    fn report(cfg: &FedererZylberbergConfig, outcome: &Outcome, summary: &Summary) -> String {
        report::report_markdown(cfg, outcome, summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::read_toml;

    /// A run through the driver: every figure REPORT.md links is drawn, and
    /// every figure drawn is linked; every experiment has its tables.
    #[test]
    fn the_report_links_exactly_the_figures_drawn() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("tiny.toml");
        std::fs::write(
            &config,
            "networks = 2\nduration_ms = 20.0\n\
             [[experiment]]\nname = 'e'\nfigure = 'F'\n\
             [[experiment.condition]]\nname = 'a'\nx = 1.0\nrate = { n_units = 20, record_units = 3 }\n\
             [[experiment.condition]]\nname = 'b'\nx = 2.0\nrate = { n_units = 20, plastic = false }\n",
        )
        .unwrap();
        let cfg: FedererZylberbergConfig = read_toml(&config).unwrap();
        let out = dir.path().join("out");
        let summary =
            crate::study::run::<FedererZylberberg>(&cfg, &RunContext::new(&out, &config, "tiny"))
                .unwrap();
        assert_eq!(summary.study, FedererZylberberg::NAME);
        let report = std::fs::read_to_string(out.join("REPORT.md")).unwrap();
        let linked: Vec<&str> = report
            .lines()
            .filter_map(|l| l.strip_prefix("![")?.split(']').next())
            .collect();
        let mut drawn: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".png"))
            .collect();
        drawn.sort();
        let mut sorted = linked.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, drawn);
        // The curves, the sweep over x and the recorded units of condition a
        // (the zoom only where some curves, not all, end above 0.9).
        for f in ["e.png", "e_sweep.png", "e_a_rates.png"] {
            assert!(linked.contains(&f), "{f} not in {linked:?}");
        }
        for table in ["curves.csv", "end_ratios.csv", "a_rates.csv"] {
            assert!(out.join("e").join(table).is_file(), "no e/{table}");
        }
    }
}
