//! Workspace-level integration and regression tests live in `tests/tests/`:
//! each study's smoke-scale reproduction is run end to end and its
//! `summary.toml` checked against `experiments/<study>/expected-<scale>.toml`.

pub mod fuzz;

use std::path::{Path, PathBuf};

/// The workspace root (the parent of `tests/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `experiments/<study>/<file>` in the workspace.
pub fn experiment_file(study: &str, file: &str) -> PathBuf {
    workspace_root().join("experiments").join(study).join(file)
}
