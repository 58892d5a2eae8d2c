//! Everything the Orhan & Ma reproduction computes, in one typed outcome:
//! the untrained grid (Supp. Fig. 1), the banded model (Supp. Fig. 7), the
//! trained grid (one network per core) and the across-network measures.

use anyhow::Result;

use crate::orhan_ma::aggregate::NetworkResult;
use crate::orhan_ma::config::{Condition, OrhanMaConfig};
use crate::orhan_ma::grid::expand;
use crate::orhan_ma::measures::{BandedRun, Measures, banded_runs, measure};
use crate::orhan_ma::train::{TrainedNetwork, train_network};
use crate::orhan_ma::untrained::{UntrainedCell, untrained_grid};
use crate::study::{RunContext, Work};

/// What an Orhan & Ma run computed; statistics, tables, figures and report
/// are all read from it.
pub struct Outcome {
    /// SI of the pulse response at every (λ0, σ0) of the untrained grid.
    pub untrained: Vec<UntrainedCell>,
    /// The banded model: the supplement's sequential chain, its persistent
    /// counterpart and the model exactly as the text gives it.
    pub banded: Vec<BandedRun>,
    /// Every trained network, in grid order.
    pub networks: Vec<TrainedNetwork>,
    /// The across-network measures.
    pub measures: Measures,
}

impl Outcome {
    /// One row per trained network (`networks.csv`).
    pub fn rows(&self) -> Vec<NetworkResult> {
        self.networks.iter().map(|t| t.result.clone()).collect()
    }

    /// The networks that enter the statistics.
    pub fn included_rows(&self) -> Vec<&NetworkResult> {
        self.measures
            .included
            .iter()
            .map(|&i| &self.networks[i].result)
            .collect()
    }
}

/// Training iterations the grid of `cfg` runs in total (for progress bars).
pub fn work(cfg: &OrhanMaConfig) -> Work {
    let total = expand(cfg)
        .iter()
        .map(|s| {
            if s.condition == Condition::Sequential {
                2 * cfg.iterations
            } else {
                cfg.iterations
            }
        })
        .sum();
    Work {
        total,
        unit: "training iterations",
    }
}

/// Simulate the untrained grid and the banded model, train (or resume) every
/// network of the grid under `ctx.out/networks/`, and measure.
pub fn compute(cfg: &OrhanMaConfig, ctx: &RunContext) -> Result<Outcome> {
    let (untrained, _) = untrained_grid(&cfg.untrained_grid, cfg.seed)?;
    let banded = banded_runs(&cfg.banded)?;
    let networks = train_grid(cfg, ctx)?;
    let measures = measure(cfg, &untrained, &networks)?;
    Ok(Outcome {
        untrained,
        banded,
        networks,
        measures,
    })
}

/// Train every network of the grid, one per worker thread.
fn train_grid(cfg: &OrhanMaConfig, ctx: &RunContext) -> Result<Vec<TrainedNetwork>> {
    let specs = expand(cfg);
    tracing::info!(
        networks = specs.len(),
        threads = cfg.threads,
        "training the grid"
    );
    let pool = crate::io::network_pool(cfg.threads)?;
    crate::io::par_map_counted(
        &pool,
        &specs,
        |s| {
            let dir = ctx.out.join("networks").join(s.dir_name());
            train_network(s, cfg, &dir, ctx.progress)
        },
        |net, k, total| {
            let r = &net.result;
            tracing::info!(
                "network {k}/{total} done: {} λ0={} σ0={} ρ={} F={:.3} SI={:.3} ({:.0} s)",
                r.task,
                r.lambda0,
                r.sigma0,
                r.rho,
                r.fractional_loss,
                r.si,
                r.train_seconds
            );
        },
    )
}
