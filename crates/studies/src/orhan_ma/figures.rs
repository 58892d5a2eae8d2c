//! Every figure of the Orhan & Ma reproduction, drawn from its outcome:
//! the untrained (λ0, σ0) grid (Supp. Fig. 1), the banded model (Supp.
//! Fig. 7), SI against the grid's factors (Fig. 2; Supp. Figs. 8–11), SI by
//! task (Fig. 3a) and against active units, example activity (Supp. Figs. 2–5), weight profiles
//! (Fig. 6) and Schur modes (Supp. Fig. 12).

use std::path::Path;

use anyhow::Result;
use ndarray::{ArrayView2, Axis};
use wm_analysis::sequentiality::{SiParams, normalized_by_peak, peak_time_order};
use wm_analysis::weight_profile::WeightProfile;
use wm_plot::{
    Axes, BarGroup, ColorScale, FitBand, Heatmap, Line, ScatterGroup, bar_chart, heatmap,
    line_plot, scatter_with_fit,
};

use crate::orhan_ma::aggregate::{
    Factor, FactorRegression, NetworkResult, PairedRho, TaskSi, rho_groups,
};
use crate::orhan_ma::compute::Outcome;
use crate::orhan_ma::config::OrhanMaConfig;
use crate::orhan_ma::measures::{SchurSummary, SiGroups};
use crate::orhan_ma::task_ordering::SiRankCorrelation;
use crate::orhan_ma::untrained::UntrainedCell;

/// Units shown in example heat maps.
const HEATMAP_UNITS: usize = 150;

/// Draw every figure of the run into `out`.
pub fn draw(cfg: &OrhanMaConfig, outcome: &Outcome, out: &Path) -> Result<()> {
    let grid = &cfg.untrained_grid;
    untrained_si_map(
        &out.join("untrained_si_grid.png"),
        &outcome.untrained,
        &grid.lambda0,
        &grid.sigma0,
    )?;
    for b in &outcome.banded {
        sorted_activity_heatmap(
            &out.join(format!("banded_{}.png", b.name)),
            &format!(
                "Banded model, {} (SI {:.2})",
                b.name.replace('_', " "),
                b.si
            ),
            b.activity.view(),
            b.threshold,
            HEATMAP_UNITS,
        )?;
    }
    let m = &outcome.measures;
    let inc = outcome.included_rows();
    for reg in &m.regressions {
        let path = out.join(format!("si_vs_{}.png", reg.factor.name()));
        factor_figure(&path, &inc, reg, &cfg.tasks)?;
    }
    if let Some(p) = &m.paired_rho {
        paired_rho_figure(&out.join("si_vs_rho_paired.png"), &inc, p)?;
    }
    if !m.by_task.is_empty() {
        task_figure(&out.join("si_by_task.png"), &m.by_task, &inc)?;
    }
    if !m.si_active.is_empty() {
        active_units_figure(&out.join("si_vs_active_units.png"), &inc, &m.si_active)?;
    }
    if let Some(g) = &m.groups {
        group_figures(outcome, g, out)?;
    }
    Ok(())
}

/// Example heat maps of the most sequential and most persistent networks,
/// Schur modes and weight profiles of the SI groups.
fn group_figures(outcome: &Outcome, g: &SiGroups, out: &Path) -> Result<()> {
    let threshold = SiParams::default().activity_threshold;
    for (name, i) in [
        ("most_sequential", g.most_sequential),
        ("most_persistent", g.most_persistent),
    ] {
        let net = &outcome.networks[i];
        let r = &net.result;
        sorted_activity_heatmap(
            &out.join(format!("heatmap_{name}.png")),
            &format!(
                "Most {} network: {}, λ0 = {}, σ0 = {}, ρ = {} (SI {:.2})",
                name.trim_start_matches("most_"),
                r.task,
                r.lambda0,
                r.sigma0,
                r.rho,
                r.si
            ),
            net.measures.example_trial.view(),
            threshold,
            HEATMAP_UNITS,
        )?;
    }
    for p in &g.profiles {
        schur_figure(
            &out.join(format!("schur_{}.png", p.name)),
            &format!(
                "Schur-mode interactions of the mean connectivity, {} networks",
                p.name.replace("_si", "-SI").replace('_', " ")
            ),
            &p.schur,
        )?;
    }
    if !g.profiles.is_empty() {
        let refs: Vec<(&str, &WeightProfile)> =
            g.profiles.iter().map(|p| (p.name, &p.profile)).collect();
        profile_figure(&out.join("weight_profiles.png"), &refs)?;
    }
    Ok(())
}

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

/// Draw SI against one factor with the regression line and its 95 % band.
pub fn factor_figure(
    path: &Path,
    rows: &[&NetworkResult],
    reg: &FactorRegression,
    tasks: &[String],
) -> Result<()> {
    let groups: Vec<ScatterGroup> = tasks
        .iter()
        .map(|t| ScatterGroup {
            name: t.clone(),
            points: rows
                .iter()
                .filter(|r| &r.task == t)
                .map(|r| (reg.factor.of(r), r.si))
                .collect(),
        })
        .filter(|g| !g.points.is_empty())
        .collect();
    let fit = FitBand {
        name: format!(
            "slope {:.3} ± {:.3}, R² {:.2}, p = {:.3}",
            reg.slope, reg.slope_se, reg.r_squared, reg.p_value
        ),
        x: reg.band.iter().map(|b| b.0).collect(),
        fit: reg.band.iter().map(|b| b.1).collect(),
        lo: reg.band.iter().map(|b| b.2).collect(),
        hi: reg.band.iter().map(|b| b.3).collect(),
    };
    let (symbol, label) = match reg.factor {
        Factor::Sigma0 => ("σ0", "σ0 (initial off-diagonal coupling)"),
        Factor::Lambda0 => ("λ0", "λ0 (initial self-coupling)"),
        Factor::Rho => ("ρ", "ρ (weight decay)"),
        Factor::InputGain => ("g", "g (input gain)"),
    };
    let title = format!("SI vs {symbol}, {} networks (OLS fit, 95 % band)", reg.n);
    scatter_with_fit(
        path,
        &Axes::new(&title, label, "sequentiality index"),
        &groups,
        &[fit],
    )?;
    Ok(())
}

/// SI against ρ with a line through each group of networks that share a
/// seed (`paired_rho`): the within-pair changes the paired slope averages.
pub fn paired_rho_figure(path: &Path, rows: &[&NetworkResult], paired: &PairedRho) -> Result<()> {
    let lines: Vec<Line> = rho_groups(rows)
        .iter()
        .map(|g| Line {
            name: format!(
                "{} λ0 {} σ0 {:.3} #{}",
                g[0].task, g[0].lambda0, g[0].sigma0, g[0].replicate
            ),
            x: g.iter().map(|r| r.rho).collect(),
            y: g.iter().map(|r| r.si).collect(),
            err: None,
        })
        .collect();
    let title = format!(
        "SI vs ρ within seeds: slope {:.1} ± {:.1}, p = {:.3} ({} seeds)",
        paired.slope, paired.slope_se, paired.p_value, paired.groups
    );
    line_plot(
        path,
        &Axes::new(&title, "ρ (weight decay)", "sequentiality index"),
        &lines,
    )?;
    Ok(())
}

/// Bar chart of SI by task, most sequential first (Fig. 3a).
pub fn task_figure(path: &Path, by_task: &[TaskSi], rows: &[&NetworkResult]) -> Result<()> {
    let bars: Vec<BarGroup> = by_task
        .iter()
        .map(|t| BarGroup {
            label: t.task.clone(),
            value: t.mean,
            err: t.sem.is_finite().then_some(t.sem),
            points: rows
                .iter()
                .filter(|r| r.task == t.task)
                .map(|r| r.si)
                .collect(),
        })
        .collect();
    bar_chart(
        path,
        &Axes::new("SI by task (mean ± SEM)", "task", "sequentiality index"),
        &bars,
    )?;
    Ok(())
}

/// SI against the mean number of active units of each included network, by
/// task, with each task's Spearman correlation in the legend: a network that
/// solves its task with a few units cannot tile the trial with their peaks.
pub fn active_units_figure(
    path: &Path,
    rows: &[&NetworkResult],
    correlations: &[SiRankCorrelation],
) -> Result<()> {
    let groups: Vec<ScatterGroup> = correlations
        .iter()
        .map(|c| ScatterGroup {
            name: format!(
                "{} (Spearman {:+.2}, p = {:.2})",
                c.task, c.spearman_r, c.p_value
            ),
            points: rows
                .iter()
                .filter(|r| r.task == c.task)
                .map(|r| (r.n_active, r.si))
                .collect(),
        })
        .filter(|g| !g.points.is_empty())
        .collect();
    scatter_with_fit(
        path,
        &Axes::new(
            "SI vs active units (successful networks)",
            "active units (mean per recorded trial)",
            "sequentiality index",
        ),
        &groups,
        &[],
    )?;
    Ok(())
}

/// Weight profiles of the high- and low-SI groups (Fig. 6a–c, Supp. Fig. 8e–f).
pub fn profile_figure(path: &Path, groups: &[(&str, &WeightProfile)]) -> Result<()> {
    // The self-coupling (k = 0, near λ0) is an order of magnitude above the
    // off-diagonal profile whose asymmetry is the finding (Fig. 6): it is
    // left out of the line and given in the legend.
    let lines: Vec<Line> = groups
        .iter()
        .map(|(name, p)| {
            let self_coupling = p.offsets.iter().position(|&o| o == 0);
            let hide = |v: &[f64]| -> Vec<f64> {
                v.iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        if Some(i) == self_coupling {
                            f64::NAN
                        } else {
                            v
                        }
                    })
                    .collect()
            };
            let diag = self_coupling.map_or(f64::NAN, |i| p.mean[i]);
            Line {
                name: format!("{} (k = 0: {diag:.2})", name.replace("_si", "-SI")),
                x: p.offsets.iter().map(|&o| o as f64).collect(),
                y: hide(&p.mean),
                err: Some(hide(&p.sd)),
            }
        })
        .collect();
    line_plot(
        path,
        &Axes::new(
            "Recurrent weight profile along the peak-time order (k = 0 in the legend)",
            "offset k (post − pre, in peak-time rank)",
            "mean W[pre, post] ± s.d.",
        )
        .integer_x(),
        &lines,
    )?;
    Ok(())
}

/// Schur-mode interaction matrix |T_ij| of the shown modes (ordered by
/// |λ|), as in Supp. Fig. 12.
pub fn schur_figure(path: &Path, title: &str, schur: &SchurSummary) -> Result<()> {
    let m = &schur.shown_interaction;
    let values: Vec<Vec<f64>> = m.rows().into_iter().map(|r| r.to_vec()).collect();
    let n = m.nrows() as f64;
    let map = Heatmap {
        scale: ColorScale::sequential_from(values.iter().flatten().copied()),
        values,
        x_extent: (-0.5, n - 0.5),
        y_extent: (-0.5, n - 0.5),
        value_label: "|T_ij| (Schur interaction)".into(),
    };
    heatmap(
        path,
        &Axes::new(title, "Schur mode j (by |λ|)", "Schur mode i (by |λ|)")
            .integer_x()
            .integer_y(),
        &map,
    )?;
    Ok(())
}
