"""Unit kinds: what a unit's state can be and what energy it carries on its own.

A kind is defined by three things and nothing else:

* its **support** -- two values (``binary`` {0, 1}, ``spin`` {-1, +1}), one of K
  categories stored one-hot (``softmax``), or the real line (``gaussian``);
* its **self-energy** ``f(s; theta)``, a sympy expression in the state ``s`` of one
  column and the kind's parameters ``theta``;
* its **statistic** ``T(s; theta)``, the quantity that enters couplings: the energy
  of a model is ``E(s) = sum_i f(s_i) - sum_(i,j) T(s_i) W_ij T(s_j)``.

Everything else (conditionals, analytic sums over a unit, gradients) is derived from
these by :mod:`graphmrf.symbolic`; no sampler or enumeration looks at a kind's name.

Adding a kind touches nothing but this registry:

>>> import numpy as np
>>> from graphmrf.kinds import KINDS, Kind, Param, register, S, BIAS
>>> tern = register(Kind("ternary", support=(-1, 0, 1), self_energy=-BIAS * S,
...                      statistic=S, params=(Param("bias"),)))
>>> from graphmrf.symbolic import derive
>>> derive(tern).logit_exprs
[beta*(bias + x), 2*beta*(bias + x)]
>>> ops = derive(tern).numeric(np)
>>> round(float(ops.log_partition(np.zeros((1, 1)), {"bias": np.zeros(1)}, 1.0, 1)[0, 0]), 6)  # log 3
1.098612
>>> del KINDS["ternary"]  # the registry is global: the example leaves it as it found it
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from .errors import ModelError

__all__ = ["Kind", "Param", "register", "get_kind", "KINDS", "S", "X", "BETA", "BIAS", "LOG_SIGMA"]

#: The state of one column of a unit.
S = sp.Symbol("s", real=True)
#: The coupling input ("field") of one column: sum_j W_ij T(s_j).
X = sp.Symbol("x", real=True)
#: Inverse temperature; a parameter of sampling, never of the model.
BETA = sp.Symbol("beta", positive=True)
BIAS = sp.Symbol("bias", real=True)
LOG_SIGMA = sp.Symbol("log_sigma", real=True)


def _identity(v):
    return v


def _finite(v):
    return bool(np.all(np.isfinite(v)))


@dataclass(frozen=True)
class Param:
    """One per-column parameter of a kind.

    Parameters
    ----------
    name : str
        Internal name (the sympy symbol's name), e.g. ``"log_sigma"``.
    attr : str, optional
        Name of the graph attribute that holds it (``"sigma"``); defaults to ``name``.
    default : float
        Value used when the attribute is absent (in graph units).
    to_internal, from_internal : callable
        Map a graph value to the internal parameter and back (``log`` / ``exp``).
    valid : callable
        Predicate on graph values.
    rule : str
        What ``valid`` asks, for the message when it fails ("must be finite and > 0").
    limit : callable, optional
        ``limit(dtype) -> (low, high)``: the range of *internal* values with which the
        energy stays computable in that float type (``log_sigma`` beyond it gives a sigma
        of 0 or infinity, or an infinite ``1 / sigma**2``). A training step that would
        leave it is a divergence.

    Examples
    --------
    >>> import numpy as np
    >>> scale = Param("log_sigma", attr="sigma", default=1.0, to_internal=np.log, from_internal=np.exp)
    >>> scale.graph_attr, scale.symbol, float(scale.from_internal(scale.to_internal(2.0)))
    ('sigma', log_sigma, 2.0)
    """

    name: str
    attr: str = ""
    default: float = 0.0
    to_internal: Callable = _identity
    from_internal: Callable = _identity
    valid: Callable = _finite
    rule: str = "must be finite"
    limit: Callable = None

    @property
    def symbol(self):
        return sp.Symbol(self.name, real=True)

    @property
    def graph_attr(self):
        return self.attr or self.name


@dataclass(frozen=True)
class Kind:
    """A unit kind: support, self-energy and coupling statistic.

    Parameters
    ----------
    name : str
    support : tuple of two or more numbers, ``"onehot"`` or ``"real"``
        Discrete values of one column, one-hot over K categories (each column a
        0/1 indicator, exactly one set), or the real line.
    self_energy : sympy expression in :data:`S` and the parameters' symbols
        Energy of one column on its own, ``f(s; theta)``.
    statistic : sympy expression
        ``T(s; theta)``, what the column contributes to couplings.
    params : tuple of :class:`Param`
        Per-column parameters.

    Examples
    --------
    The Gaussian kind: ``f(s) = (s - b)^2 / (2 sigma^2)``, coupled through ``s / sigma``.

    >>> k = get_kind("gaussian")
    >>> k.self_energy, k.statistic
    ((-bias + s)**2*exp(-2*log_sigma)/2, s*exp(-log_sigma))
    >>> k.discrete, get_kind("softmax").onehot
    (False, True)
    """

    name: str
    support: object
    self_energy: sp.Expr
    statistic: sp.Expr
    params: tuple = field(default_factory=tuple)

    @property
    def discrete(self):
        return self.support != "real"

    @property
    def onehot(self):
        return self.support == "onehot"

    def n_states(self, width):
        """Number of states of one unit of ``width`` columns (``inf`` if real).

        Parameters
        ----------
        width : int
            The unit's columns (K for a softmax unit of K categories, else 1).

        Returns
        -------
        int or float

        Examples
        --------
        >>> get_kind("spin").n_states(1), get_kind("softmax").n_states(5), get_kind("gaussian").n_states(1)
        (2, 5, inf)
        """
        if self.support == "real":
            return float("inf")
        if self.onehot:
            return width
        return len(self.support)

    def param(self, name):
        """The kind's parameter called ``name`` (its internal name).

        Parameters
        ----------
        name : str
            E.g. ``"bias"`` or ``"log_sigma"``.

        Returns
        -------
        Param

        Raises
        ------
        KeyError
            If the kind has no such parameter.

        Examples
        --------
        >>> get_kind("gaussian").param("log_sigma").graph_attr
        'sigma'
        """
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


KINDS = {}


def register(kind):
    """Add ``kind`` to the registry and return it.

    From then on a node may declare ``kind=kind.name``; the compiler derives its
    conditionals and gradients from the self-energy and statistic (:mod:`graphmrf.symbolic`).
    A kind of the same name is replaced.

    Parameters
    ----------
    kind : Kind
        The kind to add.

    Returns
    -------
    Kind
        ``kind``.

    Raises
    ------
    TypeError
        If ``kind`` is not a :class:`Kind`.
    ValueError
        If a discrete support has fewer than two distinct values.

    Examples
    --------
    >>> half = register(Kind("half", support=(0, 0.5), self_energy=-BIAS * S, statistic=S, params=(Param("bias"),)))
    >>> get_kind("half") is half
    True
    >>> del KINDS["half"]  # leave the registry as it was
    >>> register(Kind("one", support=(1,), self_energy=S, statistic=S))
    Traceback (most recent call last):
    ...
    ValueError: kind 'one': support must have two or more distinct values; got (1,)
    """
    if not isinstance(kind, Kind):
        raise TypeError(f"register: expected a Kind, got {type(kind).__name__}")
    if kind.support not in ("onehot", "real"):
        values = tuple(kind.support)
        if len(values) < 2 or len(set(values)) != len(values):
            raise ValueError(f"kind {kind.name!r}: support must have two or more distinct values; got {values}")
    KINDS[kind.name] = kind
    return kind


def get_kind(name, where="node"):
    """Look up a registered kind, raising :class:`ModelError` naming ``where``.

    Parameters
    ----------
    name : str
        The kind's name, e.g. ``"binary"``.
    where : str
        What declares it, for the message (``"node 'v'"``).

    Returns
    -------
    Kind

    Raises
    ------
    ModelError
        If no kind of that name is registered; the message lists those that are.

    Examples
    --------
    >>> get_kind("spin").support
    (-1, 1)
    >>> get_kind("Binary", where="node 'v'")
    Traceback (most recent call last):
    ...
    graphmrf.errors.ModelError: node 'v': unknown kind 'Binary'; expected one of binary, ...
    """
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(KINDS))
        raise ModelError(f"{where}: unknown kind {name!r}; expected one of {known}") from None


def _positive(v):
    return bool(np.all(np.isfinite(v)) and np.all(np.asarray(v) > 0))


_SIGMA = sp.exp(LOG_SIGMA)


def _log_scale_limit(dtype):
    """``|log sigma|`` up to a quarter of the largest exponent: sigma, 1/sigma**2 and the
    products of a few of them stay finite and nonzero (float32: sigma in [3e-10, 4e9])."""
    m = float(np.log(np.finfo(dtype).max)) / 4
    return (-m, m)


register(Kind("binary", support=(0, 1), self_energy=-BIAS * S, statistic=S, params=(Param("bias"),)))
register(Kind("spin", support=(-1, 1), self_energy=-BIAS * S, statistic=S, params=(Param("bias"),)))
register(Kind("softmax", support="onehot", self_energy=-BIAS * S, statistic=S, params=(Param("bias"),)))
register(
    Kind(
        "gaussian",
        support="real",
        self_energy=(S - BIAS) ** 2 / (2 * _SIGMA**2),
        statistic=S / _SIGMA,
        params=(
            Param("bias"),
            Param(
                "log_sigma",
                attr="sigma",
                default=1.0,
                to_internal=np.log,
                from_internal=np.exp,
                valid=_positive,
                rule="must be finite and > 0",
                limit=_log_scale_limit,
            ),
        ),
    )
)
