r"""Annealed importance sampling (AIS) estimates of the partition function.

The path runs from a base model with the target's structure and **no couplings** (so its
log Z is a sum of one-unit terms) to the target: at inverse temperature ``beta_k`` the
model has biases ``(1 - beta_k) b_base + beta_k b`` and couplings ``beta_k W`` (gaussian
scales are the target's throughout). Chains start from exact draws of the base, and each
step multiplies the importance weight by ``p*_k(x) / p*_(k-1)(x)`` before a Gibbs sweep that
leaves ``p_k`` invariant -- the same kernels as every other sampler, run at the step's
parameters. Where the hidden units are conditionally independent they are summed
analytically in ``p*`` (free energies), which lowers the variance.

``log Z = log Z_base + log mean(w)``; the standard error is the delta-method estimate
``std(w) / (mean(w) sqrt(n))`` and ``ess = (sum w)^2 / sum w^2``.

**When the error bar lies.** The standard error is computed from the same weights it
judges. When a few runs carry most of the weight (a low effective sample size) the
weights' heavy right tail is undersampled: the estimate is low and the standard error too
small (a 784x15 RBM with weights of scale 3 at the defaults gives ESS ~ 6 of 100, and only
80 % of estimates within 3 standard errors of the exact log Z). Below
``MIN_ESS_FRACTION`` of the runs, :func:`log_partition` warns with
:class:`DegenerateWeightsWarning` and the result's repr says so. To fix it, in order of
effect: more temperatures (``betas``: the weights even out as the steps shrink), a base
model closer to the target (``data=``: visible biases from the data), more runs
(``n_chains``). ``graphmrf.verify(program, "ais")`` checks the calibration on a model
small enough to enumerate.

>>> import graphmrf as gm, numpy as np
>>> prog = gm.compile(gm.rbm(6, 4, seed=0, scale=0.5))
>>> res = log_partition(prog, n_chains=200, betas=200, seed=0)
>>> bool(abs(res.log_z - gm.exact.log_partition(prog)) < 4 * res.stderr + 1e-3)
True
"""

import warnings
from typing import NamedTuple

import numpy as np

from .arguments import AnyOf, Boolean, Constraint, Function, Integer, Seed, checked
from .backend import to_host
from .builders import marginal_bias
from .samplers.gibbs import block_gibbs
from .samplers.progress import Progress
from .support import check_data

__all__ = ["log_partition", "AISResult", "base_parameters", "DegenerateWeightsWarning", "MIN_ESS_FRACTION"]

#: below this fraction of the runs the effective sample size is too low to trust the standard error
MIN_ESS_FRACTION = 0.5


class DegenerateWeightsWarning(UserWarning):
    """AIS importance weights so uneven (effective sample size below
    ``MIN_ESS_FRACTION`` of the runs) that the reported standard error is not to be trusted.

    Examples
    --------
    One step from the base to a strongly coupled RBM: a few runs carry all the weight.

    >>> import warnings, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(20, 10, seed=0, scale=3.0))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     res = log_partition(prog, n_chains=20, betas=[1.0], seed=0)
    >>> [w.category.__name__ for w in caught], res.reliable
    (['DegenerateWeightsWarning'], False)
    """


class AISResult(NamedTuple):
    """An AIS estimate: ``log_z`` with its standard error ``stderr``, the effective
    sample size ``ess`` of the final importance weights, the log weights of the runs, and
    the base model's exact ``log_z_base``. ``reliable`` is False when the ESS is too low
    for ``stderr`` to be trusted (see the module notes).

    Attributes
    ----------
    log_z : float
        The estimate, ``log Z_base + log mean(w)``.
    stderr : float
        Its delta-method standard error, ``std(w) / (mean(w) sqrt(n))``.
    ess : float
        Effective sample size of the weights, ``(sum w)^2 / sum w^2``.
    log_weights : numpy.ndarray (runs,)
        ``log w`` of each run.
    log_z_base : float
        The base model's exact log partition function.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(6, 4, seed=0, scale=0.5))
    >>> res = log_partition(prog, n_chains=100, betas=100, seed=0)
    >>> res.reliable, res.log_weights.shape, round(res.log_z_base, 4)  # base: 10 free binary units, 10 log 2
    (True, (100,), 6.9315)
    """

    log_z: float
    stderr: float
    ess: float
    log_weights: np.ndarray
    log_z_base: float

    @property
    def reliable(self):
        return _reliable(self.ess, len(self.log_weights))

    def __repr__(self):
        n = len(self.log_weights)
        text = f"AISResult(log_z={self.log_z:.6g}, stderr={self.stderr:.3g}, ess={self.ess:.3g} of {n} runs"
        if not self.reliable:
            text += (
                f"; ESS below {MIN_ESS_FRACTION:g} of the runs: the standard error is not to be trusted "
                "-- use more temperatures, a better base (data=) or more runs"
            )
        return text + ")"


def _reliable(ess, n):
    return n >= 2 and ess >= MIN_ESS_FRACTION * n


class _Ladder(Constraint):
    """An AIS schedule: an integer K >= 1 (K equal steps), or an increasing sequence of
    finite inverse temperatures from 0 to 1 (``[1.0]`` alone: one step from the base)."""

    def kind_ok(self, value):
        if Integer().kind_ok(value):
            return True
        try:
            a = np.asarray(to_host(value), dtype=np.float64)
        except (TypeError, ValueError):
            return False
        return a.ndim == 1

    def admits(self, value):
        if Integer().kind_ok(value):
            return Integer(1).admits(value)
        if not self.kind_ok(value):
            return False
        a = np.asarray(to_host(value), dtype=np.float64)
        if a.size == 0 or not np.all(np.isfinite(a)) or a[-1] != 1.0:
            return False
        return (a.size == 1) or (a[0] == 0.0 and bool(np.all(np.diff(a) > 0)))

    def __str__(self):
        return "an integer >= 1 or an increasing sequence of finite betas from 0 to 1"


def base_parameters(program, data=None):
    """Parameters of the base model: the target's, with couplings zero and, when ``data``
    (visible columns) is given, visible biases set from it as the field recommends.

    The base's log Z is a sum of one-unit terms; a base whose visible marginals match the
    data starts the path closer to a trained target (Salakhutdinov & Murray 2008).

    Parameters
    ----------
    program : Program
        The target model (not changed).
    data : array (rows, visible columns), optional
        Visible vectors; binary units get ``log(p / (1 - p))`` of their mean (clipped to
        [1e-3, 1 - 1e-3]).

    Returns
    -------
    dict of arrays
        Keyed like ``program.params``.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0), dtype=np.float64)
    >>> base = base_parameters(prog, data=np.array([[1, 1, 0], [1, 0, 0]]))
    >>> np.round(base["v.bias"], 2).tolist(), float(abs(base["v~h.weight"]).max())
    ([6.91, 0.0, -6.91], 0.0)
    """
    base = {k: program.xp.array(v, copy=True) for k, v in program.params.items()}
    for c in program.couplings:
        base[c.key][...] = 0
    if data is not None:
        data = np.asarray(to_host(data), dtype=np.float64)
        for L in program.layers:
            if L.visible.all() and L.declared:
                pos = np.searchsorted(program.visible_columns, np.arange(L.sl.start, L.sl.stop))
                cats = L.width if L.kind.onehot else None
                bias = marginal_bias(L.kind.name, data[:, pos], L.n, cats)
                base[f"{L.name}.bias"][...] = program.xp.asarray(np.ravel(bias), dtype=program.dtype)
    return base


def _base_log_z(program, base):
    xp = program.xp
    total = 0.0
    for L in program.layers:
        p = {k: base[f"{L.name}.{k}"] for k in L.params}
        zero = xp.zeros((1, L.cols), dtype=np.float64)
        p64 = {k: xp.asarray(v, dtype=np.float64) for k, v in p.items()}
        total += float(to_host(xp.sum(L.ops.log_partition(zero, p64, 1.0, L.width))))
    return total


@checked(n_chains=Integer(2), betas=_Ladder(), seed=Seed(), sweep=Function(), progress=AnyOf(None, Boolean()))
def log_partition(program, n_chains=100, betas=1000, data=None, seed=None, sweep=block_gibbs, progress=None):
    """AIS estimate of ``log Z`` of an undirected model; returns :class:`AISResult`.

    Parameters
    ----------
    program : Program
        The target model (its parameters are read, never changed).
    n_chains : int
        Independent AIS runs, batched (at least 2: the standard error needs two).
    betas : int or increasing sequence from 0 to 1
        An int K gives K steps evenly spaced in beta; ``[1.0]`` is one step from the
        base to the target.
    data : array (n, visible columns), optional
        Sets the base model's visible biases (a better-matched start).
    seed : int or Generator, optional
        Random generator of the runs.
    sweep : callable
        The transition kernel (default block Gibbs): ``sweep(program, state, rng) ->
        (state, info)``, leaving ``p_k`` invariant.
    progress : bool, optional
        Show a progress bar over the temperatures (default: for long runs on a terminal).

    Returns
    -------
    AISResult

    Raises
    ------
    ValueError
        For a directed net, for arguments that break their rules, and for ``data`` of
        the wrong width or outside its units' support (:func:`graphmrf.support.check_data`).
    TypeError
        For arguments of the wrong type.

    Warns
    -----
    DegenerateWeightsWarning
        When the effective sample size is below ``MIN_ESS_FRACTION`` of the runs: the
        standard error is then too small. Use more temperatures, ``data=`` or more runs.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.rbm(6, 4, seed=0, scale=0.5))
    >>> res = log_partition(prog, n_chains=100, betas=100, seed=0)
    >>> bool(abs(res.log_z - gm.exact.log_partition(prog)) < 4 * res.stderr)
    True
    """
    if program.directed:
        raise ValueError("ais.log_partition: a directed net is normalised (log Z = 0); a DBN's log Z is its top RBM's")
    rng = program.generator(seed)
    if data is not None:  # the base model's biases are fitted to it: the same data rules as fit's (NaN: missing)
        data = check_data(program, data, missing=True)
    if isinstance(betas, (int, np.integer)):
        betas = np.linspace(0.0, 1.0, int(betas) + 1)
    betas = np.asarray(to_host(betas), dtype=np.float64)
    if betas.size == 1:
        betas = np.array([0.0, float(betas[0])])
    work = program.copy()  # the path moves its parameters
    base = base_parameters(work, data)
    target = {k: work.xp.array(v, copy=True) for k, v in work.params.items()}
    coupling_keys = {c.key for c in work.couplings}
    xp = work.xp
    summed = work.hidden_summable()
    summed = summed if summed is not None and summed.any() else None

    def set_beta(b):
        for k, v in work.params.items():
            if k in coupling_keys:
                v[...] = b * target[k]
            elif k.endswith(".log_sigma"):
                v[...] = target[k]
            else:
                v[...] = (1 - b) * base[k] + b * target[k]

    def lw(x):
        return work.log_weight(x, summed).astype(np.float64)

    set_beta(0.0)
    x, _ = sweep(work, work.random_state(n_chains, seed=rng), rng)  # exact draws: no couplings
    log_w = xp.zeros(n_chains, dtype=np.float64)
    prev = lw(x)
    with Progress(betas.size - 1, "AIS", progress) as bar:
        for b in betas[1:]:
            set_beta(float(b))
            log_w += lw(x) - prev
            if b < 1:
                x, _ = sweep(work, x, rng)
                prev = lw(x)
            bar.update()
    log_w = to_host(log_w)
    m = log_w.max()
    w = np.exp(log_w - m)
    mean = w.mean()
    log_z_base = _base_log_z(work, base)
    se = float(w.std(ddof=1) / (mean * np.sqrt(n_chains)))
    ess = float(w.sum() ** 2 / (w**2).sum())
    if not _reliable(ess, n_chains):
        warnings.warn(
            f"ais.log_partition: effective sample size {ess:.3g} of {n_chains} runs "
            f"(below {MIN_ESS_FRACTION:g} of them): the weights are degenerate and the standard error is too small; "
            "use more temperatures (betas), a base closer to the target (data=) or more runs (n_chains)",
            DegenerateWeightsWarning,
            stacklevel=3,  # the caller of the checked wrapper
        )
    return AISResult(log_z_base + m + float(np.log(mean)), se, ess, log_w, log_z_base)
