//! Helpers shared by the rate-rnn benchmarks.

use candle_core::Tensor;

/// Mean over steps of the fraction of units active (nonzero) in some trial
/// of the batch, for rates `[T, B, N]`: the share of the recurrent products
/// the sparse path cannot skip.
pub fn active_density(rates: &Tensor) -> f64 {
    let (t, b, n) = rates.dims3().unwrap();
    let r: Vec<f32> = rates.flatten_all().unwrap().to_vec1().unwrap();
    let active = (0..t)
        .flat_map(|s| (0..n).map(move |j| (s, j)))
        .filter(|&(s, j)| (0..b).any(|k| r[(s * b + k) * n + j] != 0.0))
        .count();
    active as f64 / (t * n) as f64
}
