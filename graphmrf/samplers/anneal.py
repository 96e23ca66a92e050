r"""Simulated annealing: sweeps at a rising inverse temperature.

:class:`Annealing` wraps a sampler so that its ``t``-th step runs at ``beta * betas[t]``
(the last value repeats), leaving the model unchanged; :func:`anneal` runs one sweep per
entry of a schedule and returns the final state and the energy after every sweep.
Schedules: :func:`linear`, :func:`geometric`, or any sequence.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.ising(4, coupling=1.0))
>>> state, E = anneal(prog, prog.random_state(20, seed=0), 1, geometric(0.1, 5.0, 40))
>>> E.shape, float(E[-1].mean()) <= float(E[0].mean())
((40, 20), True)
"""

from typing import NamedTuple

import numpy as np

from ..arguments import BETA, COUNT, AnyOf, Boolean, Function, InstanceOf, Real, SequenceOf, checked
from ..backend import as_generator
from ..program import Program
from ..support import check_state
from .progress import Progress
from .protocol import Gibbs, from_sweep, is_sampler, position

__all__ = ["anneal", "Annealing", "AnnealingState", "linear", "geometric"]


@checked(beta_start=Real(0.0), beta_end=Real(0.0), n=COUNT)
def linear(beta_start, beta_end, n):
    """``n`` inverse temperatures evenly spaced from ``beta_start`` to ``beta_end``.

    Parameters
    ----------
    beta_start, beta_end : float
        The first and last inverse temperature, >= 0.
    n : int
        How many.

    Returns
    -------
    numpy.ndarray (n,)

    Raises
    ------
    TypeError
        If an argument is of the wrong type.
    ValueError
        If a beta is negative or not finite, or ``n < 1``.

    Examples
    --------
    >>> linear(0.0, 1.0, 5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    return np.linspace(beta_start, beta_end, int(n))


@checked(beta_start=Real(0.0, closed="neither"), beta_end=Real(0.0, closed="neither"), n=COUNT)
def geometric(beta_start, beta_end, n):
    """``n`` inverse temperatures in geometric progression (constant ratio).

    ``beta_k = beta_start (beta_end / beta_start)^(k / (n - 1))``: equal steps in
    ``log beta``, the usual annealing and tempering ladder.

    Parameters
    ----------
    beta_start, beta_end : float
        The first and last inverse temperature, > 0.
    n : int
        How many.

    Returns
    -------
    numpy.ndarray (n,)

    Raises
    ------
    TypeError
        If an argument is of the wrong type.
    ValueError
        If a beta is not positive and finite, or ``n < 1``.

    Examples
    --------
    >>> geometric(0.01, 1.0, 3).tolist()
    [0.01, 0.1, 1.0]
    >>> geometric(0.0, 1.0, 3)
    Traceback (most recent call last):
    ...
    ValueError: geometric: beta_start must be a finite real > 0.0; got 0.0
    """
    return np.geomspace(beta_start, beta_end, int(n))


class AnnealingState(NamedTuple):
    """The wrapped kernel's state, the step count ``t`` and the schedule (times beta).

    Attributes
    ----------
    inner : object
        The wrapped kernel's state.
    t : int
        Steps taken.
    betas : numpy.ndarray
        The schedule times the run's beta.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> state = Annealing([0.1, 0.5, 1.0]).init(prog, prog.random_state(2, seed=0))
    >>> state.t, state.betas.tolist(), state.position.shape
    (0, [0.1, 0.5, 1.0], (2, 5))
    """

    inner: object
    t: int
    betas: np.ndarray

    @property
    def position(self):
        return self.inner.position


class Annealing:
    """A sampler whose ``t``-th step is one step of ``kernel`` (default :class:`Gibbs`) at
    ``beta * betas[t]`` (the last entry repeats once the schedule is spent).

    Parameters
    ----------
    betas : sequence of float
        The schedule, each >= 0 (:func:`linear`, :func:`geometric`, or any).
    kernel : sampler, optional
        The sampler run at each temperature (default :class:`Gibbs`).

    Raises
    ------
    TypeError
        If ``kernel`` is not a sampler, or ``betas`` not a sequence of numbers.
    ValueError
        If ``betas`` is empty or holds a negative or non-finite value.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.ising(4, coupling=1.0))
    >>> run = gm.sample(prog, 40, chains=10, method=Annealing(geometric(0.1, 5.0, 40)), seed=0)
    >>> bool(run.energy[-1].mean() < run.energy[0].mean())
    True
    """

    @checked(betas=SequenceOf(BETA, min_length=1))
    def __init__(self, betas, kernel=None):
        if kernel is not None and not is_sampler(kernel):
            raise TypeError(f"Annealing: kernel must be a sampler (init/step); got {type(kernel).__name__}")
        self.schedule = np.asarray(betas, dtype=np.float64)
        self.kernel = Gibbs() if kernel is None else kernel
        self.name = f"annealing({getattr(self.kernel, 'name', 'custom')})"

    def init(self, program, position, *, beta=1.0, clamp=None):
        """The wrapped kernel's state at the schedule's first temperature.

        Parameters
        ----------
        program : Program
            The compiled model.
        position : array (chains, columns)
            Where the chains start.
        beta : float
            Multiplies the whole schedule.
        clamp : bool array, optional
            Units that keep their values.

        Returns
        -------
        AnnealingState

        Examples
        --------
        >>> import graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
        >>> state = Annealing([0.1, 1.0]).init(prog, prog.random_state(2, seed=0), beta=2.0)
        >>> state.betas.tolist(), state.inner.beta
        ([0.2, 2.0], 0.2)
        """
        scaled = float(beta) * self.schedule
        return AnnealingState(self.kernel.init(program, position, beta=float(scaled[0]), clamp=clamp), 0, scaled)

    def step(self, program, state, rng):
        """One step of the wrapped kernel at the schedule's ``t``-th temperature.

        Parameters
        ----------
        program : Program
            The compiled model.
        state : AnnealingState
            The chains and the schedule's position.
        rng : Generator
            Random generator of the draws.

        Returns
        -------
        state : AnnealingState
        info : SweepInfo
            The wrapped kernel's.

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
        >>> kernel = Annealing([0.1, 1.0])
        >>> state, _ = kernel.step(prog, kernel.init(prog, prog.random_state(2, seed=0)), np.random.default_rng(0))
        >>> state.t, state.inner.beta  # the step ran at the first temperature
        (1, 0.1)
        """
        b = float(state.betas[min(state.t, state.betas.size - 1)])
        inner, info = self.kernel.step(program, state.inner._replace(beta=b), rng)
        return AnnealingState(inner, state.t + 1, state.betas), info


@checked(
    program=InstanceOf(Program),
    betas=SequenceOf(BETA, min_length=1),
    sweep=AnyOf(None, Function(), InstanceOf(object, name="sampler (init/step)")),
    progress=AnyOf(None, Boolean()),
)
def anneal(program, state, rng, betas, *, sweep=None, clamp=None, progress=None):
    """Simulated annealing along ``betas``; returns ``(state, energies)``.

    ``sweep`` is a sampler (default :class:`Gibbs`) or a sweep function;
    ``energies`` has shape (len(betas), chains): E(s) after each sweep, at beta = 1's
    energy scale (the model's energy, not beta times it).

    Parameters
    ----------
    program : Program
        The compiled model.
    state : array (chains, columns)
        Where the chains start, every entry in its unit's support.
    rng : Generator (or seed)
        Random generator of the sweeps.
    betas : sequence of float
        One inverse temperature per sweep.
    sweep : sampler or callable, optional
        The sampler (default :class:`Gibbs`) or a sweep function.
    clamp : bool array, optional
        Units that keep their values.
    progress : bool, optional
        Show a progress bar (default: for long runs on a terminal).

    Returns
    -------
    state : array (chains, columns)
    energies : array (len(betas), chains)

    Raises
    ------
    TypeError
        If an argument is of the wrong type.
    ValueError
        If ``betas`` is empty or holds a negative value, or ``state`` has the wrong shape
        or a value outside its unit's support.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.ising(4, coupling=1.0))
    >>> state, E = anneal(prog, prog.random_state(20, seed=0), 1, geometric(0.1, 5.0, 40))
    >>> E.shape, bool(E[-1].mean() < E[0].mean())
    ((40, 20), True)
    """
    rng = as_generator(rng, program.backend)
    kernel = Gibbs() if sweep is None else (sweep if is_sampler(sweep) else from_sweep(sweep))
    sampler = Annealing(list(betas), kernel)
    s = sampler.init(program, check_state(program, state, "state"), clamp=clamp)
    energies = []
    with Progress(len(betas), "anneal", progress) as bar:
        for _ in range(len(betas)):
            s, _ = sampler.step(program, s, rng)
            energies.append(program.energy(position(s)))
            bar.update(energy=float(program.xp.mean(energies[-1])))
    return program.xp.ascontiguousarray(position(s)), program.xp.stack(energies)
