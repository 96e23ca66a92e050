"""Clamping: holding chosen units fixed, per chain.

A clamp is a boolean mask of shape (chains, columns) or (columns,): True entries keep
their current value in every sampler. :func:`clamp_mask` builds one from a dict
``{node: value}`` and writes the values into a state.

>>> import graphmrf as gm, numpy as np
>>> prog = gm.compile(gm.rbm(3, 2, seed=0))
>>> state = np.zeros((4, prog.n_columns), np.float32)
>>> state, mask = clamp_mask(prog, state, {"v": [1, 0, 1]})
>>> mask.sum(axis=1).tolist(), state[0, :3].tolist()
([3, 3, 3, 3], [1.0, 0.0, 1.0])
"""

from ..backend import to_host
from ..errors import ModelError

__all__ = ["clamp_mask", "as_mask"]


def as_mask(program, clamp, n_chains):
    """Normalise ``clamp`` (None, a column mask, or a (chains, columns) mask) to an array.

    Parameters
    ----------
    program : Program
        The compiled model.
    clamp : bool array (columns,) or (chains, columns), or None
        The mask.
    n_chains : int
        The chains it applies to.

    Returns
    -------
    bool array (n_chains, columns) or None
        A column mask is broadcast over the chains (a view).

    Raises
    ------
    ModelError
        If the mask is not boolean, has another shape, or clamps part of a softmax unit.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> as_mask(prog, np.arange(5) < 3, 2).shape
    (2, 5)
    >>> as_mask(prog, np.array([1, 1, 1, 0, 0]), 2)
    Traceback (most recent call last):
    ...
    graphmrf.errors.ModelError: clamp: a mask must be boolean; got dtype int64
    """
    if clamp is None:
        return None
    xp = program.xp
    m = xp.asarray(clamp)
    if m.dtype != bool:
        raise ModelError(f"clamp: a mask must be boolean; got dtype {m.dtype}")
    if m.shape == (program.n_columns,):
        m = xp.broadcast_to(m, (n_chains, program.n_columns))
    if m.shape != (n_chains, program.n_columns):
        raise ModelError(
            f"clamp: mask has shape {tuple(m.shape)}; expected ({program.n_columns},) or ({n_chains}, "
            f"{program.n_columns})"
        )
    for L in program.layers:
        if L.width > 1:
            blk = m[:, L.sl].reshape(n_chains, L.n, L.width)
            if bool(xp.any(xp.any(blk, axis=2) != xp.all(blk, axis=2))):
                raise ModelError(
                    f"clamp: node {L.name!r}: a softmax unit is clamped whole (all {L.width} columns) or not at all"
                )
    return m


def clamp_mask(program, state, values):
    """Write ``values`` ({node: value}) into ``state`` and return (state, mask).

    A value is broadcast to the node's columns and to every chain, or given per chain
    with shape (chains, columns of the node). Softmax values may be category indices.

    Parameters
    ----------
    program : Program
        The compiled model.
    state : array (chains, columns)
        The chains (copied, not changed).
    values : dict
        ``{node: value}``.

    Returns
    -------
    state : array (chains, columns)
        A copy with the values written in.
    mask : bool array (chains, columns)
        True at the clamped columns.

    Raises
    ------
    ModelError
        If a node is not in the model, a value has the wrong shape, or a value lies
        outside its unit's support.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> clamp_mask(prog, np.zeros((1, 5)), {"v": [1, 0, 2]})
    Traceback (most recent call last):
    ...
    graphmrf.errors.ModelError: clamp: node 'v': binary units take the values {0, 1}; got 2
    """
    xp = program.xp
    state = xp.array(state, dtype=program.dtype, copy=True)
    mask = xp.zeros(state.shape, dtype=bool)
    for node, value in values.items():
        try:
            cs = program.columns(node)
        except KeyError:
            raise ModelError(f"clamp: node {node!r} is not in this model") from None
        L = program.layer_of(node)
        width = cs.stop - cs.start
        v = xp.asarray(value, dtype=program.dtype)
        n_units = width // L.width
        if L.width > 1 and v.shape[-1:] == (n_units,) and not (n_units == L.width):
            v = xp.eye(L.width, dtype=program.dtype)[v.astype(int)].reshape(v.shape[:-1] + (width,))
        try:
            state[:, cs] = xp.broadcast_to(v, (state.shape[0], width))
        except ValueError:
            raise ModelError(
                f"clamp: node {node!r}: value has shape {tuple(v.shape)}; expected ({width},) or ({state.shape[0]}, "
                f"{width})"
            ) from None
        if L.kind.discrete and not L.kind.onehot:
            ok = xp.isin(state[:, cs], xp.asarray(L.kind.support, dtype=program.dtype))
            if not bool(xp.all(ok)):
                bad = float(to_host(state[:, cs][~ok].ravel()[0]))
                allowed = ", ".join(f"{x:g}" for x in L.kind.support)
                kind = L.kind.name
                raise ModelError(f"clamp: node {node!r}: {kind} units take the values {{{allowed}}}; got {bad:g}")
        mask[:, cs] = True
    return state, mask
