"""Ratings: the MovieLens-100k loader, the ratings matrix, and exact predictions of absent
softmax units (the collaborative-filtering RBM) against brute-force enumeration."""

import importlib.util
import itertools

import numpy as np
import pytest

import graphmrf as gm


def _softmax_rbm(n_items=4, n_hidden=3, K=3, seed=0):
    prog = gm.compile(
        gm.rbm(n_items, n_hidden, visible="softmax", categories=K, seed=seed, scale=1.0), dtype=np.float64
    )
    rng = np.random.default_rng(seed + 10)
    prog.params["v.bias"][...] = rng.normal(0, 1, prog.params["v.bias"].shape)
    prog.params["h.bias"][...] = rng.normal(0, 1, prog.params["h.bias"].shape)
    return prog


def _brute_force(prog, observed, unit, K, n_hidden):
    """p(v_unit = k | observed) in the RBM over the observed units and ``unit`` only,
    by enumerating every hidden state."""
    W = prog.params["v~h.weight"]
    b, c = prog.params["v.bias"], prog.params["h.bias"]
    weights = np.zeros(K)
    for k in range(K):
        units = dict(observed)
        units[unit] = k
        for h in itertools.product((0, 1), repeat=n_hidden):
            h = np.array(h, dtype=float)
            e = c @ h
            for u, r in units.items():
                e += b[u * K + r] + W[u * K + r] @ h
            weights[k] += np.exp(e)
    return weights / weights.sum()


def test_predict_absent_is_the_exact_conditional_of_the_rows_own_rbm():
    K, n_items, n_hidden = 3, 4, 3
    prog = _softmax_rbm(n_items, n_hidden, K)
    # row 0 observed items 0 (rating 3) and 2 (rating 1); row 1 observed item 3 (rating 2)
    X = gm.datasets.ratings_matrix(
        np.array([0, 0, 1]), np.array([0, 2, 3]), np.array([3, 1, 2]), n_items=n_items, categories=K
    )
    pairs = [(0, 1), (0, 3), (1, 0), (1, 2)]
    p = gm.predict_absent(prog, X, np.array([r for r, _ in pairs]), np.array([u for _, u in pairs]))
    obs = {0: {0: 2, 2: 0}, 1: {3: 1}}
    for row, (r, u) in enumerate(pairs):
        np.testing.assert_allclose(p[row], _brute_force(prog, obs[r], u, K, n_hidden), rtol=1e-10)


def test_a_units_own_entry_never_influences_its_prediction():
    prog = _softmax_rbm()
    X = gm.datasets.ratings_matrix(np.array([0, 0]), np.array([0, 2]), np.array([3, 1]), n_items=4, categories=3)
    a = gm.predict_absent(prog, X, np.array([0]), np.array([0]))  # item 0 is observed: its value is ignored
    X2 = X.copy()
    X2[0, 0:3] = np.nan
    b = gm.predict_absent(prog, X2, np.array([0]), np.array([0]))
    X3 = X.copy()
    X3[0, 0:3] = [1, 0, 0]
    c = gm.predict_absent(prog, X3, np.array([0]), np.array([0]))
    np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(c, b, rtol=1e-12)


def test_predict_absent_refuses_models_it_cannot_sum():
    with pytest.raises(gm.ModelError, match="one visible layer"):
        gm.predict_absent(gm.compile(gm.dbm([4, 3, 2], seed=0)), np.zeros((1, 4)), np.array([0]), np.array([0]))
    with pytest.raises(gm.ModelError, match="discrete visible units"):
        gm.predict_absent(
            gm.compile(gm.rbm(3, 2, visible="gaussian", seed=0)), np.zeros((1, 3)), np.array([0]), np.array([0])
        )
    with pytest.raises(ValueError, match="units in"):
        gm.predict_absent(_softmax_rbm(), np.full((1, 12), np.nan), np.array([0]), np.array([4]))
    with pytest.raises(
        ValueError,
        match=r"X: column 0 \(node 'v', unit 0\) holds \[0., 0., 0.\] in row 0; softmax units take one-hot rows",
    ):
        gm.predict_absent(_softmax_rbm(), np.zeros((1, 12)), np.array([0]), np.array([0]))


def test_ratings_matrix_checks_its_input():
    with pytest.raises(ValueError, match="ratings must lie in 1..5"):
        gm.datasets.ratings_matrix(np.array([0]), np.array([0]), np.array([6]))
    with pytest.raises(ValueError, match="one length"):
        gm.datasets.ratings_matrix(np.array([0, 1]), np.array([0]), np.array([1]))


def test_softmax_biases_from_data_with_missing_units_use_the_observed_ratings():
    X = gm.datasets.ratings_matrix(
        np.array([0, 1, 2]), np.array([0, 0, 0]), np.array([1, 1, 2]), n_items=2, categories=2
    )
    g = gm.rbm(2, 3, visible="softmax", categories=2, data=X, seed=0)
    np.testing.assert_allclose(np.ravel(g.nodes["v"]["bias"]), np.log([2 / 3, 1 / 3, 0.5, 0.5]))


has_recbole = importlib.util.find_spec("recbole") is not None


@pytest.mark.skipif(has_recbole, reason="recbole is installed")
def test_movielens_without_its_wheel_names_the_install_command():
    with pytest.raises(ImportError, match=r"pip install --no-deps recbole==1\.2\.1"):
        gm.datasets.movielens100k()


@pytest.mark.skipif(not has_recbole, reason="needs: pip install --no-deps recbole==1.2.1")
def test_movielens_loads_the_published_counts():
    user, item, rating = gm.datasets.movielens100k()
    assert user.size == 100000 and user.max() + 1 == 943 and item.max() + 1 == 1682
    # the rating histogram of MovieLens-100k (GroupLens README): 1..5 stars
    assert np.bincount(rating, minlength=6)[1:].tolist() == [6110, 11370, 27145, 34174, 21201]
    assert len(set(zip(user.tolist(), item.tolist()))) == 100000  # one rating per user and item
