//! The reproduction's figures, drawn from the [`Outcome`]: per experiment
//! every curve (mean ± SEM band; the paper's Figs. 2–8, A2–A4), a zoom on
//! the curves that remember (the paper's Figs. 2C, 4B, 5B, 6A), end ratio
//! against the swept value, and the recorded units' rates (Fig. 2A/D).

use std::path::Path;

use anyhow::Result;
use wm_plot::{Axes, Line, line_plot};

use crate::federer_zylberberg::compute::{ExperimentResult, Outcome, Series, UnitRates};
use crate::federer_zylberberg::measures::sweeps;

/// Curves whose final mean ratio is at least this go into the zoomed figure
/// (the paper's Figs. 2C, 4B, 5B, 6A zoom on the networks that remember).
pub const ZOOM_ABOVE: f64 = 0.9;

/// One figure to draw: its file (relative to the results folder), axes and
/// lines.
struct Figure {
    file: String,
    axes: Axes,
    lines: Vec<Line>,
}

/// Draw every experiment's figures into `out`.
pub fn draw(outcome: &Outcome, out: &Path) -> Result<()> {
    for res in &outcome.experiments {
        for f in experiment_figures(res) {
            line_plot(&out.join(&f.file), &f.axes, &f.lines)?;
        }
    }
    Ok(())
}

/// The files [`draw`] writes for one experiment, relative to the results
/// folder, in the order REPORT.md shows them.
pub fn files(res: &ExperimentResult) -> Vec<String> {
    experiment_figures(res)
        .into_iter()
        .map(|f| f.file)
        .collect()
}

/// `<experiment>.png`, then `<experiment>_zoom.png` and
/// `<experiment>_sweep.png` where they apply, then one
/// `<experiment>_<condition>_rates.png` per recorded condition.
fn experiment_figures(res: &ExperimentResult) -> Vec<Figure> {
    let mut figures = vec![curves_figure(res)];
    figures.extend(zoom_figure(res));
    figures.extend(sweep_figure(res));
    figures.extend(res.unit_rates.iter().map(|u| rates_figure(res, u)));
    figures
}

/// A curve's mean ± SEM over the experiment's time axis.
fn band(res: &ExperimentResult, s: &Series) -> Line {
    Line {
        name: s.label.clone(),
        x: res.times_ms.clone(),
        y: s.stats.mean.clone(),
        err: Some(s.stats.sem.clone()),
    }
}

const Y_LABEL: &str = "ŝ(t)/ŝ(0)";

/// Every curve of the experiment, mean ± SEM band.
fn curves_figure(res: &ExperimentResult) -> Figure {
    let exp = &res.experiment;
    let title = format!(
        "{}: memory readout ŝ(t)/ŝ(0), mean ± SEM over {} networks",
        exp.figure,
        res.seeds.len()
    );
    Figure {
        file: format!("{}.png", exp.name),
        axes: Axes::new(&title, "time (ms)", Y_LABEL),
        lines: res.series.iter().map(|s| band(res, s)).collect(),
    }
}

/// The curves that end at or above [`ZOOM_ABOVE`], when some but not all do.
fn zoom_figure(res: &ExperimentResult) -> Option<Figure> {
    let exp = &res.experiment;
    let high: Vec<Line> = res
        .series
        .iter()
        .filter(|s| s.end() >= ZOOM_ABOVE)
        .map(|s| band(res, s))
        .collect();
    if high.is_empty() || high.len() == res.series.len() {
        return None;
    }
    let title = format!(
        "{}: memory readout ŝ(t)/ŝ(0) of the curves ending above {ZOOM_ABOVE}",
        exp.figure
    );
    Some(Figure {
        file: format!("{}_zoom.png", exp.name),
        axes: Axes::new(&title, "time (ms)", Y_LABEL),
        lines: high,
    })
}

/// End ratio ± SEM against the swept value, one line per kind of curve, for
/// an experiment whose conditions are a sweep.
fn sweep_figure(res: &ExperimentResult) -> Option<Figure> {
    let exp = &res.experiment;
    let sw = sweeps(res);
    if sw.is_empty() {
        return None;
    }
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
    let x_label = if exp.x_label.is_empty() {
        "x"
    } else {
        &exp.x_label
    };
    let title = format!(
        "{}: final memory readout ŝ(end)/ŝ(0) against {x_label} (mean ± SEM)",
        exp.figure
    );
    Some(Figure {
        file: format!("{}_sweep.png", exp.name),
        axes: Axes::new(&title, x_label, "ŝ(end)/ŝ(0)"),
        lines,
    })
}

/// Fig. 2A/D: the recorded units' rates of one condition's first network,
/// with ŝ at the start, middle and end in the title.
fn rates_figure(res: &ExperimentResult, u: &UnitRates) -> Figure {
    let exp = &res.experiment;
    let c = &exp.conditions[u.condition];
    let trace = &u.trace;
    let times = trace.times_ms();
    let s_hat = &trace.s_hat[0];
    let lines: Vec<Line> = trace
        .units
        .iter()
        .enumerate()
        .map(|(k, unit)| Line {
            name: format!("unit {unit}"),
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
    Figure {
        file: format!("{}_{}_rates.png", exp.name, c.name),
        axes: Axes::new(&title, "time (ms)", "rate r = [a]+"),
        lines,
    }
}
