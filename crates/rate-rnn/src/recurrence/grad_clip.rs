//! Gradient clipping as an op: identity forward, elementwise clip backward.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

use super::contiguous;

/// Identity in the forward pass; clips the incoming gradient elementwise to
/// `±bound` in the backward pass (Theano's `grad_clip`). Used by the per-step
/// reference path and the fast-weights model.
pub fn grad_clip(x: &Tensor, bound: f64) -> candle_core::Result<Tensor> {
    x.apply_op1(GradClip(bound))
}

struct GradClip(f64);

impl CustomOp1 for GradClip {
    fn name(&self) -> &'static str {
        "wm-grad-clip"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let out = match s {
            CpuStorage::F32(v) => CpuStorage::F32(contiguous(v, l)?.to_vec()),
            CpuStorage::F64(v) => CpuStorage::F64(contiguous(v, l)?.to_vec()),
            _ => candle_core::bail!("grad_clip: only f32 and f64 are supported"),
        };
        Ok((out, l.shape().clone()))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad_res.clamp(-self.0, self.0)?))
    }
}
