"""Save and load models without pickle.

Two formats, chosen by the file's extension:

* ``.graphml`` -- for unit-level models whose attributes are all scalars; any GraphML
  reader (networkx, Gephi) opens it. Node names are written as JSON so that tuples such
  as lattice coordinates come back as tuples.
* ``.npz`` -- for layered models: every array attribute as a NumPy array, and a JSON
  header with the format version, the graph type, the nodes in order with their scalar
  attributes, and the edges. Read with ``allow_pickle=False``.

Saving writes a temporary file beside the target and renames it into place, so a failed
save leaves nothing behind. Loading checks the file and validates the model; a
truncated or malformed file raises :class:`~graphmrf.errors.ModelFileError` and
executes nothing.

>>> import tempfile, os, graphmrf as gm, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "rbm.npz")
>>> gm.save(gm.rbm(5, 3, seed=1), path)
>>> g = gm.load(path)
>>> g.edges["v", "h"]["weight"].shape
(5, 3)
"""

import json
import os
import tempfile
import xml.etree.ElementTree as ET
import zipfile

import networkx as nx
import numpy as np

from .errors import ModelError, ModelFileError
from .validate import validate

__all__ = ["save", "load"]

FORMAT = "graphmrf-npz"
VERSION = 1


def _encode(name):
    if isinstance(name, tuple):
        return {"tuple": [_encode(x) for x in name]}
    if isinstance(name, (np.integer,)):
        return int(name)
    if isinstance(name, (str, int, float, bool)) or name is None:
        return name
    raise ModelError(f"node {name!r}: names must be str, int, float or tuples of them to be saved")


def _decode(obj):
    if isinstance(obj, dict) and set(obj) == {"tuple"}:
        return tuple(_decode(x) for x in obj["tuple"])
    if isinstance(obj, list):
        return tuple(_decode(x) for x in obj)
    return obj


def _scalar(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, str):
        return v
    return None


def _atomic_write(path, write):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".graphmrf-", suffix=os.path.splitext(path)[1], dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save(model, path):
    """Write ``model`` (a graph, or a Program with its current parameters) to ``path``.

    The extension picks the format: ``.graphml`` or ``.npz``. The model is validated
    first; nothing is written if it is invalid or the write fails.
    """
    from .program import Program

    graph = model.to_graph() if isinstance(model, Program) else model
    validate(graph)
    path = os.fspath(path)
    if path.endswith(".graphml"):
        _save_graphml(graph, path)
    elif path.endswith(".npz"):
        _save_npz(graph, path)
    else:
        raise ModelFileError(f"file {path!r}: unknown extension; expected .graphml (unit-level models) or .npz")


def _save_graphml(graph, path):
    g = graph.__class__()
    g.graph.update({k: v for k, v in graph.graph.items() if _scalar(v) is not None})
    g.graph["graphmrf_names"] = "json"
    for node, d in graph.nodes(data=True):
        attrs = {}
        for k, v in d.items():
            s = _scalar(v)
            if s is None:
                raise ModelFileError(f"node {node!r}: attribute {k!r} is an array; GraphML holds scalars only, save layered models as .npz")
            attrs[k] = s
        g.add_node(json.dumps(_encode(node)), **attrs)
    for u, v, d in graph.edges(data=True):
        attrs = {}
        for k, val in d.items():
            s = _scalar(val)
            if s is None:
                raise ModelFileError(f"edge ({u!r}, {v!r}): attribute {k!r} is an array; GraphML holds scalars only, save layered models as .npz")
            attrs[k] = s
        g.add_edge(json.dumps(_encode(u)), json.dumps(_encode(v)), **attrs)
    _atomic_write(path, lambda tmp: nx.write_graphml(g, tmp))


def _save_npz(graph, path, extra_arrays=None, extra_header=None):
    arrays, nodes, edges = {}, [], []
    for i, (node, d) in enumerate(graph.nodes(data=True)):
        entry = {"name": _encode(node), "attrs": {}, "arrays": []}
        for k, v in d.items():
            s = _scalar(v)
            if s is not None:
                entry["attrs"][k] = s
            else:
                arr = np.asarray(v)
                if arr.dtype.kind not in "fiub":
                    raise ModelFileError(f"node {node!r}: attribute {k!r} of type {type(v).__name__} cannot be saved")
                arrays[f"node{i}.{k}"] = arr
                entry["arrays"].append(k)
        nodes.append(entry)
    for j, (u, v, d) in enumerate(graph.edges(data=True)):
        entry = {"u": _encode(u), "v": _encode(v), "attrs": {}, "arrays": []}
        for k, val in d.items():
            s = _scalar(val)
            if s is not None:
                entry["attrs"][k] = s
            else:
                arrays[f"edge{j}.{k}"] = np.asarray(val, dtype=np.float64)
                entry["arrays"].append(k)
        edges.append(entry)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "directed": graph.is_directed(),
        "graph": {k: v for k, v in graph.graph.items() if _scalar(v) is not None},
        "nodes": nodes,
        "edges": edges,
    }
    if extra_header:
        header["extra"] = extra_header
    for k, v in (extra_arrays or {}).items():
        arrays[f"extra.{k}"] = np.asarray(v)
    arrays["header"] = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    _atomic_write(path, write)


def load(path):
    """Read a model written by :func:`save` and return its (validated) graph.

    Raises
    ------
    ModelFileError
        If the file is missing, truncated, malformed or of an unknown version.
    ModelError
        If the file is well formed but the model it holds breaks a declaration rule.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"file {path!r}: does not exist")
    if path.endswith(".graphml"):
        graph = _load_graphml(path)
    elif path.endswith(".npz"):
        graph = _load_npz(path)
    else:
        raise ModelFileError(f"file {path!r}: unknown extension; expected .graphml or .npz")
    validate(graph)
    return graph


def _load_graphml(path):
    try:
        g = nx.read_graphml(path)
    except (ET.ParseError, nx.NetworkXError, KeyError, ValueError, IndexError) as exc:
        raise ModelFileError(f"file {path!r}: not a readable GraphML file ({exc})") from None
    if g.graph.get("graphmrf_names") != "json":
        return g
    out = g.__class__()
    out.graph.update({k: v for k, v in g.graph.items() if k != "graphmrf_names"})
    try:
        mapping = {n: _decode(json.loads(n)) for n in g.nodes}
    except (json.JSONDecodeError, TypeError) as exc:
        raise ModelFileError(f"file {path!r}: node names are not the JSON graphmrf writes ({exc})") from None
    for n, d in g.nodes(data=True):
        out.add_node(mapping[n], **d)
    for u, v, d in g.edges(data=True):
        out.add_edge(mapping[u], mapping[v], **d)
    return out


def _load_npz(path, extras=None):
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            files = set(z.files)
            if "header" not in files:
                raise ModelFileError(f"file {path!r}: no graphmrf header; not a graphmrf model file")
            header = json.loads(bytes(z["header"]).decode("utf-8"))
            if header.get("format") != FORMAT:
                raise ModelFileError(f"file {path!r}: format {header.get('format')!r}; expected {FORMAT!r}")
            if header.get("version") != VERSION:
                raise ModelFileError(f"file {path!r}: format version {header.get('version')!r}; this graphmrf reads version {VERSION}")
            g = nx.DiGraph() if header["directed"] else nx.Graph()
            g.graph.update(header.get("graph", {}))
            names = []
            for i, entry in enumerate(header["nodes"]):
                attrs = dict(entry["attrs"])
                for k in entry["arrays"]:
                    key = f"node{i}.{k}"
                    if key not in files:
                        raise ModelFileError(f"file {path!r}: array {key!r} named in the header is missing")
                    attrs[k] = z[key]
                name = _decode(entry["name"])
                names.append(name)
                g.add_node(name, **attrs)
            for j, entry in enumerate(header["edges"]):
                attrs = dict(entry["attrs"])
                for k in entry["arrays"]:
                    key = f"edge{j}.{k}"
                    if key not in files:
                        raise ModelFileError(f"file {path!r}: array {key!r} named in the header is missing")
                    attrs[k] = z[key]
                g.add_edge(_decode(entry["u"]), _decode(entry["v"]), **attrs)
            if extras is not None:
                extras["header"] = header.get("extra", {})
                extras["arrays"] = {k[len("extra.") :]: z[k] for k in files if k.startswith("extra.")}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, TypeError, EOFError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"file {path!r}: truncated or malformed ({type(exc).__name__}: {exc})") from None
    return g
