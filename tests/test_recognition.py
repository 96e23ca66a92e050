"""Recognition edges: wake-sleep's bottom-up weights are declared, validated, compiled,
saved and loaded like generative edges, and never touch the model's energy."""

import networkx as nx
import numpy as np
import pytest

import graphmrf as gm
from graphmrf import exact


def test_builders_tie_recognition_weights_to_the_generative_ones():
    g = gm.dbn([5, 4, 3, 2], recognition=True, seed=0, scale=1.0)
    assert sorted((u, v) for u, v, r in g.edges(data="recognition") if r) == [("h1", "h2"), ("v", "h1")]
    np.testing.assert_array_equal(g.edges["v", "h1"]["weight"], g.edges["h1", "v"]["weight"].T)
    prog = gm.compile(g, dtype=np.float64)
    assert set(prog.recognition_params) == {"v=>h1.weight", "v=>h1.bias", "h1=>h2.weight", "h1=>h2.bias"}
    assert all(not k.startswith("v=>") for k in prog.params)


def test_recognition_edges_leave_the_model_and_its_blocks_alone():
    plain = gm.compile(gm.sbn([4, 3, 2], seed=1, scale=1.0), dtype=np.float64)
    recog = gm.compile(gm.sbn([4, 3, 2], seed=1, scale=1.0, recognition=True), dtype=np.float64)
    assert exact.log_partition(recog) == pytest.approx(exact.log_partition(plain), abs=1e-12)
    s = plain.random_state(6, seed=0)
    np.testing.assert_array_equal(recog.energy(s), plain.energy(s))
    assert [[str(p) for p in b] for b in recog.blocks] == [[str(p) for p in b] for b in plain.blocks]


def test_the_recognition_input_is_the_childs_statistics_times_r_plus_the_bias():
    g = gm.sbn([4, 3, 2], seed=2, scale=1.0, recognition=True)
    g.edges["v", "h1"]["bias"] = np.array([0.5, -1.0, 2.0])
    prog = gm.compile(g, dtype=np.float64)
    s = prog.random_state(5, seed=3)
    x = prog.recognition_field(prog.statistic(s), prog.layer_of("h1"))
    np.testing.assert_allclose(x, s[:, prog.columns("v")] @ g.edges["v", "h1"]["weight"] + [0.5, -1.0, 2.0], rtol=1e-12)
    with pytest.raises(gm.ModelError, match=r"node 'v': no recognition edge points at it"):
        prog.recognition_field(prog.statistic(s), prog.layer_of("v"))


def test_recognition_parameters_are_saved_and_loaded(tmp_path):
    prog = gm.compile(gm.dbn([4, 3, 3, 2], recognition=True, seed=0, scale=1.0))
    prog.recognition_params["v=>h1.bias"][...] = [1.0, 2.0, 3.0]
    path = tmp_path / "dbn.npz"
    gm.save(prog, str(path))
    back = gm.compile(gm.load(str(path)))
    for k, v in prog.recognition_params.items():
        np.testing.assert_array_equal(back.recognition_params[k], v)


def test_training_the_generative_model_leaves_the_recognition_weights():
    prog = gm.compile(gm.sbn([4, 3], seed=0, recognition=True), dtype=np.float64)
    before = {k: v.copy() for k, v in prog.recognition_params.items()}
    gm.fit(prog, np.eye(4), epochs=2, lr=0.1, rule="exact", monitors=())
    for k, v in prog.recognition_params.items():
        np.testing.assert_array_equal(v, before[k])


def _sbn_with(edge_attrs, reverse=("v", "h")):
    g = nx.DiGraph()
    g.add_node("v", kind="binary", size=3)
    g.add_node("h", kind="binary", size=2, visible=False)
    g.add_edge("h", "v", weight=np.zeros((2, 3)))
    g.add_edge(*reverse, recognition=True, **edge_attrs)
    return g


@pytest.mark.parametrize(
    "graph, message",
    [
        (_sbn_with({"weight": np.zeros((2, 3))}), r"edge \('v', 'h'\): weight has shape \(2, 3\); expected \(3, 2\)"),
        (_sbn_with({"weight": np.full((3, 2), np.nan)}), r"edge \('v', 'h'\): weight must be finite"),
        (_sbn_with({"weight": np.zeros((3, 2)), "bias": "x"}), r"edge \('v', 'h'\): bias must be a real number"),
    ],
)
def test_bad_recognition_edges_are_named(graph, message):
    with pytest.raises(gm.ModelError, match=message):
        gm.compile(graph)


def test_a_recognition_edge_must_mirror_a_generative_one_in_a_directed_net():
    g = nx.DiGraph()
    g.add_node("v", kind="binary", size=3)
    g.add_node("h", kind="binary", size=2, visible=False)
    g.add_node("z", kind="binary", size=2, visible=False)
    g.add_edge("h", "v", weight=np.zeros((2, 3)))
    g.add_edge("v", "z", weight=np.zeros((3, 2)), recognition=True)
    with pytest.raises(
        gm.ModelError,
        match=r"edge \('v', 'z'\): a recognition edge must mirror a directed generative edge \('z', 'v'\)",
    ):
        gm.compile(g)
    u = nx.Graph()
    u.add_node("v", kind="binary", size=3)
    u.add_node("h", kind="binary", size=2, visible=False)
    u.add_edge("v", "h", weight=np.zeros((3, 2)), recognition=True)
    with pytest.raises(gm.ModelError, match="recognition edges belong to directed nets"):
        gm.compile(u)


def test_the_float64_view_follows_recognition_weights_too():
    prog = gm.compile(gm.sbn([3, 2], seed=0, recognition=True))  # float32: exact sums use a float64 copy
    first = prog.float64()
    prog.recognition_params["v=>h1.bias"][...] = [1.0, -1.0]
    second = prog.float64()
    assert second is not first
    np.testing.assert_array_equal(second.recognition_params["v=>h1.bias"], [1.0, -1.0])
    assert prog.float64() is second  # unchanged since: the cached copy
