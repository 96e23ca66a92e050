r"""Reading a Program's parameters back in the graph's terms: by node and edge, or as a graph.

Inside a Program, parameters are flat arrays per layer and coupling (``program.params``,
internal units: ``log_sigma`` for a Gaussian scale). :func:`get` reads one node's or
edge's value in the units of the graph attribute (``sigma``), oriented as asked;
:func:`to_graph` writes every current value back into a copy of the declared graph.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.rbm(2, 1, visible="gaussian", sigma=2.0, seed=0), dtype=np.float64)
>>> get(prog, "v", "sigma").tolist(), get(prog, ("h", "v"), "weight").shape
([2.0, 2.0], (1, 2))
"""

import numpy as np

from .backend import to_host

__all__ = ["get", "to_graph"]


def get(program, item, name):
    """Value of parameter ``name`` of a node or an edge, in the graph's units.

    ``get(program, "v", "bias")`` returns the layer's biases; ``get(program, ("v", "h"),
    "weight")`` the weight matrix oriented as asked (rows index the first node named).
    (``program.get(item, name)`` is the same.)

    Parameters
    ----------
    program : Program
        The compiled model.
    item : node or (node, node)
        A node, or an edge given by its two end nodes in either order.
    name : str
        The graph attribute: ``"bias"``, ``"sigma"`` (a Gaussian scale, not its log),
        ``"weight"``.

    Returns
    -------
    float or numpy.ndarray
        float64 copies: a number for a one-unit node or a one-by-one weight; one value
        per unit (a row per unit for softmax units) for a layer; the weight matrix
        (first node's units by the second's) for a layer-to-layer edge.

    Raises
    ------
    KeyError
        If the node, the edge or the parameter is not in the model.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(2, 1, seed=0), dtype=np.float64)
    >>> np.round(get(prog, ("v", "h"), "weight"), 4).tolist(), get(prog, "h", "bias").tolist()
    ([[0.0013], [-0.0013]], [0.0])
    >>> get(prog, "v", "sigma")
    Traceback (most recent call last):
    ...
    KeyError: "node 'v': kind 'binary' has no parameter 'sigma'"
    """
    index = program.spec.unit_index
    if isinstance(item, tuple) and len(item) == 2 and item[0] in index and item[1] in index and name == "weight":
        return _weight(program, *item)
    L = program.layer_of(item)
    for p in L.kind.params:
        if p.graph_attr == name:
            cols = program.columns(item)
            v = p.from_internal(
                to_host(L.params[p.name][cols.start - L.offset : cols.stop - L.offset]).astype(np.float64)
            )
            if L.declared:
                return v.reshape(L.n, L.width) if L.width > 1 else v
            return v if L.width > 1 else float(v[0])
    raise KeyError(f"node {item!r}: kind {L.kind.name!r} has no parameter {name!r}")


def _coupling_between(program, u, v):
    lu, iu = program.spec.unit_index[u]
    lv, iv = program.spec.unit_index[v]
    for c in program.couplings:
        if (c.a.index, c.b.index) == (lu, lv):
            return c, False, (iu, iv)
        if (c.a.index, c.b.index) == (lv, lu):
            return c, True, (iv, iu)
    raise KeyError(f"edge ({u!r}, {v!r}): not in this model")


def _weight(program, u, v):
    c, flip, (iu, iv) = _coupling_between(program, u, v)
    if not c.sparse:
        W = to_host(c.W).astype(np.float64)
        return W.T if flip else W
    a_w, b_w = c.a.width, c.b.width
    vals = to_host(c.values).astype(np.float64)
    sel = (c.rows // a_w == iu) & (c.cols_ // b_w == iv)
    if c.type == "lateral" and not sel.any():
        sel = (c.rows // a_w == iv) & (c.cols_ // b_w == iu)
        flip = not flip
    if not sel.any():
        raise KeyError(f"edge ({u!r}, {v!r}): not in this model")
    M = np.zeros((a_w, b_w))
    M[c.rows[sel] % a_w, c.cols_[sel] % b_w] = vals[sel]
    M = M.T if flip else M
    return float(M[0, 0]) if M.size == 1 else M


def to_graph(program):
    """A copy of the declared graph with the current parameters written back (float64,
    graph units), ready for :func:`graphmrf.save` or a fresh :func:`graphmrf.compile`.

    Parameters
    ----------
    program : Program
        The compiled (perhaps trained) model.

    Returns
    -------
    networkx.Graph or networkx.DiGraph
        The declared graph's class, nodes and edges, with ``bias``, ``sigma`` and
        ``weight`` attributes holding the current values (recognition edges too).

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(2, 1, seed=0), dtype=np.float64)
    >>> prog.params["v~h.weight"][:] = 0.5  # as training would
    >>> to_graph(prog).edges["v", "h"]["weight"].tolist()
    [[0.5], [0.5]]
    """
    g = program.graph.copy()
    for L in program.layers:
        for p in L.kind.params:
            full = p.from_internal(to_host(L.params[p.name]).astype(np.float64))
            if L.declared:
                g.nodes[L.nodes[0]][p.graph_attr] = full.reshape(L.n, L.width) if L.width > 1 else full
            else:
                for j, node in enumerate(L.nodes):
                    v = full[j * L.width : (j + 1) * L.width]
                    g.nodes[node][p.graph_attr] = float(v[0]) if L.width == 1 else v
    for c in program.couplings:
        if c.type == "stencil":
            W = to_host(c.W).astype(np.float64)
            g.edges[c.a.nodes[0], c.a.nodes[0]]["weight"] = float(W[0]) if W.size == 1 else W
            continue
        if not c.sparse:
            g.edges[c.a.nodes[0], c.b.nodes[0]]["weight"] = to_host(c.W).astype(np.float64)
            continue
        per_edge = {}
        for (u, v, a, b), val in zip(c.edges, to_host(c.values).astype(np.float64)):
            per_edge.setdefault((u, v), {})[(a, b)] = val
        for (u, v), entries in per_edge.items():
            if len(entries) == 1 and (0, 0) in entries:
                g.edges[u, v]["weight"] = float(entries[(0, 0)])
            else:
                M = np.zeros((program.layer_of(u).width, program.layer_of(v).width))
                for (a, b), val in entries.items():
                    M[a, b] = val
                g.edges[u, v]["weight"] = M
    for r in program.recognition:
        edge = g.edges[r.a.nodes[0], r.b.nodes[0]]
        edge["weight"] = to_host(r.W).astype(np.float64)
        edge["bias"] = to_host(r.bias).astype(np.float64)
    return g
