"""Data sets generated or shipped with packages; nothing is downloaded.

>>> X = bars_and_stripes(3)
>>> X.shape, int(X.sum(axis=1).min()), int(X.sum(axis=1).max())
((14, 9), 0, 9)
"""

import itertools

import numpy as np

__all__ = ["bars_and_stripes"]


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
