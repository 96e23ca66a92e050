"""The declared models shipped with graphmrf (GraphML files in the repository's ``models/``).

>>> import graphmrf as gm
>>> gm.models.names()
['explaining_away.graphml', 'ising3_periodic.graphml', 'lecture_bm.graphml']
>>> g = gm.load(gm.models.path("lecture_bm.graphml"))
>>> sorted(g.edges(data="weight"))
[('h1', 'h2', -1.0), ('v1', 'h1', 2.0), ('v2', 'h2', 1.0)]
"""

import os

__all__ = ["path", "names", "folder"]


def folder():
    """The folder holding the model files: the installed package data, or ``models/``
    beside the package in a source checkout."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "model_files"), os.path.join(os.path.dirname(here), "models")):
        if os.path.isdir(candidate) and any(f.endswith(".graphml") for f in os.listdir(candidate)):
            return candidate
    raise FileNotFoundError("graphmrf: the shipped model files are missing; reinstall graphmrf")


def names():
    """File names of the shipped models."""
    return sorted(f for f in os.listdir(folder()) if f.endswith((".graphml", ".npz")))


def path(name):
    """Absolute path of the shipped model file ``name``."""
    p = os.path.join(folder(), name)
    if not os.path.exists(p):
        raise FileNotFoundError(f"model {name!r}: not shipped with graphmrf; available: {', '.join(names())}")
    return p
