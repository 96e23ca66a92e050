r"""What a training run watches, and when it stops.

:func:`evaluate` computes named monitors of a model on its training data -- cheap to
costly:

* ``"weight_norm"``, ``"update_ratio"`` (norm of the last step over the norm of the
  weights; about 1e-3 is healthy, Hinton's guide), ``"saturated_hidden"`` (fraction of
  hidden units stuck within 0.01 of 0 or 1 on every training vector);
* ``"reconstruction_error"`` -- a heuristic, not the objective: it can fall while the
  likelihood gets worse;
* ``"free_energy_gap"`` -- mean free energy of held-out rows minus that of as many
  training rows (Hinton's overfitting signal: a growing gap);
* ``"pseudo_log_likelihood"`` (exact, every visible unit, per variable),
  ``"ais_log_likelihood"`` (mean log p(v) with log Z from AIS), ``"log_likelihood"``
  (exact enumeration, tiny models);
* any of these prefixed ``"validation_"`` is computed on the held-out rows instead;
* or a function ``(program, data) -> float``.

A *stopping rule* is a function ``(program, history) -> bool`` that :func:`graphmrf.fit`
asks after every monitored epoch: :class:`Threshold` (stop once a monitor passes a value, as the lab
stops on a reconstruction-error threshold) and :class:`EarlyStopping` (stop when a
monitor on held-out data has not improved for ``patience`` checks, and go back to the best
parameters).

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.rbm(9, 4, seed=0), dtype=np.float64)
>>> X = gm.datasets.bars_and_stripes(3)
>>> rec = evaluate(prog, X, ["weight_norm", "log_likelihood", "validation_log_likelihood"], validation=X[:4])
>>> sorted(rec), round(rec["log_likelihood"], 3)
(['log_likelihood', 'validation_log_likelihood', 'weight_norm'], -6.238)
"""

import warnings

import numpy as np

from . import exact
from .ais import log_partition as ais_log_partition
from .arguments import COUNT, Options, Real, checked
from .backend import to_host
from .errors import ModelError
from .learn import place_visible, summed_layers
from .support import check_data

__all__ = [
    "MONITORS",
    "evaluate",
    "reconstruction_error",
    "weight_norm",
    "saturated_hidden",
    "Threshold",
    "EarlyStopping",
    "MonitorWarning",
]

#: Monitor names :func:`evaluate` knows (each data monitor also with a ``"validation_"`` prefix).
MONITORS = (
    "log_likelihood",
    "ais_log_likelihood",
    "pseudo_log_likelihood",
    "reconstruction_error",
    "weight_norm",
    "free_energy_gap",
    "update_ratio",
    "saturated_hidden",
)
#: Monitors that read the data (the ones a ``"validation_"`` prefix moves to held-out rows).
ON_DATA = ("log_likelihood", "ais_log_likelihood", "pseudo_log_likelihood", "reconstruction_error", "saturated_hidden")


class MonitorWarning(UserWarning):
    """A monitor asked of :func:`graphmrf.fit` cannot run (e.g. exact log-likelihood of a
    model too large to enumerate) and is dropped; the message says which and what to use
    instead.

    Examples
    --------
    >>> import warnings, numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(40, 40, seed=0))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     hist = gm.fit(prog, np.zeros((10, 40)), epochs=1, monitors=["log_likelihood"], seed=0)
    >>> [w.category.__name__ for w in caught], sorted(hist)
    (['MonitorWarning'], ['epoch', 'k'])
    """


def weight_norm(arrays):
    """The Euclidean norm of every ``*.weight`` array together.

    Parameters
    ----------
    arrays : dict of arrays
        ``program.params``, or parameter steps; keys not ending in ``.weight`` are skipped.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> weight_norm({"v~h.weight": np.ones((2, 2)), "v.bias": np.ones(3)})
    2.0
    """
    return float(sum(float(to_host((v**2).sum())) for k, v in arrays.items() if k.endswith(".weight")) ** 0.5)


def saturated_hidden(program, data, tol=0.01):
    """Fraction of hidden units whose probability of their upper value stays within
    ``tol`` of 0 or 1 on every one of (up to) 1000 training vectors: dead or stuck units.

    Parameters
    ----------
    program : Program
        A model whose hidden units can be summed (an RBM).
    data : array (rows, visible columns)
        Training vectors (the first 1000 are used).
    tol : float
        How close to 0 or 1 counts as stuck.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        If the hidden units cannot be summed, or are not two-valued.

    Examples
    --------
    A hidden unit with bias 10 is always on:

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0, scale=0.0), dtype=np.float64)
    >>> prog.params["h.bias"][:] = [10.0, 0.0]
    >>> saturated_hidden(prog, np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
    0.5
    """

    found = summed_layers(program)
    if found is None or not found[0]:
        raise ValueError("monitors: 'saturated_hidden' needs hidden units that can be summed (an RBM)")
    xp = program.xp
    rows = data[:1000]
    s = xp.zeros((rows.shape[0], program.n_columns), dtype=program.dtype)
    place_visible(program, s, rows)
    T = program.statistic(s)
    stuck, total = 0, 0
    for L in found[0]:
        vals = getattr(L.ops.d, "values", ())
        if L.kind.onehot or len(vals) != 2:
            raise ValueError(
                f"monitors: 'saturated_hidden' is defined for two-valued hidden units; {L.name!r} is {L.kind.name}"
            )
        p = (L.ops.expected_state(program.field(T, L), L.params, 1.0, L.width) - vals[0]) / (vals[1] - vals[0])
        stuck += int(to_host(xp.sum(xp.all((p < tol) | (p > 1 - tol), axis=0))))
        total += L.cols
    return stuck / total


def reconstruction_error(program, data):
    """Mean squared error of v against E[v | E[h | v]] (one mean-field pass down and up).

    A heuristic, not the training objective: it can fall while the likelihood gets worse.
    The hidden units take their means given ``v``, then the visible units theirs given
    those; visible units are reconstructed layer by layer where they form whole layers (an
    RBM's, a DBM's).

    Parameters
    ----------
    program : Program
        The model.
    data : array (rows, visible columns)
        Visible vectors.

    Returns
    -------
    float

    Raises
    ------
    ModelError
        If a layer mixes visible and hidden units (a machine declared unit by unit): it
        has no whole layers to reconstruct.
    ValueError
        If ``data`` has the wrong width or lies outside its units' support (NaN marks
        a missing entry: it is not scored).

    Examples
    --------
    With zero parameters every reconstruction is 1/2, a squared error of 1/4:

    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0, scale=0.0), dtype=np.float64)
    >>> reconstruction_error(prog, np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
    0.25
    """
    mixed = [L.name for L in program.layers if L.visible.any() and not L.visible.all()]
    if mixed:
        raise ModelError(
            f"reconstruction_error: layer {mixed[0]!r} mixes visible and hidden units (units declared one by one); "
            "the reconstruction takes whole layers up and down (an RBM's, a DBM's): monitor "
            "'pseudo_log_likelihood' or 'log_likelihood' instead"
        )
    data = check_data(program, data, missing=True)
    xp = program.xp
    vis = xp.asarray(program.visible_columns)
    seen = ~xp.isnan(data)  # missing entries (NaN) go in as 0 and are not scored, as fit treats them
    s = xp.zeros((data.shape[0], program.n_columns), dtype=program.dtype)
    s[:, vis] = xp.where(seen, data, 0)
    T = program.statistic(s).copy()
    for L in program.layers:
        if not L.visible.any():
            T[:, L.sl] = L.ops.expected_statistic(program.field(T, L), L.params, 1.0, L.width)
    for L in program.layers:
        if L.visible.all():
            T_vis_zero = T.copy()
            T_vis_zero[:, L.sl] = 0
            s[:, L.sl] = L.ops.expected_state(program.field(T_vis_zero, L), L.params, 1.0, L.width)
    err = xp.where(seen, s[:, vis] - xp.where(seen, data, 0), 0)
    return float(to_host((err**2).sum() / max(int(seen.sum()), 1)))


def _on(program, name, rows):
    """A data monitor of ``rows``."""
    if name == "log_likelihood":
        return {name: exact.log_likelihood(program, rows)}
    if name == "ais_log_likelihood":
        res = ais_log_partition(program, n_chains=100, betas=1000, data=to_host(rows), seed=0, progress=False)
        return {
            name: float(to_host(-program.free_energy(rows)).astype(np.float64).mean() - res.log_z),
            name + "_stderr": res.stderr,
        }
    if name == "pseudo_log_likelihood":
        return {name: exact.pseudo_log_likelihood(program, to_host(rows))["per_variable"]}
    if name == "reconstruction_error":
        return {name: reconstruction_error(program, rows)}
    return {name: saturated_hidden(program, rows)}


def evaluate(program, data, monitors, validation=None, steps=None):
    """The named monitors of ``program`` on ``data``: a dict name -> float (AIS adds
    ``"ais_log_likelihood_stderr"``). ``validation`` holds the held-out rows
    ("free_energy_gap" and the ``"validation_"`` monitors need them); ``steps`` the last
    parameter steps ("update_ratio"; NaN before the first).

    Parameters
    ----------
    program : Program
        The model.
    data : array (rows, visible columns)
        The training vectors (checked already: :func:`graphmrf.fit` passes its own).
    monitors : sequence
        Names from :data:`MONITORS`, ``"validation_"`` + a data monitor, or functions
        ``(program, data) -> float`` (recorded under their ``__name__``).
    validation : array (rows, visible columns), optional
        Held-out vectors.
    steps : dict of arrays, optional
        The last parameter steps.

    Returns
    -------
    dict
        Monitor name -> float.

    Raises
    ------
    ValueError
        If a name is unknown, or a monitor needs ``validation`` and none was given.

    Examples
    --------
    >>> import numpy as np, graphmrf as gm
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0, scale=0.0), dtype=np.float64)
    >>> X = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    >>> evaluate(prog, X, ["weight_norm", "free_energy_gap", "update_ratio"], validation=X[:1])
    {'weight_norm': 0.0, 'free_energy_gap': 0.0, 'update_ratio': nan}
    >>> evaluate(prog, X, ["free_energy"])
    Traceback (most recent call last):
    ...
    ValueError: monitors: unknown monitor 'free_energy'; expected one of 'log_likelihood', ...
    """
    out = {}
    for m in monitors:
        if callable(m):
            out[getattr(m, "__name__", "monitor")] = m(program, data)
        elif m in ON_DATA:
            out.update(_on(program, m, data))
        elif m.startswith("validation_") and m[len("validation_") :] in ON_DATA:
            if validation is None:
                raise ValueError(f"monitors: {m!r} needs validation= (held-out visible vectors)")
            out.update({"validation_" + k: v for k, v in _on(program, m[len("validation_") :], validation).items()})
        elif m == "weight_norm":
            out[m] = weight_norm(program.params)
        elif m == "free_energy_gap":
            if validation is None:
                raise ValueError("monitors: 'free_energy_gap' needs validation= (held-out visible vectors)")
            n = min(validation.shape[0], data.shape[0])
            f_val = to_host(program.free_energy(validation[:n])).astype(np.float64).mean()
            f_tr = to_host(program.free_energy(data[:n])).astype(np.float64).mean()
            out[m] = float(f_val - f_tr)
        elif m == "update_ratio":
            out[m] = (
                float("nan")
                if steps is None
                else weight_norm(steps) / max(weight_norm(program.params), np.finfo(np.float64).tiny)
            )
        else:
            known = ", ".join(repr(x) for x in MONITORS)
            raise ValueError(
                f"monitors: unknown monitor {m!r}; expected one of {known} (or 'validation_' + a data monitor) or a "
                "function (program, data) -> float"
            )
    return out


def usable(program, monitors):
    """``monitors`` without an exact log-likelihood the model is too large to enumerate
    (dropped with a :class:`MonitorWarning` saying what to use instead)."""
    wanted = [
        m
        for m in monitors
        if isinstance(m, str) and m.endswith("log_likelihood") and "ais" not in m and "pseudo" not in m
    ]
    if not wanted:
        return list(monitors)
    try:
        exact.plan(program, max_states=exact.DEFAULT_MAX_STATES, estimate=False)
        return list(monitors)
    except exact.EnumerationTooLargeError as exc:
        for m in wanted:
            warnings.warn(
                f"fit: the {m!r} monitor is dropped: the model is too large to enumerate ({exc}); "
                "monitor 'ais_log_likelihood' or 'pseudo_log_likelihood' instead",
                MonitorWarning,
                stacklevel=4,
            )
        return [m for m in monitors if m not in wanted]


class Threshold:
    """Stop once ``monitor`` is below ``below`` (or above ``above``).

    A stopping rule for :func:`graphmrf.fit` (``stop_when=``): called with the program
    and the history after every monitored epoch, it says whether to stop.

    Parameters
    ----------
    monitor : str
        A monitor's name in the history.
    below : float, optional
        Stop once the last value is below it.
    above : float, optional
        Stop once the last value is above it.

    Raises
    ------
    ValueError
        Unless exactly one of ``below`` and ``above`` is given, or if it is not finite.
    TypeError
        If it is not a number.

    Examples
    --------
    >>> rule = Threshold("reconstruction_error", below=0.05)
    >>> rule(None, {"reconstruction_error": [0.2, 0.04]}), rule(None, {"reconstruction_error": [0.2]})
    (True, False)
    """

    @checked(below=Real(), above=Real())
    def __init__(self, monitor, *, below=None, above=None):
        if (below is None) == (above is None):
            raise ValueError("Threshold: give exactly one of below= and above=")
        self.monitor, self.below, self.above = monitor, below, above

    def __call__(self, program, history):
        values = history.get(self.monitor)
        if not values:
            return False
        last = values[-1]
        return last < self.below if self.below is not None else last > self.above

    def __repr__(self):
        side = f"below={self.below}" if self.below is not None else f"above={self.above}"
        return f"Threshold({self.monitor!r}, {side})"


class EarlyStopping:
    """Stop when ``monitor`` (one computed on held-out data, e.g.
    ``"validation_pseudo_log_likelihood"``) has not improved for ``patience`` checks,
    and give the parameters of its best check back to the model.

    ``mode="max"`` for likelihoods, ``"min"`` for errors and gaps.

    Parameters
    ----------
    monitor : str
        A monitor's name in the history.
    patience : int
        Checks without improvement before stopping.
    mode : {"max", "min"}
        Whether larger or smaller values are better.

    Raises
    ------
    ValueError
        If ``patience < 1`` or ``mode`` is neither.
    TypeError
        If ``patience`` is not an integer.

    Examples
    --------
    >>> rule = EarlyStopping("validation_log_likelihood", patience=2)
    >>> history = {"epoch": [], "validation_log_likelihood": []}
    >>> for epoch, value in enumerate([-5.0, -4.0, -4.5, -4.2]):
    ...     history["epoch"].append(epoch)
    ...     history["validation_log_likelihood"].append(value)
    ...     print(rule(None, history), end=" ")
    False False False True
    >>> rule.best, rule.best_epoch, rule.stopped_epoch
    (-4.0, 1, 3)
    """

    @checked(patience=COUNT, mode=Options("max", "min"))
    def __init__(self, monitor, *, patience=5, mode="max"):
        self.monitor, self.patience, self.mode = monitor, patience, mode
        self.best, self.best_epoch, self.best_params, self.stopped_epoch = None, None, None, None

    def __call__(self, program, history):
        values = history.get(self.monitor)
        if not values:
            return False
        value = values[-1]
        better = self.best is None or (value > self.best if self.mode == "max" else value < self.best)
        epoch = history["epoch"][-1] if history.get("epoch") else len(values) - 1
        if better:
            self.best, self.best_epoch = value, epoch
            if program is not None:
                self.best_params = {k: v.copy() for k, v in program.params.items()}
            return False
        checks_since = sum(1 for e in history.get("epoch", []) if e > self.best_epoch)
        if checks_since >= self.patience:
            self.stopped_epoch = epoch
            if program is not None and self.best_params is not None:
                for k, v in program.params.items():
                    v[...] = self.best_params[k]
            return True
        return False

    def __repr__(self):
        return f"EarlyStopping({self.monitor!r}, patience={self.patience}, mode={self.mode!r})"
