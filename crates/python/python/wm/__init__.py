"""wm: working-memory measures on numpy arrays.

The measures of wm-analysis, compiled from Rust, for recordings and
simulations held in numpy:

=====================================  ==========================================
sequentiality_index                    Orhan & Ma 2019: SI per trial, [trial, time, unit]
peak_time_order, trial_averaged_peak_order, weight_profile
                                       Orhan & Ma 2019, Fig. 6
real_schur, schur_modes                Orhan & Ma 2019, Supp. Fig. 12
bin_spikes                             spike table (unit, trial, time_ms) -> counts [unit, trial, bin]
autocorrelation_timescales             Murray et al. 2014 / Kim & Sejnowski 2021: tau per unit
timescales_with_uncertainty            bias-corrected tau, bootstrap CIs, two timescales
spike_count_autocorrelation, fano_factors
cross_temporal_discriminability        Murray et al. 2017 / Kim & Sejnowski 2021
discriminability_group_test, find_clusters
                                       cluster permutation test (Maris & Oostenveld 2007)
population_vector_decode, preferred_directions, align_tuning, signed_deviation
                                       Xie et al. 2022: ring / oculomotor delayed response
mean_sem, ttest, mann_whitney_u, anova_one_way, pearson, ols
                                       the statistics of wm's reports
load                                   a wm results or network folder as Python values
=====================================  ==========================================

Every function accepts any numeric array (integer counts, float32 rates,
views with any strides), releases the GIL while it computes, and raises
ValueError on bad input. Times are in ms, rates in Hz, angles in rad.

Example: intrinsic timescales of spike trains from an experiment::

    import numpy as np, wm
    unit, trial, time_ms = np.loadtxt("spikes.csv", delimiter=",", skiprows=1, unpack=True)
    counts = wm.bin_spikes(unit, trial, time_ms, bin_ms=50.0, start_ms=0.0, stop_ms=1000.0)
    fit = wm.autocorrelation_timescales(counts, bin_ms=50.0)
    print(np.nanmean(fit["tau_ms"]), "ms over", np.sum(fit["exclusion"] == ""), "units")
"""

from ._load import load
from ._wm import (
    __version__,
    align_tuning,
    anova_one_way,
    autocorrelation_timescales,
    bin_spikes,
    cross_temporal_discriminability,
    discriminability_group_test,
    fano_factors,
    find_clusters,
    mann_whitney_u,
    mean_sem,
    ols,
    peak_time_order,
    pearson,
    population_vector_decode,
    preferred_directions,
    real_schur,
    schur_modes,
    sequentiality_index,
    signed_deviation,
    spike_count_autocorrelation,
    timescales_with_uncertainty,
    trial_averaged_peak_order,
    ttest,
    weight_profile,
)

__all__ = [
    "__version__",
    "align_tuning",
    "anova_one_way",
    "autocorrelation_timescales",
    "bin_spikes",
    "cross_temporal_discriminability",
    "discriminability_group_test",
    "fano_factors",
    "find_clusters",
    "mann_whitney_u",
    "load",
    "mean_sem",
    "ols",
    "peak_time_order",
    "pearson",
    "population_vector_decode",
    "preferred_directions",
    "real_schur",
    "schur_modes",
    "sequentiality_index",
    "signed_deviation",
    "spike_count_autocorrelation",
    "timescales_with_uncertainty",
    "trial_averaged_peak_order",
    "ttest",
    "weight_profile",
]
