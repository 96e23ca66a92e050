"""The scikit-learn adapter: scikit-learn's own estimator checks, dtypes, partial_fit, pipelines."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import graphmrf as gm  # noqa: E402
from graphmrf.sklearn import RBM  # noqa: E402


@parametrize_with_checks(
    [
        RBM(n_components=3, n_iter=2, random_state=0),
        RBM(n_components=3, n_iter=2, visible="gaussian", learning_rate=0.01, random_state=0),
    ]
)
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
    exact = gm.exact.pseudo_log_likelihood(rbm.program_, X[:4], reduce="none")
    np.testing.assert_allclose(rbm.score_samples(X[:4]), exact, rtol=1e-6)


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
    rbm = RBM(n_components=64, n_iter=10, learning_rate=0.05, batch_size=10, random_state=0)
    pipe = Pipeline([("rbm", rbm), ("logistic", LogisticRegression(max_iter=2000))])
    acc = pipe.fit(Xtr, ytr).score(Xte, yte)
    assert acc > 0.85, acc


def test_gibbs_and_sample_give_binary_vectors():
    X, _ = digits_binary()
    rbm = RBM(n_components=8, n_iter=1, random_state=0).fit(X[:100])
    v = rbm.gibbs(X[:3])
    assert v.shape == (3, 64) and set(np.unique(v)) <= {0.0, 1.0}
    s = rbm.sample(4, n_sweeps=10, random_state=0)
    assert s.shape == (4, 64) and set(np.unique(s)) <= {0.0, 1.0}
    # regression: a negative n_sweeps ran no sweep and returned the random starting states;
    # a float n_samples raised Python's "'float' object cannot be interpreted as an integer"
    with pytest.raises(ValueError, match=r"sample: n_sweeps must be an integer >= 0; got -1"):
        rbm.sample(2, n_sweeps=-1)
    with pytest.raises(TypeError, match=r"sample: n_samples must be an integer >= 1; got 2.5"):
        rbm.sample(2.5)


# -- PCD chains, and one model whatever the data's dtype ----------------------------------


def test_pcd_with_mean_field_statistics_keeps_its_chains_sampled():
    """The free phase's hidden statistics may be E[h | v]; the persistent chains must still
    carry sampled 0/1 hidden units (they continue as a Markov chain of the model), the same
    units a run without mean_field draws from the same generator."""
    from graphmrf.learn import contrastive_divergence

    prog = gm.compile(gm.rbm(6, 4, seed=0), seed=0)
    v = np.random.default_rng(0).integers(0, 2, (8, 6))
    start = (np.random.default_rng(2).random((5, prog.n_columns)) < 0.5).astype(np.float32)
    _, sampled = contrastive_divergence(prog, v, np.random.default_rng(1), k=2, chains=start.copy(), mean_field=False)
    _, averaged = contrastive_divergence(prog, v, np.random.default_rng(1), k=2, chains=start.copy(), mean_field=True)
    assert set(np.unique(averaged)) <= {0.0, 1.0}
    np.testing.assert_array_equal(averaged, sampled)


@pytest.mark.parametrize("mean_field", [True, None])
def test_float32_and_float64_data_give_one_model(mean_field):
    """The model is computed in float64 whatever the data's dtype, so the same seed gives
    the same chains and parameters (to float32 rounding of the reported attributes), with
    sampled or mean-field statistics; attributes and outputs keep the data's dtype."""
    X = Xdigits()[:120]  # sixteenths: exact in float32
    params = dict(n_components=16, batch_size=10, n_iter=4, mean_field=mean_field, random_state=42)
    a, b = (RBM(**params).fit(X.astype(dt)) for dt in (np.float32, np.float64))
    np.testing.assert_array_equal(a.h_samples_, b.h_samples_)
    np.testing.assert_array_equal(a.components_, b.components_.astype(np.float32))
    assert a.components_.dtype == np.float32 and b.components_.dtype == np.float64
    ta, tb = a.transform(X.astype(np.float32)), b.transform(X)
    assert ta.dtype == np.float32
    np.testing.assert_allclose(ta, tb, rtol=1e-6)


# -- momentum across partial_fit (G10), and the adapter equals gm.fit ------------------------


def Xdigits():
    from sklearn.datasets import load_digits

    X, _ = load_digits(return_X_y=True)
    return X / 16


def test_k_partial_fit_calls_equal_one_fit_with_momentum():
    """G10: the velocities carry over between partial_fit calls (as do the chains and the
    generator), so k calls over X are the k passes of one fit over the same mini-batches."""
    X = digits_binary()[0][:150]
    params = dict(n_components=10, batch_size=20, momentum=0.7, weight_decay=1e-3, random_state=3)
    one = RBM(n_iter=4, **params).fit(X)
    split = RBM(**params)
    for _ in range(4):
        split.partial_fit(X)
    for attr in ("components_", "intercept_hidden_", "intercept_visible_", "h_samples_"):
        np.testing.assert_allclose(getattr(split, attr), getattr(one, attr), rtol=1e-6, atol=1e-7, err_msg=attr)
    # negative control: the same calls with the velocity dropped between them (the bug) differ
    dropped = RBM(**params)
    for _ in range(4):
        dropped.partial_fit(X)
        dropped._state["velocity"] = {}
    assert np.abs(dropped.components_ - one.components_).max() > 1e-3


def test_the_adapter_trains_what_gm_fit_trains():
    X = digits_binary()[0][:200]
    options = dict(k=2, batch_size=16, momentum=0.5, weight_decay=1e-3)
    est = RBM(n_components=12, n_iter=3, learning_rate=0.05, random_state=5, **options).fit(X)
    s = np.random.RandomState(5).randint(0, 2**31 - 1)
    prog = gm.compile(gm.rbm(64, 12, seed=s, data=X), dtype=np.float64, seed=s)
    chains = np.zeros((16, prog.n_columns), np.float64)
    rng = np.random.default_rng(s)
    gm.fit(prog, X, epochs=3, lr=0.05, rule="pcd", chains=16, persistent=chains, seed=rng, monitors=(), **options)
    dt = X.dtype  # attributes in the data's dtype, computed in float64
    np.testing.assert_array_equal(est.components_, prog.params["v~h.weight"].T.astype(dt))
    np.testing.assert_array_equal(est.intercept_hidden_, prog.params["h.bias"].astype(dt))
    np.testing.assert_array_equal(est.intercept_visible_, prog.params["v.bias"].astype(dt))


# -- sparse input ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csr", "csc", "lil"])
def test_sparse_input_trains_the_dense_model_one_mini_batch_at_a_time(fmt, monkeypatch):
    import scipy.sparse

    import graphmrf.sklearn as gs

    X = digits_binary()[0][:130]
    sizes = []
    real = gs._fit

    def spy(program, data, **kw):
        sizes.append(np.shape(data)[0])
        return real(program, data, **kw)

    params = dict(n_components=8, batch_size=20, n_iter=2, momentum=0.5, mean_field=True, random_state=0)
    dense = RBM(**params).fit(X)
    monkeypatch.setattr(gs, "_fit", spy)
    sparse = RBM(**params).fit(scipy.sparse.csr_matrix(X).asformat(fmt))
    assert max(sizes) == 20 and len(sizes) == 2 * 7  # 7 mini-batches per pass, densified one by one
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(sparse.h_samples_, dense.h_samples_)
    S = scipy.sparse.csr_matrix(X[:30])
    np.testing.assert_allclose(sparse.transform(S), sparse.transform(X[:30]), rtol=1e-6)
    np.testing.assert_allclose(sparse.score_samples(S), sparse.score_samples(X[:30]), rtol=1e-12)


def test_score_samples_fast_path_equals_the_generic_pseudo_likelihood():
    from graphmrf.sklearn import _pseudo_log_likelihood

    rng = np.random.default_rng(0)
    for nv, nh, scale in [(7, 3, 1.0), (12, 9, 3.0), (30, 1, 0.5)]:
        prog = gm.compile(gm.rbm(nv, nh, seed=int(rng.integers(100)), scale=scale), dtype=np.float64)
        for key in ("v.bias", "h.bias"):
            prog.params[key][...] = rng.normal(0, scale, prog.params[key].shape)
        V = (rng.random((25, nv)) < 0.4).astype(np.float64)
        p = prog.params
        fast = _pseudo_log_likelihood(p["v~h.weight"], p["v.bias"], p["h.bias"], V)
        np.testing.assert_allclose(fast, gm.exact.pseudo_log_likelihood(prog, V, reduce="none"), rtol=1e-10)


# -- the scikit-learn surface: parameter checks, every parameter reaches fit (A3), names ---------


def test_parameters_are_checked_by_scikit_learns_constraints():
    from sklearn.utils._param_validation import InvalidParameterError

    X = digits_binary()[0][:20]
    for bad, pattern in [
        (dict(n_components=0), r"'n_components' parameter of RBM must be an int in the range \[1, inf\)\. Got 0"),
        (dict(visible="spin"), r"'visible' parameter of RBM must be a str among \{.*'binary'.*\}\. Got 'spin'"),
        (dict(momentum=1.0), r"'momentum' parameter of RBM must be a float in the range \[0(\.0)?, 1(\.0)?\)\. Got 1"),
        (dict(n_chains=2.5), r"'n_chains' parameter of RBM must be an int in the range \[1, inf\) or None\. Got 2\.5"),
    ]:
        for method in ("fit", "partial_fit"):
            with pytest.raises(InvalidParameterError, match=pattern) as info:
                getattr(RBM(**bad), method)(X)
            assert isinstance(info.value, ValueError)


BASE = dict(n_components=4, n_iter=2, random_state=0)
CHANGED = dict(
    n_components=5,
    visible="gaussian",
    learning_rate=0.05,
    batch_size=7,
    n_iter=3,
    rule="cd",
    k=2,
    n_chains=4,
    momentum=0.5,
    weight_decay=0.01,
    mean_field=True,
    strict=True,
    verbose=1,
    random_state=1,
)


def _canonical(obj):
    """A comparable stand-in for what graphmrf.fit receives (arrays by value, generators by state)."""
    if isinstance(obj, np.ndarray):
        return ("array", obj.shape, str(obj.dtype), obj.tobytes())
    if isinstance(obj, np.random.Generator):
        return ("generator", repr(obj.bit_generator.state))
    if isinstance(obj, gm.Program):
        return ("program", str(obj.dtype), tuple(L.kind.name for L in obj.layers), _canonical(dict(obj.params)))
    if isinstance(obj, dict):
        return tuple(sorted((k, _canonical(v)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)):
        return tuple(_canonical(v) for v in obj)
    if callable(obj):
        return ("function",)
    return obj


def _received(monkeypatch, X, params):
    import warnings

    import graphmrf.sklearn as gs

    calls, real = [], gs._fit

    def spy(program, data, **kw):
        calls.append(_canonical((program, data, kw)))
        return real(program, data, **kw)

    monkeypatch.setattr(gs, "_fit", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.DataRangeWarning)
        try:
            RBM(**params).fit(X)
        except ValueError as exc:  # strict: fit never called
            calls.append(("raised", str(exc)))
    return calls


def test_every_parameter_of_the_signature_has_a_changed_value():
    import inspect

    names = set(inspect.signature(RBM).parameters)
    assert names == set(CHANGED)
    defaults = {k: p.default for k, p in inspect.signature(RBM).parameters.items()}
    assert all(CHANGED[k] != defaults[k] and CHANGED[k] != BASE.get(k, defaults[k]) for k in names)


@pytest.mark.parametrize("name", sorted(CHANGED))
def test_every_parameter_reaches_fit(name, monkeypatch, capsys):
    """A3: each parameter set to another value changes what graphmrf.fit receives."""
    X = digits_binary()[0][:30]
    if name == "strict":  # strictness shows on data out of range: warned and clipped, or refused
        X = X.copy()
        X[0, 0] = 1.5
    before = _received(monkeypatch, X, BASE)
    after = _received(monkeypatch, X, {**BASE, name: CHANGED[name]})
    assert before and after and before != after


def test_feature_names_and_verbose_line(capsys):
    X = digits_binary()[0][:40]
    rbm = RBM(n_components=3, n_iter=2, verbose=1, random_state=0).fit(X)
    np.testing.assert_array_equal(rbm.get_feature_names_out(), ["rbm0", "rbm1", "rbm2"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert all(line.startswith(f"[RBM] Iteration {i + 1}, pseudo-likelihood = -") for i, line in enumerate(lines))
    reported = float(lines[-1].split("= ")[1].split(",")[0])
    assert reported == pytest.approx(rbm.score_samples(X).mean(), abs=0.005)
