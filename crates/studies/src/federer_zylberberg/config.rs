//! The Federer & Zylberberg reproduction's config: one TOML per scale under
//! `experiments/federer-zylberberg/`, listing the experiments (figures) and,
//! for each, its named conditions.
//!
//! ```toml
//! seed = 2018          # master seed
//! networks = 10        # independent networks per condition
//! duration_ms = 3000.0 # simulated time per network
//!
//! [[experiment]]
//! name = "fig2"
//! figure = "Fig. 2B/C"
//! claim = "plastic networks hold ŝ ≈ 1 over 3 s; constant ones forget"
//! published = { plastic = 0.99755, constant = 0.0 }
//!
//! [[experiment.condition]]
//! name = "plastic"
//!
//! [[experiment.condition]]
//! name = "constant"
//! rate = { plastic = false }
//! ```
//!
//! A condition's `rate` (or `lif`) table overrides the paper's defaults
//! ([`RateParams::default`], [`LifParams::default`]); a field it does not
//! name keeps the paper's value.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use wm_plasticity::lif::LifParams;
use wm_plasticity::rate::RateParams;

use crate::study::StudyConfig;

/// What an experiment simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// One session of `duration_ms` per network with the condition's
    /// [`RateParams`] (plastic or not as `rate.plastic` says). One curve per
    /// read-out: `<condition>` for one read-out, `<condition>_s<k>` (k = 1…K)
    /// for K > 1 (Fig. 7).
    #[default]
    Rate,
    /// Pre-training (Fig. 6, A2): `pretrain_sessions` plastic sessions of
    /// `session_ms`, each from a new a(0) with L carried over, then a test on
    /// one more new a(0) of `duration_ms`, run twice from the same state: with
    /// plasticity on (curve `<condition>_plastic`) and frozen
    /// (`<condition>_frozen`).
    Pretrain,
    /// The LIF E/I network (Fig. A4) with the condition's [`LifParams`].
    Lif,
}

/// One condition of an experiment: a name and the parameters that differ
/// from the paper's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Name used for curves, CSV columns and statistics (letters, digits,
    /// `_`, `.` and `-`; unique within the experiment). Required.
    pub name: String,
    /// Legend label of the figure. Default: the name.
    #[serde(default)]
    pub label: Option<String>,
    /// Swept value this condition stands for (e.g. the plastic fraction, α,
    /// the delay in ms), dimension as the experiment's `x_label` says. When
    /// every condition has one, the experiment also draws end ratio against
    /// it and reports their Pearson correlation. Default: none.
    #[serde(default)]
    pub x: Option<f64>,
    /// Rate-network parameters (kinds `rate` and `pretrain`); unnamed fields
    /// keep the paper's values (N = 100, τ = 20 ms, dt = 0.02 ms, η = 1e-4, …).
    /// Default: the paper's plastic network.
    #[serde(default)]
    pub rate: RateParams,
    /// LIF-network parameters (kind `lif`). Default: the paper's constants.
    #[serde(default)]
    pub lif: LifParams,
    /// Plastic pre-training sessions before the test (kind `pretrain`; Fig. 6:
    /// 0, 1, 5, 10). Default 0.
    #[serde(default)]
    pub pretrain_sessions: usize,
}

impl Condition {
    /// Legend label.
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }
}

/// One experiment (one figure or panel of the paper).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Name: the results sub-folder `<out>/<name>/`, the figure
    /// `<out>/<name>.png` and the prefix of its statistics (letters, digits,
    /// `_`, `.`, `-`; unique). Required.
    pub name: String,
    /// The paper's figure, e.g. `"Fig. 2B/C"`. Required.
    pub figure: String,
    /// What is simulated. Default `rate`.
    #[serde(default)]
    pub kind: Kind,
    /// The published claim this experiment tests, quoted in `REPORT.md`. Default empty.
    #[serde(default)]
    pub claim: String,
    /// Published mean ŝ(3 s)/ŝ(0) per curve name, from the authors' stored
    /// results (`storing/*.csv` in github.com/cfederer/SOMN), set beside ours in
    /// `REPORT.md`. Default none.
    #[serde(default)]
    pub published: BTreeMap<String, f64>,
    /// Simulated (test) time per network, ms, in (0, 600000]. Default: the
    /// config's `duration_ms`.
    #[serde(default)]
    pub duration_ms: Option<f64>,
    /// Length of each pre-training session, ms, in (0, 600000] (kind
    /// `pretrain`). Default: this experiment's duration.
    #[serde(default)]
    pub session_ms: Option<f64>,
    /// Independent networks per condition, in [1, 10000]. Default: the
    /// config's `networks`.
    #[serde(default)]
    pub networks: Option<usize>,
    /// Label of the swept value `x` of the conditions (sweep figure). Default empty.
    #[serde(default)]
    pub x_label: String,
    /// The conditions; at least one.
    #[serde(rename = "condition")]
    pub conditions: Vec<Condition>,
}

/// The reproduction at one scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FedererZylberbergConfig {
    /// Master seed. Network k of experiment e is drawn from
    /// `derive_seed(derive_seed(seed, stream(e)), k)`, with `stream` a fixed
    /// hash of the experiment's name: networks never share a seed, and the
    /// conditions of one experiment start from the same networks (paired, as
    /// the paper's plastic and constant networks of Fig. 2). Default 2018.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Networks simulated at once (rayon threads), in [1, 1024]. Default 2.
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// Independent networks per condition, in [1, 10000] (paper: 10). Default 10.
    #[serde(default = "default_networks")]
    pub networks: usize,
    /// Simulated time per network, ms, in (0, 600000] (paper: 3000). Default 3000.
    #[serde(default = "default_duration")]
    pub duration_ms: f64,
    /// Time at which an intermediate ratio ŝ(t)/ŝ(0) is reported, ms, >= 0
    /// (the constant network is at ≈ 0.09 at 100 ms). Default 100.
    #[serde(default = "default_probe")]
    pub probe_ms: f64,
    /// The experiments, in report order; at least one.
    #[serde(rename = "experiment")]
    pub experiments: Vec<Experiment>,
}

fn default_seed() -> u64 {
    2018
}
fn default_threads() -> usize {
    2
}
fn default_networks() -> usize {
    10
}
fn default_duration() -> f64 {
    3000.0
}
fn default_probe() -> f64 {
    100.0
}

/// Longest allowed simulated time, ms (10 minutes of network time).
pub const MAX_DURATION_MS: f64 = 600_000.0;
/// Most networks per condition.
pub const MAX_NETWORKS: usize = 10_000;

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn check_duration(field: &str, v: f64) -> Result<()> {
    if !(v > 0.0 && v <= MAX_DURATION_MS) {
        bail!("`{field}` = {v}: allowed range is (0, {MAX_DURATION_MS}] ms");
    }
    Ok(())
}

fn check_networks(field: &str, v: usize) -> Result<()> {
    if !(1..=MAX_NETWORKS).contains(&v) {
        bail!("`{field}` = {v}: allowed range is [1, {MAX_NETWORKS}]");
    }
    Ok(())
}

impl Experiment {
    /// Simulated (test) time per network, ms.
    pub fn duration(&self, cfg: &FedererZylberbergConfig) -> f64 {
        self.duration_ms.unwrap_or(cfg.duration_ms)
    }

    /// Networks per condition.
    pub fn n_networks(&self, cfg: &FedererZylberbergConfig) -> usize {
        self.networks.unwrap_or(cfg.networks)
    }

    /// Pre-training session length, ms.
    pub fn session(&self, cfg: &FedererZylberbergConfig) -> f64 {
        self.session_ms.unwrap_or_else(|| self.duration(cfg))
    }

    /// Names of the curves this experiment produces, in order.
    pub fn series_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.conditions {
            match self.kind {
                Kind::Rate if c.rate.n_readouts > 1 => {
                    out.extend((1..=c.rate.n_readouts).map(|k| format!("{}_s{k}", c.name)));
                }
                Kind::Rate | Kind::Lif => out.push(c.name.clone()),
                Kind::Pretrain => {
                    out.push(format!("{}_plastic", c.name));
                    out.push(format!("{}_frozen", c.name));
                }
            }
        }
        out
    }

    fn validate(&self) -> Result<()> {
        let e = &self.name;
        if let Some(d) = self.duration_ms {
            check_duration(&format!("experiment {e}: duration_ms"), d)?;
        }
        if let Some(d) = self.session_ms {
            check_duration(&format!("experiment {e}: session_ms"), d)?;
            if self.kind != Kind::Pretrain {
                bail!("experiment {e}: `session_ms` is only used by kind \"pretrain\"");
            }
        }
        if let Some(n) = self.networks {
            check_networks(&format!("experiment {e}: networks"), n)?;
        }
        if self.figure.trim().is_empty() {
            bail!("experiment {e}: `figure` is empty: name the paper's figure");
        }
        if self.conditions.is_empty() {
            bail!("experiment {e}: no `[[experiment.condition]]`: give at least one");
        }
        let mut names = BTreeSet::new();
        let mut record = None;
        for c in &self.conditions {
            let n = &c.name;
            if !valid_name(n) {
                bail!(
                    "experiment {e}: condition `name` = {n:?}: allowed are letters, digits, `_`, `.`, `-`"
                );
            }
            if !names.insert(n.as_str()) {
                bail!("experiment {e}: condition `name` = {n:?} appears twice");
            }
            self.validate_condition(c)?;
            let (r, interval) = self.sampling_ms(c);
            if *record.get_or_insert(r) != r {
                bail!(
                    "experiment {e}, condition {n}: {interval} differs from the other conditions'; one time axis per experiment"
                );
            }
        }
        let series = self.series_names();
        for (k, v) in &self.published {
            if !series.contains(k) {
                bail!(
                    "experiment {e}: `published` names {k:?}, which is not one of its curves {series:?}"
                );
            }
            if !v.is_finite() {
                bail!("experiment {e}: `published.{k}` = {v}: must be finite");
            }
        }
        Ok(())
    }

    /// The sampling interval of a condition's runs, ms, and how an error
    /// names it: one time axis per experiment.
    fn sampling_ms(&self, c: &Condition) -> (f64, String) {
        match self.kind {
            Kind::Rate | Kind::Pretrain => {
                let r = c.rate.record_every_ms;
                (r, format!("`rate.record_every_ms` = {r}"))
            }
            Kind::Lif => {
                let r = c.lif.record_every_steps as f64 * c.lif.dt * c.lif.tau_ms;
                (r, format!("the LIF sampling interval {r} ms"))
            }
        }
    }

    /// Check one condition's fields against the experiment's kind: the
    /// parameters of the other kind must be left at their defaults (they
    /// would be ignored).
    fn validate_condition(&self, c: &Condition) -> Result<()> {
        let (e, n) = (&self.name, &c.name);
        if let Some(x) = c.x
            && !x.is_finite()
        {
            bail!("experiment {e}, condition {n}: `x` = {x}: must be finite");
        }
        if c.pretrain_sessions > 1000 {
            bail!(
                "experiment {e}, condition {n}: `pretrain_sessions` = {}: allowed range is [0, 1000]",
                c.pretrain_sessions
            );
        }
        match self.kind {
            Kind::Rate | Kind::Pretrain => {
                c.rate
                    .validate()
                    .map_err(|err| anyhow::anyhow!("experiment {e}, condition {n}: rate.{err}"))?;
                if c.lif != LifParams::default() {
                    bail!(
                        "experiment {e}, condition {n}: `lif` is set but kind is not \"lif\"; it would be ignored"
                    );
                }
                if self.kind == Kind::Rate && c.pretrain_sessions != 0 {
                    bail!(
                        "experiment {e}, condition {n}: `pretrain_sessions` needs kind \"pretrain\""
                    );
                }
                if self.kind == Kind::Pretrain && c.rate.n_readouts != 1 {
                    bail!(
                        "experiment {e}, condition {n}: `rate.n_readouts` = {}: kind \"pretrain\" allows 1",
                        c.rate.n_readouts
                    );
                }
            }
            Kind::Lif => {
                c.lif
                    .validate()
                    .map_err(|err| anyhow::anyhow!("experiment {e}, condition {n}: lif.{err}"))?;
                if c.rate != RateParams::default() {
                    bail!(
                        "experiment {e}, condition {n}: `rate` is set but kind is \"lif\"; it would be ignored"
                    );
                }
                if c.pretrain_sessions != 0 {
                    bail!(
                        "experiment {e}, condition {n}: `pretrain_sessions` needs kind \"pretrain\""
                    );
                }
            }
        }
        Ok(())
    }
}

impl StudyConfig for FedererZylberbergConfig {
    /// Check every field's range; the error names the experiment, condition,
    /// field and what is allowed.
    fn validate(&self) -> Result<()> {
        if !(1..=1024).contains(&self.threads) {
            bail!("`threads` = {}: allowed range is [1, 1024]", self.threads);
        }
        check_networks("networks", self.networks)?;
        check_duration("duration_ms", self.duration_ms)?;
        if !(self.probe_ms >= 0.0 && self.probe_ms.is_finite()) {
            bail!("`probe_ms` = {}: allowed range is [0, ∞) ms", self.probe_ms);
        }
        if self.experiments.is_empty() {
            bail!("no `[[experiment]]`: give at least one");
        }
        let mut names = BTreeSet::new();
        for e in &self.experiments {
            if !valid_name(&e.name) {
                bail!(
                    "experiment `name` = {:?}: allowed are letters, digits, `_`, `.`, `-`",
                    e.name
                );
            }
            if !names.insert(e.name.as_str()) {
                bail!("experiment `name` = {:?} appears twice", e.name);
            }
            e.validate()?;
        }
        Ok(())
    }

    fn seed(&self) -> u64 {
        self.seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FedererZylberbergConfig> {
        Ok(toml::from_str(text)?)
    }

    const MINIMAL: &str = "[[experiment]]\nname = 'fig2'\nfigure = 'Fig. 2'\n\
        [[experiment.condition]]\nname = 'plastic'\n\
        [[experiment.condition]]\nname = 'constant'\nrate = { plastic = false }\n";

    #[test]
    fn defaults_are_the_papers() {
        let cfg = parse(MINIMAL).unwrap();
        cfg.validate().unwrap();
        assert_eq!(cfg.networks, 10);
        assert_eq!(cfg.duration_ms, 3000.0);
        let e = &cfg.experiments[0];
        assert_eq!(e.kind, Kind::Rate);
        assert!(e.conditions[0].rate.plastic);
        assert!(!e.conditions[1].rate.plastic);
        assert_eq!(e.conditions[1].rate.n_units, 100);
        assert_eq!(e.series_names(), ["plastic", "constant"]);
    }

    #[test]
    fn unknown_fields_are_refused_at_every_level() {
        let bad_top = format!("networkz = 3\n{MINIMAL}");
        assert!(format!("{:#}", parse(&bad_top).unwrap_err()).contains("networkz"));
        let bad_rate = MINIMAL.replace("plastic = false", "plastik = false");
        assert!(format!("{:#}", parse(&bad_rate).unwrap_err()).contains("plastik"));
        let bad_cond = MINIMAL.replace("name = 'constant'", "name = 'constant'\nsesions = 2");
        assert!(format!("{:#}", parse(&bad_cond).unwrap_err()).contains("sesions"));
    }

    #[test]
    fn out_of_range_values_name_the_field_and_range() {
        let cfg = parse(&MINIMAL.replace("plastic = false", "plastic_fraction = 1.5")).unwrap();
        let err = cfg.validate().unwrap_err().to_string();
        assert!(
            err.contains("plastic_fraction") && err.contains("[0, 1]") && err.contains("constant"),
            "{err}"
        );
        let cfg = parse(&format!("duration_ms = -5.0\n{MINIMAL}")).unwrap();
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("duration_ms") && err.contains("-5"), "{err}");
        let cfg = parse(&format!("networks = 0\n{MINIMAL}")).unwrap();
        assert!(cfg.validate().unwrap_err().to_string().contains("networks"));
    }

    #[test]
    fn series_names_follow_the_kind() {
        let text = "[[experiment]]\nname = 'fig7'\nfigure = 'Fig. 7'\n\
            [[experiment.condition]]\nname = 'plastic'\nrate = { n_readouts = 3 }\n\
            [[experiment]]\nname = 'fig6'\nfigure = 'Fig. 6'\nkind = 'pretrain'\n\
            [[experiment.condition]]\nname = 'n_5'\npretrain_sessions = 5\n";
        let cfg = parse(text).unwrap();
        cfg.validate().unwrap();
        assert_eq!(
            cfg.experiments[0].series_names(),
            ["plastic_s1", "plastic_s2", "plastic_s3"]
        );
        assert_eq!(
            cfg.experiments[1].series_names(),
            ["n_5_plastic", "n_5_frozen"]
        );
    }

    #[test]
    fn inconsistent_experiments_are_refused() {
        // Duplicate condition.
        let dup = MINIMAL.replace("name = 'constant'", "name = 'plastic'");
        assert!(parse(&dup).unwrap().validate().is_err());
        // Published value for a curve that does not exist.
        let pubd = MINIMAL.replace(
            "figure = 'Fig. 2'",
            "figure = 'Fig. 2'\npublished = { fever = 1.0 }",
        );
        let err = parse(&pubd).unwrap().validate().unwrap_err().to_string();
        assert!(err.contains("fever"), "{err}");
        // Pre-training sessions on a plain rate experiment would be ignored.
        let pre = MINIMAL.replace(
            "name = 'constant'",
            "name = 'constant'\npretrain_sessions = 2",
        );
        assert!(parse(&pre).unwrap().validate().is_err());
        // A LIF table in a rate experiment would be ignored.
        let lif = MINIMAL.replace("rate = { plastic = false }", "lif = { eta = 1.0 }");
        assert!(parse(&lif).unwrap().validate().is_err());
        // Conditions sampled at different intervals share no time axis.
        let axis = MINIMAL.replace("plastic = false", "plastic = false, record_every_ms = 2.0");
        let err = parse(&axis).unwrap().validate().unwrap_err().to_string();
        assert!(
            err.contains("constant") && err.contains("`rate.record_every_ms` = 2 differs"),
            "{err}"
        );
        // Names with spaces would break CSV columns and statistic keys.
        let sp = MINIMAL.replace("name = 'constant'", "name = 'con stant'");
        assert!(parse(&sp).unwrap().validate().is_err());
    }
}
