//! Simulating every experiment: all conditions × networks of an experiment
//! over rayon, their ŝ(t)/ŝ(0) curves gathered into [`Series`] with mean ±
//! SEM, and the recorded units' rates of Fig. 2A/D. Writes nothing.

use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wm_plasticity::ensemble::{MeanSem, mean_sem, par_runs};
use wm_plasticity::lif::simulate_lif;
use wm_plasticity::rate::{RateNetwork, Trace, pretrain_then_test};

use crate::federer_zylberberg::config::{Condition, Experiment, FedererZylberbergConfig, Kind};
use crate::io::derive_seed;
use crate::study::RunContext;

/// Everything the reproduction computed: one result per experiment, in the
/// config's order.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The experiments' results, in report order.
    pub experiments: Vec<ExperimentResult>,
}

/// One curve of an experiment (one condition, or one read-out or test of it)
/// over its independent networks.
#[derive(Debug, Clone)]
pub struct Series {
    /// Curve name (CSV column and statistic prefix).
    pub name: String,
    /// Legend label.
    pub label: String,
    /// Index of its condition in the experiment.
    pub condition: usize,
    /// The condition's swept value, if any.
    pub x: Option<f64>,
    /// ŝ(t)/ŝ(0) of each network, on the experiment's time axis.
    pub curves: Vec<Vec<f64>>,
    /// Each network's rule gain κ at t = 0 (plastic rate networks; NaN
    /// otherwise): the discrete rule overshoots where κ > 2
    /// ([`RateNetwork::rule_gain`]).
    pub rule_gains: Vec<f64>,
    /// Mean ± SEM (ddof 1) over networks at each sample.
    pub stats: MeanSem,
}

/// The recorded units of one condition's first network (Fig. 2A/D).
#[derive(Debug, Clone)]
pub struct UnitRates {
    /// Index of the condition in the experiment.
    pub condition: usize,
    /// Its session: ŝ(t) and the recorded units' rates.
    pub trace: Trace,
}

/// What one experiment produced.
#[derive(Debug, Clone)]
pub struct ExperimentResult {
    /// The experiment, as configured.
    pub experiment: Experiment,
    /// Sample times, ms.
    pub times_ms: Vec<f64>,
    /// Seeds of the networks (network k of every condition uses `seeds[k]`).
    pub seeds: Vec<u64>,
    /// The curves, in the order of [`Experiment::series_names`].
    pub series: Vec<Series>,
    /// The recorded units of every rate condition with
    /// `rate.record_units` > 0, in condition order.
    pub unit_rates: Vec<UnitRates>,
    /// Wall time of the networks' simulations, s.
    pub seconds: f64,
}

/// A fixed 64-bit FNV-1a hash of an experiment's name: its seed stream.
pub fn stream_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Seeds of the `n` networks of experiment `name` under master seed `master`:
/// `derive_seed(derive_seed(master, stream_of(name)), k)` for k = 0…n−1.
pub fn network_seeds(master: u64, name: &str, n: usize) -> Vec<u64> {
    let experiment_seed = derive_seed(master, stream_of(name));
    (0..n as u64)
        .map(|k| derive_seed(experiment_seed, k))
        .collect()
}

/// Runs (condition × network) the reproduction makes in total.
pub fn total_runs(cfg: &FedererZylberbergConfig) -> usize {
    cfg.experiments
        .iter()
        .map(|e| e.conditions.len() * e.n_networks(cfg))
        .sum()
}

/// Simulate every experiment of `cfg` on `cfg.threads` threads, telling
/// `ctx.progress` of each finished run (condition × network).
pub fn compute(cfg: &FedererZylberbergConfig, ctx: &RunContext) -> Result<Outcome> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .context("cannot start the simulation threads")?;
    let mut experiments = Vec::with_capacity(cfg.experiments.len());
    for exp in &cfg.experiments {
        let res = pool.install(|| run_experiment(cfg, exp, ctx.progress))?;
        tracing::info!(
            "{} ({}): {} conditions x {} networks, {:.0} ms each, in {:.1} s",
            exp.name,
            exp.figure,
            exp.conditions.len(),
            res.seeds.len(),
            exp.duration(cfg),
            res.seconds
        );
        experiments.push(res);
    }
    Ok(Outcome { experiments })
}

/// One network of one condition, simulated.
#[derive(Debug, Clone)]
pub struct NetworkRun {
    /// Sampling interval, ms.
    pub record_ms: f64,
    /// One ŝ(t)/ŝ(0) curve per series of the condition.
    pub ratios: Vec<Vec<f64>>,
    /// The rule gain κ at t = 0 of a plastic rate network (NaN otherwise).
    pub rule_gain: f64,
}

/// Simulate one network of one condition.
pub fn simulate_condition(
    kind: Kind,
    cond: &Condition,
    seed: u64,
    duration_ms: f64,
    session_ms: f64,
) -> Result<NetworkRun> {
    let named = |e: wm_plasticity::ParamError| anyhow!("condition {}: {e}", cond.name);
    let (record_ms, ratios, rule_gain) = match kind {
        Kind::Rate => {
            // The draw and session of `wm_plasticity::rate::simulate`, with
            // the rule gain read off the initial state.
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut net = RateNetwork::new(&cond.rate, &mut rng).map_err(named)?;
            let gain = if cond.rate.plastic {
                net.rule_gain()
            } else {
                f64::NAN
            };
            let trace = net.run(duration_ms, cond.rate.plastic, &mut rng);
            let ratios = (0..cond.rate.n_readouts).map(|k| trace.ratio(k)).collect();
            (trace.record_every_ms, ratios, gain)
        }
        Kind::Pretrain => {
            let (plastic, frozen) = pretrain_then_test(
                &cond.rate,
                seed,
                cond.pretrain_sessions,
                session_ms,
                duration_ms,
            )
            .map_err(named)?;
            (
                plastic.record_every_ms,
                vec![plastic.ratio(0), frozen.ratio(0)],
                f64::NAN,
            )
        }
        Kind::Lif => {
            let trace = simulate_lif(&cond.lif, seed, duration_ms, 0.0).map_err(named)?;
            (trace.record_every_ms, vec![trace.ratio()], f64::NAN)
        }
    };
    Ok(NetworkRun {
        record_ms,
        ratios,
        rule_gain,
    })
}

/// Run every condition × network of one experiment (in parallel on the
/// current rayon pool) and gather its curves; `progress(1)` after each run.
/// Then re-simulate the recorded units of Fig. 2A/D.
pub fn run_experiment(
    cfg: &FedererZylberbergConfig,
    exp: &Experiment,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<ExperimentResult> {
    let t0 = Instant::now();
    let n = exp.n_networks(cfg);
    let seeds = network_seeds(cfg.seed, &exp.name, n);
    let (duration, session) = (exp.duration(cfg), exp.session(cfg));
    let jobs: Vec<u64> = (0..(exp.conditions.len() * n) as u64).collect();
    let results = par_runs(&jobs, |j| {
        let (ci, k) = (j as usize / n, j as usize % n);
        let out = simulate_condition(exp.kind, &exp.conditions[ci], seeds[k], duration, session);
        progress(1);
        out
    });
    let results = results.into_iter().collect::<Result<Vec<_>>>()?;
    let record_ms = results.first().map_or(1.0, |r| r.record_ms);
    let len = results
        .iter()
        .flat_map(|r| r.ratios.iter().map(Vec::len))
        .min()
        .unwrap_or(0);
    if len == 0 {
        bail!("experiment {}: the runs recorded no sample", exp.name);
    }
    let series = gather_series(exp, &results, n, len);
    let seconds = t0.elapsed().as_secs_f64();
    Ok(ExperimentResult {
        experiment: exp.clone(),
        times_ms: (0..len).map(|m| m as f64 * record_ms).collect(),
        unit_rates: record_unit_rates(cfg, exp, seeds[0])?,
        seeds,
        series,
        seconds,
    })
}

/// The curves of an experiment from its runs (condition-major, `n` networks
/// per condition), each cut to the first `len` samples, in the order of
/// [`Experiment::series_names`].
fn gather_series(exp: &Experiment, results: &[NetworkRun], n: usize, len: usize) -> Vec<Series> {
    let mut series = Vec::new();
    let mut names = exp.series_names().into_iter();
    for (ci, c) in exp.conditions.iter().enumerate() {
        let per_net = &results[ci * n..(ci + 1) * n];
        let n_series = per_net[0].ratios.len();
        let rule_gains: Vec<f64> = per_net.iter().map(|r| r.rule_gain).collect();
        for s in 0..n_series {
            let curves: Vec<Vec<f64>> = per_net
                .iter()
                .map(|r| r.ratios[s][..len].to_vec())
                .collect();
            let name = names.next().unwrap_or_else(|| format!("{}_{s}", c.name));
            let label = if n_series == 1 {
                c.label().to_string()
            } else {
                format!(
                    "{} ({})",
                    c.label(),
                    name.trim_start_matches(&c.name).trim_start_matches('_')
                )
            };
            series.push(Series {
                stats: mean_sem(&curves),
                name,
                label,
                condition: ci,
                x: c.x,
                curves,
                rule_gains: rule_gains.clone(),
            });
        }
    }
    series
}

/// Fig. 2A/D: for each rate condition with `rate.record_units` > 0, the
/// session of the experiment's first network (seed `first_seed`), simulated
/// again with its units recorded; the integrator is deterministic, so it is
/// the same network as in the averages.
fn record_unit_rates(
    cfg: &FedererZylberbergConfig,
    exp: &Experiment,
    first_seed: u64,
) -> Result<Vec<UnitRates>> {
    if exp.kind != Kind::Rate {
        return Ok(Vec::new());
    }
    exp.conditions
        .iter()
        .enumerate()
        .filter(|(_, c)| c.rate.record_units > 0)
        .map(|(condition, c)| {
            let trace = wm_plasticity::rate::simulate(&c.rate, first_seed, exp.duration(cfg))
                .map_err(|e| anyhow!("condition {}: {e}", c.name))?;
            Ok(UnitRates { condition, trace })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::StudyConfig;

    #[test]
    fn network_seeds_are_distinct_within_and_across_experiments() {
        let a = network_seeds(7, "fig2", 50);
        let b = network_seeds(7, "fig3b", 50);
        let mut all: Vec<u64> = a.iter().chain(&b).copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 100);
        // Stable: a prefix of a longer list, independent of how many networks run.
        assert_eq!(network_seeds(7, "fig2", 3), a[..3]);
        assert_ne!(network_seeds(8, "fig2", 1), a[..1]);
    }

    fn tiny(text: &str) -> FedererZylberbergConfig {
        let cfg: FedererZylberbergConfig = toml::from_str(text).unwrap();
        cfg.validate().unwrap();
        cfg
    }

    #[test]
    fn paired_conditions_share_networks_and_curves_are_normalised() {
        // Two identical conditions must give identical curves (same seeds),
        // and every curve starts at exactly 1.
        let cfg = tiny(
            "networks = 3\nduration_ms = 20.0\nthreads = 2\n\
             [[experiment]]\nname = 'e'\nfigure = 'F'\n\
             [[experiment.condition]]\nname = 'a'\nrate = { n_units = 20 }\n\
             [[experiment.condition]]\nname = 'b'\nrate = { n_units = 20 }\n",
        );
        let res = run_experiment(&cfg, &cfg.experiments[0], &|_| {}).unwrap();
        assert_eq!(res.series.len(), 2);
        assert_eq!(res.series[0].curves, res.series[1].curves);
        assert_eq!(res.times_ms.len(), 20);
        assert_eq!(res.times_ms[1] - res.times_ms[0], 1.0);
        for c in &res.series[0].curves {
            assert_eq!(c[0], 1.0);
        }
        // Different networks differ.
        assert_ne!(res.series[0].curves[0], res.series[0].curves[1]);
        // No condition records units.
        assert!(res.unit_rates.is_empty());
    }

    #[test]
    fn recorded_units_are_the_first_network_of_the_averages() {
        // The re-simulated session of network 0 gives the same ŝ(t)/ŝ(0) as
        // its curve in the averages, and every run is counted once.
        let cfg = tiny(
            "networks = 2\nduration_ms = 20.0\n\
             [[experiment]]\nname = 'e'\nfigure = 'F'\n\
             [[experiment.condition]]\nname = 'a'\nrate = { n_units = 20 }\n\
             [[experiment.condition]]\nname = 'b'\nrate = { n_units = 20, record_units = 4 }\n",
        );
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let progress = |k: usize| {
            runs.fetch_add(k, std::sync::atomic::Ordering::Relaxed);
        };
        let res = run_experiment(&cfg, &cfg.experiments[0], &progress).unwrap();
        assert_eq!(runs.into_inner(), total_runs(&cfg));
        assert_eq!(res.unit_rates.len(), 1);
        let u = &res.unit_rates[0];
        assert_eq!(u.condition, 1);
        assert_eq!(u.trace.units.len(), 4);
        assert_eq!(u.trace.ratio(0)[..20], res.series[1].curves[0][..]);
    }
}
