//! Checkpoints: `weights.safetensors` (parameters, Adam moments, progress in
//! the metadata) plus `train_log.csv`, written durably through `wm_io`
//! (temporary file, sync, rename, sync of the folder) so an interrupted run
//! never leaves a half-written file.
//!
//! Every safetensors file written here carries a CRC32 of its tensors and
//! metadata in the metadata key [`CHECKSUM`]; [`load_tensors`] refuses a file
//! whose checksum does not match as [`RateRnnError::Corrupt`], as it does a
//! truncated one. Training keeps the checkpoint before the newest one as
//! [`WEIGHTS_PREVIOUS`], so a corrupt newest checkpoint costs one interval.
//!
//! Python reads the weights with `safetensors.numpy.load_file`; parameter
//! names are the model's (`w_hh`, …), Adam's moments are `m.<name>`/`v.<name>`.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};

use crate::error::{RateRnnError, Result};

/// File name of the weights inside a checkpoint folder.
pub const WEIGHTS: &str = "weights.safetensors";
/// File name of the checkpoint before the newest one.
pub const WEIGHTS_PREVIOUS: &str = "weights.prev.safetensors";
/// File name of the training log inside a checkpoint folder.
pub const TRAIN_LOG: &str = "train_log.csv";
/// File name of the run description inside a checkpoint folder.
pub const RUN: &str = "run.toml";
/// Metadata key of the checksum: CRC32 (8 hex digits) over the tensor table
/// (names, dtypes, shapes, offsets), the other metadata entries (sorted) and
/// the tensor bytes.
pub const CHECKSUM: &str = "crc32";

/// The checksum of a serialised safetensors buffer (see [`CHECKSUM`]), or why
/// the buffer is not a whole safetensors file.
fn checksum(bytes: &[u8]) -> std::result::Result<String, String> {
    let (header, meta) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    let mut h = crc32fast::Hasher::new();
    let mut tensors: Vec<_> = meta.tensors().into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, info) in tensors {
        h.update(
            format!(
                "{name}\0{:?}\0{:?}\0{:?}\0",
                info.dtype, info.shape, info.data_offsets
            )
            .as_bytes(),
        );
    }
    let mut entries: Vec<(&String, &String)> = meta
        .metadata()
        .iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != CHECKSUM)
        .collect();
    entries.sort();
    for (k, v) in entries {
        h.update(format!("{k}\0{v}\0").as_bytes());
    }
    h.update(bytes.get(8 + header..).unwrap_or_default());
    Ok(format!("{:08x}", h.finalize()))
}

/// Serialise tensors with metadata plus the [`CHECKSUM`] entry.
pub fn serialize_tensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    mut metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let data: Vec<(&str, &Tensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    let fail = |e: String| RateRnnError::Checkpoint {
        path: path.to_path_buf(),
        reason: format!("cannot serialise: {e}"),
    };
    metadata.remove(CHECKSUM);
    let plain = safetensors::serialize(data.clone(), Some(metadata.clone()))
        .map_err(|e| fail(e.to_string()))?;
    metadata.insert(CHECKSUM.to_string(), checksum(&plain).map_err(fail)?);
    safetensors::serialize(data, Some(metadata)).map_err(|e| fail(e.to_string()))
}

/// Save tensors with metadata (and a checksum) to `path` durably and atomically.
pub fn save_tensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: HashMap<String, String>,
) -> Result<()> {
    Ok(wm_io::write_atomic(
        path,
        &serialize_tensors(path, tensors, metadata)?,
    )?)
}

/// Like [`save_tensors`], but the file `path` held before becomes
/// `previous` ([`wm_io::write_atomic_keep_previous`]): two complete
/// generations survive a kill at any moment.
pub fn save_tensors_keep_previous(
    path: &Path,
    previous: &Path,
    tensors: &[(String, Tensor)],
    metadata: HashMap<String, String>,
) -> Result<()> {
    let bytes = serialize_tensors(path, tensors, metadata)?;
    Ok(wm_io::write_atomic_keep_previous(path, previous, &bytes)?)
}

/// Check that `bytes` (read from `path`) are a whole safetensors file whose
/// checksum, if it has one, matches. Files written before checksums were
/// kept have none and are accepted when they parse.
pub fn verify_tensors(path: &Path, bytes: &[u8]) -> Result<()> {
    let corrupt = |reason: String| RateRnnError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| corrupt(format!("not a readable safetensors file ({e})")))?;
    if let Some(stored) = meta.metadata().as_ref().and_then(|m| m.get(CHECKSUM)) {
        let actual = checksum(bytes).map_err(corrupt)?;
        if *stored != actual {
            return Err(corrupt(format!(
                "checksum mismatch (stored {stored}, contents {actual})"
            )));
        }
    }
    Ok(())
}

/// Tensors plus string metadata, as stored in a safetensors file.
#[derive(Debug, Clone)]
pub struct TensorFile {
    /// Named tensors.
    pub tensors: HashMap<String, Tensor>,
    /// String metadata (the `__metadata__` map).
    pub metadata: HashMap<String, String>,
}

/// Load a safetensors file with its metadata. A missing file is a
/// [`RateRnnError::Io`]; a truncated or corrupt one (bad checksum) a
/// [`RateRnnError::Corrupt`] naming it.
pub fn load_tensors(path: &Path) -> Result<TensorFile> {
    let bytes = std::fs::read(path).map_err(|source| RateRnnError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    verify_tensors(path, &bytes)?;
    let corrupt = |e: String| RateRnnError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("not a readable safetensors file ({e})"),
    };
    let (_, meta) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
        .map_err(|e| corrupt(e.to_string()))?;
    let mut metadata = meta.metadata().clone().unwrap_or_default();
    metadata.remove(CHECKSUM);
    Ok(TensorFile { tensors, metadata })
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
    fn a_flipped_byte_anywhere_is_caught_by_the_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(WEIGHTS);
        let t = Tensor::new(&[1.0f32, 2.0, 3.0, 4.0], &Device::Cpu).unwrap();
        let meta = HashMap::from([("iteration".to_string(), "1000".to_string())]);
        save_tensors(&path, &[("w".into(), t)], meta).unwrap();
        let good = std::fs::read(&path).unwrap();
        assert!(load_tensors(&path).is_ok());
        // The last byte of the data, and a digit of the iteration in the header.
        let digit = good
            .windows(6)
            .position(|w| w == b"\"1000\"")
            .expect("the iteration is in the header")
            + 1;
        for at in [good.len() - 1, digit] {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            std::fs::write(&path, &bad).unwrap();
            let err = load_tensors(&path).unwrap_err();
            assert!(
                matches!(err, RateRnnError::Corrupt { .. }) && err.to_string().contains(WEIGHTS),
                "byte {at}: {err}"
            );
        }
        // The checksum is not part of the metadata the caller sees.
        std::fs::write(&path, &good).unwrap();
        assert!(!load_tensors(&path).unwrap().metadata.contains_key(CHECKSUM));
    }

    #[test]
    fn files_without_a_checksum_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.safetensors");
        let t = Tensor::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
        let bytes = safetensors::serialize([("x", &t)], None).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let back: Vec<f32> = load_tensors(&path).unwrap().tensors["x"].to_vec1().unwrap();
        assert_eq!(back, [1.0, 2.0]);
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
