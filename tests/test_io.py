"""Save -> load round trips; bad files fail cleanly and leave nothing half-written."""

import os

import networkx as nx
import numpy as np
import pytest

import graphmrf as gm
from zoo import family


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
    with pytest.raises(gm.ModelFileError, match="unknown extension"):
        gm.save(family("rbm"), tmp_path / "m.pkl")


def test_pickled_arrays_are_never_loaded(tmp_path):
    import json

    header = {"format": "graphmrf-npz", "version": 1, "directed": False, "graph": {}, "nodes": [{"name": "v", "attrs": {"kind": "binary", "size": 2}, "arrays": ["bias"]}], "edges": []}
    path = tmp_path / "evil.npz"
    np.savez(path, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **{"node0.bias": np.array([object(), object()], dtype=object)})
    with pytest.raises(gm.ModelFileError):
        gm.load(path)


def test_wrong_version_is_named(tmp_path):
    import json

    header = {"format": "graphmrf-npz", "version": 99, "directed": False, "nodes": [], "edges": []}
    np.savez(tmp_path / "v.npz", header=np.frombuffer(json.dumps(header).encode(), np.uint8))
    with pytest.raises(gm.ModelFileError, match="format version 99; this graphmrf reads version 1"):
        gm.load(tmp_path / "v.npz")


def test_a_valid_file_holding_a_bad_model_raises_model_error(tmp_path):
    g = family("rbm")
    gm.save(g, tmp_path / "m.npz")
    import json

    with np.load(tmp_path / "m.npz") as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(bytes(arrays["header"]).decode())
    header["nodes"][0]["attrs"]["kind"] = "bogus"
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(tmp_path / "m.npz", **arrays)
    with pytest.raises(gm.ModelError, match="unknown kind 'bogus'"):
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
