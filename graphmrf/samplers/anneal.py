r"""Simulated annealing: sweeps at a rising inverse temperature.

``anneal(program, state, rng, betas)`` runs one sweep per entry of ``betas`` (a schedule
from :func:`linear` or :func:`geometric`, or any increasing sequence) and returns the
final state and the energy after every sweep. The sweep kernel is any sampler with the
signature of :func:`~graphmrf.samplers.block_gibbs`, run at the schedule's beta; the
model itself is never changed.
"""

import numpy as np

from ..arguments import BETA, COUNT, AnyOf, Boolean, Function, InstanceOf, Real, SequenceOf, checked
from ..backend import as_generator
from ..program import Program
from ..support import check_state
from .gibbs import block_gibbs
from .progress import Progress

__all__ = ["anneal", "linear", "geometric"]


@checked(beta_start=Real(0.0), beta_end=Real(0.0), n=COUNT)
def linear(beta_start, beta_end, n):
    """``n`` inverse temperatures evenly spaced from ``beta_start`` to ``beta_end``."""
    return np.linspace(beta_start, beta_end, int(n))


@checked(beta_start=Real(0.0, closed="neither"), beta_end=Real(0.0, closed="neither"), n=COUNT)
def geometric(beta_start, beta_end, n):
    """``n`` inverse temperatures in geometric progression (constant ratio)."""
    return np.geomspace(beta_start, beta_end, int(n))


@checked(
    program=InstanceOf(Program),
    betas=SequenceOf(BETA, min_length=1),
    sweep=Function(),
    progress=AnyOf(None, Boolean()),
)
def anneal(program, state, rng, betas, *, sweep=block_gibbs, clamp=None, progress=None):
    """Simulated annealing along ``betas``; returns ``(state, energies)``.

    ``energies`` has shape (len(betas), chains): E(s) after each sweep, at beta = 1's
    energy scale (the model's energy, not beta times it).
    """
    rng = as_generator(rng, program.backend)
    state = check_state(program, state, "state")
    betas = np.asarray(betas, dtype=np.float64)
    energies = []
    with Progress(len(betas), "anneal", progress) as bar:
        for b in betas:
            state, info = sweep(program, state, rng, beta=float(b), clamp=clamp, energy=True)
            energies.append(info.energy)
            bar.update(energy=float(program.xp.mean(info.energy)))
    return state, program.xp.stack(energies)
