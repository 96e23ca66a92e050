"""MCMC samplers over a compiled Program: the sampler protocol, the sweep kernels, and
one entry point.

A sampler is an ``init``/``step`` pair (:mod:`graphmrf.samplers.protocol`):
``init(program, position, *, beta=1.0, clamp=None) -> state`` and
``step(program, state, rng) -> (state, info)``. The built-in samplers -- :class:`Gibbs`,
:class:`Sequential`, :class:`Metropolis`, :class:`Ancestral`, :class:`Tempering`,
:class:`Annealing` -- are made of the sweep kernels (``block_gibbs``,
``sequential_gibbs``, ``metropolis_sweep``, ``ancestral``), pure functions
``(program, state, rng, beta=1.0, clamp=None, ...) -> (state, info)``.
"""

from .ancestral import ancestral
from .anneal import Annealing, AnnealingState, anneal, geometric, linear
from .clamp import clamp_mask
from .dynamics import descend, synchronous_step
from .gibbs import SweepInfo, block_gibbs, sequential_gibbs
from .metropolis import metropolis_sweep
from .protocol import Ancestral, ChainState, Gibbs, Metropolis, Sampler, Sequential, from_sweep, is_sampler, position
from .run import METHODS, Samples, sample
from .tempering import Tempering, TemperingState

__all__ = [
    "sample",
    "Samples",
    "METHODS",
    "Sampler",
    "ChainState",
    "Gibbs",
    "Sequential",
    "Metropolis",
    "Ancestral",
    "Tempering",
    "TemperingState",
    "Annealing",
    "AnnealingState",
    "from_sweep",
    "is_sampler",
    "position",
    "SweepInfo",
    "block_gibbs",
    "sequential_gibbs",
    "metropolis_sweep",
    "ancestral",
    "descend",
    "synchronous_step",
    "anneal",
    "linear",
    "geometric",
    "clamp_mask",
]
