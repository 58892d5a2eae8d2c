//! The recurrence and its linear read-out as one op: the loss's gradient
//! reaches the rates only inside the backward loop, one step at a time.
//!
//! Why: as two candle ops the rates' gradient is a `[T, B, N]` tensor, and
//! candle's backward accumulates it into a fresh zero tensor with one more
//! full-size add (three 10-MB buffers per step at N = 500, B = 50, T = 100).
//! Here `∂L/∂h_t = ∂L/∂y_t W_outᵀ + 2 (∂L/∂p_t) h_t` is formed for one step
//! at a time where the recurrence's backward needs it, and the read-out
//! `y_t = h_t W_out + b_out` and the rate power `p_t = Σₙ h_t²` are taken
//! while `h_t` is in cache.

use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, Device, Layout, Shape, Tensor};

use super::{
    AsCustomOp, Fused, FusedOp, Gradients, InputGradient, Kept, Operands, RecurrenceSpec, Saved,
    StepDrive, poisoned, with_slice,
};
use crate::linalg::Real;

/// What [`recurrence_with_readout`] returns.
#[derive(Debug, Clone)]
pub struct RecurrentReadout {
    /// Rates `[T, B, N]`. Not differentiable: the gradient reaches the
    /// weights through `readout` and `rate_power`.
    pub rates: Tensor,
    /// `h W_out + b_out`, `[T, B, O]`, differentiable.
    pub readout: Tensor,
    /// `Σₙ h²` per step and trial, `[T, B]`, differentiable.
    pub rate_power: Tensor,
}

/// [`super::recurrence_from_input`] followed by [`super::readout_with_power`]
/// as one op (same values): `w_out` `[N, O]`, `b_out` `[O]`. Differentiable
/// in `w_in`, `bias`, `w`, `w_out` and `b_out`.
#[allow(clippy::too_many_arguments)]
pub fn recurrence_with_readout(
    x: &Tensor,
    w_in: &Tensor,
    bias: &Tensor,
    w: &Tensor,
    extra: Option<&Tensor>,
    w_out: &Tensor,
    b_out: &Tensor,
    spec: &RecurrenceSpec,
) -> candle_core::Result<RecurrentReadout> {
    let (w_aug, drive, dims) = super::projected(x, w_in, bias, w, extra)?;
    let (n1, o) = w_out.dims2()?;
    if n1 != dims.2 || b_out.dims() != [o] {
        candle_core::bail!(
            "readout: w_out is {:?} and b_out {:?}, expected [{}, O] and [O]",
            w_out.dims(),
            b_out.dims(),
            dims.2
        );
    }
    // w_out and b_out travel as one [N + 1, O] operand (bias last).
    let out_aug = Tensor::cat(&[w_out, &b_out.unsqueeze(0)?], 0)?.contiguous()?;
    let rates = Arc::new(Mutex::new(None));
    let op = WithReadout {
        core: Fused::new(spec, dims, drive)?,
        x: x.contiguous()?,
        n_in: x.dim(2)?,
        o,
        rates: Arc::clone(&rates),
    };
    let y = w
        .contiguous()?
        .apply_op3(&w_aug, &out_aug, AsCustomOp(op))?;
    let rates =
        rates.lock().map_err(poisoned)?.clone().ok_or_else(|| {
            candle_core::Error::Msg("recurrence: forward pass did not run".into())
        })?;
    // Channel-major output: both parts are narrowed along the first
    // dimension, so candle's backward of each narrow is one contiguous copy,
    // not one small copy per step and trial.
    let (nt, nb, _) = dims;
    let readout = y.narrow(0, 0, o)?;
    let readout = if o == 1 {
        readout.reshape((nt, nb, 1))?
    } else {
        readout.permute((1, 2, 0))?.contiguous()?
    };
    Ok(RecurrentReadout {
        rates,
        readout,
        rate_power: y.narrow(0, o, 1)?.squeeze(0)?,
    })
}

/// Operands `(W, [w_in; bias], [w_out; b_out])`; output `[O + 1, T, B]`
/// (the read-outs, then the rate power).
struct WithReadout {
    core: Fused,
    /// Inputs `[T, B, I]` (not differentiated).
    x: Tensor,
    /// Input channels `I`.
    n_in: usize,
    o: usize,
    /// The rates, shared with the caller and kept for the backward pass.
    rates: Arc<Mutex<Option<Tensor>>>,
}

/// `Σᵢ aᵢ bᵢ` over sixteen interleaved partial sums: with AVX2, two
/// independent vector chains.
///
/// The shape is what LLVM vectorises: taking two sums in one sweep, or
/// reducing the partial sums pairwise, leaves it scalar code (checked in
/// the emitted assembly). The final sequential sum's latency overlaps the
/// next row's sweep.
#[inline(always)]
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    const W: usize = 16;
    let (ca, ra) = a.as_chunks::<W>();
    let (cb, rb) = b.as_chunks::<W>();
    let mut acc = [T::ZERO; W];
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..W {
            acc[i] += x[i] * y[i];
        }
    }
    let mut total = acc.iter().fold(T::ZERO, |s, &v| s + v);
    for (&u, &v) in ra.iter().zip(rb) {
        total += u * v;
    }
    total
}

/// One step's read-out and rate power: for each trial's rates `h_t[b]`,
/// `y_t[b] = (h w_out + b_out, Σ h²)` (`O + 1` values). Compiled twice
/// (baseline x86-64 and AVX2), as the products are.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn readout_step<T: Real>(h_t: &[T], y_t: &mut [T], cols: &[Vec<T>], b_out: &[T], n: usize) {
    let o = cols.len();
    for (hr, yr) in h_t.chunks_exact(n).zip(y_t.chunks_exact_mut(o + 1)) {
        for ((yk, col), &bk) in yr.iter_mut().zip(cols).zip(b_out) {
            *yk = bk + dot(hr, col);
        }
        yr[o] = dot(hr, hr);
    }
}

/// One step's direct gradient and read-out weight gradient: for each trial,
/// `g += 2 dp h + Σ_k dy_k w_out[:, k]` and `d_cols[k] += dy_k h`,
/// `d_bias[k] += dy_k`, with `dy_t[b] = (∂L/∂y, ∂L/∂p)` (`O + 1` values).
/// Taken while `h_t` is in cache, it replaces a separate `hᵀ dy` product
/// over all steps. Compiled twice (baseline x86-64 and AVX2).
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn direct_step<T: Real>(
    g: &mut [T],
    h_t: &[T],
    dy_t: &[T],
    cols: &[Vec<T>],
    d_cols: &mut [Vec<T>],
    d_bias: &mut [T],
    n: usize,
) {
    let o = cols.len();
    let two = T::ONE + T::ONE;
    for ((gr, hr), dr) in g
        .chunks_exact_mut(n)
        .zip(h_t.chunks_exact(n))
        .zip(dy_t.chunks_exact(o + 1))
    {
        let dp = two * dr[o];
        if let ([col], [d_col], [dk]) = (cols, &mut *d_cols, &dr[..o]) {
            // One read-out (the common case): a single sweep.
            let dk = *dk;
            for (((gi, &hi), &wi), di) in gr.iter_mut().zip(hr).zip(col).zip(d_col.iter_mut()) {
                *gi += dp * hi + dk * wi;
                *di += dk * hi;
            }
        } else {
            for (gi, &hi) in gr.iter_mut().zip(hr) {
                *gi += dp * hi;
            }
            for ((&dk, col), d_col) in dr[..o].iter().zip(cols).zip(d_cols.iter_mut()) {
                for ((gi, &wi), (di, &hi)) in gr.iter_mut().zip(col).zip(d_col.iter_mut().zip(hr)) {
                    *gi += dk * wi;
                    *di += dk * hi;
                }
            }
        }
        for (b, &dk) in d_bias.iter_mut().zip(&dr[..o]) {
            *b += dk;
        }
    }
}

impl WithReadout {
    /// The rates `[T, B, N]`, the output `[O + 1, T, B]` and what the
    /// backward pass keeps.
    fn forward<T: Real>(
        &self,
        drive: StepDrive<'_, T>,
        w: &[T],
        out_aug: &[T],
    ) -> (Vec<T>, Vec<T>, Kept<T>) {
        let (nt, nb, n) = self.core.dims;
        let o = self.o;
        let (w_out, b_out) = out_aug.split_at(n * o);
        // Columns of w_out as rows, so each output is a contiguous dot product.
        let cols: Vec<Vec<T>> = (0..o)
            .map(|k| (0..n).map(|j| w_out[j * o + k]).collect())
            .collect();
        let mut y = vec![T::ZERO; (o + 1) * nt * nb];
        // One step's outputs trial by trial, `[B, O + 1]`.
        let mut y_t = vec![T::ZERO; nb * (o + 1)];
        let (h, kept) = self.core.forward(drive, w, |t, h_t| {
            readout_step(h_t, &mut y_t, &cols, b_out, n);
            for (b, yb) in y_t.chunks_exact(o + 1).enumerate() {
                for (k, &v) in yb.iter().enumerate() {
                    y[(k * nt + t) * nb + b] = v;
                }
            }
        });
        (h, y, kept)
    }

    /// `(∂L/∂W, ∂L/∂[w_in; bias], ∂L/∂[w_out; b_out])` from `dy` `[O + 1, T, B]`.
    fn backward<T: Real + candle_core::WithDType>(
        &self,
        kept: Kept<T>,
        w: &[T],
        out_aug: &[T],
        h: &[T],
        dy: &[T],
    ) -> candle_core::Result<(Vec<T>, Vec<T>, Vec<T>)> {
        let (nt, nb, n) = self.core.dims;
        let o = self.o;
        let w_out = &out_aug[..n * o];
        // Columns of w_out as rows, so each term below is a contiguous axpy.
        let cols: Vec<Vec<T>> = (0..o)
            .map(|k| (0..n).map(|j| w_out[j * o + k]).collect())
            .collect();
        // ∂L/∂h_t = dy_t w_outᵀ + 2 dp_t h_t, and ∂L/∂[w_out; b_out] summed
        // over the same sweep.
        let mut d_cols = vec![vec![T::ZERO; n]; o];
        let mut d_bias = vec![T::ZERO; o];
        // One step's output gradients trial by trial, `[B, O + 1]`.
        let mut dy_t = vec![T::ZERO; nb * (o + 1)];
        let add_direct = |t: usize, g: &mut [T]| {
            for (b, db) in dy_t.chunks_exact_mut(o + 1).enumerate() {
                for (k, v) in db.iter_mut().enumerate() {
                    *v = dy[(k * nt + t) * nb + b];
                }
            }
            let h_t = &h[t * nb * n..(t + 1) * nb * n];
            direct_step(g, h_t, &dy_t, &cols, &mut d_cols, &mut d_bias, n);
        };
        let mut d_in = InputGradient::new(kept.sparse_x.as_ref(), self.n_in, n);
        let (du, dw, dbias) = self.core.backward(w, h, kept.slope, add_direct, |t, du_t| {
            d_in.add_step(t, du_t)
        });
        let d_in = with_slice::<T, _>(&self.x, |x| Ok(d_in.finish(x, &du, &dbias)))?;
        // [w_out; b_out] is [N + 1, O] row-major.
        let mut d_out = vec![T::ZERO; (n + 1) * o];
        for (k, d_col) in d_cols.iter().enumerate() {
            for (j, &v) in d_col.iter().enumerate() {
                d_out[j * o + k] = v;
            }
        }
        d_out[n * o..].copy_from_slice(&d_bias);
        Ok((dw, d_in, d_out))
    }

    fn fwd_typed<T: Real + candle_core::WithDType>(
        &self,
        w: &[T],
        w_aug: &[T],
        out_aug: &[T],
        wrap: fn(Kept<T>) -> Saved,
    ) -> candle_core::Result<Vec<T>> {
        let (nt, nb, n) = self.core.dims;
        let (h, y, kept) = with_slice::<T, _>(&self.x, |x| {
            Ok(self.forward(self.core.drive(x, w_aug)?, w, out_aug))
        })?;
        *self.core.saved.lock().map_err(poisoned)? = Some(wrap(kept));
        *self.rates.lock().map_err(poisoned)? =
            Some(Tensor::from_vec(h, (nt, nb, n), &Device::Cpu)?);
        Ok(y)
    }

    fn bwd_typed<T: Real + candle_core::WithDType>(
        &self,
        kept: Kept<T>,
        w: &Tensor,
        out_aug: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let (_, _, n) = self.core.dims;
        let rates = self
            .rates
            .lock()
            .map_err(poisoned)?
            .clone()
            .ok_or_else(|| candle_core::Error::Msg("recurrence: no saved rates".into()))?;
        let dy = grad_res.contiguous()?;
        let (dw, d_in, d_out) = with_slice::<T, _>(w, |w| {
            with_slice::<T, _>(out_aug, |oa| {
                with_slice::<T, _>(&rates, |h| {
                    with_slice::<T, _>(&dy, |dy| self.backward(kept, w, oa, h, dy))
                })
            })
        })?;
        let dev = w.device();
        Ok((
            Tensor::from_vec(dw, (n, n), dev)?,
            Tensor::from_vec(d_in, (self.n_in + 1, n), dev)?,
            Tensor::from_vec(d_out, (n + 1, self.o), dev)?,
        ))
    }
}

impl FusedOp for WithReadout {
    fn name(&self) -> &'static str {
        "wm-recurrence-readout"
    }

    fn fwd(&self, operands: Operands<'_>, _: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let (nt, nb, _) = self.core.dims;
        let out = match operands {
            Operands::F32([w, wa, oa]) => CpuStorage::F32(self.fwd_typed(w, wa, oa, Saved::F32)?),
            Operands::F64([w, wa, oa]) => CpuStorage::F64(self.fwd_typed(w, wa, oa, Saved::F64)?),
        };
        Ok((out, Shape::from((self.o + 1, nt, nb))))
    }

    fn bwd(
        &self,
        [w, _w_aug, out_aug]: [&Tensor; 3],
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Gradients> {
        // The slopes are taken, not copied: their buffer becomes ∂L/∂u.
        let saved = self.core.saved.lock().map_err(poisoned)?.take();
        let (dw, d_in, d_out) = match saved {
            Some(Saved::F32(s)) => self.bwd_typed::<f32>(s, w, out_aug, grad_res)?,
            Some(Saved::F64(s)) => self.bwd_typed::<f64>(s, w, out_aug, grad_res)?,
            None => candle_core::bail!(
                "recurrence: backward without a forward pass (each forward pass supports one backward pass)"
            ),
        };
        Ok((Some(dw), Some(d_in), Some(d_out)))
    }
}
