"""Data sets generated or shipped with packages; nothing is downloaded.

>>> X = bars_and_stripes(3)
>>> X.shape, int(X.sum(axis=1).min()), int(X.sum(axis=1).max())
((14, 9), 0, 9)
"""

import itertools

import numpy as np

__all__ = ["bars_and_stripes", "digits", "standardize", "DataWarning"]


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
    if binarize == "threshold":
        X = (X > 0.5).astype(np.float64)
    elif binarize == "stochastic":
        X = (np.random.default_rng(seed).random(X.shape) < X).astype(np.float64)
    elif binarize is not None:
        raise ValueError(f"binarize: expected None, 'threshold' or 'stochastic'; got {binarize!r}")
    return X, y


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
