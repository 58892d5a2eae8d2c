//! The recurrence's three products, skipping the units that are silent in
//! every trial of the batch: `h_{t−1} W`, `∂L/∂a_t Wᵀ` and
//! `Σ_t h_{t−1}ᵀ ∂L/∂a_t`.
//!
//! Why: a trained ReLU network's rates are mostly exact zeros (87.6 % in a
//! 2AFC network of Orhan & Ma, 2019, N = 200, and 61 % of the units silent
//! in all 50 trials at a typical step), and so are the pre-activation
//! gradients there (φ′ = 0). Dense products spend most of their FLOPs on
//! them. Each product here measures its operands' active units (those
//! nonzero in some trial) and, when few enough are active, runs a dense
//! product on the active ones only. The choice is made per product from the
//! measured density against crossovers measured on the development machine
//! (below); the values are those of the dense path up to float rounding
//! (the recurrent products: the same values, see
//! [`PackedRhs::matmul_acc_rows`]).

use std::cell::Cell;

use crate::linalg::{ActiveColumns, Op, PackedRhs, Real, matmul};

/// Which products the recurrence runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Products {
    /// Dense or over the active units, chosen per product from the
    /// measured density (the default; ReLU-like φ only).
    #[default]
    Auto,
    /// Always dense.
    Dense,
    /// Always over the active units, at any density and for any φ.
    Sparse,
}

thread_local! {
    static PRODUCTS: Cell<Products> = const { Cell::new(Products::Auto) };
}

/// Run `f` with this thread's recurrences forced to the products `p` (the
/// benchmarks and tests compare the two paths; training needs no setting).
pub fn with_products<R>(p: Products, f: impl FnOnce() -> R) -> R {
    /// Puts the previous choice back, also if `f` panics.
    struct Restore(Products);
    impl Drop for Restore {
        fn drop(&mut self) {
            PRODUCTS.set(self.0);
        }
    }
    let _restore = Restore(PRODUCTS.replace(p));
    f()
}

/// The choice in force on this thread.
pub(super) fn products() -> Products {
    PRODUCTS.get()
}

/// Above this fraction of active units a recurrent product (`h_{t−1} W`
/// or `∂L/∂a_t Wᵀ`) runs dense. Measured with `cargo bench -p wm-rate-rnn
/// --bench step` at N = 100, 256 and 500, B = 50 (the sparse product costs
/// the compaction plus the same kernel over fewer rows): the sparse one was
/// faster up to 95 % at N = 500.
const MAX_ACTIVE_FRACTION: f64 = 0.9;

/// Above this fraction of the `N × N` weight-gradient entries that a block
/// of steps can reach (active pre-synaptic × active post-synaptic units)
/// the gradient product runs dense: the compacted product also gathers its
/// operands and scatters its result.
const MAX_GRADIENT_FILL: f64 = 0.7;

/// Whether the product's operands are measured at all: only φ with exact
/// zeros over a range of inputs (ReLU, clipped ReLU) leave silent units.
pub(super) fn may_skip(products: Products, zeros: bool) -> bool {
    match products {
        Products::Auto => zeros,
        Products::Dense => false,
        Products::Sparse => true,
    }
}

/// The most active units of `n` for which the sparse product is taken.
fn max_active(products: Products, n: usize) -> usize {
    match products {
        Products::Sparse => n,
        _ => (MAX_ACTIVE_FRACTION * n as f64) as usize,
    }
}

/// `c += x · B` for a state-like left operand `x` (`m × k`) against packed
/// weights, over the active columns of `x` when there are few enough.
pub(super) struct RecurrentProduct<T> {
    /// Whether `x` is measured at all; otherwise every product is dense.
    skip: bool,
    max_active: usize,
    active: ActiveColumns<T>,
}

impl<T: Real> RecurrentProduct<T> {
    /// For products with `k` = `n` inner units.
    pub(super) fn new(products: Products, zeros: bool, n: usize) -> Self {
        Self {
            skip: may_skip(products, zeros),
            max_active: max_active(products, n),
            active: ActiveColumns::new(),
        }
    }

    /// `c ← c + x · B` with `x` `m × k` and `c` `m × n`.
    pub(super) fn acc(&mut self, b: &PackedRhs<T>, c: &mut [T], x: &[T], m: usize, k: usize) {
        if self.skip && self.active.find(x, k, self.max_active) {
            let (cols, values) = self.active.compact(x, k);
            b.matmul_acc_rows(c, values, m, cols);
        } else {
            b.matmul_acc(c, x, m);
        }
    }
}

/// `∂L/∂W += Hᵀ D` for a block of steps' rates `H` and pre-activation
/// gradients `D` (both `rows × n`), over the active units of each when the
/// entries they reach are few enough.
pub(super) struct GradientProduct<T> {
    skip: bool,
    max_fill: f64,
    pre: ActiveColumns<T>,
    post: ActiveColumns<T>,
    /// The compacted product, `pre × post`.
    block: Vec<T>,
}

impl<T: Real> GradientProduct<T> {
    pub(super) fn new(products: Products, zeros: bool) -> Self {
        Self {
            skip: may_skip(products, zeros),
            max_fill: match products {
                Products::Sparse => 1.0,
                _ => MAX_GRADIENT_FILL,
            },
            pre: ActiveColumns::new(),
            post: ActiveColumns::new(),
            block: Vec::new(),
        }
    }

    /// `dw ← dw + hᵀ d`, `dw` `n × n`, `h` and `d` `rows × n`.
    pub(super) fn acc(&mut self, dw: &mut [T], h: &[T], d: &[T], n: usize) {
        let rows = h.len() / n;
        let max = (self.max_fill * (n * n) as f64) as usize;
        if self.skip
            && self.pre.find(h, n, max)
            && self.post.find(d, n, max)
            && self.pre.cols().len() * self.post.cols().len() <= max
        {
            let (ni, nj) = (self.pre.cols().len(), self.post.cols().len());
            self.block.resize(ni * nj, T::ZERO);
            let (pre, hv) = self.pre.compact(h, n);
            let (post, dv) = self.post.compact(d, n);
            matmul(&mut self.block, hv, Op::T, dv, Op::N, ni, nj, rows, false);
            for (&i, src) in pre.iter().zip(self.block.chunks_exact(nj.max(1))) {
                let dst = &mut dw[i as usize * n..(i as usize + 1) * n];
                for (&j, &v) in post.iter().zip(src) {
                    dst[j as usize] += v;
                }
            }
        } else {
            matmul(dw, h, Op::T, d, Op::N, n, n, rows, true);
        }
    }
}
