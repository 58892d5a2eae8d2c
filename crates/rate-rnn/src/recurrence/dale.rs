//! The recurrent loop of the Dale's-law network ([`crate::dale`]) as one
//! fused candle op with a hand-written BPTT backward.
//!
//! For every trial (row-vector convention, `W` is pre × post):
//!
//! ```text
//! z_t = u_t + r_{t−1} W                         (r_{−1} = σ(x₀))
//! x_t = x_{t−1} + α ⊙ (z_t − x_{t−1}) + ξ_t     (x_{−1} = x₀)
//! r_t = σ(x_t)
//! ```
//!
//! with a leak `α = Δt/τ` per unit (trained through τ), a fixed drive `u_t`
//! (the input projection; `W_in` is not trained) and the noise ξ_t added
//! outside the α factor, as Kim et al.'s code does.
//!
//! Why fused: Kim et al. train on single trials, so every per-step candle op
//! works on a 1 × 200 row and costs its dispatch and graph node, several per
//! step in each direction over ~500 steps. Here a step is one small gemm
//! each way, and `∂L/∂W` one gemm over all steps.
//!
//! Backward, from `T−1` down to 0, with `g_t = ∂L/∂r_t` (direct plus the
//! part carried from step t+1) and `d_t = z_t − x_{t−1}` kept from the
//! forward pass:
//!
//! ```text
//! ∂L/∂x_t = g_t ⊙ σ′(x_t) + (1 − α) ⊙ ∂L/∂x_{t+1}
//! ∂L/∂z_t = α ⊙ ∂L/∂x_t,       g_{t−1} += ∂L/∂z_t Wᵀ
//! ∂L/∂W   = Σ_t r_{t−1}ᵀ ∂L/∂z_t,   ∂L/∂α = Σ_{t,b} ∂L/∂x_t ⊙ d_t
//! ```

use std::sync::Mutex;

use candle_core::{CpuStorage, Layout, Shape, Tensor};

use crate::linalg::{Op, PackedRhs, Real, matmul};
use crate::recurrence::{AsCustomOp, FusedOp, Gradients, Operands, with_slice};

/// Run the loop on the drive `u` `[T, B, N]` with recurrent weights `w`
/// `[N, N]` (pre × post) and leaks `alpha` `[N]`, from the state `x0`
/// `[B, N]` with per-step noise `xi` `[T, B, N]` (both optional: zero).
/// Returns the rates `r` `[T, B, N]`, differentiable in `w` and `alpha`
/// (not in `u`, `x0` or `xi`).
pub fn dale_recurrence(
    u: &Tensor,
    w: &Tensor,
    alpha: &Tensor,
    x0: Option<&Tensor>,
    xi: Option<&Tensor>,
) -> candle_core::Result<Tensor> {
    let (t, b, n) = u.dims3()?;
    if w.dims() != [n, n] || alpha.dims() != [n] {
        candle_core::bail!(
            "dale recurrence: w is {:?} and alpha {:?}, expected [{n}, {n}] and [{n}] for a drive of shape {:?}",
            w.dims(),
            alpha.dims(),
            u.dims()
        );
    }
    let check = |x: Option<&Tensor>, dims: &[usize], what: &str| -> candle_core::Result<_> {
        match x {
            Some(x) if x.dims() != dims => candle_core::bail!(
                "dale recurrence: {what} has shape {:?}, expected {dims:?}",
                x.dims()
            ),
            Some(x) => Ok(Some(x.to_dtype(u.dtype())?.contiguous()?.detach())),
            None => Ok(None),
        }
    };
    let op = DaleLoop {
        dims: (t, b, n),
        x0: check(x0, &[b, n], "x0")?,
        xi: check(xi, &[t, b, n], "the noise")?,
        saved: Mutex::new(None),
    };
    u.detach()
        .contiguous()?
        .apply_op3(&w.contiguous()?, &alpha.contiguous()?, AsCustomOp(op))
}

/// σ′(x_t) and d_t = z_t − x_{t−1} from the forward pass, `[T, B, N]` each.
enum Saved {
    F32 { slope: Vec<f32>, d: Vec<f32> },
    F64 { slope: Vec<f64>, d: Vec<f64> },
}

struct DaleLoop {
    dims: (usize, usize, usize),
    x0: Option<Tensor>,
    xi: Option<Tensor>,
    saved: Mutex<Option<Saved>>,
}

/// A tensor's elements, or zeros of length `len` when absent.
fn values_or_zero<T: Real + candle_core::WithDType>(
    t: &Option<Tensor>,
    len: usize,
) -> candle_core::Result<Vec<T>> {
    match t {
        Some(t) => with_slice::<T, _>(t, |v| Ok(v.to_vec())),
        None => Ok(vec![T::ZERO; len]),
    }
}

impl DaleLoop {
    /// Rates `r`, plus σ′(x_t) and d_t for the backward pass. The noise is
    /// read in place (no copy of the `[T, B, N]` tensor).
    #[allow(clippy::type_complexity)]
    fn forward<T: Real + candle_core::WithDType>(
        &self,
        u: &[T],
        w: &[T],
        alpha: &[T],
    ) -> candle_core::Result<(Vec<T>, Vec<T>, Vec<T>)> {
        match &self.xi {
            Some(t) => with_slice::<T, _>(t, |xi| self.run(u, w, alpha, Some(xi))),
            None => self.run(u, w, alpha, None),
        }
    }

    /// [`DaleLoop::forward`] with the noise `xi` `[T, B, N]` (or none).
    #[allow(clippy::type_complexity)]
    fn run<T: Real + candle_core::WithDType>(
        &self,
        u: &[T],
        w: &[T],
        alpha: &[T],
        xi: Option<&[T]>,
    ) -> candle_core::Result<(Vec<T>, Vec<T>, Vec<T>)> {
        let (nt, nb, n) = self.dims;
        let step = nb * n;
        let mut x = values_or_zero::<T>(&self.x0, step)?;
        let no_noise = vec![T::ZERO; step];
        let mut r_prev = vec![T::ZERO; step];
        for (r, &v) in r_prev.iter_mut().zip(&x) {
            *r = v.sigmoid_and_slope().0;
        }
        let mut rates = vec![T::ZERO; nt * step];
        let mut slope = vec![T::ZERO; nt * step];
        let mut d = u.to_vec();
        let w = PackedRhs::new(w, Op::N, n, n);
        for t in 0..nt {
            let span = t * step..(t + 1) * step;
            let (done, rest) = rates.split_at_mut(t * step);
            let prev: &[T] = if t == 0 {
                &r_prev
            } else {
                &done[(t - 1) * step..]
            };
            // d_t ← u_t + r_{t−1} W − x_{t−1}
            let d_t = &mut d[span.clone()];
            w.matmul_acc(d_t, prev, nb);
            let r_t = &mut rest[..step];
            let s_t = &mut slope[span.clone()];
            let xi_t = xi.map_or(no_noise.as_slice(), |v| &v[span.clone()]);
            for b in 0..nb {
                let row = b * n..(b + 1) * n;
                for (((((di, xv), &ni), &a), ri), si) in d_t[row.clone()]
                    .iter_mut()
                    .zip(&mut x[row.clone()])
                    .zip(&xi_t[row.clone()])
                    .zip(alpha)
                    .zip(&mut r_t[row.clone()])
                    .zip(&mut s_t[row])
                {
                    *di -= *xv;
                    *xv += a * *di + ni;
                    (*ri, *si) = xv.sigmoid_and_slope();
                }
            }
        }
        Ok((rates, slope, d))
    }

    /// `(∂L/∂W, ∂L/∂α)` from the rates, the saved values and `∂L/∂r`.
    fn backward<T: Real + candle_core::WithDType>(
        &self,
        w: &[T],
        alpha: &[T],
        rates: &[T],
        slope: &[T],
        d: &[T],
        dr: &[T],
    ) -> candle_core::Result<(Vec<T>, Vec<T>)> {
        let (nt, nb, n) = self.dims;
        let step = nb * n;
        let mut dz = vec![T::ZERO; nt * step];
        let mut dalpha = vec![T::ZERO; n];
        let mut gx = vec![T::ZERO; step]; // ∂L/∂x_{t+1}, then ∂L/∂x_t
        let mut g: Vec<T> = dr[(nt - 1) * step..].to_vec(); // ∂L/∂r_t
        let w_t = PackedRhs::new(w, Op::T, n, n);
        for t in (0..nt).rev() {
            let span = t * step..(t + 1) * step;
            let dz_t = &mut dz[span.clone()];
            for b in 0..nb {
                let row = b * n..(b + 1) * n;
                for (((((gxi, &gi), &si), &di), &a), (dzi, da)) in gx[row.clone()]
                    .iter_mut()
                    .zip(&g[row.clone()])
                    .zip(&slope[t * step + b * n..t * step + (b + 1) * n])
                    .zip(&d[t * step + b * n..t * step + (b + 1) * n])
                    .zip(alpha)
                    .zip(dz_t[row].iter_mut().zip(dalpha.iter_mut()))
                {
                    let v = gi * si + (T::ONE - a) * *gxi;
                    *gxi = v;
                    *dzi = a * v;
                    *da += v * di;
                }
            }
            if t == 0 {
                break;
            }
            g.copy_from_slice(&dr[(t - 1) * step..t * step]);
            w_t.matmul_acc(&mut g, dz_t, nb);
        }
        // ∂L/∂W = σ(x₀)ᵀ ∂L/∂z_0 + Σ_{t≥1} r_{t−1}ᵀ ∂L/∂z_t.
        let x0 = values_or_zero::<T>(&self.x0, step)?;
        let r_init: Vec<T> = x0.iter().map(|v| v.sigmoid_and_slope().0).collect();
        let mut dw = vec![T::ZERO; n * n];
        matmul(&mut dw, &r_init, Op::T, &dz[..step], Op::N, n, n, nb, false);
        if nt > 1 {
            let rows = (nt - 1) * nb;
            matmul(
                &mut dw,
                &rates[..(nt - 1) * step],
                Op::T,
                &dz[step..],
                Op::N,
                n,
                n,
                rows,
                true,
            );
        }
        Ok((dw, dalpha))
    }

    fn bwd_typed<T: Real + candle_core::WithDType>(
        &self,
        slope: &[T],
        d: &[T],
        w: &Tensor,
        alpha: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let n = self.dims.2;
        let grad_res = grad_res.contiguous()?;
        let (dw, da) = with_slice::<T, _>(w, |w| {
            with_slice::<T, _>(alpha, |a| {
                with_slice::<T, _>(res, |r| {
                    with_slice::<T, _>(&grad_res, |dr| self.backward(w, a, r, slope, d, dr))
                })
            })
        })?;
        let dev = w.device();
        Ok((
            Tensor::from_vec(dw, (n, n), dev)?,
            Tensor::from_vec(da, n, dev)?,
        ))
    }
}

impl FusedOp for DaleLoop {
    fn name(&self) -> &'static str {
        "wm-dale-recurrence"
    }

    fn fwd(&self, operands: Operands<'_>, _: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let mut saved = self
            .saved
            .lock()
            .map_err(|_| candle_core::Error::Msg("dale recurrence: poisoned state".into()))?;
        let r = match operands {
            Operands::F32([u, w, a]) => {
                let (r, slope, d) = self.forward(u, w, a)?;
                *saved = Some(Saved::F32 { slope, d });
                CpuStorage::F32(r)
            }
            Operands::F64([u, w, a]) => {
                let (r, slope, d) = self.forward(u, w, a)?;
                *saved = Some(Saved::F64 { slope, d });
                CpuStorage::F64(r)
            }
        };
        Ok((r, Shape::from(self.dims)))
    }

    fn bwd(
        &self,
        [_u, w, alpha]: [&Tensor; 3],
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Gradients> {
        let saved = self
            .saved
            .lock()
            .map_err(|_| candle_core::Error::Msg("dale recurrence: poisoned state".into()))?;
        let (dw, da) = match saved.as_ref() {
            Some(Saved::F32 { slope, d }) => {
                self.bwd_typed::<f32>(slope, d, w, alpha, res, grad_res)?
            }
            Some(Saved::F64 { slope, d }) => {
                self.bwd_typed::<f64>(slope, d, w, alpha, res, grad_res)?
            }
            None => candle_core::bail!("dale recurrence: backward before forward"),
        };
        Ok((None, Some(dw), Some(da)))
    }
}
