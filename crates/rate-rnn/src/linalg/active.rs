//! The active columns of a row-major block: those with a nonzero entry in
//! some row, and the block's values at them, side by side.
//!
//! Why: in a ReLU network most units are silent (rate exactly 0) in every
//! trial of a batch at a given step — 61 % at a typical step of a trained
//! 2AFC network of Orhan & Ma (2019) — and so are their gradients
//! `∂L/∂a = g · φ′(a)` (φ′ = 0 wherever the rate is). A product with such a
//! block as its left-hand operand needs only its active columns, and the
//! matching rows of the right-hand one ([`super::PackedRhs::matmul_acc_rows`]).

use super::Real;

/// The active columns of a block and its values there, reused from one
/// block to the next (no allocation once grown).
#[derive(Debug, Clone, Default)]
pub struct ActiveColumns<T> {
    /// Indices of the active columns, ascending.
    cols: Vec<u32>,
    /// The block's values at `cols`, `rows × cols.len()` row-major.
    values: Vec<T>,
    /// Per column of the last block: 1 if active.
    flags: Vec<u8>,
}

impl<T: Real> ActiveColumns<T> {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            cols: Vec::new(),
            values: Vec::new(),
            flags: Vec::new(),
        }
    }

    /// Find the active columns of `x` (`rows × n`, row-major). If there
    /// are at most `max_active`, keep them and return `true`; otherwise
    /// return `false` (a dense product is then the faster one) and leave
    /// [`Self::cols`] undefined.
    ///
    /// # Panics
    /// If `x.len()` is not a multiple of `n` or `n` exceeds `u32`
    /// (a programming error inside this crate).
    pub fn find(&mut self, x: &[T], n: usize, max_active: usize) -> bool {
        assert!(
            n > 0 && x.len().is_multiple_of(n) && u32::try_from(n).is_ok(),
            "ActiveColumns: {} values do not form rows of {n}",
            x.len()
        );
        if !mark(x, n, &mut self.flags, max_active) {
            return false;
        }
        self.cols.clear();
        self.cols.extend(
            self.flags
                .iter()
                .enumerate()
                .filter(|&(_, &f)| f != 0)
                .map(|(j, _)| j as u32),
        );
        true
    }

    /// The columns [`Self::find`] kept, and the values of `x` (`rows × n`)
    /// there side by side: `rows × cols().len()`, row-major.
    ///
    /// # Panics
    /// If `x.len()` is not a multiple of `n`, or a kept column is not below
    /// `n` (a programming error inside this crate).
    pub fn compact(&mut self, x: &[T], n: usize) -> (&[u32], &[T]) {
        assert!(
            n > 0 && x.len().is_multiple_of(n),
            "ActiveColumns: {} values do not form rows of {n}",
            x.len()
        );
        self.values.clear();
        for row in x.chunks_exact(n) {
            self.values
                .extend(self.cols.iter().map(|&j| row[j as usize]));
        }
        (&self.cols, &self.values)
    }

    /// The active columns of the last block gathered, ascending.
    pub fn cols(&self) -> &[u32] {
        &self.cols
    }
}

impl<T> ActiveColumns<T> {
    /// The columns and values of the last [`ActiveColumns::compact`].
    pub fn parts(&self) -> (&[u32], &[T]) {
        (&self.cols, &self.values)
    }
}

/// Set `flags[j]` to 1 where column `j` of `x` has a nonzero entry, 0
/// elsewhere; `false` as soon as more than `max_active` are set (checked
/// after the first row, which alone often settles a dense block, and at
/// the end). One branch-free sweep per row, compiled twice (baseline
/// x86-64 and AVX2), as the products are.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn mark<T: Real>(x: &[T], n: usize, flags: &mut Vec<u8>, max_active: usize) -> bool {
    flags.clear();
    flags.resize(n, 0);
    let count = |flags: &[u8]| flags.iter().map(|&f| usize::from(f)).sum::<usize>();
    for (r, row) in x.chunks_exact(n).enumerate() {
        for (f, &v) in flags.iter_mut().zip(row) {
            *f |= u8::from(v != T::ZERO);
        }
        if r == 0 && count(flags) > max_active {
            return false;
        }
    }
    count(flags) <= max_active
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_columns_are_those_nonzero_in_some_row() {
        // 3 rows × 5 columns: column 1 active in row 0 only, column 3 in
        // rows 1 and 2 (one of them negative), columns 0, 2, 4 silent.
        let x = [
            0.0, 2.0, 0.0, 0.0, 0.0, //
            0.0, 0.0, 0.0, -1.5, 0.0, //
            0.0, 0.0, 0.0, 4.0, 0.0,
        ];
        let mut a = ActiveColumns::new();
        assert!(a.find(&x, 5, 5));
        assert_eq!(a.cols(), &[1, 3]);
        assert_eq!(a.compact(&x, 5).1, &[2.0, 0.0, 0.0, -1.5, 0.0, 4.0]);
        // The bound is inclusive.
        assert!(a.find(&x, 5, 2));
        assert!(!a.find(&x, 5, 1));
    }

    #[test]
    fn silent_and_full_blocks() {
        let mut a = ActiveColumns::new();
        assert!(a.find(&[0.0f32; 12], 4, 0));
        assert!(a.cols().is_empty() && a.compact(&[0.0f32; 12], 4).1.is_empty());
        let full: Vec<f32> = (1..=12).map(|v| v as f32).collect();
        assert!(a.find(&full, 4, 4));
        assert_eq!(a.cols(), &[0, 1, 2, 3]);
        assert_eq!(a.compact(&full, 4).1, full.as_slice());
        assert!(!a.find(&full, 4, 3));
    }
}
