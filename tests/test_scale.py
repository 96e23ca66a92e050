"""Declaring and compiling at scale: the compact checkerboard of a lattice layer, per-site
parameters made in the Program's float type, the bulk reading of unit-level graphs, and
one loose bound on the time and memory of compiling a 1024 x 1024 lattice."""

import time
import tracemalloc

import networkx as nx
import numpy as np
import pytest

import graphmrf as gm
from graphmrf.layout import Part, checkerboard_sites

SHAPES = [
    (1,),
    (5,),
    (2, 3),
    (3, 3),
    (4, 5),
    (5, 5),
    (7, 1),
    (1, 7),
    (3, 4, 5),
    (2, 2, 2),
    (3, 1, 2),
    (9, 8),
    (5, 5, 5),
]


def parity(shape):
    """The sum of each site's coordinates mod 2, row-major (the definition, by brute force)."""
    return (np.indices(shape).sum(axis=0) % 2).reshape(-1)


@pytest.mark.parametrize("shape", SHAPES)
def test_checkerboard_sites_are_the_parity_classes(shape):
    for colour in (0, 1):
        expected = np.flatnonzero(parity(shape) == colour)
        sites = checkerboard_sites(shape, colour)
        assert sites.dtype == np.int32 and sites.tolist() == expected.tolist()

        class L:
            name, n, width = "s", int(np.prod(shape)), 1

        part = Part.checkerboard(L, shape, colour)
        assert part.n == expected.size  # known before the units are read
        assert part.indices.tolist() == expected.tolist()


LATTICES = [
    ("2-D periodic, even", dict(L=6, periodic=True)),
    ("2-D open, odd", dict(L=5, periodic=False)),
    ("2-D open, even, large", dict(L=12, periodic=False)),
    ("2-D periodic, large", dict(L=10, periodic=True)),
    ("3-D periodic", dict(L=4, periodic=True, dims=3)),
    ("3-D open, odd", dict(L=5, periodic=False, dims=3)),
]


@pytest.mark.parametrize("case", [c for _, c in LATTICES], ids=[n for n, _ in LATTICES])
def test_the_compiled_checkerboard_passes_the_full_block_check(case):
    prog = gm.compile(gm.ising(**case))
    (layer,) = prog.layers
    assert len(prog.blocks) == 2 and all(len(b) == 1 for b in prog.blocks)
    flat = parity(layer.shape)
    for colour, (part,) in enumerate(prog.blocks):
        assert part.layer is layer and part.indices.tolist() == np.flatnonzero(flat == colour).tolist()
        assert part.checkerboard_colour == colour
    # the same units as plain index sets take the full check: every site once, no two neighbours in a block
    plain = [[Part(layer, units=np.asarray(part.indices))] for (part,) in prog.blocks]
    assert plain[0][0].checkerboard_colour is None
    prog.check_blocks(plain)
    prog.check_blocks([list(b) for b in prog.blocks])
    with pytest.raises(gm.ModelError, match="neighbouring sites"):
        prog.check_blocks([[p for (p,) in prog.blocks]])  # both colours in one block
    with pytest.raises(gm.ModelError, match="no block"):
        prog.check_blocks([prog.blocks[0]])


def test_the_checkerboard_of_an_odd_torus_is_refused():
    prog = gm.compile(gm.ising(5, periodic=True))  # not bipartite: coloured greedily, in three blocks
    assert len(prog.blocks) == 3
    (layer,) = prog.layers
    colours = [[Part.checkerboard(layer, (5, 5), k)] for k in (0, 1)]
    with pytest.raises(gm.ModelError, match="neighbouring sites"):  # (0, 4) and (0, 0) are bonded across the edge
        prog.check_blocks(colours)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("field", [0.0, 0.25])
def test_lattice_parameters_are_per_site_writable_arrays_of_the_program_dtype(dtype, field):
    g = gm.ising(4, periodic=True, field=field, coupling=0.5)
    prog = gm.compile(g, dtype=dtype)
    bias = prog.params["s.bias"]
    assert bias.shape == (16,) and bias.dtype == dtype and bias.flags.writeable and bias.flags.c_contiguous
    assert bias.tolist() == [field] * 16
    s = np.where(np.arange(16) % 3 == 0, 1.0, -1.0)[None, :].astype(dtype)
    before = float(prog.energy(s)[0])
    bias[5] += 2.0  # E = -sum J s_i s_j - sum b_i s_i: one site's bias moves it by -2 s_5
    assert float(prog.energy(s)[0]) == before - 2.0 * float(s[0, 5])
    assert g.nodes["s"]["bias"] == field  # the graph keeps what was declared


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parameters_given_as_arrays_are_the_programs_own(dtype):
    field = np.arange(12.0)
    g = gm.lattice((3, 4), coupling=0.5, field=field)
    prog = gm.compile(g, dtype=dtype)
    bias = prog.params["s.bias"]
    assert bias.dtype == dtype and bias.flags.writeable and bias.tolist() == field.tolist()
    bias[:] = -1.0
    assert field.tolist() == list(range(12)) and g.nodes["s"]["bias"] is field  # the declared array untouched


def test_layers_declared_alike_do_not_share_parameters():
    prog = gm.compile(gm.dbm([3, 4, 4], seed=0), dtype=np.float64)  # h1 and h2 are declared alike
    prog.params["h1.bias"][:] = 1.0
    assert prog.params["h2.bias"].tolist() == [0.0] * 4


def torus_energy(s, L, J, h, periodic):
    """-J sum_<ij> s_i s_j - h sum_i s_i by shifted products (each bond once)."""
    S = s.reshape(-1, L, L)
    E = -h * S.sum(axis=(1, 2))
    for axis in (1, 2):
        if periodic:
            E -= J * (S * np.roll(S, -1, axis=axis)).sum(axis=(1, 2))
        else:
            lo = S[:, :-1, :] if axis == 1 else S[:, :, :-1]
            hi = S[:, 1:, :] if axis == 1 else S[:, :, 1:]
            E -= J * (lo * hi).sum(axis=(1, 2))
    return E


@pytest.mark.parametrize("L,periodic", [(5, False), (6, True), (7, False)])
def test_a_lattice_layer_and_the_same_lattice_of_units_have_equal_energies(L, periodic):
    rng = np.random.default_rng(L)
    s = rng.choice([-1.0, 1.0], size=(50, L * L))
    layer = gm.compile(gm.ising(L, periodic=periodic, coupling=0.5, field=0.25), dtype=np.float64)
    units = gm.compile(gm.ising(L, periodic=periodic, coupling=0.5, field=0.25, units=True), dtype=np.float64)
    assert units.layers[0].nodes == [(i, j) for i in range(L) for j in range(L)]  # row-major, as the layer's sites
    # couplings and fields of 1/2 and 1/4 on +-1 spins: every sum is exact in float64
    expected = torus_energy(s, L, 0.5, 0.25, periodic)
    assert layer.energy(s).tolist() == expected.tolist()
    assert units.energy(s).tolist() == expected.tolist()


def grid_graph(L, periodic, field, J):
    """The lattice of units as ``gm.ising(units=True)`` declared it before: networkx's grid,
    nodes and edges sorted, one call per node and edge."""
    g = nx.grid_2d_graph(L, L, periodic=periodic and L > 2)
    out = nx.Graph()
    for node in sorted(g.nodes):
        out.add_node(node, kind="spin", visible=True, bias=field)
    for u, v in sorted(tuple(sorted(e)) for e in g.edges):
        out.add_edge(u, v, weight=J)
    return out


@pytest.mark.parametrize("L", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("periodic", [True, False])
def test_the_lattice_of_units_is_declared_in_the_grids_order(L, periodic):
    a, b = grid_graph(L, periodic, 0.5, -1.0), gm.ising(L, periodic=periodic, field=0.5, coupling=-1.0, units=True)
    assert list(a.nodes(data=True)) == list(b.nodes(data=True))
    assert list(a.edges(data=True)) == list(b.edges(data=True))
    assert all(list(a.adj[n]) == list(b.adj[n]) for n in a)  # the adjacency order the edges are read in


def mixed_graph():
    """Units of two kinds in runs, plain edges (a number) and others (a 1x1 array, an int,
    a numpy float) feeding the same couplings, a softmax unit, and a layer node."""
    g = nx.Graph()
    for i in range(6):
        g.add_node(i, kind="spin", bias=0.5 if i != 3 else np.float32(-1.0))
    g.add_node("x", kind="softmax", categories=3, bias=np.array([0.0, 0.5, 1.0]))
    for i in range(6, 9):
        g.add_node(i, kind="binary", visible=i != 7, bias=0.0)
    g.add_node("L", kind="binary", size=2)
    g.add_node("M", kind="binary", size=2, visible=False)
    g.add_edge("L", "M", weight=np.array([[1.0, 2.0], [3.0, 4.0]]))
    weights = {(0, 1): 1.0, (1, 2): np.array([[2.0]]), (2, 3): 3, (0, 5): np.float32(4.0), (4, 6): 5.0, (6, 8): 6.0}
    weights.update({(3, 7): np.array(7.0), (5, 4): -8.0})
    for (u, v), w in weights.items():
        g.add_edge(u, v, weight=w)
    g.add_edge(2, "x", weight=np.array([[1.0, 0.0, -1.0]]))  # rows index unit 2, declared first
    return g, weights


def test_unit_entries_hold_each_edges_weight_in_the_edges_order():
    g, weights = mixed_graph()
    prog = gm.compile(g, dtype=np.float64)
    assert [L.name for L in prog.layers] == ["units[spin]", "units[softmax3]", "units[binary]", "L", "M"]
    assert prog.params["units[spin].bias"].tolist() == [0.5, 0.5, 0.5, -1.0, 0.5, 0.5]
    assert prog.layers[2].visible.tolist() == [True, False, True]
    seen = 0
    for c in prog.couplings:
        if not c.sparse:
            continue
        edges = list(c.edges)
        assert len(edges) == c.values.size
        # each entry in the order of graph.edges (undirected: from the endpoint declared first)
        order = [(u, v) for u, v in g.edges() if (u, v, 0, 0) in edges or (u, v, 0, 1) in edges]
        assert [e[:2] for e in edges if e[2:] == (0, 0)] == order
        for (u, v, a, b), value, row, col in zip(edges, c.values, c.rows, c.cols_):
            expected = float(np.asarray(g.edges[u, v]["weight"], dtype=np.float64).reshape(1, -1)[a, b])
            assert value == expected
            assert prog.layout.columns(u).start + a == c.a.offset + row
            assert prog.layout.columns(v).start + b == c.b.offset + col
            seen += 1
    assert seen == len(weights) + 3  # every unit edge once; the softmax edge one entry per category


def test_nodes_alike_in_value_but_not_in_type_are_read_apart():
    g = gm.ising(4, units=True)
    g.nodes[(2, 1)]["bias"] = True  # equal to 1, but not a number here
    with pytest.raises(gm.ModelError, match=r"node \(2, 1\): bias must be a real number"):
        gm.compile(g)
    g = gm.ising(4, units=True)
    g.nodes[(3, 3)]["visible"] = 1  # equal to True, but not a bool
    with pytest.raises(gm.ModelError, match=r"node \(3, 3\): visible must be a bool"):
        gm.compile(g)
    g = gm.ising(4, units=True)
    g.edges[(1, 2), (1, 3)]["weight"] = np.nan
    with pytest.raises(gm.ModelError, match=r"edge \(\(1, 2\), \(1, 3\)\): weight must be finite"):
        gm.compile(g)


def test_a_1024_lattice_compiles_in_a_fraction_of_its_state():
    g = gm.ising(1024, periodic=True)
    gm.compile(gm.ising(8), seed=0)  # the kind's functions derived once
    best = min(_timed(lambda: gm.compile(g, seed=0)) for _ in range(3))
    tracemalloc.start()
    try:
        prog = gm.compile(g, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    state = prog.n_columns * np.dtype(prog.dtype).itemsize  # one chain
    assert best < 2.0, f"compile of a 1024^2 lattice took {best:.2f} s"
    assert peak < 6 * state, f"compile of a 1024^2 lattice peaked at {peak / state:.1f} times its state"


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


@pytest.mark.parametrize(
    "first, second, message",
    [
        (np.array([0.5]), np.array([[0.5]]), r"node 1: bias has shape \(1, 1\)"),
        (np.array([1.0]), np.array([True]), "node 1: bias must be a real number"),
    ],
)
def test_nodes_with_array_attributes_are_each_checked(first, second, message):
    """Arrays of one element compare equal across shapes and types: nodes declared with
    them do not take the bulk path of nodes declared alike."""
    g = nx.Graph()
    g.add_node(0, kind="binary", bias=first)
    g.add_node(1, kind="binary", bias=second)
    g.add_edge(0, 1, weight=0.3)
    with pytest.raises(gm.errors.ModelError, match=message):
        gm.compile(g)
