//! The whole Federer & Zylberberg reproduction: every experiment's networks
//! (all conditions × networks of an experiment over rayon), mean ± SEM of
//! ŝ(t)/ŝ(0), `curves.csv`, figures, `summary.toml` and `REPORT.md`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use wm_analysis::stats::pearson;
use wm_plasticity::ensemble::{MeanSem, mean_sem, par_runs};
use wm_plasticity::lif::simulate_lif;
use wm_plasticity::rate::{RateNetwork, pretrain_then_test};
use wm_plot::{Axes, Line, line_plot};

use crate::federer_zylberberg::config::{Condition, Experiment, FedererZylbergConfig, Kind};
use crate::federer_zylberberg::report::report_markdown;
use crate::io::{Provenance, derive_seed, write_atomic, write_csv, write_toml};
use crate::regress::Summary;

/// Study name used in `summary.toml`, `run.toml` and folder names.
pub const STUDY: &str = "federer-zylberberg";

/// Curves whose final mean ratio is at least this go into the zoomed figure
/// (the paper's Figs. 2C, 4B, 5B, 6A zoom on the networks that remember).
pub const ZOOM_ABOVE: f64 = 0.9;

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

impl Series {
    /// Mean ratio at the last sample.
    pub fn end(&self) -> f64 {
        self.stats.mean.last().copied().unwrap_or(f64::NAN)
    }

    /// SEM at the last sample.
    pub fn end_sem(&self) -> f64 {
        self.stats.sem.last().copied().unwrap_or(f64::NAN)
    }

    /// Largest rule gain κ at t = 0 over networks, if measured.
    pub fn rule_gain_max(&self) -> Option<f64> {
        self.rule_gains
            .iter()
            .copied()
            .filter(|g| g.is_finite())
            .reduce(f64::max)
    }

    /// Networks whose discrete rule overshoots at t = 0 (κ > 2).
    pub fn overshooting(&self) -> Vec<usize> {
        (0..self.rule_gains.len())
            .filter(|&k| self.rule_gains[k] > 2.0)
            .collect()
    }

    /// Largest |ŝ(t)/ŝ(0) − 1| over networks and samples (NaN if any sample is NaN).
    pub fn max_abs_dev(&self) -> f64 {
        self.curves.iter().flatten().fold(0.0_f64, |m, &v| {
            if v.is_nan() || m.is_nan() {
                f64::NAN
            } else {
                m.max((v - 1.0).abs())
            }
        })
    }
}

/// What one experiment produced.
#[derive(Debug, Clone)]
pub struct ExperimentResult {
    /// Sample times, ms.
    pub times_ms: Vec<f64>,
    /// Seeds of the networks (network k of every condition uses `seeds[k]`).
    pub seeds: Vec<u64>,
    /// The curves, in the order of [`Experiment::series_names`].
    pub series: Vec<Series>,
    /// Wall time of the experiment, s.
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
pub fn run_experiment(
    cfg: &FedererZylbergConfig,
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
        anyhow::bail!("experiment {}: the runs recorded no sample", exp.name);
    }
    let names = exp.series_names();
    let mut series = Vec::with_capacity(names.len());
    let mut name_iter = names.into_iter();
    for (ci, c) in exp.conditions.iter().enumerate() {
        let per_net = &results[ci * n..(ci + 1) * n];
        let n_series = per_net[0].ratios.len();
        let rule_gains: Vec<f64> = per_net.iter().map(|r| r.rule_gain).collect();
        for s in 0..n_series {
            let curves: Vec<Vec<f64>> = per_net
                .iter()
                .map(|r| r.ratios[s][..len].to_vec())
                .collect();
            let name = name_iter
                .next()
                .unwrap_or_else(|| format!("{}_{s}", c.name));
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
    Ok(ExperimentResult {
        times_ms: (0..len).map(|m| m as f64 * record_ms).collect(),
        seeds,
        series,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Named statistics of one experiment, keyed `<experiment>_<curve>_<stat>`:
/// `ratio_end` (mean ŝ/ŝ(0) at the last sample), `sem_end`, `ratio_probe`
/// (at `probe_ms`, if simulated), `max_abs_dev` (largest |ŝ/ŝ(0) − 1| over
/// networks and time); `<experiment>_networks`; and, when every condition
/// has a swept value `x`, `<experiment>_sweep_r[_<test>]`, the Pearson
/// correlation of x with the end ratio.
pub fn experiment_statistics(
    cfg: &FedererZylbergConfig,
    exp: &Experiment,
    res: &ExperimentResult,
) -> BTreeMap<String, f64> {
    let mut st = BTreeMap::new();
    let e = &exp.name;
    st.insert(format!("{e}_networks"), res.seeds.len() as f64);
    let dt = res.times_ms.get(1).copied().unwrap_or(1.0) - res.times_ms[0];
    let probe = (cfg.probe_ms / dt).round() as usize;
    for s in &res.series {
        let k = format!("{e}_{}", s.name);
        st.insert(format!("{k}_ratio_end"), s.end());
        st.insert(format!("{k}_sem_end"), s.end_sem());
        st.insert(format!("{k}_max_abs_dev"), s.max_abs_dev());
        if let Some(v) = s.stats.mean.get(probe) {
            st.insert(format!("{k}_ratio_probe"), *v);
        }
        if let Some(max) = s.rule_gain_max() {
            st.insert(format!("{k}_rule_gain_max"), max);
            st.insert(
                format!("{k}_overshooting_networks"),
                s.overshooting().len() as f64,
            );
        }
    }
    for sw in sweeps(exp, res) {
        let (x, y): (Vec<f64>, Vec<f64>) = sw.points.iter().map(|p| (p.x, p.end)).unzip();
        if let Ok(c) = pearson(&x, &y) {
            st.insert(format!("{e}_sweep_r{}", sw.suffix), c.r);
        }
    }
    st
}

/// One point of a sweep: a condition's swept value and its end ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPoint {
    /// The condition's `x`.
    pub x: f64,
    /// Mean ŝ(end)/ŝ(0).
    pub end: f64,
    /// Its SEM.
    pub sem: f64,
}

/// End ratio against the swept value for one kind of curve of an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// Which curve of each condition: `""` (the only one), `"_plastic"`,
    /// `"_frozen"`, `"_s1"`, …
    pub suffix: String,
    /// The points, by increasing x.
    pub points: Vec<SweepPoint>,
}

/// For an experiment whose conditions (two or more) all have a swept `x`:
/// one [`Sweep`] per kind of curve. Empty otherwise.
pub fn sweeps(exp: &Experiment, res: &ExperimentResult) -> Vec<Sweep> {
    if exp.conditions.iter().any(|c| c.x.is_none()) || exp.conditions.len() < 2 {
        return Vec::new();
    }
    let mut by_suffix: BTreeMap<String, Vec<SweepPoint>> = BTreeMap::new();
    for s in &res.series {
        let cond = &exp.conditions[s.condition];
        let suffix = s.name[cond.name.len()..].to_string();
        if let Some(x) = s.x {
            by_suffix.entry(suffix).or_default().push(SweepPoint {
                x,
                end: s.end(),
                sem: s.end_sem(),
            });
        }
    }
    by_suffix
        .into_iter()
        .map(|(suffix, mut points)| {
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            Sweep { suffix, points }
        })
        .collect()
}

/// One row of `end_ratios.csv`.
#[derive(Debug, Clone, Serialize)]
struct EndRow<'a> {
    experiment: &'a str,
    curve: &'a str,
    network: usize,
    seed: u64,
    ratio_end: f64,
    rule_gain_0: f64,
}

/// Write `<out>/<experiment>/curves.csv` (time, then mean and SEM per curve)
/// and `end_ratios.csv` (each network's final ratio).
pub fn write_experiment_tables(out: &Path, exp: &Experiment, res: &ExperimentResult) -> Result<()> {
    let dir = out.join(&exp.name);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["time_ms".to_string()];
    for s in &res.series {
        header.push(format!("{}_mean", s.name));
        header.push(format!("{}_sem", s.name));
    }
    w.write_record(&header)?;
    for (m, t) in res.times_ms.iter().enumerate() {
        let mut row = vec![format!("{t}")];
        for s in &res.series {
            row.push(format!("{}", s.stats.mean[m]));
            row.push(format!("{}", s.stats.sem[m]));
        }
        w.write_record(&row)?;
    }
    let bytes = w.into_inner().map_err(|e| anyhow!("csv buffer: {e}"))?;
    write_atomic(&dir.join("curves.csv"), &bytes)?;
    let rows: Vec<EndRow> = res
        .series
        .iter()
        .flat_map(|s| {
            s.curves.iter().enumerate().map(|(k, c)| EndRow {
                experiment: &exp.name,
                curve: &s.name,
                network: k,
                seed: res.seeds[k],
                ratio_end: c.last().copied().unwrap_or(f64::NAN),
                rule_gain_0: s.rule_gains[k],
            })
        })
        .collect();
    write_csv(&dir.join("end_ratios.csv"), &rows)
}

/// Draw `<out>/<experiment>.png` (every curve, mean ± SEM band), the zoom
/// `<experiment>_zoom.png` on the curves that end above [`ZOOM_ABOVE`] when
/// others do not, and `<experiment>_sweep.png` (end ratio ± SEM against x)
/// for sweeps. Returns the files written, relative to `out`.
pub fn draw_experiment(
    out: &Path,
    exp: &Experiment,
    res: &ExperimentResult,
) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let line = |s: &Series| Line {
        name: s.label.clone(),
        x: res.times_ms.clone(),
        y: s.stats.mean.clone(),
        err: Some(s.stats.sem.clone()),
    };
    let y_label = "ŝ(t)/ŝ(0)";
    let title = format!(
        "{}: memory readout ŝ(t)/ŝ(0), mean ± SEM over {} networks",
        exp.figure,
        res.seeds.len()
    );
    let all: Vec<Line> = res.series.iter().map(line).collect();
    let name = format!("{}.png", exp.name);
    line_plot(
        &out.join(&name),
        &Axes::new(&title, "time (ms)", y_label),
        &all,
    )?;
    files.push(name);
    let high: Vec<Line> = res
        .series
        .iter()
        .filter(|s| s.end() >= ZOOM_ABOVE)
        .map(line)
        .collect();
    if !high.is_empty() && high.len() < res.series.len() {
        let name = format!("{}_zoom.png", exp.name);
        let t = format!(
            "{}: memory readout ŝ(t)/ŝ(0) of the curves ending above {ZOOM_ABOVE}",
            exp.figure
        );
        line_plot(
            &out.join(&name),
            &Axes::new(&t, "time (ms)", y_label),
            &high,
        )?;
        files.push(name);
    }
    let sw = sweeps(exp, res);
    if !sw.is_empty() {
        let lines: Vec<Line> = sw
            .iter()
            .map(|w| Line {
                name: if w.suffix.is_empty() {
                    "end ratio".into()
                } else {
                    w.suffix.trim_start_matches('_').into()
                },
                x: w.points.iter().map(|p| p.x).collect(),
                y: w.points.iter().map(|p| p.end).collect(),
                err: Some(w.points.iter().map(|p| p.sem).collect()),
            })
            .collect();
        let name = format!("{}_sweep.png", exp.name);
        let x_label = if exp.x_label.is_empty() {
            "x"
        } else {
            &exp.x_label
        };
        let t = format!(
            "{}: final memory readout ŝ(end)/ŝ(0) against {x_label} (mean ± SEM)",
            exp.figure
        );
        line_plot(
            &out.join(&name),
            &Axes::new(&t, x_label, "ŝ(end)/ŝ(0)"),
            &lines,
        )?;
        files.push(name);
    }
    Ok(files)
}

/// Fig. 2A/D: for each rate condition with `rate.record_units` > 0, the
/// recorded units' rates of the experiment's first network (re-simulated from
/// its seed; the integrator is deterministic, so it is the same network as in
/// the averages) to `<out>/<experiment>/<condition>_rates.csv` (time, ŝ, one
/// column per unit) and `<out>/<experiment>_<condition>_rates.png`. Returns
/// the figures written, relative to `out`.
pub fn draw_rates(
    cfg: &FedererZylbergConfig,
    out: &Path,
    exp: &Experiment,
    res: &ExperimentResult,
) -> Result<Vec<String>> {
    let mut files = Vec::new();
    if exp.kind != Kind::Rate {
        return Ok(files);
    }
    for c in exp.conditions.iter().filter(|c| c.rate.record_units > 0) {
        let trace = wm_plasticity::rate::simulate(&c.rate, res.seeds[0], exp.duration(cfg))
            .map_err(|e| anyhow!("condition {}: {e}", c.name))?;
        let times = trace.times_ms();
        let s_hat = &trace.s_hat[0];
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["time_ms".to_string(), "s_hat".to_string()];
        header.extend(trace.units.iter().map(|u| format!("rate_unit_{u}")));
        w.write_record(&header)?;
        for (m, t) in times.iter().enumerate() {
            let mut row = vec![format!("{t}"), format!("{}", s_hat[m])];
            row.extend(trace.rates[m].iter().map(|r| format!("{r}")));
            w.write_record(&row)?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow!("csv buffer: {e}"))?;
        write_atomic(
            &out.join(&exp.name).join(format!("{}_rates.csv", c.name)),
            &bytes,
        )?;
        let lines: Vec<Line> = trace
            .units
            .iter()
            .enumerate()
            .map(|(k, u)| Line {
                name: format!("unit {u}"),
                x: times.clone(),
                y: trace.rates.iter().map(|r| r[k]).collect(),
                err: None,
            })
            .collect();
        let at = |f: f64| s_hat[((s_hat.len() - 1) as f64 * f).round() as usize];
        let title = format!(
            "{}, {}: rates of {} units; ŝ = {:.2} → {:.2} → {:.2} (start, middle, end)",
            exp.figure,
            c.label(),
            trace.units.len(),
            at(0.0),
            at(0.5),
            at(1.0)
        );
        let name = format!("{}_{}_rates.png", exp.name, c.name);
        line_plot(
            &out.join(&name),
            &Axes::new(&title, "time (ms)", "rate r = [a]+"),
            &lines,
        )?;
        files.push(name);
    }
    Ok(files)
}

/// Runs (condition × network) the reproduction makes in total (for progress bars).
pub fn total_runs(cfg: &FedererZylbergConfig) -> usize {
    cfg.experiments
        .iter()
        .map(|e| e.conditions.len() * e.n_networks(cfg))
        .sum()
}

/// Run the reproduction described by `cfg` (read from `config_path`) into `out`.
pub fn run(
    cfg: &FedererZylbergConfig,
    scale: &str,
    config_path: &Path,
    out: &Path,
) -> Result<Summary> {
    run_with_progress(cfg, scale, config_path, out, &|_| {})
}

/// [`run`], telling `progress` how many runs (condition × network) finished
/// as they finish.
pub fn run_with_progress(
    cfg: &FedererZylbergConfig,
    scale: &str,
    config_path: &Path,
    out: &Path,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Summary> {
    cfg.validate()
        .with_context(|| format!("invalid config {}", config_path.display()))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_toml(
        &out.join("run.toml"),
        &Provenance::new(STUDY, scale, cfg.seed, config_path)?,
    )?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .context("cannot start the simulation threads")?;
    let mut stats = BTreeMap::new();
    let mut done = Vec::new();
    for exp in &cfg.experiments {
        let res = pool.install(|| run_experiment(cfg, exp, progress))?;
        tracing::info!(
            "{} ({}): {} conditions x {} networks, {:.0} ms each, in {:.1} s",
            exp.name,
            exp.figure,
            exp.conditions.len(),
            res.seeds.len(),
            exp.duration(cfg),
            res.seconds
        );
        write_experiment_tables(out, exp, &res)?;
        let mut figures = draw_experiment(out, exp, &res)?;
        figures.extend(draw_rates(cfg, out, exp, &res)?);
        stats.extend(experiment_statistics(cfg, exp, &res));
        done.push((exp, res, figures));
    }
    let summary = Summary {
        study: STUDY.into(),
        scale: scale.into(),
        statistics: stats,
    };
    write_toml(&out.join("summary.toml"), &summary)?;
    let report = report_markdown(cfg, scale, &done);
    write_atomic(&out.join("REPORT.md"), report.as_bytes())?;
    tracing::info!(out = %out.display(), "federer-zylberberg done: summary.toml, curves, figures and REPORT.md written");
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn tiny(text: &str) -> FedererZylbergConfig {
        let cfg: FedererZylbergConfig = toml::from_str(text).unwrap();
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
    }

    #[test]
    fn statistics_follow_the_curves() {
        let cfg = tiny(
            "networks = 2\nduration_ms = 10.0\nprobe_ms = 4.0\n\
             [[experiment]]\nname = 'e'\nfigure = 'F'\n\
             [[experiment.condition]]\nname = 'a'\nx = 1.0\n\
             [[experiment.condition]]\nname = 'b'\nx = 2.0\n\
             [[experiment.condition]]\nname = 'c'\nx = 3.0\n",
        );
        let exp = &cfg.experiments[0];
        // Condition i: networks end at v and v + 0.2.
        let mk = |i: usize, name: &str, v: f64| {
            let curves = vec![vec![1.0, v, v], vec![1.0, v + 0.2, v + 0.2]];
            Series {
                name: name.into(),
                label: name.into(),
                condition: i,
                x: Some(i as f64 + 1.0),
                stats: mean_sem(&curves),
                curves,
                // Condition 0 is plastic, network 1 starting above 2.
                rule_gains: if i == 0 {
                    vec![1.5, 2.5]
                } else {
                    vec![f64::NAN; 2]
                },
            }
        };
        let res = ExperimentResult {
            times_ms: vec![0.0, 2.0, 4.0],
            seeds: vec![1, 2],
            series: vec![mk(0, "a", 0.5), mk(1, "b", 0.3), mk(2, "c", 0.1)],
            seconds: 0.0,
        };
        let st = experiment_statistics(&cfg, exp, &res);
        assert!((st["e_a_ratio_end"] - 0.6).abs() < 1e-12);
        assert!((st["e_c_ratio_end"] - 0.2).abs() < 1e-12);
        // SEM of {0.5, 0.7}: s.d. 0.1414, / √2 = 0.1.
        assert!((st["e_a_sem_end"] - 0.1).abs() < 1e-12);
        // Probe at 4 ms is the third sample.
        assert!((st["e_a_ratio_probe"] - 0.6).abs() < 1e-12);
        // Largest deviation from 1: network 0 of c at 0.1.
        assert!((st["e_c_max_abs_dev"] - 0.9).abs() < 1e-12);
        // End ratios 0.6, 0.4, 0.2 fall on a line in x: r = −1.
        assert!((st["e_sweep_r"] + 1.0).abs() < 1e-12);
        assert_eq!(st["e_networks"], 2.0);
        assert_eq!(st["e_a_rule_gain_max"], 2.5);
        assert_eq!(st["e_a_overshooting_networks"], 1.0);
        assert!(!st.contains_key("e_b_rule_gain_max"));
        let sw = sweeps(exp, &res);
        assert_eq!(sw.len(), 1);
        assert_eq!(sw[0].suffix, "");
        assert_eq!(sw[0].points.len(), 3);
    }

    #[test]
    fn max_abs_dev_propagates_nan() {
        let s = Series {
            name: "s".into(),
            label: "s".into(),
            condition: 0,
            x: None,
            curves: vec![vec![1.0, f64::NAN, 0.5]],
            stats: mean_sem(&[vec![1.0, 0.0, 0.5]]),
            rule_gains: vec![f64::NAN],
        };
        assert!(s.max_abs_dev().is_nan());
    }
}
