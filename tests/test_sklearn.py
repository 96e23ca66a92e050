"""The scikit-learn adapter: scikit-learn's own estimator checks, dtypes, partial_fit, pipelines."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import graphmrf as gm  # noqa: E402
from graphmrf.sklearn import RBM  # noqa: E402


@parametrize_with_checks([RBM(n_components=3, n_iter=2, random_state=0), RBM(n_components=3, n_iter=2, visible="gaussian", learning_rate=0.01, random_state=0)])
@pytest.mark.filterwarnings("ignore::graphmrf.sklearn.DataRangeWarning")
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def digits_binary():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16 > 0.5).astype(np.float32), y


def test_float32_is_preserved_and_results_are_reproducible():
    X, _ = digits_binary()
    a = RBM(n_components=8, n_iter=2, random_state=3).fit(X[:300])
    b = RBM(n_components=8, n_iter=2, random_state=3).fit(X[:300])
    assert a.components_.dtype == np.float32 and a.transform(X[:5]).dtype == np.float32
    np.testing.assert_array_equal(a.components_, b.components_)


def test_partial_fit_returns_self_and_keeps_the_persistent_chains_moving():
    """G1: PCD chains persist across partial_fit calls and change between them."""
    X, _ = digits_binary()
    rbm = RBM(n_components=8, batch_size=20, random_state=0)
    assert rbm.partial_fit(X[:100]) is rbm
    first = rbm.h_samples_.copy()
    rbm.partial_fit(X[100:200])
    assert rbm.h_samples_.shape == (20, 8) and not np.array_equal(first, rbm.h_samples_)


def test_score_samples_is_the_exact_pseudo_likelihood():
    X, _ = digits_binary()
    rbm = RBM(n_components=6, n_iter=1, random_state=0).fit(X[:200])
    np.testing.assert_allclose(rbm.score_samples(X[:4]), gm.exact.pseudo_log_likelihood(rbm.program_, X[:4], reduce="none"), rtol=1e-6)


def test_out_of_range_binary_data_warns_or_raises_when_strict():
    X = np.full((5, 3), 2.0)
    with pytest.warns(gm.sklearn.DataRangeWarning, match=r"binary visible units take values in \[0, 1\]"):
        RBM(n_components=2, n_iter=1).fit(X)
    with pytest.raises(ValueError, match=r"binary visible units take values in \[0, 1\]"):
        RBM(n_components=2, n_iter=1, strict=True).fit(X)


def test_rbm_features_help_a_linear_classifier_on_digits():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    X, y = digits_binary()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0)
    pipe = Pipeline([("rbm", RBM(n_components=64, n_iter=10, learning_rate=0.05, batch_size=10, random_state=0)), ("logistic", LogisticRegression(max_iter=2000))])
    acc = pipe.fit(Xtr, ytr).score(Xte, yte)
    assert acc > 0.85, acc


def test_gibbs_and_sample_give_binary_vectors():
    X, _ = digits_binary()
    rbm = RBM(n_components=8, n_iter=1, random_state=0).fit(X[:100])
    v = rbm.gibbs(X[:3])
    assert v.shape == (3, 64) and set(np.unique(v)) <= {0.0, 1.0}
    s = rbm.sample(4, n_sweeps=10, random_state=0)
    assert s.shape == (4, 64) and set(np.unique(s)) <= {0.0, 1.0}


@pytest.mark.parametrize("shape", [1, 5, 4095, 4096, 5001, (37, 129)])
def test_float32_uniforms_are_the_float64_draws_rounded_down_to_the_float32_grid(shape):
    from graphmrf.backend import uniform_into

    for order in ("C", "F"):
        rng32, rng64 = np.random.default_rng(11), np.random.default_rng(11)
        u32 = uniform_into(rng32, np.empty(shape, np.float32, order=order))
        u64 = uniform_into(rng64, np.empty(shape, np.float64, order=order))
        np.testing.assert_array_equal(u32, np.floor(u64 * 2.0**24) / 2.0**24)
        assert u32.max() < 1
        # one 64-bit word per value in both dtypes: the generators are left in the same state
        assert rng32.bit_generator.state == rng64.bit_generator.state
    # a strided (neither C nor F contiguous) float32 array takes the same numbers, in order
    strided = np.empty((8, 10), np.float32)[:, ::2]
    uniform_into(np.random.default_rng(4), strided)
    np.testing.assert_array_equal(strided.ravel(), np.floor(np.random.default_rng(4).random(40) * 2.0**24) / 2.0**24)


def test_pcd_with_mean_field_statistics_keeps_its_chains_sampled():
    """The free phase's hidden statistics may be E[h | v]; the persistent chains must still
    carry sampled 0/1 hidden units (they continue as a Markov chain of the model), the same
    units a run without mean_field draws from the same generator."""
    from graphmrf.learn import training_gradient

    prog = gm.compile(gm.rbm(6, 4, seed=0), seed=0)
    v = np.random.default_rng(0).integers(0, 2, (8, 6))
    start = (np.random.default_rng(2).random((5, prog.n_columns)) < 0.5).astype(np.float32)
    _, sampled = training_gradient(prog, v, np.random.default_rng(1), sweeps=2, chains=start.copy(), mean_field=False)
    _, averaged = training_gradient(prog, v, np.random.default_rng(1), sweeps=2, chains=start.copy(), mean_field=True)
    assert set(np.unique(averaged)) <= {0.0, 1.0}
    np.testing.assert_array_equal(averaged, sampled)
