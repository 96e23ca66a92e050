r"""Symbolic derivations, done once per kind with sympy and lambdified per backend.

For one column with state ``s``, coupling input ``x`` and inverse temperature ``beta``
the local log-density of a kind is

.. math:: \ell(s; x) = \beta\,(-f(s;\theta) + T(s;\theta)\,x).

From it sympy derives, per kind (never per unit):

* discrete support ``{v_0, ..., v_{m-1}}``: the logits ``l_k = ell(v_k) - ell(v_0)`` and
  the base ``ell(v_0)``, so ``log Z(x) = base + logsumexp(0, l_1, ..., l_{m-1})``
  (``softplus`` for two values, evaluated stably);
* one-hot (softmax) support: the per-column logit ``ell(1) - ell(0)``;
* real support: ``ell`` must be quadratic in ``s`` with a negative leading coefficient
  ``a``; then ``mean = -b / 2a``, ``var = -1 / 2a`` and the Gaussian integral
  ``log Z = c - b^2 / 4a + log(pi / -a) / 2``;
* the score ``-dE/dtheta = d(-f + T x)/dtheta`` of every parameter, and its expectation
  under the conditional (moments substituted for real support).

The results are lambdified once per (kind, backend) and cached.

>>> from graphmrf.kinds import get_kind
>>> d = derive(get_kind("binary"))
>>> d.logit_exprs
[beta*(bias + x)]
>>> d.log_partition_expr
softplus(beta*(bias + x))
>>> import numpy as np
>>> ops = d.numeric(np)
>>> float(ops.log_partition(np.array([[1e4]], np.float32), {"bias": np.zeros(1, np.float32)}, 1.0, 1)[0, 0])
10000.0
"""

from dataclasses import dataclass
from functools import cache

import sympy as sp

from .backend import logsumexp
from .kinds import BETA, S, X

__all__ = ["derive", "Derivation", "softplus", "LogSumExp", "lambdify_calls"]


class softplus(sp.Function):
    """softplus(z) = log(1 + exp(z)), evaluated as logaddexp(0, z).

    A sympy function of its own so that derived expressions keep it whole (lambdified to
    :func:`stable_softplus`, exact for every z) instead of expanding it into an ``exp``
    that overflows.

    Parameters
    ----------
    *args : sympy expression
        ``z`` (one argument).

    Examples
    --------
    >>> import sympy as sp
    >>> z = sp.Symbol("z")
    >>> sp.diff(softplus(z), z), softplus(sp.Integer(0)).evalf(6)
    (1/(1 + exp(-z)), 0.693147)
    """

    def fdiff(self, argindex=1):
        """The derivative, ``sigmoid(z)`` (sympy's hook for ``diff``).

        Parameters
        ----------
        argindex : int
            Which argument to differentiate by (softplus has one).

        Returns
        -------
        sympy expression

        Examples
        --------
        >>> import sympy as sp
        >>> softplus(sp.Symbol("z")).fdiff()
        1/(1 + exp(-z))
        """
        return 1 / (1 + sp.exp(-self.args[0]))

    def _eval_evalf(self, prec):
        return sp.log(1 + sp.exp(self.args[0]))._eval_evalf(prec)


class LogSumExp(sp.Function):
    """log(sum_k exp(z_k)), evaluated with a max shift.

    The log partition function of a kind with three or more support values keeps this
    form (its logits are not affine in ``x`` for one shared slope).

    Parameters
    ----------
    *args : sympy expression
        The ``z_k``.

    Examples
    --------
    >>> import sympy as sp
    >>> a, b = sp.symbols("a b")
    >>> sp.diff(LogSumExp(a, b), a), LogSumExp(0, 0).evalf(6)
    (exp(a - LogSumExp(a, b)), 0.693147)
    """

    def fdiff(self, argindex=1):
        """The derivative by ``z_k`` (``k = argindex``), ``exp(z_k - LogSumExp(z))``: a
        softmax probability (sympy's hook for ``diff``).

        Parameters
        ----------
        argindex : int
            Which argument, from 1.

        Returns
        -------
        sympy expression

        Examples
        --------
        >>> import sympy as sp
        >>> a, b = sp.symbols("a b")
        >>> LogSumExp(a, b).fdiff(2)
        exp(b - LogSumExp(a, b))
        """
        return sp.exp(self.args[argindex - 1] - self)

    def _eval_evalf(self, prec):
        return sp.log(sp.Add(*[sp.exp(a) for a in self.args]))._eval_evalf(prec)


#: Number of sympy lambdify calls made so far (a compile-once test reads it).
lambdify_calls = 0


@dataclass(eq=False)
class Derivation:
    """Symbolic results for one kind; see the module docstring.

    Attributes
    ----------
    kind : Kind
        The kind derived.
    log_density : sympy expression
        ``ell(s; x) = beta (-f(s) + T(s) x)`` of one column.
    score_exprs : dict
        ``-dE/dtheta`` of each parameter, by its internal name.
    values : tuple
        The support values of one column (``(0, 1)`` for one-hot); empty for real units.
    logit_exprs : list, optional
        ``ell(v_k) - ell(v_0)`` for each value after the first (discrete kinds).
    base_expr : sympy expression, optional
        ``ell(v_0)`` (discrete kinds).
    log_partition_expr : sympy expression, optional
        ``log sum_s exp(ell(s))`` (or the Gaussian integral).
    mean_expr, var_expr : sympy expression, optional
        The conditional's moments (real kinds).
    expected_score_exprs : dict, optional
        Each score's expectation under the conditional (real kinds).
    expected_statistic_expr : sympy expression, optional
        ``E[T(s) | x]`` (real kinds).
    logit_affine : (slope, intercept), optional
        When the single logit is ``slope * x + intercept``.

    Examples
    --------
    A spin's logit is ``2 beta (b + x)`` and its log partition ``-beta (b + x)`` plus a softplus:

    >>> from graphmrf.kinds import get_kind
    >>> d = derive(get_kind("spin"))
    >>> d.values, d.logit_exprs, d.logit_affine
    ((-1, 1), [2*beta*(bias + x)], (2*beta, 2*beta*bias))
    >>> g = derive(get_kind("gaussian"))
    >>> g.mean_expr, g.var_expr
    (bias + x*exp(log_sigma), exp(2*log_sigma)/beta)
    """

    kind: object
    log_density: sp.Expr
    score_exprs: dict
    values: tuple = ()
    logit_exprs: list = None
    base_expr: sp.Expr = None
    log_partition_expr: sp.Expr = None
    mean_expr: sp.Expr = None
    var_expr: sp.Expr = None
    expected_score_exprs: dict = None
    expected_statistic_expr: sp.Expr = None
    logit_affine: tuple = None  # (slope, intercept) when a single logit is slope * x + intercept

    def numeric(self, xp):
        """Backend functions for array module ``xp`` (cached).

        Parameters
        ----------
        xp : module
            ``numpy`` or ``cupy``.

        Returns
        -------
        object
            The kind's batched numeric functions -- ``self_energy``, ``statistic``,
            ``score``, ``conditional``, ``log_partition``, ``draw``, ``mode``, ... -- on
            arrays of that module; one object per (kind, module).

        Examples
        --------
        >>> import numpy as np
        >>> from graphmrf.kinds import get_kind
        >>> ops = derive(get_kind("spin")).numeric(np)
        >>> ops is derive(get_kind("spin")).numeric(np)
        True
        >>> ops.conditional(np.array([[0.5]]), {"bias": np.zeros(1)}, 1.0, 1)  # logit 2 beta x
        {'logits': array([[[1.]]])}
        """
        return _numeric(self, xp)


@cache
def derive(kind):
    """Derive every quantity of :class:`Derivation` for ``kind`` (cached per kind).

    Parameters
    ----------
    kind : Kind
        A unit kind (:mod:`graphmrf.kinds`).

    Returns
    -------
    Derivation

    Raises
    ------
    ValueError
        If a real-valued kind's log-density is not quadratic in ``s`` with a negative
        leading coefficient (no Gaussian conditional), or a score is not quadratic.

    Examples
    --------
    >>> from graphmrf.kinds import get_kind
    >>> d = derive(get_kind("binary"))
    >>> d.logit_exprs, d.log_partition_expr, d is derive(get_kind("binary"))
    ([beta*(bias + x)], softplus(beta*(bias + x)), True)
    """
    [p.symbol for p in kind.params]
    neg_local = -kind.self_energy + kind.statistic * X
    ell = sp.expand(BETA * neg_local)
    scores = {p.name: sp.simplify(sp.diff(neg_local, p.symbol)) for p in kind.params}
    d = Derivation(kind=kind, log_density=ell, score_exprs=scores)
    if kind.support == "real":
        poly = sp.Poly(ell, S)
        if poly.degree() != 2:
            raise ValueError(
                f"kind {kind.name!r}: a real-valued kind needs a log-density quadratic in s; got degree {poly.degree()}"
            )
        a = poly.coeff_monomial(S**2)
        b = poly.coeff_monomial(S)
        c = poly.coeff_monomial(1)
        if sp.ask(sp.Q.negative(a)) is not True:
            raise ValueError(f"kind {kind.name!r}: coefficient of s**2 in the log-density must be negative; got {a}")
        d.mean_expr = sp.simplify(-b / (2 * a))
        d.var_expr = sp.simplify(-1 / (2 * a))
        d.log_partition_expr = sp.simplify(c - b**2 / (4 * a)) + sp.expand_log(sp.log(sp.pi / (-a)), force=True) / 2

        def expect(expr):
            p = sp.Poly(sp.expand(expr), S)
            if p.degree() > 2:
                raise ValueError(f"kind {kind.name!r}: score {expr} is not quadratic in s")
            m, v = d.mean_expr, d.var_expr
            moments = {0: 1, 1: m, 2: v + m**2}
            return sp.simplify(sum(p.coeff_monomial(S**k) * moments[k] for k in range(p.degree() + 1)))

        d.expected_score_exprs = {n: expect(e) for n, e in scores.items()}
        d.expected_statistic_expr = expect(kind.statistic)
    elif kind.support == "onehot":
        d.values = (0, 1)
        d.base_expr = sp.simplify(ell.subs(S, 0))
        d.logit_exprs = [sp.simplify(ell.subs(S, 1) - ell.subs(S, 0))]
    else:
        d.values = tuple(kind.support)
        base = ell.subs(S, d.values[0])
        d.base_expr = sp.simplify(base)
        d.logit_exprs = [sp.factor(sp.simplify(ell.subs(S, v) - base)) for v in d.values[1:]]
        if len(d.logit_exprs) == 1:
            d.log_partition_expr = sp.simplify(d.base_expr + softplus(d.logit_exprs[0]))
    if d.logit_exprs is not None and len(d.logit_exprs) == 1:
        slope = sp.simplify(sp.diff(d.logit_exprs[0], X))
        if X not in slope.free_symbols:
            d.logit_affine = (slope, sp.simplify(d.logit_exprs[0] - slope * X))
        else:
            d.log_partition_expr = d.base_expr + LogSumExp(sp.Integer(0), *d.logit_exprs)
    return d


def stable_softplus(xp, z):
    """log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)): exact to rounding for every z and
    about three times faster than ``logaddexp(0, z)`` (whose exp and log are not vectorised)."""
    a = xp.abs(z)
    xp.negative(a, out=a)
    xp.exp(a, out=a)
    xp.log1p(a, out=a)
    a += xp.maximum(z, 0)
    return a


def _sigmoid(xp, z, scale=1.0, own=False):
    """``scale * sigmoid(z)`` as ``scale * (1 + tanh(z / 2)) / 2``: stable for every z, four
    passes. Computed in ``z``'s memory when ``own`` (the caller gives it up and it is
    writeable), else in one fresh array."""
    p = z if own and z.flags.writeable else xp.empty_like(z)
    xp.multiply(z, 0.5, out=p)
    xp.tanh(p, out=p)
    p += 1
    p *= 0.5 * scale
    return p


def _lambdify(expr, args, xp):
    global lambdify_calls
    lambdify_calls += 1
    return sp.lambdify(
        args,
        expr,
        modules=[
            {"softplus": lambda z: stable_softplus(xp, xp.asarray(z))},
            xp.__name__ if xp.__name__ != "numpy" else "numpy",
        ],
    )


class _AtBeta:
    """A lambdified expression with a beta-free twin used when beta == 1."""

    __slots__ = ("general", "at_one")

    def __init__(self, general, at_one):
        self.general, self.at_one = general, at_one

    def __call__(self, s, x, beta, *params):
        if isinstance(beta, (int, float)) and beta == 1:
            return self.at_one(s, x, beta, *params)
        return self.general(s, x, beta, *params)


class _Numeric:
    """Lambdified kind functions for one array module; arrays are per column."""

    def __init__(self, d, xp):
        self.d, self.xp, self.kind = d, xp, d.kind
        names = [p.name for p in d.kind.params]
        self.param_names = names
        args = [S, X, BETA] + [sp.Symbol(n, real=True) for n in names]

        def lam(e):
            # beta = 1 gets its own function: one multiplication fewer on every element
            return _AtBeta(_lambdify(e, args, xp), _lambdify(e.subs(BETA, 1), args, xp))

        self._f = lam(d.kind.self_energy)
        self._T = lam(d.kind.statistic)
        self._score = {n: lam(e) for n, e in d.score_exprs.items()}
        #: whether any score -dE/dtheta depends on the coupling input (gaussian log sigma)
        self._score_uses_x = {n: X in e.free_symbols for n, e in d.score_exprs.items()}
        #: scores that are the state itself (the bias of a binary or spin unit): no call
        self.score_is_state = {n for n, e in d.score_exprs.items() if e == S}
        #: statistic and scores affine in s and free of x: E[g(s) | x] = g(E[s | x]), so a
        #: summed unit's statistics are those of its mean (a training loop uses this)
        exprs = [d.kind.statistic] + list(d.score_exprs.values())
        self.linear_in_state = all(
            X not in e.free_symbols and e.is_polynomial(S) and sp.degree(e, S) <= 1 for e in exprs
        )
        # g(v0), g(v1) of a two-valued kind's statistic and scores that depend on s alone
        self._const = {}
        if d.kind.support != "real" and not d.kind.onehot and len(d.values) == 2:
            for n, e in [("T", d.kind.statistic)] + list(d.score_exprs.items()):
                if e.free_symbols <= {S}:
                    self._const[n] = tuple(float(e.subs(S, v)) for v in d.values)
        self.score_uses_x = any(self._score_uses_x.values())
        if d.kind.support == "real":
            self._mean, self._var = lam(d.mean_expr), lam(d.var_expr)
            self._logz = lam(d.log_partition_expr)
            self._escore = {n: lam(e) for n, e in d.expected_score_exprs.items()}
            self._eT = lam(d.expected_statistic_expr)
        else:
            self._base = lam(d.base_expr)
            self._base_is_zero = sp.simplify(d.base_expr) == 0
            self._logits = [lam(e) for e in d.logit_exprs]
            self._affine = None if d.logit_affine is None else (lam(d.logit_affine[0]), lam(d.logit_affine[1]))
            # a slope that depends on beta alone (every built-in kind) is computed once per beta
            self._slope_beta_only = d.logit_affine is not None and d.logit_affine[0].free_symbols <= {BETA}
            self._slopes = {}
            # an intercept that is the slope times one parameter (beta * bias) needs no call
            self._intercept_param = None
            if d.logit_affine is not None and d.logit_affine[0] != 0:
                ratio = sp.simplify(d.logit_affine[1] / d.logit_affine[0])
                if isinstance(ratio, sp.Symbol) and ratio.name in self.param_names:
                    self._intercept_param = ratio.name

    def _call(self, fn, s, x, beta, p, like):
        out = fn(s, x, beta, *[p[n] for n in self.param_names])
        return self.xp.broadcast_to(self.xp.asarray(out, dtype=like.dtype), like.shape)

    # -- quantities of a given state ------------------------------------------------
    def self_energy(self, s, p):
        """f(s; theta) per column."""
        return self._call(self._f, s, 0.0, 1.0, p, s)

    def statistic(self, s, p):
        """T(s; theta) per column."""
        return self._call(self._T, s, 0.0, 1.0, p, s)

    def score(self, s, x, p):
        """-dE/dtheta contributed by each column: dict name -> array like s (read only)."""
        return {n: s if n in self.score_is_state else self._call(f, s, x, 1.0, p, s) for n, f in self._score.items()}

    # -- the conditional given the coupling input x ---------------------------------
    def conditional(self, x, p, beta, width, consume=False):
        """Parameters of p(s | x) at inverse temperature beta.

        Returns ``{"logits": (..., m-1)}`` for discrete kinds (logits relative to the
        first value), ``{"logits": (..., n, K)}`` for one-hot, ``{"mean", "var"}`` for real.
        With ``consume=True`` the caller gives up ``x``: a logit affine in x (sympy finds
        slope and intercept) is then computed in x's own memory, with no new array.
        """
        xp = self.xp
        if self.kind.support == "real":
            return {"mean": self._call(self._mean, x, x, beta, p, x), "var": self._call(self._var, x, x, beta, p, x)}
        if consume and self._affine is not None:
            if self._slope_beta_only and isinstance(beta, (int, float)):
                slope = self._slopes.get(beta)
                if slope is None:
                    slope = self._slopes[beta] = self._affine[0](0.0, 0.0, beta, *[p[n] for n in self.param_names])
            else:
                slope = self._affine[0](0.0, 0.0, beta, *[p[n] for n in self.param_names])
            unit_slope = isinstance(slope, (int, float)) and slope == 1
            if self._intercept_param is not None:  # logit = slope * (x + param)
                x += p[self._intercept_param]
                if not unit_slope:
                    x *= xp.asarray(slope, dtype=x.dtype)
            else:
                intercept = self._affine[1](0.0, 0.0, beta, *[p[n] for n in self.param_names])
                if not unit_slope:
                    x *= xp.asarray(slope, dtype=x.dtype)
                if not (isinstance(intercept, (int, float)) and intercept == 0):
                    x += xp.asarray(intercept, dtype=x.dtype)
            logits = x[..., None]
            if self.kind.onehot:
                logits = logits[..., 0]
                return {"logits": logits.reshape(logits.shape[:-1] + (-1, width))}
            return {"logits": logits}
        if len(self._logits) == 1:
            logits = self._call(self._logits[0], x, x, beta, p, x)[..., None]
        else:
            logits = xp.stack([self._call(f, x, x, beta, p, x) for f in self._logits], axis=-1)
        if self.kind.onehot:
            logits = logits[..., 0]
            return {"logits": logits.reshape(logits.shape[:-1] + (-1, width))}
        return {"logits": logits}

    def probabilities(self, cond):
        """Probabilities of each support value (discrete) or category (one-hot)."""
        xp = self.xp
        lg = cond["logits"]
        if not self.kind.onehot:
            lg = xp.concatenate([xp.zeros_like(lg[..., :1]), lg], axis=-1)
        m = xp.max(lg, axis=-1, keepdims=True)
        e = xp.exp(lg - m)
        return e / xp.sum(e, axis=-1, keepdims=True)

    def log_partition(self, x, p, beta, width):
        """log sum_s exp(ell(s; x)) per unit (shape (..., n_units))."""
        xp = self.xp
        if self.kind.support == "real":
            return self._call(self._logz, x, x, beta, p, x)
        cond = self.conditional(x, p, beta, width)
        lg = cond["logits"]
        if self.kind.onehot:
            out = logsumexp(lg, axis=-1, xp=xp)
        elif lg.shape[-1] == 1:
            out = stable_softplus(xp, lg[..., 0])
        else:
            lg = xp.concatenate([xp.zeros_like(lg[..., :1]), lg], axis=-1)
            out = logsumexp(lg, axis=-1, xp=xp)
        if not self._base_is_zero:
            base = self._call(self._base, x, x, beta, p, x)
            out = out + (xp.sum(base.reshape(lg.shape), axis=-1) if self.kind.onehot else base)
        return out

    def _expect_many(self, fns, x, p, beta, width, consume=False):
        """E[g(s) | x] for several ``(g, x_free)`` from one conditional.

        ``x_free`` says g does not depend on x: it is then evaluated on one row (the
        parameters vary per column only) and, for two-valued kinds, applied to the
        probability as an affine map -- the identity for a 0/1 statistic, so E[T] is the
        probability itself. Functions with the same map share one array.
        """
        xp = self.xp
        consume = consume and all(entry[1] for entry in fns)  # no g reads x afterwards
        cond = self.conditional(x, p, beta, width, consume=consume)
        if not self.kind.onehot and len(self.d.values) == 2:
            # two values: g(v0) + sigmoid(logit) (g(v1) - g(v0)), no softmax over a new axis
            p1 = _sigmoid(xp, cond["logits"][..., 0], own=consume)  # x's memory or fresh: ours
            out, maps = [], []
            for entry in fns:
                fn, x_free = entry[:2]
                const = entry[2] if len(entry) > 2 else None
                if const is not None:  # g(v0), g(v1) known when the kind was built
                    g0, g1 = const
                    for (a, b), arr in maps:
                        if isinstance(a, float) and (a, b) == (g0, g1):
                            out.append(arr)
                            break
                    else:
                        # p1 itself is handed out only as the identity map, never changed
                        arr = p1 if not maps and (g0, g1) == (0.0, 1.0) else p1.copy()
                        if (g0, g1) != (0.0, 1.0):
                            arr *= g1 - g0
                            arr += g0
                        maps.append(((g0, g1), arr))
                        out.append(arr)
                    continue
                like = x[:1] if x_free else x
                g0 = fn(xp.full_like(like, self.d.values[0]))
                g1 = fn(xp.full_like(like, self.d.values[1]))
                if x_free:
                    for (a, b), arr in maps:
                        if not isinstance(a, float) and bool(xp.all(a == g0)) and bool(xp.all(b == g1)):
                            out.append(arr)
                            break
                    else:
                        if bool(xp.all(g0 == 0)) and bool(xp.all(g1 == 1)):
                            arr = p1 if not maps else p1.copy()
                            g0, g1 = 0.0, 1.0
                        else:
                            arr = p1 * (g1 - g0)
                            arr += g0
                        maps.append(((g0, g1), arr))
                        out.append(arr)
                else:
                    out.append(g0 + p1 * (g1 - g0))
            return out
        probs = self.probabilities(cond)
        out = []
        for entry in fns:
            fn = entry[0]
            if self.kind.onehot:
                pr = probs.reshape(x.shape)
                out.append(pr * fn(xp.ones_like(x)) + (1 - pr) * fn(xp.zeros_like(x)))
                continue
            acc = 0
            for k, v in enumerate(self.d.values):
                acc = acc + probs[..., k] * fn(xp.full_like(x, v))
            out.append(acc)
        return out

    def expected_statistic(self, x, p, beta, width):
        """E[T(s) | x] per column."""
        if self.kind.support == "real":
            return self._call(self._eT, x, x, beta, p, x)
        return self._expect_many([(lambda s: self.statistic(s, p), True, self._const.get("T"))], x, p, beta, width)[0]

    def expectations(self, x, p, beta, width):
        """``(E[T(s) | x], E[-dE/dtheta | x])`` from one conditional (what a summed unit
        contributes to the sufficient statistics)."""
        if self.kind.support == "real":
            return self.expected_statistic(x, p, beta, width), self.expected_score(x, p, beta, width)
        names = list(self._score)
        fns = [(lambda s: self.statistic(s, p), True, self._const.get("T"))]
        fns += [
            (lambda s, f=self._score[n]: self._call(f, s, x, 1.0, p, s), not self._score_uses_x[n], self._const.get(n))
            for n in names
        ]
        res = self._expect_many(fns, x, p, beta, width)
        return res[0], dict(zip(names, res[1:]))

    def expected_state(self, x, p, beta, width, consume=False):
        """E[s | x] per column (category probabilities for one-hot). With ``consume=True``
        the caller gives up ``x``: a two-valued kind's mean is then computed in its memory."""
        if self.kind.support == "real":
            return self._call(self._mean, x, x, beta, p, x)
        if self.kind.onehot or len(self.d.values) != 2:
            return self._expect_many([(lambda s: s, True, None)], x, p, beta, width, consume=consume)[0]
        # two values: v0 + sigmoid(logit) (v1 - v0), the sigmoid as (1 + tanh(z / 2)) / 2
        z = self.conditional(x, p, beta, width, consume=consume)["logits"][..., 0]
        lo, hi = self.d.values
        mean = _sigmoid(self.xp, z, scale=hi - lo, own=consume)  # x's memory or fresh: ours
        if lo:
            mean += lo
        return mean

    def expected_score(self, x, p, beta, width):
        """E[-dE/dtheta | x] per column, for each parameter."""
        if self.kind.support == "real":
            return {n: self._call(f, x, x, beta, p, x) for n, f in self._escore.items()}
        fns = [
            (lambda s, f=f: self._call(f, s, x, 1.0, p, s), not self._score_uses_x[n]) for n, f in self._score.items()
        ]
        return dict(zip(self._score, self._expect_many(fns, x, p, beta, width)))

    def mode(self, cond, current, width):
        """The most probable value given the conditional; ties keep ``current``."""
        xp = self.xp
        if self.kind.support == "real":
            return cond["mean"]
        lg = cond["logits"]
        if self.kind.onehot:
            best = xp.max(lg, axis=-1, keepdims=True)
            cur = current.reshape(lg.shape)
            cur_logit = xp.sum(lg * cur, axis=-1, keepdims=True)
            idx = xp.argmax(lg, axis=-1)
            new = (xp.arange(width)[None, None, :] == idx[..., None]).astype(lg.dtype)
            return xp.where(cur_logit >= best, cur, new).reshape(current.shape)
        if lg.shape[-1] == 1:  # two values: the sign of the logit decides, zero keeps the state
            z = lg[..., 0]
            lo, hi = self.d.values
            if lo == -hi:  # symmetric values: hi * sign(z), and a tie keeps the state
                new = xp.sign(z)
                new *= hi
                return xp.where(z == 0, current, new)
            return xp.where(z > 0, lg.dtype.type(hi), xp.where(z < 0, lg.dtype.type(lo), current))
        full = xp.concatenate([xp.zeros_like(lg[..., :1]), lg], axis=-1)
        vals = xp.asarray(self.d.values, dtype=lg.dtype)
        best = xp.max(full, axis=-1)
        cur_idx = xp.argmax(current[..., None] == vals, axis=-1)
        cur_logit = xp.take_along_axis(full, cur_idx[..., None], axis=-1)[..., 0]
        return xp.where(cur_logit >= best, current, vals[xp.argmax(full, axis=-1)])

    def log_prob(self, cond, s, width):
        """log p(s | x) of states ``s`` under the conditional (per unit)."""
        xp = self.xp
        if self.kind.support == "real":
            m, v = cond["mean"], cond["var"]
            return -0.5 * (s - m) ** 2 / v - 0.5 * xp.log(2 * xp.pi * v)
        lg = cond["logits"]
        if self.kind.onehot:
            return xp.sum(lg * s.reshape(lg.shape), axis=-1) - logsumexp(lg, axis=-1, xp=xp)
        full = xp.concatenate([xp.zeros_like(lg[..., :1]), lg], axis=-1)
        lse = logsumexp(full, axis=-1, xp=xp)
        vals = xp.asarray(self.d.values, dtype=lg.dtype)
        idx = xp.argmax(s[..., None] == vals, axis=-1)
        return xp.take_along_axis(full, idx[..., None], axis=-1)[..., 0] - lse

    def draw(self, cond, uniform, normal, width, out=None, consume=False):
        """Draw from the conditional using only uniforms and normals.

        ``uniform(shape)`` and ``normal(shape)`` return arrays; a discrete kind uses one
        uniform per unit (inverse CDF), one-hot uses Gumbel-max, real uses a normal.
        """
        xp = self.xp
        if self.kind.support == "real":
            mean = cond["mean"]
            return mean + xp.sqrt(cond["var"]) * normal(mean.shape)
        if self.kind.onehot:
            lg = cond["logits"]
            fi = xp.finfo(lg.dtype)
            u = xp.clip(uniform(lg.shape), fi.tiny, 1 - fi.epsneg)  # Gumbel needs u in (0, 1)
            g = -xp.log(-xp.log(u))
            idx = xp.argmax(lg + g, axis=-1)
            out = (xp.arange(width)[None, None, :] == idx[..., None]).astype(lg.dtype)
            return out.reshape(lg.shape[:-2] + (-1,))
        lg = cond["logits"]
        vals = self.d.values
        u = uniform(lg.shape[:-1])
        if len(vals) == 2:
            p1 = _sigmoid(xp, lg[..., 0], own=consume)
            if out is None:
                out = xp.empty(p1.shape, dtype=lg.dtype)
            xp.less(u, p1, out=out)  # the indicator, written as 0/1 straight into out
            if vals != (0, 1):  # an affine map of the indicator: cheaper than where()
                out *= vals[1] - vals[0]
                out += vals[0]
            return out
        probs = self.probabilities(cond)
        cdf = xp.cumsum(probs, axis=-1)
        idx = xp.sum(cdf[..., :-1] < u[..., None], axis=-1)
        return xp.asarray(vals, dtype=lg.dtype)[idx]


@cache
def _numeric(d, xp):
    return _Numeric(d, xp)
