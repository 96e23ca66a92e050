"""Autocorrelation time, ESS and R-hat on processes with closed forms."""

import numpy as np
import pytest

import graphmrf as gm
from graphmrf.diagnostics import ChainTooShortError, effective_sample_size, integrated_autocorr_time, split_rhat


def ar1(a, chains, n, seed):
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(chains, n))
    x = np.empty((chains, n))
    x[:, 0] = e[:, 0] / np.sqrt(1 - a * a)
    for t in range(1, n):
        x[:, t] = a * x[:, t - 1] + e[:, t]
    return x[:, :, None]


@pytest.mark.parametrize("a", [0.0, 0.5, 0.9])
def test_ar1_autocorrelation_time(a):
    x = ar1(a, 8, 20000, seed=1)
    tau = integrated_autocorr_time(x)[0]
    assert tau == pytest.approx((1 + a) / (1 - a), rel=0.1)
    assert effective_sample_size(x)[0] == pytest.approx(8 * 20000 / tau)


def test_short_chains_are_refused_with_the_estimate():
    x = ar1(0.99, 2, 1000, seed=0)
    with pytest.raises(ChainTooShortError, match="shorter than 50 autocorrelation times") as info:
        integrated_autocorr_time(x)
    assert info.value.tau[0] > 20
    assert integrated_autocorr_time(x, quiet=True)[0] == pytest.approx(info.value.tau[0])


def test_rhat_detects_chains_that_disagree():
    x = ar1(0.5, 4, 4000, seed=2)
    assert split_rhat(x)[0] == pytest.approx(1.0, abs=0.01)
    x[:2] += 3.0
    assert split_rhat(x)[0] > 1.5


def test_gibbs_chains_of_a_model():
    prog = gm.compile(gm.rbm(6, 4, seed=0, scale=0.5))
    run = gm.sample(prog, 2000, chains=4, seed=0)
    tau = integrated_autocorr_time(np.asarray(run.samples).transpose(1, 0, 2))
    assert np.all(tau >= 0.5) and np.all(tau < 40)
