//! Checkpoints: `weights.safetensors` (parameters, Adam moments, progress in
//! the metadata) plus `train_log.csv`, written atomically (temporary file,
//! then rename) so an interrupted run never leaves a half-written file.
//!
//! Python reads the weights with `safetensors.numpy.load_file`; parameter
//! names are the model's (`w_hh`, …), Adam's moments are `m.<name>`/`v.<name>`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use crate::error::{RateRnnError, Result};

/// File name of the weights inside a checkpoint folder.
pub const WEIGHTS: &str = "weights.safetensors";
/// File name of the training log inside a checkpoint folder.
pub const TRAIN_LOG: &str = "train_log.csv";
/// File name of the run description inside a checkpoint folder.
pub const RUN: &str = "run.toml";

/// Write `bytes` to `path` atomically: a sibling temporary file, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| RateRnnError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|source| RateRnnError::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Tensors plus string metadata, as stored in a safetensors file.
#[derive(Debug, Clone)]
pub struct TensorFile {
    /// Named tensors.
    pub tensors: HashMap<String, Tensor>,
    /// String metadata (the `__metadata__` map).
    pub metadata: HashMap<String, String>,
}

/// Save tensors with metadata to `path` atomically.
pub fn save_tensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: HashMap<String, String>,
) -> Result<()> {
    let data: Vec<(&str, &Tensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    let bytes =
        safetensors::serialize(data, Some(metadata)).map_err(|e| RateRnnError::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("cannot serialise: {e}"),
        })?;
    write_atomic(path, &bytes)
}

/// Load a safetensors file with its metadata; a missing or corrupt file is a
/// [`RateRnnError::Checkpoint`] naming it.
pub fn load_tensors(path: &Path) -> Result<TensorFile> {
    let bytes = std::fs::read(path).map_err(|source| RateRnnError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let corrupt = |e: String| RateRnnError::Checkpoint {
        path: path.to_path_buf(),
        reason: format!("not a readable safetensors file ({e})"),
    };
    let (_, meta) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
        .map_err(|e| corrupt(e.to_string()))?;
    Ok(TensorFile {
        tensors,
        metadata: meta.metadata().clone().unwrap_or_default(),
    })
}

impl TensorFile {
    /// A metadata value parsed as `T`; the error names the file and key.
    pub fn meta<T: std::str::FromStr>(&self, path: &Path, key: &str) -> Result<T> {
        let raw = self
            .metadata
            .get(key)
            .ok_or_else(|| RateRnnError::Checkpoint {
                path: path.to_path_buf(),
                reason: format!("metadata key `{key}` is missing"),
            })?;
        raw.parse().map_err(|_| RateRnnError::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("metadata key `{key}` = {raw:?} cannot be parsed"),
        })
    }

    /// The tensor `name`; the error names the file.
    pub fn tensor(&self, path: &Path, name: &str) -> Result<&Tensor> {
        self.tensors
            .get(name)
            .ok_or_else(|| RateRnnError::Checkpoint {
                path: path.to_path_buf(),
                reason: format!("tensor `{name}` is missing"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_file_is_reported_as_corrupt_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(WEIGHTS);
        let t = Tensor::new(&[1.0f32, 2.0, 3.0], &Device::Cpu).unwrap();
        save_tensors(&path, &[("x".into(), t)], HashMap::new()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        let err = load_tensors(&path).unwrap_err().to_string();
        assert!(
            err.contains(WEIGHTS) && err.contains("safetensors"),
            "{err}"
        );
    }

    #[test]
    fn tensors_and_metadata_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.safetensors");
        let t = Tensor::new(&[[1.5f64, -2.0], [0.25, 8.0]], &Device::Cpu).unwrap();
        let meta = HashMap::from([("iteration".to_string(), "42".to_string())]);
        save_tensors(&path, &[("w".into(), t.clone())], meta).unwrap();
        let f = load_tensors(&path).unwrap();
        let back: Vec<Vec<f64>> = f.tensor(&path, "w").unwrap().to_vec2().unwrap();
        assert_eq!(back, vec![vec![1.5, -2.0], vec![0.25, 8.0]]);
        assert_eq!(f.meta::<usize>(&path, "iteration").unwrap(), 42);
        assert!(f.meta::<usize>(&path, "nope").is_err());
    }
}
