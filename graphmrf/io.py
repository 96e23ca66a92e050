"""Save and load models without pickle.

Two formats, chosen by the file's extension:

* ``.graphml`` -- for unit-level models whose attributes are all scalars; any GraphML
  reader (networkx, Gephi) opens it. Node names are written as JSON so that tuples such
  as lattice coordinates come back as tuples.
* ``.npz`` -- for layered models: every array attribute as a NumPy array, and a JSON
  header with the format version, the graph type, the nodes in order with their scalar
  attributes, and the edges.

Saving writes a temporary file beside the target and renames it into place, so a failed
save leaves nothing behind; arrays held on a GPU (CuPy) are copied to the host first, so a
file saved from a GPU program loads in a NumPy-only process.

Loading trusts nothing in the file. It executes nothing (no pickle, no XML document type,
so no entity is ever expanded), and it allocates nothing the file has not paid for: every
array's declared shape and dtype are checked against the bytes the archive holds for it
before memory is taken. A file that breaks a rule raises
:class:`~graphmrf.errors.ModelFileError` naming the file, the rule and what it found,
and a well-formed file whose model breaks a declaration rule raises it too (the message
is the validator's, prefixed with the file). The limits a file must keep, which
:func:`save` keeps as well:

* arrays of bool, int or float (at most 8 bytes an item) only;
* a JSON header of at most :data:`MAX_HEADER` bytes, nested at most :data:`MAX_DEPTH`
  levels, with strings of at most :data:`MAX_STRING` characters, finite numbers and no
  key twice in one object;
* at most :data:`MAX_COLUMNS` unit columns in the model it declares.

>>> import tempfile, os, graphmrf as gm, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "rbm.npz")
>>> gm.save(gm.rbm(5, 3, seed=1), path)
>>> g = gm.load(path)
>>> g.edges["v", "h"]["weight"].shape
(5, 3)
"""

import itertools
import json
import math
import os
import re
import struct
import tempfile
import warnings
import xml.etree.ElementTree as ET
import xml.parsers.expat
import zipfile
import zlib
from io import BytesIO

import networkx as nx
import numpy as np

from .arguments import Constraint, InstanceOf, checked
from .backend import to_host
from .compile import compile as compile_
from .errors import ModelError, ModelFileError
from .program import Program
from .validate import validate

__all__ = ["save", "load", "save_checkpoint", "load_checkpoint", "MAX_HEADER", "MAX_DEPTH", "MAX_STRING", "MAX_COLUMNS"]

FORMAT = "graphmrf-npz"
VERSION = 1
EXTENSIONS = (".graphml", ".npz")

#: bytes of the JSON header of an ``.npz`` file
MAX_HEADER = 64 * 2**20
#: nesting levels of the JSON header (a node name that is a tuple of tuples nests)
MAX_DEPTH = 32
#: characters in one string of a model file (names, kinds, attribute values)
MAX_STRING = 2**16
#: unit columns (sum over nodes of size times categories) a model file may declare
MAX_COLUMNS = 2**26

# deflate cannot expand data by more than this factor: a member declaring more is lying
_DEFLATE_RATIO = 1032
# what a stored npy member's own header may take (NumPy's default guard)
_NPY_HEADER = 10000
# what reading a zip or npy member can raise on a damaged file (RuntimeError: "encrypted")
_DAMAGE = (zipfile.BadZipFile, zlib.error, struct.error, OSError, EOFError, ValueError, RuntimeError, OverflowError)
# what networkx's GraphML reader raises on a document it cannot read
_GRAPHML_DAMAGE = (ET.ParseError, nx.NetworkXError, KeyError, ValueError, IndexError, TypeError, AttributeError)


class _ModelPath(Constraint):
    """A path (str or os.PathLike naming a str) ending in .graphml or .npz."""

    def kind_ok(self, value):
        return isinstance(value, (str, os.PathLike)) and isinstance(os.fspath(value), str)

    def admits(self, value):
        return self.kind_ok(value) and os.fspath(value).endswith(EXTENSIONS)

    def __str__(self):
        return "a path (str or os.PathLike) ending in .graphml (unit-level models) or .npz"


MODEL_PATH = _ModelPath()


# ---------------------------------------------------------------------------------------
# rules shared by save and load


def _show(value, width=60):
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _json_kind(value):
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, (int, float)):
        return f"a number ({_show(value)})"
    if isinstance(value, str):
        return f"a string ({_show(value)})"
    if isinstance(value, list):
        return f"a list ({_show(value)})"
    if isinstance(value, dict):
        return f"an object ({_show(value)})"
    return "null" if value is None else f"a {type(value).__name__}"


def _check_json(obj, fail):
    """Walk ``obj`` (without recursion) and ``fail(message)`` at the first value that breaks
    a limit: nesting deeper than MAX_DEPTH, a string longer than MAX_STRING, a non-finite number."""
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                fail(f"holds a string of {len(value)} characters ({_show(value, 30)}); at most {MAX_STRING}")
        elif isinstance(value, float):
            if not math.isfinite(value):
                fail(f"holds the number {value!r}; files hold finite numbers only")
        elif isinstance(value, (list, dict)):
            if depth > MAX_DEPTH:
                fail(f"is nested more than {MAX_DEPTH} levels deep")
            if isinstance(value, dict):
                stack.extend((k, depth + 1) for k in value)
                stack.extend((v, depth + 1) for v in value.values())
            else:
                stack.extend((v, depth + 1) for v in value)


def _encode(name, where, fail):
    """JSON form of a node name: str, int, float, bool, or tuples of them (nested)."""
    stack = [(name, 0)]
    while stack:  # check first, without recursion: names may come from anywhere
        x, depth = stack.pop()
        if isinstance(x, tuple):
            if depth >= 8:
                fail(f"{where}: name nests tuples more than 8 levels deep; files hold names up to 8 levels")
            stack.extend((y, depth + 1) for y in x)
        elif not isinstance(x, (str, int, float, np.integer)):  # bool is an int; np.bool_ is neither
            fail(
                f"{where}: a name part {_show(x)} of type {type(x).__name__}; "
                "names must be str, int, float, bool or tuples of them to be saved"
            )
        elif isinstance(x, float) and not math.isfinite(x):
            fail(f"{where}: a name part {x!r}; float names must be finite to be saved")
        elif isinstance(x, str) and len(x) > MAX_STRING:
            fail(f"{where}: a name of {len(x)} characters; at most {MAX_STRING}")
    return _encoded(name)


def _encoded(name):
    if isinstance(name, tuple):
        return {"tuple": [_encoded(x) for x in name]}
    if isinstance(name, np.integer):
        return int(name)
    return name


def _decode(obj, fail):
    """Node name from its JSON form; ``fail`` unless the result is a name graphmrf writes."""
    if isinstance(obj, dict):
        if set(obj) != {"tuple"} or not isinstance(obj["tuple"], list):
            fail(f"name {_show(obj)} is an object other than {{'tuple': [...]}}; not a name graphmrf writes")
        return tuple(_decode(x, fail) for x in obj["tuple"])
    if isinstance(obj, list):
        return tuple(_decode(x, fail) for x in obj)
    if obj is None:
        fail("name is null; not a name graphmrf writes")
    return obj


def _scalar(v):
    """``v`` as a JSON scalar, or None when it is not a scalar (an array, a list, None)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, str):
        return str(v)
    return None


# graph attributes networkx's GraphML reader adds (the file's key defaults, already applied
# to the nodes and edges): metadata of the reader, not of the model, so never saved
_READER_KEYS = ("node_default", "edge_default")
_GRAPH_SCALARS = "files hold str, int, float or bool graph attributes"
_GRAPHML_SCALARS = "GraphML holds scalars only, save layered models as .npz"


def _scalar_attrs(where, attrs, fail, arrays=None, scalars_only=_GRAPHML_SCALARS):
    """Split ``attrs`` into JSON scalars and (when ``arrays`` is a dict) NumPy arrays,
    calling ``fail`` for anything a file cannot hold exactly (``scalars_only`` says why a
    non-scalar is refused when ``arrays`` is None)."""
    out = {}
    for k, v in attrs.items():
        if not isinstance(k, str):
            fail(f"{where}: attribute name {_show(k)} is a {type(k).__name__}; files hold attributes named by strings")
        if len(k) > MAX_STRING:
            fail(f"{where}: an attribute name of {len(k)} characters; at most {MAX_STRING}")
        s = _scalar(v)
        if s is None:
            if arrays is None:
                what = "an array" if hasattr(v, "shape") else f"of type {type(v).__name__}"
                fail(f"{where}: attribute {k!r} is {what}; {scalars_only}")
            arrays[k] = _array(where, k, v, fail)
        elif isinstance(s, float) and not math.isfinite(s):
            fail(f"{where}: attribute {k!r} is {s!r}; files hold finite numbers only")
        elif isinstance(s, str) and len(s) > MAX_STRING:
            fail(f"{where}: attribute {k!r} is a string of {len(s)} characters; at most {MAX_STRING}")
        else:
            out[k] = s
    return out


def _graph_attrs(graph):
    return {k: v for k, v in graph.graph.items() if k not in _READER_KEYS}


_DTYPE_KINDS = {"c": "complex", "U": "text", "S": "bytes", "M": "a date", "m": "a time span", "V": "raw bytes"}


def _dtype_rule(dtype):
    """None if arrays of ``dtype`` may be stored, else what is wrong with it."""
    if dtype.hasobject:
        return "holds Python objects (a pickle)"
    if dtype.fields is not None or dtype.subdtype is not None:
        return "is a structured dtype"
    if dtype.kind not in "biuf":
        return f"is {_DTYPE_KINDS.get(dtype.kind, dtype.kind)}"
    if dtype.itemsize > 8:
        return f"is {dtype.itemsize * 8}-bit"
    return None


def _array(where, k, v, fail):
    try:
        arr = np.asarray(v)
    except (TypeError, ValueError) as exc:
        fail(f"{where}: attribute {k!r} of type {type(v).__name__} is not an array ({exc})")
    if arr.dtype.hasobject:
        fail(f"{where}: attribute {k!r} of type {type(v).__name__} is not an array of numbers")
    problem = _dtype_rule(arr.dtype)
    if problem:
        fail(
            f"{where}: attribute {k!r} has dtype {arr.dtype}, which {problem}; files hold arrays of bool, int or float"
        )
    return arr


def _columns(graph):
    """Unit columns the graph declares (sizes times categories; non-integers count 1)."""

    def count(x):
        return int(x) if isinstance(x, (int, np.integer)) and not isinstance(x, bool) and x > 0 else 1

    return sum(count(d.get("size", 1)) * count(d.get("categories", 1)) for _, d in graph.nodes(data=True))


def _on_device(v):
    # CuPy arrays (and any array speaking the CUDA array interface): copy to the host
    return hasattr(v, "__cuda_array_interface__") and not isinstance(v, np.ndarray)


def _attr_dicts(graph):
    nodes, edges = (d for _, d in graph.nodes(data=True)), (d for *_, d in graph.edges(data=True))
    return itertools.chain([graph.graph], nodes, edges)


def _on_host(graph):
    """``graph``, or a copy of it whose device array attributes are NumPy arrays."""
    if not any(_on_device(v) for d in _attr_dicts(graph) for v in d.values()):
        return graph
    g = graph.copy()  # new attribute dicts holding the same values
    for d in _attr_dicts(g):
        for k, v in d.items():
            if _on_device(v):
                d[k] = np.asarray(to_host(v))
    return g


# ---------------------------------------------------------------------------------------
# save


def _atomic_write(path, write):
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


@checked(model=InstanceOf(nx.Graph, Program, name="networkx Graph or DiGraph, or a Program"), path=MODEL_PATH)
def save(model, path):
    """Write ``model`` (a graph, or a Program with its current parameters) to ``path``.

    The extension picks the format: ``.graphml`` (unit-level models, scalar attributes)
    or ``.npz`` (any model). Arrays on a GPU are copied to the host. The model is
    validated first; nothing is written if it is invalid, if the file could not hold it
    exactly, or if the write fails.

    Parameters
    ----------
    model : networkx.Graph, networkx.DiGraph or Program
        The model; a Program is written with its current parameters.
    path : str or os.PathLike
        Where to write; must end in ``.graphml`` or ``.npz``.

    Raises
    ------
    TypeError, ValueError
        If ``model`` or ``path`` breaks its rule (type, extension).
    ModelError
        If the model breaks a declaration rule.
    ModelFileError
        If the file could not hold the model exactly: an array attribute in GraphML, a
        non-string attribute name, an object or complex array, a non-finite scalar, a
        string or name past the limits.

    Examples
    --------
    >>> import tempfile, os, graphmrf as gm
    >>> folder = tempfile.mkdtemp()
    >>> gm.save(gm.rbm(2, 2, seed=0), os.path.join(folder, "m.pkl"))
    Traceback (most recent call last):
    ...
    ValueError: save: path must be a path (str or os.PathLike) ending in .graphml ... or .npz; got '/...m.pkl'
    >>> os.listdir(folder)
    []
    """
    graph = model.to_graph() if isinstance(model, Program) else model
    graph = _on_host(graph)
    validate(graph)
    path = os.fspath(path)

    def fail(message):
        raise ModelFileError(f"file {path!r}: {message}")

    if _columns(graph) > MAX_COLUMNS:
        fail(f"the model has {_columns(graph)} unit columns; files hold at most {MAX_COLUMNS}")
    if path.endswith(".graphml"):
        _save_graphml(graph, path, fail)
    else:
        _save_npz(graph, path)


# characters XML 1.0 holds unchanged: in element text (attribute values; a carriage return
# would come back as a newline) and in attribute values (attribute names; tabs and
# newlines would come back as spaces)
_XML_TEXT = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_ATTRIBUTE = re.compile("[^\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(where, attrs, fail):
    for k, v in attrs.items():
        bad = _XML_ATTRIBUTE.search(k) or (isinstance(v, str) and _XML_TEXT.search(v))
        if bad:
            part = "name" if _XML_ATTRIBUTE.search(k) else "value"
            fail(
                f"{where}: the {part} of attribute {k!r} holds the character {bad.group()!r}, "
                "which GraphML (XML 1.0) does not keep; save as .npz"
            )
    return attrs


def _save_graphml(graph, path, fail):
    g = graph.__class__()
    attrs = _scalar_attrs("graph", _graph_attrs(graph), fail, scalars_only=_GRAPH_SCALARS)
    g.graph.update(_xml_safe("graph", attrs, fail))
    g.graph["graphmrf_names"] = "json"
    ids = {}
    for node, d in graph.nodes(data=True):
        where = f"node {_show(node)}"
        ids[node] = json.dumps(_encode(node, where, fail))
        g.add_node(ids[node], **_xml_safe(where, _scalar_attrs(where, d, fail), fail))
    for u, v, d in graph.edges(data=True):
        where = f"edge ({_show(u)}, {_show(v)})"
        g.add_edge(ids[u], ids[v], **_xml_safe(where, _scalar_attrs(where, d, fail), fail))
    _atomic_write(path, lambda tmp: nx.write_graphml(g, tmp))


def _save_npz(graph, path, extra_arrays=None, extra_header=None):
    """Write ``graph`` (validated, on the host) as ``.npz``; ``extra_*`` go along unread by
    :func:`load` (training checkpoints use them)."""
    path = os.fspath(path)

    def fail(message):
        raise ModelFileError(f"file {path!r}: {message}")

    arrays, nodes, edges = {}, [], []
    for i, (node, d) in enumerate(graph.nodes(data=True)):
        where, held = f"node {_show(node)}", {}
        entry = {"name": _encode(node, where, fail), "attrs": _scalar_attrs(where, d, fail, held), "arrays": list(held)}
        arrays.update((f"node{i}.{k}", a) for k, a in held.items())
        nodes.append(entry)
    for j, (u, v, d) in enumerate(graph.edges(data=True)):
        where, held = f"edge ({_show(u)}, {_show(v)})", {}
        ends = {"u": _encode(u, where, fail), "v": _encode(v, where, fail)}
        entry = {**ends, "attrs": _scalar_attrs(where, d, fail, held), "arrays": list(held)}
        arrays.update((f"edge{j}.{k}", a) for k, a in held.items())
        edges.append(entry)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "directed": graph.is_directed(),
        "graph": _scalar_attrs("graph", _graph_attrs(graph), fail, scalars_only=_GRAPH_SCALARS),
        "nodes": nodes,
        "edges": edges,
    }
    if extra_header:
        header["extra"] = extra_header
    for k, v in (extra_arrays or {}).items():
        arrays[f"extra.{k}"] = _array("extra", k, to_host(v), fail)
    _check_json(header, lambda message: fail(f"header {message}"))
    try:
        text = json.dumps(header, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        fail(f"header cannot be written as JSON ({exc})")
    if len(text) > MAX_HEADER:
        fail(f"header is {len(text)} bytes; files hold at most {MAX_HEADER} (save unit-level models as .graphml)")
    arrays["header"] = np.frombuffer(text, dtype=np.uint8)

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    _atomic_write(path, write)


# ---------------------------------------------------------------------------------------
# load


@checked(path=MODEL_PATH)
def load(path):
    """Read a model written by :func:`save` and return its (validated) graph.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.graphml`` or ``.npz`` file.

    Returns
    -------
    networkx.Graph or networkx.DiGraph
        The model, nodes and edges in the order they were saved, arrays as NumPy arrays.

    Raises
    ------
    TypeError, ValueError
        If ``path`` is not a str or os.PathLike, or does not end in .graphml or .npz.
    ModelFileError
        If the file is missing, truncated, malformed, of an unknown version, breaks one
        of the limits above, or holds a model that breaks a declaration rule.

    Examples
    --------
    >>> import tempfile, os, graphmrf as gm
    >>> path = os.path.join(tempfile.mkdtemp(), "bad.npz")
    >>> with open(path, "wb") as fh:
    ...     _ = fh.write(b"PK not really a zip")
    >>> gm.load(path)
    Traceback (most recent call last):
    ...
    graphmrf.errors.ModelFileError: file '/...bad.npz': truncated or malformed (BadZipFile: File is not a zip file)
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ModelFileError(f"file {path!r}: does not exist")
    if not os.path.isfile(path):
        raise ModelFileError(f"file {path!r}: is not a regular file")
    graph = _load_graphml(path) if path.endswith(".graphml") else _load_npz(path)
    try:
        validate(graph)
    except ModelFileError:
        raise
    except ModelError as exc:
        raise ModelFileError(f"file {path!r}: {exc}") from None
    return graph


def _check_extent(graph, fail):
    n = _columns(graph)
    if n > MAX_COLUMNS:
        fail(f"declares {n} unit columns; files hold at most {MAX_COLUMNS}")


def _parse_json(text, fail):
    """``json.loads`` that fails (through ``fail``) on NaN/Infinity, a key twice in one
    object, deep nesting and long strings, instead of raising what json raises."""

    def pairs(items):
        seen = set()
        for k, _ in items:
            if k in seen:
                fail(f"has the key {_show(k)} twice in one object")
            seen.add(k)
        return dict(items)

    def constant(name):
        fail(f"holds {name}; files hold finite numbers only")

    try:
        obj = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except ModelFileError:
        raise
    except RecursionError:
        fail(f"is nested more than {MAX_DEPTH} levels deep")
    except ValueError as exc:  # JSONDecodeError, and integers past Python's digit limit
        fail(f"is not JSON ({exc})")
    _check_json(obj, fail)
    return obj


# ---- GraphML


def _prescan(data, fail):
    """Parse ``data`` once with expat, refusing any document type declaration (GraphML needs
    none, and without one no entity, external or expanding, can be defined) and any node id
    declared twice (networkx would merge the two nodes without a word)."""

    class Refused(Exception):
        pass

    def doctype(*args):
        raise Refused

    ids = set()

    def element(tag, attrs):
        if tag.rpartition(" ")[2] == "node" and "id" in attrs:
            if attrs["id"] in ids:
                fail(f"declares the node id {_show(attrs['id'])} twice")
            ids.add(attrs["id"])

    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.StartElementHandler = element
    try:
        parser.Parse(data, True)
    except ModelFileError:  # a node id declared twice
        raise
    except Refused:
        fail(
            "declares a document type (<!DOCTYPE ...>); graphmrf reads GraphML without one, "
            "so that no entity is expanded"
        )
    except (xml.parsers.expat.ExpatError, LookupError, ValueError) as exc:  # LookupError: unknown encoding
        fail(f"not a readable GraphML file (not well-formed XML: {exc})")


def _load_graphml(path):
    def fail(message):
        raise ModelFileError(f"file {path!r}: {message}")

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        fail(f"cannot be read ({type(exc).__name__}: {exc})")
    _prescan(data, fail)
    try:
        with warnings.catch_warnings():
            # a key without attr.type is a string by the GraphML spec; networkx says so aloud
            warnings.filterwarnings("ignore", message="No key type for id", category=UserWarning)
            g = nx.read_graphml(BytesIO(data))
    except _GRAPHML_DAMAGE as exc:
        fail(f"not a readable GraphML file ({type(exc).__name__}: {exc})")
    for where, d in itertools.chain(
        [("graph", g.graph)],
        ((f"node {_show(n)}", d) for n, d in g.nodes(data=True)),
        ((f"edge ({_show(u)}, {_show(v)})", d) for u, v, d in g.edges(data=True)),
    ):
        for k, v in d.items():
            if isinstance(v, str) and len(v) > MAX_STRING:
                fail(f"{where}: attribute {_show(k)} is a string of {len(v)} characters; at most {MAX_STRING}")
    _check_extent(g, fail)
    if g.graph.get("graphmrf_names") != "json":
        return g
    out = g.__class__()
    out.graph.update({k: v for k, v in _graph_attrs(g).items() if k != "graphmrf_names"})
    mapping, ids = {}, {}
    for n in g.nodes:
        where = f"node id {_show(n)}"
        if len(n) > MAX_STRING:
            fail(f"{where}: {len(n)} characters; at most {MAX_STRING}")
        name = _decode(_parse_json(n, lambda m: fail(f"{where}: {m}")), lambda m: fail(f"{where}: {m}"))  # noqa: B023 (called at once, within the iteration)
        if name in ids:
            fail(f"node ids {_show(ids[name])} and {_show(n)} both decode to the name {_show(name)}")
        mapping[n], ids[name] = name, n
    for n, d in g.nodes(data=True):
        out.add_node(mapping[n], **d)
    for u, v, d in g.edges(data=True):
        out.add_edge(mapping[u], mapping[v], **d)
    return out


# ---- npz


def _read_array(zf, info, fail, budget):
    """The NumPy array stored in zip member ``info``, read without pickle and without
    allocating more than its stored bytes justify; ``budget[0]`` is what may still be
    allocated for the whole file, and is charged."""
    what = f"array {info.filename[:-4]!r}"
    if info.flag_bits & 0x1:
        fail(f"{what} is encrypted")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        fail(f"{what} is compressed with zip method {info.compress_type}; graphmrf reads stored or deflated arrays")
    if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > _DEFLATE_RATIO * info.compress_size + 64:
        fail(
            f"{what} declares {info.file_size} bytes from {info.compress_size} compressed; "
            "deflate cannot expand that far"
        )
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh, max_header_size=_NPY_HEADER)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh, max_header_size=_NPY_HEADER)
        else:
            fail(f"{what} is in .npy format version {version}; graphmrf reads versions 1.0 and 2.0")
        problem = _dtype_rule(dtype)
        if problem:
            fail(f"{what} has dtype {dtype}, which {problem}; graphmrf reads arrays of bool, int or float only")
        n = math.prod(shape)  # Python integers: no overflow
        nbytes, held = n * dtype.itemsize, info.file_size - fh.tell()
        if nbytes != held:
            fail(f"{what} declares shape {shape} of {dtype} ({nbytes} bytes) but the file holds {held} bytes for it")
        if nbytes > budget[0]:
            fail(
                f"{what} declares {nbytes} bytes, more than the {budget[0]} bytes left "
                "of what a file of this size can hold"
            )
        budget[0] -= nbytes
        flat = np.empty(n, dtype=dtype)
        buffer, done = memoryview(flat).cast("B"), 0
        while done < nbytes:
            chunk = fh.read(min(nbytes - done, 2**24))
            if not chunk:
                fail(f"{what} is truncated after {done} of {nbytes} bytes")
            buffer[done : done + len(chunk)] = chunk
            done += len(chunk)
        if fh.read(1):  # also makes zipfile compare the CRC of the whole member
            fail(f"{what} holds more bytes than its shape declares")
    if not dtype.isnative:
        flat = flat.byteswap().view(dtype.newbyteorder("="))
    return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)


def _load_npz(path, extras=None):
    """Graph stored at ``path`` (not yet validated). With ``extras`` (a dict), also fill
    ``extras["header"]`` and ``extras["arrays"]`` with what ``_save_npz`` got as extras."""
    path = os.fspath(path)

    def fail(message):
        raise ModelFileError(f"file {path!r}: {message}")

    try:
        with zipfile.ZipFile(path) as zf:
            return _read_npz(zf, fail, extras, budget=[_DEFLATE_RATIO * os.path.getsize(path)])
    except ModelFileError:
        raise
    except _DAMAGE as exc:
        fail(f"truncated or malformed ({type(exc).__name__}: {exc})")


_HEADER_FIELDS = {"format": str, "version": int, "directed": bool, "graph": dict, "nodes": list, "edges": list}
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", dict: "an object", list: "a list"}


def _field(obj, key, typ, where, fail):
    value = obj[key]
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        fail(f"{where}{key!r} is {_json_kind(value)}; expected {_TYPE_NAMES[typ]}")
    return value


def _fields(obj, required, where, fail, optional=()):
    if not isinstance(obj, dict):
        fail(f"{where} is {_json_kind(obj)}; expected an object")
    missing = [k for k in required if k not in obj]
    if missing:
        fail(f"{where} has no field {missing[0]!r}")
    unknown = [k for k in obj if k not in required and k not in optional]
    if unknown:
        fail(f"{where} has the field {_show(unknown[0])}, which format version {VERSION} does not define")


def _entry(entry, i, keys, section, fail):
    """Check one node or edge entry of the header; return its attrs and array names."""
    where = f"header {section}[{i}]"
    _fields(entry, keys + ("attrs", "arrays"), where, fail)
    attrs = _field(entry, "attrs", dict, where + " field ", fail)
    for k, v in attrs.items():
        if not isinstance(v, (str, int, float)):  # bool is an int
            fail(f"{where} attribute {k!r} is {_json_kind(v)}; expected a string, number or boolean")
    arrays = _field(entry, "arrays", list, where + " field ", fail)
    for k in arrays:
        if not isinstance(k, str):
            fail(f"{where} names the array {_show(k)}; array names are strings")
        if k in attrs:
            fail(f"{where} holds {k!r} both as an attribute and as an array")
    if len(set(arrays)) != len(arrays):
        fail(f"{where} names an array twice: {_show(arrays)}")
    return attrs, arrays


def _read_npz(zf, fail, extras, budget):
    members = {}
    for info in zf.infolist():
        if info.filename in members:
            fail(f"holds two arrays named {info.filename!r}")
        members[info.filename] = info
    header = _read_header(zf, members, fail, budget)
    g, entries = _graph_of(header, fail)
    used = {"header.npy"}
    for attrs, arrays, prefix in entries:
        for k in arrays:
            key = f"{prefix}.{k}.npy"
            if key not in members:
                fail(f"array {key[:-4]!r} named in the header is missing")
            attrs[k] = _read_array(zf, members[key], fail, budget)
            used.add(key)
    stray = [m for m in members if m not in used and not m.startswith("extra.")]
    if stray:
        fail(f"holds the array {stray[0]!r}, which the header does not name")
    if extras is not None:
        extras["header"] = header.get("extra", {})
        extras["arrays"] = {}
        for m, info in members.items():
            if m.startswith("extra."):
                if not m.endswith(".npy"):
                    fail(f"holds the member {m!r}, which is not an array")
                extras["arrays"][m[len("extra.") : -4]] = _read_array(zf, info, fail, budget)
    return g


def _read_header(zf, members, fail, budget):
    """The JSON header of a model file, its format, version and fields checked."""
    if "header.npy" not in members:
        fail("no graphmrf header; not a graphmrf model file")
    info = members["header.npy"]
    if info.file_size > MAX_HEADER + _NPY_HEADER:
        fail(f"header is {info.file_size} bytes; files hold at most {MAX_HEADER}")
    raw = _read_array(zf, info, fail, budget)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        fail(f"header is an array of {raw.dtype} with shape {raw.shape}; expected bytes (uint8, one axis)")
    try:
        text = raw.tobytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        fail(f"header is not UTF-8 text ({exc})")
    header = _parse_json(text, lambda m: fail(f"header {m}"))
    if not isinstance(header, dict):
        fail(f"header is {_json_kind(header)}; expected an object")
    if header.get("format") != FORMAT:
        fail(f"format {header.get('format')!r}; expected {FORMAT!r}")
    if header.get("version") != VERSION or isinstance(header.get("version"), bool):
        fail(f"format version {header.get('version')!r}; this graphmrf reads version {VERSION}")
    _fields(header, tuple(_HEADER_FIELDS), "header", fail, optional=("extra",))
    for key, typ in _HEADER_FIELDS.items():
        _field(header, key, typ, "header field ", fail)
    for k, v in header["graph"].items():
        if not isinstance(v, (str, int, float)):
            fail(f"header graph attribute {k!r} is {_json_kind(v)}; expected a string, number or boolean")
    if "extra" in header and not isinstance(header["extra"], dict):
        fail(f"header field 'extra' is {_json_kind(header['extra'])}; expected an object")
    return header


def _graph_of(header, fail):
    """The graph the header describes (attributes, no arrays yet) and, for every node and
    edge, (its attribute dict, the names of its arrays, its members' prefix)."""
    g = nx.DiGraph() if header["directed"] else nx.Graph()
    g.graph.update(header["graph"])
    entries = []
    for i, entry in enumerate(header["nodes"]):
        attrs, arrays = _entry(entry, i, ("name",), "nodes", fail)
        name = _decode(entry["name"], lambda m: fail(f"header nodes[{i}]: {m}"))  # noqa: B023 (called at once, within the iteration)
        if name in g:
            fail(f"header nodes[{i}]: the name {_show(name)} is given to an earlier node too")
        g.add_node(name, **attrs)
        entries.append((g.nodes[name], arrays, f"node{i}"))
    seen = set()
    for j, entry in enumerate(header["edges"]):
        attrs, arrays = _entry(entry, j, ("u", "v"), "edges", fail)
        u, v = (_decode(entry[k], lambda m: fail(f"header edges[{j}] field {k!r}: {m}")) for k in ("u", "v"))  # noqa: B023 (called at once, within the iteration)
        for end in (u, v):
            if end not in g:
                fail(f"header edges[{j}] joins {_show(end)}, which is not among the nodes")
        key = (u, v) if g.is_directed() else frozenset((u, v))
        if key in seen:
            fail(f"header edges[{j}]: the edge ({_show(u)}, {_show(v)}) is listed twice")
        seen.add(key)
        g.add_edge(u, v, **attrs)
        entries.append((g.edges[u, v], arrays, f"edge{j}"))
    _check_extent(g, fail)
    return g, entries


# ---------------------------------------------------------------- training checkpoints
def save_checkpoint(path, program, state, rng):
    """Write the model, its training state (velocities, PCD chains) and the generator's
    state to one ``.npz`` file (atomically, without pickle).

    ``load_checkpoint`` gives back everything ``fit`` needs to continue as if never stopped.

    Parameters
    ----------
    path : str or path
        A ``.npz`` file name.
    program : Program
        The model.
    state : dict
        ``history.state`` of a :func:`graphmrf.fit` run.
    rng : numpy.random.Generator
        The generator of the run (its bit generator's state is saved).

    Raises
    ------
    ValueError
        If ``path`` does not end in ``.npz``.
    ModelError
        If the model's current parameters break a declaration rule (a NaN weight).

    Examples
    --------
    >>> import os, tempfile, numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> rng = np.random.default_rng(0)
    >>> hist = gm.fit(prog, np.array([[1, 0, 1], [0, 1, 0]]), epochs=2, chains=4, seed=rng, monitors=[])
    >>> path = os.path.join(tempfile.mkdtemp(), "run.npz")
    >>> save_checkpoint(path, prog, hist.state, rng)
    >>> again, state, rng_again = load_checkpoint(path)
    >>> state["persistent"].shape, float(rng_again.random()) == float(rng.random())
    ((4, 5), True)
    """
    if not str(path).endswith(".npz"):
        raise ValueError(f"checkpoint {path!r}: expected a .npz path")
    arrays = {f"velocity.{k}": to_host(v) for k, v in state["velocity"].items()}
    if state.get("persistent") is not None:
        arrays["persistent"] = to_host(state["persistent"])
    bg = rng.bit_generator
    header = {
        "kind": "graphmrf-checkpoint",
        "dtype": str(program.dtype),
        "bit_generator": type(bg).__name__,
        "rng_state": bg.state,
    }
    graph = program.to_graph()
    validate(graph)
    _save_npz(graph, str(path), extra_arrays=arrays, extra_header=header)


def load_checkpoint(path, backend="numpy"):
    """Read a checkpoint: returns ``(program, state, rng)`` for ``fit(program, ..., state=state, seed=rng)``.

    Parameters
    ----------
    path : str or path
        A file written by :func:`save_checkpoint`.
    backend : {"numpy", "cupy"}
        Where the Program's arrays go.

    Returns
    -------
    program : Program
        Compiled in the saved float type.
    state : dict
        ``velocity`` (per parameter) and ``persistent`` (the PCD chains, or None).
    rng : numpy.random.Generator
        In the saved state.

    Raises
    ------
    ModelFileError
        If the file is not a checkpoint (a model file), or is truncated or malformed.

    Examples
    --------
    >>> import os, tempfile, graphmrf as gm
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> gm.save(gm.rbm(3, 2, seed=0), path)
    >>> load_checkpoint(path)
    Traceback (most recent call last):
    ...
    graphmrf.errors.ModelFileError: file '...model.npz': a model file, not a training checkpoint
    """
    extras = {}
    graph = _load_npz(str(path), extras)
    validate(graph)
    header = extras.get("header", {})
    if header.get("kind") != "graphmrf-checkpoint":
        raise ModelFileError(f"file {str(path)!r}: a model file, not a training checkpoint")
    program = compile_(graph, backend=backend, dtype=np.dtype(header["dtype"]))
    arrays = extras["arrays"]
    state = {
        "velocity": {k[len("velocity.") :]: v for k, v in arrays.items() if k.startswith("velocity.")},
        "persistent": arrays.get("persistent"),
    }
    bg = getattr(np.random, header["bit_generator"])()
    bg.state = header["rng_state"]
    return program, state, np.random.Generator(bg)
