r"""One training loop for every learning rule, with monitors and a divergence guard.

``fit(program, data, rule=...)`` runs gradient ascent on the mean log-likelihood, updating
``program.params`` in place:

* ``rule="exact"`` -- the exact gradient (tiny models);
* ``rule="pcd"`` -- Boltzmann learning with persistent free chains (Tieleman's PCD; the
  lecture's clamped/free rule with the free phase never restarted), ``k`` sweeps per update;
* ``rule="cd"`` -- contrastive divergence: the free chains start at the batch, ``k`` sweeps.

Updates: ``delta = momentum * delta + lr * (grad - weight_decay * theta_couplings)``;
weight decay applies to couplings only and once per update. After every update the
parameters are checked: a NaN or infinity restores the last good values and raises
:class:`DivergenceError` naming the epoch and the parameter. ``fit`` returns a
:class:`History` of the monitored quantities per epoch.

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.boltzmann(3, 1, seed=0), dtype=np.float64)
>>> data = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]])
>>> hist = fit(prog, data, epochs=30, lr=0.5, rule="exact")
>>> bool(hist["log_likelihood"][-1] > hist["log_likelihood"][0])
True
"""

import warnings

import numpy as np

from . import exact
from .arguments import COUNT, AnyOf, Boolean, Function, InstanceOf, Names, Options, Real, Seed, check, checked
from .backend import to_host
from .errors import DivergenceError, EnumerationTooLargeError
from .program import Program
from .support import check_data, check_state
from .learn import _summed_layers, exact_gradient, sampled_gradient, training_gradient
from .samplers.progress import Progress

__all__ = ["fit", "History", "DivergenceError", "MonitorWarning", "RULES", "save_checkpoint", "load_checkpoint"]

RULES = ("exact", "pcd", "cd")


class MonitorWarning(UserWarning):
    """A monitor asked of :func:`fit` cannot run (e.g. exact log-likelihood of a model too
    large to enumerate) and is dropped; the message says which and what to use instead."""


class History(dict):
    """Per-epoch records: ``history["log_likelihood"]`` is a list, one value per epoch."""

    def append(self, **values):
        for k, v in values.items():
            self.setdefault(k, []).append(v)

    def plot(self, keys=None, ax=None):
        """Line plots of the monitored quantities against the epoch."""
        import matplotlib.pyplot as plt

        keys = keys or [k for k in self if k not in ("epoch", "k") and not k.endswith("_stderr")]
        if ax is None:
            _, axes = plt.subplots(1, len(keys), figsize=(3.5 * len(keys), 3), squeeze=False)
            axes = axes[0]
        else:
            axes = np.atleast_1d(ax)
        for a, k in zip(axes, keys):
            a.plot(self.get("epoch", range(1, len(self[k]) + 1)), self[k], ".-")
            a.set_xlabel("epoch")
            a.set_title(k)
        return axes


MONITORS = ("log_likelihood", "ais_log_likelihood", "pseudo_log_likelihood", "reconstruction_error", "weight_norm", "free_energy_gap", "update_ratio", "saturated_hidden")


def _weight_norm(arrays):
    return float(sum(float(to_host((v**2).sum())) for k, v in arrays.items() if k.endswith(".weight")) ** 0.5)


def _saturated_hidden(program, data, tol=0.01):
    """Fraction of hidden units whose probability of their upper value stays within
    ``tol`` of 0 or 1 on every one of (up to) 1000 training vectors: dead or stuck units."""
    from .learn import _place_visible, _summed_layers

    found = _summed_layers(program)
    if found is None or not found[0]:
        raise ValueError("monitors: 'saturated_hidden' needs hidden units that can be summed (an RBM)")
    xp = program.xp
    rows = data[:1000]
    s = xp.zeros((rows.shape[0], program.n_columns), dtype=program.dtype)
    _place_visible(program, s, rows)
    T = program.statistic(s)
    stuck, total = 0, 0
    for L in found[0]:
        vals = getattr(L.ops.d, "values", ())
        if L.kind.onehot or len(vals) != 2:
            raise ValueError(f"monitors: 'saturated_hidden' is defined for two-valued hidden units; {L.name!r} is {L.kind.name}")
        p = (L.ops.expected_state(program.field(T, L), L.params, 1.0, L.width) - vals[0]) / (vals[1] - vals[0])
        stuck += int(to_host(xp.sum(xp.all((p < tol) | (p > 1 - tol), axis=0))))
        total += L.cols
    return stuck / total


def _monitor(program, data, monitors, validation=None, steps=None):
    out = {}
    for m in monitors:
        if m == "log_likelihood":
            out[m] = exact.log_likelihood(program, data)
        elif m == "ais_log_likelihood":
            from .ais import log_partition as _ais

            res = _ais(program, n_chains=100, betas=1000, data=to_host(data), seed=0)
            out[m] = float(to_host(-program.free_energy(data)).astype(np.float64).mean() - res.log_z)
            out[m + "_stderr"] = res.stderr
        elif m == "pseudo_log_likelihood":
            out[m] = exact.pseudo_log_likelihood(program, to_host(data))["per_variable"]
        elif m == "reconstruction_error":
            out[m] = _reconstruction_error(program, data)
        elif m == "weight_norm":
            out[m] = _weight_norm(program.params)
        elif m == "free_energy_gap":
            # Hinton's overfitting signal: F(held-out) - F(training), the same number of rows
            n = min(validation.shape[0], data.shape[0])
            f_val = to_host(program.free_energy(validation[:n])).astype(np.float64).mean()
            f_tr = to_host(program.free_energy(data[:n])).astype(np.float64).mean()
            out[m] = float(f_val - f_tr)
        elif m == "update_ratio":
            # |last step| / |weights| over the weight arrays; about 1e-3 is healthy (Hinton)
            out[m] = float("nan") if steps is None else _weight_norm(steps) / max(_weight_norm(program.params), np.finfo(np.float64).tiny)
        elif m == "saturated_hidden":
            out[m] = _saturated_hidden(program, data)
        elif callable(m):
            out[getattr(m, "__name__", "monitor")] = m(program, data)
        else:
            raise ValueError(f"monitors: unknown monitor {m!r}; expected one of {', '.join(repr(x) for x in MONITORS)} or a function (program, data) -> float")
    return out


def _reconstruction_error(program, data):
    """Mean squared error of v against E[v | E[h | v]] (one mean-field pass down and up).

    A heuristic, not the training objective: it can fall while the likelihood gets worse.
    """
    xp = program.xp
    vis = xp.asarray(program.visible_columns)
    s = xp.zeros((data.shape[0], program.n_columns), dtype=program.dtype)
    s[:, vis] = data
    T = program.statistic(s).copy()
    hidden = [L for L in program.layers if not L.visible.any()]
    for L in hidden:
        T[:, L.sl] = L.ops.expected_statistic(program.field(T, L), L.params, 1.0, L.width)
    for L in program.layers:
        if L.visible.all():
            T_vis_zero = T.copy()
            T_vis_zero[:, L.sl] = 0
            mean = L.ops.expected_state(program.field(T_vis_zero, L), L.params, 1.0, L.width)
            s[:, L.sl] = mean
    return float(to_host(xp.mean((s[:, vis] - data) ** 2)))


def _quiet(program):
    import contextlib

    return np.errstate(all="ignore") if program.backend.name == "numpy" else contextlib.nullcontext()


def _gradient(program, batch, rule, rng, k, persistent, positive_sweeps, fast, out, mean_field, lr):
    """The batch's gradient (fresh arrays; on the fast path ``out``, already times ``lr``)
    and the PCD chains."""
    xp = program.xp
    if rule == "exact":
        return {key: xp.asarray(v, dtype=program.dtype) for key, v in exact_gradient(program, to_host(batch)).items()}, persistent
    if fast:
        grad, chains = training_gradient(program, batch, rng, sweeps=k, chains=persistent if rule == "pcd" else None, mean_field=mean_field, out=out, scale=lr)
        return grad, chains if rule == "pcd" else persistent
    if rule == "pcd":
        grad, _, neg = sampled_gradient(program, batch, rng, sweeps=k, init=persistent, positive_sweeps=positive_sweeps)
        return grad, neg.state
    grad, _, _ = sampled_gradient(program, batch, rng, sweeps=k, init="data", positive_sweeps=positive_sweeps)
    return grad, persistent


def _fast_path(program, data):
    """True when :func:`training_gradient` applies: summable hidden layers, complete data."""
    return _summed_layers(program) is not None and not bool(program.xp.any(program.xp.isnan(data)))


@checked(
    program=InstanceOf(Program),
    epochs=COUNT,
    lr=AnyOf(Real(0.0, closed="neither"), Function()),
    rule=Options(*RULES),
    k=AnyOf(COUNT, InstanceOf(list, tuple, name="sequence of sweep counts"), Function()),
    batch_size=AnyOf(None, COUNT),
    chains=COUNT,
    momentum=Real(0.0, 1.0, closed="left"),
    weight_decay=Real(0.0),
    positive_sweeps=COUNT,
    monitors=Names(*MONITORS, functions=True),
    seed=Seed(),
    progress=AnyOf(None, Boolean()),
    callbacks=InstanceOf(list, tuple, name="list of functions"),
    state=AnyOf(None, InstanceOf(dict)),
    mean_field=AnyOf(None, Boolean()),
    sigma_bounds=AnyOf(None, InstanceOf(list, tuple, name="pair (low, high)")),
    monitor_every=COUNT,
)
def fit(
    program,
    data,
    *,
    epochs=10,
    lr=0.1,
    rule="pcd",
    k=1,
    batch_size=None,
    chains=100,
    momentum=0.0,
    weight_decay=0.0,
    positive_sweeps=10,
    monitors=("log_likelihood", "weight_norm"),
    seed=None,
    progress=None,
    callbacks=(),
    persistent=None,
    state=None,
    mean_field=None,
    sigma_bounds=None,
    validation=None,
    monitor_every=1,
):
    """Train ``program`` on the visible vectors ``data``; returns a :class:`History`.

    Parameters
    ----------
    program : Program
        Updated in place.
    data : array (n, visible columns)
        In the declared order of the visible units, each value in its unit's range
        (:func:`graphmrf.support.check_data`; binary values in [0, 1] are read as
        probabilities); NaN marks a missing value (``rule="cd"`` only).
    epochs : int
        Passes over the data.
    lr : float or callable
        Learning rate, > 0; or a schedule ``lr(epoch) -> float`` (epochs count from 1), as
        PCD with a decreasing rate needs.
    rule : {"exact", "pcd", "cd"}
    k : int, sequence or callable
        Gibbs sweeps of the free phase per update (CD-k, PCD-k); a sequence gives k per
        epoch (the last value repeats, e.g. ``[1, 3, 5, 9]``), a callable maps the epoch
        (1, 2, ...) to k.
    batch_size : int, optional
        Mini-batch size (default: the whole data set); a short last batch is used as is,
        each phase averaged over its own rows or chains.
    chains : int
        Persistent chains for PCD (independent of the batch size).
    momentum : float in [0, 1)
        Fraction of the last step added to the next one.
    weight_decay : float >= 0
        L2 penalty on the couplings (not the biases), applied once per update.
    positive_sweeps : int
        Clamped Gibbs sweeps when the hidden units are coupled to each other.
    monitors : tuple
        "log_likelihood" (exact; dropped when the model is too large to enumerate),
        "ais_log_likelihood" (mean log p(v) with log Z from AIS, when hidden units can be
        summed), "pseudo_log_likelihood" (exact, every visible unit, per variable),
        "reconstruction_error" (a heuristic: mean squared error of v against its mean-field
        reconstruction -- it can improve while the likelihood gets worse), "weight_norm",
        "free_energy_gap" (mean free energy of ``validation`` minus that of as many training
        rows: a growing gap is overfitting), "update_ratio" (norm of the last step over the
        norm of the weights; about 1e-3 is healthy), "saturated_hidden" (fraction of hidden
        units stuck within 0.01 of 0 or 1 on every training vector),
        or functions ``(program, data) -> float``. The progress bar shows the first one.
    validation : array, optional
        Held-out visible vectors, for "free_energy_gap".
    monitor_every : int
        Monitors run before training, every ``monitor_every`` epochs and after the last
        one (AIS is costly); the history has one row per monitored epoch.
    seed : int or Generator, optional
        Random generator of the sampled phases and the mini-batch order; default: the
        Program's own (``compile(..., seed=...)``).
    progress : bool, optional
        Show a progress bar over epochs (default: for long runs on a terminal).
    callbacks : functions ``(program, history)`` called after every epoch.
    persistent : array (chains, columns), optional
        PCD chains to continue (e.g. from an earlier call's ``history.persistent``); the
        chains at the end are returned in ``history.persistent``, so runs split into calls
        continue where they stopped.
    state : dict, optional
        ``history.state`` of an earlier call (momentum velocities and PCD chains), or the
        state returned by :func:`load_checkpoint`: the run continues exactly -- with the same
        generator, a run split in two equals the unsplit run.
    mean_field : bool
        Free-phase statistics of summable hidden units from ``E[h | v]`` of the chains
        instead of their sampled values (same expectation, less variance). Default: True
        for CD (Hinton's guide: the last hidden update uses probabilities), False for PCD
        (its chains' sampled units); see :func:`graphmrf.learn.training_gradient`.
    sigma_bounds : (low, high), optional
        Keep every learned Gaussian sigma in ``[low, high]`` after each step (the log-sigma
        parameters are clipped). Learning sigma is very sensitive to the learning rate; on
        standardised data bounds of about (0.1, 1.1) are the usual advice.

    Returns
    -------
    History
        The monitored quantities per monitored epoch; ``history.state`` continues the run.

    Raises
    ------
    DivergenceError
        When a step would make a parameter non-finite or unusable (a Gaussian sigma of 0
        or infinity); the last good parameters are kept.
    """
    sigma_keys, log_bounds = [], None
    if sigma_bounds is not None:
        lo, hi = (float(b) for b in sigma_bounds)
        if not (0 < lo < hi < np.inf):
            raise ValueError(f"sigma_bounds: expected 0 < low < high < inf; got {sigma_bounds!r}")
        log_bounds = (np.log(lo), np.log(hi))
        sigma_keys = [k for k in program.params if k.endswith(".log_sigma")]
    rng = program.generator(seed)
    xp = program.xp
    data = check_data(program, data, missing=True, means=True)  # NaN: absent units, for CD (the rules say)
    n = data.shape[0]
    if n == 0:
        raise ValueError("fit: data has no rows")
    bs = n if batch_size is None else int(batch_size)
    coupling_keys = {c.key for c in program.couplings}
    velocity = {key: xp.zeros_like(v) for key, v in program.params.items()}
    if state is not None:
        for key, v in state.get("velocity", {}).items():
            velocity[key][...] = xp.asarray(v, dtype=program.dtype)
        if persistent is None and state.get("persistent") is not None:
            persistent = xp.asarray(state["persistent"], dtype=program.dtype)
    if rule == "pcd":  # the chains are advanced in place: never the caller's array
        if persistent is None:
            persistent = program.random_state(chains, seed=rng)
        else:
            persistent = xp.array(check_state(program, persistent, "persistent"), dtype=program.dtype, copy=True)
    fast = rule != "exact" and _fast_path(program, data)
    grad_buf = {key: xp.empty_like(v) for key, v in program.params.items()} if fast else None
    batch_buf = xp.empty((min(bs, n),) + data.shape[1:], dtype=program.dtype) if fast else None
    fmax = float(np.finfo(program.dtype).max)
    scratch = {key: xp.empty_like(v) for key, v in program.params.items()} if (momentum or weight_decay) else None
    bound = {key: float(xp.max(xp.abs(v))) if v.size else 0.0 for key, v in program.params.items()}
    hist = History()
    monitors = list(monitors)
    if "free_energy_gap" in monitors:
        if validation is None:
            raise ValueError("monitors: 'free_energy_gap' needs validation= (held-out visible vectors)")
        validation = check_data(program, validation, "validation")
    if "log_likelihood" in monitors:
        try:
            exact.plan(program, max_states=exact.DEFAULT_MAX_STATES)
        except EnumerationTooLargeError as exc:
            monitors = [m for m in monitors if m != "log_likelihood"]
            warnings.warn(
                f"fit: the 'log_likelihood' monitor is dropped: the model is too large to enumerate ({exc}); "
                "monitor 'ais_log_likelihood' or 'pseudo_log_likelihood' instead",
                MonitorWarning,
                stacklevel=3,
            )
    start = _monitor(program, data, monitors, validation)
    hist.append(epoch=0, k=None, **start)
    def k_at(epoch):
        if callable(k):
            return k(epoch)
        if isinstance(k, (list, tuple)):
            return k[min(epoch, len(k)) - 1]
        return k

    def lr_at(epoch):
        return check(f"fit: epoch {epoch}", "lr", lr(epoch) if callable(lr) else lr, Real(0.0, closed="neither"))

    limits = _limits(program)

    with Progress(epochs, f"fit ({rule})", progress) as bar:
        for epoch in range(1, epochs + 1):
            k_now = check(f"fit: epoch {epoch}", "k", k_at(epoch), COUNT)
            lr_now = lr_at(epoch)
            order = xp.asarray(to_host(rng.permutation(n)) if bs < n else np.arange(n))
            with _quiet(program):  # a diverging step is caught by the guard below, not by a warning
                for b0 in range(0, n, bs):
                    rows = order[b0 : b0 + bs]
                    # the fast path copies its batch: one buffer takes every batch's rows
                    batch = xp.take(data, rows, axis=0, out=batch_buf[: rows.shape[0]]) if fast else data[rows]
                    grad, persistent = _gradient(program, batch, rule, rng, k_now, persistent, positive_sweeps, fast, grad_buf, mean_field, lr_now)
                    bad = _steps(program, grad, lr_now, momentum, weight_decay, coupling_keys, velocity, scratch, bound, fmax, scaled=fast)
                    if bad is not None:
                        raise DivergenceError(f"fit: epoch {epoch}: parameter {bad!r} became non-finite; the last good parameters were restored (lower lr?)")
                    bad = _outside_limits(program, grad, limits)
                    if bad is not None:
                        lo, hi = limits[bad]
                        raise DivergenceError(
                            f"fit: epoch {epoch}: parameter {bad!r} would leave its usable range [{lo:.4g}, {hi:.4g}] "
                            "(a sigma of 0 or infinity); the last good parameters were restored (lower lr?)"
                        )
                    # apply: the step becomes the velocity, and the old velocity array the next
                    # batch's gradient buffer (no weight-sized allocation per batch)
                    for key, v in program.params.items():
                        d = grad[key]
                        v += d
                        if fast:
                            grad_buf[key] = velocity[key]
                        velocity[key] = d
                    for key in sigma_keys:
                        v = program.params[key]
                        xp.clip(v, log_bounds[0], log_bounds[1], out=v)
            if epoch % int(monitor_every) and epoch != epochs:
                bar.update()
            else:
                rec = _monitor(program, data, monitors, validation, steps=velocity)
                hist.append(epoch=epoch, k=k_now, **rec)
                main = next((k_ for k_ in rec if not k_.endswith("_stderr")), None)
                bar.update(**({main: round(float(rec[main]), 4)} if main else {}))
            for cb in callbacks:
                cb(program, hist)
    if persistent is not None:  # the chains may live in a work array the next call reuses
        persistent = xp.array(persistent, copy=True)
    hist.persistent = persistent
    hist.state = {"velocity": velocity, "persistent": persistent}
    return hist


def _limits(program):
    """``{key: (low, high)}`` for the parameters whose kinds bound their internal values
    (a Gaussian ``log_sigma``), in the Program's float type."""
    out = {}
    for L in program.layers:
        for p in L.kind.params:
            if p.limit is not None:
                out[f"{L.name}.{p.name}"] = p.limit(program.dtype)
    return out


def _outside_limits(program, steps, limits):
    """The first parameter that the steps would take outside its usable range, else None
    (a sigma of 0 or infinity is finite in log space but breaks every energy)."""
    xp = program.xp
    for key, (lo, hi) in limits.items():
        new = program.params[key] + steps[key]
        if new.size and not (float(xp.min(new)) >= lo and float(xp.max(new)) <= hi):
            return key
    return None


def _steps(program, grad, lr, momentum, weight_decay, coupling_keys, velocity, scratch, bound, fmax, scaled=False):
    """Turn ``grad`` into the parameter steps, in place; return the first parameter whose
    step would make it non-finite (checked before anything is applied), else None.
    ``scaled``: the gradient already carries the factor ``lr``.

    ``d = momentum * velocity + lr * (g - weight_decay * w)``. The check costs one pass per
    array: ``bound`` holds an upper bound on ``max |w|`` raised by ``|d|_2 >= max |d|`` each
    step; only when it nears the largest float are the extremes computed exactly.
    """
    xp = program.xp
    for key, v in program.params.items():
        d = grad[key]
        if not scaled:
            d *= lr
        if weight_decay and key in coupling_keys:
            d -= xp.multiply(v, lr * weight_decay, out=scratch[key])
        if momentum:
            d += xp.multiply(velocity[key], momentum, out=scratch[key])
        if not d.size:
            continue
        flat = d.reshape(-1)
        size = float(xp.sqrt(xp.dot(flat, flat)))
        if not np.isfinite(size):
            return key
        if bound[key] + size > 0.5 * fmax:  # near overflow: check exactly
            dmax, dmin = float(xp.max(d)), float(xp.min(d))
            vmax, vmin = float(xp.max(v)), float(xp.min(v))
            if not (vmax + dmax <= fmax and vmin + dmin >= -fmax):
                return key
            bound[key] = max(abs(vmax + dmax), abs(vmin + dmin))
        else:
            bound[key] += size
    return None


def save_checkpoint(path, program, state, rng):
    """Write the model, its training state (velocities, PCD chains) and the generator's
    state to one ``.npz`` file (atomically, without pickle).

    ``load_checkpoint`` gives back everything ``fit`` needs to continue as if never stopped.
    """
    from .io import _save_npz  # writes atomically

    if not str(path).endswith(".npz"):
        raise ValueError(f"checkpoint {path!r}: expected a .npz path")
    arrays = {f"velocity.{k}": to_host(v) for k, v in state["velocity"].items()}
    if state.get("persistent") is not None:
        arrays["persistent"] = to_host(state["persistent"])
    bg = rng.bit_generator
    header = {"kind": "graphmrf-checkpoint", "dtype": str(program.dtype), "bit_generator": type(bg).__name__, "rng_state": bg.state}
    graph = program.to_graph()
    from .validate import validate

    validate(graph)
    _save_npz(graph, str(path), extra_arrays=arrays, extra_header=header)


def load_checkpoint(path, backend="numpy"):
    """Read a checkpoint: returns ``(program, state, rng)`` for ``fit(program, ..., state=state, seed=rng)``."""
    from .compile import compile as _compile
    from .errors import ModelFileError
    from .io import _load_npz
    from .validate import validate

    extras = {}
    graph = _load_npz(str(path), extras)
    validate(graph)
    header = extras.get("header", {})
    if header.get("kind") != "graphmrf-checkpoint":
        raise ModelFileError(f"file {str(path)!r}: a model file, not a training checkpoint")
    program = _compile(graph, backend=backend, dtype=np.dtype(header["dtype"]))
    arrays = extras["arrays"]
    state = {"velocity": {k[len("velocity.") :]: v for k, v in arrays.items() if k.startswith("velocity.")}, "persistent": arrays.get("persistent")}
    bg = getattr(np.random, header["bit_generator"])()
    bg.state = header["rng_state"]
    return program, state, np.random.Generator(bg)
