r"""Learning rules under constraints: tied copies of a layer, and frozen parameters.

Both wrap a gradient estimator -- ``"cd"``, ``"pcd"`` or a function with the signature of
:func:`graphmrf.learn.contrastive_divergence` -- into another one for :func:`graphmrf.fit`,
changing only the gradient it returns, so that every update of ``fit`` (momentum, weight
decay, the divergence guard) keeps the constraint:

* :func:`tied` -- a layer that holds several copies of one layer (the *doubled* RBMs of
  DBM pre-training, :func:`graphmrf.deep_boltzmann.pretrain`): each copy's parameters get
  the mean of the copies' gradients, so copies that start equal stay equal;
* :func:`frozen` -- parameters that keep their values (the unit variance of the linear
  code units of a deep autoencoder, Hinton & Salakhutdinov 2006): their gradient is zero.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.rbm(4, 2, hidden="gaussian", seed=0), seed=0)
>>> X = np.random.default_rng(0).integers(0, 2, (10, 4))
>>> _ = gm.fit(prog, X, rule=frozen("cd", ["h.log_sigma"]), epochs=3, monitors=())
>>> prog.params["h.log_sigma"].tolist()
[0.0, 0.0]
"""

from .arguments import InstanceOf, Integer, Options, checked
from .errors import ModelError
from .learn import contrastive_divergence

__all__ = ["tied", "frozen"]


def _estimator(rule, where):
    """``rule`` as a function that honours CD (``"cd"``: chains passed through untouched,
    since ``fit`` hands a function persistent chains) and PCD."""
    if rule == "cd":

        def cd(program, data, rng, *, chains=None, **options):
            grad, _ = contrastive_divergence(program, data, rng, chains=None, **options)
            return grad, chains

        return cd
    if rule == "pcd":
        return contrastive_divergence
    if callable(rule):
        return rule
    raise ValueError(f"{where}: rule must be 'cd', 'pcd' or a function; got {rule!r}")


@checked(layer=Options("v", "h"), copies=Integer(2))
def tied(rule, layer, copies=2):
    r"""A gradient estimator for an RBM whose layer ``layer`` holds ``copies`` tied copies of
    one layer: the gradients of the copies' parameters (biases, weight rows or columns)
    are replaced by their mean, so copies that start equal stay equal.

    This is how a layer is *doubled* in the pre-training of a DBM: an RBM with the visible
    layer twice, ``[v, v]``, has ``p(h | v) = sigmoid(2 v W + c)``.

    Parameters
    ----------
    rule : {"cd", "pcd"} or function
        The estimator to constrain.
    layer : {"v", "h"}
        The layer of the RBM (:func:`graphmrf.rbm`) that holds the copies, consecutively.
    copies : int >= 2
        How many copies the layer holds (2: a doubled layer).

    Returns
    -------
    function
        An estimator for ``graphmrf.fit(..., rule=...)``.

    Raises
    ------
    TypeError
        If ``layer`` is not a string or ``copies`` not an integer.
    ValueError
        If ``layer`` is not ``"v"`` or ``"h"``, ``copies`` is below 2, or ``rule`` is not
        ``"cd"``, ``"pcd"`` or a function.
    ModelError
        (when called) if the layer's size is not a multiple of ``copies``.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> g = gm.rbm(6, 2, seed=0)
    >>> g.edges["v", "h"]["weight"][3:] = g.edges["v", "h"]["weight"][:3]
    >>> prog = gm.compile(g, seed=0)
    >>> X = np.random.default_rng(0).integers(0, 2, (10, 3))
    >>> _ = gm.fit(prog, np.hstack([X, X]), rule=tied("cd", "v"), epochs=3, monitors=())
    >>> W = prog.params["v~h.weight"]
    >>> bool(np.array_equal(W[:3], W[3:]))
    True
    """
    estimator = _estimator(rule, "tied")

    def tied_rule(program, data, rng, **options):
        grad, chains = estimator(program, data, rng, **options)
        _mean_of_copies(program, grad, layer, copies)
        return grad, chains

    tied_rule.__name__ = f"tied({getattr(rule, '__name__', rule)}, {layer!r})"
    return tied_rule


def _mean_of_copies(program, grad, layer, copies):
    """Average, in place, the gradients of the ``copies`` blocks of ``layer``'s units."""
    L = program.layer_of(layer)
    if L.n % copies:
        raise ModelError(f"tied: layer {layer!r} has {L.n} units, not a multiple of {copies} copies")
    couplings = {c.key: c for c in program.couplings}
    for key, g in grad.items():
        c = couplings.get(key)
        if c is None and key.startswith(f"{layer}.") and g.ndim == 1 and g.shape[0] == L.cols:
            axis = 0
        elif c is not None and c.a is L:
            axis = 0
        elif c is not None and c.b is L:
            axis = 1
        else:
            continue
        blocks = g.reshape(g.shape[:axis] + (copies, -1) + g.shape[axis + 1 :])
        mean = blocks.mean(axis=axis, keepdims=True)
        g[...] = program.xp.broadcast_to(mean, blocks.shape).reshape(g.shape)


@checked(keys=InstanceOf(list, tuple, name="list of parameter names"))
def frozen(rule, keys):
    r"""A gradient estimator that leaves the parameters ``keys`` (names in
    ``program.params``, e.g. ``"h.log_sigma"``) where they are: their gradient is zero, so
    with no momentum or weight decay on them (``fit`` decays couplings only) they keep
    their values.

    Parameters
    ----------
    rule : {"cd", "pcd"} or function
        The estimator to constrain.
    keys : list of str
        Names of parameters in ``program.params`` to hold fixed.

    Returns
    -------
    function
        An estimator for ``graphmrf.fit(..., rule=...)``.

    Raises
    ------
    TypeError
        If ``keys`` is not a list or tuple (a single name is refused, not split into letters).
    ValueError
        If ``rule`` is not ``"cd"``, ``"pcd"`` or a function; and (when called) for a key
        the Program does not have, naming the keys it has.

    Examples
    --------
    The visible biases of an RBM held at their initial values while the rest learns:

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(6, 3, seed=0), seed=0)
    >>> start = prog.params["v.bias"].copy()
    >>> X = np.random.default_rng(0).integers(0, 2, (12, 6))
    >>> _ = gm.fit(prog, X, rule=frozen("cd", ["v.bias"]), epochs=3, lr=0.1, monitors=())
    >>> bool(np.array_equal(prog.params["v.bias"], start)), bool(np.any(prog.params["h.bias"] != 0))
    (True, True)
    """
    estimator = _estimator(rule, "frozen")
    keys = list(keys)

    def frozen_rule(program, data, rng, **options):
        unknown = [k for k in keys if k not in program.params]
        if unknown:
            raise ValueError(
                f"frozen: keys {unknown} are not parameters of the model; expected names from {sorted(program.params)}"
            )
        grad, chains = estimator(program, data, rng, **options)
        for k in keys:
            grad[k][...] = 0
        return grad, chains

    frozen_rule.__name__ = f"frozen({getattr(rule, '__name__', rule)}, {keys})"
    return frozen_rule
