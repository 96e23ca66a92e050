"""One argument contract for the public API.

Every public function declares what each of its arguments may be in one table, the way
scikit-learn's ``_parameter_constraints`` does, and :func:`checked` enforces it before
the function body runs. A value that breaks its rule raises ``TypeError`` (wrong type)
or ``ValueError`` (right type, wrong value) in one shape: the function, the argument,
the rule, and the value it got.

>>> @checked(n_sweeps=Integer(1), beta=BETA, method=Options("gibbs", "metropolis"))
... def run(n_sweeps, beta=1.0, method="gibbs"):
...     return n_sweeps
>>> run(3)
3
>>> run(0)
Traceback (most recent call last):
...
ValueError: run: n_sweeps must be an integer >= 1; got 0
>>> run(5, beta=float("nan"))
Traceback (most recent call last):
...
ValueError: run: beta must be a finite real >= 0.0; got nan
>>> run(5, method="gibs")
Traceback (most recent call last):
...
ValueError: run: method must be one of 'gibbs', 'metropolis'; got 'gibs'
"""

import abc
import functools
import inspect
import numbers

import numpy as np

__all__ = [
    "Constraint",
    "Integer",
    "Real",
    "Options",
    "Names",
    "InstanceOf",
    "SequenceOf",
    "Function",
    "Boolean",
    "Seed",
    "AnyOf",
    "BETA",
    "PROBABILITY",
    "COUNT",
    "checked",
    "check",
]


class Constraint(abc.ABC):
    """A rule one argument must follow: :meth:`admits` says whether ``value`` does,
    ``str(constraint)`` says what is expected ("an integer >= 1").

    A subclass defines :meth:`admits` and ``__str__``, and :meth:`kind_ok` when some
    values are of a type the rule can never admit (those raise ``TypeError``).

    Examples
    --------
    >>> class Even(Constraint):
    ...     def admits(self, value):
    ...         return isinstance(value, int) and value % 2 == 0
    ...     def __str__(self):
    ...         return "an even integer"
    >>> check("tile", "width", 3, Even())
    Traceback (most recent call last):
    ...
    ValueError: tile: width must be an even integer; got 3
    """

    @abc.abstractmethod
    def admits(self, value):
        """Whether ``value`` follows the rule.

        Parameters
        ----------
        value : object
            An argument's value.

        Returns
        -------
        bool

        Examples
        --------
        >>> Integer(1).admits(3), Integer(1).admits(0), Integer(1).admits(2.0)
        (True, False, False)
        """

    def kind_ok(self, value):
        """Whether ``value`` is of a type this rule can admit (decides TypeError vs ValueError).

        Parameters
        ----------
        value : object
            An argument's value.

        Returns
        -------
        bool
            False when no value of this type could follow the rule (a ``TypeError``);
            True when it is the value that is wrong (a ``ValueError``).

        Examples
        --------
        >>> Integer(1).kind_ok(0), Integer(1).kind_ok(2.0)
        (True, False)
        """
        return True


def _is_int(v):
    return isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_real(v):
    return isinstance(v, (numbers.Real, np.floating, np.integer)) and not isinstance(v, (bool, np.bool_))


class Integer(Constraint):
    """An integer (not a bool, not a float) in ``[low, high]``; ``None`` leaves a side open.

    NumPy integers are integers; ``True`` and ``3.0`` are not (a ``TypeError``).

    Parameters
    ----------
    low, high : int, optional
        The bounds, both included.

    Examples
    --------
    >>> str(Integer(1)), str(Integer(0, 9))
    ('an integer >= 1', 'an integer in [0, 9]')
    >>> Integer(1).admits(np.int64(5)), Integer(1).admits(True)
    (True, False)
    """

    def __init__(self, low=None, high=None):
        self.low, self.high = low, high

    def kind_ok(self, value):
        return _is_int(value)

    def admits(self, value):
        if not _is_int(value):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def __str__(self):
        if self.low is not None and self.high is not None:
            return f"an integer in [{self.low}, {self.high}]"
        if self.low is not None:
            return f"an integer >= {self.low}"
        if self.high is not None:
            return f"an integer <= {self.high}"
        return "an integer"


class Real(Constraint):
    """A finite real number (not a bool) between ``low`` and ``high``.

    ``closed`` is "both", "left", "right" or "neither"; a side given as ``None`` is open
    (but infinity is never admitted).

    Parameters
    ----------
    low, high : float, optional
        The bounds; ``None`` leaves that side open.
    closed : {"both", "left", "right", "neither"}
        Which bounds are included.

    Raises
    ------
    ValueError
        If ``closed`` is none of the four.

    Examples
    --------
    >>> rate = Real(0.0, closed="neither")
    >>> str(rate), rate.admits(0.0), rate.admits(1e-3), rate.admits(float("inf"))
    ('a finite real > 0.0', False, True, False)
    >>> str(Real(0.0, 1.0, closed="left"))
    'a real in [0.0, 1.0)'
    """

    def __init__(self, low=None, high=None, closed="both"):
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed: expected 'both', 'left', 'right' or 'neither'; got {closed!r}")
        self.low, self.high, self.closed = low, high, closed

    def kind_ok(self, value):
        return _is_real(value)

    def admits(self, value):
        if not _is_real(value):
            return False
        v = float(value)
        if not np.isfinite(v):
            return False
        if self.low is not None:
            if v < self.low or (v == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if v > self.high or (v == self.high and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self):
        lo_in = self.closed in ("both", "left")
        hi_in = self.closed in ("both", "right")
        if self.low is not None and self.high is not None:
            return f"a real in {'[' if lo_in else '('}{self.low}, {self.high}{']' if hi_in else ')'}"
        if self.low is not None:
            return f"a finite real {'>=' if lo_in else '>'} {self.low}"
        if self.high is not None:
            return f"a finite real {'<=' if hi_in else '<'} {self.high}"
        return "a finite real"


class Options(Constraint):
    """One of a fixed set of strings.

    Parameters
    ----------
    *values : str
        The strings admitted.

    Examples
    --------
    >>> rule = Options("cd", "pcd")
    >>> str(rule), rule.admits("pcd"), rule.kind_ok(1)
    ("one of 'cd', 'pcd'", True, False)
    """

    def __init__(self, *values):
        self.values = tuple(values)

    def kind_ok(self, value):
        return isinstance(value, str)

    def admits(self, value):
        return isinstance(value, str) and value in self.values

    def __str__(self):
        return "one of " + ", ".join(repr(v) for v in self.values)


class Names(Constraint):
    """A sequence (list or tuple, never a bare string) whose items are names from
    ``values`` or, when ``functions`` is True, callables.

    Parameters
    ----------
    *values : str
        The names admitted.
    functions : bool
        Whether callables are admitted as items too.

    Examples
    --------
    >>> rule = Names("weight_norm", "log_likelihood", functions=True)
    >>> rule.admits(["weight_norm", len]), rule.admits(["norm"]), rule.kind_ok("weight_norm")
    (True, False, False)
    """

    def __init__(self, *values, functions=False):
        self.values, self.functions = tuple(values), functions

    def kind_ok(self, value):
        return isinstance(value, (list, tuple))

    def admits(self, value):
        if not isinstance(value, (list, tuple)):
            return False
        return all((isinstance(v, str) and v in self.values) or (self.functions and callable(v)) for v in value)

    def __str__(self):
        extra = " or functions" if self.functions else ""
        return "a list of names from " + ", ".join(repr(v) for v in self.values) + extra


class SequenceOf(Constraint):
    """A list or tuple (or 1-d array) of at least ``min_length`` items, each following ``item``.

    Parameters
    ----------
    item : Constraint
        The rule every item follows.
    min_length : int
        The fewest items admitted.
    max_length : int, optional
        The most items admitted (no limit by default).

    Examples
    --------
    >>> sizes = SequenceOf(Integer(1), min_length=2)
    >>> str(sizes)
    'a sequence of at least 2 items, each an integer >= 1'
    >>> sizes.admits([784, 500]), sizes.admits([784]), sizes.admits((784, 0))
    (True, False, False)
    """

    def __init__(self, item, min_length=0, max_length=None):
        self.item, self.min_length, self.max_length = item, min_length, max_length

    def kind_ok(self, value):
        return isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1)

    def admits(self, value):
        if not self.kind_ok(value) or len(value) < self.min_length:
            return False
        if self.max_length is not None and len(value) > self.max_length:
            return False
        return all(self.item.admits(v) for v in value)

    def __str__(self):
        if self.max_length is not None and self.max_length == self.min_length:
            count = f"{self.min_length} "
        else:
            count = f"at least {self.min_length} " if self.min_length else ""
        return f"a sequence of {count}items, each {self.item}"


class InstanceOf(Constraint):
    """An instance of one of ``types``; ``name`` describes them in messages.

    Parameters
    ----------
    *types : type
        The classes admitted (subclasses included).
    name : str, optional
        How messages call them; by default the class names joined by "or".

    Examples
    --------
    >>> str(InstanceOf(list, tuple)), str(InstanceOf(list, tuple, name="list of functions"))
    ('a list or tuple', 'a list of functions')
    """

    def __init__(self, *types, name=None):
        self.types = types
        self.name = name or " or ".join(t.__name__ for t in types)

    def kind_ok(self, value):
        return isinstance(value, self.types)

    def admits(self, value):
        return isinstance(value, self.types)

    def __str__(self):
        return f"a {self.name}"


class Function(Constraint):
    """A callable.

    Examples
    --------
    >>> Function().admits(len), Function().admits(0.1)
    (True, False)
    """

    def kind_ok(self, value):
        return callable(value)

    def admits(self, value):
        return callable(value)

    def __str__(self):
        return "a function"


class Boolean(Constraint):
    """``True`` or ``False`` (NumPy booleans too).

    Examples
    --------
    >>> Boolean().admits(np.True_), Boolean().admits(1)
    (True, False)
    """

    def kind_ok(self, value):
        return isinstance(value, (bool, np.bool_))

    def admits(self, value):
        return isinstance(value, (bool, np.bool_))

    def __str__(self):
        return "True or False"


class Seed(Constraint):
    """``None``, an integer >= 0, or a random Generator (NumPy's or CuPy's).

    Examples
    --------
    >>> Seed().admits(None), Seed().admits(np.random.default_rng(0)), Seed().admits(-1)
    (True, True, False)
    """

    def kind_ok(self, value):
        return value is None or _is_int(value) or _is_generator(value)

    def admits(self, value):
        if value is None or _is_generator(value):
            return True
        return _is_int(value) and value >= 0

    def __str__(self):
        return "None, an integer >= 0 or a random Generator"


def _is_generator(value):
    if isinstance(value, np.random.Generator):
        return True
    # CuPy's Generator: checked by name so that CuPy is never imported here
    t = type(value)
    return t.__name__ == "Generator" and t.__module__.startswith("cupy")


class AnyOf(Constraint):
    """Any one of several rules; ``None`` among them admits ``None``.

    Parameters
    ----------
    *rules : Constraint or None
        The alternatives.

    Examples
    --------
    >>> batch_size = AnyOf(None, Integer(1))
    >>> str(batch_size), batch_size.admits(None), batch_size.admits(0)
    ('None or an integer >= 1', True, False)
    """

    def __init__(self, *rules):
        self.rules = rules

    def kind_ok(self, value):
        return any(value is None if r is None else r.kind_ok(value) for r in self.rules)

    def admits(self, value):
        return any(value is None if r is None else r.admits(value) for r in self.rules)

    def __str__(self):
        return " or ".join("None" if r is None else str(r) for r in self.rules)


#: an inverse temperature: finite and >= 0 (0 samples uniformly)
BETA = Real(0.0)
#: a probability
PROBABILITY = Real(0.0, 1.0)
#: a count of things (sweeps, chains, epochs): an integer >= 1
COUNT = Integer(1)


def _show(value):
    if isinstance(value, float) or isinstance(value, np.floating):
        return repr(float(value))
    if hasattr(value, "shape") and not isinstance(value, (str, bytes)):
        return f"an array of shape {tuple(value.shape)}"
    text = repr(value)
    return text if len(text) <= 240 else text[:237] + "..."


def check(where, name, value, rule, value_error=ValueError):
    """Raise unless ``value`` of argument ``name`` follows ``rule``; return ``value``.

    ``TypeError`` when the value's type can never follow the rule, ``ValueError``
    otherwise; the message names ``where`` (the function), the argument, the rule and
    the value.

    Parameters
    ----------
    where : str
        What is checking, for the message (a function's name, ``"fit: epoch 3"``).
    name : str
        The argument's name.
    value : object
        Its value.
    rule : Constraint
        The rule it must follow.
    value_error : type
        The exception for a value of the right type that breaks the rule: ``ValueError``
        or a subclass of it.

    Returns
    -------
    object
        ``value``, unchanged.

    Raises
    ------
    TypeError
        If no value of this type could follow the rule.
    ValueError
        (``value_error``) if the value breaks the rule.

    Examples
    --------
    >>> check("fit", "epochs", 10, COUNT)
    10
    >>> check("fit", "epochs", -1, COUNT)
    Traceback (most recent call last):
    ...
    ValueError: fit: epochs must be an integer >= 1; got -1
    >>> check("fit", "monitors", "weight_norm", Names("weight_norm"))
    Traceback (most recent call last):
    ...
    TypeError: fit: monitors must be a list of names from 'weight_norm'; got 'weight_norm'
    """
    if rule.admits(value):
        return value
    exc = value_error if rule.kind_ok(value) else TypeError
    raise exc(f"{where}: {name} must be {rule}; got {_show(value)}")


def checked(raises=ValueError, **table):
    """Decorate a function so that its arguments are checked against ``table`` (argument
    name -> :class:`Constraint`) on every call, before its body runs.

    A value of the wrong type raises ``TypeError``; one of the right type that breaks its
    rule raises ``raises`` (``ValueError``, or a subclass such as ``ModelError`` for the
    builders, whose arguments declare a model).

    The table is kept on the function as ``__constraints__`` (the property-based contract
    test reads it). A default value is not checked (it is the author's, and may be a
    sentinel like ``None`` that the body resolves).

    Parameters
    ----------
    raises : type
        The exception for a value of the right type that breaks its rule: ``ValueError``
        or a subclass of it.
    **table : Constraint
        One rule per argument name; arguments left out are not checked.

    Returns
    -------
    function
        A decorator; the function it returns checks, then calls, the decorated one (with
        the same name, docstring and signature).

    Raises
    ------
    TypeError
        At decoration, if ``table`` names an argument the function does not have; at a
        call, if a value's type can never follow its rule.
    ValueError
        At a call (``raises``), if a value of the right type breaks its rule.

    Examples
    --------
    >>> @checked(n_chains=COUNT)
    ... def chains(n_chains):
    ...     return n_chains
    >>> chains(4), str(chains.__constraints__["n_chains"])
    (4, 'an integer >= 1')
    >>> chains(n_chains=2.5)
    Traceback (most recent call last):
    ...
    TypeError: chains: n_chains must be an integer >= 1; got 2.5
    """

    def wrap(fn):
        sig = inspect.signature(fn)
        unknown = set(table) - set(sig.parameters)
        if unknown:
            raise TypeError(f"checked: {fn.__name__} has no argument(s) {sorted(unknown)}")
        # a method is named by its class ("Tempering: ladder must be ..."), a function by its name
        where = fn.__qualname__.replace(".__init__", "") if "<locals>" not in fn.__qualname__ else fn.__name__
        defaults = {k: p.default for k, p in sig.parameters.items()}
        positional = [k for k, p in sig.parameters.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        positional = [k for k in positional if k not in ("self", "cls")]

        names = list(sig.parameters)
        plain = all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in sig.parameters.values())
        n_positional = sum(p.kind == p.POSITIONAL_OR_KEYWORD for p in sig.parameters.values())
        required = {k for k, p in sig.parameters.items() if p.default is p.empty}

        def bind(args, kwargs):
            """name -> value of the arguments given; Python's own binding (sig.bind) only
            where a call is not plainly well formed, for its message."""
            if plain and len(args) <= n_positional and kwargs.keys() <= sig.parameters.keys():
                given = dict(zip(names, args))
                if not given.keys() & kwargs.keys() and required <= given.keys() | kwargs.keys():
                    given.update(kwargs)
                    return given
            try:
                return sig.bind(*args, **kwargs).arguments
            except TypeError as exc:  # Python's own message does not name the function
                message = f"{where}: {exc}"
                if "positional" in str(exc):
                    message += f"; it takes {', '.join(positional)} by position, the options after them by name"
                raise TypeError(message) from None

        @functools.wraps(fn)
        def run(*args, **kwargs):
            for name, value in bind(args, kwargs).items():
                rule = table.get(name)
                if rule is not None and value is not defaults[name]:
                    check(where, name, value, rule, raises)
            return fn(*args, **kwargs)

        run.__constraints__ = dict(table)
        return run

    return wrap
