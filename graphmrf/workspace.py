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
    """

    def __init__(self):
        self._arrays = {}
        self._things = {}

    def array(self, name, shape, dtype, xp=np, order="C"):
        """An uninitialised array for ``name``, reused while its shape, dtype and layout stay."""
        shape = tuple(shape)
        key = (name, order)
        a = self._arrays.get(key)
        if a is None or a.shape != shape or a.dtype != dtype:
            a = self._arrays[key] = xp.empty(shape, dtype=dtype, order=order)
        return a

    def uniform(self, rng, shape, dtype, xp=np, order="C"):
        """Uniform draws on [0, 1) from ``rng`` in a reused array (one per shape and layout)."""
        return uniform_into(rng, self.array(("uniform", tuple(shape)), shape, dtype, xp, order))

    def get(self, key, default=None):
        """Something a step put here earlier, or ``default``."""
        return self._things.get(key, default)

    def put(self, key, value):
        """Keep ``value`` for the later steps of this loop; returns it."""
        self._things[key] = value
        return value

    def __repr__(self):
        size = sum(a.nbytes for a in self._arrays.values())
        return f"Workspace({len(self._arrays)} arrays, {size / 2**20:.1f} MiB)"
