//! Train the networks of each condition (one per core, resuming any found in
//! `networks/`), analyse each one, and pool them into the run's [`Outcome`].

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::study::RunContext;
use crate::xie::config::XieConfig;
use crate::xie::measures::{Outcome, outcome};
use crate::xie::network::{NetworkAnalysis, analyse_network};
use crate::xie::train::{network_specs, train_network};

/// Train (or reload) and analyse every network of `cfg` under
/// `ctx.out/networks/`, telling `ctx.progress` of each finished network.
pub fn compute(cfg: &XieConfig, ctx: &RunContext) -> Result<Outcome> {
    let specs = network_specs(cfg);
    let pool = crate::io::network_pool(cfg.threads)?;
    let done = AtomicUsize::new(0);
    let total = specs.len();
    tracing::info!(networks = total, threads = cfg.threads, "xie: training");
    let analyses: Vec<NetworkAnalysis> = pool.install(|| {
        specs
            .par_iter()
            .map(|s| {
                let dir = ctx.out.join("networks").join(s.dir_name());
                let net = train_network(s, cfg, &dir)
                    .with_context(|| format!("training network {}", s.dir_name()))?;
                let a = analyse_network(cfg, &net)
                    .with_context(|| format!("analysing network {}", s.dir_name()))?;
                let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::info!(
                    "network {k}/{total} done: {} after {} steps, ODR {:.3}, {} delay units ({:.0} s)",
                    s.dir_name(),
                    a.row.steps,
                    a.row.final_odr_perf,
                    a.row.delay_units,
                    a.row.train_seconds
                );
                (ctx.progress)(1);
                Ok(a)
            })
            .collect::<Result<Vec<_>>>()
    })?;
    Ok(outcome(&cfg.conditions, &analyses))
}
