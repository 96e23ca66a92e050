"""Turn a declared graph into a :class:`~graphmrf.program.Program`.

Steps: validate the graph, colour it into blocks of conditionally independent units,
lay the units out in columns, and move the parameters to the backend.

Colouring works at two levels. Layer nodes are coloured on the layer graph (its moral
graph for a directed net): a bipartition when the graph is bipartite (an RBM, a DBM),
DSATUR otherwise. A layer with lateral couplings gives one block per unit (sequential
updates). Single-unit nodes are coloured on the unit graph the same way, and units of
one kind are laid out colour by colour, so that each block touches a contiguous slice
of columns. The compiler then checks that every block is an independent set (of the
moral graph for directed nets) and that every unit lies in exactly one block.

>>> import graphmrf as gm
>>> prog = gm.compile(gm.rbm(6, 4, seed=0))
>>> [[(p.layer.name, p.start, p.stop) for p in b] for b in prog.blocks]
[[('v', 0, 6)], [('h', 0, 4)]]
>>> len(gm.compile(gm.ising(4, periodic=True)).blocks)
2
"""

import itertools

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .arguments import AnyOf, InstanceOf, Options, Seed, checked
from .backend import Backend, get_backend
from .couplings import lattice_bonds
from .errors import ModelError
from .program import Part, Program
from .validate import bulk, validate

__all__ = ["compile"]


def _colour(graph):
    """Colour classes of ``graph`` (list of node lists), bipartition when possible."""
    if graph.number_of_nodes() == 0:
        return []
    if nx.is_bipartite(graph):
        col = nx.bipartite.color(graph)
    elif graph.number_of_nodes() <= 5000:
        col = nx.coloring.greedy_color(graph, strategy="DSATUR")
    else:
        col = nx.coloring.greedy_color(graph, strategy="largest_first")
    classes = {}
    for node, c in col.items():
        classes.setdefault(c, []).append(node)
    return sorted((sorted(v) for v in classes.values()), key=lambda v: v[0])


def _two_colour(n, a, b):
    """Vectorised breadth-first 2-colouring of the graph on ``n`` nodes with edges a-b.

    Returns an int array of colours 0/1, or None when the graph is not bipartite.
    """

    A = sp.csr_matrix(
        (np.ones(2 * a.size, dtype=np.int8), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n)
    )
    _, labels = connected_components(A, directed=False)
    colour = np.full(n, -1, dtype=np.int64)
    _, starts = np.unique(labels, return_index=True)
    colour[starts] = 0
    frontier = starts
    indptr, indices = A.indptr, A.indices
    while frontier.size:
        deg = indptr[frontier + 1] - indptr[frontier]
        rows = np.repeat(frontier, deg)
        nbr = (
            indices[np.concatenate([np.arange(indptr[f], indptr[f + 1]) for f in frontier])]
            if frontier.size < 64
            else indices[_ranges(indptr[frontier], deg)]
        )
        fresh = colour[nbr] == -1
        colour[nbr[fresh]] = 1 - colour[rows[fresh]]
        frontier = np.unique(nbr[fresh])
    if np.any(colour[a] == colour[b]):
        return None
    return colour


def _ranges(starts, lengths):
    """Concatenation of arange(s, s + l) for each pair, without a Python loop."""
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return offsets + np.arange(total)


def _lattice_colours(layer, coupling):
    """Colour classes of a lattice layer's sites: the checkerboard (parity of the sum of
    the coordinates; parts made by :meth:`Part.checkerboard`, whose units are found when
    first read) when the lattice is bipartite -- open, or periodic with even sides -- and a
    greedy colouring of the lattice graph otherwise (odd periodic sides; unit arrays)."""
    shape = layer.shape
    if coupling.periodic and min(shape) < 3:
        raise ModelError(
            f"node {layer.name!r}: a periodic lattice needs sides of at least 3 (a side of {min(shape)} would bond a "
            "site to itself or twice to one neighbour); declare periodic=False"
        )
    if not coupling.periodic or all(k % 2 == 0 for k in shape):
        colours = [Part.checkerboard(layer, shape, k) for k in (0, 1)]
        return [p for p in colours if p.n]  # a lattice of one site has no second colour
    n = int(np.prod(shape))
    if n > 1 << 16:
        raise ModelError(
            f"node {layer.name!r}: a periodic lattice with odd sides {shape} is not bipartite; up to 65536 sites are "
            f"coloured greedily, this one has {n} (use even sides)"
        )

    rows, cols = lattice_bonds(shape, True)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(zip(rows.tolist(), cols.tolist()))
    return [np.asarray(c) for c in _colour(g)]


def _moralise(graph, edges_directed, edges_undirected):
    for u, v in edges_undirected:
        graph.add_edge(u, v)
    parents = {}
    for p, c in edges_directed:
        graph.add_edge(p, c)
        parents.setdefault(c, set()).add(p)
    for ps in parents.values():
        for a, b in itertools.combinations(sorted(ps), 2):
            graph.add_edge(a, b)
    return graph


@checked(backend=AnyOf(Options("numpy", "cupy"), InstanceOf(Backend)), seed=Seed())
def compile(graph, backend="numpy", dtype=None, seed=None):
    """Compile a model graph into a Program.

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        A declared model (see :mod:`graphmrf.validate` for the rules).
    backend : {"numpy", "cupy"}
        Where the arrays live.
    dtype : numpy dtype, optional
        Float type of parameters and states: float32 (the default) or float64 (exact
        enumeration always works in float64 on its own copy). float16 is refused: sums
        over hundreds of units overflow at 65504 and lose every digit past the third.
    seed : int or Generator, optional
        Default random generator of the Program (``program.rng``): every sampling and
        training function called without a seed draws from it, so two programs compiled
        with the same seed give the same numbers.

    Returns
    -------
    Program

    Raises
    ------
    ModelError
        If the graph breaks a declaration rule, or ``dtype`` is a float type other than
        float32 and float64.
    TypeError
        If ``dtype`` is not a dtype, or ``backend`` or ``seed`` is of the wrong type.
    ValueError
        If ``backend`` is neither "numpy" nor "cupy".
    BackendUnavailableError
        If ``backend="cupy"`` and CuPy or a GPU is missing.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64, seed=1)
    >>> prog
    Program([v:binaryx3, h:binaryx2], blocks=2, backend='numpy', dtype=float64)
    >>> prog.blocks
    [(Part('v', 0, 3),), (Part('h', 0, 2),)]
    >>> gm.compile(gm.rbm(3, 2), dtype=np.float16)
    Traceback (most recent call last):
    ...
    graphmrf.errors.ModelError: compile: dtype must be float32 or float64; got float16
    """
    with bulk():  # a lattice of units makes hundreds of thousands of small objects, none in a cycle
        spec = validate(graph)
        be = get_backend(backend)
        dtype = _float_type(dtype)
        # blocks of units that are conditionally independent given the rest, updated in turn
        blocks = _layer_blocks(spec.layers, spec.couplings) + _unit_blocks(spec.layers, spec.couplings)
        return Program(spec, blocks, be, dtype, seed)  # it checks the blocks


def _float_type(dtype):
    """float32 (the default) or float64; anything else refused."""
    try:
        dtype = np.dtype(np.float32 if dtype is None else dtype)
    except TypeError:
        raise TypeError(f"compile: dtype must be float32 or float64; got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise ModelError(f"compile: dtype must be float32 or float64; got {dtype}")
    return dtype


def _layer_blocks(layers, couplings):
    """Blocks of the declared layers: a colouring of the (moralised) graph of layers, each
    colour one block of whole layers -- except a layer with lateral couplings or the parent
    layer of a directed net (its units are co-parents, joined in the moral graph), updated
    one unit at a time, and a lattice layer, whose sites the lattice colours (a checkerboard)."""
    declared = [i for i, L in enumerate(layers) if L.declared]
    lg = nx.Graph()
    lg.add_nodes_from(declared)
    dir_edges = [(c.a, c.b) for c in couplings if c.type == "directed" and layers[c.a].declared]
    und_edges = [(c.a, c.b) for c in couplings if c.type == "undirected" and layers[c.a].declared]
    _moralise(lg, dir_edges, und_edges)
    sequential = {i for i in declared if layers[i].lateral} | {a for a, _ in dir_edges}
    lattices = {c.a: c for c in couplings if c.type == "stencil"}
    blocks = []
    for cls in _colour(lg):
        plain = [Part(i, 0, layers[i].n) for i in cls if i not in sequential and i not in lattices]
        if plain:
            blocks.append(plain)
        for i in cls:
            if i in lattices:
                for colour in _lattice_colours(layers[i], lattices[i]):
                    blocks.append([colour.on(i) if isinstance(colour, Part) else Part(i, units=colour)])
            elif i in sequential:
                blocks.extend([[Part(i, u, u + 1)] for u in range(layers[i].n)])
    return blocks


def _unit_blocks(layers, couplings):
    """Blocks of the units declared one by one (the virtual layers): a colouring of their
    moral graph, two colours found by array code where it is bipartite. Units keep their
    declared order (every array a user sees is in that order): a colour class is a set of
    units of each virtual layer, a run where it happens to be."""
    virtual = [i for i, L in enumerate(layers) if not L.declared]
    if not virtual:
        return []
    base = dict(zip(virtual, np.cumsum([0] + [layers[i].n for i in virtual]).tolist()))
    n_units = sum(layers[i].n for i in virtual)
    ea, eb = _moral_unit_edges(layers, couplings, base)
    colour = _two_colour(n_units, ea, eb)
    if colour is None:
        ug = nx.Graph()
        ug.add_nodes_from(range(n_units))
        ug.add_edges_from(zip(ea.tolist(), eb.tolist()))
        colour = np.empty(n_units, dtype=np.int64)
        for k, cls in enumerate(_colour(ug)):
            colour[cls] = k
    n_colours = int(colour.max()) + 1
    unit_blocks = [[] for _ in range(n_colours)]
    for i in virtual:
        own = colour[base[i] : base[i] + layers[i].n]
        for k in range(n_colours):
            idx = np.flatnonzero(own == k)
            if idx.size:
                unit_blocks[k].append(Part(i, units=idx))
    return [b for b in unit_blocks if b]


def _moral_unit_edges(layers, couplings, base):
    """Edges (two unit-index arrays) between units declared one by one, with the co-parents
    of each child married (the moral graph)."""
    ea, eb, directed_pairs = [], [], []
    for c in couplings:
        if c.sparse:
            ua = base[c.a] + c.rows // layers[c.a].width
            ub = base[c.b] + c.cols // layers[c.b].width
            ea.append(ua)
            eb.append(ub)
            if c.type == "directed":
                directed_pairs.extend(zip(ua.tolist(), ub.tolist()))
    parents = {}
    for p_, ch in directed_pairs:
        parents.setdefault(ch, set()).add(p_)
    for ps in parents.values():
        for x, y in itertools.combinations(sorted(ps), 2):
            ea.append(np.array([x]))
            eb.append(np.array([y]))
    ea = np.concatenate(ea) if ea else np.zeros(0, np.int64)
    eb = np.concatenate(eb) if eb else np.zeros(0, np.int64)
    return ea, eb
