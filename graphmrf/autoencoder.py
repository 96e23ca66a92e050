r"""Deep autoencoders (Hinton & Salakhutdinov 2006): a stack of RBMs pre-trained greedily,
unrolled into an encoder and a decoder, and fine-tuned by backpropagation.

The recipe, in three steps that each return something to look at:

1. :func:`pretrain` -- RBMs trained bottom-up with :func:`graphmrf.fit`, each on the hidden
   probabilities ``E[h | v]`` of the one below (784-1000-500-250-30 in the paper); the
   top RBM's hidden units, the *code*, are linear: Gaussian with unit variance, so the
   code is real-valued (``code="linear"``; ``"binary"`` gives logistic code units);
2. :func:`graphmrf.feedforward.autoencoder` -- the unrolled network: the encoder computes
   each RBM's ``E[h | v]``, the decoder each RBM's ``E[v | h]`` with the transposed
   weights, so before fine-tuning it is exactly the stack's mean-field reconstruction;
3. :func:`fine_tune` -- backpropagation of the reconstruction error through the whole
   network: cross-entropy for binary (or [0, 1]) data, squared error for real data; by
   conjugate gradients (``method="cg"``, ``scipy.optimize``, 3 line searches on groups of
   1000 rows as in the paper) or by mini-batch gradient descent with momentum
   (``method="sgd"``); ``masking`` makes it a *denoising* autoencoder (a fraction of the
   input values set to zero, the clean data as the target).

:func:`reconstruction_error` scores it as the paper does (squared error per image, summed
over pixels) and :func:`pca_reconstruction` gives the baseline it was measured against;
:func:`plot_reconstructions` and :func:`plot_code_map` draw the paper's figures.

>>> import numpy as np, graphmrf as gm
>>> from graphmrf import autoencoder as ae
>>> X = gm.datasets.digits()[0]                      # 1797 images of 8 x 8 pixels in [0, 1]
>>> rbms = ae.pretrain(X, [64, 32, 8], epochs=5, batch_size=20, code_lr=0.01, seed=0)
>>> net = gm.feedforward.autoencoder(rbms)
>>> net  # doctest: +NORMALIZE_WHITESPACE
Network(64 -> h1: sigmoid 32 -> h2: linear 8 -> d2: sigmoid 32 -> d1: sigmoid 64,
        loss='cross_entropy', backend='numpy', dtype=float32)
>>> before = ae.reconstruction_error(net, X)
>>> hist = ae.fine_tune(net, X, method="sgd", epochs=10, batch_size=20, lr=0.1, seed=0)
>>> after = ae.reconstruction_error(net, X)
>>> bool(after < before / 2), bool(after < ae.squared_error(ae.pca_reconstruction(X, X, 8), X))
(True, True)
"""

import numpy as np

from .arguments import COUNT, AnyOf, Boolean, Function, Integer, Options, Real, Seed, SequenceOf, checked
from .backend import as_generator, to_host
from .builders import rbm as _rbm_graph
from .compile import compile as _compile
from .constraints import frozen
from .feedforward import Network, from_rbms
from .feedforward import fit as _fit_network
from .train import fit

__all__ = [
    "pretrain",
    "fine_tune",
    "encode",
    "reconstruct",
    "reconstruction_error",
    "squared_error",
    "pca_reconstruction",
    "plot_reconstructions",
    "plot_code_map",
    "CODES",
]

#: The code layer's units: linear (Gaussian, unit variance; the paper's) or binary (logistic).
CODES = ("linear", "binary")


def _rows(X, width, where, what="X"):
    """``X`` as a 2-d float array of ``width`` finite columns (on the host)."""
    X = np.asarray(to_host(X))
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{where}: {what} must be an array of real numbers; got dtype {X.dtype}")
    if X.ndim != 2:
        raise ValueError(f"{where}: {what} must be a 2-d array (examples, {width} features); got shape {X.shape}")
    if X.shape[1] != width:
        raise ValueError(f"{where}: {what} has {X.shape[1]} columns; expected {width} (the input layer's width)")
    if X.shape[0] < 1:
        raise ValueError(f"{where}: {what} has no rows")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{where}: {what} has NaN or infinite entries")
    return X


@checked(
    sizes=SequenceOf(Integer(1), min_length=2),
    visible=Options("binary", "gaussian"),
    code=Options(*CODES),
    epochs=COUNT,
    lr=Real(0.0, closed="neither"),
    code_lr=Real(0.0, closed="neither"),
    k=COUNT,
    batch_size=COUNT,
    momentum=Real(0.0, 1.0, closed="left"),
    weight_decay=Real(0.0),
    seed=Seed(),
    progress=AnyOf(None, Boolean()),
    stop_when=AnyOf(None, Function()),
)
def pretrain(
    X,
    sizes,
    *,
    visible="binary",
    code="linear",
    epochs=10,
    lr=0.1,
    code_lr=0.001,
    k=1,
    batch_size=100,
    momentum=0.5,
    weight_decay=2e-4,
    seed=None,
    progress=None,
    stop_when=None,
    backend="numpy",
    dtype=np.float32,
):
    r"""Greedy layer-wise pre-training of the RBM stack of a deep autoencoder.

    RBM ``i`` (``sizes[i]`` visible, ``sizes[i + 1]`` hidden units) is trained by CD-``k``
    with :func:`graphmrf.fit` on the hidden probabilities of RBM ``i - 1``; its visible
    biases start at ``log(p / (1 - p))`` of its data (binary units). The top RBM's hidden
    units are the code: ``"linear"`` -- Gaussian with their variance held at 1 (a frozen
    ``h.log_sigma``, :func:`graphmrf.constraints.frozen`), trained at the smaller rate
    ``code_lr`` as in the paper -- or ``"binary"``. Gaussian visible units (real data,
    standardised) also keep unit variance.

    Parameters
    ----------
    X : array (examples, sizes[0])
        Training data: values in [0, 1] for binary visible units (pixel intensities are
        read as probabilities), real values for gaussian ones.
    sizes : list of int
        Layer widths, input first, the code last (``[784, 1000, 500, 250, 30]``).
    visible : {"binary", "gaussian"}
        Kind of the bottom RBM's visible units (the data's).
    code : {"linear", "binary"}
        Kind of the top RBM's hidden units, the code (:data:`CODES`).
    epochs, lr, k, batch_size, momentum, weight_decay, stop_when, progress
        For each RBM's :func:`graphmrf.fit` (``stop_when`` may end one early: a time budget).
    code_lr : float
        The top RBM's learning rate when its units are linear.
    seed : int or Generator, optional
        Every draw: the RBMs' initial weights and their training.
    backend, dtype
        Of the RBMs (and so of the unrolled network).

    Returns
    -------
    list of Program
        The RBMs, bottom first: :func:`graphmrf.feedforward.autoencoder` unrolls them.

    Raises
    ------
    TypeError
        For an option of the wrong type, or data that are not an array of real numbers.
    ValueError
        For data whose width is not ``sizes[0]``, with NaN, or outside [0, 1] for binary
        units; for an unknown code or visible kind, or an option out of its range (named
        with its value).
    DivergenceError
        From an RBM's :func:`graphmrf.fit`, when a step makes a parameter non-finite.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((40, 6))           # values in [0, 1]
    >>> rbms = pretrain(X, [6, 4, 2], epochs=2, batch_size=10, seed=0)
    >>> [(r.layer_of("v").n, r.layer_of("h").n, r.layer_of("h").kind.name) for r in rbms]
    [(6, 4, 'binary'), (4, 2, 'gaussian')]
    >>> rbms[1].params["h.log_sigma"].tolist()                  # the code's unit variance, held
    [0.0, 0.0]
    """
    sizes = [int(s) for s in sizes]
    X = _rows(X, sizes[0], "pretrain")
    if visible == "binary" and (X.min() < 0 or X.max() > 1):
        raise ValueError(
            f"pretrain: binary visible units take values in [0, 1]; X has values in [{X.min()}, {X.max()}] "
            "(scale the data, or use visible='gaussian' for standardised real data)"
        )
    rng = as_generator(seed)
    rbms, data = [], X
    for i in range(len(sizes) - 1):
        top = i == len(sizes) - 2
        v_kind = visible if i == 0 else "binary"
        h_kind = "gaussian" if top and code == "linear" else "binary"
        g = _rbm_graph(
            sizes[i],
            sizes[i + 1],
            visible=v_kind,
            hidden=h_kind,
            seed=int(rng.integers(2**31)),
            data=data if v_kind == "binary" else None,
        )
        prog = _compile(g, backend=backend, dtype=dtype)
        fixed = [f"{name}.log_sigma" for name, kind in (("v", v_kind), ("h", h_kind)) if kind == "gaussian"]
        rule = frozen("cd", fixed) if fixed else "cd"
        fit(
            prog,
            data,
            rule=rule,
            epochs=epochs,
            lr=code_lr if h_kind == "gaussian" else lr,
            k=k,
            batch_size=batch_size,
            momentum=momentum,
            weight_decay=weight_decay,
            monitors=(),
            seed=int(rng.integers(2**31)),
            progress=progress,
            stop_when=stop_when,
        )
        rbms.append(prog)
        if not top:
            data = to_host(from_rbms([prog]).forward(data))
    return rbms


def _check_autoencoder(network, where):
    if not isinstance(network, Network):
        raise TypeError(f"{where}: network must be a graphmrf.feedforward.Network; got {type(network).__name__}")
    if network.n_in != network.n_out:
        raise ValueError(
            f"{where}: network maps {network.n_in} inputs to {network.n_out} outputs; an autoencoder "
            "reconstructs its input (graphmrf.feedforward.autoencoder)"
        )


@checked(
    method=Options("cg", "sgd"),
    epochs=COUNT,
    batch_size=COUNT,
    line_searches=COUNT,
    lr=AnyOf(Real(0.0, closed="neither"), Function()),
    momentum=Real(0.0, 1.0, closed="left"),
    weight_decay=Real(0.0),
    masking=Real(0.0, 1.0, closed="left"),
    seed=Seed(),
    progress=AnyOf(None, Boolean()),
    stop_when=AnyOf(None, Function()),
)
def fine_tune(
    network,
    X,
    *,
    method="cg",
    epochs=10,
    batch_size=1000,
    line_searches=3,
    lr=0.1,
    momentum=0.9,
    weight_decay=0.0,
    masking=0.0,
    validation=None,
    seed=None,
    progress=None,
    stop_when=None,
    callbacks=(),
):
    r"""Fine-tune an unrolled autoencoder on its reconstruction error by backpropagation.

    The loss is that of the network's output layer: cross-entropy
    ``-sum_j x_j log y_j + (1 - x_j) log(1 - y_j)`` for sigmoid outputs (binary or [0, 1]
    data), ``1/2 sum_j (y_j - x_j)^2`` for linear ones (real data), the mean over rows.

    * ``method="cg"`` (the paper's): on each group of ``batch_size`` rows,
      ``scipy.optimize.minimize(method="CG")`` runs ``line_searches`` iterations from
      the current weights (Hinton & Salakhutdinov: groups of 1000, 3 line searches);
      ``lr`` and ``momentum`` do not apply.
    * ``method="sgd"``: one step of gradient descent with momentum per mini-batch.

    ``masking`` (denoising): the inputs of each step have that fraction of their values
    set to 0, drawn afresh; the targets stay the clean data.

    Parameters
    ----------
    network : Network
        From :func:`graphmrf.feedforward.autoencoder` (as many outputs as inputs); its
        ``params`` are updated in place.
    X : array (examples, inputs)
        Training rows, the inputs and the targets.
    method : {"cg", "sgd"}
        Conjugate gradients on groups of rows, or gradient descent with momentum.
    epochs, batch_size, line_searches, lr, momentum, weight_decay
        See :func:`graphmrf.feedforward.fit`.
    masking : float in [0, 1)
        Fraction of the input values set to 0 at each step (0: a plain autoencoder).
    validation : array (examples, inputs), optional
        Held-out rows, scored after every epoch; the best parameters are kept.
    seed, progress, stop_when, callbacks
        As for :func:`graphmrf.feedforward.fit`.

    Returns
    -------
    History
        ``history["loss"]`` per epoch (and ``"validation_loss"``).

    Raises
    ------
    TypeError
        If ``network`` is not a Network, ``X`` not an array of real numbers, or an option
        of the wrong type.
    ValueError
        If ``network`` does not map its inputs to as many outputs, ``X`` (or
        ``validation``) has the wrong width or NaN, or an option is out of its range.
    DivergenceError
        When a step makes the loss or a parameter non-finite; the parameters of the last
        completed epoch are restored.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> X = np.random.default_rng(0).random((40, 6))
    >>> net = gm.feedforward.autoencoder(pretrain(X, [6, 4, 2], epochs=2, batch_size=10, seed=0))
    >>> hist = fine_tune(net, X, method="sgd", epochs=3, batch_size=10, lr=0.1, seed=0)
    >>> len(hist["loss"]), bool(hist["loss"][-1] < hist["loss"][0])
    (3, True)
    """
    _check_autoencoder(network, "fine_tune")
    X = _rows(X, network.n_in, "fine_tune")
    val = None
    if validation is not None:
        Xv = _rows(validation, network.n_in, "fine_tune", "validation")
        val = (Xv, Xv)
    return _fit_network(
        network,
        X,
        X,
        method=method,
        epochs=epochs,
        batch_size=batch_size,
        line_searches=line_searches,
        lr=lr,
        momentum=momentum if method == "sgd" else 0.0,
        weight_decay=weight_decay,
        masking=masking,
        validation=val,
        seed=seed,
        progress=progress,
        stop_when=stop_when,
        callbacks=callbacks,
    )


def _code_layer(network):
    """The name of the code layer: the last encoder layer (``hL``)."""
    names = [L.name for L in network.layers]
    enc = [n for n in names if n.startswith("h")]
    if not enc:
        raise ValueError(f"encode: network has no encoder layers 'h1', 'h2', ...; its layers are {names}")
    return enc[-1]


@checked(chunk=COUNT)
def encode(network, X, *, chunk=10000):
    """The code of each row: the activations of the last encoder layer (``hL``).

    Parameters
    ----------
    network : Network
        An unrolled autoencoder (:func:`graphmrf.feedforward.autoencoder`), whose encoder
        layers are named ``h1, ..., hL``.
    X : array (examples, inputs)
        Rows to encode.
    chunk : int
        Rows per forward pass (bounds the memory of the activations).

    Returns
    -------
    array (examples, code units)
        On the host, in the network's float type.

    Raises
    ------
    TypeError
        If ``network`` is not a Network, ``X`` not an array of real numbers, or ``chunk``
        not an integer.
    ValueError
        If ``network`` is not an autoencoder (as many outputs as inputs, layers ``h1``...),
        ``X`` has the wrong width, no rows or NaN, or ``chunk`` is below 1.

    Examples
    --------
    >>> import graphmrf as gm
    >>> rbms = [gm.compile(gm.rbm(6, 4, seed=0)), gm.compile(gm.rbm(4, 2, hidden="gaussian", seed=1))]
    >>> encode(gm.feedforward.autoencoder(rbms), np.zeros((3, 6))).shape
    (3, 2)
    """
    _check_autoencoder(network, "encode")
    X = _rows(X, network.n_in, "encode")
    name = _code_layer(network)
    return np.concatenate([to_host(network.forward(X[a : a + chunk], upto=name)) for a in range(0, X.shape[0], chunk)])


@checked(chunk=COUNT)
def reconstruct(network, X, *, chunk=10000):
    """The network's reconstruction of each row (its output).

    Parameters
    ----------
    network : Network
        An unrolled autoencoder (as many outputs as inputs).
    X : array (examples, inputs)
        Rows to reconstruct.
    chunk : int
        Rows per forward pass.

    Returns
    -------
    array (examples, inputs)
        On the host, in the network's float type.

    Raises
    ------
    TypeError
        If ``network`` is not a Network, ``X`` not an array of real numbers, or ``chunk``
        not an integer.
    ValueError
        If ``network`` has not as many outputs as inputs, ``X`` has the wrong width, no
        rows or NaN, or ``chunk`` is below 1.

    Examples
    --------
    >>> import graphmrf as gm
    >>> rbms = [gm.compile(gm.rbm(6, 4, seed=0)), gm.compile(gm.rbm(4, 2, hidden="gaussian", seed=1))]
    >>> R = reconstruct(gm.feedforward.autoencoder(rbms), np.eye(6)[:3])
    >>> R.shape, bool(np.all((R > 0) & (R < 1)))                 # sigmoid outputs
    ((3, 6), True)
    """
    _check_autoencoder(network, "reconstruct")
    X = _rows(X, network.n_in, "reconstruct")
    return np.concatenate([to_host(network.forward(X[a : a + chunk])) for a in range(0, X.shape[0], chunk)])


@checked(chunk=COUNT)
def reconstruction_error(network, X, *, chunk=10000):
    r"""Average squared reconstruction error per row, ``mean_n sum_j (y_nj - x_nj)^2`` (the
    paper's figure: per image, summed over its pixels), in float64.

    Parameters
    ----------
    network : Network
        An unrolled autoencoder (as many outputs as inputs).
    X : array (examples, inputs)
        The rows, and the targets of their reconstructions.
    chunk : int
        Rows per forward pass.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``network`` is not a Network, ``X`` not an array of real numbers, or ``chunk``
        not an integer.
    ValueError
        If ``network`` has not as many outputs as inputs, ``X`` has the wrong width, no
        rows or NaN, or ``chunk`` is below 1.

    Examples
    --------
    The same number as :func:`squared_error` of :func:`reconstruct`'s output:

    >>> import graphmrf as gm
    >>> rbms = [gm.compile(gm.rbm(6, 4, seed=0), dtype=np.float64)]
    >>> net, X = gm.feedforward.autoencoder(rbms), np.eye(6)
    >>> bool(np.isclose(reconstruction_error(net, X, chunk=4), squared_error(reconstruct(net, X), X)))
    True
    """
    _check_autoencoder(network, "reconstruction_error")
    X = _rows(X, network.n_in, "reconstruction_error")
    total = 0.0
    for a in range(0, X.shape[0], chunk):
        d = np.asarray(to_host(network.forward(X[a : a + chunk])), dtype=np.float64) - X[a : a + chunk]
        total += float(np.einsum("ij,ij->", d, d))
    return total / X.shape[0]


def squared_error(reconstructions, X):
    r"""``mean_n sum_j (r_nj - x_nj)^2``: the average squared error per row (float64).

    Parameters
    ----------
    reconstructions : array (examples, features)
        Reconstructions of the rows of ``X`` (by any model: :func:`reconstruct`,
        :func:`pca_reconstruction`).
    X : array (examples, features)
        The rows themselves.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If either is not an array of real numbers.
    ValueError
        If the shapes differ or are not 2-d, or ``X`` has no rows.

    Examples
    --------
    >>> squared_error(np.array([[0.5, 1.0]]), np.array([[0.0, 0.0]]))
    1.25
    """
    R, X = (np.asarray(to_host(a)) for a in (reconstructions, X))
    for name, a in (("reconstructions", R), ("X", X)):
        if a.dtype.kind not in "biuf":
            raise TypeError(f"squared_error: {name} must be an array of real numbers; got dtype {a.dtype}")
    R, X = R.astype(np.float64), X.astype(np.float64)
    if R.shape != X.shape or R.ndim != 2:
        raise ValueError(f"squared_error: reconstructions have shape {R.shape}; expected that of X, {X.shape}")
    if X.shape[0] == 0:
        raise ValueError("squared_error: X has no rows")
    d = R - X
    return float(np.einsum("ij,ij->", d, d)) / X.shape[0]


@checked(n_components=Integer(1))
def pca_reconstruction(train, X, n_components):
    r"""Reconstructions of ``X`` from its first ``n_components`` principal components,
    fitted on ``train``: ``mean + (X - mean) V V^T`` with ``V`` the leading eigenvectors of
    the training covariance (what scikit-learn's PCA gives, by an eigendecomposition of the
    ``d x d`` covariance in float64).

    Parameters
    ----------
    train : array (examples, d)
        Rows the mean and the components are fitted on.
    X : array (examples, d)
        Rows to reconstruct.
    n_components : int
        Principal components kept, ``1 <= n_components <= d``.

    Returns
    -------
    array (examples of X, d), float64

    Raises
    ------
    TypeError
        If ``n_components`` is not an integer, or the data are not arrays of real numbers.
    ValueError
        If ``n_components`` is below 1 or above ``d``, or the data are not 2-d, have no
        rows, NaN, or different widths.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 5))   # rank 2
    >>> bool(np.allclose(pca_reconstruction(A, A, 2), A))
    True
    """
    if np.ndim(train) != 2:
        raise ValueError(
            f"pca_reconstruction: train must be a 2-d array (examples, features); got shape {np.shape(train)}"
        )
    train = _rows(train, np.shape(train)[1], "pca_reconstruction", "train")
    d = train.shape[1]
    X = _rows(X, d, "pca_reconstruction")
    if n_components > d:
        raise ValueError(f"pca_reconstruction: n_components must be at most {d} (the data's width); got {n_components}")
    train = np.asarray(train, dtype=np.float64)
    mean = train.mean(axis=0)
    C = train - mean
    cov = C.T @ C / max(train.shape[0] - 1, 1)
    _, vecs = np.linalg.eigh(cov)
    V = vecs[:, ::-1][:, :n_components]
    return mean + ((np.asarray(X, dtype=np.float64) - mean) @ V) @ V.T


def plot_reconstructions(originals, reconstructions, shape, *, labels=None, ax=None):
    """Rows of images: the originals on top, then each set of reconstructions (a dict
    ``{name: array}``, or one array) under them, one column per example (the paper's
    figure 2).

    Parameters
    ----------
    originals : array (examples, pixels)
        The images, one per row (grey levels in [0, 1]).
    reconstructions : array (examples, pixels) or dict of them
        One set of reconstructions of ``originals``, or several by name (``{"autoencoder":
        ..., "PCA": ...}``), each drawn as a row of images labelled with its name.
    shape : tuple of int
        The shape of one image (``(28, 28)``); its product is the number of pixels.
    labels : sequence, optional
        One label per example, written above its column.
    ax : matplotlib Axes, optional
        A subplot whose area the grid of images fills (it is replaced by the grid); by
        default a new figure.

    Returns
    -------
    Figure

    Raises
    ------
    ValueError
        If ``originals`` is not 2-d with ``prod(shape)`` columns, a set of reconstructions
        has not the shape of ``originals``, ``labels`` has not one entry per example, or
        ``ax`` is not a subplot (it has no place in a grid of subplots).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> X = np.random.default_rng(0).random((4, 6))
    >>> fig = plot_reconstructions(X, {"noisy": X + 0.1, "PCA": pca_reconstruction(X, X, 1)}, (2, 3), labels="abcd")
    >>> len(fig.axes), fig.axes[0].get_title(), fig.axes[4].get_ylabel()
    (12, 'a', 'noisy')
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    where = "plot_reconstructions"
    shape = tuple(int(d) for d in np.atleast_1d(shape))
    width = int(np.prod(shape))
    sets = reconstructions if isinstance(reconstructions, dict) else {"reconstruction": reconstructions}
    rows = [("original", np.asarray(originals))] + [(k, np.asarray(v)) for k, v in sets.items()]
    first = rows[0][1]
    if first.ndim != 2 or first.shape[1] != width:
        raise ValueError(
            f"{where}: originals must have shape (examples, {width}) (images of shape {shape}); got {first.shape}"
        )
    for name, images in rows[1:]:
        if images.shape != first.shape:
            raise ValueError(f"{where}: reconstructions {name!r} have shape {images.shape}; originals {first.shape}")
    n = first.shape[0]
    if labels is not None and len(labels) != n:
        raise ValueError(f"{where}: labels has {len(labels)} entries; expected one per example ({n})")
    if ax is None:
        fig, axes = plt.subplots(len(rows), n, figsize=(0.9 * n, 1.0 * len(rows) + 0.2), squeeze=False)
    else:
        spec = ax.get_subplotspec()
        if spec is None:
            raise ValueError(f"{where}: ax must be a subplot (plt.subplots, fig.add_subplot); got one without a grid")
        fig, grid = ax.figure, spec.subgridspec(len(rows), n)
        ax.remove()
        axes = np.array([[fig.add_subplot(grid[r, c]) for c in range(n)] for r in range(len(rows))])
    for r, (name, images) in enumerate(rows):
        for c in range(n):
            a = axes[r, c]
            a.imshow(images[c].reshape(shape), cmap="gray_r", vmin=0, vmax=1)
            a.set_xticks([])
            a.set_yticks([])
            if c == 0:
                a.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
            if r == 0 and labels is not None:
                a.set_title(str(labels[c]), fontsize=8)
    if ax is None:  # a figure of its own; a caller's layout is the caller's
        fig.tight_layout()
    return fig


def plot_code_map(codes, labels, *, ax=None, title="2-D codes of the test set"):
    """A scatter plot of 2-D codes coloured by class label (the paper's figure 3).

    Parameters
    ----------
    codes : array (examples, 2)
        Two-dimensional codes (:func:`encode` of a network with a 2-unit code, or the first
        two principal components).
    labels : array (examples,)
        The class of each row; one colour per class, with a legend.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    title : str
        The axes' title.

    Returns
    -------
    Axes

    Raises
    ------
    ValueError
        If ``codes`` is not of shape (examples, 2), or ``labels`` has not one entry per row.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> codes = np.random.default_rng(0).normal(size=(30, 2))
    >>> ax = plot_code_map(codes, np.arange(30) % 3, title="three classes")
    >>> len(ax.collections), ax.get_title()
    (3, 'three classes')
    >>> plt.close(ax.figure)
    """
    import matplotlib.pyplot as plt

    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"plot_code_map: codes must have shape (examples, 2); got {codes.shape}")
    labels = np.asarray(labels)
    if labels.shape != (codes.shape[0],):
        raise ValueError(
            f"plot_code_map: labels must have shape ({codes.shape[0]},) (one per row of codes); got {labels.shape}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    cmap = plt.get_cmap("tab10")
    for i, lab in enumerate(np.unique(labels)):
        m = labels == lab
        ax.scatter(codes[m, 0], codes[m, 1], s=3, color=cmap(i % 10), label=str(lab), alpha=0.6)
    ax.legend(markerscale=4, fontsize=7, loc="best", ncol=2)
    ax.set_title(title)
    return ax
