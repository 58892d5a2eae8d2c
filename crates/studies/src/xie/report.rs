//! REPORT.md and the CSV tables (`networks.csv`, `checkpoints.csv`) of a
//! run.

use std::path::Path;

use anyhow::Result;
use wm_analysis::stats::{RankTestResult, TestResult};

use crate::io::write_csv;
use crate::regress::Summary;
use crate::xie::config::XieConfig;
use crate::xie::measures::{BehaviourMeasures, ConditionMeasures, Outcome, StageMeasures};

/// Write `networks.csv` and `checkpoints.csv` into `out`.
pub fn write_tables(outcome: &Outcome, out: &Path) -> Result<()> {
    write_csv(&out.join("networks.csv"), &outcome.networks)?;
    write_csv(&out.join("checkpoints.csv"), &outcome.checkpoints)
}

/// REPORT.md: the setup, each condition's stages, single-checkpoint analyses
/// and heat map, then every statistic of `summary`.
pub fn markdown(cfg: &XieConfig, outcome: &Outcome, summary: &Summary) -> String {
    let mut s = format!(
        "# Xie, Liu, Constantinidis & Zhou 2022 — reproduction ({} scale)\n\n\
         Leaky softplus RNNs ({} units, τ = 100 ms, dt = 20 ms) trained on the ODR family with ODRD and the \
         anti-saccade tasks; stages by the analysed ODR rule's evaluation performance: mid-trained (0.35, 0.65], \
         mature (0.65, 0.95], fully trained > 0.95. Delay units by the `{:?}` rule. Rates and behaviour \
         are taken from {} (the other pairing is reported beside it; the original code decodes behaviour \
         from a second pass). Correct-vs-error test: one observation per (checkpoint, delay unit), mean \
         normalised rate over the last 1 s of the delay at the preferred location, Student t-test (wm's reconstruction: the original \
         code has no script for it); beside it, the Mann–Whitney U test of the same observations, \
         P(correct > error) and its p (a diagnostic by ranks, not a published statistic). Paper: fixed 3 s \
         t(2946) = 2.48, p = 0.013; variable delay t(5181) = 18.9; correct > error.\n",
        summary.scale,
        cfg.n_units,
        cfg.delay_unit_rule,
        if cfg.faithful_unpaired_noise {
            "two independently noised passes, as the original recorder"
        } else {
            "the same forward pass"
        },
    );
    for c in &outcome.conditions {
        s.push_str(&condition_section(c));
    }
    s.push_str("\n## All statistics\n\n| statistic | value |\n|---|---|\n");
    for (k, v) in &summary.statistics {
        s.push_str(&format!("| {k} | {v:.6} |\n"));
    }
    s
}

/// One condition's section: training, the stage table, the single-checkpoint
/// paragraph and the heat-map line.
fn condition_section(c: &ConditionMeasures) -> String {
    let k = c.condition.name();
    let mut s = format!(
        "\n## {} delay ({} networks)\n\nFinal ODR performance (evaluation trials): mean {:.3}; training steps: mean {:.0}.\n\n",
        c.condition.describe(),
        c.n_networks,
        c.final_odr_perf_mean,
        c.train_steps_mean,
    );
    s.push_str("| stage | checkpoints | correct ρ | error ρ | t (df), p | other pairing t | P(correct > error), rank p |\n|---|---|---|---|---|---|---|\n");
    for st in &c.stages {
        s.push_str(&stage_row(st));
    }
    s.push_str(
        "\nError trials by kind (a direction error released fixation and saccaded more than 36° from the cue; \
         a fixation error never released it), and correct trials against direction errors only:\n\n\
         | stage | direction errors | fixation errors | direction-error ρ | t (df), p | P(correct > direction error), rank p |\n\
         |---|---|---|---|---|---|\n",
    );
    for st in &c.stages {
        s.push_str(&error_kind_row(st));
    }
    if c.stages
        .iter()
        .any(|st| st.pooled.as_ref().is_some_and(|p| p.distractor.is_some()))
    {
        s.push_str(
            "\nODR with distractor (Fig. 6C; paper t(3157) = 7.3, correct > error): the same checkpoints' ODRD test trials, \
             mean normalised rate over the second delay interval (distractor offset to response) at the preferred location \
             (read, like the delay units, from the first delay):\n\n\
             | stage | accuracy | error trials | correct ρ | error ρ | pooled t (df), p | within: correct − error ρ, t (df), p |\n\
             |---|---|---|---|---|---|---|\n",
        );
        for st in &c.stages {
            s.push_str(&distractor_row(st));
        }
    }
    s.push_str(
        "\nWhere the correct − error difference comes from. Within: the same unit's correct and error observations in \
         the same checkpoint (paired t-test). Composition: correct observations of units with no error trial at their \
         preferred location against those of units with one (Welch); the pooled difference is within + f × composition, f the share of correct observations from units without an error trial. \
         Between: Pearson r of a checkpoint's accuracy with its delay units' mean correct-trial ρ. Xie et al. (2022) \
         found the published difference mostly between network instances.\n\n\
         | stage | within: correct − error ρ, t (df), p | composition: without − with, t (df), p | between: r (checkpoints), p |\n|---|---|---|---|\n",
    );
    for st in &c.stages {
        s.push_str(&within_between_row(st));
    }
    match &c.behaviour {
        Some(b) => s.push_str(&behaviour_paragraph(b)),
        None => s.push_str("\nNo network reached a stage checkpoint; the single-checkpoint analyses are skipped.\n"),
    }
    if let Some(a) = &c.activity {
        s.push_str(&format!(
            "\nActivity heat map (`activity_sorted_{k}.png`, paper Fig. 4): with the cue at {:.0}°, units preferring a location within 45° of it have {:.2}× the normalised delay rate of the others.\n",
            a.map.shown_location as f64 * 360.0 / a.map.n_locations as f64,
            a.near_over_far
        ));
    }
    s
}

/// `t(df) = t, p = p`, or a dash when the test is undefined.
fn fmt_test(t: Option<&TestResult>) -> String {
    t.map_or("—".to_string(), |t| {
        format!("t({:.0}) = {:.2}, p = {:.3}", t.df, t.statistic, t.p_value)
    })
}

/// The estimate, then the test, or a dash when the test is undefined.
fn fmt_estimate(t: Option<&TestResult>) -> String {
    t.map_or("—".to_string(), |t| {
        format!("{:.3}, {}", t.estimate, fmt_test(Some(t)))
    })
}

/// `P(x > y), p = p` of a rank test, or a dash.
fn fmt_rank(r: Option<&RankTestResult>) -> String {
    r.map_or("—".to_string(), |r| {
        format!("{:.3}, p = {:.3}", r.prob_superiority, r.p_value)
    })
}

fn stage_row(st: &StageMeasures) -> String {
    let s = st.stage.name();
    let Some(p) = &st.pooled else {
        return format!("| {s} | 0 | | | | | |\n");
    };
    format!(
        "| {s} | {} | {:.3} | {:.3} | {} | {} | {} |\n",
        st.n_checkpoints,
        p.correct_rate_norm,
        p.error_rate_norm,
        fmt_test(p.test.as_ref()),
        fmt_test(p.test_other.as_ref()),
        fmt_rank(p.rank_test.as_ref()),
    )
}

fn error_kind_row(st: &StageMeasures) -> String {
    let s = st.stage.name();
    let Some(p) = &st.pooled else {
        return format!("| {s} | 0 | 0 | | | |\n");
    };
    format!(
        "| {s} | {} | {} | {:.3} | {} | {} |\n",
        p.error_kinds.direction,
        p.error_kinds.fixation,
        p.direction_error_rate_norm,
        fmt_test(p.test_direction.as_ref()),
        fmt_rank(p.rank_direction.as_ref()),
    )
}

fn distractor_row(st: &StageMeasures) -> String {
    let s = st.stage.name();
    let Some(d) = st.pooled.as_ref().and_then(|p| p.distractor.as_ref()) else {
        return format!("| {s} | | | | | | |\n");
    };
    format!(
        "| {s} | {:.3} | {} | {:.3} | {:.3} | {} | {} |\n",
        d.accuracy,
        d.error_kinds.direction + d.error_kinds.fixation,
        d.correct_rate_norm,
        d.error_rate_norm,
        fmt_test(d.test.as_ref()),
        fmt_estimate(d.within.as_ref()),
    )
}

fn within_between_row(st: &StageMeasures) -> String {
    let s = st.stage.name();
    let Some(p) = &st.pooled else {
        return format!("| {s} | | | |\n");
    };
    let between = p.between_checkpoints.as_ref().map_or("—".to_string(), |c| {
        format!("{:.2} ({}), p = {:.3}", c.r, c.n, c.p_value)
    });
    format!(
        "| {s} | {} | {} | {between} |\n",
        fmt_estimate(p.within_checkpoint.as_ref()),
        fmt_estimate(p.composition.as_ref()),
    )
}

fn behaviour_paragraph(b: &BehaviourMeasures) -> String {
    format!(
        "\nSingle analysed checkpoint per network (first fully trained, else the best): delay units {:.1} of each network on average \
         ({:.1} by the paper's t-test rule; the paper: typically 150–200 of 256); \
         rate–behaviour r over {} units: mean {:.3} (paper 0.087; other pairing {:.3}); Fano factor mean {:.4} (paper ≈ 0.02), \
         flanks minus preferred and opposite positions {:+.4} (paper: M-shaped, > 0){}.\n",
        b.delay_units_mean,
        b.delay_units_ttest_mean,
        b.per_unit_r.len(),
        b.rate_behaviour_r_mean,
        b.rate_behaviour_r_mean_other,
        b.fano_mean,
        b.fano_m_contrast,
        b.fano_anova.as_ref().map_or(String::new(), |a| format!(
            "; ANOVA across positions F({}, {}) = {:.2}, p = {:.3} (paper F(7, 904) = 5.05)",
            a.df_between, a.df_within, a.f, a.p_value
        )),
    )
}
