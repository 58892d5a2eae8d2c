//! The linear read-out (and the rate power of the activity penalty) as one
//! op over the rates.

use candle_core::{CpuStorage, Layout, Shape, Tensor};

use super::{AsCustomOp, FusedOp, Gradients, Operands, with_slice};
use crate::linalg::{Op, Real, matmul};

/// Linear read-out `y = h W + b` of rates `h` `[T, B, N]` with `w` `[N, O]` and
/// `b` `[O]`, returning `[T, B, O]`. A hand-written op because read-outs have
/// few outputs (O = 1 or 2), where general gemm kernels are slow in both
/// directions; here each pass is one sweep over `h`.
pub fn readout(h: &Tensor, w: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    Ok(apply_readout(h, w, b, false)?.0)
}

/// [`readout`] plus the rate power `Σₙ h²` of every step and trial `[T, B]`
/// from the same sweep over `h`, both differentiable.
///
/// Why: the activity penalty needs `h²`; taken from a slice of `h` with
/// candle it is a second gradient path into the `[T, B, N]` rates, which
/// candle's backward pads with zeros, concatenates and adds (three
/// full-size passes). Here the read-out's backward adds `2 g_p h` itself.
pub fn readout_with_power(
    h: &Tensor,
    w: &Tensor,
    b: &Tensor,
) -> candle_core::Result<(Tensor, Tensor)> {
    let (y, o) = apply_readout(h, w, b, true)?;
    Ok((y.narrow(2, 0, o)?, y.narrow(2, o, 1)?.squeeze(2)?))
}

/// Check the shapes and run the [`Readout`] op; returns its output and O.
fn apply_readout(
    h: &Tensor,
    w: &Tensor,
    b: &Tensor,
    power: bool,
) -> candle_core::Result<(Tensor, usize)> {
    let (nt, nb, n) = h.dims3()?;
    let (n1, o) = w.dims2()?;
    if n1 != n || b.dims() != [o] {
        candle_core::bail!(
            "readout: w is {:?} and b {:?}, expected [{n}, O] and [O] for rates of shape {:?}",
            w.dims(),
            b.dims(),
            h.dims()
        );
    }
    let op = Readout {
        rows: nt * nb,
        n,
        o,
        power,
    };
    let y = h
        .contiguous()?
        .apply_op3(&w.contiguous()?, &b.contiguous()?, AsCustomOp(op))?;
    Ok((y, o))
}

struct Readout {
    rows: usize,
    n: usize,
    o: usize,
    /// Append the channel Σₙ h² to every row of the output.
    power: bool,
}

impl Readout {
    /// Output columns per row.
    fn width(&self) -> usize {
        self.o + usize::from(self.power)
    }

    /// y = h w + b, one `[rows, N] · [N, O]` product (and Σₙ h² per row).
    fn forward<T: Real>(&self, h: &[T], w: &[T], b: &[T]) -> Vec<T> {
        let (n, o) = (self.n, self.o);
        let mut y: Vec<T> = b.iter().copied().cycle().take(self.rows * o).collect();
        matmul(&mut y, h, Op::N, w, Op::N, self.rows, o, n, true);
        if !self.power {
            return y;
        }
        let mut out = Vec::with_capacity(self.rows * (o + 1));
        for (yr, hr) in y.chunks_exact(o).zip(h.chunks_exact(n)) {
            out.extend_from_slice(yr);
            let mut p = T::ZERO;
            for &x in hr {
                p += x * x;
            }
            out.push(p);
        }
        out
    }

    /// (∂L/∂h, ∂L/∂w, ∂L/∂b) = (g wᵀ + 2 g_p h, hᵀ g, column sums of g),
    /// where `g_p` is the power channel's gradient (if any).
    fn backward<T: Real>(&self, h: &[T], w: &[T], g_all: &[T]) -> (Vec<T>, Vec<T>, Vec<T>) {
        let (n, o) = (self.n, self.o);
        let width = self.width();
        let g: std::borrow::Cow<[T]> = if self.power {
            let mut g = Vec::with_capacity(self.rows * o);
            for r in g_all.chunks_exact(width) {
                g.extend_from_slice(&r[..o]);
            }
            g.into()
        } else {
            g_all.into()
        };
        let mut dh = vec![T::ZERO; self.rows * n];
        matmul(&mut dh, &g, Op::N, w, Op::T, self.rows, n, o, false);
        if self.power {
            let two = T::from_f64(2.0);
            for ((dr, hr), gr) in dh
                .chunks_exact_mut(n)
                .zip(h.chunks_exact(n))
                .zip(g_all.chunks_exact(width))
            {
                let gp = two * gr[o];
                for (d, &x) in dr.iter_mut().zip(hr) {
                    *d += gp * x;
                }
            }
        }
        let mut dw = vec![T::ZERO; n * o];
        matmul(&mut dw, h, Op::T, &g, Op::N, n, o, self.rows, false);
        let mut db = vec![T::ZERO; o];
        for grow in g.chunks_exact(o) {
            for (d, &gk) in db.iter_mut().zip(grow) {
                *d += gk;
            }
        }
        (dh, dw, db)
    }
}

impl FusedOp for Readout {
    fn name(&self) -> &'static str {
        "wm-readout"
    }

    fn fwd(
        &self,
        operands: Operands<'_>,
        first: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let mut dims = first.dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = self.width();
        }
        let out = match operands {
            Operands::F32([h, w, b]) => CpuStorage::F32(self.forward(h, w, b)),
            Operands::F64([h, w, b]) => CpuStorage::F64(self.forward(h, w, b)),
        };
        Ok((out, Shape::from(dims)))
    }

    fn bwd(
        &self,
        [h, w, b]: [&Tensor; 3],
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Gradients> {
        let g = grad_res.contiguous()?;
        let dev = h.device();
        let (dh, dw, db) = match h.dtype() {
            candle_core::DType::F32 => {
                let (dh, dw, db) = with_slice::<f32, _>(h, |h| {
                    with_slice::<f32, _>(w, |w| {
                        with_slice::<f32, _>(&g, |g| Ok(self.backward(h, w, g)))
                    })
                })?;
                (
                    Tensor::from_vec(dh, h.shape(), dev)?,
                    Tensor::from_vec(dw, w.shape(), dev)?,
                    Tensor::from_vec(db, b.shape(), dev)?,
                )
            }
            candle_core::DType::F64 => {
                let (dh, dw, db) = with_slice::<f64, _>(h, |h| {
                    with_slice::<f64, _>(w, |w| {
                        with_slice::<f64, _>(&g, |g| Ok(self.backward(h, w, g)))
                    })
                })?;
                (
                    Tensor::from_vec(dh, h.shape(), dev)?,
                    Tensor::from_vec(dw, w.shape(), dev)?,
                    Tensor::from_vec(db, b.shape(), dev)?,
                )
            }
            other => candle_core::bail!("readout: unsupported dtype {other:?}"),
        };
        Ok((Some(dh), Some(dw), Some(db)))
    }
}
