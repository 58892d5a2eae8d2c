//! The noise generator of the LIF simulations: eight interleaved
//! xoshiro128++ generators seeded from the project's ChaCha8 (by seed and
//! stream), and a vectorisable Box–Muller transform to standard normals in
//! `f32`.
//!
//! A LIF run draws one normal per unit per 0.05-ms step (210 million for one
//! network's fixation set), so the generator is the hot path. xoshiro128++
//! is several times cheaper per word than ChaCha8, passes BigCrush, and works
//! on 32-bit words, so eight lanes fill one AVX2 register (four with SSE2)
//! with no 64-bit shifts or lane shuffles. Two 32-bit words make **two**
//! normals, and the transform has no branches, so the compiler runs it on
//! SIMD lanes (a ziggurat's rejection branch keeps it scalar). Same seed and
//! stream, same draws, on any thread count and with or without AVX2.
//!
//! Transform of one word pair `(h, l)` (bits 8–31 of `h` → u₁, bits 8–31 of
//! `l` → a, bits 0–2 of `l` → the symmetries):
//!
//! ```text
//! u₁ = (h[8..32] + ½)·2⁻²⁴ ∈ (0, 1),   r = √(−2 ln u₁)
//! a  = (π/4)(l[8..32] + ½)·2⁻²⁴ ∈ (0, π/4)
//! (x, y) = r (cos a, sin a), swapped if bit 0, x negated if bit 1, y if bit 2
//! ```
//!
//! The eight images of `a ∈ (0, π/4)` under swap and sign flips cover the
//! circle uniformly, so `(x, y)` are two independent N(0, 1) draws (Box &
//! Muller 1958), truncated at |z| ≤ √(2·ln 2²⁵) ≈ 5.9 by the 24-bit u₁ (a
//! tail of mass 4·10⁻⁹). `ln` and `sin`/`cos` are series on reduced ranges,
//! accurate to a few f32 ulps; neither has a division.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Eight interleaved xoshiro128++ generators (Blackman & Vigna 2021), lane
/// `l` seeded from words `4l..4l+4` (`next_u32`) of a ChaCha8 stream. The
/// lanes give the compiler independent dependency chains and SIMD lanes to
/// work with; as an `RngCore`, the words come lane 0, 1, …, 7, 0, 1, ….
#[derive(Debug, Clone)]
pub struct NoiseRng {
    /// `s[j][l]`: state word j of lane l.
    s: [[u32; LANES]; 4],
    /// Words of the last block not handed out yet by `next_u32`.
    pending: [u32; LANES],
    next: usize,
}

/// Independent generators stepped together.
const LANES: usize = 8;

/// Normal pairs made per block of the transform (a multiple of `LANES`;
/// 128 pairs cover a 200-unit population in one block).
const BLOCK: usize = 128;

impl NoiseRng {
    /// A generator for stream `stream` of master seed `seed` (e.g. one per trial).
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut c = ChaCha8Rng::seed_from_u64(seed);
        c.set_stream(stream);
        let mut s = [[0u32; LANES]; 4];
        for l in 0..LANES {
            for row in &mut s {
                row[l] = c.next_u32();
            }
            if s.iter().all(|row| row[l] == 0) {
                s[0][l] = 1;
            }
        }
        Self {
            s,
            pending: [0; LANES],
            next: LANES,
        }
    }

    /// Fill `out` with independent standard normals (Box–Muller, see the
    /// module docs), two per pair of words, made in blocks of 256. Runs the
    /// AVX2 copy of the transform where the CPU has it; the draws are the
    /// same bits either way.
    pub fn fill_standard_normal(&mut self, out: &mut [f32]) {
        fill_standard_normal(self, out);
    }

    /// [`NoiseRng::fill_standard_normal`], inlined into its caller, so that
    /// a caller compiled for AVX2 (the LIF trial loop) gets the transform
    /// on 8 lanes. A block of `m` pairs steps the lanes `2⌈m/8⌉` times:
    /// words for u₁ from the even steps, for the angle from the odd ones.
    #[inline(always)]
    pub(crate) fn fill_standard_normal_inline(&mut self, out: &mut [f32]) {
        let mut hi = [0u32; BLOCK];
        let mut lo = [0u32; BLOCK];
        let mut xs = [0f32; BLOCK];
        let mut ys = [0f32; BLOCK];
        for chunk in out.chunks_mut(2 * BLOCK) {
            let m = chunk.len().div_ceil(2);
            let words = m.div_ceil(LANES) * LANES;
            for (h, l) in hi[..words]
                .chunks_exact_mut(LANES)
                .zip(lo[..words].chunks_exact_mut(LANES))
            {
                h.copy_from_slice(&step_lanes(&mut self.s));
                l.copy_from_slice(&step_lanes(&mut self.s));
            }
            box_muller(
                &hi[..words],
                &lo[..words],
                &mut xs[..words],
                &mut ys[..words],
            );
            let (a, b) = chunk.split_at_mut(m);
            a.copy_from_slice(&xs[..m]);
            b.copy_from_slice(&ys[..b.len()]);
        }
    }
}

/// One step of every lane: one output word per lane.
#[inline(always)]
fn step_lanes(s: &mut [[u32; LANES]; 4]) -> [u32; LANES] {
    let [s0, s1, s2, s3] = s;
    let mut out = [0u32; LANES];
    for l in 0..LANES {
        out[l] = s0[l].wrapping_add(s3[l]).rotate_left(7).wrapping_add(s0[l]);
        let t = s1[l] << 9;
        s2[l] ^= s0[l];
        s3[l] ^= s1[l];
        s1[l] ^= s2[l];
        s0[l] ^= s3[l];
        s2[l] ^= t;
        s3[l] = s3[l].rotate_left(11);
    }
    out
}

/// The body of [`NoiseRng::fill_standard_normal`], compiled for the
/// baseline x86-64 instruction set and for AVX2 + FMA.
#[multiversion::multiversion(targets("x86_64+avx2+fma"))]
fn fill_standard_normal(rng: &mut NoiseRng, out: &mut [f32]) {
    rng.fill_standard_normal_inline(out);
}

/// Two normals per word pair: u₁ from the top 24 bits of `hi`, the angle
/// from the top 24 bits of `lo`, the symmetries from its bits 0–2.
/// All four slices have the same length.
#[inline(always)]
fn box_muller(hi: &[u32], lo: &[u32], xs: &mut [f32], ys: &mut [f32]) {
    const TWO_NEG_24: f32 = 1.0 / 16_777_216.0;
    const QUARTER_PI: f32 = std::f32::consts::FRAC_PI_4;
    let m = hi.len();
    let (lo, xs, ys) = (&lo[..m], &mut xs[..m], &mut ys[..m]);
    for k in 0..m {
        let (h, l) = (hi[k], lo[k]);
        let u1 = (((h >> 8) as i32) as f32 + 0.5) * TWO_NEG_24;
        let a = (((l >> 8) as i32) as f32 + 0.5) * (QUARTER_PI * TWO_NEG_24);
        let r = (-2.0 * ln_unit(u1)).sqrt();
        let (c, s) = (r * cos_small(a), r * sin_small(a));
        let swap = l & 1 != 0;
        let (x, y) = if swap { (s, c) } else { (c, s) };
        let sx = 1.0 - 2.0 * ((l >> 1) & 1) as i32 as f32;
        let sy = 1.0 - 2.0 * ((l >> 2) & 1) as i32 as f32;
        xs[k] = x * sx;
        ys[k] = y * sy;
    }
}

/// ln u for u ∈ (0, 1) normal (not subnormal): u = m·2ᵉ with m ∈ [√½, √2),
/// ln m = f − f²/2 + f³ P(f), f = m − 1, P of degree 7 fitted by least
/// squares on Chebyshev nodes (|error| < 10⁻⁸ on the range before f32
/// rounding). No division, and the polynomial in Estrin's form, so the
/// transform's dependency chain stays short.
#[inline(always)]
fn ln_unit(u: f32) -> f32 {
    const P: [f32; 8] = [
        3.333_332_9e-1,
        -2.500_029_7e-1,
        2.000_146_7e-1,
        -1.664_224_5e-1,
        1.420_221_3e-1,
        -1.297_230_1e-1,
        1.271_206_1e-1,
        -8.101_086e-2,
    ];
    let bits = u.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = (e + i32::from(big)) as f32;
    let f = m - 1.0;
    let f2 = f * f;
    let f4 = f2 * f2;
    let p = (P[0] + P[1] * f + f2 * (P[2] + P[3] * f))
        + f4 * ((P[4] + P[5] * f) + f2 * (P[6] + P[7] * f));
    e * std::f32::consts::LN_2 + (f - 0.5 * f2 + f2 * f * p)
}

/// sin a for a ∈ [0, π/4]: Taylor series to a⁹ (truncation < 2·10⁻⁹), in
/// Estrin's form.
#[inline(always)]
fn sin_small(a: f32) -> f32 {
    let a2 = a * a;
    let a4 = a2 * a2;
    a * ((1.0 - a2 * (1.0 / 6.0))
        + a4 * ((1.0 / 120.0 - a2 * (1.0 / 5040.0)) + a4 * (1.0 / 362_880.0)))
}

/// cos a for a ∈ [0, π/4]: Taylor series to a¹⁰ (truncation < 10⁻¹⁰), in
/// Estrin's form.
#[inline(always)]
fn cos_small(a: f32) -> f32 {
    let a2 = a * a;
    let a4 = a2 * a2;
    (1.0 - 0.5 * a2)
        + a4 * ((1.0 / 24.0 - a2 * (1.0 / 720.0))
            + a4 * (1.0 / 40_320.0 - a2 * (1.0 / 3_628_800.0)))
}

impl RngCore for NoiseRng {
    #[inline]
    fn next_u32(&mut self) -> u32 {
        if self.next == LANES {
            self.pending = step_lanes(&mut self.s);
            self.next = 0;
        }
        self.next += 1;
        self.pending[self.next - 1]
    }
    /// Two consecutive words, the first in the low half.
    #[inline]
    fn next_u64(&mut self) -> u64 {
        let lo = u64::from(self.next_u32());
        lo | (u64::from(self.next_u32()) << 32)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(4) {
            let w = self.next_u32().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_match_libm_on_their_ranges() {
        for k in 1..=10_000 {
            let u = k as f32 / 10_001.0;
            let want = f64::from(u).ln();
            let got = f64::from(ln_unit(u));
            assert!(
                (got - want).abs() <= 4e-7 * want.abs().max(1e-3),
                "ln {u}: {got} vs {want}"
            );
            let a = u * std::f32::consts::FRAC_PI_4;
            let (s, c) = f64::from(a).sin_cos();
            assert!((f64::from(sin_small(a)) - s).abs() < 2e-7, "sin {a}");
            assert!((f64::from(cos_small(a)) - c).abs() < 2e-7, "cos {a}");
        }
        // The smallest u₁ the transform meets.
        let u = 0.5f32 / 16_777_216.0;
        assert!((f64::from(ln_unit(u)) - f64::from(u).ln()).abs() < 1e-5);
    }
}
