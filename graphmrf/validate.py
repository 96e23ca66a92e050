"""Check a declared model graph and normalise it into layers and couplings.

The rules (each violation raises :class:`~graphmrf.errors.ModelError` naming the node or
edge, the rule and the value):

* the graph is an ``nx.Graph`` (undirected energy model) or an acyclic ``nx.DiGraph``
  (sigmoid belief net); the edges of a DiGraph's top RBM may carry ``undirected=True`` --
  the top pair of layers of a DBN, and a label layer joined to its top layer: they all
  meet one layer -- and then no endpoint may have directed parents;
* every node has a registered ``kind``; ``size`` (optional, int >= 1) makes it a layer;
  softmax needs ``categories`` (int >= 2); ``visible`` is a bool (default True);
* node parameters (``bias``; ``sigma`` > 0 for gaussian) are finite and broadcast to the
  node's columns;
* an edge carries ``weight``: a scalar between two single units, an array of shape
  (columns of the first node, columns of the second) between layers, where "first" is
  the edge's source in a DiGraph and the endpoint declared first in an ``nx.Graph``;
* a self-loop is a lateral coupling of a layer: symmetric, zero diagonal; never on a
  single unit and never in a directed net; units and layers are not joined by edges;
* in a directed net, an edge ``(child, parent)`` marked ``recognition=True`` is a
  *recognition* weight (wake-sleep's bottom-up model, not part of the energy): it mirrors
  the generative edge ``(parent, child)``, has shape (child columns, parent columns) and
  an optional ``bias`` over the parent's columns.

>>> import networkx as nx
>>> g = nx.Graph()
>>> g.add_node("v", kind="binary", size=3)
>>> g.add_node("h", kind="binary", size=2, visible=False)
>>> g.add_edge("v", "h", weight=[[0.0] * 3] * 2)
>>> validate(g)
Traceback (most recent call last):
...
graphmrf.errors.ModelError: edge ('v', 'h'): weight has shape (2, 3); expected (3, 2) (rows index 'v', ...)
"""

import contextlib
import gc
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .couplings import symmetric_matrix
from .errors import ModelError
from .kinds import KINDS, get_kind

__all__ = ["validate", "LayerSpec", "CouplingSpec", "ModelSpec"]


@dataclass
class LayerSpec:
    """A layer node, or the set of all single-unit nodes of one kind ("virtual layer").

    Attributes
    ----------
    name : str
        The node's name, or ``"units[kind]"`` for a virtual layer.
    nodes : list
        The graph nodes it holds (one for a layer node).
    declared : bool
        Whether it is a layer node (``size`` given) rather than single units.
    kind : Kind
        The units' kind.
    n : int
        Units.
    width : int
        Columns per unit (K for softmax units).
    params : dict of arrays
        Internal parameter values per column (``log_sigma`` for a Gaussian sigma).
    visible : bool array (n,)
        Which units are visible.
    directed : bool
        Whether the layer has directed parents (its energy is ``-log p(layer | parents)``).
    lateral : bool
        Whether it has a lateral (within-layer) coupling.
    shape : tuple of int, optional
        A lattice layer's sides (its units in row-major order).

    Examples
    --------
    >>> import graphmrf as gm
    >>> v, h = validate(gm.rbm(3, 2, seed=0)).layers
    >>> h.name, h.declared, h.kind.name, h.n, h.cols, h.visible.tolist()
    ('h', True, 'binary', 2, 2, [False, False])
    """

    name: str
    nodes: list
    declared: bool
    kind: object
    n: int
    width: int
    params: dict
    visible: np.ndarray
    directed: bool
    lateral: bool = False
    shape: tuple = None  # the lattice shape of a layer declared with ``shape`` (its units, row-major)

    @property
    def cols(self):
        return self.n * self.width


@dataclass
class CouplingSpec:
    """A coupling between layers ``a`` (rows) and ``b`` (columns).

    ``type`` is ``"undirected"``, ``"lateral"`` (a == b, symmetric, energy counted once
    per pair), ``"directed"`` (a is the parent) or ``"stencil"`` (a == b, a lattice layer's
    nearest-neighbour bonds: ``weight`` of shape (1,) for one coupling shared by every bond,
    or ``(ndim, *shape)`` for the bond from each site to its next neighbour along each axis;
    ``periodic`` wraps around). Dense couplings hold ``weight``; sparse ones (between single
    units) hold column indices ``rows``/``cols`` per entry, ``values`` and ``edges`` (the
    graph edge of each entry, for writing back).

    Attributes
    ----------
    key : str
        The parameter's key in ``program.params`` (``"v~h.weight"``; ``"h1->v.weight"`` for
        a directed edge; ``"v=>h1.weight"`` for a recognition edge).
    a, b : int
        Indices of the two layers in ``ModelSpec.layers``.
    type : {"undirected", "lateral", "directed", "stencil"}
        See above.
    weight : numpy.ndarray, optional
        The dense matrix (a's columns by b's); None for sparse entries.
    rows, cols : int arrays, optional
        Layer-relative columns of each sparse entry.
    values : numpy.ndarray, optional
        The sparse entries' couplings.
    edges : list
        ``(u, v, i, j)`` per sparse entry: the graph edge and the entry of its weight.
    periodic : bool
        Whether a lattice wraps around.

    Examples
    --------
    >>> import graphmrf as gm
    >>> (c,) = validate(gm.sbn([3, 2], seed=0)).couplings
    >>> c.key, c.type, (c.a, c.b), c.weight.shape, c.sparse
    ('h1->v.weight', 'directed', (1, 0), (2, 3), False)
    """

    key: str
    a: int
    b: int
    type: str
    weight: np.ndarray = None
    rows: np.ndarray = None
    cols: np.ndarray = None
    values: np.ndarray = None
    edges: list = field(default_factory=list)
    periodic: bool = False

    @property
    def sparse(self):
        return self.weight is None


@dataclass
class ModelSpec:
    """A validated model: its layers (declared order), couplings, node lookup, and the
    recognition couplings of a directed net (not part of its energy).

    Attributes
    ----------
    graph : networkx.Graph or networkx.DiGraph
        The declared graph (not copied).
    directed : bool
        Whether it is a DiGraph.
    layers : list of LayerSpec
        In declared order.
    couplings : list of CouplingSpec
        The couplings that make up the energy.
    unit_index : dict
        ``node -> (layer index, unit index)`` for every node.
    recognition : list of CouplingSpec
        Recognition edges (wake-sleep's bottom-up weights).

    Examples
    --------
    Two single spins become one virtual layer with one sparse lateral coupling:

    >>> import networkx as nx
    >>> g = nx.Graph()
    >>> g.add_edge("a", "b", weight=1.0)
    >>> for node in g:
    ...     g.nodes[node]["kind"] = "spin"
    >>> spec = validate(g)
    >>> [L.name for L in spec.layers], spec.unit_index, spec.couplings[0].type
    (['units[spin]'], {'a': (0, 0), 'b': (0, 1)}, 'lateral')
    """

    graph: object
    directed: bool
    layers: list
    couplings: list
    unit_index: dict  # node -> (layer index, unit index) for every node
    recognition: list = field(default_factory=list)


def _fmt(node):
    return repr(node)


def _attr_array(value, shape, where, what):
    try:
        arr = np.asarray(value) if not isinstance(value, (str, bytes, bool, np.bool_)) else None
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.dtype.kind not in "iuf":
        raise ModelError(f"{where}: {what} must be a real number or an array of them; got {value!r}")
    arr = arr.astype(np.float64)
    if arr.ndim == 0:  # one value for every unit: kept a number (see _per_column)
        return arr
    try:
        return np.broadcast_to(arr, shape).astype(np.float64)
    except ValueError:
        raise ModelError(f"{where}: {what} has shape {arr.shape}; expected a scalar or shape {shape}") from None


_SCALAR = (int, float, np.floating, np.integer)
# exact types of a plain number (bool, a subclass of int, is not one)
_NUMBERS = frozenset({int, float, np.float64, np.float32, np.int64, np.int32})


def _weight(value, where):
    """An edge's weight as a float64 array, or a ModelError naming the edge: strings,
    complex numbers, objects and ragged nests are not real numbers."""
    if isinstance(value, (str, bytes, bool, np.bool_)):
        raise ModelError(f"{where}: weight must be a real number or an array of them; got {value!r}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise ModelError(
            f"{where}: weight must be a real number or an array of them; got {type(value).__name__}"
        ) from None
    if arr.dtype.kind not in "iuf":
        shown = repr(value) if arr.ndim == 0 else f"an array of dtype {arr.dtype}"
        raise ModelError(f"{where}: weight must be a real number or an array of them; got {shown}")
    return arr.astype(np.float64)


def _unit_infos(graph):
    """node -> (kind, declared, n, width, params, visible). Nodes declared alike (the same
    attribute names, types and values: the sites of a lattice of units) share one reading."""
    infos, seen = {}, {}
    for node, d in graph.nodes(data=True):
        try:
            key = tuple((k, type(v), v) for k, v in d.items())
            info = seen[key] if key in seen else seen.setdefault(key, _fast_unit_info(d))
        except TypeError:  # an unhashable attribute (an array): read on its own
            info = _fast_unit_info(d)
        infos[node] = info or _node_info(graph, node)
    return infos


def _fast_unit_info(d):
    """Single-unit nodes (attributes ``d``) with scalar attributes: no per-node array work
    (the values are checked together, per kind, after grouping); None when the node needs
    the full path."""
    if "size" in d or "categories" in d:
        return None
    kind = KINDS.get(d.get("kind")) if isinstance(d.get("kind"), str) else None
    vis = d.get("visible", True)
    if kind is None or kind.onehot or not isinstance(vis, (bool, np.bool_)):
        return None
    raw = {}
    for p in kind.params:
        v = d.get(p.graph_attr, p.default)
        if isinstance(v, bool) or not isinstance(v, _SCALAR):
            return None
        raw[p.name] = v
    return kind, False, 1, 1, raw, bool(vis)


def _node_info(g, node):
    where = f"node {_fmt(node)}"
    d = g.nodes[node]
    if "kind" not in d:
        raise ModelError(f"{where}: missing attribute 'kind'; expected one of {', '.join(sorted(KINDS))}")
    kind = get_kind(d["kind"], where)
    size = d.get("size", None)
    declared = size is not None
    if declared:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ModelError(f"{where}: size must be an integer >= 1; got {size!r}")
        n = int(size)
    else:
        n = 1
    width = 1
    if kind.onehot:
        K = d.get("categories", None)
        if K is None or isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 2:
            raise ModelError(f"{where}: softmax units need 'categories', an integer K >= 2; got {K!r}")
        width = int(K)
    elif "categories" in d:
        raise ModelError(f"{where}: 'categories' applies to softmax units only; kind is {kind.name!r}")
    vis = d.get("visible", True)
    vis_arr = np.asarray(vis)
    if vis_arr.dtype != bool:
        raise ModelError(f"{where}: visible must be a bool (or a bool array of length {n}); got {vis!r}")
    if not (vis_arr.ndim <= 1 and vis_arr.size in (1, n)):
        raise ModelError(f"{where}: visible has shape {np.shape(vis)}; expected a bool or shape ({n},)")
    # one bool for the layer stays one (read-only, broadcast); an array is copied (the graph's own may change)
    vis_arr = np.broadcast_to(vis_arr.reshape(-1)[:1], (n,)) if vis_arr.size == 1 else vis_arr.copy()
    params = {}
    for p in kind.params:
        raw = d.get(p.graph_attr, p.default)
        shape = (n, width) if width > 1 else (n,)
        arr = _attr_array(raw, shape, where, p.graph_attr)
        # the values as declared are checked (a number given for a whole layer once, not per unit)
        if not np.all(np.isfinite(arr)):
            raise ModelError(f"{where}: {p.graph_attr} must be finite; got {'NaN' if np.isnan(arr).any() else 'inf'}")
        if not p.valid(arr):
            bad = arr[~(arr > 0)] if arr.size else arr
            raise ModelError(f"{where}: {p.graph_attr} {p.rule}; got {bad.ravel()[:3].tolist()}")
        params[p.name] = _per_column(p.to_internal(arr), shape)
    return kind, declared, n, width, params, vis_arr


def _per_column(arr, shape):
    """A parameter's internal values, one per column (flat): a number given for the whole
    layer stays one number, read-only and broadcast (no array the size of a lattice in float64;
    the Program fills its own array of its float type)."""
    if arr.ndim == 0:
        return np.broadcast_to(arr, (int(np.prod(shape)),))
    return np.broadcast_to(arr, shape).reshape(-1)


def validate(graph):
    """Check ``graph`` and return its :class:`ModelSpec` (layers, couplings).

    Cost: one pass over the nodes and edges (a layer node's weights are checked as whole
    arrays, never entry by entry in Python).

    Parameters
    ----------
    graph : networkx.Graph or networkx.DiGraph
        The declared model.

    Returns
    -------
    ModelSpec

    Raises
    ------
    ModelError
        On any rule in the module docstring, naming the node or edge.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> g = gm.rbm(3, 2, seed=0)
    >>> [L.name for L in validate(g).layers]
    ['v', 'h']
    >>> g.nodes["v"]["bias"] = np.array([0.0, np.nan, 0.0])
    >>> validate(g)
    Traceback (most recent call last):
    ...
    graphmrf.errors.ModelError: node 'v': bias must be finite; ...
    """
    with bulk():
        _check_graph(graph)
        directed = graph.is_directed()
        infos = _unit_infos(graph)
        undirected_nodes = _check_directed(graph, infos) if directed else set()
        layers, unit_index = _layers(graph, infos, directed, undirected_nodes)
        model_edges, recognition_edges = [], []  # one pass over the edges (a lattice of units has many)
        for edge in _edges(graph):
            (recognition_edges if edge[2].get("recognition", False) else model_edges).append(edge)
        couplings = _couplings(graph, model_edges, layers, unit_index, directed)
    for c in couplings:
        if c.type == "lateral":
            layers[c.a].lateral = True
    _check_gaussian_precision(layers, couplings)
    recognition = _recognition(graph, recognition_edges, layers, unit_index)
    return ModelSpec(graph, directed, layers, couplings, unit_index, recognition)


@contextlib.contextmanager
def bulk():
    """Python's cyclic garbage collector paused while a large graph is read or compiled: the
    hundreds of thousands of tuples, dicts and lists made hold no cycles, and collections
    triggered by their allocation took about 40 % of validating a 512x512 lattice of units.
    Nested uses leave it as the outermost found it.

    Examples
    --------
    >>> import gc
    >>> with bulk():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _edges(graph):
    """``graph.edges(data=True)`` in the same order, each undirected edge once from the node
    declared first, without networkx's per-edge bookkeeping of the nodes already seen."""
    if graph.is_directed():
        return graph.edges(data=True)
    position = {node: i for i, node in enumerate(graph.nodes)}
    return [(u, v, d) for u, nbrs in graph.adjacency() for v, d in nbrs.items() if position[v] >= position[u]]


def _check_graph(graph):
    """A networkx Graph or DiGraph (not a multigraph), with nodes whose names stay
    distinct once written as text."""
    if isinstance(graph, (nx.MultiGraph, nx.MultiDiGraph)):
        raise ModelError("graph: multigraphs are not models; use nx.Graph or nx.DiGraph")
    if not isinstance(graph, (nx.Graph, nx.DiGraph)):
        raise ModelError(f"graph: expected a networkx Graph or DiGraph; got {type(graph).__name__}")
    if graph.number_of_nodes() == 0:
        raise ModelError("graph: has no nodes; declare at least one unit or layer")
    names = {}
    for node in graph.nodes:
        key = str(node)
        if key in names:
            raise ModelError(
                f"node {_fmt(node)}: name {key!r} collides with node {_fmt(names[key])} once written as text"
            )
        names[key] = node


def _check_directed(graph, infos):
    """The rules of a directed net: acyclic (recognition edges aside), the edges marked
    undirected (a DBN's top RBM) all meeting one layer and joining layers without directed
    parents.
    Returns the endpoints of those edges."""
    undirected_edges = [(u, v) for u, v, d in graph.edges(data=True) if d.get("undirected", False)]
    # several undirected edges are one top RBM when they all meet one layer (a label layer
    # joined to a DBN's top layer, Hinton et al. 2006)
    if len(undirected_edges) > 1 and not set.intersection(*(set(e) for e in undirected_edges)):
        raise ModelError(
            f"edges {undirected_edges}: a directed net may mark undirected only the edges of its top RBM "
            "(the top pair of a DBN, and a label layer joined to the top layer), which all meet one layer; these do not"
        )
    dag = nx.DiGraph()
    dag.add_nodes_from(graph.nodes)
    dag.add_edges_from(
        (u, v)
        for u, v, d in graph.edges(data=True)
        if not d.get("undirected", False) and not d.get("recognition", False) and u != v
    )
    if not nx.is_directed_acyclic_graph(dag):
        cycle = [e[0] for e in nx.find_cycle(dag)]
        raise ModelError(f"nodes {cycle}: a directed net must be acyclic; these form a directed cycle")
    for u, v in undirected_edges:
        for end in (u, v):
            if dag.in_degree(end) > 0:
                parents = list(dag.predecessors(end))
                raise ModelError(
                    f"edge ({_fmt(u)}, {_fmt(v)}): marked undirected but {_fmt(end)} has directed parents {parents}; "
                    "only the top pair of layers of a DBN may be undirected"
                )
            if not infos[end][1]:
                raise ModelError(
                    f"edge ({_fmt(u)}, {_fmt(v)}): an undirected mark joins two layers (nodes with 'size'); "
                    f"{_fmt(end)} is a single unit"
                )
    return {n for e in undirected_edges for n in e}


def _layers(graph, infos, directed, undirected_nodes):
    """Layers, in the declared order of the nodes (states and data keep that order): a
    layer node is a layer; consecutive single units of one kind form a "virtual layer"
    (a run: units of another kind declared in between start a new one, named with a count).
    Returns the layers and ``node -> (layer index, unit index)``."""
    layers, unit_index, runs, current = [], {}, {}, None
    for node in graph.nodes:
        kind, declared, n, width, params, vis = infos[node]
        is_directed = directed and node not in undirected_nodes
        if declared:
            current = None
            unit_index[node] = (len(layers), 0)
            shape = _lattice_shape(graph, node, n)
            layers.append(LayerSpec(str(node), [node], True, kind, n, width, params, vis, is_directed, shape=shape))
            continue
        key = (kind.name, width)
        if current != key:
            current = key
            runs[key] = runs.get(key, 0) + 1
            name = f"units[{kind.name}]" if width == 1 else f"units[{kind.name}{width}]"
            name += str(runs[key]) if runs[key] > 1 else ""
            layers.append(LayerSpec(name, [], False, kind, 0, width, {p: [] for p in params}, [], is_directed))
        L = layers[-1]
        unit_index[node] = (len(layers) - 1, L.n)
        L.nodes.append(node)
        L.n += 1
        for p, v in params.items():
            L.params[p].append(v)
        L.visible.append(bool(vis) if isinstance(vis, bool) else bool(vis[0]))
    for L in layers:
        if not L.declared:
            _gather_unit_params(graph, L)
    return layers, unit_index


def _lattice_shape(graph, node, n):
    """The ``shape`` of a lattice layer (a tuple of ints >= 1 whose product is its size),
    or None for a plain layer."""
    shape = graph.nodes[node].get("shape")
    if shape is None:
        return None
    where = f"node {_fmt(node)}"
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, np.ndarray) and shape.ndim == 1 and shape.dtype.kind in "iu":  # as a file holds it
        shape = tuple(int(k) for k in shape)
    if (
        not isinstance(shape, (tuple, list))
        or not shape
        or not all(isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1 for k in shape)
    ):
        raise ModelError(f"{where}: shape must be a tuple of integers >= 1 (the lattice's sides); got {shape!r}")
    shape = tuple(int(k) for k in shape)
    if int(np.prod(shape)) != n:
        raise ModelError(f"{where}: shape {shape} holds {int(np.prod(shape))} units; its size is {n}")
    return shape


def _gather_unit_params(graph, L):
    """The per-unit parameters of a virtual layer as arrays, checked in one vectorised
    pass (on failure the first bad node is named)."""
    params = {}
    for p in L.kind.params:
        vals = L.params[p.name]
        try:  # the common case, one number per unit: a single conversion
            raw = np.array(vals, dtype=np.float64)
        except (TypeError, ValueError):
            raw = None
        if raw is not None and raw.shape == (len(vals),):
            fast = np.ones(len(vals), dtype=bool)
        else:
            raw = np.array([v if np.ndim(v) == 0 else np.nan for v in vals], dtype=np.float64)
            fast = np.array([np.ndim(v) == 0 for v in vals])
        if not p.valid(raw[fast]):
            for j in np.flatnonzero(fast):
                if not p.valid(raw[j : j + 1]):
                    _node_info(graph, L.nodes[int(j)])  # raises, naming the node
        if fast.all():
            params[p.name] = p.to_internal(raw)
        else:
            params[p.name] = np.concatenate(
                [np.atleast_1d(p.to_internal(np.float64(v))) if f else np.ravel(v) for v, f in zip(vals, fast)]
            )
    L.params = params
    L.visible = np.asarray(L.visible, dtype=bool)


def _couplings(graph, edges, layers, unit_index, directed):
    """Every model edge as a coupling: dense between layer nodes, entries of a sparse
    coupling per (layer, layer, type) between single units."""
    # (an undirected edge comes from the node declared first: see _edges)
    couplings, sparse = [], {}
    single = [L.width == 1 and not L.declared for L in layers]  # layers of single one-column units
    for u, v, d in edges:
        lu, iu = unit_index[u]
        lv, iv = unit_index[v]
        w = d.get("weight")
        if type(w) in _NUMBERS and u != v and single[lu] and single[lv]:
            # the common case, one number between two units: no message is built unless
            # something is wrong (the values are checked together at the end)
            ctype = (
                "directed" if directed and not d.get("undirected", False) else ("lateral" if lu == lv else "undirected")
            )
            c = (sparse.get((lu, lv, ctype)) or _entries(sparse, layers, lu, lv, ctype)).c
            c.rows.append(iu)
            c.cols.append(iv)
            c.values.append(w)
            c.edges.append((u, v, 0, 0))
            continue
        c = _edge_coupling(sparse, layers, (u, lu, iu), (v, lv, iv), d, directed)
        if c is not None:
            couplings.append(c)
    for c in (e.c for e in sparse.values()):
        _finish_sparse(c, graph)
        couplings.append(c)
    return couplings


def _edge_coupling(sparse, layers, end_u, end_v, d, directed):
    """One edge, checked with a message that names it: a dense, lateral or stencil coupling
    between layer nodes (returned), or entries of a sparse coupling between single units
    (added to ``sparse``; None returned)."""
    (u, lu, iu), (v, lv, iv) = end_u, end_v
    where = f"edge ({_fmt(u)}, {_fmt(v)})"
    if "weight" not in d:
        raise ModelError(f"{where}: missing attribute 'weight'")
    w = d["weight"]
    Lu, Lv = layers[lu], layers[lv]
    if Lu.declared != Lv.declared:
        raise ModelError(
            f"{where}: joins a layer and a single unit; declare {_fmt(u if not Lu.declared else v)} as a layer "
            "with size=1"
        )
    if u == v:
        if not Lu.declared:
            raise ModelError(
                f"{where}: self-loop on single unit {_fmt(u)}; a unit cannot couple to itself (lateral couplings "
                "belong to layers with 'size')"
            )
        if directed:
            raise ModelError(
                f"{where}: lateral couplings (self-loops) need an undirected model; this is a directed net"
            )
        if d.get("lattice", False):
            return _stencil_coupling(where, Lu, lu, w, d)
    ctype = "lateral" if u == v else ("directed" if directed and not d.get("undirected", False) else "undirected")
    if Lu.declared:
        return _dense_coupling(where, Lu, Lv, lu, lv, ctype, w, directed, u)
    if Lu.width == 1 and Lv.width == 1 and isinstance(w, _SCALAR) and not isinstance(w, bool):
        W = np.full((1, 1), float(w))  # the common case: a scalar between two units
    else:
        W = _weight(w, where)
        shape = (Lu.width, Lv.width)
        if W.shape not in (shape, ()) or (W.shape == () and shape != (1, 1)):
            raise ModelError(
                f"{where}: weight has shape {W.shape}; expected a scalar"
                + ("" if shape == (1, 1) else f" or shape {shape}")
            )
        W = np.broadcast_to(W, shape)
    if lu == lv and ctype != "directed":
        ctype = "lateral"
    entries = _entries(sparse, layers, lu, lv, ctype)
    for a in range(Lu.width):
        for b in range(Lv.width):
            entries.append(iu * Lu.width + a, iv * Lv.width + b, W[a, b], (u, v, a, b))
    return None


def _finish_sparse(c, graph):
    """A sparse coupling's entries as arrays, its values checked together (finite)."""
    c.rows = np.asarray(c.rows, dtype=np.int64)
    c.cols = np.asarray(c.cols, dtype=np.int64)
    c.values = np.asarray(c.values, dtype=np.float64)
    if not np.all(np.isfinite(c.values)):
        u, v, _, _ = c.edges[int(np.flatnonzero(~np.isfinite(c.values))[0])]
        raise ModelError(f"edge ({_fmt(u)}, {_fmt(v)}): weight must be finite; got {graph.edges[u, v]['weight']!r}")


class _Entries:
    """The entries of one sparse coupling as they are found: lists appended to, arrays at the end."""

    __slots__ = ("c",)

    def __init__(self, c):
        self.c = c

    def append(self, row, col, value, edge):
        c = self.c
        c.rows.append(row)
        c.cols.append(col)
        c.values.append(value)
        c.edges.append(edge)


def _entries(sparse, layers, lu, lv, ctype):
    """The entries of the sparse coupling of layers ``lu``, ``lv`` of type ``ctype`` (made
    on first use)."""
    key = (lu, lv, ctype)
    found = sparse.get(key)
    if found is None:
        sep = "->" if ctype == "directed" else "~"
        spec = CouplingSpec(
            f"{layers[lu].name}{sep}{layers[lv].name}.weight", lu, lv, ctype, rows=[], cols=[], values=[]
        )
        found = sparse[key] = _Entries(spec)
    return found


def _stencil_coupling(where, L, index, w, d):
    """A lattice layer's nearest-neighbour coupling (a self-loop marked ``lattice=True``):
    ``weight`` a number (every bond) or an array ``(ndim, *shape)`` (the bond from each site to
    its next neighbour along each axis; on an open lattice the last one is unused), and
    ``periodic`` (default True)."""
    if L.shape is None:
        raise ModelError(f"{where}: a lattice coupling needs a layer declared with 'shape' (the lattice's sides)")
    periodic = d.get("periodic", True)
    if not isinstance(periodic, (bool, np.bool_)):
        raise ModelError(f"{where}: periodic must be True or False; got {periodic!r}")
    W = _weight(w, where)
    full = (len(L.shape),) + L.shape
    if W.shape not in ((), (1,), full):
        raise ModelError(
            f"{where}: a lattice weight is a number or has shape {full} (one bond per site and axis); got shape "
            f"{W.shape}"
        )
    if not np.all(np.isfinite(W)):
        raise ModelError(f"{where}: weight must be finite")
    W = W.reshape(1) if W.size == 1 and W.shape != full else W
    return CouplingSpec(f"{L.name}~{L.name}.weight", index, index, "stencil", weight=W, periodic=bool(periodic))


def _dense_coupling(where, Lu, Lv, lu, lv, ctype, w, directed, u):
    """A weight matrix between two layer nodes, checked: shape, finite, and symmetric
    with a zero diagonal for a lateral one."""
    shape = (Lu.cols, Lv.cols)
    W = _weight(w, where)
    if W.shape != shape:
        rule = "the endpoint declared first" if not directed else "the source"
        raise ModelError(f"{where}: weight has shape {W.shape}; expected {shape} (rows index {_fmt(u)}, {rule})")
    if not np.all(np.isfinite(W)):
        raise ModelError(
            f"{where}: weight must be finite; it has {int((~np.isfinite(W)).sum())} NaN or infinite entries"
        )
    if ctype == "lateral":
        if not np.allclose(W, W.T, rtol=0, atol=1e-12 * max(1.0, float(np.abs(W).max(initial=0)))):
            i, j = np.unravel_index(np.argmax(np.abs(W - W.T)), W.shape)
            raise ModelError(
                f"{where}: lateral weight must be symmetric; W[{i}, {j}] = {W[i, j]} but W[{j}, {i}] = {W[j, i]}"
            )
        if np.any(np.diag(W) != 0):
            i = int(np.flatnonzero(np.diag(W) != 0)[0])
            raise ModelError(f"{where}: lateral weight must have a zero diagonal; W[{i}, {i}] = {W[i, i]}")
        W = 0.5 * (W + W.T)
    sep = "->" if ctype == "directed" else "~"
    return CouplingSpec(f"{Lu.name}{sep}{Lv.name}.weight", lu, lv, ctype, weight=W)


def _recognition(graph, edges, layers, unit_index):
    """Recognition edges: ``(child, parent)`` edges marked ``recognition=True`` that point
    up a directed net, each the mirror of a generative edge ``parent -> child``, with a
    ``weight`` of shape (child columns, parent columns) and an optional ``bias`` of the
    parent's columns (the recognition model ``q(parent | child) = sigmoid(T(child) R + r)``
    of wake-sleep). Between layer nodes only."""
    out = []
    for u, v, d in edges:
        where = f"edge ({_fmt(u)}, {_fmt(v)})"
        if not graph.is_directed():
            raise ModelError(
                f"{where}: recognition edges belong to directed nets (sigmoid belief nets, DBNs); this graph is "
                "undirected"
            )
        gen = graph.get_edge_data(v, u)
        if gen is None or gen.get("recognition", False) or gen.get("undirected", False):
            raise ModelError(
                f"{where}: a recognition edge must mirror a directed generative edge ({_fmt(v)}, {_fmt(u)}); there "
                "is none"
            )
        lu, lv = unit_index[u][0], unit_index[v][0]
        Lu, Lv = layers[lu], layers[lv]
        if not (Lu.declared and Lv.declared):
            raise ModelError(f"{where}: recognition edges join layer nodes (nodes with 'size')")
        if Lv.kind.name not in ("binary", "spin"):
            raise ModelError(f"{where}: a recognition net infers two-valued units; {_fmt(v)} is {Lv.kind.name}")
        if Lv.visible.any():
            raise ModelError(f"{where}: a recognition edge infers a hidden layer; {_fmt(v)} is visible")
        W = _weight(d.get("weight", np.zeros((Lu.cols, Lv.cols))), where)
        if W.shape != (Lu.cols, Lv.cols):
            raise ModelError(
                f"{where}: weight has shape {W.shape}; expected {(Lu.cols, Lv.cols)} (rows index {_fmt(u)}, the source)"
            )
        if not np.all(np.isfinite(W)):
            raise ModelError(f"{where}: weight must be finite")
        bias = np.broadcast_to(_attr_array(d.get("bias", 0.0), (Lv.cols,), where, "bias"), (Lv.cols,)).copy()
        if not np.all(np.isfinite(bias)):
            raise ModelError(f"{where}: bias must be finite")
        out.append(CouplingSpec(f"{Lu.name}=>{Lv.name}.weight", lu, lv, "recognition", weight=W, values=bias))
    return out


def _check_gaussian_precision(layers, couplings):
    """Real-valued units coupled to each other must have a positive definite joint precision.

    With ``t = s / sigma`` the quadratic part of the energy is ``t^T (I - J) t / 2`` where J
    holds the couplings among real-valued units (both triangles); couplings to discrete
    units only shift the mean. ``I - J`` must be positive definite, or ``Z`` is infinite.
    """
    real = [i for i, L in enumerate(layers) if not L.kind.discrete]
    among = [c for c in couplings if c.a in real and c.b in real and c.type != "directed"]
    if not among:
        return
    offset, off = {}, 0
    for i in real:
        offset[i] = off
        off += layers[i].cols
    dense = [(offset[c.a], offset[c.b], c.weight, c.type == "lateral") for c in among if not c.sparse]
    sparse = [(offset[c.a] + c.rows, offset[c.b] + c.cols, c.values) for c in among if c.sparse]
    J = symmetric_matrix(off, dense, sparse)
    smallest = float(np.linalg.eigvalsh(np.eye(off) - J)[0])
    if smallest <= 0:
        names = sorted({layers[c.a].name for c in among} | {layers[c.b].name for c in among})
        raise ModelError(
            f"nodes {names}: gaussian units coupled to each other need a positive definite joint precision "
            f"I - W (in units of sigma); its smallest eigenvalue is {smallest:.4g}, so Z would be infinite"
        )
