//! Errors of model construction, training and checkpoint IO.

use std::path::PathBuf;

/// Everything that can go wrong in `wm-rate-rnn`.
#[derive(Debug, thiserror::Error)]
pub enum RateRnnError {
    /// A configuration value is out of range.
    #[error("config field `{name}` = {value}: allowed {allowed}")]
    Config {
        /// The field, dotted for nested ones.
        name: String,
        /// The offending value.
        value: String,
        /// The allowed range or set.
        allowed: String,
    },
    /// A batch or array does not have the shape the model expects.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// Training produced a non-finite loss or gradient.
    #[error(
        "training diverged at iteration {iteration}: {what} is not finite; the last good checkpoint (iteration {last_good}) is kept"
    )]
    Diverged {
        /// Iteration at which the NaN/Inf appeared.
        iteration: usize,
        /// What was non-finite (the loss, or a parameter's gradient).
        what: String,
        /// Iteration of the last checkpoint written (0 if none).
        last_good: usize,
    },
    /// A checkpoint is missing, incomplete or does not match the model.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint file or folder.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file is truncated, garbled or fails its checksum.
    #[error("checkpoint {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A tensor operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

impl RateRnnError {
    /// The one way to build [`RateRnnError::Config`]: field `name` holds
    /// `value`, outside `allowed`.
    pub fn invalid(name: &str, value: impl std::fmt::Display, allowed: &str) -> Self {
        Self::Config {
            name: name.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}

/// A failed durable write ([`wm_io::write_atomic`]) as [`RateRnnError::Io`].
impl From<wm_io::Error> for RateRnnError {
    fn from(e: wm_io::Error) -> Self {
        Self::Io {
            path: e.path,
            source: e.source,
        }
    }
}

/// `Result` with [`RateRnnError`].
pub type Result<T> = std::result::Result<T, RateRnnError>;
