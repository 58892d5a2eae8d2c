//! Heat maps: activity sorted by peak time, weight and interaction matrices,
//! parameter grids.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::backend::{DrawResult, render};
use crate::style::{
    AXIS_LABEL_FONT_PX, FIGURE_PX, FONT, Grid, MARGIN_PX, MAX_TICKS, TICK_FONT_PX, TICK_MARK_PX,
    Ticks, X_LABEL_AREA_PX, chart, draw_mesh, titled,
};
use crate::{Axes, PlotError, Result};

/// How values map to colours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColorScale {
    /// Viridis from `lo` (dark) to `hi` (yellow).
    Sequential {
        /// Value drawn darkest.
        lo: f64,
        /// Value drawn brightest.
        hi: f64,
    },
    /// Blue–white–red, symmetric about 0, saturating at ±`limit`.
    Diverging {
        /// Absolute value drawn fully saturated.
        limit: f64,
    },
}

impl ColorScale {
    /// Viridis over the finite range of `values` (`[0, 1]` if none is finite).
    pub fn sequential_from(values: impl IntoIterator<Item = f64>) -> Self {
        let (lo, hi) = values
            .into_iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        if lo.is_finite() && hi > lo {
            Self::Sequential { lo, hi }
        } else {
            Self::Sequential { lo: 0.0, hi: 1.0 }
        }
    }

    /// Blue–white–red saturating at the largest finite |value|.
    pub fn diverging_from(values: impl IntoIterator<Item = f64>) -> Self {
        let m = values
            .into_iter()
            .filter(|v| v.is_finite())
            .fold(0.0_f64, |a, v| a.max(v.abs()));
        Self::Diverging {
            limit: if m > 0.0 { m } else { 1.0 },
        }
    }

    fn color(self, v: f64) -> RGBColor {
        if !v.is_finite() {
            return RGBColor(200, 200, 200);
        }
        match self {
            ColorScale::Sequential { lo, hi } => {
                let h = ((v - lo) / (hi - lo)).clamp(0.0, 1.0) as f32;
                ViridisRGB.get_color(h)
            }
            ColorScale::Diverging { limit } => {
                let h = (v / limit).clamp(-1.0, 1.0);
                let (r, g, b) = if h < 0.0 {
                    (33.0, 102.0, 172.0)
                } else {
                    (178.0, 24.0, 43.0)
                };
                let a = h.abs();
                let mix = |c: f64| (255.0 + a * (c - 255.0)).round() as u8;
                RGBColor(mix(r), mix(g), mix(b))
            }
        }
    }
}

/// A matrix to draw: `values[row][col]`, row 0 at the top.
#[derive(Debug, Clone)]
pub struct Heatmap {
    /// Row-major values; every row has the same length.
    pub values: Vec<Vec<f64>>,
    /// x extent `(left, right)` in data units (columns span it evenly); for
    /// an index axis, `(-0.5, n - 0.5)` puts tick `k` on column `k`'s centre.
    pub x_extent: (f64, f64),
    /// y extent `(top, bottom)` in data units (rows span it evenly).
    pub y_extent: (f64, f64),
    /// Colour mapping.
    pub scale: ColorScale,
    /// What a colour means, with units: the colour bar's label (e.g.
    /// `"rate (Hz)"`, `"weight"`, `"Fisher z"`). Required: empty is an error.
    pub value_label: String,
}

/// Width of the colour bar's area right of the heat map: bar, ticks and label, pixels.
const COLORBAR_AREA_PX: u32 = 170;
/// Width of the colour bar itself, pixels.
const COLORBAR_PX: u32 = 28;

/// Draw a heat map with a labelled colour bar to `path`.
pub fn heatmap(path: &Path, axes: &Axes, map: &Heatmap) -> Result<()> {
    let rows = map.values.len();
    let cols = map.values.first().map_or(0, Vec::len);
    let data_err = |reason: &str| PlotError::Data {
        path: path.into(),
        reason: reason.into(),
    };
    if rows == 0 || cols == 0 || map.values.iter().any(|r| r.len() != cols) {
        return Err(data_err("empty or ragged matrix"));
    }
    if map.value_label.trim().is_empty() {
        return Err(data_err(
            "the colour bar has no label: name the quantity and its units (e.g. \"rate (Hz)\")",
        ));
    }
    render(
        path,
        FIGURE_PX,
        |r| draw(r, axes, map),
        |r| draw(r, axes, map),
    )
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    axes: &Axes,
    map: &Heatmap,
) -> DrawResult {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let area = titled(root, &axes.title)?;
    let (main, bar) =
        area.split_horizontally(area.dim_in_pixel().0.saturating_sub(COLORBAR_AREA_PX));
    let rows = map.values.len();
    let cols = map.values[0].len();
    let (x0, x1) = map.x_extent;
    let (yt, yb) = map.y_extent;
    let mut chart = chart(&main, (x0, x1), (yb, yt))?;
    draw_mesh(&mut chart, axes, Grid::None, None)?;
    let dx = (x1 - x0) / cols as f64;
    let dy = (yb - yt) / rows as f64;
    chart
        .draw_series(map.values.iter().enumerate().flat_map(|(i, row)| {
            row.iter().enumerate().map(move |(j, &v)| {
                let x = x0 + j as f64 * dx;
                let y = yt + i as f64 * dy;
                Rectangle::new([(x, y), (x + dx, y + dy)], map.scale.color(v).filled())
            })
        }))
        .map_err(e)?;
    let (lo, hi) = match map.scale {
        ColorScale::Sequential { lo, hi } => (lo, hi),
        ColorScale::Diverging { limit } => (-limit, limit),
    };
    // The bar spans exactly the heat map's height: the same top margin and
    // the same area under it as the chart on the left.
    let mut cb = ChartBuilder::on(&bar)
        .margin_top(MARGIN_PX)
        .margin_bottom(MARGIN_PX + X_LABEL_AREA_PX)
        .margin_left(8)
        .margin_right(MARGIN_PX)
        .right_y_label_area_size(COLORBAR_AREA_PX - COLORBAR_PX - 8 - MARGIN_PX)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(e)?;
    let fy = |v: &f64| Ticks::Real.format(*v, lo, hi);
    cb.configure_mesh()
        .set_all_tick_mark_size(TICK_MARK_PX)
        .disable_mesh()
        .disable_x_axis()
        .y_labels(MAX_TICKS)
        .y_label_formatter(&fy)
        .label_style((FONT, TICK_FONT_PX))
        .axis_desc_style((FONT, AXIS_LABEL_FONT_PX))
        .y_desc(&map.value_label)
        .axis_style(BLACK)
        .draw()
        .map_err(e)?;
    let steps = 200;
    let h = (hi - lo) / steps as f64;
    cb.draw_series((0..steps).map(|k| {
        let v = lo + (k as f64 + 0.5) * h;
        Rectangle::new(
            [(0.0, lo + k as f64 * h), (1.0, lo + (k + 1) as f64 * h)],
            map.scale.color(v).filled(),
        )
    }))
    .map_err(e)?;
    Ok(())
}
