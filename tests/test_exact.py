"""Exact enumeration against an independent brute-force oracle (tests/oracle.py)."""

import itertools

import networkx as nx
import numpy as np
import pytest
from oracle import enumerate_joint, log_z, marginal_means, visible_distribution
from zoo import FAMILIES, central_difference, family, is_lateral

import graphmrf as gm
from graphmrf import exact


def prog64(g):
    return gm.compile(g, dtype=np.float64)


@pytest.mark.parametrize("name", FAMILIES)
def test_log_partition_matches_oracle(name):
    g = family(name)
    assert exact.log_partition(prog64(g)) == pytest.approx(log_z(g), rel=1e-10, abs=1e-10)


@pytest.mark.parametrize("name", ["rbm", "bm", "dbn", "ising_periodic", "mixed"])
@pytest.mark.parametrize("beta", [0.5, 2.0])
def test_log_partition_at_other_temperatures(name, beta):
    g = family(name)
    _, ne = enumerate_joint(g)
    ref = np.log(np.exp(beta * ne - (beta * ne).max()).sum()) + (beta * ne).max()
    assert exact.log_partition(prog64(g), beta=beta) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("name", FAMILIES)
def test_marginals_match_oracle(name):
    g = family(name)
    got = exact.marginals(prog64(g))
    ref = marginal_means(g)
    for node in g.nodes:
        np.testing.assert_allclose(np.ravel(got[node]), ref[node], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", FAMILIES)
def test_visible_distribution_matches_oracle(name):
    g = family(name)
    prog = prog64(g)
    states, probs = exact.distribution(prog)
    ref = visible_distribution(g)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    assert len(probs) == len(ref)
    # map program visible columns back to the oracle's node order
    order = []
    for node in g.nodes:
        cs = prog.columns(node)
        L = prog.layer_of(node)
        for u in range(L.n if L.declared else 1):
            if L.visible[u if L.declared else prog.spec.unit_index[node][1]]:
                base = cs.start + u * L.width
                order.extend(range(base, base + L.width))
    pos = np.searchsorted(prog.visible_columns, order)
    for s, p in zip(states, probs):
        assert p == pytest.approx(ref[tuple(s[pos].tolist())], rel=1e-9, abs=1e-14)


@pytest.mark.parametrize("name", FAMILIES)
def test_table_rows_match_oracle(name):
    g = family(name)
    t = exact.table(prog64(g))
    _, ne = enumerate_joint(g)
    np.testing.assert_allclose(t.neg_energy, ne, rtol=1e-10, atol=1e-10)
    assert t.p_joint.sum() == pytest.approx(1.0)


def test_lecture_table_reproduces_the_lecture():
    t = exact.table(prog64(family("lecture")))
    assert np.exp(t.log_z) == pytest.approx(39.70, abs=0.015)
    pv = {tuple(r[:2]): p for r, p in zip(t.states, t.p_visible)}
    for v, p in {(1, 1): 0.466, (1, 0): 0.305, (0, 1): 0.144, (0, 0): 0.084}.items():
        assert pv[v] == pytest.approx(p, abs=1.5e-3)
    # the lecture's first rows: v=11 h=11 -> -E = 2; v=00 h=11 -> -E = -1
    rows = {tuple(r): ne for r, ne in zip(t.states, t.neg_energy)}
    assert rows[(1, 1, 1, 1)] == 2 and rows[(0, 0, 1, 1)] == -1 and rows[(1, 1, 0, 1)] == 1


@pytest.mark.parametrize("name", ["rbm", "rbm_softmax", "bm", "dbm", "sbn", "dbn", "mixed", "softmax_units"])
def test_log_likelihood_matches_oracle(name):
    g = family(name)
    prog = prog64(g)
    states, probs = exact.distribution(prog)
    rng = np.random.default_rng(1)
    idx = rng.integers(0, len(states), 7)
    ll = exact.log_likelihood(prog, states[idx], reduce="none")
    np.testing.assert_allclose(ll, np.log(probs[idx]), rtol=1e-9)
    assert exact.log_likelihood(prog, states[idx]) == pytest.approx(np.log(probs[idx]).mean())


def _fd_grad(prog, data, key, idx, h=1e-5):
    return central_difference(lambda: exact.log_likelihood(prog, data), prog, key, idx, h)


@pytest.mark.parametrize(
    "name", ["rbm", "rbm_spin", "rbm_softmax", "bm", "dbm", "sbn", "dbn", "dbn4", "mixed", "softmax_units"]
)
def test_exact_gradient_matches_finite_differences(name):
    g = family(name, seed=3)
    prog = prog64(g)
    states, probs = exact.distribution(prog)
    data = states[np.random.default_rng(0).integers(0, len(states), 9)]
    grad = exact.log_likelihood_grad(prog, data)
    assert set(grad) == set(prog.params)
    rng = np.random.default_rng(1)
    for key, arr in prog.params.items():
        for _ in range(3):
            idx = tuple(int(rng.integers(0, s)) for s in arr.shape)
            if is_lateral(key, arr) and idx[0] == idx[1]:
                continue
            assert grad[key][idx] == pytest.approx(_fd_grad(prog, data, key, idx), abs=2e-6), (key, idx)


def _gaussian_rbm(seed):
    rng = np.random.default_rng(seed)
    sig = np.array([0.5, 1.0, 2.0])
    g = gm.rbm(3, 4, visible="gaussian", sigma=sig, seed=seed, scale=0.7)
    g.nodes["v"]["bias"] = rng.normal(size=3)
    g.nodes["h"]["bias"] = rng.normal(size=4)
    return g


def test_gaussian_rbm_log_partition_and_likelihood_closed_form():
    g = _gaussian_rbm(0)
    W, b, c, sig = g.edges["v", "h"]["weight"], g.nodes["v"]["bias"], g.nodes["h"]["bias"], g.nodes["v"]["sigma"]
    prog = prog64(g)
    # Z = sum_h exp(c.h) prod_i sqrt(2 pi) sigma_i exp(((b_i + sigma_i (W h)_i)^2 - b_i^2) / (2 sigma_i^2))
    terms = []
    for h in itertools.product([0, 1], repeat=4):
        h = np.array(h, float)
        m = b + sig * (W @ h)
        terms.append(c @ h + np.sum(np.log(np.sqrt(2 * np.pi) * sig) + (m**2 - b**2) / (2 * sig**2)))
    ref = np.logaddexp.reduce(terms)
    assert exact.log_partition(prog) == pytest.approx(ref, rel=1e-12)
    v = np.array([[0.3, -1.0, 2.0], [0.0, 0.0, 0.0]])
    # log p(v) = -F(v) - log Z, F(v) = sum (v-b)^2/2s^2 - sum softplus(c + (v/s) W)
    F = np.sum((v - b) ** 2 / (2 * sig**2), axis=1) - np.sum(np.logaddexp(0, c + (v / sig) @ W), axis=1)
    np.testing.assert_allclose(exact.log_likelihood(prog, v, reduce="none"), -F - ref, rtol=1e-12)
    np.testing.assert_allclose(-prog.free_energy(v), -F, rtol=1e-12)
    m = exact.marginals(prog)
    assert m["v"].shape == (3,) and m["h"].shape == (4,)


def test_gaussian_gradient_matches_finite_differences_including_sigma():
    g = _gaussian_rbm(1)
    prog = prog64(g)
    data = np.random.default_rng(2).normal(size=(6, 3))
    grad = exact.log_likelihood_grad(prog, data)
    for key in ["v.bias", "v.log_sigma", "h.bias", "v~h.weight"]:
        arr = prog.params[key]
        for idx in [(0,) * arr.ndim, tuple(s - 1 for s in arr.shape)]:
            assert grad[key][idx] == pytest.approx(_fd_grad(prog, data, key, idx), abs=1e-6), key


def test_rbm_enumerates_the_smaller_layer():
    p = exact.plan(prog64(gm.rbm(20, 5, seed=0)))
    assert p.n_states == 2**5 and int(p.summed.sum()) == 20
    p = exact.plan(prog64(gm.rbm(5, 20, seed=0)))
    assert p.n_states == 2**5 and int(p.summed.sum()) == 20


def test_dbm_sums_the_larger_alternate_layers():
    p = exact.plan(prog64(gm.dbm([6, 3, 6], seed=0)))
    assert p.n_states == 2**3 and int(p.summed.sum()) == 12


def test_too_large_raises_with_count_time_and_memory():
    prog = gm.compile(gm.boltzmann(40, 0, seed=0))
    # the smallest plan sums one unit analytically: 39 enumerated units
    with pytest.raises(
        gm.EnumerationTooLargeError,
        match=(
            r"39 units means 5.4\d*e\+11 states \(2\^39.0\); the limit is max_states=134217728 .*estimated time .* "
            r"s \(from timed chunks of it\), memory .* MiB"
        ),
    ) as info:
        exact.log_partition(prog)
    assert info.value.n_states == 2**39


def test_chunked_enumeration_gives_the_same_answer(monkeypatch):
    g = family("bm", seed=5)
    ref = exact.log_partition(prog64(g))
    m_ref = exact.marginals(prog64(g))
    monkeypatch.setattr(exact, "_TILE", 8)
    assert exact.log_partition(prog64(g)) == pytest.approx(ref, rel=1e-13)
    m = exact.marginals(prog64(g))
    np.testing.assert_allclose(m["v"], m_ref["v"], rtol=1e-12)


def test_float32_program_is_enumerated_in_float64():
    g = family("rbm", seed=2)
    p32 = gm.compile(g)
    assert p32.dtype == np.float32
    assert exact.log_partition(p32) == pytest.approx(log_z(g), rel=1e-6)


def test_data_outside_the_support_is_refused():
    prog = prog64(family("rbm"))
    with pytest.raises(
        ValueError,
        match=r"data: column 0 \(node 'v', unit 0\) holds 0.5 in row 0; binary units take values in \{0, 1\}",
    ):
        exact.log_likelihood(prog, np.full((2, 4), 0.5))
    with pytest.raises(ValueError, match=r"data: expected shape \(examples, 4\)"):
        exact.log_likelihood(prog, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"holds NaN in row 1"):
        exact.log_likelihood(prog, np.array([[0, 1, 0, 1], [np.nan, 1, 0, 1]]))
    with pytest.raises(TypeError, match=r"data: expected an array of real numbers; got dtype complex128"):
        exact.log_likelihood(prog, np.zeros((2, 4), complex))


def test_real_units_in_two_blocks_cannot_be_enumerated():
    g = gm.dbm([2, 2, 2], seed=0)
    g.nodes["v"]["kind"] = "gaussian"
    g.nodes["h1"]["kind"] = "gaussian"
    with pytest.raises(gm.ModelError, match="real-valued units"):
        exact.log_partition(prog64(g))


def test_sbn_distribution_sums_to_one_and_log_partition_is_zero():
    prog = prog64(family("sbn"))
    assert exact.log_partition(prog) == pytest.approx(0.0, abs=1e-12)


def test_explaining_away_posterior():
    prog = prog64(gm.load(gm.models.path("explaining_away.graphml")))
    t = exact.table(prog)
    jumps = t.states[:, 2] == 1
    post = t.p_joint[jumps] / t.p_joint[jumps].sum()
    rows = {tuple(s[:2]): p for s, p in zip(t.states[jumps], post)}
    # each cause alone explains the effect; both or neither are ~e^-10 as likely
    assert rows[(1, 0)] == pytest.approx(0.5, abs=1e-4) and rows[(0, 1)] == pytest.approx(0.5, abs=1e-4)
    assert rows[(1, 1)] < 1e-4 and rows[(0, 0)] < 1e-4


@pytest.mark.parametrize("name", ["rbm", "dbn", "mixed", "softmax_units"])
def test_joint_of_discrete_models_is_the_table(name):
    prog = prog64(family(name))
    states, probs, cols = exact.joint(prog)
    t = exact.table(prog)
    np.testing.assert_allclose(probs, t.p_joint, rtol=1e-10)
    np.testing.assert_array_equal(states, t.states)


def test_joint_integrates_gaussian_units_out():
    g = _gaussian_rbm(4)
    prog = prog64(g)
    states, probs, cols = exact.joint(prog)
    W, b, c, sig = g.edges["v", "h"]["weight"], g.nodes["v"]["bias"], g.nodes["h"]["bias"], g.nodes["v"]["sigma"]
    lw = []
    for h in states:
        m = b + sig * (W @ h)
        lw.append(c @ h + np.sum((m**2 - b**2) / (2 * sig**2)))
    ref = np.exp(np.array(lw) - max(lw))
    np.testing.assert_allclose(probs, ref / ref.sum(), rtol=1e-10)
    assert list(cols) == list(range(3, 7))


@pytest.mark.parametrize("name", ["rbm", "rbm_spin", "rbm_softmax", "hopfield", "mixed", "ising_open"])
def test_pseudo_likelihood_is_the_sum_of_exact_site_conditionals(name):
    """Z4: exact PL over every site equals the brute-force sum of log p(x_i | x_-i)."""
    g = family(name, seed=8)
    prog = prog64(g)
    states, probs = exact.distribution(prog)
    rows = states[np.random.default_rng(0).integers(0, len(states), 5)]
    key = {tuple(s): p for s, p in zip(states, probs)}
    ref = np.zeros(len(rows))
    width = {}
    for L in prog.layers:
        for u in range(L.n):
            if L.visible[u]:
                c = np.searchsorted(
                    prog.visible_columns, np.arange(L.offset + u * L.width, L.offset + (u + 1) * L.width)
                )
                width[len(width)] = (
                    c,
                    np.eye(L.width) if L.kind.onehot else np.asarray(L.kind.support, float)[:, None],
                )
    for _i, (c, vals) in width.items():
        for r, row in enumerate(rows):
            alts = []
            for v in vals:
                x = row.copy()
                x[c] = v
                alts.append(key[tuple(x)])
            ref[r] += np.log(key[tuple(row)] / sum(alts))
    got = exact.pseudo_log_likelihood(prog, rows, reduce="none")
    np.testing.assert_allclose(got, ref, rtol=1e-9)
    summary = exact.pseudo_log_likelihood(prog, rows)
    assert summary["per_variable"] == pytest.approx(ref.mean() / len(width))


def test_the_limit_is_checked_against_the_plan_that_runs_and_the_estimate_is_measured():
    """A 22-unit fully coupled machine: enumerating all is 2^22 states, summing one unit
    2^21 -- within a limit of 2^21, so that plan runs instead of a refusal; below it the
    refusal's time estimate comes from timed chunks of the plan (within 3x of the real
    time, on a machine whose load varies)."""
    import time

    prog = gm.compile(gm.boltzmann(22, 0, seed=0, scale=0.1), dtype=np.float64)
    p = exact.plan(prog, max_states=2**21)
    assert p.n_states == 2**21 and int(p.summed.sum()) == 1
    with pytest.raises(gm.EnumerationTooLargeError) as info:
        exact.plan(prog, max_states=2**19)
    estimate = float(str(info.value).split("estimated time ")[1].split(" s")[0])
    t0 = time.perf_counter()
    exact.log_partition(prog, max_states=2**21)
    real = time.perf_counter() - t0
    assert real / 3 < estimate < 3 * real, (estimate, real)


@pytest.mark.parametrize(
    "kind, scale, beta",
    [("binary", 0.4, 1.0), ("spin", 0.4, 0.7), ("binary", 200.0, 1.0), ("spin", 40.0, 1.3)],
    ids=["binary", "spin-beta", "binary-strong", "spin-strong"],
)
def test_weights_built_by_doubling_equal_the_log_weights(kind, scale, beta):
    """18 units: 16 of them in the lo table, whose weights log_partition and marginals build
    by products (no exponential per state); with strong couplings the factors are shifted
    first (the sum of a row's exponents exceeds 600). Both agree with the states' energies
    summed by logsumexp to 1e-9 (log Z) and 1e-12 (marginals)."""
    from scipy.special import logsumexp

    g = gm.boltzmann(18, 0, seed=3, scale=scale)
    nx.set_node_attributes(g, kind, "kind")
    prog = gm.compile(g, dtype=np.float64)
    prog.params["v.bias"][...] = np.random.default_rng(4).normal(0, scale / 2, 18)
    states, p = gm.exact.distribution(prog, beta=beta)
    expected = logsumexp(-beta * prog.energy(states))
    means, log_z = gm.exact.marginals(prog, beta=beta, return_log_partition=True)
    assert abs(log_z - expected) <= 1e-9 * max(1.0, abs(expected))
    assert abs(gm.exact.log_partition(prog, beta=beta) - expected) <= 1e-9 * max(1.0, abs(expected))
    np.testing.assert_allclose(means["v"], p @ states, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "visible, scale, beta",
    [("binary", 0.3, 1.0), ("spin", 0.3, 0.6), ("binary", 150.0, 1.0)],
    ids=["binary", "spin-beta", "strong"],
)
def test_summed_units_by_products_equal_the_closed_form(visible, scale, beta):
    """An RBM with 16 hidden units (four rows of 2^14 lo states) and 20 visible units summed
    analytically: from the second row on, the sum of the visible units' log-partitions is
    the log of products of 1 + e^x (no transcendental per state and unit); with strong
    weights an argument could overflow and the logarithms are taken instead. Both equal
    logsumexp_h [beta c.h + sum_i log sum_v exp(beta v x_i(h))] to 1e-9."""
    from scipy.special import logsumexp

    g = gm.rbm(20, 16, seed=5, scale=scale)
    nx.set_node_attributes(g, {"v": visible}, "kind")
    prog = gm.compile(g, dtype=np.float64)
    rng = np.random.default_rng(6)
    prog.params["v.bias"][...] = rng.normal(0, scale, 20)
    prog.params["h.bias"][...] = rng.normal(0, scale, 16)
    W, b, c = (np.asarray(prog.params[k]) for k in ("v~h.weight", "v.bias", "h.bias"))
    h = (np.arange(2**16)[:, None] >> np.arange(15, -1, -1)) & 1
    x = beta * (h @ W.T + b)
    values = (0.0, 1.0) if visible == "binary" else (-1.0, 1.0)
    per_unit = np.logaddexp(values[0] * x, values[1] * x).sum(axis=1)
    expected = logsumexp(beta * h @ c + per_unit)
    got = gm.exact.log_partition(prog, beta=beta)
    assert abs(got - expected) <= 1e-9 * max(1.0, abs(expected))
