//! The LIF building blocks against closed forms, the batched network against
//! a dense reference written here, and conversion and spike-train IO.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wm_spiking::{
    DoubleExp, LifNetwork, LifParams, LifPopulation, NoiseRng, RateArrays, SimOptions, SpikeTrains,
};

fn quiet() -> LifParams {
    LifParams {
        noise_mv: 0.0,
        v_init_mv: (-65.0, -65.0),
        ..LifParams::default()
    }
}

#[test]
fn a_constant_current_fires_at_the_closed_form_interspike_interval() {
    let p = quiet();
    let c = -30.0; // mV, above the −40-mV threshold
    let mut pop = LifPopulation::<f64>::new(1, &p);
    let mut rng = NoiseRng::new(0, 0);
    let mut spikes = Vec::new();
    let mut times = Vec::new();
    for i in 1..=20_000i32 {
        pop.step(i, &[c], &mut rng, &mut spikes);
        if !spikes.is_empty() {
            times.push(i64::from(i));
        }
    }
    // Discrete update x ← x + a(c − x): x_k = c − (c − v_reset)(1 − a)^k first
    // reaches the threshold at k* = ⌈ln((c − θ)/(c − v_reset)) / ln(1 − a)⌉;
    // each spike is followed by R frozen steps (the first R steps too, since
    // the last spike is at step 0).
    let a = p.dt_ms / p.tau_m_ms;
    let k_star =
        (((c - p.v_threshold_mv) / (c - p.v_reset_mv)).ln() / (1.0 - a).ln()).ceil() as i64;
    let r = p.refractory_steps();
    assert_eq!(r, 40);
    assert_eq!(times[0], r + k_star);
    for w in times.windows(2) {
        assert_eq!(w[1] - w[0], r + k_star);
    }
    // Continuous limit: t_ref + τ_m ln((c − v_reset)/(c − θ)), within a step.
    let isi_ms = (r + k_star) as f64 * p.dt_ms;
    let exact = p.refractory_ms + p.tau_m_ms * ((c - p.v_reset_mv) / (c - p.v_threshold_mv)).ln();
    assert!(
        (isi_ms - exact).abs() < 2.0 * p.dt_ms,
        "{isi_ms} vs {exact}"
    );
}

#[test]
fn the_double_exponential_synapse_has_unit_area_and_the_closed_form_shape() {
    let (tau_d, tau_r, dt) = (50.0, 2.0, 0.05);
    let (td, tr) = (tau_d / 1000.0, tau_r / 1000.0);
    let mut syn = DoubleExp::<f64>::new(&[tau_d], tau_r, dt);
    syn.step(Some(&[1.0]));
    let mut area = 0.0;
    let mut at_20ms = 0.0;
    for k in 1..=40_000 {
        syn.step(None);
        area += syn.s[0] * dt / 1000.0;
        if k == (20.0 / dt) as usize {
            at_20ms = syn.s[0];
        }
    }
    // s(t) = (e^{−t/τd} − e^{−t/τr}) / (τd − τr), times in seconds: area 1.
    let t = 0.020;
    let exact = ((-t / td).exp() - (-t / tr).exp()) / (td - tr);
    // The discrete filter's area is the geometric sum dt²·g / ((1 − e^{−dt/τr})(1 − e^{−dt/τd})),
    // g = 1/(τr τd); it tends to 1 as dt → 0 (1 + dt/2τr + dt/2τd here).
    let dt_s = dt / 1000.0;
    let geometric =
        dt_s * dt_s / (tr * td) / ((1.0 - (-dt / tau_r).exp()) * (1.0 - (-dt / tau_d).exp()));
    assert!(
        (area - geometric).abs() < 1e-6,
        "area {area} vs {geometric}"
    );
    assert!((area - 1.0).abs() < 0.02, "area {area}");
    // The same O(dt/2τr) ≈ 1.3 % discretization bias as the area.
    assert!(
        (at_20ms - exact).abs() / exact < 0.02,
        "{at_20ms} vs {exact}"
    );
}

/// A dense, plain-loop simulation of one trial in the order the network
/// documents (input, voltage, spikes, synapses, read-out), drawing the
/// initial voltages and the noise from `rng` as the network documents.
/// A network's arrays: `w_rec` `[N, N]` post × pre, `w_in` `[N, 1]`, `w_out` `[1, N]`, τ^s in ms.
struct Weights {
    w_rec: Vec<f64>,
    w_in: Vec<f64>,
    w_out: Vec<f64>,
    tau: Vec<f64>,
}

fn dense_reference(
    net: &Weights,
    input: &[f32],
    t_in: usize,
    spi: usize,
    p: &LifParams,
    rng: &mut NoiseRng,
) -> (Vec<(u32, u32)>, Vec<f64>) {
    use rand::Rng;
    let Weights {
        w_rec,
        w_in,
        w_out,
        tau,
    } = net;
    let n = tau.len();
    let ni = w_in.len() / n;
    let o = w_out.len() / n;
    let a = p.dt_ms / p.tau_m_ms;
    let r = p.refractory_steps();
    let (dt_s, tr) = (p.dt_ms / 1000.0, p.tau_rise_ms / 1000.0);
    let rise = (-p.dt_ms / p.tau_rise_ms).exp();
    let decay: Vec<f64> = tau.iter().map(|t| (-p.dt_ms / t).exp()).collect();
    let gain: Vec<f64> = tau.iter().map(|t| 1.0 / (tr * t / 1000.0)).collect();
    let (lo, hi) = p.v_init_mv;
    let mut v: Vec<f64> = (0..n)
        .map(|_| lo + (hi - lo) * rng.random::<f64>())
        .collect();
    let mut z = vec![0f32; n];
    let mut last = vec![0i64; n];
    let (mut s, mut h) = (vec![0.0; n], vec![0.0; n]);
    let (mut rs, mut rh) = (vec![0.0; n], vec![0.0; n]);
    let mut spikes = Vec::new();
    let mut out = vec![0.0; t_in * o];
    for i in 1..=t_in * spi {
        let c = ((2 * i + spi) / (2 * spi)).min(t_in - 1);
        if p.noise_mv > 0.0 {
            rng.fill_standard_normal(&mut z);
        }
        let fired: Vec<usize> = (0..n)
            .filter(|&k| {
                let ext: f64 = (0..ni)
                    .map(|q| w_in[k * ni + q] * f64::from(input[c * ni + q]))
                    .sum();
                let cur = s[k] + (p.bias_mv + ext);
                if i as i64 - last[k] > r {
                    v[k] += a * (cur - v[k]);
                }
                v[k] += p.noise_mv * f64::from(z[k]);
                if v[k] >= p.v_threshold_mv {
                    v[k] = p.v_reset_mv;
                    last[k] = i as i64;
                    true
                } else {
                    false
                }
            })
            .collect();
        for k in 0..n {
            let j: f64 = fired.iter().map(|&q| w_rec[k * n + q]).sum();
            s[k] = s[k] * decay[k] + h[k] * dt_s;
            h[k] = h[k] * rise + j * gain[k];
            let own = if fired.contains(&k) { 1.0 } else { 0.0 };
            rs[k] = rs[k] * decay[k] + rh[k] * dt_s;
            rh[k] = rh[k] * rise + own * gain[k];
        }
        spikes.extend(fired.iter().map(|&k| (k as u32, i as u32)));
        if i % spi == 0 {
            for q in 0..o {
                out[(i / spi - 1) * o + q] = (0..n).map(|k| w_out[q * n + k] * rs[k]).sum();
            }
        }
    }
    (spikes, out)
}

fn random_network(n: usize, seed: u64) -> Weights {
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let w_rec = (0..n * n).map(|_| rng.random_range(-0.4..0.6)).collect();
    let w_in = (0..n).map(|_| rng.random_range(5.0..30.0)).collect();
    let w_out = (0..n).map(|_| rng.random_range(-0.01..0.01)).collect();
    let tau = (0..n).map(|_| rng.random_range(20.0..125.0)).collect();
    Weights {
        w_rec,
        w_in,
        w_out,
        tau,
    }
}

impl Weights {
    /// The LIF network of these arrays (one input channel).
    fn network<T: wm_spiking::Real>(&self, p: LifParams) -> LifNetwork<T> {
        LifNetwork::new(&self.w_rec, &self.w_in, &self.w_out, &self.tau, 1, p).unwrap()
    }
}

/// [`dense_reference`] on trial `b` of the step-major `input` `[T, nb]`,
/// with the noise stream the simulation gives that trial of `seed`; the
/// trial must have spikes to compare.
fn dense_trial(
    net: &Weights,
    input: &[f32],
    nb: usize,
    b: usize,
    spi: usize,
    p: &LifParams,
    seed: u64,
) -> (Vec<(u32, u32)>, Vec<f64>) {
    let t_in = input.len() / nb;
    let trial_input: Vec<f32> = (0..t_in).map(|k| input[k * nb + b]).collect();
    let mut rng = NoiseRng::new(seed, b as u64);
    let (spikes, out) = dense_reference(net, &trial_input, t_in, spi, p, &mut rng);
    assert!(
        spikes.len() > 10,
        "the test needs spikes ({})",
        spikes.len()
    );
    (spikes, out)
}

#[test]
fn sparse_batched_simulation_matches_a_dense_reference() {
    let n = 12;
    let weights = random_network(n, 3);
    let p = quiet();
    let net = weights.network::<f64>(p.clone());
    let (t_in, spi) = (30, 20);
    // One input channel, two trials: a step of 1 then 0, and constant 0.5.
    let mut input = vec![0.0f32; t_in * 2];
    for k in 0..t_in {
        input[k * 2] = if k < 15 { 1.0 } else { 0.0 };
        input[k * 2 + 1] = 0.5;
    }
    let opts = SimOptions {
        seed: 1,
        steps_per_input: spi,
        record_spikes: true,
        readout: true,
    };
    let sim = net.simulate(&input, t_in, 2, &opts).unwrap();
    for b in 0..2 {
        let (spikes, out) = dense_trial(&weights, &input, 2, b, spi, &p, 1);
        assert_eq!(sim.spikes.trials[b], spikes, "trial {b}");
        for (k, want) in out.iter().enumerate() {
            let got = f64::from(sim.output[k * 2 + b]);
            assert!(
                (got - want).abs() < 1e-5 * (1.0 + want.abs()),
                "t {k}: {got} vs {want}"
            );
        }
    }
    // f32 gives the same spikes on this short run.
    let net32 = weights.network::<f32>(p);
    let opts32 = SimOptions {
        readout: false,
        ..opts
    };
    let sim32 = net32.simulate(&input, t_in, 2, &opts32).unwrap();
    let (a, b) = (
        sim.spikes.trials[0].len() as f64,
        sim32.spikes.trials[0].len() as f64,
    );
    assert!((a - b).abs() <= 0.05 * a, "{a} vs {b} spikes");
}

#[test]
fn noisy_simulation_matches_the_dense_reference_draw_for_draw() {
    // Default constants: random initial voltages in (−65, 30) mV and 0.1-mV
    // noise per step; trial b draws both from stream b of the seed.
    let n = 16;
    let weights = random_network(n, 8);
    let p = LifParams::default();
    let net = weights.network::<f64>(p.clone());
    let (t_in, spi, nb) = (20, 50, 3);
    let input: Vec<f32> = (0..t_in * nb).map(|k| (k % 7) as f32 / 7.0).collect();
    let opts = SimOptions {
        seed: 21,
        steps_per_input: spi,
        record_spikes: true,
        readout: true,
    };
    let sim = net.simulate(&input, t_in, nb, &opts).unwrap();
    let quiet_sim = weights
        .network::<f64>(quiet())
        .simulate(&input, t_in, nb, &opts)
        .unwrap();
    for b in 0..nb {
        let (spikes, out) = dense_trial(&weights, &input, nb, b, spi, &p, opts.seed);
        assert_eq!(sim.spikes.trials[b], spikes, "trial {b}");
        assert_ne!(
            quiet_sim.spikes.trials[b], spikes,
            "the noise and the initial voltages change the spikes"
        );
        for (k, want) in out.iter().enumerate() {
            let got = f64::from(sim.output[k * nb + b]);
            assert!(
                (got - want).abs() < 1e-5 * (1.0 + want.abs()),
                "t {k}: {got} vs {want}"
            );
        }
    }
}

#[test]
fn noisy_trials_are_reproducible_and_independent_of_the_thread_count() {
    let net = random_network(20, 5).network::<f32>(LifParams::default());
    let opts = SimOptions {
        seed: 9,
        steps_per_input: 100,
        record_spikes: true,
        readout: false,
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let a = one.install(|| net.simulate_spontaneous(200.0, 4, &opts).unwrap());
    let b = net.simulate_spontaneous(200.0, 4, &opts).unwrap();
    assert_eq!(a.spikes.trials, b.spikes.trials);
    assert_ne!(
        a.spikes.trials[0], a.spikes.trials[1],
        "trials draw their own noise"
    );
}

#[test]
fn conversion_divides_recurrent_and_output_weights_by_the_scale() {
    let n = 12;
    let Weights {
        w_rec,
        w_in,
        w_out,
        tau,
    } = random_network(n, 7);
    let arrays = RateArrays {
        w_rec: w_rec.iter().map(|w| w * 40.0).collect(),
        w_in: w_in.clone(),
        w_out: w_out.iter().map(|w| w * 40.0).collect(),
        b_out: Vec::new(),
        tau_ms: tau.clone(),
        n_units: n,
        n_inputs: 1,
        n_outputs: 1,
    };
    let p = quiet();
    let converted = arrays.to_lif::<f64>(40.0, &p).unwrap();
    let direct = LifNetwork::<f64>::new(&w_rec, &w_in, &w_out, &tau, 1, p).unwrap();
    let input = vec![1.0f32; 20];
    let opts = SimOptions {
        seed: 0,
        steps_per_input: 20,
        record_spikes: true,
        readout: true,
    };
    let a = converted.simulate(&input, 20, 1, &opts).unwrap();
    let b = direct.simulate(&input, 20, 1, &opts).unwrap();
    assert_eq!(a.spikes.trials, b.spikes.trials);
    for (x, y) in a.output.iter().zip(&b.output) {
        assert!((x - y).abs() <= 1e-6 * (1.0 + y.abs()));
    }
    assert!(arrays.to_lif::<f64>(0.0, &LifParams::default()).is_err());
}

#[test]
fn spike_trains_round_trip_and_bad_files_name_the_problem() {
    let trains = SpikeTrains {
        n_units: 3,
        dt_ms: 0.05,
        n_steps: 100,
        trials: vec![vec![(0, 4), (2, 10)], vec![], vec![(1, 99)]],
    };
    let d = tempfile::tempdir().unwrap();
    let st = d.path().join("spikes.safetensors");
    trains.write_safetensors(&st).unwrap();
    assert_eq!(SpikeTrains::read_safetensors(&st).unwrap(), trains);
    let csv = d.path().join("spikes.csv");
    trains.write_csv(&csv).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.contains("2,1,4.95"), "{text}");
    // Both files are written durably through wm-io: nothing else is left behind.
    let mut names: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["spikes.csv", "spikes.safetensors"]);
    // A rate checkpoint without `tau_ms` is refused naming the file and tensor.
    let bad = d.path().join("rate.safetensors");
    std::fs::copy(&st, &bad).unwrap();
    let err = RateArrays::from_safetensors(&bad).unwrap_err().to_string();
    assert!(
        err.contains("rate.safetensors") && err.contains("tau_ms"),
        "{err}"
    );
}
