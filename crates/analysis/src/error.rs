//! The one error type of `wm-analysis`.
//!
//! Every function that can be handed bad data (empty arrays, NaN, mismatched
//! shapes, zero variance, out-of-range parameters) returns an
//! [`AnalysisError`] that names what was wrong, instead of panicking.

use thiserror::Error;

/// What went wrong in an analysis.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AnalysisError {
    /// An input had no elements (or too few to compute the measure).
    #[error("{what}: need at least {needed} element(s), got {got}")]
    TooFew {
        /// Which input or quantity.
        what: &'static str,
        /// The smallest count that works.
        needed: usize,
        /// The count that was given.
        got: usize,
    },
    /// Two inputs (or an input and a parameter) disagree in shape.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// Which input.
        what: &'static str,
        /// The expected shape, in words.
        expected: String,
        /// The shape that was given.
        got: String,
    },
    /// An input held NaN or ±∞ where finite values are required.
    #[error("{what} contains a non-finite value (NaN or infinity)")]
    NonFinite {
        /// Which input.
        what: &'static str,
    },
    /// A quantity that must vary is constant, so the measure is undefined.
    #[error("{what} has zero variance")]
    ZeroVariance {
        /// Which input.
        what: &'static str,
    },
    /// A parameter lies outside its allowed range.
    #[error("parameter `{name}` = {value} is out of range; allowed: {allowed}")]
    InvalidParameter {
        /// The parameter's name, as in the function signature.
        name: &'static str,
        /// The value given, formatted.
        value: String,
        /// The allowed range, in words.
        allowed: String,
    },
    /// A numerical routine failed (did not converge, singular matrix, …).
    #[error("{what} failed: {reason}")]
    Numerical {
        /// Which routine.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
}

/// Short alias used across the crate.
pub type Result<T, E = AnalysisError> = std::result::Result<T, E>;

impl AnalysisError {
    /// Build an [`AnalysisError::InvalidParameter`].
    pub fn invalid(
        name: &'static str,
        value: impl std::fmt::Display,
        allowed: impl Into<String>,
    ) -> Self {
        Self::InvalidParameter {
            name,
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }

    /// Build an [`AnalysisError::ShapeMismatch`].
    pub fn shape(what: &'static str, expected: impl Into<String>, got: impl Into<String>) -> Self {
        Self::ShapeMismatch {
            what,
            expected: expected.into(),
            got: got.into(),
        }
    }
}

/// Return [`AnalysisError::TooFew`] if the count `got` of `what` is below `needed`.
pub fn ensure_at_least(what: &'static str, needed: usize, got: usize) -> Result<()> {
    if got < needed {
        Err(AnalysisError::TooFew { what, needed, got })
    } else {
        Ok(())
    }
}

/// Return [`AnalysisError::NonFinite`] if any value is NaN or infinite.
pub fn ensure_finite<'a>(
    what: &'static str,
    values: impl IntoIterator<Item = &'a f64>,
) -> Result<()> {
    if values.into_iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(AnalysisError::NonFinite { what })
    }
}
