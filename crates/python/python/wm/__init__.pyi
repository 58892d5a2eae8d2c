"""Type stubs of the wm package (shapes and units in each function's docstring)."""

import os
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, TypedDict, Union

import numpy as np
import numpy.typing as npt

__version__: str

ArrayLike = npt.ArrayLike
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Tail = Literal["both", "upper", "lower"]
Order = Literal["magnitude", "real", "computed"]

class Timescales(TypedDict):
    tau_ms: F64
    a: F64
    b: F64
    rate_hz: F64
    start_lag_ms: F64
    exclusion: npt.NDArray[np.str_]
    autocorrelation: F64
    lags_ms: F64

class PopulationTimescale(TypedDict):
    n_units: int
    mean_tau_ms: float
    ci_low_ms: float
    ci_high_ms: float

class TimescalesWithUncertainty(Timescales):
    tau_raw_ms: F64
    tau_corrected_ms: F64
    corrected_at_bound: npt.NDArray[np.bool_]
    tau_ci_low_ms: F64
    tau_ci_high_ms: F64
    tau1_ms: F64
    tau2_ms: F64
    model: npt.NDArray[np.str_]
    population: PopulationTimescale

class Discriminability(TypedDict):
    r: F64
    z: F64
    n_units: int
    n_pairs: int

class Cluster(TypedDict):
    sign: int
    cells: I64
    mass: float
    p_value: float
    size: int

class GroupTest(TypedDict):
    observed: F64
    z_group: F64
    z_rest: F64
    clusters: List[Cluster]
    null_max_mass: F64

class WeightProfile(TypedDict):
    offsets: I64
    mean: F64
    sd: F64
    count: I64

class Schur(TypedDict):
    q: F64
    t: F64
    eigenvalues: npt.NDArray[np.complex128]
    interaction: F64

class SchurModes(TypedDict):
    eigenvalues: npt.NDArray[np.complex128]
    frequency: F64
    magnitude: F64
    significant: npt.NDArray[np.bool_]
    n_significant_modes: int
    threshold: float
    reference_sd: float
    interaction_sd: float
    feedforward_fraction: float
    nonnormal_fraction: float
    interaction: F64

class PreferredDirections(TypedDict):
    direction_rad: F64
    resultant_length: F64
    selectivity: F64

class AlignedTuning(TypedDict):
    offsets_rad: F64
    curves: F64
    preferred: I64
    mean: F64

class MeanSem(TypedDict):
    mean: float
    sem: float
    sd: float
    n: int

class TTest(TypedDict):
    statistic: float
    df: float
    p_value: float
    estimate: float
    std_error: float

class RankTest(TypedDict):
    u: float
    prob_superiority: float
    z: float
    p_value: float

class Anova(TypedDict):
    f: float
    df_between: int
    df_within: int
    p_value: float
    ss_between: float
    ss_within: float
    eta_squared: float

class Pearson(TypedDict):
    r: float
    n: int
    t: float
    df: int
    p_value: float
    ci: Optional[Tuple[float, float]]

class Ols(TypedDict):
    names: List[str]
    coefficients: F64
    std_errors: F64
    t_values: F64
    p_values: F64
    r_squared: float
    adj_r_squared: float
    n: int
    residual_df: int
    sigma: float
    rss: float
    has_intercept: bool
    residuals: F64
    covariance: F64

def sequentiality_index(
    activity: ArrayLike,
    *,
    bins: int = 20,
    window: int = 5,
    activity_threshold: float = 0.1,
    pseudo_count: float = 0.1,
) -> F64: ...
def peak_time_order(activity: ArrayLike) -> I64: ...
def trial_averaged_peak_order(activity: ArrayLike, threshold: float = 0.1) -> I64: ...
def weight_profile(w: ArrayLike, order: ArrayLike, max_offset: int) -> WeightProfile: ...
def bin_spikes(
    unit: ArrayLike,
    trial: Optional[ArrayLike],
    time_ms: ArrayLike,
    bin_ms: float = 50.0,
    start_ms: float = 0.0,
    stop_ms: Optional[float] = None,
    *,
    n_units: Optional[int] = None,
    n_trials: Optional[int] = None,
) -> F64: ...
def autocorrelation_timescales(
    counts: ArrayLike,
    bin_ms: float = 50.0,
    max_lag_ms: float = 650.0,
    min_rate_hz: Optional[float] = None,
    *,
    max_start_lag_ms: float = 150.0,
    max_tau_ms: float = 500.0,
) -> Timescales: ...
def timescales_with_uncertainty(
    counts: ArrayLike,
    bin_ms: float = 50.0,
    max_lag_ms: float = 650.0,
    min_rate_hz: Optional[float] = None,
    *,
    ci: Optional[float] = None,
    resamples: int = 200,
    bias_correct: bool = False,
    two_timescales: bool = False,
    seed: int = 0,
    max_start_lag_ms: float = 150.0,
    max_tau_ms: float = 500.0,
) -> TimescalesWithUncertainty: ...
def spike_count_autocorrelation(counts: ArrayLike, max_lag_bins: int) -> F64: ...
def fano_factors(counts: ArrayLike) -> F64: ...
def cross_temporal_discriminability(conditions: Sequence[ArrayLike]) -> Discriminability: ...
def find_clusters(
    map: ArrayLike, threshold: float, *, tail: Tail = "both", connectivity: int = 4
) -> List[Cluster]: ...
def discriminability_group_test(
    conditions: Sequence[ArrayLike],
    in_group: ArrayLike,
    threshold: float,
    *,
    n_permutations: int = 1000,
    seed: int = 0,
    tail: Tail = "both",
    connectivity: int = 4,
) -> GroupTest: ...
def real_schur(w: ArrayLike, order: Order = "magnitude") -> Schur: ...
def schur_modes(
    w: ArrayLike,
    *,
    c: float,
    reference: Optional[ArrayLike] = None,
    reference_sd: Optional[float] = None,
    order: Order = "magnitude",
) -> SchurModes: ...
def population_vector_decode(activity: ArrayLike, preferred_rad: ArrayLike) -> F64: ...
def preferred_directions(tuning: ArrayLike, directions_rad: ArrayLike) -> PreferredDirections: ...
def align_tuning(values: ArrayLike, preferred: Optional[ArrayLike] = None) -> AlignedTuning: ...
def signed_deviation(theta: ArrayLike, reference: ArrayLike) -> F64: ...
def mean_sem(x: ArrayLike) -> MeanSem: ...
def ttest(
    x: ArrayLike,
    y: Optional[ArrayLike] = None,
    *,
    kind: Literal["one_sample", "paired", "student", "welch"] = "welch",
    mu: float = 0.0,
) -> TTest: ...
def mann_whitney_u(x: ArrayLike, y: ArrayLike) -> RankTest: ...
def anova_one_way(*groups: ArrayLike) -> Anova: ...
def pearson(x: ArrayLike, y: ArrayLike, *, level: float = 0.95) -> Pearson: ...
def ols(
    design: ArrayLike,
    y: ArrayLike,
    *,
    intercept: bool = False,
    names: Optional[Sequence[str]] = None,
) -> Ols: ...
def load(path: Union[str, "os.PathLike[str]"]) -> Any: ...
