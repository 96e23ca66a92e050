"""MCMC samplers over a compiled Program: pure sweep functions and one entry point.

Every sweep has the signature ``sweep(program, state, rng, beta=1.0, clamp=None,
energy=False) -> (state, SweepInfo)``.
"""

from .ancestral import ancestral
from .anneal import anneal, geometric, linear
from .clamp import clamp_mask
from .dynamics import descend, synchronous_step
from .gibbs import SweepInfo, block_gibbs, sequential_gibbs
from .metropolis import metropolis
from .run import METHODS, Samples, sample
from .tempering import TemperingState, tempering_init, tempering_step

__all__ = [
    "sample",
    "Samples",
    "METHODS",
    "SweepInfo",
    "block_gibbs",
    "sequential_gibbs",
    "metropolis",
    "descend",
    "synchronous_step",
    "anneal",
    "linear",
    "geometric",
    "tempering_init",
    "tempering_step",
    "TemperingState",
    "ancestral",
    "clamp_mask",
]
