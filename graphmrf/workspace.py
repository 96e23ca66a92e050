r"""Scratch memory owned by one hot loop.

A sampler run or a training loop makes a :class:`Workspace`, passes it down to every
step, and drops it when it ends: arrays a step needs again (uniform draws, work arrays of
the CD step, per-unit parameters spread over the chains) are reused between steps instead
of allocated each time, and nothing outlives the loop. Two threads sampling one Program at
once each own their workspace. The Program itself holds only the model.

>>> import numpy as np
>>> ws = Workspace()
>>> a = ws.array("buffer", (2, 3), np.float32)
>>> a is ws.array("buffer", (2, 3), np.float32), a is ws.array("buffer", (3, 3), np.float32)
(True, False)
>>> u = ws.uniform(np.random.default_rng(0), (4, 5), np.float32)
>>> u.shape, bool(((0 <= u) & (u < 1)).all())
((4, 5), True)
"""

import numpy as np

from .backend import uniform_into

__all__ = ["Workspace"]


class Workspace:
    """Arrays and small derived objects reused by the steps of one loop.

    ``array(name, shape, dtype, xp, order)`` returns the same array for the same request
    (a new one when the shape, dtype or layout changes, replacing the old); ``uniform``
    fills such an array with uniform draws; ``get``/``put`` keep anything else a step
    wants to find again (a training plan).

    ``fixed_parameters`` is False unless the loop that owns the workspace promises that
    the Program's parameters do not change while it lives (:func:`graphmrf.sample` does:
    its chains never escape the call); steps may then keep what they derive from the
    parameters (whether a lattice has one bias) instead of reading them at every step.
    A training loop, or chains a caller steps between its own updates, leave it False.

    Examples
    --------
    >>> ws = Workspace()
    >>> ws.array("x", (2, 3), np.float32).shape, ws.put("plan", [1, 2]), ws.get("plan")
    ((2, 3), [1, 2], [1, 2])
    >>> ws
    Workspace(1 arrays, 0.0 MiB)
    """

    def __init__(self):
        self._arrays = {}
        self._things = {}
        self.fixed_parameters = False

    def array(self, name, shape, dtype, xp=np, order="C"):
        """An uninitialised array for ``name``, reused while its shape, dtype and layout stay.

        Parameters
        ----------
        name : hashable
            What the array is for; one array is kept per name and ``order``.
        shape : tuple of int
            Its shape.
        dtype : dtype
            Its element type.
        xp : module
            The array namespace (``numpy`` or ``cupy``).
        order : {"C", "F"}
            Row-major or column-major.

        Returns
        -------
        array
            The array kept for ``name`` when its shape and dtype match, else a new one
            (which replaces it); its values are whatever the last user left.

        Examples
        --------
        >>> ws = Workspace()
        >>> a = ws.array("h", (4, 2), np.float64)
        >>> a is ws.array("h", (4, 2), np.float64), a is ws.array("h", (4, 2), np.float32)
        (True, False)
        """
        shape = tuple(shape)
        key = (name, order)
        a = self._arrays.get(key)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self._arrays[key] = xp.empty(shape, dtype=dtype, order=order)
        return a

    def uniform(self, rng, shape, dtype, xp=np, order="C"):
        """Uniform draws on [0, 1) from ``rng`` in a reused array (one per shape and layout).

        Parameters
        ----------
        rng : Generator
            NumPy's or CuPy's (:func:`graphmrf.backend.uniform_into` fills the array).
        shape : tuple of int
            The shape of the draws.
        dtype : dtype
            Their type.
        xp : module
            The array namespace.
        order : {"C", "F"}
            Row-major or column-major.

        Returns
        -------
        array
            Fresh uniforms, in an array the next call of the same shape overwrites.

        Examples
        --------
        >>> ws = Workspace()
        >>> u = ws.uniform(np.random.default_rng(0), (2, 2), np.float64)
        >>> np.round(u, 3).tolist()
        [[0.637, 0.27], [0.041, 0.017]]
        """
        return uniform_into(rng, self.array(("uniform", tuple(shape)), shape, dtype, xp, order))

    def get(self, key, default=None):
        """Something a step put here earlier, or ``default``.

        Parameters
        ----------
        key : hashable
            What :meth:`put` kept it under.
        default : object
            What to return when nothing was.

        Returns
        -------
        object

        Examples
        --------
        >>> Workspace().get("plan", "none yet")
        'none yet'
        """
        return self._things.get(key, default)

    def put(self, key, value):
        """Keep ``value`` for the later steps of this loop; returns it.

        Parameters
        ----------
        key : hashable
            What to keep it under.
        value : object
            What to keep.

        Returns
        -------
        object
            ``value``.

        Examples
        --------
        >>> ws = Workspace()
        >>> plan = ws.get("plan") or ws.put("plan", {"rows": 10})
        >>> ws.get("plan") is plan
        True
        """
        self._things[key] = value
        return value

    def __repr__(self):
        size = sum(a.nbytes for a in self._arrays.values())
        return f"Workspace({len(self._arrays)} arrays, {size / 2**20:.1f} MiB)"
