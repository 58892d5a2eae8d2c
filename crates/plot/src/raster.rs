//! Spike rasters: one short vertical tick per spike at (time, unit).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::backend::{DrawResult, render};
use crate::style::{FIGURE_PX, Grid, chart, draw_mesh, titled};
use crate::{Axes, PALETTE, PlotError, Result};

/// The spikes of one trial.
#[derive(Debug, Clone)]
pub struct Raster {
    /// Each spike as (time in ms, unit index).
    pub spikes: Vec<(f64, u32)>,
    /// The trial's length, ms: the x axis spans `0..duration_ms`.
    pub duration_ms: f64,
    /// Units recorded: the y axis spans every unit, spiking or not.
    pub n_units: usize,
}

/// Draw `raster` to `path` with time (ms) on x and the unit index on y. The
/// axes span the whole trial and every unit, so a silent trial draws an
/// empty raster instead of failing for want of a data range.
pub fn raster(path: &Path, title: &str, raster: &Raster) -> Result<()> {
    if !(raster.duration_ms.is_finite() && raster.duration_ms > 0.0) {
        return Err(PlotError::Data {
            path: path.into(),
            reason: format!(
                "trial length {} ms: allowed a finite value > 0",
                raster.duration_ms
            ),
        });
    }
    let axes = Axes::new(title, "time (ms)", "unit").integer_y();
    render(
        path,
        FIGURE_PX,
        |r| draw(r, &axes, raster),
        |r| draw(r, &axes, raster),
    )
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    axes: &Axes,
    raster: &Raster,
) -> DrawResult {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let units = raster.n_units.max(1) as f64;
    let area = titled(root, &axes.title)?;
    let mut chart = chart(&area, (0.0, raster.duration_ms), (-0.5, units - 0.5))?;
    draw_mesh(&mut chart, axes, Grid::None, None)?;
    let (r, g, b) = PALETTE[7];
    let color = RGBColor(r, g, b);
    // A tick 80 % of a unit's row high, so neighbouring units stay apart.
    chart
        .draw_series(raster.spikes.iter().map(|&(t, u)| {
            let u = f64::from(u);
            PathElement::new(vec![(t, u - 0.4), (t, u + 0.4)], color.stroke_width(2))
        }))
        .map_err(e)?;
    Ok(())
}
