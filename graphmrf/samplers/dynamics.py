r"""Zero-temperature dynamics: Hopfield recall and energy descent.

Asynchronous updates set one unit at a time (in a random order each sweep) to its most
probable value given the others; the energy never increases, and the dynamics stop at a
fixed point (no unit changes during a whole sweep). Synchronous updates set every unit at
once from the same old state: that is *not* energy descent on a non-bipartite graph and
can enter 2-cycles, which is why graphmrf offers it only here, labelled.

>>> import graphmrf as gm, numpy as np
>>> p = np.array([1, -1, 1, -1, 1, 1], float)
>>> W = np.outer(p, p) / 6; np.fill_diagonal(W, 0)
>>> prog = gm.compile(gm.hopfield(6, weights=W))
>>> probe = p.copy(); probe[0] = -1
>>> out, sweeps = descend(prog, probe[None, :], np.random.default_rng(0))
>>> out[0].tolist() == p.tolist()
True
"""

from ..arguments import COUNT, InstanceOf, checked
from ..backend import as_generator
from ..program import Program
from ..support import check_state
from .clamp import as_mask
from .gibbs import sequential_gibbs

__all__ = ["descend", "synchronous_step"]


@checked(program=InstanceOf(Program), max_sweeps=COUNT)
def descend(program, state, rng, *, clamp=None, max_sweeps=1000):
    """Asynchronous zero-temperature updates until no unit changes (or ``max_sweeps``).

    Returns ``(state, sweeps)``: the fixed points and the number of sweeps taken.

    Each sweep visits the units in a fresh random order and sets each to its most
    probable value given the others (a tie keeps it): the energy never increases.

    Parameters
    ----------
    program : Program
        The compiled model (a Hopfield net, or any model of discrete units).
    state : array (chains, columns)
        The probes (copied), every entry in its unit's support.
    rng : Generator (or seed)
        Random generator of the visiting orders.
    clamp : bool mask, optional
        Units that keep their values.
    max_sweeps : int
        Stop after this many sweeps even without a fixed point.

    Returns
    -------
    state : array (chains, columns)
    sweeps : int
        Sweeps taken, the last one without a change (``max_sweeps`` if none was).

    Raises
    ------
    TypeError
        If ``program`` is not a Program or ``max_sweeps`` not an integer.
    ValueError
        If ``max_sweeps < 1``, or ``state`` has the wrong shape or a value outside its
        unit's support.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> p = np.array([1, -1, 1, -1], float)
    >>> W = np.outer(p, p) / 4
    >>> np.fill_diagonal(W, 0)
    >>> prog = gm.compile(gm.hopfield(4, weights=W))
    >>> out, sweeps = descend(prog, [[1, 1, 1, -1]], np.random.default_rng(0))
    >>> out.tolist(), sweeps
    ([[1.0, -1.0, 1.0, -1.0]], 2)
    """
    rng = as_generator(rng, program.backend)
    xp = program.xp
    state = xp.array(check_state(program, state, "state"), dtype=program.dtype, copy=True)
    for sweep in range(1, max_sweeps + 1):
        before = state.copy()  # one comparison per sweep, not one per unit update
        state, _ = sequential_gibbs(
            program, state, rng, clamp=clamp, order="random", mode="max", count=False, inplace=True
        )
        if not bool(xp.any(state != before)):
            return state, sweep
    return state, max_sweeps


def synchronous_step(program, state, clamp=None):
    """Every unit set at once to its most probable value given the *old* state.

    Not a sampler and not guaranteed to lower the energy (the lecture's warning about
    simultaneous updates): on a non-bipartite graph it can oscillate with period 2.

    Parameters
    ----------
    program : Program
        The compiled model.
    state : array (chains, columns)
        The old state (not changed).
    clamp : bool mask, optional
        Units that keep their values.

    Returns
    -------
    array (chains, columns)
        The new state.

    Raises
    ------
    ModelError
        If ``clamp`` is not a usable mask.

    Examples
    --------
    Two spins that want to disagree, both up: updated together they flip together, forever.

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.hopfield(2, weights=[[0.0, -1.0], [-1.0, 0.0]]))
    >>> s1 = synchronous_step(prog, np.array([[1.0, 1.0]]))
    >>> s1.tolist(), synchronous_step(prog, s1).tolist()
    ([[-1.0, -1.0]], [[1.0, 1.0]])
    """

    xp = program.xp
    state = xp.array(state, dtype=program.dtype, copy=True)
    keep = as_mask(program, clamp, state.shape[0])
    T = program.statistic(state)
    new = state.copy()
    for L in program.layers:
        cond = L.ops.conditional(program.field(T, L), L.params, 1.0, L.width)
        new[:, L.sl] = L.ops.mode(cond, state[:, L.sl], L.width)
    if keep is not None:
        new = xp.where(keep, state, new)
    return new
