//! The figures of the Kim & Sejnowski reproduction: unit-timescale
//! histograms per task and τ regime (Kim & Sejnowski 2019, Fig. 4A),
//! network-mean timescales DMS vs Go-NoGo (Fig. 4B), an example network's
//! spontaneous raster, the cross-temporal discriminability maps (Fig. 3),
//! and the training curves (loss and mean τ^s per evaluation) of each task
//! and τ regime.

use std::path::Path;

use anyhow::Result;
use wm_plot::{Axes, BarGroup, ColorScale, Heatmap, Line, Raster, bar_chart, heatmap, line_plot};

use crate::kim_sejnowski::compute::{Example, Outcome};
use crate::kim_sejnowski::config::{KimSejnowskiConfig, KimTask, TauRegime};
use crate::kim_sejnowski::discrim::DiscrimResult;
use crate::kim_sejnowski::measures::{RegimeComparison, sample_sd, task_key};
use crate::kim_sejnowski::network::{NetworkOutcome, mean_median};
use crate::kim_sejnowski::report::fmt_p;

/// Draw every figure of `outcome` into `out`.
pub fn figures(cfg: &KimSejnowskiConfig, outcome: &Outcome, out: &Path) -> Result<()> {
    for cmp in &outcome.measures.regimes {
        let r = cmp.regime.name();
        for c in cmp
            .conditions
            .iter()
            .filter(|c| !c.unit_timescales_ms.is_empty())
        {
            let units = &c.unit_timescales_ms;
            histogram_figure(
                &out.join(format!("timescale_histogram_{}_{r}.png", task_key(c.task))),
                &format!(
                    "{} ({r} synaptic τ): {} units",
                    task_label(c.task),
                    units.len()
                ),
                units,
                &cfg.histogram_edges_ms,
            )?;
        }
        if cmp.dms_and_gonogo().is_some() {
            network_means_figure(&out.join(format!("network_timescales_{r}.png")), cmp)?;
        }
    }
    training_figures(cfg, &outcome.networks, out)?;
    if let Some(e) = &outcome.example {
        raster(out, e)?;
    }
    if let Some(d) = &outcome.discrim {
        discrim_figures(out, d)?;
    }
    Ok(())
}

/// Display name of a task.
fn task_label(task: KimTask) -> &'static str {
    match task {
        KimTask::Dms => "DMS",
        KimTask::GoNogo => "Go-NoGo",
    }
}

/// Counts of `values` in the bins of `edges` (the last bin closed).
fn histogram(values: &[f64], edges: &[f64]) -> Vec<usize> {
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
        let sd = if v.len() > 1 { sample_sd(v, m) } else { 0.0 };
        BarGroup {
            label: format!("{label} (n = {})", v.len()),
            value: if m.is_finite() { m } else { 0.0 },
            err: Some(sd),
            points: v.to_vec(),
        }
    };
    let title = match &cmp.t {
        Some(t) => format!(
            "Network-mean timescales, {} synaptic τ: t = {:.2}, p = {}",
            cmp.regime.name(),
            t.statistic,
            fmt_p(t.p_value)
        ),
        None => format!("Network-mean timescales, {} synaptic τ", cmp.regime.name()),
    };
    bar_chart(
        path,
        &Axes::new(&title, "task", "mean timescale (ms), ± s.d."),
        &[
            bar("Go-NoGo", cmp.network_means_ms(KimTask::GoNogo)),
            bar("DMS", cmp.network_means_ms(KimTask::Dms)),
        ],
    )?;
    Ok(())
}

/// Networks drawn per training figure (the legend's capacity).
const TRAINING_LINES: usize = 8;

/// `training_<task>_<regime>.png` (loss per evaluation) and, for τ^s
/// optimized, `tau_syn_<task>.png` (mean τ^s per evaluation, where it was
/// logged): one line per network, the first [`TRAINING_LINES`] of each task
/// and regime. Networks without a finite evaluation are left out.
fn training_figures(
    cfg: &KimSejnowskiConfig,
    networks: &[NetworkOutcome],
    out: &Path,
) -> Result<()> {
    for &task in &cfg.tasks {
        for &regime in &cfg.tau_regimes {
            let nets: Vec<&NetworkOutcome> = networks
                .iter()
                .filter(|n| {
                    n.spec.task == task
                        && n.spec.regime == regime
                        && n.training.iter().any(|e| e.loss.is_finite())
                })
                .collect();
            if nets.is_empty() {
                continue;
            }
            let shown = &nets[..nets.len().min(TRAINING_LINES)];
            let of = if shown.len() < nets.len() {
                format!(" (first {} of {})", shown.len(), nets.len())
            } else {
                String::new()
            };
            let lines = |y: &dyn Fn(&wm_rate_rnn::train::kim::KimEval) -> f64| -> Vec<Line> {
                shown
                    .iter()
                    .map(|n| Line {
                        name: format!("r{:03}", n.spec.replicate),
                        x: n.training.iter().map(|e| e.iteration as f64).collect(),
                        y: n.training.iter().map(y).collect(),
                        err: None,
                    })
                    .collect()
            };
            let (t, r) = (task_label(task), regime.name());
            line_plot(
                &out.join(format!("training_{}_{r}.png", task_key(task))),
                &Axes::new(
                    &format!("{t}, {r} synaptic τ: training loss{of}"),
                    "update",
                    "mean loss per trial",
                )
                .integer_x(),
                &lines(&|e| e.loss),
            )?;
            let tau_logged = shown
                .iter()
                .any(|n| n.training.iter().any(|e| e.mean_tau_syn_ms.is_some()));
            if regime == TauRegime::Optimized && tau_logged {
                line_plot(
                    &out.join(format!("tau_syn_{}.png", task_key(task))),
                    &Axes::new(
                        &format!("{t}: mean synaptic τ during training{of}"),
                        "update",
                        "mean synaptic τ (ms)",
                    )
                    .integer_x(),
                    &lines(&|e| e.mean_tau_syn_ms.unwrap_or(f64::NAN)),
                )?;
            }
        }
    }
    Ok(())
}

/// `example_raster.png`: trial 0 of the example's spontaneous activity.
fn raster(out: &Path, e: &Example) -> Result<()> {
    let trial = Raster {
        spikes: e.spikes.trial_spikes_ms(0),
        duration_ms: e.spikes.duration_ms(),
        n_units: e.spikes.n_units,
    };
    wm_plot::raster(
        &out.join("example_raster.png"),
        &format!(
            "{}: spontaneous activity, trial 0 (s = {}, {} spikes)",
            e.name,
            e.best_scale,
            trial.spikes.len()
        ),
        &trial,
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
