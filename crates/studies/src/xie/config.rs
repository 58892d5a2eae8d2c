//! The Xie et al. 2022 reproduction's config: one TOML per scale under
//! `experiments/xie/`.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use wm_tasks::XieRule;

use crate::study::StudyConfig;

/// Which ODR variant a set of networks is trained on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// Ruleset `all_new_odr3000`: the 3-s ODR with ODRD and the four anti-saccade tasks.
    Fixed,
    /// The variable 0–3-s delay ODR with the same five other tasks.
    Variable,
    /// The 1.5-s ODR (`odr`) with the same five other tasks: the paper's
    /// 360-location networks behind the activity heat map (Fig. 4).
    Short,
}

impl Condition {
    /// Name in tables and folder names.
    pub fn name(self) -> &'static str {
        match self {
            Condition::Fixed => "fixed",
            Condition::Variable => "variable",
            Condition::Short => "short",
        }
    }

    /// The analysed ODR rule.
    pub fn odr_rule(self) -> XieRule {
        match self {
            Condition::Fixed => XieRule::Odr3000,
            Condition::Variable => XieRule::OdrVariable,
            Condition::Short => XieRule::Odr,
        }
    }

    /// The paper's ruleset (rule-input order).
    pub fn ruleset(self) -> Vec<XieRule> {
        match self {
            Condition::Fixed => XieRule::ruleset_fixed(),
            Condition::Variable => XieRule::ruleset_variable(),
            Condition::Short => XieRule::ruleset_fixed()
                .into_iter()
                .map(|r| {
                    if r == XieRule::Odr3000 {
                        XieRule::Odr
                    } else {
                        r
                    }
                })
                .collect(),
        }
    }

    /// A phrase for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Condition::Fixed => "Fixed 3-s",
            Condition::Variable => "Variable 0–3-s",
            Condition::Short => "Fixed 1.5-s",
        }
    }
}

/// How delay ("persistent") units are selected (the paper's Methods and
/// Xie et al.'s code disagree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DelayUnitRule {
    /// Xie's code: mean delay rate > mean fixation rate at any location (correct trials).
    #[default]
    Lax,
    /// The paper's text: paired t-test of per-trial delay vs fixation means, p < 0.05 at ≥ 1 location.
    Ttest,
}

/// How the units of the activity heat map (Xie et al. 2022, Fig. 4) are sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeatmapSort {
    /// The paper's text: by the location where the unit's delay-period rate peaks.
    #[default]
    DelayPeak,
    /// Xie's code: by the unit's preferred cue-period location.
    CuePreference,
}

/// The reproduction at one scale. Defaults are the quick scale's;
/// `experiments/xie/{smoke,quick,paper}.toml` set every field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XieConfig {
    /// Master seed; network k's seed is `derive_seed(seed, k)`.
    pub seed: u64,
    /// Networks trained at once (one per core).
    pub threads: usize,
    /// Conditions, each with `networks` networks.
    pub conditions: Vec<Condition>,
    /// Networks per condition (paper: 30).
    pub networks: usize,
    /// Tasks trained, by rule name, replacing the condition's paper ruleset
    /// when non-empty (the condition's ODR rule is added first if missing).
    pub rules: Vec<String>,
    /// Recurrent units N (paper: 256).
    pub n_units: usize,
    /// Ring units R (paper: 8).
    pub n_ring: usize,
    /// Trials per minibatch (paper: 64).
    pub batch_size: usize,
    /// Adam learning rate (paper: 1e-3).
    pub learning_rate: f64,
    /// Elementwise gradient clip (paper: 1); 0 for none.
    pub grad_clip_value: f64,
    /// Recurrent noise σ_rec (paper: 0.05).
    pub sigma_rec: f64,
    /// Input noise σ_x (paper: 0.01).
    pub sigma_x: f64,
    /// Steps between evaluations and checkpoints (paper: 20).
    pub eval_every: usize,
    /// Random trials per task per evaluation, with input noise (paper: 512).
    pub eval_trials: usize,
    /// Stop once every task's performance exceeds this (paper: 0.995).
    pub target_perf: f64,
    /// Stop at this many steps even if the target is not reached (paper: none; use a large number).
    pub max_steps: usize,
    /// Evaluations to continue after the target is reached (paper default 0; the option 50).
    pub extra_evals: usize,
    /// Checkpoints kept per stage for the stage-pooled analyses (paper: 30).
    pub stage_cap: usize,
    /// Lower bounds of the mid-trained, mature and fully trained stages on
    /// the analysed ODR rule's evaluation performance (paper: 0.35, 0.65,
    /// 0.95). Smoke runs lower them so that briefly trained networks still
    /// exercise every analysis.
    pub stage_bounds: [f64; 3],
    /// Test trials per location in recordings (paper: 16).
    pub repeats: usize,
    /// Delay-unit rule.
    pub delay_unit_rule: DelayUnitRule,
    /// Decode behaviour from a second, independently noised pass (the
    /// original's two-pass recorder, `compute_H_` in `utils/functions.py`);
    /// false: rates and behaviour from the same pass (default). Both are reported when `report_both`.
    pub faithful_unpaired_noise: bool,
    /// Also compute the other pairing's t and r for the report.
    pub report_both: bool,
    /// Sorting of the units in the activity heat map.
    pub heatmap_sort: HeatmapSort,
}

impl Default for XieConfig {
    fn default() -> Self {
        Self {
            seed: 2022,
            threads: 2,
            conditions: vec![Condition::Fixed],
            networks: 2,
            rules: Vec::new(),
            n_units: 256,
            n_ring: 8,
            batch_size: 64,
            learning_rate: 1e-3,
            grad_clip_value: 1.0,
            sigma_rec: 0.05,
            sigma_x: 0.01,
            eval_every: 20,
            eval_trials: 512,
            target_perf: 0.995,
            max_steps: 20_000,
            extra_evals: 0,
            stage_cap: 30,
            stage_bounds: [0.35, 0.65, 0.95],
            repeats: 16,
            delay_unit_rule: DelayUnitRule::Lax,
            faithful_unpaired_noise: false,
            report_both: true,
            heatmap_sort: HeatmapSort::DelayPeak,
        }
    }
}

impl XieConfig {
    /// Check ranges; errors name the field and its allowed range.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("threads", self.threads),
            ("networks", self.networks),
            ("n_units", self.n_units),
            ("batch_size", self.batch_size),
            ("eval_every", self.eval_every),
            ("eval_trials", self.eval_trials),
            ("max_steps", self.max_steps),
            ("stage_cap", self.stage_cap),
            ("repeats", self.repeats),
        ];
        for (k, v) in positive {
            if v == 0 {
                bail!("{k} = 0 is outside the allowed range (≥ 1)");
            }
        }
        if self.repeats < 2 {
            bail!(
                "repeats = {} is outside the allowed range (≥ 2)",
                self.repeats
            );
        }
        if self.n_ring < 3 {
            bail!(
                "n_ring = {} is outside the allowed range (≥ 3)",
                self.n_ring
            );
        }
        if self.conditions.is_empty() {
            bail!("conditions is empty; allowed: fixed, variable");
        }
        for (k, v) in [
            ("learning_rate", self.learning_rate),
            ("target_perf", self.target_perf),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                bail!("{k} = {v} is outside the allowed range (finite, > 0)");
            }
        }
        for (k, v) in [
            ("grad_clip_value", self.grad_clip_value),
            ("sigma_rec", self.sigma_rec),
            ("sigma_x", self.sigma_x),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                bail!("{k} = {v} is outside the allowed range (finite, ≥ 0)");
            }
        }
        let b = self.stage_bounds;
        if !(b.iter().all(|v| (0.0..1.0).contains(v)) && b[0] < b[1] && b[1] < b[2]) {
            bail!("stage_bounds = {b:?} is outside the allowed range (increasing, each in [0, 1))");
        }
        for r in &self.rules {
            XieRule::from_name(r)?;
        }
        self.validate_sizes()
    }

    /// Upper bounds of the sizes, and the memory of `threads` networks
    /// training at once: about a dozen `[steps, batch, units]` f32 buffers
    /// each, `steps` being the longest trial of the rule set.
    fn validate_sizes(&self) -> Result<()> {
        use crate::limits::{check_count, check_memory};
        check_count("threads", self.threads, 1, 1024)?;
        check_count("networks", self.networks, 1, 100_000)?;
        check_count("n_units", self.n_units, 1, 20_000)?;
        check_count("batch_size", self.batch_size, 1, 100_000)?;
        check_count("eval_trials", self.eval_trials, 1, 1_000_000)?;
        check_count("max_steps", self.max_steps, 1, 1_000_000_000)?;
        check_count("n_ring", self.n_ring, 3, 10_000)?;
        check_count("repeats", self.repeats, 2, 1_000_000)?;
        let mut steps = 0usize;
        for condition in &self.conditions {
            let rules = self.ruleset(*condition);
            let options = crate::xie::train::task_options(self);
            if let Ok(task) = wm_tasks::xie::XieMultitask::new(&rules, &options) {
                steps = steps.max(wm_tasks::Task::n_steps(&task));
            }
        }
        let (n, b) = (
            self.n_units as f64,
            self.batch_size.max(self.eval_trials) as f64,
        );
        let per_network = 4.0 * (12.0 * steps as f64 * b * n + 8.0 * n * n);
        check_memory(
            &format!(
                "training {} network(s) at once ({} units, batch {}, {steps} steps)",
                self.threads, self.n_units, b
            ),
            per_network * self.threads as f64,
        )
    }

    /// The rules a network of `condition` trains on, in rule-input order.
    pub fn ruleset(&self, condition: Condition) -> Vec<XieRule> {
        if self.rules.is_empty() {
            return condition.ruleset();
        }
        let mut rules: Vec<XieRule> = self
            .rules
            .iter()
            .filter_map(|r| XieRule::from_name(r).ok())
            .collect();
        if !rules.contains(&condition.odr_rule()) {
            rules.insert(0, condition.odr_rule());
        }
        // One ODR delay variant per network: the condition's own.
        let own = condition.odr_rule();
        rules.retain(|&r| {
            r == own || !matches!(r, XieRule::Odr | XieRule::Odr3000 | XieRule::OdrVariable)
        });
        rules
    }
}

impl StudyConfig for XieConfig {
    fn validate(&self) -> Result<()> {
        XieConfig::validate(self)
    }

    fn seed(&self) -> u64 {
        self.seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_condition_trains_its_own_odr_variant_and_no_other() {
        let odr = [XieRule::Odr, XieRule::Odr3000, XieRule::OdrVariable];
        for c in [Condition::Fixed, Condition::Variable, Condition::Short] {
            let paper = c.ruleset();
            assert_eq!(paper.len(), 6, "{c:?}");
            assert!(paper.contains(&c.odr_rule()), "{c:?}");
            assert_eq!(paper.iter().filter(|r| odr.contains(r)).count(), 1, "{c:?}");
            let cfg = XieConfig {
                rules: vec![
                    "odr3000".into(),
                    "odr_variable".into(),
                    "odr".into(),
                    "odrd".into(),
                ],
                ..XieConfig::default()
            };
            let listed = cfg.ruleset(c);
            assert_eq!(listed, vec![c.odr_rule(), XieRule::Odrd], "{c:?}");
        }
    }
}
