"""Belief nets: fast posterior sweeps that stay exact, Neal's rule and wake-sleep against
exact enumeration, and clear errors for bad input."""

import contextlib
import importlib

import networkx as nx
import numpy as np
import pytest
from zoo import family

import graphmrf as gm

gibbs = importlib.import_module("graphmrf.samplers.gibbs")


def _randomise(g, seed, scale=1.0):
    """Layer biases and weights of ``g`` drawn from N(0, scale^2) (peaked, not flat)."""
    rng = np.random.default_rng(seed)
    for _, d in g.nodes(data=True):
        d["bias"] = rng.normal(0, scale, size=d["size"])
    for _, _, d in g.edges(data=True):
        d["weight"] = rng.normal(0, scale, size=np.shape(d["weight"]))
    return g


def _mixed_net(seed=0):
    """Spin parents with a gaussian and a softmax child layer, under binary grandparents:
    T(s) is not s, and the children's kinds differ."""
    rng = np.random.default_rng(seed)
    g = nx.DiGraph()
    g.add_node("v", kind="gaussian", size=3, visible=True, sigma=np.array([0.5, 1.0, 2.0]), bias=rng.normal(size=3))
    g.add_node("c", kind="softmax", size=2, categories=3, visible=True, bias=rng.normal(size=(2, 3)))
    g.add_node("h", kind="spin", size=4, visible=False, bias=rng.normal(size=4))
    g.add_node("t", kind="binary", size=2, visible=False, bias=rng.normal(size=2))
    g.add_edge("h", "v", weight=rng.normal(size=(4, 3)))
    g.add_edge("h", "c", weight=rng.normal(size=(4, 6)))
    g.add_edge("t", "h", weight=rng.normal(size=(2, 4)))
    return g


def _sweeps(prog, sweep, state, seed, n, **kw):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        state, _ = sweep(prog, state, rng, **kw)
    return state


@pytest.mark.parametrize(
    "graph",
    [family("sbn", seed=3), family("dbn", seed=3), family("dbn4", seed=3), _mixed_net()],
    ids=["sbn", "dbn", "dbn4", "mixed"],
)
@pytest.mark.parametrize(
    "sweep, kw",
    [
        (gibbs.block_gibbs, {}),
        (gibbs.block_gibbs, {"beta": np.linspace(0.3, 2.0, 300)[:, None]}),
        (gibbs.sequential_gibbs, {"order": "random"}),
        (gibbs.sequential_gibbs, {"mode": "max"}),
    ],
    ids=["block", "block-betas", "random-scan", "max"],
)
def test_tracked_children_inputs_give_the_plain_sweep(graph, sweep, kw, monkeypatch):
    # the children's inputs kept by rank-one corrections give the logits of the direct
    # children term up to rounding: in float64 with continuous random parameters no draw
    # sits within rounding of its threshold, so the sweeps agree exactly
    prog = gm.compile(graph, dtype=np.float64)
    s0 = prog.random_state(300, seed=1)
    rng = np.random.default_rng(2)  # some units clamped in some chains (a softmax unit whole)
    keep = np.concatenate([np.repeat(rng.random((300, L.n)) < 0.2, L.width, axis=1) for L in prog.layers], axis=1)
    a = _sweeps(prog, sweep, s0, 5, 4, clamp=keep, count=True, **kw)
    monkeypatch.setattr(gibbs._ChildInputs, "applies", staticmethod(lambda program: False))
    b = _sweeps(prog, sweep, s0, 5, 4, clamp=keep, count=True, **kw)
    np.testing.assert_array_equal(a, b)
    assert np.all(a[keep] == s0[keep])


def test_a_tracked_unit_gain_equals_the_children_term():
    from graphmrf.conditionals import children_term
    from graphmrf.layout import Part

    prog = gm.compile(_mixed_net(1), dtype=np.float64)
    state = prog.random_state(50, seed=3)
    T = prog.statistic(state)
    L = prog.layer_of("h")
    tracker = gibbs._ChildInputs(prog, state, T, None)
    tracker._start(L)
    for u in range(L.n):
        direct = children_term(prog, state, T, Part(L, u, u + 1), [np.full(1, -1.0), np.full(1, 1.0)])
        np.testing.assert_allclose(tracker.gain(u), direct[:, 0, 1] - direct[:, 0, 0], rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- inference
def _lecture_net():
    return gm.compile(gm.load(gm.models.path("explaining_away.graphml")), dtype=np.float64)


def test_explaining_away_exact_posterior_is_the_closed_form():
    # p(t, e | j) ∝ p(t) p(e) p(j | t, e), every factor a logistic: the table by hand
    prog = _lecture_net()
    hidden, post = gm.belief.exact_posterior(prog, np.array([[1.0], [0.0]]))
    sig = lambda z: 1 / (1 + np.exp(-z))
    for row, j in enumerate([1.0, 0.0]):
        w = []
        for t, e in hidden:
            prior = (sig(-10) if t else sig(10)) * (sig(-10) if e else sig(10))
            x = -20 + 20 * t + 20 * e
            w.append(prior * (sig(x) if j else sig(-x)))
        np.testing.assert_allclose(post[row], np.array(w) / np.sum(w), rtol=1e-9)
    # the jump makes each cause likely; a truck on top of it explains the earthquake away
    p_e = post[0, 1] + post[0, 3]
    p_e_given_t = post[0, 3] / (post[0, 2] + post[0, 3])
    assert p_e > 0.49 and p_e_given_t < 1e-4


def test_posterior_sampling_matches_the_exact_posterior():
    from graphmrf.verify import chi_square

    prog = gm.compile(family("sbn", seed=8))  # 3 visible, 2 + 2 hidden, float32
    v = np.array([[1.0, 0.0, 1.0]])
    hidden, probs = gm.belief.exact_posterior(prog, v)
    s = gm.belief.posterior_sample(prog, np.repeat(v, 4000, axis=0), sweeps=30, seed=0)
    h = s[:, prog.hidden_columns]
    codes = (h @ (2 ** np.arange(h.shape[1])[::-1])).astype(int)  # the enumeration's order: first unit most significant
    np.testing.assert_array_equal(hidden, [[int(b) for b in f"{k:04b}"] for k in range(16)])
    _, _, p = chi_square(np.bincount(codes, minlength=probs.shape[1]), probs[0])
    assert p > 1e-3  # false-positive rate 1e-3


# --------------------------------------------------------------------------- Neal's rule
ALPHA = 1e-3


def _neal_z(program, data, *, calls, repeat, sweeps, k=30, seed=0):
    """z statistics of the mean of ``calls`` independent estimates of Neal's gradient (each
    on the data repeated ``repeat`` times, the chains started at random) against the exact
    gradient of the mean log p(v), and the Bonferroni bound of a two-sided test at ALPHA."""
    from scipy import stats

    exact = gm.learn.exact_gradient(program, data)
    batch = np.repeat(data, repeat, axis=0)
    draws = {key: [] for key in exact}
    for m in range(calls):
        g, _ = gm.belief.neal(program, batch, np.random.default_rng(seed + m), positive_sweeps=sweeps, k=k)
        for key in draws:
            draws[key].append(np.array(g[key], dtype=np.float64))
    z = []
    for key, values in draws.items():
        a = np.stack(values)
        se = a.std(axis=0, ddof=1) / np.sqrt(calls)
        assert np.all(se > 0), key
        z.append(((a.mean(axis=0) - exact[key]) / se).ravel())
    z = np.concatenate(z)
    return z, stats.norm.isf(ALPHA / (2 * z.size))


@pytest.mark.parametrize(
    "name, graph, visible",
    [
        ("sbn 5-4-3", lambda: _randomise(gm.sbn([5, 4, 3]), 1), 5),
        ("dbn 4-3-3", lambda: _randomise(gm.dbn([4, 3, 3]), 2), 4),
    ],
    ids=["sbn", "dbn"],
)
def test_neal_gradient_agrees_with_the_exact_gradient(name, graph, visible):
    # 12 and 10 units. False-positive rate: ALPHA over all parameters together (Bonferroni).
    prog = gm.compile(graph(), dtype=np.float64)
    data = (np.random.default_rng(0).random((8, visible)) < 0.5).astype(float)
    z, bound = _neal_z(prog, data, calls=30, repeat=25, sweeps=20)
    assert np.max(np.abs(z)) < bound, (name, np.round(z, 2))


def test_neal_z_test_rejects_an_estimate_without_inference():
    # negative control: hidden units left at their random start (no posterior sweeps)
    prog = gm.compile(_randomise(gm.sbn([5, 4, 3]), 1), dtype=np.float64)
    data = (np.random.default_rng(0).random((8, 5)) < 0.5).astype(float)
    z, bound = _neal_z(prog, data, calls=10, repeat=25, sweeps=0)
    assert np.max(np.abs(z)) > bound


def _teacher_data(n=400, seed=0):
    teacher = gm.compile(_randomise(gm.sbn([6, 4, 2]), 7, scale=2.0), dtype=np.float64)
    X = gm.belief.dream(teacher, n, seed=seed)[:, teacher.visible_columns]
    return X, gm.exact.log_likelihood(teacher, X)


def test_training_by_neals_rule_raises_the_exact_log_likelihood():
    X, teacher_ll = _teacher_data()
    prog = gm.compile(gm.sbn([6, 4, 2], seed=0, scale=0.1), seed=0)
    hist = gm.fit(
        prog,
        X,
        rule=gm.belief.neal,
        epochs=10,
        lr=0.5,
        batch_size=50,
        positive_sweeps=5,
        monitors=("log_likelihood",),
        seed=1,
        progress=False,
    )
    ll = hist["log_likelihood"]
    assert ll[0] < teacher_ll - 2  # far from the data at the start (-3.98 vs -1.38)
    assert ll[-1] > teacher_ll - 0.05  # within 0.05 nats of the model that made the data


def test_neal_warm_starts_its_posterior_chains_from_the_last_batch():
    prog = gm.compile(gm.sbn([3, 2], seed=0, scale=1.0))
    ws = gm.workspace.Workspace()
    X = np.array([[1.0, 0.0, 1.0]] * 4)
    gm.belief.neal(prog, X, np.random.default_rng(0), positive_sweeps=0, workspace=ws)
    first = ws.get("neal posterior").copy()
    gm.belief.neal(prog, X[:3], np.random.default_rng(1), positive_sweeps=0, workspace=ws)
    np.testing.assert_array_equal(ws.get("neal posterior"), first[:3])  # no sweeps: the warm start itself


# --------------------------------------------------------------------------- wake-sleep
def test_variational_bound_is_the_enumerated_sum():
    prog = gm.compile(gm.sbn([3, 2], seed=4, scale=1.5, recognition=True), dtype=np.float64)
    prog.recognition_params["v=>h1.bias"][:] = [0.3, -0.7]
    R, r = prog.recognition_params["v=>h1.weight"], prog.recognition_params["v=>h1.bias"]
    X = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0]], dtype=float)
    total = 0.0
    for v in X:
        q1 = 1 / (1 + np.exp(-(v @ R + r)))
        for h in [(0, 0), (0, 1), (1, 0), (1, 1)]:
            q = np.prod(np.where(np.array(h) == 1, q1, 1 - q1))
            logp = prog.log_prob(np.concatenate([v, h])[None, :])[0]
            total += q * (logp - np.log(q))
    assert gm.belief.variational_bound(prog, X) == pytest.approx(total / 3, abs=1e-12)
    assert gm.belief.variational_bound(prog, X) < gm.exact.log_likelihood(prog, X)  # the gap is KL(q || p) > 0


def test_wake_sleep_raises_the_exact_variational_bound_past_the_initial_log_likelihood():
    # What rises: the exact variational bound F. The wake phase is a stochastic ascent of F
    # in the generative weights, while the sleep phase fits q to the model's own posterior
    # (KL(p || q), not F's gradient), so nothing is guaranteed monotone; but log p(v) >= F
    # always, so a final F above the initial log-likelihood proves that the log-likelihood
    # rose by at least as much.
    X, teacher_ll = _teacher_data()
    prog = gm.compile(gm.sbn([6, 4, 2], seed=0, scale=0.1, recognition=True), seed=0)
    before = {k: v.copy() for k, v in prog.recognition_params.items()}
    hist = gm.belief.wake_sleep(
        prog,
        X,
        epochs=10,
        lr=0.5,
        batch_size=50,
        seed=1,
        progress=False,
        monitors=("log_likelihood", gm.belief.variational_bound),
    )
    ll, bound = np.array(hist["log_likelihood"]), np.array(hist["variational_bound"])
    assert np.all(bound <= ll + 1e-9)
    assert bound[-1] > ll[0] + 2  # -1.41 against -3.98
    assert ll[-1] > teacher_ll - 0.1
    assert any(not np.array_equal(v, before[k]) for k, v in prog.recognition_params.items())


def test_recognition_weights_learned_by_wake_sleep_are_saved_and_loaded(tmp_path):
    prog = gm.compile(gm.sbn([4, 3], seed=0, recognition=True), seed=0)
    gm.belief.wake_sleep(prog, np.eye(4), epochs=2, lr=0.5, monitors=(), seed=0, progress=False)
    path = tmp_path / "sbn.npz"
    gm.save(prog, str(path))
    back = gm.compile(gm.load(str(path)))
    for k, v in prog.recognition_params.items():
        np.testing.assert_array_equal(back.recognition_params[k], v)


def test_a_diverging_wake_sleep_step_keeps_the_last_good_parameters():
    prog = gm.compile(gm.sbn([4, 3, 2], seed=0, recognition=True), seed=0)  # float32: a step of 1e39 overflows
    before = [{k: v.copy() for k, v in params.items()} for params in (prog.params, prog.recognition_params)]
    with pytest.raises(gm.DivergenceError, match=r"wake_sleep: epoch 1: parameter 'v.bias' would become non-finite"):
        gm.belief.wake_sleep(prog, np.eye(4), epochs=5, lr=1e39, monitors=(), seed=0, progress=False)
    for params, old in zip((prog.params, prog.recognition_params), before):
        for k, v in params.items():
            np.testing.assert_array_equal(v, old[k])
    # a sleep step that overflows keeps the wake step of its batch (the last good one)
    with pytest.raises(gm.DivergenceError, match=r"parameter 'v=>h1.weight' would become non-finite"):
        gm.belief.wake_sleep(
            prog, np.eye(4), epochs=5, lr=0.1, recognition_lr=1e39, monitors=(), seed=0, progress=False
        )
    assert all(np.all(np.isfinite(v)) for v in prog.recognition_params.values())
    for k, v in prog.recognition_params.items():
        np.testing.assert_array_equal(v, before[1][k])


# --------------------------------------------------------------------------- bad input
def test_a_recognition_net_that_does_not_mirror_the_generative_net_is_named():
    with pytest.raises(gm.ModelError, match=r"wake_sleep: .*edge \('h1', 'v'\) has no recognition edge \('v', 'h1'\)"):
        gm.belief.wake_sleep(gm.compile(gm.sbn([4, 3])), np.eye(4), epochs=1, monitors=())
    g = gm.sbn([4, 3, 2], recognition=True)
    g.remove_edge("h1", "h2")
    with pytest.raises(gm.ModelError, match=r"edge \('h2', 'h1'\) has no recognition edge \('h1', 'h2'\)"):
        gm.belief.recognize(gm.compile(g), np.eye(4))
    with pytest.raises(gm.ModelError, match=r"edge \('h1', 'h2'\) is undirected \(a DBN's top RBM\)"):
        gm.belief.wake_sleep(gm.compile(gm.dbn([4, 3, 2], recognition=True)), np.eye(4), epochs=1, monitors=())


def test_a_recognition_edge_into_a_visible_layer_is_refused():
    g = nx.DiGraph()
    g.add_node("v", kind="binary", size=3)
    g.add_node("u", kind="binary", size=2)  # a visible root cause
    g.add_edge("v", "u", weight=np.zeros((3, 2)))  # generative v -> u
    g.add_edge("u", "v", weight=np.zeros((2, 3)), recognition=True)
    with pytest.raises(
        gm.ModelError, match=r"edge \('u', 'v'\): a recognition edge infers a hidden layer; 'v' is visible"
    ):
        gm.compile(g)


@pytest.mark.parametrize(
    "call",
    [
        lambda p, X: gm.belief.neal(p, X, 0),
        lambda p, X: gm.belief.wake_sleep(p, X, epochs=1, monitors=()),
        lambda p, X: gm.belief.posterior_sample(p, X),
        lambda p, X: gm.belief.recognize(p, X),
        lambda p, X: gm.belief.variational_bound(p, X),
    ],
    ids=["neal", "wake_sleep", "posterior_sample", "recognize", "variational_bound"],
)
def test_data_of_the_wrong_width_or_kind_is_named(call):
    prog = gm.compile(gm.sbn([4, 3], recognition=True))
    with pytest.raises(
        ValueError,
        match=r"data: expected shape \(examples, 4\), the columns of the visible nodes 'v' \(4\); got \(2, 5\)",
    ):
        call(prog, np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"data: expected shape .*; got \(4,\)"):
        call(prog, np.zeros(4))
    with pytest.raises(
        ValueError, match=r"data: column 2 \(node 'v', unit 2\) holds 2 in row 1; binary units take values"
    ):
        call(prog, np.array([[0, 1, 0, 1], [0, 0, 2, 0]]))
    with pytest.raises(TypeError, match="data: expected an array of real numbers"):
        call(prog, np.array([["a", "b", "c", "d"]]))


def test_neal_refuses_undirected_models_and_mean_field():
    with pytest.raises(gm.ModelError, match="neal: Neal's rule trains directed nets"):
        gm.belief.neal(gm.compile(gm.rbm(3, 2)), np.zeros((1, 3)), 0)
    with pytest.raises(ValueError, match="neal: mean_field must be None or False"):
        gm.belief.neal(gm.compile(gm.sbn([3, 2])), np.zeros((1, 3)), 0, mean_field=True)


def test_posterior_sample_init_of_the_wrong_shape_is_named():
    prog = gm.compile(gm.sbn([3, 2]))
    with pytest.raises(ValueError, match=r"init: expected shape \(chains, 5\); got \(2, 4\)"):
        gm.belief.posterior_sample(prog, np.zeros((2, 3)), init=np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"init: expected 2 rows \(one per example\); got 3"):
        gm.belief.posterior_sample(prog, np.zeros((2, 3)), init=np.zeros((3, 5)))


def test_one_unit_sweeps_hold_blas_at_one_thread_and_restore_it():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    controller = threadpoolctl.ThreadpoolController().select(user_api="blas")
    if not controller.lib_controllers:
        pytest.skip("no BLAS library found by threadpoolctl")
    before = [lib.num_threads for lib in controller.lib_controllers]
    seen = []
    prog = gm.compile(gm.boltzmann(4, 2, seed=0))
    with gibbs._small_products(prog, None):
        with gibbs._small_products(prog, None):  # nested sweeps (a sampler inside a training step)
            seen.append(
                [
                    lib.num_threads
                    for lib in threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers
                ]
            )
        seen.append(
            [lib.num_threads for lib in threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers]
        )
    after = [lib.num_threads for lib in threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers]
    assert seen == [[1] * len(before)] * 2 and after == before
    # whole-layer blocks (an RBM sweep) keep the BLAS threads
    assert isinstance(
        gibbs._small_products(gm.compile(gm.rbm(3, 2)), gm.compile(gm.rbm(3, 2)).blocks), contextlib.nullcontext
    )
