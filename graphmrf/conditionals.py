r"""The conditional distribution of a part of a layer given the rest, and a draw from it.

These are the two operations every sampler is made of. For a part of layer ``L`` with
coupling input ``x`` (:meth:`Program.field`), the kind's derived functions give the
conditional's parameters at inverse temperature ``beta`` (a logit, K logits, or a mean and
variance). A layer with directed children adds, for each candidate value, the children's
``log p(child | parents)`` -- explaining away. :func:`update_part` then draws the part in
place from uniforms and normals only (Gumbel-max for softmax), or sets it to its most
probable value at zero temperature, keeping clamped entries.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.rbm(3, 2, seed=0, scale=1.0), dtype=np.float64)
>>> s = np.zeros((4, 5))
>>> T = prog.statistic(s)
>>> h = prog.blocks[1][0]
>>> cond = part_conditional(prog, s, T, h, beta=1.0)
>>> bool(np.allclose(cond["logits"][..., 0], prog.params["h.bias"]))
True
>>> update_part(prog, s, T, h, np.random.default_rng(0)) == 0 and set(np.unique(s)) <= {0.0, 1.0}
True
"""

import numpy as np

from . import kernels
from .backend import uniform_into
from .couplings import StencilInput, column_major
from .errors import ModelError

__all__ = ["part_conditional", "update_part", "children_term"]

# per-unit parameters are spread over the chains (see _spread) only up to this many
# entries per array: larger runs add them by broadcasting, with no copy
_SPREAD_MAX = 1 << 22


def children_term(program, state, T, part, values):
    """``sum over directed children of log p(child | parents)`` for each candidate value
    of the part's units: an array (chains, units, candidates), or None without children.

    This is what couples the parents of a child in a belief net (explaining away): the
    conditional of a parent unit adds ``beta`` times the difference of these terms to its
    own logit. Cost: one product with each child coupling per candidate value.

    Parameters
    ----------
    program : Program
        The compiled model.
    state : array (chains, columns)
        The chains.
    T : array (chains, columns)
        Their statistics.
    part : Part
        Units of a layer with directed children.
    values : sequence of arrays (width,)
        The candidate values of one unit (a one-hot row per category for softmax units).

    Returns
    -------
    array (chains, units, candidates) or None

    Raises
    ------
    ModelError
        If the layer's units are real-valued (no closed-form conditional).

    Examples
    --------
    ``h -> v`` with weight 2: observing ``v = 1`` favours ``h = 1``.

    >>> import numpy as np, graphmrf as gm
    >>> g = gm.sbn([1, 1], seed=0)
    >>> g.edges["h1", "v"]["weight"] = np.array([[2.0]])
    >>> prog = gm.compile(g, dtype=np.float64)
    >>> s = np.array([[1.0, 0.0]])  # v = 1, h = 0
    >>> h = prog.blocks[1][0]
    >>> np.round(children_term(prog, s, prog.statistic(s), h, [np.zeros(1), np.ones(1)]), 3)  # log sigmoid(0), (2)
    array([[[-0.693, -0.127]]])
    """
    L = part.layer
    if not L.children:
        return None
    xp = program.xp
    if not L.kind.discrete:
        raise ModelError(f"node {L.name!r}: {L.kind.name} units with directed children have no closed-form conditional")
    cs = part.columns
    n_part = part.n
    cur = T[:, L.sl][:, cs].reshape(T.shape[0], n_part, L.width)
    out = []
    for vals in values:  # vals: (width,) state of one unit
        params = {k: v[cs].reshape(1, n_part, L.width) for k, v in L.params.items()}
        Tv = L.ops.statistic(xp.broadcast_to(xp.asarray(vals, dtype=T.dtype), (1, n_part, L.width)), params)
        dT = Tv - cur  # (chains, n_part, width)
        tot = 0
        for c in L.children:
            C = c.b
            Wp = c.dense()[cs].reshape(n_part, L.width, C.cols)
            xn = program.field(T, C)[:, None, :] + xp.einsum("cnw,nwj->cnj", dT, Wp)
            sc = state[:, C.sl][:, None, :]
            ell = -C.ops.self_energy(sc, C.params) + C.ops.statistic(sc, C.params) * xn
            tot = tot + xp.sum(ell, axis=2) - xp.sum(C.ops.log_partition(xn, C.params, 1.0, C.width), axis=2)
        out.append(tot)
    return xp.stack(out, axis=-1)


def part_conditional(program, state, T, part, beta=1.0, children=True, x=None, workspace=None):
    """The conditional of ``part``'s units given the rest, at inverse temperature ``beta``.

    Returns ``{"logits": (chains, units, m - 1)}`` (logits relative to the first support
    value), ``{"logits": (chains, units, K)}`` for softmax, or ``{"mean", "var"}``. ``x``,
    when given, is the part's coupling input, given up to this call (it may be
    overwritten); ``children=False`` leaves out directed children (generation).

    For a binary unit the logit is ``beta (b_i + x_i)`` plus, with directed children,
    ``beta`` times the difference of their log-likelihoods (:func:`children_term`).

    Parameters
    ----------
    program : Program
        The compiled model.
    state : array (chains, columns)
        The chains.
    T : array (chains, columns)
        Their statistics (:meth:`Program.statistic`).
    part : Part
        The units.
    beta : float or array (chains, 1)
        Inverse temperature (one per chain for tempering).
    children : bool
        Whether to include the directed children's terms.
    x : array (chains, part's columns), optional
        The part's coupling input, if already computed.
    workspace : Workspace, optional
        Reused buffers (per-unit parameters spread over the chains of a column-major state).

    Returns
    -------
    dict
        ``{"logits": ...}`` or ``{"mean": ..., "var": ...}``, arrays over (chains, units, ...).

    Examples
    --------
    The net of :func:`children_term`: ``h``'s prior logit is 0, and ``v = 1`` adds
    ``log sigmoid(2) - log sigmoid(0)``.

    >>> import numpy as np, graphmrf as gm
    >>> g = gm.sbn([1, 1], seed=0)
    >>> g.edges["h1", "v"]["weight"] = np.array([[2.0]])
    >>> prog = gm.compile(g, dtype=np.float64)
    >>> s = np.array([[1.0, 0.0]])
    >>> h = prog.blocks[1][0]
    >>> [np.round(part_conditional(prog, s, s, h, children=c)["logits"], 3).item() for c in (False, True)]
    [0.0, 0.566]
    """
    L = part.layer
    if x is None:
        x = program.field(T, part)
    pp = L.p(part.columns)  # views for a run of units: in-place updates show through
    if workspace is not None and column_major(x) and x.size <= _SPREAD_MAX:
        pp = _spread(program, workspace, part, pp, x)
    cond = L.ops.conditional(x, pp, beta, L.width, consume=True)  # x is ours: fresh from field()
    if L.children and children:
        if getattr(beta, "ndim", 0) == 2:  # one beta per chain, (chains, 1): against (chains, units, values)
            beta = beta[..., None]
        if L.kind.onehot:
            ct = children_term(program, state, T, part, [np.eye(L.width)[k] for k in range(L.width)])
            cond = {"logits": cond["logits"] + beta * ct}
        else:
            ct = children_term(program, state, T, part, [np.full(1, v) for v in L.ops.d.values])
            cond = {"logits": cond["logits"] + beta * (ct[..., 1:] - ct[..., :1])}
    return cond


def _spread(program, workspace, part, pp, x):
    """The part's per-unit parameters repeated over the chains in ``x``'s column-major
    layout: adding a row to a column-major array runs one short loop per unit, adding an
    array of the same layout runs at full speed. Kept in the workspace while the
    parameters equal their snapshot (compared each call: one pass over the units)."""
    xp = program.xp
    key = ("spread", part.key, x.shape)
    held = workspace.get(key)
    if held is not None and all(xp.array_equal(held[0][k], v) for k, v in pp.items() if k in held[0]):
        return held[1]
    snap = {k: v.copy() for k, v in pp.items() if getattr(v, "shape", ()) == x.shape[1:]}
    spread = dict(pp)
    for k, v in snap.items():
        spread[k] = xp.empty(x.shape, dtype=x.dtype, order="F")
        spread[k][...] = v
    return workspace.put(key, (snap, spread))[1]


def _fused_lattice(program, state, T, part, rng, beta, workspace):
    """The fused checkerboard kernel (:func:`graphmrf.kernels.checkerboard`) where it applies
    -- numba installed, a spin or binary lattice layer whose only input is its own lattice,
    a row-major NumPy state that is its own statistic, one beta -- drawing the same
    uniforms as the path below (in the kernel, where it can make them from the generator's
    words); True when it did the update."""
    L = part.layer
    if not (kernels.enabled() and L.shape is not None and L.kind.name in ("spin", "binary") and not L.children):
        return False
    if T is not state or not isinstance(state, np.ndarray) or not state.flags.c_contiguous or np.ndim(beta) != 0:
        return False
    if state.dtype not in (np.float32, np.float64) or part.contiguous:
        return False
    inputs = program.inputs.kernels(part)
    if len(inputs) != 1 or not isinstance(inputs[0], StencilInput):
        return False
    c = inputs[0].coupling
    # a view of the layer's columns (the lattice sites); the kernels write through it
    sites_view = state[:, L.sl] if L.sl.start or L.sl.stop != state.shape[1] else state
    if not sites_view.flags.c_contiguous:  # decided before a draw: the path below draws then
        return False
    shape = (state.shape[0], part.n)
    if kernels.draws_from(rng, state.shape[0] * part.n, state.dtype):
        u = rng  # the kernel draws the very uniforms below itself, without the array
    elif workspace is not None:
        u = workspace.uniform(rng, shape, state.dtype, np, "C")
    else:
        u = uniform_into(rng, np.empty(shape, dtype=state.dtype))
    lo, hi = L.kind.support
    bias = L.params["bias"]
    colour = _checkerboard_colour(workspace, part, L.shape) if len(L.shape) in (2, 3) else None
    b = bias[0]
    if colour is not None and c.W.size == 1 and _one_bias(workspace, L, bias):
        # one coupling, one bias: the probability is a function of the neighbours' count
        kernels.checkerboard_table(
            sites_view, u, float(c.W[0]), float(b), float(beta), (lo, hi), L.shape, colour, c.periodic
        )
    else:
        kernels.checkerboard(
            sites_view, part.units, u, c.W, bias[part.columns], float(beta) * (hi - lo), (lo, hi), L.shape, c.periodic
        )
    return True


def _one_bias(workspace, layer, bias):
    """Whether every site of a lattice layer has the same bias: two reductions, no array
    made; found once per run where the run's parameters are fixed (reading the biases at
    every step costs more than the reductions: they push the lattice out of the cache)."""
    if workspace is None or not workspace.fixed_parameters:
        return bool(bias.min() == bias[0] == bias.max())
    key = ("one bias", id(bias))  # the array itself: a workspace may see another program
    found = workspace.get(key)
    if found is None:
        found = workspace.put(key, bool(bias.min() == bias[0] == bias.max()))
    return found


def _checkerboard_colour(workspace, part, shape):
    """:func:`graphmrf.kernels.checkerboard_colour` of a part: known to a part compiled as
    a checkerboard colour, else found once and kept in the run's workspace."""
    if part.checkerboard_colour is not None:
        return part.checkerboard_colour
    if workspace is None:
        return kernels.checkerboard_colour(shape, part.units)
    key = ("checkerboard colour", part.key)
    found = workspace.get(key, "unknown")
    if found == "unknown":
        found = workspace.put(key, kernels.checkerboard_colour(shape, part.units))
    return found


def update_part(
    program, state, T, part, rng, beta=1.0, keep=None, mode="sample", children=True, count=False, x=None, workspace=None
):
    """Redraw the units of ``part`` in ``state``, in place; keep ``T`` (the statistics) in step.

    ``mode="sample"`` draws from the conditional; ``"max"`` sets each unit to its most
    probable value (zero temperature; a tie keeps the current value; real units go to
    their mean). ``keep`` is a boolean mask (chains, columns) of clamped entries that must
    not change. With ``count=True`` returns the number of units whose value changed, per
    chain (else 0). ``x``, when given, is the part's coupling input, given up to this call.
    ``workspace`` (a :class:`~graphmrf.workspace.Workspace`) lends reused buffers.

    Draws use uniforms and normals only (Gumbel-max for softmax), so NumPy and CuPy agree
    in distribution; a spin or binary lattice with numba installed takes the fused
    checkerboard kernel, which draws the same uniforms.

    Parameters
    ----------
    program : Program
        The compiled model.
    state : array (chains, columns)
        The chains, updated in place.
    T : array (chains, columns)
        Their statistics, kept in step (``state`` itself when the statistic is the state).
    part : Part
        The units to redraw.
    rng : Generator
        Random generator of the draws (unused for ``mode="max"``).
    beta : float or array (chains, 1)
        Inverse temperature.
    keep : bool array (chains, columns), optional
        Clamped entries, left unchanged.
    mode : {"sample", "max"}
        Draw, or take the most probable value.
    children : bool
        Whether to include the directed children's terms.
    count : bool
        Whether to count the units that changed.
    x : array, optional
        The part's coupling input, if already computed.
    workspace : Workspace, optional
        Reused buffers.

    Returns
    -------
    int or array (chains,)
        The units that changed, per chain, with ``count=True``; else 0.

    Raises
    ------
    ValueError
        If ``mode`` is neither "sample" nor "max".

    Examples
    --------
    Zero-temperature update of ``h`` given ``v = 1``: the unit turns on.

    >>> import numpy as np, graphmrf as gm
    >>> g = gm.sbn([1, 1], seed=0)
    >>> g.edges["h1", "v"]["weight"] = np.array([[2.0]])
    >>> prog = gm.compile(g, dtype=np.float64)
    >>> s = np.array([[1.0, 0.0]])
    >>> update_part(prog, s, s, prog.blocks[1][0], None, mode="max", count=True), s
    (array([1]), array([[1., 1.]]))
    """
    xp = program.xp
    L = part.layer
    if (
        mode == "sample"
        and keep is None
        and not count
        and x is None
        and _fused_lattice(program, state, T, part, rng, beta, workspace)
    ):
        return 0
    cs = program.part_columns(part)
    cond = part_conditional(program, state, T, part, beta, children, x=x, workspace=workspace)
    old = state[:, cs]
    if mode == "sample":
        # nothing to compare against: draw into the state (a view, for a run of units)
        direct = keep is None and not count and part.contiguous
        order = "F" if column_major(state) else "C"  # the uniforms follow the state's layout

        def uniform(shape):  # the same draws with or without a workspace to lend the buffer
            if workspace is None:
                return uniform_into(rng, xp.empty(shape, dtype=program.dtype, order=order))
            return workspace.uniform(rng, shape, program.dtype, xp, order)

        def normal(shape):
            return rng.standard_normal(shape, dtype=program.dtype)

        new = L.ops.draw(cond, uniform, normal, L.width, out=old if direct else None, consume=True)
        if new is old:
            if T is not state:
                T[:, cs] = L.ops.statistic(new, L.p(part.columns))
            return 0
    elif mode == "max":
        new = L.ops.mode(cond, old, L.width)
    else:
        raise ValueError(f"update_part: mode must be one of 'sample', 'max'; got {mode!r}")
    if keep is not None:
        new = xp.where(keep[:, cs], old, new)
    if not count:
        changed = 0
    elif L.width == 1:
        changed = xp.count_nonzero(new != old, axis=1)
    else:
        changed = xp.any((new != old).reshape(old.shape[0], -1, L.width), axis=2).sum(axis=1)
    state[:, cs] = new
    if T is not state:
        T[:, cs] = L.ops.statistic(new, L.p(part.columns))
    return changed
