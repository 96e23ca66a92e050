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

import collections.abc
import contextlib
import gc
import itertools
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
        Internal parameter values per column (``log_sigma`` for a Gaussian sigma); for a
        layer node, read-only views of the declared values (flat, or a broadcast of shape
        (n, width) when the declared values broadcast), which the Program copies.
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
    edges : sequence
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
    arr = arr.astype(np.float64, copy=False)  # the values as declared, in their shape (see _per_column)
    if arr.ndim == 0:
        return arr
    try:
        np.broadcast_to(arr, shape)
    except ValueError:
        raise ModelError(f"{where}: {what} has shape {arr.shape}; expected a scalar or shape {shape}") from None
    return arr


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
    """A parameter's internal values per column, read-only, made from the declared values
    without a copy the size of the layer: a number given for the whole layer is that number
    broadcast (flat), an array of every value a flat view, and one that broadcasts (``q``
    values of a Potts lattice, the same at every site) a broadcast of ``shape``. The Program
    fills its own array of its float type from it."""
    if arr.ndim == 0:
        return np.broadcast_to(arr, (int(np.prod(shape)),))
    full = np.broadcast_to(arr, shape)
    return full.reshape(-1) if arr.size == full.size else full


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
        nodes = _Nodes(graph)
        undirected_nodes = _check_directed(graph, nodes.info) if directed else set()
        layers, unit_index, at = _layers(graph, nodes, directed, undirected_nodes)
        edges = _Edges(graph, nodes)
        recognition_edges = edges.take_recognition()
        couplings = _couplings(graph, edges, layers, at, nodes, directed)
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


class _Nodes:
    """The nodes in declared order, read in bulk: ``nodes`` (list), ``position`` (node ->
    index), ``group`` (int array: per node, the position of the first node declared alike --
    the same attribute names, types and values, as the sites of a lattice of units are) and
    ``infos`` (first position -> what :func:`_fast_unit_info` or :func:`_node_info` read).
    Each kind of declaration is read and checked once; nodes with an unhashable attribute
    (an array) are read on their own."""

    def __init__(self, graph):
        self.nodes = list(graph)
        attrs = [d for _, d in graph.nodes(data=True)]
        n = len(attrs)
        first = {}
        if _declared_alike(attrs):
            group = [0] * n
        else:
            group = self._groups(attrs, first)
        self.group = np.asarray(group, dtype=np.int64)
        self.infos = {}
        for i in sorted(set(group)):
            self.infos[i] = _fast_unit_info(attrs[i]) or _node_info(graph, self.nodes[i])
        self.position = dict(zip(self.nodes, range(n)))

    def _groups(self, attrs, first):
        n = len(attrs)
        try:  # the key of each node's attributes, made and looked up without a Python loop
            keys = zip(
                map(tuple, map(dict.items, attrs)),
                map(tuple, map(map, itertools.repeat(type), map(dict.values, attrs))),
            )
            return list(map(first.setdefault, keys, range(n)))
        except TypeError:
            first.clear()
            return [self._key_or_own(first, d, i) for i, d in enumerate(attrs)]

    @staticmethod
    def _key_or_own(first, d, i):
        try:
            return first.setdefault((tuple(d.items()), tuple(map(type, d.values()))), i)
        except TypeError:  # an unhashable attribute: read on its own
            return i

    def info(self, node):
        """What was read of ``node``: ``(kind, declared, n, width, params, visible)``."""
        return self.infos[int(self.group[self.position[node]])]


def _declared_alike(attrs):
    """True when every attribute dict equals the first, with the same names in the same order
    and values of the same types (1, 1.0 and True are equal but not alike): the sites of a
    lattice of units. Comparisons made in C, no key per node."""
    first = attrs[0]
    if any(isinstance(v, (np.ndarray, list, tuple)) for v in first.values()):
        return False  # arrays of one element compare equal across shapes and types: each is checked
    try:
        if len(attrs) < 2 or not all(map(first.__eq__, attrs)):
            return len(attrs) == 1
    except (TypeError, ValueError):  # an array attribute: no single truth to its comparison
        return False
    names, types = list(first), list(map(type, first.values()))
    n = len(attrs)
    chain = itertools.chain.from_iterable
    return list(chain(attrs)) == names * n and list(map(type, chain(map(dict.values, attrs)))) == types * n


class _Edges:
    """The edges, read in bulk in the order of ``graph.edges(data=True)`` with each
    undirected edge once, from the node declared first: ``u``, ``v`` (int arrays of node
    positions) and ``data`` (list of attribute dicts); ``names`` holds every attribute name
    that some edge carries."""

    def __init__(self, graph, nodes):
        n = len(nodes.nodes)
        pairs = list(graph.adjacency())
        rows = [u for u, _ in pairs]
        nbrs = [d for _, d in pairs]
        degree = np.fromiter(map(len, nbrs), dtype=np.int64, count=len(nbrs))
        total = int(degree.sum())
        position = nodes.position
        if rows == nodes.nodes:  # networkx keeps the adjacency in the nodes' order
            u = np.arange(n, dtype=np.int64)
        else:
            u = np.fromiter(map(position.__getitem__, rows), dtype=np.int64, count=len(rows))
        u = np.repeat(u, degree)
        v = np.fromiter(map(position.__getitem__, itertools.chain.from_iterable(nbrs)), dtype=np.int64, count=total)
        data = list(itertools.chain.from_iterable(map(dict.values, nbrs)))
        if not graph.is_directed():  # each edge once, from the endpoint declared first
            keep = v >= u
            u, v = u[keep], v[keep]
            data = list(itertools.compress(data, keep.tolist()))
        self.u, self.v, self.data = u, v, data
        self.names = set(itertools.chain.from_iterable(data))
        self.nodes = nodes.nodes

    def take_recognition(self):
        """Remove the recognition edges (marked ``recognition=True``) and return them as
        ``(u, v, data)`` triples."""
        if "recognition" not in self.names:
            return []
        marked = np.fromiter(
            map(bool, map(dict.get, self.data, itertools.repeat("recognition"), itertools.repeat(False))),
            dtype=bool,
            count=len(self.data),
        )
        found = [(self.nodes[self.u[i]], self.nodes[self.v[i]], self.data[i]) for i in np.flatnonzero(marked)]
        keep = ~marked
        self.u, self.v = self.u[keep], self.v[keep]
        self.data = list(itertools.compress(self.data, keep.tolist()))
        return found


def _check_graph(graph):
    """A networkx Graph or DiGraph (not a multigraph), with nodes whose names stay
    distinct once written as text."""
    if isinstance(graph, (nx.MultiGraph, nx.MultiDiGraph)):
        raise ModelError("graph: multigraphs are not models; use nx.Graph or nx.DiGraph")
    if not isinstance(graph, (nx.Graph, nx.DiGraph)):
        raise ModelError(f"graph: expected a networkx Graph or DiGraph; got {type(graph).__name__}")
    if graph.number_of_nodes() == 0:
        raise ModelError("graph: has no nodes; declare at least one unit or layer")
    if _names_distinct(graph):
        return
    names = {}  # some collide: find the first that does, for the message
    for node in graph.nodes:
        key = str(node)
        if key in names:
            raise ModelError(
                f"node {_fmt(node)}: name {key!r} collides with node {_fmt(names[key])} once written as text"
            )
        names[key] = node


def _names_distinct(graph):
    """True when no two nodes have the same text. Nodes that are all ints, all strings, or
    all tuples of ints (a lattice's sites) have distinct texts as they are distinct nodes;
    others are written out and counted."""
    types = set(map(type, graph))
    if types == {int} or types == {str}:
        return True
    if types == {tuple} and set(map(type, itertools.chain.from_iterable(graph))) <= {int}:
        return True
    return len(set(map(str, graph))) == graph.number_of_nodes()


def _check_directed(graph, info):
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
            if not info(end)[1]:
                raise ModelError(
                    f"edge ({_fmt(u)}, {_fmt(v)}): an undirected mark joins two layers (nodes with 'size'); "
                    f"{_fmt(end)} is a single unit"
                )
    return {n for e in undirected_edges for n in e}


def _layers(graph, nodes, directed, undirected_nodes):
    """Layers, in the declared order of the nodes (states and data keep that order): a
    layer node is a layer; consecutive single units of one kind form a "virtual layer"
    (a run: units of another kind declared in between start a new one, named with a count).
    Returns the layers, ``node -> (layer index, unit index)`` and the two as int arrays
    ``(layer, unit)`` by node position.

    The runs are found as array code over the nodes' kinds; only a run holding units read
    on their own (an array attribute, softmax units) is gathered node by node."""
    n = len(nodes.nodes)
    kinds = {}  # (kind, width) of single units -> a number
    firsts, which = np.unique(nodes.group, return_inverse=True)
    run_of = np.array(  # what makes a run: equal numbers, a layer node alone
        [-1 if info[1] else kinds.setdefault((info[0].name, info[3]), len(kinds)) for info in nodes.infos.values()],
        dtype=np.int64,
    )[which]
    declared = np.flatnonzero(run_of < 0)
    run_of[declared] = -1 - declared  # each layer node its own run
    starts = np.flatnonzero(np.concatenate([[True], run_of[1:] != run_of[:-1]]))
    stops = np.append(starts[1:], n)
    layer_of = np.repeat(np.arange(starts.size, dtype=np.int64), stops - starts)
    unit_of = np.arange(n, dtype=np.int64) - np.repeat(starts, stops - starts)
    unit_index = dict(zip(nodes.nodes, zip(layer_of.tolist(), unit_of.tolist())))
    layers, runs = [], {}
    for start, stop in zip(starts.tolist(), stops.tolist()):
        node = nodes.nodes[start]
        kind, declared, size, width, params, vis = nodes.infos[int(nodes.group[start])]
        is_directed = directed and node not in undirected_nodes
        if declared:
            shape = _lattice_shape(graph, node, size)
            layers.append(
                LayerSpec(str(node), [node], True, kind, size, width, dict(params), vis, is_directed, shape=shape)
            )
            continue
        key = (kind.name, width)
        runs[key] = runs.get(key, 0) + 1
        name = f"units[{kind.name}]" if width == 1 else f"units[{kind.name}{width}]"
        name += str(runs[key]) if runs[key] > 1 else ""
        L = LayerSpec(name, nodes.nodes[start:stop], False, kind, stop - start, width, {}, [], is_directed)
        _unit_values(L, nodes, nodes.group[start:stop])
        _gather_unit_params(graph, L)
        layers.append(L)
    return layers, unit_index, (layer_of, unit_of)


def _unit_values(L, nodes, group):
    """The declared values of a virtual layer's units (``group``: each unit's group): for
    units read together (numbers) one array per parameter, taken from the groups' values;
    else a list of each unit's value."""
    present, which = np.unique(group, return_inverse=True)
    infos = [nodes.infos[int(g)] for g in present.tolist()]
    if all(not isinstance(info[5], np.ndarray) for info in infos):  # numbers, read together
        for p in L.kind.params:
            L.params[p.name] = np.array([info[4][p.name] for info in infos], dtype=np.float64)[which]
        L.visible = np.array([info[5] for info in infos], dtype=bool)[which]
        return
    for p in L.kind.params:
        L.params[p.name] = [nodes.infos[int(g)][4][p.name] for g in group]
    L.visible = [
        bool(vis) if isinstance(vis, bool) else bool(vis[0]) for vis in (nodes.infos[int(g)][5] for g in group)
    ]


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


_TYPES = ("directed", "lateral", "undirected")


def _couplings(graph, edges, layers, at, nodes, directed):
    """Every model edge as a coupling: dense between layer nodes, entries of a sparse
    coupling per (layer, layer, type) between single units.

    The common edge -- a plain number between two one-column units -- is read as array
    code: no message is built unless something is wrong (the values are checked together
    at the end). Every other edge is checked on its own, with a message that names it."""
    layer_of, unit_of = at
    couplings, sparse = [], {}
    lu, lv = layer_of[edges.u], layer_of[edges.v]
    single = np.array([L.width == 1 and not L.declared for L in layers], dtype=bool)
    plain = single[lu] & single[lv] & (edges.u != edges.v)
    count = len(edges.data)
    weights = list(map(dict.get, edges.data, itertools.repeat("weight"))) if plain.any() else None
    if weights is not None:
        plain &= np.fromiter(map(_NUMBERS.__contains__, map(type, weights)), dtype=bool, count=count)
    if directed and "undirected" in edges.names:
        marks = map(dict.get, edges.data, itertools.repeat("undirected"), itertools.repeat(False))
        undirected = np.fromiter(map(bool, marks), dtype=bool, count=count)
    else:
        undirected = np.full(count, not directed)
    ctype = np.where(undirected, np.where(lu == lv, 1, 2), 0)  # an index into _TYPES
    for i in np.flatnonzero(~plain).tolist():  # the rest, one by one (an edge of layer nodes, an array weight)
        u, v = nodes.nodes[edges.u[i]], nodes.nodes[edges.v[i]]
        ends = (u, int(lu[i]), int(unit_of[edges.u[i]])), (v, int(lv[i]), int(unit_of[edges.v[i]]))
        c = _edge_coupling(sparse, layers, *ends, edges.data[i], directed, at=i)
        if c is not None:
            couplings.append(c)
    found = {key: (e.first, e) for key, e in sparse.items()}
    at_plain = np.flatnonzero(plain)
    if at_plain.size:
        code = (lu[at_plain] * len(layers) + lv[at_plain]) * 3 + ctype[at_plain]
        keys, first, which = np.unique(code, return_index=True, return_inverse=True)
        order = np.argsort(which, kind="stable")
        bounds = np.cumsum(np.bincount(which, minlength=keys.size))
        if at_plain.size == count:
            values = np.array(weights, dtype=np.float64)
        else:
            values = np.fromiter(map(weights.__getitem__, at_plain.tolist()), dtype=np.float64, count=at_plain.size)
        for k, key in enumerate(keys.tolist()):
            mine = at_plain[order[bounds[k - 1] if k else 0 : bounds[k]]]  # this coupling's edges, in order
            key = (key // 3 // len(layers), key // 3 % len(layers), _TYPES[key % 3])
            e = found[key][1] if key in found else _entries(sparse, layers, *key)
            e.plain = mine
            e.plain_values = values[np.searchsorted(at_plain, mine)]
            first_at = int(at_plain[first[k]])
            found[key] = (min(first_at, found[key][0]) if key in found else first_at, e)
    for _, e in sorted(found.values(), key=lambda f: f[0]):  # in the order their first edges come
        c = e.finish(edges, nodes, unit_of)
        _finish_sparse(c, graph)
        couplings.append(c)
    return couplings


def _edge_coupling(sparse, layers, end_u, end_v, d, directed, at=0):
    """One edge, checked with a message that names it: a dense, lateral or stencil coupling
    between layer nodes (returned), or entries of a sparse coupling between single units
    (added to ``sparse``; None returned)."""
    (u, lu, iu), (v, lv, iv) = end_u, end_v  # ``at``: the edge's place among the edges
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
            entries.append(iu * Lu.width + a, iv * Lv.width + b, W[a, b], (u, v, a, b), at)
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
    """The entries of one sparse coupling as they are found: those of edges checked one by
    one appended to lists (with the edge's place among the edges), those of plain edges
    (``plain``: their places; ``plain_values``) as arrays; :meth:`finish` merges them in
    the edges' order."""

    __slots__ = ("c", "at", "plain", "plain_values")

    def __init__(self, c):
        self.c, self.at, self.plain, self.plain_values = c, [], None, None

    @property
    def first(self):
        """The place of the first edge appended."""
        return self.at[0]

    def append(self, row, col, value, edge, at):
        c = self.c
        c.rows.append(row)
        c.cols.append(col)
        c.values.append(value)
        c.edges.append(edge)
        self.at.append(at)

    def finish(self, edges, nodes, unit_of):
        """The coupling with every entry, in the order of the edges."""
        c = self.c
        if self.plain is None:
            return c
        u, v = edges.u[self.plain], edges.v[self.plain]
        plain_edges = _PlainEdges(nodes.nodes, u, v)
        rows, cols, values = unit_of[u], unit_of[v], self.plain_values
        if not self.at:
            c.rows, c.cols, c.values, c.edges = rows, cols, values, plain_edges
            return c
        plain_edges = list(plain_edges)
        order = np.argsort(np.concatenate([self.plain, np.asarray(self.at, dtype=np.int64)]), kind="stable")
        c.rows = np.concatenate([rows, np.asarray(c.rows, dtype=np.int64)])[order]
        c.cols = np.concatenate([cols, np.asarray(c.cols, dtype=np.int64)])[order]
        c.values = np.concatenate([values, np.asarray(c.values, dtype=np.float64)])[order]
        both = plain_edges + c.edges
        c.edges = [both[i] for i in order.tolist()]
        return c


class _PlainEdges(collections.abc.Sequence):
    """``(u, v, 0, 0)`` for each entry of a sparse coupling read from plain edges (one
    number between two one-column units), made when read: the endpoints are kept as node
    positions, not as hundreds of thousands of tuples."""

    __slots__ = ("nodes", "u", "v")

    def __init__(self, nodes, u, v):
        self.nodes, self.u, self.v = nodes, u, v

    def __len__(self):
        return self.u.size

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return (self.nodes[self.u[i]], self.nodes[self.v[i]], 0, 0)

    def __iter__(self):
        get = self.nodes.__getitem__
        return zip(map(get, self.u.tolist()), map(get, self.v.tolist()), itertools.repeat(0), itertools.repeat(0))


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
