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

import contextlib

import numpy as np

from .arguments import (
    COUNT,
    AnyOf,
    Boolean,
    Function,
    InstanceOf,
    Names,
    Options,
    Real,
    Seed,
    SequenceOf,
    check,
    checked,
)
from .backend import to_host
from .errors import DivergenceError
from .io import load_checkpoint, save_checkpoint  # noqa: F401 (the checkpoint files, still reachable here)
from .learn import contrastive_divergence, exact_gradient
from .monitors import MONITORS, ON_DATA, MonitorWarning, evaluate, usable
from .program import Program
from .samplers.progress import Progress
from .support import check_data, check_state
from .workspace import Workspace

__all__ = ["fit", "History", "DivergenceError", "MonitorWarning", "RULES"]

RULES = ("exact", "pcd", "cd")


class History(dict):
    """Per-epoch records: ``history["log_likelihood"]`` is a list, one value per epoch.

    A dict of lists; :func:`fit` also sets ``persistent`` and ``state`` (to continue the
    run) and, when a stopping rule stopped it, ``stopped_epoch``.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0))
    >>> hist = fit(prog, np.array([[1, 0, 1], [0, 1, 0]]), epochs=3, chains=4, seed=0, monitors=["weight_norm"])
    >>> sorted(hist), hist["epoch"], hist.persistent.shape
    (['epoch', 'k', 'weight_norm'], [0, 1, 2, 3], (4, 5))
    """

    def append(self, **values):
        """Add one record: a value to the list of each name (new names start a list).

        Parameters
        ----------
        **values
            Name -> value of this record.

        Examples
        --------
        >>> h = History()
        >>> h.append(epoch=1, loss=0.5)
        >>> h.append(epoch=2, loss=0.25)
        >>> h
        {'epoch': [1, 2], 'loss': [0.5, 0.25]}
        """
        for k, v in values.items():
            self.setdefault(k, []).append(v)

    def plot(self, keys=None, ax=None):
        """Line plots of the monitored quantities against the epoch.

        Parameters
        ----------
        keys : list of str, optional
            Which quantities (default: every one but ``epoch``, ``k`` and standard errors).
        ax : matplotlib Axes or array of them, optional
            Where to draw, one per key (default: a new figure).

        Returns
        -------
        array of matplotlib Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> h = History()
        >>> h.append(epoch=1, loss=0.5)
        >>> h.append(epoch=2, loss=0.25)
        >>> axes = h.plot()
        >>> len(axes), axes[0].get_title()
        (1, 'loss')
        >>> plt.close(axes[0].figure)
        """
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


@checked(
    program=InstanceOf(Program),
    epochs=COUNT,
    lr=AnyOf(Real(0.0, closed="neither"), Function()),
    rule=AnyOf(Options(*RULES), Function()),
    k=AnyOf(COUNT, SequenceOf(COUNT, min_length=1), Function()),
    batch_size=AnyOf(None, COUNT),
    chains=COUNT,
    momentum=Real(0.0, 1.0, closed="left"),
    weight_decay=Real(0.0),
    positive_sweeps=COUNT,
    monitors=Names(*MONITORS, *("validation_" + m for m in ON_DATA), functions=True),
    seed=Seed(),
    progress=AnyOf(None, Boolean()),
    callbacks=InstanceOf(list, tuple, name="list of functions"),
    state=AnyOf(None, InstanceOf(dict)),
    mean_field=AnyOf(None, Boolean()),
    sigma_bounds=AnyOf(None, SequenceOf(Real(0.0, closed="neither"), min_length=2, max_length=2)),
    monitor_every=COUNT,
    stop_when=AnyOf(None, Function()),
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
    stop_when=None,
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
    rule : {"exact", "pcd", "cd"} or callable
        The gradient estimator. A function is any estimator with the signature of
        :func:`graphmrf.learn.contrastive_divergence`, ``rule(program, batch, rng, *, k,
        chains, mean_field, positive_sweeps, workspace, out, scale) -> (gradient, chains)``:
        it receives persistent chains (``chains`` of them, started at random) and returns
        the ones to keep -- the way a model family brings its own learning rule (the DBM's
        mean-field positive phase, Neal's rule for belief nets).
    k : int, sequence or callable
        Gibbs sweeps of the free phase per update (CD-k, PCD-k); a sequence gives k per
        epoch (the last value repeats, e.g. ``[1, 3, 5, 9]``), a callable maps the epoch
        (1, 2, ...) to k.
    batch_size : int, optional
        Mini-batch size; a short last batch is used as is, each phase averaged over its
        own rows or chains. Default: 100 rows (or all, when fewer) for CD and PCD, the
        whole data set for ``rule="exact"`` (whose gradient is of the whole data's mean
        log-likelihood).
    chains : int
        Persistent chains for PCD (independent of the batch size).
    momentum : float in [0, 1)
        Fraction of the last step added to the next one.
    weight_decay : float >= 0
        L2 penalty on the couplings (not the biases), applied once per update.
    positive_sweeps : int
        Clamped Gibbs sweeps when the hidden units are coupled to each other.
    monitors : list
        Names from :data:`graphmrf.monitors.MONITORS` (see :mod:`graphmrf.monitors`):
        "log_likelihood" (exact; dropped with a MonitorWarning when the model is too large
        to enumerate),
        "ais_log_likelihood" (mean log p(v) with log Z from AIS, when hidden units can be
        summed), "pseudo_log_likelihood" (exact, every visible unit, per variable),
        "reconstruction_error" (a heuristic: mean squared error of v against its mean-field
        reconstruction -- it can improve while the likelihood gets worse), "weight_norm",
        "free_energy_gap" (mean free energy of ``validation`` minus that of as many training
        rows: a growing gap is overfitting), "update_ratio" (norm of the last step over the
        norm of the weights; about 1e-3 is healthy), "saturated_hidden" (fraction of hidden
        units stuck within 0.01 of 0 or 1 on every training vector),
        any data monitor prefixed ``"validation_"`` (computed on ``validation``), or functions
        ``(program, data) -> float``. The progress bar shows the first one.
    validation : array, optional
        Held-out visible vectors, for "free_energy_gap" and the ``"validation_"`` monitors.
    monitor_every : int
        Monitors run before training, every ``monitor_every`` epochs and after the last
        one (AIS is costly); the history has one row per monitored epoch.
    stop_when : function ``(program, history) -> bool``, optional
        A stopping rule asked after each monitored epoch, e.g.
        :class:`graphmrf.monitors.Threshold` (a monitor passing a value, as the lab stops on
        a reconstruction-error threshold) or :class:`graphmrf.monitors.EarlyStopping` (no
        improvement on held-out data for a few checks; the best parameters come back).
        ``history.stopped_epoch`` says when it stopped.
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
        (its chains' sampled units); see :func:`graphmrf.learn.contrastive_divergence`.
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
    TypeError
        If an argument is of the wrong type.
    ValueError
        If an argument breaks its rule (``lr <= 0``, an unknown monitor), ``data`` has no
        rows, the wrong shape or a value outside its unit's support, or ``sigma_bounds``
        is not ``0 < low < high``.
    ModelError
        If ``data`` has missing values for a rule other than CD.

    Examples
    --------
    PCD-1 on the 3 x 3 bars and stripes, monitored by the exact log-likelihood:

    >>> import numpy as np, graphmrf as gm
    >>> X = gm.datasets.bars_and_stripes(3)
    >>> prog = gm.compile(gm.rbm(9, 6, seed=0), seed=0)
    >>> hist = fit(prog, X, epochs=100, lr=0.1, rule="pcd", chains=50, monitor_every=50)
    >>> hist["epoch"], bool(hist["log_likelihood"][-1] > hist["log_likelihood"][0])
    ([0, 50, 100], True)
    """
    trainer = _Trainer(
        program,
        data,
        rule=rule,
        batch_size=batch_size,
        chains=chains,
        momentum=momentum,
        weight_decay=weight_decay,
        positive_sweeps=positive_sweeps,
        seed=seed,
        persistent=persistent,
        state=state,
        mean_field=mean_field,
        sigma_bounds=sigma_bounds,
    )
    validation = None if validation is None else check_data(program, validation, "validation")
    monitors = usable(program, monitors)
    hist = History()
    hist.append(epoch=0, k=None, **evaluate(program, trainer.data, monitors, validation))
    with Progress(epochs, f"fit ({getattr(rule, '__name__', rule)})", progress) as bar:
        for epoch in range(1, epochs + 1):
            k_now = check(f"fit: epoch {epoch}", "k", _at(k, epoch), COUNT)
            lr_now = check(f"fit: epoch {epoch}", "lr", lr(epoch) if callable(lr) else lr, Real(0.0, closed="neither"))
            for batch in trainer.batches():  # a pass over the data in mini-batches
                trainer.step(batch, epoch, k_now, lr_now)  # one guarded gradient step
            stop = False
            if epoch % monitor_every and epoch != epochs:
                bar.update()
            else:
                rec = evaluate(program, trainer.data, monitors, validation, steps=trainer.velocity)
                hist.append(epoch=epoch, k=k_now, **rec)
                main = next((m for m in rec if not m.endswith("_stderr")), None)
                bar.update(**({main: round(float(rec[main]), 4)} if main else {}))
                stop = stop_when is not None and stop_when(program, hist)
            for cb in callbacks:
                cb(program, hist)
            if stop:
                hist.stopped_epoch = epoch
                break
    hist.persistent, hist.state = trainer.finish()
    return hist


def _at(k, epoch):
    """The value of a per-epoch setting: a number, a sequence (the last repeats) or a function."""
    if callable(k):
        return k(epoch)
    if isinstance(k, (list, tuple)):
        return k[min(epoch, len(k)) - 1]
    return k


class _Trainer:
    """The state of one ``fit`` run: the checked data, the mini-batch order, momentum
    velocities, PCD chains, the workspace of its steps, and the divergence guard."""

    def __init__(
        self,
        program,
        data,
        *,
        rule,
        batch_size,
        chains,
        momentum,
        weight_decay,
        positive_sweeps,
        seed,
        persistent,
        state,
        mean_field,
        sigma_bounds,
    ):
        xp = program.xp
        self.program, self.rule, self.xp = program, rule, xp
        self.rng = program.generator(seed)
        # NaN: absent units, for CD (contrastive_divergence says what the other rules need)
        self.data = check_data(program, data, missing=True, means=True)
        self.n = self.data.shape[0]
        if self.n == 0:
            raise ValueError("fit: data has no rows")
        # the exact gradient is of the whole data's mean log-likelihood; sampled rules take mini-batches
        default = self.n if rule == "exact" else min(self.n, 100)
        self.batch_size = default if batch_size is None else int(batch_size)
        self.momentum, self.weight_decay, self.mean_field = momentum, weight_decay, mean_field
        self.positive_sweeps = positive_sweeps
        self.coupling_keys = {c.key for c in program.couplings}
        self.velocity = {key: xp.zeros_like(v) for key, v in program.params.items()}
        if state is not None:
            for key, v in state.get("velocity", {}).items():
                self.velocity[key][...] = xp.asarray(v, dtype=program.dtype)
            if persistent is None and state.get("persistent") is not None:
                persistent = xp.asarray(state["persistent"], dtype=program.dtype)
        self.persistent = persistent  # CD and the exact rule pass given chains through untouched
        if rule == "pcd" or callable(rule):  # the chains are advanced in place: never the caller's array
            if persistent is None:
                self.persistent = program.random_state(chains, seed=self.rng)
            else:
                self.persistent = xp.array(
                    check_state(program, persistent, "persistent"), dtype=program.dtype, copy=True
                )
        self.workspace = Workspace()
        self.grad_buf = {key: xp.empty_like(v) for key, v in program.params.items()}
        self.scratch = (
            {key: xp.empty_like(v) for key, v in program.params.items()} if (momentum or weight_decay) else None
        )
        self.fmax = float(np.finfo(program.dtype).max)
        self.bound = {key: float(xp.max(xp.abs(v))) if v.size else 0.0 for key, v in program.params.items()}
        self.limits = _limits(program)
        self.sigma = _sigma_clip(program, sigma_bounds)

    def batches(self):
        """The rows of each mini-batch of one pass, in a fresh random order (one reused
        buffer holds every batch: no allocation per batch)."""
        xp, n, bs = self.xp, self.n, self.batch_size
        order = xp.asarray(to_host(self.rng.permutation(n)) if bs < n else np.arange(n))
        buf = self.workspace.array("batch", (min(bs, n), self.data.shape[1]), self.program.dtype, xp)
        for b0 in range(0, n, bs):
            rows = order[b0 : b0 + bs]
            yield xp.take(self.data, rows, axis=0, out=buf[: rows.shape[0]])

    def gradient(self, batch, k, lr):
        """``lr`` times the batch's gradient (in the reused buffer)."""
        program = self.program
        if self.rule == "exact":
            g = exact_gradient(program, to_host(batch))
            for key, v in g.items():
                self.grad_buf[key][...] = v
                self.grad_buf[key] *= lr
            return self.grad_buf
        pcd = self.rule == "pcd" or callable(self.rule)
        estimator = self.rule if callable(self.rule) else contrastive_divergence
        grad, chains = estimator(
            program,
            batch,
            self.rng,
            k=k,
            chains=self.persistent if pcd else None,
            mean_field=self.mean_field,
            positive_sweeps=self.positive_sweeps,
            workspace=self.workspace,
            out=self.grad_buf,
            scale=lr,
        )
        if pcd:
            self.persistent = chains
        return grad

    def step(self, batch, epoch, k, lr):
        """One update ``delta = momentum * delta + lr (grad - weight_decay * w)``, refused
        (the parameters untouched, DivergenceError) when it would make one unusable."""
        program = self.program
        with _quiet(program):  # a diverging step is caught by the guard below, not by a warning
            grad = self.gradient(batch, k, lr)
            bad = _steps(
                program,
                grad,
                self.momentum,
                lr * self.weight_decay,
                self.coupling_keys,
                self.velocity,
                self.scratch,
                self.bound,
                self.fmax,
            )
        if bad is not None:
            raise DivergenceError(
                f"fit: epoch {epoch}: parameter {bad!r} became non-finite; the last good parameters were restored "
                "(lower lr?)"
            )
        bad = _outside_limits(program, grad, self.limits)
        if bad is not None:
            lo, hi = self.limits[bad]
            raise DivergenceError(
                f"fit: epoch {epoch}: parameter {bad!r} would leave its usable range [{lo:.4g}, {hi:.4g}] "
                "(a sigma of 0 or infinity); the last good parameters were restored (lower lr?)"
            )
        # apply: the step becomes the velocity, and the old velocity array the next
        # batch's gradient buffer (no weight-sized allocation per batch)
        for key, v in program.params.items():
            d = grad[key]
            v += d
            self.grad_buf[key] = self.velocity[key]
            self.velocity[key] = d
        if self.sigma is not None:
            keys, lo, hi = self.sigma
            for key in keys:
                self.xp.clip(program.params[key], lo, hi, out=program.params[key])

    def finish(self):
        """``(persistent chains, state)`` for the History: a later call continues from them."""
        persistent = None if self.persistent is None else self.xp.array(self.persistent, copy=True)
        return persistent, {"velocity": self.velocity, "persistent": persistent}


def _quiet(program):
    """NumPy's floating-point warnings off: a diverging step is caught by the guard."""
    return np.errstate(all="ignore") if program.backend.name == "numpy" else contextlib.nullcontext()


def _sigma_clip(program, sigma_bounds):
    """``(log-sigma keys, low, high)`` for ``sigma_bounds``, or None."""
    if sigma_bounds is None:
        return None
    lo, hi = (float(b) for b in sigma_bounds)
    if not (0 < lo < hi < np.inf):
        raise ValueError(f"sigma_bounds: expected 0 < low < high < inf; got {sigma_bounds!r}")
    return [k for k in program.params if k.endswith(".log_sigma")], np.log(lo), np.log(hi)


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


def _steps(program, grad, momentum, decay, coupling_keys, velocity, scratch, bound, fmax):
    """Turn ``grad`` (already times the learning rate) into the parameter steps, in place;
    return the first parameter whose step would make it non-finite (checked before
    anything is applied), else None.

    ``d = momentum * velocity + lr * g - decay * w`` with ``decay = lr * weight_decay`` (on
    the couplings only). The check costs one pass per
    array: ``bound`` holds an upper bound on ``max |w|`` raised by ``|d|_2 >= max |d|`` each
    step; only when it nears the largest float are the extremes computed exactly.
    """
    xp = program.xp
    for key, v in program.params.items():
        d = grad[key]
        if decay and key in coupling_keys:
            d -= xp.multiply(v, decay, out=scratch[key])
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
