"""Builders for the field's model families. Each returns an ordinary networkx graph.

The graphs are plain data: inspect them, draw them, edit attributes, write them to a
file. Layer nodes carry ``kind``, ``size``, ``visible`` and their parameters; edges carry
``weight`` with rows indexing the first node (the source, in a DiGraph). Random weights
are drawn from ``N(0, scale^2)`` with an explicit seed, biases start at zero or, when
``data`` is given, at the values the field recommends (Hinton's practical guide:
``log(p / (1 - p))`` for binary visible units).

>>> g = rbm(784, 500, seed=0)
>>> sorted(g.nodes(data="size"))
[('h', 500), ('v', 784)]
>>> g.edges["v", "h"]["weight"].shape
(784, 500)
"""

import networkx as nx
import numpy as np

from .arguments import AnyOf, Boolean, Integer, Options, Real, Seed, SequenceOf, checked
from .backend import as_generator
from .couplings import lattice_bonds
from .errors import ModelError

__all__ = ["lattice", "ising", "potts", "hopfield", "boltzmann", "rbm", "dbm", "sbn", "dbn", "marginal_bias"]


_KINDS = Options("binary", "spin", "gaussian", "softmax")
_TWO_VALUED = Options("binary", "spin")
_SIZE = Integer(1)
_SIZES = SequenceOf(Integer(1), min_length=2)
_SCALE = Real(0.0)


def _rng(seed):
    return as_generator(seed)


def _symmetric(n, scale, rng):
    a = rng.normal(0.0, scale, size=(n, n))
    a = np.triu(a, 1)
    return a + a.T


def marginal_bias(kind, data, n, categories=None):
    """Biases under which independent units of ``kind`` have the data's marginals: the
    usual starting point for the visible biases of an RBM (Hinton's practical guide,
    ``log p / (1 - p)``) and the base model of AIS.

    Parameters
    ----------
    kind : {"binary", "spin", "gaussian", "softmax"}
    data : array (examples, n) or (examples, n * categories), or None
        None gives zero biases. NaN marks a missing value (a whole softmax unit of NaN, a
        missing rating): the marginals are those of the observed entries.
    n : int
        Units (softmax: units of ``categories`` columns each).
    categories : int, optional
        For softmax units.

    Returns
    -------
    float or array
        0.0 without data; else one bias per column (means clipped away from 0 and 1).

    Raises
    ------
    ModelError
        For any other kind.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(marginal_bias("binary", np.array([[1, 0], [1, 1], [0, 0], [1, 0]]), 2), 3)
    array([ 1.099, -1.099])
    """
    if data is None:
        return 0.0
    X = np.asarray(data, dtype=np.float64)
    if kind in ("binary", "spin", "gaussian"):
        # the mean of each column over its observed entries (NaN: missing); 0 for a column never observed
        seen = ~np.isnan(X)
        mean = np.where(seen, X, 0.0).sum(axis=0) / np.maximum(seen.sum(axis=0), 1)
        if kind == "gaussian":
            return mean
        if kind == "binary":
            p = np.clip(np.where(seen.any(axis=0), mean, 0.5), 1e-3, 1 - 1e-3)
            return np.log(p / (1 - p))
        return np.arctanh(np.clip(mean, -1 + 2e-3, 1 - 2e-3))
    if kind == "softmax":  # frequencies among the observed ratings (missing units are NaN)
        R = X.reshape(X.shape[0], n, categories)
        seen = ~np.isnan(R).any(axis=2)
        counts = np.where(seen[..., None], R, 0).sum(axis=0)
        freq = np.where(
            seen.sum(axis=0)[:, None] > 0, counts / np.maximum(seen.sum(axis=0), 1)[:, None], 1.0 / categories
        )
        return np.log(np.clip(freq, 1e-3, None))
    raise ModelError(f"data: cannot initialise biases of kind {kind!r} from data")


def _bonds_or_number(coupling, where="lattice"):
    """A lattice coupling as the graph holds it: a float, or an array of bonds."""
    try:
        arr = np.asarray(coupling, dtype=np.float64) if not isinstance(coupling, (str, bytes, bool)) else None
    except (TypeError, ValueError):
        arr = None
    if arr is None:
        raise ModelError(f"{where}: coupling must be a real number or an array of them; got {coupling!r}")
    return float(arr) if arr.ndim == 0 else arr


@checked(
    raises=ModelError,
    shape=SequenceOf(Integer(1), min_length=1),
    kind=Options("spin", "binary", "softmax"),
    periodic=Boolean(),
    categories=AnyOf(None, Integer(2)),
)
def lattice(shape, kind="spin", periodic=True, coupling=1.0, field=0.0, categories=None, name="s"):
    """A lattice of units as one layer node: ``E = -sum_<ij> J_ij T_i . T_j - sum_i b . s_i``
    over nearest neighbours (each bond once).

    The graph has one node ``name`` with ``size = prod(shape)`` and ``shape`` (sites in
    row-major order) and one self-loop marked ``lattice=True`` holding ``coupling`` -- a
    number for every bond, or an array ``(ndim, *shape)``: the bond from each site to its next
    neighbour along each axis -- and ``periodic``. The compiler colours it as a
    checkerboard (two blocks) and computes each site's input with a stencil: no per-site
    nodes or edges. ``kind="softmax"`` with ``categories=q`` is the q-state Potts model
    (``T_i . T_j`` is 1 when the two sites agree).

    Parameters
    ----------
    shape : sequence of int
        The sites along each axis, e.g. ``(64, 64)``.
    kind : {"spin", "binary", "softmax"}
        The sites' unit kind.
    periodic : bool
        Whether the lattice wraps around (a torus).
    coupling : float or array ``(ndim, *shape)``
        ``J`` for every bond, or per bond (the bond from each site to its next neighbour
        along each axis).
    field : float or array
        The bias ``b`` of every site (per site, or per site and category for softmax sites).
    categories : int, optional
        q, for softmax (Potts) sites.
    name : str
        The node's name.

    Returns
    -------
    networkx.Graph
        One node and one self-loop.

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``n_hidden=2.0``).
    ModelError
        (a ``ValueError``) if an argument's value breaks its rule (a size of 0, an unknown
        kind); the message names the argument, the rule and the value.

    Examples
    --------
    >>> g = lattice((3, 4), periodic=False, coupling=0.5)
    >>> g.nodes["s"]["size"], g.nodes["s"]["shape"], g.edges["s", "s"]["weight"]
    (12, (3, 4), 0.5)
    """
    shape = tuple(int(k) for k in shape)
    g = nx.Graph(name=f"lattice{'x'.join(map(str, shape))}{'-periodic' if periodic else ''}")
    attrs = dict(kind=kind, size=int(np.prod(shape)), shape=shape, visible=True, bias=field)
    if kind == "softmax":
        if categories is None:
            raise ModelError("lattice: softmax (Potts) sites need categories=q")
        attrs["categories"] = int(categories)
    g.add_node(name, **attrs)
    g.add_edge(name, name, weight=_bonds_or_number(coupling), lattice=True, periodic=bool(periodic))
    return g


@checked(
    raises=ModelError, L=_SIZE, periodic=Boolean(), field=Real(), kind=_TWO_VALUED, dims=Integer(1, 3), units=Boolean()
)
def ising(L, periodic=True, coupling=1.0, field=0.0, kind="spin", dims=2, units=False):
    """An Ising model on an L x L (or L x L x L, ``dims=3``) lattice,
    ``E = -sum_<ij> J_ij s_i s_j - h sum_i s_i``.

    By default the lattice is one layer node (:func:`lattice`): declaring and compiling
    even a 4096 x 4096 lattice takes a fraction of a second. ``coupling`` is J for every
    bond or an array of bonds (see :func:`lattice`). A periodic lattice needs sides of at
    least 3; ``periodic=True`` with L <= 2 gives the open lattice (each bond once).
    ``units=True`` declares one node per site ``(row, col)`` instead (2-D only), edges
    between neighbours: editable site by site, slower to declare and to sample.

    Parameters
    ----------
    L : int
        The side of the lattice.
    periodic : bool
        Whether it wraps around (only when ``L >= 3``).
    coupling : float or array
        ``J``: a number for every bond, or an array of bonds (``units=False`` only).
    field : float
        ``h``, the bias of every site.
    kind : {"spin", "binary"}
        Spins {-1, +1} (the physicists' model) or binary units {0, 1}.
    dims : {1, 2, 3}
        The lattice's dimension.
    units : bool
        One node per site (2-D only) instead of one lattice node.

    Returns
    -------
    networkx.Graph

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``n_hidden=2.0``).
    ModelError
        (a ``ValueError``) if an argument's value breaks its rule (a size of 0, an unknown
        kind); the message names the argument, the rule and the value.
        ``units=True`` with ``dims != 2`` or with per-bond couplings also raises it.

    Examples
    --------
    >>> g = ising(3, periodic=True, coupling=0.5)
    >>> g.nodes["s"]["shape"], g.edges["s", "s"]["periodic"]
    ((3, 3), True)
    >>> u = ising(3, periodic=True, coupling=0.5, units=True)
    >>> u.number_of_nodes(), u.number_of_edges(), u.edges[(0, 0), (0, 1)]["weight"]
    (9, 18, 0.5)
    """
    periodic = periodic and L > 2
    if not units:
        return lattice(
            (L,) * dims, kind=kind, periodic=periodic, coupling=_bonds_or_number(coupling, "ising"), field=field
        )
    if dims != 2:
        raise ModelError(f"ising: units=True declares a 2-D lattice; got dims={dims}")
    J = np.asarray(_bonds_or_number(coupling, "ising"))
    if J.ndim:
        raise ModelError(
            "ising: units=True takes one coupling for every bond; declare per-bond couplings with units=False"
        )
    out = nx.Graph(name=f"ising{L}x{L}{'-periodic' if periodic else ''}")
    sites = [(i, j) for i in range(L) for j in range(L)]  # row-major: (i, j) is site i * L + j
    out.add_nodes_from(sites, kind=kind, visible=True, bias=float(field))
    # the bonds of nx.grid_2d_graph, each from its lower site, in order: found by array code
    rows, cols = lattice_bonds((L, L), periodic)
    lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
    order = np.lexsort((hi, lo))
    ends = zip(map(sites.__getitem__, lo[order].tolist()), map(sites.__getitem__, hi[order].tolist()))
    out.add_edges_from(ends, weight=float(J))
    return out


@checked(raises=ModelError, L=_SIZE, q=Integer(2), periodic=Boolean(), dims=Integer(1, 3))
def potts(L, q, periodic=True, coupling=1.0, field=0.0, dims=2):
    """The q-state Potts model on an L x L (or L x L x L) lattice,
    ``E = -sum_<ij> J delta(s_i, s_j) - sum_i b_(s_i)``: a lattice of softmax units
    (:func:`lattice` with ``kind="softmax"``); ``field`` is a number or q numbers.

    Parameters
    ----------
    L : int
        The side of the lattice.
    q : int
        The number of states of a site.
    periodic : bool
        Whether it wraps around (only when ``L >= 3``).
    coupling : float or array
        ``J``, for every bond or per bond (see :func:`lattice`).
    field : float or array (q,)
        The bias of each state, the same at every site.
    dims : {1, 2, 3}
        The lattice's dimension.

    Returns
    -------
    networkx.Graph

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``n_hidden=2.0``).
    ModelError
        (a ``ValueError``) if an argument's value breaks its rule (a size of 0, an unknown
        kind); the message names the argument, the rule and the value.

    Examples
    --------
    >>> g = potts(4, 3)
    >>> g.nodes["s"]["categories"], g.nodes["s"]["shape"]
    (3, (4, 4))
    """
    field = np.asarray(field, dtype=np.float64)
    np.broadcast_to(field, (L**dims, q))  # a number, q numbers, or one per site and state
    field = float(field) if field.ndim == 0 else field.copy()  # kept as given: not copied to every site
    return lattice(
        (L,) * dims, kind="softmax", categories=q, periodic=periodic and L > 2, coupling=coupling, field=field
    )


@checked(raises=ModelError, n=_SIZE, kind=_TWO_VALUED)
def hopfield(n, weights=None, bias=0.0, kind="spin"):
    """A Hopfield network of ``n`` units: one layer with a lateral coupling matrix.

    ``E = -1/2 s^T W s - b^T s`` with ``W`` symmetric and zero on the diagonal (zeros
    when not given; storage rules fill it in, see :func:`graphmrf.memory.store`).

    Parameters
    ----------
    n : int
        The number of units.
    weights : array (n, n), optional
        ``W``: symmetric with a zero diagonal (checked when compiled); zeros by default.
    bias : float or array (n,)
        ``b``.
    kind : {"spin", "binary"}
        The units' kind: spins {-1, +1} (Hopfield's +-1 neurons) or binary {0, 1}.

    Returns
    -------
    networkx.Graph
        One node ``"units"`` with a self-loop holding ``W``.

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``n_hidden=2.0``).
    ModelError
        (a ``ValueError``) if an argument's value breaks its rule (a size of 0, an unknown
        kind); the message names the argument, the rule and the value.

    Examples
    --------
    >>> g = hopfield(4)
    >>> g.edges["units", "units"]["weight"].shape
    (4, 4)
    """
    W = np.zeros((n, n)) if weights is None else np.asarray(weights, dtype=np.float64)
    g = nx.Graph(name="hopfield")
    g.add_node("units", kind=kind, size=int(n), visible=True, bias=bias)
    g.add_edge("units", "units", weight=W)
    return g


@checked(
    raises=ModelError,
    n_visible=_SIZE,
    n_hidden=Integer(0),
    lateral=Boolean(),
    kind=_TWO_VALUED,
    seed=Seed(),
    scale=_SCALE,
)
def boltzmann(n_visible, n_hidden=0, lateral=True, kind="binary", seed=None, scale=0.01):
    """A Boltzmann machine with layers ``v`` and ``h`` (when ``n_hidden > 0``).

    ``E(s) = -1/2 s^T W s - b^T s`` over all units: ``lateral=True`` connects every pair
    of units (visible-visible and hidden-hidden self-loops plus the visible-hidden edge);
    ``lateral=False`` leaves only v-h, an RBM. Weights are drawn from ``N(0, scale^2)``
    (symmetric, zero diagonal within a layer); biases start at zero.

    Parameters
    ----------
    n_visible : int
        Visible units.
    n_hidden : int
        Hidden units; 0 for a fully visible machine.
    lateral : bool
        Whether units within a layer are coupled.
    kind : {"binary", "spin"}
        The units' kind.
    seed : int or Generator, optional
        Random generator of the weights.
    scale : float
        Standard deviation of the initial weights.

    Returns
    -------
    networkx.Graph
        Nodes ``"v"`` (and ``"h"``).

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``n_hidden=2.0``).
    ModelError
        (a ``ValueError``) if an argument's value breaks its rule (a size of 0, an unknown
        kind); the message names the argument, the rule and the value.

    Examples
    --------
    >>> sorted(boltzmann(3, 2, seed=0).edges()), sorted(boltzmann(3, 2, lateral=False, seed=0).edges())
    ([('h', 'h'), ('v', 'h'), ('v', 'v')], [('v', 'h')])
    """
    rng = _rng(seed)
    g = nx.Graph(name="boltzmann")
    g.add_node("v", kind=kind, size=int(n_visible), visible=True, bias=0.0)
    if lateral:
        g.add_edge("v", "v", weight=_symmetric(n_visible, scale, rng))
    if n_hidden:
        g.add_node("h", kind=kind, size=int(n_hidden), visible=False, bias=0.0)
        g.add_edge("v", "h", weight=rng.normal(0.0, scale, size=(n_visible, n_hidden)))
        if lateral:
            g.add_edge("h", "h", weight=_symmetric(n_hidden, scale, rng))
    return g


@checked(
    raises=ModelError,
    n_visible=_SIZE,
    n_hidden=_SIZE,
    visible=_KINDS,
    hidden=_KINDS,
    categories=AnyOf(None, Integer(2)),
    seed=Seed(),
    scale=_SCALE,
)
def rbm(
    n_visible, n_hidden, visible="binary", hidden="binary", categories=None, sigma=1.0, seed=None, scale=0.01, data=None
):
    """A restricted Boltzmann machine: layers ``v`` and ``h`` joined by one edge.

    ``E(v, h) = -v^T W h - b^T v - c^T h`` for binary units (a Gaussian visible unit adds
    ``(v_i - b_i)^2 / (2 sigma_i^2)`` and reads ``v_i / sigma_i``); no coupling within a
    layer, so each layer is one Gibbs block and ``h`` sums out of ``p(v)`` analytically.
    Weights are drawn from ``N(0, scale^2)`` (Hinton's guide: 0.01).

    Parameters
    ----------
    n_visible, n_hidden : int
        Units in each layer.
    visible, hidden : str
        Unit kinds ("binary", "spin", "gaussian", "softmax").
    categories : int
        K, for softmax visible units (the weight then has ``n_visible * K`` rows).
    sigma : float or array
        Scale of gaussian visible units.
    seed : int or Generator, optional
        Random generator of the weights.
    scale : float
        Standard deviation of the initial weights.
    data : array, optional
        Training data; sets the visible biases as the field recommends (``log(p / (1 - p))``
        of each unit's mean for binary units, the mean for Gaussian ones, log frequencies
        for softmax units).

    Returns
    -------
    networkx.Graph
        Nodes ``"v"`` and ``"h"``; the edge's weight is (visible columns, hidden units).

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``n_hidden=2.0``).
    ModelError
        (a ``ValueError``) if an argument's value breaks its rule (a size of 0, an unknown
        kind); the message names the argument, the rule and the value.
        Softmax visible units without ``categories`` also raise it.

    Examples
    --------
    >>> import numpy as np
    >>> g = rbm(3, 2, data=np.array([[1, 0, 1], [1, 0, 0]]), seed=0)
    >>> g.edges["v", "h"]["weight"].shape, np.round(g.nodes["v"]["bias"], 2).tolist()
    ((3, 2), [6.91, -6.91, 0.0])
    >>> rbm(3, 2, visible="softmax", categories=4, seed=0).edges["v", "h"]["weight"].shape
    (12, 2)
    """
    rng = _rng(seed)
    g = nx.Graph(name="rbm")
    vattrs = dict(kind=visible, size=int(n_visible), visible=True)
    width = 1
    if visible == "softmax":
        if categories is None:
            raise ModelError("rbm: softmax visible units need categories=K")
        vattrs["categories"] = int(categories)
        width = int(categories)
    if visible == "gaussian":
        vattrs["sigma"] = sigma
    bias = marginal_bias(visible, data, n_visible, categories)
    vattrs["bias"] = bias
    g.add_node("v", **vattrs)
    g.add_node("h", kind=hidden, size=int(n_hidden), visible=False, bias=0.0)
    g.add_edge("v", "h", weight=rng.normal(0.0, scale, size=(n_visible * width, n_hidden)))
    return g


@checked(raises=ModelError, sizes=_SIZES, visible=_KINDS, seed=Seed(), scale=_SCALE)
def dbm(sizes, visible="binary", seed=None, scale=0.01):
    """A deep Boltzmann machine: layers ``v, h1, ..., hL`` with undirected edges between
    consecutive layers (``sizes`` bottom-up, visible first).

    ``E = -sum_k h_{k-1}^T W_k h_k - sum_k b_k^T h_k`` (with ``h_0 = v``); the odd and the
    even layers are the two Gibbs blocks (Salakhutdinov & Hinton 2009).

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, visible first (at least two layers).
    visible : str
        The visible units' kind; hidden units are binary.
    seed : int or Generator, optional
        Random generator of the weights.
    scale : float
        Standard deviation of the initial weights.

    Returns
    -------
    networkx.Graph
        Nodes ``"v", "h1", ...``; edge ``(h_{k-1}, h_k)`` has weight (size k-1, size k).

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``n_hidden=2.0``).
    ModelError
        (a ``ValueError``) if an argument's value breaks its rule (a size of 0, an unknown
        kind); the message names the argument, the rule and the value.

    Examples
    --------
    >>> g = dbm([4, 3, 2], seed=0)
    >>> [(u, v, g.edges[u, v]["weight"].shape) for u, v in sorted(g.edges())]
    [('h1', 'h2', (3, 2)), ('v', 'h1', (4, 3))]
    """
    rng = _rng(seed)
    names = ["v"] + [f"h{i}" for i in range(1, len(sizes))]
    g = nx.Graph(name="dbm")
    for i, (name, n) in enumerate(zip(names, sizes)):
        g.add_node(name, kind=visible if i == 0 else "binary", size=int(n), visible=i == 0, bias=0.0)
    for i in range(len(sizes) - 1):
        g.add_edge(names[i], names[i + 1], weight=rng.normal(0.0, scale, size=(sizes[i], sizes[i + 1])))
    return g


def _add_recognition(g, names):
    """Recognition edges mirroring the directed edges ``names[i] -> names[i - 1]``: tied to
    the generative weights at the start (``R = W^T``), zero biases."""
    for i in range(1, len(names)):
        edge = g.get_edge_data(names[i], names[i - 1])
        if edge is not None and not edge.get("undirected", False):
            g.add_edge(names[i - 1], names[i], weight=np.array(edge["weight"]).T.copy(), bias=0.0, recognition=True)


@checked(raises=ModelError, sizes=_SIZES, seed=Seed(), scale=_SCALE, recognition=Boolean())
def sbn(sizes, seed=None, scale=0.01, recognition=False):
    """A sigmoid belief net ``h_L -> ... -> h1 -> v`` (``sizes`` bottom-up, visible first).

    ``p(s) = prod_i p(s_i | parents)`` with ``p(s_i = 1 | pa) = sigmoid(b_i + sum_j W_ji s_j)``;
    edge weights have shape (parent size, child size). ``recognition=True`` adds the
    bottom-up edges ``h_{k-1} -> h_k`` of a recognition model (wake-sleep), tied to the
    generative weights at the start.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, visible first (at least two layers); all binary.
    seed : int or Generator, optional
        Random generator of the weights.
    scale : float
        Standard deviation of the initial weights.
    recognition : bool
        Whether to add the recognition edges.

    Returns
    -------
    networkx.DiGraph
        Nodes ``"v", "h1", ...``; generative edges ``h_k -> h_{k-1}``.

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``n_hidden=2.0``).
    ModelError
        (a ``ValueError``) if an argument's value breaks its rule (a size of 0, an unknown
        kind); the message names the argument, the rule and the value.

    Examples
    --------
    >>> g = sbn([4, 3, 2], recognition=True, seed=0)
    >>> sorted((u, v) for u, v, r in g.edges(data="recognition") if r)
    [('h1', 'h2'), ('v', 'h1')]
    """
    rng = _rng(seed)
    names = ["v"] + [f"h{i}" for i in range(1, len(sizes))]
    g = nx.DiGraph(name="sbn")
    for i, (name, n) in enumerate(zip(names, sizes)):
        g.add_node(name, kind="binary", size=int(n), visible=i == 0, bias=0.0)
    for i in range(len(sizes) - 1, 0, -1):
        g.add_edge(names[i], names[i - 1], weight=rng.normal(0.0, scale, size=(sizes[i], sizes[i - 1])))
    if recognition:
        _add_recognition(g, names)
    return g


@checked(raises=ModelError, sizes=_SIZES, visible=_KINDS, seed=Seed(), scale=_SCALE, recognition=Boolean())
def dbn(sizes, visible="binary", seed=None, scale=0.01, recognition=False):
    """A deep belief net: an RBM on the top two layers over a directed sigmoid net.

    ``sizes`` bottom-up, visible first; the top edge ``(h_{L-1}, h_L)`` carries
    ``undirected=True`` and a weight of shape (size of h_{L-1}, size of h_L); the
    directed edges point down, ``h_k -> h_{k-1}``. ``recognition=True`` adds untied
    recognition edges ``h_{k-1} -> h_k`` below the top pair (the up-down algorithm's),
    equal to the transposed generative weights at the start (Hinton, Osindero & Teh 2006).

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, visible first (at least two layers).
    visible : str
        The visible units' kind; hidden units are binary.
    seed : int or Generator, optional
        Random generator of the weights.
    scale : float
        Standard deviation of the initial weights.
    recognition : bool
        Whether to add the recognition edges.

    Returns
    -------
    networkx.DiGraph

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``n_hidden=2.0``).
    ModelError
        (a ``ValueError``) if an argument's value breaks its rule (a size of 0, an unknown
        kind); the message names the argument, the rule and the value.

    Examples
    --------
    >>> g = dbn([4, 3, 2], recognition=True, seed=0)
    >>> sorted((u, v) for u, v, top in g.edges(data="undirected") if top)
    [('h1', 'h2')]
    >>> sorted((u, v) for u, v, r in g.edges(data="recognition") if r)
    [('v', 'h1')]
    """
    rng = _rng(seed)
    names = ["v"] + [f"h{i}" for i in range(1, len(sizes))]
    g = nx.DiGraph(name="dbn")
    for i, (name, n) in enumerate(zip(names, sizes)):
        g.add_node(name, kind=visible if i == 0 else "binary", size=int(n), visible=i == 0, bias=0.0)
    top = len(sizes) - 1
    g.add_edge(
        names[top - 1], names[top], weight=rng.normal(0.0, scale, size=(sizes[top - 1], sizes[top])), undirected=True
    )
    for i in range(top - 1, 0, -1):
        g.add_edge(names[i], names[i - 1], weight=rng.normal(0.0, scale, size=(sizes[i], sizes[i - 1])))
    if recognition:
        _add_recognition(g, names[:top])
    return g
