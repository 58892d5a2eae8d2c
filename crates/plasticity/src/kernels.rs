//! The inner loops of the rate network, written so the compiler vectorizes
//! them: a dot product with eight independent accumulators, an (optionally
//! masked) `row -= c · x`, and the two fused into one pass over a row.
//!
//! [`update_and_matvec`] runs a whole step's pass over L. On x86-64 CPUs with
//! AVX2 it runs the same code compiled for AVX2 (chosen at run time); the
//! arithmetic, and so every result, is the same on either path because no
//! operation is contracted into a fused multiply-add.

/// Number of independent partial sums in the dot products (four AVX2
/// vectors of four lanes: enough to hide the addition latency).
const LANES: usize = 16;

/// The fixed reduction of the [`LANES`] partial sums: lane-wise
/// s_l = (acc_l + acc_{4+l}) + (acc_{8+l} + acc_{12+l}), then
/// (s₀ + s₁) + (s₂ + s₃).
#[inline(always)]
fn reduce(acc: &[f64; LANES]) -> f64 {
    let s: [f64; 4] = std::array::from_fn(|l| (acc[l] + acc[4 + l]) + (acc[8 + l] + acc[12 + l]));
    (s[0] + s[1]) + (s[2] + s[3])
}

/// Σ_j a_j b_j with [`LANES`] partial sums (slices of equal length).
#[inline(always)]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f64; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    reduce(&acc) + tail
}

/// `row_j -= c · x_j` for every j.
#[inline]
pub fn sub_scaled(row: &mut [f64], c: f64, x: &[f64]) {
    debug_assert_eq!(row.len(), x.len());
    for (l, v) in row.iter_mut().zip(x) {
        *l -= c * v;
    }
}

/// `row_j -= c · w_j · x_j` for every j (a masked update).
#[inline]
pub fn sub_scaled_masked(row: &mut [f64], c: f64, w: &[f64], x: &[f64]) {
    debug_assert_eq!(row.len(), x.len());
    debug_assert_eq!(row.len(), w.len());
    for ((l, m), v) in row.iter_mut().zip(w).zip(x) {
        *l -= c * m * v;
    }
}

/// `row_j -= c · p_j` for every j, then Σ_j row_j x_j over the updated row:
/// one pass over the row instead of two.
#[inline(always)]
fn sub_scaled_dot(row: &mut [f64], c: f64, p: &[f64], x: &[f64]) -> f64 {
    debug_assert_eq!(row.len(), p.len());
    debug_assert_eq!(row.len(), x.len());
    let mut acc = [0.0f64; LANES];
    let mut rows = row.chunks_exact_mut(LANES);
    let mut ps = p.chunks_exact(LANES);
    let mut xs = x.chunks_exact(LANES);
    for ((l, pp), xx) in (&mut rows).zip(&mut ps).zip(&mut xs) {
        for k in 0..LANES {
            l[k] -= c * pp[k];
            acc[k] += l[k] * xx[k];
        }
    }
    let mut tail = 0.0;
    for ((l, pp), xx) in rows
        .into_remainder()
        .iter_mut()
        .zip(ps.remainder())
        .zip(xs.remainder())
    {
        *l -= c * pp;
        tail += *l * xx;
    }
    reduce(&acc) + tail
}

/// A pending plastic change L ← L − c pᵀ of the recurrent matrix.
#[derive(Debug, Clone, Copy)]
pub struct RankOneUpdate<'a> {
    /// Per-row factor cᵢ, indexed by the absolute row; rows with cᵢ = 0 are
    /// left unchanged.
    pub c: &'a [f64],
    /// Presynaptic factor p over the leading columns (those the pass covers).
    pub p: &'a [f64],
    /// Keep the diagonal at zero (no autapses).
    pub zero_diag: bool,
}

/// One step's pass over a block of rows of the row-major recurrent matrix:
/// `l` holds `y.len()` rows of `stride` entries, the first being row
/// `first_row`, and the pass covers each row's leading m = `x.len()` columns
/// (the columns beyond m must have p_j = x_j = 0). Applies `update` to every
/// row with cᵢ ≠ 0 and writes yᵢ = Lᵢ · x with the updated row.
#[inline(always)]
fn update_and_matvec_body(
    l: &mut [f64],
    stride: usize,
    first_row: usize,
    update: &RankOneUpdate<'_>,
    x: &[f64],
    y: &mut [f64],
) {
    let m = x.len();
    for (k, (chunk, yi)) in l.chunks_exact_mut(stride).zip(y.iter_mut()).enumerate() {
        let row = &mut chunk[..m];
        let i = first_row + k;
        let ci = update.c[i];
        *yi = if ci == 0.0 {
            dot(row, x)
        } else {
            let mut acc = sub_scaled_dot(row, ci, update.p, x);
            if update.zero_diag && i < m {
                acc -= row[i] * x[i];
                row[i] = 0.0;
            }
            acc
        };
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
// The lane index addresses several pointers and accumulators at once.
#[allow(clippy::needless_range_loop)]
mod avx2 {
    //! [`super::update_and_matvec_body`] written with AVX2 intrinsics. Lane
    //! `l` of accumulator `m` holds the portable code's partial sum
    //! `acc[4m + l]`, and the reduction order is the same, so both paths give
    //! bit-identical results.

    use super::LANES;
    use std::arch::x86_64::{
        __m256d, _mm_add_pd, _mm_cvtsd_f64, _mm_unpackhi_pd, _mm256_add_pd, _mm256_castpd256_pd128,
        _mm256_extractf128_pd, _mm256_loadu_pd, _mm256_mul_pd, _mm256_set1_pd, _mm256_setzero_pd,
        _mm256_storeu_pd, _mm256_sub_pd,
    };

    /// The portable reduction of the 16 partial sums held as four vectors:
    /// s = (acc₀ + acc₁) + (acc₂ + acc₃), then (s₀ + s₁) + (s₂ + s₃).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn reduce(acc: [__m256d; 4]) -> f64 {
        let s = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
        let a = _mm256_castpd256_pd128(s);
        let b = _mm256_extractf128_pd::<1>(s);
        let a01 = _mm_add_pd(a, _mm_unpackhi_pd(a, a));
        let b23 = _mm_add_pd(b, _mm_unpackhi_pd(b, b));
        _mm_cvtsd_f64(_mm_add_pd(a01, b23))
    }

    /// Σ_j a_j b_j, same order as [`super::dot`].
    #[inline]
    #[target_feature(enable = "avx2")]
    fn dot(a: &[f64], b: &[f64]) -> f64 {
        assert_eq!(a.len(), b.len());
        let full = a.len() / LANES * LANES;
        let mut acc = [_mm256_setzero_pd(); 4];
        let mut j = 0;
        while j < full {
            for (m, acc_m) in acc.iter_mut().enumerate() {
                // SAFETY: j + LANES <= full <= the length of both slices.
                unsafe {
                    let pa = a.as_ptr().add(j + 4 * m);
                    let pb = b.as_ptr().add(j + 4 * m);
                    *acc_m = _mm256_add_pd(
                        *acc_m,
                        _mm256_mul_pd(_mm256_loadu_pd(pa), _mm256_loadu_pd(pb)),
                    );
                }
            }
            j += LANES;
        }
        let mut tail = 0.0;
        for k in full..a.len() {
            tail += a[k] * b[k];
        }
        reduce(acc) + tail
    }

    /// `row -= c p`, then Σ_j row_j x_j, same order as [`super::sub_scaled_dot`].
    #[inline]
    #[target_feature(enable = "avx2")]
    fn sub_scaled_dot(row: &mut [f64], c: f64, p: &[f64], x: &[f64]) -> f64 {
        let n = row.len();
        assert!(p.len() == n && x.len() == n);
        let full = n / LANES * LANES;
        let cv = _mm256_set1_pd(c);
        let mut acc = [_mm256_setzero_pd(); 4];
        let mut j = 0;
        while j < full {
            for (m, acc_m) in acc.iter_mut().enumerate() {
                // SAFETY: j + LANES <= full <= n, the length of all three slices.
                unsafe {
                    let pr = row.as_mut_ptr().add(j + 4 * m);
                    let pp = p.as_ptr().add(j + 4 * m);
                    let px = x.as_ptr().add(j + 4 * m);
                    let l =
                        _mm256_sub_pd(_mm256_loadu_pd(pr), _mm256_mul_pd(cv, _mm256_loadu_pd(pp)));
                    _mm256_storeu_pd(pr, l);
                    *acc_m = _mm256_add_pd(*acc_m, _mm256_mul_pd(l, _mm256_loadu_pd(px)));
                }
            }
            j += LANES;
        }
        let mut tail = 0.0;
        for k in full..n {
            row[k] -= c * p[k];
            tail += row[k] * x[k];
        }
        reduce(acc) + tail
    }

    /// [`sub_scaled_dot`] for two rows at once, sharing the loads of p and x.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn sub_scaled_dot2(rows: [&mut [f64]; 2], c: [f64; 2], p: &[f64], x: &[f64]) -> [f64; 2] {
        let n = x.len();
        assert!(p.len() == n && rows[0].len() == n && rows[1].len() == n);
        let full = n / LANES * LANES;
        let cv = [_mm256_set1_pd(c[0]), _mm256_set1_pd(c[1])];
        let mut acc = [[_mm256_setzero_pd(); 4]; 2];
        let ptr = [rows[0].as_mut_ptr(), rows[1].as_mut_ptr()];
        let mut j = 0;
        while j < full {
            for m in 0..4 {
                let o = j + 4 * m;
                // SAFETY: o + 4 <= full <= n, the length of all four slices.
                unsafe {
                    let pv = _mm256_loadu_pd(p.as_ptr().add(o));
                    let xv = _mm256_loadu_pd(x.as_ptr().add(o));
                    for r in 0..2 {
                        let q = ptr[r].add(o);
                        let l = _mm256_sub_pd(_mm256_loadu_pd(q), _mm256_mul_pd(cv[r], pv));
                        _mm256_storeu_pd(q, l);
                        acc[r][m] = _mm256_add_pd(acc[r][m], _mm256_mul_pd(l, xv));
                    }
                }
            }
            j += LANES;
        }
        let [r0, r1] = rows;
        let mut tail = [0.0; 2];
        for (r, row) in [r0, r1].into_iter().enumerate() {
            for k in full..n {
                row[k] -= c[r] * p[k];
                tail[r] += row[k] * x[k];
            }
        }
        [reduce(acc[0]) + tail[0], reduce(acc[1]) + tail[1]]
    }

    /// [`dot`] of two rows with the same x, sharing the loads of x.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn dot2(rows: [&[f64]; 2], x: &[f64]) -> [f64; 2] {
        let n = x.len();
        assert!(rows[0].len() == n && rows[1].len() == n);
        let full = n / LANES * LANES;
        let mut acc = [[_mm256_setzero_pd(); 4]; 2];
        let mut j = 0;
        while j < full {
            for m in 0..4 {
                let o = j + 4 * m;
                // SAFETY: o + 4 <= full <= n, the length of all three slices.
                unsafe {
                    let xv = _mm256_loadu_pd(x.as_ptr().add(o));
                    for r in 0..2 {
                        let l = _mm256_loadu_pd(rows[r].as_ptr().add(o));
                        acc[r][m] = _mm256_add_pd(acc[r][m], _mm256_mul_pd(l, xv));
                    }
                }
            }
            j += LANES;
        }
        let mut tail = [0.0; 2];
        for r in 0..2 {
            for k in full..n {
                tail[r] += rows[r][k] * x[k];
            }
        }
        [reduce(acc[0]) + tail[0], reduce(acc[1]) + tail[1]]
    }

    /// Zero the diagonal entry of changed row i (if it lies in the pass)
    /// and take its term out of the row's sum.
    #[inline]
    fn fix_diagonal(row: &mut [f64], i: usize, x: &[f64], zero_diag: bool, acc: f64) -> f64 {
        if zero_diag && i < x.len() {
            let out = acc - row[i] * x[i];
            row[i] = 0.0;
            out
        } else {
            acc
        }
    }

    /// [`super::update_and_matvec_body`] with the AVX2 row kernels, taking
    /// rows two at a time where both are changed or both are not.
    ///
    /// # Safety
    /// The CPU must support AVX2 (checked by the caller).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn update_and_matvec(
        l: &mut [f64],
        stride: usize,
        first_row: usize,
        update: &super::RankOneUpdate<'_>,
        x: &[f64],
        y: &mut [f64],
    ) {
        let m = x.len();
        let (c, p, zd) = (update.c, update.p, update.zero_diag);
        let rows = y.len();
        let mut k = 0;
        while k < rows {
            let i = first_row + k;
            let pair = k + 1 < rows && (c[i] == 0.0) == (c[i + 1] == 0.0);
            if pair {
                let (a, b) = l[k * stride..(k + 2) * stride].split_at_mut(stride);
                let (a, b) = (&mut a[..m], &mut b[..m]);
                if c[i] == 0.0 {
                    [y[k], y[k + 1]] = dot2([a, b], x);
                } else {
                    let [s0, s1] = sub_scaled_dot2([&mut *a, &mut *b], [c[i], c[i + 1]], p, x);
                    y[k] = fix_diagonal(a, i, x, zd, s0);
                    y[k + 1] = fix_diagonal(b, i + 1, x, zd, s1);
                }
                k += 2;
            } else {
                let row = &mut l[k * stride..k * stride + m];
                y[k] = if c[i] == 0.0 {
                    dot(row, x)
                } else {
                    let s0 = sub_scaled_dot(row, c[i], p, x);
                    fix_diagonal(row, i, x, zd, s0)
                };
                k += 1;
            }
        }
    }
}

/// The fused per-step pass over L (see [`update_and_matvec_body`]): the
/// pending plastic change `update` and the next mat-vec y = L x over the
/// leading `x.len()` columns, reading and writing each row once. `l` holds
/// `y.len()` rows of `stride` entries starting at row `first_row`.
///
/// # Panics
/// If the lengths do not fit together.
pub fn update_and_matvec(
    l: &mut [f64],
    stride: usize,
    first_row: usize,
    update: &RankOneUpdate<'_>,
    x: &[f64],
    y: &mut [f64],
) {
    assert_eq!(l.len(), y.len() * stride, "L block must be rows × stride");
    assert!(x.len() <= stride, "x covers at most a row");
    assert_eq!(
        update.p.len(),
        x.len(),
        "p and x must cover the same columns"
    );
    assert!(
        first_row + y.len() <= update.c.len(),
        "c must cover every row"
    );
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 support was just checked.
        #[allow(unsafe_code)]
        unsafe {
            avx2::update_and_matvec(l, stride, first_row, update, x, y)
        };
        return;
    }
    update_and_matvec_body(l, stride, first_row, update, x, y);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_a_plain_sum_for_every_length() {
        for n in 0..40 {
            let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
            let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos()).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-12, "n = {n}");
        }
    }

    /// The fused pass equals the update followed by a separate mat-vec.
    #[test]
    fn fused_pass_matches_update_then_matvec() {
        for n in [1usize, 7, 8, 13, 64] {
            let l0: Vec<f64> = (0..n * n)
                .map(|i| ((i * 7919) % 97) as f64 / 97.0 - 0.5)
                .collect();
            let c: Vec<f64> = (0..n)
                .map(|i| if i % 3 == 0 { 0.0 } else { 0.1 * i as f64 })
                .collect();
            let p: Vec<f64> = (0..n).map(|j| (j as f64 * 0.3).sin()).collect();
            let x: Vec<f64> = (0..n).map(|j| (j as f64 * 0.7).cos()).collect();
            for zero_diag in [false, true] {
                let mut expect = l0.clone();
                for i in 0..n {
                    if c[i] != 0.0 {
                        for j in 0..n {
                            expect[i * n + j] -= c[i] * p[j];
                        }
                        if zero_diag {
                            expect[i * n + i] = 0.0;
                        }
                    }
                }
                let y_expect: Vec<f64> = (0..n)
                    .map(|i| (0..n).map(|j| expect[i * n + j] * x[j]).sum())
                    .collect();
                let mut l = l0.clone();
                let mut y = vec![0.0; n];
                let update = RankOneUpdate {
                    c: &c,
                    p: &p,
                    zero_diag,
                };
                update_and_matvec(&mut l, n, 0, &update, &x, &mut y);
                for (a, b) in l.iter().zip(&expect) {
                    assert!((a - b).abs() < 1e-14, "n = {n}");
                }
                for (a, b) in y.iter().zip(&y_expect) {
                    assert!((a - b).abs() < 1e-12, "n = {n}: {a} vs {b}");
                }
            }
        }
    }

    /// The run-time-selected path (AVX2 where the CPU has it) and the
    /// portable code give bit-identical rows and mat-vec.
    #[test]
    fn dispatched_pass_is_bit_identical_to_the_portable_one() {
        for n in [3usize, 16, 37, 100] {
            let l0: Vec<f64> = (0..n * n)
                .map(|i| ((i * 104_729) % 1013) as f64 / 1013.0 - 0.5)
                .collect();
            let c: Vec<f64> = (0..n)
                .map(|i| {
                    if i % 4 == 1 {
                        0.0
                    } else {
                        1e-3 * (i as f64 + 0.5)
                    }
                })
                .collect();
            let p: Vec<f64> = (0..n).map(|j| (j as f64 * 1.3).sin().max(0.0)).collect();
            let x: Vec<f64> = (0..n).map(|j| (j as f64 * 0.9).cos().max(0.0)).collect();
            for m in [n, n / 2] {
                let (mut l1, mut l2) = (l0.clone(), l0.clone());
                let (mut y1, mut y2) = (vec![0.0; n], vec![0.0; n]);
                let update = RankOneUpdate {
                    c: &c,
                    p: &p[..m],
                    zero_diag: true,
                };
                update_and_matvec(&mut l1, n, 0, &update, &x[..m], &mut y1);
                update_and_matvec_body(&mut l2, n, 0, &update, &x[..m], &mut y2);
                assert_eq!(l1, l2, "n = {n}, m = {m}");
                assert_eq!(y1, y2, "n = {n}, m = {m}");
            }
        }
    }

    #[test]
    fn masked_update_skips_masked_entries() {
        let mut row = vec![1.0; 5];
        sub_scaled_masked(&mut row, 2.0, &[1.0, 0.0, 1.0, 0.0, 1.0], &[1.0; 5]);
        assert_eq!(row, [-1.0, 1.0, -1.0, 1.0, -1.0]);
        sub_scaled(&mut row, 0.5, &[2.0; 5]);
        assert_eq!(row, [-2.0, 0.0, -2.0, 0.0, -2.0]);
    }
}
