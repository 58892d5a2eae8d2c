//! The noise generator of the LIF simulations: xoshiro256++ seeded from the
//! project's ChaCha8 (by seed and stream), fed to rand_distr's ziggurat
//! `StandardNormal`. A LIF run draws one normal per unit per 0.05-ms step
//! (210 million for one network's fixation set), so the generator is the hot
//! path; xoshiro256++ is several times cheaper per word than ChaCha8 and
//! passes BigCrush. Same seed and stream, same draws, on any thread count.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// xoshiro256++ (Blackman & Vigna 2019).
#[derive(Debug, Clone)]
pub struct NoiseRng {
    s: [u64; 4],
}

impl NoiseRng {
    /// A generator for stream `stream` of master seed `seed` (e.g. one per trial).
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut c = ChaCha8Rng::seed_from_u64(seed);
        c.set_stream(stream);
        let mut s = [0u64; 4];
        for w in &mut s {
            *w = c.next_u64();
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Self { s }
    }
}

impl RngCore for NoiseRng {
    #[inline]
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
    #[inline]
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let w = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}
