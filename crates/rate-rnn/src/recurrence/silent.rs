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
//! measured density against bounds set on the development machine
//! (below); the values are those of the dense path up to float rounding
//! (the recurrent products: the same values, see
//! [`PackedRhs::matmul_acc_rows`]).

use std::cell::Cell;

use crate::linalg::{ActiveColumns, Op, PackedRhs, Real, matmul};

/// Which products the recurrence runs.
///
/// Dense is the default. Skipping silent units computes the same
/// gradients (to 1e-13 in f64; in f32 to 5e-7 of the largest entry at every
/// one of 400 training iterations, and as close to the f64 values as the
/// dense path), yet 2AFC
/// networks trained from the same initialisation with [`Products::Auto`]
/// left the loss plateau at chance less often than with dense products
/// (`cargo bench -p wm-rate-rnn --bench train_time`, 2,000 iterations: at
/// N = 256 six of ten seeds reached a loss below 0.01 with dense products
/// and none with `Auto`, which stayed at chance; at N = 500, of four seeds,
/// the dense run left the plateau first in both where either did). A
/// replication on ten further seeds at N = 256 did not repeat it (a loss
/// below 0.01 in two seeds each way, one of them both; over all twenty,
/// 7 seeds dense-only against 1 `Auto`-only, sign test p = 0.07): which
/// way a run on the plateau goes follows its rounding, and the evidence for
/// a difference is weak.
/// Training still runs dense by default, as the reference frameworks do,
/// and the faster path is opt-in through [`with_products`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Products {
    /// Dense or over the active units, chosen per product from the
    /// measured density (ReLU-like φ only); opt-in.
    Auto,
    /// Always dense (the default).
    #[default]
    Dense,
    /// Always over the active units, at any density and for any φ.
    Sparse,
}

thread_local! {
    static PRODUCTS: Cell<Products> = const { Cell::new(Products::Dense) };
}

/// Run `f` with this thread's recurrences using the products `p` (the
/// benchmarks and tests compare the paths; without it they run dense).
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
/// or `∂L/∂a_t Wᵀ`) runs dense: the sparse one costs the search for active
/// units and their compaction on top of the same kernel over fewer rows.
/// With it, the untrained networks of `cargo bench -p wm-rate-rnn --bench
/// step` (89 % of units active per step at N = 500) ran no slower than
/// dense.
const MAX_ACTIVE_FRACTION: f64 = 0.9;

/// Networks with fewer units keep dense products: at N = 100 (B = 50) the
/// products are so short that the search and compaction cost more than
/// they save — a 2AFC network trained with sparse products at about half
/// its units active per step took 1.1–1.2× as long as with dense ones
/// (`cargo bench -p wm-rate-rnn --bench train_time`), while N = 256 and
/// 500 gained 2× and more.
const MIN_UNITS: usize = 200;

/// Above this fraction of the `N × N` weight-gradient entries that one
/// step reaches (active pre-synaptic × active post-synaptic units) the
/// step's share of `∂L/∂W` joins the dense product over a block of steps:
/// the step's own product has only B rows to sum and scatters its result.
/// Set, not swept over values: with it the trained networks of the step
/// bench (a step's fill about 0.15 at N = 500, 0.18 at N = 256) ran at
/// 0.45× and 0.33× the dense roofline; with the gradient summed per block
/// of 11 steps instead, whose active units fill half of `W` at N = 500,
/// the N = 500 step ran at 0.81×.
const MAX_STEP_FILL: f64 = 0.3;

/// Whether the products' operands are measured at all: only φ with exact
/// zeros over a range of inputs (ReLU, clipped ReLU) leave silent units,
/// and only networks of at least [`MIN_UNITS`] units gain from skipping them.
pub(super) fn may_skip(products: Products, zeros: bool, n: usize) -> bool {
    match products {
        Products::Auto => zeros && n >= MIN_UNITS,
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
    /// Whether the last product ran over the active columns.
    sparse: bool,
}

impl<T: Real> RecurrentProduct<T> {
    /// For products with `k` = `n` inner units.
    pub(super) fn new(products: Products, zeros: bool, n: usize) -> Self {
        Self {
            skip: may_skip(products, zeros, n),
            max_active: max_active(products, n),
            active: ActiveColumns::new(),
            sparse: false,
        }
    }

    /// `c ← c + x · B` with `x` `m × k` and `c` `m × n`.
    pub(super) fn acc(&mut self, b: &PackedRhs<T>, c: &mut [T], x: &[T], m: usize, k: usize) {
        self.sparse = self.skip && self.active.find(x, k, self.max_active);
        if self.sparse {
            let (cols, values) = self.active.compact(x, k);
            b.matmul_acc_rows(c, values, m, cols);
        } else {
            b.matmul_acc(c, x, m);
        }
    }

    /// The active columns of the last product's `x` and its values there,
    /// if that product ran over them.
    pub(super) fn compacted(&self) -> Option<(&[u32], &[T])> {
        self.sparse.then(|| self.active.parts())
    }
}

/// One step's share of the weight gradient, `∂L/∂W += h_{t−1}ᵀ ∂L/∂a_t`,
/// over the active units of both when the entries they reach are few.
pub(super) struct GradientProduct<T> {
    skip: bool,
    max_fill: f64,
    pre: ActiveColumns<T>,
    /// The step's product, `pre × post` active units.
    block: Vec<T>,
}

impl<T: Real> GradientProduct<T> {
    pub(super) fn new(products: Products, zeros: bool, n: usize) -> Self {
        Self {
            skip: may_skip(products, zeros, n),
            max_fill: match products {
                Products::Sparse => 1.0,
                _ => MAX_STEP_FILL,
            },
            pre: ActiveColumns::new(),
            block: Vec::new(),
        }
    }

    /// `dw[pre, post] += h[:, pre]ᵀ d` for the rates `h` (`B × n`) and the
    /// pre-activation gradient compacted to its active units (`post`, and
    /// `d` `B × post.len()`), where `pre` are the active units of `h`.
    /// Returns `false`, having done nothing, when the entries reached
    /// exceed the fill bound (the step then belongs to a dense product).
    pub(super) fn acc_step(
        &mut self,
        dw: &mut [T],
        h: &[T],
        (post, d): (&[u32], &[T]),
        n: usize,
    ) -> bool {
        let max = (self.max_fill * (n * n) as f64) as usize;
        let max_pre = if post.is_empty() { n } else { max / post.len() };
        if !(self.skip && self.pre.find(h, n, max_pre.min(n))) {
            return false;
        }
        let rows = h.len() / n;
        let (pre, hv) = self.pre.compact(h, n);
        let (ni, nj) = (pre.len(), post.len());
        if ni == 0 || nj == 0 {
            return true;
        }
        self.block.resize(ni * nj, T::ZERO);
        matmul(&mut self.block, hv, Op::T, d, Op::N, ni, nj, rows, false);
        for (&i, src) in pre.iter().zip(self.block.chunks_exact(nj)) {
            let dst = &mut dw[i as usize * n..(i as usize + 1) * n];
            for (&j, &v) in post.iter().zip(src) {
                dst[j as usize] += v;
            }
        }
        true
    }
}
