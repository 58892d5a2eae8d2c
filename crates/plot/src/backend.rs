//! Font registration, backend choice by extension, and atomic writes.

use std::path::{Path, PathBuf};
use std::sync::Once;

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

/// Render a figure of `size` pixels to `path` (PNG or SVG by extension),
/// writing a temporary file beside it and renaming it into place.
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
    let tmp = temp_path(path, ext.as_deref().unwrap_or(""));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| PlotError::Io {
            path: path.into(),
            source,
        })?;
    }
    let drawn = match ext.as_deref() {
        Some("png") => {
            let root = BitMapBackend::new(&tmp, size).into_drawing_area();
            root.fill(&WHITE)
                .map_err(|e| e.to_string())
                .and_then(|()| draw_png(&root))
                .and_then(|()| root.present().map_err(|e| e.to_string()))
        }
        Some("svg") => {
            let root = SVGBackend::new(&tmp, size).into_drawing_area();
            root.fill(&WHITE)
                .map_err(|e| e.to_string())
                .and_then(|()| draw_svg(&root))
                .and_then(|()| root.present().map_err(|e| e.to_string()))
        }
        _ => return Err(PlotError::Format(path.into())),
    };
    if let Err(reason) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(PlotError::Draw {
            path: path.into(),
            reason,
        });
    }
    std::fs::rename(&tmp, path).map_err(|source| PlotError::Io {
        path: path.into(),
        source,
    })
}

/// `dir/.name.tmp.ext`: same folder (so the rename is atomic), same extension
/// (plotters picks the encoder from it).
fn temp_path(path: &Path, ext: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("figure");
    path.with_file_name(format!(".{stem}.{}.tmp.{ext}", std::process::id()))
}
