//! Least-squares fits of one and two exponentials by variable projection.
//!
//! For a fixed timescale the models `a·exp(−Δ/τ) + c` and
//! `a₁·exp(−Δ/τ₁) + a₂·exp(−Δ/τ₂) + c` are linear in their amplitudes, so
//! the amplitudes are solved exactly (normal equations) and only the
//! timescales are searched (Golub & Pereyra 1973): on a log-spaced grid over
//! a bounded range, then refined (golden section for one τ, a shrinking
//! pattern search in log τ for two). The single-exponential fit minimises the
//! same residual sum of squares as [`super::fit_exponential_decay`] (the
//! offset `c` is its `A·B`), but it cannot fail: it returns the best τ inside
//! the range, and `a = 0` when the data show no decay. Amplitudes are
//! constrained to be ≥ 0 (a decaying autocorrelation).

use serde::Serialize;

/// A single-exponential fit `a·exp(−Δ/τ) + c` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProfileFit {
    /// τ, ms, within the search range.
    pub tau_ms: f64,
    /// Amplitude a at Δ = 0 (≥ 0; 0: no decay, τ then meaningless).
    pub a: f64,
    /// Offset c.
    pub c: f64,
    /// Residual sum of squares.
    pub rss: f64,
}

/// A two-exponential fit `a₁·exp(−Δ/τ₁) + a₂·exp(−Δ/τ₂) + c`, τ₁ < τ₂, c ≥ 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TwoExpFit {
    /// Faster timescale τ₁, ms.
    pub tau1_ms: f64,
    /// Slower timescale τ₂, ms.
    pub tau2_ms: f64,
    /// Amplitude of the fast component (> 0).
    pub a1: f64,
    /// Amplitude of the slow component (> 0).
    pub a2: f64,
    /// Offset c.
    pub c: f64,
    /// Residual sum of squares.
    pub rss: f64,
}

/// Weighted sums of `y` the fits need: Σw, Σwy, Σwy².
fn sums(y: &[f64], w: &[f64]) -> (f64, f64, f64) {
    y.iter()
        .zip(w)
        .fold((0.0, 0.0, 0.0), |(n, s, ss), (&v, &wi)| {
            (n + wi, s + wi * v, ss + wi * v * v)
        })
}

/// Amplitudes and weighted RSS of `a·e + c` for one basis vector `e`
/// (a ≥ 0, and c ≥ 0 when `nonneg_offset`); `(n, sy, syy)` from [`sums`].
fn solve_one(
    e: &[f64],
    y: &[f64],
    w: &[f64],
    (n, sy, syy): (f64, f64, f64),
    nonneg_offset: bool,
) -> (f64, f64, f64) {
    let (mut se, mut see, mut sey) = (0.0, 0.0, 0.0);
    for ((&ei, &yi), &wi) in e.iter().zip(y).zip(w) {
        se += wi * ei;
        see += wi * ei * ei;
        sey += wi * ei * yi;
    }
    let flat_c = if nonneg_offset {
        (sy / n).max(0.0)
    } else {
        sy / n
    };
    let flat = (
        0.0,
        flat_c,
        (syy - 2.0 * flat_c * sy + flat_c * flat_c * n).max(0.0),
    );
    let det = see * n - se * se;
    if det <= 1e-14 * see * n {
        return flat;
    }
    let mut a = (sey * n - se * sy) / det;
    let mut c = (see * sy - se * sey) / det;
    if nonneg_offset && c < 0.0 {
        // Offset pinned at 0: a·e alone.
        c = 0.0;
        a = if see > 0.0 { sey / see } else { 0.0 };
    }
    if a <= 0.0 {
        return flat;
    }
    let rss =
        (syy - 2.0 * (a * sey + c * sy) + a * a * see + 2.0 * a * c * se + c * c * n).max(0.0);
    (a, c, rss)
}

/// Log-spaced grid of `n` points over [lo, hi].
fn log_grid(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (l0, l1) = (lo.ln(), hi.ln());
    (0..n)
        .map(|i| (l0 + (l1 - l0) * i as f64 / (n - 1) as f64).exp())
        .collect()
}

/// Fit `a·exp(−Δ/τ) + c` to `y` at `lags_ms` by weighted least squares
/// (weights `w` > 0, one per point; all ones for ordinary least squares),
/// τ in `[tau_lo_ms, tau_hi_ms]` (0 < lo < hi), c ≥ 0 when
/// `nonneg_offset`. Needs at least 3 finite points (the caller checks).
pub fn fit_one_exponential(
    lags_ms: &[f64],
    y: &[f64],
    w: &[f64],
    tau_lo_ms: f64,
    tau_hi_ms: f64,
    nonneg_offset: bool,
) -> ProfileFit {
    let s = sums(y, w);
    let mut e = vec![0.0; y.len()];
    let mut eval = |tau: f64| {
        for (ei, &l) in e.iter_mut().zip(lags_ms) {
            *ei = (-l / tau).exp();
        }
        let (a, c, rss) = solve_one(&e, y, w, s, nonneg_offset);
        ProfileFit {
            tau_ms: tau,
            a,
            c,
            rss,
        }
    };
    const GRID: usize = 40;
    let grid = log_grid(tau_lo_ms, tau_hi_ms, GRID);
    let fits: Vec<ProfileFit> = grid.iter().map(|&t| eval(t)).collect();
    let best = (0..GRID)
        .min_by(|&i, &j| fits[i].rss.total_cmp(&fits[j].rss))
        .unwrap_or(0);
    if fits[best].a == 0.0 {
        return fits[best];
    }
    // Golden section on log τ between the neighbours of the best grid point.
    let (mut lo, mut hi) = (
        grid[best.saturating_sub(1)].ln(),
        grid[(best + 1).min(GRID - 1)].ln(),
    );
    let g = 0.5 * (5f64.sqrt() - 1.0);
    let mut x1 = hi - g * (hi - lo);
    let mut x2 = lo + g * (hi - lo);
    let mut f1 = eval(x1.exp());
    let mut f2 = eval(x2.exp());
    for _ in 0..22 {
        if f1.rss <= f2.rss {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - g * (hi - lo);
            f1 = eval(x1.exp());
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + g * (hi - lo);
            f2 = eval(x2.exp());
        }
    }
    let refined = if f1.rss <= f2.rss { f1 } else { f2 };
    if refined.rss <= fits[best].rss && refined.a > 0.0 {
        refined
    } else {
        fits[best]
    }
}

/// The weighted least-squares amplitude (≥ 0) and offset of
/// `a·exp(−Δ/τ) + c` at a fixed τ (weights as [`fit_one_exponential`]).
pub fn fit_at_tau(lags_ms: &[f64], y: &[f64], w: &[f64], tau_ms: f64) -> ProfileFit {
    let e: Vec<f64> = lags_ms.iter().map(|&l| (-l / tau_ms).exp()).collect();
    let (a, c, rss) = solve_one(&e, y, w, sums(y, w), false);
    ProfileFit { tau_ms, a, c, rss }
}

/// (a₁, a₂, c, weighted RSS) of a two-exponential fit at fixed timescales.
type TwoSolution = (f64, f64, f64, f64);

/// Amplitudes and weighted RSS of `a₁e₁ + a₂e₂ + c` (both a > 0), or None.
fn solve_two(e1: &[f64], e2: &[f64], y: &[f64], w: &[f64]) -> Option<TwoSolution> {
    // Normal equations G p = r, G = XᵀWX for X = [e1 e2 1].
    let mut g = [[0.0f64; 3]; 3];
    let mut r = [0.0f64; 3];
    let mut syy = 0.0;
    for (((&a, &b), &v), &wi) in e1.iter().zip(e2).zip(y).zip(w) {
        let x = [a, b, 1.0];
        for i in 0..3 {
            for j in i..3 {
                g[i][j] += wi * x[i] * x[j];
            }
            r[i] += wi * x[i] * v;
        }
        syy += wi * v * v;
    }
    // Mirror the upper triangle.
    (g[1][0], g[2][0], g[2][1]) = (g[0][1], g[0][2], g[1][2]);
    // Cramer's rule on the 3 × 3 system.
    let det3 = |m: &[[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det3(&g);
    let scale = g[0][0] * g[1][1] * g[2][2];
    if d.abs().is_nan() || d.abs() <= 1e-12 * scale {
        return None;
    }
    let mut p = [0.0; 3];
    for (k, pk) in p.iter_mut().enumerate() {
        let mut m = g;
        for i in 0..3 {
            m[i][k] = r[i];
        }
        *pk = det3(&m) / d;
    }
    if p[2] < 0.0 {
        // Offset pinned at 0: the 2 × 2 system of the two exponentials.
        let d2 = g[0][0] * g[1][1] - g[0][1] * g[1][0];
        if d2.is_nan() || d2.abs() <= 1e-12 * g[0][0] * g[1][1] {
            return None;
        }
        p = [
            (r[0] * g[1][1] - g[0][1] * r[1]) / d2,
            (g[0][0] * r[1] - g[1][0] * r[0]) / d2,
            0.0,
        ];
    }
    if !(p[0] > 0.0 && p[1] > 0.0) {
        return None;
    }
    // RSS = yᵀWy − 2 pᵀr + pᵀGp.
    let mut quad = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            quad += p[i] * g[i][j] * p[j];
        }
    }
    let rss = (syy - 2.0 * (p[0] * r[0] + p[1] * r[1] + p[2] * r[2]) + quad).max(0.0);
    Some((p[0], p[1], p[2], rss))
}

/// Fit `a₁·exp(−Δ/τ₁) + a₂·exp(−Δ/τ₂) + c` by weighted least squares
/// (weights as [`fit_one_exponential`]; a₁, a₂ > 0, c ≥ 0, τ₁ < τ₂ both in
/// `[tau_lo_ms, tau_hi_ms]`), or None when no pair of timescales gives two
/// positive amplitudes. The offset is kept ≥ 0 (a trial-to-trial rate
/// variance) because a slow exponential with a negative offset otherwise
/// mimics a straight line. Needs at least 4 points (the caller checks).
pub fn fit_two_exponentials(
    lags_ms: &[f64],
    y: &[f64],
    w: &[f64],
    tau_lo_ms: f64,
    tau_hi_ms: f64,
) -> Option<TwoExpFit> {
    const GRID: usize = 24;
    let grid = log_grid(tau_lo_ms, tau_hi_ms, GRID);
    let basis: Vec<Vec<f64>> = grid
        .iter()
        .map(|&t| lags_ms.iter().map(|&l| (-l / t).exp()).collect())
        .collect();
    let mut best: Option<(f64, f64, TwoSolution)> = None;
    for i in 0..GRID {
        for j in i + 1..GRID {
            if let Some(s) = solve_two(&basis[i], &basis[j], y, w)
                && best.is_none_or(|b| s.3 < b.2.3)
            {
                best = Some((grid[i].ln(), grid[j].ln(), s));
            }
        }
    }
    let (mut l1, mut l2, mut sol) = best?;
    // Pattern search in (log τ₁, log τ₂), step halving.
    let (llo, lhi) = (tau_lo_ms.ln(), tau_hi_ms.ln());
    let mut step = (lhi - llo) / (GRID - 1) as f64;
    let mut e1 = vec![0.0; y.len()];
    let mut e2 = vec![0.0; y.len()];
    let mut eval = |a: f64, b: f64| {
        if !(a < b && a >= llo && b <= lhi) {
            return None;
        }
        let (ta, tb) = (a.exp(), b.exp());
        for ((x1, x2), &l) in e1.iter_mut().zip(e2.iter_mut()).zip(lags_ms) {
            *x1 = (-l / ta).exp();
            *x2 = (-l / tb).exp();
        }
        solve_two(&e1, &e2, y, w)
    };
    for _ in 0..30 {
        let mut moved = false;
        for (d1, d2) in [(step, 0.0), (-step, 0.0), (0.0, step), (0.0, -step)] {
            if let Some(s) = eval(l1 + d1, l2 + d2)
                && s.3 < sol.3
            {
                l1 += d1;
                l2 += d2;
                sol = s;
                moved = true;
            }
        }
        if !moved {
            step *= 0.5;
        }
    }
    Some(TwoExpFit {
        tau1_ms: l1.exp(),
        tau2_ms: l2.exp(),
        a1: sol.0,
        a2: sol.1,
        c: sol.2,
        rss: sol.3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_exponential_exact() {
        let lags: Vec<f64> = (1..=13).map(|k| 50.0 * k as f64).collect();
        let y: Vec<f64> = lags
            .iter()
            .map(|l| 0.3 * (-l / 137.0).exp() + 0.02)
            .collect();
        let f = fit_one_exponential(&lags, &y, &vec![1.0; y.len()], 5.0, 2000.0, false);
        assert!((f.tau_ms - 137.0).abs() < 1e-3, "{f:?}");
        assert!(
            (f.a - 0.3).abs() < 1e-6 && (f.c - 0.02).abs() < 1e-6,
            "{f:?}"
        );
    }

    #[test]
    fn flat_or_rising_data_give_zero_amplitude() {
        let lags: Vec<f64> = (1..=9).map(|k| 50.0 * k as f64).collect();
        let y: Vec<f64> = (0..9).map(|k| 0.01 * k as f64).collect();
        let f = fit_one_exponential(&lags, &y, &vec![1.0; y.len()], 5.0, 2000.0, false);
        assert_eq!(f.a, 0.0);
        assert!((f.c - 0.04).abs() < 1e-12);
    }

    #[test]
    fn two_exponentials_exact() {
        let lags: Vec<f64> = (1..=19).map(|k| 50.0 * k as f64).collect();
        let y: Vec<f64> = lags
            .iter()
            .map(|l| 0.4 * (-l / 40.0).exp() + 0.1 * (-l / 400.0).exp() + 0.01)
            .collect();
        let f = fit_two_exponentials(&lags, &y, &vec![1.0; y.len()], 5.0, 2000.0).unwrap();
        assert!((f.tau1_ms - 40.0).abs() < 0.5, "{f:?}");
        assert!((f.tau2_ms - 400.0).abs() < 5.0, "{f:?}");
        assert!(f.rss < 1e-8, "{f:?}");
    }
}
