//! Font registration, backend choice by extension, and durable atomic writes.

use std::path::Path;
use std::sync::Once;

use image::ImageEncoder as _;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{PlotError, Result};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// Register the embedded font under the family names the charts use.
fn register_fonts() {
    REGISTER.call_once(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            for style in [
                FontStyle::Normal,
                FontStyle::Bold,
                FontStyle::Italic,
                FontStyle::Oblique,
            ] {
                // The font is a valid TTF compiled into the binary; a failure here
                // would surface as a `FontUnavailable` draw error naming the figure.
                let _ = plotters::style::register_font(family, style, FONT);
            }
        }
    });
}

/// A drawing closure that works on any plotters backend.
pub(crate) type DrawResult = std::result::Result<(), String>;

/// Render a figure of `size` pixels to `path` (PNG or SVG by extension):
/// drawn and encoded in memory, then written durably and atomically by
/// [`wm_io::write_atomic`] (so a figure is never half-written, and its
/// temporary has the workspace's one temporary pattern).
pub(crate) fn render(
    path: &Path,
    size: (u32, u32),
    draw_png: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> DrawResult,
    draw_svg: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> Result<()> {
    register_fonts();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let draw_error = |reason: String| PlotError::Draw {
        path: path.into(),
        reason,
    };
    let bytes = match ext.as_deref() {
        Some("png") => {
            let (w, h) = size;
            let mut rgb = vec![0u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
                root.fill(&WHITE)
                    .map_err(|e| e.to_string())
                    .and_then(|()| draw_png(&root))
                    .and_then(|()| root.present().map_err(|e| e.to_string()))
                    .map_err(draw_error)?;
            }
            let mut png = Vec::new();
            image::codecs::png::PngEncoder::new(&mut png)
                .write_image(&rgb, w, h, image::ColorType::Rgb8)
                .map_err(|e| draw_error(format!("cannot encode the PNG: {e}")))?;
            png
        }
        Some("svg") => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                root.fill(&WHITE)
                    .map_err(|e| e.to_string())
                    .and_then(|()| draw_svg(&root))
                    .and_then(|()| root.present().map_err(|e| e.to_string()))
                    .map_err(draw_error)?;
            }
            svg.into_bytes()
        }
        _ => return Err(PlotError::Format(path.into())),
    };
    wm_io::write_atomic(path, &bytes).map_err(|e| PlotError::Io {
        path: path.into(),
        source: e.source,
    })
}
