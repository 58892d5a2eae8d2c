//! Products with a left-hand operand that is mostly zeros: the input
//! projection `x·W_in` and its weight gradient `xᵀ·∂L/∂u`.
//!
//! Why: Orhan & Ma's inputs are Poisson counts with at most 0.04 expected
//! spikes per neuron and step, so nearly every entry of `x` is 0,
//! yet a dense gemm spends `2·T·B·I·N` FLOPs on each of the two products
//! (40 % of a training step's arithmetic at N = 100, I = 100). Walking the
//! nonzero entries instead costs one `N`-long multiply–add per entry. Dense
//! inputs (Gaussian input noise) are left to the gemm crate.

use std::ops::Range;

use super::Real;

/// Above this fraction of nonzero entries the gemm crate should be used: one
/// multiply–add row per entry runs at roughly half the gemm's rate, so the
/// sparse walk wins up to about 50 % density; 25 % leaves a margin.
pub const MAX_DENSITY: f64 = 0.25;

/// The nonzero entries of a row-major `rows × cols` matrix, row by row
/// (compressed sparse rows).
#[derive(Debug, Clone, PartialEq)]
pub struct SparseRows<T> {
    cols: usize,
    /// Row `r`'s entries are `entries[starts[r]..starts[r + 1]]`.
    starts: Vec<usize>,
    /// `(column, value)`, columns ascending within a row.
    entries: Vec<(u32, T)>,
}

impl<T: Real> SparseRows<T> {
    /// The nonzero entries of `x` (`rows × cols`, row-major), or `None` when
    /// more than `max_density` of its entries are nonzero (a dense product
    /// is then the faster one) or `cols` is 0.
    ///
    /// # Panics
    /// If `x.len()` is not a multiple of `cols` (a programming error inside
    /// this crate).
    pub fn from_dense(x: &[T], cols: usize, max_density: f64) -> Option<Self> {
        if cols == 0 {
            return None;
        }
        assert!(
            x.len().is_multiple_of(cols) && u32::try_from(cols).is_ok(),
            "SparseRows: {} values do not form rows of {cols}",
            x.len()
        );
        // One pass. Compaction without data-dependent branches: every value
        // of a group is written at `len`, which moves on only past a nonzero
        // (so a row needs `cols` slots of slack). Groups of eight zeros,
        // nearly all of them, are skipped after one vector comparison. A
        // matrix denser than `max_density` is refused as soon as its count
        // passes the bound.
        let limit = (max_density * x.len() as f64) as usize;
        let mut starts = Vec::with_capacity(x.len() / cols + 1);
        starts.push(0);
        let mut entries = Vec::new();
        let mut len = 0;
        for row in x.chunks_exact(cols) {
            if entries.len() < len + cols {
                let grown = (2 * entries.len()).max(len + cols).max(1024);
                entries.resize(grown, (0u32, T::ZERO));
            }
            let mut keep = |j: usize, v: T| {
                entries[len] = (j as u32, v);
                len += usize::from(v != T::ZERO);
            };
            let (groups, rest) = row.as_chunks::<8>();
            for (g, group) in groups.iter().enumerate() {
                if group.iter().fold(false, |any, &v| any | (v != T::ZERO)) {
                    for (j, &v) in group.iter().enumerate() {
                        keep(g * 8 + j, v);
                    }
                }
            }
            for (j, &v) in rest.iter().enumerate() {
                keep(groups.len() * 8 + j, v);
            }
            if len > limit {
                return None;
            }
            starts.push(len);
        }
        entries.truncate(len);
        Some(Self {
            cols,
            starts,
            entries,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.starts.len() - 1
    }

    /// Number of nonzero entries.
    pub fn nnz(&self) -> usize {
        self.entries.len()
    }

    /// `c += X·b`, with `b` `cols × n` and `c` `rows × n`, row-major.
    ///
    /// # Panics
    /// If a slice's length does not match (a programming error inside this crate).
    pub fn matmul_acc(&self, c: &mut [T], b: &[T], n: usize) {
        self.matmul_acc_rows(0..self.rows(), c, b, n);
    }

    /// `c += X[rows]·b` for a range of `X`'s rows, with `b` `cols × n` and
    /// `c` `rows.len() × n`: one step's drive, computed inside the loop
    /// while it is in cache.
    ///
    /// # Panics
    /// If the range or a slice's length does not match (a programming error
    /// inside this crate).
    pub fn matmul_acc_rows(&self, rows: Range<usize>, c: &mut [T], b: &[T], n: usize) {
        assert!(
            rows.end <= self.rows(),
            "SparseRows: rows {rows:?} out of range"
        );
        assert_eq!(
            c.len(),
            rows.len() * n,
            "SparseRows: c is not {}×{n}",
            rows.len()
        );
        assert_eq!(b.len(), self.cols * n, "SparseRows: b is not cols×{n}");
        scatter(self, rows, c, b, n, Direction::Gather);
    }

    /// `c += Xᵀ·d`, with `d` `rows × n` and `c` `cols × n`, row-major.
    ///
    /// # Panics
    /// If a slice's length does not match (a programming error inside this crate).
    pub fn t_matmul_acc(&self, c: &mut [T], d: &[T], n: usize) {
        self.t_matmul_acc_rows(0..self.rows(), c, d, n);
    }

    /// `c += X[rows]ᵀ·d` for a range of `X`'s rows, with `d`
    /// `rows.len() × n` and `c` `cols × n`: one step's share of the input
    /// weights' gradient, taken while that step's gradient is in cache.
    ///
    /// # Panics
    /// If the range or a slice's length does not match (a programming error
    /// inside this crate).
    pub fn t_matmul_acc_rows(&self, rows: Range<usize>, c: &mut [T], d: &[T], n: usize) {
        assert!(
            rows.end <= self.rows(),
            "SparseRows: rows {rows:?} out of range"
        );
        assert_eq!(c.len(), self.cols * n, "SparseRows: c is not cols×{n}");
        assert_eq!(
            d.len(),
            rows.len() * n,
            "SparseRows: d is not {}×{n}",
            rows.len()
        );
        scatter(self, rows, c, d, n, Direction::Scatter);
    }
}

/// Which side of an entry `(r, j, v)` is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// `c[r] += v·b[j]` (the product `X·b`).
    Gather,
    /// `c[j] += v·d[r]` (the product `Xᵀ·d`).
    Scatter,
}

/// One `n`-long multiply–add per entry, compiled twice (baseline x86-64,
/// and AVX2 + FMA with fused multiply–adds, picked at run time).
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn scatter<T: Real>(
    x: &SparseRows<T>,
    rows: Range<usize>,
    c: &mut [T],
    b: &[T],
    n: usize,
    dir: Direction,
) {
    let fused = multiversion::target::target_cfg_f!(target_feature = "fma");
    // `r` counts from the range's first row: it indexes the dense side.
    for (r, w) in x.starts[rows.start..=rows.end].windows(2).enumerate() {
        for &(j, v) in &x.entries[w[0]..w[1]] {
            let j = j as usize;
            let (dst, src) = match dir {
                Direction::Gather => (&mut c[r * n..(r + 1) * n], &b[j * n..(j + 1) * n]),
                Direction::Scatter => (&mut c[j * n..(j + 1) * n], &b[r * n..(r + 1) * n]),
            };
            if fused {
                axpy::<T, true>(dst, v, src);
            } else {
                axpy::<T, false>(dst, v, src);
            }
        }
    }
}

/// `dst += v·src`.
#[inline(always)]
fn axpy<T: Real, const FUSED: bool>(dst: &mut [T], v: T, src: &[T]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = if FUSED { v.mul_add(s, *d) } else { *d + v * s };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::Op;
    use rand::{Rng, SeedableRng};

    /// `rows × cols` values, each nonzero (a small count) with probability `p`.
    fn counts(rows: usize, cols: usize, p: f64, seed: u64) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..rows * cols)
            .map(|_| {
                if rng.random_bool(p) {
                    f64::from(rng.random_range(1..4u8))
                } else {
                    0.0
                }
            })
            .collect()
    }

    fn normals(len: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    /// `op(x)·b` by the triple loop, in f64.
    fn reference(x: &[f64], op_x: Op, b: &[f64], m: usize, n: usize, k: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|l| {
                        let xv = match op_x {
                            Op::N => x[i * k + l],
                            Op::T => x[l * m + i],
                        };
                        xv * b[l * n + j]
                    })
                    .sum();
            }
        }
        c
    }

    #[test]
    fn entries_are_the_nonzeros_row_by_row() {
        let x = [0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -3.0];
        let s = SparseRows::from_dense(&x, 3, 1.0).expect("sparse enough");
        assert_eq!(s.rows(), 3);
        assert_eq!(s.nnz(), 3);
        assert_eq!(s.starts, vec![0, 1, 1, 3]);
        assert_eq!(s.entries, vec![(1, 2.0), (0, 1.0), (2, -3.0)]);
        // Groups of eight and the rest of a row: columns 3 and 9 of 10.
        let mut y = vec![0.0; 20];
        y[3] = 1.5;
        y[19] = -2.0;
        let s = SparseRows::from_dense(&y, 10, 1.0).expect("sparse enough");
        assert_eq!(s.starts, vec![0, 1, 2]);
        assert_eq!(s.entries, vec![(3, 1.5), (9, -2.0)]);
    }

    #[test]
    fn dense_matrices_are_refused() {
        let x = counts(40, 10, 0.5, 1);
        assert!(SparseRows::from_dense(&x, 10, MAX_DENSITY).is_none());
        let y = counts(40, 10, 0.05, 2);
        assert!(SparseRows::from_dense(&y, 10, MAX_DENSITY).is_some());
        assert!(SparseRows::<f64>::from_dense(&[], 0, 1.0).is_none());
    }

    /// `c + X·b` (`Op::N`) or `c + Xᵀ·b` (`Op::T`) through [`SparseRows`].
    fn sparse_product(
        x: &[f64],
        op_x: Op,
        b: &[f64],
        c: &[f64],
        m: usize,
        n: usize,
        k: usize,
    ) -> Vec<f64> {
        let mut c = c.to_vec();
        match op_x {
            Op::N => SparseRows::from_dense(x, k, 1.0)
                .expect("any density")
                .matmul_acc(&mut c, b, n),
            Op::T => SparseRows::from_dense(x, m, 1.0)
                .expect("any density")
                .t_matmul_acc(&mut c, b, n),
        }
        c
    }

    #[test]
    fn both_products_match_the_triple_loop_at_every_density() {
        for (case, &(m, n, k, p)) in [
            (1, 1, 1, 1.0),
            (30, 17, 9, 0.0),
            (150, 100, 50, 0.04),
            (64, 33, 20, 0.2),
            (50, 40, 30, 0.9),
        ]
        .iter()
        .enumerate()
        {
            let seed = case as u64 * 10;
            for op_x in [Op::N, Op::T] {
                let x = counts(m, k, p, seed);
                let b = normals(k * n, seed + 1);
                let start = normals(m * n, seed + 2);
                let expect = reference(&x, op_x, &b, m, n, k);
                let c = sparse_product(&x, op_x, &b, &start, m, n, k);
                for (idx, (&got, &want)) in c.iter().zip(&expect).enumerate() {
                    let want = want + start[idx];
                    assert!(
                        (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                        "({m}, {n}, {k}, p = {p}) {op_x:?}: c[{idx}] = {got}, expected {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn density_bound_is_inclusive() {
        // 4 of 16 entries nonzero: accepted at 0.25, refused just below.
        let mut x = vec![0.0; 16];
        for i in [1, 6, 11, 15] {
            x[i] = 1.0;
        }
        assert!(SparseRows::from_dense(&x, 4, 0.25).is_some());
        assert!(SparseRows::from_dense(&x, 4, 0.24).is_none());
        // Refused while rows are still being read: the dense first row
        // alone passes the bound.
        let mut y = vec![0.0; 4000];
        y[..40].fill(2.0);
        assert!(SparseRows::from_dense(&y, 40, 0.005).is_none());
        assert!(SparseRows::from_dense(&y, 40, 0.01).is_some());
    }

    #[test]
    fn row_range_products_match_the_triple_loop() {
        // One step at a time, as the recurrence uses them: rows in blocks
        // of 7 (the last one shorter), each block's products on its own.
        let (m, n, k, block) = (40, 13, 30, 7);
        let x = counts(m, k, 0.1, 21);
        let sx = SparseRows::from_dense(&x, k, 1.0).expect("any density");
        let b = normals(k * n, 22);
        let d = normals(m * n, 23);
        let forward = reference(&x, Op::N, &b, m, n, k);
        let backward = reference(&x, Op::T, &d, k, n, m);
        let mut c_back = vec![0.0; k * n];
        for lo in (0..m).step_by(block) {
            let hi = (lo + block).min(m);
            let mut c = vec![0.0; (hi - lo) * n];
            sx.matmul_acc_rows(lo..hi, &mut c, &b, n);
            for (got, want) in c.iter().zip(&forward[lo * n..hi * n]) {
                assert!((got - want).abs() <= 1e-12 * (1.0 + want.abs()));
            }
            sx.t_matmul_acc_rows(lo..hi, &mut c_back, &d[lo * n..hi * n], n);
        }
        for (got, want) in c_back.iter().zip(&backward) {
            assert!((got - want).abs() <= 1e-12 * (1.0 + want.abs()));
        }
    }

    #[test]
    fn f32_products_match_f64() {
        let (m, n, k) = (120, 37, 25);
        let x = counts(m, k, 0.1, 7);
        let b = normals(k * n, 8);
        let expect = reference(&x, Op::T, &b, m, n, k);
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        let mut c = vec![0.0f32; m * n];
        SparseRows::from_dense(&x32, m, MAX_DENSITY)
            .expect("10 % nonzero")
            .t_matmul_acc(&mut c, &b32, n);
        for (&got, &want) in c.iter().zip(&expect) {
            assert!((f64::from(got) - want).abs() <= 1e-5 * (1.0 + want.abs()));
        }
    }
}
