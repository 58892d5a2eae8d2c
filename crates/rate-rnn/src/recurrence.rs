//! The recurrent loop as one fused candle op with a hand-written BPTT backward.
//!
//! For every trial `b` and step `t` (row-vector convention, `W` is pre × post):
//!
//! ```text
//! a_t = u_t + h_{t−1} W                       (h_{−1} = 0)
//! h_t = h_{t−1} + c_t · (φ(a_t) − h_{t−1}),   c_t = α · m_t
//! ```
//!
//! `u_t` is the input drive (input projection plus biases, computed by candle
//! outside the loop), `α = dt/τ` the leak (1: Orhan & Ma's discrete-time
//! network) and `m_t ∈ {0, 1}` the per-trial update flag of variable-length
//! trials (0 holds the state, as Lasagne's masked step does).
//!
//! Why fused: driving the loop with per-step candle ops builds a graph of
//! `T × ops` nodes whose backward costs several small gemms per step and a
//! full-size gradient per slice (`../shared/specs/ecosystem.md` §1.3). Here the
//! backward runs one `B×N · N×N` gemm per step for `∂L/∂h_{t−1}` and a single
//! `N×TB · TB×N` gemm for `∂L/∂W` over all steps at once. The pre-activations
//! are kept from the forward pass for `φ'(a_t)`.
//!
//! Backward, per step from `T−1` down to 0, with `g_t = ∂L/∂h_t` (direct plus
//! carried):
//!
//! ```text
//! ∂L/∂a_t   = clip(g_t · c_t · φ'(a_t), ±clip)     (Theano's grad_clip)
//! g_{t−1}  += (1 − c_t) g_t + ∂L/∂a_t Wᵀ
//! ∂L/∂u_t   = ∂L/∂a_t,     ∂L/∂W = Σ_t h_{t−1}ᵀ ∂L/∂a_t
//! ```

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Shape, Tensor};

use crate::linalg::{Op, Real, matmul};
use crate::nonlinearity::Nonlinearity;

/// Parameters of the fused loop that are not tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct RecurrenceSpec {
    /// The rate nonlinearity φ.
    pub phi: Nonlinearity,
    /// Leak `α = dt/τ` in (0, 1]; 1 means no leak.
    pub alpha: f64,
    /// Elementwise bound on `∂L/∂a_t` in the backward pass (Orhan & Ma: 100).
    pub grad_clip: Option<f64>,
    /// Per-step update flags `[T, B]` (1 update, 0 hold); `None` updates always.
    pub update: Option<Arc<Vec<f32>>>,
}

impl Default for RecurrenceSpec {
    fn default() -> Self {
        Self {
            phi: Nonlinearity::Relu,
            alpha: 1.0,
            grad_clip: None,
            update: None,
        }
    }
}

/// Run the recurrence on `u` `[T, B, N]` with recurrent weights `w` `[N, N]`
/// (pre × post). Returns the rates `h` `[T, B, N]`, differentiable in `u` and `w`.
pub fn recurrence(u: &Tensor, w: &Tensor, spec: &RecurrenceSpec) -> candle_core::Result<Tensor> {
    let (t, b, n) = u.dims3()?;
    let (n1, n2) = w.dims2()?;
    if n1 != n || n2 != n {
        candle_core::bail!(
            "recurrence: w is {n1}×{n2}, expected {n}×{n} for u of shape {t}×{b}×{n}"
        );
    }
    if let Some(m) = &spec.update
        && m.len() != t * b
    {
        candle_core::bail!(
            "recurrence: update flags have {} entries, expected T·B = {}",
            m.len(),
            t * b
        );
    }
    if !(spec.alpha > 0.0 && spec.alpha <= 1.0) {
        candle_core::bail!("recurrence: alpha = {} must be in (0, 1]", spec.alpha);
    }
    let u = u.contiguous()?;
    let w = w.contiguous()?;
    u.apply_op2(
        &w,
        Fused {
            spec: spec.clone(),
            dims: (t, b, n),
            saved: Mutex::new(None),
        },
    )
}

/// Pre-activations kept from the forward pass.
enum Saved {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

struct Fused {
    spec: RecurrenceSpec,
    dims: (usize, usize, usize),
    saved: Mutex<Option<Saved>>,
}

fn contiguous<'a, T>(v: &'a [T], l: &Layout) -> candle_core::Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("recurrence: operand is not contiguous"),
    }
}

impl Fused {
    /// Update coefficient `c = α · m` of trial `b` at step `t`.
    #[inline]
    fn coef(&self, t: usize, b: usize) -> f64 {
        let (_, nb, _) = self.dims;
        let m = self
            .spec
            .update
            .as_ref()
            .map_or(1.0, |m| f64::from(m[t * nb + b]));
        self.spec.alpha * m
    }

    fn forward<T: Real>(&self, u: &[T], w: &[T]) -> (Vec<T>, Vec<T>) {
        let (nt, nb, n) = self.dims;
        let step = nb * n;
        let mut h = vec![T::ZERO; nt * step];
        let mut a = u.to_vec();
        for t in 0..nt {
            let (done, rest) = h.split_at_mut(t * step);
            let h_t = &mut rest[..step];
            let a_t = &mut a[t * step..(t + 1) * step];
            let h_prev = if t > 0 {
                Some(&done[(t - 1) * step..])
            } else {
                None
            };
            if let Some(hp) = h_prev {
                matmul(a_t, hp, Op::N, w, Op::N, nb, n, n, true);
            }
            for b in 0..nb {
                let c = self.coef(t, b);
                let row = b * n..(b + 1) * n;
                for i in row {
                    let prev = h_prev.map_or(0.0, |hp| hp[i].to_f64());
                    let r = self.spec.phi.apply(a_t[i].to_f64());
                    h_t[i] = T::from_f64(prev + c * (r - prev));
                }
            }
        }
        (h, a)
    }

    fn backward<T: Real>(&self, w: &[T], h: &[T], a: &[T], dh: &[T]) -> (Vec<T>, Vec<T>) {
        let (nt, nb, n) = self.dims;
        let step = nb * n;
        let clip = self.spec.grad_clip.unwrap_or(f64::INFINITY);
        let mut da = vec![T::ZERO; nt * step];
        // g holds ∂L/∂h_t: the direct gradient plus what step t+1 carried back.
        let mut g: Vec<T> = dh[(nt - 1) * step..].to_vec();
        for t in (0..nt).rev() {
            let da_t = &mut da[t * step..(t + 1) * step];
            let a_t = &a[t * step..(t + 1) * step];
            let mut carry = vec![T::ZERO; step];
            for b in 0..nb {
                let c = self.coef(t, b);
                for i in b * n..(b + 1) * n {
                    let gi = g[i].to_f64();
                    let d = (gi * c * self.spec.phi.derivative(a_t[i].to_f64())).clamp(-clip, clip);
                    da_t[i] = T::from_f64(d);
                    carry[i] = T::from_f64((1.0 - c) * gi);
                }
            }
            if t == 0 {
                break;
            }
            matmul(&mut carry, da_t, Op::N, w, Op::T, nb, n, n, true);
            for (ci, di) in carry.iter_mut().zip(&dh[(t - 1) * step..t * step]) {
                *ci += *di;
            }
            g = carry;
        }
        // ∂L/∂W = Σ_{t≥1} h_{t−1}ᵀ ∂L/∂a_t: one (N × (T−1)B) · ((T−1)B × N) product.
        let mut dw = vec![T::ZERO; n * n];
        if nt > 1 {
            let rows = (nt - 1) * nb;
            matmul(
                &mut dw,
                &h[..(nt - 1) * step],
                Op::T,
                &da[step..],
                Op::N,
                n,
                n,
                rows,
                false,
            );
        }
        (da, dw)
    }
}

impl CustomOp2 for Fused {
    fn name(&self) -> &'static str {
        "wm-recurrence"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (nt, nb, n) = self.dims;
        let shape = Shape::from((nt, nb, n));
        let mut saved = self
            .saved
            .lock()
            .map_err(|_| candle_core::Error::Msg("recurrence: poisoned state".into()))?;
        match (s1, s2) {
            (CpuStorage::F32(u), CpuStorage::F32(w)) => {
                let (h, a) = self.forward(contiguous(u, l1)?, contiguous(w, l2)?);
                *saved = Some(Saved::F32(a));
                Ok((CpuStorage::F32(h), shape))
            }
            (CpuStorage::F64(u), CpuStorage::F64(w)) => {
                let (h, a) = self.forward(contiguous(u, l1)?, contiguous(w, l2)?);
                *saved = Some(Saved::F64(a));
                Ok((CpuStorage::F64(h), shape))
            }
            _ => candle_core::bail!("recurrence: u and w must both be f32 or both f64"),
        }
    }

    fn bwd(
        &self,
        _u: &Tensor,
        w: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (nt, nb, n) = self.dims;
        let saved = self
            .saved
            .lock()
            .map_err(|_| candle_core::Error::Msg("recurrence: poisoned state".into()))?;
        let dev = w.device();
        let (du, dw) = match saved.as_ref() {
            Some(Saved::F32(a)) => {
                let (du, dw) = self.backward::<f32>(
                    &w.flatten_all()?.to_vec1()?,
                    &res.flatten_all()?.to_vec1()?,
                    a,
                    &grad_res.flatten_all()?.to_vec1()?,
                );
                (
                    Tensor::from_vec(du, (nt, nb, n), dev)?,
                    Tensor::from_vec(dw, (n, n), dev)?,
                )
            }
            Some(Saved::F64(a)) => {
                let (du, dw) = self.backward::<f64>(
                    &w.flatten_all()?.to_vec1()?,
                    &res.flatten_all()?.to_vec1()?,
                    a,
                    &grad_res.flatten_all()?.to_vec1()?,
                );
                (
                    Tensor::from_vec(du, (nt, nb, n), dev)?,
                    Tensor::from_vec(dw, (n, n), dev)?,
                )
            }
            None => candle_core::bail!("recurrence: backward before forward"),
        };
        Ok((Some(du), Some(dw)))
    }
}

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
