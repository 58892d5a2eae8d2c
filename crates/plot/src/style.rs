//! One look for every figure: figure size, font sizes and margins in pixels,
//! tick labels, titles that wrap instead of running off the figure, and the
//! axis frame every chart of this crate draws the same way.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::Axes;
use crate::backend::DrawResult;

/// Size of every figure, pixels (width, height): 3:2 like a talk slide's
/// half, large enough that text at the sizes below stays sharp.
pub const FIGURE_PX: (u32, u32) = (1050, 700);
/// Title font size, pixels.
pub const TITLE_FONT_PX: u32 = 26;
/// Axis descriptions and the colour bar's label, pixels.
pub const AXIS_LABEL_FONT_PX: u32 = 22;
/// Tick labels (both axes and the colour bar), pixels.
pub const TICK_FONT_PX: u32 = 18;
/// Legend entries, pixels.
pub const LEGEND_FONT_PX: u32 = 17;
/// Length of the tick marks on every axis and the colour bar, pixels.
pub const TICK_MARK_PX: u32 = 6;
/// Space around the chart, pixels.
pub const MARGIN_PX: u32 = 14;
/// Height of the area under the x axis (tick labels and description), pixels.
pub const X_LABEL_AREA_PX: u32 = 72;
/// Width of the area left of the y axis (tick labels and description), pixels.
pub const Y_LABEL_AREA_PX: u32 = 100;
/// At most this many tick labels on an axis, so that they never overlap.
pub const MAX_TICKS: usize = 8;

/// The font family every text of a figure uses (registered in `backend`).
pub(crate) const FONT: &str = "sans-serif";

/// What an axis's values are, which decides where its ticks go and how they read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ticks {
    /// Real-valued (time in ms, a weight, SI): ticks at round values, with
    /// as many decimals as the tick spacing needs (`0.25`, `150`).
    #[default]
    Real,
    /// Integer-valued (unit index, trial, step, count): ticks only at
    /// integers, printed without decimals (`20`, never `20.0`).
    Integer,
}

impl Ticks {
    /// How many tick labels to ask plotters for on an axis spanning `lo..hi`:
    /// at most [`MAX_TICKS`], and for integer axes at most one per integer,
    /// so that plotters' 1–2–5 spacing never falls below 1.
    pub fn label_count(self, lo: f64, hi: f64) -> usize {
        let span = (hi - lo).abs();
        match self {
            Ticks::Real => MAX_TICKS,
            Ticks::Integer if span.is_finite() => MAX_TICKS.min(span.floor() as usize + 1).max(1),
            Ticks::Integer => 1,
        }
    }

    /// The label of the tick at `value` on an axis spanning `lo..hi`.
    /// Integer axes print integers and leave any other tick blank; real axes
    /// print one decimal more than the tick spacing (a tenth of the span)
    /// needs, then drop trailing zeros, so float noise (`0.30000000000000004`)
    /// and spurious `.0` never show, and `-0` reads `0`.
    pub fn format(self, value: f64, lo: f64, hi: f64) -> String {
        if !value.is_finite() {
            return String::new();
        }
        let text = match self {
            Ticks::Integer => {
                let r = value.round();
                if (value - r).abs() > 1e-6 * (1.0 + r.abs()) {
                    return String::new();
                }
                format!("{r:.0}")
            }
            Ticks::Real => {
                let step = (hi - lo).abs() / 10.0;
                let decimals = if step.is_finite() && step > 0.0 {
                    ((-step.log10()).ceil().max(0.0) as usize + 1).min(12)
                } else {
                    3
                };
                let s = format!("{value:.decimals$}");
                if s.contains('.') {
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                } else {
                    s
                }
            }
        };
        if text
            .trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            "0".into()
        } else {
            text
        }
    }
}

/// Greedy word wrap of `text` into lines no wider than `max_px` as measured
/// by `width_px` (a single over-long word gets a line of its own).
pub(crate) fn wrap(text: &str, max_px: u32, width_px: impl Fn(&str) -> u32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if width_px(&format!("{line} {word}")) <= max_px => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Draw `title` centred at the top of `root`, wrapped onto as many lines as
/// the width needs, and return the area below it.
pub(crate) fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, String> {
    let style = TextStyle::from((FONT, TITLE_FONT_PX).into_font());
    let max_px = root.dim_in_pixel().0.saturating_sub(2 * MARGIN_PX);
    let width = |s: &str| root.estimate_text_size(s, &style).map_or(0, |(w, _)| w);
    let mut area = root.margin(MARGIN_PX / 2, 0, 0, 0);
    for line in wrap(title, max_px, width) {
        area = area
            .titled(&line, style.clone())
            .map_err(|e| e.to_string())?;
    }
    Ok(area)
}

/// The cartesian chart every figure of this crate draws its data on.
pub(crate) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Margins and label areas of the standard chart on `area` (what
/// [`titled`] left), over `x` × `y` in data units.
pub(crate) fn chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Result<Chart<'a, DB>, String> {
    chart_with_right(area, (x0, x1), (y0, y1), MARGIN_PX)
}

/// The part of `area` a chart goes on and, for a legend planned outside,
/// the strip right of it that the legend goes on.
pub(crate) fn split_for_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    place: &LegendPlace,
) -> (DrawingArea<DB, Shift>, Option<DrawingArea<DB, Shift>>) {
    match place {
        LegendPlace::Inside(_) => (area.clone(), None),
        LegendPlace::Outside(px) => {
            let w = area.dim_in_pixel().0;
            let (plot, legend) = area.split_horizontally(w.saturating_sub(*px));
            (plot, Some(legend))
        }
    }
}

/// [`chart`] without its own right-margin choice: `right_px` pixels.
fn chart_with_right<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    right_px: u32,
) -> Result<Chart<'a, DB>, String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    ChartBuilder::on(area)
        .margin(MARGIN_PX)
        .margin_right(right_px)
        .x_label_area_size(X_LABEL_AREA_PX)
        .y_label_area_size(Y_LABEL_AREA_PX)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(e)
}

/// Whether a chart draws grid lines at its ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grid {
    /// Light lines at the major ticks of both axes.
    Both,
    /// Light lines at the y ticks only (bar charts).
    YOnly,
    /// No grid (heat maps).
    None,
}

/// Axes, ticks and descriptions of `chart` in the common style; `x_labels`
/// replaces the x tick labels (a bar chart's categories).
pub(crate) fn draw_mesh<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    axes: &Axes,
    grid: Grid,
    x_labels: Option<&dyn Fn(f64) -> String>,
) -> DrawResult {
    let (xr, yr) = (chart.x_range(), chart.y_range());
    let (x_ticks, y_ticks) = (axes.x_ticks, axes.y_ticks);
    let fx = move |v: &f64| match x_labels {
        Some(f) => f(*v),
        None => x_ticks.format(*v, xr.start, xr.end),
    };
    let fy = move |v: &f64| y_ticks.format(*v, yr.start, yr.end);
    let grid_line = BLACK.mix(0.15);
    let mut mesh = chart.configure_mesh();
    mesh.set_all_tick_mark_size(TICK_MARK_PX)
        .x_labels(x_ticks.label_count(xr.start, xr.end))
        .y_labels(y_ticks.label_count(yr.start, yr.end))
        .x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .label_style((FONT, TICK_FONT_PX))
        .axis_desc_style((FONT, AXIS_LABEL_FONT_PX))
        .x_desc(&axes.x_label)
        .y_desc(&axes.y_label)
        .bold_line_style(grid_line)
        .light_line_style(TRANSPARENT)
        .axis_style(BLACK);
    match grid {
        Grid::Both => {}
        Grid::YOnly => {
            mesh.disable_x_mesh();
        }
        Grid::None => {
            mesh.disable_mesh();
        }
    }
    mesh.draw().map_err(|e| e.to_string())
}

/// Where the legend of `series` (each one's name and points, in data
/// coordinates) crosses the fewest series, then covers the fewest points,
/// among the corners and the middles of the edges of the `x` × `y` plot
/// of `plot_px` pixels (the legend's size from [`legend_px`]); corners
/// first on ties, upper right first of all. Returns the place and how many
/// series the legend crosses there.
pub(crate) fn legend_corner(
    series: &[(&str, Vec<(f64, f64)>)],
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    (w_px, h_px): (u32, u32),
) -> (SeriesLabelPosition, usize) {
    let (legend_w, legend_h) = legend_px(series);
    let box_w = f64::from(legend_w) / f64::from(w_px.max(1));
    let box_h = f64::from(legend_h) / f64::from(h_px.max(1));
    use SeriesLabelPosition as P;
    // In order of preference; a corner before the middle of an edge.
    let places = [
        (P::UpperRight, 2, 2),
        (P::UpperLeft, 0, 2),
        (P::LowerRight, 2, 0),
        (P::LowerLeft, 0, 0),
        (P::MiddleRight, 2, 1),
        (P::MiddleLeft, 0, 1),
        (P::UpperMiddle, 1, 2),
        (P::LowerMiddle, 1, 0),
    ];
    // The interval a box of `size` (fraction of the axis) covers at `side`:
    // 0 at the low end, 1 centred, 2 at the high end.
    let covers = |side: u8, size: f64, f: f64| match side {
        0 => f <= size,
        1 => (f - 0.5).abs() <= size / 2.0,
        _ => f >= 1.0 - size,
    };
    let score = |&(_, sx, sy): &(SeriesLabelPosition, u8, u8)| {
        let inside = |&(x, y): &(f64, f64)| {
            covers(sx, box_w, (x - x0) / (x1 - x0)) && covers(sy, box_h, (y - y0) / (y1 - y0))
        };
        series
            .iter()
            .map(|(_, pts)| pts.iter().filter(|p| inside(p)).count())
            .fold((0, 0), |(lines, points), n| {
                (lines + usize::from(n > 0), points + n)
            })
    };
    places
        .iter()
        .map(|p| (p.0.clone(), score(p)))
        .min_by_key(|p| p.1)
        .map_or((P::UpperRight, 0), |(p, (lines, _))| (p, lines))
}

/// The size of the legend of `series` in pixels (width, height) with its
/// margin from the plot's edge, estimated from its entries at
/// [`LEGEND_FONT_PX`] (DejaVu Sans averages about 0.6 em per character).
fn legend_px(series: &[(&str, Vec<(f64, f64)>)]) -> (u32, u32) {
    let font = f64::from(LEGEND_FONT_PX);
    let chars = series
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0) as f64;
    (
        (0.6 * font * chars + 60.0) as u32,
        (series.len() as f64 * (font + 6.0) + 36.0) as u32,
    )
}

/// Where a chart's legend goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LegendPlace {
    /// Inside the plot, where it crosses no series.
    Inside(SeriesLabelPosition),
    /// In a strip this many pixels wide right of the plot: every place
    /// inside would hide part of a series.
    Outside(u32),
}

/// Plan the legend of `series` on the `x` × `y` plot that [`chart`] builds
/// on an area of `area_px` pixels: inside where it crosses no series, else
/// outside on the right.
pub(crate) fn plan_legend(
    series: &[(&str, Vec<(f64, f64)>)],
    x: (f64, f64),
    y: (f64, f64),
    (w, h): (u32, u32),
) -> LegendPlace {
    let plot_px = (
        w.saturating_sub(Y_LABEL_AREA_PX + 2 * MARGIN_PX),
        h.saturating_sub(X_LABEL_AREA_PX + 2 * MARGIN_PX),
    );
    match legend_corner(series, x, y, plot_px) {
        (position, 0) => LegendPlace::Inside(position),
        _ => LegendPlace::Outside(legend_px(series).0 - 20),
    }
}

/// Points along the polyline `pts`, eight per segment, so that a legend
/// placed by [`legend_corner`] avoids the lines between sparse points too.
pub(crate) fn along(pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = pts
        .windows(2)
        .flat_map(|w| {
            let ((xa, ya), (xb, yb)) = (w[0], w[1]);
            (0..8).map(move |k| {
                let t = k as f64 / 8.0;
                (xa + t * (xb - xa), ya + t * (yb - ya))
            })
        })
        .collect();
    out.extend(pts.last());
    out
}

/// Draw the legend of `chart` inside its plot at `position`, in the common style.
fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, LEGEND_FONT_PX))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.5))
        .margin(12)
        .draw()
        .map_err(|e| e.to_string())
}

/// Draw the legend where [`plan_legend`] placed it: inside the chart, or
/// from `entries` on the strip `beside` it. No entries, no legend.
pub(crate) fn finish_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    place: LegendPlace,
    beside: Option<DrawingArea<DB, Shift>>,
    entries: &[(&str, Marker)],
) -> DrawResult {
    if entries.is_empty() {
        return Ok(());
    }
    match (place, beside) {
        (LegendPlace::Outside(_), Some(strip)) => draw_legend_beside(&strip, entries),
        (LegendPlace::Inside(position), _) => draw_legend(chart, position),
        (LegendPlace::Outside(_), None) => Ok(()),
    }
}

/// How a legend entry shows its series.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Marker {
    /// A line of this colour, dashed or solid.
    Line(RGBColor, bool),
    /// A dot of this colour.
    Dot(RGBColor),
}

/// Draw a legend of `entries` at the top of `area` (the strip right of the
/// plot that [`LegendPlace::Outside`] left free), in the common style.
fn draw_legend_beside<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(&str, Marker)],
) -> DrawResult {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let row = (LEGEND_FONT_PX + 6) as i32;
    let (w, _) = area.dim_in_pixel();
    let top = (MARGIN_PX + 4) as i32;
    let height = row * entries.len() as i32 + 16;
    area.draw(&Rectangle::new(
        [(0, top), (w as i32 - 4, top + height)],
        BLACK.mix(0.5),
    ))
    .map_err(e)?;
    let font =
        TextStyle::from((FONT, LEGEND_FONT_PX).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (k, (name, marker)) in entries.iter().enumerate() {
        let y = top + 8 + row * k as i32 + row / 2;
        match *marker {
            Marker::Line(color, dashed) => {
                let style = color.stroke_width(3);
                let spans: &[(i32, i32)] = if dashed {
                    &[(8, 16), (22, 30)]
                } else {
                    &[(8, 30)]
                };
                for &(a, b) in spans {
                    area.draw(&PathElement::new(vec![(a, y), (b, y)], style))
                        .map_err(e)?;
                }
            }
            Marker::Dot(color) => {
                area.draw(&Circle::new((19, y), 6, color.filled()))
                    .map_err(e)?;
            }
        }
        area.draw_text(name, &font, (38, y)).map_err(e)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_between_words_within_the_width() {
        // One pixel per character: lines of at most 11 characters.
        let lines = wrap("SI vs rho within seeds, slope 3", 11, |s| s.len() as u32);
        assert_eq!(lines, ["SI vs rho", "within", "seeds,", "slope 3"]);
        assert_eq!(wrap("", 10, |s| s.len() as u32), Vec::<String>::new());
        assert_eq!(
            wrap("averyverylongword x", 5, |s| s.len() as u32),
            ["averyverylongword", "x"]
        );
    }

    #[test]
    fn the_legend_goes_to_the_emptiest_corner() {
        let r = (0.0, 1.0);
        let px = (800, 600);
        let rising = ("rising", along(&[(0.0, 0.0), (1.0, 1.0)]));
        let falling = ("falling", along(&[(0.0, 1.0), (1.0, 0.0)]));
        let top = ("top", along(&[(0.0, 0.95), (1.0, 0.95)]));
        // A rising line fills the lower left and upper right.
        let at = |s: &[(&str, Vec<(f64, f64)>)]| legend_corner(s, r, r, px).0;
        assert_eq!(
            at(std::slice::from_ref(&rising)),
            SeriesLabelPosition::UpperLeft
        );
        // A falling line fills the upper left and lower right.
        assert_eq!(
            at(std::slice::from_ref(&falling)),
            SeriesLabelPosition::UpperRight
        );
        // A line along the top leaves the lower right first.
        assert_eq!(
            at(std::slice::from_ref(&top)),
            SeriesLabelPosition::LowerRight
        );
        // Crossing lines and a line along the top: every corner holds a
        // line, the middle of the right edge none.
        assert_eq!(
            at(&[rising.clone(), falling.clone(), top]),
            SeriesLabelPosition::MiddleRight
        );
        // Two lines along the top and the bottom block every corner; the
        // middle of the right edge is free.
        let low = ("low", along(&[(0.0, 0.02), (1.0, 0.03)]));
        let high = ("high", along(&[(0.0, 0.97), (1.0, 0.96)]));
        assert_eq!(at(&[low, high]), SeriesLabelPosition::MiddleRight);
        // A cross with a horizontal line through it blocks the corners and
        // the middles of the left and right edges.
        assert_eq!(
            at(&[rising, falling, ("mid", along(&[(0.0, 0.5), (1.0, 0.5)]))]),
            SeriesLabelPosition::UpperMiddle
        );
    }

    #[test]
    fn a_legend_that_would_hide_a_series_goes_outside() {
        let r = (0.0, 1.0);
        let area = (1000, 600);
        // Horizontal lines at every tenth of the height cross every place inside.
        let lines: Vec<(&str, Vec<(f64, f64)>)> = (0..=10)
            .map(|k| {
                let y = k as f64 / 10.0;
                ("line", along(&[(0.0, y), (1.0, y)]))
            })
            .collect();
        assert!(matches!(
            plan_legend(&lines, r, r, area),
            LegendPlace::Outside(w) if w > 60
        ));
        let bottom = [("bottom", along(&[(0.0, 0.0), (1.0, 0.0)]))];
        assert_eq!(
            plan_legend(&bottom, r, r, area),
            LegendPlace::Inside(SeriesLabelPosition::UpperRight)
        );
    }
}
