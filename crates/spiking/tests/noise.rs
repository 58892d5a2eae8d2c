//! The Box–Muller noise generator against the standard normal distribution
//! (statrs' CDF, closed-form moments and tail masses) and for independence.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_xoshiro::Xoshiro128PlusPlus;
use statrs::distribution::{ContinuousCDF, Normal};
use wm_spiking::NoiseRng;

/// `n` draws made the way a LIF step makes them: 200 per call.
fn draws(seed: u64, stream: u64, n: usize) -> Vec<f32> {
    let mut rng = NoiseRng::new(seed, stream);
    let mut out = vec![0f32; n];
    for chunk in out.chunks_mut(200) {
        rng.fill_standard_normal(chunk);
    }
    out
}

#[test]
fn draws_follow_the_standard_normal_distribution() {
    let n = 1_000_000;
    let z: Vec<f64> = draws(11, 3, n).into_iter().map(f64::from).collect();
    let nf = n as f64;
    let mean = z.iter().sum::<f64>() / nf;
    let var = z.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / nf;
    let kurt = z.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / nf / (var * var);
    // Standard errors: 1/√n for the mean, √(2/n) for the variance, √(24/n) for the kurtosis.
    assert!(mean.abs() < 5.0 / nf.sqrt(), "mean {mean}");
    assert!(
        (var - 1.0).abs() < 5.0 * (2.0 / nf).sqrt(),
        "variance {var}"
    );
    assert!(
        (kurt - 3.0).abs() < 5.0 * (24.0 / nf).sqrt(),
        "kurtosis {kurt}"
    );
    // Kolmogorov–Smirnov against Φ: the 0.1 % critical value is 1.95/√n.
    let phi = Normal::standard();
    let mut s = z.clone();
    s.sort_by(f64::total_cmp);
    let d = s
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = phi.cdf(x);
            (f - i as f64 / nf)
                .abs()
                .max(((i + 1) as f64 / nf - f).abs())
        })
        .fold(0.0, f64::max);
    assert!(d < 1.95 / nf.sqrt(), "KS distance {d}");
    // Tail masses beyond 2σ and 3σ (binomial s.e.), and the 5.9σ truncation.
    for k in [2.0, 3.0] {
        let p = 2.0 * phi.cdf(-k);
        let got = z.iter().filter(|x| x.abs() > k).count() as f64 / nf;
        assert!(
            (got - p).abs() < 5.0 * (p * (1.0 - p) / nf).sqrt(),
            "P(|z| > {k}) = {got}, expected {p}"
        );
    }
    assert!(z.iter().all(|x| x.abs() < 5.9));
}

#[test]
fn draws_are_uncorrelated_within_a_pair_and_across_calls() {
    let n = 400_000;
    let z: Vec<f64> = draws(5, 0, n).into_iter().map(f64::from).collect();
    let corr = |a: &[f64], b: &[f64]| {
        let m = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / m, b.iter().sum::<f64>() / m);
        let cov = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - ma) * (y - mb))
            .sum::<f64>()
            / m;
        let sa = (a.iter().map(|x| (x - ma).powi(2)).sum::<f64>() / m).sqrt();
        let sb = (b.iter().map(|y| (y - mb).powi(2)).sum::<f64>() / m).sqrt();
        cov / (sa * sb)
    };
    // A call of 200 puts word k's two draws at k and k + 100.
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for c in z.chunks(200) {
        x.extend_from_slice(&c[..100]);
        y.extend_from_slice(&c[100..]);
    }
    let bound = 5.0 / (x.len() as f64).sqrt();
    let sq = |v: &[f64]| v.iter().map(|a| a * a).collect::<Vec<_>>();
    let abs = |v: &[f64]| v.iter().map(|a| a.abs()).collect::<Vec<_>>();
    for (what, r) in [
        ("x, y", corr(&x, &y)),
        ("x², y²", corr(&sq(&x), &sq(&y))),
        ("|x|, |y|", corr(&abs(&x), &abs(&y))),
        ("lag 1", corr(&z[..n - 1], &z[1..])),
        ("lag 200", corr(&z[..n - 200], &z[200..])),
    ] {
        assert!(r.abs() < bound, "correlation of {what}: {r}");
    }
    // The four sign quadrants of a pair are equally likely.
    let mut quadrant = [0usize; 4];
    for (a, b) in x.iter().zip(&y) {
        quadrant[usize::from(*a > 0.0) * 2 + usize::from(*b > 0.0)] += 1;
    }
    let q = x.len() as f64 / 4.0;
    for c in quadrant {
        assert!(
            (c as f64 - q).abs() < 5.0 * (q * 0.75).sqrt(),
            "{quadrant:?}"
        );
    }
    // And |x| > |y| half the time (the swap bit).
    let bigger = x.iter().zip(&y).filter(|(a, b)| a.abs() > b.abs()).count() as f64;
    let h = x.len() as f64 / 2.0;
    assert!(
        (bigger - h).abs() < 5.0 * (h * 0.5).sqrt(),
        "{bigger} of {}",
        x.len()
    );
}

#[test]
fn streams_are_reproducible_and_distinct() {
    assert_eq!(draws(1, 2, 1000), draws(1, 2, 1000));
    assert_ne!(draws(1, 2, 1000), draws(1, 3, 1000));
    assert_ne!(draws(1, 2, 1000), draws(2, 2, 1000));
    // An odd length draws the same values as the even one before it.
    let mut a = NoiseRng::new(4, 0);
    let mut b = NoiseRng::new(4, 0);
    let (mut x, mut y) = (vec![0f32; 7], vec![0f32; 8]);
    a.fill_standard_normal(&mut x);
    b.fill_standard_normal(&mut y);
    assert_eq!(x[..4], y[..4]);
    assert_eq!(x[4..], y[4..7]);
}

#[test]
fn words_are_eight_interleaved_xoshiro128_plus_plus_lanes() {
    // The documented seeding: lane l takes words 4l..4l+4 of the ChaCha8
    // stream as its state; then the words come lane 0, 1, …, 7, 0, ….
    let (seed, stream) = (21, 5);
    let mut chacha = ChaCha8Rng::seed_from_u64(seed);
    chacha.set_stream(stream);
    let mut lanes: Vec<Xoshiro128PlusPlus> = (0..8)
        .map(|_| {
            let mut state = [0u8; 16];
            for word in state.chunks_exact_mut(4) {
                word.copy_from_slice(&chacha.next_u32().to_le_bytes());
            }
            Xoshiro128PlusPlus::from_seed(state)
        })
        .collect();
    let mut rng = NoiseRng::new(seed, stream);
    for step in 0..100 {
        for (l, lane) in lanes.iter_mut().enumerate() {
            assert_eq!(rng.next_u32(), lane.next_u32(), "step {step}, lane {l}");
        }
    }
}
