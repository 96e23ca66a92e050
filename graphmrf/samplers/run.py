r"""The one entry point for MCMC sampling: :func:`sample`.

>>> import graphmrf as gm, numpy as np
>>> prog = gm.compile(gm.rbm(6, 4, seed=0))
>>> run = gm.sample(prog, n_sweeps=30, chains=8, burn_in=10, thin=5, seed=0)
>>> run.samples.shape, run.energy.shape, run.state.shape
((4, 8, 10), (30, 8), (8, 10))
"""

from typing import NamedTuple

from ..arguments import BETA, COUNT, AnyOf, Boolean, Constraint, Function, InstanceOf, Integer, Options, Seed, checked
from ..backend import to_host
from ..program import Program
from ..support import check_state
from . import protocol
from .clamp import clamp_mask
from .progress import Progress

__all__ = ["sample", "Samples", "METHODS"]


_BUILT_IN = (protocol.Gibbs, protocol.Sequential, protocol.Metropolis, protocol.Ancestral)


class _IsSampler(Constraint):
    """Anything with the sampler protocol's ``init`` and ``step``."""

    def admits(self, value):
        return protocol.is_sampler(value)

    def kind_ok(self, value):
        return protocol.is_sampler(value)

    def __str__(self):
        return "a sampler (init/step)"


SAMPLER = _IsSampler()

#: Samplers by name (each a :class:`~graphmrf.samplers.protocol.Sampler`).
METHODS = {
    "gibbs": protocol.Gibbs(),
    "sequential": protocol.Sequential(),
    "random-scan": protocol.Sequential(order="random"),
    "metropolis": protocol.Metropolis(),
    "ancestral": protocol.Ancestral(),
}


class Samples(NamedTuple):
    """Result of :func:`sample`.

    Attributes
    ----------
    samples : array (n_kept, chains, columns)
        Kept states, at sweeps burn_in + thin, burn_in + 2 thin, ...
    energy : array (n_sweeps, chains) or None
        ``E(s)`` after every sweep (None with ``record_energy=False``).
    state : array (chains, columns)
        The last state (pass it back as ``init`` to continue).
    clamp : bool array or None
        The clamp mask used.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> run = gm.sample(prog, 4, chains=2, seed=0, clamp={"v": [1, 0, 1]})
    >>> run.samples.shape, run.energy.shape, run.state[:, :3].tolist(), run.clamp.shape
    ((4, 2, 5), (4, 2), [[1.0, 0.0, 1.0], [1.0, 0.0, 1.0]], (2, 5))
    """

    samples: object
    energy: object
    state: object
    clamp: object

    def node(self, program, node):
        """The kept samples of one node: (n_kept, chains, columns of the node).

        Parameters
        ----------
        program : Program
            The Program that was sampled.
        node : node
            A node of its graph.

        Returns
        -------
        array (n_kept, chains, columns of the node)

        Raises
        ------
        KeyError
            If the model has no such node.

        Examples
        --------
        >>> import graphmrf as gm
        >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
        >>> gm.sample(prog, 4, chains=2, seed=0).node(prog, "h").shape
        (4, 2, 2)
        """
        return self.samples[:, :, program.columns(node)]


def _sampler(method):
    """The Sampler a ``method`` names: a built-in by name, a Sampler, or a sweep function."""
    if isinstance(method, str):
        return METHODS[method]
    if protocol.is_sampler(method):
        return method
    return protocol.from_sweep(method)


@checked(
    program=InstanceOf(Program),
    n_sweeps=COUNT,
    chains=COUNT,
    burn_in=Integer(0),
    thin=COUNT,
    method=AnyOf(Options(*METHODS), SAMPLER, Function()),
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
        The compiled model.
    n_sweeps : int
        Sweeps of every chain.
    chains : int
        Independent chains, batched on axis 0.
    burn_in, thin : int
        A state is kept after sweep ``t`` when ``t > burn_in`` and ``(t - burn_in) % thin == 0``.
    method : str, Sampler or callable
        "gibbs" (block Gibbs over the compiled blocks), "sequential" (one unit at a time),
        "random-scan", "metropolis" (single-site), "ancestral" (directed nets: each sweep
        is a fresh ancestral draw, after one top-RBM Gibbs sweep for a DBN); any
        :class:`~graphmrf.samplers.Sampler` (``init``/``step``: your own, or a built-in
        such as :class:`~graphmrf.samplers.Tempering`); or a sweep function with the
        signature of :func:`~graphmrf.samplers.block_gibbs`.
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

    Returns
    -------
    Samples
        ``samples``, ``energy``, the last ``state`` and the ``clamp`` mask.

    Raises
    ------
    TypeError
        If an argument is of the wrong type (a method that is neither a name, a sampler
        nor a function).
    ValueError
        If an argument breaks its rule (an unknown method name, ``n_sweeps < 1``,
        ``burn_in > n_sweeps``), or ``init`` has the wrong shape or a value outside its unit's support.
    ModelError
        If ``clamp`` names a node not in the model, or gives a value outside its support.

    Examples
    --------
    Sample an RBM's visible units given nothing, then its hidden units given a visible
    vector:

    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(6, 4, seed=0))
    >>> run = gm.sample(prog, n_sweeps=30, chains=8, burn_in=10, thin=5, seed=0)
    >>> run.samples.shape, run.energy.shape, run.state.shape
    ((4, 8, 10), (30, 8), (8, 10))
    >>> given = gm.sample(prog, 5, chains=2, clamp={"v": [1, 0, 1, 0, 1, 0]}, seed=0)
    >>> given.node(prog, "v")[-1].tolist()
    [[1.0, 0.0, 1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]]
    """
    if burn_in > n_sweeps:
        raise ValueError(
            f"sample: burn_in must be <= n_sweeps ({n_sweeps}); got {burn_in} (no state would be kept; "
            "burn_in = n_sweeps keeps only the last state, in result.state)"
        )
    sampler = _sampler(method)
    name = getattr(sampler, "name", type(sampler).__name__)
    rng = program.generator(seed)
    xp = program.xp
    if init is None:
        state = program.random_state(chains, seed=rng)
    else:
        state = check_state(program, init, "init")
        if state.shape[0] != chains:
            raise ValueError(
                f"init: expected shape ({chains}, {program.n_columns}) (chains={chains}); got {tuple(state.shape)}"
            )
    mask = None
    if isinstance(clamp, dict):
        state, mask = clamp_mask(program, state, clamp)
    elif clamp is not None:
        mask = clamp
    kept, energy = [], []
    current = sampler.init(program, state, beta=beta, clamp=mask)
    workspace = getattr(current, "workspace", None)
    # a built-in sampler's chains stay in this call and its steps leave the parameters alone
    # (a sampler of the user's may change them between steps: the workspace is not told)
    fixed = workspace is not None and type(sampler) in _BUILT_IN
    try:
        if fixed:
            workspace.fixed_parameters = True
        with Progress(n_sweeps, f"sample ({name})", progress) as bar:
            for t in range(1, n_sweeps + 1):
                current, info = sampler.step(program, current, rng)
                chains_now = protocol.position(current)
                if record_energy:
                    energy.append(program.energy(chains_now))
                if t > burn_in and (t - burn_in) % thin == 0:
                    kept.append(xp.array(chains_now, copy=True))
                bar.update(**({"energy": float(to_host(xp.mean(energy[-1])))} if record_energy else {}))
    finally:
        if fixed:
            workspace.fixed_parameters = False
    samples = xp.stack(kept) if kept else xp.zeros((0, chains, program.n_columns), dtype=program.dtype)
    state = xp.ascontiguousarray(protocol.position(current))
    return Samples(samples, xp.stack(energy) if record_energy else None, state, mask)
