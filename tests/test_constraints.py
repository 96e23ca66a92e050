"""Constrained learning rules: tied copies stay equal and get the mean of their gradients;
frozen parameters keep their values; bad rules, keys and sizes are refused by name."""

import numpy as np
import pytest

import graphmrf as gm
from graphmrf.constraints import frozen, tied


def _doubled(n_v=4, n_h=3, layer="v", seed=0):
    g = gm.rbm(2 * n_v if layer == "v" else n_v, 2 * n_h if layer == "h" else n_h, seed=seed, scale=0.5)
    W = g.edges["v", "h"]["weight"]
    if layer == "v":
        W[n_v:] = W[:n_v]
    else:
        W[:, n_h:] = W[:, :n_h]
    return gm.compile(g, dtype=np.float64, seed=seed)


@pytest.mark.parametrize("layer", ["v", "h"])
def test_the_tied_gradient_is_the_mean_of_the_copies_gradients(layer):
    prog = _doubled(layer=layer)
    X = np.random.default_rng(0).integers(0, 2, (12, prog.visible_columns.size)).astype(float)
    if layer == "v":
        X[:, 4:] = X[:, :4]
    plain, _ = gm.learn.contrastive_divergence(prog, X, np.random.default_rng(1))
    chains = prog.random_state(5, seed=2)
    grad, out = tied("cd", layer)(
        prog,
        X,
        np.random.default_rng(1),
        chains=chains,
        k=1,
        mean_field=None,
        positive_sweeps=1,
        workspace=None,
        out=None,
        scale=1.0,
    )
    assert out is chains  # CD leaves the chains fit hands it untouched
    W, Wt = plain["v~h.weight"], grad["v~h.weight"]
    if layer == "v":
        np.testing.assert_allclose(Wt[:4], (W[:4] + W[4:]) / 2, rtol=1e-13)
        np.testing.assert_array_equal(Wt[:4], Wt[4:])
        b, bt = plain["v.bias"], grad["v.bias"]
        np.testing.assert_allclose(bt, np.tile((b[:4] + b[4:]) / 2, 2), rtol=1e-13)
        np.testing.assert_array_equal(grad["h.bias"], plain["h.bias"])
    else:
        np.testing.assert_allclose(Wt[:, :3], (W[:, :3] + W[:, 3:]) / 2, rtol=1e-13)
        np.testing.assert_array_equal(Wt[:, :3], Wt[:, 3:])
        np.testing.assert_array_equal(grad["v.bias"], plain["v.bias"])


@pytest.mark.parametrize("rule", ["cd", "pcd"])
def test_tied_copies_stay_equal_through_fit_with_momentum_and_decay(rule):
    prog = _doubled(layer="h")
    X = gm.datasets.bars_and_stripes(2)
    gm.fit(
        prog,
        X,
        rule=tied(rule, "h"),
        epochs=20,
        lr=0.2,
        momentum=0.5,
        weight_decay=0.01,
        batch_size=3,
        chains=7,
        monitors=(),
        seed=0,
    )
    W = prog.params["v~h.weight"]
    np.testing.assert_array_equal(W[:, :3], W[:, 3:])
    np.testing.assert_array_equal(prog.params["h.bias"][:3], prog.params["h.bias"][3:])
    assert np.abs(W).max() > 0.6  # it learned (started at N(0, 0.25))


def test_frozen_parameters_keep_their_values_and_the_rest_learn():
    g = gm.rbm(4, 3, visible="gaussian", hidden="gaussian", seed=0, sigma=0.7)
    prog = gm.compile(g, seed=0)
    before = {k: v.copy() for k, v in prog.params.items()}
    X = np.random.default_rng(0).normal(size=(30, 4))
    gm.fit(
        prog, X, rule=frozen("cd", ("v.log_sigma", "h.log_sigma")), epochs=5, lr=0.01, momentum=0.5, monitors=(), seed=0
    )
    for key in ("v.log_sigma", "h.log_sigma"):
        np.testing.assert_array_equal(prog.params[key], before[key])
    assert not np.array_equal(prog.params["v~h.weight"], before["v~h.weight"])


def test_bad_rules_keys_and_sizes_are_refused_by_name():
    with pytest.raises(ValueError, match=r"tied: rule must be 'cd', 'pcd' or a function; got 'cdd'"):
        tied("cdd", "v")
    with pytest.raises(ValueError, match=r"tied: layer must be one of 'v', 'h'; got 'h1'"):
        tied("cd", "h1")
    with pytest.raises(TypeError, match=r"frozen: keys must be a list of parameter names; got 'h.bias'"):
        frozen("cd", "h.bias")
    prog = gm.compile(gm.rbm(5, 2, seed=0))
    X = np.zeros((2, 5))
    with pytest.raises(gm.ModelError, match=r"tied: layer 'v' has 5 units, not a multiple of 2 copies"):
        gm.fit(prog, X, rule=tied("cd", "v"), epochs=1, monitors=())
    with pytest.raises(ValueError, match=r"frozen: keys \['h.sigma'\] are not parameters of the model"):
        gm.fit(prog, X, rule=frozen("cd", ["h.sigma"]), epochs=1, monitors=())
