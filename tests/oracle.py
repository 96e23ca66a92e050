"""An independent oracle: brute-force probabilities straight from a graph's attributes.

Plain NumPy and itertools; shares no code with graphmrf. Handles binary, spin and
softmax units, layers and single units, lateral couplings, and directed (binary) nets.
Every joint state is materialised (first unit most significant, nodes in graph order).
"""

import itertools

import numpy as np


def _unit_values(d):
    kind = d["kind"]
    if kind == "binary":
        return np.array([[0.0], [1.0]])
    if kind == "spin":
        return np.array([[-1.0], [1.0]])
    if kind == "softmax":
        return np.eye(d["categories"])
    raise ValueError(kind)


def _layout(g):
    """node -> slice into the statistic vector; list of per-unit value tables."""
    sl, tables, off = {}, [], 0
    for node, d in g.nodes(data=True):
        n = d.get("size", 1)
        t = _unit_values(d)
        sl[node] = slice(off, off + n * t.shape[1])
        tables.extend([t] * n)
        off += n * t.shape[1]
    return sl, tables, off


def all_states(g):
    """Array (n_states, dim) of every joint statistic vector."""
    sl, tables, dim = _layout(g)
    rows = []
    for combo in itertools.product(*[range(len(t)) for t in tables]):
        rows.append(np.concatenate([t[k] for t, k in zip(tables, combo)]))
    return np.array(rows).reshape(-1, dim), sl


def _bias(d):
    n = d.get("size", 1)
    w = d.get("categories", 1) if d["kind"] == "softmax" else 1
    return np.broadcast_to(np.asarray(d.get("bias", 0.0), dtype=float), (n, w) if w > 1 else (n,)).reshape(-1)


def neg_energy_of(g, S, sl):
    """-E of each row of S; for directed layers log p(s | parents)."""
    directed = g.is_directed()
    und = set()
    if directed:
        for u, v, d in g.edges(data=True):
            if d.get("undirected", False):
                und |= {u, v}
    total = np.zeros(S.shape[0])
    for node, d in g.nodes(data=True):
        s = S[:, sl[node]]
        b = _bias(d)
        if directed and node not in und:
            x = np.tile(b, (S.shape[0], 1))
            for p in g.predecessors(node):
                if not g.edges[p, node].get("undirected", False):
                    x = x + S[:, sl[p]] @ np.atleast_2d(np.asarray(g.edges[p, node]["weight"], float))
            assert d["kind"] == "binary"
            total += np.sum(s * x - np.logaddexp(0, x), axis=1)
        else:
            total += s @ b
    order = {n: i for i, n in enumerate(g.nodes)}
    for u, v, d in g.edges(data=True):
        if d.get("lattice", False):
            total += _lattice_energy(g.nodes[u], d, S[:, sl[u]])
            continue
        if directed and not d.get("undirected", False):
            continue
        if not directed and order[v] < order[u]:
            u, v = v, u
        W = np.atleast_2d(np.asarray(d["weight"], float))
        if u == v:
            total += 0.5 * np.sum((S[:, sl[u]] @ W) * S[:, sl[u]], axis=1)
        else:
            total += np.sum((S[:, sl[u]] @ W) * S[:, sl[v]], axis=1)
    return total


def _lattice_energy(node, edge, S):
    """-E of a lattice's bonds, site by site: each site with its next neighbour along each
    axis (wrapping around when periodic)."""
    shape = tuple(node["shape"])
    width = S.shape[1] // int(np.prod(shape))
    J = np.asarray(edge["weight"], float)
    total = np.zeros(S.shape[0])
    for site in itertools.product(*[range(k) for k in shape]):
        i = np.ravel_multi_index(site, shape)
        for axis in range(len(shape)):
            nxt = list(site)
            nxt[axis] += 1
            if nxt[axis] == shape[axis]:
                if not edge.get("periodic", True):
                    continue
                nxt[axis] = 0
            j = np.ravel_multi_index(tuple(nxt), shape)
            Jb = float(J) if J.ndim == 0 or J.size == 1 else J[(axis,) + site]
            total += Jb * np.sum(S[:, i * width : (i + 1) * width] * S[:, j * width : (j + 1) * width], axis=1)
    return total


def enumerate_joint(g):
    """(states, -E) over every joint state."""
    S, sl = all_states(g)
    return S, neg_energy_of(g, S, sl)


def _probs(ne):
    p = np.exp(ne - ne.max())
    return p / p.sum()


def log_z(g):
    _, ne = enumerate_joint(g)
    m = ne.max()
    return float(m + np.log(np.exp(ne - m).sum()))


def _visible_cols(g, sl):
    cols = []
    for node, d in g.nodes(data=True):
        n = d.get("size", 1)
        w = (sl[node].stop - sl[node].start) // n
        vis = np.broadcast_to(np.asarray(d.get("visible", True)), (n,))
        for i in range(n):
            if vis[i]:
                cols.extend(range(sl[node].start + i * w, sl[node].start + (i + 1) * w))
    return cols


def visible_distribution(g):
    """dict visible-statistic tuple (nodes in graph order) -> probability."""
    S, sl = all_states(g)
    p = _probs(neg_energy_of(g, S, sl))
    cols = _visible_cols(g, sl)
    out = {}
    for row, pi in zip(S[:, cols], p):
        k = tuple(row.tolist())
        out[k] = out.get(k, 0.0) + pi
    return out


def marginal_means(g):
    """dict node -> mean statistic vector."""
    S, sl = all_states(g)
    p = _probs(neg_energy_of(g, S, sl))
    return {node: p @ S[:, sl[node]] for node in g.nodes}
