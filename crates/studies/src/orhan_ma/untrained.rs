//! Supp. Fig. 1 of Orhan & Ma 2019: untrained networks' response to a unit
//! pulse delivered to every unit at t = 0, over a grid of (λ0, σ0).

use anyhow::Result;
use ndarray::{Array2, Array3};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;
use wm_analysis::sequentiality::{SiParams, sequentiality_index};

use crate::orhan_ma::config::UntrainedGrid;

/// The initial recurrent matrix of Orhan & Ma 2019 (`LeInit.py` of the
/// original code, github.com/eminorhan/recurrent-memory), pre × post:
/// λ0 on the diagonal, N(0, σ0²/N) off the diagonal.
pub fn initial_recurrent(n: usize, lambda0: f64, sigma0: f64, seed: u64) -> Array2<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let sd = sigma0 / (n as f64).sqrt();
    let normal = Normal::new(0.0, sd.max(0.0)).expect("a finite, non-negative standard deviation");
    Array2::from_shape_fn((n, n), |(i, j)| {
        if i == j {
            lambda0
        } else {
            normal.sample(&mut rng)
        }
    })
}

/// Response `[n_steps, n_units]` of `h_t = relu(h_{t−1} W)` from `h_0 = 1`.
pub fn pulse_response(w: &Array2<f64>, n_steps: usize) -> Array2<f64> {
    let n = w.nrows();
    let mut out = Array2::zeros((n_steps, n));
    if n_steps == 0 {
        return out;
    }
    out.row_mut(0).fill(1.0);
    for t in 1..n_steps {
        let next = out.row(t - 1).dot(w).mapv(|a: f64| a.max(0.0));
        out.row_mut(t).assign(&next);
    }
    out
}

/// One cell of the untrained grid.
#[derive(Debug, Clone, Serialize)]
pub struct UntrainedCell {
    /// λ0 of the cell.
    pub lambda0: f64,
    /// σ0 of the cell.
    pub sigma0: f64,
    /// SI of the pulse response (NaN when no unit stays active).
    pub si: f64,
    /// Units whose mean response exceeds the SI activity threshold.
    pub n_active: usize,
}

/// SI of the pulse response at every (λ0, σ0) of the grid, each cell with its
/// own seed; also returns the responses themselves, row-major over (σ0, λ0).
pub fn untrained_grid(
    grid: &UntrainedGrid,
    seed: u64,
) -> Result<(Vec<UntrainedCell>, Vec<Array2<f64>>)> {
    let params = SiParams::default();
    let mut cells = Vec::new();
    let mut responses = Vec::new();
    for (i, &sigma0) in grid.sigma0.iter().enumerate() {
        for (j, &lambda0) in grid.lambda0.iter().enumerate() {
            let cell_seed = crate::io::derive_seed(seed, (i * grid.lambda0.len() + j) as u64);
            let w = initial_recurrent(grid.n_units, lambda0, sigma0, cell_seed);
            let h = pulse_response(&w, grid.n_steps);
            let n_active = h.mean_axis(ndarray::Axis(0)).map_or(0, |m| {
                m.iter().filter(|&&v| v > params.activity_threshold).count()
            });
            let trials: Array3<f64> = h.clone().insert_axis(ndarray::Axis(0));
            let si = sequentiality_index(trials.view(), &params)?.si;
            cells.push(UntrainedCell {
                lambda0,
                sigma0,
                si,
                n_active,
            });
            responses.push(h);
        }
    }
    Ok((cells, responses))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_has_exact_diagonal_and_the_stated_spread() {
        let n = 400;
        let w = initial_recurrent(n, 0.9, 0.4, 3);
        assert!((0..n).all(|i| w[[i, i]] == 0.9));
        let off: Vec<f64> = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| w[[i, j]])
            .collect();
        let m = off.len() as f64;
        let mean = off.iter().sum::<f64>() / m;
        let sd = (off.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (m - 1.0)).sqrt();
        let expect = 0.4 / (n as f64).sqrt();
        assert!(mean.abs() < 5.0 * expect / m.sqrt());
        assert!((sd / expect - 1.0).abs() < 0.01, "sd {sd} vs {expect}");
    }

    #[test]
    fn diagonal_network_decays_geometrically_and_is_not_sequential() {
        // σ0 = 0: W = λ0 I, so h_t = λ0^t for every unit and all peaks sit at t = 0.
        let w = initial_recurrent(50, 0.9, 0.0, 1);
        let h = pulse_response(&w, 30);
        for t in 0..30 {
            assert!(
                h.row(t)
                    .iter()
                    .all(|&v| (v - 0.9_f64.powi(t as i32)).abs() < 1e-12)
            );
        }
        // At λ0 = 0.9 the mean response (≈ 10/150) stays under the 0.1 activity
        // threshold, so no unit is active and SI is NaN, as the definition says.
        let grid = UntrainedGrid {
            n_units: 50,
            n_steps: 150,
            lambda0: vec![0.9, 0.98],
            sigma0: vec![0.0, 1.6],
        };
        let (cells, _) = untrained_grid(&grid, 1).unwrap();
        assert_eq!(cells.len(), 4);
        assert!(cells[0].si.is_nan() && cells[0].n_active == 0);
        // At λ0 = 0.98 every unit is active and peaks at t = 0: low SI; strong
        // random coupling spreads the peaks over the trial: high SI.
        assert_eq!(cells[1].n_active, 50);
        // Closed form: all 50 peaks in one of 20 bins (+0.1 pseudo-counts), and
        // ln(ridge/background) with ridge = mean(1, 0.98) over the half-open
        // window [0, 2) and background = mean of 0.98^t for t = 2…149.
        let total = 50.0 + 20.0 * 0.1;
        let (p1, p0) = (50.1 / total, 0.1 / total);
        let entropy = -p1 * f64::ln(p1) - 19.0 * p0 * f64::ln(p0);
        let ridge = (1.0 + 0.98) / 2.0;
        let background = (2..150).map(|t| 0.98_f64.powi(t)).sum::<f64>() / 148.0;
        let expect = entropy + (ridge / background).ln();
        assert!(
            (cells[1].si - expect).abs() < 1e-9,
            "{} vs {expect}",
            cells[1].si
        );
        // Strong random coupling spreads the peaks over the trial: high SI.
        assert!(cells[2].si > 3.0 && cells[3].si > 3.0, "{cells:?}");
    }
}
