//! The two inner loops of the rate network, written so the compiler
//! vectorizes them: a dot product with eight independent accumulators and an
//! (optionally masked) `row -= c · x`.

/// Σ_j a_j b_j with eight partial sums (slices of equal length).
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
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

    #[test]
    fn masked_update_skips_masked_entries() {
        let mut row = vec![1.0; 5];
        sub_scaled_masked(&mut row, 2.0, &[1.0, 0.0, 1.0, 0.0, 1.0], &[1.0; 5]);
        assert_eq!(row, [-1.0, 1.0, -1.0, 1.0, -1.0]);
        sub_scaled(&mut row, 0.5, &[2.0; 5]);
        assert_eq!(row, [-2.0, 0.0, -2.0, 0.0, -2.0]);
    }
}
