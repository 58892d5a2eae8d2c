//! The measures of the reproduction, read off the simulated curves: each
//! curve's end ratio, SEM, largest deviation from perfect memory and rule
//! gain; the sweeps of end ratio against a swept parameter and their
//! correlations; and [`statistics`], the `summary.toml` map `regress` checks.

use std::collections::BTreeMap;

use wm_analysis::stats::pearson;

use crate::federer_zylberberg::compute::{ExperimentResult, Outcome, Series};
use crate::federer_zylberberg::config::FedererZylberbergConfig;

/// A network "keeps ŝ" when ŝ(end)/ŝ(0) is at least this (a lost ŝ decays to 0).
pub const KEEPS_S_HAT: f64 = 0.01;

impl Series {
    /// Mean ratio at the last sample.
    pub fn end(&self) -> f64 {
        self.stats.mean.last().copied().unwrap_or(f64::NAN)
    }

    /// SEM at the last sample.
    pub fn end_sem(&self) -> f64 {
        self.stats.sem.last().copied().unwrap_or(f64::NAN)
    }

    /// Largest rule gain κ at t = 0 over networks, if measured.
    pub fn rule_gain_max(&self) -> Option<f64> {
        self.rule_gains
            .iter()
            .copied()
            .filter(|g| g.is_finite())
            .reduce(f64::max)
    }

    /// Networks whose discrete rule overshoots at t = 0 (κ > 2).
    pub fn overshooting(&self) -> Vec<usize> {
        (0..self.rule_gains.len())
            .filter(|&k| self.rule_gains[k] > 2.0)
            .collect()
    }

    /// Largest |ŝ(t)/ŝ(0) − 1| over networks and samples (NaN if any sample is NaN).
    pub fn max_abs_dev(&self) -> f64 {
        self.curves.iter().flatten().fold(0.0_f64, |m, &v| {
            if v.is_nan() || m.is_nan() {
                f64::NAN
            } else {
                m.max((v - 1.0).abs())
            }
        })
    }
}

/// The spread of a curve's end ratios over its networks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EndSpread {
    /// Mean ŝ(end)/ŝ(0).
    pub mean: f64,
    /// Its standard deviation over networks (ddof 1; NaN for one network).
    pub sd: f64,
    /// Networks that keep ŝ (ŝ(end)/ŝ(0) ≥ [`KEEPS_S_HAT`]).
    pub kept: usize,
    /// Networks.
    pub n: usize,
}

/// Mean, s.d. (ddof 1) and number of networks keeping ŝ of a curve's end ratios.
pub fn end_spread(ser: &Series) -> EndSpread {
    let ends: Vec<f64> = ser
        .curves
        .iter()
        .filter_map(|c| c.last().copied())
        .collect();
    let n = ends.len();
    let mean = ends.iter().sum::<f64>() / n as f64;
    let sd = if n > 1 {
        (ends.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    let kept = ends.iter().filter(|&&v| v >= KEEPS_S_HAT).count();
    EndSpread { mean, sd, kept, n }
}

/// The sample nearest `cfg.probe_ms` on an experiment's time axis (it may
/// lie past the last sample of a short run).
pub fn probe_sample(cfg: &FedererZylberbergConfig, res: &ExperimentResult) -> usize {
    let dt = res.times_ms.get(1).copied().unwrap_or(1.0) - res.times_ms[0];
    (cfg.probe_ms / dt).round() as usize
}

/// One point of a sweep: a condition's swept value and its end ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SweepPoint {
    /// The condition's `x`.
    pub x: f64,
    /// Mean ŝ(end)/ŝ(0).
    pub end: f64,
    /// Its SEM.
    pub sem: f64,
}

/// End ratio against the swept value for one kind of curve of an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// Which curve of each condition: `""` (the only one), `"_plastic"`,
    /// `"_frozen"`, `"_s1"`, …
    pub suffix: String,
    /// The points, by increasing x.
    pub points: Vec<SweepPoint>,
}

/// For an experiment whose conditions (two or more) all have a swept `x`:
/// one [`Sweep`] per kind of curve. Empty otherwise.
pub fn sweeps(res: &ExperimentResult) -> Vec<Sweep> {
    let exp = &res.experiment;
    if exp.conditions.iter().any(|c| c.x.is_none()) || exp.conditions.len() < 2 {
        return Vec::new();
    }
    let mut by_suffix: BTreeMap<String, Vec<SweepPoint>> = BTreeMap::new();
    for s in &res.series {
        let cond = &exp.conditions[s.condition];
        let suffix = s.name[cond.name.len()..].to_string();
        if let Some(x) = s.x {
            by_suffix.entry(suffix).or_default().push(SweepPoint {
                x,
                end: s.end(),
                sem: s.end_sem(),
            });
        }
    }
    by_suffix
        .into_iter()
        .map(|(suffix, mut points)| {
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            Sweep { suffix, points }
        })
        .collect()
}

/// Pearson's correlation of a sweep's x with its end ratio.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepCorrelation {
    /// The sweep's [`Sweep::suffix`].
    pub suffix: String,
    /// Pearson's r.
    pub r: f64,
    /// Conditions correlated.
    pub n: usize,
}

/// The correlation of every sweep of an experiment whose Pearson r is
/// defined (at least two points, neither variable constant).
pub fn sweep_correlations(res: &ExperimentResult) -> Vec<SweepCorrelation> {
    sweeps(res)
        .into_iter()
        .filter_map(|sw| {
            let (x, y): (Vec<f64>, Vec<f64>) = sw.points.iter().map(|p| (p.x, p.end)).unzip();
            let c = pearson(&x, &y).ok()?;
            Some(SweepCorrelation {
                suffix: sw.suffix,
                r: c.r,
                n: c.n,
            })
        })
        .collect()
}

/// Named statistics of every experiment, keyed `<experiment>_<curve>_<stat>`:
/// `ratio_end` (mean ŝ/ŝ(0) at the last sample), `sem_end`, `ratio_probe`
/// (at `probe_ms`, if simulated), `max_abs_dev` (largest |ŝ/ŝ(0) − 1| over
/// networks and time), `rule_gain_max` and `overshooting_networks` (plastic
/// rate networks); `<experiment>_networks`; and, when every condition has a
/// swept value `x`, `<experiment>_sweep_r[_<test>]`, the Pearson
/// correlation of x with the end ratio.
pub fn statistics(cfg: &FedererZylberbergConfig, outcome: &Outcome) -> BTreeMap<String, f64> {
    let mut st = BTreeMap::new();
    for res in &outcome.experiments {
        let e = &res.experiment.name;
        st.insert(format!("{e}_networks"), res.seeds.len() as f64);
        let probe = probe_sample(cfg, res);
        for s in &res.series {
            let k = format!("{e}_{}", s.name);
            st.insert(format!("{k}_ratio_end"), s.end());
            st.insert(format!("{k}_sem_end"), s.end_sem());
            st.insert(format!("{k}_max_abs_dev"), s.max_abs_dev());
            if let Some(v) = s.stats.mean.get(probe) {
                st.insert(format!("{k}_ratio_probe"), *v);
            }
            if let Some(max) = s.rule_gain_max() {
                st.insert(format!("{k}_rule_gain_max"), max);
                st.insert(
                    format!("{k}_overshooting_networks"),
                    s.overshooting().len() as f64,
                );
            }
        }
        for c in sweep_correlations(res) {
            st.insert(format!("{e}_sweep_r{}", c.suffix), c.r);
        }
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;
    use wm_plasticity::ensemble::mean_sem;

    use crate::study::StudyConfig;

    /// A curve named `name` of condition `i` whose networks end at `ends`
    /// (each curve 1 → end → end, sampled every 2 ms).
    fn series(i: usize, name: &str, ends: &[f64], rule_gains: Vec<f64>) -> Series {
        let curves: Vec<Vec<f64>> = ends.iter().map(|&v| vec![1.0, v, v]).collect();
        Series {
            name: name.into(),
            label: name.into(),
            condition: i,
            x: Some(i as f64 + 1.0),
            stats: mean_sem(&curves),
            curves,
            rule_gains,
        }
    }

    #[test]
    fn statistics_follow_the_curves() {
        let cfg: FedererZylberbergConfig = toml::from_str(
            "networks = 2\nduration_ms = 10.0\nprobe_ms = 4.0\n\
             [[experiment]]\nname = 'e'\nfigure = 'F'\n\
             [[experiment.condition]]\nname = 'a'\nx = 1.0\n\
             [[experiment.condition]]\nname = 'b'\nx = 2.0\n\
             [[experiment.condition]]\nname = 'c'\nx = 3.0\n",
        )
        .unwrap();
        cfg.validate().unwrap();
        // Condition i: networks end at v and v + 0.2; condition 0 is
        // plastic, network 1 starting above 2.
        let res = ExperimentResult {
            experiment: cfg.experiments[0].clone(),
            times_ms: vec![0.0, 2.0, 4.0],
            seeds: vec![1, 2],
            series: vec![
                series(0, "a", &[0.5, 0.7], vec![1.5, 2.5]),
                series(1, "b", &[0.3, 0.5], vec![f64::NAN; 2]),
                series(2, "c", &[0.1, 0.3], vec![f64::NAN; 2]),
            ],
            unit_rates: Vec::new(),
            seconds: 0.0,
        };
        let outcome = Outcome {
            experiments: vec![res],
        };
        let st = statistics(&cfg, &outcome);
        assert!((st["e_a_ratio_end"] - 0.6).abs() < 1e-12);
        assert!((st["e_c_ratio_end"] - 0.2).abs() < 1e-12);
        // SEM of {0.5, 0.7}: s.d. 0.1414, / √2 = 0.1.
        assert!((st["e_a_sem_end"] - 0.1).abs() < 1e-12);
        // Probe at 4 ms is the third sample.
        assert!((st["e_a_ratio_probe"] - 0.6).abs() < 1e-12);
        // Largest deviation from 1: network 0 of c at 0.1.
        assert!((st["e_c_max_abs_dev"] - 0.9).abs() < 1e-12);
        // End ratios 0.6, 0.4, 0.2 fall on a line in x: r = −1.
        assert!((st["e_sweep_r"] + 1.0).abs() < 1e-12);
        assert_eq!(st["e_networks"], 2.0);
        assert_eq!(st["e_a_rule_gain_max"], 2.5);
        assert_eq!(st["e_a_overshooting_networks"], 1.0);
        assert!(!st.contains_key("e_b_rule_gain_max"));
        let res = &outcome.experiments[0];
        let sw = sweeps(res);
        assert_eq!(sw.len(), 1);
        assert_eq!(sw[0].suffix, "");
        assert_eq!(sw[0].points.len(), 3);
        assert_eq!(sweep_correlations(res)[0].n, 3);
    }

    #[test]
    fn max_abs_dev_propagates_nan() {
        let s = Series {
            name: "s".into(),
            label: "s".into(),
            condition: 0,
            x: None,
            curves: vec![vec![1.0, f64::NAN, 0.5]],
            stats: mean_sem(&[vec![1.0, 0.0, 0.5]]),
            rule_gains: vec![f64::NAN],
        };
        assert!(s.max_abs_dev().is_nan());
    }

    #[test]
    fn end_spread_is_the_mean_sd_and_count_of_networks_keeping_s_hat() {
        // Ends 0, 0, 0.3, 0.9: mean 0.3, s.d. (ddof 1) = √(0.54/3) = √0.18.
        let nan = vec![f64::NAN; 4];
        let sp = end_spread(&series(0, "p", &[0.0, 0.0, 0.3, 0.9], nan));
        assert!((sp.mean - 0.3).abs() < 1e-15);
        assert!((sp.sd - 0.18_f64.sqrt()).abs() < 1e-15);
        assert_eq!((sp.kept, sp.n), (2, 4));
        // Just below the threshold is lost, at it is kept.
        let ends = [KEEPS_S_HAT * 0.999, KEEPS_S_HAT];
        let sp = end_spread(&series(0, "p", &ends, vec![f64::NAN; 2]));
        assert_eq!(sp.kept, 1);
    }
}
