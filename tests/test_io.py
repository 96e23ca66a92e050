"""Save -> load round trips; bad files fail cleanly and leave nothing half-written."""

import io
import json
import os
import struct
import subprocess
import sys
import tracemalloc
import zipfile

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from zoo import family

import graphmrf as gm
from graphmrf import io as gmio


def same_energies(g1, g2, seed=0):
    p1, p2 = gm.compile(g1, dtype=np.float64), gm.compile(g2, dtype=np.float64)
    s = p1.random_state(16, seed=seed)
    np.testing.assert_array_equal(p1.energy(s), p2.energy(s))


@pytest.mark.parametrize("name", ["lecture", "mixed", "ising_periodic"])
def test_graphml_round_trip_keeps_graph_and_energies(name, tmp_path):
    g = family(name)
    path = tmp_path / "m.graphml"
    gm.save(g, path)
    h = gm.load(path)
    assert list(h.nodes) == list(g.nodes)
    assert [(n, d) for n, d in h.nodes(data=True)] == [(n, d) for n, d in g.nodes(data=True)]
    same_energies(g, h)


def test_graphml_round_trip_of_a_directed_net(tmp_path):
    g = gm.load(gm.models.path("explaining_away.graphml"))
    gm.save(g, tmp_path / "ea.graphml")
    h = gm.load(tmp_path / "ea.graphml")
    assert h.is_directed() and list(h.edges) == list(g.edges)
    same_energies(g, h)


@pytest.mark.parametrize("name", ["rbm", "rbm_softmax", "bm", "dbm", "sbn", "dbn4"])
def test_npz_round_trip_keeps_graph_and_energies(name, tmp_path):
    g = family(name)
    gm.save(g, tmp_path / "m.npz")
    h = gm.load(tmp_path / "m.npz")
    assert list(h.nodes) == list(g.nodes) and list(h.edges) == list(g.edges) and h.is_directed() == g.is_directed()
    same_energies(g, h)


def test_saving_a_program_writes_its_current_parameters(tmp_path):
    prog = gm.compile(gm.rbm(4, 3, visible="gaussian", sigma=2.0, seed=0), dtype=np.float64)
    prog.params["v.log_sigma"][:] = np.log(0.5)
    prog.params["v~h.weight"] *= 3
    gm.save(prog, tmp_path / "p.npz")
    back = gm.compile(gm.load(tmp_path / "p.npz"), dtype=np.float64)
    s = prog.random_state(8, seed=1)
    np.testing.assert_array_equal(back.energy(s), prog.energy(s))
    np.testing.assert_allclose(back.get("v", "sigma"), 0.5)


def test_truncated_npz_raises_and_executes_nothing(tmp_path):
    path = tmp_path / "m.npz"
    gm.save(family("rbm"), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(gm.ModelFileError, match=r"truncated or malformed"):
        gm.load(path)


def test_malformed_and_foreign_files(tmp_path):
    bad = tmp_path / "x.graphml"
    bad.write_text("<graphml><graph><node id=")
    with pytest.raises(gm.ModelFileError, match="not a readable GraphML file"):
        gm.load(bad)
    foreign = tmp_path / "f.npz"
    np.savez(foreign, a=np.zeros(3))
    with pytest.raises(gm.ModelFileError, match="no graphmrf header"):
        gm.load(foreign)
    with pytest.raises(gm.ModelFileError, match="does not exist"):
        gm.load(tmp_path / "nope.npz")
    with pytest.raises(
        ValueError,
        match=(
            r"save: path must be a path \(str or os.PathLike\) ending in .graphml \(unit-level models\) or .npz; got "
            r"PosixPath\('.*m.pkl'\)"
        ),
    ):
        gm.save(family("rbm"), tmp_path / "m.pkl")
    assert sorted(os.listdir(tmp_path)) == ["f.npz", "x.graphml"]


def test_pickled_arrays_are_never_loaded(tmp_path):
    node = {"name": "v", "attrs": {"kind": "binary", "size": 2}, "arrays": ["bias"]}
    header = {"format": "graphmrf-npz", "version": 1, "directed": False, "graph": {}, "nodes": [node], "edges": []}
    path = tmp_path / "evil.npz"
    evil = np.array([object(), object()], dtype=object)
    np.savez(path, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **{"node0.bias": evil})
    with pytest.raises(
        gm.ModelFileError, match=(r"array 'node0.bias' has dtype object, which holds Python objects \(a pickle\)")
    ):
        gm.load(path)


def test_wrong_version_is_named(tmp_path):
    header = {"format": "graphmrf-npz", "version": 99, "directed": False, "nodes": [], "edges": []}
    np.savez(tmp_path / "v.npz", header=np.frombuffer(json.dumps(header).encode(), np.uint8))
    with pytest.raises(gm.ModelFileError, match="format version 99; this graphmrf reads version 1"):
        gm.load(tmp_path / "v.npz")


def test_a_valid_file_holding_a_bad_model_raises_model_error(tmp_path):
    g = family("rbm")
    gm.save(g, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(bytes(arrays["header"]).decode())
    header["nodes"][0]["attrs"]["kind"] = "bogus"
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(tmp_path / "m.npz", **arrays)
    with pytest.raises(gm.ModelFileError, match=r"^file '[^']*m.npz': node 'v': unknown kind 'bogus'"):
        gm.load(tmp_path / "m.npz")


def test_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    gm.save(family("rbm"), path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        gm.save(family("dbm"), path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


def test_invalid_models_are_not_saved(tmp_path):
    g = family("rbm")
    g.nodes["v"]["bias"] = np.full(4, np.nan)
    with pytest.raises(gm.ModelError):
        gm.save(g, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_layered_models_are_refused_by_graphml(tmp_path):
    with pytest.raises(gm.ModelFileError, match="GraphML holds scalars only"):
        gm.save(family("rbm"), tmp_path / "m.graphml")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------
# hostile files: every one raises ModelFileError naming the file and what is wrong


GOOD_HEADER = {
    "format": "graphmrf-npz",
    "version": 1,
    "directed": False,
    "graph": {},
    "nodes": [{"name": "v", "attrs": {"kind": "binary", "size": 2}, "arrays": ["bias"]}],
    "edges": [],
}


def header_array(header):
    text = header if isinstance(header, str) else json.dumps(header)
    return np.frombuffer(text.encode("utf-8"), np.uint8)


def write_npz(path, header=GOOD_HEADER, **arrays):
    arrays.setdefault("node0.bias", np.zeros(2))
    np.savez(path, header=header_array(header), **arrays)
    return path


def npy_member(descr, shape, payload=b""):
    """The bytes of a .npy file whose header says ``descr`` and ``shape`` (whatever follows)."""
    text = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, }}"
    text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1") + payload


def test_a_huge_declared_shape_is_refused_before_anything_is_allocated(tmp_path):
    # before: MemoryError: Unable to allocate 728. TiB for an array with shape (100000000000000,)
    path = tmp_path / "huge.npz"
    buf = io.BytesIO()
    np.save(buf, header_array(GOOD_HEADER))
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("header.npy", buf.getvalue())
        z.writestr("node0.bias.npy", npy_member("<f8", (10**14,), b"\0" * 16))
    tracemalloc.start()
    try:
        with pytest.raises(
            gm.ModelFileError,
            match=(
                r"^file '[^']*huge.npz': array 'node0.bias' declares shape \(100000000000000,\) of float64 "
                r"\(800000000000000 bytes\) but the file holds 16 bytes for it"
            ),
        ):
            gm.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_a_deflated_array_cannot_claim_more_than_deflate_can_expand(tmp_path):
    path = tmp_path / "bomb.npz"
    buf = io.BytesIO()
    np.save(buf, header_array(GOOD_HEADER))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("header.npy", buf.getvalue())
        z.writestr("node0.bias.npy", npy_member("<f8", (2,), b"\0" * 16))
    data = bytearray(path.read_bytes())
    # the uncompressed size of the array member, in its local header (offset 22) and its
    # central directory entry (offset 24), now claims 4 GB
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(sig, data.index(sig) + 1)
        data[at + off : at + off + 4] = struct.pack("<I", 0xFFFFFFF0)
    path.write_bytes(bytes(data))
    with pytest.raises(
        gm.ModelFileError,
        match=(r"array 'node0.bias' declares 4294967280 bytes from \d+ compressed; deflate cannot expand that far"),
    ):
        gm.load(path)


def test_compressed_big_endian_and_fortran_arrays_load_as_saved(tmp_path):
    g = family("rbm")
    W = np.asfortranarray(g.edges["v", "h"]["weight"])
    g.edges["v", "h"]["weight"] = W
    g.nodes["h"]["bias"] = g.nodes["h"]["bias"].astype(">f8")
    gm.save(g, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        arrays = {k: z[k] for k in z.files}
    np.savez_compressed(tmp_path / "z.npz", **arrays)
    for name in ("m.npz", "z.npz"):
        h = gm.load(tmp_path / name)
        np.testing.assert_array_equal(h.edges["v", "h"]["weight"], W)
        assert h.nodes["h"]["bias"].dtype == np.float64 and h.nodes["h"]["bias"].dtype.isnative
        np.testing.assert_array_equal(h.nodes["h"]["bias"], g.nodes["h"]["bias"])


@pytest.mark.parametrize(
    "header, message",
    [
        # before: AttributeError: 'list' object has no attribute 'get'
        ([1, 2, 3], r"header is a list \(\[1, 2, 3\]\); expected an object"),
        # before: RecursionError: maximum recursion depth exceeded while decoding a JSON array
        ("[" * 100_000 + "]" * 100_000, r"header is nested more than 32 levels deep"),
        # before: ModelError: graph: has no nodes (the second "nodes" silently won)
        (json.dumps(GOOD_HEADER)[:-1] + ', "nodes": []}', r"header has the key 'nodes' twice in one object"),
        # before: loaded (a 50 MB string was accepted)
        (
            {**GOOD_HEADER, "graph": {"note": "x" * 100_000}},
            r"header holds a string of 100000 characters \('xxx.*; at most 65536",
        ),
        # before: loaded (NaN is not JSON)
        (json.dumps(GOOD_HEADER)[:-1] + ', "x": NaN}', r"header holds NaN; files hold finite numbers only"),
        ({**GOOD_HEADER, "version": True}, r"format version True; this graphmrf reads version 1"),
        ({**GOOD_HEADER, "nodes": 5}, r"header field 'nodes' is a number \(5\); expected a list"),
        ({**GOOD_HEADER, "nodes": [5]}, r"header nodes\[0\] is a number \(5\); expected an object"),
        ({**GOOD_HEADER, "nodes": [{"name": "v"}]}, r"header nodes\[0\] has no field 'attrs'"),
        ({**GOOD_HEADER, "edges": "x"}, r"header field 'edges' is a string \('x'\); expected a list"),
        ({**GOOD_HEADER, "graph": [1]}, r"header field 'graph' is a list \(\[1\]\); expected an object"),
        (
            {**GOOD_HEADER, "graph": {"x": {"y": 1}}},
            r"header graph attribute 'x' is an object \(\{'y': 1\}\); expected a string, number or boolean",
        ),
        # before: loaded as a DiGraph
        ({**GOOD_HEADER, "directed": "yes"}, r"header field 'directed' is a string \('yes'\); expected a boolean"),
        ({**GOOD_HEADER, "comment": 1}, r"header has the field 'comment', which format version 1 does not define"),
        (
            {**GOOD_HEADER, "nodes": [{"name": {"a": 1}, "attrs": {}, "arrays": []}]},
            r"header nodes\[0\]: name \{'a': 1\} is an object other than",
        ),
        ({**GOOD_HEADER, "nodes": [{"name": None, "attrs": {}, "arrays": []}]}, r"header nodes\[0\]: name is null"),
        (
            {**GOOD_HEADER, "nodes": [{"name": "v", "attrs": [1], "arrays": []}]},
            r"header nodes\[0\] field 'attrs' is a list \(\[1\]\); expected an object",
        ),
        (
            {**GOOD_HEADER, "nodes": [{"name": "v", "attrs": {}, "arrays": "bias"}]},
            r"header nodes\[0\] field 'arrays' is a string \('bias'\); expected a list",
        ),
        (
            {**GOOD_HEADER, "nodes": [{"name": "v", "attrs": {"kind": "binary", "size": 2}, "arrays": [7]}]},
            r"header nodes\[0\] names the array 7; array names are strings",
        ),
        (
            {**GOOD_HEADER, "nodes": [{"name": "v", "attrs": {"kind": [1, 2]}, "arrays": []}]},
            r"header nodes\[0\] attribute 'kind' is a list \(\[1, 2\]\)",
        ),
        (
            {**GOOD_HEADER, "nodes": [{"name": "v", "attrs": {"bias": 0.0}, "arrays": ["bias"]}]},
            r"header nodes\[0\] holds 'bias' both as an attribute and as an array",
        ),
        (
            {**GOOD_HEADER, "nodes": GOOD_HEADER["nodes"] * 2},
            r"header nodes\[1\]: the name 'v' is given to an earlier node too",
        ),
        # before: ModelError: node 'zz': missing attribute 'kind' (the edge invented the node)
        (
            {**GOOD_HEADER, "edges": [{"u": "v", "v": "zz", "attrs": {}, "arrays": []}]},
            r"header edges\[0\] joins 'zz', which is not among the nodes",
        ),
        (
            {**GOOD_HEADER, "edges": [{"u": "v", "v": "v", "attrs": {"weight": 0.0}, "arrays": []}] * 2},
            r"header edges\[1\]: the edge \('v', 'v'\) is listed twice",
        ),
        (
            {**GOOD_HEADER, "edges": [{"u": "v", "v": "v", "attrs": {}, "arrays": ["weight"]}]},
            r"array 'edge0.weight' named in the header is missing",
        ),
        # before: MemoryError from the validator (a layer of 10**14 units)
        (
            {**GOOD_HEADER, "nodes": [{"name": "v", "attrs": {"kind": "binary", "size": 10**14}, "arrays": ["bias"]}]},
            r"declares 100000000000000 unit columns; files hold at most 67108864",
        ),
        ({**GOOD_HEADER, "extra": [1]}, r"header field 'extra' is a list \(\[1\]\); expected an object"),
    ],
)
def test_malformed_headers_are_named(tmp_path, header, message):
    path = write_npz(tmp_path / "h.npz", header)
    with pytest.raises(gm.ModelFileError, match=r"^file '[^']*h.npz': " + message):
        gm.load(path)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.array([object(), object()], dtype=object), r"object, which holds Python objects \(a pickle\)"),
        # before: loaded, and the validator dropped the imaginary part with a ComplexWarning
        (np.array([1j, 2j]), "complex128, which is complex"),
        (np.array(["a", "b"]), "<U1, which is text"),
        (np.zeros(2, "M8[s]"), r"datetime64\[s\], which is a date"),
        (np.zeros(2, [("a", "f8")]), r"\[\('a', '<f8'\)\], which is a structured dtype"),
    ],
)
def test_arrays_of_the_wrong_dtype_are_refused(tmp_path, array, message):
    path = write_npz(tmp_path / "d.npz", **{"node0.bias": array})
    with pytest.raises(
        gm.ModelFileError,
        match=(r"array 'node0.bias' has dtype " + message + "; graphmrf reads arrays of bool, int or float only"),
    ):
        gm.load(path)


def test_header_that_is_not_one_axis_of_utf8_bytes(tmp_path):
    np.savez(tmp_path / "a.npz", header=np.zeros(4))
    with pytest.raises(gm.ModelFileError, match=r"header is an array of float64 with shape \(4,\); expected bytes"):
        gm.load(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", header=np.frombuffer(b"\xff{}", np.uint8))
    with pytest.raises(gm.ModelFileError, match="header is not UTF-8 text"):
        gm.load(tmp_path / "b.npz")


def test_arrays_the_header_does_not_name_are_refused(tmp_path):
    path = write_npz(tmp_path / "s.npz", **{"node1.bias": np.zeros(2)})
    with pytest.raises(gm.ModelFileError, match="holds the array 'node1.bias.npy', which the header does not name"):
        gm.load(path)


def test_every_truncation_of_a_file_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    gm.save(gm.rbm(2, 2, seed=0), path)
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    for n in range(len(data)):
        cut.write_bytes(data[:n])
        with pytest.raises(gm.ModelFileError, match=r"^file '[^']*cut.npz': "):
            gm.load(cut)


def test_a_failed_load_changes_nothing(tmp_path):
    path = write_npz(tmp_path / "bad.npz", **{"node0.bias": np.array([1j, 2j])})
    before = path.read_bytes()
    with pytest.raises(gm.ModelFileError):
        gm.load(path)
    assert path.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["bad.npz"]


def test_load_of_a_folder_or_an_unreadable_path(tmp_path):
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(gm.ModelFileError, match=r"^file '[^']*d.npz': is not a regular file"):
        gm.load(tmp_path / "d.npz")


# ---- GraphML


def lattice_graphml(tmp_path):
    path = tmp_path / "ising.graphml"
    gm.save(gm.ising(2, units=True), path)
    return path, path.read_text()


@pytest.mark.parametrize(
    "new_id, message",
    [
        # before: TypeError: unhashable type: 'dict'
        (
            "{&quot;a&quot;: 1}",
            r"node id '\{\"a\": 1\}': name \{'a': 1\} is an object other than \{'tuple': \[...\]\}; not a name "
            r"graphmrf writes",
        ),
        (
            "{&quot;tuple&quot;: [1, {&quot;b&quot;: 2}]}",
            r"node id '\{\"tuple\": \[1, \{\"b\": 2\}\]\}': name \{'b': 2\} is an object other than",
        ),
        ("{nope", r"node id '\{nope': is not JSON"),
        ("NaN", r"node id 'NaN': holds NaN; files hold finite numbers only"),
        # before: RecursionError
        ("[" * 20_000 + "]" * 20_000, r"node id '[\[\]]+\.\.\.: is nested more than 32 levels deep"),
        ("[" * 40 + "]" * 40, r"node id '[\[\]]+\.\.\.: is nested more than 32 levels deep"),
        ("[0, 1]", r"node ids '\[0, 1\]' and '\{\"tuple\": \[0, 1\]\}' both decode to the name \(0, 1\)"),
    ],
)
def test_graphml_node_ids_that_are_not_names(tmp_path, new_id, message):
    path, text = lattice_graphml(tmp_path)
    path.write_text(text.replace("{&quot;tuple&quot;: [0, 0]}", new_id))
    with pytest.raises(gm.ModelFileError, match=r"^file '[^']*ising.graphml': " + message):
        gm.load(path)


def test_graphml_node_declared_twice_is_refused(tmp_path):
    # before: networkx merged the two nodes; the validator then saw a self-loop
    path, text = lattice_graphml(tmp_path)
    path.write_text(text.replace("{&quot;tuple&quot;: [0, 0]}", "{&quot;tuple&quot;: [0, 1]}"))
    twice = r"^file '[^']*ising.graphml': declares the node id '\{\"tuple\": \[0, 1\]\}' twice$"
    with pytest.raises(gm.ModelFileError, match=twice):
        gm.load(path)


GRAPHML_OPEN = '<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected">'


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE g [<!ENTITY x SYSTEM "file:///etc/passwd">]>',  # external entity
        # billion laughs
        '<!DOCTYPE g [<!ENTITY a0 "lol">'
        + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
        + "]>",
        '<!DOCTYPE graphml SYSTEM "http://graphml.graphdrawing.org/dtds/graphml.dtd">',
    ],
)
def test_graphml_with_a_document_type_is_refused_so_no_entity_is_expanded(tmp_path, doctype):
    path = tmp_path / "e.graphml"
    ref = "&x;" if "ENTITY x" in doctype else ("&a9;" if "a9" in doctype else "a")
    body = f'<node id="{ref}"/>'
    path.write_text('<?xml version="1.0"?>' + doctype + GRAPHML_OPEN + body + "</graph></graphml>")
    with pytest.raises(
        gm.ModelFileError, match=(r"declares a document type \(<!DOCTYPE ...>\); graphmrf reads GraphML without one")
    ):
        gm.load(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", r"not a readable GraphML file \(not well-formed XML: no element found"),
        (
            '<?xml version="1.0" encoding="utz-8"?><graphml/>',
            r"not a readable GraphML file \(not well-formed XML: unknown encoding: utz-8\)",
        ),
        (
            GRAPHML_OPEN + '<node id="a"><data key="d9">x</data></node></graph></graphml>',
            r"not a readable GraphML file \(NetworkXError: Bad GraphML data: no key d9\)",
        ),
        (GRAPHML_OPEN + '<node id="a"/></graph></graphml>', r"node 'a': missing attribute 'kind'"),
    ],
)
def test_unreadable_graphml_is_named(tmp_path, text, message):
    path = tmp_path / "u.graphml"
    path.write_text(text)
    with pytest.raises(gm.ModelFileError, match=r"^file '[^']*u.graphml': " + message):
        gm.load(path)


# ---- save writes only what load reads back exactly


@pytest.mark.parametrize(
    "edit, suffix, message",
    [
        (
            lambda g: g.nodes["a"].__setitem__(1, 2.0),
            ".npz",
            r"node 'a': attribute name 1 is a int; files hold attributes named by strings",
        ),
        (
            lambda g: g.graph.__setitem__("beta", float("inf")),
            ".npz",
            r"graph: attribute 'beta' is inf; files hold finite numbers only",
        ),
        # before: the graph attribute was dropped without a word
        (
            lambda g: g.graph.__setitem__("notes", {"a": 1}),
            ".npz",
            r"graph: attribute 'notes' is of type dict; files hold str, int, float or bool graph attributes",
        ),
        (
            lambda g: g.nodes["a"].__setitem__("tag", None),
            ".npz",
            r"node 'a': attribute 'tag' of type NoneType is not an array of numbers",
        ),
        (
            lambda g: g.nodes["a"].__setitem__("tag", np.array([1j])),
            ".npz",
            r"node 'a': attribute 'tag' has dtype complex128, which is complex",
        ),
        (
            lambda g: g.nodes["a"].__setitem__("tag", "x" * 70_000),
            ".graphml",
            r"node 'a': attribute 'tag' is a string of 70000 characters; at most 65536",
        ),
        (
            lambda g: g.nodes["a"].__setitem__("tag", "a\rb"),
            ".graphml",
            r"node 'a': the value of attribute 'tag' holds the character '\\r', which GraphML \(XML 1.0\) does not "
            r"keep; save as .npz",
        ),
        (
            lambda g: g.graph.__setitem__("a\tb", 1),
            ".graphml",
            r"graph: the name of attribute 'a\\tb' holds the character '\\t', which GraphML",
        ),
        (
            lambda g: g.nodes["a"].__setitem__("tag", np.zeros(2)),
            ".graphml",
            r"node 'a': attribute 'tag' is an array; GraphML holds scalars only",
        ),
        (
            lambda g: nx.relabel_nodes(g, {"a": ((((((((("a",),),),),),),),),)}, copy=False),
            ".npz",
            r"node \(+'a',\),\),.*: name nests tuples more than 8 levels deep",
        ),
        (
            lambda g: nx.relabel_nodes(g, {"a": np.float32(1.5)}, copy=False),
            ".graphml",
            r"node np.float32\(1.5\): a name part np.float32\(1.5\) of type float32; names must be str, int, float, "
            r"bool",
        ),
    ],
)
def test_save_refuses_what_a_file_cannot_hold_exactly_and_writes_nothing(tmp_path, edit, suffix, message):
    g = family("mixed")
    edit(g)
    with pytest.raises(gm.ModelFileError, match=r"^file '[^']*m" + suffix + "': " + message):
        gm.save(g, tmp_path / f"m{suffix}")
    assert os.listdir(tmp_path) == []


def test_save_keeps_the_column_limit_load_keeps(tmp_path, monkeypatch):
    monkeypatch.setattr(gmio, "MAX_COLUMNS", 6)
    with pytest.raises(gm.ModelFileError, match="the model has 7 unit columns; files hold at most 6"):
        gm.save(family("rbm"), tmp_path / "m.npz")
    monkeypatch.setattr(gmio, "MAX_COLUMNS", 7)
    gm.save(family("rbm"), tmp_path / "m.npz")
    monkeypatch.setattr(gmio, "MAX_COLUMNS", 6)
    with pytest.raises(gm.ModelFileError, match="declares 7 unit columns; files hold at most 6"):
        gm.load(tmp_path / "m.npz")


def test_path_and_model_arguments_are_checked():
    for fn in (gm.save, gm.load):
        assert set(fn.__constraints__) >= {"path"}
    with pytest.raises(
        TypeError,
        match=(
            r"load: path must be a path \(str or os.PathLike\) ending in .graphml \(unit-level models\) or .npz; got 3"
        ),
    ):
        gm.load(3)
    with pytest.raises(TypeError, match=r"load: path must be .*; got b'x.npz'"):
        gm.load(b"x.npz")
    with pytest.raises(ValueError, match=r"load: path must be .*; got 'm.pkl'"):
        gm.load("m.pkl")
    with pytest.raises(
        TypeError, match=(r"save: model must be a networkx Graph or DiGraph, or a Program; got 'notamodel'")
    ):
        gm.save("notamodel", "m.npz")


# ---- A2: a model saved from a GPU program loads on NumPy


class FakeDeviceArray:
    """Stands in for a CuPy array: speaks the CUDA array interface, copies to the host with
    ``get()``, and refuses NumPy's implicit conversion as CuPy does."""

    def __init__(self, host):
        self._host = np.array(host)
        self.shape, self.dtype = self._host.shape, self._host.dtype

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (0, False), "version": 3}

    def get(self):
        return self._host.copy()

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()`")


def test_device_arrays_are_copied_to_the_host_when_saved(tmp_path):
    g = family("rbm")
    host = {"bias": g.nodes["v"]["bias"], "weight": g.edges["v", "h"]["weight"]}
    g.nodes["v"]["bias"] = FakeDeviceArray(host["bias"])
    g.edges["v", "h"]["weight"] = FakeDeviceArray(host["weight"])
    gm.save(g, tmp_path / "m.npz")
    assert isinstance(g.nodes["v"]["bias"], FakeDeviceArray)  # the caller's graph is untouched
    h = gm.load(tmp_path / "m.npz")
    assert type(h.nodes["v"]["bias"]) is np.ndarray and type(h.edges["v", "h"]["weight"]) is np.ndarray
    np.testing.assert_array_equal(h.nodes["v"]["bias"], host["bias"])
    np.testing.assert_array_equal(h.edges["v", "h"]["weight"], host["weight"])


@pytest.mark.gpu
def test_a_model_saved_from_cupy_loads_in_a_numpy_only_process(tmp_path):
    prog = gm.compile(family("rbm"), backend="cupy", dtype=np.float64)
    prog.params["v~h.weight"] *= 2
    gm.save(prog, tmp_path / "m.npz")
    states = np.array([[0, 1, 1, 0, 1, 0, 1], [1, 1, 0, 0, 0, 1, 1]], dtype=np.float64)
    expected = gm.backend.to_host(prog.energy(prog.backend.asarray(states)))
    code = (
        "import sys, numpy as np; sys.modules['cupy'] = None; import graphmrf as gm; "
        "p = gm.compile(gm.load(sys.argv[1]), dtype=np.float64); "
        "print(repr(p.energy(np.array(eval(sys.argv[2]))).tolist()))"
    )
    argv = [sys.executable, "-c", code, str(tmp_path / "m.npz"), repr(states.tolist())]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    np.testing.assert_allclose(eval(out.stdout), expected, rtol=1e-12)


# ---- properties: save -> load is exact; damage is either harmless or named

# text XML 1.0 keeps (no control characters, surrogates or non-characters); the refusal of
# the rest is tested above
text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Cn")), max_size=4)
names = st.recursive(
    st.one_of(text, st.integers(-(2**40), 2**40), st.floats(allow_nan=False, allow_infinity=False), st.booleans()),
    lambda inner: st.lists(inner, max_size=3).map(tuple),
    max_leaves=6,
)
scalars = st.one_of(text, st.integers(-(2**31), 2**31), st.floats(allow_nan=False, allow_infinity=False), st.booleans())


def same_graph(a, b):
    """Same type, graph attributes, nodes and edges in the same order, with values of the
    same type (1, 1.0 and True differ) and arrays of the same dtype and values."""

    def same_value(x, y):
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            return type(x) is type(y) and x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y)
        return type(x) is type(y) and x == y

    def same_attrs(d, e):
        return set(d) == set(e) and all(same_value(d[k], e[k]) for k in d)

    return (
        a.is_directed() == b.is_directed()
        and same_attrs(a.graph, b.graph)
        and repr(list(a.nodes)) == repr(list(b.nodes))
        and all(same_attrs(a.nodes[n], b.nodes[n]) for n in a.nodes)
        and repr(list(a.edges)) == repr(list(b.edges))
        and all(same_attrs(a.edges[e], b.edges[e]) for e in a.edges)
    )


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(
    node_names=st.lists(names, min_size=1, max_size=5),
    graph_attrs=st.dictionaries(text, scalars, max_size=3),
    suffix=st.sampled_from([".npz", ".graphml"]),
)
def test_save_then_load_gives_back_the_same_model(tmp_path_factory, node_names, graph_attrs, suffix):
    unique = list({n: None for n in node_names})  # hash-equal names (1, 1.0, True) are one node
    g = nx.Graph()
    g.graph.update(graph_attrs)  # not as keywords: a drawn name may be "self"
    for i, n in enumerate(unique):
        g.add_node(n, kind="binary" if i % 2 else "spin", visible=bool(i % 3), bias=0.25 * i)
    for u, v in zip(unique, unique[1:]):
        g.add_edge(u, v, weight=-0.5)
    path = tmp_path_factory.mktemp("rt") / f"m{suffix}"
    gm.save(g, path)
    assert same_graph(gm.load(path), g)


def described(header, arrays):
    """The graph a (well-formed) header and its arrays describe, read independently of graphmrf."""

    def name(x):
        if isinstance(x, dict):
            return tuple(name(y) for y in x["tuple"])
        return tuple(name(y) for y in x) if isinstance(x, list) else x

    g = nx.DiGraph() if header["directed"] else nx.Graph()
    g.graph.update(header["graph"])
    for i, e in enumerate(header["nodes"]):
        g.add_node(name(e["name"]), **e["attrs"], **{k: arrays[f"node{i}.{k}"] for k in e["arrays"]})
    for j, e in enumerate(header["edges"]):
        g.add_edge(name(e["u"]), name(e["v"]), **e["attrs"], **{k: arrays[f"edge{j}.{k}"] for k in e["arrays"]})
    return g


def json_paths(obj, prefix=()):
    yield prefix
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield from json_paths(v, prefix + (k,))


header_keys = st.sampled_from(["tuple", "kind", "size", "name", "attrs", "arrays", "u", "v", "categories"])
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=5),
        st.sampled_from(["binary", "spin", "softmax", "v", "h", "tuple"]),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(header_keys, inner, max_size=3),
    max_leaves=6,
)


def base_npz(folder):
    path = os.path.join(folder, "base.npz")
    gm.save(family("dbn"), path)
    return path


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_npz_loads_the_same_model_or_raises_model_file_error(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fz")
    base = base_npz(folder)
    original = gm.load(base)
    with open(base, "rb") as fh:
        raw = bytearray(fh.read())
    how = data.draw(st.sampled_from(["flip", "truncate", "replace", "delete"]))
    path = os.path.join(folder, "m.npz")
    if how in ("flip", "truncate"):
        if how == "flip":
            for at in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=4)):
                raw[at] ^= data.draw(st.integers(1, 255))
        else:
            raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
        with open(path, "wb") as fh:
            fh.write(raw)
        expected = original
    else:
        with np.load(base) as z:
            arrays = {k: z[k] for k in z.files}
        header = json.loads(bytes(arrays.pop("header")))
        where = data.draw(st.sampled_from(list(json_paths(header))[1:]))
        parent = header
        for k in where[:-1]:
            parent = parent[k]
        if how == "delete" and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = data.draw(json_values)
        np.savez(path, header=header_array(header), **arrays)
        expected = None
    try:
        loaded = gm.load(path)
    except gm.ModelFileError as exc:
        event(f"{how}: refused")
        assert str(exc).startswith(f"file {path!r}: ")
        return
    event(f"{how}: loaded")
    assert same_graph(loaded, expected if expected is not None else described(header, arrays))


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_graphml_loads_a_valid_model_or_raises_model_file_error(tmp_path_factory, data):
    # GraphML has no checksum: a flipped digit is a different valid model; anything else
    # the reader or the validator refuses is named as the file's fault
    folder = tmp_path_factory.mktemp("fzg")
    path = os.path.join(folder, "m.graphml")
    gm.save(family("mixed"), path)
    with open(path, "rb") as fh:
        raw = bytearray(fh.read())
    for at in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=4)):
        raw[at] ^= data.draw(st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128]))
    with open(path, "wb") as fh:
        fh.write(raw)
    try:
        g = gm.load(path)
    except gm.ModelFileError as exc:
        event("refused")
        assert str(exc).startswith(f"file {path!r}: ")
        return
    event("loaded")
    gm.validate(g)
