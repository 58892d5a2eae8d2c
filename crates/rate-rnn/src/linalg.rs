//! Dense row-major matrix products on plain slices, through the `gemm` crate
//! (the same kernels candle's CPU backend calls), single-threaded.
//!
//! Training runs one network per core, so every product here uses
//! `Parallelism::None`; a second thread per network was measured slower on
//! the 2-core development machine.

/// A floating-point element the fused kernels run on (`f32` or `f64`).
pub trait Real:
    Copy
    + Send
    + Sync
    + 'static
    + PartialOrd
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::AddAssign
    + std::ops::SubAssign
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Conversion from `f64` (rounding for `f32`).
    fn from_f64(v: f64) -> Self;
    /// Conversion to `f64` (exact).
    fn to_f64(self) -> f64;
    /// `self · a + b` with one rounding (a fused multiply–add).
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// √self.
    fn sqrt(self) -> Self;
    /// `self` bounded to `[lo, hi]` (NaN stays NaN).
    fn clamp(self, lo: Self, hi: Self) -> Self;
    /// (softplus(x), softplus′(x)) = (ln(1 + eˣ), σ(x)).
    fn softplus_and_slope(self) -> (Self, Self);
    /// (σ(x), σ′(x)) for the logistic σ(x) = 1/(1 + e⁻ˣ).
    fn sigmoid_and_slope(self) -> (Self, Self);
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f32::mul_add(self, a, b)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn clamp(self, lo: Self, hi: Self) -> Self {
        f32::clamp(self, lo, hi)
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn softplus_and_slope(self) -> (Self, Self) {
        crate::fastmath::softplus_and_slope_f32(self)
    }
    #[inline(always)]
    fn sigmoid_and_slope(self) -> (Self, Self) {
        crate::fastmath::sigmoid_and_slope_f32(self)
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f64::mul_add(self, a, b)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn clamp(self, lo: Self, hi: Self) -> Self {
        f64::clamp(self, lo, hi)
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    /// libm in f64: the reference precision of the gradient checks.
    fn softplus_and_slope(self) -> (Self, Self) {
        let f = crate::nonlinearity::Nonlinearity::Softplus;
        (f.apply(self), f.derivative(self))
    }
    fn sigmoid_and_slope(self) -> (Self, Self) {
        let f = crate::nonlinearity::Nonlinearity::Sigmoid;
        (f.apply(self), f.derivative(self))
    }
}

mod active;
mod packed;
mod sparse;

pub use active::ActiveColumns;
pub use packed::PackedRhs;
pub use sparse::{MAX_DENSITY, SparseRows};

/// How an operand of [`matmul`] is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// As is: an `r × c` operand stored row-major as `r × c`.
    N,
    /// Transposed: an `r × c` operand stored row-major as `c × r`.
    T,
}

/// `c ← (accumulate ? c : 0) + op(a) · op(b)`, where `op(a)` is `m × k`,
/// `op(b)` is `k × n` and `c` is `m × n`, all row-major.
///
/// # Panics
/// If a slice's length does not match its dimensions (a programming error
/// inside this crate, never a user input).
#[allow(clippy::too_many_arguments)]
pub fn matmul<T: Real>(
    c: &mut [T],
    a: &[T],
    op_a: Op,
    b: &[T],
    op_b: Op,
    m: usize,
    n: usize,
    k: usize,
    accumulate: bool,
) {
    assert_eq!(c.len(), m * n, "matmul: c is not {m}×{n}");
    assert_eq!(a.len(), m * k, "matmul: a is not {m}×{k}");
    assert_eq!(b.len(), k * n, "matmul: b is not {k}×{n}");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(T::ZERO);
        }
        return;
    }
    // Strides (column stride, row stride) of each operand as an m×k / k×n view.
    let (a_cs, a_rs) = match op_a {
        Op::N => (1, k as isize),
        Op::T => (m as isize, 1),
    };
    let (b_cs, b_rs) = match op_b {
        Op::N => (1, n as isize),
        Op::T => (k as isize, 1),
    };
    kernel::gemm(c, a, a_cs, a_rs, b, b_cs, b_rs, m, n, k, accumulate);
}

#[allow(unsafe_code)]
mod kernel {
    use super::Real;

    /// The one unsafe call of the crate: bounds were checked by the caller.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gemm<T: Real>(
        c: &mut [T],
        a: &[T],
        a_cs: isize,
        a_rs: isize,
        b: &[T],
        b_cs: isize,
        b_rs: isize,
        m: usize,
        n: usize,
        k: usize,
        accumulate: bool,
    ) {
        // SAFETY: `matmul` checked c.len() = m·n, a.len() = m·k, b.len() = k·n,
        // and the strides above address exactly those row-major buffers; the
        // three slices cannot alias (one is `&mut`). `gemm` supports f32/f64.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                n as isize,
                accumulate,
                a.as_ptr(),
                a_cs,
                a_rs,
                b.as_ptr(),
                b_cs,
                b_rs,
                T::ONE,
                T::ONE,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], m: usize, n: usize, k: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for l in 0..k {
                    c[i * n + j] += a[i * k + l] * b[l * n + j];
                }
            }
        }
        c
    }

    fn transpose(x: &[f64], r: usize, c: usize) -> Vec<f64> {
        let mut t = vec![0.0; r * c];
        for i in 0..r {
            for j in 0..c {
                t[j * r + i] = x[i * c + j];
            }
        }
        t
    }

    #[test]
    fn every_transpose_combination_matches_the_triple_loop() {
        let (m, n, k) = (7, 5, 9);
        let a: Vec<f64> = (0..m * k).map(|i| ((i * 37 % 11) as f64) - 5.0).collect();
        let b: Vec<f64> = (0..k * n)
            .map(|i| ((i * 17 % 13) as f64) * 0.5 - 3.0)
            .collect();
        let want = naive(&a, &b, m, n, k);
        let at = transpose(&a, m, k);
        let bt = transpose(&b, k, n);
        for (aa, oa) in [(&a, Op::N), (&at, Op::T)] {
            for (bb, ob) in [(&b, Op::N), (&bt, Op::T)] {
                let mut c = vec![1.0; m * n];
                matmul(&mut c, aa, oa, bb, ob, m, n, k, true);
                for (x, w) in c.iter().zip(&want) {
                    assert!((x - (w + 1.0)).abs() < 1e-12);
                }
                matmul(&mut c, aa, oa, bb, ob, m, n, k, false);
                for (x, w) in c.iter().zip(&want) {
                    assert!((x - w).abs() < 1e-12);
                }
            }
        }
    }
}
