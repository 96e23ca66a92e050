"""Hopfield storage rules, recall and capacity (issue: Hopfield networks)."""

import numpy as np
import pytest

import graphmrf as gm
from graphmrf import memory


def patterns(M, N, seed):
    return np.where(np.random.default_rng(seed).random((M, N)) < 0.5, -1.0, 1.0)


@pytest.mark.parametrize("rule", ["hebb", "storkey", "pseudoinverse"])
def test_patterns_below_capacity_are_fixed_points_and_attract(rule):
    xi = patterns(6, 200, 0)  # load 0.03, far below every rule's capacity
    prog = gm.compile(memory.store(xi, rule), dtype=np.float64)
    assert memory.is_fixed_point(prog, xi).all()
    out, sweeps = memory.recall(prog, memory.corrupt(xi, 0.1, 1), 2)
    np.testing.assert_array_equal(out, xi)
    assert sweeps <= 5


def test_hebb_weights_are_the_textbook_sum():
    xi = patterns(3, 8, 1)
    W, b = memory.weights(xi, "hebb")
    ref = sum(np.outer(p, p) for p in xi) / 8
    np.fill_diagonal(ref, 0)
    np.testing.assert_allclose(W, ref)
    assert np.all(b == 0)


def test_storkey_matches_the_elementwise_definition():
    xi = patterns(4, 7, 2)
    N = 7
    W = np.zeros((N, N))
    for p in xi:  # w_ij += (xi_i xi_j - xi_i h_ji - h_ij xi_j) / N, h_ij = sum_{k != i,j} w_ik xi_k
        h = lambda i, j: sum(W[i, k] * p[k] for k in range(N) if k not in (i, j))  # noqa: E731, B023 (used at once)
        new = W.copy()
        for i in range(N):
            for j in range(N):
                if i != j:
                    new[i, j] = W[i, j] + (p[i] * p[j] - p[i] * h(j, i) - h(i, j) * p[j]) / N
        W = new
    got, _ = memory.weights(xi, "storkey")
    np.testing.assert_allclose(got, W, atol=1e-12)


def test_pseudoinverse_stores_correlated_patterns_that_hebb_confuses():
    rng = np.random.default_rng(3)
    base = patterns(1, 100, 4)[0]
    xi = np.array([np.where(rng.random(100) < 0.15, -base, base) for _ in range(8)])  # strongly correlated
    assert memory.is_fixed_point(gm.compile(memory.store(xi, "pseudoinverse"), dtype=np.float64), xi).all()
    assert not memory.is_fixed_point(gm.compile(memory.store(xi, "hebb"), dtype=np.float64), xi).all()


def test_zero_one_rule_recalls_exactly_like_the_spin_rule():
    xi = patterns(10, 120, 5)
    s01 = (xi + 1) / 2
    spin = gm.compile(memory.store(xi, "hebb"), dtype=np.float64)
    bin_ = gm.compile(memory.store(s01, "hebb01"), dtype=np.float64)
    probes = memory.corrupt(xi, 0.15, 6)
    a, _ = memory.recall(spin, probes, 7, max_sweeps=1)
    b, _ = memory.recall(bin_, (probes + 1) / 2, 7, max_sweeps=1)
    np.testing.assert_array_equal((a + 1) / 2, b)  # same random order, same decisions


def test_capacity_shows_the_hebb_breakdown_and_better_rules():
    loads = np.array([0.05, 0.1, 0.14, 0.2, 0.3, 0.45])
    res = {r: memory.capacity(200, loads, r, trials=2, seed=0) for r in ("hebb", "storkey", "pseudoinverse")}
    hebb = memory.critical_load(res["hebb"])
    assert 0.09 < hebb < 0.19, hebb  # theory: 0.138 for retrieval of random patterns
    assert memory.critical_load(res["storkey"]) > hebb + 0.1
    assert memory.critical_load(res["pseudoinverse"]) > hebb + 0.2


def test_zero_one_rule_stores_the_lectures_weights_computed_by_hand():
    # lecture: Delta w_ij = 4 (s_i - 1/2)(s_j - 1/2) per pattern, summed, no 1/N
    s = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 1]])  # 2s - 1: (1 1 -1 -1), (1 -1 1 -1), (-1 1 1 1)
    W, b = memory.weights(s, "hebb01")
    # w_12 = 1 - 1 - 1, w_13 = -1 + 1 - 1, w_14 = -1 - 1 - 1, w_23 = -1 - 1 + 1, w_24 = -1 + 1 + 1, w_34 = 1 - 1 + 1
    expected = np.array([[0, -1, -1, -3], [-1, 0, -1, 1], [-1, -1, 0, 1], [-3, 1, 1, 0]], dtype=float)
    np.testing.assert_array_equal(W, expected)
    np.testing.assert_array_equal(b, [2.5, 0.5, 0.5, 0.5])  # b_i = -1/2 sum_j w_ij


def test_zero_one_energy_is_the_spin_energy_scaled_by_n_over_4():
    xi = patterns(4, 30, 8)
    s01 = (xi + 1) / 2
    spin = gm.compile(memory.store(xi, "hebb"), dtype=np.float64)
    bin_ = gm.compile(memory.store(s01, "hebb01"), dtype=np.float64)
    W, _ = memory.weights(s01, "hebb01")
    states = np.where(np.random.default_rng(9).random((50, 30)) < 0.5, -1.0, 1.0)
    # E_01(s) = (N/4) E_hebb(2s - 1) + (1/8) sum_ij w_ij, as the docstring says
    expected = 30 / 4 * spin.energy(states) + W.sum() / 8
    np.testing.assert_allclose(bin_.energy((states + 1) / 2), expected, rtol=0, atol=1e-9)


def hebb_energy(sigma, xi):
    """E = -1/2 s'Ws for W = (1/N) Xi'Xi with zero diagonal: -(N/2) sum_mu m_mu^2 + M/2."""
    M, N = xi.shape
    m = sigma @ xi.T / N
    return -N / 2 * np.sum(m**2, axis=1) + M / 2


def test_reversed_patterns_and_the_three_mixture_are_fixed_points_and_reported():
    xi = patterns(3, 600, 10)
    prog = gm.compile(memory.store(xi, "hebb"), dtype=np.float64)
    mixture = np.sign(xi.sum(axis=0))[None, :]
    for states in (xi, -xi, mixture, -mixture):  # -xi: E is even in s, so this holds exactly once xi is fixed
        assert memory.is_fixed_point(prog, states).all()
        out, sweeps = memory.recall(prog, states, 0)
        np.testing.assert_array_equal(out, states)
        assert sweeps == 1  # one sweep in which no unit moves
    found = memory.attractors(prog, xi, n_probes=300, seed=1)
    assert found.stored_fixed.all()
    got = dict(zip(found.labels, found.states))
    for mu in range(3):
        np.testing.assert_array_equal(got[f"xi{mu + 1}"], xi[mu])
        np.testing.assert_array_equal(got[f"-xi{mu + 1}"], -xi[mu])
    np.testing.assert_array_equal(got["sgn(xi1 + xi2 + xi3)"], mixture[0])
    np.testing.assert_array_equal(got["sgn(-xi1 - xi2 - xi3)"], -mixture[0])
    kinds = dict(zip(found.labels, found.kinds))
    assert kinds["-xi2"] == "reversed" and kinds["sgn(xi1 + xi2 + xi3)"] == "mixture" and kinds["xi3"] == "pattern"
    assert list(found.kinds[:6]) == ["pattern"] * 3 + ["reversed"] * 3
    assert memory.is_fixed_point(prog, found.states).all()  # everything reported is a fixed point
    np.testing.assert_allclose(found.energies, hebb_energy(found.states, xi), atol=1e-9)
    np.testing.assert_allclose(found.overlaps, found.states @ xi.T / 600, atol=0)
    mix = found.overlaps[found.labels.index("sgn(xi1 + xi2 + xi3)")]
    assert np.all(np.abs(mix - 0.5) < 0.1)  # m_mu = 1/2 + O(1/sqrt(N)): sd 0.02 here
    assert found.hits.sum() == 300  # every probe ended in a reported fixed point
    np.testing.assert_array_equal(found.spurious, found.kinds != "pattern")


def test_attractors_of_a_loaded_net_include_other_states_and_the_zero_one_net_has_the_same():
    xi = patterns(12, 100, 11)  # load 0.12: many spurious states
    spin = gm.compile(memory.store(xi, "hebb"), dtype=np.float64)
    bin_ = gm.compile(memory.store((xi + 1) / 2, "hebb01"), dtype=np.float64)
    a = memory.attractors(spin, xi, n_probes=200, seed=3)
    b = memory.attractors(bin_, (xi + 1) / 2, n_probes=200, seed=3)
    assert (a.kinds == "other").any() and (a.kinds == "mixture").any()
    assert memory.is_fixed_point(spin, a.states).all()
    others = a.states[a.kinds == "other"]
    assert not np.any(np.abs(others @ xi.T / 100) == 1)  # an "other" state is no pattern nor reverse
    assert np.all(np.diff(a.energies[a.kinds == "other"]) >= 0)
    assert a.labels == b.labels  # same decisions, unit by unit, in the same random order
    np.testing.assert_array_equal((a.states + 1) / 2, b.states)
    np.testing.assert_array_equal(a.hits, b.hits)
    np.testing.assert_allclose(a.overlaps, b.overlaps)
    assert "sgn(" in str(a) and "max |overlap|" in str(a)


def test_attractors_refuse_what_is_not_a_hopfield_net_or_too_many_candidates():
    xi = patterns(3, 20, 12)
    prog = gm.compile(memory.store(xi), dtype=np.float64)
    with pytest.raises(ValueError, match="program must be a Hopfield net"):
        memory.attractors(gm.compile(gm.rbm(4, 3, seed=0)), xi)
    with pytest.raises(ValueError, match=r"patterns must have shape \(M, 20\)"):
        memory.attractors(prog, xi[:, :10])
    with pytest.raises(ValueError, match="patterns must hold only the net's values -1 and 1"):
        memory.attractors(prog, (xi + 1) / 2)
    with pytest.raises(ValueError, match="max_order=9 with 20 patterns makes .* candidate states"):
        memory.attractors(gm.compile(memory.store(patterns(20, 30, 0))), patterns(20, 30, 0), max_order=9)
    with pytest.raises(ValueError, match="attractors: n_probes must be an integer >= 0; got -1"):
        memory.attractors(prog, xi, n_probes=-1)


def test_bad_patterns_and_rules_are_refused():
    with pytest.raises(gm.ModelError, match="spin patterns must hold -1 and \\+1"):
        memory.weights(np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="weights: rule must be one of 'hebb', 'hebb01', .*; got 'oja'"):
        memory.weights(np.ones((1, 3)), "oja")
    with pytest.raises(ValueError, match="capacity: loads must be finite reals > 0"):
        memory.capacity(10, [0.1, -0.2])
    with pytest.raises(ValueError, match="capacity: trials must be an integer >= 1; got 0"):
        memory.capacity(10, [0.1], trials=0)
