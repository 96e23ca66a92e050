"""The contract, driven by hypothesis: every public function called with one argument
replaced by a random -- mostly invalid -- value either does its job or raises a
GraphMRFError, ValueError or TypeError whose message names that argument. Never a raw
NumPy, json or XML error, never a hang (values stay small: a valid count of 4 runs fast).

The explicit corpus keeps every case of the hardening issue as an ``@example``.
"""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import graphmrf as gm
from graphmrf import exact, learn

ALLOWED = (gm.GraphMRFError, ValueError, TypeError)


def _prog():
    return gm.compile(gm.rbm(4, 3, seed=0, scale=0.5), seed=0)


def _data():
    return np.array([[1, 0, 1, 0], [0, 1, 1, 1]], dtype=float)


# function, the valid call as (args, kwargs) given a fresh program, and the arguments to vary
CALLS = {
    "sample": (
        gm.sample,
        lambda p: ((p, 3), dict(chains=2, seed=0)),
        [
            "n_sweeps",
            "chains",
            "burn_in",
            "thin",
            "method",
            "beta",
            "seed",
            "progress",
            "record_energy",
            "init",
            "clamp",
        ],
    ),
    "fit": (
        gm.fit,
        lambda p: ((p, _data()), dict(epochs=1, monitors=(), seed=0)),
        [
            "epochs",
            "lr",
            "rule",
            "k",
            "batch_size",
            "chains",
            "momentum",
            "weight_decay",
            "positive_sweeps",
            "monitors",
            "seed",
            "progress",
            "callbacks",
            "mean_field",
            "sigma_bounds",
            "monitor_every",
            "stop_when",
            "validation",
            "persistent",
            "state",
        ],
    ),
    "impute": (
        gm.impute,
        lambda p: ((p, np.array([[1, np.nan, 0, 1]])), dict(n_sweeps=4, burn_in=1, seed=0)),
        ["n_sweeps", "burn_in", "chains_per_row", "seed", "return_samples"],
    ),
    "log_partition": (exact.log_partition, lambda p: ((p,), {}), ["beta", "max_states"]),
    "marginals": (exact.marginals, lambda p: ((p,), {}), ["beta", "max_states"]),
    "log_likelihood": (exact.log_likelihood, lambda p: ((p, _data()), {}), ["reduce", "max_states"]),
    "contrastive_divergence": (
        learn.contrastive_divergence,
        lambda p: ((p, _data(), 0), {}),
        ["k", "mean_field", "positive_sweeps", "chains"],
    ),
    "rbm": (
        gm.rbm,
        lambda p: ((4, 3), {}),
        ["n_visible", "n_hidden", "visible", "hidden", "categories", "seed", "scale"],
    ),
    "dbn": (gm.dbn, lambda p: (([4, 3, 2],), {}), ["sizes", "visible", "seed", "scale", "recognition"]),
    "ising": (gm.ising, lambda p: ((3,), {}), ["L", "periodic", "coupling", "field", "kind"]),
    "compile": (gm.compile, lambda p: ((gm.rbm(3, 2),), {}), ["backend", "dtype", "seed"]),
}

VALUES = st.one_of(
    st.integers(-3, 4),
    st.floats(-5, 5),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), np.float32(np.nan), -0.0, 1e300]),
    st.text(max_size=4),
    st.none(),
    st.booleans(),
    st.lists(st.integers(-2, 3), max_size=3),
    st.sampled_from([np.zeros((2, 2)), np.array([1, 2, 3]), np.full((3, 7), np.nan), {"v": 1}, object(), 1 + 2j, b"x"]),
)


def _call(name, arg, value):
    fn, valid, _ = CALLS[name]
    args, kwargs = valid(_prog())
    kwargs = dict(kwargs)
    kwargs[arg] = value
    return (
        fn(*args, **kwargs)
        if arg not in ("n_visible", "n_hidden", "sizes", "L")
        else _positional(fn, args, arg, value, kwargs)
    )


def _positional(fn, args, arg, value, kwargs):
    kwargs.pop(arg)
    index = {"n_visible": 0, "n_hidden": 1, "sizes": 0, "L": 0}[arg]
    args = list(args)
    args[index] = value
    return fn(*args, **kwargs)


PAIRS = [(name, arg) for name, (_, _, args) in CALLS.items() for arg in args]


@pytest.mark.parametrize("name, arg", PAIRS, ids=[f"{n}-{a}" for n, a in PAIRS])
@settings(max_examples=12, deadline=None)
@given(value=VALUES)
def test_a_bad_value_of_one_argument_raises_an_error_naming_it(name, arg, value):
    try:
        with np.errstate(all="raise"):  # a NumPy floating-point slip is a failure too
            _call(name, arg, value)
    except ALLOWED as exc:
        assert arg in str(exc) or name in str(exc), (name, arg, value, exc)


# the issue's cases, kept as explicit examples: each must raise, naming its argument
CORPUS = [
    ("sample", "chains", 0),
    ("fit", "batch_size", 0),
    ("fit", "epochs", -1),
    ("fit", "monitors", "weight_norm"),
    ("fit", "momentum", 1.5),
    ("fit", "lr", 0.0),
    ("sample", "beta", float("nan")),
    ("sample", "beta", -1.0),
    ("log_partition", "beta", float("inf")),
    ("rbm", "n_visible", -2),
    ("compile", "dtype", np.float16),
    ("fit", "rule", "gibbs"),
]


@pytest.mark.parametrize("name, arg, value", CORPUS, ids=[f"{n}-{a}-{v!r}" for n, a, v in CORPUS])
def test_every_case_of_the_issue_raises_an_error_naming_its_argument(name, arg, value):
    with pytest.raises(ALLOWED) as info:
        _call(name, arg, value)
    assert arg in str(info.value), str(info.value)


@given(value=VALUES)
@settings(max_examples=30, deadline=None)
@example(value=np.array([[0, 2, 0, 2]]))
@example(value=np.full((2, 4), 255.0))
@example(value=np.array([[0, 1, np.inf, 0]]))
def test_training_data_either_train_or_are_refused_by_name(value):
    prog = _prog()
    try:
        gm.fit(prog, value, epochs=1, rule="cd", monitors=(), seed=0)
    except ALLOWED as exc:
        assert "data" in str(exc), exc
    else:  # what trained was valid data: binary values in [0, 1] (or NaN), shape (n, 4)
        arr = np.asarray(value, dtype=float)
        assert arr.ndim == 2 and arr.shape[1] == 4 and np.all(np.isnan(arr) | ((arr >= 0) & (arr <= 1)))
