//! Branch-free single-precision e^x, softplus and logistic functions for the
//! fused recurrence's inner loops.
//!
//! The f32 models spend most of their non-gemm time in φ: libm's `exp` and
//! `log1p` are scalar calls (in f64 after the generic conversion), while
//! these are straight-line polynomials the compiler vectorises across a row
//! of units. Accuracy is a few ulp of f32 over the whole range (tested
//! against f64 libm below); f64 models keep libm.

/// log2(e).
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in a part exact in f32 and the rest (Cody–Waite reduction).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 · 2²³: adding and subtracting it rounds an f32 to the nearest integer.
const ROUND: f32 = 12_582_912.0;

/// e^x in f32: relative error ≤ 2 ulp on [ln 2⁻¹²⁶, 88]; 0 below ln 2⁻¹²⁶ ≈ −87.34 (where
/// e^x is subnormal), and x is clamped at 88 above (e^88 ≈ 1.7e38).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let underflow = x < -87.336_55;
    let x = x.clamp(-87.336_55, 88.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    // Minimax polynomial for (e^r − 1 − r)/r² on |r| ≤ ln2/2 (Cephes expf).
    let mut p = 1.987_569_2e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // 2ⁿ from its exponent bits; n ∈ [−126, 127] after the clamp.
    let e = y * f32::from_bits(((n as i32 + 127) as u32) << 23);
    if underflow { 0.0 } else { e }
}

/// ln(1 + z) for z ∈ [0, 1] through ln(1 + z) = 2 atanh(s), s = z/(2 + z) ≤ 1/3:
/// the odd series to s¹³ keeps the relative error below 2e-8 before rounding,
/// also for tiny z (where ln(1 + z) ≈ z).
#[inline(always)]
fn log1p_unit(z: f32) -> f32 {
    let s = z / (2.0 + z);
    let s2 = s * s;
    let mut p = 1.0_f32 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    p = p * s2 + 1.0;
    2.0 * s * p
}

/// softplus(a) = ln(1 + e^a) and its slope σ(a) = 1/(1 + e^{−a}), from one
/// exponential: with z = e^{−|a|}, softplus = max(a, 0) + ln(1 + z) and
/// σ = (a ≥ 0 ? 1 : z)/(1 + z).
#[inline(always)]
pub fn softplus_and_slope_f32(a: f32) -> (f32, f32) {
    let z = exp_f32(-a.abs());
    let num = if a >= 0.0 { 1.0 } else { z };
    (a.max(0.0) + log1p_unit(z), num / (1.0 + z))
}

/// The logistic σ(a) = 1/(1 + e^{−a}) and its slope σ(1 − σ) = z/(1 + z)²,
/// from one exponential z = e^{−|a|} (no overflow, and no cancellation in
/// 1 − σ where σ → 1).
#[inline(always)]
pub fn sigmoid_and_slope_f32(a: f32) -> (f32, f32) {
    let z = exp_f32(-a.abs());
    let num = if a >= 0.0 { 1.0 } else { z };
    let d = 1.0 + z;
    (num / d, z / (d * d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nonlinearity::Nonlinearity;

    /// Relative error of `got` against the f64 reference `want`; where the
    /// reference is below f32's normal range, 0 if `got` is too (flushed).
    fn rel(got: f32, want: f64) -> f64 {
        let tiny = f64::from(f32::MIN_POSITIVE);
        if want.abs() < tiny && got.abs() <= f32::MIN_POSITIVE {
            return 0.0;
        }
        (f64::from(got) - want).abs() / want.abs().max(tiny)
    }

    fn grid() -> impl Iterator<Item = f32> {
        (-200_000..=200_000).map(|k| k as f32 * 5e-4)
    }

    #[test]
    fn exp_matches_libm_to_a_few_ulp() {
        let worst = (-870_000..=880_000)
            .map(|k| k as f32 * 1e-4)
            .map(|x| rel(exp_f32(x), f64::from(x).exp()))
            .fold(0.0, f64::max);
        assert!(worst < 3.0 * f64::from(f32::EPSILON), "{worst:e}");
    }

    #[test]
    fn softplus_and_its_slope_match_the_f64_definitions() {
        let (mut worst_f, mut worst_d) = (0.0_f64, 0.0_f64);
        for a in grid() {
            let (f, d) = softplus_and_slope_f32(a);
            let x = f64::from(a);
            worst_f = worst_f.max(rel(f, Nonlinearity::Softplus.apply(x)));
            worst_d = worst_d.max(rel(d, Nonlinearity::Softplus.derivative(x)));
        }
        let eps = f64::from(f32::EPSILON);
        assert!(worst_f < 4.0 * eps, "softplus: {worst_f:e}");
        assert!(worst_d < 4.0 * eps, "slope: {worst_d:e}");
        // Tiny values keep their relative accuracy (ln(1 + z) ≈ z).
        let (f, _) = softplus_and_slope_f32(-80.0);
        assert!(rel(f, (-80.0_f64).exp()) < 4.0 * eps);
    }

    #[test]
    fn sigmoid_and_its_slope_match_the_f64_definitions() {
        let (mut worst_f, mut worst_d) = (0.0_f64, 0.0_f64);
        for a in grid() {
            let (f, d) = sigmoid_and_slope_f32(a);
            let x = f64::from(a);
            worst_f = worst_f.max(rel(f, Nonlinearity::Sigmoid.apply(x)));
            // σ'(a) = e^{−|a|}/(1 + e^{−|a|})², which unlike σ(1 − σ) in f64
            // does not cancel to 0 for large a.
            let z = (-x.abs()).exp();
            worst_d = worst_d.max(rel(d, z / ((1.0 + z) * (1.0 + z))));
        }
        let eps = f64::from(f32::EPSILON);
        assert!(worst_f < 4.0 * eps, "sigmoid: {worst_f:e}");
        assert!(worst_d < 6.0 * eps, "slope: {worst_d:e}");
    }
}
