"""An independent oracle: brute-force probabilities straight from a graph's attributes.

Plain NumPy and itertools; shares no code with graphmrf. Handles binary, spin and
softmax units, layers and single units, lateral couplings, and directed (binary) nets.
"""

import itertools

import numpy as np


def _units(g):
    """List of (node, index, values) where values are the unit's possible statistic vectors."""
    out = []
    for node, d in g.nodes(data=True):
        n = d.get("size", 1)
        kind = d["kind"]
        for i in range(n):
            if kind == "binary":
                vals = [np.array([0.0]), np.array([1.0])]
            elif kind == "spin":
                vals = [np.array([-1.0]), np.array([1.0])]
            elif kind == "softmax":
                K = d["categories"]
                vals = [np.eye(K)[k] for k in range(K)]
            else:
                raise ValueError(kind)
            out.append((node, i, vals))
    return out


def _vec(g, node, assign):
    d = g.nodes[node]
    n = d.get("size", 1)
    return np.concatenate([assign[(node, i)] for i in range(n)])


def _bias(g, node):
    d = g.nodes[node]
    n = d.get("size", 1)
    w = d.get("categories", 1) if d["kind"] == "softmax" else 1
    return np.broadcast_to(np.asarray(d.get("bias", 0.0), dtype=float), (n, w) if w > 1 else (n,)).reshape(-1)


def neg_energy(g, assign):
    """-E of one joint assignment {(node, i): statistic vector}; log p for directed nets."""
    directed = g.is_directed()
    und = set()
    if directed:
        for u, v, d in g.edges(data=True):
            if d.get("undirected", False):
                und |= {u, v}
    total = 0.0
    for node in g.nodes:
        s = _vec(g, node, assign)
        b = _bias(g, node)
        if directed and node not in und:
            x = b.copy()
            for p in g.predecessors(node):
                if g.edges[p, node].get("undirected", False):
                    continue
                x = x + _vec(g, p, assign) @ np.atleast_2d(np.asarray(g.edges[p, node]["weight"], float))
            assert g.nodes[node]["kind"] == "binary"
            total += float(np.sum(s * x - np.logaddexp(0, x)))
        else:
            total += float(b @ s)
    order = {n: i for i, n in enumerate(g.nodes)}
    for u, v, d in g.edges(data=True):
        if directed and not d.get("undirected", False):
            continue
        if not directed and order[v] < order[u]:
            u, v = v, u
        W = np.atleast_2d(np.asarray(d["weight"], float))
        if u == v:
            s = _vec(g, u, assign)
            total += 0.5 * float(s @ W @ s)
        else:
            total += float(_vec(g, u, assign) @ W @ _vec(g, v, assign))
    return total


def enumerate_joint(g):
    """(assignments, -E array) over every joint state, first unit most significant."""
    units = _units(g)
    assigns, ne = [], []
    for combo in itertools.product(*[range(len(v)) for _, _, v in units]):
        a = {(node, i): vals[k] for (node, i, vals), k in zip(units, combo)}
        assigns.append(a)
        ne.append(neg_energy(g, a))
    return assigns, np.array(ne)


def log_z(g):
    _, ne = enumerate_joint(g)
    m = ne.max()
    return float(m + np.log(np.exp(ne - m).sum()))


def visible_key(g, a):
    key = []
    for node, d in g.nodes(data=True):
        vis = np.broadcast_to(np.asarray(d.get("visible", True)), (d.get("size", 1),))
        for i in range(d.get("size", 1)):
            if vis[i]:
                key.extend(a[(node, i)].tolist())
    return tuple(key)


def visible_distribution(g):
    """dict visible-statistic tuple -> probability."""
    assigns, ne = enumerate_joint(g)
    p = np.exp(ne - ne.max())
    p /= p.sum()
    out = {}
    for a, pi in zip(assigns, p):
        k = visible_key(g, a)
        out[k] = out.get(k, 0.0) + pi
    return out


def marginal_means(g):
    """dict node -> mean statistic vector."""
    assigns, ne = enumerate_joint(g)
    p = np.exp(ne - ne.max())
    p /= p.sum()
    out = {}
    for node in g.nodes:
        out[node] = sum(pi * _vec(g, node, a) for a, pi in zip(assigns, p))
    return out
