//! Errors raised when building a task.

use thiserror::Error;

/// Why a task could not be built.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TaskError {
    /// No task of that name.
    #[error("unknown task {name:?}; allowed: {}", allowed.join(", "))]
    UnknownTask {
        /// The name asked for.
        name: String,
        /// The names this constructor knows.
        allowed: Vec<String>,
    },
    /// The task exists but not in the requested variant.
    #[error("task {task} has no {variant} variant")]
    UnsupportedVariant {
        /// The task's name.
        task: String,
        /// The variant asked for.
        variant: String,
    },
    /// An option is out of range.
    #[error("task option `{name}` = {value}: allowed {allowed}")]
    InvalidOption {
        /// The option, dotted for nested ones (`dms.delay_ms`).
        name: String,
        /// The value given, formatted.
        value: String,
        /// The allowed range or set.
        allowed: String,
    },
}

impl TaskError {
    /// The one way to build [`TaskError::InvalidOption`]: option `name`
    /// holds `value`, outside `allowed`.
    pub fn invalid(
        name: impl Into<String>,
        value: impl std::fmt::Display,
        allowed: impl Into<String>,
    ) -> Self {
        Self::InvalidOption {
            name: name.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}
