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

            warnings.warn(msg, DataRangeWarning, stacklevel=3)
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
        """The most probable class of each row."""
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
    random_state : int, RandomState or None

    Attributes
    ----------
    classes_ : array
    network_ : graphmrf.feedforward.Network
    history_ : graphmrf.History
    n_iter_ : int
        Epochs run.

    Subclasses change the starting network by overriding ``_network(X, n_classes, seed)``
    (a DBN-DNN unrolls pretrained RBMs there).
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
        """Train on ``X`` (n_samples, n_features) and labels ``y``; returns self."""
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
        """Class probabilities: the softmax output, rows summing to one."""
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
    random_state : int, RandomState or None

    Attributes
    ----------
    classes_ : array
    network_ : graphmrf.dsn.DSN
    temperature_ : float
    n_iter_ : int
        Objective evaluations, all modules together.
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
        """Train on ``X`` (n_samples, n_features) and labels ``y``; returns self."""
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
        """The top module's linear outputs (n_samples, n_classes)."""
        check_is_fitted(self)
        return np.asarray(self.network_.predict(self._check_X(X)), dtype=np.float64)

    def predict_proba(self, X):
        """``softmax(Y / temperature_)`` of the top module's outputs ``Y``."""
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
    from scipy.optimize import minimize_scalar

    rows = np.arange(Y.shape[0])

    def nll(log_tau):
        Z = Y / np.exp(log_tau)
        m = Z.max(axis=1)
        return float(np.mean(m + np.log(np.exp(Z - m[:, None]).sum(axis=1)) - Z[rows, index]))

    return float(np.exp(minimize_scalar(nll, bounds=(-7.0, 7.0), method="bounded").x))
