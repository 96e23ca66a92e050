"""Belief nets: fast posterior sweeps that stay exact, Neal's rule and wake-sleep against
exact enumeration, and clear errors for bad input."""

import importlib

import networkx as nx
import numpy as np
import pytest

import graphmrf as gm
from zoo import family

gibbs = importlib.import_module("graphmrf.samplers.gibbs")


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


@pytest.mark.parametrize("graph", [family("sbn", seed=3), family("dbn", seed=3), family("dbn4", seed=3), _mixed_net()],
                         ids=["sbn", "dbn", "dbn4", "mixed"])
@pytest.mark.parametrize("sweep, kw", [
    (gibbs.block_gibbs, {}),
    (gibbs.block_gibbs, {"beta": np.linspace(0.3, 2.0, 300)[:, None]}),
    (gibbs.sequential_gibbs, {"order": "random"}),
    (gibbs.sequential_gibbs, {"mode": "max"}),
], ids=["block", "block-betas", "random-scan", "max"])
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
