//! The computation of the Kim & Sejnowski reproduction: train, convert and
//! analyse every network (one per core, each in its own resumable folder
//! under `networks/`), measure them, record an example network's
//! spontaneous spikes, and run the cross-temporal discriminability of long-
//! vs short-timescale DMS units.

use std::path::{Path, PathBuf};

use anyhow::Result;
use rayon::ThreadPool;
use wm_spiking::{RateArrays, SpikeTrains};

use crate::kim_sejnowski::config::{KimSejnowskiConfig, KimTask, TauRegime};
use crate::kim_sejnowski::discrim::{DiscrimResult, discriminability};
use crate::kim_sejnowski::folder::run_network;
use crate::kim_sejnowski::lif::spontaneous;
use crate::kim_sejnowski::measures::Measures;
use crate::kim_sejnowski::network::{NetworkOutcome, expand};
use crate::study::RunContext;

/// Everything the run computed.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every network, kept or not, in the order of [`expand`].
    pub networks: Vec<NetworkOutcome>,
    /// The measures of the networks.
    pub measures: Measures,
    /// Spontaneous spikes of an example network (None without networks).
    pub example: Option<Example>,
    /// The cross-temporal discriminability (None when disabled or with too
    /// few kept DMS networks or long and short units).
    pub discrim: Option<DiscrimResult>,
}

/// The spontaneous activity of one converted network: the first kept DMS
/// network, else the first network.
#[derive(Debug, Clone)]
pub struct Example {
    /// Its folder name, e.g. `dms-optimized-r000`.
    pub name: String,
    /// The scaling factor it was converted at.
    pub best_scale: f64,
    /// Its spikes, every trial.
    pub spikes: SpikeTrains,
}

/// Run the study's computation into `ctx.out` (network folders only).
pub fn compute(cfg: &KimSejnowskiConfig, ctx: &RunContext) -> Result<Outcome> {
    let pool = crate::io::network_pool(cfg.threads)?;
    let networks = train_all(cfg, ctx, &pool)?;
    let measures = Measures::of(cfg, &networks);
    let kept: Vec<&NetworkOutcome> = networks.iter().filter(|o| o.row.included).collect();
    let example = kept
        .iter()
        .copied()
        .find(|o| o.spec.task == KimTask::Dms)
        .or_else(|| networks.first())
        .map(|o| example(cfg, ctx.out, &pool, o))
        .transpose()?;
    let discrim = if cfg.discriminability.enabled {
        discrim(cfg, ctx.out, &pool, &kept)?
    } else {
        None
    };
    Ok(Outcome {
        networks,
        measures,
        example,
        discrim,
    })
}

/// The folder of the network called `name`.
fn net_dir(out: &Path, name: &str) -> PathBuf {
    out.join("networks").join(name)
}

/// The saved rate weights of network `o`.
fn weights_of(out: &Path, o: &NetworkOutcome) -> PathBuf {
    net_dir(out, &o.spec.dir_name()).join("weights.safetensors")
}

/// Train (or load) and analyse every network of `cfg` on `pool`, telling
/// `ctx.progress` of each finished network.
fn train_all(
    cfg: &KimSejnowskiConfig,
    ctx: &RunContext,
    pool: &ThreadPool,
) -> Result<Vec<NetworkOutcome>> {
    let specs = expand(cfg);
    tracing::info!(
        networks = specs.len(),
        threads = cfg.threads,
        "training and converting the networks"
    );
    crate::io::par_map_counted(
        pool,
        &specs,
        |s| run_network(s, cfg, &net_dir(ctx.out, &s.dir_name())),
        |o, k, total| {
            let r = &o.row;
            tracing::info!(
                "network {k}/{total} {}: {} updates (converged {}), rate acc {:.2}, s = {}, \
                 LIF acc {:.2}, {} units fitted, mean timescale {:.1} ms ({:.0} + {:.0} s)",
                o.spec.dir_name(),
                r.iterations,
                r.converged,
                r.rate_accuracy,
                r.best_scale,
                r.lif_accuracy,
                r.n_units_fitted,
                r.mean_timescale_ms,
                r.train_seconds,
                r.analysis_seconds
            );
            (ctx.progress)(1);
        },
    )
}

/// The spontaneous spikes of network `o`, converted from its saved weights
/// at its best scaling factor.
fn example(
    cfg: &KimSejnowskiConfig,
    out: &Path,
    pool: &ThreadPool,
    o: &NetworkOutcome,
) -> Result<Example> {
    let arrays = RateArrays::from_safetensors(&weights_of(out, o))?;
    let net = arrays.to_lif::<f64>(o.row.best_scale, &cfg.lif)?;
    let spikes = pool.install(|| spontaneous(cfg, &net, o.spec.seed))?;
    Ok(Example {
        name: o.spec.dir_name(),
        best_scale: o.row.best_scale,
        spikes,
    })
}

/// The discriminability over the kept DMS networks of the optimized τ
/// regime (else the config's first regime).
fn discrim(
    cfg: &KimSejnowskiConfig,
    out: &Path,
    pool: &ThreadPool,
    kept: &[&NetworkOutcome],
) -> Result<Option<DiscrimResult>> {
    let regime = if cfg.tau_regimes.contains(&TauRegime::Optimized) {
        TauRegime::Optimized
    } else {
        cfg.tau_regimes[0]
    };
    let nets: Vec<(&NetworkOutcome, PathBuf)> = kept
        .iter()
        .filter(|o| o.spec.task == KimTask::Dms && o.spec.regime == regime)
        .map(|o| (*o, weights_of(out, o)))
        .collect();
    if nets.is_empty() {
        return Ok(None);
    }
    pool.install(|| discriminability(cfg, &nets))
}
