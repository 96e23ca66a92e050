"""Small random models of every family, with peaked (not flat) parameters."""

import networkx as nx
import numpy as np

import graphmrf as gm


def _randomise(g, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    for _node, d in g.nodes(data=True):
        n = d.get("size", None)
        w = d.get("categories", 1) if d["kind"] == "softmax" else 1
        shape = () if n is None and w == 1 else ((w,) if n is None else ((n, w) if w > 1 else (n,)))
        d["bias"] = rng.normal(0, scale, size=shape) if shape else float(rng.normal(0, scale))
    for u, v, d in g.edges(data=True):
        W = np.asarray(d["weight"], dtype=float)
        if d.get("lattice", False):  # one coupling per bond
            d["weight"] = rng.normal(0, scale, size=W.shape) if W.ndim else float(rng.normal(0, scale))
        elif u == v:
            A = np.triu(rng.normal(0, scale, size=W.shape), 1)
            d["weight"] = A + A.T
        elif W.ndim == 0:
            d["weight"] = float(rng.normal(0, scale))
        else:
            d["weight"] = rng.normal(0, scale, size=W.shape)
    return g


def mixed_units():
    """Single units of two kinds on a triangle plus a pendant (sparse couplings across kinds)."""
    g = nx.Graph(name="mixed")
    g.add_node("a", kind="binary", visible=True)
    g.add_node("b", kind="binary", visible=False)
    g.add_node("c", kind="spin", visible=True)
    g.add_node("d", kind="spin", visible=False)
    for u, v in [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")]:
        g.add_edge(u, v, weight=0.0)
    return g


def softmax_units():
    g = nx.Graph(name="softmax_units")
    g.add_node("x", kind="softmax", categories=3, visible=True)
    g.add_node("y", kind="binary", visible=False)
    g.add_node("z", kind="softmax", categories=2, visible=True)
    g.add_edge("x", "y", weight=np.zeros((3, 1)))
    g.add_edge("y", "z", weight=np.zeros((1, 2)))
    return g


def family(name, seed=0):
    """A tiny random model of family ``name`` (all discrete, enumerable by the oracle)."""
    builders = {
        "rbm": lambda: gm.rbm(4, 3),
        "rbm_spin": lambda: gm.rbm(3, 4, visible="spin", hidden="spin"),
        "rbm_softmax": lambda: gm.rbm(2, 3, visible="softmax", categories=3),
        "bm": lambda: gm.boltzmann(3, 3, lateral=True),
        "dbm": lambda: gm.dbm([3, 2, 3]),
        "sbn": lambda: gm.sbn([3, 2, 2]),
        "dbn": lambda: gm.dbn([3, 2, 2]),
        "dbn4": lambda: gm.dbn([2, 2, 2, 2]),
        "ising_open": lambda: gm.ising(3, periodic=False, units=True),
        "ising_periodic": lambda: gm.ising(4, periodic=True, coupling=0.4, units=True),
        "lattice_open": lambda: gm.lattice((3, 4), periodic=False, coupling=np.zeros((2, 3, 4))),
        "lattice_periodic": lambda: gm.ising(4, periodic=True, coupling=0.4, field=0.1),
        "lattice_odd": lambda: gm.ising(3, periodic=True, coupling=-0.5, field=0.2),
        "lattice_3d": lambda: gm.ising(2, dims=3, coupling=0.3, field=-0.1),
        "potts": lambda: gm.potts(3, 3, periodic=True, coupling=0.6),
        "lecture": lambda: gm.load(gm.models.path("lecture_bm.graphml")),
        "hopfield": lambda: gm.hopfield(6),
        "mixed": mixed_units,
        "softmax_units": softmax_units,
    }
    g = builders[name]()
    if name in ("ising_periodic", "lattice_periodic", "lattice_odd", "lattice_3d", "potts"):
        return g
    if name == "lecture":
        return g
    if name == "hopfield":  # zero-field spins: two mirror wells; keep barriers low enough to mix in 40 sweeps
        return _randomise(g, seed, scale=0.5)
    return _randomise(g, seed)


FAMILIES = [
    "hopfield",
    "rbm",
    "rbm_spin",
    "rbm_softmax",
    "bm",
    "dbm",
    "sbn",
    "dbn",
    "dbn4",
    "ising_open",
    "ising_periodic",
    "lecture",
    "mixed",
    "softmax_units",
    "lattice_open",
    "lattice_periodic",
    "lattice_odd",
    "lattice_3d",
    "potts",
]


def is_lateral(key, arr):
    """True for a lateral matrix parameter ("v~v.weight"): entries (i, j) and (j, i) are one coupling."""
    return arr.ndim == 2 and "~" in key and key.split("~")[0] == key.split("~")[1].split(".")[0]


def central_difference(fn, prog, key, idx, h):
    """(fn() at theta + h - fn() at theta - h) / 2h for one parameter entry, moving both
    entries of a lateral coupling together; the parameter is restored afterwards."""
    arr = prog.params[key]
    old = arr[idx]
    lateral = is_lateral(key, arr)

    def setv(v):
        arr[idx] = v
        if lateral:
            arr[idx[::-1]] = v

    setv(old + h)
    up = fn()
    setv(old - h)
    dn = fn()
    setv(old)
    return (up - dn) / (2 * h)
