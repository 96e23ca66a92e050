r"""Gradient estimators for maximum likelihood: the Boltzmann learning rule and its kin.

Every estimator returns the gradient of the mean log-likelihood of a batch of visible
vectors,

.. math:: \nabla_\theta \frac1N \sum_n \log p(v_n) =
          \langle -\partial_\theta E \rangle_{\text{data}} - \langle -\partial_\theta E \rangle_{\text{model}},

as a dict keyed like ``program.params`` -- for a coupling ``w_ij`` that is the lecture's
``<s_i s_j>_clamped - <s_i s_j>_free``. The *positive* (clamped) phase averages the sufficient
statistics with the visible units held at the data and the hidden ones drawn from
``p(h | v)`` -- analytically when the hidden units are conditionally independent, by
clamped Gibbs sampling otherwise; the *negative* (free) phase averages them over samples
of the model. Each phase is normalised by its own number of chains.

* :func:`exact_gradient` -- both phases by enumeration (tiny models);
* :func:`sampled_gradient` -- both phases by Gibbs sampling; the free phase runs from given
  chains (persistent, PCD), from the data (CD-k), or from fresh random states.

The lecture's machine with the data "v = 11": the clamped phase raises every coupling.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")), dtype=np.float64)
>>> g = exact_gradient(prog, np.array([[1, 1]]))
>>> np.round(g["units[binary]~units[binary].weight"], 3).tolist()
[0.172, 0.198, 0.11]
"""

from typing import NamedTuple

import numpy as np

from . import exact
from .backend import as_generator
from .program import Part
from .samplers.gibbs import block_gibbs

__all__ = ["exact_gradient", "sampled_gradient", "positive_phase", "negative_phase", "training_gradient", "Phase"]


class Phase(NamedTuple):
    stats: dict  # batch mean of -dE/dtheta
    state: object  # the chains' states at the end (the persistent chains of the next call)
    stderr: dict  # Monte Carlo standard error of each mean (zeros where it is exact)


def exact_gradient(program, data):
    """Both phases by exact enumeration (see :func:`graphmrf.exact.log_likelihood_grad`)."""
    return exact.log_likelihood_grad(program, data)


def _place_visible(program, state, data):
    """Write ``data`` into the visible columns of ``state`` (a slice when they are one run)."""
    vis = program.visible_columns
    if vis.size and vis[-1] - vis[0] + 1 == vis.size:
        state[:, int(vis[0]) : int(vis[-1]) + 1] = data
    else:
        state[:, program.xp.asarray(vis)] = data


def _summed_layers(program):
    """``(layers, column mask)`` of the hidden units when every one sits in a whole layer
    that can be summed analytically (what :func:`training_gradient` needs), else None."""
    summed = program.hidden_summable()
    if summed is None:
        return None
    hidden = [L for L in program.layers if L.n and summed[L.sl].all()]
    return (hidden, summed) if int(summed.sum()) == sum(L.cols for L in hidden) else None


def _with_visible(program, data, random_hidden=True):
    xp = program.xp
    data = xp.asarray(data, dtype=program.dtype)
    if random_hidden:
        state = program.random_state(data.shape[0])
    else:  # hidden values are summed out or drawn next: no random start needed
        state = xp.zeros((data.shape[0], program.n_columns), dtype=program.dtype)
    _place_visible(program, state, data)
    mask = np.zeros(program.n_columns, dtype=bool)
    mask[program.visible_columns] = True
    return state, xp.asarray(mask)


def _stats_and_se(program, state, summed=None, n_batches=50):
    """Mean statistics over chains and their standard errors by batch means: the chains
    are independent, so the spread of the means of ``n_batches`` groups gives the error."""
    xp = program.xp
    n = state.shape[0]
    mean = program.sufficient_stats(state, summed=summed)
    b = min(n_batches, n)
    if b < 2:
        return mean, {k: xp.zeros_like(v) for k, v in mean.items()}
    edges = np.linspace(0, n, b + 1).astype(int)
    sq = {k: 0 for k in mean}
    for lo, hi in zip(edges[:-1], edges[1:]):
        s = program.sufficient_stats(state[lo:hi], summed=summed)
        w = (hi - lo) / n
        for k in s:
            sq[k] = sq[k] + w * (s[k] - mean[k]) ** 2
    # var(mean) = var(batch mean) / b, with the batch means weighted by their sizes
    return mean, {k: xp.sqrt(sq[k] * b / (b - 1) / b) for k in mean}


def positive_phase(program, data, rng, sweeps=10, chains_per_example=1, state=None, errors=False, draw_hidden=True):
    """Clamped statistics: visible units at the data, hidden units from p(h | v).

    Analytic when the hidden units are conditionally independent given the visible ones
    (an RBM, a Boltzmann machine without hidden-hidden couplings); otherwise
    ``chains_per_example`` clamped Gibbs chains per example run ``sweeps`` sweeps (from
    ``state`` when given, e.g. the last positive phase's chains). ``draw_hidden=False``
    skips drawing analytically summed hidden units into the returned state (PCD does not
    use it; CD starts its free chains from it).
    """
    xp = program.xp
    rng = as_generator(rng, program.backend)
    data = xp.asarray(data, dtype=program.dtype)
    rows = xp.repeat(data, chains_per_example, axis=0) if chains_per_example > 1 else data
    summed = program.hidden_summable()
    init, mask = _with_visible(program, rows, random_hidden=summed is None)
    if state is not None:
        init[:, ~mask] = xp.asarray(state)[:, ~mask]
    if summed is not None:
        # the hidden layers' inputs from the data, computed once for the statistics and,
        # when asked, to draw the hidden units from p(h | v) (CD starts its free chains there)
        T = program.statistic(init)
        fields = {L.index: program.field(T, L) for L in program.layers if L.n and summed[L.sl].all()}
        if errors:
            mean, se = _stats_and_se(program, init, summed)
        else:
            mean, se = program.sufficient_stats(init, summed=summed, fields=fields), None
        if draw_hidden:
            for L in program.layers:
                if L.index in fields:
                    program.update_part(init, program.statistic(init), Part(L, 0, L.n), rng, 1.0, x=fields[L.index].copy())
        return Phase(mean, init, se)
    return _sweep_then_average(program, init, rng, sweeps, mask, errors)


def _sweep_then_average(program, s, rng, sweeps, clamp, errors):
    """Run ``sweeps`` block-Gibbs sweeps of the chains ``s`` (overwritten), then average."""
    for _ in range(sweeps):
        s, _ = block_gibbs(program, s, rng, clamp=clamp, inplace=True)
    if errors:
        mean, se = _stats_and_se(program, s)
    else:
        mean, se = program.sufficient_stats(s), None
    return Phase(mean, s, se)


def negative_phase(program, state, rng, sweeps=1, errors=False, clamp=None):
    """Free statistics: ``sweeps`` Gibbs sweeps of the chains in ``state``, then their mean
    (units where ``clamp`` is True keep their values, e.g. absent visible units)."""
    rng = as_generator(rng, program.backend)
    return _sweep_then_average(program, program.xp.array(state, dtype=program.dtype, copy=True), rng, sweeps, clamp, errors)


def sampled_gradient(program, data, rng, chains=None, sweeps=1, init="random", positive_sweeps=10, errors=False):
    """Monte Carlo estimate of the log-likelihood gradient; returns ``(grad, pos, neg)``.

    ``init`` chooses where the free chains start: ``"random"`` (fresh independent draws),
    ``"data"`` (CD-k: the batch itself), or an array of persistent chains (PCD). With
    ``errors=True`` the phases carry standard errors (``pos.stderr``, ``neg.stderr``).

    Missing values (NaN; a softmax unit missing as a whole) are *absent* units: with CD each
    example is its own RBM over the units it observed, sharing the weights (the
    collaborative-filtering RBM) -- an absent unit contributes nothing to the hidden units'
    input and is held absent in the free phase too, so it gets no gradient.
    """
    xp = program.xp
    rng = as_generator(rng, program.backend)
    cd = isinstance(init, str) and init == "data"
    data = xp.asarray(data, dtype=program.dtype)
    missing = xp.isnan(data)
    neg_clamp = None
    if bool(xp.any(missing)):
        if not cd:
            from .errors import ModelError

            raise ModelError("data: missing values (NaN) make each example its own RBM; train them with rule='cd' (CD-k), not persistent chains")
        data = xp.where(missing, 0, data)
        neg_clamp = xp.zeros((data.shape[0], program.n_columns), dtype=bool)
        neg_clamp[:, xp.asarray(program.visible_columns)] = missing
    pos = positive_phase(program, data, rng, sweeps=positive_sweeps, errors=errors, draw_hidden=cd)
    if isinstance(init, str):
        if init == "data":
            start = pos.state
        elif init == "random":
            start = program.random_state(chains or xp.asarray(data).shape[0], seed=rng)
        else:
            raise ValueError(f"init: expected 'random', 'data' or an array of chains; got {init!r}")
    else:
        start = init
    neg = negative_phase(program, start, rng, sweeps=sweeps, errors=errors, clamp=neg_clamp)
    grad = {k: pos.stats[k] - neg.stats[k] for k in pos.stats}
    return grad, pos, neg


def training_gradient(program, data, rng, sweeps=1, chains=None, mean_field=None, out=None, scale=1.0):
    """The CD-k / PCD-k gradient of one mini-batch, as a training loop wants it.

    Returns ``(grad, chains)``; ``chains=None`` is CD-k (the free chains start at the
    data), an array is PCD (the persistent chains, advanced in place and returned).
    Needs hidden units that can be summed (an RBM, a Boltzmann machine without
    hidden-hidden couplings) and complete data. The clamped phase uses ``E[h | v]``; the
    free phase uses the chains' ``E[h | v]`` with ``mean_field=True`` (the same
    expectation, less variance) or their sampled hidden units with ``False``. The default
    (None) follows Hinton's practical guide: CD takes probabilities for the last hidden
    update, which its discarded chains never need sampled; PCD keeps the sampled units its
    chains carry anyway (on the digits they give slightly better features for a
    classifier than PCD with probabilities, scikit-learn's choice). The statistics are
    written into ``out`` (a dict shaped like ``params``) when given, and the work arrays
    are reused between calls: no weight-sized allocation per mini-batch. ``scale``
    multiplies the gradient (a training loop passes its learning rate: the product then
    costs nothing). The returned chains are a view of that reused work array: with CD
    the next call overwrites them (copy them to keep them); with PCD passing them back
    continues them without a copy (the array passed in is advanced too).

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(6, 4, seed=0), seed=0)
    >>> v = np.random.default_rng(0).integers(0, 2, (8, 6))
    >>> g, _ = training_gradient(prog, v, np.random.default_rng(1), sweeps=1)
    >>> sorted(g), g["v~h.weight"].shape
    (['h.bias', 'v.bias', 'v~h.weight'], (6, 4))
    """
    xp = program.xp
    rng = as_generator(rng, program.backend)
    cd = chains is None
    mean_field = cd if mean_field is None else bool(mean_field)
    plan = _training_plan(program, cd, mean_field)
    data = xp.asarray(data, dtype=program.dtype)
    _check_finite(xp, data)
    hidden = plan.hidden
    if data.ndim != 2 or data.shape[1] != program.visible_columns.size:
        raise ValueError(f"data: expected shape (examples, {program.visible_columns.size}) (the visible columns); got {tuple(data.shape)}")
    if not cd:
        chains = program._check_state(chains, "chains")
    n0 = data.shape[0]
    n1 = n0 if cd else chains.shape[0]
    # the clamped rows and the free chains live in one array: the final weighted pass over
    # both needs no concatenation (the hidden columns of the clamped rows get E[h | v])
    both = program._scratch.get(("training_gradient", n0 + n1))  # kept for the next batch
    if both is None:
        both = program._scratch[("training_gradient", n0 + n1)] = xp.empty((n0 + n1, program.n_columns), dtype=program.dtype)
    state = both[:n0]
    if plan.zero_hidden:  # statistics of the hidden columns are computed: keep them finite
        for L in hidden:
            state[:, L.sl] = 0
    _place_visible(program, state, data)
    # kinds whose statistics are affine in the state (binary, spin, softmax): a summed unit
    # contributes the statistics of its mean, so both phases go through one weighted pass
    linear = plan.linear
    # PCD whose sweep ends with the hidden layers: the clamped rows' hidden input is computed
    # with the chains' last hidden update, as one matrix product over all the rows
    fuse = plan.fuse and not cd and sweeps >= 1
    pos_mean = {}
    if not fuse:
        T = program.statistic(state)
        pos_fields = {L.index: program.field(T, L) for L in hidden}
        if linear:
            # the 0/1 layers give up their input (their mean is computed in its memory)
            pos_mean = {L.index: L.ops.expected_state(pos_fields[L.index], L.params, 1.0, L.width, consume=L.index in plan.bernoulli) for L in hidden}
    if cd:
        chains = both[n0:]
        if plan.copy_all:
            chains[...] = state
        else:  # the sweep's first block redraws every other layer from the hidden units alone
            for sl in plan.copy_slices:
                chains[:, sl] = state[:, sl]  # statistics must stay finite
        Tc = program.statistic(chains)
        for L in hidden:
            if L.index in plan.bernoulli:
                # a 0/1 unit from its mean: the same uniforms and the same draw as
                # update_part, without computing the sigmoid a second time
                xp.less(program._uniform(rng)(pos_mean[L.index].shape), pos_mean[L.index], out=chains[:, L.sl])
            else:
                program.update_part(chains, Tc, Part(L, 0, L.n), rng, x=pos_fields[L.index].copy())
    caller = None
    if not cd and linear:
        # the persistent chains live in the work array's free rows and are returned there:
        # a caller that passes back the returned chains (fit does) costs no copy at all;
        # other arrays are copied in, and the advanced chains copied back into them
        rows = both[n0:]
        if not _same_array(chains, rows):
            rows[...] = chains
            caller = chains
        chains = rows
    if not linear:  # the clamped phase's statistics now: the free phase may reuse the field arrays
        grad = program.sufficient_stats(state, summed=plan.summed, fields=pos_fields, out=out)
    Tc = program.statistic(chains)
    reuse = plan.reuse
    neg_fields = {}
    for sweep in range(sweeps):
        last = sweep == sweeps - 1
        for part, is_hidden in plan.parts:
            if last and fuse and is_hidden:
                L = part.layer
                x_all = program.field(program.statistic(both), L)
                pos_mean[L.index] = L.ops.expected_state(x_all[:n0], L.params, 1.0, L.width, consume=L.index in plan.bernoulli)
                x = x_all[n0:]
                if mean_field:
                    neg_fields[L.index] = x
                    x = x.copy()
                program.update_part(chains, Tc, part, rng, x=x)
            elif last and reuse and is_hidden:
                x = program.field(Tc, part.layer)  # E[h | v] of the free chains needs this input
                neg_fields[part.layer.index] = x
                if not cd:  # CD discards its chains: the last hidden draw is not needed
                    program.update_part(chains, Tc, part, rng, x=x.copy())
            else:
                program.update_part(chains, Tc, part, rng)
    if mean_field and not reuse:
        neg_fields = {L.index: program.field(Tc, L) for L in hidden}
    if linear:
        drawn = []  # PCD chains keep their sampled hidden units: the means serve the weighted pass only
        for L in hidden:
            both[:n0, L.sl] = pos_mean[L.index]
            if mean_field:
                if not cd:
                    drawn.append((L.sl, both[n0:, L.sl].copy()))
                both[n0:, L.sl] = L.ops.expected_state(neg_fields[L.index], L.params, 1.0, L.width, consume=True)
        grad = program.sufficient_stats(both, weights=plan.weights(n0, n1, scale), out=out)
        for sl, units in drawn:
            both[n0:, sl] = units
    else:
        work = program._scratch.get("training_gradient")
        if work is None:
            work = program._scratch["training_gradient"] = {k: xp.empty_like(v) for k, v in program.params.items()}
        neg = program.sufficient_stats(chains, summed=plan.summed if mean_field else None, fields=neg_fields or None, out=work)
        for k in grad:
            grad[k] -= neg[k]
            if scale != 1.0:
                grad[k] *= scale
    if caller is not None:
        caller[...] = chains
    return grad, chains


def _same_array(a, b):
    """True when ``a`` and ``b`` are the same memory with the same layout (NumPy only)."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return False
    return a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]


def _check_finite(xp, data):
    """Refuse NaN and infinite data. One dot product (a BLAS pass, several times faster
    than a sum) is finite for finite data unless it overflows: the exact checks run only then."""
    flat = data.reshape(-1)
    if not np.isfinite(float(xp.dot(flat, flat))):
        if bool(xp.any(xp.isnan(data))):
            raise ValueError("training_gradient: data has missing values (NaN); use sampled_gradient with init='data'")
        if not bool(xp.all(xp.isfinite(data))):
            raise ValueError("training_gradient: data has infinite values")


class _Plan:
    """What :func:`training_gradient` decides from the model's structure alone, once."""

    def __init__(self, program, cd, mean_field):
        found = _summed_layers(program)
        if found is None:
            raise ValueError("training_gradient: needs hidden units that are conditionally independent given the visible ones, whole layers of them; use sampled_gradient")
        self.hidden, self.summed = found
        self.blocks = program.blocks
        ids = {L.index for L in self.hidden}
        self.linear = all(L.ops.linear_in_state for L in self.hidden)
        self.bernoulli = {L.index for L in self.hidden if self.linear and not L.kind.onehot and tuple(getattr(L.ops.d, "values", ())) == (0, 1)}
        self.zero_hidden = not (self.linear and program._identity_statistic)
        first = {p.layer.index for p in program.blocks[0] if p.whole}
        # whole layers in the first block have no couplings among them: when every non-hidden
        # layer is there, it is redrawn from the hidden units alone and nothing else is copied
        self.copy_all = not all(L.index in first for L in program.layers if L.index not in ids)
        self.copy_slices = [] if program._identity_statistic else [L.sl for L in program.layers if L.index not in ids]
        self.parts = [(p, p.layer.index in ids) for b in program.blocks for p in b]
        free_last = max((i for i, b in enumerate(program.blocks) if any(p.layer.index not in ids for p in b)), default=-1)
        last_hidden = all(i > free_last for i, b in enumerate(program.blocks) if any(p.layer.index in ids for p in b))
        self.reuse = mean_field and last_hidden
        # the hidden layers, whole, close the sweep: their input can take the clamped rows too
        whole = all(p.whole for p, h in self.parts if h)
        self.fuse = self.linear and last_hidden and whole and bool(self.hidden)
        self.xp, self.dtype = program.xp, program.dtype
        self._w = {}

    def weights(self, n0, n1, scale):
        key = (n0, n1, scale)
        w = self._w.get(key)
        if w is None:
            if len(self._w) > 8:
                self._w.clear()
            xp, dt = self.xp, self.dtype
            w = self._w[key] = xp.concatenate([xp.full(n0, scale / n0, dtype=dt), xp.full(n1, -scale / n1, dtype=dt)])
        return w


def _training_plan(program, cd, mean_field):
    """The cached :class:`_Plan`; rebuilt when the blocks change, or every call when the
    hidden units' independence depends on weight values (not only on the structure)."""
    key = ("training_plan", cd, mean_field)
    plan = program._scratch.get(key)
    if plan is not None and plan.blocks is program.blocks:
        return plan
    plan = _Plan(program, cd, mean_field)
    hidden = ~program.visible_mask
    if not hidden.any() or program._structural.get(hidden.tobytes()) is True:
        program._scratch[key] = plan
    return plan
