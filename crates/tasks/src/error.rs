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
    #[error("invalid task option: {0}")]
    InvalidOption(String),
}
