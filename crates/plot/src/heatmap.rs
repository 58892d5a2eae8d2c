//! Heat maps: activity sorted by peak time, weight and interaction matrices,
//! parameter grids.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::backend::{DrawResult, render};
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
    /// x extent `(left, right)` in data units (columns span it evenly).
    pub x_extent: (f64, f64),
    /// y extent `(top, bottom)` in data units (rows span it evenly).
    pub y_extent: (f64, f64),
    /// Colour mapping.
    pub scale: ColorScale,
}

/// Draw a heat map with a colour bar to `path`.
pub fn heatmap(path: &Path, axes: &Axes, map: &Heatmap) -> Result<()> {
    let rows = map.values.len();
    let cols = map.values.first().map_or(0, Vec::len);
    if rows == 0 || cols == 0 || map.values.iter().any(|r| r.len() != cols) {
        return Err(PlotError::Data {
            path: path.into(),
            reason: "empty or ragged matrix".into(),
        });
    }
    render(
        path,
        (900, 700),
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
    let (main, bar) = root.split_horizontally(root.dim_in_pixel().0.saturating_sub(110));
    let rows = map.values.len();
    let cols = map.values[0].len();
    let (x0, x1) = map.x_extent;
    let (yt, yb) = map.y_extent;
    let mut chart = ChartBuilder::on(&main)
        .caption(&axes.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, yb..yt)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(&axes.x_label)
        .y_desc(&axes.y_label)
        .draw()
        .map_err(e)?;
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
    let mut cb = ChartBuilder::on(&bar)
        .margin_top(50)
        .margin_bottom(55)
        .margin_right(10)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(e)?;
    cb.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .draw()
        .map_err(e)?;
    let steps = 100;
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
