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
    code : {"linear", "binary"}
    epochs, lr, k, batch_size, momentum, weight_decay, stop_when, progress
        For each RBM's :func:`graphmrf.fit` (``stop_when`` may end one early: a time budget).
    code_lr : float
        The top RBM's learning rate when its units are linear.
    seed : int or Generator, optional
    backend, dtype
        Of the RBMs (and so of the unrolled network).

    Returns
    -------
    list of Program
        The RBMs, bottom first: :func:`graphmrf.feedforward.autoencoder` unrolls them.

    Raises
    ------
    ValueError
        For data whose width is not ``sizes[0]``, with NaN, or outside [0, 1] for binary
        units; for an unknown code or visible kind (named with its value).
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
        From :func:`graphmrf.feedforward.autoencoder` (as many outputs as inputs).
    X : array (examples, inputs)
    method : {"cg", "sgd"}
    epochs, batch_size, line_searches, lr, momentum, weight_decay
        See :func:`graphmrf.feedforward.fit`.
    masking : float in [0, 1)
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
    DivergenceError
        When a step makes the loss or a parameter non-finite; the parameters of the last
        completed epoch are restored.
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


def encode(network, X, *, chunk=10000):
    """The code of each row: the activations of the last encoder layer (``hL``).

    >>> import graphmrf as gm
    >>> rbms = [gm.compile(gm.rbm(6, 4, seed=0)), gm.compile(gm.rbm(4, 2, hidden="gaussian", seed=1))]
    >>> encode(gm.feedforward.autoencoder(rbms), np.zeros((3, 6))).shape
    (3, 2)
    """
    _check_autoencoder(network, "encode")
    X = _rows(X, network.n_in, "encode")
    name = _code_layer(network)
    return np.concatenate([to_host(network.forward(X[a : a + chunk], upto=name)) for a in range(0, X.shape[0], chunk)])


def reconstruct(network, X, *, chunk=10000):
    """The network's reconstruction of each row (its output)."""
    _check_autoencoder(network, "reconstruct")
    X = _rows(X, network.n_in, "reconstruct")
    return np.concatenate([to_host(network.forward(X[a : a + chunk])) for a in range(0, X.shape[0], chunk)])


def reconstruction_error(network, X, *, chunk=10000):
    r"""Average squared reconstruction error per row, ``mean_n sum_j (y_nj - x_nj)^2`` (the
    paper's figure: per image, summed over its pixels), in float64."""
    _check_autoencoder(network, "reconstruction_error")
    X = _rows(X, network.n_in, "reconstruction_error")
    total = 0.0
    for a in range(0, X.shape[0], chunk):
        d = np.asarray(to_host(network.forward(X[a : a + chunk])), dtype=np.float64) - X[a : a + chunk]
        total += float(np.einsum("ij,ij->", d, d))
    return total / X.shape[0]


def squared_error(reconstructions, X):
    r"""``mean_n sum_j (r_nj - x_nj)^2``: the average squared error per row (float64).

    >>> squared_error(np.array([[0.5, 1.0]]), np.array([[0.0, 0.0]]))
    1.25
    """
    R = np.asarray(to_host(reconstructions), dtype=np.float64)
    X = np.asarray(to_host(X), dtype=np.float64)
    if R.shape != X.shape or R.ndim != 2:
        raise ValueError(f"squared_error: reconstructions have shape {R.shape}; expected that of X, {X.shape}")
    d = R - X
    return float(np.einsum("ij,ij->", d, d)) / X.shape[0]


@checked(n_components=Integer(1))
def pca_reconstruction(train, X, n_components):
    r"""Reconstructions of ``X`` from its first ``n_components`` principal components,
    fitted on ``train``: ``mean + (X - mean) V V^T`` with ``V`` the leading eigenvectors of
    the training covariance (what scikit-learn's PCA gives, by an eigendecomposition of the
    ``d x d`` covariance in float64).

    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 5))   # rank 2
    >>> bool(np.allclose(pca_reconstruction(A, A, 2), A))
    True
    """
    train = _rows(train, np.shape(train)[1] if np.ndim(train) == 2 else -1, "pca_reconstruction", "train")
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
    ``{name: array}``, or one array) under them, one column per example.

    Returns
    -------
    Figure
    """
    import matplotlib.pyplot as plt

    sets = reconstructions if isinstance(reconstructions, dict) else {"reconstruction": reconstructions}
    rows = [("original", np.asarray(originals))] + [(k, np.asarray(v)) for k, v in sets.items()]
    n = rows[0][1].shape[0]
    fig, axes = plt.subplots(len(rows), n, figsize=(0.9 * n, 1.0 * len(rows) + 0.2), squeeze=False)
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
    fig.tight_layout()
    return fig


def plot_code_map(codes, labels, *, ax=None, title="2-D codes of the test set"):
    """A scatter plot of 2-D codes coloured by class label (the paper's figure 3).

    Returns
    -------
    Axes
    """
    import matplotlib.pyplot as plt

    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"plot_code_map: codes must have shape (examples, 2); got {codes.shape}")
    labels = np.asarray(labels)
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    cmap = plt.get_cmap("tab10")
    for i, lab in enumerate(np.unique(labels)):
        m = labels == lab
        ax.scatter(codes[m, 0], codes[m, 1], s=3, color=cmap(i % 10), label=str(lab), alpha=0.6)
    ax.legend(markerscale=4, fontsize=7, loc="best", ncol=2)
    ax.set_title(title)
    return ax
