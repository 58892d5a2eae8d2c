//! The grid of networks a run trains: task × condition × λ0 × σ0 × ρ × g × replicate.

use serde::{Deserialize, Serialize};

use crate::io::derive_seed;
use crate::orhan_ma::config::{Condition, OrhanMaConfig};

/// One network of the grid, with everything needed to train it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Position in the grid (stable for a given config); names the network's folder.
    pub index: usize,
    /// Task name ("DE-1", "2AFC", …).
    pub task: String,
    /// Experimental condition.
    pub condition: Condition,
    /// Initial self-coupling λ0.
    pub lambda0: f64,
    /// Initial off-diagonal coupling σ0 (std σ0/√N).
    pub sigma0: f64,
    /// Weight decay ρ.
    pub rho: f64,
    /// Input gain g.
    pub input_gain: f64,
    /// Replicate number at this grid point.
    pub replicate: usize,
    /// The network's seed, derived from the master seed and `index` (or, with
    /// `paired_rho`, from its position in the grid without the ρ axis).
    pub seed: u64,
}

impl NetworkSpec {
    /// Folder name of this network under `networks/`.
    pub fn dir_name(&self) -> String {
        format!("{:04}-{}-{}", self.index, self.task, self.condition.name())
    }
}

/// Expand the config's grid, in a fixed order (task, condition, λ0, σ0, ρ, g, replicate).
pub fn expand(cfg: &OrhanMaConfig) -> Vec<NetworkSpec> {
    let mut out = Vec::new();
    // Cells of (task, condition, λ0, σ0) expanded so far: with `paired_rho`,
    // a network's seed index is its position in the grid without the ρ axis.
    let mut cell = 0;
    for task in &cfg.tasks {
        for &condition in &cfg.conditions {
            if condition == Condition::Sequential && *task == cfg.sequential_first {
                continue;
            }
            for &lambda0 in &cfg.lambda0 {
                for &sigma0 in &cfg.sigma0 {
                    for &rho in &cfg.rho {
                        for (g, &input_gain) in cfg.input_gain.iter().enumerate() {
                            for replicate in 0..cfg.replicates {
                                let index = out.len();
                                let seed_index = if cfg.paired_rho {
                                    (cell * cfg.input_gain.len() + g) * cfg.replicates + replicate
                                } else {
                                    index
                                };
                                out.push(NetworkSpec {
                                    index,
                                    task: task.clone(),
                                    condition,
                                    lambda0,
                                    sigma0,
                                    rho,
                                    input_gain,
                                    replicate,
                                    seed: derive_seed(cfg.seed, seed_index as u64),
                                });
                            }
                        }
                    }
                    cell += 1;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_the_full_product_with_unique_seeds() {
        let cfg = OrhanMaConfig {
            tasks: vec!["DE-1".into(), "2AFC".into()],
            conditions: vec![Condition::Basic, Condition::Tethered],
            lambda0: vec![0.8, 0.9, 0.98],
            sigma0: vec![0.0, 0.4],
            rho: vec![0.0],
            input_gain: vec![1.0],
            replicates: 2,
            paired_rho: false,
            ..Default::default()
        };
        let g = expand(&cfg);
        assert_eq!(g.len(), 2 * 2 * 3 * 2 * 2);
        assert!(g.iter().enumerate().all(|(i, s)| s.index == i));
        let mut seeds: Vec<u64> = g.iter().map(|s| s.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        assert_eq!(seeds.len(), g.len());
        assert_eq!(expand(&cfg), g, "expansion is deterministic");
    }

    #[test]
    fn paired_rho_shares_seeds_exactly_across_rho() {
        let cfg = OrhanMaConfig {
            tasks: vec!["DE-1".into(), "2AFC".into()],
            lambda0: vec![0.9, 0.98],
            sigma0: vec![0.0, 0.2, 0.4],
            rho: vec![0.0, 1e-3, 1e-2],
            input_gain: vec![0.5, 1.0],
            replicates: 2,
            paired_rho: true,
            ..Default::default()
        };
        let g = expand(&cfg);
        assert_eq!(g.len(), 2 * 2 * 3 * 3 * 2 * 2);
        for a in &g {
            for b in &g {
                let matched = a.task == b.task
                    && a.lambda0 == b.lambda0
                    && a.sigma0 == b.sigma0
                    && a.input_gain == b.input_gain
                    && a.replicate == b.replicate;
                assert_eq!(a.seed == b.seed, matched, "{a:?} vs {b:?}");
            }
        }
    }
}
