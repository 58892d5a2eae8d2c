//! The whole Orhan & Ma reproduction: untrained grid and banded model, the
//! trained grid (one network per core), statistics, figures, `summary.toml`
//! and `REPORT.md`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use ndarray::Axis;
use rayon::prelude::*;
use wm_analysis::sequentiality::{SiParams, sequentiality_index};
use wm_analysis::stats::{simple_linear_regression, ttest_welch};
use wm_analysis::weight_profile::WeightProfile;

use crate::io::{Provenance, write_atomic, write_csv, write_toml};
use crate::orhan_ma::aggregate::{
    Factor, NetworkResult, SiContrast, included, multiple_regression, paired_rho_regression,
    regress_on, si_by_task, si_contrast, success_rate,
};
use crate::orhan_ma::banded::{PEAK_ORDER_MIN_FRACTION, peak_order_rho};
use crate::orhan_ma::config::{Condition, OrhanMaConfig};
use crate::orhan_ma::figures::{sorted_activity_heatmap, to_array, untrained_si_map};
use crate::orhan_ma::grid::expand;
use crate::orhan_ma::network::{average_profiles, toeplitz_from_profile};
use crate::orhan_ma::report::{
    factor_figure, paired_rho_figure, profile_figure, report_markdown, schur_figure, task_figure,
};
use crate::orhan_ma::train::{TrainedNetwork, train_network};
use crate::orhan_ma::untrained::untrained_grid;
use crate::regress::Summary;

/// Units shown in example heat maps.
const HEATMAP_UNITS: usize = 150;
/// Size of the Toeplitz matrix built from a mean weight profile for the Schur analysis.
const SCHUR_DIM: usize = 100;

/// Run the reproduction described by `cfg` (read from `config_path`) into `out`.
pub fn run(cfg: &OrhanMaConfig, scale: &str, config_path: &Path, out: &Path) -> Result<Summary> {
    run_with_progress(cfg, scale, config_path, out, &|_| {})
}

/// Training iterations the grid of `cfg` runs in total (for progress bars).
pub fn total_iterations(cfg: &OrhanMaConfig) -> usize {
    expand(cfg)
        .iter()
        .map(|s| {
            if s.condition == Condition::Sequential {
                2 * cfg.iterations
            } else {
                cfg.iterations
            }
        })
        .sum()
}

/// [`run`], telling `progress` how many training iterations were done as they
/// happen (from every network, in any order).
pub fn run_with_progress(
    cfg: &OrhanMaConfig,
    scale: &str,
    config_path: &Path,
    out: &Path,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Summary> {
    cfg.validate()
        .with_context(|| format!("invalid config {}", config_path.display()))?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    write_toml(
        &out.join("run.toml"),
        &Provenance::new("orhan-ma", scale, cfg.seed, config_path)?,
    )?;
    let mut stats: BTreeMap<String, f64> = BTreeMap::new();

    untrained_and_banded(cfg, out, &mut stats)?;

    let specs = expand(cfg);
    tracing::info!(
        networks = specs.len(),
        threads = cfg.threads,
        "training the grid"
    );
    let pool = crate::io::network_pool(cfg.threads)?;
    let done = AtomicUsize::new(0);
    let total = specs.len();
    let trained: Vec<TrainedNetwork> = pool.install(|| {
        specs
            .par_iter()
            .map(|s| {
                let net =
                    train_network(s, cfg, &out.join("networks").join(s.dir_name()), progress)?;
                let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::info!(
                    "network {k}/{total} done: {} λ0={} σ0={} ρ={} F={:.3} SI={:.3} ({:.0} s)",
                    net.result.task,
                    net.result.lambda0,
                    net.result.sigma0,
                    net.result.rho,
                    net.result.fractional_loss,
                    net.result.si,
                    net.result.train_seconds
                );
                Ok(net)
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let rows: Vec<NetworkResult> = trained.iter().map(|t| t.result.clone()).collect();
    write_csv(&out.join("networks.csv"), &rows)?;
    let inc = included(&rows, cfg.require_success);
    stats.insert("n_networks".into(), rows.len() as f64);
    stats.insert("n_included".into(), inc.len() as f64);
    stats.insert(
        "n_diverged".into(),
        rows.iter().filter(|r| r.diverged).count() as f64,
    );
    stats.insert("success_rate".into(), success_rate(&rows));
    stats.insert(
        "require_success".into(),
        f64::from(u8::from(cfg.require_success)),
    );
    let finite_f: Vec<f64> = rows
        .iter()
        .map(|r| r.fractional_loss)
        .filter(|f| f.is_finite())
        .collect();
    if !finite_f.is_empty() {
        stats.insert(
            "mean_fractional_loss".into(),
            finite_f.iter().sum::<f64>() / finite_f.len() as f64,
        );
    }

    let mut regressions = Vec::new();
    for factor in Factor::ALL {
        if let Some(reg) = regress_on(&inc, factor) {
            let k = factor.name();
            stats.insert(format!("si_slope_{k}"), reg.slope);
            stats.insert(format!("si_slope_se_{k}"), reg.slope_se);
            stats.insert(format!("si_p_{k}"), reg.p_value);
            factor_figure(&out.join(format!("si_vs_{k}.png")), &inc, &reg, &cfg.tasks)?;
            regressions.push(reg);
        }
    }
    // The same regressions over every network with a finite SI, successful or
    // not: briefly trained grids (quick scale) lose whole corners of the grid
    // to the success criterion, and this shows what the excluded ones do.
    if cfg.require_success {
        let all = included(&rows, false);
        for factor in Factor::ALL {
            if let Some(reg) = regress_on(&all, factor) {
                let k = factor.name();
                stats.insert(format!("si_slope_all_{k}"), reg.slope);
                stats.insert(format!("si_p_all_{k}"), reg.p_value);
            }
        }
    }
    if let Some((coefs, r2)) = multiple_regression(&inc) {
        for (f, b, se, p) in coefs {
            stats.insert(format!("si_multi_coef_{}", f.name()), b);
            stats.insert(format!("si_multi_se_{}", f.name()), se);
            stats.insert(format!("si_multi_p_{}", f.name()), p);
        }
        stats.insert("si_multi_r2".into(), r2);
    }
    if let Some(p) = paired_rho_regression(&inc) {
        stats.insert("si_paired_rho_slope".into(), p.slope);
        stats.insert("si_paired_rho_se".into(), p.slope_se);
        stats.insert("si_paired_rho_p".into(), p.p_value);
        stats.insert("si_paired_rho_groups".into(), p.groups as f64);
        paired_rho_figure(&out.join("si_vs_rho_paired.png"), &inc, &p)?;
    }
    let by_task = si_by_task(&inc);
    for t in &by_task {
        stats.insert(format!("si_mean_{}", t.task), t.mean);
    }
    if !by_task.is_empty() {
        task_figure(&out.join("si_by_task.png"), &by_task, &inc)?;
    }

    contrasts(cfg, &inc, &mut stats);
    profiles_and_schur(cfg, &trained, out, &mut stats)?;

    let summary = Summary {
        study: "orhan-ma".into(),
        scale: scale.into(),
        statistics: stats,
    };
    write_toml(&out.join("summary.toml"), &summary)?;
    let report = report_markdown(
        scale,
        &summary.statistics,
        &regressions,
        &by_task,
        rows.len(),
        inc.len(),
    );
    write_atomic(&out.join("REPORT.md"), report.as_bytes())?;
    tracing::info!(out = %out.display(), "orhan-ma done: summary.toml, networks.csv, REPORT.md and figures written");
    Ok(summary)
}

/// Task and condition contrasts: for every pair of tasks (in config order)
/// and every condition against the basic one, the difference in mean SI
/// with its Welch p-value (`si_diff_<a>_vs_<b>`, `si_diff_p_<a>_vs_<b>`),
/// the comparisons behind Fig. 3a (tasks) and the conditions the paper
/// reports as favouring sequential or persistent solutions.
fn contrasts(cfg: &OrhanMaConfig, inc: &[&NetworkResult], stats: &mut BTreeMap<String, f64>) {
    let mut put = |a: &str, b: &str, c: Option<SiContrast>| {
        if let Some(c) = c {
            stats.insert(format!("si_diff_{a}_vs_{b}"), c.diff);
            stats.insert(format!("si_diff_p_{a}_vs_{b}"), c.p_value);
        }
    };
    for (i, a) in cfg.tasks.iter().enumerate() {
        for b in &cfg.tasks[i + 1..] {
            put(a, b, si_contrast(inc, |r| r.task == *a, |r| r.task == *b));
        }
    }
    if cfg.conditions.contains(&Condition::Basic) {
        for &c in cfg.conditions.iter().filter(|&&c| c != Condition::Basic) {
            // Only tasks trained in both conditions enter the comparison.
            let shared = |r: &NetworkResult| {
                inc.iter()
                    .any(|o| o.task == r.task && o.condition == Condition::Basic)
                    && inc.iter().any(|o| o.task == r.task && o.condition == c)
            };
            put(
                c.name(),
                Condition::Basic.name(),
                si_contrast(
                    inc,
                    |r| r.condition == c && shared(r),
                    |r| r.condition == Condition::Basic && shared(r),
                ),
            );
        }
    }
}

/// The profile's mean weight at offset `k` (NaN where it has none).
fn profile_at(offsets: &[i64], mean: &[f64], k: i64) -> f64 {
    offsets
        .iter()
        .position(|&o| o == k)
        .map_or(f64::NAN, |p| mean[p])
}

/// Supp. Fig. 1 (untrained grid) and Supp. Fig. 7 (banded model).
fn untrained_and_banded(
    cfg: &OrhanMaConfig,
    out: &Path,
    stats: &mut BTreeMap<String, f64>,
) -> Result<()> {
    let grid = &cfg.untrained_grid;
    let (cells, _) = untrained_grid(grid, cfg.seed)?;
    write_csv(&out.join("untrained_grid.csv"), &cells)?;
    untrained_si_map(
        &out.join("untrained_si_grid.png"),
        &cells,
        &grid.lambda0,
        &grid.sigma0,
    )?;
    let (x, y): (Vec<f64>, Vec<f64>) = cells
        .iter()
        .filter(|c| c.si.is_finite())
        .map(|c| (c.sigma0, c.si))
        .unzip();
    if let Ok(fit) = simple_linear_regression(&x, &y) {
        stats.insert("untrained_si_sigma0_slope".into(), fit.coefficients[1]);
    }
    for (name, model) in [
        ("sequential", cfg.banded.clone()),
        ("persistent", cfg.banded.persistent()),
        ("as_written", cfg.banded.as_written()),
    ] {
        let activity = model.simulate();
        let h = to_array(&activity);
        // The banded model is linear in its pulse, so its activity has no
        // natural scale: a unit counts as active above 1 % of the largest
        // unit mean, not above the trained networks' absolute 0.1.
        let top_mean = h
            .mean_axis(Axis(0))
            .map_or(0.0, |m| m.fold(0.0_f64, |a, &b| a.max(b)));
        let params = SiParams {
            activity_threshold: PEAK_ORDER_MIN_FRACTION * top_mean,
            ..SiParams::default()
        };
        let si = sequentiality_index(h.view().insert_axis(Axis(0)), &params)?.si;
        stats.insert(format!("banded_si_{name}"), si);
        if let Ok(rho) = peak_order_rho(&activity) {
            let key = match name {
                "sequential" => "banded_peak_order_rho".to_string(),
                _ => format!("banded_{name}_peak_order_rho"),
            };
            stats.insert(key, rho);
        }
        sorted_activity_heatmap(
            &out.join(format!("banded_{name}.png")),
            &format!("Banded model, {} (SI {si:.2})", name.replace('_', " ")),
            h.view(),
            params.activity_threshold,
            HEATMAP_UNITS,
        )?;
    }
    Ok(())
}

/// Weight profiles of high- and low-SI networks, Schur modes of their mean
/// connectivity and example heat maps.
fn profiles_and_schur(
    cfg: &OrhanMaConfig,
    trained: &[TrainedNetwork],
    out: &Path,
    stats: &mut BTreeMap<String, f64>,
) -> Result<()> {
    let mut ranked: Vec<&TrainedNetwork> = trained
        .iter()
        .filter(|t| t.result.si.is_finite() && (!cfg.require_success || t.result.success))
        .collect();
    if ranked.is_empty() {
        return Ok(());
    }
    ranked.sort_by(|a, b| b.result.si.total_cmp(&a.result.si));
    let third = ranked.len().div_ceil(3);
    let (high, low) = (&ranked[..third], &ranked[ranked.len() - third..]);
    let threshold = SiParams::default().activity_threshold;
    for (name, net) in [
        ("most_sequential", high[0]),
        ("most_persistent", low[low.len() - 1]),
    ] {
        sorted_activity_heatmap(
            &out.join(format!("heatmap_{name}.png")),
            &format!(
                "Most {} network: {}, λ0 = {}, σ0 = {}, ρ = {} (SI {:.2})",
                name.trim_start_matches("most_"),
                net.result.task,
                net.result.lambda0,
                net.result.sigma0,
                net.result.rho,
                net.result.si
            ),
            net.measures.example_trial.view(),
            threshold,
            HEATMAP_UNITS,
        )?;
    }
    let mut groups = Vec::new();
    // The baseline: the same networks' initial (random) weights, each
    // ordered by its own untrained responses.
    let untrained: Vec<_> = ranked
        .iter()
        .filter_map(|t| t.untrained_profile.as_ref())
        .collect();
    fn trained_profiles<'a>(group: &[&'a TrainedNetwork]) -> Vec<&'a WeightProfile> {
        group
            .iter()
            .filter_map(|t| t.measures.profile.as_ref())
            .collect()
    }
    let (high_p, low_p) = (trained_profiles(high), trained_profiles(low));
    // Per-network forward-minus-backward asymmetry, compared between groups
    // (Fig. 6: sequential networks carry a forward band; random ones none).
    let asymmetries = |ps: &[&WeightProfile]| -> Vec<f64> {
        ps.iter()
            .map(|p| profile_at(&p.offsets, &p.mean, 1) - profile_at(&p.offsets, &p.mean, -1))
            .filter(|a| a.is_finite())
            .collect()
    };
    for (name, other) in [("low_si", &low_p), ("untrained", &untrained)] {
        if let Ok(t) = ttest_welch(&asymmetries(&high_p), &asymmetries(other)) {
            stats.insert(
                format!("profile_asymmetry_diff_high_si_vs_{name}"),
                t.estimate,
            );
            stats.insert(
                format!("profile_asymmetry_diff_p_high_si_vs_{name}"),
                t.p_value,
            );
        }
    }
    for (name, ps) in [
        ("high_si", high_p),
        ("low_si", low_p),
        ("untrained", untrained),
    ] {
        if let Some(avg) = average_profiles(&ps) {
            let at = |k: i64| profile_at(&avg.offsets, &avg.mean, k);
            stats.insert(format!("profile_asymmetry_{name}"), at(1) - at(-1));
            stats.insert(format!("profile_self_{name}"), at(0));
            let w = toeplitz_from_profile(&avg, SCHUR_DIM.min(cfg.n_units));
            let (sig, nonnormal) = schur_figure(
                &out.join(format!("schur_{name}.png")),
                &format!(
                    "Schur-mode interactions of the mean connectivity, {} networks",
                    name.replace("_si", "-SI").replace('_', " ")
                ),
                w.view(),
                cfg.schur_threshold,
            )?;
            stats.insert(format!("schur_significant_modes_{name}"), sig as f64);
            stats.insert(format!("schur_nonnormal_fraction_{name}"), nonnormal);
            groups.push((name, avg));
        }
    }
    if let (Some(h), Some(l)) = (
        stats.get("schur_significant_modes_high_si"),
        stats.get("schur_significant_modes_low_si"),
    ) {
        let diff = h - l;
        stats.insert("schur_significant_modes_high_minus_low_si".into(), diff);
    }
    if !groups.is_empty() {
        let refs: Vec<(&str, &_)> = groups.iter().map(|(n, p)| (*n, p)).collect();
        profile_figure(&out.join("weight_profiles.png"), &refs)?;
    }
    Ok(())
}
