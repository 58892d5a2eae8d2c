//! Scatter plots with a fitted line and its 95 % confidence band.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::backend::{DrawResult, render};
use crate::style::{
    FIGURE_PX, Grid, Marker, along, chart, draw_mesh, finish_legend, plan_legend, split_for_legend,
    titled,
};
use crate::{Axes, PALETTE, PlotError, Result, padded_range};

/// One coloured group of points with a legend name.
#[derive(Debug, Clone)]
pub struct ScatterGroup {
    /// Legend entry.
    pub name: String,
    /// `(x, y)` points; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

/// A fitted line with a pointwise confidence band, evaluated on a grid of x.
#[derive(Debug, Clone)]
pub struct FitBand {
    /// Legend entry (e.g. `slope 0.71 ± 0.12, p = 0.003`).
    pub name: String,
    /// Grid of x values, increasing.
    pub x: Vec<f64>,
    /// Fitted mean at each x.
    pub fit: Vec<f64>,
    /// Lower band edge at each x.
    pub lo: Vec<f64>,
    /// Upper band edge at each x.
    pub hi: Vec<f64>,
}

/// Draw groups of points and optional fitted lines with bands to `path`.
pub fn scatter_with_fit(
    path: &Path,
    axes: &Axes,
    groups: &[ScatterGroup],
    fits: &[FitBand],
) -> Result<()> {
    let xs = groups
        .iter()
        .flat_map(|g| g.points.iter().map(|p| p.0))
        .chain(fits.iter().flat_map(|f| f.x.clone()));
    let ys = groups
        .iter()
        .flat_map(|g| g.points.iter().map(|p| p.1))
        .chain(fits.iter().flat_map(|f| f.lo.iter().chain(&f.hi).copied()));
    let data_err = |reason: &str| PlotError::Data {
        path: path.into(),
        reason: reason.into(),
    };
    let x_range = padded_range(xs, 0.05).ok_or_else(|| data_err("no finite x value"))?;
    let y_range = padded_range(ys, 0.05).ok_or_else(|| data_err("no finite y value"))?;
    for f in fits {
        if [f.fit.len(), f.lo.len(), f.hi.len()]
            .iter()
            .any(|&n| n != f.x.len())
        {
            return Err(data_err("a fit's x, fit, lo and hi differ in length"));
        }
    }
    render(
        path,
        FIGURE_PX,
        |root| draw(root, axes, groups, fits, x_range, y_range),
        |root| draw(root, axes, groups, fits, x_range, y_range),
    )
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    axes: &Axes,
    groups: &[ScatterGroup],
    fits: &[FitBand],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> DrawResult {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let area = titled(root, &axes.title)?;
    // What the legend should not cover: the fitted lines and the points.
    let crowd: Vec<(&str, Vec<(f64, f64)>)> = fits
        .iter()
        .map(|f| {
            let line: Vec<(f64, f64)> = f.x.iter().copied().zip(f.fit.iter().copied()).collect();
            (f.name.as_str(), along(&line))
        })
        .chain(groups.iter().map(|g| (g.name.as_str(), g.points.clone())))
        .collect();
    let place = plan_legend(&crowd, (x0, x1), (y0, y1), area.dim_in_pixel());
    let (plot, beside) = split_for_legend(&area, &place);
    let mut chart = chart(&plot, (x0, x1), (y0, y1))?;
    draw_mesh(&mut chart, axes, Grid::Both, None)?;
    for (k, f) in fits.iter().enumerate() {
        let (r, g, b) = PALETTE[(k + groups.len()) % PALETTE.len()];
        let color = RGBColor(r, g, b);
        let band: Vec<(f64, f64)> =
            f.x.iter()
                .zip(&f.hi)
                .map(|(&x, &y)| (x, y))
                .chain(f.x.iter().zip(&f.lo).rev().map(|(&x, &y)| (x, y)))
                .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(band, color.mix(0.2).filled())))
            .map_err(e)?;
        chart
            .draw_series(LineSeries::new(
                corners(f.x.iter().copied().zip(f.fit.iter().copied()).collect()),
                color.stroke_width(3),
            ))
            .map_err(e)?
            .label(f.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    for (k, grp) in groups.iter().enumerate() {
        let (r, g, b) = PALETTE[k % PALETTE.len()];
        let color = RGBColor(r, g, b);
        let pts = grp
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite());
        chart
            .draw_series(pts.map(|&(x, y)| Circle::new((x, y), 6, color.mix(0.8).filled())))
            .map_err(e)?
            .label(grp.name.clone())
            .legend(move |(x, y)| Circle::new((x + 10, y), 6, color.filled()));
    }
    let color = |k: usize| {
        let (r, g, b) = PALETTE[k % PALETTE.len()];
        RGBColor(r, g, b)
    };
    let entries: Vec<(&str, Marker)> = fits
        .iter()
        .enumerate()
        .map(|(k, f)| {
            (
                f.name.as_str(),
                Marker::Line(color(k + groups.len()), false),
            )
        })
        .chain(
            groups
                .iter()
                .enumerate()
                .map(|(k, g)| (g.name.as_str(), Marker::Dot(color(k)))),
        )
        .collect();
    finish_legend(&mut chart, place, beside, &entries)?;
    Ok(())
}

/// The points of a polyline where it turns: a straight fit drawn through
/// every grid point steps by a pixel here and there (each segment's ends
/// are rounded to pixels), drawn between its ends it is straight.
fn corners(pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(pts.len());
    for (i, &p) in pts.iter().enumerate() {
        let (Some(&a), Some(&b)) = (out.last(), pts.get(i + 1)) else {
            out.push(p);
            continue;
        };
        // |cross product| of (p − a, b − a) against the segment's size.
        let cross = (p.0 - a.0) * (b.1 - a.1) - (p.1 - a.1) * (b.0 - a.0);
        let size = ((b.0 - a.0).hypot(b.1 - a.1)).powi(2);
        if cross.abs() > 1e-9 * size.max(f64::MIN_POSITIVE) {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::corners;

    #[test]
    fn a_straight_line_keeps_its_ends_and_a_bend_its_corner() {
        let line: Vec<(f64, f64)> = (0..50)
            .map(|i| (f64::from(i), 2.0 * f64::from(i) - 1.0))
            .collect();
        assert_eq!(corners(line), vec![(0.0, -1.0), (49.0, 97.0)]);
        let bent = vec![(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (3.0, 1.0), (4.0, 0.0)];
        assert_eq!(corners(bent), vec![(0.0, 0.0), (2.0, 2.0), (4.0, 0.0)]);
        assert_eq!(corners(vec![(1.0, 1.0)]), vec![(1.0, 1.0)]);
    }
}
