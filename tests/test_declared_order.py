"""Declared order is the user's order: every array a user passes in or gets back lists the
units in the order the nodes were declared, whatever blocks the compiler colours them into.

Unit-level graphs are coloured into blocks that interleave with the declaration (a chain
v1 - v2 - v3 puts v1 and v3 in one block); these tests hold the boundary on every family
whose colouring is not the declared order, against the independent oracle.
"""

import networkx as nx
import numpy as np
import pytest
from oracle import all_states, neg_energy_of, visible_distribution
from zoo import family

import graphmrf as gm
from graphmrf import exact


def chain():
    """The issue's example: biases 1.5, -2, 0.3, couplings v1-v2 = 1, v2-v3 = 0.5."""
    g = nx.Graph()
    for name, b in [("v1", 1.5), ("v2", -2.0), ("v3", 0.3)]:
        g.add_node(name, kind="binary", bias=b)
    g.add_edge("v1", "v2", weight=1.0)
    g.add_edge("v2", "v3", weight=0.5)
    return g


def interleaved():
    """Kinds declared alternately and hidden units between visible ones, in a ring."""
    g = nx.Graph()
    spec = [
        ("s1", "spin", True),
        ("b1", "binary", False),
        ("s2", "spin", True),
        ("b2", "binary", True),
        ("s3", "spin", False),
    ]
    rng = np.random.default_rng(4)
    for name, kind, vis in spec:
        g.add_node(name, kind=kind, visible=vis, bias=float(rng.normal()))
    names = [s[0] for s in spec]
    for u, v in zip(names, names[1:] + names[:1]):
        g.add_edge(u, v, weight=float(rng.normal()))
    g.add_edge("s1", "s2", weight=0.7)
    return g


GRAPHS = {
    "chain": chain,
    "interleaved": interleaved,
    "ising_open": lambda: family("ising_open", seed=3),
    "lecture": lambda: family("lecture"),
    "mixed": lambda: family("mixed", seed=3),
    "softmax_units": lambda: family("softmax_units", seed=3),
    "explaining_away": lambda: gm.load(gm.models.path("explaining_away.graphml")),
}


def test_the_issue_example_gives_the_true_log_probability():
    prog = gm.compile(chain(), dtype=np.float64)
    assert exact.log_likelihood(prog, np.array([[1, 1, 0]])) == pytest.approx(-2.4251, abs=1e-4)
    S, sl = all_states(chain())
    ne = neg_energy_of(chain(), S, sl)
    truth = ne[np.all(S == [1, 1, 0], axis=1)][0] - np.log(np.exp(ne).sum())
    assert exact.log_likelihood(prog, np.array([[1, 1, 0]])) == pytest.approx(truth, abs=1e-12)


def test_a_colouring_that_is_not_the_declared_order_is_what_these_tests_exercise():
    blocks = gm.compile(chain()).blocks
    assert [[p.indices.tolist() for p in b] for b in blocks] == [[[0, 2]], [[1]]]


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_energy_and_visible_columns_follow_the_declaration(name):
    g = GRAPHS[name]()
    prog = gm.compile(g, dtype=np.float64)
    S, sl = all_states(g)
    np.testing.assert_allclose(-prog.energy(S), neg_energy_of(g, S, sl), rtol=1e-12, atol=1e-12)
    visible = [n for n, d in g.nodes(data=True) if d.get("visible", True)]
    cols = np.concatenate([np.arange(sl[n].start, sl[n].stop) for n in visible])
    np.testing.assert_array_equal(prog.visible_columns, cols)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_distribution_and_likelihoods_take_rows_in_the_declared_order(name):
    g = GRAPHS[name]()
    prog = gm.compile(g, dtype=np.float64)
    truth = visible_distribution(g)
    states, probs = exact.distribution(prog)
    for row, p in zip(states, probs):
        assert p == pytest.approx(truth[tuple(row.tolist())], rel=1e-10, abs=1e-14)
    rows = np.array(list(truth))
    np.testing.assert_allclose(
        exact.log_likelihood(prog, rows, reduce="none"), np.log(list(truth.values())), rtol=1e-10
    )


@pytest.mark.parametrize("name", ["chain", "interleaved", "ising_open", "mixed"])
def test_samples_come_back_in_the_declared_order(name):
    """One unit, the last declared, is pinned on by a huge bias and every other unit off
    (biases -30 / +30 leave p < 1e-10 of a wrong value): the sampled columns show it."""
    g = GRAPHS[name]()
    last = list(g.nodes)[-1]
    for n, d in g.nodes(data=True):
        d["bias"] = 30.0 if n == last else -30.0
    for _u, _v, d in g.edges(data=True):
        d["weight"] = 0.0
    prog = gm.compile(g)
    lo = {"binary": 0.0, "spin": -1.0}
    expected = np.array([1.0 if n == last else lo[d["kind"]] for n, d in g.nodes(data=True)])
    for method in ("gibbs", "sequential", "metropolis"):
        run = gm.sample(prog, 3, chains=5, method=method, seed=0)
        np.testing.assert_array_equal(run.state, np.broadcast_to(expected, run.state.shape))


def test_training_reads_data_in_the_declared_order():
    """With data in which only the last declared unit is ever on, exact training raises
    that unit's bias above the others, read back by name."""
    g = chain()
    prog = gm.compile(g, dtype=np.float64)
    gm.fit(prog, np.array([[0, 0, 1]] * 4), epochs=30, lr=0.5, rule="exact", monitors=())
    assert prog.get("v3", "bias") > 0.3 + 1.0
    assert prog.get("v1", "bias") < 1.5 - 1.0


def test_clamping_by_name_and_imputation_keep_the_declared_order():
    prog = gm.compile(chain(), dtype=np.float64, seed=0)
    X = np.array([[1.0, np.nan, 0.0]])
    filled = gm.impute(prog, X, n_sweeps=400, burn_in=50, chains_per_row=200)
    # p(v2 = 1 | v1 = 1, v3 = 0) = sigmoid(-2 + 1) = 0.269; 80000 draws, autocorrelation
    # small: within 0.02 (over 5 standard errors)
    assert filled[0, 0] == 1.0 and filled[0, 2] == 0.0
    assert filled[0, 1] == pytest.approx(1 / (1 + np.exp(1.0)), abs=0.02)
