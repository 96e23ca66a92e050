"""Symbolic derivations against brute-force sums, integrals and finite differences."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from graphmrf import symbolic
from graphmrf.kinds import get_kind

finite = st.floats(-6, 6, allow_nan=False)
scale = st.floats(-1.5, 1.5, allow_nan=False)
betas = st.floats(0.2, 3.0)


def _p(**kw):
    return {k: np.array([v], dtype=np.float64) for k, v in kw.items()}


def test_binary_templates_are_the_textbook_formulas():
    d = symbolic.derive(get_kind("binary"))
    from graphmrf.kinds import BETA, BIAS, X

    assert sp.simplify(d.logit_exprs[0] - BETA * (BIAS + X)) == 0
    assert str(d.log_partition_expr) == "softplus(beta*(bias + x))"
    assert d.score_exprs["bias"] == get_kind("binary").statistic


@pytest.mark.parametrize("name", ["binary", "spin"])
@settings(max_examples=40, deadline=None)
@given(x=finite, bias=finite, beta=betas)
def test_discrete_log_partition_is_the_brute_force_sum(name, x, bias, beta):
    ops = symbolic.derive(get_kind(name)).numeric(np)
    support = get_kind(name).support
    brute = np.log(sum(np.exp(beta * (bias * s + s * x)) for s in support))
    got = ops.log_partition(np.array([[x]]), _p(bias=bias), beta, 1)[0, 0]
    assert got == pytest.approx(brute, rel=1e-12, abs=1e-12)
    # the conditional's probability of the high value
    probs = ops.probabilities(ops.conditional(np.array([[x]]), _p(bias=bias), beta, 1))[0, 0]
    w = np.array([np.exp(beta * (bias * s + s * x)) for s in support])
    np.testing.assert_allclose(probs, w / w.sum(), rtol=1e-12)
    # E[T] = d log Z / d x / beta
    h = 1e-6
    fd = (
        (
            ops.log_partition(np.array([[x + h]]), _p(bias=bias), beta, 1)
            - ops.log_partition(np.array([[x - h]]), _p(bias=bias), beta, 1)
        )[0, 0]
        / (2 * h)
        / beta
    )
    assert ops.expected_statistic(np.array([[x]]), _p(bias=bias), beta, 1)[0, 0] == pytest.approx(fd, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(x=st.lists(finite, min_size=4, max_size=4), bias=st.lists(finite, min_size=4, max_size=4), beta=betas)
def test_softmax_log_partition_and_probabilities(x, bias, beta):
    ops = symbolic.derive(get_kind("softmax")).numeric(np)
    xa, ba = np.array([x]), np.array(bias)
    got = ops.log_partition(xa, {"bias": ba}, beta, 4)[0, 0]
    z = beta * (ba + xa[0])
    assert got == pytest.approx(np.log(np.exp(z).sum()), rel=1e-12)
    probs = ops.probabilities(ops.conditional(xa, {"bias": ba}, beta, 4))[0, 0]
    np.testing.assert_allclose(probs, np.exp(z) / np.exp(z).sum(), rtol=1e-10)
    np.testing.assert_allclose(ops.expected_statistic(xa, {"bias": ba}, beta, 4)[0], probs, rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(x=scale, bias=scale, log_sigma=st.floats(-1.0, 1.0), beta=betas)
def test_gaussian_integral_mean_and_variance_by_quadrature(x, bias, log_sigma, beta):
    ops = symbolic.derive(get_kind("gaussian")).numeric(np)
    sig = np.exp(log_sigma)
    grid = np.linspace(bias + sig * x - 14 * sig / np.sqrt(beta), bias + sig * x + 14 * sig / np.sqrt(beta), 40001)
    ell = beta * (-((grid - bias) ** 2) / (2 * sig**2) + grid / sig * x)
    w = np.exp(ell - ell.max())
    dx = grid[1] - grid[0]
    logz = ell.max() + np.log(w.sum() * dx)
    p = _p(bias=bias, log_sigma=log_sigma)
    assert ops.log_partition(np.array([[x]]), p, beta, 1)[0, 0] == pytest.approx(logz, abs=1e-6)
    cond = ops.conditional(np.array([[x]]), p, beta, 1)
    mean = (grid * w).sum() / w.sum()
    var = ((grid - mean) ** 2 * w).sum() / w.sum()
    assert cond["mean"][0, 0] == pytest.approx(mean, abs=1e-6)
    assert cond["var"][0, 0] == pytest.approx(var, rel=1e-5)
    # expected scores equal quadrature averages of the scores
    sc = ops.score(grid[None, :], np.full((1, grid.size), x), {k: np.full(grid.size, v[0]) for k, v in p.items()})
    es = ops.expected_score(np.array([[x]]), p, beta, 1)
    for k in sc:
        assert es[k][0, 0] == pytest.approx((sc[k][0] * w).sum() / w.sum(), abs=1e-5)


@pytest.mark.parametrize("name", ["binary", "spin", "softmax", "gaussian"])
@settings(max_examples=25, deadline=None)
@given(s=finite, x=finite, bias=finite, log_sigma=st.floats(-1, 1))
def test_scores_are_minus_energy_derivatives(name, s, x, bias, log_sigma):
    """score(theta) = d/dtheta [-f(s; theta) + T(s; theta) x], by central differences."""
    kind = get_kind(name)
    ops = symbolic.derive(kind).numeric(np)
    if kind.discrete and not kind.onehot:
        s = float(kind.support[int(abs(s)) % len(kind.support)])
    elif kind.onehot:
        s = float(int(abs(s)) % 2)
    p = {"bias": bias, "log_sigma": log_sigma}
    p = {q.name: p[q.name] for q in kind.params}

    def neg_local(pp):
        arr = {k: np.array([v]) for k, v in pp.items()}
        S = np.array([[s]])
        return (-ops.self_energy(S, arr) + ops.statistic(S, arr) * x)[0, 0]

    sc = ops.score(np.array([[s]]), np.array([[x]]), {k: np.array([v]) for k, v in p.items()})
    for k in p:
        h = 1e-6
        up, dn = dict(p), dict(p)
        up[k] += h
        dn[k] -= h
        fd = (neg_local(up) - neg_local(dn)) / (2 * h)
        assert sc[k][0, 0] == pytest.approx(fd, rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("name", ["binary", "spin", "softmax", "gaussian"])
def test_float32_stays_finite_and_accurate_for_large_inputs(name):
    kind = get_kind(name)
    ops = symbolic.derive(kind).numeric(np)
    x = np.array([[-1e4, -88.0, 0.0, 88.0, 1e4, 1e4]], dtype=np.float32)
    params = {q.name: np.zeros(6, np.float32) for q in kind.params}
    width = 2 if kind.onehot else 1
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        lz = ops.log_partition(x, params, np.float32(1.0), width)
        cond = ops.conditional(x, params, np.float32(1.0), width)
        es = ops.expected_statistic(x, params, np.float32(1.0), width)
    assert lz.dtype == np.float32 and np.all(np.isfinite(lz)) and np.all(np.isfinite(es))
    if name == "binary":
        np.testing.assert_allclose(
            lz[0], [0.0, np.log1p(np.exp(-88.0)), np.log(2), 88.0, 1e4, 1e4], rtol=1e-6, atol=1e-30
        )
        np.testing.assert_allclose(
            es[0], [0, 1 / (1 + np.exp(88.0)), 0.5, 1 / (1 + np.exp(-88.0)), 1, 1], rtol=1e-6, atol=1e-37
        )
    if name == "spin":
        np.testing.assert_allclose(lz[0], [1e4, 88.0, np.log(2), 88.0, 1e4, 1e4], rtol=1e-6)
    for v in cond.values():
        assert np.all(np.isfinite(v))


def test_derivations_are_cached_per_kind_and_backend():
    d = symbolic.derive(get_kind("binary"))
    assert symbolic.derive(get_kind("binary")) is d
    before = symbolic.lambdify_calls
    assert d.numeric(np) is d.numeric(np)
    assert symbolic.lambdify_calls == before


def test_a_new_kind_needs_no_sampler_changes():
    from graphmrf.kinds import BIAS, Kind, Param, S, register

    tern = register(
        Kind("ternary_test", support=(-1, 0, 1), self_energy=-BIAS * S, statistic=S, params=(Param("bias"),))
    )
    ops = symbolic.derive(tern).numeric(np)
    x = np.array([[0.3]])
    lz = ops.log_partition(x, {"bias": np.array([0.2])}, 1.0, 1)[0, 0]
    assert lz == pytest.approx(np.log(sum(np.exp(0.5 * s) for s in (-1, 0, 1))))
    rng = np.random.default_rng(0)
    draws = ops.draw(
        ops.conditional(np.full((20000, 1), 0.3), {"bias": np.array([0.2])}, 1.0, 1),
        lambda s: rng.random(s),
        lambda s: rng.standard_normal(s),
        1,
    )
    w = np.exp(0.5 * np.array([-1, 0, 1]))
    freq = np.array([(draws == v).mean() for v in (-1, 0, 1)])
    # 5 standard errors on each frequency: false-positive rate below 1e-5
    assert np.all(np.abs(freq - w / w.sum()) < 5 * np.sqrt(w / w.sum() * (1 - w / w.sum()) / 20000))


def test_real_kind_must_be_quadratic_with_negative_curvature():
    from graphmrf.kinds import BIAS, Kind, Param, S

    bad = Kind("bad_test", support="real", self_energy=-(S**2) + BIAS * S, statistic=S, params=(Param("bias"),))
    with pytest.raises(ValueError, match="negative"):
        symbolic.derive(bad)
