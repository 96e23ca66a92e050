r"""Belief nets: inference in directed nets, Neal's learning rule and wake-sleep.

A sigmoid belief net (Neal, 1992) is a directed acyclic graph of stochastic units,
``p(s) = prod_i p(s_i | parents)`` with ``p(s_i = 1 | pa) = sigmoid(b_i + sum_j W_ji s_j)``.
Generating from it is easy (one ancestral pass); *inference* is not: two causes that are
independent a priori become dependent once their common effect is observed -- seeing one
cause makes the other less likely ("explaining away") -- so the posterior ``p(h | v)``
does not factorise. This module provides

* :func:`posterior_sample` -- ``h ~ p(h | v)`` by Gibbs sampling with ``v`` clamped (each
  parent's conditional includes its children's likelihood, see
  :mod:`graphmrf.conditionals`), and :func:`exact_posterior` -- the same by enumeration;
* :func:`neal` -- Neal's maximum-likelihood rule: posterior samples, then the local delta
  rule ``dw_ji ~ s_j (s_i - sigma(x_i))``, a gradient estimator for :func:`graphmrf.fit`;
* :func:`wake_sleep` -- the wake-sleep algorithm (Hinton, Dayan, Frey & Neal, 1995) with
  recognition weights declared as edges ``(child, parent, recognition=True)``;
  :func:`recognize` (the bottom-up pass ``q(h | v)``), :func:`dream` (a top-down fantasy)
  and :func:`variational_bound` (the exact bound ``E_q[log p(v, h) - log q(h | v)]``).

The lecture's explaining-away net: a truck or an earthquake can make the house jump; once
it jumps, learning that there was a truck makes an earthquake unlikely again.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.load(gm.models.path("explaining_away.graphml")), dtype=np.float64)
>>> hidden, post = exact_posterior(prog, np.array([[1.0]]))
>>> hidden.tolist(), np.round(post[0], 3).tolist()
([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 0.5, 0.5, 0.0])

References: R. M. Neal, "Connectionist learning of belief networks", Artificial
Intelligence 56 (1992) 71-113; G. E. Hinton, P. Dayan, B. J. Frey and R. M. Neal, "The
wake-sleep algorithm for unsupervised neural networks", Science 268 (1995) 1158-1161.
"""

import contextlib
import itertools

import numpy as np

from . import exact
from .arguments import COUNT, AnyOf, Boolean, Function, InstanceOf, Integer, Names, Real, Seed, checked
from .backend import as_generator, to_host, uniform_into
from .errors import DivergenceError, EnumerationTooLargeError, ModelError
from .learn import place_visible
from .monitors import MONITORS, evaluate, usable
from .program import Program
from .samplers.ancestral import ancestral
from .samplers.gibbs import block_gibbs
from .samplers.progress import Progress
from .support import check_data, check_state
from .train import History
from .workspace import Workspace

__all__ = ["posterior_sample", "exact_posterior", "neal", "recognize", "dream", "variational_bound", "wake_sleep"]


# --------------------------------------------------------------------------- data
def _visible_rows(program, data, what="data", means=True):
    """``data`` checked against the visible units: the shape first (naming the visible
    nodes), then every value against its unit's kind (naming the column, node and value)."""
    arr = np.asarray(to_host(data)) if not isinstance(data, (str, bytes)) else data
    nv = program.visible_columns.size
    if getattr(arr, "ndim", 0) != 2 or arr.shape[1] != nv:
        nodes = ", ".join(f"{L.name!r} ({int(L.visible.sum()) * L.width})" for L in program.layers if L.visible.any())
        shape = getattr(arr, "shape", None)
        raise ValueError(
            f"{what}: expected shape (examples, {nv}), the columns of the visible nodes {nodes}; got {shape}"
        )
    return check_data(program, data, what, means=means)


def _start_states(program, n, rng, init):
    """``n`` states to start chains from: ``init`` (checked, copied) or random."""
    if init is None:
        return program.random_state(n, seed=rng)
    init = check_state(program, init, "init")
    if init.shape[0] != n:
        raise ValueError(f"init: expected {n} rows (one per example); got {init.shape[0]}")
    return program.xp.array(init, dtype=program.dtype, copy=True)


# --------------------------------------------------------------------------- inference
@checked(program=InstanceOf(Program), sweeps=Integer(0), seed=Seed())
def posterior_sample(program, data, *, sweeps=20, init=None, seed=None, workspace=None):
    """States with the visible units at ``data`` and the hidden ones drawn from ``p(h | v)``.

    ``sweeps`` sweeps of block Gibbs sampling with the visible units clamped. In a
    directed net the units of a parent layer are drawn one at a time, each from
    ``p(s_j | rest) ∝ p(s_j | parents) prod_children p(child | its parents)`` -- its
    children's likelihood couples it to its co-parents (explaining away).

    Parameters
    ----------
    program : Program
        The compiled model (a belief net, or any model with hidden units).
    data : array (examples, visible columns)
        The observed visible vectors.
    sweeps : int
        Gibbs sweeps (each chain starts at ``init``'s hidden units, or at random).
    init : array (examples, columns), optional
        Start states (their visible columns are overwritten by ``data``).
    seed : int or Generator, optional
        Random generator (default: the Program's).
    workspace : Workspace, optional
        Reused buffers of a caller's loop.

    Returns
    -------
    array (examples, columns)

    Raises
    ------
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule, or ``data`` has the wrong shape (the message
        names the visible nodes) or a value outside its unit's support.
        Also if ``init`` has another number of rows or a value outside its unit's support.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.load(gm.models.path("explaining_away.graphml")))
    >>> s = posterior_sample(prog, np.ones((1000, 1)), sweeps=5, seed=0)
    >>> causes = s[:, :2].sum(axis=1)  # truck + earthquake
    >>> round(float(np.mean(causes == 1)), 2)  # one cause explains the jump (exactly: 0.99995)
    1.0
    """
    data = _visible_rows(program, data)
    rng = program.generator(seed)
    state = _start_states(program, data.shape[0], rng, init)
    return _posterior(program, data, state, sweeps, rng, Workspace() if workspace is None else workspace)


def _posterior(program, data, state, sweeps, rng, ws):
    """``state`` with the visible units at ``data`` after ``sweeps`` clamped Gibbs sweeps."""
    place_visible(program, state, data)
    for _ in range(sweeps):
        block_gibbs(program, state, rng, clamp=program.visible_mask, inplace=True, workspace=ws)
    return state


def _hidden_configurations(program, max_states):
    """Every configuration of the hidden units, rows over ``program.hidden_columns``
    (the first hidden unit most significant)."""
    units = []
    for L in program.layers:
        for u in range(L.n):
            if L.visible[u]:
                continue
            if not L.kind.discrete:
                raise ModelError(f"node {L.name!r}: real-valued hidden units have no finite posterior table")
            if L.kind.onehot:
                units.append([row for row in np.eye(L.width)])
            else:
                units.append([np.full(1, v, dtype=np.float64) for v in L.ops.d.values])
    n = int(np.prod([len(u) for u in units], dtype=np.float64)) if units else 1
    if n > max_states:
        raise EnumerationTooLargeError(
            f"exact_posterior: {len(units)} hidden units have {n} configurations; the limit is max_states={max_states}",
            n,
            max_states,
        )
    return np.array([np.concatenate(c) for c in itertools.product(*units)]) if units else np.zeros((1, 0))


def _joint_log_probs(program, data, hidden):
    """``log p(v_n, h_k)`` for every row ``n`` of ``data`` and configuration ``k``
    (float64, shape (rows, configurations)), with the full states."""
    p64 = program.float64()
    for key, v in program.recognition_params.items():  # the copy is refreshed when params change, not these
        p64.recognition_params[key][...] = to_host(v)
    n, k = data.shape[0], hidden.shape[0]
    states = np.zeros((n, k, p64.n_columns))
    states[:, :, p64.visible_columns] = data[:, None, :]
    states[:, :, p64.hidden_columns] = hidden[None, :, :]
    states = states.reshape(n * k, -1)
    log_z = 0.0 if all(L.directed for L in p64.layers) else exact.log_partition(p64)
    return (-p64.energy(states) - log_z).reshape(n, k), states, p64


@checked(program=InstanceOf(Program), max_states=COUNT)
def exact_posterior(program, data, max_states=2**16):
    """The exact posterior ``p(h | v)`` of each row of ``data``, by enumeration.

    Returns ``(hidden, probs)``: every configuration of the hidden units (rows over
    ``program.hidden_columns``, the first hidden unit the most significant digit) and
    ``probs[n, k] = p(h_k | v_n)``. Tiny models only (``max_states`` configurations).

    Parameters
    ----------
    program : Program
        The compiled model (a DBN's undirected top pair is normalised by enumeration).
    data : array (examples, visible columns)
        Visible vectors, every value exactly in its unit's support.
    max_states : int
        The most hidden configurations allowed.

    Returns
    -------
    hidden : numpy.ndarray (configurations, hidden columns)
    probs : numpy.ndarray (examples, configurations)

    Raises
    ------
    EnumerationTooLargeError
        If the hidden units have more than ``max_states`` configurations.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule, or ``data`` has the wrong shape (the message
        names the visible nodes) or a value outside its unit's support.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.sbn([2, 1], seed=0, scale=1.0))
    >>> hidden, probs = exact_posterior(prog, np.array([[1, 0], [0, 1]]))
    >>> hidden.shape, probs.shape, np.allclose(probs.sum(axis=1), 1)
    ((2, 1), (2, 2), True)
    """
    data = to_host(_visible_rows(program, data, means=False)).astype(np.float64)
    hidden = _hidden_configurations(program, max_states)
    logp, _, _ = _joint_log_probs(program, data, hidden)
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return hidden, p / p.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------- Neal's rule
def _undirected_keys(program):
    """Parameters of an undirected top pair (a DBN's RBM): their gradient has a model
    term; every directed layer's is zero (``sum_s p(s | pa) = 1``)."""
    keys = [f"{L.name}.{k}" for L in program.layers if not L.directed for k in L.params]
    return keys + [c.key for c in program.couplings if c.type != "directed"]


@checked(program=InstanceOf(Program), k=COUNT, mean_field=AnyOf(None, Boolean()), positive_sweeps=Integer(0))
def neal(
    program, data, rng, *, k=1, chains=None, mean_field=None, positive_sweeps=10, workspace=None, out=None, scale=1.0
):
    r"""Neal's (1992) maximum-likelihood rule for a belief net: the gradient of the mean
    ``log p(v)`` of a mini-batch, with the signature of a :func:`graphmrf.fit` rule.

    .. math:: \nabla_{w_{ji}} \log p(v) = E_{h | v}\big[ s_j \, (s_i - \sigma(x_i)) \big],
              \quad x_i = b_i + \textstyle\sum_j w_{ji} s_j

    1. *posterior*: the visible units at the data, the hidden ones from ``p(h | v)`` by
       ``positive_sweeps`` sweeps of clamped Gibbs sampling (explaining away). The chains
       continue from the previous mini-batch's hidden units (kept in ``workspace``, as
       Neal's persistent chains are): a warm start, not tied to examples, so the sweeps
       must let each chain forget it; without a workspace they start at random.
    2. *delta rule*: each unit's parents times its prediction error, averaged over the
       batch (``program.sufficient_stats`` of the complete states). No negative phase:
       a directed net is normalised.
    3. an undirected top pair (a DBN's RBM) does have a model term: ``k`` block-Gibbs
       sweeps of the persistent free ``chains`` give it (PCD) for that pair's parameters.

    Parameters
    ----------
    program : Program
        A directed net (sigmoid belief net, or a DBN).
    data : array (examples, visible columns)
        The mini-batch.
    rng : Generator or seed
        Random generator of the chains.
    k : int
        Sweeps of the free chains per call (an undirected top only).
    chains : array (chains, columns), optional
        The free chains of an undirected top, advanced in place and returned (None: they
        start at random); a pure belief net returns them untouched.
    mean_field : None or False
        Accepted for the rule signature; the posterior units are coupled, so there is no
        analytic average to take (True is refused).
    positive_sweeps : int
        Gibbs sweeps of the posterior chains per mini-batch.
    workspace : Workspace, optional
        The training loop's reused buffers (also where the posterior chains persist).
    out : dict, optional
        Arrays shaped like ``params`` that receive the gradient.
    scale : float
        Multiplies the gradient (the learning rate, from :func:`graphmrf.fit`).

    Returns
    -------
    (dict, array)
        The gradient (keys of ``program.params``) and the free chains.

    Raises
    ------
    ModelError
        If the model is not a directed net.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule, or ``data`` has the wrong shape (the message
        names the visible nodes) or a value outside its unit's support.
        Also if ``mean_field=True``.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.sbn([4, 3, 2], seed=0, scale=1.0), seed=0)
    >>> X = np.array([[1, 1, 0, 0], [0, 0, 1, 1]] * 10)
    >>> hist = gm.fit(prog, X, rule=neal, epochs=30, lr=1.0, monitors=("log_likelihood",), seed=1, progress=False)
    >>> bool(hist["log_likelihood"][-1] > hist["log_likelihood"][0] + 1)  # the optimum is log(1/2) = -0.69
    True
    """
    if not program.directed:
        raise ModelError(
            "neal: Neal's rule trains directed nets (sigmoid belief nets, DBNs); use rule='pcd' for undirected models"
        )
    if mean_field:
        raise ValueError(
            "neal: mean_field must be None or False; the posterior units are coupled (explaining away) and are sampled"
        )
    rng = as_generator(rng, program.backend)
    ws = Workspace() if workspace is None else workspace
    data = _visible_rows(program, data)
    n = data.shape[0]
    # 1. posterior chains, warm-started from the last batch's hidden units
    state = program.random_state(n, seed=rng)
    previous = ws.get("neal posterior")
    if previous is not None:
        m = min(n, previous.shape[0])
        state[:m] = previous[:m]
    ws.put("neal posterior", _posterior(program, data, state, positive_sweeps, rng, ws))
    # 2. the delta rule on the complete states
    grad = program.sufficient_stats(state, out=out)
    # 3. an undirected top pair's model term, from persistent chains
    top = _undirected_keys(program)
    if top:
        chains = program.random_state(n, seed=rng) if chains is None else check_state(program, chains, "chains")
        for _ in range(k):
            block_gibbs(program, chains, rng, inplace=True, workspace=ws)
        negative = program.sufficient_stats(chains)
        for key in top:
            grad[key] -= negative[key]
    if scale != 1.0:
        for v in grad.values():
            v *= scale
    return grad, chains


# --------------------------------------------------------------------------- recognition
def _recognition_order(program, where):
    """The hidden layers in the order of the bottom-up pass (each after the layers its
    recognition edges read), checking that the recognition net mirrors the generative
    one: an edge ``(child, parent, recognition=True)`` for every directed edge from a
    hidden parent, no undirected pair."""
    for c in program.couplings:
        if c.type != "directed":
            raise ModelError(
                f"{where}: edge ({c.a.name!r}, {c.b.name!r}) is undirected (a DBN's top RBM); "
                "wake-sleep trains sigmoid belief nets "
                "-- a DBN is fine-tuned by the up-down algorithm"
            )
    recog = {(r.a.index, r.b.index) for r in program.recognition}
    for L in program.layers:
        if L.visible.all():
            continue
        if L.visible.any() or not L.declared:
            raise ModelError(
                f"{where}: node {L.nodes[0]!r}: recognition edges infer hidden layer nodes "
                "(nodes with 'size' and visible=False)"
            )
        if not L.children:
            raise ModelError(
                f"{where}: node {L.name!r}: a hidden layer without children is never inferred from the data"
            )
        for c in L.children:
            if (c.b.index, L.index) not in recog:
                raise ModelError(
                    f"{where}: the recognition net must mirror the generative net: edge ({c.a.name!r}, {c.b.name!r}) "
                    f"has no recognition edge ({c.b.name!r}, {c.a.name!r}); declare it with recognition=True "
                    "(gm.sbn(..., recognition=True) does)"
                )
    order, known = [], {L.index for L in program.layers if L.visible.all()}
    todo = [L for L in program.layers if L.index not in known]
    while todo:
        ready = [L for L in todo if all(r.a.index in known for r in program.recognition if r.b is L)]
        order.extend(ready)
        known.update(L.index for L in ready)
        todo = [L for L in todo if L.index not in known]
    return order


def _q(program, L, T):
    """The recognition conditional ``q(s_L | children) ∝ exp(T(s) x)`` with ``x`` the
    recognition input (no generative bias), as the layer kind's conditional."""
    x = program.recognition_field(T, L)
    zero = {k: program.xp.zeros_like(v) for k, v in L.params.items()}
    return x, zero


@checked(program=InstanceOf(Program), sample=Boolean(), seed=Seed())
def recognize(program, data, *, sample=True, seed=None):
    """The bottom-up pass of the recognition model: every hidden layer from
    ``q(h_k | h_(k-1)) = sigma(T(h_(k-1)) R + r)``, layer by layer from the data up.

    ``sample=True`` draws each layer (wake-sleep's wake phase); ``False`` passes the
    probabilities up instead (a deterministic mean-field pass). Returns states (examples,
    columns) with the visible units at ``data``.

    Parameters
    ----------
    program : Program
        A belief net whose recognition edges mirror its generative ones.
    data : array (examples, visible columns)
        The visible vectors.
    sample : bool
        Draw each layer, or pass its probabilities up.
    seed : int or Generator, optional
        Random generator of the draws (default: the Program's).

    Returns
    -------
    array (examples, columns)

    Raises
    ------
    ModelError
        If the recognition net does not mirror the generative one.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule, or ``data`` has the wrong shape (the message
        names the visible nodes) or a value outside its unit's support.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.sbn([3, 2], seed=0, scale=1.0, recognition=True))
    >>> s = recognize(prog, np.array([[1, 0, 1]]), sample=False)
    >>> bool(np.allclose(s[0, 3:], 1 / (1 + np.exp(-(np.array([1, 0, 1]) @ prog.recognition_params["v=>h1.weight"])))))
    True
    """
    order = _recognition_order(program, "recognize")
    data = _visible_rows(program, data)
    xp = program.xp
    rng = program.generator(seed)
    state = xp.zeros((data.shape[0], program.n_columns), dtype=program.dtype)
    place_visible(program, state, data)
    T = program.statistic(state)
    for L in order:
        x, zero = _q(program, L, T)
        if sample:
            cond = L.ops.conditional(x, zero, 1.0, L.width, consume=True)
            state[:, L.sl] = L.ops.draw(
                cond, lambda s: uniform_into(rng, xp.empty(s, dtype=program.dtype)), None, L.width
            )
        else:
            state[:, L.sl] = L.ops.expected_state(x, zero, 1.0, L.width, consume=True)
        if T is not state:
            T[:, L.sl] = L.ops.statistic(state[:, L.sl], L.params)
    return state


@checked(program=InstanceOf(Program), n=COUNT, seed=Seed())
def dream(program, n, *, seed=None):
    """``n`` fantasies ``(h, v)`` of the generative model: one ancestral pass, parents
    before children (wake-sleep's sleep phase).

    Parameters
    ----------
    program : Program
        A sigmoid belief net (no undirected top pair).
    n : int
        How many fantasies.
    seed : int or Generator, optional
        Random generator (default: the Program's).

    Returns
    -------
    array (n, columns)
        Exact draws of the joint ``p(h, v)``.

    Raises
    ------
    ModelError
        If the net has an undirected top pair (a DBN: sample it with
        :func:`graphmrf.sample`, ``method="ancestral"``).
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If ``n < 1``.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.sbn([3, 2], seed=0, scale=1.0))
    >>> dream(prog, 3, seed=0).shape
    (3, 5)
    """
    if not program.directed or any(not L.directed for L in program.layers):
        raise ModelError("dream: a fantasy in one top-down pass needs a sigmoid belief net (no undirected top pair)")
    rng = program.generator(seed)
    return ancestral(program, program.random_state(n, seed=rng), rng)


@checked(program=InstanceOf(Program), max_states=COUNT)
def variational_bound(program, data, max_states=2**16):
    r"""The exact variational lower bound of the recognition model, averaged over ``data``:

    .. math:: \log p(v) \ \ge\ \mathcal{F}(v) = \sum_h q(h | v) \big[\log p(v, h) - \log q(h | v)\big],

    the gap being ``KL(q(h | v) || p(h | v))``. Enumerates every hidden configuration
    (tiny models). As a monitor of :func:`wake_sleep` or :func:`graphmrf.fit`, pass the
    function itself (``monitors=("log_likelihood", variational_bound)``).

    Parameters
    ----------
    program : Program
        A belief net whose recognition edges mirror its generative ones.
    data : array (examples, visible columns)
        Visible vectors, every value exactly in its unit's support.
    max_states : int
        The most hidden configurations allowed.

    Returns
    -------
    float

    Raises
    ------
    ModelError
        If the recognition net does not mirror the generative one.
    EnumerationTooLargeError
        If the hidden units have more than ``max_states`` configurations.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule, or ``data`` has the wrong shape (the message
        names the visible nodes) or a value outside its unit's support.

    Examples
    --------
    A single hidden unit's posterior is a logistic function of ``v``, so a recognition
    edge can hold it exactly and the bound is then the log-likelihood:

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.sbn([3, 1], seed=1, scale=1.0, recognition=True), dtype=np.float64)
    >>> w, c = prog.params["h1->v.weight"][0], prog.params["v.bias"]
    >>> prog.recognition_params["v=>h1.weight"][:, 0] = w
    >>> shift = np.sum(np.logaddexp(0, c + w) - np.logaddexp(0, c))
    >>> prog.recognition_params["v=>h1.bias"][:] = prog.params["h1.bias"] - shift
    >>> X = np.array([[1, 0, 1], [0, 0, 1]])
    >>> bool(abs(variational_bound(prog, X) - gm.exact.log_likelihood(prog, X)) < 1e-12)
    True
    """
    order = _recognition_order(program, "variational_bound")
    data = to_host(_visible_rows(program, data, means=False)).astype(np.float64)
    hidden = _hidden_configurations(program, max_states)
    logp, states, p64 = _joint_log_probs(program, data, hidden)
    logq = np.zeros(states.shape[0])
    T = p64.statistic(states)
    for L in (p64.layers[M.index] for M in order):  # the float64 copy's own layers
        x, zero = _q(p64, L, T)
        cond = L.ops.conditional(x, zero, 1.0, L.width, consume=True)
        logq += L.ops.log_prob(cond, states[:, L.sl], L.width).sum(axis=1)
    logq = logq.reshape(logp.shape)
    q = np.exp(logq)
    terms = np.where(q > 0, q * (logp - logq), 0.0)
    return float(terms.sum(axis=1).mean())


# --------------------------------------------------------------------------- wake-sleep
def _sleep_stats(program, fantasies, order, out):
    """The delta rule of the recognition weights on fantasies: for each recognition edge,
    ``T(child)^T (T(parent) - E_q[T(parent) | children])`` and the residual's mean."""
    xp = program.xp
    n = fantasies.shape[0]
    T = program.statistic(fantasies)
    for L in order:
        x, zero = _q(program, L, T)
        resid = T[:, L.sl] - L.ops.expected_statistic(x, zero, 1.0, L.width)
        for r in program.recognition:
            if r.b is L:
                xp.matmul(T[:, r.a.sl].T, resid, out=out[r.key])
                out[r.key] /= n
                out[r.bias_key][...] = resid.mean(axis=0)
    return out


def _quiet(program):
    return np.errstate(all="ignore") if program.backend.name == "numpy" else contextlib.nullcontext()


def _apply(xp, params, steps, scale):
    """``params += scale * steps`` (``steps`` is overwritten); returns the first key whose
    result would not be finite, and then nothing is changed, else None."""
    for key, v in params.items():
        new = steps[key]
        new *= scale
        new += v
        if not bool(xp.all(xp.isfinite(new))):
            return key
    for key, v in params.items():
        v[...] = steps[key]
    return None


@checked(
    program=InstanceOf(Program),
    epochs=COUNT,
    lr=Real(0.0, closed="neither"),
    recognition_lr=AnyOf(None, Real(0.0, closed="neither")),
    batch_size=AnyOf(None, COUNT),
    monitors=Names(*MONITORS, functions=True),
    monitor_every=COUNT,
    seed=Seed(),
    progress=AnyOf(None, Boolean()),
    callbacks=InstanceOf(list, tuple, name="list of functions"),
    stop_when=AnyOf(None, Function()),
)
def wake_sleep(
    program,
    data,
    *,
    epochs=10,
    lr=0.1,
    recognition_lr=None,
    batch_size=None,
    monitors=("log_likelihood",),
    monitor_every=1,
    seed=None,
    progress=None,
    callbacks=(),
    stop_when=None,
):
    r"""Train a sigmoid belief net and its recognition net by the wake-sleep algorithm.

    For each mini-batch (Hinton, Dayan, Frey & Neal, 1995):

    1. *wake*: pass the data up the recognition net, ``h ~ q(h | v)`` (:func:`recognize`),
       and move the generative weights by the local delta rule on these complete states,
       ``dW_ji = lr s_j (s_i - p(s_i = 1 | parents))`` -- a stochastic ascent of the
       variational bound :func:`variational_bound` in the generative weights;
    2. *sleep*: draw as many fantasies ``(h, v)`` from the generative model (:func:`dream`)
       and move the recognition weights by the same rule run bottom-up,
       ``dR_ij = lr' s_i (s_j - q(s_j = 1 | children))`` -- it fits ``q`` to the model's
       own posterior, ``KL(p(h | v) || q(h | v))`` averaged over fantasies, which is not
       the bound's gradient: wake-sleep follows no single objective.

    Updates ``program.params`` (generative) and ``program.recognition_params`` in place.

    Parameters
    ----------
    program : Program
        A sigmoid belief net whose recognition edges mirror its generative ones (e.g.
        ``gm.sbn(sizes, recognition=True)``).
    data : array (examples, visible columns)
        The training vectors.
    epochs : int
        Passes over the data.
    lr, recognition_lr : float
        Learning rates of the wake (generative) and sleep (recognition) updates; the
        second defaults to the first.
    batch_size : int, optional
        Rows per update (default 100, or all when fewer); the sleep phase dreams as many.
    monitors : list
        As in :func:`graphmrf.fit`; :func:`variational_bound` is a useful function monitor.
    monitor_every : int
        Monitors run before training, every ``monitor_every`` epochs and after the last.
    seed : int or Generator, optional
        Random generator (default: the Program's).
    progress : bool, optional
        Show a progress bar (default: for long runs on a terminal).
    callbacks : list of functions
        ``(program, history)``, called after every epoch.
    stop_when : function ``(program, history) -> bool``, optional
        A stopping rule (see :class:`graphmrf.monitors.Threshold`).

    Returns
    -------
    History

    Raises
    ------
    ModelError
        If the recognition net does not mirror the generative one, or the net has an
        undirected top pair.
    DivergenceError
        If a step would make a parameter non-finite; the parameters of the last good
        step (generative and recognition) are kept.
    TypeError
        If an argument is of the wrong type (``program`` not a Program).
    ValueError
        If an argument breaks its rule, or ``data`` has the wrong shape (the message
        names the visible nodes) or a value outside its unit's support.
        Also if ``data`` has no rows.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.sbn([4, 3], seed=0, scale=0.5, recognition=True), seed=0)
    >>> X = np.array([[1, 1, 0, 0], [0, 0, 1, 1]] * 10)
    >>> monitors = ("log_likelihood", variational_bound)
    >>> hist = wake_sleep(prog, X, epochs=30, lr=1.0, monitors=monitors, seed=0, progress=False)
    >>> bool(hist["log_likelihood"][-1] > hist["log_likelihood"][0] + 0.5)
    True
    >>> bool(hist["variational_bound"][-1] <= hist["log_likelihood"][-1])
    True
    """
    order = _recognition_order(program, "wake_sleep")
    data = _visible_rows(program, data)
    n = data.shape[0]
    if n == 0:
        raise ValueError("wake_sleep: data has no rows")
    rng = program.generator(seed)
    xp = program.xp
    bs = min(n, 100) if batch_size is None else int(batch_size)
    recognition_lr = lr if recognition_lr is None else recognition_lr
    monitors = usable(program, monitors)
    wake = {k: xp.empty_like(v) for k, v in program.params.items()}
    sleep = {k: xp.empty_like(v) for k, v in program.recognition_params.items()}
    hist = History()
    hist.append(epoch=0, **evaluate(program, data, monitors))
    with Progress(epochs, "wake_sleep", progress) as bar:
        for epoch in range(1, epochs + 1):
            perm = xp.asarray(to_host(rng.permutation(n)))
            for b0 in range(0, n, bs):
                batch = data[perm[b0 : b0 + bs]]
                with _quiet(program):
                    # wake: recognise the data, then the generative delta rule
                    states = recognize(program, batch, seed=rng)
                    bad = _apply(xp, program.params, program.sufficient_stats(states, out=wake), lr)
                    if bad is None:
                        # sleep: dream, then the recognition delta rule
                        fantasies = dream(program, batch.shape[0], seed=rng)
                        bad = _apply(
                            xp,
                            program.recognition_params,
                            _sleep_stats(program, fantasies, order, sleep),
                            recognition_lr,
                        )
                if bad is not None:
                    raise DivergenceError(
                        f"wake_sleep: epoch {epoch}: parameter {bad!r} would become non-finite; "
                        "the parameters of the last good "
                        "step were kept (lower lr?)"
                    )
            stop = False
            if epoch % monitor_every and epoch != epochs:
                bar.update()
            else:
                rec = evaluate(program, data, monitors)
                hist.append(epoch=epoch, **rec)
                main = next(iter(rec), None)
                bar.update(**({main: round(float(rec[main]), 4)} if main else {}))
                stop = stop_when is not None and stop_when(program, hist)
            for cb in callbacks:
                cb(program, hist)
            if stop:
                hist.stopped_epoch = epoch
                break
    return hist
