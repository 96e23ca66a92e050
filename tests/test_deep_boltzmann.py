"""Deep Boltzmann machines: the mean-field fixed point against its equations written out,
the variational bound against exact log p(v) (equal where the posterior factorises), the
positive phase against the bound's derivative, the learning rule against the exact
gradient, AIS against exact log Z (and the RBM limit), the composition of pre-trained RBMs,
and bad input refused by name."""

import functools

import numpy as np
import pytest

import graphmrf as gm
from graphmrf import deep_boltzmann as db


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _all_visible(n):
    return ((np.arange(2**n)[:, None] >> np.arange(n)[::-1]) & 1).astype(float)


def _dbm(sizes, seed=0, scale=1.0):
    return gm.compile(gm.dbm(sizes, seed=seed, scale=scale), dtype=np.float64)


def _with_biases(prog, seed=1):
    rng = np.random.default_rng(seed)
    for key, v in prog.params.items():
        if key.endswith(".bias"):
            v[...] = rng.normal(0, 0.5, v.shape)
    return prog


# --------------------------------------------------------------------------- mean field
def test_mean_field_satisfies_the_fixed_point_equations():
    """Three hidden layers, weights N(0, 1): every mean equals sigmoid(b + input from both
    neighbours), written out with the weight matrices (not the Program's kernels)."""
    prog = _with_biases(_dbm([6, 5, 4, 3]))
    v = _all_visible(6)[::5]
    q = db.mean_field(prog, v, tol=1e-13, max_iter=2000)
    assert q.converged and q.change <= 1e-13
    P = prog.params
    W1, W2, W3 = P["v~h1.weight"], P["h1~h2.weight"], P["h2~h3.weight"]
    m1, m2, m3 = (q.means[:, prog.columns(n)] for n in ("h1", "h2", "h3"))
    np.testing.assert_array_equal(q.means[:, prog.columns("v")], v)
    np.testing.assert_allclose(m1, _sigmoid(P["h1.bias"] + v @ W1 + m2 @ W2.T), atol=1e-11)
    np.testing.assert_allclose(m2, _sigmoid(P["h2.bias"] + m1 @ W2 + m3 @ W3.T), atol=1e-11)
    np.testing.assert_allclose(m3, _sigmoid(P["h3.bias"] + m2 @ W3), atol=1e-11)


def test_damping_reaches_the_same_fixed_point_more_slowly():
    prog = _with_biases(_dbm([6, 5, 4]))
    v = _all_visible(6)[::7]
    plain = db.mean_field(prog, v, tol=1e-12, max_iter=2000)
    damped = db.mean_field(prog, v, tol=1e-12, max_iter=2000, damping=0.5)
    assert damped.converged and damped.iterations > plain.iterations
    np.testing.assert_allclose(damped.means, plain.means, atol=1e-10)


def test_mean_field_continues_from_given_means_and_reports_no_convergence_when_cut_short():
    prog = _with_biases(_dbm([6, 5, 4], scale=1.5))
    v = _all_visible(6)[::9]
    short = db.mean_field(prog, v, tol=1e-12, max_iter=1)
    assert not short.converged and short.iterations == 1 and short.change > 1e-12
    full = db.mean_field(prog, v, tol=1e-12, max_iter=2000)
    resumed = db.mean_field(prog, v, tol=1e-12, max_iter=2000, init=short.means)
    assert resumed.iterations < full.iterations
    np.testing.assert_allclose(resumed.means, full.means, atol=1e-10)


@pytest.mark.parametrize("sizes", [[6, 4, 3], [5, 4, 3, 3]])
def test_the_variational_bound_lies_below_the_exact_log_likelihood(sizes):
    """Every visible configuration: bound <= log p(v), and the gap (KL(q || p(h|v))) is
    positive somewhere for coupled hidden layers."""
    prog = _with_biases(_dbm(sizes, scale=1.5))
    v = _all_visible(sizes[0])
    exact = gm.exact.log_likelihood(prog, v, reduce="none")
    bound = db.variational_bound(prog, v, gm.exact.log_partition(prog), reduce="none", tol=1e-12, max_iter=2000)
    assert np.all(bound <= exact + 1e-10)
    assert np.max(exact - bound) > 1e-3


def test_the_bound_is_exact_where_the_posterior_factorises():
    """A one-hidden-layer DBM is an RBM; a DBM whose top weights are zero has a posterior
    p(h1 | v) p(h2): mean field is exact in both, and so is the bound."""
    v = _all_visible(6)
    rbm = _with_biases(_dbm([6, 4], scale=1.5))
    bound = db.variational_bound(rbm, v, gm.exact.log_partition(rbm), reduce="none", tol=1e-13)
    np.testing.assert_allclose(bound, gm.exact.log_likelihood(rbm, v, reduce="none"), atol=1e-10)
    dbm = _with_biases(_dbm([6, 4, 3], scale=1.5))
    dbm.params["h1~h2.weight"][...] = 0
    bound = db.variational_bound(dbm, v, gm.exact.log_partition(dbm), reduce="none", tol=1e-13)
    np.testing.assert_allclose(bound, gm.exact.log_likelihood(dbm, v, reduce="none"), atol=1e-10)


# --------------------------------------------------------------------------- the learning rule
def _phases(prog, v, chains, seed, **kw):
    """(gradient, positive phase) of mean_field_pcd: the negative phase is the statistics
    of the returned chains (the sampled units), so the positive one is their sum."""
    grad, out = db.mean_field_pcd(prog, v, np.random.default_rng(seed), chains=chains, **kw)
    neg = prog.sufficient_stats(out)
    return grad, {k: grad[k] + neg[k] for k in grad}


def test_the_positive_phase_is_the_derivative_of_the_bound():
    """At the mean-field fixed point dL/dtheta = E_q[-dE/dtheta] (q is optimal, so its own
    change does not count): central differences of the bound (log Z left out) against the
    rule's positive phase, for every parameter entry."""
    prog = _with_biases(_dbm([5, 4, 3], scale=1.2))
    v = _all_visible(5)[[3, 10, 17, 30]]
    chains = prog.random_state(10, seed=0)
    _, pos = _phases(prog, v, chains, 0, positive_sweeps=5000, tol=1e-14)
    h = 1e-6
    for key, value in prog.params.items():
        numeric = np.zeros(value.shape)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + h
            up = db.variational_bound(prog, v, 0.0, tol=1e-14, max_iter=5000)
            value[idx] = old - h
            down = db.variational_bound(prog, v, 0.0, tol=1e-14, max_iter=5000)
            value[idx] = old
            numeric[idx] = (up - down) / (2 * h)
        np.testing.assert_allclose(pos[key], numeric, atol=1e-7, err_msg=key)


@pytest.mark.parametrize("mean_field", [False, True])
def test_mean_field_pcd_estimates_the_exact_gradient_where_the_posterior_factorises(mean_field):
    """Top weights zero: the mean-field positive phase is exact, and 20,000 chains run 30
    sweeps from the random start give the model term. Each entry within 5 of its Monte
    Carlo standard errors (from the chains' spread) of the exact gradient: about 40 entries
    at p = 6e-7 each, a false-positive rate below 3e-5 (seed fixed)."""
    prog = _with_biases(_dbm([5, 4, 3], scale=1.0))
    prog.params["h1~h2.weight"][...] = 0
    v = _all_visible(5)[[1, 6, 13, 22, 27, 31]]
    n = 20000
    chains = prog.random_state(n, seed=1)
    grad, out = db.mean_field_pcd(
        prog, v, np.random.default_rng(2), chains=chains, k=30, mean_field=mean_field, positive_sweeps=100, tol=1e-12
    )
    assert out is chains
    exact = gm.learn.exact_gradient(prog, v)
    # per-chain statistics' spread: each chain's own statistics (weights put all mass on it)
    stats = [prog.sufficient_stats(out[i : i + 1]) for i in range(0, n, 20)]
    for key in grad:
        se = np.std([s[key] for s in stats], axis=0) / np.sqrt(n)
        np.testing.assert_array_less(np.abs(grad[key] - exact[key]), 5 * se + 1e-3, err_msg=key)


def test_fit_with_the_dbm_rule_after_pretraining_raises_the_exact_likelihood():
    """Bars and stripes (4x4, 30 patterns): pre-training lifts the exact log-likelihood
    per pattern from its value at the random start, and mean-field + PCD training with a
    decaying rate lifts it further (numbers of this seeded run, with margins)."""
    X = gm.datasets.bars_and_stripes(4)
    prog = gm.compile(gm.dbm([16, 8, 6], seed=0), seed=0)
    start = gm.exact.log_likelihood(prog, X)
    db.pretrain(prog, X, epochs=100, lr=0.1, batch_size=10, seed=0)
    pre = gm.exact.log_likelihood(prog, X)
    hist = gm.fit(
        prog,
        X,
        rule=db.mean_field_pcd,
        epochs=150,
        lr=db.decaying_rate(0.05, 100),
        batch_size=10,
        k=5,
        seed=0,
        monitors=("log_likelihood",),
        monitor_every=150,
    )
    assert pre > start + 1.0  # about -11.1 -> -9.5
    assert hist["log_likelihood"][-1] > pre + 0.5  # about -9.5 -> -8.7
    bound = db.variational_bound(prog, X, gm.exact.log_partition(prog))
    assert hist["log_likelihood"][-1] - 0.2 < bound <= hist["log_likelihood"][-1]


def test_tol_and_damping_reach_the_rule_through_partial():
    prog = _with_biases(_dbm([5, 4, 3]))
    v = _all_visible(5)[::4]
    chains = prog.random_state(4, seed=0)
    a, _ = db.mean_field_pcd(prog, v, np.random.default_rng(0), chains=chains.copy(), positive_sweeps=1000, tol=1e-13)
    rule = functools.partial(db.mean_field_pcd, tol=1e-13, damping=0.3)
    b, _ = rule(prog, v, np.random.default_rng(0), chains=chains.copy(), positive_sweeps=1000)
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-9)


def test_decaying_rate():
    lr = db.decaying_rate(0.02, 5, floor=0.005)
    assert [lr(e) for e in (1, 6, 16, 100)] == pytest.approx([0.02, 0.01, 0.005, 0.005])


# --------------------------------------------------------------------------- AIS
@pytest.mark.parametrize("sizes, scale", [([6, 4, 3], 1.0), ([5, 4, 3, 3], 1.0), ([7, 5, 4], 2.0)])
def test_ais_log_partition_agrees_with_exact_on_tiny_dbms(sizes, scale):
    """Within 4 standard errors (plus 0.01 for AIS's small downward bias): a normal
    estimate fails this with probability 6e-5 (seed fixed)."""
    prog = _with_biases(_dbm(sizes, scale=scale))
    est = db.log_partition(prog, n_chains=200, betas=1000, seed=0)
    assert abs(est.log_z - gm.exact.log_partition(prog)) < 4 * est.stderr + 0.01
    assert 0 < est.ess <= 200 and est.log_weights.shape == (200,) and est.seconds > 0


def test_ais_in_the_rbm_limit():
    """One hidden layer (an RBM): against exact log Z and against graphmrf.ais, which sums
    the hidden layer of an RBM the same way; a DBM whose top weights are zero has log Z =
    log Z of the bottom RBM + sum softplus(top biases)."""
    rbm = _with_biases(_dbm([10, 6], scale=1.0))
    est = db.log_partition(rbm, n_chains=200, betas=1000, seed=1)
    exact = gm.exact.log_partition(rbm)
    assert abs(est.log_z - exact) < 4 * est.stderr + 0.01
    other = gm.ais.log_partition(rbm, n_chains=200, betas=1000, seed=1)
    assert abs(est.log_z - other.log_z) < 4 * np.hypot(est.stderr, other.stderr) + 0.02
    top = _with_biases(_dbm([10, 6, 5], scale=1.0))
    top.params["h1~h2.weight"][...] = 0
    for key in ("v.bias", "h1.bias", "v~h1.weight"):
        top.params[key][...] = rbm.params[key]
    est = db.log_partition(top, n_chains=200, betas=1000, seed=2)
    closed = exact + np.logaddexp(0, top.params["h2.bias"]).sum()
    assert abs(est.log_z - closed) < 4 * est.stderr + 0.01


def test_ais_with_a_data_base_and_an_explicit_schedule():
    prog = _with_biases(_dbm([6, 4, 3]))
    X = _all_visible(6)[::3]
    betas = np.concatenate([np.linspace(0, 0.5, 200, endpoint=False), np.linspace(0.5, 1, 800)])
    est = db.log_partition(prog, n_chains=200, betas=betas, data=X, seed=3)
    assert abs(est.log_z - gm.exact.log_partition(prog)) < 4 * est.stderr + 0.01


# --------------------------------------------------------------------------- pre-training
def test_pretraining_composes_the_rbms_into_the_dbm():
    """Two hidden layers: W1 from the doubled-visible RBM, W2 from the doubled-hidden RBM,
    the middle biases the mean of the two RBMs'. Three: the middle weights halved. The
    tied copies stay equal."""
    X = gm.datasets.bars_and_stripes(3)
    prog = gm.compile(gm.dbm([9, 6, 4], seed=0), dtype=np.float64)
    bottom, top = db.pretrain(prog, X, epochs=5, lr=0.1, seed=0).rbms
    Wb, Wt = bottom.params["v~h.weight"], top.params["v~h.weight"]
    assert Wb.shape == (18, 6) and Wt.shape == (6, 8)
    np.testing.assert_array_equal(Wb[:9], Wb[9:])
    np.testing.assert_array_equal(Wt[:, :4], Wt[:, 4:])
    np.testing.assert_array_equal(bottom.params["v.bias"][:9], bottom.params["v.bias"][9:])
    np.testing.assert_array_equal(top.params["h.bias"][:4], top.params["h.bias"][4:])
    P = prog.params
    np.testing.assert_array_equal(P["v~h1.weight"], Wb[:9])
    np.testing.assert_array_equal(P["h1~h2.weight"], Wt[:, :4])
    np.testing.assert_array_equal(P["v.bias"], bottom.params["v.bias"][:9])
    np.testing.assert_allclose(P["h1.bias"], (bottom.params["h.bias"] + top.params["v.bias"]) / 2, rtol=1e-15)
    np.testing.assert_array_equal(P["h2.bias"], top.params["h.bias"][:4])

    deep = gm.compile(gm.dbm([9, 6, 5, 4], seed=0), dtype=np.float64)
    rbms = db.pretrain(deep, X, epochs=3, lr=0.1, seed=0).rbms
    assert [r.params["v~h.weight"].shape for r in rbms] == [(18, 6), (6, 5), (5, 8)]
    np.testing.assert_array_equal(deep.params["h1~h2.weight"], rbms[1].params["v~h.weight"] / 2)
    np.testing.assert_array_equal(deep.params["h2~h3.weight"], rbms[2].params["v~h.weight"][:, :4])


def test_the_doubled_bottom_rbm_hears_its_input_twice():
    """The bottom RBM's p(h = 1 | [v, v]) is sigmoid(2 v W + c): the input doubling."""
    X = gm.datasets.bars_and_stripes(3)
    prog = gm.compile(gm.dbm([9, 6, 4], seed=0), dtype=np.float64)
    bottom = db.pretrain(prog, X, epochs=5, lr=0.1, seed=0).rbms[0]
    s = np.zeros((X.shape[0], bottom.n_columns))
    s[:, :18] = np.hstack([X, X])
    logits = bottom.conditional(s, 1)[0]["logits"][..., 0]
    W = bottom.params["v~h.weight"][:9]
    np.testing.assert_allclose(logits, 2 * X @ W + bottom.params["h.bias"], atol=1e-12)


def test_a_one_hidden_layer_dbm_is_pretrained_as_a_plain_rbm():
    X = gm.datasets.bars_and_stripes(3)
    prog = gm.compile(gm.dbm([9, 5], seed=0), dtype=np.float64)
    (rbm,) = db.pretrain(prog, X, epochs=5, lr=0.1, seed=0).rbms
    assert rbm.params["v~h.weight"].shape == (9, 5)
    for key in ("v.bias", "h.bias"):
        np.testing.assert_array_equal(prog.params[key.replace("h.", "h1.")], rbm.params[key])
    np.testing.assert_array_equal(prog.params["v~h1.weight"], rbm.params["v~h.weight"])


# --------------------------------------------------------------------------- bad input
def test_bad_input_is_refused_by_name():
    prog = _dbm([6, 4, 3])
    with pytest.raises(
        ValueError, match=r"mean_field: data must have shape \(examples, 6\) \(the visible columns\); got \(2, 5\)"
    ):
        db.mean_field(prog, np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"mean_field: data has NaN or infinite entries"):
        db.mean_field(prog, np.full((2, 6), np.nan))
    with pytest.raises(ValueError, match=r"pretrain: data must have shape \(examples, 6\)"):
        db.pretrain(prog, np.zeros((3, 7)))
    with pytest.raises(ValueError, match=r"mean_field: damping must be a real in \[0.0, 1.0\); got 1.0"):
        db.mean_field(prog, np.zeros((2, 6)), damping=1.0)
    with pytest.raises(ValueError, match=r"mean_field_pcd: chains must be the persistent chains"):
        db.mean_field_pcd(prog, np.zeros((2, 6)), 0)
    with pytest.raises(ValueError, match=r"chains: expected shape \(chains, 13\); got \(4, 12\)"):
        db.mean_field_pcd(prog, np.zeros((2, 6)), 0, chains=np.zeros((4, 12)))
    with pytest.raises(ValueError, match=r"log_partition: betas must be an integer >= 1 or an increasing array"):
        db.log_partition(prog, betas=[0, 0.7, 0.5, 1])
    with pytest.raises(ValueError, match=r"variational_bound: log_z must be a finite real; got nan"):
        db.variational_bound(prog, np.zeros((2, 6)), float("nan"))


def test_bad_data_and_schedules_are_named_by_the_function_that_reads_them():
    """Regressions: log_partition's data of the wrong width raised NumPy's IndexError and
    NaN data gave a NaN estimate; a schedule of strings raised "could not convert";
    chains_at_data's errors named mean_field; strings as data raised "could not convert"."""
    prog = _dbm([6, 4, 3])
    with pytest.raises(ValueError, match=r"log_partition: data must have shape \(examples, 6\) .*; got \(3, 4\)"):
        db.log_partition(prog, n_chains=4, betas=3, data=np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"log_partition: data has NaN or infinite entries"):
        db.log_partition(prog, n_chains=4, betas=3, data=np.full((3, 6), np.nan))
    with pytest.raises(ValueError, match=r"log_partition: betas must be an integer >= 1 .*; got 'abc'"):
        db.log_partition(prog, n_chains=4, betas="abc")
    with pytest.raises(ValueError, match=r"chains_at_data: data must have shape \(examples, 6\)"):
        db.chains_at_data(prog, np.zeros((3, 4)))
    with pytest.raises(TypeError, match=r"mean_field: data must be an array of real numbers; got dtype <U1"):
        db.mean_field(prog, [["a"] * 6])


def test_models_that_are_not_dbms_are_refused_by_name():
    gauss = gm.compile(gm.rbm(4, 3, hidden="gaussian", seed=0))
    with pytest.raises(gm.ModelError, match=r"mean_field: hidden layer 'h' has 'gaussian' units"):
        db.mean_field(gauss, np.zeros((1, 4)))
    lateral = gm.compile(gm.boltzmann(3, 2, seed=0))
    with pytest.raises(gm.ModelError, match=r"hidden layer 'h' has lateral couplings"):
        db.mean_field(lateral, np.zeros((1, 3)))
    with pytest.raises(gm.ModelError, match=r"log_partition: hidden layer 'h' has lateral couplings"):
        db.log_partition(lateral)
    with pytest.raises(gm.ModelError, match=r"expected an undirected model"):
        db.mean_field(gm.compile(gm.sbn([3, 2], seed=0)), np.zeros((1, 3)))
    visible_only = gm.compile(gm.hopfield(3))
    with pytest.raises(gm.ModelError, match=r"mean_field: the model has no hidden layer"):
        db.mean_field(visible_only, np.zeros((1, 3)))


def test_a_diverging_dbm_run_stops_with_the_last_good_parameters():
    X = gm.datasets.bars_and_stripes(3)
    prog = gm.compile(gm.dbm([9, 6, 4], seed=0), seed=0)
    with pytest.raises(gm.DivergenceError, match=r"fit: epoch \d+: parameter .* became non-finite; the last good"):
        gm.fit(prog, X, rule=db.mean_field_pcd, epochs=50, lr=3e38, monitors=())
    assert all(np.all(np.isfinite(v)) for v in prog.params.values())


@pytest.mark.parametrize("upward", [True, False])
def test_the_fast_mean_field_agrees_with_the_reference(upward):
    """The dense path (clamped input computed once, means in arrays of their own) against
    the reference iteration on the state array through Program.field, step for step."""
    prog = _with_biases(_dbm([7, 5, 4, 3], scale=1.5))
    st = db._Structure(prog, "test")
    assert st.feeds is not None
    v = _all_visible(7)[::11]
    q0 = np.zeros((v.shape[0], prog.n_columns))
    q0[:, :7] = v
    q0[:, 7:] = np.random.default_rng(0).random((v.shape[0], prog.n_columns - 7))
    for iters, damping in ((1, 0.0), (7, 0.0), (7, 0.4)):
        fast, ref = q0.copy(), q0.copy()
        a = db._dense_mean_field(prog, fast, st, 0.0, iters, damping, upward)
        if upward:
            db._upward(prog, ref, st)
        b = db._fixed_point(prog, ref, st, 0.0, iters, damping)
        np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-13)
        assert a[0] == b[0] and a[1] == pytest.approx(b[1], abs=1e-13)


def test_the_fast_sweep_is_block_gibbs():
    """The chains' sweep through row-major copies of W^T draws what block_gibbs draws: the
    same blocks, uniforms and order (float64: the inputs agree to rounding, far from any
    draw's threshold)."""
    prog = _with_biases(_dbm([7, 5, 4, 3], scale=1.5))
    st = db._Structure(prog, "test")
    s0 = prog.random_state(50, seed=0)
    fast, ref = s0.copy(), s0.copy()
    products = db._Products(prog, st)
    ws_a, ws_b = gm.workspace.Workspace(), gm.workspace.Workspace()
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    for _ in range(5):
        db._dense_sweep(prog, fast, rng_a, st, products, ws_a)
        gm.samplers.block_gibbs(prog, ref, rng_b, inplace=True, workspace=ws_b)
    np.testing.assert_array_equal(fast, ref)
    assert not np.array_equal(fast, s0)


def test_chains_at_data_draw_the_hidden_units_from_the_mean_field_posterior():
    """The visible units are the rows; over 20,000 copies of one row each hidden unit is on
    with its mean-field probability, within 5 binomial standard errors (25 units at
    p = 6e-7 each)."""
    prog = _with_biases(_dbm([6, 5, 4], scale=1.0))
    v = np.repeat(_all_visible(6)[[37]], 20000, axis=0)
    s = db.chains_at_data(prog, v, seed=0)
    np.testing.assert_array_equal(s[:, :6], v)
    mu = db.mean_field(prog, v[:1]).means[0, 6:]
    freq = s[:, 6:].mean(axis=0)
    assert set(np.unique(s[:, 6:])) == {0.0, 1.0}
    np.testing.assert_array_less(np.abs(freq - mu), 5 * np.sqrt(mu * (1 - mu) / 20000) + 1e-9)
