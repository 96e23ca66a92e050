"""Every bad declaration raises ModelError naming the node or edge and the rule."""

import networkx as nx
import numpy as np
import pytest

import graphmrf as gm
from graphmrf import ModelError


def layered(nv=4, nh=3, **vattrs):
    g = nx.Graph()
    g.add_node("v", kind="binary", size=nv, **vattrs)
    g.add_node("h", kind="binary", size=nh, visible=False)
    g.add_edge("v", "h", weight=np.zeros((nv, nh)))
    return g


def test_a_valid_graph_passes():
    spec = gm.validate(layered())
    assert [L.name for L in spec.layers] == ["v", "h"]


def test_unknown_kind():
    g = layered()
    g.nodes["h"]["kind"] = "bernouli"
    with pytest.raises(
        ModelError, match=r"node 'h': unknown kind 'bernouli'; expected one of binary, gaussian, softmax, spin"
    ):
        gm.validate(g)


def test_missing_kind():
    g = layered()
    del g.nodes["v"]["kind"]
    with pytest.raises(ModelError, match=r"node 'v': missing attribute 'kind'"):
        gm.validate(g)


def test_missing_weight():
    g = layered()
    del g.edges["v", "h"]["weight"]
    with pytest.raises(ModelError, match=r"edge \('v', 'h'\): missing attribute 'weight'"):
        gm.validate(g)


def test_transposed_weight_of_non_square_layers():
    g = layered(784, 500)
    g.edges["v", "h"]["weight"] = np.zeros((500, 784))
    with pytest.raises(ModelError, match=r"edge \('v', 'h'\): weight has shape \(500, 784\); expected \(784, 500\)"):
        gm.validate(g)


def test_wrong_weight_size():
    g = layered(784, 500)
    g.edges["v", "h"]["weight"] = np.zeros((784, 400))
    with pytest.raises(ModelError, match=r"weight has shape \(784, 400\); expected \(784, 500\)"):
        gm.validate(g)


def test_non_symmetric_lateral():
    g = layered()
    L = np.zeros((4, 4))
    L[0, 1] = 1.0
    g.add_edge("v", "v", weight=L)
    with pytest.raises(
        ModelError, match=r"edge \('v', 'v'\): lateral weight must be symmetric; W\[0, 1\] = 1.0 but W\[1, 0\] = 0.0"
    ):
        gm.validate(g)


def test_lateral_with_nonzero_diagonal():
    g = layered()
    g.add_edge("v", "v", weight=np.eye(4))
    with pytest.raises(ModelError, match=r"zero diagonal; W\[0, 0\] = 1.0"):
        gm.validate(g)


def test_self_loop_on_a_single_unit():
    g = nx.Graph()
    g.add_node("a", kind="spin")
    g.add_edge("a", "a", weight=1.0)
    with pytest.raises(ModelError, match=r"edge \('a', 'a'\): self-loop on single unit 'a'"):
        gm.validate(g)


def test_directed_cycle():
    g = nx.DiGraph()
    for n in "abc":
        g.add_node(n, kind="binary")
    g.add_edge("a", "b", weight=1.0)
    g.add_edge("b", "c", weight=1.0)
    g.add_edge("c", "a", weight=1.0)
    with pytest.raises(ModelError, match=r"must be acyclic"):
        gm.validate(g)


def test_undirected_mark_below_the_top():
    g = gm.dbn([4, 3, 2, 2], seed=0)
    g.edges["h2", "h3"]["undirected"] = False
    g.edges["h1", "v"]["undirected"] = True
    with pytest.raises(
        ModelError, match=r"edge \('h1', 'v'\): marked undirected but 'h1' has directed parents \['h2'\]"
    ):
        gm.validate(g)


def test_two_undirected_marks():
    g = gm.dbn([4, 3, 2], seed=0)
    g.add_node("x", kind="binary", size=2, visible=False)
    g.add_node("y", kind="binary", size=2, visible=False)
    g.add_edge("x", "y", weight=np.zeros((2, 2)), undirected=True)
    message = r"may mark undirected only the edges of its top RBM .* which all meet one layer"
    with pytest.raises(ModelError, match=message):
        gm.validate(g)


def test_a_label_layer_joins_the_top_rbm_of_a_dbn():
    g = gm.dbn([4, 3, 2], seed=0)
    g.add_node("labels", kind="softmax", size=1, categories=3)
    g.add_edge("labels", "h2", weight=np.zeros((3, 2)), undirected=True)
    spec = gm.validate(g)
    assert sorted(L.name for L in spec.layers if not L.directed) == ["h1", "h2", "labels"]


def test_lateral_in_a_directed_net():
    g = gm.sbn([3, 2], seed=0)
    g.add_edge("h1", "h1", weight=np.zeros((2, 2)))
    with pytest.raises(ModelError, match=r"lateral couplings \(self-loops\) need an undirected model"):
        gm.validate(g)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinite_bias(bad):
    g = layered()
    g.nodes["v"]["bias"] = np.array([0.0, bad, 0.0, 0.0])
    with pytest.raises(ModelError, match=r"node 'v': bias must be finite"):
        gm.validate(g)


def test_nan_weight():
    g = layered()
    W = np.zeros((4, 3))
    W[2, 1] = np.nan
    g.edges["v", "h"]["weight"] = W
    with pytest.raises(ModelError, match=r"edge \('v', 'h'\): weight must be finite; it has 1 NaN"):
        gm.validate(g)


def test_softmax_without_categories():
    g = layered()
    g.nodes["v"]["kind"] = "softmax"
    with pytest.raises(ModelError, match=r"node 'v': softmax units need 'categories', an integer K >= 2; got None"):
        gm.validate(g)


@pytest.mark.parametrize("sigma", [0.0, -1.0])
def test_non_positive_sigma(sigma):
    g = gm.rbm(3, 2, visible="gaussian", sigma=np.array([1.0, sigma, 1.0]))
    with pytest.raises(ModelError, match=r"node 'v': sigma must be finite and > 0"):
        gm.validate(g)


def test_layer_joined_to_a_single_unit():
    g = layered()
    g.add_node("u", kind="binary")
    g.add_edge("v", "u", weight=np.zeros((4, 1)))
    with pytest.raises(ModelError, match=r"joins a layer and a single unit; declare 'u' as a layer with size=1"):
        gm.validate(g)


def test_bad_size_and_visible_and_graph_types():
    g = layered()
    g.nodes["h"]["size"] = 0
    with pytest.raises(ModelError, match=r"node 'h': size must be an integer >= 1; got 0"):
        gm.validate(g)
    g = layered()
    g.nodes["h"]["visible"] = "no"
    with pytest.raises(ModelError, match=r"node 'h': visible must be a bool"):
        gm.validate(g)
    with pytest.raises(ModelError, match="multigraphs"):
        gm.validate(nx.MultiGraph())
    with pytest.raises(ModelError, match="has no nodes"):
        gm.validate(nx.Graph())
    with pytest.raises(ModelError, match="expected a networkx Graph"):
        gm.validate({"v": 1})


def test_bias_of_wrong_shape():
    g = layered()
    g.nodes["v"]["bias"] = np.zeros(5)
    with pytest.raises(ModelError, match=r"node 'v': bias has shape \(5,\); expected a scalar or shape \(4,\)"):
        gm.validate(g)


def test_single_unit_softmax_weight_shape():
    g = nx.Graph()
    g.add_node("a", kind="softmax", categories=3)
    g.add_node("b", kind="binary")
    g.add_edge("a", "b", weight=1.0)
    with pytest.raises(
        ModelError, match=r"edge \('a', 'b'\): weight has shape \(\); expected a scalar or shape \(3, 1\)"
    ):
        gm.validate(g)
    g.edges["a", "b"]["weight"] = np.ones((3, 1))
    gm.validate(g)


def test_non_normalisable_gaussian_couplings_are_refused():
    """N6: an indefinite joint precision has Z = +inf; it is an error, not a finite number."""
    g = nx.Graph()
    g.add_node("x", kind="gaussian", size=2, sigma=np.array([1.0, 2.0]))
    g.add_node("y", kind="gaussian", size=1)
    g.add_edge("x", "y", weight=np.array([[0.9], [0.9]]))
    with pytest.raises(
        ModelError,
        match=r"nodes \['x', 'y'\]: gaussian units coupled to each other need a positive definite joint precision",
    ):
        gm.validate(g)
    g.edges["x", "y"]["weight"] = np.array([[0.5], [0.5]])
    gm.validate(g)


def test_single_unit_errors_are_named_after_vectorised_checks():
    g = gm.ising(4, periodic=False, units=True)
    g.nodes[(2, 3)]["bias"] = float("nan")
    with pytest.raises(ModelError, match=r"node \(2, 3\): bias must be finite"):
        gm.validate(g)
    g = gm.ising(4, periodic=False, units=True)
    g.edges[(1, 1), (1, 2)]["weight"] = float("inf")
    with pytest.raises(ModelError, match=r"edge \(\(1, 1\), \(1, 2\)\): weight must be finite; got inf"):
        gm.validate(g)
    g = nx.Graph()
    g.add_node("a", kind="gaussian", sigma=1.0)
    g.add_node("b", kind="gaussian", sigma=-2.0)
    with pytest.raises(ModelError, match=r"node 'b': sigma must be finite and > 0"):
        gm.validate(g)
