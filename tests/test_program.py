"""Program operations against the oracle and against finite differences."""

import numpy as np
import pytest
from oracle import neg_energy_of
from scipy import stats
from zoo import FAMILIES, central_difference, family, is_lateral

import graphmrf as gm
from graphmrf import symbolic


def prog64(g):
    return gm.compile(g, dtype=np.float64)


def oracle_layout(g, prog):
    """Index array mapping the oracle's statistic vector positions to program columns."""
    idx = []
    for node in g.nodes:
        cs = prog.columns(node)
        idx.extend(range(cs.start, cs.stop))
    return np.asarray(idx)


def random_states(prog, n, seed):
    return prog.random_state(n, seed=seed)


@pytest.mark.parametrize("name", FAMILIES)
def test_energy_matches_oracle(name):
    g = family(name)
    prog = prog64(g)
    s = random_states(prog, 20, 0)
    idx = oracle_layout(g, prog)
    from oracle import _layout

    sl, _, _ = _layout(g)
    ne = neg_energy_of(g, s[:, idx], sl)
    np.testing.assert_allclose(-prog.energy(s), ne, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("name", ["rbm", "rbm_spin", "rbm_softmax", "mixed", "softmax_units"])
def test_free_energy_sums_out_hidden_units(name):
    g = family(name)
    prog = prog64(g)
    t = gm.exact.table(prog)
    # F(v) = -log sum_h exp(-E(v, h)) = -(log p(v) + log Z)
    s = random_states(prog, 10, 1)
    F = prog.free_energy(s)
    vis_t = {}
    order = oracle_layout(g, prog)
    pos = np.argsort(order)  # table columns are in oracle (node) order
    for row, pv in zip(t.states, t.p_visible):
        full = row[pos]
        vis_t[tuple(full[prog.visible_columns])] = pv
    for f, st in zip(F, s):
        pv = vis_t[tuple(st[prog.visible_columns])]
        assert -f == pytest.approx(np.log(pv) + t.log_z, rel=1e-10)
    # visible columns only give the same
    np.testing.assert_allclose(prog.free_energy(s[:, prog.visible_columns]), F)


def test_free_energy_refuses_coupled_hidden_units():
    with pytest.raises(gm.ModelError, match="hidden units are coupled"):
        prog64(family("dbm")).free_energy(np.zeros((1, 3)))


def _minus_energy_fd(prog, s, key, idx, h=1e-6):
    return np.mean(central_difference(lambda: -prog.energy(s), prog, key, idx, h))


@pytest.mark.parametrize("name", [f for f in FAMILIES if f != "ising_periodic"] + ["gaussian_rbm", "gaussian_sbn"])
def test_sufficient_stats_are_minus_energy_derivatives(name):
    if name == "gaussian_rbm":
        g = gm.rbm(3, 2, visible="gaussian", sigma=np.array([0.5, 1.0, 2.0]), seed=0, scale=0.8)
    elif name == "gaussian_sbn":
        g = gm.sbn([3, 2], seed=0, scale=0.8)
        g.nodes["v"]["kind"] = "gaussian"
        g.nodes["v"]["sigma"] = np.array([0.7, 1.0, 1.5])
        g.nodes["h1"]["kind"] = "gaussian"
    else:
        g = family(name, seed=4)
    prog = prog64(g)
    s = random_states(prog, 6, 2)
    st = prog.sufficient_stats(s)
    rng = np.random.default_rng(0)
    for key, arr in prog.params.items():
        for _ in range(3):
            idx = tuple(int(rng.integers(0, k)) for k in arr.shape)
            if is_lateral(key, arr) and idx[0] == idx[1]:
                assert st[key][idx] == 0
                continue
            assert st[key][idx] == pytest.approx(_minus_energy_fd(prog, s, key, idx), rel=1e-6, abs=1e-7), (key, idx)


@pytest.mark.parametrize("name", ["rbm", "rbm_softmax", "softmax_units", "mixed"])
def test_summed_stats_are_posterior_expectations(name):
    g = family(name, seed=7)
    prog = prog64(g)
    mask = prog.hidden_summable()
    v = random_states(prog, 3, 5)
    got = prog.sufficient_stats(v, summed=mask)
    # brute force: enumerate hidden configurations of each row and weight by p(h | v)
    t = gm.exact.table(prog)
    pos = np.argsort(oracle_layout(g, prog))
    full = t.states[:, pos]
    ref = {k: 0 for k in got}
    for row in v:
        match = np.all(full[:, prog.visible_columns] == row[prog.visible_columns], axis=1)
        w = t.p_joint[match] / t.p_joint[match].sum() / v.shape[0]
        s = prog.sufficient_stats(full[match], weights=w)
        for k in ref:
            ref[k] = ref[k] + s[k]
    for k in got:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "name", ["rbm", "rbm_softmax", "bm", "dbm", "sbn", "dbn", "dbn4", "ising_periodic", "mixed", "softmax_units"]
)
def test_block_conditionals_match_the_joint(name):
    """p(x_i | x_-i) from the conditional equals the ratio of joint probabilities (S4)."""
    g = family(name, seed=2)
    prog = prog64(g)
    s = random_states(prog, 4, 3)
    for bi, block in enumerate(prog.blocks):
        conds = prog.conditional(s, bi)
        for part, cond in zip(block, conds):
            L = part.layer
            probs = L.ops.probabilities(cond)  # (chains, units, values)
            if L.kind.onehot:
                values = [np.eye(L.width)[k] for k in range(L.width)]
            else:
                values = [np.array([v]) for v in L.kind.support]
            for j, u in enumerate(part.indices):
                c0 = L.offset + u * L.width
                ne = []
                for val in values:
                    t = s.copy()
                    t[:, c0 : c0 + L.width] = val
                    ne.append(-prog.energy(t))
                ne = np.stack(ne, axis=1)
                ref = np.exp(ne - ne.max(1, keepdims=True))
                ref /= ref.sum(1, keepdims=True)
                np.testing.assert_allclose(probs[:, j], ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("beta", [0.5, 2.0])
def test_conditional_at_beta_is_the_tempered_ratio(beta):
    g = family("bm", seed=1)
    prog = prog64(g)
    s = random_states(prog, 3, 0)
    cond = prog.conditional(s, 0, beta=beta)[0]
    p = prog.layers[0].ops.probabilities(cond)[:, 0]
    t1, t0 = s.copy(), s.copy()
    t1[:, 0], t0[:, 0] = 1, 0
    logit = -beta * (prog.energy(t1) - prog.energy(t0))
    np.testing.assert_allclose(p[:, 1], 1 / (1 + np.exp(-logit)), rtol=1e-10)


def test_sample_block_draws_from_the_conditional():
    """Per-unit frequencies of 20000 draws against the conditional: chi-square, alpha = 1e-3 each."""
    g = family("rbm_softmax", seed=3)
    prog = gm.compile(g, seed=0)
    s = np.repeat(prog.random_state(1, seed=1), 20000, axis=0)
    for bi, block in enumerate(prog.blocks):
        new = prog.sample_block(s, bi)
        cond = prog.conditional(s[:1], bi)
        for part, c in zip(block, cond):
            L = part.layer
            probs = L.ops.probabilities(c)[0]
            for j, u in enumerate(part.indices):
                cols = new[:, L.offset + u * L.width : L.offset + (u + 1) * L.width]
                if L.kind.onehot:
                    assert np.all(cols.sum(1) == 1)
                    counts = cols.sum(0)
                else:
                    counts = np.array([(cols[:, 0] == v).sum() for v in L.kind.support])
                expected = probs[j].astype(np.float64) / probs[j].astype(np.float64).sum() * counts.sum()
                assert stats.chisquare(counts, expected).pvalue > 1e-3
        # units outside the block are untouched
        outside = np.ones(prog.n_columns, bool)
        for p in block:
            outside[p.layer.offset + p.columns.start : p.layer.offset + p.columns.stop] = False
        np.testing.assert_array_equal(new[:, outside], s[:, outside])


def test_gaussian_draws_have_the_conditional_mean_and_variance():
    """S10: samples are real-valued with variance sigma^2 (5 standard errors, alpha < 1e-6)."""
    g = gm.rbm(2, 3, visible="gaussian", sigma=np.array([0.5, 2.0]), seed=0, scale=1.0)
    prog = gm.compile(g, dtype=np.float64, seed=3)
    n = 40000
    s = np.repeat(prog.random_state(1, seed=2), n, axis=0)
    new = prog.sample_block(s, 0)[:, :2]
    cond = prog.conditional(s[:1], 0)[0]
    se_mean = np.sqrt(cond["var"][0] / n)
    assert np.all(np.abs(new.mean(0) - cond["mean"][0]) < 5 * se_mean)
    np.testing.assert_allclose(cond["var"][0], [0.25, 4.0])
    se_var = cond["var"][0] * np.sqrt(2 / n)
    assert np.all(np.abs(new.var(0) - cond["var"][0]) < 5 * se_var)


def test_same_seed_same_draws_and_a_shared_generator_moves_on():
    prog = gm.compile(family("rbm"))
    s = prog.random_state(5, seed=0)
    a = prog.sample_block(s, 1, rng=np.random.default_rng(7))
    b = prog.sample_block(s, 1, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(7)
    c, d = prog.sample_block(s, 1, rng=rng), prog.sample_block(s, 1, rng=rng)
    assert not np.array_equal(c, d)


def test_float32_is_kept_end_to_end():
    prog = gm.compile(family("rbm"))
    s = prog.random_state(8, seed=0)
    assert s.dtype == np.float32
    assert all(v.dtype == np.float32 for v in prog.params.values())
    assert prog.sample_block(s, 0).dtype == np.float32
    assert prog.energy(s).dtype == np.float32
    assert prog.free_energy(s).dtype == np.float32
    assert all(v.dtype == np.float32 for v in prog.sufficient_stats(s).values())


def test_parameter_updates_are_in_place_and_never_recompile():
    prog = gm.compile(family("rbm"), dtype=np.float64)
    s = prog.random_state(4, seed=0)
    before = symbolic.lambdify_calls
    e0 = prog.energy(s)
    prog.params["v~h.weight"] += 0.5
    prog.params["h.bias"][:] = 0
    e1 = prog.energy(s)
    assert not np.allclose(e0, e1)
    g = prog.to_graph()
    np.testing.assert_allclose(prog64(g).energy(s), e1)
    assert symbolic.lambdify_calls == before
    # single-unit (sparse) couplings too
    sp = gm.compile(family("mixed"), dtype=np.float64)
    s = sp.random_state(4, seed=0)
    k = [k for k in sp.params if k.endswith("weight")][0]
    e0 = sp.energy(s)
    sp.params[k] *= 2
    np.testing.assert_allclose(prog64(sp.to_graph()).energy(s), sp.energy(s))
    assert not np.allclose(e0, sp.energy(s))


def test_get_reads_parameters_in_graph_units():
    g = gm.rbm(3, 2, visible="gaussian", sigma=np.array([0.5, 1.0, 2.0]), seed=0)
    prog = gm.compile(g, dtype=np.float64)
    np.testing.assert_allclose(prog.get("v", "sigma"), [0.5, 1.0, 2.0])
    np.testing.assert_allclose(prog.get(("v", "h"), "weight"), g.edges["v", "h"]["weight"])
    np.testing.assert_allclose(prog.get(("h", "v"), "weight"), g.edges["v", "h"]["weight"].T)
    lec = gm.compile(family("lecture"))
    assert lec.get(("v1", "h1"), "weight") == 2.0 and lec.get(("h2", "h1"), "weight") == -1.0
    assert lec.get("h1", "bias") == 0.0


def test_log_prob_of_a_directed_net_is_the_oracle_probability():
    from oracle import _layout

    g = family("sbn", seed=9)
    prog = prog64(g)
    s = prog.random_state(12, seed=4)
    sl, _, _ = _layout(g)
    np.testing.assert_allclose(prog.log_prob(s), neg_energy_of(g, s[:, oracle_layout(g, prog)], sl), rtol=1e-12)
    with pytest.raises(gm.ModelError, match="log_prob: defined for directed nets"):
        prog64(family("dbn")).log_prob(s[:, :7])


def test_uniform_sparse_couplings_follow_in_place_updates():
    """The lattice fast path (all couplings equal) must see every change of the couplings."""
    prog = gm.compile(gm.ising(4, periodic=True, coupling=0.3, units=True), dtype=np.float64)
    s = prog.random_state(5, seed=0)
    key = "units[spin]~units[spin].weight"
    for new in (0.3, 0.9, -0.2, 0.5, 0.9):
        if new < 0:
            prog.params[key][::2] = new  # non-uniform, then non-uniform otherwise (the held
        elif new == 0.5:  # copy of the values must notice), then uniform again at the cached value
            prog.params[key][1::2] = new
        else:
            prog.params[key][:] = new
        fresh = gm.compile(prog.to_graph(), dtype=np.float64)
        for b in range(2):
            a = prog.conditional(s, b)[0]["logits"]
            np.testing.assert_allclose(a, fresh.conditional(s, b)[0]["logits"], rtol=1e-12)


def test_fast_float32_uniforms_are_uniform_on_numpys_grid_and_reproducible():
    from graphmrf.backend import uniform_into

    n = 1 << 20
    u = uniform_into(np.random.default_rng(7), np.empty(n, np.float32))
    k = u.astype(np.float64) * 2.0**24
    assert u.min() >= 0 and u.max() < 1 and np.array_equal(k, np.floor(k))  # the 2^-24 grid
    # chi-square over 256 equal bins: p-value above 1e-4 (false alarm 1e-4 at this seed)
    counts = np.bincount((u * 256).astype(int), minlength=256)
    assert stats.chisquare(counts).pvalue > 1e-4
    # both 32-bit halves of every 64-bit word are used, and independent of each other:
    # the lag-1 correlation of 2^20 uniforms has sd 1/1024; the bound is 5 sd
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / 1024
    odd = uniform_into(np.random.default_rng(7), np.empty(5001, np.float32))  # an odd count
    np.testing.assert_array_equal(odd, u[:5001])
    # other generators and dtypes take NumPy's own draw
    mt = uniform_into(np.random.Generator(np.random.MT19937(3)), np.empty(5, np.float32))
    np.testing.assert_array_equal(mt, np.random.Generator(np.random.MT19937(3)).random(5, dtype=np.float32))
    f64 = uniform_into(np.random.default_rng(3), np.empty(5))
    np.testing.assert_array_equal(f64, np.random.default_rng(3).random(5))


def test_column_major_states_give_the_same_conditionals_after_parameter_updates():
    # a column-major state takes the part's per-unit parameters spread over the chains
    # (a cached copy); an in-place parameter update must show through at once
    prog = gm.compile(gm.ising(6, periodic=True, coupling=0.3, field=0.2), seed=0, dtype=np.float64)
    s = prog.random_state(4, seed=0)
    part = prog.blocks[0][0]
    bias = next(k for k in prog.params if k.endswith(".bias"))
    ws = gm.workspace.Workspace()
    for value in (0.2, -0.7):
        prog.params[bias][...] = np.linspace(value, 1.0, prog.params[bias].size)
        row = prog.part_conditional(s, s, part, 0.5)["logits"]
        f = np.asfortranarray(s)
        col = prog.part_conditional(f, f, part, 0.5, workspace=ws)["logits"]
        np.testing.assert_allclose(col, row, rtol=1e-12)


def test_a_copy_owns_its_parameters():
    # its couplings once shared the compiled arrays: AIS moving the copy along its path moved the model
    prog = gm.compile(gm.dbm([4, 3, 2], seed=0, scale=1.0), dtype=np.float64)
    state = prog.random_state(8, seed=0)
    before = prog.energy(state).copy()
    twin = prog.copy()
    assert np.array_equal(twin.energy(state), before)
    for v in twin.params.values():
        v[...] = 0.0
    assert np.array_equal(prog.energy(state), before)
    assert not any(np.shares_memory(twin.params[k], v) for k, v in prog.params.items())
