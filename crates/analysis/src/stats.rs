//! Classical frequentist statistics: descriptive summaries, t-tests, one-way
//! ANOVA, Pearson and Spearman correlation and ordinary least squares with Wald tests.
//!
//! Everything here is self-contained and validated: empty or too-short
//! samples, NaN/∞, mismatched lengths, (numerically) zero variance and
//! singular designs return an [`AnalysisError`](crate::AnalysisError) instead
//! of panicking or silently producing NaN. Where a NaN *is* returned (for
//! example R² of a constant response) it is documented on the field.
//!
//! p-values are computed from the survival function (upper tail) directly, so
//! tiny p-values keep their relative precision instead of cancelling in
//! `1 − cdf`.
//!
//! | function | test |
//! |---|---|
//! | [`finite_mean`] | mean of the finite values (NaN, ±∞ skipped) |
//! | [`mean_sem`] | mean, SD (N−1), SEM |
//! | [`ttest_one_sample`] | one-sample t |
//! | [`ttest_paired`] | paired t (one-sample t on x − y) |
//! | [`ttest_student`] | two-sample t, pooled variance |
//! | [`ttest_welch`] | two-sample t, Welch–Satterthwaite df |
//! | [`anova_one_way`] | one-way ANOVA F |
//! | [`pearson`] | Pearson r with t (n−2 df) test |
//! | [`ols`], [`ols_with_intercept`], [`simple_linear_regression`] | OLS with per-coefficient Wald t-tests |

mod anova;
mod correlation;
mod descriptive;
mod dist;
mod ols;
mod rank;
mod ttest;

pub use anova::{AnovaResult, anova_one_way};
pub use correlation::{Correlation, fisher_z, fisher_z_inv, pearson, spearman};
pub use descriptive::{MeanSem, finite_mean, mean_sem};
pub use dist::{f_upper_p, t_quantile, t_two_sided_p};
pub use ols::{Coefficient, OlsFit, ols, ols_with_intercept, simple_linear_regression};
pub use rank::{RankTestResult, mann_whitney_u};
pub use ttest::{TestResult, ttest_one_sample, ttest_paired, ttest_student, ttest_welch};
