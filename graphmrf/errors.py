"""One error hierarchy for graphmrf.

Every message has one shape: the thing that is wrong (a node, an edge, a file, an
argument), the rule it breaks, and the value it has, e.g.
``edge ('v', 'h'): weight has shape (500, 784); expected (784, 500)``.

Every error class graphmrf defines lives here, under :class:`GraphMRFError`, and also
derives from the built-in exception it refines, so ``except ValueError`` keeps working.
(The warnings the library issues, ``datasets.DataWarning`` and ``sklearn.DataRangeWarning``,
are ``UserWarning`` subclasses kept beside the code that issues them.)

>>> import graphmrf.errors as errors
>>> [name for name in errors.__all__ if not issubclass(getattr(errors, name), errors.GraphMRFError)]
[]
>>> from graphmrf import diagnostics, train
>>> train.DivergenceError is errors.DivergenceError, diagnostics.ChainTooShortError is errors.ChainTooShortError
(True, True)
"""

__all__ = [
    "GraphMRFError",
    "ModelError",
    "ModelFileError",
    "EnumerationTooLargeError",
    "BackendUnavailableError",
    "DivergenceError",
    "ChainTooShortError",
]


class GraphMRFError(Exception):
    """Base class of every error graphmrf raises on purpose.

    Each subclass also derives from the built-in exception it refines (``ValueError``,
    ``RuntimeError``, ``FloatingPointError``), so either ``except`` catches it.

    Examples
    --------
    >>> import networkx as nx, graphmrf as gm
    >>> g = nx.Graph()
    >>> g.add_node("a", kind="bianry")
    >>> try:
    ...     gm.compile(g)
    ... except gm.GraphMRFError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ValueError))
    ModelError True
    """


class ModelError(GraphMRFError, ValueError):
    """A model declaration (a graph, its attributes, or a file) breaks a rule.

    Raised at validation, before anything is compiled; the message names the
    node or edge, the rule and the offending value.

    Examples
    --------
    >>> import networkx as nx, graphmrf as gm
    >>> g = nx.Graph()
    >>> g.add_node("a", kind="bianry")
    >>> gm.validate(g)
    Traceback (most recent call last):
    ...
    graphmrf.errors.ModelError: node 'a': unknown kind 'bianry'; expected one of binary, gaussian, ...
    """


class ModelFileError(ModelError):
    """A model file is truncated, malformed or of an unknown format version.

    Raised by :func:`graphmrf.load` (and :func:`graphmrf.io.load_checkpoint`) before
    anything is built from the file; the message names the file and what is wrong.

    Examples
    --------
    >>> import os, tempfile, graphmrf as gm
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(b"not a zip archive")
    >>> try:
    ...     gm.load(path)
    ... except gm.ModelFileError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    truncated or malformed (BadZipFile: File is not a zip file)
    """


class EnumerationTooLargeError(GraphMRFError, ValueError):
    """Exact enumeration was asked for more states than the configured limit.

    The message states the state count, the limit and the estimated time and memory.

    Parameters
    ----------
    message : str
        The message.
    n_states : int
        Number of joint states that would have to be enumerated.
    limit : int
        The ``max_states`` limit in force.

    Attributes
    ----------
    n_states : int
        Number of joint states that would have to be enumerated.
    limit : int
        The ``max_states`` limit in force.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(12, 12, seed=0))
    >>> try:
    ...     gm.exact.log_partition(prog, max_states=1000)
    ... except gm.EnumerationTooLargeError as exc:
    ...     print(exc.n_states, exc.limit)
    4096 1000
    """

    def __init__(self, message, n_states, limit):
        super().__init__(message)
        self.n_states = n_states
        self.limit = limit


class BackendUnavailableError(GraphMRFError, RuntimeError):
    """The requested array backend (CuPy, a GPU) is not available here.

    Examples
    --------
    Fall back to NumPy where there is no GPU:

    >>> import graphmrf as gm
    >>> try:
    ...     backend = gm.get_backend("cupy")
    ... except gm.BackendUnavailableError:
    ...     backend = gm.get_backend("numpy")
    >>> backend.name in ("numpy", "cupy")
    True
    """


class DivergenceError(GraphMRFError, FloatingPointError):
    """Training produced a non-finite parameter; the last good parameters were restored.

    Examples
    --------
    A learning rate of 1e38 overflows float32 in the first step, which is refused:

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> before = prog.params["v~h.weight"].copy()
    >>> try:
    ...     gm.fit(prog, np.array([[1, 0, 1]]), epochs=1, lr=1e38, rule="exact")
    ... except gm.DivergenceError as exc:
    ...     print(str(exc).split(";")[0])
    fit: epoch 1: parameter 'v.bias' became non-finite
    >>> bool((prog.params["v~h.weight"] == before).all())
    True
    """


class ChainTooShortError(GraphMRFError, ValueError):
    """The chains are too short for a reliable autocorrelation time.

    Parameters
    ----------
    message : str
        The message.
    tau : float or array
        The (unreliable) estimate of the integrated autocorrelation time.

    Attributes
    ----------
    tau : float or array
        The (unreliable) estimate of the integrated autocorrelation time.

    Examples
    --------
    A random walk never forgets its start: 100 steps are far too few.

    >>> import numpy as np, graphmrf as gm
    >>> walk = np.cumsum(np.random.default_rng(0).normal(size=(4, 100, 1)), axis=1)
    >>> try:
    ...     gm.diagnostics.integrated_autocorr_time(walk)
    ... except gm.ChainTooShortError as exc:
    ...     print(bool(exc.tau[0] > 2))
    True
    """

    def __init__(self, message, tau):
        super().__init__(message)
        self.tau = tau
