//! Property tests for the estimators whose modules carry no `proptest` of
//! their own: the real Schur decomposition and the spike-train utilities.
//! (Sequentiality, weight profiles, ring measures, discriminability and the
//! cluster test have properties next to their code; timescales and LM in
//! `timescale_lm.rs`; stats in `stats.rs`.)

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wm_analysis::schur::real_schur;
use wm_analysis::spikes::{bin_spikes, fano_factor, gaussian_smooth, psth_hz};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(20_250_202),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn max_abs(a: &Array2<f64>) -> f64 {
    a.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

proptest! {
    #![proptest_config(config(64))]

    /// A = Q T Qᵀ with Q orthogonal, T quasi-triangular, trace and the sum of the
    /// eigenvalues equal; and an orthogonal similarity P A Pᵀ has the same
    /// eigenvalues (as a multiset).
    #[test]
    fn schur_reconstructs_and_is_similarity_invariant(seed in any::<u64>(), n in 1usize..14) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = Array2::from_shape_fn((n, n), |_| rng.random_range(-1.0..1.0));
        let s = real_schur(a.view()).unwrap();
        prop_assert!(max_abs(&(&s.reconstruct() - &a)) < 1e-12 * (1.0 + max_abs(&a)) * n as f64);
        let qtq = s.q.t().dot(&s.q);
        prop_assert!(max_abs(&(&qtq - &Array2::<f64>::eye(n))) < 1e-12 * n as f64);
        for ((i, j), &v) in s.t.indexed_iter() {
            if i > j + 1 {
                prop_assert_eq!(v, 0.0);
            }
        }
        let trace: f64 = a.diag().sum();
        let eig_sum: f64 = s.eigenvalues.iter().map(|e| e.0).sum();
        prop_assert!((trace - eig_sum).abs() < 1e-10 * n as f64);
        let im_sum: f64 = s.eigenvalues.iter().map(|e| e.1).sum();
        prop_assert!(im_sum.abs() < 1e-12 * n as f64);

        // Random orthogonal P from the Schur vectors of another random matrix.
        let b = Array2::from_shape_fn((n, n), |_| rng.random_range(-1.0..1.0));
        let p = real_schur(b.view()).unwrap().q;
        let c = p.dot(&a).dot(&p.t());
        let sc = real_schur(c.view()).unwrap();
        let key = |e: &(f64, f64)| (e.0, e.1);
        let mut e1: Vec<(f64, f64)> = s.eigenvalues.iter().map(key).collect();
        let mut e2: Vec<(f64, f64)> = sc.eigenvalues.iter().map(key).collect();
        // Compare as multisets by greedy nearest matching (ill-conditioned eigenvalues
        // may move by ~√ε, so use a loose tolerance).
        e1.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
        for x in &e1 {
            let (k, d) = e2
                .iter()
                .enumerate()
                .map(|(k, y)| (k, (x.0 - y.0).hypot(x.1 - y.1)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            prop_assert!(d < 1e-5, "{:?} vs {:?}", x, e2[k]);
            e2.swap_remove(k);
        }
    }

    /// Binning keeps every spike of the binned window, whatever the order of
    /// the spike times; shifting the spikes and the window together by a whole
    /// number of ms changes nothing (times on a 0.25-ms grid, so exactly).
    #[test]
    fn binning_conserves_spikes(
        ticks in proptest::collection::vec(-400i32..4400, 0..200),
        bin in 1.0f64..120.0,
        shift in -500i32..500,
    ) {
        let times: Vec<f64> = ticks.iter().map(|&k| k as f64 * 0.25).collect();
        let c = bin_spikes(&times, 0.0, 1000.0, bin).unwrap();
        let end = c.len() as f64 * bin;
        let inside = times.iter().filter(|&&t| (0.0..end.min(1000.0)).contains(&t)).count();
        prop_assert_eq!(c.iter().sum::<f64>() as usize, inside);
        let mut rev = times.clone();
        rev.reverse();
        prop_assert_eq!(&bin_spikes(&rev, 0.0, 1000.0, bin).unwrap(), &c);
        let shift = shift as f64;
        let shifted: Vec<f64> = times.iter().map(|t| t + shift).collect();
        let cs = bin_spikes(&shifted, shift, 1000.0 + shift, bin).unwrap();
        prop_assert_eq!(cs, c);
    }

    /// Fano factor: invariant to trial order, scales linearly with the counts
    /// (var/mean of c·x is c·var/mean of x); PSTH invariant to trial order.
    #[test]
    fn fano_and_psth_properties(
        counts in proptest::collection::vec(0u32..30, 2..60),
        c in 0.1f64..10.0,
        seed in any::<u64>(),
    ) {
        let x = Array1::from_iter(counts.iter().map(|&v| v as f64));
        let mut order: Vec<usize> = (0..x.len()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let xp = Array1::from_iter(order.iter().map(|&i| x[i]));
        let f = fano_factor(x.view());
        let fp = fano_factor(xp.view());
        let fc = fano_factor((&x * c).view());
        if x.sum() == 0.0 {
            prop_assert!(f.is_nan() && fp.is_nan() && fc.is_nan());
        } else {
            prop_assert!((f - fp).abs() < 1e-9 * (1.0 + f));
            prop_assert!((fc - c * f).abs() < 1e-9 * (1.0 + c * f));
            prop_assert!(f >= 0.0);
        }
        let trials = Array2::from_shape_fn((x.len(), 3), |(t, b)| x[t] + b as f64);
        let permuted = trials.select(ndarray::Axis(0), &order);
        let p1 = psth_hz(trials.view(), 50.0).unwrap();
        let p2 = psth_hz(permuted.view(), 50.0).unwrap();
        for (a, b) in p1.iter().zip(&p2) {
            prop_assert!((a - b).abs() < 1e-9 * (1.0 + a.abs()));
        }
    }

    /// Gaussian smoothing is linear and keeps the total mass (reflecting edges).
    #[test]
    fn gaussian_smoothing_is_linear_and_mass_preserving(
        x in proptest::collection::vec(0.0f64..5.0, 1..80),
        y0 in -3.0f64..3.0,
        a in -4.0f64..4.0,
        sigma in 0.5f64..20.0,
    ) {
        let x = Array1::from(x);
        let y = x.mapv(|v| v * 0.5 + y0);
        let sx = gaussian_smooth(x.view(), sigma, 1.0).unwrap();
        let sy = gaussian_smooth(y.view(), sigma, 1.0).unwrap();
        let comb = &x * a + &y;
        let sc = gaussian_smooth(comb.view(), sigma, 1.0).unwrap();
        for i in 0..x.len() {
            prop_assert!((sc[i] - (a * sx[i] + sy[i])).abs() < 1e-9);
        }
        prop_assert!((sx.iter().sum::<f64>() - x.sum()).abs() < 1e-9 * (1.0 + x.sum()));
    }
}
