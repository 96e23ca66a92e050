"""Pictures people would rather see than read (matplotlib, the ``plot`` extra).

>>> import numpy as np, matplotlib
>>> matplotlib.use("Agg")
>>> ax = tiles(np.random.default_rng(0).random((6, 64)), (8, 8))
>>> ax.get_images()[0].get_array().shape
(19, 28)
"""

import io
import os

import numpy as np

from .samplers.progress import in_notebook

__all__ = ["show", "tiles", "filters", "training_curves"]

#: the environment variable naming a folder where :func:`show` saves every figure
FIGURES_VARIABLE = "GRAPHMRF_FIGURES"


def _plt():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("plots need matplotlib: pip install 'graphmrf[plot]'") from exc
    return plt


def show(fig, name, *, directory=None, dpi=100):
    """Show a finished figure wherever the code runs, then close it.

    One call for scripts, notebooks and CI alike:

    * saved as ``directory/name.png`` when ``directory`` is given or the environment
      variable ``GRAPHMRF_FIGURES`` names a folder (created if missing);
    * displayed inline (as a PNG, whatever matplotlib's backend) in a Jupyter notebook;
    * left open in an interactive matplotlib session (``plt.ion()``), whose windows show it;
    * otherwise (a plain script, a test) closed without a word -- never ``plt.show()``,
      which blocks a script and warns under the non-interactive Agg backend.

    Parameters
    ----------
    fig : matplotlib Figure or Axes
        The figure (an Axes stands for its figure).
    name : str
        A file name without a folder; ``.png`` is added when it has no extension.
    directory : str or path, optional
        Where to save it (default: ``$GRAPHMRF_FIGURES``, and nowhere when unset).
    dpi : int
        Resolution of the saved and displayed image.

    Returns
    -------
    str or None
        The path written, or None when nothing was saved.

    Raises
    ------
    TypeError
        ``fig`` is not a matplotlib Figure or Axes.
    ValueError
        ``name`` is empty or names a folder.

    Examples
    --------
    >>> import tempfile, matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [1, 0])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = show(fig, "line", directory=folder)
    ...     os.path.basename(path), os.path.exists(path)
    ('line.png', True)
    >>> plt.fignum_exists(fig.number)
    False
    """
    plt = _plt()
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    if isinstance(fig, Axes):
        fig = fig.figure
    if not isinstance(fig, Figure):
        raise TypeError(f"show: fig must be a matplotlib Figure or Axes; got {type(fig).__name__}")
    if not isinstance(name, str) or not name or os.path.basename(name) != name or name in (".", ".."):
        raise ValueError(f"show: name must be a file name without a folder; got {name!r}")
    if not os.path.splitext(name)[1]:
        name += ".png"
    if directory is None:
        directory = os.environ.get(FIGURES_VARIABLE) or None
    path = None
    if directory is not None:
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(os.fspath(directory), name)
        fig.savefig(path, dpi=dpi)
    if in_notebook():
        from IPython.display import Image, display

        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=dpi)
        display(Image(data=png.getvalue(), format="png"))
    elif plt.isinteractive() and getattr(fig, "number", None) is not None and plt.fignum_exists(fig.number):
        return path  # an interactive session's window shows it; closing it would hide it
    plt.close(fig)
    return path


def tiles(rows, shape, ncols=None, ax=None, title=None, cmap="gray_r", pad=1):
    """Each row of ``rows`` reshaped to ``shape`` and laid out on a grid, one image.

    Rows are scaled to [0, 1] one by one (so weight filters of any scale show their shape).

    Parameters
    ----------
    rows : array (n, h * w)
        The images, one per row.
    shape : (int, int)
        ``(h, w)`` of each image.
    ncols : int, optional
        Images per grid row (default: about the square root of ``n``).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).
    title : str, optional
        The Axes' title.
    cmap : str
        The colour map.
    pad : int
        Blank pixels between images.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    ImportError
        If matplotlib is not installed.

    Examples
    --------
    >>> import numpy as np, matplotlib, graphmrf as gm
    >>> matplotlib.use("Agg")
    >>> ax = tiles(gm.datasets.bars_and_stripes(4), (4, 4), ncols=8, title="bars and stripes")
    >>> ax.get_images()[0].get_array().shape, ax.get_title()
    ((21, 41), 'bars and stripes')
    >>> show(ax, "bars")  # closed here; saved or shown where figures are wanted
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
        top, left = pad + y * (h + pad), pad + x * (w + pad)
        canvas[top : top + h, left : left + w] = img.reshape(h, w)
    if ax is None:
        _, ax = plt.subplots(figsize=(ncols * 0.6 + 1, nrows * 0.6 + 1))
    ax.imshow(canvas, cmap=cmap, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def filters(program, shape, visible="v", hidden="h", n=None, ax=None):
    """The weights into each hidden unit of a layer pair, as images of ``shape``.

    Parameters
    ----------
    program : Program
        The model.
    shape : (int, int)
        ``(h, w)`` of the visible layer as an image.
    visible, hidden : node
        The two layer nodes.
    n : int, optional
        Show only the first ``n`` hidden units.
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    KeyError
        If the model has no such edge.

    Examples
    --------
    >>> import matplotlib, graphmrf as gm
    >>> matplotlib.use("Agg")
    >>> ax = filters(gm.compile(gm.rbm(16, 6, seed=0)), (4, 4), n=4)
    >>> ax.get_title(), ax.get_images()[0].get_array().shape
    ('filters v->h', (11, 11))
    >>> show(ax, "filters")
    """
    W = np.asarray(program.get((visible, hidden), "weight")).T
    return tiles(W[:n] if n else W, shape, ax=ax, title=f"filters {visible}->{hidden}")


def training_curves(history, keys=None):
    """Every monitored quantity of a :class:`graphmrf.History` against the epoch.

    Parameters
    ----------
    history : History
        What :func:`graphmrf.fit` returned.
    keys : list of str, optional
        Which quantities (default: all of them).

    Returns
    -------
    array of matplotlib Axes

    Examples
    --------
    >>> import numpy as np, matplotlib, graphmrf as gm
    >>> matplotlib.use("Agg")
    >>> prog = gm.compile(gm.rbm(4, 2, seed=0), dtype=np.float64)
    >>> hist = gm.fit(prog, np.eye(4), epochs=3, rule="exact", monitors=["log_likelihood", "weight_norm"])
    >>> axes = training_curves(hist)
    >>> [ax.get_title() for ax in axes]
    ['log_likelihood', 'weight_norm']
    >>> show(axes[0], "curves")
    """
    return history.plot(keys)
