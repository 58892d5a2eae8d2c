//! Bar charts with error bars (e.g. SI by task).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::backend::{DrawResult, render};
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
    let y_range = padded_range(ys, 0.08)
        .filter(|_| !bars.is_empty())
        .ok_or_else(|| PlotError::Data {
            path: path.into(),
            reason: "no finite bar".into(),
        })?;
    render(
        path,
        (900, 600),
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
    let mut chart = ChartBuilder::on(root)
        .caption(&axes.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), y0..y1)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc(&axes.x_label)
        .y_desc(&axes.y_label)
        .draw()
        .map_err(e)?;
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
                    BLACK.stroke_width(2),
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
                        Circle::new((x + jitter, v), 3, BLACK.mix(0.7).filled())
                    }),
            )
            .map_err(e)?;
    }
    Ok(())
}
