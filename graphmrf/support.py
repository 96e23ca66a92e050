r"""What values each unit may take: the one check every entry point runs on data and states.

Two kinds of array cross the library's boundary, and each has one check:

* **data** (:func:`check_data`): rows of visible values, shape (examples, visible
  columns), as ``fit``, ``exact.log_likelihood``, ``impute`` and the estimators read them.
  Per kind: ``binary`` values in [0, 1] (a fraction is read as a probability, a mean-field
  input; exact likelihoods need 0 or 1), ``spin`` values -1 or +1, ``softmax`` a one-hot
  row per unit, ``gaussian`` any finite value. Where the caller accepts missing values a
  NaN marks one (a softmax unit is missing as a whole: all its columns NaN).
* **states** (:func:`check_state`): full configurations, shape (chains, columns), as a
  sampler's ``init``, persistent chains, or the states handed to ``energy``. Every entry
  must lie in its unit's support (binary exactly 0 or 1; softmax one-hot; gaussian finite).

A value out of range is never clipped or rescaled: the error names the argument, the
column, its node, the rule and the value (pixels 0..255 on binary units fail here rather
than train silently).

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.rbm(3, 2, seed=0))
>>> check_data(prog, np.array([[0, 1, 0.5]])).dtype
dtype('float32')
>>> check_data(prog, np.array([[0, 2, 1]]))
Traceback (most recent call last):
...
ValueError: data: column 1 (node 'v', unit 1) holds 2 in row 0; binary units take values in [0, 1]
"""

import weakref

import numpy as np

from .backend import to_host

__all__ = ["check_data", "check_state"]


def _numeric(program, a, what):
    """``a`` as an array of real numbers (bool and integer arrays included) on the
    Program's backend (no copy when it is one already)."""
    if isinstance(a, (str, bytes)):
        raise TypeError(f"{what}: expected an array of numbers; got {type(a).__name__}")
    xp = program.xp
    try:
        arr = a if isinstance(a, xp.ndarray) else xp.asarray(np.asarray(to_host(a)))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what}: expected an array of numbers; got {type(a).__name__} ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what}: expected an array of real numbers; got dtype {arr.dtype}")
    return arr


def _where(program, col, visible_only):
    """'column c (node n, unit u)' for a column index (of the visible columns or the state)."""
    cols = program.visible_columns if visible_only else np.arange(program.n_columns)
    absolute = int(cols[col])
    for node in program.graph.nodes:
        cs = program.columns(node)
        lo, hi = cs.start, cs.stop
        if lo <= absolute < hi:
            L = program.layer_of(node)
            if L.declared:
                return f"column {col} (node {node!r}, unit {(absolute - lo) // L.width})"
            return f"column {col} (node {node!r})"
    return f"column {col}"


def _rule(kind, means):
    if kind.onehot:
        return f"{kind.name} units take one-hot rows (one column 1, the others 0)"
    if not kind.discrete:
        return f"{kind.name} units take finite values"
    support = tuple(kind.support)
    if means and support == (0, 1):
        return f"{kind.name} units take values in [0, 1]"
    return f"{kind.name} units take values in {{{', '.join(f'{v:g}' for v in support)}}}"


def _plainly_valid(xp, kind, block, means):
    """True when one or two reductions prove ``block`` valid without building a mask (the
    common case, checked on every mini-batch): a [0, 1] block by its minimum and maximum,
    a real-valued one by a finite sum. NaN, overflow and the other rules take the full check."""
    if kind.onehot or block.size == 0:
        return False
    if not kind.discrete:
        return bool(xp.isfinite(block.sum()))
    if means and tuple(kind.support) == (0, 1):
        return 0.0 <= float(block.min()) and float(block.max()) <= 1.0
    return False


def _bad_entries(xp, kind, width, block, means, missing):
    """Boolean mask (rows, columns of the block) of entries that break ``kind``'s rule."""
    nan = xp.isnan(block)
    if kind.onehot:
        rows = block.reshape(block.shape[0], -1, width)
        unit_nan = xp.isnan(rows)
        whole_nan = unit_nan.all(axis=2)
        filled = xp.where(unit_nan, 0.0, rows)
        onehot = ((filled == 0) | (filled == 1)).all(axis=2) & (filled.sum(axis=2) == 1) & ~unit_nan.any(axis=2)
        ok_unit = (onehot | whole_nan) if missing else onehot
        return xp.repeat(~ok_unit, width, axis=1)
    if not kind.discrete:
        bad = ~xp.isfinite(block)
        return bad & ~nan if missing else bad
    if means and tuple(kind.support) == (0, 1):
        with np.errstate(invalid="ignore"):
            bad = ~((block >= 0) & (block <= 1))
    else:
        bad = ~xp.isin(block, xp.asarray(kind.support, dtype=block.dtype))
    return bad & ~nan if missing else bad


def check_data(program, data, what="data", missing=False, means=True):
    """Check rows of visible values against their units' kinds; return them as an array
    of the Program's dtype on its backend.

    Parameters
    ----------
    program : Program
    data : array-like (examples, visible columns)
        Rows in the order of ``program.visible_columns`` (the declared node order).
    what : str
        The argument's name, for messages (``"data"``, ``"X"``, ``"validation"``).
    missing : bool
        Whether NaN marks a missing value (the caller handles it); otherwise NaN is refused.
    means : bool
        Whether binary values may be fractions in [0, 1] (probabilities, mean-field inputs);
        ``False`` asks for exactly 0 or 1 (exact likelihoods).

    Returns
    -------
    array (examples, visible columns)

    Raises
    ------
    TypeError
        If ``data`` is not an array of real numbers.
    ValueError
        If its shape is wrong or an entry breaks its unit's rule; the message names the
        column, its node, the rule and the value.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(2, 1, seed=0))
    >>> check_data(prog, [[1, np.nan]], missing=True)
    array([[ 1., nan]], dtype=float32)
    >>> check_data(prog, [[1, 0.5]], means=False)
    Traceback (most recent call last):
    ...
    ValueError: data: column 1 (node 'v', unit 1) holds 0.5 in row 0; binary units take values in {0, 1}
    """
    arr = _numeric(program, data, what)
    nv = program.visible_columns.size
    if arr.ndim != 2 or arr.shape[1] != nv:
        raise ValueError(f"{what}: expected shape (examples, {nv}) (the visible columns); got {tuple(arr.shape)}")
    arr = arr.astype(program.dtype, copy=False)
    _check_layers(program, arr, what, missing, means, visible_only=True)
    return arr


def check_state(program, state, what="state"):
    """Check full states (chains, columns) against every unit's support; return them as
    an array of the Program's dtype on its backend (a new array only when needed).

    Parameters
    ----------
    program : Program
        The compiled model.
    state : array-like (chains, columns)
        Full configurations, every unit's columns in declared order.
    what : str
        The argument's name, for messages (``"init"``, ``"persistent"``).

    Returns
    -------
    array (chains, columns)
        Of the Program's dtype; ``state`` itself when it is one already.

    Raises
    ------
    TypeError
        If ``state`` is not an array of real numbers.
    ValueError
        If its shape is wrong or an entry lies outside its unit's support.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(2, 1, seed=0))
    >>> check_state(prog, np.array([[1, 0, 1]]))
    array([[1., 0., 1.]], dtype=float32)
    >>> check_state(prog, np.array([[1, 0, 0.5]]), what="init")
    Traceback (most recent call last):
    ...
    ValueError: init: column 2 (node 'h', unit 0) holds 0.5 in row 0; binary units take values in {0, 1}
    """
    arr = _numeric(program, state, what)
    if arr.ndim != 2 or arr.shape[1] != program.n_columns:
        raise ValueError(f"{what}: expected shape (chains, {program.n_columns}); got {tuple(arr.shape)}")
    arr = arr.astype(program.dtype, copy=False)
    _check_layers(program, arr, what, False, False, visible_only=False)
    return arr


_BLOCKS = weakref.WeakKeyDictionary()  # program -> {visible_only: [(layer, positions, slice or None)]}


def _column_blocks(program, visible_only):
    """Each layer's columns in ``arr`` (all columns, or the visible ones), as positions and,
    where they are a run, a slice: they depend on the layout only, so they are found once
    per Program (the data check runs on every mini-batch)."""
    known = _BLOCKS.setdefault(program, {})
    if visible_only not in known:
        vis_pos = None
        if visible_only:
            vis_pos = np.full(program.n_columns, -1)
            vis_pos[program.visible_columns] = np.arange(program.visible_columns.size)
        blocks = []
        for L in program.layers:
            cols = np.arange(L.sl.start, L.sl.stop)
            if visible_only:
                cols = cols[program.visible_mask[cols]]
                if not cols.size:
                    continue
            pos = vis_pos[cols] if visible_only else cols
            run = np.array_equal(pos, np.arange(pos[0], pos[0] + pos.size))
            blocks.append((L, pos, slice(int(pos[0]), int(pos[0]) + pos.size) if run else None))
        known[visible_only] = blocks
    return known[visible_only]


def _check_layers(program, arr, what, missing, means, visible_only):
    if arr.shape[0] == 0:
        return
    for L, pos, run in _column_blocks(program, visible_only):
        block = arr[:, run] if run is not None else arr[:, pos]
        if _plainly_valid(program.xp, L.kind, block, means):
            continue
        bad = _bad_entries(program.xp, L.kind, L.width, block, means, missing)
        if bool(bad.any()):
            bad, block = to_host(bad), to_host(block).astype(np.float64)
            r, c = np.argwhere(bad)[0]
            value = block[r, c]
            shown = "NaN" if np.isnan(value) else f"{value:g}" if np.isfinite(value) else str(value)
            if L.kind.onehot:
                u = c // L.width
                shown = np.array2string(block[r, u * L.width : (u + 1) * L.width], separator=", ")
            rule = _rule(L.kind, means)
            if missing and L.kind.onehot:
                rule += ", or a whole unit of NaN (missing)"
            elif missing:
                rule += ", or NaN (missing)"
            raise ValueError(
                f"{what}: {_where(program, int(pos[c]), visible_only)} holds {shown} in row {int(r)}; {rule}"
            )
