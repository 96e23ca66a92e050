r"""Parallel tempering (replica exchange) over a ladder of inverse temperatures.

``R`` replicas of each of ``C`` chains run at ``beta * ladder[0] < ... < beta * ladder[R-1]``
(the ladder ends at 1: its last replica samples the target), batched as one array of
``R * C`` chains (one matrix product per block for all of them). After each sweep of the
wrapped kernel, neighbouring temperatures propose to swap states, alternating even and
odd pairs, accepted with probability ``min(1, exp((beta_i - beta_j) (E_i - E_j)))``; this
leaves the product of the tempered distributions invariant, so the last replica samples
the model.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.rbm(4, 3, seed=0, scale=2.0))
>>> kernel = Tempering([0.25, 0.5, 1.0])
>>> state = kernel.init(prog, prog.random_state(10, seed=0))
>>> state, info = kernel.step(prog, state, np.random.default_rng(1))
>>> state.position.shape, state.replicas.shape, info.accepted.shape
((10, 7), (3, 10, 7), (2,))
"""

from typing import NamedTuple

import numpy as np

from ..arguments import Real, SequenceOf, checked
from ..backend import to_host
from ..support import check_state
from .clamp import as_mask
from .gibbs import SweepInfo
from .protocol import Gibbs, is_sampler

__all__ = ["TemperingState", "Tempering"]


class TemperingState(NamedTuple):
    """``inner``: the wrapped kernel's state over every replica (rows ``r * C + c``, its
    ``beta`` a column of each row's temperature); ``betas``: the ladder times the target;
    ``parity``: which neighbour pairs propose next (0: (0,1), (2,3)...; 1: (1,2)...).

    Attributes
    ----------
    inner : object
        The wrapped kernel's state over every replica.
    betas : numpy.ndarray (R,)
        Each replica's inverse temperature.
    parity : {0, 1}
        Which neighbour pairs propose to swap next.
    n_chains : int
        Chains per replica (C).

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> state = Tempering([0.5, 1.0]).init(prog, prog.random_state(4, seed=0))
    >>> state.betas.tolist(), state.n_chains, state.replicas.shape, state.position.shape
    ([0.5, 1.0], 4, (2, 4, 5), (4, 5))
    """

    inner: object
    betas: np.ndarray
    parity: int
    n_chains: int

    @property
    def position(self):
        """The chains of the last replica (the target temperature)."""
        return self.inner.position[-self.n_chains :]

    @property
    def replicas(self):
        """Every replica's chains, (R, C, columns)."""
        pos = self.inner.position
        return pos.reshape(self.betas.size, self.n_chains, pos.shape[1])


class Tempering:
    """Parallel tempering over ``ladder`` (strictly increasing, >= 0, ending at 1; each
    entry times the run's beta), wrapping ``kernel`` (default :class:`Gibbs`).

    ``init`` takes the chains of one replica (C, columns), copied to every replica, or
    all of them (R, C, columns). ``info.accepted`` is the swap acceptance rate of each
    neighbour pair that proposed (NaN for the others).

    Parameters
    ----------
    ladder : sequence of float
        The inverse temperatures, relative to the run's beta.
    kernel : sampler, optional
        The sampler run at every temperature (default :class:`Gibbs`).

    Raises
    ------
    TypeError
        If ``kernel`` is not a sampler, or ``ladder`` not a sequence of numbers.
    ValueError
        If the ladder has fewer than two entries, a negative one, is not strictly
        increasing, or does not end at 1.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(4, 3, seed=0, scale=2.0))
    >>> gm.sample(prog, 10, chains=5, method=Tempering([0.25, 0.5, 1.0]), seed=0).state.shape
    (5, 7)
    >>> Tempering([1.0, 0.5])
    Traceback (most recent call last):
    ...
    ValueError: Tempering: ladder must be strictly increasing and end at 1; got [1.0, 0.5]
    """

    name = "tempering"

    @checked(ladder=SequenceOf(Real(0.0), min_length=2))
    def __init__(self, ladder, kernel=None):
        ladder = np.asarray(ladder, dtype=np.float64)
        if np.any(np.diff(ladder) <= 0) or ladder[-1] != 1.0:
            raise ValueError(f"Tempering: ladder must be strictly increasing and end at 1; got {ladder.tolist()}")
        if kernel is not None and not is_sampler(kernel):
            raise TypeError(f"Tempering: kernel must be a sampler (init/step); got {type(kernel).__name__}")
        self.ladder, self.kernel = ladder, Gibbs() if kernel is None else kernel

    def init(self, program, position, *, beta=1.0, clamp=None):
        """Every replica's chains (copies of ``position``), at ``beta`` times the ladder.

        Parameters
        ----------
        program : Program
            The compiled model.
        position : array (C, columns) or (R, C, columns)
            One replica's chains (copied to all), or every replica's.
        beta : float
            Multiplies the ladder.
        clamp : bool array, optional
            Units that keep their values (in every replica).

        Returns
        -------
        TemperingState

        Raises
        ------
        ValueError
            If ``position`` holds another number of replicas, has the wrong shape, or a
            value outside its unit's support.

        Examples
        --------
        >>> import graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
        >>> state = Tempering([0.5, 1.0]).init(prog, prog.random_state(4, seed=0), beta=2.0)
        >>> state.betas.tolist(), state.inner.position.shape
        ([1.0, 2.0], (8, 5))
        """
        xp = program.xp
        R = self.ladder.size
        pos = xp.asarray(position)
        if pos.ndim == 3:
            if pos.shape[0] != R:
                raise ValueError(
                    f"Tempering: position has {pos.shape[0]} replicas; expected one per ladder entry ({R})"
                )
            check_state(program, pos.reshape(-1, pos.shape[-1]), "position")
        else:
            pos = xp.broadcast_to(check_state(program, pos, "position"), (R,) + tuple(pos.shape))
        C = pos.shape[1]
        betas = float(beta) * self.ladder
        beta_col = xp.asarray(np.repeat(betas, C)[:, None], dtype=program.dtype)
        mask = as_mask(program, clamp, C)
        tiled = None if mask is None else xp.broadcast_to(mask[None], (R,) + tuple(mask.shape)).reshape(R * C, -1)
        inner = self.kernel.init(program, pos.reshape(R * C, pos.shape[-1]), beta=beta_col, clamp=tiled)
        return TemperingState(inner, betas, 0, C)

    def step(self, program, state, rng):
        """A step of every replica at its own beta, then one round of neighbour swaps.

        A pair ``(i, i + 1)`` swaps with probability
        ``min(1, exp((beta_i - beta_(i+1)) (E_i - E_(i+1))))``; even pairs propose on one
        step, odd pairs on the next.

        Parameters
        ----------
        program : Program
            The compiled model.
        state : TemperingState
            Every replica's chains.
        rng : Generator
            Random generator of the sweeps and the swaps.

        Returns
        -------
        state : TemperingState
        info : SweepInfo
            ``accepted``: the swap rate of each neighbour pair (NaN where none proposed).

        Examples
        --------
        >>> import numpy as np, graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
        >>> kernel = Tempering([0.25, 0.5, 1.0])
        >>> state, info = kernel.step(prog, kernel.init(prog, prog.random_state(4, seed=0)), np.random.default_rng(0))
        >>> state.parity, np.isnan(info.accepted).tolist()  # pair (0, 1) proposed; pair (1, 2) next time
        (1, [False, True])
        """
        xp = program.xp
        inner, _ = self.kernel.step(program, state.inner, rng)
        R, C = state.betas.size, state.n_chains
        pos = inner.position
        E = program.energy(pos).reshape(R, C)
        accepted = np.full(R - 1, np.nan)
        lo = np.arange(state.parity, R - 1, 2)
        if lo.size:
            hi = lo + 1
            db = xp.asarray((state.betas[lo] - state.betas[hi])[:, None], dtype=program.dtype)
            u = rng.random((lo.size, C), dtype=program.dtype)
            swap = xp.log1p(-u) < db * (E[lo] - E[hi])  # log of a uniform on (0, 1]
            pair, chain = (np.asarray(a) for a in np.nonzero(to_host(swap)))
            rows_a = xp.asarray(lo[pair] * C + chain)
            rows_b = xp.asarray(hi[pair] * C + chain)
            pos[xp.concatenate([rows_a, rows_b])] = pos[xp.concatenate([rows_b, rows_a])]
            accepted[lo] = to_host(xp.mean(swap, axis=1)).astype(np.float64)
        return TemperingState(inner, state.betas, 1 - state.parity, C), SweepInfo(accepted=accepted)

    def __repr__(self):
        return f"Tempering({self.ladder.tolist()}, kernel={self.kernel!r})"
