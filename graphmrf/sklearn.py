"""scikit-learn estimators over graphmrf's RBM: fit, transform, score, sample.

A thin adapter: the model is an ordinary two-node graph, trained by :func:`graphmrf.fit`
(PCD by default, persistent chains independent of the batch size, each phase averaged
over its own count), so it can sit in a ``Pipeline``. It passes scikit-learn's own
``BernoulliRBM`` tests apart from those that call BernoulliRBM's private methods or
expect its seed-specific numbers (``tests/test_sklearn_upstream.py`` lists them).

>>> import numpy as np
>>> from graphmrf.sklearn import RBM
>>> X = (np.random.default_rng(0).random((40, 6)) < 0.3).astype(np.float32)
>>> rbm = RBM(n_components=3, n_iter=2, random_state=0).fit(X)
>>> rbm.transform(X).shape, rbm.transform(X).dtype
((40, 3), dtype('float32'))
>>> rbm.get_feature_names_out()
array(['rbm0', 'rbm1', 'rbm2'], dtype=object)
"""

import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse
from scipy.optimize import minimize_scalar
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    _validate_data = None

from . import deep_belief as _deep_belief
from .arguments import COUNT, Integer, checked
from .builders import rbm as _rbm_graph
from .compile import compile as _compile
from .samplers.gibbs import block_gibbs
from .train import fit as _fit

__all__ = ["RBM", "DataRangeWarning"]

_CHUNK = 4096  # rows of sparse input densified at a time outside training
_PROBE = 256  # rows whose pseudo-likelihood the verbose line reports


class DataRangeWarning(UserWarning):
    """Data outside the visible units' range (binary units read values in [0, 1]).

    :class:`RBM` and :class:`DBNClassifier` issue it, then read the values clipped to
    [0, 1]; with ``strict=True`` they raise ``ValueError`` instead.

    Examples
    --------
    >>> import warnings, numpy as np
    >>> X = np.random.default_rng(0).random((10, 4)) * 2            # values up to 2
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = RBM(n_components=2, n_iter=1, random_state=0).fit(X)
    >>> [w.category.__name__ for w in caught]
    ['DataRangeWarning']
    """


def _pseudo_log_likelihood(W, b, c, V):
    r"""Per-row exact pseudo-log-likelihood ``sum_i log p(v_i | v_-i)`` of 0/1 rows ``V``
    under an RBM with 0/1 units (weights ``W`` (visible, hidden), biases ``b``, ``c``).

    ``log p(v_i | v_-i) = log sigmoid(F(v^i) - F(v))`` with ``v^i`` the row with unit ``i``
    flipped and ``F(v) = -b.v - sum_j softplus(c_j + v.W_j)``; a flip moves every hidden
    input by ``(1 - 2 v_i) W_ij``, so all sites cost one pass over (rows, visible, hidden)
    instead of two free energies per site (:func:`graphmrf.exact.pseudo_log_likelihood`,
    which gives the same numbers for any model). float64 throughout.
    """
    W, b, c = (np.asarray(a, dtype=np.float64) for a in (W, b, c))
    V = np.asarray(V, dtype=np.float64)
    x = V @ W + c
    flip = 1.0 - 2.0 * V  # the change of each unit when flipped
    base = np.logaddexp(0.0, x).sum(axis=1)
    out = np.empty(V.shape[0])
    step = max(1, (1 << 22) // max(1, W.size))  # rows per block of at most 4M entries
    for r0 in range(0, V.shape[0], step):
        r = slice(r0, r0 + step)
        moved = np.logaddexp(0.0, x[r, None, :] + flip[r, :, None] * W[None]).sum(axis=2)
        gap = -flip[r] * b - (moved - base[r, None])  # F(v^i) - F(v)
        out[r] = -np.logaddexp(0.0, -gap).sum(axis=1)
    return out


def _dense_rows(X):
    """``(rows, dense block)`` pieces of X: dense input whole, sparse input ``_CHUNK`` rows at a time."""
    if not scipy.sparse.issparse(X):
        yield slice(0, X.shape[0]), X
        return
    for r0 in range(0, X.shape[0], _CHUNK):
        rows = slice(r0, min(r0 + _CHUNK, X.shape[0]))
        yield rows, X[rows].toarray()


class RBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""Restricted Boltzmann machine with binary hidden units (scikit-learn API).

    ``E(v, h) = -v^T W h - b^T v - c^T h`` (binary visible units; gaussian visible units
    have ``sum_i (v_i - b_i)^2 / (2 sigma_i^2)`` instead of ``-b^T v`` and couple through
    ``v_i / sigma_i``), trained by gradient ascent on the log-likelihood with
    :func:`graphmrf.fit`:
    ``delta = momentum * delta + learning_rate * (grad - weight_decay * W)``.

    Parameters
    ----------
    n_components : int
        Number of hidden units.
    visible : {"binary", "gaussian"}
        Visible units: binary (data in [0, 1], read as probabilities) or gaussian (each
        scale ``sigma_i`` starts at 1 and is learned; standardise the data first).
    learning_rate : float
        Gradient step (> 0).
    batch_size : int
        Mini-batch size; a short last batch is used as is.
    n_iter : int
        Passes over the data in :meth:`fit` (each pass visits the rows in a new random
        order when there is more than one batch).
    rule : {"pcd", "cd"}
        Persistent contrastive divergence or CD-k.
    k : int
        Gibbs sweeps per update in the free phase.
    n_chains : int, optional
        Persistent chains (default: ``batch_size``, as BernoulliRBM keeps). They start at
        the all-zero state (as BernoulliRBM's do): the first sweep draws the visible units
        from their biases, set from the data's means.
    momentum : float in [0, 1)
        Fraction of the previous step added to each step. The velocities, like the
        persistent chains, carry over from one :meth:`partial_fit` call to the next.
    weight_decay : float
        L2 penalty on the weights (not the biases).
    mean_field : bool, optional
        Free-phase hidden statistics from ``p(h | v)`` of the chains (BernoulliRBM's rule)
        instead of their sampled values; default as :func:`graphmrf.fit` (sampled for PCD:
        on the digits they give better features for a classifier, a logistic regression on 64
        hidden units scores about 0.88 against 0.82, over 4 seeds).
    strict : bool
        Raise instead of warn when binary visible data leave [0, 1] (without it such
        values are clipped, with a :class:`DataRangeWarning`).
    verbose : int
        When nonzero, print after each pass BernoulliRBM's line, ``[RBM] Iteration i,
        pseudo-likelihood = ..., time = ...s``: the mean exact pseudo-log-likelihood
        (:meth:`score_samples`) of up to 256 evenly spaced training rows, and the pass's time.
    random_state : int, RandomState or None
        Seeds the initial weights and every draw of the training. The model is computed in
        float64 whatever the data's dtype (attributes and outputs come back in the data's
        dtype), so float32 and float64 data with the same seed give the same model.

    Attributes
    ----------
    components_ : array (n_components, n_features)
        Weights (rows: hidden units), as in scikit-learn's BernoulliRBM.
    intercept_hidden_ : array (n_components,)
    intercept_visible_ : array (n_features,)
    h_samples_ : array (n_chains, n_components)
        Hidden units of the persistent chains.
    program_ : graphmrf.Program
        The compiled model.

    Notes
    -----
    Input may be dense or sparse (CSR, CSC or any SciPy format, converted to CSR); training
    densifies one mini-batch at a time and gives the same model as the dense data. A fit
    equals :func:`graphmrf.fit` on the same graph: ``gm.rbm(n_features, n_components,
    seed=s, data=X)`` compiled in float64 with ``seed=s``, then ``gm.fit(program, X,
    epochs=n_iter, lr=learning_rate, rule=rule, k=k, batch_size=batch_size,
    chains=n_chains, momentum=momentum, weight_decay=weight_decay, mean_field=mean_field,
    persistent=zeros((n_chains, columns)), seed=np.random.default_rng(s), monitors=())``,
    where ``s = check_random_state(random_state).randint(2**31 - 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> X = (np.random.default_rng(0).random((60, 8)) < 0.5).astype(np.float32)
    >>> rbm = RBM(n_components=4, n_iter=3, momentum=0.5, mean_field=True, random_state=0)
    >>> a, b = rbm.fit(X).components_, rbm.fit(X.astype(np.float64)).components_
    >>> a.dtype, b.dtype, bool(np.allclose(a, b, rtol=0, atol=1e-6))
    (dtype('float32'), dtype('float64'), True)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "visible": [StrOptions({"binary", "gaussian"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "rule": [StrOptions({"pcd", "cd"})],
        "k": [Interval(Integral, 1, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left"), None],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "mean_field": ["boolean", None],
        "strict": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=256,
        *,
        visible="binary",
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        rule="pcd",
        k=1,
        n_chains=None,
        momentum=0.0,
        weight_decay=0.0,
        mean_field=None,
        strict=False,
        verbose=0,
        random_state=None,
    ):
        self.n_components = n_components
        self.visible = visible
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.rule = rule
        self.k = k
        self.n_chains = n_chains
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.mean_field = mean_field
        self.strict = strict
        self.verbose = verbose
        self.random_state = random_state

    # -- input -------------------------------------------------------------------------
    def _check(self, X, reset):
        kw = dict(accept_sparse="csr", dtype=(np.float64, np.float32), reset=reset)
        if _validate_data is not None:
            X = _validate_data(self, X, **kw)
        else:  # pragma: no cover
            X = self._validate_data(X, **kw)
        if self.visible == "binary":
            values = X.data if scipy.sparse.issparse(X) else X  # (implicit zeros are in range)
            lo, hi = float(values.min(initial=0)), float(values.max(initial=0))
            if lo < 0 or hi > 1:
                msg = (
                    f"X: binary visible units take values in [0, 1]; got range [{lo}, {hi}] "
                    "(use visible='gaussian' for real-valued data)"
                )
                if self.strict:
                    raise ValueError(msg)
                warnings.warn(msg + "; the values are clipped to [0, 1]", DataRangeWarning, stacklevel=3)
                if scipy.sparse.issparse(X):
                    X = X.copy()
                    np.clip(X.data, 0, 1, out=X.data)
                else:
                    X = np.clip(X, 0, 1)
        return X

    def _init(self, X):
        rs = check_random_state(self.random_state)
        seed = int(rs.randint(0, 2**31 - 1))
        data = None
        if self.visible == "binary":  # the builder sets the visible biases from the column means
            # (sparse input: one row holding the float64 column means)
            data = X if not scipy.sparse.issparse(X) else np.asarray(X.sum(axis=0, dtype=np.float64)) / X.shape[0]
        g = _rbm_graph(X.shape[1], self.n_components, visible=self.visible, seed=seed, data=data)
        # one precision for every input dtype: float32 and float64 data give the same model
        # (the random stream of a float32 program differs from a float64 one's)
        self.program_ = p = _compile(g, dtype=np.float64, seed=seed)
        self._dtype = X.dtype
        self._rng = np.random.default_rng(seed)
        # the training state graphmrf.fit continues from: momentum velocities and PCD chains
        # (the chains start at zero, as BernoulliRBM's: no draw whose stream depends on the dtype)
        chains = np.zeros((self.n_chains or self.batch_size, p.n_columns), dtype=p.dtype)
        self._state = {"velocity": {}, "persistent": chains}

    def _train(self, X, epochs):
        p = self.program_
        report = self._reporter(X) if self.verbose else None
        options = dict(
            lr=self.learning_rate,
            rule=self.rule,
            k=self.k,
            chains=self.n_chains or self.batch_size,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            mean_field=self.mean_field,
            monitors=(),
            seed=self._rng,
            progress=False,
        )
        # (n_iter=0 keeps the initial model: graphmrf.fit runs at least one epoch)
        if epochs and not scipy.sparse.issparse(X):
            callbacks = (report,) if report else ()
            hist = _fit(
                p, X, epochs=epochs, batch_size=self.batch_size, state=self._state, callbacks=callbacks, **options
            )
            self._state = hist.state
        elif epochs:
            # sparse: graphmrf.fit's loop with one densified mini-batch per call, the same
            # draws in the same order (a permutation per pass when there is more than one batch)
            n, bs = X.shape[0], self.batch_size
            for _ in range(epochs):
                order = self._rng.permutation(n) if bs < n else np.arange(n)
                for b0 in range(0, n, bs):
                    hist = _fit(p, X[order[b0 : b0 + bs]].toarray(), epochs=1, state=self._state, **options)
                    self._state = hist.state
                if report:
                    report(p, hist)
        self._publish()
        return self

    def _reporter(self, X):
        """BernoulliRBM's verbose line after each pass, with the exact pseudo-likelihood of
        up to ``_PROBE`` evenly spaced rows (cheap next to a pass over large data)."""
        n = X.shape[0]
        probe = X[np.unique(np.linspace(0, n - 1, min(n, _PROBE)).astype(np.intp))]
        clock = {"pass": 0, "start": time.perf_counter()}

        def report(program, history):
            clock["pass"] += 1
            elapsed = time.perf_counter() - clock["start"]
            pll = float(np.mean(self._score(probe)))
            name = type(self).__name__
            line = f"[{name}] Iteration {clock['pass']}, pseudo-likelihood = {pll:.2f}, time = {elapsed:.2f}s"
            print(line, flush=True)
            clock["start"] = time.perf_counter()

        return report

    def _publish(self):
        p = self.program_
        dt = self._dtype  # the fitted data's dtype (the model itself is float64)
        self.components_ = np.asarray(p.params["v~h.weight"]).T.astype(dt)
        self.intercept_hidden_ = np.asarray(p.params["h.bias"]).astype(dt)
        self.intercept_visible_ = np.asarray(p.params["v.bias"]).astype(dt)
        self.h_samples_ = np.asarray(self._state["persistent"])[:, p.columns("h")].astype(dt)

    @property
    def _n_features_out(self):  # for get_feature_names_out: rbm0, rbm1, ...
        return self.components_.shape[0]

    # -- scikit-learn API ----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train on X (n_samples, n_features), dense or sparse, for ``n_iter`` passes from a
        fresh model; returns self.

        Parameters
        ----------
        X : array or sparse matrix (n_samples, n_features)
            Training rows (binary units: values in [0, 1], read as probabilities).
        y : None
            Ignored (scikit-learn's signature for pipelines).

        Returns
        -------
        RBM
            ``self``, fitted: ``components_``, the intercepts, ``h_samples_``, ``program_``.

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError
            (a ValueError) when a parameter breaks its rule in ``_parameter_constraints``;
            the message names the parameter, the rule and the value.
        ValueError
            With ``strict=True``, when binary visible data leave [0, 1]; for data with NaN
            or no rows (scikit-learn's checks).

        Examples
        --------
        >>> X = (np.random.default_rng(0).random((30, 6)) < 0.4).astype(np.float64)
        >>> rbm = RBM(n_components=3, n_iter=2, random_state=0).fit(X)
        >>> rbm.components_.shape, rbm.intercept_hidden_.shape, rbm.h_samples_.shape
        ((3, 6), (3,), (10, 3))
        """
        X = self._check(X, reset=True)
        self._init(X)
        return self._train(X, self.n_iter)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One pass over X in mini-batches, continuing from the current state; returns self.

        The state carried from call to call is the whole training state: parameters,
        persistent chains, momentum velocities and the random generator. So ``k`` calls on
        X equal one :meth:`fit` with ``n_iter=k`` (and calls on single mini-batches equal
        the updates of one pass over them, in that order).

        Parameters
        ----------
        X : array or sparse matrix (n_samples, n_features)
            Rows of this pass (the first call fixes ``n_features``).
        y : None
            Ignored.

        Returns
        -------
        RBM
            ``self``.

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError
            (a ValueError) when a parameter breaks its rule.
        ValueError
            With ``strict=True``, when binary visible data leave [0, 1]; for data of
            another width than the first call's, with NaN, or without rows.

        Examples
        --------
        Two calls equal one fit of two passes:

        >>> X = (np.random.default_rng(0).random((30, 6)) < 0.4).astype(np.float64)
        >>> a = RBM(n_components=3, n_iter=2, random_state=0).fit(X)
        >>> b = RBM(n_components=3, random_state=0).partial_fit(X).partial_fit(X)
        >>> bool(np.array_equal(a.components_, b.components_))
        True
        """
        first = not hasattr(self, "program_")
        X = self._check(X, reset=first)
        if first:
            self._init(X)
        return self._train(X, 1)

    def _full(self, X):
        p = self.program_
        s = np.zeros((X.shape[0], p.n_columns), dtype=p.dtype)
        s[:, p.columns("v")] = X
        return s

    def _hidden_block(self):
        return next(i for i, b in enumerate(self.program_.blocks) if b[0].layer.name == "h")

    def transform(self, X):
        """Hidden-unit activation probabilities ``p(h_j = 1 | v) = sigmoid(c_j + v^T W_j)``.

        Parameters
        ----------
        X : array or sparse matrix (n_samples, n_features)
            Visible rows.

        Returns
        -------
        array (n_samples, n_components)
            In ``X``'s float type (float32 or float64).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            For data of the wrong width, with NaN, or (``strict=True``) outside [0, 1].

        Examples
        --------
        >>> X = (np.random.default_rng(0).random((30, 6)) < 0.4).astype(np.float32)
        >>> H = RBM(n_components=3, n_iter=2, random_state=0).fit(X).transform(X)
        >>> H.shape, H.dtype, bool(np.all((H > 0) & (H < 1)))
        ((30, 3), dtype('float32'), True)
        """
        check_is_fitted(self)
        X = self._check(X, reset=False)
        p, hb = self.program_, self._hidden_block()
        out = np.empty((X.shape[0], self.n_components), dtype=X.dtype)
        for rows, block in _dense_rows(X):
            logits = p.conditional(self._full(block), hb)[0]["logits"][..., 0]
            out[rows] = expit(logits)
        return out

    def score_samples(self, X):
        """A deterministic score per row.

        Binary visible units: the exact pseudo-log-likelihood ``sum_i log p(v_i | v_-i)``
        over every visible unit (unlike BernoulliRBM's one-random-site estimate, whose
        expectation it is for 0/1 data); values are clipped to [0, 1] and rounded to 0/1.
        The same numbers as :func:`graphmrf.exact.pseudo_log_likelihood`, computed in one
        pass over (rows, visible units, hidden units).
        Gaussian visible units: the negative free energy ``-F(v)``, i.e. ``log p(v)`` up to
        the constant ``log Z``.

        Parameters
        ----------
        X : array or sparse matrix (n_samples, n_features)
            Visible rows.

        Returns
        -------
        array (n_samples,), float64

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            For data of the wrong width, with NaN, or (``strict=True``) outside [0, 1].

        Examples
        --------
        The same numbers as :func:`graphmrf.exact.pseudo_log_likelihood`:

        >>> import graphmrf as gm
        >>> X = (np.random.default_rng(0).random((30, 6)) < 0.4).astype(np.float64)
        >>> rbm = RBM(n_components=3, n_iter=2, random_state=0).fit(X)
        >>> reference = gm.exact.pseudo_log_likelihood(rbm.program_, X, reduce="none")
        >>> bool(np.allclose(rbm.score_samples(X), reference))
        True
        """
        check_is_fitted(self)
        return self._score(self._check(X, reset=False))

    def _score(self, X):
        out = np.empty(X.shape[0], dtype=np.float64)
        for rows, block in _dense_rows(X):
            if self.visible != "binary":
                out[rows] = np.asarray(-self.program_.free_energy(block), dtype=np.float64)
            else:
                params = self.program_.params  # (read live: the verbose line scores mid-training)
                W, b, c = params["v~h.weight"], params["v.bias"], params["h.bias"]
                out[rows] = _pseudo_log_likelihood(W, b, c, np.round(block))
        return out

    def gibbs(self, v):
        """One Gibbs step from visible vectors ``v``: h ~ p(h | v), then v ~ p(v | h).

        The draws come from the estimator's own generator (seeded by ``random_state``), which
        training also uses.

        Parameters
        ----------
        v : array or sparse matrix (n_samples, n_features)
            Visible rows to start from.

        Returns
        -------
        array (n_samples, n_features)
            The new visible states (0/1 for binary units), in ``v``'s float type.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            For data of the wrong width, with NaN, or (``strict=True``) outside [0, 1].

        Examples
        --------
        >>> X = (np.random.default_rng(0).random((30, 6)) < 0.4).astype(np.float64)
        >>> V = RBM(n_components=3, n_iter=2, random_state=0).fit(X).gibbs(X[:4])
        >>> V.shape, set(np.unique(V)) <= {0.0, 1.0}
        ((4, 6), True)
        """
        check_is_fitted(self)
        v = self._check(v, reset=False)
        p, hb = self.program_, self._hidden_block()
        out = np.empty(v.shape, dtype=v.dtype)
        for rows, block in _dense_rows(v):
            s = p.sample_block(self._full(block), hb, self._rng)
            s = p.sample_block(s, 1 - hb, self._rng)
            out[rows] = s[:, p.columns("v")]
        return out

    @checked(n_samples=COUNT, n_sweeps=Integer(0))
    def sample(self, n_samples=1, n_sweeps=1000, random_state=None):
        """``n_samples`` visible vectors from independent chains after ``n_sweeps`` sweeps.

        Each chain starts at a random state and runs ``n_sweeps`` sweeps of block Gibbs
        sampling (:func:`graphmrf.samplers.block_gibbs`).

        Parameters
        ----------
        n_samples : int >= 1
            Number of chains, one vector each.
        n_sweeps : int >= 0
            Gibbs sweeps per chain (0: the random starting states).
        random_state : int, RandomState or None
            Seeds the chains; by default the estimator's own generator (training's) draws.

        Returns
        -------
        array (n_samples, n_features), float64

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        TypeError
            If ``n_samples`` or ``n_sweeps`` is not an integer.
        ValueError
            If ``n_samples`` is below 1 or ``n_sweeps`` negative (it ran no sweep and
            returned the random starting states).

        Examples
        --------
        >>> X = (np.random.default_rng(0).random((30, 6)) < 0.4).astype(np.float64)
        >>> rbm = RBM(n_components=3, n_iter=2, random_state=0).fit(X)
        >>> S = rbm.sample(5, n_sweeps=20, random_state=0)
        >>> S.shape, set(np.unique(S)) <= {0.0, 1.0}
        ((5, 6), True)
        >>> bool(np.array_equal(S, rbm.sample(5, n_sweeps=20, random_state=0)))
        True
        """
        check_is_fitted(self)
        p = self.program_
        rng = self._rng
        if random_state is not None:
            rng = np.random.default_rng(check_random_state(random_state).randint(0, 2**31 - 1))
        s = p.random_state(n_samples, seed=rng)
        for _ in range(n_sweeps):
            s, _ = block_gibbs(p, s, rng, inplace=True)
        return np.asarray(s[:, p.columns("v")])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.sparse = True
        return tags

    # Pickling (scikit-learn's contract for clone/joblib; graphmrf itself never unpickles):
    # the compiled Program holds array modules and lambdified kernels, so the state keeps
    # the model graph and the program is rebuilt on load.
    def __getstate__(self):
        state = self.__dict__.copy()
        if "program_" in state:
            state["program_"] = (state["program_"].to_graph(), str(state["program_"].dtype))
        return state

    def __setstate__(self, state):
        if "program_" in state and isinstance(state["program_"], tuple):
            graph, dtype = state["program_"]
            state["program_"] = _compile(graph, dtype=np.dtype(dtype))
        self.__dict__.update(state)


# -- classifiers over graphmrf's feed-forward networks and deep stacking networks -----------
# (kept at the end of the module: its own imports, its own names)
from sklearn.base import ClassifierMixin  # noqa: E402
from sklearn.utils.multiclass import check_classification_targets  # noqa: E402

from . import dsn as _dsn  # noqa: E402
from . import feedforward as _ff  # noqa: E402

__all__ += ["DSNClassifier", "FeedForwardClassifier"]


def _classes(estimator, y):
    """Store ``classes_`` and return the labels as indices; one class is refused."""
    check_classification_targets(y)
    estimator.classes_, index = np.unique(y, return_inverse=True)
    if estimator.classes_.size < 2:
        raise ValueError(
            f"y: a classifier needs samples of at least 2 classes; got 1 class ({estimator.classes_[0]!r})"
        )
    return index


def _softmax_rows(Z):
    Z = np.asarray(Z, dtype=np.float64)
    Z = Z - Z.max(axis=1, keepdims=True)
    P = np.exp(Z)
    return P / P.sum(axis=1, keepdims=True)


class _Classifier(ClassifierMixin, BaseEstimator):
    """What the two classifiers share: input checks, labels, predict from probabilities."""

    def _check_X(self, X):
        kw = dict(dtype=(np.float64, np.float32), reset=False)
        return _validate_data(self, X, **kw) if _validate_data is not None else self._validate_data(X, **kw)

    def _check_Xy(self, X, y):
        kw = dict(dtype=(np.float64, np.float32), reset=True)
        return _validate_data(self, X, y, **kw) if _validate_data is not None else self._validate_data(X, y, **kw)

    def _seed(self):
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def predict(self, X):
        """The most probable class of each row.

        Parameters
        ----------
        X : array (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        array (n_samples,)
            Labels from ``classes_`` (the argmax of :meth:`predict_proba`).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            For data of the wrong width or with NaN.

        Examples
        --------
        >>> X = np.random.default_rng(0).random((40, 6))
        >>> y = np.where(X[:, 0] > 0.5, "big", "small")
        >>> clf = DSNClassifier(n_modules=1, n_hidden=8, max_iter=5, random_state=0).fit(X, y)
        >>> clf.predict(X[:3]).tolist() == [str(c) for c in clf.classes_[clf.predict_proba(X[:3]).argmax(axis=1)]]
        True
        """
        P = self.predict_proba(X)
        return self.classes_[np.argmax(P, axis=1)]


class FeedForwardClassifier(_Classifier):
    """A feed-forward classifier: sigmoid hidden layers, a softmax output, cross-entropy,
    trained by :func:`graphmrf.feedforward.fit` (scikit-learn API).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
    learning_rate, momentum, weight_decay : float
    batch_size : int
    max_iter : int
        Epochs.
    method : {"sgd", "cg"}
        Mini-batch gradient descent with momentum, or conjugate gradients on groups of
        ``batch_size`` rows.
    early_stopping : bool
        Hold out ``validation_fraction`` of the rows; stop after ``patience`` epochs without
        a lower validation loss and keep the best parameters.
    validation_fraction : float in (0, 1)
        The share of the rows held out with ``early_stopping``.
    patience : int
        Epochs without a lower validation loss before stopping (with ``early_stopping``).
    verbose : int
        When nonzero, a progress bar over the epochs.
    random_state : int, RandomState or None
        Seeds the initial weights, the held-out rows and the order of the mini-batches.

    Attributes
    ----------
    classes_ : array
    network_ : graphmrf.feedforward.Network
    history_ : graphmrf.History
    n_iter_ : int
        Epochs run.

    Notes
    -----
    Subclasses change the starting network by overriding ``_network(X, n_classes, seed)``
    (a DBN-DNN unrolls pretrained RBMs there).

    Examples
    --------
    >>> from graphmrf.datasets import digits
    >>> X, y = digits()
    >>> clf = FeedForwardClassifier(hidden_layer_sizes=(20,), max_iter=10, batch_size=20, random_state=0)
    >>> clf.fit(X[:500], y[:500]).network_
    Network(64 -> h1: sigmoid 20 -> h2: softmax 10, loss='cross_entropy', backend='numpy', dtype=float32)
    >>> bool(clf.score(X[500:800], y[500:800]) > 0.8)
    True
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        learning_rate=0.1,
        momentum=0.9,
        weight_decay=0.0,
        batch_size=100,
        max_iter=50,
        method="sgd",
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        verbose=0,
        random_state=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.method = method
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.verbose = verbose
        self.random_state = random_state

    def _network(self, X, n_classes, seed):
        sizes = [X.shape[1], *[int(h) for h in self.hidden_layer_sizes], n_classes]
        return _ff.Network(sizes, ["sigmoid"] * (len(sizes) - 2) + ["softmax"], seed=seed)

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and labels ``y``; returns self.

        Parameters
        ----------
        X : array (n_samples, n_features)
            Training rows.
        y : array (n_samples,)
            Class labels (any hashable values; at least two classes).

        Returns
        -------
        FeedForwardClassifier
            ``self``, fitted: ``classes_``, ``network_``, ``history_``, ``n_iter_``.

        Raises
        ------
        ValueError
            For data with NaN or mismatched rows, a single class, a ``validation_fraction``
            outside (0, 1) or leaving no row to train on (with ``early_stopping``), or a
            hyper-parameter :class:`graphmrf.feedforward.Network` or
            :func:`graphmrf.feedforward.fit` refuses (named as they name it).
        TypeError
            For a hyper-parameter of the wrong type.
        DivergenceError
            When training makes the loss or a parameter non-finite.

        Examples
        --------
        >>> X = np.random.default_rng(0).random((40, 6))
        >>> clf = FeedForwardClassifier(hidden_layer_sizes=(5,), max_iter=3, batch_size=10, random_state=0)
        >>> clf.fit(X, X[:, 0] > 0.5).classes_.tolist(), clf.n_iter_
        ([False, True], 3)
        """
        X, y = self._check_Xy(X, y)
        index = _classes(self, y)
        seed = self._seed()
        self.network_ = self._network(X, self.classes_.size, seed)
        validation, rows = None, np.arange(X.shape[0])
        if self.early_stopping:
            if not 0 < self.validation_fraction < 1:
                raise ValueError(f"validation_fraction: expected a real in (0, 1); got {self.validation_fraction!r}")
            perm = np.random.default_rng(seed).permutation(X.shape[0])
            n_val = max(1, int(round(self.validation_fraction * X.shape[0])))
            if n_val >= X.shape[0]:
                raise ValueError(
                    f"validation_fraction: {self.validation_fraction} of {X.shape[0]} samples leaves none to train on"
                )
            validation, rows = (X[perm[:n_val]], index[perm[:n_val]]), perm[n_val:]
        momentum = self.momentum if self.method == "sgd" else 0.0
        self.history_ = _ff.fit(
            self.network_,
            X[rows],
            index[rows],
            epochs=self.max_iter,
            lr=self.learning_rate,
            batch_size=min(self.batch_size, rows.size),
            momentum=momentum,
            weight_decay=self.weight_decay,
            method=self.method,
            validation=validation,
            patience=self.patience if self.early_stopping else None,
            seed=seed,
            progress=bool(self.verbose),
        )
        self.n_iter_ = len(self.history_["epoch"])
        return self

    def predict_proba(self, X):
        """Class probabilities: the softmax output, rows summing to one.

        Parameters
        ----------
        X : array (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        array (n_samples, n_classes), float64
            Columns in the order of ``classes_``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            For data of the wrong width or with NaN.

        Examples
        --------
        >>> X = np.random.default_rng(0).random((40, 6))
        >>> clf = FeedForwardClassifier(hidden_layer_sizes=(5,), max_iter=3, batch_size=10, random_state=0)
        >>> P = clf.fit(X, X[:, 0] > 0.5).predict_proba(X[:4])
        >>> P.shape, bool(np.allclose(P.sum(axis=1), 1))
        ((4, 2), True)
        """
        check_is_fitted(self)
        X = self._check_X(X)
        P = np.asarray(self.network_.forward(X), dtype=np.float64)
        return P / P.sum(axis=1, keepdims=True)

    def __getstate__(self):  # pickling for clone/joblib: the array module is not picklable
        state = self.__dict__.copy()
        if "network_" in state:
            net = state["network_"]
            state["network_"] = (
                "graphmrf.feedforward.Network",
                [L.n_in for L in net.layers] + [net.n_out],
                [L.activation for L in net.layers],
                [L.name for L in net.layers],
                net.loss_function,
                {k: np.asarray(v) for k, v in net.params.items()},
                str(net.dtype),
            )
        return state

    def __setstate__(self, state):
        if isinstance(state.get("network_"), tuple):
            _, sizes, acts, names, loss, params, dtype = state["network_"]
            state["network_"] = _ff.Network(sizes, acts, names=names, loss=loss, params=params, dtype=np.dtype(dtype))
        self.__dict__.update(state)


class DSNClassifier(_Classifier):
    """A deep stacking network classifier (Deng & Yu 2011) over :mod:`graphmrf.dsn`.

    Targets are one-hot rows; each module's output layer is a closed-form ridge
    regression and its hidden weights are trained by L-BFGS; the class is the top
    module's largest output. ``predict_proba`` is the softmax of the outputs divided by a
    temperature fitted on the training set (temperature scaling: the most likely class
    is unchanged).

    Parameters
    ----------
    n_modules, n_hidden : int
    lam : float
        Ridge penalty on each module's output weights.
    max_iter : int
        L-BFGS iterations per module.
    time_budget : float, optional
        Seconds for the whole fit (at least one module is trained).
    verbose : int
        When nonzero, a progress bar over the modules.
    random_state : int, RandomState or None
        Seeds the modules' initial weights.

    Attributes
    ----------
    classes_ : array
    network_ : graphmrf.dsn.DSN
    temperature_ : float
    n_iter_ : int
        Objective evaluations, all modules together.

    Examples
    --------
    >>> from graphmrf.datasets import digits
    >>> X, y = digits()
    >>> clf = DSNClassifier(n_modules=2, n_hidden=20, max_iter=10, random_state=0).fit(X[:500], y[:500])
    >>> clf.network_
    DSN(64 -> 10, modules=2, hidden=[20, 20], backend='numpy', dtype=float32)
    >>> bool(clf.score(X[500:800], y[500:800]) > 0.8)
    True
    """

    def __init__(self, n_modules=3, n_hidden=100, lam=1.0, max_iter=10, time_budget=None, verbose=0, random_state=None):
        self.n_modules = n_modules
        self.n_hidden = n_hidden
        self.lam = lam
        self.max_iter = max_iter
        self.time_budget = time_budget
        self.verbose = verbose
        self.random_state = random_state

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and labels ``y``; returns self.

        The targets are the one-hot rows of the labels; after the modules are trained,
        ``temperature_`` is fitted on the training set (:meth:`predict_proba`).

        Parameters
        ----------
        X : array (n_samples, n_features)
            Training rows.
        y : array (n_samples,)
            Class labels (any hashable values; at least two classes).

        Returns
        -------
        DSNClassifier
            ``self``, fitted: ``classes_``, ``network_``, ``temperature_``, ``n_iter_``.

        Raises
        ------
        ValueError
            For data with NaN or mismatched rows, a single class, or a hyper-parameter
            :func:`graphmrf.dsn.fit` refuses (named as it names it: ``iterations`` for
            ``max_iter``).
        TypeError
            For a hyper-parameter of the wrong type.

        Examples
        --------
        >>> X = np.random.default_rng(0).random((40, 6))
        >>> clf = DSNClassifier(n_modules=2, n_hidden=8, max_iter=5, random_state=0).fit(X, X[:, 0] > 0.5)
        >>> clf.classes_.tolist(), len(clf.network_.hidden_sizes), bool(clf.temperature_ > 0)
        ([False, True], 2, True)
        """
        X, y = self._check_Xy(X, y)
        index = _classes(self, y)
        T = np.eye(self.classes_.size, dtype=np.float32)[index]
        self.network_ = _dsn.fit(
            X,
            T,
            n_modules=self.n_modules,
            n_hidden=self.n_hidden,
            lam=self.lam,
            iterations=self.max_iter,
            time_budget=self.time_budget,
            seed=self._seed(),
            progress=bool(self.verbose),
        )
        self.n_iter_ = int(sum(self.network_.history["evaluations"]))  # objective evaluations, all modules
        self.temperature_ = _temperature(np.asarray(self.network_.predict(X), dtype=np.float64), index)
        return self

    def decision_outputs(self, X):
        """The top module's linear outputs (n_samples, n_classes).

        Parameters
        ----------
        X : array (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        array (n_samples, n_classes), float64
            Columns in the order of ``classes_``; near the one-hot targets on training rows.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            For data of the wrong width or with NaN.

        Examples
        --------
        >>> X = np.random.default_rng(0).random((40, 6))
        >>> clf = DSNClassifier(n_modules=1, n_hidden=8, max_iter=5, random_state=0).fit(X, X[:, 0] > 0.5)
        >>> clf.decision_outputs(X[:4]).shape
        (4, 2)
        """
        check_is_fitted(self)
        return np.asarray(self.network_.predict(self._check_X(X)), dtype=np.float64)

    def predict_proba(self, X):
        """``softmax(Y / temperature_)`` of the top module's outputs ``Y``.

        Parameters
        ----------
        X : array (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        array (n_samples, n_classes), float64
            Rows summing to one; the largest entry is that of the largest output.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        ValueError
            For data of the wrong width or with NaN.

        Examples
        --------
        >>> X = np.random.default_rng(0).random((40, 6))
        >>> clf = DSNClassifier(n_modules=1, n_hidden=8, max_iter=5, random_state=0).fit(X, X[:, 0] > 0.5)
        >>> P, Y = clf.predict_proba(X[:4]), clf.decision_outputs(X[:4])
        >>> bool(np.allclose(P.sum(axis=1), 1)), bool(np.array_equal(P.argmax(axis=1), Y.argmax(axis=1)))
        (True, True)
        """
        return _softmax_rows(self.decision_outputs(X) / self.temperature_)

    def __getstate__(self):  # pickling for clone/joblib: the array module is not picklable
        state = self.__dict__.copy()
        if "network_" in state:
            net = state["network_"]
            state["network_"] = (
                "graphmrf.dsn.DSN",
                net.n_in,
                net.n_out,
                list(net.hidden_sizes),
                {k: np.asarray(v) for k, v in net.params.items()},
                str(net.dtype),
            )
        return state

    def __setstate__(self, state):
        if isinstance(state.get("network_"), tuple):
            _, n_in, n_out, hidden, params, dtype = state["network_"]
            net = _dsn.DSN(n_in, n_out, dtype=np.dtype(dtype))
            net.params.update(params)
            net.hidden_sizes = hidden
            state["network_"] = net
        self.__dict__.update(state)


def _temperature(Y, index):
    """The temperature ``tau`` minimising the training cross-entropy of ``softmax(Y / tau)``
    (Guo et al. 2017), searched on ``log tau`` in [-7, 7]."""

    rows = np.arange(Y.shape[0])

    def nll(log_tau):
        Z = Y / np.exp(log_tau)
        m = Z.max(axis=1)
        return float(np.mean(m + np.log(np.exp(Z - m[:, None]).sum(axis=1)) - Z[rows, index]))

    return float(np.exp(minimize_scalar(nll, bounds=(-7.0, 7.0), method="bounded").x))


# -- a DBN-DNN: greedy pre-training, then backpropagation ------------------------------------
__all__ += ["DBNClassifier"]


class DBNClassifier(FeedForwardClassifier):
    """A DBN-DNN classifier: a stack of RBMs pre-trained greedily
    (:func:`graphmrf.deep_belief.greedy`), unrolled into sigmoid layers with a softmax output
    (:func:`graphmrf.deep_belief.unroll`), then fine-tuned by backpropagation of the
    cross-entropy exactly as :class:`FeedForwardClassifier` (scikit-learn API).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
        The RBMs' hidden layers, bottom first.
    pretrain_epochs : int
        Epochs of :func:`graphmrf.fit` per layer (0: no pre-training, a plain network).
    pretrain_learning_rate : float
    pretrain_rule : {"cd", "pcd"}
    pretrain_k : int
        Gibbs sweeps per update.
    pretrain_batch_size : int
    pretrain_momentum : float
    pretrain_inputs : {"probabilities", "samples"}
        What each layer hands the next.
    strict : bool
        Raise instead of warn when the data leave [0, 1] (the binary visible units' range):
        without it, pre-training reads them clipped to [0, 1], with a
        :class:`DataRangeWarning`; fine-tuning and prediction always read ``X`` as given.
    learning_rate, momentum, weight_decay, batch_size, max_iter, method, early_stopping,
    validation_fraction, patience, verbose, random_state
        Fine-tuning, as for :class:`FeedForwardClassifier`.

    Attributes
    ----------
    classes_, network_, history_, n_iter_
        As for :class:`FeedForwardClassifier`.
    pretraining_ : list of dict
        One record of the monitored quantities per pre-trained layer.

    Examples
    --------
    >>> import numpy as np
    >>> from graphmrf.datasets import digits
    >>> X, y = digits()
    >>> clf = DBNClassifier(hidden_layer_sizes=(40,), pretrain_epochs=2, max_iter=5, random_state=0)
    >>> clf.fit(X[:300], y[:300]).predict(X[300:305]).shape
    (5,)
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        pretrain_epochs=10,
        pretrain_learning_rate=0.1,
        pretrain_rule="cd",
        pretrain_k=1,
        pretrain_batch_size=20,
        pretrain_momentum=0.5,
        pretrain_inputs="probabilities",
        strict=False,
        learning_rate=0.1,
        momentum=0.9,
        weight_decay=0.0,
        batch_size=100,
        max_iter=50,
        method="sgd",
        early_stopping=False,
        validation_fraction=0.1,
        patience=10,
        verbose=0,
        random_state=None,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            learning_rate=learning_rate,
            momentum=momentum,
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_iter=max_iter,
            method=method,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            patience=patience,
            verbose=verbose,
            random_state=random_state,
        )
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_learning_rate = pretrain_learning_rate
        self.pretrain_rule = pretrain_rule
        self.pretrain_k = pretrain_k
        self.pretrain_batch_size = pretrain_batch_size
        self.pretrain_momentum = pretrain_momentum
        self.pretrain_inputs = pretrain_inputs
        self.strict = strict

    def _network(self, X, n_classes, seed):
        sizes = [X.shape[1], *[int(h) for h in self.hidden_layer_sizes]]
        if not self.pretrain_epochs:
            self.pretraining_ = []
            return super()._network(X, n_classes, seed)
        lo, hi = float(X.min()), float(X.max())
        if lo < 0 or hi > 1:
            msg = f"X: the RBMs' binary visible units take values in [0, 1]; got range [{lo}, {hi}]"
            if self.strict:
                raise ValueError(msg + " (scale the features first, e.g. with MinMaxScaler)")
            warnings.warn(msg + "; pre-training reads them clipped to [0, 1]", DataRangeWarning, stacklevel=3)
            X = np.clip(X, 0, 1)
        result = _deep_belief.greedy(
            X,
            sizes,
            inputs=self.pretrain_inputs,
            epochs=self.pretrain_epochs,
            lr=self.pretrain_learning_rate,
            rule=self.pretrain_rule,
            k=self.pretrain_k,
            batch_size=min(self.pretrain_batch_size, X.shape[0]),
            chains=min(self.pretrain_batch_size, X.shape[0]),
            momentum=self.pretrain_momentum,
            monitors=("reconstruction_error",),
            seed=seed,
            progress=bool(self.verbose),
        )
        self.pretraining_ = [{k: list(v) for k, v in h.items()} for h in result.histories]
        return _deep_belief.unroll(result.dbn, n_classes, seed=seed)
