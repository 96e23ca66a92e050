"""Progress bars for long runs (tqdm).

Every long-running public function (``fit``, ``sample``, ``anneal``, AIS, ...) takes
``progress=`` and hands it to :class:`Progress`:

* ``None`` (the default): a bar appears once the run has lasted :data:`LONG_RUN` seconds,
  and only where someone can see it -- standard error is a terminal, or the code runs in a
  Jupyter kernel. Short runs, pipes, log files and test suites (which capture standard
  error) get no output at all.
* ``True``: a bar from the first step, wherever standard error goes.
* ``False``: never a bar.

In a notebook the bar is a widget when ipywidgets is installed, text on the cell's
standard output otherwise.

>>> with Progress(3, "demo", enabled=False) as bar:
...     for step in range(3):
...         bar.update(loss=0.5)
>>> bar.n
3
"""

import sys

__all__ = ["Progress", "LONG_RUN", "in_notebook"]

#: seconds a run must last before a default (``progress=None``) bar appears
LONG_RUN = 2.0


def in_notebook():
    """True when running in a Jupyter (IPython) kernel, where output is shown in a notebook.

    Returns
    -------
    bool

    Examples
    --------
    >>> in_notebook()
    False
    """
    ipython = sys.modules.get("IPython")  # never import IPython just to ask
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _bar():
    """The tqdm class to use here, and the stream it writes to."""
    if in_notebook():
        try:
            import ipywidgets  # noqa: F401  (tqdm.notebook warns and degrades without it)
        except ImportError:
            from tqdm.std import tqdm

            return tqdm, sys.stdout  # a notebook shows stderr as an alarm: text bars go to stdout
        from tqdm.notebook import tqdm

        return tqdm, sys.stdout
    from tqdm.std import tqdm

    return tqdm, sys.stderr


class Progress:
    """``with Progress(total, desc, enabled) as bar: bar.update(**postfix)``.

    Parameters
    ----------
    total : int
        Number of steps (``update`` calls) the run will make.
    desc : str
        What runs, shown before the bar (``"fit (cd)"``).
    enabled : bool or None
        ``None``: a bar only for runs longer than :data:`LONG_RUN` seconds on a terminal
        or in a notebook; ``True``: always; ``False``: never.

    Attributes
    ----------
    n : int
        Steps counted so far (kept with or without a bar).
    bar : tqdm or None
        The bar, when one may be shown.

    Raises
    ------
    TypeError
        If ``enabled`` is not True, False or None.

    Examples
    --------
    A long loop of one's own that reports like the library's:

    >>> with Progress(100, "my loop", enabled=False) as bar:
    ...     for step in range(100):
    ...         bar.update(loss=1.0 / (step + 1))
    >>> bar.n, bar.bar
    (100, None)
    >>> Progress(100, "my loop", enabled="yes")
    Traceback (most recent call last):
    ...
    TypeError: progress must be True, False or None; got 'yes'
    """

    def __init__(self, total, desc, enabled=None):
        if enabled is not None:
            numpy_bool = type(enabled).__module__ == "numpy" and "bool" in type(enabled).__name__
            if not (isinstance(enabled, bool) or numpy_bool):
                raise TypeError(f"progress must be True, False or None; got {enabled!r}")
            enabled = bool(enabled)
        self.n = 0
        self.bar = None
        if enabled is False:
            return
        if enabled is None:
            if not (in_notebook() or _isatty(sys.stderr)):
                return
            delay = LONG_RUN
        else:
            delay = 0.0
        tqdm, stream = _bar()
        self.bar = tqdm(total=total, desc=desc, leave=False, delay=delay, file=stream)

    def __enter__(self):
        return self

    def update(self, **postfix):
        """Count one step; ``postfix`` (e.g. ``loss=0.31``) is shown after the bar.

        Parameters
        ----------
        **postfix
            Named values to show, e.g. ``energy=-12.5``.

        Examples
        --------
        >>> bar = Progress(2, "demo", enabled=False)
        >>> bar.update(energy=-12.5)
        >>> bar.n
        1
        """
        self.n += 1
        if self.bar is not None:
            if postfix:
                self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)

    def close(self):
        """Remove the bar (a finished run leaves no trace on the terminal).

        Leaving a ``with`` block calls it; calling it again does nothing.

        Examples
        --------
        >>> bar = Progress(2, "demo", enabled=True)  # a bar on standard error from the start
        >>> bar.update()
        >>> bar.close()
        >>> bar.bar, bar.n
        (None, 1)
        """
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __exit__(self, *exc):
        self.close()
        return False


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
