"""Data sets generated or shipped with packages; nothing is downloaded.

>>> X = bars_and_stripes(3)
>>> X.shape, int(X.sum(axis=1).min()), int(X.sum(axis=1).max())
((14, 9), 0, 9)
"""

import itertools

import numpy as np

__all__ = ["bars_and_stripes", "digits"]


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
