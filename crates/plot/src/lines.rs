//! Line plots with optional ± error bands (profiles, learning curves, PSTHs).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::backend::{DrawResult, render};
use crate::style::{
    FIGURE_PX, Grid, Marker, along, chart, draw_mesh, finish_legend, plan_legend, split_for_legend,
    titled,
};
use crate::{Axes, PALETTE, PlotError, Result, padded_range};

/// One line with an optional symmetric error (e.g. s.d. or SEM) drawn as a band.
#[derive(Debug, Clone)]
pub struct Line {
    /// Legend entry.
    pub name: String,
    /// x values.
    pub x: Vec<f64>,
    /// y values (non-finite values break the line).
    pub y: Vec<f64>,
    /// Half-width of the band at each x, if any.
    pub err: Option<Vec<f64>>,
}

/// Draw `lines` to `path`.
pub fn line_plot(path: &Path, axes: &Axes, lines: &[Line]) -> Result<()> {
    let data_err = |reason: &str| PlotError::Data {
        path: path.into(),
        reason: reason.into(),
    };
    for l in lines {
        if l.x.len() != l.y.len() || l.err.as_ref().is_some_and(|e| e.len() != l.x.len()) {
            return Err(data_err("a line's x, y and err differ in length"));
        }
    }
    let x_range = padded_range(lines.iter().flat_map(|l| l.x.clone()), 0.02)
        .ok_or_else(|| data_err("no finite x"))?;
    let ys = lines.iter().flat_map(|l| {
        let err = l.err.clone().unwrap_or_else(|| vec![0.0; l.y.len()]);
        l.y.iter()
            .zip(err)
            .flat_map(|(&y, e)| [y - e, y + e])
            .collect::<Vec<_>>()
    });
    let y_range = padded_range(ys, 0.05).ok_or_else(|| data_err("no finite y"))?;
    render(
        path,
        FIGURE_PX,
        |r| draw(r, axes, lines, x_range, y_range),
        |r| draw(r, axes, lines, x_range, y_range),
    )
}

/// Points in data coordinates, in drawing order.
type Polyline = Vec<(f64, f64)>;

/// The outline of a line's error band: the upper edge, then the lower one
/// back, over the points where both the value and its error are finite
/// (empty without an error).
fn band(l: &Line) -> Polyline {
    let Some(err) = &l.err else {
        return Vec::new();
    };
    let idx: Vec<usize> = (0..l.x.len())
        .filter(|&i| l.y[i].is_finite() && err[i].is_finite())
        .collect();
    idx.iter()
        .map(|&i| (l.x[i], l.y[i] + err[i]))
        .chain(idx.iter().rev().map(|&i| (l.x[i], l.y[i] - err[i])))
        .collect()
}

/// The runs of consecutive points with finite coordinates: a non-finite
/// value breaks the line there.
fn finite_runs(x: &[f64], y: &[f64]) -> Vec<Polyline> {
    let mut runs: Vec<Polyline> = vec![Vec::new()];
    for (&x, &y) in x.iter().zip(y) {
        if x.is_finite() && y.is_finite() {
            if let Some(run) = runs.last_mut() {
                run.push((x, y));
            }
        } else if runs.last().is_some_and(|r| !r.is_empty()) {
            runs.push(Vec::new());
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    axes: &Axes,
    lines: &[Line],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> DrawResult {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let area = titled(root, &axes.title)?;
    let shapes: Vec<(Vec<Polyline>, Polyline)> = lines
        .iter()
        .map(|l| (finite_runs(&l.x, &l.y), band(l)))
        .collect();
    // What the legend should not cover: each line and its band's edges.
    let crowd: Vec<(&str, Vec<(f64, f64)>)> = lines
        .iter()
        .zip(&shapes)
        .map(|(l, (pts, band))| {
            let mut covered: Vec<(f64, f64)> = pts.iter().flat_map(|run| along(run)).collect();
            covered.extend(along(band));
            (l.name.as_str(), covered)
        })
        .collect();
    let place = plan_legend(&crowd, (x0, x1), (y0, y1), area.dim_in_pixel());
    let (plot, beside) = split_for_legend(&area, &place);
    let mut chart = chart(&plot, (x0, x1), (y0, y1))?;
    draw_mesh(&mut chart, axes, Grid::Both, None)?;
    for (k, (l, (pts, band))) in lines.iter().zip(shapes).enumerate() {
        let (r, g, b) = PALETTE[k % PALETTE.len()];
        let color = RGBColor(r, g, b);
        // Past the palette's eight colours, lines repeat them dashed.
        let dashed = k >= PALETTE.len();
        if band.len() >= 3 {
            chart
                .draw_series(std::iter::once(Polygon::new(band, color.mix(0.2).filled())))
                .map_err(e)?;
        }
        let style = color.stroke_width(3);
        // A run of one point draws no line: mark it.
        let single = pts.iter().filter(|run| run.len() == 1).map(|run| run[0]);
        chart
            .draw_series(single.map(|p| Circle::new(p, 5, color.filled())))
            .map_err(e)?;
        let series = if dashed {
            chart.draw_series(
                pts.into_iter()
                    .flat_map(|run| DashedLineSeries::new(run, 10, 6, style)),
            )
        } else {
            chart.draw_series(pts.into_iter().flat_map(|run| LineSeries::new(run, style)))
        };
        series
            .map_err(e)?
            .label(l.name.clone())
            .legend(move |(x, y)| {
                if dashed {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (8, 0)], style)
                        + PathElement::new(vec![(14, 0), (22, 0)], style)
                } else {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (22, 0)], style)
                        + PathElement::new(vec![(0, 0), (0, 0)], style)
                }
            });
    }
    let entries: Vec<(&str, Marker)> = lines
        .iter()
        .enumerate()
        .map(|(k, l)| {
            let (r, g, b) = PALETTE[k % PALETTE.len()];
            (
                l.name.as_str(),
                Marker::Line(RGBColor(r, g, b), k >= PALETTE.len()),
            )
        })
        .collect();
    finish_legend(&mut chart, place, beside, &entries)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::finite_runs;

    #[test]
    fn a_non_finite_value_breaks_the_line() {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [f64::NAN, 1.0, 2.0, f64::INFINITY, f64::NAN, 5.0, f64::NAN];
        assert_eq!(
            finite_runs(&x, &y),
            vec![vec![(1.0, 1.0), (2.0, 2.0)], vec![(5.0, 5.0)]]
        );
        assert!(finite_runs(&x, &[f64::NAN; 7]).is_empty());
        let x_gap = [0.0, f64::NAN, 2.0];
        assert_eq!(
            finite_runs(&x_gap, &[1.0, 1.0, 1.0]),
            vec![vec![(0.0, 1.0)], vec![(2.0, 1.0)]]
        );
    }
}
