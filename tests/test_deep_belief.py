"""Deep belief nets: greedy layer-wise training by fit, the variational bound (enumerated),
generation, the label layer, up-down fine-tuning, the unrolled DBN-DNN, and bad input."""

import itertools

import numpy as np
import pytest
from scipy.special import expit, logsumexp, softmax

import graphmrf as gm
from graphmrf import deep_belief as db
from graphmrf import exact
from graphmrf import feedforward as ff
from graphmrf.verify import chi_square

DATA = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 1, 0]], dtype=float)


def bits(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=float)


def randomise(dbn, seed, scale=1.0):
    """Random parameters (generative and recognition) for a tiny DBN, in place."""
    rng = np.random.default_rng(seed)
    for table in (dbn.params, dbn.recognition_params):
        for v in table.values():
            v[...] = rng.normal(0, scale, size=v.shape)
    return dbn


def trained_rbm(n_hidden=3, epochs=60):
    rbm = gm.compile(gm.rbm(4, n_hidden, seed=0, scale=0.5), dtype=np.float64)
    gm.fit(rbm, DATA, epochs=epochs, lr=0.5, rule="exact", monitors=())
    return rbm


# --------------------------------------------------------------------------- greedy training
def test_greedy_is_fit_layer_by_layer_on_the_hidden_probabilities():
    """greedy equals the composition written out: an RBM trained by fit, its p(h|v) the
    next RBM's data, one generator for every draw."""
    X = gm.datasets.bars_and_stripes(3)
    options = dict(epochs=3, lr=0.1, rule="cd", k=2, batch_size=5, momentum=0.5, monitors=("reconstruction_error",))
    result = db.greedy(X, [9, 6, 4], seed=7, dtype=np.float64, **options)
    rng = np.random.default_rng(7)
    first = gm.compile(gm.rbm(9, 6, seed=rng, data=X), dtype=np.float64, seed=rng)
    h1 = gm.fit(first, X, seed=rng, **options)
    P = db.hidden_probabilities(first, X)
    second = gm.compile(gm.rbm(6, 4, seed=rng, data=P), dtype=np.float64, seed=rng)
    h2 = gm.fit(second, P, seed=rng, **options)
    for mine, theirs in zip(result.rbms, (first, second)):
        for key in theirs.params:
            np.testing.assert_array_equal(mine.params[key], theirs.params[key])
    assert result.histories[0]["reconstruction_error"] == h1["reconstruction_error"]
    assert result.histories[1]["reconstruction_error"] == h2["reconstruction_error"]
    np.testing.assert_allclose(P, expit(X @ first.get(("v", "h"), "weight") + first.get("h", "bias")), rtol=1e-12)
    # the DBN: recognition = the RBMs' up-weights, generative = their transposes, top RBM undirected
    dbn = result.dbn
    np.testing.assert_array_equal(dbn.recognition_params["v=>h1.weight"], first.params["v~h.weight"])
    np.testing.assert_array_equal(dbn.recognition_params["v=>h1.bias"], first.params["h.bias"])
    np.testing.assert_array_equal(dbn.params["h1->v.weight"], first.params["v~h.weight"].T)
    np.testing.assert_array_equal(dbn.params["v.bias"], first.params["v.bias"])
    np.testing.assert_array_equal(dbn.params["h1.bias"], second.params["v.bias"])
    np.testing.assert_array_equal(dbn.params["h1~h2.weight"], second.params["v~h.weight"])


def test_sampled_inputs_feed_the_next_layer_binary_states():
    X = gm.datasets.bars_and_stripes(3)
    seen = {}

    def record(layer):
        def values(program, data):
            seen[layer] = np.unique(np.asarray(data))
            return 0.0

        return values

    for inputs in ("probabilities", "samples"):
        db.greedy(
            X,
            [9, 6, 4],
            inputs=inputs,
            epochs=1,
            seed=0,
            per_layer=[{"monitors": [record(1)]}, {"monitors": [record(2)]}],
        )
        assert set(seen[1]) == {0.0, 1.0}
        assert (set(seen[2]) == {0.0, 1.0}) == (inputs == "samples")


def test_a_layer_started_as_the_transpose_of_the_one_below():
    X = DATA
    start = {}

    def capture(program, data):
        start.setdefault("params", {k: v.copy() for k, v in program.params.items()})
        return 0.0

    result = db.greedy(
        X,
        [4, 3, 4],
        init="transpose",
        dtype=np.float64,
        lr=0.5,
        seed=0,
        per_layer=[{"epochs": 20, "monitors": ()}, {"epochs": 1, "monitors": [capture]}],
    )
    flipped = db.transpose(result.rbms[0])
    for key, v in flipped.params.items():
        np.testing.assert_array_equal(start["params"][key], v)
    with pytest.raises(ValueError, match=r"init='transpose' .* needs sizes\[2\] == sizes\[0\]; got 5 and 4"):
        db.greedy(X, [4, 3, 5], init="transpose", epochs=1, monitors=())


def test_checkpoints_resume_an_interrupted_run_to_the_same_dbn(tmp_path):
    X = gm.datasets.bars_and_stripes(3)
    pattern = str(tmp_path / "layer{layer}.npz")
    options = dict(epochs=2, lr=0.1, rule="pcd", chains=10, inputs="samples", monitors=(), seed=3, dtype=np.float64)
    whole = db.greedy(X, [9, 5, 4, 3], checkpoint=pattern, **options)
    (tmp_path / "layer3.npz").unlink()  # as if the run stopped after layer 2
    resumed = db.greedy(X, [9, 5, 4, 3], checkpoint=pattern, **options)
    assert [getattr(h, "checkpoint", None) for h in resumed.histories] == [
        pattern.format(layer=1),
        pattern.format(layer=2),
        None,
    ]
    for key, v in whole.dbn.params.items():
        np.testing.assert_array_equal(resumed.dbn.params[key], v)
    for key, v in whole.dbn.recognition_params.items():
        np.testing.assert_array_equal(resumed.dbn.recognition_params[key], v)


def test_held_out_rows_go_up_the_stack_with_the_training_rows():
    X, y = gm.datasets.digits(binarize="threshold")
    result = db.greedy(
        X[:200],
        [64, 20, 10],
        labels=y[:200],
        n_labels=10,
        validation=(X[200:300], y[200:300]),
        epochs=2,
        monitors=("free_energy_gap",),
        seed=0,
        dtype=np.float64,
    )
    gaps = [h["free_energy_gap"] for h in result.histories]
    assert [len(g) for g in gaps] == [3, 3] and all(np.isfinite(g).all() for g in gaps)
    # the top layer's gap is that of the held-out rows passed up, with their labels
    P = db.hidden_probabilities(result.rbms[0], X[200:300])
    Ptr = db.hidden_probabilities(result.rbms[0], X[:200])
    top = result.rbms[1]
    f_val = top.free_energy(np.hstack([P, np.eye(10)[y[200:300]]])).mean()
    f_tr = top.free_energy(np.hstack([Ptr[:100], np.eye(10)[y[:100]]])).mean()
    assert gaps[1][-1] == pytest.approx(f_val - f_tr, rel=1e-9)
    with pytest.raises(ValueError, match=r"greedy: validation has 3 columns; layer 'v' has 64 units"):
        db.greedy(X[:50], [64, 5], validation=np.ones((4, 3)))


def test_each_layer_gets_its_own_stopping_rule():
    X = gm.datasets.bars_and_stripes(3)
    rule = gm.monitors.Threshold("weight_norm", above=0.0)  # stops every layer after its first epoch
    stop = gm.monitors.EarlyStopping("weight_norm", patience=1, mode="min")
    result = db.greedy(X, [9, 6, 4], epochs=10, lr=0.1, monitors=("weight_norm",), stop_when=rule, seed=0)
    assert [h.stopped_epoch for h in result.histories] == [1, 1]
    result = db.greedy(X, [9, 6, 4], epochs=10, lr=0.1, monitors=("weight_norm",), stop_when=stop, seed=0)
    assert [h.stopped_epoch for h in result.histories] == [
        2,
        2,
    ] and stop.best is None  # copies, the given one untouched


# --------------------------------------------------------------------------- the variational bound
def bound_by_hand(dbn, X):
    """The bound of a v-h1-h2 DBN written out with NumPy (the oracle)."""
    G, bv = dbn.get(("h1", "v"), "weight"), dbn.get("v", "bias")
    W, b1, c = dbn.get(("h1", "h2"), "weight"), dbn.get("h1", "bias"), dbn.get("h2", "bias")
    R, r = dbn.recognition_params["v=>h1.weight"], dbn.recognition_params["v=>h1.bias"]
    H = bits(G.shape[0])
    log_ph = H @ b1 + np.logaddexp(0, H @ W + c).sum(axis=1)
    log_ph -= logsumexp(log_ph)
    out = []
    for v in X:
        x = H @ G + bv
        log_pv = (v * -np.logaddexp(0, -x) + (1 - v) * -np.logaddexp(0, x)).sum(axis=1)
        y = v @ R + r
        log_q = (H * -np.logaddexp(0, -y) + (1 - H) * -np.logaddexp(0, y)).sum(axis=1)
        out.append(np.sum(np.exp(log_q) * (log_ph + log_pv - log_q)))
    return np.array(out)


def test_the_bound_is_the_enumerated_sum_and_lies_below_log_p():
    dbn = randomise(gm.compile(gm.dbn([4, 3, 3], recognition=True, seed=0), dtype=np.float64), seed=1)
    bound = db.log_likelihood_bound(dbn, DATA, reduce="none")
    np.testing.assert_allclose(bound, bound_by_hand(dbn, DATA), rtol=1e-10)
    log_p = exact.log_likelihood(dbn, DATA, reduce="none")
    assert np.all(bound < log_p) and np.all(log_p - bound > 1e-3)  # a random recognition model is not the posterior


def test_a_layer_started_as_the_transposed_rbm_makes_the_bound_the_rbms_log_likelihood():
    rbm = trained_rbm()
    dbn = db.stack([rbm, db.transpose(rbm)])
    ll = exact.log_likelihood(rbm, DATA, reduce="none")
    np.testing.assert_allclose(db.log_likelihood_bound(dbn, DATA, reduce="none"), ll, rtol=0, atol=1e-10)
    np.testing.assert_allclose(exact.log_likelihood(dbn, DATA, reduce="none"), ll, rtol=0, atol=1e-10)


def test_training_the_new_layer_never_lowers_the_bound():
    """Hinton, Osindero & Teh (2006): with the first layer frozen, gradient ascent of the top
    RBM's log-likelihood of the aggregated posterior raises the bound at every step (exact
    gradient, every quantity enumerated), and the bound stays below the true log p(v). The
    first layer here has random weights, far from the data's: much for the top to gain."""
    rbm = gm.compile(gm.rbm(4, 3, seed=2, scale=2.0), dtype=np.float64)
    top = db.transpose(rbm)
    H = bits(3)
    P = db.hidden_probabilities(rbm, DATA)
    q_bar = np.mean([np.prod(np.where(H == 1, p, 1 - p), axis=1) for p in P], axis=0)  # aggregated posterior

    def aggregated_posterior_gradient(program, batch, rng, *, chains=None, scale=1.0, **_):
        grads = [exact.log_likelihood_grad(program, h[None]) for h in H]
        return {key: scale * sum(w * g[key] for w, g in zip(q_bar, grads)) for key in grads[0]}, chains

    bounds, truth = [], []

    def measure(program, history):
        dbn = db.stack([rbm, program])
        bounds.append(db.log_likelihood_bound(dbn, DATA))
        truth.append(exact.log_likelihood(dbn, DATA))

    measure(top, None)
    gm.fit(top, H, epochs=40, lr=0.5, rule=aggregated_posterior_gradient, monitors=(), callbacks=[measure])
    bounds, truth = np.array(bounds), np.array(truth)
    assert bounds[0] == pytest.approx(exact.log_likelihood(rbm, DATA), abs=1e-10)
    assert np.all(np.diff(bounds) >= -1e-12)
    assert bounds[-1] - bounds[0] > 0.4
    assert np.all(bounds <= truth + 1e-10) and truth[-1] > truth[0]


def test_the_bound_refuses_large_nets():
    dbn = gm.compile(gm.dbn([4, 12, 12], recognition=True, seed=0))
    with pytest.raises(gm.EnumerationTooLargeError, match=r"16777216 joint states .* exceed max_states=65536"):
        db.log_likelihood_bound(dbn, DATA)


# --------------------------------------------------------------------------- generation
def labelled_dbn(seed=0):
    g = gm.dbn([3, 2, 2], recognition=True, seed=seed, scale=1.0)
    g.add_node("labels", kind="softmax", size=1, categories=3, visible=True, bias=0.0)
    g.add_edge("labels", "h2", weight=np.zeros((3, 2)), undirected=True)
    return randomise(gm.compile(g, dtype=np.float64), seed)


def visible_marginal(dbn, clamp_label=None):
    """Exact p(v) (or p(v | y)) of a tiny DBN, indexed by the binary code of v."""
    states, probs, cols = exact.joint(dbn)
    vcols = [list(cols).index(c) for c in range(dbn.columns("v").start, dbn.columns("v").stop)]
    if clamp_label is not None:
        lab = [list(cols).index(c) for c in range(dbn.columns("labels").start, dbn.columns("labels").stop)]
        probs = probs * (states[:, lab][:, clamp_label] == 1)
    codes = (states[:, vcols] @ (2 ** np.arange(len(vcols))[::-1])).astype(int)
    out = np.bincount(codes, weights=probs, minlength=2 ** len(vcols))
    return out / out.sum()


@pytest.mark.parametrize("label", [None, 2])
def test_generated_vectors_follow_the_exact_marginal(label):
    """Chi-square of 20,000 independent draws against the exact p(v) (or p(v | y)); the
    false-positive rate is 1e-3. The negative control, a perturbed DBN, must fail."""
    dbn = labelled_dbn()
    probs = visible_marginal(dbn, label)
    V = db.generate(dbn, 20000, sweeps=30, labels=label, seed=1)
    counts = np.bincount((np.asarray(V) @ [4, 2, 1]).astype(int), minlength=8)
    assert chi_square(counts, probs)[2] > 1e-3
    wrong = labelled_dbn()
    wrong.params["h1->v.weight"] += 0.5
    V = db.generate(wrong, 20000, sweeps=30, labels=label, seed=1)
    assert chi_square(np.bincount((np.asarray(V) @ [4, 2, 1]).astype(int), minlength=8), probs)[2] < 1e-6


def test_generated_means_are_the_visible_probabilities_of_the_final_pass():
    dbn = labelled_dbn()
    V = db.generate(dbn, 5, sweeps=3, seed=4)
    M = db.generate(dbn, 5, sweeps=3, seed=4, mean=True)
    state = gm.sample(dbn, 3, chains=5, method="ancestral", seed=4).state  # the same draws
    np.testing.assert_array_equal(V, state[:, :3])
    h1 = state[:, dbn.columns("h1")]
    np.testing.assert_allclose(M, expit(h1 @ dbn.get(("h1", "v"), "weight") + dbn.get("v", "bias")), rtol=1e-12)


def test_the_ancestral_sampler_of_a_dbn_with_a_label_layer_passes_verify():
    report = gm.verify(labelled_dbn(), method="ancestral", n_chains=20000, n_sweeps=30, seed=0)
    assert report.passed, str(report)


# --------------------------------------------------------------------------- the label layer
def test_label_probabilities_are_the_exact_free_energy_softmax():
    dbn = labelled_dbn(seed=3)
    X = bits(3)
    P = db.label_probabilities(dbn, X)
    R, r = dbn.recognition_params["v=>h1.weight"], dbn.recognition_params["v=>h1.bias"]
    pen = expit(X @ R + r)
    W, U = dbn.get(("h1", "h2"), "weight"), dbn.get(("labels", "h2"), "weight").reshape(3, 2)
    b1, by, c = dbn.get("h1", "bias"), dbn.get("labels", "bias").reshape(3), dbn.get("h2", "bias")
    # p(y | pen) by summing the top layer out term by term: sum_h exp(-E(pen, y, h))
    Htop = bits(2)
    neg_e = (
        (pen @ b1)[:, None, None]
        + by[None, :, None]
        + Htop @ c
        + np.einsum("ni,ij,hj->nh", pen, W, Htop)[:, None, :]
        + (U @ Htop.T)[None]
    )
    expected = softmax(logsumexp(neg_e, axis=2), axis=1)
    np.testing.assert_allclose(P, expected, rtol=1e-10)
    np.testing.assert_array_equal(db.classify(dbn, X), expected.argmax(axis=1))


def test_a_label_layer_learns_to_classify_bars_from_stripes():
    X = gm.datasets.bars_and_stripes(4)
    y = np.array([0 if (x.reshape(4, 4) == x.reshape(4, 4)[:1]).all() else 1 for x in X])  # rows alike: bars
    keep = X.sum(axis=1) % 16 != 0  # the blank and the full image are both bars and stripes
    X, y = X[keep], y[keep]
    result = db.greedy(
        X,
        [16, 20, 30],
        labels=y,
        n_labels=2,
        epochs=200,
        lr=0.1,
        rule="cd",
        k=1,
        batch_size=5,
        momentum=0.5,
        monitors=(),
        seed=0,
    )
    assert np.mean(db.classify(result.dbn, X) == y) == 1.0


# --------------------------------------------------------------------------- up-down
def test_one_up_down_step_has_the_enumerated_expected_update():
    """One full-batch up-down step (lr 1, CD-1 at the top) on the data repeated 10,000 times:
    each parameter's change is the mean of 40,000 independent terms in [-1, 1], so by
    Hoeffding it is within 0.03 of the enumerated expectation except with probability
    2 exp(-18) per entry (below 1e-6 over all 36 entries)."""
    dbn = labelled_dbn(seed=5)
    V = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 0]], dtype=float)
    y = np.array([0, 2, 1, 2])
    before = {k: v.copy() for k, v in dbn.params.items()}
    rbefore = {k: v.copy() for k, v in dbn.recognition_params.items()}
    expected = expected_up_down_step(dbn, V, y)
    reps = 10000
    db.up_down(
        dbn, np.repeat(V, reps, axis=0), labels=np.repeat(y, reps), epochs=1, lr=1.0, k=1, batch_size=None, seed=0
    )
    for key, value in expected.items():
        table, old = (dbn.recognition_params, rbefore) if "=>" in key else (dbn.params, before)
        np.testing.assert_allclose(table[key] - old[key], value.reshape(old[key].shape), rtol=0, atol=0.03, err_msg=key)
    changed = {k for k in expected if np.abs(expected[k]).max() > 0.05}
    assert {"h1->v.weight", "v=>h1.weight", "h1~h2.weight", "labels~h2.weight"} <= changed


def expected_up_down_step(dbn, V, y):
    """The exact expectation of every up-down step of a v-h1-h2(+labels) DBN (k = 1)."""
    G, bv = dbn.params["h1->v.weight"], dbn.params["v.bias"]
    W, b1, c = dbn.params["h1~h2.weight"], dbn.params["h1.bias"], dbn.params["h2.bias"]
    U, by = dbn.params["labels~h2.weight"], dbn.params["labels.bias"].reshape(-1)
    R, r = dbn.recognition_params["v=>h1.weight"], dbn.recognition_params["v=>h1.bias"]
    H1, H2 = bits(2), bits(2)

    def bern(s, p):
        return np.prod(np.where(s == 1, p, 1 - p))

    total = {
        k: 0.0
        for k in [
            "h1->v.weight",
            "v.bias",
            "h1~h2.weight",
            "h1.bias",
            "h2.bias",
            "labels~h2.weight",
            "labels.bias",
            "v=>h1.weight",
            "v=>h1.bias",
        ]
    }
    for v, label in zip(V, y):
        t = np.eye(3)[label]
        for s1 in H1:
            w1 = bern(s1, expit(v @ R + r))
            top_p = expit(s1 @ W + t @ U + c)
            pred_v = expit(s1 @ G + bv)
            terms = {"h1->v.weight": np.outer(s1, v - pred_v), "v.bias": v - pred_v}
            for key, value in terms.items():
                total[key] = total[key] + w1 * value
            for h in H2:
                w2 = w1 * bern(h, top_p)
                lab = softmax(h @ U.T + by)
                for s1n in H1:
                    w3 = w2 * bern(s1n, expit(h @ W.T + b1))
                    neg_top = expit(s1n @ W + lab @ U + c)
                    d0 = expit(s1n @ G + bv)
                    rec = s1n - expit(d0 @ R + r)
                    terms = {
                        "h1~h2.weight": np.outer(s1, top_p) - np.outer(s1n, neg_top),
                        "h1.bias": s1 - s1n,
                        "h2.bias": top_p - neg_top,
                        "labels~h2.weight": np.outer(t, top_p) - np.outer(lab, neg_top),
                        "labels.bias": t - lab,
                        "v=>h1.weight": np.outer(d0, rec),
                        "v=>h1.bias": rec,
                    }
                    for key, value in terms.items():
                        total[key] = total[key] + w3 * value
    return {k: v / len(V) for k, v in total.items()}


def test_up_down_on_greedy_features_keeps_the_labels_and_records_the_error():
    X, y = gm.datasets.digits(binarize="threshold")
    X, y, Xv, yv = X[:600], y[:600], X[600:900], y[600:900]
    result = db.greedy(
        X,
        [64, 100, 200],
        labels=y,
        n_labels=10,
        epochs=20,
        lr=0.1,
        rule="cd",
        batch_size=20,
        momentum=0.5,
        monitors=(),
        seed=0,
    )
    before = np.mean(db.classify(result.dbn, Xv) != yv)
    hist = db.up_down(result.dbn, X, labels=y, epochs=3, lr=0.01, k=[1, 3], batch_size=20, validation=(Xv, yv), seed=0)
    assert hist["k"] == [1, 3, 3] and len(hist["validation_error"]) == 3
    assert (
        db.up_down(result.dbn, X, labels=y, epochs=5, stop_when=lambda dbn, h: len(h["epoch"]) == 2).stopped_epoch == 2
    )
    assert before < 0.3 and hist["validation_error"][-1] < 0.3  # ten classes: chance is 0.9


def test_a_diverging_up_down_keeps_the_last_good_parameters():
    dbn = labelled_dbn(seed=2)
    dbn.params["h1->v.weight"][...] = 1e305  # the next step overflows
    before = {k: v.copy() for k, v in dbn.params.items()}
    rbefore = {k: v.copy() for k, v in dbn.recognition_params.items()}
    with pytest.raises(
        gm.DivergenceError,
        match=r"up_down: epoch 1: parameter '.*' would become non-finite; the update was not applied",
    ):
        db.up_down(dbn, np.ones((4, 3)), labels=[0, 1, 2, 0], epochs=2, lr=1e300, seed=0)
    for key, v in before.items():
        np.testing.assert_array_equal(dbn.params[key], v)
    for key, v in rbefore.items():
        np.testing.assert_array_equal(dbn.recognition_params[key], v)


# --------------------------------------------------------------------------- DBN-DNN
def test_the_unrolled_network_starts_as_the_recognition_pass():
    X = gm.datasets.bars_and_stripes(3)
    result = db.greedy(X, [9, 6, 4], epochs=3, lr=0.1, monitors=(), seed=0, dtype=np.float64)
    net = db.unroll(result.dbn, n_classes=2, seed=0)
    acts = net.activations(X)
    np.testing.assert_allclose(acts[0], db.hidden_probabilities(result.rbms[0], X), rtol=1e-12)
    np.testing.assert_allclose(acts[0], db.up_pass(result.dbn, X)["h1"], rtol=1e-12)
    np.testing.assert_allclose(acts[1], db.hidden_probabilities(result.rbms[1], acts[0]), rtol=1e-12)
    # a stack of RBMs unrolls the same way
    same = db.unroll(result.rbms, n_classes=2, seed=0)
    for key, v in net.params.items():
        np.testing.assert_allclose(same.params[key], v, rtol=1e-12)


def test_the_dbn_dnn_gradient_matches_finite_differences():
    X = gm.datasets.bars_and_stripes(3)
    y = np.array([0] * 7 + [1] * 7)
    result = db.greedy(X, [9, 5, 4], epochs=2, monitors=(), seed=0, dtype=np.float64)
    net = db.unroll(result.dbn, n_classes=2, seed=1)
    _, grad = net.gradient(X, y)
    rng = np.random.default_rng(0)
    for key, value in net.params.items():
        idx = tuple(rng.integers(0, s) for s in value.shape)
        old = value[idx]
        value[idx] = old + 1e-6
        up = net.loss(X, y)
        value[idx] = old - 1e-6
        down = net.loss(X, y)
        value[idx] = old
        assert grad[key][idx] == pytest.approx((up - down) / 2e-6, rel=1e-5, abs=1e-9), key


def test_fine_tuning_the_dbn_dnn_lowers_the_loss():
    X, y = gm.datasets.digits()
    result = db.greedy(X[:500], [64, 50, 40], epochs=10, lr=0.1, batch_size=20, monitors=(), seed=0)
    net = db.unroll(result.dbn, n_classes=10, seed=0)
    hist = ff.fit(
        net,
        X[:500],
        y[:500],
        epochs=30,
        lr=0.5,
        momentum=0.9,
        batch_size=50,
        validation=(X[500:700], y[500:700]),
        patience=5,
        seed=0,
    )
    assert hist["loss"][-1] < 0.5 * hist["loss"][0] and max(hist["validation_accuracy"]) > 0.8


# --------------------------------------------------------------------------- bad input
def test_layers_that_do_not_chain_are_named():
    a, b = gm.compile(gm.rbm(6, 4, seed=0)), gm.compile(gm.rbm(5, 3, seed=0))
    with pytest.raises(
        ValueError,
        match=r"stack: rbms\[1\] has 5 visible units of kind 'binary'; "
        r"layer 'h1' \(the hidden layer of rbms\[0\]\) has 4 binary units",
    ):
        db.stack([a, b])
    with pytest.raises(ValueError, match=r"rbms\[1\] must be an RBM with layers 'v' and 'h'"):
        db.stack([a, gm.compile(gm.dbm([4, 3, 2]))])
    with pytest.raises(
        ValueError, match=r"sizes must be a sequence of at least 2 items, each an integer >= 1; got \[4, 0\]"
    ):
        db.greedy(DATA, [4, 0])


def test_bad_labels_are_named():
    X = gm.datasets.bars_and_stripes(3)
    y = np.arange(14) % 3
    with pytest.raises(
        ValueError,
        match=r"greedy: labels must be integers in \[0, 2\) \(layer 'labels' has 2 categories\); got 2 at row 2",
    ):
        db.greedy(X, [9, 4, 3], labels=y, n_labels=2)
    with pytest.raises(ValueError, match=r"needs both labels= and n_labels="):
        db.greedy(X, [9, 4, 3], labels=y)
    with pytest.raises(ValueError, match=r"n_labels must be None or an integer >= 2; got 1"):
        db.greedy(X, [9, 4, 3], labels=y * 0, n_labels=1)
    with pytest.raises(ValueError, match=r"labels must be a 1-d array of 14 class indices"):
        db.greedy(X, [9, 4, 3], labels=y[:5], n_labels=3)
    dbn = labelled_dbn()
    with pytest.raises(
        ValueError, match=r"up_down: this DBN has a label layer 'labels' of 3 categories; pass labels=y"
    ):
        db.up_down(dbn, np.ones((2, 3)))
    with pytest.raises(
        ValueError,
        match=r"up_down: labels must be integers in \[0, 3\) \(layer 'labels' has 3 categories\); got 7 at row 1",
    ):
        db.up_down(dbn, np.ones((2, 3)), labels=[0, 7])
    with pytest.raises(ValueError, match=r"generate: labels must be integers in \[0, 3\)"):
        db.generate(dbn, 2, labels=3)
    plain = gm.compile(gm.dbn([3, 2, 2], recognition=True, seed=0))
    with pytest.raises(gm.ModelError, match=r"label_probabilities: this DBN has no label layer"):
        db.label_probabilities(plain, np.ones((2, 3)))
    with pytest.raises(gm.ModelError, match=r"up_down: labels given, but this DBN has no label layer"):
        db.up_down(plain, np.ones((2, 3)), labels=[0, 1])


def test_flags_and_data_errors_name_the_function():
    """Regressions: up_pass read any truthy value (the string "no") as sample=True;
    log_likelihood_bound's and hidden_probabilities' data errors did not name the function;
    transpose refused an RBM with a label layer saying its visible kind was wrong."""
    plain = gm.compile(gm.dbn([3, 2, 2], recognition=True, seed=0))
    with pytest.raises(TypeError, match=r"up_pass: sample must be True or False; got 'no'"):
        db.up_pass(plain, np.ones((2, 3)), sample="no")
    with pytest.raises(ValueError, match=r"log_likelihood_bound: data: expected shape \(examples, 3\)"):
        db.log_likelihood_bound(plain, np.ones((2, 4)))
    rbm = gm.compile(gm.rbm(3, 2, seed=0))
    with pytest.raises(ValueError, match=r"hidden_probabilities: data: expected shape \(examples, 3\)"):
        db.hidden_probabilities(rbm, np.ones((2, 4)))
    X, y = gm.datasets.bars_and_stripes(3), np.arange(14) % 2
    top = db.greedy(X, [9, 3], labels=y, n_labels=2, epochs=1, monitors=(), seed=0).rbms[0]
    with pytest.raises(ValueError, match=r"transpose: the RBM has a label layer"):
        db.transpose(top)


def test_data_of_the_wrong_width_or_kind_is_named():
    dbn = labelled_dbn()
    with pytest.raises(ValueError, match=r"greedy: data has 5 columns; layer 'v' has sizes\[0\] = 4 units"):
        db.greedy(np.ones((3, 5)), [4, 3, 2])
    with pytest.raises(
        ValueError, match=r"data: column 1 \(node 'v', unit 1\) holds 2 in row 0; binary units take values in \[0, 1\]"
    ):
        db.greedy(np.array([[0, 2, 1, 0]]), [4, 3, 2], epochs=1, monitors=())
    with pytest.raises(ValueError, match=r"label_probabilities: X has 4 columns; layer 'v' has 3 units"):
        db.label_probabilities(dbn, np.ones((2, 4)))
    with pytest.raises(
        ValueError,
        match=r"up_pass: X: column 0 \(node 'v', unit 0\) holds -1 in row 0; binary units take values in \[0, 1\]",
    ):
        db.up_pass(dbn, -np.ones((2, 3)))
    with pytest.raises(TypeError, match=r"up_pass: X must be an array of real numbers; got dtype <U1"):
        db.up_pass(dbn, np.array([["a", "b", "c"]]))
    with pytest.raises(ValueError, match=r"up_pass: X must be a 2-d array \(examples, units\); got shape \(3,\)"):
        db.up_pass(dbn, np.ones(3))
    with pytest.raises(TypeError, match=r"greedy: .*unexpected keyword argument 'epoch'"):
        db.greedy(DATA, [4, 3], epoch=3)
    with pytest.raises(
        gm.ModelError, match=r"no recognition edge \('v', 'h1'\); build the DBN with gm.dbn\(..., recognition=True\)"
    ):
        db.up_pass(gm.compile(gm.dbn([3, 2, 2], seed=0)), np.ones((2, 3)))
    with pytest.raises(gm.ModelError, match=r"up_pass: expected a DBN of layer nodes"):
        db.up_pass(gm.compile(gm.sbn([3, 2], seed=0)), np.ones((2, 3)))


def test_a_diverging_layer_is_named_and_keeps_its_last_good_parameters():
    X = gm.datasets.bars_and_stripes(3)
    with pytest.raises(
        gm.DivergenceError, match=r"greedy: layer 2 \(RBM h1 -> h2\): fit: epoch 1: parameter .* non-finite"
    ):
        db.greedy(X, [9, 6, 4], seed=0, monitors=(), per_layer=[{"epochs": 1}, {"epochs": 2, "lr": 1e38}])


# --------------------------------------------------------------------------- scikit-learn
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from graphmrf.sklearn import DataRangeWarning, DBNClassifier, FeedForwardClassifier  # noqa: E402


@parametrize_with_checks(
    [DBNClassifier(hidden_layer_sizes=(10,), pretrain_epochs=2, max_iter=20, batch_size=20, random_state=0)]
)
@pytest.mark.filterwarnings("ignore::graphmrf.sklearn.DataRangeWarning")
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_the_dbn_dnn_classifier_in_a_pipeline_and_a_grid_search():
    import pickle

    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X, y = gm.datasets.digits()
    pipe = make_pipeline(
        MinMaxScaler(),
        DBNClassifier(
            hidden_layer_sizes=(40,), pretrain_epochs=3, max_iter=20, batch_size=50, learning_rate=0.5, random_state=0
        ),
    )
    search = GridSearchCV(pipe, {"dbnclassifier__pretrain_learning_rate": [0.05, 0.1]}, cv=2).fit(X[:400], y[:400])
    assert search.best_score_ > 0.8 and search.score(X[1400:], y[1400:]) > 0.8
    clf = search.best_estimator_[-1]
    assert len(clf.pretraining_) == 1 and len(clf.pretraining_[0]["reconstruction_error"]) == 4
    again = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(again.predict_proba(X[1400:1410]), search.predict_proba(X[1400:1410]))


def test_without_pre_training_it_is_the_plain_network_and_strict_refuses_out_of_range_data():
    X, y = gm.datasets.digits()
    options = dict(hidden_layer_sizes=(20,), max_iter=3, random_state=0)
    plain = FeedForwardClassifier(**options).fit(X[:200], y[:200])
    dbn = DBNClassifier(pretrain_epochs=0, **options).fit(X[:200], y[:200])
    np.testing.assert_array_equal(dbn.predict_proba(X[:20]), plain.predict_proba(X[:20]))
    with pytest.raises(
        ValueError, match=r"X: the RBMs' binary visible units take values in \[0, 1\]; got range \[0.0, 16.0\]"
    ):
        DBNClassifier(strict=True, **options).fit(16 * X[:200], y[:200])
    with pytest.warns(DataRangeWarning, match="pre-training reads them clipped"):
        DBNClassifier(pretrain_epochs=1, **options).fit(16 * X[:200], y[:200])
