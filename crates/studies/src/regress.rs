//! Regression checks: compare a run's `summary.toml` with the study's
//! `experiments/<study>/expected.toml` (used by `cargo xtask regress` and by
//! the workspace's regression tests).
//!
//! `summary.toml` holds a `[statistics]` table of named numbers. Each
//! `[[check]]` of `expected.toml` names one statistic and either a value with
//! a tolerance (`expected` with `abs_tol` and/or `rel_tol`) or a published
//! inequality (`greater_than`, `less_than`, or both). A statistic that is
//! missing or not finite fails its check.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

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

/// `experiments/<study>/expected.toml`.
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
    /// Where the expectation comes from (paper, figure, spec section).
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
        if !has_value && self.greater_than.is_none() && self.less_than.is_none() {
            bail!(
                "check `{}` constrains nothing: give `expected` with a tolerance, or `greater_than`/`less_than`",
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
        parts.join(", ")
    }

    /// Does `measured` satisfy this check? Missing or non-finite values fail.
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
    /// Whether the check passed.
    pub pass: bool,
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
            Ok(Row {
                statistic: c.statistic.clone(),
                expected: c.describe(),
                measured,
                pass: c.passes(measured),
                description: c.description.clone(),
            })
        })
        .collect()
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
        let verdict = if r.pass { "pass" } else { "FAIL" };
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
