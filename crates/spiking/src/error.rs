//! Errors of conversion, simulation and IO.

use std::path::PathBuf;

/// Everything that can go wrong in `wm-spiking`.
#[derive(Debug, thiserror::Error)]
pub enum SpikingError {
    /// A rate network's array has the wrong shape or is missing.
    #[error("{source_name}: tensor `{tensor}` {problem}")]
    Shape {
        /// The checkpoint file (or "arrays" for in-memory input).
        source_name: String,
        /// The tensor's name.
        tensor: String,
        /// What is wrong, e.g. "has shape [200, 3], expected [200, 200] (N × N, N from `w_rec`)".
        problem: String,
    },
    /// A parameter is out of range.
    #[error("parameter `{field}` = {value}: allowed {allowed}")]
    Param {
        /// The parameter.
        field: String,
        /// Its value.
        value: String,
        /// The allowed range.
        allowed: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// `Result` with [`SpikingError`].
pub type Result<T> = std::result::Result<T, SpikingError>;

pub(crate) fn param<T>(field: &str, value: impl ToString, allowed: &str) -> Result<T> {
    Err(SpikingError::Param {
        field: field.into(),
        value: value.to_string(),
        allowed: allowed.into(),
    })
}
