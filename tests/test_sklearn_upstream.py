"""scikit-learn's own ``BernoulliRBM`` tests, run against :class:`graphmrf.sklearn.RBM`.

The module ``sklearn.neural_network.tests.test_rbm`` is imported from the installed
scikit-learn, never copied: each of its test functions becomes a test of this module (same
name, same parameters and fixtures) that runs with the upstream module's name
``BernoulliRBM`` bound to :class:`BernoulliRBM` below, our estimator under scikit-learn's
signature.

Parameter mapping (``BernoulliRBM`` -> ``graphmrf.sklearn.RBM``):

* ``n_components``, ``learning_rate``, ``batch_size``, ``n_iter``, ``verbose``,
  ``random_state``: the same names and meanings (the verbose line names the class, as
  BernoulliRBM's does);
* BernoulliRBM's algorithm, fixed: ``visible="binary"``, ``rule="pcd"``, ``k=1``,
  ``n_chains=None`` (as many persistent chains as ``batch_size``), ``momentum=0``,
  ``weight_decay=0``, ``mean_field=True`` (its free phase takes ``p(h | v)`` of the chains,
  ``h_neg = _mean_hiddens(v_neg)``), ``strict=False``.

Differences the tests do not see: our visible biases start at the logit of the data means
(BernoulliRBM's at 0); ``score_samples`` is the exact pseudo-log-likelihood over every site
(BernoulliRBM's is a one-random-site estimate with that expectation on 0/1 data); data
outside [0, 1] are clipped with a :class:`~graphmrf.sklearn.DataRangeWarning` where
BernoulliRBM accepts them silently -- the tests here ignore that warning. ``test_fit`` and
``test_partial_fit`` accept a mean pseudo-log-likelihood within 1.5 of BernoulliRBM's -21 on
either side; ours reaches -20.0 and -21.5 there (-19.6 to -19.9 at seeds 0-4 in ``test_fit``),
so a better-trained model could leave that window at the top.

``EXCLUDED`` lists the tests that cannot pass, each with its reason and a check that the
reason still holds: the upstream test passes with scikit-learn's own estimator, fails with
ours exactly as the reason says (and the test is then reported as skipped with the reason).
"""

import functools
import linecache
import traceback

import pytest

pytest.importorskip("sklearn")
upstream = pytest.importorskip("sklearn.neural_network.tests.test_rbm")

from sklearn.neural_network import BernoulliRBM as ScikitLearnBernoulliRBM  # noqa: E402

from graphmrf.sklearn import RBM  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::graphmrf.sklearn.DataRangeWarning")


class BernoulliRBM(RBM):
    """graphmrf's RBM with BernoulliRBM's signature and algorithm (see the module docstring)."""

    def __init__(self, n_components=256, *, learning_rate=0.1, batch_size=10, n_iter=10, verbose=0, random_state=None):
        super().__init__(
            n_components,
            visible="binary",
            learning_rate=learning_rate,
            batch_size=batch_size,
            n_iter=n_iter,
            rule="pcd",
            k=1,
            n_chains=None,
            momentum=0.0,
            weight_decay=0.0,
            mean_field=True,
            strict=False,
            verbose=verbose,
            random_state=random_state,
        )


def _with(estimator, test):
    """``test`` run with the upstream module's ``BernoulliRBM`` bound to ``estimator``."""

    @functools.wraps(test)  # keeps the upstream marks (parametrize) and signature (fixtures)
    def run(*args, **kwargs):
        saved = upstream.BernoulliRBM
        upstream.BernoulliRBM = estimator
        try:
            return test(*args, **kwargs)
        finally:
            upstream.BernoulliRBM = saved

    return run


def _code(test, field):
    """Every entry of ``co_names`` or ``co_consts`` in ``test``, nested code (comprehensions) included."""
    found, todo = set(), [test.__code__]
    while todo:
        code = todo.pop()
        found.update(getattr(code, field))
        todo.extend(c for c in code.co_consts if hasattr(c, "co_code"))
    return found


def _calls_private(*names):
    """Reason: the test calls BernoulliRBM's private methods ``names``, which ours lacks."""

    def holds(test, excinfo):
        assert set(names) <= _code(test, "co_names"), f"{test.__name__} no longer calls {names}"
        assert excinfo.type is AttributeError and f"'{names[0]}'" in str(excinfo.value), excinfo.value

    return AttributeError, holds


def _expects_numbers(*values):
    """Reason: the test compares with numbers BernoulliRBM's implementation gives at one seed
    (a different, equally valid training run gives others)."""

    def holds(test, excinfo):
        assert set(values) <= _code(test, "co_consts"), f"{test.__name__} no longer holds {values}"
        # the assertion that failed is the one holding those numbers, in the test itself
        frame = [f for f in traceback.extract_tb(excinfo.tb) if f.name == test.__name__][-1]
        lines = range(frame.lineno, (frame.end_lineno or frame.lineno) + 1)
        source = "".join(linecache.getline(frame.filename, n) for n in lines)
        assert all(repr(v) in source for v in values), source

    return AssertionError, holds


EXCLUDED = {
    "test_transform": ("calls the private method _mean_hiddens", _calls_private("_mean_hiddens")),
    "test_sample_hiddens": (
        "calls the private methods _mean_hiddens and _sample_hiddens",
        _calls_private("_mean_hiddens", "_sample_hiddens"),
    ),
    "test_fit_gibbs": (
        "expects the weights BernoulliRBM learns at its seed, [[0.02649814], [0.02009084]] (ours learns others)",
        _expects_numbers(0.02649814, 0.02009084),
    ),
}


def _excluded(test, reason, expected):
    """Check that the reason for excluding ``test`` still holds, then skip it with the reason."""
    error, holds = expected

    @functools.wraps(test)
    def run(*args, **kwargs):
        _with(ScikitLearnBernoulliRBM, test)(*args, **kwargs)  # the upstream test itself is sound
        with pytest.raises(error) as excinfo:
            _with(BernoulliRBM, test)(*args, **kwargs)
        holds(test, excinfo)
        pytest.skip(f"excluded (reason checked): {reason}")

    return run


UPSTREAM = sorted(name for name, f in vars(upstream).items() if name.startswith("test_") and callable(f))

for _name in UPSTREAM:
    _test = getattr(upstream, _name)
    globals()[_name] = _excluded(_test, *EXCLUDED[_name]) if _name in EXCLUDED else _with(BernoulliRBM, _test)


def test_the_excluded_tests_exist_upstream():
    assert set(EXCLUDED) <= set(UPSTREAM) and len(UPSTREAM) >= 14


def test_the_mapped_estimator_keeps_bernoulli_rbms_signature():
    import inspect

    ours = inspect.signature(BernoulliRBM).parameters
    theirs = inspect.signature(ScikitLearnBernoulliRBM).parameters

    def described(params):
        return [(p.name, p.kind, p.default) for p in params.values()]

    assert described(ours) == described(theirs)
    params = BernoulliRBM(batch_size=7).get_params()
    assert params == ScikitLearnBernoulliRBM(batch_size=7).get_params()
