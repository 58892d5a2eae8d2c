//! The figures of each condition (`<name>_<condition>.png`): normalised
//! PSTHs and saccade endpoints by stage (Xie et al. 2022, Figs. 2–3), the
//! per-unit rate–behaviour r, the Fano factor and the rate–behaviour r by
//! tuning position (Fig. 5), the activity heat map (Fig. 4) and the sorted
//! recurrent weights (Fig. 5A).

use std::path::Path;

use anyhow::Result;
use wm_plot::{Axes, ColorScale, Heatmap, Line, heatmap, histogram, line_plot};

use crate::xie::config::{HeatmapSort, XieConfig};
use crate::xie::measures::{
    ActivityMeasures, BehaviourMeasures, ConditionMeasures, ENDPOINT_BINS, Outcome,
};
use crate::xie::train::task_options;

/// Draw every condition's figures into `out`.
pub fn draw(cfg: &XieConfig, outcome: &Outcome, out: &Path) -> Result<()> {
    let dt_s = task_options(cfg).dt_ms / 1000.0;
    for c in &outcome.conditions {
        let k = c.condition.name();
        stage_figures(c, dt_s, out)?;
        if let Some(b) = &c.behaviour {
            behaviour_figures(k, b, out)?;
        }
        if let Some(a) = &c.activity {
            activity_figure(k, a, cfg.heatmap_sort, dt_s, out)?;
        }
        if let Some(w) = &c.weights {
            let n = w.values.len() as f64;
            heatmap(
                &out.join(format!("w_rec_sorted_{k}.png")),
                &Axes::new(
                    &format!("W_rec sorted by preferred cue location ({k} delay)"),
                    "presynaptic unit (sorted)",
                    "postsynaptic unit (sorted)",
                )
                .integer_x()
                .integer_y(),
                &Heatmap {
                    values: w.values.clone(),
                    x_extent: (-0.5, n - 0.5),
                    y_extent: (-0.5, n - 0.5),
                    scale: ColorScale::diverging_from(w.values.iter().flatten().copied()),
                    value_label: "recurrent weight W_rec".into(),
                },
            )?;
        }
    }
    Ok(())
}

/// The PSTHs and endpoint histograms of the stages with checkpoints (none
/// drawn when no stage has one).
fn stage_figures(c: &ConditionMeasures, dt_s: f64, out: &Path) -> Result<()> {
    let k = c.condition.name();
    let mut psth_lines = Vec::new();
    let mut endpoint_lines = Vec::new();
    for st in &c.stages {
        let Some(p) = &st.pooled else {
            continue;
        };
        let s = st.stage.name();
        for (label, y) in [("correct", &p.psth_correct), ("error", &p.psth_error)] {
            psth_lines.push(Line {
                name: format!("{s}, {label}"),
                x: (0..y.len()).map(|t| t as f64 * dt_s).collect(),
                y: y.clone(),
                err: None,
            });
        }
        for (label, h) in [
            ("correct", &p.endpoints_correct),
            ("error", &p.endpoints_error),
        ] {
            if let Some(h) = h {
                endpoint_lines.push(Line {
                    name: format!("{s}, {label}"),
                    x: (0..ENDPOINT_BINS)
                        .map(|b| (b as f64 + 0.5) * 180.0 / ENDPOINT_BINS as f64)
                        .collect(),
                    y: h.density.clone(),
                    err: None,
                });
            }
        }
    }
    if psth_lines.is_empty() {
        return Ok(());
    }
    line_plot(
        &out.join(format!("psth_{k}.png")),
        &Axes::new(
            &format!("Normalised PSTH at the preferred location ({k} delay)"),
            "time from trial start (s)",
            "rate / baseline − 1",
        ),
        &psth_lines,
    )?;
    line_plot(
        &out.join(format!("endpoints_{k}.png")),
        &Axes::new(
            &format!("Saccade endpoints ({k} delay)"),
            "distance from the cue (deg)",
            "fraction of trials",
        ),
        &endpoint_lines,
    )?;
    Ok(())
}

/// The per-unit r histogram, the Fano factor and the r by tuning position.
fn behaviour_figures(k: &str, b: &BehaviourMeasures, out: &Path) -> Result<()> {
    let edges: Vec<f64> = (0..=10).map(|b| -1.0 + 0.2 * b as f64).collect();
    let counts: Vec<usize> = edges
        .windows(2)
        .map(|w| {
            b.per_unit_r
                .iter()
                .filter(|&&r| r >= w[0] && (r < w[1] || w[1] >= 1.0))
                .count()
        })
        .collect();
    histogram(
        &out.join(format!("rate_behaviour_r_{k}.png")),
        &Axes::new(
            &format!("Rate–behaviour correlation per delay unit ({k} delay)"),
            "Pearson r (signed saccade deviation vs rate deviation)",
            "units",
        ),
        &edges,
        &counts,
    )?;
    line_plot(
        &out.join(format!("fano_{k}.png")),
        &Axes::new(
            &format!("Fano factor, last 1 s of delay ({k} delay)"),
            "location relative to the preferred one (deg)",
            "Fano factor (rates ×50)",
        ),
        &[Line {
            name: "mean over networks".into(),
            x: b.positions_deg.clone(),
            y: b.fano_by_position.clone(),
            err: Some(b.fano_sem.clone()),
        }],
    )?;
    line_plot(
        &out.join(format!("rate_behaviour_by_position_{k}.png")),
        &Axes::new(
            &format!("Rate–behaviour r across units by tuning position ({k} delay)"),
            "location relative to the preferred one (deg)",
            "Pearson r across units",
        ),
        &[Line {
            name: "mean over networks".into(),
            x: b.positions_deg.clone(),
            y: b.r_by_position.clone(),
            err: None,
        }],
    )?;
    Ok(())
}

/// The activity heat map (Xie et al. 2022, Fig. 4).
fn activity_figure(
    k: &str,
    a: &ActivityMeasures,
    sort: HeatmapSort,
    dt_s: f64,
    out: &Path,
) -> Result<()> {
    let m = &a.map;
    let steps = m.rows.first().map_or(0, Vec::len);
    heatmap(
        &out.join(format!("activity_sorted_{k}.png")),
        &Axes::new(
            &format!(
                "Rates with the cue at {:.0}°, units sorted by preferred {} location ({k} delay){}",
                m.shown_location as f64 * 360.0 / m.n_locations as f64,
                match sort {
                    HeatmapSort::DelayPeak => "delay",
                    HeatmapSort::CuePreference => "cue",
                },
                if m.shown_trials == 0 {
                    ": no correct trial"
                } else {
                    ""
                }
            ),
            "time from trial start (s)",
            "unit (sorted by preferred location)",
        )
        .integer_y(),
        &Heatmap {
            values: m.rows.clone(),
            x_extent: (0.0, steps as f64 * dt_s),
            y_extent: (-0.5, m.rows.len() as f64 - 0.5),
            scale: ColorScale::Sequential { lo: 0.0, hi: 1.0 },
            value_label: "rate / peak delay rate (grey: no peak > 0)".into(),
        },
    )?;
    Ok(())
}
