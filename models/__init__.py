"""Declared models shipped with graphmrf (installed as ``graphmrf.models``).

>>> import graphmrf as gm
>>> sorted(gm.models.names())[:2]
['explaining_away.graphml', 'ising3_periodic.graphml']
"""

import os

__all__ = ["path", "names"]

_HERE = os.path.dirname(os.path.abspath(__file__))


def names():
    """File names of the shipped models."""
    return sorted(f for f in os.listdir(_HERE) if f.endswith((".graphml", ".npz")))


def path(name):
    """Absolute path of the shipped model file ``name``."""
    p = os.path.join(_HERE, name)
    if not os.path.exists(p):
        raise FileNotFoundError(f"model {name!r}: not shipped with graphmrf; available: {', '.join(names())}")
    return p
