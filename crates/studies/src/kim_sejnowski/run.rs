//! The whole Kim & Sejnowski reproduction: train every network (one per
//! core), convert to LIF, fit unit timescales, compare DMS with Go-NoGo,
//! cross-temporal discriminability, figures, `summary.toml` and `REPORT.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use rayon::prelude::*;
use wm_analysis::stats::ttest_student;
use wm_plot::{Axes, BarGroup, ColorScale, Heatmap, Raster, bar_chart, heatmap, raster};
use wm_spiking::RateArrays;

use crate::io::{Provenance, write_atomic, write_csv, write_toml};
use crate::kim_sejnowski::config::{KimSejnowskiConfig, KimTask, TauRegime};
use crate::kim_sejnowski::discrim::{DiscrimResult, discriminability};
use crate::kim_sejnowski::network::{
    NetworkOutcome, UnitRow, expand, mean_median, run_network, spontaneous,
};
use crate::kim_sejnowski::report::{RegimeComparison, fmt_p, report_markdown};
use crate::regress::Summary;

/// Study name in `summary.toml` and `run.toml`.
pub const STUDY: &str = "kim-sejnowski";

/// Run the reproduction described by `cfg` (read from `config_path`) into `out`.
pub fn run(
    cfg: &KimSejnowskiConfig,
    scale: &str,
    config_path: &Path,
    out: &Path,
) -> Result<Summary> {
    run_with_progress(cfg, scale, config_path, out, &|_| {})
}

/// Networks the run trains and analyses (for progress bars).
pub fn total_networks(cfg: &KimSejnowskiConfig) -> usize {
    expand(cfg).len()
}

/// Key of a task in statistic names (`dms`, `gonogo`).
pub fn task_key(task: KimTask) -> &'static str {
    match task {
        KimTask::Dms => "dms",
        KimTask::GoNogo => "gonogo",
    }
}

/// [`run`], telling `progress` each time a network is finished.
pub fn run_with_progress(
    cfg: &KimSejnowskiConfig,
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
    let specs = expand(cfg);
    tracing::info!(
        networks = specs.len(),
        threads = cfg.threads,
        "training and converting the networks"
    );
    let pool = crate::io::network_pool(cfg.threads)?;
    let done = AtomicUsize::new(0);
    let total = specs.len();
    let net_dir = |name: String| out.join("networks").join(name);
    let outcomes: Vec<NetworkOutcome> = pool.install(|| {
        specs
            .par_iter()
            .map(|s| {
                let o = run_network(s, cfg, &net_dir(s.dir_name()))?;
                let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                let r = &o.row;
                tracing::info!(
                    "network {k}/{total} {}: {} updates (converged {}), rate acc {:.2}, s = {}, \
                     LIF acc {:.2}, {} units fitted, mean timescale {:.1} ms ({:.0} + {:.0} s)",
                    s.dir_name(),
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
                progress(1);
                Ok(o)
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let rows: Vec<_> = outcomes.iter().map(|o| o.row.clone()).collect();
    write_csv(&out.join("networks.csv"), &rows)?;
    let all_units: Vec<UnitRow> = outcomes.iter().flat_map(|o| o.units.clone()).collect();
    write_csv(&out.join("timescales.csv"), &all_units)?;

    let mut stats: BTreeMap<String, f64> = BTreeMap::new();
    let n = rows.len() as f64;
    let kept: Vec<&NetworkOutcome> = outcomes.iter().filter(|o| o.row.included).collect();
    stats.insert("n_networks_trained".into(), n);
    stats.insert(
        "n_networks_converged".into(),
        rows.iter().filter(|r| r.converged).count() as f64,
    );
    stats.insert("n_networks_kept".into(), kept.len() as f64);
    let mean_of = |f: &dyn Fn(&crate::kim_sejnowski::network::NetworkRow) -> f64| {
        mean_median(&rows.iter().map(f).collect::<Vec<_>>()).0
    };
    stats.insert("mean_rate_accuracy".into(), mean_of(&|r| r.rate_accuracy));
    stats.insert("mean_lif_accuracy".into(), mean_of(&|r| r.lif_accuracy));
    // Kept DMS networks scored on the long-delay timeline of the
    // cross-temporal analysis (trained on their own, possibly shorter, delay).
    for (key, of) in [
        (
            "mean_rate_accuracy_long_delay_dms",
            (|r: &crate::kim_sejnowski::network::NetworkRow| r.rate_accuracy_long_delay)
                as fn(&_) -> f64,
        ),
        ("mean_lif_accuracy_long_delay_dms", |r| {
            r.lif_accuracy_long_delay
        }),
    ] {
        let v: Vec<f64> = kept
            .iter()
            .map(|o| of(&o.row))
            .filter(|v| v.is_finite())
            .collect();
        if !v.is_empty() {
            stats.insert(key.into(), v.iter().sum::<f64>() / v.len() as f64);
        }
    }
    stats.insert(
        "min_lif_accuracy_kept".into(),
        kept.iter()
            .map(|o| o.row.lif_accuracy)
            .reduce(f64::min)
            .unwrap_or(f64::NAN),
    );
    stats.insert("mean_best_scale".into(), mean_of(&|r| r.best_scale));
    stats.insert("mean_firing_rate_hz".into(), mean_of(&|r| r.mean_rate_hz));
    stats.insert("mean_iterations".into(), mean_of(&|r| r.iterations as f64));
    let kept_units = |task: Option<KimTask>, regime: Option<TauRegime>| -> Vec<f64> {
        kept.iter()
            .filter(|o| task.is_none_or(|t| o.spec.task == t))
            .filter(|o| regime.is_none_or(|m| o.spec.regime == m))
            .flat_map(|o| o.units.iter())
            .filter(|u| u.rate_hz <= cfg.timescale.max_rate_hz)
            .filter_map(|u| u.timescale_ms)
            .collect()
    };
    let all_fitted = kept_units(None, None);
    stats.insert("n_units_fitted".into(), all_fitted.len() as f64);
    if !all_fitted.is_empty() {
        let (lo, hi) = all_fitted
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &t| {
                (a.min(t), b.max(t))
            });
        stats.insert("min_unit_timescale_ms".into(), lo);
        stats.insert("max_unit_timescale_ms".into(), hi);
        stats.insert(
            "median_unit_timescale_ms".into(),
            mean_median(&all_fitted).1,
        );
    }
    let total_units: usize = kept.iter().map(|o| o.units.len()).sum();
    if total_units > 0 {
        stats.insert(
            "fraction_units_fitted".into(),
            all_fitted.len() as f64 / total_units as f64,
        );
    }

    // DMS vs Go-NoGo, per τ regime.
    let mut comparisons = Vec::new();
    for &regime in &cfg.tau_regimes {
        let r = regime.name();
        let mut per_task: Vec<(KimTask, Vec<f64>, Vec<f64>)> = Vec::new();
        for &task in &cfg.tasks {
            let k = task_key(task);
            let means: Vec<f64> = kept
                .iter()
                .filter(|o| o.spec.task == task && o.spec.regime == regime)
                .map(|o| o.row.mean_timescale_ms)
                .filter(|m| m.is_finite())
                .collect();
            let units = kept_units(Some(task), Some(regime));
            stats.insert(format!("n_kept_{k}_{r}"), means.len() as f64);
            stats.insert(format!("n_units_fitted_{k}_{r}"), units.len() as f64);
            if !means.is_empty() {
                let (m, _) = mean_median(&means);
                stats.insert(format!("mean_timescale_{k}_{r}_ms"), m);
                if means.len() > 1 {
                    let sd = (means.iter().map(|x| (x - m).powi(2)).sum::<f64>()
                        / (means.len() - 1) as f64)
                        .sqrt();
                    stats.insert(format!("sd_timescale_{k}_{r}_ms"), sd);
                }
            }
            if !units.is_empty() {
                stats.insert(
                    format!("median_unit_timescale_{k}_{r}_ms"),
                    mean_median(&units).1,
                );
                histogram_figure(
                    &out.join(format!("timescale_histogram_{k}_{r}.png")),
                    &format!("{} ({r} τ^s): {} units", task_label(task), units.len()),
                    &units,
                    &cfg.histogram_edges_ms,
                )?;
            }
            per_task.push((task, means, units));
        }
        let dms = per_task.iter().find(|p| p.0 == KimTask::Dms);
        let gng = per_task.iter().find(|p| p.0 == KimTask::GoNogo);
        let mut cmp = RegimeComparison {
            regime,
            dms: dms.map(|p| p.1.clone()).unwrap_or_default(),
            gonogo: gng.map(|p| p.1.clone()).unwrap_or_default(),
            t: None,
        };
        if let (Some(d), Some(g)) = (dms, gng) {
            if !d.1.is_empty() && !g.1.is_empty() {
                stats.insert(
                    format!("timescale_diff_{r}_ms"),
                    mean_median(&d.1).0 - mean_median(&g.1).0,
                );
            }
            if !d.2.is_empty() && !g.2.is_empty() {
                stats.insert(
                    format!("median_unit_diff_{r}_ms"),
                    mean_median(&d.2).1 - mean_median(&g.2).1,
                );
            }
            match ttest_student(&d.1, &g.1) {
                Ok(t) => {
                    stats.insert(format!("timescale_t_{r}"), t.statistic);
                    stats.insert(format!("timescale_df_{r}"), t.df);
                    stats.insert(format!("timescale_p_{r}"), t.p_value);
                    cmp.t = Some(t);
                }
                Err(e) => tracing::warn!("no t-test for the {r} regime: {e}"),
            }
            network_means_figure(&out.join(format!("network_timescales_{r}.png")), &cmp)?;
        }
        comparisons.push(cmp);
    }

    // An example network's spontaneous spikes.
    let weights_of = |o: &NetworkOutcome| net_dir(o.spec.dir_name()).join("weights.safetensors");
    let example = kept
        .iter()
        .copied()
        .find(|o| o.spec.task == KimTask::Dms)
        .or_else(|| outcomes.first());
    if let Some(o) = example {
        let arrays = RateArrays::from_safetensors(&weights_of(o))?;
        let net = arrays.to_lif::<f64>(o.row.best_scale, &cfg.lif)?;
        let spikes = pool.install(|| spontaneous(cfg, &net, o.spec.seed))?;
        spikes.write_csv(&out.join("example_spikes.csv"))?;
        spikes.write_safetensors(&out.join("example_spikes.safetensors"))?;
        let trial = Raster {
            spikes: spikes.trial_spikes_ms(0),
            duration_ms: spikes.duration_ms(),
            n_units: spikes.n_units,
        };
        raster(
            &out.join("example_raster.png"),
            &format!(
                "{}: spontaneous activity, trial 0 (s = {}, {} spikes)",
                o.spec.dir_name(),
                o.row.best_scale,
                trial.spikes.len()
            ),
            &trial,
        )?;
    }

    // Cross-temporal discriminability of long vs short units (DMS).
    let mut discrim: Option<DiscrimResult> = None;
    if cfg.discriminability.enabled {
        let regime = if cfg.tau_regimes.contains(&TauRegime::Optimized) {
            TauRegime::Optimized
        } else {
            cfg.tau_regimes[0]
        };
        let nets: Vec<(&NetworkOutcome, PathBuf)> = kept
            .iter()
            .filter(|o| o.spec.task == KimTask::Dms && o.spec.regime == regime)
            .map(|o| (*o, weights_of(o)))
            .collect();
        if !nets.is_empty() {
            discrim = pool.install(|| discriminability(cfg, &nets))?;
        }
        if let Some(d) = &discrim {
            let alpha = cfg.discriminability.alpha;
            stats.insert("discrim_n_long_units".into(), d.n_long as f64);
            stats.insert("discrim_n_short_units".into(), d.n_short as f64);
            stats.insert("discrim_long_threshold_ms".into(), d.long_threshold_ms);
            stats.insert("discrim_short_threshold_ms".into(), d.short_threshold_ms);
            stats.insert("discrim_mean_z_delay_long".into(), d.mean_z_delay_long);
            stats.insert("discrim_mean_z_delay_short".into(), d.mean_z_delay_short);
            let pos: Vec<_> = d.test.clusters.iter().filter(|c| c.sign > 0).collect();
            stats.insert(
                "discrim_n_significant_long_clusters".into(),
                pos.iter().filter(|c| c.p_value <= alpha).count() as f64,
            );
            stats.insert(
                "discrim_min_cluster_p_long".into(),
                pos.iter().map(|c| c.p_value).fold(1.0, f64::min),
            );
            discrim_figures(out, d)?;
        }
    }

    let summary = Summary {
        study: STUDY.into(),
        scale: scale.into(),
        statistics: stats,
    };
    write_toml(&out.join("summary.toml"), &summary)?;
    let report = report_markdown(cfg, scale, &summary.statistics, &comparisons, &discrim);
    write_atomic(&out.join("REPORT.md"), report.as_bytes())?;
    tracing::info!(out = %out.display(), "kim-sejnowski done: summary.toml, networks.csv, timescales.csv, REPORT.md and figures written");
    Ok(summary)
}

/// Display name of a task.
pub fn task_label(task: KimTask) -> &'static str {
    match task {
        KimTask::Dms => "DMS",
        KimTask::GoNogo => "Go-NoGo",
    }
}

/// Counts of `values` in the bins of `edges` (the last bin closed).
pub fn histogram(values: &[f64], edges: &[f64]) -> Vec<usize> {
    let k = edges.len().saturating_sub(1);
    let mut c = vec![0; k];
    for &v in values {
        if let Some(i) = (0..k)
            .find(|&i| v >= edges[i] && (v < edges[i + 1] || (i + 1 == k && v <= edges[i + 1])))
        {
            c[i] += 1;
        }
    }
    c
}

fn histogram_figure(path: &Path, title: &str, values: &[f64], edges: &[f64]) -> Result<()> {
    let counts = histogram(values, edges);
    let median = mean_median(values).1;
    wm_plot::histogram(
        path,
        &Axes::new(
            &format!("{title}, median {median:.0} ms"),
            "autocorrelation timescale (ms)",
            "units",
        ),
        edges,
        &counts,
    )?;
    Ok(())
}

fn network_means_figure(path: &Path, cmp: &RegimeComparison) -> Result<()> {
    let bar = |label: &str, v: &[f64]| {
        let (m, _) = mean_median(v);
        let sd = if v.len() > 1 {
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        } else {
            0.0
        };
        BarGroup {
            label: format!("{label} (n = {})", v.len()),
            value: if m.is_finite() { m } else { 0.0 },
            err: Some(sd),
            points: v.to_vec(),
        }
    };
    let title = match &cmp.t {
        Some(t) => format!(
            "Network-mean timescales, {} τ^s: t = {:.2}, p = {}",
            cmp.regime.name(),
            t.statistic,
            fmt_p(t.p_value)
        ),
        None => format!("Network-mean timescales, {} τ^s", cmp.regime.name()),
    };
    bar_chart(
        path,
        &Axes::new(&title, "task", "mean timescale (ms), ± s.d."),
        &[bar("Go-NoGo", &cmp.gonogo), bar("DMS", &cmp.dms)],
    )?;
    Ok(())
}

fn discrim_figures(out: &Path, d: &DiscrimResult) -> Result<()> {
    let t0 = d.time_ms.first().copied().unwrap_or(0.0);
    let t1 = d.time_ms.last().copied().unwrap_or(1.0);
    let rows = |m: &ndarray::Array2<f64>| -> Vec<Vec<f64>> {
        m.rows()
            .into_iter()
            .map(|r| {
                r.iter()
                    .map(|v| if v.is_finite() { *v } else { 0.0 })
                    .collect()
            })
            .collect()
    };
    let hi = d
        .z_long
        .iter()
        .chain(d.z_short.iter())
        .filter(|v| v.is_finite())
        .fold(0.1f64, |a, &b| a.max(b));
    for (name, m, scale, value_label) in [
        (
            "long",
            &d.z_long,
            ColorScale::Sequential { lo: 0.0, hi },
            "Fisher z",
        ),
        (
            "short",
            &d.z_short,
            ColorScale::Sequential { lo: 0.0, hi },
            "Fisher z",
        ),
        (
            "long_minus_short",
            &d.test.observed,
            ColorScale::diverging_from(d.test.observed.iter().copied()),
            "Δ Fisher z (long − short)",
        ),
    ] {
        let n = match name {
            "long" => format!("{} long-τ units", d.n_long),
            "short" => format!("{} short-τ units", d.n_short),
            _ => "long − short".to_string(),
        };
        heatmap(
            &out.join(format!("discriminability_{name}.png")),
            &Axes::new(
                &format!("Cross-temporal discriminability (Fisher z), {n}"),
                "t2, half B (ms from s1 onset)",
                "t1, half A (ms from s1 onset)",
            ),
            &Heatmap {
                values: rows(m),
                x_extent: (t0, t1),
                y_extent: (t0, t1),
                scale,
                value_label: value_label.into(),
            },
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bins_are_half_open_except_the_last() {
        let edges = [0.0, 50.0, 100.0];
        assert_eq!(
            histogram(&[0.0, 49.9, 50.0, 100.0, 100.1, -1.0], &edges),
            vec![2, 2]
        );
    }
}
