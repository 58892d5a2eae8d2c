//! Products `C += A·B` against a right-hand operand `B` packed once and
//! reused for every time step of a recurrence.
//!
//! Why: the recurrent loop multiplies the same `N × N` weights by a new
//! `B × N` state at every step. A general gemm re-packs its right-hand
//! operand on every call (1 MB per time step at N = 500, about an eighth of a
//! training step). Here the weights are packed once per pass into panels of
//! [`NR`] columns. The small left-hand state is not packed at all: at
//! N = 100 copying it into row panels took a third as long as the product
//! itself, and its rows (20 KB) stay in L1 while the kernel reads them in
//! place.
//!
//! The kernel is the classic register-blocked outer product: an `MR × NR`
//! block of `C` lives in registers while one value from each of `MR` rows of
//! `A` and one row of a packed `B` panel are read per step of the inner
//! dimension. It
//! is plain safe Rust, compiled twice (baseline x86-64, and AVX2 + FMA with
//! fused multiply–adds, picked at run time), as the `gemm` crate's kernels are.

use super::{Op, Real};

/// Columns of one packed panel of `B` (two 8-lane f32 vectors).
const NR: usize = 16;

/// Columns of the narrow last panel used when at most this many columns
/// remain (one 8-lane vector), so that e.g. N = 100 pads to 104, not 112.
const NR_TAIL: usize = 8;

/// A right-hand operand `B` (`k × n`) packed for repeated products
/// `C += A·B` by [`PackedRhs::matmul_acc`].
#[derive(Debug, Clone)]
pub struct PackedRhs<T> {
    k: usize,
    n: usize,
    /// `⌊n / NR⌋` panels of `k` rows of `NR` contiguous values of `B`, then
    /// the remaining columns (if any) as one panel of `k` rows of
    /// [`Self::tail`] values, zero past column `n`.
    panels: Vec<T>,
    /// Width of the last, partial panel: 0 (none), `NR_TAIL` or `NR`.
    tail: usize,
    /// `k` zeros: the rows past `m` of the last row block of `A`.
    zeros: Vec<T>,
}

impl<T: Real> PackedRhs<T> {
    /// Pack `op(b)`, a `k × n` operand stored row-major as `k × n`
    /// ([`Op::N`]) or as `n × k` ([`Op::T`]).
    ///
    /// # Panics
    /// If `b.len() ≠ k·n` (a programming error inside this crate).
    pub fn new(b: &[T], op: Op, k: usize, n: usize) -> Self {
        assert_eq!(b.len(), k * n, "PackedRhs: b is not {k}×{n}");
        let full = n / NR;
        let tail = match n % NR {
            0 => 0,
            r if r <= NR_TAIL => NR_TAIL,
            _ => NR,
        };
        let mut panels = vec![T::ZERO; (full * NR + tail) * k];
        let mut j0 = 0;
        let mut rest = panels.as_mut_slice();
        while j0 < n {
            let stride = if j0 + NR <= n { NR } else { tail };
            let (panel, next) = rest.split_at_mut(k * stride);
            let width = stride.min(n - j0);
            for (kk, row) in panel.chunks_exact_mut(stride).enumerate() {
                match op {
                    Op::N => row[..width].copy_from_slice(&b[kk * n + j0..][..width]),
                    Op::T => {
                        for (j, v) in row[..width].iter_mut().enumerate() {
                            *v = b[(j0 + j) * k + kk];
                        }
                    }
                }
            }
            j0 += stride;
            rest = next;
        }
        Self {
            k,
            n,
            panels,
            tail,
            zeros: vec![T::ZERO; k],
        }
    }

    /// `c ← c + a · B` for `a` `m × k` and `c` `m × n`, both row-major.
    ///
    /// # Panics
    /// If a slice's length does not match its dimensions.
    pub fn matmul_acc(&self, c: &mut [T], a: &[T], m: usize) {
        let (k, n) = (self.k, self.n);
        assert_eq!(c.len(), m * n, "matmul_acc: c is not {m}×{n}");
        assert_eq!(a.len(), m * k, "matmul_acc: a is not {m}×{k}");
        if m == 0 || n == 0 || k == 0 {
            return;
        }
        let dims = Dims { m, n, k };
        match m {
            1 => self.run::<1>(c, a, dims),
            2 => self.run::<2>(c, a, dims),
            3 => self.run::<3>(c, a, dims),
            4 => self.run::<4>(c, a, dims),
            _ if rows_per_tile(m) == 5 => self.run::<5>(c, a, dims),
            _ => self.run::<6>(c, a, dims),
        }
    }

    fn run<const MR: usize>(&self, c: &mut [T], a: &[T], dims: Dims) {
        let lhs = Lhs {
            a,
            zeros: &self.zeros,
            m: dims.m,
            k: dims.k,
        };
        products::<T, MR>(c, dims, lhs, &self.panels, self.tail);
    }

    /// `c ← c + a · B[rows, :]` for `a` `m × rows.len()` and `c` `m × n`,
    /// both row-major, `rows` ascending: the product with an `m × k`
    /// left-hand operand that is zero outside the columns `rows`, whose
    /// nonzero columns `a` holds side by side. The columns that are zero
    /// in every row (silent units) cost nothing.
    ///
    /// Same values as [`Self::matmul_acc`] on the full operand: every
    /// output sums the same nonzero terms in the same order, in the same
    /// accumulators; a skipped term `0 · b` would have added zero.
    ///
    /// # Panics
    /// If a slice's length does not match its dimensions, or a row is out
    /// of range (a programming error inside this crate).
    pub fn matmul_acc_rows(&self, c: &mut [T], a: &[T], m: usize, rows: &[u32]) {
        let n = self.n;
        assert_eq!(c.len(), m * n, "matmul_acc_rows: c is not {m}×{n}");
        assert_eq!(
            a.len(),
            m * rows.len(),
            "matmul_acc_rows: a is not {m}×{}",
            rows.len()
        );
        assert!(
            rows.last().is_none_or(|&r| (r as usize) < self.k) && rows.is_sorted_by(|x, y| x < y),
            "matmul_acc_rows: rows are not ascending below {}",
            self.k
        );
        if m == 0 || n == 0 || rows.is_empty() {
            return;
        }
        let dims = Dims {
            m,
            n,
            k: rows.len(),
        };
        match m {
            1 => self.run_rows::<1>(c, a, dims, rows),
            2 => self.run_rows::<2>(c, a, dims, rows),
            3 => self.run_rows::<3>(c, a, dims, rows),
            4 => self.run_rows::<4>(c, a, dims, rows),
            _ if rows_per_tile(m) == 5 => self.run_rows::<5>(c, a, dims, rows),
            _ => self.run_rows::<6>(c, a, dims, rows),
        }
    }

    fn run_rows<const MR: usize>(&self, c: &mut [T], a: &[T], dims: Dims, rows: &[u32]) {
        let lhs = Lhs {
            a,
            zeros: &self.zeros,
            m: dims.m,
            k: dims.k,
        };
        let bpack = Selected {
            panels: &self.panels,
            k: self.k,
            rows,
        };
        products_selected::<T, MR>(c, dims, lhs, bpack, self.tail);
    }
}

/// The packed panels of `B` (`k` rows each) and the rows of it that a
/// product with a compacted left-hand operand meets.
#[derive(Clone, Copy)]
struct Selected<'a, T> {
    panels: &'a [T],
    k: usize,
    rows: &'a [u32],
}

/// Rows per register tile for `m ≥ 5`, 6 or 5: the one that pads `m` least
/// (6 on ties). Fewer rows leave too few independent accumulators to hide
/// the latency of a multiply–add (measured: 4 rows run at ⅔ the rate), so
/// only a batch of fewer than 5 rows runs in a tile of its own height.
fn rows_per_tile(m: usize) -> usize {
    if m.div_ceil(5) * 5 < m.div_ceil(6) * 6 {
        5
    } else {
        6
    }
}

/// The left-hand operand `a` (`m × k`, row-major), read in place.
#[derive(Clone, Copy)]
struct Lhs<'a, T> {
    a: &'a [T],
    /// `k` zeros, standing in for rows past `m`.
    zeros: &'a [T],
    m: usize,
    k: usize,
}

impl<'a, T> Lhs<'a, T> {
    /// Columns `k0..k0 + kc` of row `i` (zeros past the last row).
    #[inline(always)]
    fn row(self, i: usize, k0: usize, kc: usize) -> &'a [T] {
        if i < self.m {
            &self.a[i * self.k + k0..][..kc]
        } else {
            &self.zeros[k0..k0 + kc]
        }
    }
}

/// Sizes of one product: `c` is `m × n`, the inner dimension `k`.
#[derive(Clone, Copy)]
struct Dims {
    m: usize,
    n: usize,
    k: usize,
}

/// Inner-dimension block: one `KC × NR` slice of a `B` panel (16 KB in f32)
/// stays in L1 while the `A` blocks of a row chunk meet it.
const KC: usize = 256;

/// Row blocks per chunk: the chunk's `KC`-slice of `A` (at most
/// `20 · 6 · 256` values, 120 KB in f32) stays in L2 while every panel of
/// `B` meets it.
const MC_BLOCKS: usize = 20;

/// Every `MR × NR` block of `c` (row-major) from the packed panels, one
/// chunk of [`MC_BLOCKS`] row blocks and one [`KC`]-slice of the inner
/// dimension at a time, so that the chunk's rows of `c` stay in cache
/// across the slices.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn products<T: Real, const MR: usize>(
    c: &mut [T],
    dims: Dims,
    lhs: Lhs<'_, T>,
    bpack: &[T],
    tail: usize,
) {
    let fused = multiversion::target::target_cfg_f!(target_feature = "fma");
    let k = dims.k;
    let panels = Panels::split(bpack, k, tail);
    let blocks = dims.m.div_ceil(MR);
    for b0 in (0..blocks).step_by(MC_BLOCKS) {
        for k0 in (0..k).step_by(KC) {
            let slice = Slice {
                k0,
                kc: KC.min(k - k0),
                blocks: b0..(b0 + MC_BLOCKS).min(blocks),
            };
            let kc = slice.kc;
            slice_products::<T, MR, _>(c, dims, lhs, panels, &slice, fused, |panel, width| {
                &panel[k0 * width..(k0 + kc) * width]
            });
        }
    }
}

/// `B`'s packed panels, each `k` rows high: the full-width ones ([`NR`]
/// columns), then the last one, `tail` columns wide (none if 0).
#[derive(Clone, Copy)]
struct Panels<'a, T> {
    full: &'a [T],
    last: &'a [T],
    k: usize,
    tail: usize,
}

impl<'a, T> Panels<'a, T> {
    fn split(panels: &'a [T], k: usize, tail: usize) -> Self {
        let (full, last) = panels.split_at(panels.len() - tail * k);
        Self {
            full,
            last,
            k,
            tail,
        }
    }
}

/// One [`Slice`] of a product, panel by panel from the left: the terms
/// `terms(panel, width)` of each, through the FMA kernels where `fused`.
#[inline(always)]
fn slice_products<'a, T: Real, const MR: usize, B: PanelTerms<T>>(
    c: &mut [T],
    dims: Dims,
    lhs: Lhs<'_, T>,
    panels: Panels<'a, T>,
    slice: &Slice,
    fused: bool,
    terms: impl Fn(&'a [T], usize) -> B,
) {
    let Panels {
        full,
        last,
        k,
        tail,
    } = panels;
    for (p, bpanel) in full.chunks_exact(k * NR).enumerate() {
        let b = terms(bpanel, NR);
        if fused {
            panel::<T, MR, NR, true, _>(c, dims, lhs, b, p * NR, slice);
        } else {
            panel::<T, MR, NR, false, _>(c, dims, lhs, b, p * NR, slice);
        }
    }
    if tail > 0 {
        let b = terms(last, tail);
        let j_tail = full.len() / k;
        match (tail, fused) {
            (NR, true) => panel::<T, MR, NR, true, _>(c, dims, lhs, b, j_tail, slice),
            (NR, false) => panel::<T, MR, NR, false, _>(c, dims, lhs, b, j_tail, slice),
            (_, true) => panel::<T, MR, NR_TAIL, true, _>(c, dims, lhs, b, j_tail, slice),
            (_, false) => panel::<T, MR, NR_TAIL, false, _>(c, dims, lhs, b, j_tail, slice),
        }
    }
}

/// [`products`] over the selected rows of `B` only (the left-hand operand
/// holds the matching columns side by side). The selected rows are taken
/// in the same [`KC`]-slices of `B`'s rows as the full product takes them,
/// so that every block of `c` is summed in the same order.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn products_selected<T: Real, const MR: usize>(
    c: &mut [T],
    dims: Dims,
    lhs: Lhs<'_, T>,
    bpack: Selected<'_, T>,
    tail: usize,
) {
    let fused = multiversion::target::target_cfg_f!(target_feature = "fma");
    let k = bpack.k;
    let panels = Panels::split(bpack.panels, k, tail);
    let blocks = dims.m.div_ceil(MR);
    for b0 in (0..blocks).step_by(MC_BLOCKS) {
        let mut p0 = 0;
        for k0 in (0..k).step_by(KC) {
            // Positions p0..p1 of the selected rows inside this slice.
            let p1 = p0 + bpack.rows[p0..].partition_point(|&r| (r as usize) < k0 + KC);
            if p1 == p0 {
                continue;
            }
            let slice = Slice {
                k0: p0,
                kc: p1 - p0,
                blocks: b0..(b0 + MC_BLOCKS).min(blocks),
            };
            let rows = &bpack.rows[p0..p1];
            p0 = p1;
            slice_products::<T, MR, _>(c, dims, lhs, panels, &slice, fused, |panel, _| Terms {
                panel,
                rows,
            });
        }
    }
}

/// One whole packed panel of `B` and the rows of it (ascending, within one
/// [`KC`]-slice) that a tile meets.
#[derive(Clone, Copy)]
struct Terms<'a, T> {
    panel: &'a [T],
    rows: &'a [u32],
}

/// [`tile`] over the selected rows of a panel: each term goes to the
/// accumulator it has in [`tile`] (by its row's parity in a narrow panel,
/// by its row modulo 4 in [`row_tile`]), so the sums are the same.
#[inline(always)]
fn tile_selected<T: Real, const MR: usize, const W: usize, const FUSED: bool>(
    rows: [&[T]; MR],
    b: Terms<'_, T>,
    mut acc: [[T; W]; MR],
) -> [[T; W]; MR] {
    let (b_rows, _) = b.panel.as_chunks::<W>();
    if MR == 1 {
        let mut part = [[T::ZERO; W]; 4];
        for (&x, &r) in rows[0].iter().zip(b.rows) {
            let r = r as usize;
            for (s, &v) in part[r % 4].iter_mut().zip(&b_rows[r]) {
                *s = if FUSED { x.mul_add(v, *s) } else { *s + x * v };
            }
        }
        let mut sum = part[0];
        for row in &part[1..] {
            for (o, &v) in sum.iter_mut().zip(row) {
                *o += v;
            }
        }
        for (s, v) in acc[0].iter_mut().zip(sum) {
            *s += v;
        }
        return acc;
    }
    if W > NR_TAIL {
        for (p, &r) in b.rows.iter().enumerate() {
            rank_one::<T, MR, W, FUSED>(&mut acc, column(&rows, p), &b_rows[r as usize]);
        }
        return acc;
    }
    let mut odd = [[T::ZERO; W]; MR];
    for (p, &r) in b.rows.iter().enumerate() {
        let dst = if r % 2 == 0 { &mut acc } else { &mut odd };
        rank_one::<T, MR, W, FUSED>(dst, column(&rows, p), &b_rows[r as usize]);
    }
    for (row, o) in acc.iter_mut().zip(&odd) {
        for (s, &v) in row.iter_mut().zip(o) {
            *s += v;
        }
    }
    acc
}

/// The columns `k0..k0 + kc` of the inner dimension, for a chunk of row blocks.
struct Slice {
    k0: usize,
    kc: usize,
    blocks: std::ops::Range<usize>,
}

/// The terms of one panel slice of `B` that a register tile meets: every
/// row of the slice (`&[T]`, summed by [`tile`]) or the selected rows
/// ([`Terms`], summed by [`tile_selected`]).
trait PanelTerms<T: Real>: Copy {
    fn tile<const MR: usize, const W: usize, const FUSED: bool>(
        self,
        rows: [&[T]; MR],
        acc: [[T; W]; MR],
    ) -> [[T; W]; MR];
}

impl<T: Real> PanelTerms<T> for &[T] {
    #[inline(always)]
    fn tile<const MR: usize, const W: usize, const FUSED: bool>(
        self,
        rows: [&[T]; MR],
        acc: [[T; W]; MR],
    ) -> [[T; W]; MR] {
        tile::<T, MR, W, FUSED>(rows, self, acc)
    }
}

impl<T: Real> PanelTerms<T> for Terms<'_, T> {
    #[inline(always)]
    fn tile<const MR: usize, const W: usize, const FUSED: bool>(
        self,
        rows: [&[T]; MR],
        acc: [[T; W]; MR],
    ) -> [[T; W]; MR] {
        tile_selected::<T, MR, W, FUSED>(rows, self, acc)
    }
}

/// Columns `j0..j0 + W` of `c` (fewer at the right edge) from the terms
/// `b` of one panel slice of `B`, one `MR`-row block of `A` at a time.
#[inline(always)]
fn panel<T: Real, const MR: usize, const W: usize, const FUSED: bool, B: PanelTerms<T>>(
    c: &mut [T],
    dims: Dims,
    lhs: Lhs<'_, T>,
    b: B,
    j0: usize,
    slice: &Slice,
) {
    let width = W.min(dims.n - j0);
    for q in slice.blocks.clone() {
        let i0 = q * MR;
        let mut rows = [lhs.zeros; MR];
        for (r, row) in rows.iter_mut().enumerate() {
            *row = lhs.row(i0 + r, slice.k0, slice.kc);
        }
        if width == W && i0 + MR <= dims.m {
            // A whole block: it starts from `c` and goes back to it from
            // registers, with no pass to add it in.
            let mut acc = [[T::ZERO; W]; MR];
            for (r, a) in acc.iter_mut().enumerate() {
                a.copy_from_slice(&c[(i0 + r) * dims.n + j0..][..W]);
            }
            let acc = b.tile::<MR, W, FUSED>(rows, acc);
            for (r, a) in acc.iter().enumerate() {
                c[(i0 + r) * dims.n + j0..][..W].copy_from_slice(a);
            }
            continue;
        }
        let acc = b.tile::<MR, W, FUSED>(rows, [[T::ZERO; W]; MR]);
        for (r, row) in acc.iter().enumerate().take(MR.min(dims.m - i0)) {
            let dst = &mut c[(i0 + r) * dims.n + j0..][..width];
            for (d, &v) in dst.iter_mut().zip(row) {
                *d += v;
            }
        }
    }
}

/// One `MR × W` block: `acc + Σ_k a[:, k] ⊗ b[k, :]` over the rows `rows`
/// of `A` (each as long as `bpanel` has rows of `W`), accumulated in registers.
#[inline(always)]
fn tile<T: Real, const MR: usize, const W: usize, const FUSED: bool>(
    rows: [&[T]; MR],
    bpanel: &[T],
    mut acc: [[T; W]; MR],
) -> [[T; W]; MR] {
    let (b_rows, _) = bpanel.as_chunks::<W>();
    if MR == 1 {
        let sum = row_tile::<T, W, FUSED>(rows[0], b_rows);
        for (s, v) in acc[0].iter_mut().zip(sum) {
            *s += v;
        }
        return acc;
    }
    if W > NR_TAIL {
        for (kk, b) in b_rows.iter().enumerate() {
            rank_one::<T, MR, W, FUSED>(&mut acc, column(&rows, kk), b);
        }
        return acc;
    }
    // A narrow panel has one vector per row: even and odd steps of the
    // inner dimension go to two sets of accumulators, so that twice as many
    // independent multiply–adds hide their latency.
    let mut odd = [[T::ZERO; W]; MR];
    let (pairs, rest) = b_rows.as_chunks::<2>();
    for (p, [b0, b1]) in pairs.iter().enumerate() {
        rank_one::<T, MR, W, FUSED>(&mut acc, column(&rows, 2 * p), b0);
        rank_one::<T, MR, W, FUSED>(&mut odd, column(&rows, 2 * p + 1), b1);
    }
    if let [b] = rest {
        rank_one::<T, MR, W, FUSED>(&mut acc, column(&rows, 2 * pairs.len()), b);
    }
    for (row, o) in acc.iter_mut().zip(&odd) {
        for (s, &v) in row.iter_mut().zip(o) {
            *s += v;
        }
    }
    acc
}

/// Column `kk` of the tile's rows of `A`.
#[inline(always)]
fn column<T: Real, const MR: usize>(rows: &[&[T]; MR], kk: usize) -> [T; MR] {
    let mut col = [T::ZERO; MR];
    for (x, a) in col.iter_mut().zip(rows) {
        *x = a[kk];
    }
    col
}

/// `acc += col ⊗ b`.
#[inline(always)]
fn rank_one<T: Real, const MR: usize, const W: usize, const FUSED: bool>(
    acc: &mut [[T; W]; MR],
    col: [T; MR],
    b: &[T; W],
) {
    for (row, &x) in acc.iter_mut().zip(&col) {
        for (s, &y) in row.iter_mut().zip(b) {
            *s = if FUSED { x.mul_add(y, *s) } else { *s + x * y };
        }
    }
}

/// A one-row block (a vector–matrix product, e.g. a batch of one trial):
/// four partial sums over interleaved `k` give eight independent
/// accumulators, as six rows do in [`tile`].
#[inline(always)]
fn row_tile<T: Real, const W: usize, const FUSED: bool>(a: &[T], b_rows: &[[T; W]]) -> [T; W] {
    let mut acc = [[T::ZERO; W]; 4];
    let (a4, a_rest) = a.as_chunks::<4>();
    let (b4, b_rest) = b_rows.as_chunks::<4>();
    for (a, b) in a4.iter().zip(b4) {
        for ((row, &x), y) in acc.iter_mut().zip(a).zip(b) {
            for (s, &v) in row.iter_mut().zip(y) {
                *s = if FUSED { x.mul_add(v, *s) } else { *s + x * v };
            }
        }
    }
    for ((row, &x), y) in acc.iter_mut().zip(a_rest).zip(b_rest) {
        for (s, &v) in row.iter_mut().zip(y) {
            *s = if FUSED { x.mul_add(v, *s) } else { *s + x * v };
        }
    }
    let mut out = acc[0];
    for row in &acc[1..] {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::matmul;

    fn filled(len: usize, seed: usize) -> Vec<f64> {
        (0..len)
            .map(|i| (((i * 37 + seed * 11) % 23) as f64) * 0.25 - 2.5)
            .collect()
    }

    #[test]
    fn packed_products_match_the_gemm_crate_for_every_shape_and_transpose() {
        let shapes = [
            (1, 1, 1),
            (50, 37, 41),
            (7, 16, 16),
            (64, 20, 33),
            (9, 5, 100),
            (5, 3, 24),
            (1, 37, 40),
            (2, 9, 17),
            (3, 300, 16),
            (4, 6, 8),
            (11, 13, 8),
            (13, 7, 17),
            // Two chunks of row blocks and two slices of the inner dimension.
            (130, 300, 24),
        ];
        for (m, k, n) in shapes {
            let b = filled(k * n, 2);
            for op in [Op::N, Op::T] {
                let packed = PackedRhs::new(&b, op, k, n);
                // Successive products of several heights reuse one packed B
                // and one left-hand buffer.
                for (rows, seed) in [(m, 1), (m + 1, 4), (m, 5)] {
                    let a = filled(rows * k, seed);
                    let c0 = filled(rows * n, 3);
                    let mut want = c0.clone();
                    matmul(&mut want, &a, Op::N, &b, op, rows, n, k, true);
                    let mut got = c0;
                    packed.matmul_acc(&mut got, &a, rows);
                    for (g, w) in got.iter().zip(&want) {
                        assert!((g - w).abs() < 1e-9, "({rows},{k},{n}) {op:?}: {g} vs {w}");
                    }
                }
            }
        }
    }

    #[test]
    fn f32_products_match_an_f64_triple_loop() {
        // k > KC: the inner dimension is summed in several slices.
        let (m, k, n) = (50, 700, 100);
        let a = filled(m * k, 4);
        let b = filled(k * n, 5);
        let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        let mut got = vec![1.0f32; m * n];
        PackedRhs::new(&b32, Op::N, k, n).matmul_acc(&mut got, &a32, m);
        for i in 0..m {
            for j in 0..n {
                let want: f64 = 1.0 + (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum::<f64>();
                let g = f64::from(got[i * n + j]);
                assert!(
                    (g - want).abs() <= 1e-5 * want.abs().max(1.0),
                    "{g} vs {want}"
                );
            }
        }
    }

    /// Values whose products and sums round (unlike [`filled`]'s), so that
    /// equal results mean the same terms summed in the same order.
    fn irregular(len: usize, seed: usize) -> Vec<f64> {
        (0..len)
            .map(|i| ((i + 7 * seed) as f64 * 0.754_877_666_246_692_7).fract() * 2.0 - 1.0)
            .collect()
    }

    /// An `m × k` operand with only the columns `keep` nonzero, and those
    /// columns side by side.
    fn with_silent_columns(m: usize, k: usize, keep: &[u32], seed: usize) -> (Vec<f64>, Vec<f64>) {
        let mut full = irregular(m * k, seed);
        for (j, col) in (0..k).map(|j| (j, keep.contains(&(j as u32)))) {
            if !col {
                for i in 0..m {
                    full[i * k + j] = 0.0;
                }
            }
        }
        let compact = (0..m)
            .flat_map(|i| keep.iter().map(move |&j| (i, j as usize)))
            .map(|(i, j)| full[i * k + j])
            .collect();
        (full, compact)
    }

    #[test]
    fn products_over_selected_rows_equal_the_full_product() {
        // Every tile height (1-6 rows, several row chunks), both panel
        // widths of the last panel, several inner slices (k > KC), and
        // selections from none to all rows, with runs and gaps.
        let shapes = [
            (1, 40, 24),
            (2, 17, 16),
            (3, 33, 9),
            (4, 8, 40),
            (5, 100, 100),
            (50, 300, 37),
            (64, 600, 20),
            (130, 520, 24),
        ];
        for (m, k, n) in shapes {
            let b = irregular(k * n, 2);
            for op in [Op::N, Op::T] {
                let packed = PackedRhs::new(&b, op, k, n);
                let every: Vec<u32> = (0..k as u32).collect();
                let selections: [Vec<u32>; 5] = [
                    Vec::new(),
                    vec![k as u32 - 1],
                    every.iter().copied().filter(|j| j % 3 != 1).collect(),
                    every.iter().copied().filter(|j| (j / 7) % 2 == 0).collect(),
                    every,
                ];
                for keep in &selections {
                    let (full, compact) = with_silent_columns(m, k, keep, 1);
                    let c0 = irregular(m * n, 3);
                    let mut want = c0.clone();
                    packed.matmul_acc(&mut want, &full, m);
                    let mut got = c0;
                    packed.matmul_acc_rows(&mut got, &compact, m, keep);
                    assert_eq!(got, want, "({m},{k},{n}) {op:?}, {} rows", keep.len());
                }
            }
        }
    }

    #[test]
    fn f32_products_over_selected_rows_equal_the_full_product() {
        let (m, k, n) = (50, 500, 100);
        let keep: Vec<u32> = (0..k as u32).filter(|j| j % 5 < 2).collect();
        let (full, compact) = with_silent_columns(m, k, &keep, 6);
        let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let packed = PackedRhs::new(&f(&irregular(k * n, 7)), Op::N, k, n);
        let mut want = vec![0.5f32; m * n];
        packed.matmul_acc(&mut want, &f(&full), m);
        let mut got = vec![0.5f32; m * n];
        packed.matmul_acc_rows(&mut got, &f(&compact), m, &keep);
        assert_eq!(got, want);
    }

    #[test]
    fn tile_rows_pad_the_batch_least() {
        assert_eq!(rows_per_tile(50), 5);
        assert_eq!(rows_per_tile(64), 5);
        assert_eq!(rows_per_tile(60), 6);
        assert_eq!(rows_per_tile(12), 6);
        assert_eq!(rows_per_tile(1), 5);
    }
}
