r"""The one entry point for MCMC sampling: :func:`sample`.

>>> import graphmrf as gm, numpy as np
>>> prog = gm.compile(gm.rbm(6, 4, seed=0))
>>> run = gm.sample(prog, n_sweeps=30, chains=8, burn_in=10, thin=5, seed=0)
>>> run.samples.shape, run.energy.shape, run.state.shape
((4, 8, 10), (30, 8), (8, 10))
"""

from typing import NamedTuple

import numpy as np

from ..arguments import BETA, COUNT, AnyOf, Boolean, Function, InstanceOf, Integer, Options, Seed, checked
from ..backend import to_host
from ..program import Program
from ..support import check_state
from ..workspace import Workspace
from .ancestral import ancestral
from .clamp import clamp_mask
from .gibbs import block_gibbs, sequential_gibbs
from .metropolis import metropolis
from .progress import Progress

__all__ = ["sample", "Samples", "METHODS"]


def _sequential_random(program, state, rng, **kw):  # noqa: D103
    return sequential_gibbs(program, state, rng, order="random", **kw)


def _ancestral_sweep(program, state, rng, beta=1.0, clamp=None, energy=False, top_sweeps=1):
    from .gibbs import SweepInfo

    new = ancestral(program, state, rng, top_sweeps=top_sweeps, beta=beta, clamp=clamp)
    return new, SweepInfo(energy=program.energy(new) if energy else None)


#: Sampling methods by name: a sweep function ``(program, state, rng, beta, clamp, energy)``.
METHODS = {
    "gibbs": block_gibbs,
    "sequential": sequential_gibbs,
    "random-scan": _sequential_random,
    "metropolis": metropolis,
    "ancestral": _ancestral_sweep,
}


class Samples(NamedTuple):
    """Result of :func:`sample`.

    samples : (n_kept, chains, columns) kept states, at sweeps burn_in + thin, burn_in + 2 thin, ...
    energy : (n_sweeps, chains) E(s) after every sweep
    state : (chains, columns) the last state (pass it back as ``init`` to continue)
    clamp : the clamp mask used (or None)
    """

    samples: object
    energy: object
    state: object
    clamp: object

    def node(self, program, node):
        """The kept samples of one node: (n_kept, chains, columns of the node)."""
        return self.samples[:, :, program.columns(node)]


@checked(
    program=InstanceOf(Program),
    n_sweeps=COUNT,
    chains=COUNT,
    burn_in=Integer(0),
    thin=COUNT,
    method=AnyOf(Options(*METHODS), Function()),
    beta=BETA,
    clamp=AnyOf(None, InstanceOf(dict, name="dict {node: value}"), InstanceOf(object, name="boolean mask")),
    seed=Seed(),
    progress=AnyOf(None, Boolean()),
    record_energy=Boolean(),
)
def sample(
    program,
    n_sweeps,
    *,
    chains=1,
    burn_in=0,
    thin=1,
    method="gibbs",
    beta=1.0,
    clamp=None,
    init=None,
    seed=None,
    progress=None,
    record_energy=True,
):
    """Run ``chains`` Markov chains for ``n_sweeps`` sweeps and keep every ``thin``-th state
    after ``burn_in`` sweeps.

    Parameters
    ----------
    program : Program
    n_sweeps : int
    chains : int
        Independent chains, batched on axis 0.
    burn_in, thin : int
        A state is kept after sweep ``t`` when ``t > burn_in`` and ``(t - burn_in) % thin == 0``.
    method : str or callable
        "gibbs" (block Gibbs over the compiled blocks), "sequential" (one unit at a time),
        "random-scan", "metropolis" (single-site), "ancestral" (directed nets: each sweep
        is a fresh ancestral draw, after one top-RBM Gibbs sweep for a DBN), or a sweep
        function with the signature of :func:`~graphmrf.samplers.block_gibbs`.
    beta : float
        Inverse temperature of sampling.
    clamp : dict {node: value} or bool mask, optional
        Units held fixed; a dict writes the values into the initial state.
    init : array (chains, columns), optional
        Initial state (e.g. data, or ``result.state`` to continue), every entry in its
        unit's support; default: every unit drawn independently
        (:meth:`Program.random_state`).
    seed : int or Generator, optional
        A Generator is used as is, so passing the same one to consecutive calls continues
        its stream: two calls give different samples, and a run split in two equals the
        unsplit run. Default: the Program's generator (``compile(..., seed=...)``), so
        two programs compiled with the same seed sample alike.
    progress : bool, optional
        Show a progress bar (default: for long runs on a terminal).
    record_energy : bool
        Record ``E(s)`` after every sweep (``energy`` is None otherwise; one extra pass
        over the couplings per sweep).
    """
    sweep = METHODS[method] if isinstance(method, str) else method
    rng = program.generator(seed)
    xp = program.xp
    if init is None:
        state = program.random_state(chains, seed=rng)
    else:
        state = check_state(program, init, "init")
        if state.shape[0] != chains:
            raise ValueError(f"init: expected shape ({chains}, {program.n_columns}) (chains={chains}); got {tuple(state.shape)}")
    mask = None
    if isinstance(clamp, dict):
        state, mask = clamp_mask(program, state, clamp)
    elif clamp is not None:
        mask = clamp
    kept, energy = [], []
    own = isinstance(method, str) and method != "ancestral"
    # the chains are kept column-major while the run lasts where that is faster: for the
    # one-unit-at-a-time samplers (each update reads and writes one contiguous column) and
    # for block Gibbs on sparse couplings (each part's input is one sparse product with no
    # transposes); the returned state is row-major
    by_unit = method in ("sequential", "random-scan", "metropolis")
    sparse = method == "gibbs" and bool(program.couplings) and all(c.sparse for c in program.couplings)
    layout = "F" if program.backend.name == "numpy" and chains > 1 and (by_unit or sparse) else "C"
    if own:  # the built-in sweeps overwrite a state that this function owns
        state = xp.array(state, dtype=program.dtype, copy=True, order=layout)
    ws = Workspace()  # the run's reused buffers, dropped when it ends
    with Progress(n_sweeps, f"sample ({method if isinstance(method, str) else 'custom'})", progress) as bar:
        for t in range(1, n_sweeps + 1):
            if own:
                state, info = sweep(program, state, rng, beta=beta, clamp=mask, energy=record_energy, inplace=True, workspace=ws)
            else:
                state, info = sweep(program, state, rng, beta=beta, clamp=mask, energy=record_energy)
            if record_energy:
                energy.append(info.energy)
            if t > burn_in and (t - burn_in) % thin == 0:
                kept.append(state.copy() if own else state)
            bar.update(**({"energy": float(to_host(xp.mean(info.energy)))} if record_energy else {}))
    samples = xp.stack(kept) if kept else xp.zeros((0, chains, program.n_columns), dtype=program.dtype)
    if layout == "F":
        state = xp.ascontiguousarray(state)
    return Samples(samples, xp.stack(energy) if record_energy else None, state, mask)
