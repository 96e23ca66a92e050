"""Builders return plain graphs with the field's initialisation."""

import numpy as np
import pytest

import graphmrf as gm


def test_rbm_shapes_and_default_initialisation():
    g = gm.rbm(30, 20, seed=0)
    W = g.edges["v", "h"]["weight"]
    assert W.shape == (30, 20)
    assert abs(W.std() - 0.01) < 0.002  # N(0, 0.01^2), Hinton's guide
    assert np.all(g.nodes["v"]["bias"] == 0) and not g.nodes["h"]["visible"]


def test_same_seed_same_graph_and_different_seed_different_graph():
    a, b, c = gm.rbm(5, 4, seed=1), gm.rbm(5, 4, seed=1), gm.rbm(5, 4, seed=2)
    np.testing.assert_array_equal(a.edges["v", "h"]["weight"], b.edges["v", "h"]["weight"])
    assert not np.array_equal(a.edges["v", "h"]["weight"], c.edges["v", "h"]["weight"])


def test_visible_biases_from_data():
    X = np.array([[1, 0, 1], [1, 0, 0], [1, 1, 0], [1, 0, 0]])
    g = gm.rbm(3, 2, data=X, seed=0)
    p = np.clip(X.mean(0), 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(g.nodes["v"]["bias"], np.log(p / (1 - p)))
    Xs = np.eye(3)[[0, 0, 1, 2]].reshape(2, 6)  # 2 examples of 2 softmax units with K = 3
    gs = gm.rbm(2, 2, visible="softmax", categories=3, data=Xs, seed=0)
    assert gs.nodes["v"]["bias"].shape == (2, 3)


def test_softmax_rbm_needs_categories():
    with pytest.raises(gm.ModelError, match="softmax visible units need categories"):
        gm.rbm(3, 2, visible="softmax")


def test_dbn_marks_only_the_top_pair_undirected_and_points_down():
    g = gm.dbn([6, 5, 4, 3], seed=0)
    und = [(u, v) for u, v, d in g.edges(data=True) if d.get("undirected")]
    assert und == [("h2", "h3")]
    assert g.has_edge("h2", "h1") and g.has_edge("h1", "v")
    assert g.edges["h1", "v"]["weight"].shape == (5, 6)


def test_lattice_sizes():
    g = gm.ising(4, periodic=True, units=True)
    assert g.number_of_nodes() == 16 and g.number_of_edges() == 32
    assert gm.ising(4, periodic=False, units=True).number_of_edges() == 24
    assert gm.ising(2, periodic=True, units=True).number_of_edges() == 4
    # a lattice layer: one node, one self-loop, and the same bonds once compiled
    for L, periodic, bonds in [(4, True, 32), (4, False, 24), (2, True, 4)]:
        g = gm.ising(L, periodic=periodic)
        assert g.number_of_nodes() == 1 and g.number_of_edges() == 1
        prog = gm.compile(g)
        assert prog.couplings[0].bonds()[0].size == bonds


def test_a_lattice_layer_and_its_unit_level_twin_are_one_model():
    """Same energies state by state (the sites of the layer are the units in row-major
    order), per-bond couplings included."""
    rng = np.random.default_rng(0)
    J = rng.normal(size=(2, 4, 4))
    layer = gm.compile(gm.lattice((4, 4), coupling=J, field=0.3), dtype=np.float64)
    units = gm.ising(4, periodic=True, field=0.3, units=True)
    for (u, v), d in zip(units.edges, units.edges.values()):
        a, b = (u, v) if (v[0] - u[0]) % 4 == 1 or (v[1] - u[1]) % 4 == 1 else (v, u)
        axis = 0 if a[0] != b[0] else 1
        d["weight"] = J[axis, a[0], a[1]]
    twin = gm.compile(units, dtype=np.float64)
    s = twin.random_state(50, seed=1)
    np.testing.assert_allclose(layer.energy(s), twin.energy(s), rtol=1e-12)


def test_declaring_and_compiling_a_4096_squared_lattice_is_quick_and_small():
    import time
    import tracemalloc

    t0 = time.perf_counter()
    prog = gm.compile(gm.ising(4096, coupling=0.44))
    elapsed = time.perf_counter() - t0
    tracemalloc.start()
    prog = gm.compile(gm.ising(4096, coupling=0.44))
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert prog.n_columns == 4096**2
    state = 4 * 4096**2  # 64 MiB of float32 spins
    # held: the biases (float32), the two colour classes (int32), the visible columns
    # (int32) and mask; the peak adds the float64 attributes validation reads
    assert held < 4 * state and peak < 9 * state, (held, peak)
    # a guard against the per-node declaration (minutes), loose enough for a loaded machine;
    # benchmarks/gibbs.py measures the time itself
    assert elapsed < 15.0, elapsed


def test_digits_are_shipped_and_binarised_as_documented():
    pytest.importorskip("sklearn")
    X, y = gm.datasets.digits()
    assert X.shape == (1797, 64) and X.max() == 1.0 and y.shape == (1797,)
    Xt, _ = gm.datasets.digits("threshold")
    np.testing.assert_array_equal(Xt, (X > 0.5).astype(float))
    Xs1, _ = gm.datasets.digits("stochastic", seed=0)
    Xs2, _ = gm.datasets.digits("stochastic", seed=0)
    np.testing.assert_array_equal(Xs1, Xs2)
    assert abs(Xs1.mean() - X.mean()) < 0.01
