"""Feed-forward networks: backpropagation against finite differences, closed forms, the
optimiser against a hand-rolled sequence (G10), early stopping, the divergence guard, bad
input, and unrolling RBMs so that the first layer computes p(h | v) exactly (D1)."""

import numpy as np
import pytest

import graphmrf as gm
from graphmrf import feedforward as ff
from graphmrf.backend import to_host

# (output activation, loss): every pair the module defines
PAIRS = [
    ("sigmoid", "cross_entropy"),
    ("sigmoid", "squared_error"),
    ("softmax", "cross_entropy"),
    ("softmax", "squared_error"),
    ("linear", "squared_error"),
]


def _targets(rng, activation, loss, n, k, labels):
    if activation == "softmax" and labels:
        return rng.integers(0, k, size=n)
    if activation == "softmax" and loss == "cross_entropy":
        p = rng.random((n, k))
        return p / p.sum(axis=1, keepdims=True)
    if activation == "sigmoid" and loss == "cross_entropy":
        return rng.random((n, k))  # fractional targets in [0, 1]
    return rng.normal(size=(n, k))


@pytest.mark.parametrize(
    "activation,loss,labels",
    [p + (False,) for p in PAIRS] + [("softmax", "cross_entropy", True), ("softmax", "squared_error", True)],
)
def test_backpropagation_equals_central_differences(activation, loss, labels, backend):
    """Every parameter's derivative, through hidden layers of every activation (sigmoid,
    softmax, linear), matches central differences in float64 to 1e-6 relative; softmax
    outputs with class labels and with probability targets."""
    rng = np.random.default_rng(1)
    net = ff.Network(
        [4, 5, 4, 3, 3],
        ["sigmoid", "softmax", "linear", activation],
        loss=loss,
        backend=backend,
        dtype=np.float64,
        seed=2,
    )
    for v in net.params.values():  # biases away from zero, weights of order one
        v[...] = net.xp.asarray(rng.normal(0, 1, v.shape))
    X = rng.normal(size=(7, 4))
    Y = _targets(rng, activation, loss, 7, 3, labels)
    loss0, grad = net.gradient(X, Y)
    assert loss0 == pytest.approx(net.loss(X, Y), rel=1e-14)
    h = 1e-6
    for key, v in net.params.items():
        numeric = np.zeros(v.shape)
        flat = v.reshape(-1)
        for i in range(flat.size):
            old = float(flat[i])
            flat[i] = old + h
            up = net.loss(X, Y)
            flat[i] = old - h
            down = net.loss(X, Y)
            flat[i] = old
            numeric.reshape(-1)[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(to_host(grad[key]), numeric, rtol=1e-6, atol=1e-8, err_msg=key)


def test_losses_are_the_textbook_formulas_and_stay_finite_for_huge_logits():
    rng = np.random.default_rng(0)
    X, W = rng.normal(size=(6, 3)), rng.normal(size=(3, 4))
    z = X @ W
    for act, loss in PAIRS:
        net = ff.Network([3, 4], [act], loss=loss, dtype=np.float64, params={"h1.weight": W})
        T = _targets(rng, act, loss, 6, 4, False)
        y = {"sigmoid": 1 / (1 + np.exp(-z)), "linear": z, "softmax": np.exp(z) / np.exp(z).sum(1, keepdims=True)}[act]
        if loss == "squared_error":
            expected = 0.5 * ((y - T) ** 2).sum() / 6
        elif act == "sigmoid":
            expected = -(T * np.log(y) + (1 - T) * np.log(1 - y)).sum() / 6
        else:
            expected = -(T * np.log(y)).sum() / 6
        assert net.loss(X, T) == pytest.approx(expected, rel=1e-12), (act, loss)
    # logits of +-1000: log(sigmoid) and log(softmax) are exactly -1000 where they underflow
    big = ff.Network([1, 2], ["sigmoid"], dtype=np.float64, params={"h1.weight": [[1000.0, -1000.0]]})
    assert big.loss(np.ones((1, 1)), np.array([[0.0, 1.0]])) == pytest.approx(2000.0)
    soft = ff.Network([1, 2], ["softmax"], dtype=np.float64, params={"h1.weight": [[1000.0, -1000.0]]})
    assert soft.loss(np.ones((1, 1)), np.array([1])) == pytest.approx(2000.0)
    assert soft.loss(np.ones((1, 1)), np.array([0])) == pytest.approx(0.0, abs=1e-300)


def test_float32_in_float32_out():
    net = ff.Network([3, 4, 2], ["sigmoid", "softmax"], seed=0)
    X = np.random.default_rng(0).random((5, 3))  # float64 data
    assert net.forward(X).dtype == np.float32
    loss, grad = net.gradient(X, np.array([0, 1, 1, 0, 1]))
    assert all(g.dtype == np.float32 for g in grad.values()) and isinstance(loss, float)


@pytest.mark.parametrize("method", ["sgd", "cg"])
def test_linear_network_reaches_the_least_squares_solution(method):
    """Closed form: a linear layer with squared error (no weight decay) converges to
    numpy.linalg.lstsq's solution of [X 1] B = T."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3))
    T = X @ rng.normal(size=(3, 2)) + rng.normal(size=(1, 2)) + 0.3 * rng.normal(size=(50, 2))
    B, *_ = np.linalg.lstsq(np.hstack([X, np.ones((50, 1))]), T, rcond=None)
    net = ff.Network([3, 2], ["linear"], dtype=np.float64, seed=0)
    if method == "sgd":
        ff.fit(net, X, T, epochs=300, lr=0.3, momentum=0.5)
    else:
        ff.fit(net, X, T, epochs=5, method="cg", line_searches=20)
    np.testing.assert_allclose(net.params["h1.weight"], B[:3], atol=1e-8)
    np.testing.assert_allclose(net.params["h1.bias"], B[3], atol=1e-8)


def test_momentum_and_weight_decay_follow_the_hand_rolled_sequence():
    """G10: v <- mu v - lr (g + lambda w); w <- w + v, with the previous step carried and
    momentum not multiplied by the rate; biases not decayed. Four full-batch steps on the
    quadratic 1/2 mean (x w + b - t)^2, gradient written out by hand."""
    X = np.array([[1.0, 2.0], [0.5, -1.0], [-1.5, 0.3]])
    t = np.array([[1.0], [-2.0], [0.5]])
    w, b = np.array([[0.2], [-0.1]]), np.array([0.3])
    net = ff.Network([2, 1], ["linear"], dtype=np.float64, params={"h1.weight": w, "h1.bias": b})
    lr, mu, lam = 0.1, 0.9, 0.05
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for _ in range(4):
        r = X @ w + b - t
        gw, gb = X.T @ r / 3, r.mean(axis=0)
        vw = mu * vw - lr * (gw + lam * w)
        vb = mu * vb - lr * gb
        w, b = w + vw, b + vb
    ff.fit(net, X, t, epochs=4, lr=lr, momentum=mu, weight_decay=lam)
    np.testing.assert_allclose(net.params["h1.weight"], w, rtol=1e-13)
    np.testing.assert_allclose(net.params["h1.bias"], b, rtol=1e-13)


def test_a_schedule_gives_each_epoch_its_rate():
    """Two epochs with lr(1) = 0.5, lr(2) = 0.05 equal one call at 0.5 then one at 0.05."""
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 4)), rng.integers(0, 3, 30)
    a = ff.Network([4, 5, 3], ["sigmoid", "softmax"], dtype=np.float64, seed=1)
    b = ff.Network([4, 5, 3], ["sigmoid", "softmax"], dtype=np.float64, seed=1)
    ff.fit(a, X, y, epochs=2, lr=lambda epoch: 0.5 if epoch == 1 else 0.05, batch_size=10, seed=7)
    g = np.random.default_rng(7)
    ff.fit(b, X, y, epochs=1, lr=0.5, batch_size=10, seed=g)
    ff.fit(b, X, y, epochs=1, lr=0.05, batch_size=10, seed=g)
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])


def test_masking_noise_corrupts_each_steps_inputs_and_keeps_the_targets():
    """Denoising: one full-batch step of a linear autoencoder with masking 0.4 equals the
    step written out with the mask drawn from the same generator (the inputs X * mask, the
    targets the clean X); without masking no mask is drawn."""
    rng = np.random.default_rng(0)
    X = rng.random((6, 3))
    w, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    net = ff.Network([3, 3], ["linear"], dtype=np.float64, params={"h1.weight": w, "h1.bias": b})
    ff.fit(net, X, X, epochs=1, lr=0.1, masking=0.4, seed=5)
    keep = np.random.default_rng(5).random(X.shape, dtype=np.float32) >= 0.4
    assert 0 < keep.mean() < 1
    Xm = X * keep
    r = Xm @ w + b - X
    np.testing.assert_allclose(net.params["h1.weight"], w - 0.1 * Xm.T @ r / 6, rtol=1e-13)
    np.testing.assert_allclose(net.params["h1.bias"], b - 0.1 * r.mean(axis=0), rtol=1e-13)
    plain = ff.Network([3, 3], ["linear"], dtype=np.float64, params={"h1.weight": w, "h1.bias": b})
    ff.fit(plain, X, X, epochs=1, lr=0.1, seed=5)
    r = X @ w + b - X
    np.testing.assert_allclose(plain.params["h1.weight"], w - 0.1 * X.T @ r / 6, rtol=1e-13)
    with pytest.raises(ValueError, match=r"fit: masking must be a real in \[0.0, 1.0\); got 1.0"):
        ff.fit(net, X, X, masking=1.0)


def test_a_stopping_rule_ends_training_after_the_epoch_it_says():
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 4)), rng.integers(0, 3, 30)
    net = ff.Network([4, 5, 3], ["sigmoid", "softmax"], seed=1)
    hist = ff.fit(net, X, y, epochs=50, lr=0.1, stop_when=lambda network, h: len(h["loss"]) == 4)
    assert hist.stopped_epoch == 4 and hist["epoch"] == [1, 2, 3, 4]
    with pytest.raises(TypeError, match=r"fit: stop_when must be None or a function; got 3"):
        ff.fit(net, X, y, stop_when=3)


def _overfitting_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 10))
    y = (X[:, 0] + 0.8 * rng.normal(size=40) > 0).astype(int)  # noisy labels: easy to overfit
    Xv = rng.normal(size=(200, 10))
    yv = (Xv[:, 0] > 0).astype(int)
    return X, y, Xv, yv


def test_early_stopping_keeps_the_best_validation_parameters():
    X, y, Xv, yv = _overfitting_problem()
    net = ff.Network([10, 50, 2], ["sigmoid", "softmax"], dtype=np.float64, seed=0)
    hist = ff.fit(net, X, y, epochs=400, lr=1.0, momentum=0.9, validation=(Xv, yv), patience=30, seed=0)
    best = hist.best_epoch
    val = hist["validation_loss"]
    assert best < 300 and len(val) == best + 30  # it overfits, and stops 30 epochs after the best
    assert min(val) == val[best - 1] and val[-1] > val[best - 1]
    assert net.loss(Xv, yv) == pytest.approx(val[best - 1], rel=1e-12)
    # the kept parameters are exactly those of a run stopped at the best epoch
    again = ff.Network([10, 50, 2], ["sigmoid", "softmax"], dtype=np.float64, seed=0)
    ff.fit(again, X, y, epochs=best, lr=1.0, momentum=0.9, seed=0)
    for key in net.params:
        np.testing.assert_array_equal(net.params[key], again.params[key])
    assert 0 <= hist["validation_accuracy"][best - 1] <= 1


def test_a_stopping_rule_ends_training_and_the_best_parameters_stay():
    X, y, Xv, yv = _overfitting_problem()
    net = ff.Network([10, 50, 2], ["sigmoid", "softmax"], dtype=np.float64, seed=0)
    hist = ff.fit(
        net,
        X,
        y,
        epochs=400,
        lr=1.0,
        momentum=0.9,
        validation=(Xv, yv),
        seed=0,
        stop_when=lambda network, history: len(history["epoch"]) == 7,
    )
    assert hist.stopped_epoch == 7 and hist["epoch"] == list(range(1, 8))
    assert net.loss(Xv, yv) == pytest.approx(min(hist["validation_loss"]), rel=1e-12)
    with pytest.raises(TypeError, match=r"fit: stop_when must be None or a function; got 3"):
        ff.fit(net, X, y, stop_when=3)


def test_divergence_restores_the_last_good_epoch_and_names_the_epoch():
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 4)), rng.integers(0, 3, 30)
    net = ff.Network([4, 5, 3], ["sigmoid", "softmax"], seed=1)
    with pytest.raises(
        gm.DivergenceError, match=r"fit: epoch 3: .* non-finite; the parameters of epoch 2 were restored"
    ):
        ff.fit(net, X, y, epochs=5, lr=lambda e: 0.1 if e < 3 else 1e38, batch_size=10, seed=4)
    ref = ff.Network([4, 5, 3], ["sigmoid", "softmax"], seed=1)
    ff.fit(ref, X, y, epochs=2, lr=0.1, batch_size=10, seed=4)
    for key in net.params:
        np.testing.assert_array_equal(net.params[key], ref.params[key])
    # a linear regression at a too-large rate grows geometrically until it overflows
    lin = ff.Network([4, 1], ["linear"], seed=0)
    with pytest.raises(gm.DivergenceError, match=r"epoch \d+"):
        ff.fit(lin, 100 * X, y.astype(float), epochs=1000, lr=1.0)
    assert all(np.isfinite(v).all() for v in lin.params.values())


def test_bad_input_is_named():
    net = ff.Network([4, 5, 3], ["sigmoid", "softmax"], seed=1)
    X, y = np.ones((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match=r"fit: X has 3 columns; layer 'h1' takes 4"):
        ff.fit(net, X[:, :3], y)
    with pytest.raises(ValueError, match=r"Y as class labels must be integers in \[0, 3\) .*got 5 at row 2"):
        ff.fit(net, X, np.array([0, 1, 5, 0, 1, 2]))
    with pytest.raises(ValueError, match=r"Y as class labels must be integers .*non-integer"):
        net.gradient(X, y + 0.5)
    Xn = X.copy()
    Xn[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"fit: X has NaN or infinite entries \(the first at row 1, column 2\)"):
        ff.fit(net, Xn, y)
    with pytest.raises(ValueError, match=r"Y has 5 rows; X has 6"):
        ff.fit(net, X, y[:5])
    with pytest.raises(ValueError, match=r"fit: validation: X has 2 columns"):
        ff.fit(net, X, y, validation=(np.ones((3, 2)), y[:3]))
    with pytest.raises(ValueError, match=r"lr: the schedule gave -1 at epoch 1"):
        ff.fit(net, X, y, lr=lambda e: -1)
    with pytest.raises(ValueError, match=r"fit: lr must be .*; got 0.0"):
        ff.fit(net, X, y, lr=0.0)
    with pytest.raises(ValueError, match=r"fit: momentum must be a real in \[0.0, 1.0\); got 1.0"):
        ff.fit(net, X, y, momentum=1.0)
    with pytest.raises(ValueError, match=r"patience=3 needs validation"):
        ff.fit(net, X, y, patience=3)
    sig = ff.Network([4, 2], ["sigmoid"])
    with pytest.raises(ValueError, match=r"cross-entropy targets must be \[0, 1\]; got values in \[0.0, 2.0\]"):
        sig.loss(X, np.tile([[0.0, 2.0]], (6, 1)))
    with pytest.raises(ValueError, match=r"Y must have shape \(n, 2\) for layer 'h1'; got shape \(6, 3\)"):
        sig.loss(X, np.zeros((6, 3)))
    with pytest.raises(ValueError, match=r"loss 'cross_entropy' needs a sigmoid or softmax output"):
        ff.Network([4, 2], ["linear"], loss="cross_entropy")
    with pytest.raises(ValueError, match=r"params\['h1.weight'\] has shape \(2, 4\); expected \(4, 2\)"):
        ff.Network([4, 2], ["linear"], params={"h1.weight": np.zeros((2, 4))})
    with pytest.raises(ValueError, match=r"activations must be a list of names from 'sigmoid', 'linear', 'softmax'"):
        ff.Network([4, 2], ["relu"])
    with pytest.raises(ValueError, match=r"upto must be a layer name"):
        net.forward(X, upto="h7")


# -- unrolling (D1) -----------------------------------------------------------------------
def _random_rbm(n_v, n_h, visible, hidden, seed):
    """An RBM with every parameter away from its default (biases, scales, weights)."""
    rng = np.random.default_rng(seed)
    g = gm.rbm(
        n_v, n_h, visible=visible, hidden=hidden, seed=seed, scale=0.3 if "gaussian" not in (visible, hidden) else 0.1
    )
    for node, n in (("v", n_v), ("h", n_h)):
        g.nodes[node]["bias"] = rng.normal(0, 1, n)
        if g.nodes[node]["kind"] == "gaussian":
            g.nodes[node]["sigma"] = rng.uniform(0.5, 2.0, n)
    return gm.compile(g, dtype=np.float64)


def _conditional_mean(program, layer, given, values):
    """E[layer | given = values] from program.conditional (the compiled kernels)."""
    s = np.zeros((values.shape[0], program.n_columns))
    s[:, program.columns(given)] = values
    block = [i for i, b in enumerate(program.blocks) if b[0].layer.name == layer][0]
    c = program.conditional(s, block)[0]
    mean = 1 / (1 + np.exp(-c["logits"])) if "logits" in c else c["mean"]  # logits of the upper value
    return mean.reshape(values.shape[0], -1)


@pytest.mark.parametrize(
    "visible,hidden", [("binary", "binary"), ("gaussian", "binary"), ("binary", "gaussian"), ("gaussian", "gaussian")]
)
def test_unrolled_layers_compute_each_rbms_p_h_given_v(visible, hidden):
    """D1: layer i's activations are RBM i's p(h | v) (its mean for gaussian hidden
    units) on the layer below's activations; the autoencoder's decoder layers are the
    RBMs' E[v | h] with transposed weights and the visible biases."""
    rbms = [
        _random_rbm(7, 5, visible, hidden, 0),
        _random_rbm(5, 4, "binary" if hidden == "binary" else "gaussian", "binary", 1),
    ]
    rng = np.random.default_rng(2)
    X = rng.random((6, 7)) if visible == "binary" else rng.normal(size=(6, 7))
    net = ff.from_rbms(rbms, n_classes=3, seed=0)
    a = net.activations(X)
    np.testing.assert_allclose(a[0], _conditional_mean(rbms[0], "h", "v", X), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a[1], _conditional_mean(rbms[1], "h", "v", a[0]), rtol=1e-12, atol=1e-14)
    assert a[2].shape == (6, 3) and np.allclose(a[2].sum(axis=1), 1)
    auto = ff.autoencoder(rbms)
    h1, h2, r1, x = auto.activations(X)
    np.testing.assert_allclose(h1, a[0], rtol=1e-12)
    np.testing.assert_allclose(r1, _conditional_mean(rbms[1], "v", "h", h2), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x, _conditional_mean(rbms[0], "v", "h", r1), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(auto.forward(X, upto="h2"), h2)


def test_unrolling_starts_from_exactly_the_pretrained_float32_parameters():
    """Fine-tuning starts from the RBM's own float32 weights and biases (no rescaling for
    binary units) and its first activations match p(h | v) to float32 rounding."""
    X = gm.datasets.digits()[0][:50]
    prog = gm.compile(gm.rbm(64, 16, seed=0, data=X))
    gm.fit(prog, X, epochs=2, lr=0.05, rule="cd", batch_size=10, monitors=(), seed=0)
    net = ff.from_rbms([prog], n_classes=10, seed=0)
    assert net.dtype == np.float32
    np.testing.assert_array_equal(net.params["h1.weight"], prog.params["v~h.weight"])
    np.testing.assert_array_equal(net.params["h1.bias"], prog.params["h.bias"])
    np.testing.assert_allclose(
        net.activations(X)[0], _conditional_mean(prog, "h", "v", X.astype(np.float32)), rtol=2e-6, atol=1e-7
    )


def test_unrolling_refuses_what_it_cannot_unroll():
    with pytest.raises(ValueError, match=r"programs\[1\] has 4 visible units; programs\[0\] has 5 hidden units"):
        ff.from_rbms([_random_rbm(7, 5, "binary", "binary", 0), _random_rbm(4, 3, "binary", "binary", 1)])
    spin = gm.compile(gm.rbm(3, 2, hidden="spin", seed=0))
    with pytest.raises(ValueError, match=r"programs\[0\]: hidden units of kind 'spin' cannot be unrolled"):
        ff.from_rbms([spin])
    with pytest.raises(ValueError, match=r"programs\[0\]: expected an RBM with layers 'v' and 'h'"):
        ff.from_rbms([gm.compile(gm.dbm([3, 2, 2], seed=0))])
    soft = gm.compile(gm.rbm(3, 2, visible="softmax", categories=3, seed=0))
    assert ff.from_rbms([soft]).n_in == 9  # one-hot inputs feed the encoder
    with pytest.raises(ValueError, match=r"autoencoder: programs\[0\] has visible units of kind 'softmax'"):
        ff.autoencoder([soft])
    with pytest.raises(TypeError, match=r"programs must be a non-empty list"):
        ff.from_rbms([])
    with pytest.raises(ValueError, match=r"from_rbms: n_classes must be None or an integer >= 2; got 1"):
        ff.from_rbms([spin], n_classes=1)
    # regression: an uncompiled graph raised AttributeError ('Graph' object has no attribute 'layers')
    with pytest.raises(TypeError, match=r"from_rbms: programs\[0\] must be a compiled RBM .*; got Graph"):
        ff.from_rbms([gm.rbm(3, 2, seed=0)])


def test_names_and_non_numeric_data_get_clear_errors():
    """Regressions: a string of names was split into one-letter layer names; strings as data
    and a scalar target raised NumPy's "could not convert" and an IndexError."""
    with pytest.raises(TypeError, match=r"Network: names must be None or a list of layer names; got 'ab'"):
        ff.Network([2, 3, 2], ["sigmoid", "softmax"], names="ab")
    net = ff.Network([2, 2], ["sigmoid"], seed=0)
    with pytest.raises(TypeError, match=r"forward: X must be an array of real numbers; got dtype <U1"):
        net.forward([["a", "b"]])
    with pytest.raises(TypeError, match=r"loss: Y must be an array of real numbers; got dtype <U1"):
        net.loss(np.zeros((1, 2)), [["a", "b"]])
    with pytest.raises(ValueError, match=r"loss: Y must be an array with one row per row of X \(1\); got a scalar"):
        net.loss(np.zeros((1, 2)), 1)


def test_fine_tuning_a_pretrained_autoencoder_lowers_its_reconstruction_loss():
    """Hinton & Salakhutdinov's recipe in miniature: pretrain a 64-32-8 stack (linear code
    units), unroll, fine-tune by conjugate gradients on groups of 100 rows, 3 line searches
    each, ten passes: the cross-entropy above its floor (the targets' own entropy) falls by a fifth (0.72 here)."""
    X = gm.datasets.digits()[0][:300]
    with np.errstate(divide="ignore", invalid="ignore"):
        floor = -np.nansum(X * np.log(X) + (1 - X) * np.log(1 - X)) / X.shape[0]
    p1 = gm.compile(gm.rbm(64, 32, seed=0, data=X))
    gm.fit(p1, X, epochs=10, lr=0.1, momentum=0.5, rule="cd", batch_size=20, monitors=(), seed=0)
    p2 = gm.compile(gm.rbm(32, 8, hidden="gaussian", seed=1, scale=0.1))
    gm.fit(
        p2,
        ff.from_rbms([p1]).forward(X),
        epochs=10,
        lr=0.01,
        momentum=0.5,
        rule="cd",
        batch_size=20,
        monitors=(),
        seed=0,
    )
    net = ff.autoencoder([p1, p2])
    before = net.loss(X, X) - floor
    hist = ff.fit(net, X, X, epochs=10, method="cg", batch_size=100, line_searches=3, seed=0)
    assert net.loss(X, X) - floor < 0.8 * before and hist["loss"][-1] < hist["loss"][0]
    with pytest.raises(ValueError, match=r"momentum does not apply to method 'cg'; got momentum=0.5"):
        ff.fit(net, X, X, method="cg", momentum=0.5)


# -- the scikit-learn adapter ------------------------------------------------------------
sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from graphmrf.sklearn import FeedForwardClassifier  # noqa: E402


@parametrize_with_checks([FeedForwardClassifier(hidden_layer_sizes=(10,), max_iter=20, batch_size=20, random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_classifier_with_early_stopping_on_digits():
    import pickle

    X, y = gm.datasets.digits()
    clf = FeedForwardClassifier(
        hidden_layer_sizes=(64,),
        learning_rate=0.5,
        max_iter=200,
        batch_size=50,
        early_stopping=True,
        patience=5,
        random_state=0,
    )
    clf.fit(X[:1400], y[:1400])
    assert clf.n_iter_ < 200 and clf.history_.best_epoch == clf.n_iter_ - 5  # stopped early
    assert clf.score(X[1400:], y[1400:]) > 0.9
    P = clf.predict_proba(X[1400:])
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-12)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X[1400:]), P)
