//! Figures of the Orhan & Ma reproduction that need no trained network:
//! the untrained (λ0, σ0) grid (Supp. Fig. 1) and the banded model (Supp. Fig. 7),
//! plus the activity heat map shared with the trained networks (Supp. Figs. 2–5).

use std::path::Path;

use anyhow::Result;
use ndarray::{Array2, ArrayView2, Axis};
use wm_analysis::sequentiality::{normalized_by_peak, peak_time_order};
use wm_plot::{Axes, ColorScale, Heatmap, heatmap};

use crate::orhan_ma::untrained::UntrainedCell;

/// Heat map of activity `[time, units]`: active units only (mean > `threshold`),
/// each normalised to its peak and sorted by peak time (Supp. Figs. 2–5).
/// `max_units` keeps the most active units, as the supplement shows 50–150.
pub fn sorted_activity_heatmap(
    path: &Path,
    title: &str,
    activity: ArrayView2<f64>,
    threshold: f64,
    max_units: usize,
) -> Result<()> {
    let means = activity.mean_axis(Axis(0)).unwrap_or_default();
    let mut active: Vec<usize> = (0..activity.ncols())
        .filter(|&i| means[i] > threshold)
        .collect();
    active.sort_by(|&a, &b| means[b].total_cmp(&means[a]));
    active.truncate(max_units.max(1));
    if active.is_empty() {
        active = (0..activity.ncols().min(max_units.max(1))).collect();
    }
    let sub = activity.select(Axis(1), &active);
    let norm = normalized_by_peak(sub.view());
    let order = peak_time_order(sub.view());
    let t = activity.nrows();
    let values: Vec<Vec<f64>> = order
        .iter()
        .map(|&u| (0..t).map(|s| norm[[s, u]]).collect())
        .collect();
    let map = Heatmap {
        values,
        x_extent: (-0.5, t as f64 - 0.5),
        y_extent: (-0.5, order.len() as f64 - 0.5),
        scale: ColorScale::Sequential { lo: 0.0, hi: 1.0 },
        value_label: "activity / unit's peak".into(),
    };
    heatmap(
        path,
        &Axes::new(title, "time step", "unit (sorted by peak time)")
            .integer_x()
            .integer_y(),
        &map,
    )?;
    Ok(())
}

/// SI over the untrained (λ0, σ0) grid as one heat map (rows σ0, columns λ0).
pub fn untrained_si_map(
    path: &Path,
    cells: &[UntrainedCell],
    lambda0: &[f64],
    sigma0: &[f64],
) -> Result<()> {
    let values: Vec<Vec<f64>> = (0..sigma0.len())
        .rev()
        .map(|i| {
            (0..lambda0.len())
                .map(|j| cells[i * lambda0.len() + j].si)
                .collect()
        })
        .collect();
    let (l0, l1) = (lambda0[0], *lambda0.last().unwrap_or(&lambda0[0]));
    let (s0, s1) = (sigma0[0], *sigma0.last().unwrap_or(&sigma0[0]));
    let dl = if lambda0.len() > 1 {
        (l1 - l0) / (lambda0.len() - 1) as f64
    } else {
        0.02
    };
    let ds = if sigma0.len() > 1 {
        (s1 - s0) / (sigma0.len() - 1) as f64
    } else {
        0.04
    };
    let map = Heatmap {
        scale: ColorScale::sequential_from(values.iter().flatten().copied()),
        values,
        x_extent: (l0 - dl / 2.0, l1 + dl / 2.0),
        y_extent: (s1 + ds / 2.0, s0 - ds / 2.0),
        value_label: "sequentiality index (SI)".into(),
    };
    heatmap(
        path,
        &Axes::new(
            "Untrained networks: SI of the pulse response (grey: no active unit)",
            "λ0 (initial self-coupling)",
            "σ0 (initial off-diagonal coupling)",
        ),
        &map,
    )?;
    Ok(())
}

/// Convert nested rows into an `Array2` (rows of equal length).
pub fn to_array(rows: &[Vec<f64>]) -> Array2<f64> {
    let n = rows.first().map_or(0, Vec::len);
    Array2::from_shape_fn((rows.len(), n), |(i, j)| rows[i][j])
}
