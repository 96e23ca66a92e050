r"""Deterministic feed-forward networks: dense layers, two losses, backpropagation by hand.

A :class:`Network` is a stack of dense layers, rows of the data being examples,

.. math:: a_0 = X, \qquad z_l = a_{l-1} W_l + b_l, \qquad a_l = f_l(z_l),

with ``f`` the logistic ``sigmoid``, ``linear`` (the identity) or ``softmax``. Its
loss is the mean over rows of

* ``"cross_entropy"`` -- ``-sum_j t_j log y_j + (1 - t_j) log(1 - y_j)`` for sigmoid
  outputs (computed from the logits as ``softplus(z) - t z``), ``-sum_j t_j log y_j``
  for softmax outputs (``logsumexp(z) - t . z``): never ``log(0)``;
* ``"squared_error"`` -- ``1/2 sum_j (y_j - t_j)^2`` (the default for linear outputs).

The gradient is backpropagation written out: ``delta_L = dLoss/dz_L`` (``y - t`` for
a cross-entropy output), ``dW_l = a_{l-1}^T delta_l``, ``db_l = sum_rows delta_l``,
``delta_{l-1} = (delta_l W_l^T) * f'_{l-1}``; the tests check it against finite
differences for every activation and loss. No autograd framework is involved.

:func:`from_rbms` and :func:`autoencoder` unroll a stack of trained RBMs (Hinton &
Salakhutdinov 2006): the first layer's activations are exactly the first RBM's
``p(h | v)``; :func:`fit` fine-tunes by mini-batch gradient descent with momentum or by
conjugate gradients. Parameters live in ``network.params`` (a dict of arrays like
``program.params``, updated in place) on NumPy or CuPy, float32 by default.

>>> import numpy as np
>>> from graphmrf import feedforward as ff
>>> net = ff.Network([2, 8, 2], ["sigmoid", "softmax"], seed=0)
>>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
>>> y = np.array([0, 1, 1, 0])                      # exclusive or
>>> hist = ff.fit(net, X, y, epochs=300, lr=2.0, momentum=0.9, seed=0)
>>> net.forward(X).argmax(axis=1).tolist()
[0, 1, 1, 0]
"""

import time
from dataclasses import dataclass

import numpy as np

from .arguments import COUNT, AnyOf, Boolean, Function, InstanceOf, Integer, Names, Options, Real, Seed, checked
from .backend import as_generator, get_backend, to_host
from .program import Program
from .samplers.progress import Progress
from .symbolic import stable_softplus
from .train import DivergenceError, History

__all__ = ["Dense", "Network", "fit", "from_rbms", "autoencoder", "ACTIVATIONS", "LOSSES", "METHODS"]

ACTIVATIONS = ("sigmoid", "linear", "softmax")
LOSSES = ("cross_entropy", "squared_error")
METHODS = ("sgd", "cg")
_DEFAULT_LOSS = {"sigmoid": "cross_entropy", "softmax": "cross_entropy", "linear": "squared_error"}


@dataclass(frozen=True)
class Dense:
    """One dense layer ``a = f(x W + b)``: its name, widths and activation ``f``.

    Its parameters are ``network.params[name + ".weight"]`` (``n_in`` by ``n_out``) and
    ``network.params[name + ".bias"]`` (``n_out``), whose keys the properties ``weight``
    and ``bias`` give. A :class:`Network` makes its layers; they describe it, read-only.

    Attributes
    ----------
    name : str
        The layer's name (``"h1"``, ``"out"``), the prefix of its parameters' keys.
    n_in, n_out : int
        Widths of its input and of its output.
    activation : {"sigmoid", "linear", "softmax"}
        The function ``f`` applied to ``x W + b``.

    Examples
    --------
    >>> layer = Network([3, 4, 2], ["sigmoid", "softmax"], seed=0).layers[0]
    >>> layer
    Dense(name='h1', n_in=3, n_out=4, activation='sigmoid')
    >>> layer.weight, layer.bias
    ('h1.weight', 'h1.bias')
    """

    name: str
    n_in: int
    n_out: int
    activation: str

    @property
    def weight(self):
        return self.name + ".weight"

    @property
    def bias(self):
        return self.name + ".bias"


# -- activations ------------------------------------------------------------------------
def _sigmoid(xp, z):
    """sigmoid(z) = (1 + tanh(z / 2)) / 2 in ``z``'s memory: no overflow for any z, and
    several times faster than scipy's expit on float32."""
    z *= 0.5
    xp.tanh(z, out=z)
    z += 1
    z *= 0.5
    return z


def _softmax(xp, z):
    """Row-wise softmax in ``z``'s memory, shifted by the row maximum (no overflow)."""
    z -= z.max(axis=1, keepdims=True)
    xp.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _activate(xp, activation, z):
    if activation == "sigmoid":
        return _sigmoid(xp, z)
    if activation == "softmax":
        return _softmax(xp, z)
    return z


def _backward_through(xp, activation, y, g):
    """``g * f'(z)`` written with the layer's output ``y``: the vector-Jacobian product of
    the activation (softmax: ``y * (g - sum_j g_j y_j)``). Overwrites ``g``."""
    if activation == "sigmoid":
        g *= y
        g *= 1 - y
    elif activation == "softmax":
        s = (g * y).sum(axis=1, keepdims=True)
        g -= s
        g *= y
    return g


def _logsumexp(xp, z):
    m = z.max(axis=1, keepdims=True)
    return (xp.log(xp.exp(z - m).sum(axis=1, keepdims=True)) + m)[:, 0]


# -- the network ------------------------------------------------------------------------
class Network:
    r"""A feed-forward network of dense layers (see the module docstring for the formulas).

    Parameters
    ----------
    sizes : list of int
        Widths ``[n_in, n_1, ..., n_L]``: input first.
    activations : list of str
        One per layer, each of ``"sigmoid"``, ``"linear"``, ``"softmax"``.
    names : list of str, optional
        Layer names (default ``"h1", ..., "hL"``); they key ``params``.
    loss : {"cross_entropy", "squared_error"}, optional
        Default: cross-entropy for sigmoid and softmax outputs, squared error for linear.
    params : dict, optional
        Initial values for some or all of the parameters (``name.weight``, ``name.bias``);
        the rest are drawn as in scikit-learn's MLP (Glorot & Bengio 2010): weights
        uniform on ``+-sqrt(6 / (n_in + n_out))`` (``sqrt(2 / ...)`` into a sigmoid), zero
        biases.
    backend : {"numpy", "cupy"}
    dtype : float32 (default) or float64
    seed : None, int or Generator
        For the initial weights.

    Attributes
    ----------
    layers : list of :class:`Dense`
    params : dict of arrays, updated in place by :func:`fit`
    loss_function : str
        ``"cross_entropy"`` or ``"squared_error"``.
    backend, xp, dtype

    Raises
    ------
    TypeError
        ``sizes`` or ``names`` not a list or tuple, ``activations`` not a list of names,
        ``params`` not a dict, or ``loss`` not a string.
    ValueError
        A layer width below 1, an activation or loss it does not know, a softmax output
        with one unit, a linear output with the cross-entropy loss, names not distinct, a
        dtype other than float32/float64, or a ``params`` entry of an unknown key, of the
        wrong shape or with NaN.

    Examples
    --------
    >>> net = Network([3, 4, 2], ["sigmoid", "linear"], seed=0)
    >>> net
    Network(3 -> h1: sigmoid 4 -> h2: linear 2, loss='squared_error', backend='numpy', dtype=float32)
    >>> sorted(net.params), net.forward(np.zeros((5, 3))).shape
    (['h1.bias', 'h1.weight', 'h2.bias', 'h2.weight'], (5, 2))
    """

    @checked(
        sizes=InstanceOf(list, tuple, name="list of layer widths"),
        activations=Names(*ACTIVATIONS),
        names=AnyOf(None, InstanceOf(list, tuple, name="list of layer names")),
        loss=Options(*LOSSES),
        params=InstanceOf(dict, name="dict of arrays"),
        seed=Seed(),
    )
    def __init__(
        self, sizes, activations, *, names=None, loss=None, params=None, backend="numpy", dtype=np.float32, seed=None
    ):
        sizes = list(sizes)
        if len(sizes) < 2 or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in sizes
        ):
            raise ValueError(f"Network: sizes must be two or more integers >= 1 (input width first); got {sizes!r}")
        if len(activations) != len(sizes) - 1:
            raise ValueError(
                f"Network: activations must have one entry per layer ({len(sizes) - 1}); got {len(activations)}"
            )
        names = [f"h{i}" for i in range(1, len(sizes))] if names is None else list(names)
        if (
            len(names) != len(sizes) - 1
            or len(set(names)) != len(names)
            or not all(isinstance(n, str) and n for n in names)
        ):
            raise ValueError(f"Network: names must be {len(sizes) - 1} distinct non-empty strings; got {names!r}")
        self.layers = [Dense(n, int(a), int(b), f) for n, a, b, f in zip(names, sizes[:-1], sizes[1:], activations)]
        out = self.layers[-1]
        if out.activation == "softmax" and out.n_out < 2:
            raise ValueError(f"Network: a softmax output needs at least 2 units; layer {out.name!r} has {out.n_out}")
        self.loss_function = _DEFAULT_LOSS[out.activation] if loss is None else loss
        if self.loss_function == "cross_entropy" and out.activation == "linear":
            raise ValueError(
                f"Network: loss 'cross_entropy' needs a sigmoid or softmax output; layer {out.name!r} is linear "
                "(use 'squared_error')"
            )
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"Network: dtype must be float32 or float64; got {self.dtype}")
        self.backend = get_backend(backend)
        self.xp = self.backend.xp
        self.params = self._initial(params or {}, seed)

    def _initial(self, given, seed):
        xp, known = self.xp, {}
        for L in self.layers:
            known[L.weight], known[L.bias] = (L.n_in, L.n_out), (L.n_out,)
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ValueError(f"Network: params has unknown key(s) {unknown}; expected keys among {sorted(known)}")
        rng = as_generator(seed)
        params = {}
        for L in self.layers:
            bound = np.sqrt((2.0 if L.activation == "sigmoid" else 6.0) / (L.n_in + L.n_out))
            # drawn for every layer, given or not: a layer's initial weights do not depend on
            # which other layers were given
            W = rng.uniform(-bound, bound, size=(L.n_in, L.n_out))
            for key, init in ((L.weight, W), (L.bias, np.zeros(L.n_out))):
                value = given.get(key, init)
                shape = tuple(getattr(value, "shape", np.shape(value)))
                if shape != known[key]:
                    raise ValueError(f"Network: params[{key!r}] has shape {shape}; expected {known[key]}")
                value = xp.asarray(value, dtype=self.dtype)
                if not bool(xp.all(xp.isfinite(value))):
                    raise ValueError(f"Network: params[{key!r}] has NaN or infinite entries")
                # row-major, whatever the source (a decoder's weights are transposed views): the
                # velocities made like them, and every elementwise step, then run contiguously
                params[key] = xp.array(value, copy=True, order="C")
        return params

    def __repr__(self):
        body = " -> ".join(f"{L.name}: {L.activation} {L.n_out}" for L in self.layers)
        return (
            f"Network({self.layers[0].n_in} -> {body}, loss={self.loss_function!r}, "
            f"backend={self.backend.name!r}, dtype={self.dtype})"
        )

    @property
    def n_in(self):
        return self.layers[0].n_in

    @property
    def n_out(self):
        return self.layers[-1].n_out

    # -- checking the data ---------------------------------------------------------------
    def _inputs(self, X, where):
        xp = self.xp
        if not hasattr(X, "shape"):
            X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            raise TypeError(f"{where}: X must be an array of real numbers; got dtype {X.dtype}")
        if X.ndim != 2:
            raise ValueError(
                f"{where}: X must be a 2-d array (examples, {self.n_in} features); got shape {tuple(X.shape)}"
            )
        if X.shape[1] != self.n_in:
            raise ValueError(f"{where}: X has {X.shape[1]} columns; layer {self.layers[0].name!r} takes {self.n_in}")
        if X.shape[0] < 1:
            raise ValueError(f"{where}: X has no rows")
        X = xp.asarray(X, dtype=self.dtype)
        if not bool(xp.all(xp.isfinite(X))):
            r, c = (int(i[0]) for i in xp.nonzero(~xp.isfinite(X)))
            raise ValueError(f"{where}: X has NaN or infinite entries (the first at row {r}, column {c})")
        return X

    def _targets(self, Y, n, where):
        """Dense targets (n, n_out) in the network's dtype; class labels become one-hot."""
        xp, out = self.xp, self.layers[-1]
        if not hasattr(Y, "shape"):
            Y = np.asarray(Y)
        if Y.ndim == 0:
            raise ValueError(f"{where}: Y must be an array with one row per row of X ({n}); got a scalar")
        if Y.shape[0] != n:
            raise ValueError(f"{where}: Y has {Y.shape[0]} rows; X has {n}")
        if Y.ndim == 1 and out.activation == "softmax":
            labels = to_host(Y)
            if labels.dtype.kind == "f":
                if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
                    raise ValueError(
                        f"{where}: Y as class labels must be integers in [0, {out.n_out}); got non-integer values"
                    )
            elif labels.dtype.kind not in "iu":
                raise ValueError(
                    f"{where}: Y as class labels must be integers in [0, {out.n_out}); got dtype {labels.dtype}"
                )
            bad = np.flatnonzero((labels < 0) | (labels >= out.n_out))
            if bad.size:
                raise ValueError(
                    f"{where}: Y as class labels must be integers in [0, {out.n_out}) (layer {out.name!r} has "
                    f"{out.n_out} units); got {labels[bad[0]]} at row {bad[0]}"
                )
            T = xp.zeros((n, out.n_out), dtype=self.dtype)
            T[xp.arange(n), xp.asarray(labels.astype(np.int64))] = 1
            return T
        if Y.ndim == 1 and out.n_out == 1:
            Y = Y.reshape(-1, 1)
        if Y.ndim != 2 or Y.shape[1] != out.n_out:
            expect = f"(n, {out.n_out}) or class labels (n,)" if out.activation == "softmax" else f"(n, {out.n_out})"
            raise ValueError(f"{where}: Y must have shape {expect} for layer {out.name!r}; got shape {tuple(Y.shape)}")
        if Y.dtype.kind not in "biuf":
            raise TypeError(f"{where}: Y must be an array of real numbers; got dtype {Y.dtype}")
        T = xp.asarray(Y, dtype=self.dtype)
        if not bool(xp.all(xp.isfinite(T))):
            raise ValueError(f"{where}: Y has NaN or infinite entries")
        if self.loss_function == "cross_entropy":
            lo, hi = float(T.min()), float(T.max())
            top = 1 if out.activation == "sigmoid" else np.inf
            if lo < 0 or hi > top:
                rule = "[0, 1]" if top == 1 else ">= 0"
                raise ValueError(f"{where}: cross-entropy targets must be {rule}; got values in [{lo}, {hi}]")
        return T

    # -- the forward pass ----------------------------------------------------------------
    def _forward(self, X, upto=None, logits=False):
        """Every layer's output ``[a_1, ..., a_L]``, and the last layer's pre-activation
        ``z_L`` when ``logits`` (else None)."""
        xp, acts, a, z = self.xp, [], X, None
        for L in self.layers:
            z = a @ self.params[L.weight]
            z += self.params[L.bias]
            keep = z.copy() if logits and L is self.layers[-1] and L.activation != "linear" else z
            a = _activate(xp, L.activation, z)
            z = keep
            acts.append(a)
            if L.name == upto:
                break
        return acts, z

    def forward(self, X, upto=None):
        """The network's output ``a_L`` for the rows of ``X`` (or layer ``upto``'s output).

        Parameters
        ----------
        X : array (n, n_in)
            Input rows.
        upto : str, optional
            A layer name: return that layer's activations (e.g. an autoencoder's code).

        Returns
        -------
        array (n, width of the layer)
            On the network's backend, in its float type.

        Raises
        ------
        TypeError
            If ``X`` is not an array of real numbers.
        ValueError
            If ``X`` is not 2-d with ``n_in`` columns, has no rows or NaN, or ``upto`` is
            not a layer's name.

        Examples
        --------
        >>> net = Network([3, 4, 2], ["sigmoid", "softmax"], seed=0)
        >>> Y = net.forward(np.ones((5, 3)))
        >>> Y.shape, bool(np.allclose(Y.sum(axis=1), 1))
        ((5, 2), True)
        >>> net.forward(np.ones((5, 3)), upto="h1").shape
        (5, 4)
        """
        X = self._inputs(X, "forward")
        if upto is not None and upto not in [L.name for L in self.layers]:
            raise ValueError(
                f"forward: upto must be a layer name, one of {[L.name for L in self.layers]}; got {upto!r}"
            )
        return self._forward(X, upto)[0][-1]

    def activations(self, X):
        """Every layer's output, ``[a_1, ..., a_L]``, for the rows of ``X``.

        Parameters
        ----------
        X : array (n, n_in)
            Input rows.

        Returns
        -------
        list of array
            One (n, width) array per layer, bottom first; the last is :meth:`forward`'s.

        Raises
        ------
        TypeError
            If ``X`` is not an array of real numbers.
        ValueError
            If ``X`` is not 2-d with ``n_in`` columns, has no rows or NaN.

        Examples
        --------
        >>> net = Network([3, 4, 2], ["sigmoid", "linear"], seed=0)
        >>> [a.shape for a in net.activations(np.zeros((5, 3)))]
        [(5, 4), (5, 2)]
        """
        return self._forward(self._inputs(X, "activations"))[0]

    # -- loss and gradient ---------------------------------------------------------------
    def _loss_value(self, y, z, T):
        xp, out = self.xp, self.layers[-1]
        n = y.shape[0]
        if self.loss_function == "squared_error":
            d = y - T
            return 0.5 * float(xp.vdot(d, d)) / n
        if out.activation == "sigmoid":
            return float((stable_softplus(xp, z) - T * z).sum()) / n
        # softmax: log-sum-exp of the logits; targets need not sum to one
        return float((_logsumexp(xp, z) * T.sum(axis=1)).sum() - xp.vdot(T, z)) / n

    def loss(self, X, Y):
        """The mean loss over the rows of ``X`` against targets ``Y`` (class labels for a
        softmax output, or an (n, n_out) array); see the module docstring.

        Parameters
        ----------
        X : array (n, n_in)
            Input rows.
        Y : array
            Targets: class labels (n,) or an (n, n_out) array of probabilities for a
            softmax output; (n, n_out) values (in [0, 1] for cross-entropy) otherwise.

        Returns
        -------
        float

        Raises
        ------
        TypeError
            If ``X`` or ``Y`` is not an array of real numbers.
        ValueError
            If their shapes do not fit the network, they have NaN, class labels are out
            of range, or cross-entropy targets outside their range.

        Examples
        --------
        With zero weights a softmax output of 4 classes is uniform: the loss is ``log 4``.

        >>> net = Network([3, 4], ["softmax"], params={"h1.weight": np.zeros((3, 4))})
        >>> round(net.loss(np.ones((2, 3)), np.array([0, 3])), 6), round(float(np.log(4)), 6)
        (1.386294, 1.386294)
        """
        X = self._inputs(X, "loss")
        T = self._targets(Y, X.shape[0], "loss")
        acts, z = self._forward(X, logits=True)
        return self._loss_value(acts[-1], z, T)

    def _backprop(self, X, T):
        """Mean loss and its gradient (dict like ``params``) on checked arrays."""
        xp, layers = self.xp, self.layers
        acts, z = self._forward(X, logits=self.loss_function == "cross_entropy")
        y, n = acts[-1], X.shape[0]
        loss = self._loss_value(y, z, T)
        out = layers[-1]
        delta = y - T
        if self.loss_function == "cross_entropy":
            if out.activation == "softmax":
                delta = y * T.sum(axis=1, keepdims=True) - T
        else:
            delta = _backward_through(xp, out.activation, y, delta)
        delta *= 1.0 / n
        grad = {}
        for i in range(len(layers) - 1, -1, -1):
            L = layers[i]
            a_prev = acts[i - 1] if i else X
            grad[L.weight] = a_prev.T @ delta
            grad[L.bias] = delta.sum(axis=0)
            if i:
                delta = _backward_through(xp, layers[i - 1].activation, a_prev, delta @ self.params[L.weight].T)
        return loss, {key: grad[key] for key in self.params}

    def gradient(self, X, Y):
        """Backpropagation: the mean loss and its gradient with respect to every parameter.

        Parameters
        ----------
        X : array (n, n_in)
            Input rows.
        Y : array
            Targets, as for :meth:`loss`.

        Returns
        -------
        loss : float
        grad : dict
            Keyed like ``params``, arrays of the same shapes.

        Raises
        ------
        TypeError
            If ``X`` or ``Y`` is not an array of real numbers.
        ValueError
            As for :meth:`loss`: shapes that do not fit, NaN, targets out of range.

        Examples
        --------
        >>> net = Network([2, 1], ["linear"], params={"h1.weight": [[1.0], [2.0]], "h1.bias": [0.0]})
        >>> loss, g = net.gradient(np.array([[1.0, 1.0]]), np.array([[1.0]]))  # y = 3, t = 1
        >>> loss, g["h1.weight"].ravel().tolist(), g["h1.bias"].tolist()
        (2.0, [2.0, 2.0], [2.0])
        """
        X = self._inputs(X, "gradient")
        return self._backprop(X, self._targets(Y, X.shape[0], "gradient"))


# -- training ---------------------------------------------------------------------------
def _finite(xp, a):
    flat = a.reshape(-1)
    return bool(np.isfinite(float(xp.dot(flat, flat)))) if flat.size else True


def _split_validation(network, validation, where):
    if validation is None:
        return None
    if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
        raise TypeError(f"{where}: validation must be a pair (X_val, Y_val); got {type(validation).__name__}")
    Xv = network._inputs(validation[0], f"{where}: validation")
    return Xv, network._targets(validation[1], Xv.shape[0], f"{where}: validation")


@checked(
    epochs=COUNT,
    lr=AnyOf(Real(0.0, closed="neither"), Function()),
    batch_size=AnyOf(None, COUNT),
    momentum=Real(0.0, 1.0, closed="left"),
    weight_decay=Real(0.0),
    method=Options(*METHODS),
    line_searches=COUNT,
    patience=AnyOf(None, COUNT),
    seed=Seed(),
    progress=AnyOf(None, Boolean()),
    masking=Real(0.0, 1.0, closed="left"),
    stop_when=AnyOf(None, Function()),
)
def fit(
    network,
    X,
    Y,
    *,
    epochs=10,
    lr=0.1,
    batch_size=None,
    momentum=0.0,
    weight_decay=0.0,
    method="sgd",
    line_searches=3,
    validation=None,
    patience=None,
    seed=None,
    progress=None,
    callbacks=(),
    masking=0.0,
    stop_when=None,
):
    r"""Train ``network`` on ``(X, Y)``, updating ``network.params`` in place.

    The objective is the mean loss plus ``weight_decay / 2 * sum_l ||W_l||^2`` (weights
    only, not biases). Each epoch visits the rows in a fresh random order, in mini-batches.

    * ``method="sgd"`` -- gradient descent with momentum, one step per mini-batch:
      ``v <- momentum * v - lr * (dLoss/dtheta + weight_decay * theta)``, ``theta <- theta + v``
      (the velocity carries the previous step; momentum does not multiply the rate).
    * ``method="cg"`` -- conjugate gradients, as Hinton & Salakhutdinov (2006) fine-tuned
      their deep autoencoders: on each group of ``batch_size`` rows (they used 1000),
      ``scipy.optimize.minimize(method="CG")`` runs ``line_searches`` iterations (they
      used 3) from the current parameters. ``lr`` and ``momentum`` do not apply.

    With ``masking > 0`` the inputs are corrupted by *masking noise* while the targets
    stay clean: each step (each group, for ``cg``) sets every input value to 0 with
    probability ``masking``, drawn afresh -- a *denoising* autoencoder (Vincent et al.
    2008) when ``Y`` is ``X``.

    Parameters
    ----------
    network : Network
    X : array (n, n_in)
    Y : array
        Targets: class labels (n,) or an (n, n_out) array of probabilities for a softmax
        output; (n, n_out) values (in [0, 1] for cross-entropy) otherwise.
    epochs : int
    lr : float or function
        The learning rate, or a schedule: a function of the epoch (1, 2, ...) returning it.
    batch_size : int, optional
        Rows per step (the whole data set when omitted: full-batch learning).
    momentum, weight_decay : float
    method : {"sgd", "cg"}
    line_searches : int
        Conjugate-gradient iterations per group (``method="cg"``).
    validation : (X_val, Y_val), optional
        Held-out data, scored after every epoch. The best parameters (lowest validation
        loss) are kept: training ends with them, whether it stopped early or not.
    patience : int, optional
        Early stopping: stop after this many epochs without a lower validation loss.
    seed : None, int or Generator
        For the order of the rows.
    progress : bool, optional
        A progress bar (default: on a terminal, for 200 epochs or more).
    callbacks : functions ``(network, history)``, called after every epoch.
    masking : float in [0, 1)
        Masking noise on the inputs (see above); 0 leaves them as they are.
    stop_when : function ``(network, history) -> bool``, optional
        A stopping rule asked after every epoch (e.g. a time budget); when it says True
        training ends, with the best parameters kept when there is validation data, and
        ``history.stopped_epoch`` says when.

    Returns
    -------
    History
        ``history["epoch"]``, ``history["loss"]`` (the mean of the mini-batch losses met
        during the epoch, before each step), ``history["validation_loss"]`` and, for a
        softmax output, ``history["validation_accuracy"]``; ``history.best_epoch`` (with
        validation) and ``history.seconds``.

    Raises
    ------
    DivergenceError
        A non-finite loss, step or validation loss; the parameters are restored to those
        at the end of the last completed epoch and the message names the epoch.
    ValueError, TypeError
        Bad data (wrong width, NaN, labels out of range) or options, naming the argument.

    Examples
    --------
    A linear network with squared error trained to the least-squares line:

    >>> import numpy as np
    >>> x = np.linspace(-1, 1, 21)[:, None]
    >>> t = 3 * x - 1
    >>> net = Network([1, 1], ["linear"], dtype=np.float64, seed=0)
    >>> hist = fit(net, x, t, epochs=200, lr=0.5, momentum=0.5)
    >>> round(float(net.params["h1.weight"][0, 0]), 6), round(float(net.params["h1.bias"][0]), 6)
    (3.0, -1.0)
    """
    where = "fit"
    if not isinstance(network, Network):
        raise TypeError(f"{where}: network must be a graphmrf.feedforward.Network; got {type(network).__name__}")
    if method == "cg" and momentum:
        raise ValueError(f"{where}: momentum does not apply to method 'cg'; got momentum={momentum!r}")
    xp, params = network.xp, network.params
    X = network._inputs(X, where)
    T = network._targets(Y, X.shape[0], where)
    val = _split_validation(network, validation, where)
    if patience is not None and val is None:
        raise ValueError(f"{where}: patience={patience} needs validation=(X_val, Y_val)")
    n = X.shape[0]
    bs = n if batch_size is None else min(int(batch_size), n)
    rng = as_generator(seed)  # the row order is drawn on the host: the same on every backend
    weights = {L.weight for L in network.layers}
    velocity = {key: xp.zeros_like(v) for key, v in params.items()}
    hist, best, best_params, waited = History(), np.inf, None, 0
    hist.best_epoch = None
    started = time.perf_counter()

    def rate(epoch):
        value = lr(epoch) if callable(lr) else lr
        if not (isinstance(value, (int, float, np.floating, np.integer)) and np.isfinite(value) and value > 0):
            raise ValueError(f"{where}: lr: the schedule gave {value!r} at epoch {epoch}; expected a finite real > 0")
        return float(value)

    with Progress(epochs, f"feedforward.fit ({method})", progress) as bar:
        for epoch in range(1, epochs + 1):
            last_good = {key: v.copy() for key, v in params.items()}
            order = rng.permutation(n) if bs < n else np.arange(n)
            try:
                with _quiet(network):  # a diverging step is caught below, not by a warning
                    lr_now = rate(epoch) if method == "sgd" else None
                    losses = []
                    for b0 in range(0, n, bs):  # a pass over the data in mini-batches, one step each
                        Xb, Tb = _batch(xp, X, T, order[b0 : b0 + bs], bs == n, masking, rng)
                        step = (lr_now, momentum, weight_decay, velocity, weights, line_searches)
                        losses.append(_step(network, method, Xb, Tb, *step))
                    record = {"epoch": epoch, "loss": float(np.mean(losses)), **_scores(network, val)}
            except _Diverged as bad:
                for key, v in params.items():
                    v[...] = last_good[key]
                raise DivergenceError(
                    f"{where}: epoch {epoch}: {bad} became non-finite; the parameters of epoch {epoch - 1} "
                    "were restored (lower lr?)"
                ) from None
            hist.append(**record)
            if val is not None:
                if record["validation_loss"] < best:
                    best, hist.best_epoch, waited = record["validation_loss"], epoch, 0
                    best_params = {key: v.copy() for key, v in params.items()}
                else:
                    waited += 1
            bar.update(loss=round(record.get("validation_loss", record["loss"]), 4))
            for cb in callbacks:
                cb(network, hist)
            if patience is not None and waited >= patience:
                break
            if stop_when is not None and stop_when(network, hist):
                hist.stopped_epoch = epoch
                break
    if best_params is not None:
        for key, v in params.items():
            v[...] = best_params[key]
    hist.seconds = time.perf_counter() - started
    return hist


class _Diverged(Exception):
    """Internal: what became non-finite during an epoch."""


def _quiet(network):
    import contextlib

    return np.errstate(over="ignore", invalid="ignore") if network.backend.name == "numpy" else contextlib.nullcontext()


def _masked(xp, X, fraction, rng):
    """A copy of ``X`` with each value set to 0 with probability ``fraction`` (the mask
    drawn on the host from ``rng``, so every backend sees the same noise)."""
    keep = rng.random(X.shape, dtype=np.float32) >= fraction
    return X * xp.asarray(keep, dtype=X.dtype)


def _batch(xp, X, T, rows, whole, masking, rng):
    """The rows of one step (inputs corrupted by masking noise when asked) and their targets."""
    Xb, Tb = (X, T) if whole else (X[xp.asarray(rows)], T[xp.asarray(rows)])
    if masking:
        Xb = _masked(xp, Xb, masking, rng)
    return Xb, Tb


def _step(network, method, Xb, Tb, lr, momentum, weight_decay, velocity, weights, line_searches):
    """One optimisation step on a batch: momentum SGD, or a conjugate-gradient group."""
    if method == "sgd":
        return _sgd_step(network, Xb, Tb, lr, momentum, weight_decay, velocity, weights)
    return _cg_group(network, Xb, Tb, weight_decay, line_searches, weights)


def _scores(network, val):
    """The validation loss (and accuracy, for a softmax output) of an epoch; {} without validation."""
    if val is None:
        return {}
    acts, z = network._forward(val[0], logits=network.loss_function == "cross_entropy")
    record = {"validation_loss": network._loss_value(acts[-1], z, val[1])}
    if not np.isfinite(record["validation_loss"]):
        raise _Diverged("the validation loss")
    if network.layers[-1].activation == "softmax":
        record["validation_accuracy"] = float((acts[-1].argmax(axis=1) == val[1].argmax(axis=1)).mean())
    return record


def _sgd_step(network, X, T, lr, momentum, weight_decay, velocity, weights):
    """One step of gradient descent with momentum; returns the batch's loss (before it).
    Nothing is applied unless the loss and every step are finite."""
    xp, params = network.xp, network.params
    loss, grad = network._backprop(X, T)
    if not np.isfinite(loss):
        raise _Diverged("the training loss")
    for key, g in grad.items():
        v = velocity[key]
        if weight_decay and key in weights:
            g += weight_decay * params[key]
        v *= momentum
        v -= lr * g
        if not _finite(xp, v):
            raise _Diverged(f"the step of {key!r}")
    for key, v in params.items():
        v += velocity[key]
    return loss


def _cg_group(network, X, T, weight_decay, line_searches, weights):
    """Conjugate gradients on one group of rows (scipy, float64 on the host); returns the
    group's loss before the search. The parameters end at scipy's result."""
    from scipy.optimize import minimize

    xp, params = network.xp, network.params
    keys = list(params)
    shapes = [params[k].shape for k in keys]
    sizes = [int(np.prod(s)) for s in shapes]
    cuts = np.cumsum([0] + sizes)

    def unpack(x):
        for k, s, a, b in zip(keys, shapes, cuts[:-1], cuts[1:]):
            params[k][...] = xp.asarray(x[a:b].reshape(s), dtype=network.dtype)

    first = []

    def objective(x):
        unpack(x)
        loss, grad = network._backprop(X, T)
        if not first:
            first.append(loss)  # the data loss before the search, as the sgd steps record it
        if weight_decay:
            for k in weights:
                loss += 0.5 * weight_decay * float(xp.vdot(params[k], params[k]))
                grad[k] += weight_decay * params[k]
        g = np.concatenate([to_host(grad[k]).ravel() for k in keys]).astype(np.float64)
        return loss, g

    x0 = np.concatenate([to_host(params[k]).ravel() for k in keys]).astype(np.float64)
    res = minimize(
        objective, x0, jac=True, method="CG", options={"maxiter": int(line_searches), "gtol": 0.0}
    )  # exactly line_searches iterations
    if not np.all(np.isfinite(res.x)) or not np.isfinite(res.fun):
        raise _Diverged("the conjugate-gradient search")
    unpack(res.x)
    if not np.isfinite(first[0]):
        raise _Diverged("the training loss")
    return first[0]


# -- unrolling trained models -----------------------------------------------------------
_HIDDEN_ACTIVATION = {"binary": "sigmoid", "gaussian": "linear"}


def _rbm_parts(program, i, where):
    """(kinds, weight (v, h), b_v, b_h, sigma_v, sigma_h) of RBM ``programs[i]``, float64."""
    if not isinstance(program, Program):
        raise TypeError(
            f"{where}: programs[{i}] must be a compiled RBM (gm.compile(gm.rbm(...))); got {type(program).__name__}"
        )
    names = sorted(L.name for L in program.layers)
    if names != ["h", "v"] or len(program.couplings) != 1:
        raise ValueError(
            f"{where}: programs[{i}]: expected an RBM with layers 'v' and 'h' (gm.rbm); got layers {names}"
        )
    v, h = program.layer_of("v"), program.layer_of("h")
    if h.kind.name not in _HIDDEN_ACTIVATION:
        raise ValueError(
            f"{where}: programs[{i}]: hidden units of kind {h.kind.name!r} cannot be unrolled; "
            "expected 'binary' (sigmoid) or 'gaussian' (linear)"
        )
    W = np.asarray(program.get(("v", "h"), "weight"), dtype=np.float64).reshape(v.cols, h.cols)

    def sigma(L, node):
        return (
            np.asarray(program.get(node, "sigma"), dtype=np.float64).reshape(-1)
            if L.kind.name == "gaussian"
            else np.ones(L.cols)
        )

    b_v = np.asarray(program.get("v", "bias"), dtype=np.float64).reshape(-1)
    b_h = np.asarray(program.get("h", "bias"), dtype=np.float64).reshape(-1)
    return v.kind.name, h.kind.name, W, b_v, b_h, sigma(v, "v"), sigma(h, "h")


def _check_stack(programs, where):
    if not isinstance(programs, (list, tuple)) or not programs:
        raise TypeError(
            f"{where}: programs must be a non-empty list of compiled RBMs (bottom first); got {type(programs).__name__}"
        )
    parts = [_rbm_parts(p, i, where) for i, p in enumerate(programs)]
    for i in range(1, len(parts)):
        below, here = parts[i - 1][2].shape[1], parts[i][2].shape[0]
        if below != here:
            raise ValueError(
                f"{where}: programs[{i}] has {here} visible units; programs[{i - 1}] has {below} hidden units"
            )
    return parts


def _encoder(parts):
    r"""Layers h_1..h_L: ``E[h | v]`` of each RBM. The hidden input is ``sum_i T(v_i) W_ij``
    with ``T(v) = v / sigma`` for gaussian visible units; a gaussian hidden unit's mean is
    ``b + sigma * input``: so the layer weight is ``diag(1/sigma_v) W diag(sigma_h)``."""
    sizes, acts, params = [parts[0][2].shape[0]], [], {}
    for i, (_vk, hk, W, _b_v, b_h, s_v, s_h) in enumerate(parts, start=1):
        sizes.append(W.shape[1])
        acts.append(_HIDDEN_ACTIVATION[hk])
        params[f"h{i}.weight"] = W / s_v[:, None] * s_h[None, :]
        params[f"h{i}.bias"] = b_h
    return sizes, acts, params


@checked(n_classes=AnyOf(None, Integer(2)), seed=Seed())
def from_rbms(programs, n_classes=None, *, seed=None, backend=None, dtype=None):
    r"""Unroll a stack of trained RBMs into a feed-forward network (a DBN-DNN).

    Layer ``h_i`` computes ``E[h | v]`` of RBM ``i`` on the layer below's activations:
    ``sigmoid(v W + b_h)`` for binary hidden units, ``b_h + sigma_h (v / sigma_v) W`` for
    gaussian ones (linear). With ``n_classes``, a softmax layer ``"out"`` on top (small
    random weights, N(0, 0.01^2), zero biases) makes it a classifier for fine-tuning.

    Parameters
    ----------
    programs : list of Program
        RBMs from :func:`graphmrf.rbm` (layers ``"v"`` and ``"h"``), bottom first; RBM
        ``i``'s visible layer as wide as RBM ``i - 1``'s hidden layer.
    n_classes : int, optional
        Classes of a softmax output layer ``out`` (none by default).
    seed : int or Generator, optional
        For the softmax layer's weights.
    backend, dtype : optional
        Of the network; default: the first program's.

    Returns
    -------
    Network
        Layers ``h1, ..., hL`` (and ``out``); its first activations equal the first RBM's
        ``p(h = 1 | v)`` to rounding.

    Raises
    ------
    TypeError
        If ``programs`` is not a non-empty list of compiled Programs, or ``n_classes`` not
        an integer.
    ValueError
        If a program is not an RBM with layers ``v`` and ``h`` whose hidden units are
        binary or gaussian, the widths do not chain, or ``n_classes`` is below 2.

    Examples
    --------
    >>> import graphmrf as gm
    >>> rbms = [gm.compile(gm.rbm(6, 4, seed=0)), gm.compile(gm.rbm(4, 3, seed=1))]
    >>> from_rbms(rbms, n_classes=2)
    Network(6 -> h1: sigmoid 4 -> h2: sigmoid 3 -> out: softmax 2, loss='cross_entropy', backend='numpy', dtype=float32)
    """
    parts = _check_stack(programs, "from_rbms")
    sizes, acts, params = _encoder(parts)
    names = [f"h{i}" for i in range(1, len(parts) + 1)]
    if n_classes is not None:
        rng = as_generator(seed)
        params["out.weight"] = rng.normal(0.0, 0.01, size=(sizes[-1], n_classes))
        params["out.bias"] = np.zeros(n_classes)
        sizes, acts, names = sizes + [n_classes], acts + ["softmax"], names + ["out"]
    first = programs[0]
    return Network(
        sizes, acts, names=names, params=params, backend=backend or first.backend, dtype=dtype or first.dtype
    )


def autoencoder(programs, *, backend=None, dtype=None):
    r"""Unroll a stack of trained RBMs into a deep autoencoder (Hinton & Salakhutdinov 2006).

    The encoder ``h1, ..., hL`` is :func:`from_rbms`'s; the decoder ``dL, ..., d1`` runs
    the same RBMs downwards with their transposed weights and visible biases: layer ``d_i``
    computes RBM ``i``'s ``E[v | h]`` (``sigmoid(b_v + T(h) W^T)`` for binary visible
    units, ``b_v + sigma_v T(h) W^T`` for gaussian ones, ``T(h) = h / sigma_h``), so the
    output ``d1`` reconstructs the data. The code is ``forward(X, upto="hL")``; the loss is
    cross-entropy for binary data, squared error for gaussian data.

    Parameters
    ----------
    programs : list of Program
        As for :func:`from_rbms`; visible units binary or gaussian.
    backend, dtype : optional
        Of the network; default: the first program's.

    Returns
    -------
    Network
        ``2 L`` layers, weights of ``d_i`` untied from (initialised as the transpose of) ``h_i``'s.

    Raises
    ------
    TypeError
        If ``programs`` is not a non-empty list of compiled Programs.
    ValueError
        If a program is not an RBM with layers ``v`` and ``h``, has visible units other
        than binary or gaussian (or hidden units other than binary or gaussian), or the
        widths do not chain.

    Examples
    --------
    >>> import graphmrf as gm
    >>> rbms = [gm.compile(gm.rbm(8, 4, seed=0)), gm.compile(gm.rbm(4, 2, hidden="gaussian", seed=1))]
    >>> autoencoder(rbms)  # doctest: +NORMALIZE_WHITESPACE
    Network(8 -> h1: sigmoid 4 -> h2: linear 2 -> d2: sigmoid 4 -> d1: sigmoid 8,
            loss='cross_entropy', backend='numpy', dtype=float32)
    """
    parts = _check_stack(programs, "autoencoder")
    sizes, acts, params = _encoder(parts)
    names = [f"h{i}" for i in range(1, len(parts) + 1)]
    for i in range(len(parts), 0, -1):
        vk, hk, W, b_v, b_h, s_v, s_h = parts[i - 1]
        if vk not in ("binary", "gaussian"):
            raise ValueError(
                f"autoencoder: programs[{i - 1}] has visible units of kind {vk!r}; "
                "the decoder needs 'binary' (sigmoid) or 'gaussian' (linear)"
            )
        params[f"d{i}.weight"] = W.T / s_h[:, None] * s_v[None, :]
        params[f"d{i}.bias"] = b_v
        sizes.append(W.shape[0])
        acts.append("sigmoid" if vk == "binary" else "linear")
        names.append(f"d{i}")
    first = programs[0]
    return Network(
        sizes, acts, names=names, params=params, backend=backend or first.backend, dtype=dtype or first.dtype
    )
