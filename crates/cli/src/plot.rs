//! `wm plot`: figures from CSV tables.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use wm_plot::{Axes, ColorScale, Heatmap, Line, heatmap, line_plot};

/// Figure kinds.
#[derive(Debug, Subcommand)]
pub enum PlotKind {
    /// One line per numeric column against the `--x` column (e.g. a
    /// `curves.csv` of federer-zylberberg or a `wm simulate` trace).
    Lines {
        /// CSV with a header.
        table: PathBuf,
        /// Column on the x axis.
        #[arg(long)]
        x: String,
        /// Output image (.png or .svg).
        #[arg(long)]
        out: PathBuf,
        /// Title.
        #[arg(long, default_value = "")]
        title: String,
    },
    /// A heat map of a numeric CSV matrix (no header; row 0 at the top).
    Heatmap {
        /// CSV matrix.
        table: PathBuf,
        /// Output image (.png or .svg).
        #[arg(long)]
        out: PathBuf,
        /// Title.
        #[arg(long, default_value = "")]
        title: String,
        /// What the matrix holds, with units: the colour bar's label (e.g. "weight").
        #[arg(long, default_value = "value")]
        value_label: String,
    },
}

/// Run `wm plot`.
pub fn run(k: PlotKind) -> Result<()> {
    match k {
        PlotKind::Lines {
            table,
            x,
            out,
            title,
        } => {
            let mut r = csv::Reader::from_path(&table)
                .with_context(|| format!("cannot read {}", table.display()))?;
            let header: Vec<String> = r.headers()?.iter().map(String::from).collect();
            let xi = header.iter().position(|h| *h == x).with_context(|| {
                format!("{}: no column `{x}` (columns: {header:?})", table.display())
            })?;
            let mut cols = vec![Vec::new(); header.len()];
            // Per column: cells that are neither empty nor a number, and the
            // first of them (line, text); they are drawn as gaps.
            let mut garbled: Vec<(usize, Option<(usize, String)>)> = vec![(0, None); header.len()];
            for (line, rec) in r.records().enumerate() {
                let rec = rec.with_context(|| format!("{}: line {}", table.display(), line + 2))?;
                for (c, v) in rec.iter().enumerate().take(header.len()) {
                    let parsed = v.trim().parse::<f64>();
                    if parsed.is_err() && !v.trim().is_empty() {
                        let g = &mut garbled[c];
                        g.0 += 1;
                        g.1.get_or_insert((line + 2, v.to_string()));
                    }
                    cols[c].push(parsed.unwrap_or(f64::NAN));
                }
            }
            for (c, (n, first)) in garbled.iter().enumerate() {
                if let Some((line, text)) = first {
                    eprintln!(
                        "warning: {}: column `{}` has {n} cell(s) that are not numbers (first: line {line}, `{text}`); drawn as gaps",
                        table.display(),
                        header[c]
                    );
                }
            }
            let lines: Vec<Line> = header
                .iter()
                .enumerate()
                .filter(|(c, _)| *c != xi && cols[*c].iter().any(|v| v.is_finite()))
                .map(|(c, name)| Line {
                    name: name.clone(),
                    x: cols[xi].clone(),
                    y: cols[c].clone(),
                    err: None,
                })
                .collect();
            if lines.is_empty() {
                bail!("{}: no numeric column besides `{x}`", table.display());
            }
            line_plot(&out, &Axes::new(&title, &x, ""), &lines)?;
        }
        PlotKind::Heatmap {
            table,
            out,
            title,
            value_label,
        } => {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_path(&table)
                .with_context(|| format!("cannot read {}", table.display()))?;
            let mut values = Vec::new();
            for (line, rec) in r.records().enumerate() {
                let rec = rec.with_context(|| format!("{}: line {}", table.display(), line + 1))?;
                let row = rec
                    .iter()
                    .map(|v| v.trim().parse::<f64>())
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .with_context(|| {
                        format!("{}: line {} is not numeric", table.display(), line + 1)
                    })?;
                values.push(row);
            }
            let (rows, cols) = (values.len(), values.first().map_or(0, Vec::len));
            let scale = ColorScale::sequential_from(values.iter().flatten().copied());
            heatmap(
                &out,
                &Axes::new(&title, "column", "row").integer_x().integer_y(),
                &Heatmap {
                    values,
                    x_extent: (-0.5, cols as f64 - 0.5),
                    y_extent: (-0.5, rows as f64 - 0.5),
                    scale,
                    value_label,
                },
            )?;
        }
    }
    Ok(())
}
