//! The LIF analysis of one trained rate network (Kim, Li & Sejnowski 2019,
//! PNAS; Kim & Sejnowski 2019, Section 4): score the rate network, convert
//! it to a LIF network at the best scaling factor of a grid search and score
//! that, record its spontaneous activity and fit each unit's spike-count
//! autocorrelation timescale; the network's rows follow.

use anyhow::Result;
use ndarray::Array3;
use wm_analysis::timescale::{UnitTimescale, autocorrelation_timescales};
use wm_rate_rnn::dale::DaleLeaky;
use wm_rate_rnn::train::kim::{KimTrainOutcome, evaluate_kim};
use wm_spiking::{LifNetwork, RateArrays, SimOptions, SpikeTrains, lif_accuracy, search_scale};
use wm_tasks::Task;

use crate::kim_sejnowski::config::{KimSejnowskiConfig, KimTask, TimescaleConfig};
use crate::kim_sejnowski::network::{
    NetworkRow, NetworkSpec, UnitRow, lif_task_object, long_delay_task, mean_median, rate_arrays,
    stream, sub_seed,
};

/// Analyse the trained `model` of `spec` (its training ended as `training`):
/// its row (seconds left at 0) and its units' rows.
pub fn analyse(
    spec: &NetworkSpec,
    cfg: &KimSejnowskiConfig,
    model: &DaleLeaky,
    task: &dyn Task,
    training: &KimTrainOutcome,
) -> Result<(NetworkRow, Vec<UnitRow>)> {
    let (scores, arrays, net) = score(spec, cfg, model, task)?;
    let spikes = spontaneous(cfg, &net, spec.seed)?;
    let fits = unit_timescales(cfg, &spikes)?;
    let units = unit_rows(spec, &fits, model.signs(), &arrays.tau_ms);
    let row = network_row(spec, cfg, training, &scores, &units, &arrays.tau_ms);
    Ok((row, units))
}

/// LIF steps per rate-model step.
pub fn steps_per_input(cfg: &KimSejnowskiConfig) -> usize {
    (cfg.dms.dt_ms / cfg.lif.dt_ms).round() as usize
}

/// The spontaneous activity of a converted network (zero input, the
/// configured number and length of trials), with spikes recorded.
pub fn spontaneous(
    cfg: &KimSejnowskiConfig,
    net: &LifNetwork<f64>,
    seed: u64,
) -> Result<SpikeTrains> {
    let sim = net.simulate_spontaneous(
        cfg.timescale.duration_ms,
        cfg.timescale.trials,
        &SimOptions {
            seed: sub_seed(seed, 5),
            steps_per_input: steps_per_input(cfg),
            record_spikes: true,
            readout: false,
        },
    )?;
    Ok(sim.spikes)
}

/// Spike counts `[units, trials, bins]` after dropping the discarded bins.
pub fn spontaneous_counts(ts: &TimescaleConfig, spikes: &SpikeTrains) -> Result<Array3<f64>> {
    let (counts, bins) = spikes.binned_counts(ts.bin_ms);
    let drop = ((ts.discard_ms / ts.bin_ms).round() as usize).min(bins);
    let full = Array3::from_shape_vec((spikes.n_units, spikes.n_trials(), bins), counts)?;
    Ok(full.slice(ndarray::s![.., .., drop..]).to_owned())
}

/// Timescale of each unit of a spontaneous recording.
pub fn unit_timescales(
    cfg: &KimSejnowskiConfig,
    spikes: &SpikeTrains,
) -> Result<Vec<UnitTimescale>> {
    let counts = spontaneous_counts(&cfg.timescale, spikes)?;
    Ok(autocorrelation_timescales(
        counts.view(),
        &cfg.timescale_params(),
    )?)
}

/// A trained network's scores as a rate network and, converted, as a LIF
/// network.
struct Scores {
    rate_loss: f64,
    rate_accuracy: f64,
    best_scale: f64,
    search_accuracy: f64,
    lif_accuracy: f64,
    rate_accuracy_long_delay: f64,
    lif_accuracy_long_delay: f64,
}

/// Score `model` on fresh trials of `task`, convert it at the best scaling
/// factor of the grid search and score the LIF network; DMS networks also
/// on the long-delay timeline. Returns the scores, the rate arrays and the
/// converted network.
fn score(
    spec: &NetworkSpec,
    cfg: &KimSejnowskiConfig,
    model: &DaleLeaky,
    task: &dyn Task,
) -> Result<(Scores, RateArrays, LifNetwork<f64>)> {
    let (rate_loss, rate_accuracy) =
        evaluate_kim(model, task, cfg.rate_eval_trials, &mut stream(spec.seed, 2))?;
    let arrays = rate_arrays(model)?;
    let lif_task = lif_task_object(cfg, spec.task)?;
    let search = search_scale::<f64>(
        &arrays,
        &cfg.lif,
        lif_task.as_ref(),
        &cfg.scale_search,
        sub_seed(spec.seed, 3),
    )?;
    let net = arrays.to_lif::<f64>(search.best_scale, &cfg.lif)?;
    let lif_accuracy = lif_accuracy(
        &net,
        lif_task.as_ref(),
        cfg.lif_eval_trials,
        &mut stream(spec.seed, 4),
        sub_seed(spec.seed, 4),
    )?;
    let (rate_accuracy_long_delay, lif_accuracy_long_delay) = match spec.task {
        KimTask::Dms => long_delay_scores(spec, cfg, model, &net)?,
        KimTask::GoNogo => (f64::NAN, f64::NAN),
    };
    let scores = Scores {
        rate_loss,
        rate_accuracy,
        best_scale: search.best_scale,
        search_accuracy: search.best_accuracy,
        lif_accuracy,
        rate_accuracy_long_delay,
        lif_accuracy_long_delay,
    };
    Ok((scores, arrays, net))
}

/// Rate and LIF accuracy of a DMS network on the long-delay timeline of
/// the cross-temporal analysis.
fn long_delay_scores(
    spec: &NetworkSpec,
    cfg: &KimSejnowskiConfig,
    model: &DaleLeaky,
    net: &LifNetwork<f64>,
) -> Result<(f64, f64)> {
    let long = long_delay_task(cfg)?;
    let (_, rate) = evaluate_kim(
        model,
        &long,
        cfg.rate_eval_trials,
        &mut stream(spec.seed, 7),
    )?;
    let lif = lif_accuracy(
        net,
        &long,
        cfg.lif_eval_trials,
        &mut stream(spec.seed, 8),
        sub_seed(spec.seed, 8),
    )?;
    Ok((rate, lif))
}

/// The rows of `units.csv`: each unit's sign, τ^s and timescale fit.
fn unit_rows(
    spec: &NetworkSpec,
    fits: &[UnitTimescale],
    signs: &[f64],
    tau_ms: &[f64],
) -> Vec<UnitRow> {
    fits.iter()
        .enumerate()
        .map(|(u, f)| UnitRow {
            task: spec.task.name().into(),
            tau_mode: spec.regime.name().into(),
            replicate: spec.replicate,
            unit: u,
            inhibitory: signs[u] < 0.0,
            tau_syn_ms: tau_ms[u],
            rate_hz: f.rate_hz,
            timescale_ms: f.tau_ms,
            amplitude: f.fit.as_ref().map_or(f64::NAN, |x| x.a),
            start_lag_ms: f.start_lag_ms,
            exclusion: f.exclusion.map(|e| format!("{e:?}")).unwrap_or_default(),
        })
        .collect()
}

/// The network's row of `networks.csv` (its seconds left at 0).
fn network_row(
    spec: &NetworkSpec,
    cfg: &KimSejnowskiConfig,
    training: &KimTrainOutcome,
    scores: &Scores,
    units: &[UnitRow],
    tau_ms: &[f64],
) -> NetworkRow {
    let pooled: Vec<f64> = units
        .iter()
        .filter(|u| u.rate_hz <= cfg.timescale.max_rate_hz)
        .filter_map(|u| u.timescale_ms)
        .collect();
    let (mean_ts, median_ts) = mean_median(&pooled);
    let rates: Vec<f64> = units.iter().map(|u| u.rate_hz).collect();
    let converged_ok = training.converged || !cfg.require_converged;
    NetworkRow {
        task: spec.task.name().into(),
        tau_mode: spec.regime.name().into(),
        replicate: spec.replicate,
        seed: spec.seed,
        iterations: training.iterations,
        converged: training.converged,
        rate_accuracy: scores.rate_accuracy,
        rate_loss: scores.rate_loss,
        best_scale: scores.best_scale,
        search_accuracy: scores.search_accuracy,
        lif_accuracy: scores.lif_accuracy,
        rate_accuracy_long_delay: scores.rate_accuracy_long_delay,
        lif_accuracy_long_delay: scores.lif_accuracy_long_delay,
        included: converged_ok && scores.lif_accuracy >= cfg.lif_accuracy_threshold,
        mean_rate_hz: mean_median(&rates).0,
        n_units_active: units
            .iter()
            .filter(|u| u.rate_hz >= cfg.timescale.min_rate_hz)
            .count(),
        n_units_fitted: pooled.len(),
        mean_timescale_ms: mean_ts,
        median_timescale_ms: median_ts,
        mean_tau_syn_ms: mean_median(tau_ms).0,
        train_seconds: 0.0,
        analysis_seconds: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spontaneous_counts_drop_the_first_bin() {
        // Spikes at steps 1 (first bin, dropped), 1001 (second bin) and 2000
        // (end of the second bin) of unit 1, trial 0; 0.05-ms steps, 50-ms bins.
        let spikes = SpikeTrains {
            n_units: 2,
            dt_ms: 0.05,
            n_steps: 3000,
            trials: vec![vec![(1, 1), (1, 1001), (1, 2000)], vec![(0, 2500)]],
        };
        let ts = TimescaleConfig::default();
        let c = spontaneous_counts(&ts, &spikes).unwrap();
        assert_eq!(c.dim(), (2, 2, 2));
        assert_eq!(c[[1, 0, 0]], 2.0);
        assert_eq!(c[[0, 1, 1]], 1.0);
        assert_eq!(c.sum(), 3.0);
    }
}
