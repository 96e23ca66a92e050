r"""The sampler protocol: an ``init`` / ``step`` pair (blackjax's shape).

A :class:`Sampler` is two functions:

* ``init(program, position, *, beta=1.0, clamp=None) -> state`` -- a state holding the
  chains' ``position`` (an array (chains, columns)), the inverse temperature, the clamp
  mask, and whatever the kernel needs between steps;
* ``step(program, state, rng) -> (state, info)`` -- one sweep; ``info`` (a
  :class:`~graphmrf.samplers.gibbs.SweepInfo`) carries what monitors want and is never
  fed back.

:func:`graphmrf.sample` and :func:`graphmrf.verify` take any Sampler, so one written with
public names only -- ``program.blocks``, ``program.statistic``, ``program.update_part``,
``program.part_conditional`` -- plugs in exactly like a built-in one. The built-ins are
classes with these two methods: :class:`Gibbs` (block Gibbs over the compiled blocks),
:class:`Sequential` (one unit at a time, systematic or random scan, or zero-temperature
descent), :class:`Metropolis`, :class:`Ancestral` (directed nets),
:class:`~graphmrf.samplers.Tempering` and :class:`~graphmrf.samplers.Annealing` (which
wrap another sampler); a :class:`Sampler` holds a pair of plain functions.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.rbm(4, 3, seed=0))
>>> kernel = Gibbs()
>>> state = kernel.init(prog, prog.random_state(5, seed=0), beta=0.5)
>>> state, info = kernel.step(prog, state, np.random.default_rng(1))
>>> state.position.shape, state.beta
((5, 7), 0.5)
"""

import inspect
from collections.abc import Callable
from typing import NamedTuple

from ..workspace import Workspace
from .ancestral import ancestral as ancestral_pass
from .clamp import as_mask
from .gibbs import SweepInfo, block_gibbs, sequential_gibbs
from .metropolis import metropolis_sweep

__all__ = [
    "Sampler",
    "ChainState",
    "Gibbs",
    "Sequential",
    "Metropolis",
    "Ancestral",
    "from_sweep",
    "is_sampler",
    "position",
]


class Sampler(NamedTuple):
    """An MCMC kernel: ``init(program, position, *, beta=1.0, clamp=None) -> state`` and
    ``step(program, state, rng) -> (state, info)``; ``name`` labels reports.

    Attributes
    ----------
    init : callable
        ``init(program, position, *, beta=1.0, clamp=None) -> state``.
    step : callable
        ``step(program, state, rng) -> (state, info)``.
    name : str
        How reports and progress bars call it.

    Examples
    --------
    A sampler of one's own from two plain functions -- here a Gibbs sweep, written with
    the Program's public surface only:

    >>> import numpy as np, graphmrf as gm
    >>> def init(program, position, *, beta=1.0, clamp=None):
    ...     return ChainState(np.array(position, dtype=program.dtype), beta, clamp)
    >>> def step(program, state, rng):
    ...     s = state.position
    ...     T = program.statistic(s)
    ...     for block in program.blocks:
    ...         for part in block:
    ...             program.update_part(s, T, part, rng, state.beta, state.clamp)
    ...     return state, gm.samplers.SweepInfo()
    >>> mine = Sampler(init, step, "my-gibbs")
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> gm.sample(prog, 5, chains=4, method=mine, seed=0).state.shape
    (4, 5)
    """

    init: Callable
    step: Callable
    name: str = "custom"


class ChainState(NamedTuple):
    """The state of a plain kernel: the chains (``position``, (chains, columns), owned by
    the sampler: steps overwrite it), their inverse temperature (a number, or a column
    (chains, 1) of them), the clamp mask (or None), and the run's reused buffers.

    Attributes
    ----------
    position : array (chains, columns)
        The chains.
    beta : float or array (chains, 1)
        Inverse temperature.
    clamp : bool array (chains, columns) or None
        Units that keep their values.
    workspace : Workspace or None
        Buffers reused between steps.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> state = Gibbs().init(prog, prog.random_state(2, seed=0), beta=0.5)
    >>> type(state).__name__, state.position.shape, state.beta, state.clamp
    ('ChainState', (2, 5), 0.5, None)
    """

    position: object
    beta: object = 1.0
    clamp: object = None
    workspace: object = None


def position(state):
    """The chains of a sampler's state: ``state.position``, or the state itself when it
    is an array.

    Parameters
    ----------
    state : object
        A sampler's state (anything with ``position``), or an array of chains.

    Returns
    -------
    array (chains, columns)

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> position(Gibbs().init(prog, np.zeros((2, 5)))).shape, position(np.ones(3)).tolist()
    ((2, 5), [1.0, 1.0, 1.0])
    """
    return getattr(state, "position", state)


def _init(layout):
    """An ``init`` that copies the chains into memory the kernel owns: column-major where
    ``layout(program, chains)`` says so (each one-unit update then reads and writes one
    contiguous column), row-major otherwise."""

    def init(program, position, *, beta=1.0, clamp=None):
        xp = program.xp
        pos = xp.asarray(position)
        order = layout(program, pos.shape[0])
        owned = xp.array(pos, dtype=program.dtype, copy=True, order=order)
        return ChainState(owned, beta, as_mask(program, clamp, pos.shape[0]), Workspace())

    return init


def _row_major(program, chains):
    return "C"


def _by_unit_layout(program, chains):
    return "F" if program.backend.name == "numpy" and chains > 1 else "C"


def _sparse_layout(program, chains):
    sparse = bool(program.couplings) and all(c.sparse for c in program.couplings)
    return "F" if sparse and program.backend.name == "numpy" and chains > 1 else "C"


class _Kernel:
    """A built-in sampler: ``init`` copies the chains into memory it owns (column-major
    where one-unit updates then read and write one contiguous column), ``step`` sweeps."""

    name = "kernel"
    _layout = staticmethod(_row_major)

    def init(self, program, position, *, beta=1.0, clamp=None):
        """The state of chains starting at ``position`` (copied), at ``beta``, with ``clamp``.

        The copy is the kernel's own memory, column-major where its one-unit updates then
        read and write contiguous columns.

        Parameters
        ----------
        program : Program
            The compiled model.
        position : array (chains, columns)
            Where the chains start.
        beta : float or array (chains, 1)
            Inverse temperature.
        clamp : bool array (columns,) or (chains, columns), optional
            Units that keep their values.

        Returns
        -------
        ChainState

        Raises
        ------
        ModelError
            If ``clamp`` is not a usable mask.

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
        >>> start = np.zeros((2, 5))
        >>> state = Gibbs().init(prog, start, clamp=np.arange(5) < 3)
        >>> state.position is start, state.clamp.shape
        (False, (2, 5))
        """
        return _init(self._layout)(program, position, beta=beta, clamp=clamp)

    def __repr__(self):
        """The kernel with the arguments that differ from their defaults, e.g.
        ``Sequential(order='random')``."""
        parts = []
        for name, p in list(inspect.signature(type(self).__init__).parameters.items())[1:]:
            value = getattr(self, name, p.default)
            if value is p.default or (isinstance(value, (str, int, float)) and value == p.default):
                continue
            parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class Gibbs(_Kernel):
    """Block Gibbs sampling: each block drawn from p(block | rest) in turn
    (:func:`~graphmrf.samplers.block_gibbs`). ``blocks`` replaces the compiled blocks
    (checked: every unit once, each block an independent set).

    Parameters
    ----------
    blocks : list of lists of Part, optional
        The blocks, in update order (default: the compiled ones).

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> kernel = Gibbs()
    >>> state, info = kernel.step(prog, kernel.init(prog, prog.random_state(4, seed=0)), np.random.default_rng(0))
    >>> kernel, state.position.shape
    (Gibbs(), (4, 5))
    """

    name = "gibbs"
    _layout = staticmethod(_sparse_layout)

    def __init__(self, blocks=None):
        self.blocks = blocks

    def step(self, program, state, rng):
        """One sweep over the blocks, in place (:func:`~graphmrf.samplers.block_gibbs`).

        Parameters
        ----------
        program : Program
            The compiled model.
        state : ChainState
            The chains (their position is overwritten).
        rng : Generator
            Random generator of the draws.

        Returns
        -------
        state : ChainState
        info : SweepInfo

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
        >>> state = Gibbs().init(prog, prog.random_state(4, seed=0))
        >>> new, info = Gibbs().step(prog, state, np.random.default_rng(0))
        >>> new.position is state.position  # the chains are updated where they lie
        True
        """
        pos, info = block_gibbs(
            program,
            state.position,
            rng,
            beta=state.beta,
            clamp=state.clamp,
            blocks=self.blocks,
            inplace=True,
            workspace=state.workspace,
        )
        return state._replace(position=pos), info


class Sequential(_Kernel):
    """One unit at a time (:func:`~graphmrf.samplers.sequential_gibbs`): ``order``
    "systematic" (declared order) or "random" (a fresh permutation per sweep); ``mode``
    "sample", or "max" for zero-temperature asynchronous dynamics (Hopfield recall).

    Parameters
    ----------
    order : {"systematic", "random"}
        The visiting order of each sweep.
    mode : {"sample", "max"}
        Gibbs sampling, or descent.

    Raises
    ------
    ValueError
        If ``order`` or ``mode`` is none of these.

    Examples
    --------
    >>> Sequential().name, Sequential(order="random").name, Sequential(mode="max").name
    ('sequential', 'random-scan', 'descent')
    >>> Sequential(order="rand")
    Traceback (most recent call last):
    ...
    ValueError: Sequential: order must be one of 'systematic', 'random'; got 'rand'
    """

    _layout = staticmethod(_by_unit_layout)

    def __init__(self, order="systematic", mode="sample"):
        if order not in ("systematic", "random"):
            raise ValueError(f"Sequential: order must be one of 'systematic', 'random'; got {order!r}")
        if mode not in ("sample", "max"):
            raise ValueError(f"Sequential: mode must be one of 'sample', 'max'; got {mode!r}")
        self.order, self.mode = order, mode
        self.name = ("sequential" if order == "systematic" else "random-scan") if mode == "sample" else "descent"

    def step(self, program, state, rng):
        """One sweep over every unit, in place (:func:`~graphmrf.samplers.sequential_gibbs`).

        Parameters
        ----------
        program : Program
            The compiled model.
        state : ChainState
            The chains (their position is overwritten).
        rng : Generator
            Random generator of the draws.

        Returns
        -------
        state : ChainState
        info : SweepInfo

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
        >>> kernel = Sequential(mode="max")
        >>> state, info = kernel.step(prog, kernel.init(prog, prog.random_state(2, seed=0)), None)
        >>> info.changed.shape  # descent counts the units that moved
        (2,)
        """
        pos, info = sequential_gibbs(
            program,
            state.position,
            rng,
            beta=state.beta,
            clamp=state.clamp,
            order=self.order,
            mode=self.mode,
            inplace=True,
            workspace=state.workspace,
        )
        return state._replace(position=pos), info


class Metropolis(_Kernel):
    """Single-site Metropolis (:func:`~graphmrf.samplers.metropolis_sweep`);
    ``info.accepted`` is the acceptance rate per chain.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0, scale=0.0))
    >>> run = gm.sample(prog, 3, chains=2, method=Metropolis(), seed=0)
    >>> run.state.shape
    (2, 5)
    """

    name = "metropolis"
    _layout = staticmethod(_by_unit_layout)

    def step(self, program, state, rng):
        """One sweep over every unit, in place (:func:`~graphmrf.samplers.metropolis_sweep`).

        Parameters
        ----------
        program : Program
            The compiled model.
        state : ChainState
            The chains (their position is overwritten).
        rng : Generator
            Random generator of the draws.

        Returns
        -------
        state : ChainState
        info : SweepInfo
            ``accepted``: the acceptance rate per chain.

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0, scale=0.0))
        >>> kernel = Metropolis()
        >>> _, info = kernel.step(prog, kernel.init(prog, prog.random_state(2, seed=0)), np.random.default_rng(0))
        >>> info.accepted.tolist()  # zero energy everywhere: every proposal accepted
        [1.0, 1.0]
        """
        pos, info = metropolis_sweep(
            program, state.position, rng, beta=state.beta, clamp=state.clamp, inplace=True, workspace=state.workspace
        )
        return state._replace(position=pos), info


class Ancestral(_Kernel):
    """Exact draws of a directed net, one per step: ``top_sweeps`` Gibbs sweeps of a DBN's
    top RBM, then one pass down (``beta`` tempers only the top pair).

    Parameters
    ----------
    top_sweeps : int
        Gibbs sweeps of a DBN's top pair per draw.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.dbn([4, 3, 2], seed=0))
    >>> gm.sample(prog, 3, chains=5, method=Ancestral(top_sweeps=2), seed=0).samples.shape
    (3, 5, 9)
    """

    name = "ancestral"

    def __init__(self, top_sweeps=1):
        self.top_sweeps = top_sweeps

    def step(self, program, state, rng):
        """A fresh ancestral draw of every chain (clamped units kept).

        Parameters
        ----------
        program : Program
            The compiled model.
        state : ChainState
            The chains (their position is overwritten).
        rng : Generator
            Random generator of the draws.

        Returns
        -------
        state : ChainState
        info : SweepInfo
            Empty: a draw has nothing to report.

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.sbn([3, 2], seed=0))
        >>> kernel = Ancestral()
        >>> state, info = kernel.step(prog, kernel.init(prog, prog.random_state(3, seed=0)), np.random.default_rng(0))
        >>> state.position.shape, info.accepted
        ((3, 5), None)
        """
        new = ancestral_pass(
            program, state.position, rng, top_sweeps=self.top_sweeps, beta=state.beta, clamp=state.clamp
        )
        return state._replace(position=new), SweepInfo()


def is_sampler(obj):
    """True for anything with the protocol's ``init`` and ``step``.

    Parameters
    ----------
    obj : object
        Anything.

    Returns
    -------
    bool

    Examples
    --------
    >>> from graphmrf.samplers import block_gibbs
    >>> is_sampler(Gibbs()), is_sampler(block_gibbs)
    (True, False)
    """
    return callable(getattr(obj, "init", None)) and callable(getattr(obj, "step", None))


def from_sweep(sweep, name=None):
    """A Sampler from a sweep function ``sweep(program, state, rng, beta=..., clamp=...)
    -> (state, info)`` (the older form of a custom sampler).

    Parameters
    ----------
    sweep : callable
        The sweep function.
    name : str, optional
        The Sampler's name; default the function's ``__name__``.

    Returns
    -------
    Sampler

    Examples
    --------
    >>> from graphmrf.samplers import metropolis_sweep
    >>> kernel = from_sweep(metropolis_sweep)
    >>> kernel.name, is_sampler(kernel)
    ('metropolis_sweep', True)
    """

    def step(program, state, rng):
        new, info = sweep(program, state.position, rng, beta=state.beta, clamp=state.clamp)
        return state._replace(position=new), info

    return Sampler(_init(_row_major), step, name or getattr(sweep, "__name__", "custom"))
