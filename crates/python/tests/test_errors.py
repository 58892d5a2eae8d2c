"""Bad input raises ValueError with wm-analysis's message; it never crashes
the interpreter. Work runs without the GIL."""

import threading
import time

import numpy as np
import pytest

import wm


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: wm.sequentiality_index(np.ones((3, 4))), "3-D array"),
        (lambda: wm.sequentiality_index(np.full((2, 5, 3), np.nan)), "non-finite"),
        (lambda: wm.sequentiality_index(np.ones((2, 1, 3))), "time steps"),
        (lambda: wm.sequentiality_index(np.ones((0, 5, 3))), "trials"),
        (lambda: wm.sequentiality_index(np.ones((2, 5, 3)), bins=0), "bins"),
        (lambda: wm.sequentiality_index([["a", "b"]]), "float64"),
        (lambda: wm.sequentiality_index(None), "3-D array"),
        (lambda: wm.bin_spikes([999_999_999], [999_999_999], [0.0]), "spike table size"),
        (lambda: wm.bin_spikes([0], [0], [4e10]), "spike table size"),
        (lambda: wm.bin_spikes([-1], [0], [1.0]), "unit"),
        (lambda: wm.bin_spikes([0.5], [0], [1.0]), "whole numbers"),
        (lambda: wm.bin_spikes([0, 1], [0], [1.0]), "equal length"),
        (lambda: wm.bin_spikes([0], [0], [np.inf]), "non-finite"),
        (lambda: wm.bin_spikes([0], [0], [1.0], bin_ms=0.0), "bin_ms"),
        (lambda: wm.bin_spikes([3], [0], [1.0], n_units=2), "n_units"),
        (lambda: wm.autocorrelation_timescales(np.ones((2, 1, 20))), "trials"),
        (lambda: wm.autocorrelation_timescales(np.ones((2, 5, 5))), "bins"),
        (lambda: wm.autocorrelation_timescales(np.ones((2, 5, 20)), bin_ms=-1.0), "bin_ms"),
        (lambda: wm.autocorrelation_timescales(np.ones((2, 5, 20)), min_rate_hz=np.nan), "min_rate_hz"),
        (lambda: wm.spike_count_autocorrelation(np.ones((5, 4)), 10), "max_lag_bins"),
        (lambda: wm.cross_temporal_discriminability([np.ones((4, 3, 5))]), "conditions"),
        (lambda: wm.cross_temporal_discriminability([np.ones((4, 3, 5)), np.ones((4, 2, 5))]), "shape"),
        (lambda: wm.find_clusters(np.ones((3, 3)), -1.0), "threshold"),
        (lambda: wm.find_clusters(np.ones((3, 3)), 1.0, tail="left"), "tail"),
        (lambda: wm.find_clusters(np.ones((3, 3)), 1.0, connectivity=6), "connectivity"),
        (
            lambda: wm.discriminability_group_test(
                [np.random.rand(4, 3, 8), np.random.rand(4, 3, 8)], [True] * 7, 1.0
            ),
            "one label per unit",
        ),
        (
            lambda: wm.discriminability_group_test(
                [np.random.rand(4, 3, 8), np.random.rand(4, 3, 8)], [True] * 8, 1.0, n_permutations=0
            ),
            "n_permutations",
        ),
        (lambda: wm.real_schur(np.ones((3, 4))), "Schur|square|shape"),
        (lambda: wm.real_schur(np.array([[np.nan]])), "non-finite"),
        (lambda: wm.schur_modes(np.eye(3), c=-1.0, reference_sd=1.0), "c"),
        (lambda: wm.weight_profile(np.eye(3), [0, 0], 1), "order"),
        (lambda: wm.weight_profile(np.eye(3), [5], 1), "order"),
        (lambda: wm.population_vector_decode(np.ones((2, 3)), np.ones(4)), "shape"),
        (lambda: wm.align_tuning(np.ones((2, 4)), [9, 0]), "preferred"),
        (lambda: wm.signed_deviation(np.ones(3), np.ones(2)), "lengths"),
        (lambda: wm.ttest([1.0, 2.0], kind="bayes"), "kind"),
        (lambda: wm.ttest([1.0, 2.0, 3.0]), "second sample"),
        (lambda: wm.ttest([1.0], [2.0]), "element"),
        (lambda: wm.mann_whitney_u([], [2.0]), "x"),
        (lambda: wm.mann_whitney_u([1.0, np.nan], [2.0]), "non-finite|NaN"),
        (lambda: wm.anova_one_way([1.0, 2.0]), "groups"),
        (lambda: wm.pearson([1.0, 2.0, 3.0], [1.0, 2.0]), "shape|length"),
        (lambda: wm.ols(np.ones((3, 2)), np.ones(4)), "shape|length"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_errors_use_the_library_wording():
    with pytest.raises(ValueError) as e:
        wm.autocorrelation_timescales(np.ones((2, 5, 20)), bin_ms=-1.0)
    assert str(e.value) == "parameter `bin_ms` = -1 is out of range; allowed: finite and > 0"


def test_gil_is_released_during_work():
    rng = np.random.default_rng(0)
    counts = rng.poisson(1.0, (3000, 100, 20)).astype(np.float64)
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    time.sleep(0.01)
    start = time.perf_counter()
    wm.autocorrelation_timescales(counts)
    end = time.perf_counter()
    done.set()
    t.join()
    during = [x for x in ticks if start < x < end]
    # The other thread kept running while the fit ran (it would be frozen
    # if the GIL were held): at least a tick per ~5 ms of the call.
    assert end - start > 0.05, "the workload is too small to tell"
    assert len(during) >= (end - start) / 0.005, (len(during), end - start)
