"""Pictures people would rather see than read (matplotlib, the ``plot`` extra).

>>> import numpy as np, matplotlib
>>> matplotlib.use("Agg")
>>> ax = tiles(np.random.default_rng(0).random((6, 64)), (8, 8))
>>> ax.get_images()[0].get_array().shape
(19, 28)
"""

import numpy as np

__all__ = ["tiles", "filters", "training_curves"]


def _plt():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("plots need matplotlib: pip install 'graphmrf[plot]'") from exc
    return plt


def tiles(rows, shape, ncols=None, ax=None, title=None, cmap="gray_r", pad=1):
    """Each row of ``rows`` reshaped to ``shape`` and laid out on a grid, one image.

    Rows are scaled to [0, 1] one by one (so weight filters of any scale show their shape).
    """
    plt = _plt()
    rows = np.asarray(rows, dtype=np.float64)
    n = rows.shape[0]
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    h, w = shape
    canvas = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad), np.nan)
    for i, r in enumerate(rows):
        lo, hi = r.min(), r.max()
        img = (r - lo) / (hi - lo) if hi > lo else np.zeros_like(r)
        y, x = divmod(i, ncols)
        canvas[pad + y * (h + pad) : pad + y * (h + pad) + h, pad + x * (w + pad) : pad + x * (w + pad) + w] = img.reshape(h, w)
    if ax is None:
        _, ax = plt.subplots(figsize=(ncols * 0.6 + 1, nrows * 0.6 + 1))
    ax.imshow(canvas, cmap=cmap, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def filters(program, shape, visible="v", hidden="h", n=None, ax=None):
    """The weights into each hidden unit of a layer pair, as images of ``shape``."""
    W = np.asarray(program.get((visible, hidden), "weight")).T
    return tiles(W[:n] if n else W, shape, ax=ax, title=f"filters {visible}->{hidden}")


def training_curves(history, keys=None):
    """Every monitored quantity of a :class:`graphmrf.History` against the epoch."""
    return history.plot(keys)
