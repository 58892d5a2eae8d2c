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

/// A `.npy` header dictionary (e.g. `{'descr': '<f8', …}`) padded with
/// spaces and a newline so that, after the 10-byte preamble of a version
/// 1.0 file, the data starts at a multiple of 64 bytes (NumPy's format
/// description).
pub fn npy_header(dict: &str) -> Vec<u8> {
    let mut h = dict.as_bytes().to_vec();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(b' ');
    }
    h.push(b'\n');
    h
}

/// A version 1.0 `.npy` file built byte by byte: element type `descr`
/// (e.g. `<i8`), storage order, `shape` as Python writes it (e.g.
/// `(2, 3)`), then the raw `data`.
pub fn npy_bytes(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let h = npy_header(&format!(
        "{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}"
    ));
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((h.len() as u16).to_le_bytes());
    bytes.extend(&h);
    bytes.extend(data);
    bytes
}
