r"""Gibbs samplers: block Gibbs over the compiled blocks, and one unit at a time.

A sweep is a pure function ``sweep(program, state, rng, ...) -> (state, info)``: it
returns a new state and leaves its input untouched. Units where ``clamp`` is True keep
their values; a block whose units are all clamped is skipped. ``beta`` is the inverse
temperature of the sweep, never a property of the model (an array of shape (chains, 1)
gives each chain its own, as parallel tempering needs).

>>> import graphmrf as gm, numpy as np
>>> prog = gm.compile(gm.rbm(4, 3, seed=0))
>>> s0 = prog.random_state(5, seed=1)
>>> s1, info = block_gibbs(prog, s0, np.random.default_rng(2))
>>> s1.shape, bool((s0 == prog.random_state(5, seed=1)).all())
((5, 7), True)
"""

import contextlib
import functools
import threading
from typing import NamedTuple

import numpy as np

from .. import kernels
from ..backend import as_generator, uniform_into, uniform_rows
from ..couplings import column_major
from ..program import Part
from .clamp import as_mask

__all__ = ["SweepInfo", "block_gibbs", "sequential_gibbs", "unit_parts"]


class SweepInfo(NamedTuple):
    """What a sweep reports; never fed back into the next one.

    Attributes
    ----------
    energy : array (chains,) or None
        ``E(s)`` per chain after the sweep (when asked for).
    changed : array (chains,) or None
        Units that changed value, per chain (when counted).
    accepted : array or None
        Acceptance rate per chain (Metropolis) or per neighbour pair (tempering swaps).

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> _, info = block_gibbs(prog, prog.random_state(4, seed=0), 1, energy=True, count=True)
    >>> info.energy.shape, info.changed.tolist(), info.accepted
    ((4,), [2, 3, 2, 4], None)
    """

    energy: object = None  # E(s) per chain after the sweep (when asked for)
    changed: object = None  # units that changed value, per chain
    accepted: object = None  # acceptance rate per chain (Metropolis) or per swap (tempering)


def _fully_clamped(program, keep, part):
    return keep is not None and bool(program.xp.all(keep[:, program.part_columns(part)]))


def block_gibbs(
    program, state, rng, beta=1.0, clamp=None, blocks=None, energy=False, count=False, inplace=False, workspace=None
):
    """One sweep of block Gibbs sampling: each block drawn from p(block | rest), in order.

    Cost: one pass over the couplings per sweep (for an RBM two matrix products). A parent
    layer of a directed net is updated one unit at a time (its units are coupled through
    their children: explaining away); each such update costs a pass over the children's
    columns, not a product (see :class:`_ChildInputs`).

    Parameters
    ----------
    program : Program
        The compiled model.
    state : array (chains, columns)
        The chains (left untouched unless ``inplace``).
    rng : Generator (or seed)
        Random generator of the draws.
    beta : float or array (chains, 1)
        Inverse temperature (one per chain for tempering).
    clamp : bool mask (columns,) or (chains, columns), optional
        Units that keep their values.
    blocks : list of blocks, optional
        Defaults to the compiled blocks; other blocks are checked to be conditionally
        independent first (a parallel update of coupled units is refused).
    energy : bool
        Report ``E(s)`` per chain in the info.
    count : bool
        Report how many units changed value, per chain.
    inplace : bool
        Overwrite ``state`` instead of returning a new array (for callers that own it,
        like :func:`graphmrf.sample`).
    workspace : Workspace, optional
        Reused buffers of the caller's loop (:class:`graphmrf.workspace.Workspace`).

    Returns
    -------
    state : array (chains, columns)
        The chains after the sweep (``state`` itself when ``inplace``).
    info : SweepInfo
        ``energy`` and ``changed`` when asked for.

    Raises
    ------
    ModelError
        If ``blocks`` leave a unit out, hold one twice, or update coupled units together,
        or ``clamp`` is not a boolean mask of a usable shape.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> v = np.array([[1.0, 0.0, 1.0]])
    >>> state = np.hstack([np.repeat(v, 4, axis=0), np.zeros((4, 2))])
    >>> clamp = np.arange(5) < 3  # hold v at the data: one draw of h ~ p(h | v)
    >>> new, _ = block_gibbs(prog, state, np.random.default_rng(0), clamp=clamp)
    >>> bool((new[:, :3] == v).all()), new.shape
    (True, (4, 5))
    """
    rng = as_generator(rng, program.backend)
    if blocks is None:
        blocks = program.blocks
    else:
        program.check_blocks(blocks)
    state = program.writable(state, inplace)
    keep = as_mask(program, clamp, state.shape[0])
    T = program.statistic(state)
    children = _ChildInputs(program, state, T, workspace) if _ChildInputs.applies(program) else None
    changed = 0
    with _small_products(program, blocks):
        for block in blocks:
            for part in block:
                if _fully_clamped(program, keep, part):
                    continue
                if children is not None and children.covers(part):
                    changed = changed + children.update(part, rng, beta, keep, count=count)
                    continue
                changed = changed + program.update_part(
                    state, T, part, rng, beta, keep, count=count, workspace=workspace
                )
                if children is not None:
                    children.forget()
    return state, SweepInfo(energy=program.energy(state) if energy else None, changed=changed if count else None)


def unit_parts(program):
    """Every unit as its own part, layer by layer (the systematic-scan order).

    Parameters
    ----------
    program : Program
        The compiled model.

    Returns
    -------
    list of Part
        One per unit, in declared order.

    Examples
    --------
    >>> import graphmrf as gm
    >>> unit_parts(gm.compile(gm.rbm(2, 1, seed=0)))
    [Part('v', 0, 1), Part('v', 1, 2), Part('h', 0, 1)]
    """
    return [Part(L, u, u + 1) for L in program.layers for u in range(L.n)]


def sequential_gibbs(
    program,
    state,
    rng,
    beta=1.0,
    clamp=None,
    order="systematic",
    energy=False,
    mode="sample",
    count=None,
    inplace=False,
    workspace=None,
):
    """One sweep of single-site Gibbs sampling: every unit drawn from p(s_i | rest) in turn.

    ``order="systematic"`` visits units in column order; ``"random"`` draws a fresh
    permutation per sweep (random scan). This is the lecture's one-unit-at-a-time
    Boltzmann machine; ``mode="max"`` gives zero-temperature asynchronous dynamics.

    Cost: per unit, its input (a row of the couplings, kept up to date as units change);
    a dense model of spin or binary units takes the fused kernel
    (:func:`graphmrf.kernels.sequential`) when numba is installed.

    Parameters
    ----------
    program : Program
        The compiled model.
    state : array (chains, columns)
        The chains (left untouched unless ``inplace``).
    rng : Generator (or seed)
        Random generator of the draws (and of the random scan's order).
    beta : float or array (chains, 1)
        Inverse temperature.
    clamp : bool mask (columns,) or (chains, columns), optional
        Units that keep their values.
    order : {"systematic", "random"}
        Declared order, or a fresh permutation per sweep.
    energy : bool
        Report ``E(s)`` per chain in the info.
    mode : {"sample", "max"}
        Draw from the conditional, or take its most probable value.
    count : bool, optional
        Report how many units changed, per chain; default: for ``mode="max"`` (a fixed
        point is a sweep where none did).
    inplace : bool
        Overwrite ``state`` instead of returning a new array.
    workspace : Workspace, optional
        Reused buffers of the caller's loop.

    Returns
    -------
    state : array (chains, columns)
    info : SweepInfo

    Raises
    ------
    ValueError
        If ``order`` or ``mode`` is none of the above.
    ModelError
        If ``clamp`` is not a boolean mask of a usable shape.

    Examples
    --------
    Zero-temperature sweeps from random states of an RBM with zero weights: units go to
    their bias's side and stay there.

    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0, scale=0.0))
    >>> prog.params["v.bias"][:] = [1.0, -1.0, 1.0]
    >>> s, info = sequential_gibbs(prog, prog.random_state(2, seed=0), 1, mode="max")
    >>> s[:, :3].tolist(), info.changed.tolist()
    ([[1.0, 0.0, 1.0], [1.0, 0.0, 1.0]], [2, 1])
    """
    rng = as_generator(rng, program.backend)
    state = program.writable(state, inplace)
    keep = as_mask(program, clamp, state.shape[0])
    T = program.statistic(state)
    perm = None  # the visit order: declared, or a permutation of it
    if order == "random":
        n = sum(L.n for L in program.layers)
        perm = np.asarray(
            program.backend.xp.asnumpy(rng.permutation(n)) if program.backend.name == "cupy" else rng.permutation(n)
        )
    elif order != "systematic":
        raise ValueError(f"order: expected 'systematic' or 'random'; got {order!r}")
    count = mode == "max" if count is None else count
    changed = 0
    with _small_products(program, None):
        if _fused_sequential(program, state, T, keep, perm, rng, beta, mode, count):
            return state, SweepInfo(energy=program.energy(state) if energy else None)
        parts = unit_parts(program)
        if perm is not None:
            parts = [parts[i] for i in perm]
        fields = _Fields(program, T) if _Fields.applies(program) else None
        children = _ChildInputs(program, state, T, workspace) if _ChildInputs.applies(program) else None
        for part in parts:
            if _fully_clamped(program, keep, part):
                continue
            if children is not None and children.covers(part):
                changed = changed + children.update(part, rng, beta, keep, mode=mode, count=count)
                continue
            if children is not None:
                children.forget()
            if fields is None or not fields.live:
                changed = changed + program.update_part(
                    state, T, part, rng, beta, keep, mode=mode, count=count, workspace=workspace
                )
                continue
            cs = program.part_columns(part)
            before = T[:, cs].copy()
            x = fields.input(part)
            changed = changed + program.update_part(
                state, T, part, rng, beta, keep, mode=mode, count=count, x=x, workspace=workspace
            )
            fields.moved(part, T[:, cs] - before)
    return state, SweepInfo(energy=program.energy(state) if energy else None, changed=changed if count else None)


def _fused_sequential(program, state, T, keep, perm, rng, beta, mode, count):
    """The fused one-unit-at-a-time sweep (:func:`graphmrf.kernels.sequential`) where it
    applies (:func:`one_unit_model`; nothing counted), drawing the uniforms the loop
    below would draw, unit by unit in visit order; True when it swept."""
    model = None if count or mode not in ("sample", "max") else one_unit_model(program, state, T, keep, beta)
    if model is None:
        return False
    order = model["order"] if perm is None else model["order"][perm]
    uniforms = None
    if mode == "sample":  # the draws update_part makes, (chains, 1) per visit, in one call where it can
        uniforms = uniform_rows(rng, np.empty((order.size, state.shape[0]), dtype=state.dtype))
    kernels.sequential(state, order, uniforms, model["J"], *model["units"], mode)
    return True


def one_unit_model(program, state, T, keep, beta):
    """What the one-unit kernels (:func:`graphmrf.kernels.sequential`) need, where they
    apply -- numba installed, nothing clamped, every layer of single-column spin or binary
    units, undirected or lateral couplings only (dense or sparse; a lattice layer takes the
    checkerboard), a NumPy state that is its own statistic, one beta: a dict with
    ``order`` (every unit's column, in declared order), ``J`` (the coupling matrix: a
    scipy CSR matrix when a coupling is sparse) and ``units`` (bias, slope, lo, hi per
    unit); else None.

    Parameters
    ----------
    program : Program
    state, T : arrays (chains, columns)
        The chains and their statistic.
    keep : bool mask or None
        Clamped entries.
    beta : float or array
        Inverse temperature.

    Returns
    -------
    dict or None

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.boltzmann(3, 1, seed=0))
    >>> s = prog.random_state(2, seed=0)
    >>> model = one_unit_model(prog, s, s, None, 1.0)
    >>> (model is not None) == kernels.enabled(), one_unit_model(prog, s, s, s > 0, 1.0)
    (True, None)
    """
    if not (kernels.enabled() and keep is None and isinstance(state, np.ndarray) and T is state):
        return None
    if np.ndim(beta) != 0 or state.dtype not in (np.float32, np.float64):
        return None
    if any(L.directed or L.children or L.width != 1 or L.kind.name not in ("spin", "binary") for L in program.layers):
        return None
    if any(c.type in ("stencil", "directed") for c in program.couplings) or not program.couplings:
        return None
    if any(c.sparse for c in program.couplings):
        J = program.coupling_matrix(sparse=True).astype(state.dtype)
    elif len(program.couplings) == 1 and program.couplings[0].type == "lateral" and len(program.layers) == 1:
        J = program.couplings[0].W  # a Hopfield net: the lateral matrix is the coupling matrix
    else:
        J = program.coupling_matrix().astype(state.dtype)
    dt = state.dtype
    lo = np.concatenate([np.full(L.n, L.kind.support[0], dtype=dt) for L in program.layers])
    hi = np.concatenate([np.full(L.n, L.kind.support[1], dtype=dt) for L in program.layers])
    return {
        "order": np.concatenate([L.offset + np.arange(L.n) for L in program.layers]),  # one column per unit
        "J": J,
        "units": (
            np.concatenate([L.params["bias"] for L in program.layers]),
            (float(beta) * (hi - lo)).astype(dt),
            lo,
            hi,
        ),
    }


@functools.cache
def _blas_threads():
    """threadpoolctl's controller of the loaded BLAS libraries (found once per process),
    or None without threadpoolctl."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a dependency; without it sweeps run unlimited
        return None
    return ThreadpoolController()


class _OneBlasThread:
    """A context holding the process's BLAS at one thread, shared by every sweep running
    at once: the first to enter sets the limit, the last to leave restores the original
    thread counts (two threads sampling together never leave it lowered)."""

    _lock = threading.Lock()
    _depth = 0
    _limiter = None

    def __init__(self, controller):
        self.controller = controller

    def __enter__(self):
        with self._lock:
            if _OneBlasThread._depth == 0:
                _OneBlasThread._limiter = self.controller.limit(limits=1, user_api="blas")
            _OneBlasThread._depth += 1
        return self

    def __exit__(self, *exc):
        with self._lock:
            _OneBlasThread._depth -= 1
            if _OneBlasThread._depth == 0:
                _OneBlasThread._limiter.restore_original_limits()
                _OneBlasThread._limiter = None
        return False


def _small_products(program, blocks):
    """One BLAS thread while a sweep updates units one at a time (``blocks`` None: every
    sweep of one unit at a time), else nothing.

    Such a sweep makes hundreds of products of one unit's column (a matrix-vector product,
    a rank-one correction) per sweep. A multi-threaded BLAS wakes and synchronises its
    threads for each; when another process holds the cores those hand-offs wait for the
    scheduler and the sweep slows several-fold (benchmarks/posterior.py measures it), while
    one thread per small product is as fast on a quiet machine. The limit holds for the
    whole process (BLAS thread counts are global) and only while such sweeps run; the few
    whole-layer products of a sweep run on one thread too, a small cost next to the
    per-unit updates.
    """
    if program.backend.name != "numpy":
        return contextlib.nullcontext()
    if blocks is not None and not any(len(b) == 1 and b[0].n == 1 for b in blocks):
        return contextlib.nullcontext()
    controller = _blas_threads()
    if controller is None:
        return contextlib.nullcontext()
    return _OneBlasThread(controller)


class _ChildInputs:
    """The inputs of a parent layer's directed children, kept up to date through a run of
    one-unit updates of that layer: the fast form of :func:`graphmrf.conditionals.children_term`.

    The conditional of a two-valued parent unit ``u`` adds, for each child layer ``C``,
    ``sum_c log p(c | parents)`` at both of its values (explaining away). With ``X`` the
    children's input (``T(parents) W + ...``) and ``d`` the change of ``T(u)`` to its other
    value, the logit of the upper value gains

        ``(t1 - t0) T(C) . w_u  -  sign * (sum log Z(X + d w_u) - sum log Z(X))``

    (``sign`` +1 where ``u`` holds its lower value, -1 where it holds the upper one; the
    children's self-energies cancel). ``X`` and ``sum log Z(X)`` are computed once when a
    run of the layer's units starts; each update evaluates ``log Z`` once at the other
    value, and the chains whose unit moved take that row (a rank-one correction) -- a pass
    over the children's columns per unit instead of a product per unit and value. The
    layer's own input (from its parents and undirected neighbours) does not change while
    its own units do, so it is computed once per run too. Recomputed at every run start,
    so rounding never accumulates past one sweep. Dense couplings to children, two-valued
    units; any other update of the sweep ends the run (:meth:`forget`).
    """

    @staticmethod
    def tracks(layer):
        """True for a layer whose units this class updates."""
        d = layer.ops.d
        two_valued = layer.kind.discrete and not layer.kind.onehot and len(getattr(d, "values", ())) == 2
        dense = all(not c.sparse for c in layer.children)
        return bool(layer.children) and two_valued and layer.width == 1 and not layer.lateral and dense

    @staticmethod
    def applies(program):
        return any(_ChildInputs.tracks(L) for L in program.layers)

    def __init__(self, program, state, T, workspace):
        self.program, self.state, self.T, self.workspace = program, state, T, workspace
        self.tracked = {L.index for L in program.layers if self.tracks(L)}
        self.layer = None

    def covers(self, part):
        """True when ``part`` is one unit of a tracked layer."""
        return part.n == 1 and part.layer.index in self.tracked

    def forget(self):
        """Another update happened: the next unit starts a new run."""
        self.layer = None

    def _start(self, L):
        program, xp, T = self.program, self.program.xp, self.T
        self.layer = L
        self.x = program.field(T, L)  # the layer's own input: its units do not feed it
        values = xp.asarray(L.ops.d.values, dtype=program.dtype)
        tv = L.ops.statistic(xp.broadcast_to(values[:, None], (2, L.n)), L.params)
        self.t_sum, self.t_gap = tv[0] + tv[1], tv[1] - tv[0]
        self.children = []
        for c in L.children:
            C = c.b
            X = program.field(T, C)
            lz = xp.sum(C.ops.log_partition(X, C.params, 1.0, C.width), axis=1)
            self.children.append([C, c.W, X, lz, xp.empty_like(X), None])

    def gain(self, u):
        """``sum_C [log p(C | u at its upper value) - log p(C | u at its lower value)]`` per
        chain, for unit ``u`` of the current run's layer; keeps each child layer's input
        at ``u``'s other value (for :meth:`update`)."""
        xp, T = self.program.xp, self.T
        t_gap = self.t_gap[u]
        d = self.t_sum[u] - 2 * T[:, self.layer.offset + u]  # T(other value) - T(current value), per chain
        delta = 0
        for child in self.children:
            C, W, X, lz, Xo, _ = child
            w = W[u]
            xp.multiply(d[:, None], w, out=Xo)
            Xo += X
            lzo = child[5] = xp.sum(C.ops.log_partition(Xo, C.params, 1.0, C.width), axis=1)
            change = lzo - lz
            change *= d / t_gap  # the sign: +1 at the lower value, -1 at the upper one
            delta = (T[:, C.sl] @ w) * t_gap - change + delta
        return delta

    def update(self, part, rng, beta=1.0, keep=None, mode="sample", count=False):
        """Redraw the unit ``part`` in place (as :func:`graphmrf.conditionals.update_part`
        would, with the same random draws); returns the per-chain count of changed units
        when ``count``, else 0."""
        L = part.layer
        if self.layer is not L:
            self._start(L)
        program, xp, state, T = self.program, self.program.xp, self.state, self.T
        u = part.start
        col = L.offset + u
        old = state[:, col : col + 1]
        cond = L.ops.conditional(self.x[:, u : u + 1].copy(), L.p(slice(u, u + 1)), beta, 1, consume=True)
        cond["logits"][..., 0] += beta * self.gain(u)[:, None]
        if mode == "sample":
            new = L.ops.draw(cond, self._uniform(rng, old), lambda s: rng.standard_normal(s, dtype=program.dtype), 1)
        elif mode == "max":
            new = L.ops.mode(cond, old, 1)
        else:
            raise ValueError(f"update_part: mode must be one of 'sample', 'max'; got {mode!r}")
        if keep is not None:
            new = xp.where(keep[:, col : col + 1], old, new)
        moved = (new != old)[:, 0]
        state[:, col : col + 1] = new
        if T is not state:
            T[:, col : col + 1] = L.ops.statistic(new, L.p(slice(u, u + 1)))
        rows = xp.flatnonzero(moved)
        if rows.size:  # the chains whose unit moved take the other value's inputs
            for _C, _W, X, lz, Xo, lzo in self.children:
                X[rows] = Xo[rows]
                lz[rows] = lzo[rows]
        return moved.astype(xp.intp) if count else 0

    def _uniform(self, rng, old):
        """The uniforms :func:`graphmrf.conditionals.update_part` would draw."""
        program, xp, ws = self.program, self.program.xp, self.workspace
        order = "F" if column_major(old) else "C"

        def uniform(shape):
            if ws is None:
                return uniform_into(rng, xp.empty(shape, dtype=program.dtype, order=order))
            return ws.uniform(rng, shape, program.dtype, xp, order)

        return uniform


class _Fields:
    """Every unit's coupling input, kept up to date through one sequential sweep.

    One matrix product per layer at the start of the sweep; after each single-unit update
    only the chains whose unit changed get a rank-one correction (``x += dT w_u``), so an
    update costs a column read instead of a full matrix-vector product -- near a fixed point
    (Hopfield recall, low temperature) almost nothing changes. When many chains change at
    once (more than 1/16 of them: the gather, add and scatter of their rows then cost more
    than the product) the inputs are dropped and the rest of the sweep computes each unit's
    input directly. Recomputed every sweep, so
    rounding never accumulates past one sweep. Undirected and lateral dense couplings only.
    """

    @staticmethod
    def applies(program):
        # dense matrices only: a lattice's stencil is not a matrix of rows to add
        return not any(L.directed for L in program.layers) and all(
            not c.sparse and c.type != "stencil" for c in program.couplings
        )

    def __init__(self, program, T):
        self.program, self.T = program, T
        self.x = {L.index: program.field(T, L) for L in program.layers}
        # for each layer, (destination layer, rows of W feeding it from this layer's columns)
        self.out = {L.index: [] for L in program.layers}
        for c in program.couplings:
            self.out[c.a.index].append((c.b.index, c.W, "rows"))
            if c.type != "lateral":
                self.out[c.b.index].append((c.a.index, c.W, "cols"))
        self.live = True

    def input(self, part):
        return self.x[part.layer.index][:, part.columns].copy()

    def moved(self, part, dT):
        xp = self.program.xp
        L = part.layer
        rows = xp.flatnonzero(xp.any(dT != 0, axis=1))
        if rows.size == 0:
            return
        if rows.size * 16 > dT.shape[0]:
            self.live = False
            return
        cols = part.columns
        d = dT[rows]
        for dst, W, side in self.out[L.index]:
            w_u = W[cols, :] if side == "rows" else W[:, cols].T
            self.x[dst][rows] += d @ w_u
