"""scikit-learn estimators over graphmrf's RBM: fit, transform, score, sample.

A thin adapter: the model is an ordinary two-node graph, trained by :func:`graphmrf.fit`
(PCD by default, persistent chains independent of the batch size, each phase averaged
over its own count), so it can sit in a ``Pipeline``.

>>> import numpy as np
>>> from graphmrf.sklearn import RBM
>>> X = (np.random.default_rng(0).random((40, 6)) < 0.3).astype(np.float32)
>>> rbm = RBM(n_components=3, n_iter=2, random_state=0).fit(X)
>>> rbm.transform(X).shape, rbm.transform(X).dtype
((40, 3), dtype('float32'))
"""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, check_random_state

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    _validate_data = None

from . import exact
from .builders import rbm as _rbm_graph
from .compile import compile as _compile
from .samplers.gibbs import block_gibbs
from .train import fit as _fit

__all__ = ["RBM", "DataRangeWarning"]


class DataRangeWarning(UserWarning):
    """Data outside the visible units' range (binary units read values in [0, 1])."""


class RBM(TransformerMixin, BaseEstimator):
    """Restricted Boltzmann machine with binary hidden units (scikit-learn API).

    Parameters
    ----------
    n_components : int
        Number of hidden units.
    visible : {"binary", "gaussian"}
        Visible units: binary (data in [0, 1], read as probabilities) or gaussian with unit
        scale (standardise the data first).
    learning_rate, batch_size, n_iter : float, int, int
        Gradient step, mini-batch size and number of passes over the data.
    rule : {"pcd", "cd"}
        Persistent contrastive divergence or CD-k.
    k : int
        Gibbs sweeps per update in the free phase.
    n_chains : int, optional
        Persistent chains (default: ``batch_size``).
    momentum, weight_decay : float
    strict : bool
        Raise instead of warn when binary visible data leave [0, 1].
    random_state : int, RandomState or None

    Attributes
    ----------
    components_ : array (n_components, n_features)
        Weights (rows: hidden units), as in scikit-learn's BernoulliRBM.
    intercept_hidden_, intercept_visible_ : arrays
    program_ : graphmrf.Program
        The compiled model.
    """

    def __init__(self, n_components=256, visible="binary", learning_rate=0.1, batch_size=10, n_iter=10, rule="pcd", k=1, n_chains=None, momentum=0.0, weight_decay=0.0, strict=False, verbose=0, random_state=None):
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
        self.strict = strict
        self.verbose = verbose
        self.random_state = random_state

    # -- input -------------------------------------------------------------------------
    def _check(self, X, reset):
        kw = dict(dtype=(np.float64, np.float32), reset=reset)
        if _validate_data is not None:
            X = _validate_data(self, X, **kw)
        else:  # pragma: no cover
            X = self._validate_data(X, **kw)
        if self.visible == "binary" and (X.min(initial=0) < 0 or X.max(initial=0) > 1):
            msg = f"X: binary visible units take values in [0, 1]; got range [{X.min()}, {X.max()}] (use visible='gaussian' for real-valued data)"
            if self.strict:
                raise ValueError(msg)
            import warnings

            warnings.warn(msg + "; the values are clipped to [0, 1]", DataRangeWarning, stacklevel=3)
            X = np.clip(X, 0, 1)
        return X

    def _init(self, X):
        if self.visible not in ("binary", "gaussian"):
            raise ValueError(f"visible: expected 'binary' or 'gaussian'; got {self.visible!r}")
        rs = check_random_state(self.random_state)
        seed = int(rs.randint(0, 2**31 - 1))
        g = _rbm_graph(X.shape[1], self.n_components, visible=self.visible, seed=seed, data=X if self.visible == "binary" else None)
        self.program_ = _compile(g, dtype=X.dtype, seed=seed)
        self._rng = np.random.default_rng(seed)
        self._chains = None
        self._velocity = None

    def _train(self, X, epochs):
        p = self.program_
        chains = self.n_chains or self.batch_size
        if self._chains is None:
            self._chains = p.random_state(chains, seed=self._rng)
        hist = _fit(
            p,
            X,
            epochs=epochs,
            lr=self.learning_rate,
            rule=self.rule,
            k=self.k,
            batch_size=self.batch_size,
            chains=chains,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            monitors=(),
            seed=self._rng,
            progress=bool(self.verbose),
            persistent=self._chains,
        )
        self._chains = hist.persistent
        self._publish()
        return self

    def _publish(self):
        p = self.program_
        self.components_ = np.asarray(p.params["v~h.weight"]).T.copy()
        self.intercept_hidden_ = np.asarray(p.params["h.bias"]).copy()
        self.intercept_visible_ = np.asarray(p.params["v.bias"]).copy()
        self.h_samples_ = np.asarray(self._chains)[:, p.columns("h")].copy()

    # -- scikit-learn API ----------------------------------------------------------------
    def fit(self, X, y=None):
        """Train on X (n_samples, n_features) for ``n_iter`` passes; returns self."""
        X = self._check(X, reset=True)
        self._init(X)
        return self._train(X, self.n_iter)

    def partial_fit(self, X, y=None):
        """One pass over X (mini-batches), continuing from the current state; returns self."""
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

    def transform(self, X):
        """Hidden-unit activation probabilities ``p(h_j = 1 | v)``."""
        check_is_fitted(self)
        X = self._check(X, reset=False)
        p = self.program_
        L = p.layer_of("h")
        x = p.field(p.statistic(self._full(X)), L)
        return np.asarray(L.ops.expected_statistic(x, L.params, 1.0, 1), dtype=X.dtype)

    def score_samples(self, X):
        """A deterministic score per row.

        Binary visible units: the exact pseudo-log-likelihood ``sum_i log p(v_i | v_-i)``
        over every visible unit (unlike BernoulliRBM's one-random-site estimate); values are
        clipped to [0, 1] and rounded to 0/1. Gaussian visible units: the negative free
        energy ``-F(v)``, i.e. ``log p(v)`` up to the constant ``log Z``.
        """
        check_is_fitted(self)
        X = self._check(X, reset=False)
        if self.visible != "binary":
            return np.asarray(-self.program_.free_energy(X), dtype=np.float64)
        return exact.pseudo_log_likelihood(self.program_, np.round(np.clip(X, 0, 1)), reduce="none")

    def gibbs(self, v):
        """One Gibbs step from visible vectors ``v``: h ~ p(h | v), then v ~ p(v | h)."""
        check_is_fitted(self)
        v = self._check(v, reset=False)
        s = self._full(v)
        p = self.program_
        hb = [i for i, b in enumerate(p.blocks) if b[0].layer.name == "h"][0]
        vb = 1 - hb
        s = p.sample_block(s, hb, self._rng)
        s = p.sample_block(s, vb, self._rng)
        return s[:, p.columns("v")].astype(v.dtype)

    def sample(self, n_samples=1, n_sweeps=1000, random_state=None):
        """``n_samples`` visible vectors from independent chains after ``n_sweeps`` sweeps."""
        check_is_fitted(self)
        p = self.program_
        rng = np.random.default_rng(check_random_state(random_state).randint(0, 2**31 - 1)) if random_state is not None else self._rng
        s = p.random_state(n_samples, seed=rng)
        for _ in range(n_sweeps):
            s, _ = block_gibbs(p, s, rng, inplace=True)
        return np.asarray(s[:, p.columns("v")])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
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
