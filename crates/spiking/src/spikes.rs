//! Spike trains per trial as (unit, step) pairs; binning; Python-loadable
//! output (safetensors and CSV), and the spikes of a trial in ms for a raster.
//!
//! Files: `spikes.safetensors` holds three flat arrays of equal length,
//! `trial` (u32), `unit` (u32) and `time_ms` (f32, `step · dt`), plus
//! metadata `n_units`, `n_trials`, `dt_ms`, `n_steps`. Read it in Python with
//! `safetensors.numpy.load_file(path)`. The CSV has the header
//! `trial,unit,time_ms`.

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, tensor::TensorView};
use serde::Serialize;

use crate::error::{Result, SpikingError};

/// Spikes of a batch of trials.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeTrains {
    /// Units per trial.
    pub n_units: usize,
    /// Step length, ms.
    pub dt_ms: f64,
    /// Steps per trial (steps are numbered 1..=n_steps; step i ends at i·dt).
    pub n_steps: usize,
    /// Per trial, the spikes as (unit, step), in time order.
    pub trials: Vec<Vec<(u32, u32)>>,
}

#[derive(Serialize)]
struct Row {
    trial: usize,
    unit: u32,
    time_ms: f64,
}

impl SpikeTrains {
    /// Trials.
    pub fn n_trials(&self) -> usize {
        self.trials.len()
    }

    /// Spike counts `[units, trials, bins]` (flat, row-major) in bins of
    /// `bin_ms`, over whole bins only; step i belongs to bin ⌊(i − 1)/k⌋ with
    /// k = bin_ms/dt. Returns the counts and the number of bins.
    pub fn binned_counts(&self, bin_ms: f64) -> (Vec<f64>, usize) {
        let k = (bin_ms / self.dt_ms).round().max(1.0) as usize;
        let bins = self.n_steps / k;
        let nb = self.n_trials();
        let mut c = vec![0.0; self.n_units * nb * bins];
        for (b, tr) in self.trials.iter().enumerate() {
            for &(u, step) in tr {
                let bin = (step as usize).saturating_sub(1) / k;
                if bin < bins {
                    c[(u as usize * nb + b) * bins + bin] += 1.0;
                }
            }
        }
        (c, bins)
    }

    /// Mean firing rate per unit over all trials and steps `[from_step, n_steps]`, Hz.
    pub fn rates_hz(&self, from_step: usize) -> Vec<f64> {
        let mut r = vec![0.0; self.n_units];
        for tr in &self.trials {
            for &(u, s) in tr {
                if s as usize >= from_step {
                    r[u as usize] += 1.0;
                }
            }
        }
        let dur_s =
            (self.n_steps + 1).saturating_sub(from_step.max(1)) as f64 * self.dt_ms / 1000.0;
        let denom = dur_s * self.n_trials().max(1) as f64;
        r.iter_mut().for_each(|x| *x /= denom);
        r
    }

    /// Write `trial,unit,time_ms` rows.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let io = |e: String| SpikingError::Io {
            path: path.to_path_buf(),
            reason: e,
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        for (b, tr) in self.trials.iter().enumerate() {
            for &(u, s) in tr {
                w.serialize(Row {
                    trial: b,
                    unit: u,
                    time_ms: s as f64 * self.dt_ms,
                })
                .map_err(|e| io(e.to_string()))?;
            }
        }
        let bytes = w.into_inner().map_err(|e| io(e.to_string()))?;
        wm_io::write_atomic(path, &bytes).map_err(|e| io(e.to_string()))
    }

    /// Write `trial`, `unit`, `time_ms` arrays to a safetensors file.
    pub fn write_safetensors(&self, path: &Path) -> Result<()> {
        let io = |e: String| SpikingError::Io {
            path: path.to_path_buf(),
            reason: e,
        };
        let mut trial = Vec::new();
        let mut unit = Vec::new();
        let mut time = Vec::new();
        for (b, tr) in self.trials.iter().enumerate() {
            for &(u, s) in tr {
                trial.extend_from_slice(&(b as u32).to_le_bytes());
                unit.extend_from_slice(&u.to_le_bytes());
                time.extend_from_slice(&((s as f64 * self.dt_ms) as f32).to_le_bytes());
            }
        }
        let n = trial.len() / 4;
        let views = [
            (
                "trial",
                TensorView::new(Dtype::U32, vec![n], &trial).map_err(|e| io(e.to_string()))?,
            ),
            (
                "unit",
                TensorView::new(Dtype::U32, vec![n], &unit).map_err(|e| io(e.to_string()))?,
            ),
            (
                "time_ms",
                TensorView::new(Dtype::F32, vec![n], &time).map_err(|e| io(e.to_string()))?,
            ),
        ];
        let meta = HashMap::from([
            ("n_units".to_string(), self.n_units.to_string()),
            ("n_trials".to_string(), self.n_trials().to_string()),
            ("dt_ms".to_string(), self.dt_ms.to_string()),
            ("n_steps".to_string(), self.n_steps.to_string()),
        ]);
        let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| io(e.to_string()))?;
        wm_io::write_atomic(path, &bytes).map_err(|e| io(e.to_string()))
    }

    /// Read a file written by [`SpikeTrains::write_safetensors`].
    pub fn read_safetensors(path: &Path) -> Result<Self> {
        let io = |e: String| SpikingError::Io {
            path: path.to_path_buf(),
            reason: e,
        };
        let bytes = std::fs::read(path).map_err(|e| io(e.to_string()))?;
        let (_, meta) =
            safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| io(e.to_string()))?;
        let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| io(e.to_string()))?;
        let md = meta.metadata().clone().unwrap_or_default();
        let get = |k: &str| -> Result<String> {
            md.get(k)
                .cloned()
                .ok_or_else(|| io(format!("metadata `{k}` missing")))
        };
        let parse_u = |k: &str| -> Result<usize> {
            get(k)?
                .parse()
                .map_err(|_| io(format!("metadata `{k}` is not a number")))
        };
        let (n_units, n_trials, n_steps) = (
            parse_u("n_units")?,
            parse_u("n_trials")?,
            parse_u("n_steps")?,
        );
        let dt_ms: f64 = get("dt_ms")?
            .parse()
            .map_err(|_| io("metadata `dt_ms` is not a number".into()))?;
        let words = |k: &str| -> Result<Vec<[u8; 4]>> {
            let t = st.tensor(k).map_err(|e| io(e.to_string()))?;
            Ok(t.data()
                .chunks_exact(4)
                .map(|c| [c[0], c[1], c[2], c[3]])
                .collect())
        };
        let (tr, un, tm) = (words("trial")?, words("unit")?, words("time_ms")?);
        let mut trials = vec![Vec::new(); n_trials];
        for ((t, u), s) in tr.iter().zip(&un).zip(&tm) {
            let b = u32::from_le_bytes(*t) as usize;
            let step = (f64::from(f32::from_le_bytes(*s)) / dt_ms).round() as u32;
            if b >= n_trials {
                return Err(io(format!("trial index {b} ≥ n_trials {n_trials}")));
            }
            trials[b].push((u32::from_le_bytes(*u), step));
        }
        Ok(Self {
            n_units,
            dt_ms,
            n_steps,
            trials,
        })
    }

    /// The spikes of `trial` as (time in ms, unit), in time order; empty
    /// for a trial that does not exist. What a raster plot draws.
    pub fn trial_spikes_ms(&self, trial: usize) -> Vec<(f64, u32)> {
        self.trials.get(trial).map_or_else(Vec::new, |tr| {
            tr.iter()
                .map(|&(u, s)| (f64::from(s) * self.dt_ms, u))
                .collect()
        })
    }

    /// Length of a trial, ms (`n_steps · dt_ms`).
    pub fn duration_ms(&self) -> f64 {
        self.n_steps as f64 * self.dt_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_spikes_are_in_ms_and_a_missing_trial_is_empty() {
        let spikes = SpikeTrains {
            n_units: 4,
            dt_ms: 0.5,
            n_steps: 100,
            trials: vec![vec![], vec![(1, 10), (3, 50)]],
        };
        assert!(spikes.trial_spikes_ms(0).is_empty());
        assert_eq!(spikes.trial_spikes_ms(1), [(5.0, 1), (25.0, 3)]);
        assert!(spikes.trial_spikes_ms(2).is_empty());
        assert_eq!(spikes.duration_ms(), 50.0);
    }
}
