//! Across-network statistics of the Orhan & Ma reproduction: regressions of SI
//! on σ0, λ0 and ρ with two-sided Wald tests, SI by task, training success.

use std::collections::BTreeMap;

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};
use wm_analysis::stats::{
    mean_sem, ols_with_intercept, simple_linear_regression, t_two_sided_p, ttest_welch,
};

use crate::orhan_ma::config::Condition;

/// Everything measured on one trained network: one row of `networks.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkResult {
    /// Grid index.
    pub index: usize,
    /// Task name.
    pub task: String,
    /// Condition.
    pub condition: Condition,
    /// Initial self-coupling λ0.
    pub lambda0: f64,
    /// Initial off-diagonal coupling σ0.
    pub sigma0: f64,
    /// Weight decay ρ.
    pub rho: f64,
    /// Input gain g.
    pub input_gain: f64,
    /// Replicate at the grid point.
    pub replicate: usize,
    /// The network's seed.
    pub seed: u64,
    /// Test fractional loss relative to the ideal observer (0 = optimal).
    pub fractional_loss: f64,
    /// Test accuracy for binary tasks (NaN for estimation tasks).
    pub accuracy: f64,
    /// Whether the fractional loss is below the success threshold.
    pub success: bool,
    /// Network SI: nan-mean of per-trial SI over the recorded test trials.
    pub si: f64,
    /// Recorded trials whose SI was NaN (no active unit).
    pub si_nan_trials: usize,
    /// Recorded trials whose SI was +∞ (zero background).
    pub si_inf_trials: usize,
    /// Mean number of active units per recorded trial.
    pub n_active: f64,
    /// Training diverged (non-finite loss or gradient): a failed network.
    #[serde(default)]
    pub diverged: bool,
    /// Wall-clock training time, s: the training loops only (summed over
    /// resumed runs, as recorded in the checkpoint), not testing or recording;
    /// a later call that trains nothing (`wm eval`, `wm record`) keeps it.
    pub train_seconds: f64,
}

/// A factor SI is regressed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// Initial off-diagonal coupling σ0.
    Sigma0,
    /// Initial self-coupling λ0.
    Lambda0,
    /// Weight decay ρ.
    Rho,
    /// Input gain g.
    InputGain,
}

impl Factor {
    /// All factors, in report order.
    pub const ALL: [Factor; 4] = [
        Factor::Sigma0,
        Factor::Lambda0,
        Factor::Rho,
        Factor::InputGain,
    ];

    /// Short name for tables and statistics keys.
    pub fn name(self) -> &'static str {
        match self {
            Factor::Sigma0 => "sigma0",
            Factor::Lambda0 => "lambda0",
            Factor::Rho => "rho",
            Factor::InputGain => "input_gain",
        }
    }

    /// The factor's value for one network.
    pub fn of(self, r: &NetworkResult) -> f64 {
        match self {
            Factor::Sigma0 => r.sigma0,
            Factor::Lambda0 => r.lambda0,
            Factor::Rho => r.rho,
            Factor::InputGain => r.input_gain,
        }
    }
}

/// A simple regression of SI on one factor with its 95 % confidence band.
#[derive(Debug, Clone, Serialize)]
pub struct FactorRegression {
    /// The factor.
    pub factor: Factor,
    /// Networks in the fit.
    pub n: usize,
    /// Slope (SI per unit of the factor).
    pub slope: f64,
    /// Standard error of the slope.
    pub slope_se: f64,
    /// Two-sided Wald p-value of the slope.
    pub p_value: f64,
    /// Coefficient of determination.
    pub r_squared: f64,
    /// Band grid: x, fitted mean, lower and upper 95 % limits.
    pub band: Vec<(f64, f64, f64, f64)>,
}

/// The networks that enter the statistics: finite SI, and successful when required.
pub fn included(results: &[NetworkResult], require_success: bool) -> Vec<&NetworkResult> {
    included_positions(results, require_success)
        .into_iter()
        .map(|i| &results[i])
        .collect()
}

/// Positions in `results` of the networks [`included`] keeps, in order.
pub fn included_positions(results: &[NetworkResult], require_success: bool) -> Vec<usize> {
    (0..results.len())
        .filter(|&i| {
            let r = &results[i];
            r.si.is_finite() && (!require_success || r.success)
        })
        .collect()
}

/// Simple OLS of SI on `factor`; `None` when the factor takes fewer than two
/// values among `rows` or the fit is undefined (too few networks).
pub fn regress_on(rows: &[&NetworkResult], factor: Factor) -> Option<FactorRegression> {
    let x: Vec<f64> = rows.iter().map(|r| factor.of(r)).collect();
    let y: Vec<f64> = rows.iter().map(|r| r.si).collect();
    let fit = simple_linear_regression(&x, &y).ok()?;
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let band = (0..=40)
        .filter_map(|k| {
            let xv = lo + (hi - lo) * k as f64 / 40.0;
            fit.confidence_band(&[1.0, xv])
                .ok()
                .map(|(m, l, h)| (xv, m, l, h))
        })
        .collect();
    Some(FactorRegression {
        factor,
        n: rows.len(),
        slope: fit.coefficients[1],
        slope_se: fit.std_errors[1],
        p_value: fit.p_values[1],
        r_squared: fit.r_squared,
        band,
    })
}

/// One coefficient of a multiple regression: factor, estimate, standard error, two-sided p.
pub type Coefficient = (Factor, f64, f64, f64);

/// Multiple regression of SI on every factor that varies among `rows`:
/// `(factor, coefficient, standard error, p-value)` per factor, plus R².
pub fn multiple_regression(rows: &[&NetworkResult]) -> Option<(Vec<Coefficient>, f64)> {
    let varying: Vec<Factor> = Factor::ALL
        .into_iter()
        .filter(|f| {
            let first = rows.first().map(|r| f.of(r));
            rows.iter().any(|r| Some(f.of(r)) != first)
        })
        .collect();
    if varying.is_empty() || rows.len() <= varying.len() + 1 {
        return None;
    }
    let design =
        Array2::from_shape_fn((rows.len(), varying.len()), |(i, j)| varying[j].of(rows[i]));
    let y = Array1::from_iter(rows.iter().map(|r| r.si));
    let fit = ols_with_intercept(design.view(), y.view()).ok()?;
    let coefs = varying
        .iter()
        .enumerate()
        .map(|(j, &f)| {
            (
                f,
                fit.coefficients[j + 1],
                fit.std_errors[j + 1],
                fit.p_values[j + 1],
            )
        })
        .collect();
    Some((coefs, fit.r_squared))
}

/// Groups of networks that share a seed and differ in ρ, each sorted by ρ
/// (in seed order). Networks alone with their seed, or sharing it only at
/// one ρ, are left out.
pub fn rho_groups<'a>(rows: &[&'a NetworkResult]) -> Vec<Vec<&'a NetworkResult>> {
    let mut by_seed: BTreeMap<u64, Vec<&NetworkResult>> = BTreeMap::new();
    for r in rows {
        by_seed.entry(r.seed).or_default().push(r);
    }
    by_seed
        .into_values()
        .filter(|g| g.iter().any(|r| r.rho != g[0].rho))
        .map(|mut g| {
            g.sort_by(|a, b| a.rho.total_cmp(&b.rho));
            g
        })
        .collect()
}

/// The ρ effect measured within networks that share a seed (`paired_rho`):
/// the within (fixed-effects) estimator of SI on ρ, one intercept per seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedRho {
    /// Seeds with at least two included networks at different ρ.
    pub groups: usize,
    /// Networks in those groups.
    pub n: usize,
    /// Slope (SI per unit ρ).
    pub slope: f64,
    /// Standard error of the slope, with n − groups − 1 residual df.
    pub slope_se: f64,
    /// Two-sided t-test p-value of the slope.
    pub p_value: f64,
}

/// Regress SI on ρ within groups of networks that share a seed, so the
/// spread of initialisations (which dominates SI at quick scale) cancels.
/// With two ρ values this is the paired t-test of the SI differences. Each
/// group is centred on its own means of ρ and SI (Frisch–Waugh–Lovell), so
/// the cost is linear in the number of networks. `None` without two such
/// groups, without residual degrees of freedom, or when the within-seed fit
/// is exact (zero residuals leave the t statistic undefined).
pub fn paired_rho_regression(rows: &[&NetworkResult]) -> Option<PairedRho> {
    let groups = rho_groups(rows);
    let mut centred = Vec::new();
    for g in &groups {
        let m = g.len() as f64;
        let mean_rho = g.iter().map(|r| r.rho).sum::<f64>() / m;
        let mean_si = g.iter().map(|r| r.si).sum::<f64>() / m;
        centred.extend(g.iter().map(|r| (r.rho - mean_rho, r.si - mean_si)));
    }
    let groups = groups.len();
    let n = centred.len();
    if groups < 2 || n <= groups + 1 {
        return None;
    }
    let sxx: f64 = centred.iter().map(|(x, _)| x * x).sum();
    let sxy: f64 = centred.iter().map(|(x, y)| x * y).sum();
    let slope = sxy / sxx;
    let rss: f64 = centred.iter().map(|(x, y)| (y - slope * x).powi(2)).sum();
    let df = (n - groups - 1) as f64;
    let slope_se = (rss / df / sxx).sqrt();
    let p_value = t_two_sided_p(slope / slope_se, df).ok()?;
    Some(PairedRho {
        groups,
        n,
        slope,
        slope_se,
        p_value,
    })
}

/// Mean ± SEM of SI per task, in the order of decreasing mean SI.
#[derive(Debug, Clone, Serialize)]
pub struct TaskSi {
    /// Task name.
    pub task: String,
    /// Mean SI over included networks.
    pub mean: f64,
    /// Standard error of the mean (NaN with one network).
    pub sem: f64,
    /// Included networks.
    pub n: usize,
}

/// SI by task, sorted from most sequential to most persistent.
pub fn si_by_task(rows: &[&NetworkResult]) -> Vec<TaskSi> {
    let mut by: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in rows {
        by.entry(r.task.as_str()).or_default().push(r.si);
    }
    let mut out: Vec<TaskSi> = by
        .into_iter()
        .map(|(task, v)| {
            let n = v.len();
            let mean = v.iter().sum::<f64>() / n as f64;
            let sem = mean_sem(&v).map_or(f64::NAN, |m| m.sem);
            TaskSi {
                task: task.to_string(),
                mean,
                sem,
                n,
            }
        })
        .collect();
    out.sort_by(|a, b| b.mean.total_cmp(&a.mean));
    out
}

/// Difference in mean SI between two groups of networks with Welch's t-test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SiContrast {
    /// Mean SI of group a minus mean SI of group b.
    pub diff: f64,
    /// Two-sided Welch p-value.
    pub p_value: f64,
    /// Networks in group a.
    pub n_a: usize,
    /// Networks in group b.
    pub n_b: usize,
}

/// Mean SI of the networks `in_a` selects minus that of those `in_b`
/// selects, with Welch's t-test; `None` with fewer than 2 networks in
/// either group or no spread.
pub fn si_contrast(
    rows: &[&NetworkResult],
    in_a: impl Fn(&NetworkResult) -> bool,
    in_b: impl Fn(&NetworkResult) -> bool,
) -> Option<SiContrast> {
    let a: Vec<f64> = rows.iter().filter(|r| in_a(r)).map(|r| r.si).collect();
    let b: Vec<f64> = rows.iter().filter(|r| in_b(r)).map(|r| r.si).collect();
    let t = ttest_welch(&a, &b).ok()?;
    Some(SiContrast {
        diff: t.estimate,
        p_value: t.p_value,
        n_a: a.len(),
        n_b: b.len(),
    })
}

/// Fraction of networks whose test fractional loss is below the threshold.
pub fn success_rate(results: &[NetworkResult]) -> f64 {
    if results.is_empty() {
        return f64::NAN;
    }
    results.iter().filter(|r| r.success).count() as f64 / results.len() as f64
}

/// A successful basic-condition network with the given grid values and SI
/// (the other fields fixed), for the tests of this module and its users.
#[cfg(test)]
pub(crate) fn row(task: &str, sigma0: f64, lambda0: f64, rho: f64, si: f64) -> NetworkResult {
    NetworkResult {
        index: 0,
        task: task.into(),
        condition: Condition::Basic,
        lambda0,
        sigma0,
        rho,
        input_gain: 1.0,
        replicate: 0,
        seed: 0,
        fractional_loss: 0.1,
        accuracy: f64::NAN,
        success: true,
        si,
        si_nan_trials: 0,
        si_inf_trials: 0,
        n_active: 10.0,
        diverged: false,
        train_seconds: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(seed: u64, rho: f64, si: f64) -> NetworkResult {
        NetworkResult {
            seed,
            ..row("2AFC", 0.1, 0.9, rho, si)
        }
    }

    #[test]
    fn exact_linear_data_gives_the_generating_coefficients() {
        // SI = 1 + 2 σ0 − 3 λ0 − 400 ρ exactly.
        let mut rows = Vec::new();
        for &s in &[0.0, 0.1, 0.3] {
            for &l in &[0.8, 0.9] {
                for &r in &[0.0, 1e-3] {
                    rows.push(row("DE-1", s, l, r, 1.0 + 2.0 * s - 3.0 * l - 400.0 * r));
                }
            }
        }
        let refs: Vec<&NetworkResult> = rows.iter().collect();
        let (coefs, r2) = multiple_regression(&refs).unwrap();
        let want = [
            (Factor::Sigma0, 2.0),
            (Factor::Lambda0, -3.0),
            (Factor::Rho, -400.0),
        ];
        assert_eq!(coefs.len(), 3, "input gain does not vary and is left out");
        for ((f, b, _, _), (wf, wb)) in coefs.iter().zip(want) {
            assert_eq!(*f, wf);
            assert!(
                (b - wb).abs() < 1e-8 * wb.abs().max(1.0),
                "{f:?}: {b} vs {wb}"
            );
        }
        assert!((r2 - 1.0).abs() < 1e-12);
        // The simple regression on σ0 is unbiased here because the design is balanced.
        let s = regress_on(&refs, Factor::Sigma0).unwrap();
        assert!((s.slope - 2.0).abs() < 1e-9);
        assert!(regress_on(&refs, Factor::InputGain).is_none());
    }

    #[test]
    fn failed_and_infinite_networks_are_left_out() {
        let mut rows = vec![
            row("2AFC", 0.0, 0.9, 0.0, 2.0),
            row("2AFC", 0.1, 0.9, 0.0, f64::INFINITY),
        ];
        rows.push(NetworkResult {
            success: false,
            ..row("2AFC", 0.2, 0.9, 0.0, 9.0)
        });
        assert_eq!(included(&rows, true).len(), 1);
        assert_eq!(included(&rows, false).len(), 2);
        assert!((success_rate(&rows) - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn si_contrast_is_welchs_test_of_the_selected_groups() {
        // scipy: ttest_ind([1, 2, 3.5], [4, 5, 6, 7.5], equal_var=False)
        //   -> t = -3.32, p = 0.021996893898412757
        let rows: Vec<NetworkResult> = [1.0, 2.0, 3.5]
            .iter()
            .map(|&si| row("2AFC", 0.0, 0.9, 0.0, si))
            .chain(
                [4.0, 5.0, 6.0, 7.5]
                    .iter()
                    .map(|&si| row("DE-1", 0.0, 0.9, 0.0, si)),
            )
            .chain([100.0].iter().map(|&si| row("CD", 0.0, 0.9, 0.0, si)))
            .collect();
        let refs: Vec<&NetworkResult> = rows.iter().collect();
        let c = si_contrast(&refs, |r| r.task == "2AFC", |r| r.task == "DE-1").unwrap();
        assert!((c.diff - (6.5 / 3.0 - 22.5 / 4.0)).abs() < 1e-12);
        assert!((c.p_value - 0.021996893898412757).abs() < 1e-9);
        assert_eq!((c.n_a, c.n_b), (3, 4));
        // One network in a group: no test.
        assert!(si_contrast(&refs, |r| r.task == "CD", |r| r.task == "DE-1").is_none());
    }

    #[test]
    fn tasks_are_ordered_by_mean_si() {
        let rows = [
            row("DE-1", 0.0, 0.9, 0.0, 1.0),
            row("2AFC", 0.0, 0.9, 0.0, 5.0),
            row("2AFC", 0.0, 0.9, 0.0, 7.0),
        ];
        let refs: Vec<&NetworkResult> = rows.iter().collect();
        let t = si_by_task(&refs);
        assert_eq!(t[0].task, "2AFC");
        assert_eq!(t[0].mean, 6.0);
        assert!((t[0].sem - 1.0).abs() < 1e-12, "sd √2 over √2 networks");
        assert_eq!(t[1].n, 1);
    }

    #[test]
    fn paired_rho_with_two_levels_is_the_paired_t_test() {
        use wm_analysis::stats::ttest_paired;
        let base = [3.1, 4.7, 2.2, 5.0, 3.9];
        let drop = [0.3, 0.1, 0.45, -0.05, 0.2];
        let mut rows: Vec<NetworkResult> = Vec::new();
        for (k, (&b, &d)) in base.iter().zip(&drop).enumerate() {
            rows.push(seeded(k as u64, 0.0, b));
            rows.push(seeded(k as u64, 1e-3, b - d));
        }
        // An unpaired network and a group whose ρ does not vary add nothing.
        rows.push(seeded(99, 1e-3, 9.0));
        rows.push(seeded(50, 0.0, 1.0));
        rows.push(seeded(50, 0.0, 8.0));
        let refs: Vec<&NetworkResult> = rows.iter().collect();
        let p = paired_rho_regression(&refs).unwrap();
        let hi: Vec<f64> = base.iter().zip(&drop).map(|(b, d)| b - d).collect();
        let t = ttest_paired(&hi, &base).unwrap();
        assert_eq!((p.groups, p.n), (5, 10));
        assert!((p.slope - t.estimate / 1e-3).abs() < 1e-9 * p.slope.abs());
        assert!((p.slope_se - t.std_error / 1e-3).abs() < 1e-9 * p.slope_se);
        assert!((p.p_value - t.p_value).abs() < 1e-12);
    }

    #[test]
    fn paired_rho_matches_ols_with_one_dummy_per_seed() {
        use wm_analysis::stats::ols;
        // Three ρ levels, an unbalanced group, seed intercepts far apart.
        let rhos = [0.0, 1e-3, 5e-3];
        let mut rows = Vec::new();
        for seed in 0..4u64 {
            for (j, &rho) in rhos.iter().enumerate() {
                if seed == 3 && j == 1 {
                    continue;
                }
                let noise = ((seed * 7 + j as u64 * 3) % 5) as f64 * 0.01;
                rows.push(seeded(seed, rho, 2.0 * seed as f64 - 120.0 * rho + noise));
            }
        }
        let refs: Vec<&NetworkResult> = rows.iter().collect();
        let p = paired_rho_regression(&refs).unwrap();
        let design = Array2::from_shape_fn((rows.len(), 5), |(i, j)| match j {
            0 => rows[i].rho,
            g => f64::from(u8::from(rows[i].seed == g as u64 - 1)),
        });
        let y = Array1::from_iter(rows.iter().map(|r| r.si));
        let fit = ols(design.view(), y.view()).unwrap();
        assert_eq!(fit.residual_df, rows.len() - 5);
        assert!((p.slope - fit.coefficients[0]).abs() < 1e-8 * p.slope.abs());
        assert!((p.slope_se - fit.std_errors[0]).abs() < 1e-8 * p.slope_se);
        assert!((p.p_value - fit.p_values[0]).abs() < 1e-10);
        assert!(p.slope < -100.0 && p.slope > -140.0);
    }

    #[test]
    fn paired_rho_needs_shared_seeds() {
        let rows: Vec<NetworkResult> = (0..6).map(|k| seeded(k, k as f64 * 1e-3, 1.0)).collect();
        let refs: Vec<&NetworkResult> = rows.iter().collect();
        assert!(paired_rho_regression(&refs).is_none());
    }
}
