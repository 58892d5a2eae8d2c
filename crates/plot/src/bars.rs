//! Bar charts with error bars (e.g. SI by task) and histograms.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::backend::{DrawResult, render};
use crate::style::{FIGURE_PX, Grid, chart, draw_mesh, titled};
use crate::{Axes, PALETTE, PlotError, Result, padded_range};

/// One bar: a category, its value and an optional ± error (e.g. SEM).
#[derive(Debug, Clone)]
pub struct BarGroup {
    /// Category label on the x axis.
    pub label: String,
    /// Bar height.
    pub value: f64,
    /// Error-bar half-width.
    pub err: Option<f64>,
    /// Individual observations drawn as dots over the bar (may be empty).
    pub points: Vec<f64>,
}

/// Draw one bar per group, in the given order, to `path`.
pub fn bar_chart(path: &Path, axes: &Axes, bars: &[BarGroup]) -> Result<()> {
    let ys = bars.iter().flat_map(|b| {
        let e = b.err.unwrap_or(0.0);
        let mut v = vec![0.0, b.value - e, b.value + e];
        v.extend(&b.points);
        v
    });
    let y_range = padded_range(ys.clone(), 0.08)
        .filter(|_| !bars.is_empty())
        .map(|r| from_zero(r, ys))
        .ok_or_else(|| PlotError::Data {
            path: path.into(),
            reason: "no finite bar".into(),
        })?;
    render(
        path,
        FIGURE_PX,
        |r| draw(r, axes, bars, y_range),
        |r| draw(r, axes, bars, y_range),
    )
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    axes: &Axes,
    bars: &[BarGroup],
    (y0, y1): (f64, f64),
) -> DrawResult {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let n = bars.len();
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    let area = titled(root, &axes.title)?;
    let mut chart = chart(&area, (-0.5, n as f64 - 0.5), (y0, y1))?;
    let category = |x: f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            labels.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    // One tick per bar: the categories are integers 0..n on the x axis.
    let axes = axes.clone().integer_x();
    draw_mesh(&mut chart, &axes, Grid::YOnly, Some(&category))?;
    for (i, b) in bars.iter().enumerate() {
        let (r, g, bl) = PALETTE[i % PALETTE.len()];
        let color = RGBColor(r, g, bl);
        let x = i as f64;
        if b.value.is_finite() {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.35, 0.0), (x + 0.35, b.value)],
                    color.mix(0.6).filled(),
                )))
                .map_err(e)?;
        }
        if let Some(err) = b.err.filter(|e| e.is_finite()) {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, b.value - err), (x, b.value + err)],
                    BLACK.stroke_width(3),
                )))
                .map_err(e)?;
        }
        let k = b.points.len().max(1) as f64;
        chart
            .draw_series(
                b.points
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(j, &v)| {
                        let jitter = 0.25 * ((j as f64 + 0.5) / k - 0.5);
                        Circle::new((x + jitter, v), 5, BLACK.mix(0.7).filled())
                    }),
            )
            .map_err(e)?;
    }
    Ok(())
}

/// `range` with its lower end at exactly 0 when no value of `ys` is
/// negative (and its upper end at 0 when none is positive): bars grow from
/// the axis, not from a padded gap below it.
fn from_zero((lo, hi): (f64, f64), ys: impl Iterator<Item = f64>) -> (f64, f64) {
    let (min, max) = ys
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    (
        if min >= 0.0 { 0.0 } else { lo },
        if max <= 0.0 { 0.0 } else { hi },
    )
}

/// Draw a histogram: `counts[i]` observations in the bin
/// `edges[i]..edges[i + 1]`, as adjoining bars of one colour on a real x
/// axis; the y axis (a count) gets integer ticks.
pub fn histogram(path: &Path, axes: &Axes, edges: &[f64], counts: &[usize]) -> Result<()> {
    let data_err = |reason: String| PlotError::Data {
        path: path.into(),
        reason,
    };
    if counts.is_empty() || edges.len() != counts.len() + 1 {
        return Err(data_err(format!(
            "{} bin edges for {} counts: need one edge more than counts, and at least one count",
            edges.len(),
            counts.len()
        )));
    }
    if edges.iter().any(|e| !e.is_finite()) || edges.windows(2).any(|w| w[0] >= w[1]) {
        return Err(data_err(format!(
            "bin edges {edges:?} must be finite and strictly increasing"
        )));
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let axes = axes.clone().integer_y();
    let x_range = (edges[0], edges[edges.len() - 1]);
    let y_range = (0.0, top * 1.08);
    render(
        path,
        FIGURE_PX,
        |r| draw_histogram(r, &axes, edges, counts, x_range, y_range),
        |r| draw_histogram(r, &axes, edges, counts, x_range, y_range),
    )
}

fn draw_histogram<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    axes: &Axes,
    edges: &[f64],
    counts: &[usize],
    x_range: (f64, f64),
    y_range: (f64, f64),
) -> DrawResult {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let area = titled(root, &axes.title)?;
    let mut chart = chart(&area, x_range, y_range)?;
    draw_mesh(&mut chart, axes, Grid::YOnly, None)?;
    let (r, g, b) = PALETTE[0];
    let color = RGBColor(r, g, b);
    chart
        .draw_series(counts.iter().enumerate().map(|(i, &c)| {
            Rectangle::new(
                [(edges[i], 0.0), (edges[i + 1], c as f64)],
                color.mix(0.75).filled(),
            )
        }))
        .map_err(e)?;
    chart
        .draw_series(counts.iter().enumerate().map(|(i, &c)| {
            Rectangle::new(
                [(edges[i], 0.0), (edges[i + 1], c as f64)],
                WHITE.stroke_width(1),
            )
        }))
        .map_err(e)?;
    Ok(())
}
