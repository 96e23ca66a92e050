"""AIS against exact log Z (USER_NEEDS Z1, Z2)."""

import numpy as np
import pytest

import graphmrf as gm


def _rbm(nv, nh, seed, scale=0.8):
    rng = np.random.default_rng(seed)
    g = gm.rbm(nv, nh, seed=seed, scale=scale)
    g.nodes["v"]["bias"] = rng.normal(0, 0.5, nv)
    g.nodes["h"]["bias"] = rng.normal(0, 0.5, nh)
    return g


def test_ais_is_within_three_standard_errors_on_random_small_rbms():
    """Z1: 10 random RBMs up to 20 hidden units; a miss beyond 3 s.e. has probability ~0.003 each."""
    misses = 0
    for seed, (nv, nh) in enumerate(
        [(5, 3), (8, 4), (6, 10), (10, 6), (12, 20), (4, 12), (7, 7), (9, 3), (3, 9), (16, 20)]
    ):
        prog = gm.compile(_rbm(nv, nh, seed))
        exact = gm.exact.log_partition(prog)
        res = gm.ais.log_partition(prog, n_chains=200, betas=500, seed=seed)
        assert np.isfinite(res.log_z) and res.stderr > 0 and 1 <= res.ess <= 200
        misses += abs(res.log_z - exact) > 3 * res.stderr + 1e-3
    assert misses <= 1  # P(>= 2 misses of 10 at p ~ 0.003 each) < 1e-3


def test_bias_shrinks_as_the_schedule_lengthens():
    """And the five-step schedule's uneven weights are flagged: its error bars are not trusted."""
    errs = {}
    for K in (5, 1000):
        e = []
        for seed in range(5):
            prog = gm.compile(_rbm(8, 6, 100 + seed, scale=1.2))
            if K == 5:
                with pytest.warns(gm.ais.DegenerateWeightsWarning, match="effective sample size"):
                    res = gm.ais.log_partition(prog, n_chains=100, betas=K, seed=seed)
                assert not res.reliable and "not to be trusted" in repr(res)
            else:
                res = gm.ais.log_partition(prog, n_chains=100, betas=K, seed=seed)
                assert res.reliable and "trusted" not in repr(res)
            e.append(res.log_z - gm.exact.log_partition(prog))
        errs[K] = np.mean(np.abs(e))
    assert errs[1000] < errs[5] / 3, errs


def test_length_one_schedule_with_base_equal_to_target_is_exact_with_zero_variance():
    """Z2: a target without couplings is its own base: every weight is 1."""
    g = _rbm(5, 4, 0)
    g.edges["v", "h"]["weight"] = np.zeros((5, 4))
    prog = gm.compile(g, dtype=np.float64)
    res = gm.ais.log_partition(prog, n_chains=50, betas=[1.0], seed=0)
    assert res.log_z == pytest.approx(gm.exact.log_partition(prog), abs=1e-12)
    assert np.all(res.log_weights == 0) and res.stderr == 0 and res.ess == pytest.approx(50)


def test_ais_handles_lateral_couplings_and_other_kinds():
    for g in [
        gm.boltzmann(5, 3, seed=1, scale=0.7),
        gm.rbm(3, 5, visible="softmax", categories=3, seed=2, scale=0.7),
        gm.rbm(4, 5, visible="gaussian", sigma=0.8, seed=3, scale=0.5),
        gm.ising(3, periodic=False, coupling=0.4),
    ]:
        prog = gm.compile(g)
        res = gm.ais.log_partition(prog, n_chains=200, betas=400, seed=1)
        assert abs(res.log_z - gm.exact.log_partition(prog)) < 4 * res.stderr + 1e-2


def test_base_biases_from_data_and_the_target_is_untouched():
    prog = gm.compile(_rbm(6, 4, 3))
    before = {k: v.copy() for k, v in prog.params.items()}
    data = (np.random.default_rng(0).random((50, 6)) < 0.3).astype(float)
    res = gm.ais.log_partition(prog, n_chains=100, betas=300, data=data, seed=0)
    for k in before:
        np.testing.assert_array_equal(prog.params[k], before[k])
    assert abs(res.log_z - gm.exact.log_partition(prog)) < 4 * res.stderr + 1e-2


def test_arguments_are_checked_before_any_work():
    prog = gm.compile(_rbm(4, 3, 0))
    for kwargs, exc, match in [
        (dict(n_chains=0), ValueError, "n_chains must be an integer >= 2; got 0"),
        (dict(n_chains=1), ValueError, "n_chains must be an integer >= 2"),
        (dict(betas=0), ValueError, "betas must be an integer >= 1 or an increasing sequence"),
        (dict(betas=[0.0, 0.5, 0.5, 1.0]), ValueError, "increasing"),
        (dict(betas=[0.0, float("nan"), 1.0]), ValueError, "finite"),
        (dict(betas=[-0.5, 0.5, 1.0]), ValueError, "from 0 to 1"),
        (dict(betas=[0.0, 0.5, 0.9]), ValueError, "from 0 to 1"),
        (dict(betas=[0.0, 2.0, 1.0]), ValueError, "increasing"),
        (dict(betas=np.inf), TypeError, "betas must be"),
        (dict(betas=[[0.0, 1.0]]), TypeError, "betas must be"),
        (dict(seed=-1), ValueError, "seed must be"),
        (dict(sweep="gibbs"), TypeError, "sweep must be a function"),
    ]:
        with pytest.raises(exc, match=match):
            gm.ais.log_partition(prog, **kwargs)
    # a ladder given as an array, and the one-step ladder, are fine
    assert np.isfinite(gm.ais.log_partition(prog, n_chains=20, betas=np.linspace(0, 1, 200), seed=0).log_z)


@pytest.mark.slow
def test_error_bars_hold_whenever_no_degenerate_weights_warning_was_raised():
    """784x15 RBMs with weights of scale 0.5, 1, 2 and 3 (10 seeds each), AIS at its
    defaults (100 runs, 1000 temperatures), against exact enumeration of the 2^15 hidden
    states. Where no DegenerateWeightsWarning was raised at least 95 % of the estimates lie
    within 3 reported standard errors (a calibrated error bar misses with probability
    0.003 per run); the warning is raised where the weights are degenerate."""
    import warnings

    within = {False: [], True: []}
    for scale in (0.5, 1.0, 2.0, 3.0):
        for seed in range(10):
            prog = gm.compile(gm.rbm(784, 15, seed=seed, scale=scale))
            exact = gm.exact.log_partition(prog)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", gm.ais.DegenerateWeightsWarning)
                res = gm.ais.log_partition(prog, seed=seed)
            warned = any(issubclass(w.category, gm.ais.DegenerateWeightsWarning) for w in caught)
            assert warned == (not res.reliable)
            within[warned].append(abs(res.log_z - exact) <= 3 * res.stderr)
    assert len(within[False]) >= 5 and np.mean(within[False]) >= 0.95, within
    assert len(within[True]) >= 20, within
