r"""Deep belief nets: greedy layer-wise training, the variational bound, generation, a label
layer, up-down fine-tuning, and the unrolled feed-forward network (a DBN-DNN).

A DBN is a graph like any other (:func:`graphmrf.dbn`): an undirected top RBM over
``h_{L-1}`` and ``h_L`` (optionally joined by a label layer, a softmax unit of ``K``
categories) above directed sigmoid layers ``h_{L-1} -> ... -> h_1 -> v``, with recognition
edges ``h_{k-1} -> h_k`` (wake-sleep's bottom-up model, ``q(h_k = 1 | h_{k-1}) =
sigmoid(h_{k-1} R_k + r_k)``). Every function here takes the compiled Program:

* :func:`greedy` -- the lecture's greedy layer-wise algorithm (Hinton, Osindero & Teh 2006;
  Bengio 2009, Algorithm 2): train an RBM on the data with :func:`graphmrf.fit`, freeze
  it, feed the next RBM the hidden units' probabilities ``E[h | v]`` (or samples, the
  lecture's ``mean_field_computation`` flag), and repeat; :func:`stack` assembles the
  trained RBMs into the DBN;
* :func:`log_likelihood_bound` -- the variational lower bound on ``log p(v)`` that each new
  layer improves, enumerated exactly on tiny nets;
* :func:`generate` -- Gibbs sampling in the top RBM, then one directed pass down;
* :func:`label_probabilities` / :func:`classify` -- a label layer's ``p(y | v)`` by the free
  energy of each label given the penultimate layer (exact, given the bottom-up pass);
* :func:`up_down` -- contrastive wake-sleep fine-tuning with untied recognition and
  generative weights;
* :func:`unroll` -- the feed-forward network whose first activations are the recognition
  model's ``q(h_1 | v)`` (a DBN-DNN, fine-tuned with :func:`graphmrf.feedforward.fit`).

>>> import numpy as np, graphmrf as gm
>>> from graphmrf import deep_belief as db
>>> X, y = gm.datasets.bars_and_stripes(3), None
>>> result = db.greedy(X, [9, 6, 4], epochs=3, lr=0.1, rule="cd", monitors=(), seed=0)
>>> [(L.name, L.n) for L in result.dbn.layers]
[('v', 9), ('h1', 6), ('h2', 4)]
>>> [len(h["epoch"]) for h in result.histories]
[4, 4]
>>> db.generate(result.dbn, 5, sweeps=10, seed=0).shape
(5, 9)
"""

import contextlib
import copy
import os
from typing import NamedTuple

import networkx as nx
import numpy as np

from . import exact
from . import feedforward as ff
from .arguments import COUNT, AnyOf, Boolean, Function, InstanceOf, Integer, Options, Real, Seed, SequenceOf, checked
from .backend import as_generator, get_backend, to_host
from .builders import rbm as _rbm
from .compile import compile as _compile
from .errors import DivergenceError, EnumerationTooLargeError, ModelError
from .io import load_checkpoint, save_checkpoint
from .layout import Part
from .program import Program
from .samplers.progress import Progress
from .samplers.run import sample as _sample
from .support import check_data
from .train import History, fit

__all__ = [
    "greedy",
    "Stack",
    "stack",
    "transpose",
    "hidden_probabilities",
    "up_pass",
    "log_likelihood_bound",
    "generate",
    "top_rbm",
    "label_probabilities",
    "classify",
    "up_down",
    "unroll",
    "INPUTS",
]

#: what each layer hands the next in :func:`greedy`: ``E[h | v]`` or a draw from ``p(h | v)``
INPUTS = ("probabilities", "samples")
_CHUNK = 8192  # rows per pass when data sets are transformed or classified


# --------------------------------------------------------------------------- anatomy
class _Anatomy:
    """The layers of a compiled DBN, bottom-up: ``chain = [v, h_1, ..., h_{L-1}]`` (the
    last one is the top RBM's lower layer, "pen"), the ``top`` layer, the optional label
    layer, and the couplings between them. Refuses graphs that are not a DBN."""

    def __init__(self, program, where):
        if not isinstance(program, Program):
            raise TypeError(
                f"{where}: expected a compiled DBN (gm.compile(gm.dbn(...)) or deep_belief.stack); got "
                f"{type(program).__name__}"
            )
        self.program = program
        undirected = [c for c in program.couplings if c.type == "undirected"]
        if not program.directed or not undirected or any(c.type == "lateral" or c.sparse for c in program.couplings):
            raise ModelError(
                f"{where}: expected a DBN of layer nodes (a directed net whose top RBM is marked undirected, gm.dbn); "
                f"got {program!r}"
            )
        ends = set.intersection(*({c.a.index, c.b.index} for c in undirected))
        top = [program.layers[i] for i in ends if not program.layers[i].visible.any()] if len(undirected) > 1 else None
        if len(undirected) == 1:  # one pair: the upper end is the one without directed children (h_L)
            a, b = undirected[0].a, undirected[0].b
            top = [b] if not b.children or a.children else [a]
        if len(top) != 1:
            raise ModelError(f"{where}: the undirected edges of {program!r} do not meet one hidden top layer")
        self.top = top[0]
        others = [c.a if c.b is self.top else c.b for c in undirected]
        labels = [L for L in others if L.kind.name == "softmax"]
        pens = [L for L in others if L.kind.name != "softmax"]
        if len(pens) != 1 or len(labels) > 1:
            names = [L.name for L in others]
            raise ModelError(
                f"{where}: the top layer {self.top.name!r} must join one layer below it and at most one softmax label "
                f"layer; it joins {names}"
            )
        self.pen, self.labels = pens[0], (labels[0] if labels else None)
        if self.labels is not None and (self.labels.n != 1 or not self.labels.visible.all()):
            raise ModelError(
                f"{where}: the label layer {self.labels.name!r} must be one visible softmax unit; it has "
                f"{self.labels.n} units"
            )
        self.top_coupling = next(c for c in undirected if self.pen in (c.a, c.b))
        self.label_coupling = next(
            (c for c in undirected if self.labels is not None and self.labels in (c.a, c.b)), None
        )
        # the directed chain below the top RBM, followed down from the pen layer
        chain, generative, layer = [self.pen], [], self.pen
        while layer.children:
            if len(layer.children) != 1:
                raise ModelError(
                    f"{where}: layer {layer.name!r} has {len(layer.children)} directed children; a DBN is a chain of "
                    "layers"
                )
            c = layer.children[0]
            child = c.b
            parents = [d for d in program.couplings if d.type == "directed" and d.b is child]
            if len(parents) != 1:
                raise ModelError(
                    f"{where}: layer {child.name!r} has {len(parents)} directed parents; a DBN is a chain of layers"
                )
            generative.append(c)
            chain.append(child)
            layer = child
        self.chain = chain[::-1]  # v, h_1, ..., pen
        self.generative = generative[::-1]  # generative[k - 1]: h_k -> h_{k-1}
        self.visible = self.chain[0]
        if not self.visible.visible.all():
            raise ModelError(f"{where}: the bottom layer {self.visible.name!r} must be visible")
        for L in self.chain[1:] + [self.top]:
            if L.kind.name != "binary":
                raise ModelError(
                    f"{where}: hidden layer {L.name!r} has kind {L.kind.name!r}; a DBN's hidden units are binary"
                )
        self.recognition = []
        for lower, upper in zip(self.chain[:-1], self.chain[1:]):
            r = [r for r in program.recognition if r.a is lower and r.b is upper]
            self.recognition.append(r[0] if r else None)
        self.where = where

    @property
    def n_labels(self):
        return None if self.labels is None else self.labels.width

    def recognition_of(self, k):
        """The recognition coupling into ``chain[k]`` (k >= 1); a ModelError when missing."""
        r = self.recognition[k - 1]
        if r is None:
            lower, upper = self.chain[k - 1].name, self.chain[k].name
            raise ModelError(
                f"{self.where}: no recognition edge ({lower!r}, {upper!r}); build the DBN with "
                "gm.dbn(..., recognition=True) or deep_belief.stack"
            )
        return r

    def weight(self, c, toward):
        """The weight array of undirected coupling ``c`` oriented (other layer, ``toward``):
        a view of ``program.params``, so in-place updates reach the model."""
        W = self.program.params[c.key]
        return W if c.b is toward else W.T

    def bias(self, layer):
        return self.program.params[f"{layer.name}.bias"]

    def data(self, X, labels, where, need_labels=False):
        """The visible vectors ``X`` checked against the bottom layer, and the labels as a
        one-hot array (or None)."""
        program, xp = self.program, self.program.xp
        X = _rows(X, where, "X")
        n_v = self.visible.cols
        if X.shape[1] != n_v:
            raise ValueError(f"{where}: X has {X.shape[1]} columns; layer {self.visible.name!r} has {n_v} units")
        check_data(_bottom_rbm(self), X, f"{where}: X")
        Y = None
        if labels is not None:
            if self.labels is None:
                raise ModelError(
                    f"{where}: labels given, but this DBN has no label layer (build it with greedy(..., labels=y, "
                    "n_labels=K))"
                )
            Y = _one_hot(labels, X.shape[0], self.n_labels, where, self.labels.name, xp, program.dtype)
        elif need_labels and self.labels is not None:
            raise ValueError(
                f"{where}: this DBN has a label layer {self.labels.name!r} of {self.n_labels} categories; pass labels=y"
            )
        return xp.asarray(X, dtype=program.dtype), Y


def _bottom_rbm(anatomy):
    """A cached one-layer stand-in with the DBN's visible layer: check_data's reference."""
    program = anatomy.program
    cache = getattr(anatomy, "_bottom", None)
    if cache is None:
        L = anatomy.visible
        g = nx.Graph()
        attrs = dict(kind=L.kind.name, size=L.n, visible=True)
        if L.kind.name == "softmax":
            attrs["categories"] = L.width
        g.add_node(L.name, **attrs)
        cache = anatomy._bottom = _compile(g, backend=program.backend, dtype=program.dtype)
    return cache


def _rows(X, where, name):
    """``X`` as a 2-d host or device array of real numbers, with a clear error otherwise."""
    if isinstance(X, (str, bytes)) or X is None:
        raise TypeError(f"{where}: {name} must be a 2-d array of real numbers; got {type(X).__name__}")
    if not hasattr(X, "shape"):
        try:
            X = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{where}: {name} must be a 2-d array of real numbers ({exc})") from None
    if getattr(X, "dtype", np.dtype(float)).kind not in "biuf":
        raise TypeError(f"{where}: {name} must be an array of real numbers; got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{where}: {name} must be a 2-d array (examples, units); got shape {tuple(X.shape)}")
    if X.shape[0] == 0:
        raise ValueError(f"{where}: {name} has no rows")
    return X


def _label_indices(labels, n, K, where, layer):
    """Class indices in [0, K) as a host int array, or a ValueError naming the bad value."""
    y = np.asarray(to_host(labels))
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(
            f"{where}: labels must be a 1-d array of {n} class indices (one per row of X); got shape {y.shape}"
        )
    if y.dtype.kind == "f":
        if not (np.all(np.isfinite(y)) and np.all(y == np.round(y))):
            raise ValueError(f"{where}: labels must be integers in [0, {K}); got non-integer values")
    elif y.dtype.kind not in "iu":
        raise TypeError(f"{where}: labels must be integers in [0, {K}); got dtype {y.dtype}")
    bad = np.flatnonzero((y < 0) | (y >= K))
    if bad.size:
        raise ValueError(
            f"{where}: labels must be integers in [0, {K}) (layer {layer!r} has {K} categories); got {y[bad[0]]} at "
            f"row {bad[0]}"
        )
    return y.astype(np.int64)


def _one_hot(labels, n, K, where, layer, xp, dtype):
    y = _label_indices(labels, n, K, where, layer)
    return xp.asarray(np.eye(K, dtype=dtype)[y])


def _sigmoid(xp, z):
    """sigmoid(z) = (1 + tanh(z / 2)) / 2: no overflow for any z (``z`` is overwritten)."""
    z *= 0.5
    xp.tanh(z, out=z)
    z += 1
    z *= 0.5
    return z


def _softmax(xp, z):
    z -= z.max(axis=1, keepdims=True)
    xp.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _bernoulli(xp, rng, p):
    return (rng.random(p.shape, dtype=p.dtype) < p).astype(p.dtype)


# --------------------------------------------------------------------------- RBM helpers
def _rbm_layers(rbm, i, where):
    """(v, h, labels or None) layers of RBM ``rbms[i]``; a ValueError when it is not one."""
    if not isinstance(rbm, Program):
        raise TypeError(
            f"{where}: rbms[{i}] must be a compiled RBM (gm.compile(gm.rbm(...))); got {type(rbm).__name__}"
        )
    names = sorted(L.name for L in rbm.layers)
    if (
        names not in (["h", "v"], ["h", "labels", "v"])
        or rbm.directed
        or any(c.type != "undirected" or c.sparse for c in rbm.couplings)
    ):
        raise ValueError(
            f"{where}: rbms[{i}] must be an RBM with layers 'v' and 'h' (and optionally 'labels'); got layers {names}"
        )
    v, h = rbm.layer_of("v"), rbm.layer_of("h")
    labels = rbm.layer_of("labels") if "labels" in names else None
    if h.kind.name != "binary":
        raise ValueError(
            f"{where}: rbms[{i}] has hidden units of kind {h.kind.name!r}; a DBN's hidden units are binary"
        )
    if labels is not None and (labels.kind.name != "softmax" or labels.n != 1):
        raise ValueError(
            f"{where}: rbms[{i}]: 'labels' must be one softmax unit; got {labels.n} units of kind {labels.kind.name!r}"
        )
    if len(rbm.couplings) != (2 if labels is not None else 1):
        raise ValueError(f"{where}: rbms[{i}] must join 'h' to 'v' (and 'labels') only")
    return v, h, labels


def hidden_probabilities(rbm, data):
    r"""``E[h | v] = p(h = 1 | v)`` of an RBM's binary hidden units for the rows of ``data``.

    ``sigmoid(c + T(v) W)``, from the Program's own conditional (so gaussian visible units
    enter as ``v / sigma``); with a label layer its columns follow the visible ones.

    Parameters
    ----------
    rbm : Program
        An RBM from :func:`graphmrf.rbm` (layers ``v`` and ``h``, optionally ``labels``).
    data : array (n, visible columns)

    Returns
    -------
    array (n, hidden units), on the RBM's backend, in its float type.

    Raises
    ------
    TypeError
        If ``rbm`` is not a compiled Program, or ``data`` not an array of real numbers.
    ValueError
        If ``rbm`` is not an RBM with binary hidden units, or ``data`` has the wrong width
        or a value outside its units' range.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> rbm = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
    >>> rbm.params["h.bias"][:] = [0.0, 2.0]
    >>> np.round(hidden_probabilities(rbm, np.zeros((1, 3))), 4).tolist()
    [[0.5, 0.8808]]
    """
    _rbm_layers(rbm, 0, "hidden_probabilities")
    data = check_data(rbm, data, "hidden_probabilities: data")
    xp = rbm.xp
    h = rbm.layer_of("h")
    out = xp.empty((data.shape[0], h.n), dtype=rbm.dtype)
    vis = xp.asarray(rbm.visible_columns)
    for r0 in range(0, data.shape[0], _CHUNK):
        rows = data[r0 : r0 + _CHUNK]
        state = xp.zeros((rows.shape[0], rbm.n_columns), dtype=rbm.dtype)
        state[:, vis] = rows
        (cond,) = rbm.conditional(state, (Part(h, 0, h.n),))
        out[r0 : r0 + rows.shape[0]] = _sigmoid(
            xp, xp.array(cond["logits"], dtype=rbm.dtype).reshape(rows.shape[0], h.n)
        )
    return out


@checked(seed=Seed())
def transpose(rbm, *, seed=None):
    r"""The RBM upside down: visible and hidden layers swapped, ``W^T``, biases swapped.

    Hinton, Osindero & Teh (2006) start each new layer of a DBN this way: the DBN with the
    new layer on top then defines the same ``p(v)`` as the RBM below, and the variational
    bound equals its log-likelihood (:func:`log_likelihood_bound`); training the new layer
    can only raise the bound.

    Parameters
    ----------
    rbm : Program
        An RBM with binary visible and hidden units.
    seed : int or Generator, optional
        For the new Program's generator.

    Returns
    -------
    Program

    Raises
    ------
    TypeError
        If ``rbm`` is not a compiled Program, or ``seed`` not a seed.
    ValueError
        If ``rbm`` is not an RBM (layers ``v`` and ``h``) with binary units and no label
        layer.

    Examples
    --------
    >>> import graphmrf as gm
    >>> up = gm.compile(gm.rbm(5, 3, seed=0))
    >>> down = transpose(up)
    >>> down, bool((down.get(("v", "h"), "weight") == up.get(("h", "v"), "weight")).all())
    (Program([v:binaryx3, h:binaryx5], blocks=2, backend='numpy', dtype=float32), True)
    """
    v, h, labels = _rbm_layers(rbm, 0, "transpose")
    if labels is not None:
        raise ValueError("transpose: the RBM has a label layer; only an RBM of 'v' and 'h' can be turned upside down")
    if v.kind.name != "binary":
        raise ValueError(f"transpose: the RBM's visible layer must be binary; got kind {v.kind.name!r}")
    g = nx.Graph(name="rbm")
    g.add_node("v", kind="binary", size=h.n, visible=True, bias=rbm.get("h", "bias"))
    g.add_node("h", kind="binary", size=v.n, visible=False, bias=rbm.get("v", "bias"))
    g.add_edge("v", "h", weight=rbm.get(("h", "v"), "weight"))
    return _compile(g, backend=rbm.backend, dtype=rbm.dtype, seed=seed)


# --------------------------------------------------------------------------- assembling
class Stack(NamedTuple):
    """Result of :func:`greedy`: ``dbn`` (the assembled DBN Program, :func:`stack`),
    ``rbms`` (the trained RBM Programs, bottom first) and ``histories`` (one
    :class:`graphmrf.History` per layer).

    Attributes
    ----------
    dbn : Program
        The DBN assembled from the RBMs by :func:`stack` (recognition edges included).
    rbms : list of Program
        The trained RBMs, bottom first.
    histories : list of History
        Each layer's :func:`graphmrf.fit` history, bottom first.

    Examples
    --------
    >>> import graphmrf as gm
    >>> dbn, rbms, histories = greedy(gm.datasets.bars_and_stripes(3), [9, 4, 3], epochs=1, monitors=(), seed=0)
    >>> [(L.name, L.n) for L in dbn.layers]
    [('v', 9), ('h1', 4), ('h2', 3)]
    >>> [r.layer_of("h").n for r in rbms], len(histories)
    ([4, 3], 2)
    """

    dbn: object
    rbms: list
    histories: list


def stack(rbms, *, backend=None, dtype=None, seed=None):
    r"""Assemble trained RBMs (bottom first) into a DBN with untied recognition weights.

    RBM ``k`` (weights ``W_k``, visible biases ``b_k``, hidden biases ``c_k``) gives the
    directed edge ``h_k -> h_{k-1}`` (weight ``W_k^T``, bias ``b_k`` on ``h_{k-1}``) and
    the recognition edge ``h_{k-1} -> h_k`` (weight ``W_k``, bias ``c_k``); the top RBM
    stays undirected, with its label layer (node ``"labels"``) when it has one. Nodes are
    ``v, h1, ..., hL[, labels]``, visible columns ``v`` then ``labels``.

    Parameters
    ----------
    rbms : list of Program
        RBMs from :func:`graphmrf.rbm` (layers ``"v"`` and ``"h"``); only the last may have
        a ``"labels"`` layer; RBM ``k``'s visible layer as wide as RBM ``k-1``'s hidden one.
    backend, dtype : optional
        Of the DBN; default: the first RBM's.
    seed : int or Generator, optional
        For the DBN's generator.

    Returns
    -------
    Program

    Raises
    ------
    TypeError
        When ``rbms`` is not a non-empty list of compiled Programs.
    ValueError
        When an item is not an RBM with binary hidden units, a lower RBM has a label
        layer, or the sizes do not chain, naming the layer and both sizes.

    Examples
    --------
    >>> import graphmrf as gm
    >>> dbn = stack([gm.compile(gm.rbm(6, 4, seed=0)), gm.compile(gm.rbm(4, 3, seed=1))])
    >>> sorted(dbn.params), sorted(dbn.recognition_params)
    (['h1->v.weight', 'h1.bias', 'h1~h2.weight', 'h2.bias', 'v.bias'], ['v=>h1.bias', 'v=>h1.weight'])
    """
    where = "stack"
    if not isinstance(rbms, (list, tuple)) or not rbms:
        raise TypeError(
            f"{where}: rbms must be a non-empty list of compiled RBMs (bottom first); got {type(rbms).__name__}"
        )
    parts = [_rbm_layers(r, i, where) for i, r in enumerate(rbms)]
    for i, (v, _h, labels) in enumerate(parts):
        if labels is not None and i != len(rbms) - 1:
            raise ValueError(f"{where}: rbms[{i}] has a label layer; only the top RBM may have one")
        if i and (v.kind.name != "binary" or v.n != parts[i - 1][1].n):
            raise ValueError(
                f"{where}: rbms[{i}] has {v.n} visible units of kind {v.kind.name!r}; "
                f"layer 'h{i}' (the hidden layer of rbms[{i - 1}]) has {parts[i - 1][1].n} binary units"
            )
    L = len(rbms)
    names = ["v"] + [f"h{k}" for k in range(1, L + 1)]
    g = nx.DiGraph(name="dbn")
    v0 = parts[0][0]
    vattrs = dict(kind=v0.kind.name, size=v0.n, visible=True, bias=rbms[0].get("v", "bias"))
    if v0.kind.name == "gaussian":
        vattrs["sigma"] = rbms[0].get("v", "sigma")
    elif v0.kind.name == "softmax":
        vattrs["categories"] = v0.width
    g.add_node("v", **vattrs)
    for k in range(1, L + 1):  # a layer's generative bias is the visible bias of the RBM above it
        bias = rbms[k].get("v", "bias") if k < L else rbms[L - 1].get("h", "bias")
        g.add_node(names[k], kind="binary", size=parts[k - 1][1].n, visible=False, bias=bias)
    top_labels = parts[-1][2]
    if top_labels is not None:
        g.add_node(
            "labels",
            kind="softmax",
            size=1,
            categories=top_labels.width,
            visible=True,
            bias=rbms[-1].get("labels", "bias"),
        )
    for k in range(L - 1, 0, -1):
        g.add_edge(names[k], names[k - 1], weight=rbms[k - 1].get(("h", "v"), "weight"))
    g.add_edge(names[L - 1], names[L], weight=rbms[-1].get(("v", "h"), "weight"), undirected=True)
    if top_labels is not None:
        g.add_edge("labels", names[L], weight=rbms[-1].get(("labels", "h"), "weight"), undirected=True)
    for k in range(1, L):
        g.add_edge(
            names[k - 1],
            names[k],
            weight=rbms[k - 1].get(("v", "h"), "weight"),
            bias=rbms[k - 1].get("h", "bias"),
            recognition=True,
        )
    return _compile(g, backend=backend or rbms[0].backend, dtype=dtype or rbms[0].dtype, seed=seed)


def _layer_graph(k, n_in, n_out, X, visible, labels, n_labels, scale, rng):
    """The RBM of layer ``k``: ``v`` (n_in) and ``h`` (n_out), with a label layer on top;
    visible biases from the data (Hinton's guide), weights N(0, scale^2)."""

    g = _rbm(n_in, n_out, visible=visible, seed=rng, scale=scale, data=to_host(X))
    if labels is not None:
        freq = np.clip(np.bincount(labels, minlength=n_labels) / labels.size, 1e-3, None)
        nodes = dict(g.nodes(data=True))
        edge = dict(g.edges["v", "h"])
        out = nx.Graph(name="rbm")
        out.add_node("v", **nodes["v"])
        out.add_node("labels", kind="softmax", size=1, categories=n_labels, visible=True, bias=np.log(freq)[None, :])
        out.add_node("h", **nodes["h"])
        out.add_edge("v", "h", **edge)
        out.add_edge("labels", "h", weight=as_generator(rng).normal(0.0, scale, size=(n_labels, n_out)))
        g = out
    return g


def _transposed_graph(below, labels, n_labels):
    """Layer ``k``'s RBM started as the transpose of layer ``k - 1``'s (zero label weights)."""
    up = transpose(below)
    g = up.to_graph()
    if labels is not None:
        freq = np.clip(np.bincount(labels, minlength=n_labels) / labels.size, 1e-3, None)
        nodes = dict(g.nodes(data=True))
        out = nx.Graph(name="rbm")
        out.add_node("v", **nodes["v"])
        out.add_node("labels", kind="softmax", size=1, categories=n_labels, visible=True, bias=np.log(freq)[None, :])
        out.add_node("h", **nodes["h"])
        out.add_edge("v", "h", **g.edges["v", "h"])
        out.add_edge("labels", "h", weight=np.zeros((n_labels, nodes["h"]["size"])))
        g = out
    return g


# --------------------------------------------------------------------------- greedy training
@checked(
    sizes=SequenceOf(Integer(1), min_length=2),
    n_labels=AnyOf(None, Integer(2)),
    inputs=Options(*INPUTS),
    init=Options("random", "transpose"),
    visible=Options("binary", "gaussian"),
    scale=Real(0.0),
    seed=Seed(),
    progress=AnyOf(None, Boolean()),
    per_layer=AnyOf(None, InstanceOf(list, tuple, name="list of dicts")),
    checkpoint=AnyOf(None, InstanceOf(str, os.PathLike, name="path pattern with '{layer}'")),
)
def greedy(
    data,
    sizes,
    *,
    labels=None,
    n_labels=None,
    inputs="probabilities",
    init="random",
    visible="binary",
    scale=0.01,
    validation=None,
    per_layer=None,
    checkpoint=None,
    seed=None,
    progress=None,
    backend="numpy",
    dtype=np.float32,
    **fit_options,
):
    r"""Greedy layer-wise training of a DBN: one RBM per layer, each trained by :func:`graphmrf.fit`.

    The lecture's algorithm (Bengio 2009, Algorithm 2; Hinton, Osindero & Teh 2006)::

        h^0 = v
        for k = 1 .. L:
            train an RBM (h^{k-1}, h^k) on the rows h^{k-1}  -- fit: CD-k, PCD, monitors, guard
            freeze it; h^k = E[h^k | h^{k-1}]   (inputs="probabilities": mean field)
                       or h^k ~ p(h^k | h^{k-1}) (inputs="samples")

    With ``labels``, the top RBM models the labels (one softmax unit of ``n_labels``
    categories) concatenated with ``h^{L-1}``, as in Hinton et al. (2006). The RBMs are then
    assembled by :func:`stack`.

    Parameters
    ----------
    data : array (n, sizes[0])
        Visible vectors (binary units: values in [0, 1], read as probabilities).
    sizes : list of int
        Layer widths bottom-up, visible first (e.g. ``[784, 500, 500, 2000]``).
    labels : int array (n,), optional
        Class indices in ``[0, n_labels)``, for a label layer joined to the top RBM.
    n_labels : int >= 2
        Categories of the label layer (required with ``labels``).
    inputs : {"probabilities", "samples"}
        What each layer hands the next: ``E[h | v]`` (the lecture's
        ``mean_field_computation``; the default) or one draw from ``p(h | v)`` per row.
    init : {"random", "transpose"}
        Start each new layer's weights at ``N(0, scale^2)``, or at the transpose of the
        layer below (:func:`transpose`; needs ``sizes[k] == sizes[k - 2]``), which makes the
        variational bound start at the lower RBM's log-likelihood.
    visible : {"binary", "gaussian"}
        Kind of the visible units (the first RBM's).
    scale : float
        Standard deviation of the random initial weights.
    validation : array, or (array, labels) with ``labels``, optional
        Held-out visible vectors, propagated up with the same mean-field pass and handed to
        each layer's :func:`graphmrf.fit` (for ``"free_energy_gap"`` and the ``"validation_"``
        monitors).
    per_layer : list of dicts, optional
        One dict of :func:`graphmrf.fit` options per layer, overriding ``fit_options`` for it
        (e.g. more epochs for the top layer).
    checkpoint : str, optional
        A path pattern with ``{layer}`` ending in ``.npz``: each trained layer is written
        there (:func:`graphmrf.io.save_checkpoint`, the generator's state included), and a
        later call with the same arguments loads the layers it finds instead of training
        them -- an interrupted run resumes where it stopped and gives the same DBN.
    seed : int or Generator, optional
        Every draw of every layer (weights, mini-batch order, Gibbs, sampled inputs).
    progress : bool, optional
        A progress bar over layers (and each :func:`graphmrf.fit`'s own over epochs).
    backend, dtype : where the RBMs and the DBN live.
    **fit_options
        Passed to :func:`graphmrf.fit` for every layer: ``epochs``, ``lr``, ``rule``, ``k``,
        ``batch_size``, ``chains``, ``momentum``, ``weight_decay``, ``monitors``,
        ``stop_when`` (each layer gets its own copy: an ``EarlyStopping`` starts afresh),
        ``callbacks``, ``mean_field``, ...

    Returns
    -------
    Stack
        ``(dbn, rbms, histories)``: the DBN Program, the trained RBMs, one History per
        layer (a layer loaded from a checkpoint has an empty History whose ``checkpoint``
        attribute names the file).

    Raises
    ------
    ValueError, TypeError
        Data of the wrong width or kind, labels outside ``[0, n_labels)``, sizes that do
        not allow ``init="transpose"``, an option ``fit`` does not take.
    DivergenceError
        From a layer's ``fit``, naming the layer; that layer keeps its last good parameters.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> X = gm.datasets.bars_and_stripes(3)
    >>> y = np.array([0] * 7 + [1] * 7)
    >>> s = greedy(X, [9, 8, 6], labels=y, n_labels=2, epochs=2, lr=0.1, monitors=(), seed=0)
    >>> [(L.name, L.n * L.width) for L in s.dbn.layers]
    [('v', 9), ('h1', 8), ('h2', 6), ('labels', 2)]
    """
    where = "greedy"
    sizes = [int(s) for s in sizes]
    L = len(sizes) - 1
    _check_greedy_options(sizes, fit_options, per_layer, checkpoint, init, where)
    checkpoint = None if checkpoint is None else os.fspath(checkpoint)
    backend = get_backend(backend)
    xp = backend.xp
    rng = as_generator(seed, backend)
    X = _rows(data, where, "data")
    if X.shape[1] != sizes[0]:
        raise ValueError(f"{where}: data has {X.shape[1]} columns; layer 'v' has sizes[0] = {sizes[0]} units")
    if (labels is None) != (n_labels is None):
        raise ValueError(
            f"{where}: a label layer needs both labels= and n_labels=; got "
            f"{'labels' if labels is not None else 'n_labels'} only"
        )
    y = None if labels is None else _label_indices(labels, X.shape[0], n_labels, where, "labels")
    Xv, yv = _validation_rows(validation, sizes[0], n_labels, where)

    rbms, histories = [], []
    with Progress(L, "greedy (layers)", progress) as bar:
        for k in range(1, L + 1):
            top = k == L
            # 1. train the RBM of layer k on what the layers below make of the data
            #    (or read it back from its checkpoint)
            options = {"progress": progress, **fit_options, **(per_layer[k - 1] if per_layer else {})}
            if options.get("stop_when") is not None:  # a stopping rule keeps state: a fresh one per layer
                options["stop_when"] = copy.deepcopy(options["stop_when"])
            path = checkpoint.format(layer=k) if checkpoint else None
            if path and os.path.exists(path):
                rbm, _, rng = load_checkpoint(path, backend=backend.name)
                hist = History()
                hist.checkpoint = path
            else:
                if init == "transpose" and k > 1:  # Hinton, Osindero & Teh: start from the RBM below, transposed
                    graph = _transposed_graph(rbms[-1], y if top else None, n_labels)
                else:
                    kind = visible if k == 1 else "binary"
                    graph = _layer_graph(k, sizes[k - 1], sizes[k], X, kind, y if top else None, n_labels, scale, rng)
                rbm = _compile(graph, backend=backend, dtype=dtype, seed=rng)
                hist = _fit_layer(rbm, k, X, Xv, y if top else None, yv if top else None, n_labels, rng, options)
                if path:
                    save_checkpoint(path, rbm, hist.state, rng)
            rbms.append(rbm)
            histories.append(hist)
            # 2. freeze it; 3. the next layer's data: its hidden probabilities, or samples of them
            if not top:
                P = hidden_probabilities(rbm, X)
                X = _bernoulli(xp, rng, P) if inputs == "samples" else P
                if Xv is not None:
                    Xv = hidden_probabilities(rbm, Xv)
            bar.update(layer=k)
    return Stack(stack(rbms, backend=backend, dtype=dtype, seed=rng), rbms, histories)


def _check_greedy_options(sizes, fit_options, per_layer, checkpoint, init, where):
    """greedy's arguments that its decorator cannot check: the options passed on to fit,
    the per-layer options, the checkpoint pattern, and the sizes init='transpose' needs."""
    for bad in ("seed", "validation", "persistent", "state"):
        if bad in fit_options:
            raise TypeError(
                f"{where}: {bad!r} is greedy's own argument or a per-layer state; it cannot be a fit option for every "
                "layer"
            )
    L = len(sizes) - 1
    if per_layer is not None:
        if len(per_layer) != L or not all(isinstance(d, dict) for d in per_layer):
            raise ValueError(f"{where}: per_layer must be a list of {L} dicts (one per layer); got {per_layer!r}")
    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
        if "{layer}" not in checkpoint or not checkpoint.endswith(".npz"):
            raise ValueError(
                f"{where}: checkpoint must be a path pattern with '{{layer}}' ending in .npz; got {checkpoint!r}"
            )
    if init == "transpose":
        for k in range(2, L + 1):
            if sizes[k] != sizes[k - 2]:
                raise ValueError(
                    f"{where}: init='transpose' starts layer h{k} as the transpose of the RBM below, so it needs "
                    f"sizes[{k}] == sizes[{k - 2}]; got {sizes[k]} and {sizes[k - 2]}"
                )


def _fit_layer(rbm, k, X, Xv, y, yv, n_labels, rng, options):
    """:func:`graphmrf.fit` of layer k's RBM on ``X`` (with the one-hot labels beside it at
    the top of a label DBN), its errors naming the layer."""
    rows = X if y is None else np.hstack([to_host(X), np.eye(n_labels)[y]])
    val = None
    if Xv is not None:
        val = Xv if y is None or yv is None else np.hstack([to_host(Xv), np.eye(n_labels)[yv]])
    try:
        return fit(rbm, rows, seed=rng, validation=val, **options)
    except DivergenceError as exc:
        raise DivergenceError(f"greedy: layer {k} (RBM h{k - 1} -> h{k}): {exc}") from None
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise TypeError(f"greedy: {exc} (options after the data and sizes go to graphmrf.fit)") from None
        raise


def _validation_rows(validation, width, n_labels, where):
    if validation is None:
        return None, None
    yv = None
    if isinstance(validation, tuple):
        if len(validation) != 2 or n_labels is None:
            raise ValueError(
                f"{where}: validation must be an array of visible vectors, or (X, labels) with a label layer"
            )
        validation, yv = validation
    Xv = _rows(validation, where, "validation")
    if Xv.shape[1] != width:
        raise ValueError(f"{where}: validation has {Xv.shape[1]} columns; layer 'v' has {width} units")
    if yv is not None:
        yv = _label_indices(yv, Xv.shape[0], n_labels, f"{where}: validation", "labels")
    return Xv, yv


# --------------------------------------------------------------------------- inference
@checked(sample=Boolean(), seed=Seed())
def up_pass(dbn, data, *, sample=False, seed=None):
    r"""The recognition model's bottom-up pass: ``q(h_k = 1 | h_{k-1}) = sigmoid(h_{k-1} R_k + r_k)``.

    Parameters
    ----------
    dbn : Program
        A DBN with recognition edges (:func:`stack`, or ``gm.dbn(..., recognition=True)``).
    data : array (n, units of v)
    sample : bool
        Pass up sampled binary states (wake-sleep's wake phase) instead of the
        probabilities (mean field, the default).
    seed : int or Generator, optional
        For the draws.

    Returns
    -------
    dict
        ``{layer name: array (n, units)}`` for ``v, h_1, ..., h_{L-1}`` (the layers below
        the top RBM): probabilities, or states when ``sample``.

    Raises
    ------
    TypeError
        If ``dbn`` is not a compiled Program, ``data`` not an array of real numbers,
        ``sample`` not a bool (a string such as ``"no"`` is refused, not read as true) or
        ``seed`` not a seed.
    ModelError
        If ``dbn`` is not a DBN, or lacks recognition edges.
    ValueError
        If ``data`` has the wrong width or a value outside its units' range.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> dbn = gm.compile(gm.dbn([4, 3, 2], recognition=True, seed=0))
    >>> {k: v.shape for k, v in up_pass(dbn, np.ones((5, 4))).items()}
    {'v': (5, 4), 'h1': (5, 3)}
    """
    net = _Anatomy(dbn, "up_pass")
    X, _ = net.data(data, None, "up_pass")
    xp = dbn.xp
    rng = dbn.generator(seed) if sample else None
    out = {net.visible.name: X}
    # the recognition input is T(v) W: v itself, or v / sigma for gaussian units
    below = (
        X / xp.asarray(dbn.get(net.visible.name, "sigma"), dtype=dbn.dtype)
        if net.visible.kind.name == "gaussian"
        else X
    )
    for k in range(1, len(net.chain)):
        r = net.recognition_of(k)
        p = _sigmoid(xp, below @ r.W + r.bias)
        below = _bernoulli(xp, rng, p) if sample else p
        out[net.chain[k].name] = below
    return out


@checked(max_states=COUNT)
def log_likelihood_bound(dbn, data, *, reduce="mean", max_states=2**16):
    r"""The variational lower bound on ``log p(v)`` of a DBN, by exact enumeration (tiny nets).

    With the recognition model ``q(h | v) = prod_k q(h_k | h_{k-1})`` over the layers
    below the top RBM, ``h = (h_1, ..., h_{L-1})``,

    .. math:: \log p(v) \ge \sum_h q(h | v) \left[\log p(v, h) - \log q(h | v)\right],

    where ``p(v, h) = p(h_{L-1}) prod_k p(h_{k-1} | h_k)`` and ``p(h_{L-1})`` is the top
    RBM's marginal (its top layer summed out). Equality holds when ``q`` is the true
    posterior -- as when a new layer starts as the transpose of the one below
    (:func:`transpose`) -- and training the top RBM on ``q``'s aggregate posterior raises
    the bound (Hinton, Osindero & Teh 2006). With a label layer the bound is on
    ``log p(v, y)`` and ``data`` holds the visible columns ``v`` then the one-hot labels.

    Parameters
    ----------
    dbn : Program
        A DBN with recognition edges, binary hidden units.
    data : array (n, visible columns)
    reduce : {"mean", "none"}
        The mean over rows, or one value per row.
    max_states : int
        Refuse (EnumerationTooLargeError) when ``h`` and the top layer together have more
        joint states than this.

    Returns
    -------
    float, or array (n,) of float64

    Raises
    ------
    TypeError
        If ``dbn`` is not a compiled Program, ``data`` not an array of real numbers, or
        ``max_states`` not an integer.
    ModelError
        If ``dbn`` is not a DBN, or lacks recognition edges.
    EnumerationTooLargeError
        When the hidden layers have more than ``max_states`` joint states.
    ValueError
        If ``data`` has the wrong width or a value outside its units' range, ``reduce`` is
        unknown, or ``max_states`` is below 1.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> rbm = gm.compile(gm.rbm(4, 3, seed=0, scale=1.0), dtype=np.float64)
    >>> dbn = stack([rbm, transpose(rbm)])       # the new layer starts as the transpose
    >>> X = np.array([[1, 0, 1, 0], [0, 1, 1, 1]])
    >>> bool(abs(log_likelihood_bound(dbn, X) - gm.exact.log_likelihood(rbm, X)) < 1e-9)
    True
    """
    where = "log_likelihood_bound"
    if reduce not in ("mean", "none"):
        raise ValueError(f"{where}: reduce must be 'mean' or 'none'; got {reduce!r}")
    net = _Anatomy(dbn, where)
    p64 = dbn.float64()
    net64 = _Anatomy(p64, where)
    for k in range(1, len(net.chain)):
        net64.recognition_of(k)
    data = check_data(p64, data, f"{where}: data")
    rows = to_host(data).astype(np.float64)
    hidden = net64.chain[1:] + [net64.top]
    bits = sum(L.n for L in hidden)
    if 2.0**bits > max_states:
        raise EnumerationTooLargeError(
            f"{where}: {2**bits} joint states of the hidden layers {[L.name for L in hidden]} exceed "
            f"max_states={max_states}",
            2**bits,
            max_states,
        )
    n_top = net64.top.n
    n_h = bits - n_top
    grid = ((np.arange(2**bits)[:, None] >> np.arange(bits)[::-1]) & 1).astype(np.float64)  # h first, top last
    log_z = exact.log_partition(p64)
    vis = np.asarray(p64.visible_columns)
    cols = np.concatenate([np.arange(L.sl.start, L.sl.stop) for L in hidden])
    out = np.empty(rows.shape[0])
    for i, row in enumerate(rows):
        state = np.zeros((grid.shape[0], p64.n_columns))
        state[:, vis] = row
        state[:, cols] = grid
        log_joint = -p64.energy(state).reshape(2**n_h, 2**n_top)  # log p~(v, h, h_L)
        log_p = _logsumexp(log_joint, axis=1) - log_z  # log p(v, h), h_L summed out
        first = state[:: 2**n_top]  # one state per h (h_L = 0)
        T = p64.statistic(first)
        log_q = np.zeros(first.shape[0])
        for k in range(1, len(net64.chain)):
            L = net64.chain[k]
            x = p64.recognition_field(T, L)
            s = first[:, L.sl]
            log_q += (s * -np.logaddexp(0, -x) + (1 - s) * -np.logaddexp(0, x)).sum(axis=1)
        q = np.exp(log_q)
        out[i] = float(np.sum(np.where(q > 0, q * (log_p - log_q), 0.0)))
    return float(out.mean()) if reduce == "mean" else out


def _logsumexp(a, axis):
    m = a.max(axis=axis, keepdims=True)
    return (np.log(np.exp(a - m).sum(axis=axis, keepdims=True)) + m).squeeze(axis)


@checked(n=COUNT, sweeps=COUNT, mean=Boolean(), seed=Seed(), progress=AnyOf(None, Boolean()))
def generate(dbn, n, *, sweeps=1000, labels=None, mean=False, seed=None, progress=None):
    r"""Draw ``n`` visible vectors from a DBN: ``sweeps`` block-Gibbs sweeps of the top RBM,
    then one directed pass down (``p(h_{k-1} | h_k)`` for each layer, ``v`` last).

    The top chains start at random and each runs alone (``n`` independent draws); with
    ``labels`` the label layer is clamped (class-conditional generation, Hinton et al.
    2006). Each sweep is :func:`graphmrf.sample`'s ``"ancestral"`` step, whose distribution
    ``gm.verify`` checks against the exact one on tiny DBNs.

    Parameters
    ----------
    dbn : Program
    n : int
        Number of draws (chains).
    sweeps : int
        Gibbs sweeps of the top RBM (more sweeps: closer to its equilibrium).
    labels : int or int array (n,), optional
        The class to generate (one for all, or one per draw), with a label layer.
    mean : bool
        Return ``E[v | h_1]`` of the final pass instead of the drawn ``v`` (how generated
        images are usually shown: grey levels, without the last draw's pixel noise).
    seed : int or Generator, optional
        Every draw of the chains.
    progress : bool, optional
        A progress bar over the sweeps.

    Returns
    -------
    array (n, columns of v)

    Raises
    ------
    TypeError
        If ``dbn`` is not a compiled Program, or an option of the wrong type.
    ModelError
        If ``dbn`` is not a DBN, ``labels`` are given without a label layer, or
        ``mean=True`` with visible units neither binary nor gaussian.
    ValueError
        If ``labels`` are not class indices of the label layer (one, or one per draw), or
        a count is below 1.

    Examples
    --------
    >>> import graphmrf as gm
    >>> dbn = gm.compile(gm.dbn([6, 4, 3], seed=0))
    >>> generate(dbn, 3, sweeps=5, seed=0).shape
    (3, 6)
    """
    net = _Anatomy(dbn, "generate")
    clamp = None
    if labels is not None:
        if net.labels is None:
            raise ModelError("generate: labels given, but this DBN has no label layer")
        scalar = np.ndim(to_host(labels)) == 0
        y = _label_indices(np.full(n, labels) if scalar else labels, n, net.n_labels, "generate", net.labels.name)
        clamp = {net.labels.name: y[:, None] if not scalar else y[:1]}
    run = _sample(
        dbn, sweeps, chains=n, method="ancestral", clamp=clamp, seed=seed, progress=progress, record_energy=False
    )
    if not mean:
        return run.state[:, net.visible.sl]
    (cond,) = dbn.conditional(run.state, (Part(net.visible, 0, net.visible.n),))
    if net.visible.kind.name == "gaussian":
        return cond["mean"].reshape(n, net.visible.cols)
    if net.visible.kind.name != "binary":
        raise ModelError(
            f"generate: mean=True is for binary or gaussian visible units; {net.visible.name!r} is "
            f"{net.visible.kind.name!r}"
        )
    return _sigmoid(dbn.xp, dbn.xp.array(cond["logits"], dtype=dbn.dtype).reshape(n, net.visible.n))


# --------------------------------------------------------------------------- the label layer
def top_rbm(dbn):
    r"""The DBN's top RBM as a Program of its own: layers ``v`` (the DBN's ``h_{L-1}``),
    ``labels`` (when there is a label layer) and ``h`` (the DBN's ``h_L``), parameters
    copied. Its free energy ``F(h_{L-1}, y)`` classifies (:func:`label_probabilities`).

    Parameters
    ----------
    dbn : Program
        A DBN (:func:`graphmrf.dbn`, :func:`stack`, :func:`greedy`).

    Returns
    -------
    Program
        An RBM of its own (changing it leaves the DBN as it is), on the DBN's backend and
        in its dtype.

    Raises
    ------
    TypeError
        If ``dbn`` is not a compiled Program.
    ModelError
        If ``dbn`` is not a DBN.

    Examples
    --------
    >>> import graphmrf as gm
    >>> top_rbm(gm.compile(gm.dbn([6, 4, 3], seed=0)))
    Program([v:binaryx4, h:binaryx3], blocks=2, backend='numpy', dtype=float32)
    """
    net = _Anatomy(dbn, "top_rbm")
    g = nx.Graph(name="rbm")
    g.add_node("v", kind="binary", size=net.pen.n, visible=True, bias=dbn.get(net.pen.name, "bias"))
    if net.labels is not None:
        g.add_node(
            "labels",
            kind="softmax",
            size=1,
            categories=net.n_labels,
            visible=True,
            bias=dbn.get(net.labels.name, "bias"),
        )
    g.add_node("h", kind="binary", size=net.top.n, visible=False, bias=dbn.get(net.top.name, "bias"))
    g.add_edge("v", "h", weight=dbn.get((net.pen.name, net.top.name), "weight"))
    if net.labels is not None:
        g.add_edge(
            "labels", "h", weight=dbn.get((net.labels.name, net.top.name), "weight").reshape(net.n_labels, net.top.n)
        )
    return _compile(g, backend=dbn.backend, dtype=dbn.dtype)


def label_probabilities(dbn, data):
    r"""``p(y | v)`` of a DBN's label layer: the penultimate layer's probabilities from the
    bottom-up pass, then the exact softmax of minus the top RBM's free energy of each label,

    .. math:: p(y | h_{L-1}) = \frac{e^{-F(h_{L-1}, y)}}{\sum_{y'} e^{-F(h_{L-1}, y')}},
              \quad F(h, y) = -b^T h - b_y - \sum_j \operatorname{softplus}(c_j + h^T W_{:j} + U_{yj}).

    Parameters
    ----------
    dbn : Program
        A DBN with a label layer (``greedy(..., labels=y, n_labels=K)``).
    data : array (n, units of v)

    Returns
    -------
    array (n, K), rows summing to one (float64, on the host).

    Raises
    ------
    TypeError
        If ``dbn`` is not a compiled Program, or ``data`` not an array of real numbers.
    ModelError
        If ``dbn`` is not a DBN, has no label layer, or (with layers below the top RBM) no
        recognition edges.
    ValueError
        If ``data`` has the wrong width or a value outside its units' range.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> X, y = gm.datasets.bars_and_stripes(3), np.array([0] * 7 + [1] * 7)
    >>> s = greedy(X, [9, 8, 6], labels=y, n_labels=2, epochs=2, monitors=(), seed=0)
    >>> P = label_probabilities(s.dbn, X)
    >>> P.shape, bool(np.allclose(P.sum(axis=1), 1))
    ((14, 2), True)
    """
    where = "label_probabilities"
    net = _Anatomy(dbn, where)
    if net.labels is None:
        raise ModelError(f"{where}: this DBN has no label layer; build it with greedy(..., labels=y, n_labels=K)")
    X, _ = net.data(data, None, where)
    pen = up_pass(dbn, X)[net.pen.name] if len(net.chain) > 1 else X
    top = top_rbm(dbn)
    xp, K = dbn.xp, net.n_labels
    eye = xp.eye(K, dtype=dbn.dtype)
    out = np.empty((X.shape[0], K))
    step = max(1, _CHUNK // K)
    for r0 in range(0, X.shape[0], step):
        h = pen[r0 : r0 + step]
        rows = xp.concatenate([xp.repeat(h, K, axis=0), xp.tile(eye, (h.shape[0], 1))], axis=1)
        neg_f = -np.asarray(to_host(top.free_energy(rows)), dtype=np.float64).reshape(h.shape[0], K)
        neg_f -= neg_f.max(axis=1, keepdims=True)
        p = np.exp(neg_f)
        out[r0 : r0 + h.shape[0]] = p / p.sum(axis=1, keepdims=True)
    return out


def classify(dbn, data):
    """The most probable label of each row (:func:`label_probabilities`'s argmax).

    Parameters
    ----------
    dbn : Program
        A DBN with a label layer (``greedy(..., labels=y, n_labels=K)``).
    data : array (n, units of v)
        Visible rows.

    Returns
    -------
    int array (n,)
        Class indices in ``[0, K)``, on the host.

    Raises
    ------
    TypeError
        If ``dbn`` is not a compiled Program, or ``data`` not an array of real numbers.
    ModelError
        If ``dbn`` is not a DBN or has no label layer.
    ValueError
        If ``data`` has the wrong width or a value outside its units' range.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> X, y = gm.datasets.bars_and_stripes(3), np.array([0] * 7 + [1] * 7)
    >>> s = greedy(X, [9, 8, 6], labels=y, n_labels=2, epochs=2, monitors=(), seed=0)
    >>> classify(s.dbn, X).shape
    (14,)
    """
    return label_probabilities(dbn, data).argmax(axis=1)


# --------------------------------------------------------------------------- up-down fine-tuning
@checked(
    epochs=COUNT,
    lr=AnyOf(Real(0.0, closed="neither"), Function()),
    k=AnyOf(COUNT, InstanceOf(list, tuple, name="sequence of sweep counts")),
    batch_size=AnyOf(None, COUNT),
    weight_decay=Real(0.0),
    seed=Seed(),
    progress=AnyOf(None, Boolean()),
    callbacks=InstanceOf(list, tuple, name="list of functions"),
    stop_when=AnyOf(None, Function()),
)
def up_down(
    dbn,
    data,
    *,
    labels=None,
    epochs=10,
    lr=0.01,
    k=3,
    batch_size=100,
    weight_decay=0.0,
    validation=None,
    seed=None,
    progress=None,
    callbacks=(),
    stop_when=None,
):
    r"""Fine-tune a DBN with the up-down algorithm (contrastive wake-sleep; Hinton, Osindero & Teh 2006).

    For each mini-batch, with untied recognition weights ``R_k`` and generative weights
    ``G_k`` (``h_k -> h_{k-1}``)::

        wake (up) pass:   s_0 = v;  s_k ~ q(h_k | s_{k-1}) = sigmoid(s_{k-1} R_k + r_k)
        top RBM, CD-k:    positive statistics from (s_{L-1}, y, p(h_L | s_{L-1}, y)); k Gibbs
                          sweeps started there give (s'_{L-1}, p(y | h_L), p(h_L | .))
        sleep (down) pass: d_{L-1} = s'_{L-1};  d_{k-1} ~ p(h_{k-1} | d_k) (v: probabilities)
        generative:   G_k += lr s_k^T (s_{k-1} - sigmoid(s_k G_k + b_{k-1}))  (biases alike)
        top RBM:      W += lr (<s_{L-1} h_L>_wake - <s'_{L-1} h_L>_CD-k)      (label weights alike)
        recognition:  R_k += lr d_{k-1}^T (d_k - sigmoid(d_{k-1} R_k + r_k))

    each averaged over the batch. The generative updates make the down-weights good at
    reconstructing each layer from the one above; the recognition updates make the up-weights
    good at inferring each layer from the one below.

    Parameters
    ----------
    dbn : Program
        A DBN with recognition edges (:func:`stack`), binary units; updated in place
        (``dbn.params`` and ``dbn.recognition_params``).
    data : array (n, units of v)
    labels : int array (n,), optional
        Class indices, when the DBN has a label layer (required then).
    epochs : int
    lr : float or function of the epoch
    k : int or sequence
        Gibbs sweeps of the top RBM per update; a sequence gives one per epoch, the last
        repeating (Hinton et al. used 3, then 6, then 10).
    batch_size : int, optional
        Rows per update (all of them when None).
    weight_decay : float
        L2 penalty on every weight (not the biases), applied with each update.
    validation : array, or (array, labels) with a label layer, optional
        With labels: ``history["validation_error"]``, the classification error by
        :func:`label_probabilities` after each epoch.
    seed, progress, callbacks
        As for :func:`graphmrf.fit` (callbacks ``(dbn, history)`` after each epoch).
    stop_when : function ``(dbn, history) -> bool``, optional
        A stopping rule asked after each epoch (e.g. a time budget); ``history.stopped_epoch``
        says when it stopped.

    Returns
    -------
    History
        ``epoch``, ``reconstruction_error`` (mean squared error of ``v`` against its
        generative reconstruction from the wake states, averaged over the epoch's batches)
        and, with labelled validation data, ``validation_error``.

    Raises
    ------
    TypeError
        If ``dbn`` is not a compiled Program, ``data`` not an array of real numbers, or an
        option of the wrong type.
    ModelError
        If ``dbn`` is not a DBN, lacks recognition edges, has non-binary visible units, or
        ``labels`` are given without a label layer.
    ValueError
        If ``data`` has the wrong width or values, ``labels`` are missing (with a label
        layer) or out of range, ``validation`` is not ``(X, labels)``, a count is below 1,
        or the ``lr`` schedule gives a rate that is not a finite real > 0.
    DivergenceError
        When an update would make a parameter non-finite: it is not applied, the last good
        parameters stay, and the message names the epoch and the parameter.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> X = gm.datasets.bars_and_stripes(3)
    >>> s = greedy(X, [9, 8, 6], epochs=2, monitors=(), seed=0)
    >>> hist = up_down(s.dbn, X, epochs=3, lr=0.05, batch_size=7, seed=0)
    >>> len(hist["reconstruction_error"])
    3
    """
    where = "up_down"
    net = _Anatomy(dbn, where)
    if net.visible.kind.name != "binary":
        raise ModelError(
            f"{where}: the visible layer {net.visible.name!r} has kind {net.visible.kind.name!r}; up-down needs "
            "binary units"
        )
    for i in range(1, len(net.chain)):
        net.recognition_of(i)
    X, Y = net.data(data, labels, where, need_labels=True)
    val = None
    if validation is not None:
        if net.labels is None or not isinstance(validation, tuple) or len(validation) != 2:
            raise ValueError(f"{where}: validation must be (X, labels) for a DBN with a label layer")
        Xv, _ = net.data(validation[0], None, f"{where}: validation")
        val = (Xv, _label_indices(validation[1], Xv.shape[0], net.n_labels, f"{where}: validation", net.labels.name))
    rng = dbn.generator(seed)
    n = X.shape[0]
    bs = n if batch_size is None else min(int(batch_size), n)
    step = _UpDown(net, weight_decay)
    hist = History()
    with Progress(epochs, "up_down", progress) as bar:
        for epoch in range(1, epochs + 1):
            k_now = _sweeps_at(k, epoch)
            lr_now = lr(epoch) if callable(lr) else lr
            if not (isinstance(lr_now, (int, float, np.floating, np.integer)) and np.isfinite(lr_now) and lr_now > 0):
                raise ValueError(
                    f"{where}: lr: the schedule gave {lr_now!r} at epoch {epoch}; expected a finite real > 0"
                )
            order = to_host(rng.permutation(n)) if bs < n else np.arange(n)
            errors = []
            for b0 in range(0, n, bs):
                rows = dbn.xp.asarray(order[b0 : b0 + bs])
                Vb = X[rows] if bs < n else X
                Yb = None if Y is None else (Y[rows] if bs < n else Y)
                with _quiet(dbn):  # a diverging step is refused below, not announced by a warning
                    bad, err = step(Vb, Yb, k_now, float(lr_now), rng)
                if bad is not None:
                    raise DivergenceError(
                        f"{where}: epoch {epoch}: parameter {bad!r} would become non-finite; the update was not "
                        "applied "
                        "and the last good parameters were kept (lower lr?)"
                    )
                errors.append(err)
            record = {"epoch": epoch, "k": k_now, "reconstruction_error": float(np.mean(errors))}
            if val is not None:
                record["validation_error"] = float(np.mean(classify(dbn, val[0]) != val[1]))
            hist.append(**record)
            bar.update(**{key: round(v, 4) for key, v in record.items() if key.endswith("error")})
            for cb in callbacks:
                cb(dbn, hist)
            if stop_when is not None and stop_when(dbn, hist):
                hist.stopped_epoch = epoch
                break
    return hist


def _quiet(program):
    """NumPy's floating-point warnings off: a diverging step is caught by the guard."""
    return np.errstate(all="ignore") if program.backend.name == "numpy" else contextlib.nullcontext()


def _sweeps_at(k, epoch):
    """The sweep count of ``epoch``: ``k`` itself, or its entry in a per-epoch sequence."""
    value = k[min(epoch, len(k)) - 1] if isinstance(k, (list, tuple)) else k
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"up_down: k must be an integer >= 1 for epoch {epoch}; got {value!r}")
    return int(value)


class _UpDown:
    """One up-down update on a mini-batch (see :func:`up_down`): computes every step, checks
    that each is finite, then applies them all (or none)."""

    def __init__(self, net, weight_decay):
        self.net, self.decay = net, weight_decay
        self.program = net.program

    def __call__(self, V, Y, k, lr, rng):
        net, xp = self.net, self.program.xp
        rparams, params = self.program.recognition_params, self.program.params
        n = V.shape[0]
        m = len(net.chain) - 1  # directed layers below the top RBM
        Wt = net.weight(net.top_coupling, net.top)  # (pen, top)
        U = None if Y is None else net.weight(net.label_coupling, net.top)  # (labels, top)
        b_pen, c_top = net.bias(net.pen), net.bias(net.top)
        b_lab = None if Y is None else net.bias(net.labels)
        # 1. wake (up) pass: sampled states through the recognition weights
        wake = [V]
        for i in range(1, m + 1):
            r = net.recognition_of(i)
            wake.append(_bernoulli(xp, rng, _sigmoid(xp, wake[-1] @ r.W + r.bias)))
        pen = wake[-1]
        # 2. the top RBM: positive statistics at the wake states, then CD-k
        x = pen @ Wt + c_top
        if Y is not None:
            x += Y @ U
        top_p = _sigmoid(xp, x)
        h = _bernoulli(xp, rng, top_p)
        for _ in range(k):
            neg_pen = _bernoulli(xp, rng, _sigmoid(xp, h @ Wt.T + b_pen))
            x = neg_pen @ Wt + c_top
            if Y is not None:
                neg_lab = _softmax(xp, h @ U.T + b_lab)
                x += neg_lab @ U
            neg_top_p = _sigmoid(xp, x)
            h = _bernoulli(xp, rng, neg_top_p)
        # 3. sleep (down) pass from the top RBM's states, through the generative weights
        sleep = [neg_pen]
        for i in range(m, 0, -1):
            c = net.generative[i - 1]
            p = _sigmoid(xp, sleep[-1] @ params[c.key] + net.bias(net.chain[i - 1]))
            sleep.append(_bernoulli(xp, rng, p) if i > 1 else p)
        sleep = sleep[::-1]  # sleep[0]: v (probabilities), sleep[m]: the pen layer
        # 4. the steps, all from the current parameters
        steps = {}
        err = None
        for i in range(1, m + 1):  # generative: reconstruct each layer of the wake pass from the one above
            c, below = net.generative[i - 1], net.chain[i - 1]
            pred = _sigmoid(xp, wake[i] @ params[c.key] + net.bias(below))
            diff = wake[i - 1] - pred
            if i == 1:
                err = float(xp.mean(diff * diff))
            steps[c.key] = (wake[i].T @ diff) / n
            steps[f"{below.name}.bias"] = diff.mean(axis=0)
        steps[net.top_coupling.key] = _oriented(net, net.top_coupling, (pen.T @ top_p - neg_pen.T @ neg_top_p) / n)
        steps[f"{net.pen.name}.bias"] = (pen - neg_pen).mean(axis=0)
        steps[f"{net.top.name}.bias"] = (top_p - neg_top_p).mean(axis=0)
        if Y is not None:
            steps[net.label_coupling.key] = _oriented(
                net, net.label_coupling, (Y.T @ top_p - neg_lab.T @ neg_top_p) / n
            )
            steps[f"{net.labels.name}.bias"] = (Y - neg_lab).mean(axis=0).reshape(b_lab.shape)
        rsteps = {}
        for i in range(1, m + 1):  # recognition: infer each layer of the sleep pass from the one below
            r = net.recognition_of(i)
            diff = sleep[i] - _sigmoid(xp, sleep[i - 1] @ r.W + r.bias)
            rsteps[r.key] = (sleep[i - 1].T @ diff) / n
            rsteps[r.bias_key] = diff.mean(axis=0)
        if err is None:  # no directed layer: the top RBM's reconstruction of the data
            err = float(xp.mean((V - sleep[0]) ** 2))
        weights = {c.key for c in self.program.couplings} | {r.key for r in net.recognition if r is not None}
        for table, store in ((steps, params), (rsteps, rparams)):
            for key, d in table.items():
                d *= lr
                if self.decay and key in weights:
                    d -= (lr * self.decay) * store[key]
                flat = d.reshape(-1)
                if not np.isfinite(float(xp.dot(flat, flat))) or not np.isfinite(float(xp.max(xp.abs(store[key] + d)))):
                    return key, err
        for table, store in ((steps, params), (rsteps, rparams)):
            for key, d in table.items():
                store[key] += d
        return None, err


def _oriented(net, c, step):
    """A step computed as (other layer, top) in the orientation of coupling ``c``."""
    return step if c.b is net.top else step.T


# --------------------------------------------------------------------------- DBN-DNN
@checked(n_classes=AnyOf(None, Integer(2)), seed=Seed())
def unroll(model, n_classes=None, *, seed=None, backend=None, dtype=None):
    r"""A feed-forward network initialised from a DBN (or a stack of RBMs): a DBN-DNN.

    Layer ``h_k`` (k < L) computes the recognition model's ``q(h_k = 1 | h_{k-1}) =
    sigmoid(h_{k-1} R_k + r_k)`` (for a DBN from :func:`stack`, exactly RBM ``k``'s
    ``p(h | v)``), layer ``h_L`` the top RBM's ``p(h_L = 1 | h_{L-1})`` (a label layer's
    weights are left out: the labels are what the network predicts). With ``n_classes``,
    a softmax layer ``out`` (weights N(0, 0.01^2), zero biases) makes it a classifier for
    :func:`graphmrf.feedforward.fit` (backpropagation of the cross-entropy).

    Parameters
    ----------
    model : Program or list of Program
        A DBN with recognition edges, or RBMs bottom first
        (:func:`graphmrf.feedforward.from_rbms` then does the work).
    n_classes : int, optional
        Classes of a softmax output layer ``out`` (none by default).
    seed : int or Generator, optional
        For the softmax layer's weights.
    backend, dtype : optional
        Of the network; default: the model's.

    Returns
    -------
    graphmrf.feedforward.Network

    Raises
    ------
    TypeError
        If ``model`` is neither a compiled Program nor a list of them, or ``n_classes`` not
        an integer.
    ModelError
        If ``model`` is not a DBN, lacks recognition edges, or has non-binary visible units.
    ValueError
        If ``n_classes`` is below 2, or (a list) the RBMs do not chain.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> s = greedy(gm.datasets.bars_and_stripes(3), [9, 6, 4], epochs=1, monitors=(), seed=0)
    >>> unroll(s.dbn, n_classes=2)
    Network(9 -> h1: sigmoid 6 -> h2: sigmoid 4 -> out: softmax 2, loss='cross_entropy', backend='numpy', dtype=float32)
    """

    if isinstance(model, (list, tuple)):
        return ff.from_rbms(list(model), n_classes, seed=seed, backend=backend, dtype=dtype)
    net = _Anatomy(model, "unroll")
    if net.visible.kind.name != "binary":
        raise ModelError(
            f"unroll: the visible layer {net.visible.name!r} has kind {net.visible.kind.name!r}; unroll a list of "
            "RBMs (feedforward.from_rbms) for gaussian data"
        )
    sizes, names, params = [net.visible.n], [], {}
    for i in range(1, len(net.chain)):
        r = net.recognition_of(i)
        name = net.chain[i].name
        params[f"{name}.weight"], params[f"{name}.bias"] = to_host(r.W), to_host(r.bias)
        sizes.append(net.chain[i].n)
        names.append(name)
    params[f"{net.top.name}.weight"] = to_host(net.weight(net.top_coupling, net.top))
    params[f"{net.top.name}.bias"] = to_host(net.bias(net.top))
    sizes.append(net.top.n)
    names.append(net.top.name)
    acts = ["sigmoid"] * len(names)
    if n_classes is not None:
        params["out.weight"] = as_generator(seed).normal(0.0, 0.01, size=(sizes[-1], n_classes))
        params["out.bias"] = np.zeros(n_classes)
        sizes, acts, names = sizes + [n_classes], acts + ["softmax"], names + ["out"]
    return ff.Network(
        sizes, acts, names=names, params=params, backend=backend or model.backend, dtype=dtype or model.dtype
    )
