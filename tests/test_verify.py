"""The verification harness itself: its chi-square, its power and its false-positive rate."""

import numpy as np
import pytest
from scipy import stats

import graphmrf as gm
from graphmrf.verify import chi_square
from zoo import family


def test_chi_square_merges_sparse_bins():
    probs = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
    counts = np.array([50, 30, 19, 1, 0])
    stat, dof, p = chi_square(counts, probs)
    # the two sparse bins (expected 0.5 each) pool with each other and, still sparse, with the smallest bin
    ex = np.array([50, 30, 20])
    ob = np.array([50, 30, 20])
    assert dof == 2 and stat == pytest.approx(np.sum((ob - ex) ** 2 / ex)) and p == pytest.approx(1.0)
    assert chi_square([0, 5], [1.0, 0.0])[2] == 0.0  # a state of probability zero was sampled


def test_report_prints_and_plots(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    rep = gm.verify(gm.compile(family("lecture")), n_chains=2000, n_sweeps=20, seed=0, stationarity=(1,))
    text = str(rep)
    assert "joint chi-square" in text and "verdict" in text
    ax = rep.plot()
    ax.figure.savefig(tmp_path / "r.png")


@pytest.mark.slow
def test_false_positive_rate_is_near_alpha():
    """Over 300 seeds a correct sampler is rejected at about the stated rate.

    At alpha = 0.05 the expected count is 15; the test fails if the count falls outside the
    binomial(300, 0.05) central 99.9% interval (or is far below it: Bonferroni is conservative
    only up to the correlation of the checks), so it has a false-positive rate below 1e-3.
    """
    prog = gm.compile(family("rbm", seed=2))
    alpha = 0.05
    rejected = sum(not gm.verify(prog, n_chains=2000, n_sweeps=30, alpha=alpha, seed=s, stationarity=(1, 5)).passed for s in range(300))
    lo, hi = stats.binom.ppf([0.0005, 0.9995], 300, alpha)
    assert lo <= rejected <= hi, rejected
