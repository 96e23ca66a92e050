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
    for seed, (nv, nh) in enumerate([(5, 3), (8, 4), (6, 10), (10, 6), (12, 20), (4, 12), (7, 7), (9, 3), (3, 9), (16, 20)]):
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
    for g in [gm.boltzmann(5, 3, seed=1, scale=0.7), gm.rbm(3, 5, visible="softmax", categories=3, seed=2, scale=0.7), gm.rbm(4, 5, visible="gaussian", sigma=0.8, seed=3, scale=0.5), gm.ising(3, periodic=False, coupling=0.4)]:
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
