//! # wm-plot
//!
//! The figures of wm's reproductions: scatter plots with regression lines and
//! 95 % bands, heat maps (activity sorted by peak time, weight and
//! interaction matrices, parameter grids), line plots with error bands and
//! bar charts with error bars, histograms and spike rasters.
//!
//! Key design decision: plotters without its system-font feature. The
//! DejaVu Sans font ships inside this crate (`assets/`, Bitstream Vera
//! licence) and is registered on first use, so figures render on a bare CI
//! machine with no fontconfig. Each function writes PNG or SVG, chosen by the
//! file extension, durably and atomically (drawn in memory, then written by
//! `wm_io::write_atomic`).
//!
//! Every figure has the same size and fonts ([`style`]), so figures of
//! different studies sit side by side on a slide; every heat map has a
//! labelled colour bar, and integer axes ([`Ticks::Integer`]) print `20`,
//! never `20.0`.
#![deny(missing_docs)]

mod backend;
pub mod bars;
pub mod heatmap;
pub mod lines;
pub mod raster;
pub mod scatter;
pub mod style;

use std::path::PathBuf;

pub use bars::{BarGroup, bar_chart, histogram};
pub use heatmap::{ColorScale, Heatmap, heatmap};
pub use lines::{Line, line_plot};
pub use raster::{Raster, raster};
pub use scatter::{FitBand, ScatterGroup, scatter_with_fit};
pub use style::Ticks;

/// Why a figure could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The path's extension is neither `png` nor `svg`.
    #[error("cannot plot to {0}: the file name must end in .png or .svg")]
    Format(PathBuf),
    /// The data cannot be drawn (empty, non-finite range, ragged rows…).
    #[error("cannot plot {path}: {reason}")]
    Data {
        /// The figure's path.
        path: PathBuf,
        /// What is wrong with the data.
        reason: String,
    },
    /// plotters failed while drawing or encoding.
    #[error("drawing {path} failed: {reason}")]
    Draw {
        /// The figure's path.
        path: PathBuf,
        /// plotters' message.
        reason: String,
    },
    /// Moving the finished file into place failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The figure's path.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, PlotError>;

/// Common labels of a 2-D chart and what its axes' values are.
#[derive(Debug, Clone, Default)]
pub struct Axes {
    /// Title drawn above the chart (wrapped when it is wider than the figure).
    pub title: String,
    /// x-axis label (with units).
    pub x_label: String,
    /// y-axis label (with units).
    pub y_label: String,
    /// Ticks of the x axis.
    pub x_ticks: Ticks,
    /// Ticks of the y axis.
    pub y_ticks: Ticks,
}

impl Axes {
    /// Labels from string slices; both axes real-valued.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Self::default()
        }
    }

    /// The x axis counts or indexes something (unit, trial, step): integer ticks.
    #[must_use]
    pub fn integer_x(mut self) -> Self {
        self.x_ticks = Ticks::Integer;
        self
    }

    /// The y axis counts or indexes something (unit, trial, step): integer ticks.
    #[must_use]
    pub fn integer_y(mut self) -> Self {
        self.y_ticks = Ticks::Integer;
        self
    }
}

/// A qualitative palette (Okabe–Ito, readable by colour-blind readers).
pub const PALETTE: [(u8, u8, u8); 8] = [
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (213, 94, 0),
    (204, 121, 167),
    (86, 180, 233),
    (240, 228, 66),
    (0, 0, 0),
];

/// Range `[lo, hi]` of finite values padded by `pad` of its width; `None` if no finite value.
pub(crate) fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return None;
    }
    let w = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    Some((lo - pad * w, hi + pad * w))
}
