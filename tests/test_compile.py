"""Colouring, layout and compile-time checks."""

import networkx as nx
import numpy as np
import pytest
from zoo import family

import graphmrf as gm
from graphmrf import symbolic


def nblocks(g):
    return len(gm.compile(g).blocks)


def test_block_counts_of_the_families():
    assert nblocks(gm.rbm(784, 500, seed=0)) == 2
    assert nblocks(gm.dbm([10, 8, 6, 4], seed=0)) == 2
    assert nblocks(gm.ising(6, periodic=True)) == 2
    assert nblocks(gm.ising(5, periodic=False)) == 2
    assert nblocks(gm.ising(5, periodic=True)) == 3  # an odd periodic lattice is not bipartite
    assert nblocks(gm.boltzmann(7, 0, seed=0)) == 7  # fully connected: one unit per block
    assert nblocks(gm.hopfield(12)) == 12


def test_directed_nets_are_coloured_on_the_moral_graph():
    prog = gm.compile(gm.load(gm.models.path("explaining_away.graphml")))
    # truck and earthquake are co-parents: married in the moral graph, so apart
    where = {}
    for b, block in enumerate(prog.blocks):
        for p in block:
            for u in p.indices:
                where[p.layer.nodes[u] if not p.layer.declared else (p.layer.name, u)] = b
    assert where["truck"] != where["earthquake"]
    assert len(prog.blocks) == 3
    sbn = gm.compile(gm.sbn([4, 3], seed=0))
    # units of a parent layer are co-parents of every child: one block each
    assert sorted(len(b) for b in sbn.blocks) == [1, 1, 1, 1] and len(sbn.blocks) == 4


def test_every_unit_in_exactly_one_block_and_blocks_independent():
    for g in [gm.ising(4), family("mixed"), family("dbn4"), family("bm"), family("softmax_units")]:
        prog = gm.compile(g)
        seen = np.zeros(prog.n_columns, int)
        for block in prog.blocks:
            for p in block:
                seen[prog.part_columns(p)] += 1
        assert np.all(seen == 1)


def test_the_compile_time_check_rejects_a_bad_colouring(monkeypatch):
    import sys

    comp = sys.modules["graphmrf.compile"]

    monkeypatch.setattr(comp, "_two_colour", lambda n, a, b: np.zeros(n, dtype=np.int64))
    with pytest.raises(gm.ModelError, match="compile: a block holds two units coupled"):
        gm.compile(gm.ising(3, periodic=False, units=True))
    monkeypatch.setattr(comp, "_lattice_colours", lambda layer, c: [np.arange(layer.n)])
    with pytest.raises(gm.ModelError, match="compile: a block holds two neighbouring sites of the lattice 's'"):
        gm.compile(gm.ising(4))
    monkeypatch.setattr(comp, "_colour", lambda graph: [sorted(graph.nodes)] if graph.number_of_nodes() else [])
    with pytest.raises(gm.ModelError, match="compile: a block holds two units coupled"):
        gm.compile(gm.rbm(3, 2))


def test_layers_own_contiguous_columns_and_single_units_are_grouped_by_kind():
    prog = gm.compile(family("mixed"))
    assert [L.name for L in prog.layers] == ["units[binary]", "units[spin]"]
    assert prog.columns("a").stop - prog.columns("a").start == 1
    prog = gm.compile(gm.rbm(5, 3, visible="softmax", categories=4, seed=0))
    assert prog.columns("v") == slice(0, 20) and prog.columns("h") == slice(20, 23)
    assert prog.n_columns == 23


def test_compiling_twice_derives_nothing_twice():
    gm.compile(gm.rbm(5, 3, seed=0))
    before = symbolic.lambdify_calls
    gm.compile(gm.rbm(6, 2, seed=1))
    gm.compile(gm.dbm([3, 3, 3], seed=1))
    assert symbolic.lambdify_calls == before


def test_sparse_unit_graphs_and_dense_layers_agree():
    """The same 3x3 Boltzmann machine declared unit by unit and as one lateral layer."""
    rng = np.random.default_rng(0)
    A = np.triu(rng.normal(size=(5, 5)), 1)
    A = A + A.T
    b = rng.normal(size=5)
    layer = gm.hopfield(5, weights=A, bias=b, kind="binary")
    units = nx.Graph()
    for i in range(5):
        units.add_node(i, kind="binary", bias=float(b[i]))
    for i in range(5):
        for j in range(i + 1, 5):
            units.add_edge(i, j, weight=float(A[i, j]))
    assert gm.exact.log_partition(gm.compile(layer)) == pytest.approx(
        gm.exact.log_partition(gm.compile(units)), rel=1e-12
    )


def test_dtype_must_be_float32_or_float64():
    with pytest.raises(gm.ModelError, match="compile: dtype must be float32 or float64; got int32"):
        gm.compile(gm.rbm(2, 2), dtype=np.int32)
    with pytest.raises(TypeError, match="compile: dtype must be float32 or float64; got 'floaty'"):
        gm.compile(gm.rbm(2, 2), dtype="floaty")


def test_a_float16_program_is_refused():
    """Peer bugs S7/N5: float16 reductions overflow (an energy over 784 x 500 couplings
    passes 65504 long before training ends), so no float16 program is ever built."""
    with pytest.raises(gm.ModelError, match="compile: dtype must be float32 or float64; got float16"):
        gm.compile(gm.rbm(2, 2), dtype=np.float16)


def test_integer_and_float16_data_give_the_parameters_float64_data_gives():
    """Peer bug N5: int8 spins, uint8 and bool pixels and float16 inputs are read at the
    Program's precision, so one CD epoch gives exactly the parameters of float64 data."""
    rng = np.random.default_rng(0)
    X = (rng.random((40, 6)) < 0.4).astype(np.float64)
    results = []
    for cast in (np.float64, np.float32, np.float16, np.uint8, np.int8, bool):
        prog = gm.compile(gm.rbm(6, 3, seed=0, scale=0.5), seed=0)
        gm.fit(prog, X.astype(cast), epochs=2, lr=0.1, rule="cd", batch_size=10, monitors=())
        results.append(prog.params["v~h.weight"].copy())
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_cupy_backend_is_refused_clearly_without_a_gpu():
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(gm.BackendUnavailableError, match="CuPy is not installed; install the GPU extra"):
            gm.compile(gm.rbm(2, 2), backend="cupy")
    with pytest.raises(ValueError, match="compile: backend must be one of 'numpy', 'cupy' or a Backend; got 'jax'"):
        gm.compile(gm.rbm(2, 2), backend="jax")


@pytest.mark.gpu
def test_cupy_and_numpy_programs_agree():
    g = family("rbm_softmax", seed=1)
    pn = gm.compile(g, dtype=np.float64)
    pc = gm.compile(g, backend="cupy", dtype=np.float64)
    s = pn.random_state(16, seed=0)
    import cupy

    np.testing.assert_allclose(cupy.asnumpy(pc.energy(cupy.asarray(s))), pn.energy(s), rtol=1e-12)
    sc = pc.sufficient_stats(cupy.asarray(s))
    sn = pn.sufficient_stats(s)
    for k in sn:
        np.testing.assert_allclose(cupy.asnumpy(sc[k]), sn[k], rtol=1e-10, atol=1e-12)
    assert gm.exact.log_partition(pc) == pytest.approx(gm.exact.log_partition(pn), rel=1e-12)
