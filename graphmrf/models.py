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
    beside the package in a source checkout.

    Returns
    -------
    str
        An absolute path.

    Raises
    ------
    FileNotFoundError
        If neither holds a model file (a broken installation).

    Examples
    --------
    >>> import os, graphmrf as gm
    >>> "lecture_bm.graphml" in os.listdir(gm.models.folder())
    True
    """
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "model_files"), os.path.join(os.path.dirname(here), "models")):
        if os.path.isdir(candidate) and any(f.endswith(".graphml") for f in os.listdir(candidate)):
            return candidate
    raise FileNotFoundError("graphmrf: the shipped model files are missing; reinstall graphmrf")


def names():
    """File names of the shipped models.

    Returns
    -------
    list of str
        Sorted; each is a name :func:`path` takes.

    Examples
    --------
    >>> import graphmrf as gm
    >>> "ising3_periodic.graphml" in gm.models.names()
    True
    """
    return sorted(f for f in os.listdir(folder()) if f.endswith((".graphml", ".npz")))


def path(name):
    """Absolute path of the shipped model file ``name``.

    Parameters
    ----------
    name : str
        A file name from :func:`names`, e.g. ``"lecture_bm.graphml"``, or the name without
        its extension (``"lecture_bm"``) when one file has it.

    Returns
    -------
    str
        A path for :func:`graphmrf.load`.

    Raises
    ------
    FileNotFoundError
        If no such model is shipped; the message lists those that are.

    Examples
    --------
    >>> import graphmrf as gm
    >>> g = gm.load(gm.models.path("explaining_away.graphml"))
    >>> g.is_directed()
    True
    >>> gm.models.path("explaining_away") == gm.models.path("explaining_away.graphml")
    True
    """
    stems = [f for f in names() if os.path.splitext(f)[0] == name]
    p = os.path.join(folder(), stems[0] if len(stems) == 1 else name)
    if not os.path.exists(p):
        raise FileNotFoundError(f"model {name!r}: not shipped with graphmrf; available: {', '.join(names())}")
    return p
