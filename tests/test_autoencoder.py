"""Deep autoencoders: the pre-trained stack (kinds, sizes, the unit-variance code), fine-
tuning by conjugate gradients and by momentum below PCA with the same code size on
digits, the denoising option, the PCA baseline against scikit-learn, and bad input
refused by name."""

import numpy as np
import pytest

import graphmrf as gm
from graphmrf import autoencoder as ae
from graphmrf import feedforward as ff


@pytest.fixture(scope="module")
def digits():
    return gm.datasets.digits()


@pytest.fixture(scope="module")
def stack(digits):
    return ae.pretrain(digits[0], [64, 32, 8], epochs=5, batch_size=20, code_lr=0.01, seed=0)


def test_the_stack_has_the_sizes_and_the_linear_unit_variance_code(stack):
    assert [(r.layer_of("v").n, r.layer_of("h").n) for r in stack] == [(64, 32), (32, 8)]
    assert [r.layer_of("h").kind.name for r in stack] == ["binary", "gaussian"]
    np.testing.assert_array_equal(stack[1].params["h.log_sigma"], 0)  # sigma = 1, held
    assert np.abs(stack[1].params["v~h.weight"]).max() > 0.05  # the code RBM learned (from N(0, 1e-4))
    net = ff.autoencoder(stack)
    assert [L.activation for L in net.layers] == ["sigmoid", "linear", "sigmoid", "sigmoid"]


def test_a_binary_code_and_gaussian_visible_units():
    X = np.random.default_rng(0).normal(size=(200, 10))
    rbms = ae.pretrain(X, [10, 6, 4], visible="gaussian", code="binary", epochs=2, lr=0.01, batch_size=20, seed=0)
    assert [r.layer_of("v").kind.name for r in rbms] == ["gaussian", "binary"]
    assert rbms[1].layer_of("h").kind.name == "binary"
    np.testing.assert_array_equal(rbms[0].params["v.log_sigma"], 0)
    net = ff.autoencoder(rbms)
    assert net.layers[-1].activation == "linear" and net.loss_function == "squared_error"


@pytest.mark.parametrize("method, batch_size, epochs", [("cg", 100, 20), ("sgd", 20, 10)])
def test_fine_tuning_beats_pca_with_the_same_code_size(digits, stack, method, batch_size, epochs):
    """Digits, 8-unit code: the unrolled stack reconstructs worse than 8-component PCA
    (4.7 against 1.53 squared error per image here); fine-tuning brings it below PCA
    (1.38 by conjugate gradients, 3 line searches on groups of 100, 20 passes; 1.21 by
    momentum, 10 epochs)."""
    X = digits[0]
    net = ff.autoencoder(stack)
    pca = ae.squared_error(ae.pca_reconstruction(X, X, 8), X)
    before = ae.reconstruction_error(net, X)
    hist = ae.fine_tune(net, X, method=method, epochs=epochs, batch_size=batch_size, lr=0.1, seed=0)
    after = ae.reconstruction_error(net, X)
    assert before > 2 * pca and after < pca
    assert hist["loss"][-1] < hist["loss"][0]
    assert after == pytest.approx(ae.squared_error(ae.reconstruct(net, X), X), rel=1e-12)
    assert ae.encode(net, X).shape == (X.shape[0], 8)


def test_denoising_reconstructs_masked_inputs_better(digits, stack):
    """Fine-tuned with masking noise 0.3, the network rebuilds the clean digits from inputs
    with 30% of their pixels zeroed better than the one fine-tuned on clean inputs."""
    X = digits[0]
    plain, noisy = ff.autoencoder(stack), ff.autoencoder(stack)
    ae.fine_tune(plain, X, method="sgd", epochs=10, batch_size=20, lr=0.1, seed=0)
    ae.fine_tune(noisy, X, method="sgd", epochs=10, batch_size=20, lr=0.1, masking=0.3, seed=0)
    masked = X * (np.random.default_rng(1).random(X.shape) >= 0.3)
    err = {name: ae.squared_error(ae.reconstruct(net, masked), X) for name, net in (("plain", plain), ("noisy", noisy))}
    assert err["noisy"] < 0.9 * err["plain"]


def test_pca_reconstruction_equals_scikit_learns():
    sklearn = pytest.importorskip("sklearn.decomposition")
    X = gm.datasets.digits()[0]
    train, test = X[:1000], X[1000:]
    p = sklearn.PCA(n_components=10).fit(train)
    np.testing.assert_allclose(
        ae.pca_reconstruction(train, test, 10), p.inverse_transform(p.transform(test)), atol=1e-9
    )
    np.testing.assert_allclose(ae.pca_reconstruction(train, test, 64), test, atol=1e-9)


def test_bad_input_is_refused_by_name(digits, stack):
    X = digits[0]
    with pytest.raises(ValueError, match=r"pretrain: X has 64 columns; expected 60 \(the input layer's width\)"):
        ae.pretrain(X, [60, 10])
    with pytest.raises(ValueError, match=r"pretrain: code must be one of 'linear', 'binary'; got 'softmax'"):
        ae.pretrain(X, [64, 10], code="softmax")
    with pytest.raises(ValueError, match=r"pretrain: sizes must be a sequence of at least 2 items"):
        ae.pretrain(X, [64])
    with pytest.raises(
        ValueError, match=r"pretrain: binary visible units take values in \[0, 1\]; X has values in \[0.0, 16.0\]"
    ):
        ae.pretrain(16 * X, [64, 10])
    with pytest.raises(ValueError, match=r"fine_tune: network maps 64 inputs to 10 outputs; an autoencoder"):
        ae.fine_tune(ff.from_rbms(stack[:1], n_classes=10), X)
    with pytest.raises(ValueError, match=r"fine_tune: X has 63 columns; expected 64"):
        ae.fine_tune(ff.autoencoder(stack), X[:, 1:])
    with pytest.raises(ValueError, match=r"fine_tune: masking must be a real in \[0.0, 1.0\); got 1.5"):
        ae.fine_tune(ff.autoencoder(stack), X, masking=1.5)
    with pytest.raises(ValueError, match=r"pca_reconstruction: n_components must be at most 64"):
        ae.pca_reconstruction(X, X, 65)
    with pytest.raises(ValueError, match=r"plot_code_map: codes must have shape \(examples, 2\); got \(5, 3\)"):
        ae.plot_code_map(np.zeros((5, 3)), np.zeros(5))


def test_a_diverging_fine_tuning_keeps_the_last_good_parameters(digits, stack):
    X = digits[0][:200]
    net = ff.autoencoder(stack)
    ae.fine_tune(net, X, method="sgd", epochs=1, batch_size=20, lr=0.1, seed=0)
    good = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(gm.DivergenceError, match=r"fine_tune|fit: epoch 2: .* non-finite; the parameters of epoch 1"):
        ae.fine_tune(
            net,
            X,
            method="sgd",
            epochs=3,
            batch_size=20,
            lr=lambda e: 0.1 if e < 2 else 1e38,
            seed=0,
            callbacks=[lambda n, h: good.update({k: v.copy() for k, v in n.params.items()})],
        )
    for key, v in net.params.items():
        np.testing.assert_array_equal(v, good[key])


def test_the_figures_draw(digits, stack, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    X, y = digits
    net = ff.autoencoder(stack)
    fig = ae.plot_reconstructions(
        X[:6],
        {"autoencoder": ae.reconstruct(net, X[:6]), "PCA": ae.pca_reconstruction(X, X[:6], 8)},
        (8, 8),
        labels=y[:6],
    )
    assert len(fig.axes) == 18
    ax = ae.plot_code_map(ae.encode(net, X)[:, :2], y)
    assert len(ax.collections) == 10


def test_bad_arguments_of_the_helpers_get_clear_errors():
    """Regressions: these raised raw NumPy/Python errors (a zero chunk: ``range() arg 3``;
    a label count that differs from the codes': a boolean index error; a reconstruction
    set shorter than the originals: an IndexError; strings: "could not convert")."""
    rbms = [gm.compile(gm.rbm(6, 4, seed=0)), gm.compile(gm.rbm(4, 2, hidden="gaussian", seed=1))]
    net, X = ff.autoencoder(rbms), np.random.default_rng(0).random((5, 6))
    for f in (ae.encode, ae.reconstruct, ae.reconstruction_error):
        with pytest.raises(ValueError, match=rf"{f.__name__}: chunk must be an integer >= 1; got 0"):
            f(net, X, chunk=0)
        with pytest.raises(TypeError, match=rf"{f.__name__}: chunk must be an integer >= 1; got 2.5"):
            f(net, X, chunk=2.5)
    np.testing.assert_allclose(ae.encode(net, X, chunk=2), ae.encode(net, X), rtol=1e-5)  # float32
    with pytest.raises(TypeError, match=r"squared_error: reconstructions must be an array of real numbers; got dtype"):
        ae.squared_error([["a"]], [[1.0]])
    with pytest.raises(ValueError, match=r"squared_error: X has no rows"):
        ae.squared_error(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match=r"pca_reconstruction: train must be a 2-d array \(examples, features\)"):
        ae.pca_reconstruction(np.zeros(5), np.zeros((2, 5)), 1)


def test_the_figures_refuse_mismatched_inputs_and_draw_into_a_given_subplot():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X = np.random.default_rng(0).random((5, 6))
    with pytest.raises(ValueError, match=r"plot_code_map: labels must have shape \(5,\) \(one per row of codes\)"):
        ae.plot_code_map(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match=r"plot_reconstructions: reconstructions 'reconstruction' have shape \(3, 6\)"):
        ae.plot_reconstructions(X, X[:3], (2, 3))
    with pytest.raises(ValueError, match=r"plot_reconstructions: originals must have shape \(examples, 4\)"):
        ae.plot_reconstructions(X, X, (2, 2))
    with pytest.raises(ValueError, match=r"plot_reconstructions: labels has 2 entries; expected one per example \(5\)"):
        ae.plot_reconstructions(X, X, (2, 3), labels=[0, 1])
    # ax was accepted and ignored: the grid now fills the given subplot, next to the other one
    fig, (left, right) = plt.subplots(1, 2)
    out = ae.plot_reconstructions(X, {"a": X, "b": X}, (2, 3), ax=left)
    assert out is fig and len(fig.axes) == 1 + 15 and right in fig.axes and left not in fig.axes
    x1 = left.get_position().x1
    assert all(a.get_position().x1 <= x1 + 1e-9 for a in fig.axes if a is not right)
    plt.close(fig)
