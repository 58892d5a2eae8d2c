//! Running a trained network on test trials: its activity for analysis, and
//! its performance on fresh batches.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use wm_tasks::{Task, TaskRng, TrialBatch};

use crate::checkpoint::save_tensors;
use crate::error::Result;
use crate::loss;
use crate::model::RateModel;
use crate::train::batch_tensors;

/// A network's activity on a batch, row-major `[T, B, ·]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    /// Steps `T`.
    pub n_steps: usize,
    /// Trials `B`.
    pub batch_size: usize,
    /// Units `N`.
    pub n_units: usize,
    /// Outputs `O`.
    pub n_outputs: usize,
    /// Unit rates `[T, B, N]`.
    pub rates: Vec<f32>,
    /// Task output after the output nonlinearity `[T, B, O]`.
    pub output: Vec<f32>,
}

impl Activity {
    /// Rates of trial `b` as `[T, N]` row-major `f64` (the layout `wm-analysis` takes per trial).
    pub fn trial_rates(&self, b: usize) -> Vec<f64> {
        let (t, nb, n) = (self.n_steps, self.batch_size, self.n_units);
        let mut out = Vec::with_capacity(t * n);
        for s in 0..t {
            let row = (s * nb + b) * n;
            out.extend(self.rates[row..row + n].iter().map(|&v| f64::from(v)));
        }
        out
    }
}

/// Run `model` on `batch` without tracking gradients.
pub fn record(model: &dyn RateModel, task: &dyn Task, batch: &TrialBatch) -> Result<Activity> {
    let dtype = model
        .named_vars()
        .first()
        .map_or(DType::F32, |(_, v)| v.dtype());
    let (input, _, _) = batch_tensors(batch, dtype)?;
    let fwd = model.forward(&input, batch.update.clone().map(Arc::new))?;
    let out = loss::output(&fwd.readout.detach(), task.output_kind())?;
    let flat = |t: &Tensor| -> Result<Vec<f32>> {
        Ok(t.detach().to_dtype(DType::F32)?.flatten_all()?.to_vec1()?)
    };
    Ok(Activity {
        n_steps: batch.n_steps,
        batch_size: batch.batch_size,
        n_units: model.n_units(),
        n_outputs: batch.n_outputs,
        rates: flat(&fwd.rates)?,
        output: flat(&out)?,
    })
}

/// Write activity and the batch's input/target to a safetensors file,
/// readable from numpy. Every tensor is stored trial-major, `[trial, time, ·]`
/// (the in-memory `[T, B, ·]` transposed): `rates` `[B, T, N]`, `output` and
/// `target` `[B, T, O]`, `input` `[B, T, I]`. The metadata names each
/// tensor's axes (`axes_rates = "trial,time,unit"`, `axes_output`,
/// `axes_input`, `axes_target`) and the common `layout = "[trial, time, unit]"`.
pub fn write_activity(path: &Path, activity: &Activity, batch: &TrialBatch) -> Result<()> {
    let (t, b) = (activity.n_steps, activity.batch_size);
    let fields: [(&str, &[f32], usize, &str); 4] = [
        ("rates", &activity.rates, activity.n_units, "unit"),
        ("output", &activity.output, activity.n_outputs, "output"),
        ("input", &batch.input, batch.n_inputs, "input"),
        ("target", &batch.target, batch.n_outputs, "output"),
    ];
    let mut tensors = Vec::with_capacity(fields.len());
    let mut meta = HashMap::from([
        ("layout".to_string(), "[trial, time, unit]".to_string()),
        (
            "wm_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]);
    for (name, values, width, axis) in fields {
        let stored = Tensor::from_slice(values, (t, b, width), &Device::Cpu)?
            .transpose(0, 1)?
            .contiguous()?;
        tensors.push((name.to_string(), stored));
        meta.insert(format!("axes_{name}"), format!("trial,time,{axis}"));
    }
    save_tensors(path, &tensors, meta)
}

/// Performance on fresh test batches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Mean over batches of the fractional loss (NaN if the task defines none).
    pub fractional_loss: f64,
    /// Mean accuracy (NaN for estimation tasks).
    pub accuracy: f64,
    /// Mean error in the task's metric.
    pub error: f64,
}

/// Score `model` on `n_batches` fresh batches of `batch_size` trials.
pub fn evaluate(
    model: &dyn RateModel,
    task: &dyn Task,
    rng: &mut TaskRng,
    n_batches: usize,
    batch_size: usize,
) -> Result<Evaluation> {
    let mut sums = [(0.0, 0usize); 3];
    for _ in 0..n_batches {
        let batch = task.batch(rng, batch_size);
        let act = record(model, task, &batch)?;
        let s = task.score(&batch, &act.output);
        for (k, v) in [s.fractional_loss, s.accuracy, Some(s.error)]
            .into_iter()
            .enumerate()
        {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                sums[k].0 += v;
                sums[k].1 += 1;
            }
        }
    }
    let mean = |(s, n): (f64, usize)| if n > 0 { s / n as f64 } else { f64::NAN };
    Ok(Evaluation {
        fractional_loss: mean(sums[0]),
        accuracy: mean(sums[1]),
        error: mean(sums[2]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::load_tensors;

    #[test]
    fn activity_files_are_trial_major_with_named_axes() {
        let (t, b, n, o, i) = (4, 3, 5, 2, 6);
        let values = |len: usize| (0..len).map(|k| k as f32).collect::<Vec<f32>>();
        let act = Activity {
            n_steps: t,
            batch_size: b,
            n_units: n,
            n_outputs: o,
            rates: values(t * b * n),
            output: values(t * b * o).iter().map(|v| -v).collect(),
        };
        let mut batch = TrialBatch::zeros(t, b, i, o);
        batch.input = values(t * b * i);
        batch.target = values(t * b * o).iter().map(|v| v + 0.5).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("activity.safetensors");
        write_activity(&path, &act, &batch).unwrap();
        let file = load_tensors(&path).unwrap();
        assert_eq!(file.metadata["layout"], "[trial, time, unit]");
        for (name, mem, width, axis) in [
            ("rates", &act.rates, n, "unit"),
            ("output", &act.output, o, "output"),
            ("input", &batch.input, i, "input"),
            ("target", &batch.target, o, "output"),
        ] {
            assert_eq!(
                file.metadata[&format!("axes_{name}")],
                format!("trial,time,{axis}")
            );
            let stored = &file.tensors[name];
            assert_eq!(stored.dims(), [b, t, width], "{name}");
            let stored = stored.to_vec3::<f32>().unwrap();
            for (k, trial) in stored.iter().enumerate() {
                for (s, row) in trial.iter().enumerate() {
                    assert_eq!(row[..], mem[(s * b + k) * width..][..width], "{name}");
                }
            }
        }
    }
}
