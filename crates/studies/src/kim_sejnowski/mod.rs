//! Kim & Sejnowski 2019: "Spiking recurrent networks as a model to probe
//! neuronal timescales specific to working memory" (NeurIPS workshop), with
//! the cross-temporal analysis of Kim & Sejnowski 2021 (original
//! code: github.com/rkim35/spikeRNN and github.com/rkim35/wmRNN).
//!
//! Pipeline, per (task × τ^s regime × replicate), one network per core:
//! train a Dale's-law rate RNN (`wm_rate_rnn::dale`) on DMS or Go-NoGo until
//! the stopping rule holds → convert it to a LIF network and search the
//! scaling factor (`wm_spiking`) → keep it if its LIF accuracy reaches the
//! threshold → 50 trials of spontaneous activity → spike-count
//! autocorrelation timescale of every unit (`wm_analysis::timescale`). Then:
//! per-network mean timescales, Student t-test DMS vs Go-NoGo per τ regime
//! (Fig. 4), histograms, and the cross-temporal discriminability of long- vs
//! short-timescale DMS units with a cluster permutation test (Fig. 3).

pub mod compute;
pub mod config;
pub mod discrim;
pub mod figures;
pub mod folder;
pub mod lif;
pub mod measures;
pub mod network;
pub mod report;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use crate::kim_sejnowski::compute::Outcome;
use crate::kim_sejnowski::config::KimSejnowskiConfig;
use crate::kim_sejnowski::network::expand;
use crate::regress::Summary;
use crate::study::{RunContext, Study, Work};

/// The Kim & Sejnowski 2019 reproduction.
pub struct KimSejnowski;

impl Study for KimSejnowski {
    const NAME: &'static str = "kim-sejnowski";
    const TITLE: &'static str = "Kim & Sejnowski 2019: Dale's-law rate RNNs converted to LIF; \
                                 longer intrinsic timescales for DMS than Go-NoGo";
    type Config = KimSejnowskiConfig;
    type Outcome = Outcome;

    fn work(cfg: &KimSejnowskiConfig) -> Work {
        Work {
            total: expand(cfg).len(),
            unit: "networks",
        }
    }

    fn compute(cfg: &KimSejnowskiConfig, ctx: &RunContext) -> Result<Outcome> {
        compute::compute(cfg, ctx)
    }

    fn statistics(cfg: &KimSejnowskiConfig, outcome: &Outcome) -> BTreeMap<String, f64> {
        measures::statistics(cfg, &outcome.measures, outcome.discrim.as_ref())
    }

    fn tables(_cfg: &KimSejnowskiConfig, outcome: &Outcome, out: &Path) -> Result<()> {
        report::tables(outcome, out)
    }

    fn figures(cfg: &KimSejnowskiConfig, outcome: &Outcome, out: &Path) -> Result<()> {
        figures::figures(cfg, outcome, out)
    }

    fn report(cfg: &KimSejnowskiConfig, outcome: &Outcome, summary: &Summary) -> String {
        report::report(cfg, outcome, summary)
    }
}
