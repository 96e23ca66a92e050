r"""Deep stacking networks (Deng & Yu 2011): modules whose linear output layer has a closed form.

A module maps its input ``Z`` (rows are examples) through one sigmoid hidden layer to a
linear output,

.. math:: H = \sigma(Z W + b), \qquad Y = H U + c,

and is trained on targets ``T`` to minimise the regularised squared error

.. math:: E = \tfrac12 \|H U + c - T\|^2 + \tfrac{\lambda}{2} \|U\|^2 .

Given ``W`` the output weights are a ridge regression, in closed form
(:func:`output_weights`; the lecture's :math:`U = (H H^T + \lambda I)^{-1} H T^T` with
examples as columns, plus an unpenalised output bias):

.. math:: U = (\bar H^T \bar H + \lambda I)^{-1} \bar H^T \bar T, \qquad
          c = \operatorname{mean}(T) - \operatorname{mean}(H)\, U,

with :math:`\bar H, \bar T` centred by their column means. Substituting ``U = F(W)``
makes ``E`` a function of ``W`` alone; as ``U, c`` minimise ``E`` for every ``W``, its
gradient is that of ``E`` at fixed ``U, c`` (:func:`objective`):

.. math:: \frac{\partial E}{\partial W} = Z^T \big[H \circ (1 - H) \circ (H U + c - T) U^T\big],

the lecture's :math:`2X[H^T \circ (1-H)^T \circ [H^\dagger(HT^T)(TH^\dagger) - T^T(TH^\dagger)]]`
(written for :math:`E = \mathrm{Tr}[(Y-T)(Y-T)^T]`, hence its factor 2) when
:math:`\lambda = 0` and there are no biases. ``W`` is then learned by a batch
gradient method (L-BFGS by default) on the whole training set.

Modules are **stacked**: module ``k`` reads the raw input next to the predictions of
every module below it, ``Z_k = [X, Y_1, ..., Y_{k-1}]``. Module ``k`` starts from module
``k - 1``'s ``W`` and ``b`` (zero weights on the new prediction columns), so it starts
at exactly its predecessor's objective and every module's training objective is no
higher than the one below it.

>>> import numpy as np
>>> from graphmrf import dsn
>>> from graphmrf.datasets import digits
>>> X, y = digits()
>>> T = np.eye(10)[y]
>>> net = dsn.fit(X[:1500], T[:1500], n_modules=2, n_hidden=50, iterations=10, seed=0)
>>> net
DSN(64 -> 10, modules=2, hidden=[50, 50], backend='numpy', dtype=float32)
>>> objective = net.history["objective"]          # per example, module by module
>>> bool(objective[1] < objective[0])
True
>>> bool((net.predict(X[1500:]).argmax(axis=1) == y[1500:]).mean() > 0.85)
True
"""

import time

import numpy as np
import scipy.linalg
import scipy.optimize

from .arguments import COUNT, AnyOf, Boolean, Options, Real, Seed, checked
from .backend import as_generator, get_backend, to_host
from .samplers.progress import Progress
from .train import History

__all__ = ["DSN", "fit", "output_weights", "objective"]


def _sigmoid(xp, z):
    """sigmoid(z) = (1 + tanh(z / 2)) / 2 in ``z``'s memory (no overflow for any z)."""
    z *= 0.5
    xp.tanh(z, out=z)
    z += 1
    z *= 0.5
    return z


def _gram_solve(A, B, lam, where, eps, n):
    """Solve ``(A + lam I) U = B`` for the symmetric positive semi-definite ``A`` (float64,
    on the host; a sum of ``n`` products rounded to ``eps``), refusing a singular system
    with a message that names ``lam``."""
    L = A.shape[0]
    if lam == 0:
        # rank to the precision A was computed in (float32 rounding hides exact zeros)
        s = np.linalg.eigvalsh(A)
        rank = int(np.sum(s > max(s[-1], 0.0) * (L + np.sqrt(n)) * eps))
        if rank < L:
            raise ValueError(
                f"{where}: lam=0 and the hidden activations' Gram matrix H^T H ({L}x{L}) has rank {rank} < {L}: "
                "U = (H^T H + lam I)^-1 H^T T is not unique; use lam > 0 (or fewer hidden units)"
            )
    M = A + lam * np.eye(L)
    try:
        factor = scipy.linalg.cho_factor(M, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"{where}: lam={lam}: H^T H + lam I ({L}x{L}) is not positive definite in floating point; use a larger lam"
        ) from None
    return scipy.linalg.cho_solve(factor, B, check_finite=False)


def _closed_form(xp, H, T, lam, intercept, where):
    """(U, c, H centred or H) on the backend, in H's dtype."""
    if intercept:
        mh, mt = H.mean(axis=0), T.mean(axis=0)
        Hc, Tc = H - mh, T - mt
    else:
        Hc, Tc = H, T
    A = to_host(Hc.T @ Hc).astype(np.float64)
    B = to_host(Hc.T @ Tc).astype(np.float64)
    U = xp.asarray(_gram_solve(A, B, lam, where, float(np.finfo(H.dtype).eps), H.shape[0]), dtype=H.dtype)
    c = (mt - mh @ U) if intercept else xp.zeros(T.shape[1], dtype=H.dtype)
    return U, c


def _as_2d(xp, a, name, where, dtype):
    if not hasattr(a, "shape"):
        a = np.asarray(a)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(f"{where}: {name} must be a 2-d array; got shape {tuple(a.shape)}")
    a = xp.asarray(a, dtype=dtype)
    if not bool(xp.all(xp.isfinite(a))):
        raise ValueError(f"{where}: {name} has NaN or infinite entries")
    return a


@checked(lam=Real(0.0), intercept=Boolean())
def output_weights(H, T, lam=0.0, *, intercept=True):
    r"""The module's output layer in closed form: ``U, c = argmin 1/2 ||H U + c - T||^2 + lam/2 ||U||^2``.

    ``U = (Hc^T Hc + lam I)^{-1} Hc^T Tc`` with ``Hc, Tc`` centred by their column means
    and ``c = mean(T) - mean(H) U`` (``intercept=False``: no centring, ``c = 0``); the
    linear system is solved in float64 by a Cholesky factorisation. Cost
    ``O(n L^2 + L^3)`` for ``L`` hidden units.

    Parameters
    ----------
    H : array (n, L)
        Hidden activations, rows are examples.
    T : array (n, C)
        Targets.
    lam : float
        Ridge penalty ``lambda >= 0`` on ``U`` (not on ``c``).
    intercept : bool
        Fit the output bias ``c`` (else ``c = 0`` and nothing is centred).

    Returns
    -------
    U : array (L, C), c : array (C,)
        In ``H``'s dtype (float64 for lists).

    Raises
    ------
    ValueError
        ``lam = 0`` with a rank-deficient ``Hc^T Hc`` (the message gives the rank), or
        mismatched rows, or NaN.
    TypeError
        If ``lam`` is not a number or ``intercept`` not a bool.

    Examples
    --------
    >>> H = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> U, c = output_weights(H, H @ np.array([[2.0], [-1.0]]) + 3)
    >>> np.round(U.ravel(), 10).tolist(), np.round(c, 10).tolist()
    ([2.0, -1.0], [3.0])
    """
    dtype = getattr(H, "dtype", np.float64)
    dtype = dtype if dtype in (np.float32, np.float64) else np.float64
    xp = get_backend("cupy").xp if type(H).__module__.startswith("cupy") else np
    H = _as_2d(xp, H, "H", "output_weights", dtype)
    T = _as_2d(xp, T, "T", "output_weights", dtype)
    if H.shape[0] != T.shape[0]:
        raise ValueError(f"output_weights: T has {T.shape[0]} rows; H has {H.shape[0]}")
    return _closed_form(xp, H, T, float(lam), intercept, "output_weights")


def _objective(xp, Z, T, W, b, lam, intercept, where, need_grad=True):
    H = Z @ W
    H += b
    H = _sigmoid(xp, H)
    U, c = _closed_form(xp, H, T, lam, intercept, where)
    R = H @ U
    R += c
    R -= T
    R64 = R.astype(np.float64)  # the objective summed in float64: line searches compare close values
    E = 0.5 * float(xp.vdot(R64, R64)) + 0.5 * lam * float(xp.vdot(U.astype(np.float64), U.astype(np.float64)))
    if not need_grad:
        return E, U, c, H
    G = R @ U.T  # dE/dH at the optimal U, c (envelope theorem)
    G *= H
    G *= 1 - H
    return E, Z.T @ G, G.sum(axis=0), U, c


@checked(lam=Real(0.0), intercept=Boolean())
def objective(Z, T, W, b=None, lam=0.0, *, intercept=True):
    r"""A module's objective ``E(W) = min_{U,c} 1/2 ||sigma(Z W + b) U + c - T||^2 + lam/2 ||U||^2``
    and its gradient with respect to ``W`` and ``b``.

    ``dE/dW = Z^T [H o (1 - H) o (H U + c - T) U^T]`` with ``U, c`` from
    :func:`output_weights`; ``dE/db`` is the column sum of the bracket. Cost: three
    products of size ``n x n_in x L`` or ``n x L x L``.

    Parameters
    ----------
    Z : array (n, n_in)
        The module's input.
    T : array (n, C)
        Targets.
    W : array (n_in, L)
        Input-to-hidden weights.
    b : array (L,), optional
        Hidden biases (zeros by default).
    lam : float
        Ridge penalty on ``U``.
    intercept : bool
        Fit the output bias ``c`` (else ``c = 0``).

    Returns
    -------
    E : float
    dW : array (n_in, L), db : array (L,)

    Raises
    ------
    ValueError
        If shapes disagree (naming the argument), an entry is NaN or infinite, or
        ``lam = 0`` with rank-deficient hidden activations.
    TypeError
        If ``lam`` is not a number or ``intercept`` not a bool.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> Z, T, W = rng.normal(size=(20, 3)), rng.normal(size=(20, 2)), rng.normal(size=(3, 4))
    >>> E, dW, db = objective(Z, T, W, lam=0.1)
    >>> E0 = objective(Z, T, W - 1e-6 * dW, lam=0.1)[0]
    >>> bool(E0 < E)
    True
    """
    dtype = getattr(Z, "dtype", np.float64)
    dtype = dtype if dtype in (np.float32, np.float64) else np.float64
    xp = get_backend("cupy").xp if type(Z).__module__.startswith("cupy") else np
    Z = _as_2d(xp, Z, "Z", "objective", dtype)
    T = _as_2d(xp, T, "T", "objective", dtype)
    W = _as_2d(xp, W, "W", "objective", dtype)
    if T.shape[0] != Z.shape[0]:
        raise ValueError(f"objective: T has {T.shape[0]} rows; Z has {Z.shape[0]}")
    if W.shape[0] != Z.shape[1]:
        raise ValueError(f"objective: W has {W.shape[0]} rows; Z has {Z.shape[1]} columns")
    b = xp.zeros(W.shape[1], dtype=dtype) if b is None else xp.asarray(b, dtype=dtype).reshape(-1)
    if b.shape[0] != W.shape[1]:
        raise ValueError(f"objective: b has {b.shape[0]} entries; W has {W.shape[1]} columns")
    E, dW, db, _, _ = _objective(xp, Z, T, W, b, float(lam), intercept, "objective")
    return E, dW, db


class DSN:
    """A deep stacking network: modules ``1..K``, module ``k`` reading ``[X, Y_1, ..., Y_{k-1}]``.

    Built and grown by :func:`fit`. ``params`` holds, for module ``k``, ``"m{k}.weight"``
    (``W``), ``"m{k}.bias"`` (``b``), ``"m{k}.output_weight"`` (``U``) and
    ``"m{k}.output_bias"`` (``c``). ``history`` has one row per module trained.

    Parameters
    ----------
    n_in : int
        Input columns.
    n_out : int
        Output columns (targets).
    backend : {"numpy", "cupy"}
        Where the arrays live.
    dtype : dtype
        Their float type.

    Raises
    ------
    TypeError
        If ``n_in`` or ``n_out`` is not an integer.
    ValueError
        If ``n_in`` or ``n_out`` is below 1.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4))
    >>> T = np.eye(2)[(X[:, 0] * X[:, 1] > 0).astype(int)]  # XOR of two signs
    >>> net = fit(X, T, n_modules=2, n_hidden=20, iterations=20, lam=0.1, seed=0)
    >>> net
    DSN(4 -> 2, modules=2, hidden=[20, 20], backend='numpy', dtype=float32)
    >>> sorted(net.params)[:4]
    ['m1.bias', 'm1.output_bias', 'm1.output_weight', 'm1.weight']
    >>> bool(net.history["objective"][1] < net.history["objective"][0])
    True
    """

    @checked(n_in=COUNT, n_out=COUNT)
    def __init__(self, n_in, n_out, *, backend="numpy", dtype=np.float32):
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.backend = get_backend(backend)
        self.xp = self.backend.xp
        self.dtype = np.dtype(dtype)
        self.params = {}
        self.hidden_sizes = []
        self.history = History()

    def __repr__(self):
        return (
            f"DSN({self.n_in} -> {self.n_out}, modules={self.n_modules}, hidden={self.hidden_sizes}, "
            f"backend={self.backend.name!r}, dtype={self.dtype})"
        )

    @property
    def n_modules(self):
        return len(self.hidden_sizes)

    def _inputs(self, X, where):
        X = _as_2d(self.xp, X, "X", where, self.dtype)
        if X.shape[1] != self.n_in:
            raise ValueError(f"{where}: X has {X.shape[1]} columns; this DSN takes {self.n_in}")
        return X

    def _module_output(self, k, Z):
        p = self.params
        H = Z @ p[f"m{k}.weight"]
        H += p[f"m{k}.bias"]
        H = _sigmoid(self.xp, H)
        Y = H @ p[f"m{k}.output_weight"]
        Y += p[f"m{k}.output_bias"]
        return Y

    def _outputs(self, X, upto=None):
        outs, Z = [], X
        for k in range(1, (upto or self.n_modules) + 1):
            if k > 1:
                Z = self.xp.concatenate([Z, outs[-1]], axis=1)
            outs.append(self._module_output(k, Z))
        return outs, Z

    def outputs(self, X):
        """Every module's prediction ``[Y_1, ..., Y_K]`` for the rows of ``X``.

        Parameters
        ----------
        X : array (n, n_in)
            Inputs.

        Returns
        -------
        list of arrays (n, n_out)

        Raises
        ------
        ValueError
            If the DSN has no modules yet, or ``X`` has the wrong width or NaN.

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(0).normal(size=(50, 3))
        >>> net = fit(X, X[:, :1] ** 2, n_modules=2, n_hidden=10, iterations=5, seed=0)
        >>> [Y.shape for Y in net.outputs(X[:4])]
        [(4, 1), (4, 1)]
        >>> DSN(3, 1).outputs(X)
        Traceback (most recent call last):
        ...
        ValueError: outputs: this DSN has no modules yet (train it with graphmrf.dsn.fit)
        """
        if not self.n_modules:
            raise ValueError("outputs: this DSN has no modules yet (train it with graphmrf.dsn.fit)")
        return self._outputs(self._inputs(X, "outputs"))[0]

    def predict(self, X):
        """The top module's prediction ``Y_K`` (n, n_out).

        Parameters
        ----------
        X : array (n, n_in)
            Inputs.

        Returns
        -------
        array (n, n_out)

        Raises
        ------
        ValueError
            If the DSN has no modules yet, or ``X`` has the wrong width or NaN.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 4))
        >>> T = np.eye(2)[(X[:, 0] * X[:, 1] > 0).astype(int)]
        >>> net = fit(X, T, n_modules=2, n_hidden=20, iterations=20, lam=0.1, seed=0)
        >>> float((net.predict(X).argmax(axis=1) == T.argmax(axis=1)).mean())
        1.0
        """
        return self.outputs(X)[-1]


@checked(
    n_modules=COUNT,
    n_hidden=COUNT,
    lam=Real(0.0),
    iterations=COUNT,
    method=Options("L-BFGS-B", "CG"),
    time_budget=AnyOf(None, Real(0.0, closed="neither")),
    seed=Seed(),
    progress=AnyOf(None, Boolean()),
)
def fit(
    X,
    T,
    *,
    n_modules=3,
    n_hidden=100,
    lam=1.0,
    iterations=10,
    method="L-BFGS-B",
    time_budget=None,
    seed=None,
    progress=None,
    network=None,
    backend="numpy",
    dtype=np.float32,
):
    r"""Train a deep stacking network on inputs ``X`` and targets ``T``, module by module.

    Each module: ``W, b`` start from the module below (the first from
    ``N(0, 1 / mean ||x||^2)``, so its pre-activations are of order one, and zero biases);
    then ``scipy.optimize.minimize(method=method)`` runs ``iterations`` iterations on the
    whole training set ("full-batch learning") with :func:`objective`; the best ``W`` met is
    kept and ``U, c`` are set in closed form (:func:`output_weights`).

    Parameters
    ----------
    X : array (n, n_in)
        Inputs, rows are examples.
    T : array (n, C)
        Targets (one-hot rows for classification: ``np.eye(C)[labels]``).
    n_modules : int
        Modules to add.
    n_hidden : int
        Hidden units per module.
    lam : float
        Ridge penalty on the output weights ``U``.
    iterations : int
        Optimiser iterations per module: few, as in Deng & Yu; on digits 10 generalise
        better than 30 (the iteration count regularises).
    method : {"L-BFGS-B", "CG"}
        The batch optimiser of ``W``.
    time_budget : float, optional
        Seconds: past it, the module being trained stops at its best ``W`` so far and no
        further module starts (at least one module is always trained).
    seed : int or Generator, optional
        Random generator of the first module's weights.
    progress : bool, optional
        Show a progress bar over modules (default: for long runs on a terminal).
    network : DSN, optional
        Continue stacking on this DSN (its input and output widths must match).
    backend, dtype : str, dtype
        Backend and float type of a new DSN (NumPy, float32 by default).

    Returns
    -------
    DSN
        ``network.history`` gains one row per module: ``module``, ``objective`` (``E / n``),
        ``squared_error`` (``1/2 ||Y - T||^2 / n``), ``evaluations``, ``out_of_time`` (the
        budget cut the module short) and ``seconds``.

    Raises
    ------
    ValueError
        ``lam = 0`` with rank-deficient hidden activations, bad shapes or NaN (naming the
        argument), or an argument that breaks its rule.
    TypeError
        If ``network`` is not a DSN, or an argument is of the wrong type.

    Examples
    --------
    Two modules, then a third stacked on later:

    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(100, 3))
    >>> net = fit(X, X[:, :1] * X[:, 1:2], n_modules=2, n_hidden=10, iterations=5, seed=0)
    >>> net = fit(X, X[:, :1] * X[:, 1:2], n_modules=1, n_hidden=10, iterations=5, network=net)
    >>> net.n_modules, net.history["module"]
    (3, [1, 2, 3])
    """
    started = time.perf_counter()
    if network is None:
        xp0 = get_backend(backend).xp
        X0 = _as_2d(xp0, X, "X", "fit", np.dtype(dtype))
        network = DSN(X0.shape[1], _as_2d(xp0, T, "T", "fit", np.dtype(dtype)).shape[1], backend=backend, dtype=dtype)
    elif not isinstance(network, DSN):
        raise TypeError(f"fit: network must be a graphmrf.dsn.DSN; got {type(network).__name__}")
    xp, dt = network.xp, network.dtype
    X = network._inputs(X, "fit")
    T = _as_2d(xp, T, "T", "fit", dt)
    if T.shape[0] != X.shape[0]:
        raise ValueError(f"fit: T has {T.shape[0]} rows; X has {X.shape[0]}")
    if T.shape[1] != network.n_out:
        raise ValueError(f"fit: T has {T.shape[1]} columns; this DSN predicts {network.n_out}")
    n = X.shape[0]
    deadline = None if time_budget is None else started + float(time_budget)
    outs, Z = network._outputs(X) if network.n_modules else ([], X)
    rng = as_generator(seed)
    with Progress(n_modules, "dsn.fit", progress) as bar:
        for _ in range(n_modules):
            if network.n_modules and deadline is not None and time.perf_counter() > deadline:
                break
            t0 = time.perf_counter()
            k = network.n_modules + 1
            if k == 1:
                scale = 1.0 / np.sqrt(max(float(xp.mean(xp.sum(X * X, axis=1))), np.finfo(np.float64).tiny))
                W0 = rng.normal(0.0, scale, size=(network.n_in, n_hidden))
                b0 = np.zeros(n_hidden)
            else:
                Z = xp.concatenate([Z, outs[-1]], axis=1)
                W_prev = to_host(network.params[f"m{k - 1}.weight"]).astype(np.float64)
                W0 = np.vstack([W_prev, np.zeros((network.n_out, W_prev.shape[1]))])
                b0 = to_host(network.params[f"m{k - 1}.bias"]).astype(np.float64)
            W, b, evals, cut = _train_module(xp, Z, T, W0, b0, float(lam), iterations, method, deadline, dt)
            E, U, c, H = _objective(xp, Z, T, W, b, float(lam), True, "fit", need_grad=False)
            network.params.update(
                {f"m{k}.weight": W, f"m{k}.bias": b, f"m{k}.output_weight": U, f"m{k}.output_bias": c}
            )
            network.hidden_sizes.append(int(W.shape[1]))
            Y = H @ U
            Y += c
            outs.append(Y)
            R = (Y - T).astype(np.float64)
            network.history.append(
                module=k,
                objective=E / n,
                squared_error=0.5 * float(xp.vdot(R, R)) / n,
                evaluations=evals,
                out_of_time=cut,
                seconds=time.perf_counter() - t0,
            )
            bar.update(objective=round(E / n, 5))
    return network


class _OutOfTime(Exception):
    """Internal: the time budget ran out during a module's optimisation."""


def _train_module(xp, Z, T, W0, b0, lam, iterations, method, deadline, dtype):
    """Minimise the module objective over (W, b) with scipy from (W0, b0); returns the best
    (W, b) met (never worse than the start), the number of evaluations, and whether the
    time budget cut the optimisation short."""
    n_in, L = W0.shape
    n = Z.shape[0]
    best = {"E": np.inf, "x": None}
    count = [0]

    def f(x):
        if deadline is not None and count[0] and time.perf_counter() > deadline:
            raise _OutOfTime
        count[0] += 1
        W = xp.asarray(x[: n_in * L].reshape(n_in, L), dtype=dtype)
        b = xp.asarray(x[n_in * L :], dtype=dtype)
        E, dW, db, _, _ = _objective(xp, Z, T, W, b, lam, True, "fit")
        if E < best["E"]:
            best["E"], best["x"] = E, x.copy()
        g = np.concatenate([to_host(dW).ravel(), to_host(db)]).astype(np.float64)
        return E / n, g / n  # per example: the optimiser's tolerances do not depend on n

    x0 = np.concatenate([W0.ravel(), b0])
    cut = False
    try:
        # no tolerance stops: a new module starts near its predecessor's optimum, where the
        # gradient is small but the new input columns still have something to give
        options = {"maxiter": int(iterations), "gtol": 0.0}
        if method == "L-BFGS-B":
            options["ftol"] = 0.0
        scipy.optimize.minimize(f, x0, jac=True, method=method, options=options)
    except _OutOfTime:
        cut = True  # the best (W, b) met so far is kept
    x = best["x"]
    W, b = xp.asarray(x[: n_in * L].reshape(n_in, L), dtype=dtype), xp.asarray(x[n_in * L :], dtype=dtype)
    return W, b, count[0], cut
