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
    """Base class of every error graphmrf raises on purpose."""


class ModelError(GraphMRFError, ValueError):
    """A model declaration (a graph, its attributes, or a file) breaks a rule.

    Raised at validation, before anything is compiled; the message names the
    node or edge, the rule and the offending value.
    """


class ModelFileError(ModelError):
    """A model file is truncated, malformed or of an unknown format version."""


class EnumerationTooLargeError(GraphMRFError, ValueError):
    """Exact enumeration was asked for more states than the configured limit.

    Attributes
    ----------
    n_states : int
        Number of joint states that would have to be enumerated.
    limit : int
        The ``max_states`` limit in force.
    """

    def __init__(self, message, n_states, limit):
        super().__init__(message)
        self.n_states = n_states
        self.limit = limit


class BackendUnavailableError(GraphMRFError, RuntimeError):
    """The requested array backend (CuPy, a GPU) is not available here."""


class DivergenceError(GraphMRFError, FloatingPointError):
    """Training produced a non-finite parameter; the last good parameters were restored."""


class ChainTooShortError(GraphMRFError, ValueError):
    """The chains are too short for a reliable autocorrelation time.

    Attributes
    ----------
    tau : float
        The (unreliable) estimate of the integrated autocorrelation time.
    """

    def __init__(self, message, tau):
        super().__init__(message)
        self.tau = tau
