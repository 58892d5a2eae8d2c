//! Regression checks: compare a run's `summary.toml` with the study's
//! expectations for the run's scale, `experiments/<study>/expected-<scale>.toml`
//! (used by `cargo xtask regress` and by the workspace's regression tests).
//!
//! `summary.toml` holds a `[statistics]` table of named numbers. Each
//! `[[check]]` of an expected file names one statistic and either a value with
//! a tolerance (`expected` with `abs_tol` and/or `rel_tol`) or a published
//! inequality (`greater_than`, `less_than`, or both). A statistic that is
//! missing or not finite fails its check.
//!
//! A published claim that a stored run did not reproduce stays in the file
//! with its measured value: `not_reproduced = { measured = …, abs_tol = … }`.
//! Such a check passes while the statistic stays within `abs_tol` of the
//! recorded value *and* still misses the published expectation, so the number
//! stays guarded and a change in either direction is flagged. A claim the
//! stored run could not measure at all (the statistic is absent, e.g. no
//! network of a condition was kept) records why: `not_measured = "…"`; it
//! passes while the statistic stays absent, so a run that does produce it
//! is flagged for a verdict.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::io::{Provenance, read_toml};

/// A run's `summary.toml`: the study, its scale and its named statistics.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Study name (`orhan-ma`, …).
    #[serde(default)]
    pub study: String,
    /// Scale of the run (`smoke`, `quick`, `paper`).
    #[serde(default)]
    pub scale: String,
    /// Named summary statistics of the run.
    #[serde(default)]
    pub statistics: BTreeMap<String, f64>,
}

impl Summary {
    /// Pass/fail of every check of `expected` against this summary, with an
    /// error when any fails (its message is the rendered table).
    pub fn check(&self, expected: &Expected) -> Result<Vec<Row>> {
        let rows = compare(expected, self)?;
        if rows.iter().any(|r| !r.pass) {
            bail!("{}", render(&rows));
        }
        Ok(rows)
    }
}

/// `experiments/<study>/expected-<scale>.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// Study name, for the report.
    pub study: String,
    /// The scale these expectations are for.
    pub scale: String,
    /// The checks, in report order.
    #[serde(rename = "check")]
    pub checks: Vec<Check>,
}

/// One expectation about one statistic.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// Name of the statistic in `summary.toml`'s `[statistics]`.
    pub statistic: String,
    /// Where the expectation comes from (paper, figure, original code).
    #[serde(default)]
    pub description: String,
    /// Expected value (needs `abs_tol` and/or `rel_tol`).
    pub expected: Option<f64>,
    /// Allowed absolute deviation from `expected`.
    pub abs_tol: Option<f64>,
    /// Allowed deviation relative to |expected|.
    pub rel_tol: Option<f64>,
    /// The statistic must be strictly greater than this.
    pub greater_than: Option<f64>,
    /// The statistic must be strictly less than this.
    pub less_than: Option<f64>,
    /// `finite = true`: the run must produce a finite value (for statistics
    /// whose range the pipeline guarantees by construction, such as an
    /// accuracy or a p-value, where a range check could not fail).
    #[serde(default)]
    pub finite: bool,
    /// The published expectation above was not reproduced by the stored run:
    /// its measured value, guarded within a tolerance.
    pub not_reproduced: Option<NotReproduced>,
    /// The stored run could not measure the claim: why (the statistic is
    /// absent from its summary).
    pub not_measured: Option<String>,
}

/// A published claim the stored run did not reproduce, with the measured value.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotReproduced {
    /// The value the stored run gave.
    pub measured: f64,
    /// How far a re-aggregation may move it before regress flags a change.
    pub abs_tol: f64,
}

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The statistic meets the published expectation.
    Pass,
    /// It does not (or is missing), and the file does not record that.
    Fail,
    /// A recorded non-reproduction, with the statistic still at its recorded
    /// value and still missing the published expectation.
    NotReproduced,
    /// A recorded failure to measure, with the statistic still absent.
    NotMeasured,
}

impl Check {
    /// Reject a check that constrains nothing or is self-contradictory.
    pub fn validate(&self) -> Result<()> {
        let has_value = self.expected.is_some();
        let has_tol = self.abs_tol.is_some() || self.rel_tol.is_some();
        if has_value != has_tol {
            bail!(
                "check `{}`: `expected` needs `abs_tol` or `rel_tol` (and a tolerance needs `expected`)",
                self.statistic
            );
        }
        if !has_value && self.greater_than.is_none() && self.less_than.is_none() && !self.finite {
            bail!(
                "check `{}` constrains nothing: give `expected` with a tolerance, `greater_than`/`less_than`, or `finite = true`",
                self.statistic
            );
        }
        for (name, v) in [("abs_tol", self.abs_tol), ("rel_tol", self.rel_tol)] {
            if let Some(v) = v
                && !(v >= 0.0 && v.is_finite())
            {
                bail!(
                    "check `{}`: `{name}` = {v} must be finite and >= 0",
                    self.statistic
                );
            }
        }
        if let Some(n) = self.not_reproduced
            && !(n.measured.is_finite() && n.abs_tol >= 0.0 && n.abs_tol.is_finite())
        {
            bail!(
                "check `{}`: `not_reproduced` needs a finite `measured` and a finite `abs_tol` >= 0 (got {} and {})",
                self.statistic,
                n.measured,
                n.abs_tol
            );
        }
        if let Some(why) = &self.not_measured
            && (why.trim().is_empty() || self.not_reproduced.is_some())
        {
            bail!(
                "check `{}`: `not_measured` needs a reason and excludes `not_reproduced`",
                self.statistic
            );
        }
        if let (Some(lo), Some(hi)) = (self.greater_than, self.less_than)
            && lo >= hi
        {
            bail!(
                "check `{}`: greater_than {lo} >= less_than {hi}: no value can pass",
                self.statistic
            );
        }
        Ok(())
    }

    /// The expectation in words, e.g. `0.7 ± 0.3` or `> 0`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(e) = self.expected {
            let mut s = format!("{e}");
            if let Some(a) = self.abs_tol {
                let _ = write!(s, " ± {a}");
            }
            if let Some(r) = self.rel_tol {
                let _ = write!(s, " ± {}%", r * 100.0);
            }
            parts.push(s);
        }
        if let Some(g) = self.greater_than {
            parts.push(format!("> {g}"));
        }
        if let Some(l) = self.less_than {
            parts.push(format!("< {l}"));
        }
        if parts.is_empty() && self.finite {
            parts.push("finite".to_string());
        }
        parts.join(", ")
    }

    /// The verdict for `measured`: a recorded non-reproduction holds while
    /// the value stays within its tolerance and still misses the expectation.
    pub fn verdict(&self, measured: Option<f64>) -> Verdict {
        if self.not_measured.is_some() {
            return if measured.is_some_and(f64::is_finite) {
                Verdict::Fail
            } else {
                Verdict::NotMeasured
            };
        }
        let meets = self.passes(measured);
        match (self.not_reproduced, measured) {
            (Some(n), Some(m)) if !meets && (m - n.measured).abs() <= n.abs_tol => {
                Verdict::NotReproduced
            }
            (Some(_), _) => Verdict::Fail,
            (None, _) if meets => Verdict::Pass,
            (None, _) => Verdict::Fail,
        }
    }

    /// Does `measured` meet the published expectation? Missing or non-finite
    /// values fail.
    pub fn passes(&self, measured: Option<f64>) -> bool {
        let Some(m) = measured.filter(|m| m.is_finite()) else {
            return false;
        };
        if let Some(e) = self.expected {
            let dev = (m - e).abs();
            let within_abs = self.abs_tol.is_some_and(|a| dev <= a);
            let within_rel = self.rel_tol.is_some_and(|r| dev <= r * e.abs());
            if !(within_abs || within_rel) {
                return false;
            }
        }
        self.greater_than.is_none_or(|g| m > g) && self.less_than.is_none_or(|l| m < l)
    }
}

/// One row of the regression report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Statistic name.
    pub statistic: String,
    /// The expectation in words.
    pub expected: String,
    /// The measured value, if the summary has it.
    pub measured: Option<f64>,
    /// Whether the check passed (a guarded non-reproduction passes).
    pub pass: bool,
    /// The verdict of the check.
    pub verdict: Verdict,
    /// Where the expectation comes from.
    pub description: String,
}

/// Compare a summary with the expectations; one row per check.
pub fn compare(expected: &Expected, summary: &Summary) -> Result<Vec<Row>> {
    expected
        .checks
        .iter()
        .map(|c| {
            c.validate()?;
            let measured = summary.statistics.get(&c.statistic).copied();
            let verdict = c.verdict(measured);
            Ok(Row {
                statistic: c.statistic.clone(),
                expected: c.describe(),
                measured,
                pass: verdict != Verdict::Fail,
                verdict,
                description: c.description.clone(),
            })
        })
        .collect()
}

/// A results folder checked against the expected file of its own scale.
#[derive(Debug, Clone)]
pub struct FolderCheck {
    /// The study and scale read from the folder's `run.toml`.
    pub study: String,
    /// The scale the results were made at.
    pub scale: String,
    /// The expected file used, `experiments/<study>/expected-<scale>.toml`.
    pub expected_path: PathBuf,
    /// One row per check.
    pub rows: Vec<Row>,
}

/// Check `results/summary.toml` against `experiments/<study>/expected-<scale>.toml`,
/// where study and scale come from the folder's run record (`run.toml`) and
/// must match the summary's. A missing run record or expected file is an
/// error: a run is never checked against another scale's expectations.
pub fn check_folder(results: &Path, experiments: &Path) -> Result<FolderCheck> {
    let run: Provenance = read_toml(&results.join("run.toml"))?;
    let summary: Summary = read_toml(&results.join("summary.toml"))?;
    if (summary.study.as_str(), summary.scale.as_str()) != (run.study.as_str(), run.scale.as_str())
    {
        bail!(
            "{}: summary.toml is study `{}` scale `{}` but run.toml is study `{}` scale `{}`",
            results.display(),
            summary.study,
            summary.scale,
            run.study,
            run.scale
        );
    }
    let expected_path = experiments
        .join(&run.study)
        .join(format!("expected-{}.toml", run.scale));
    if !expected_path.is_file() {
        bail!(
            "{}: no expected statistics for study `{}` at scale `{}` ({} does not exist)",
            results.display(),
            run.study,
            run.scale,
            expected_path.display()
        );
    }
    let expected: Expected = read_toml(&expected_path)?;
    if (expected.study.as_str(), expected.scale.as_str())
        != (run.study.as_str(), run.scale.as_str())
    {
        bail!(
            "{}: declares study `{}` scale `{}`, not `{}` `{}`",
            expected_path.display(),
            expected.study,
            expected.scale,
            run.study,
            run.scale
        );
    }
    let rows = compare(&expected, &summary)?;
    Ok(FolderCheck {
        study: run.study,
        scale: run.scale,
        expected_path,
        rows,
    })
}

/// The verdict table of a report: one row per check, with the published
/// claim (the check's description), the expectation, wm's value and the
/// verdict, as Markdown.
pub fn verdict_markdown(check: &FolderCheck) -> String {
    let mut s = format!(
        "## Verdict against `{}`\n\nEach row is one published claim (or a design check), its expectation, what this run measured and the verdict (α = 0.05 where a p-value is checked).\n\n| claim | expected | wm | verdict |\n|---|---|---|---|\n",
        check
            .expected_path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    );
    for r in &check.rows {
        let measured = r
            .measured
            .map_or_else(|| "missing".to_string(), |m| format!("{m:.4}"));
        let verdict = match r.verdict {
            Verdict::Pass => "reproduced",
            Verdict::Fail => "**not reproduced**",
            Verdict::NotReproduced => "not reproduced (recorded)",
            Verdict::NotMeasured => "not measured (recorded)",
        };
        let _ = writeln!(
            s,
            "| {} (`{}`) | {} | {measured} | {verdict} |",
            r.description.replace('|', "/"),
            r.statistic,
            r.expected
        );
    }
    let passed = check
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Pass)
        .count();
    let _ = writeln!(s, "\n{passed} of {} reproduced.", check.rows.len());
    s
}

/// The stored results folders of every study, `experiments/<study>/*-results`.
#[derive(Debug, Clone, Default)]
pub struct StoredResults {
    /// Folders with a `summary.toml`: finished runs, checked by regress.
    pub finished: Vec<PathBuf>,
    /// Sweep folders (`sweep.toml`) without a summary yet: still running.
    pub in_progress: Vec<PathBuf>,
}

/// List the stored results folders of every study; a folder that is
/// neither finished nor a sweep in progress is an error.
pub fn stored_results(experiments: &Path) -> Result<StoredResults> {
    let mut out = StoredResults::default();
    for study in std::fs::read_dir(experiments)? {
        let study = study?.path();
        if !study.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&study)? {
            let p = entry?.path();
            let is_results = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with("-results"));
            if !(p.is_dir() && is_results) {
                continue;
            }
            if p.join("summary.toml").is_file() {
                out.finished.push(p);
            } else if p.join("sweep.toml").is_file() {
                out.in_progress.push(p);
            } else {
                bail!(
                    "{}: a results folder with neither summary.toml nor sweep.toml",
                    p.display()
                );
            }
        }
    }
    out.finished.sort();
    out.in_progress.sort();
    Ok(out)
}

/// Render rows as an aligned plain-text table.
pub fn render(rows: &[Row]) -> String {
    let w = rows
        .iter()
        .map(|r| r.statistic.len())
        .max()
        .unwrap_or(9)
        .max(9);
    let we = rows
        .iter()
        .map(|r| r.expected.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = format!(
        "{:<w$}  {:<we$}  {:>14}  result\n",
        "statistic", "expected", "measured"
    );
    for r in rows {
        let m = r
            .measured
            .map_or_else(|| "missing".to_string(), |m| format!("{m:.6}"));
        let verdict = match r.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::NotReproduced => "not reproduced (recorded)",
            Verdict::NotMeasured => "not measured (recorded)",
        };
        let _ = writeln!(
            out,
            "{:<w$}  {:<we$}  {m:>14}  {verdict}",
            r.statistic, r.expected
        );
    }
    for r in rows.iter().filter(|r| !r.pass && !r.description.is_empty()) {
        let _ = writeln!(out, "  {}: {}", r.statistic, r.description);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml_text: &str) -> Check {
        toml::from_str(toml_text).expect("valid check")
    }

    #[test]
    fn tolerance_bounds_are_inclusive_and_tight() {
        let c = check("statistic = 'x'\nexpected = 1.0\nabs_tol = 0.25");
        assert!(c.passes(Some(1.25)));
        assert!(c.passes(Some(0.75)));
        assert!(!c.passes(Some(1.2500001)));
        assert!(!c.passes(Some(0.7499999)));
    }

    #[test]
    fn relative_tolerance_scales_with_the_expected_magnitude() {
        let c = check("statistic = 'x'\nexpected = -200.0\nrel_tol = 0.1");
        assert!(c.passes(Some(-219.0)));
        assert!(!c.passes(Some(-221.0)));
    }

    #[test]
    fn inequalities_are_strict() {
        let c = check("statistic = 'x'\ngreater_than = 0.0");
        assert!(c.passes(Some(1e-9)));
        assert!(!c.passes(Some(0.0)));
        let c = check("statistic = 'x'\ngreater_than = -1.0\nless_than = 1.0");
        assert!(c.passes(Some(0.0)));
        assert!(!c.passes(Some(1.0)));
    }

    #[test]
    fn missing_or_nan_statistics_fail() {
        let c = check("statistic = 'x'\nless_than = 5.0");
        assert!(!c.passes(None));
        assert!(!c.passes(Some(f64::NAN)));
        assert!(!c.passes(Some(f64::NEG_INFINITY)));
    }

    #[test]
    fn a_finite_check_fails_on_missing_or_non_finite_values_only() {
        let c = check("statistic = 'x'\nfinite = true");
        c.validate().unwrap();
        assert_eq!(c.describe(), "finite");
        assert!(c.passes(Some(-1e300)));
        assert!(!c.passes(Some(f64::NAN)));
        assert!(!c.passes(Some(f64::INFINITY)));
        assert!(!c.passes(None));
        assert!(check("statistic = 'x'\nfinite = false").validate().is_err());
    }

    #[test]
    fn vacuous_or_contradictory_checks_are_rejected() {
        assert!(check("statistic = 'x'").validate().is_err());
        assert!(check("statistic = 'x'\nexpected = 1.0").validate().is_err());
        assert!(check("statistic = 'x'\nabs_tol = 1.0").validate().is_err());
        assert!(
            check("statistic = 'x'\ngreater_than = 2.0\nless_than = 1.0")
                .validate()
                .is_err()
        );
        assert!(
            check("statistic = 'x'\nexpected = 0.0\nabs_tol = -1.0")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn a_recorded_failure_to_measure_holds_only_while_the_statistic_is_absent() {
        let c = check("statistic = 'x'\ngreater_than = 0.0\nnot_measured = 'no network kept'");
        c.validate().unwrap();
        assert_eq!(c.verdict(None), Verdict::NotMeasured);
        assert_eq!(c.verdict(Some(f64::NAN)), Verdict::NotMeasured);
        // Measured now, whether or not it meets the claim: flagged for a verdict.
        assert_eq!(c.verdict(Some(1.0)), Verdict::Fail);
        assert_eq!(c.verdict(Some(-1.0)), Verdict::Fail);
        assert!(
            check("statistic = 'x'\ngreater_than = 0.0\nnot_measured = ' '")
                .validate()
                .is_err()
        );
        assert!(
            check(
                "statistic = 'x'\ngreater_than = 0.0\nnot_measured = 'why'\n\
                 not_reproduced = { measured = 1.0, abs_tol = 0.1 }"
            )
            .validate()
            .is_err()
        );
    }

    #[test]
    fn a_recorded_non_reproduction_guards_its_number_in_both_directions() {
        let c = check(
            "statistic = 'x'\nless_than = 0.0\nnot_reproduced = { measured = 12.0, abs_tol = 1.0 }",
        );
        c.validate().unwrap();
        assert_eq!(c.verdict(Some(12.5)), Verdict::NotReproduced);
        assert_eq!(c.verdict(Some(13.5)), Verdict::Fail);
        assert_eq!(c.verdict(Some(-1.0)), Verdict::Fail);
        assert_eq!(c.verdict(None), Verdict::Fail);
        // Reproduced now (within the guard yet meeting the claim): flagged too.
        let c = check(
            "statistic = 'x'\nless_than = 0.0\nnot_reproduced = { measured = 0.5, abs_tol = 1.0 }",
        );
        assert_eq!(c.verdict(Some(-0.2)), Verdict::Fail);
        assert!(
            check("statistic = 'x'\nless_than = 0.0\nnot_reproduced = { measured = nan, abs_tol = 1.0 }")
                .validate()
                .is_err()
        );
    }

    #[test]
    fn verdict_table_has_one_row_per_check_with_its_verdict() {
        let expected: Expected = toml::from_str(
            "study = 's'\nscale = 'medium'\n\
             [[check]]\nstatistic = 'a'\ngreater_than = 0.0\ndescription = 'a rises'\n\
             [[check]]\nstatistic = 'b'\nless_than = 0.0\ndescription = 'b | falls'\n\
             [[check]]\nstatistic = 'c'\nless_than = 0.0\nnot_reproduced = { measured = 2.0, abs_tol = 0.1 }\n",
        )
        .unwrap();
        let summary: Summary =
            toml::from_str("[statistics]\na = 0.5\nb = 0.25\nc = 2.05\n").unwrap();
        let check = FolderCheck {
            study: "s".into(),
            scale: "medium".into(),
            expected_path: PathBuf::from("experiments/s/expected-medium.toml"),
            rows: compare(&expected, &summary).unwrap(),
        };
        let md = verdict_markdown(&check);
        assert!(md.contains("`expected-medium.toml`"));
        let rows: Vec<&str> = md
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| claim"))
            .collect();
        assert_eq!(rows.len(), 3, "{md}");
        assert!(rows[0].ends_with("| 0.5000 | reproduced |"), "{}", rows[0]);
        assert!(
            rows[1].contains("b / falls") && rows[1].ends_with("**not reproduced** |"),
            "{}",
            rows[1]
        );
        assert!(
            rows[2].ends_with("not reproduced (recorded) |"),
            "{}",
            rows[2]
        );
        assert!(md.contains("1 of 3 reproduced."));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        assert!(toml::from_str::<Check>("statistic = 'x'\ngreater_tan = 1.0").is_err());
    }

    #[test]
    fn compare_reports_every_check_in_order() {
        let expected: Expected = toml::from_str(
            "study = 's'\nscale = 'smoke'\n\
             [[check]]\nstatistic = 'a'\ngreater_than = 0.0\n\
             [[check]]\nstatistic = 'b'\nexpected = 2.0\nabs_tol = 0.5\n\
             [[check]]\nstatistic = 'c'\nless_than = 0.0\n",
        )
        .unwrap();
        let summary: Summary = toml::from_str("[statistics]\na = 0.3\nb = 3.0\n").unwrap();
        let rows = compare(&expected, &summary).unwrap();
        let got: Vec<(&str, bool)> = rows
            .iter()
            .map(|r| (r.statistic.as_str(), r.pass))
            .collect();
        assert_eq!(got, [("a", true), ("b", false), ("c", false)]);
        assert_eq!(rows[2].measured, None);
        let table = render(&rows);
        assert!(table.contains("missing"));
        assert_eq!(table.lines().filter(|l| l.ends_with("FAIL")).count(), 2);
    }
}
