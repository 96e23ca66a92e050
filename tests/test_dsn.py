"""Deep stacking networks: the closed-form output layer against least squares, the module
gradient against finite differences and the lecture's formula, stacking never raising the
training objective, singular systems refused by name, and digits against a baseline."""

import numpy as np
import pytest

from graphmrf import dsn
from graphmrf.datasets import digits


def _hidden(seed=0, n=40, L=6):
    rng = np.random.default_rng(seed)
    H = 1 / (1 + np.exp(-rng.normal(size=(n, L))))
    T = rng.normal(size=(n, 3))
    return H, T


def test_output_weights_are_the_least_squares_solution():
    """lam = 0: [U; c] = lstsq([H 1], T). lam > 0: the ridge solution with an unpenalised
    intercept, lstsq of the stacked system [[H 1], [sqrt(lam) I 0]] against [[T], [0]];
    without an intercept, the normal equations (H^T H + lam I)^-1 H^T T."""
    H, T = _hidden()
    n, L = H.shape
    U, c = dsn.output_weights(H, T, lam=0.0)
    B, *_ = np.linalg.lstsq(np.hstack([H, np.ones((n, 1))]), T, rcond=None)
    np.testing.assert_allclose(U, B[:L], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(c, B[L], rtol=1e-9, atol=1e-10)
    lam = 0.7
    U, c = dsn.output_weights(H, T, lam=lam)
    A = np.vstack([np.hstack([H, np.ones((n, 1))]), np.hstack([np.sqrt(lam) * np.eye(L), np.zeros((L, 1))])])
    B, *_ = np.linalg.lstsq(A, np.vstack([T, np.zeros((L, 3))]), rcond=None)
    np.testing.assert_allclose(U, B[:L], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(c, B[L], rtol=1e-9, atol=1e-10)
    U, c = dsn.output_weights(H, T, lam=lam, intercept=False)
    np.testing.assert_allclose(U, np.linalg.solve(H.T @ H + lam * np.eye(L), H.T @ T), rtol=1e-9)
    assert not c.any()


@pytest.mark.parametrize("lam,intercept", [(0.0, True), (0.5, True), (0.5, False)])
def test_module_gradient_equals_central_differences(lam, intercept):
    """dE/dW and dE/db, with U = F(W) substituted, against central differences of E(W)
    (float64; U and c re-solved at every perturbed W)."""
    rng = np.random.default_rng(1)
    Z, T = rng.normal(size=(30, 4)), rng.normal(size=(30, 2))
    W, b = rng.normal(size=(4, 5)), rng.normal(size=5)
    E, dW, db = dsn.objective(Z, T, W, b, lam=lam, intercept=intercept)
    h = 1e-6
    for P, grad in ((W, dW), (b, db)):
        numeric = np.zeros(P.shape)
        for i in np.ndindex(P.shape):
            old = P[i]
            P[i] = old + h
            up = dsn.objective(Z, T, W, b, lam=lam, intercept=intercept)[0]
            P[i] = old - h
            down = dsn.objective(Z, T, W, b, lam=lam, intercept=intercept)[0]
            P[i] = old
            numeric[i] = (up - down) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_gradient_is_half_the_lectures_formula():
    """The lecture (Deng & Yu, examples as columns, E = Tr[(Y-T)(Y-T)^T]):
    dE/dW = 2 X [H^T o (1-H)^T o [H+ (H T^T)(T H+) - T^T (T H+)]], H+ = H^T (H H^T)^-1.
    With E = 1/2 ||Y - T||^2, no biases and lam = 0, the module's gradient is half of it."""
    rng = np.random.default_rng(2)
    Xr, Tr, W = rng.normal(size=(25, 4)), rng.normal(size=(25, 3)), rng.normal(size=(4, 6))
    X, T = Xr.T, Tr.T  # columns are examples
    H = 1 / (1 + np.exp(-(W.T @ X)))
    Hp = H.T @ np.linalg.inv(H @ H.T)
    lecture = 2 * X @ (H.T * (1 - H).T * (Hp @ (H @ T.T) @ (T @ Hp) - T.T @ (T @ Hp)))
    _, dW, _ = dsn.objective(Xr, Tr, W, lam=0.0, intercept=False)
    np.testing.assert_allclose(dW, lecture / 2, rtol=1e-8, atol=1e-10)


def _digits_split():
    X, y = digits()
    perm = np.random.default_rng(0).permutation(len(y))
    return X[perm[:1347]], y[perm[:1347]], X[perm[1347:]], y[perm[1347:]]


def test_adding_a_module_does_not_raise_the_training_objective():
    """Module k starts from module k-1's W (zero weights on the new prediction columns),
    so it starts at its predecessor's objective; the optimiser keeps the best W met."""
    X, y, _, _ = _digits_split()
    T = np.eye(10)[y]
    net = dsn.fit(X[:300], T[:300], n_modules=3, n_hidden=30, iterations=5, seed=0)
    E = net.history["objective"]
    assert len(E) == 3 and all(b <= a * (1 + 1e-6) for a, b in zip(E, E[1:]))
    assert E[-1] < 0.8 * E[0]
    # continuing a trained network is the same as training all modules at once
    part = dsn.fit(X[:300], T[:300], n_modules=2, n_hidden=30, iterations=5, seed=0)
    dsn.fit(X[:300], T[:300], n_modules=1, n_hidden=30, iterations=5, network=part)
    for key in net.params:
        np.testing.assert_array_equal(net.params[key], part.params[key])
    assert [len(v) for v in part.history.values()] == [3] * len(part.history)


def test_a_singular_gram_matrix_without_regularisation_is_refused_by_name():
    H, T = _hidden(L=3)
    H[:, 2] = H[:, 0]  # two identical hidden units: H^T H has rank 2
    with pytest.raises(
        ValueError, match=r"output_weights: lam=0 and the hidden activations' Gram matrix H\^T H \(3x3\) has rank 2 < 3"
    ):
        dsn.output_weights(H, T, lam=0.0)
    U, _ = dsn.output_weights(H, T, lam=1e-3)  # regularised: fine
    assert np.all(np.isfinite(U))
    X, y, _, _ = _digits_split()
    with pytest.raises(ValueError, match=r"fit: lam=0 .* has rank 7 < 20"):
        dsn.fit(X[:8], np.eye(10)[y[:8]], n_hidden=20, lam=0.0)  # 8 examples, 20 units


def test_bad_input_is_named():
    X, y, _, _ = _digits_split()
    T = np.eye(10)[y]
    Xn = X[:50].copy()
    Xn[3, 3] = np.nan
    with pytest.raises(ValueError, match=r"fit: X has NaN or infinite entries"):
        dsn.fit(Xn, T[:50])
    with pytest.raises(ValueError, match=r"fit: T has 49 rows; X has 50"):
        dsn.fit(X[:50], T[:49])
    with pytest.raises(ValueError, match=r"fit: lam must be a finite real >= 0.0; got -1.0"):
        dsn.fit(X[:50], T[:50], lam=-1.0)
    net = dsn.fit(X[:50], T[:50], n_modules=1, n_hidden=5, iterations=2, seed=0)
    with pytest.raises(ValueError, match=r"outputs: X has 63 columns; this DSN takes 64"):
        net.predict(X[:5, :63])
    with pytest.raises(ValueError, match=r"fit: T has 3 columns; this DSN predicts 10"):
        dsn.fit(X[:50], T[:50, :3], network=net)
    with pytest.raises(ValueError, match=r"outputs: this DSN has no modules yet"):
        dsn.DSN(4, 2).predict(np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"objective: W has 3 rows; Z has 4 columns"):
        dsn.objective(np.zeros((5, 4)), np.zeros((5, 1)), np.zeros((3, 2)))


def test_time_budget_stops_after_the_first_module():
    X, y, _, _ = _digits_split()
    net = dsn.fit(X, np.eye(10)[y], n_modules=5, n_hidden=50, iterations=50, time_budget=1e-3, seed=0)
    assert net.n_modules == 1 and net.history["evaluations"] == [1] and net.history["out_of_time"] == [True]
    assert net.params["m1.weight"].dtype == np.float32


def test_digits_accuracy_at_least_that_of_logistic_regression():
    """On a held-out quarter of digits, 3 modules of 100 units: 98.4% (scikit-learn's
    LogisticRegression: 97.8%); asserted >= 97.5%, and every module better than chance."""
    X, y, Xt, yt = _digits_split()
    net = dsn.fit(X, np.eye(10)[y], n_modules=3, n_hidden=100, seed=0)
    accuracy = [float((Y.argmax(axis=1) == yt).mean()) for Y in net.outputs(Xt)]
    assert accuracy[-1] >= 0.975 and min(accuracy) > 0.9


# -- the scikit-learn adapter ------------------------------------------------------------
sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from graphmrf.sklearn import DSNClassifier  # noqa: E402


@parametrize_with_checks([DSNClassifier(n_modules=2, n_hidden=20, max_iter=5, random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_classifier_probabilities_keep_the_predicted_class_and_survive_pickling():
    import pickle

    X, y, Xt, yt = _digits_split()
    clf = DSNClassifier(n_modules=1, n_hidden=50, random_state=0).fit(X, y)
    P = clf.predict_proba(Xt)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-12)
    np.testing.assert_array_equal(clf.classes_[P.argmax(axis=1)], clf.predict(Xt))
    assert clf.score(Xt, yt) > 0.95 and 0 < clf.temperature_ < np.inf
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(Xt), P)
