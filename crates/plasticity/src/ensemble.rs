//! Independent networks in parallel (one per rayon task) and their mean ± SEM.

use rayon::prelude::*;

/// Mean and standard error (ddof = 1) across runs at each sample.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanSem {
    /// Mean over runs.
    pub mean: Vec<f64>,
    /// Standard error of the mean (s.d. with ddof = 1 over √n; 0 for one run).
    pub sem: Vec<f64>,
}

/// Mean ± SEM of equally long curves, sample by sample.
///
/// # Panics
/// If `curves` is empty or the curves differ in length.
pub fn mean_sem(curves: &[Vec<f64>]) -> MeanSem {
    assert!(!curves.is_empty(), "mean_sem of no curves");
    let len = curves[0].len();
    assert!(
        curves.iter().all(|c| c.len() == len),
        "curves differ in length"
    );
    let n = curves.len() as f64;
    let mut mean = vec![0.0; len];
    let mut sem = vec![0.0; len];
    for t in 0..len {
        let m = curves.iter().map(|c| c[t]).sum::<f64>() / n;
        mean[t] = m;
        if curves.len() > 1 {
            let var = curves.iter().map(|c| (c[t] - m).powi(2)).sum::<f64>() / (n - 1.0);
            sem[t] = (var / n).sqrt();
        }
    }
    MeanSem { mean, sem }
}

/// Run `f(seed)` for each seed in parallel (rayon), keeping seed order.
pub fn par_runs<T: Send, F: Fn(u64) -> T + Sync>(seeds: &[u64], f: F) -> Vec<T> {
    seeds.par_iter().map(|&s| f(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sem_uses_ddof_one() {
        let m = mean_sem(&[vec![1.0, 0.0], vec![3.0, 0.0]]);
        assert_eq!(m.mean, [2.0, 0.0]);
        // s.d. (ddof 1) = √2, SEM = √2/√2 = 1.
        assert!((m.sem[0] - 1.0).abs() < 1e-15);
        assert_eq!(m.sem[1], 0.0);
    }
}
