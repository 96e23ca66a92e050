r"""Is my sampler (or gradient estimator, or AIS) right? Compare it with exact enumeration.

:func:`verify` has three modes, each a set of statistical checks whose false-positive
rate ``alpha`` is stated and Bonferroni-split among them, and each report says what a
pass rules out (its power) and calls a check that could not have failed INCONCLUSIVE,
never PASS.

**Samplers** (``mode="sampler"``, any name :func:`graphmrf.sample` accepts, or a sweep
function). Many independent chains run in one batch and only each chain's last state is
kept: those states are independent draws, so Pearson's chi-square test against the exact
joint distribution (every discrete unit; real-valued units integrated out) has its nominal
false-positive rate, with no autocorrelation estimate. Bins are those of
:mod:`graphmrf.goodness`: one per state expected at least 5 times, the rarer states cut by
exact-probability quantiles into bins of expected count >= 5. A second test looks at the
rare states alone (the others pooled), so a sampler that never visits them is rejected
whenever the run is large enough to notice -- and called inconclusive when it is not. A
stationarity test, immune to slow mixing, starts the chains from *exact* draws and
checks that they are still exact after 1, 5 and 50 sweeps. A z-test of the mean energy
of the final states catches a wrong temperature first; real-valued units are checked by
their means. With ``clamp`` the reference is the exact conditional distribution.
The report states the smallest total variation distance and the smallest relative change
of beta that the run detects with probability >= 0.95 (non-central chi-square); given a
target instead (``detect_beta=0.97``), :func:`verify` picks the number of chains.
:func:`power` and :func:`chains_to_detect` give both from the exact distribution alone,
before any sampling.

**Gradient estimators** (``mode="gradient"``: "cd-1", "cd-k", "pcd", "boltzmann", "neal" or a
function ``estimator(program, data, rng) -> dict``). Independent replicates of the
estimate are compared entry by entry with its exact expectation -- CD-k's own k-step
expectation (:func:`cd_expectation`), the exact log-likelihood gradient for the others
-- by t-scores with standard errors from the replicates; a negative control (the same
replicates with the sign of the largest entry flipped) must be rejected, or the check is
inconclusive.

**AIS** (``mode="ais"``: "ais", or a function ``(program, rng) -> result`` with
``.log_z`` and ``.stderr``): the standardised errors ``(estimate - exact log Z) / reported
standard error`` over independent runs must look like N(0, 1): their mean near 0 (no
bias) and their mean square near 1 (an honest error bar).

>>> import graphmrf as gm
>>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))
>>> report = verify(prog, n_chains=4000, n_sweeps=30, seed=0)
>>> report.verdict
'pass'
"""

import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy import stats

from . import ais, belief, exact, goodness, learn
from .arguments import BETA, COUNT, AnyOf, Constraint, Function, InstanceOf, Integer, Options, Real, Seed, checked
from .backend import to_host
from .errors import ModelError
from .goodness import bin_states, chi_square
from .program import Program
from .samplers.clamp import clamp_mask
from .samplers.run import METHODS, SAMPLER, sample

__all__ = [
    "verify",
    "power",
    "chains_to_detect",
    "Report",
    "Check",
    "chi_square",
    "cd_expectation",
    "gradient_estimator",
    "ESTIMATORS",
    "EXIT_STATUS",
]

#: exit status of ``graphmrf verify`` for each verdict (2 is a usage or library error)
EXIT_STATUS = {"pass": 0, "fail": 1, "inconclusive": 3}

#: probability with which the stated power detects what it names
POWER = 0.95


@dataclass
class Check:
    """One statistical check: its name, statistic, p-value and the level it is held to.

    ``inconclusive`` says why the check could not have failed (zero degrees of freedom,
    too few draws to test, a negative control not rejected); it is empty when the check
    had power. ``status`` is "fail" when the test rejected (``p_value <= level``: a
    rejection stands even where a pass would not have meant anything), "inconclusive"
    when it did not and had no power, and "pass" otherwise -- reversed for a negative
    control (``must_reject``), which passes when its test rejects.

    Attributes
    ----------
    name : str
        What is tested ("joint chi-square (final states)").
    statistic : float
        The test statistic.
    p_value : float
        Its p-value.
    level : float
        The level it is held to (``alpha`` split over the run's checks).
    detail : str
        Degrees of freedom, the worst entry, ...
    inconclusive : str
        Why the check had no power ("" when it had).
    must_reject : bool
        Whether it is a negative control.

    Examples
    --------
    >>> Check("demo", 2.0, 0.5, 0.01).status
    'pass'
    >>> Check("demo", 0.0, 1.0, 0.01, inconclusive="zero degrees of freedom").status
    'inconclusive'
    >>> Check("control", 12.0, 1e-10, 0.01, must_reject=True).status  # a negative control that rejected
    'pass'
    """

    name: str
    statistic: float
    p_value: float
    level: float
    detail: str = ""
    inconclusive: str = ""
    must_reject: bool = False

    @property
    def status(self):
        rejected = self.p_value <= self.level
        if rejected:  # a rejection by a valid test stands, whatever the test could not see
            return "pass" if self.must_reject else "fail"
        if self.inconclusive:
            return "inconclusive"
        return "fail" if self.must_reject else "pass"

    @property
    def passed(self):
        return self.status == "pass"

    def to_dict(self):
        """The check as plain data (``json.dumps`` takes it; infinities become strings).

        Returns
        -------
        dict

        Examples
        --------
        >>> Check("demo", 2.0, 0.5, 0.01, detail="dof 3").to_dict()["status"]
        'pass'
        >>> Check("demo", float("inf"), 0.0, 0.01).to_dict()["statistic"]
        'inf'
        """
        return {
            "name": self.name,
            "status": self.status,
            "statistic": _finite(self.statistic),
            "p_value": _finite(self.p_value),
            "level": self.level,
            "detail": self.detail,
            "reason": self.inconclusive or None,
            "must_reject": self.must_reject,
        }


def _finite(x):
    x = float(x)
    return x if np.isfinite(x) else (None if np.isnan(x) else ("inf" if x > 0 else "-inf"))


_VERDICT_TEXT = {
    "sampler": ("the sampler matches the exact distribution", "the samples do not follow the exact distribution"),
    "gradient": ("the estimator matches its exact expectation", "the estimates are biased for their exact expectation"),
    "ais": ("the estimates and their standard errors are calibrated", "the estimates or their standard errors are off"),
}


@dataclass
class Report:
    """The outcome of :func:`verify`: checks, a verdict, the power; prints as a table.

    ``verdict`` is "fail" when any check failed, "pass" when none failed and at least one
    passed, and "inconclusive" when every check was inconclusive. ``power`` holds, machine
    readable, what a pass rules out (``to_dict`` gives the whole report for JSON).

    Attributes
    ----------
    method : str
        The sampler, estimator or AIS verified.
    n_chains, n_sweeps : int
        Chains and sweeps (AIS: runs per estimate and temperatures).
    beta : float
        The inverse temperature.
    alpha : float
        The run's false-positive rate.
    checks : list of Check
        Every check, in order.
    mode : {"sampler", "gradient", "ais"}
        What was verified.
    settings : dict
        The run's other settings (clamp, replicates, data rows).
    power : dict
        What a pass rules out, as numbers.
    power_text : list of str
        The same, in words.
    advice : list of str
        Hints printed under the verdict.
    total_variation : float
        Sampler mode: total variation between the final states and the exact distribution.
    exact_probs, empirical_probs : numpy.ndarray
        Sampler mode: per state (for :meth:`plot`).
    marginal_z, pair_z : numpy.ndarray
        Sampler mode: z-scores of single-unit means and pairwise products.
    z : numpy.ndarray
        Gradient and AIS modes: the z-scores (t-scores) checked.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))
    >>> report = verify(prog, n_chains=4000, n_sweeps=30, seed=0)
    >>> report.verdict, [c.status for c in report.checks]
    ('pass', ['pass', 'pass', 'pass', 'pass', 'pass'])
    >>> print(str(report).splitlines()[0])
    verify: gibbs, 4000 independent chains x 30 sweeps, beta = 1, false-positive rate 0.001 (...)
    """

    method: str
    n_chains: int
    n_sweeps: int
    beta: float
    alpha: float
    checks: list = field(default_factory=list)
    mode: str = "sampler"
    settings: dict = field(default_factory=dict)
    power: dict = field(default_factory=dict)
    power_text: list = field(default_factory=list)
    advice: list = field(default_factory=list)
    total_variation: float = float("nan")
    exact_probs: np.ndarray = None
    empirical_probs: np.ndarray = None
    marginal_z: np.ndarray = None
    pair_z: np.ndarray = None
    z: np.ndarray = None

    @property
    def verdict(self):
        status = [c.status for c in self.checks]
        if "fail" in status:
            return "fail"
        return "pass" if "pass" in status else "inconclusive"

    @property
    def passed(self):
        return self.verdict == "pass"

    @property
    def failed(self):
        return self.verdict == "fail"

    def _header(self):
        s = self.settings
        split = f"Bonferroni-split over {len(self.checks)} checks"
        if self.mode == "gradient":
            return (
                f"verify gradient: {self.method}, {s['replicates']} independent replicates on {s['rows']} "
                f"data rows, false-positive rate {self.alpha:g} ({split})"
            )
        if self.mode == "ais":
            return (
                f"verify AIS: {self.method}, {s['replicates']} independent runs of {self.n_chains} "
                f"chains x {self.n_sweeps} temperatures, false-positive rate {self.alpha:g} ({split})"
            )
        clamp = f", clamped {s['clamp']}" if s.get("clamp") else ""
        return (
            f"verify: {self.method}, {self.n_chains} independent chains x {self.n_sweeps} sweeps, "
            f"beta = {self.beta:g}{clamp}, false-positive rate {self.alpha:g} ({split})"
        )

    def __str__(self):
        lines = [self._header()]
        if self.mode == "sampler":
            lines.append(f"  total variation distance (final states vs exact): {self.total_variation:.4f}")
        for c in self.checks:
            if c.status == "inconclusive":
                lines.append(f"  INCONCLUSIVE  {c.name}: {c.inconclusive}")
            else:
                lines.append(
                    f"  {c.status.upper()}  {c.name:<36} statistic {c.statistic:10.3f}  p = {c.p_value:.3g} "
                    f"(level {c.level:.2g})  {c.detail}"
                )
        if self.marginal_z is not None and self.marginal_z.size:
            lines.append(f"  largest |z| of single-unit means: {np.max(np.abs(self.marginal_z)):.2f}")
        if self.pair_z is not None and self.pair_z.size:
            lines.append(f"  largest |z| of pairwise products: {np.max(np.abs(self.pair_z)):.2f}")
        for i, text in enumerate(self.power_text):
            lines.append(("  power: " if i == 0 else "         ") + text)
        good, bad = _VERDICT_TEXT[self.mode]
        v = self.verdict
        if v == "pass":
            lines.append(f"  verdict: PASS -- {good}, to the power stated")
        elif v == "fail":
            lines.append(f"  verdict: FAIL -- {bad}")
        else:
            lines.append("  verdict: INCONCLUSIVE -- no check could tell this from a wrong one (see the reasons)")
        for a in self.advice:
            lines.append(f"  hint: {a}")
        return "\n".join(lines)

    def to_dict(self):
        """The report as plain data (``json.dumps`` takes it).

        Returns
        -------
        dict
            The settings, the verdict, every check (:meth:`Check.to_dict`), the power and
            the advice; no arrays.

        Examples
        --------
        >>> import json, graphmrf as gm
        >>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))
        >>> data = verify(prog, n_chains=4000, n_sweeps=30, seed=0).to_dict()
        >>> data["verdict"], data["checks"][0]["name"], len(json.dumps(data)) > 0
        ('pass', 'joint chi-square (final states)', True)
        """
        return {
            "mode": self.mode,
            "method": self.method,
            "verdict": self.verdict,
            "alpha": self.alpha,
            "n_chains": self.n_chains,
            "n_sweeps": self.n_sweeps,
            "beta": self.beta,
            "settings": {k: (str(v) if k == "clamp" and v else v) for k, v in self.settings.items()},
            "total_variation": _finite(self.total_variation) if self.mode == "sampler" else None,
            "checks": [c.to_dict() for c in self.checks],
            "power": self.power,
            "advice": list(self.advice),
        }

    def plot(self, ax=None):
        """Sampler mode: exact against empirical state probabilities (log-log); the other
        modes: the histogram of their z-scores against the N(0, 1) density.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw (default: a new figure).

        Returns
        -------
        matplotlib Axes

        Examples
        --------
        >>> import matplotlib, graphmrf as gm
        >>> matplotlib.use("Agg")
        >>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))
        >>> ax = verify(prog, n_chains=4000, n_sweeps=30, seed=0).plot()
        >>> ax.get_title()
        'gibbs: TV = 0.016, pass'
        >>> gm.plots.show(ax, "verify")
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4, 4))
        if self.mode != "sampler":
            z = np.asarray(self.z, dtype=np.float64)
            z = z[np.isfinite(z)]
            ax.hist(z, bins=max(5, int(np.sqrt(z.size))), density=True, alpha=0.6)
            t = np.linspace(-4, 4, 200)
            ax.plot(t, stats.norm.pdf(t), "k--", lw=0.8)
            ax.set_xlabel("z-score")
            ax.set_title(f"{self.method}: {self.verdict}")
            return ax
        p, q = self.exact_probs, self.empirical_probs
        keep = (p > 0) & (q > 0)
        ax.loglog(p[keep], q[keep], ".", alpha=0.6)
        lo = min(p[keep].min(), q[keep].min())
        ax.plot([lo, 1], [lo, 1], "k--", lw=0.8)
        ax.set_xlabel("exact probability")
        ax.set_ylabel("empirical frequency")
        ax.set_title(f"{self.method}: TV = {self.total_variation:.3f}, {self.verdict}")
        return ax


# ---------------------------------------------------------------------------- samplers


def _codes(states, U_radix_values):
    """Row index of each state in the exact enumeration (first unit most significant)."""
    code = np.zeros(states.shape[0], dtype=np.int64)
    c = 0
    for values, width in U_radix_values:
        block = states[:, c : c + width]
        if width > 1:
            digit = np.argmax(block, axis=1)
        else:
            digit = np.searchsorted(values, block[:, 0])
        code = code * (len(values) if width == 1 else width) + digit
        c += width
    return code


def _radix(program):
    out = []
    for node in program.graph.nodes:
        L = program.layer_of(node)
        if not L.kind.discrete:
            continue
        n = L.n if L.declared else 1
        for _ in range(n):
            out.append((np.asarray(L.kind.support, dtype=np.float64) if not L.kind.onehot else None, L.width))
    return out


class _Target:
    """The exact (conditional) distribution a sampler is held to, and what the tests of
    ``n`` final states can see of it."""

    def __init__(self, program, reference, beta, clamp, max_states, min_expected):
        self.ref = reference if reference is not None else program
        self.beta, self.max_states, self.min_expected = beta, max_states, min_expected
        self.states, probs, self.cols = exact.joint(self.ref, beta=beta, max_states=max_states)
        self.keep = None
        if clamp:
            init, mask = clamp_mask(program, program.random_state(1, seed=0), clamp)
            m = to_host(mask[0])[self.cols]
            vals = to_host(init[0])[self.cols]
            self.keep = np.all(self.states[:, m] == vals[m], axis=1)
            if not self.keep.any():
                raise ModelError(f"verify: clamp {clamp}: the clamped values have probability zero")
        self.probs = self._condition(probs)
        self.real = any(not L.kind.discrete for L in program.layers)
        self.energies = None
        self.family = None  # p at beta * f is p^f renormalised (goodness.tempered)
        if self.real:
            self._cache = {}
            self.family = self._at
        else:
            # beta E(s) = -log p(s) - log Z: the mean-energy test is the same test on -log p,
            # which is exact in float64 (equal energies stay equal) where E in float32 is not
            with np.errstate(divide="ignore"):
                nlp = -np.log(probs)
            finite = np.isfinite(nlp)
            self.energies = np.where(finite, nlp, nlp[finite].max() + 1.0)  # never drawn: weight 0

    def _condition(self, probs):
        if self.keep is None:
            return probs
        out = np.where(self.keep, probs, 0.0)
        return out / out.sum()

    def _at(self, f):
        if f not in self._cache:
            self._cache[f] = self._condition(exact.joint(self.ref, beta=self.beta * f, max_states=self.max_states)[1])
        return self._cache[f]

    def rare(self, n):
        return (self.probs > 0) & (n * self.probs < self.min_expected)

    def energy_testable(self, n):
        return self.energies is not None and goodness.energy_testable(self.probs, self.energies, n)

    def never_visiting_passes(self, n, level):
        """Whether the rare-states test of ``n`` draws would pass a sampler that never
        visits the rare states: then it has no power."""
        rare = self.rare(n)
        labels, n_bins = bin_states(self.probs, n, self.min_expected, rare=rare)
        if n_bins < 2:
            return True
        q = np.where(rare, 0.0, self.probs)
        return chi_square(n * q / q.sum(), self.probs, labels=labels)[2] > level

    def chains_to_detect(self, level, **target):
        return goodness.chains_to_detect(
            self.probs,
            level,
            power=POWER,
            min_expected=self.min_expected,
            family=self.family,
            energies=self.energies,
            **target,
        )


def _beta_text(lo, hi, largest=0.5):
    if lo is None and hi is None:
        return (
            f"no sampler at beta x {1 - largest:g} to x {1 + largest:g}: the tested distribution hardly depends on beta"
        )
    if lo is None:
        return f"a sampler at beta x {hi:.4g} or above (no decrease down to x {1 - largest:g} is detected)"
    if hi is None:
        return f"a sampler at beta x {lo:.4g} or below (no increase up to x {1 + largest:g} is detected)"
    return f"a sampler at beta x {lo:.4g} or x {hi:.4g} (or further off)"


def _verify_sampler(
    program,
    method,
    n_chains,
    n_sweeps,
    beta,
    clamp,
    alpha,
    seed,
    stationarity,
    max_states,
    reference,
    detect_beta,
    detect_tv,
    min_expected=5.0,
):
    rng = program.generator(seed)
    target = _Target(program, reference, beta, clamp, max_states, min_expected)
    probs, states, cols = target.probs, target.states, target.cols
    stationarity = stationarity if not target.real else ()

    def n_checks(n):
        return 1 + bool(target.rare(n).any()) + target.energy_testable(n) + len(stationarity) + target.real

    if detect_beta is not None or detect_tv is not None:
        if n_chains is not None:
            raise ValueError("verify: give n_chains or a target to detect (detect_beta, detect_tv), not both")
        n_chains = _chains_for(target, alpha, stationarity, detect_beta, detect_tv)
    elif n_chains is None:
        n_chains = 20000
    n = int(n_chains)
    level = alpha / n_checks(n)  # Bonferroni over the checks run
    name = method if isinstance(method, str) else getattr(method, "name", getattr(method, "__name__", "custom"))
    settings = {"clamp": dict(clamp) if clamp else None, "stationarity": list(stationarity), "max_states": max_states}
    settings.update({k: v for k, v in (("detect_beta", detect_beta), ("detect_tv", detect_tv)) if v is not None})
    report = Report(name, n, n_sweeps, beta, alpha, exact_probs=probs, settings=settings)

    # n independent chains, n_sweeps sweeps each; only their final states are compared
    init = mask = None
    if clamp:
        init, mask = clamp_mask(program, program.random_state(n, seed=rng), clamp)
    final = _final_states(program, method, n, n_sweeps, beta, mask, init, rng)
    codes = _codes(final[:, cols], _radix(program))
    counts = np.bincount(codes, minlength=probs.size)
    labels, n_bins = bin_states(probs, n, min_expected)

    report.checks.append(_joint_check(counts, probs, labels, n, level))
    if target.rare(n).any():
        report.checks.append(_rare_check(report, target, counts, n, level, min_expected))
    if target.energy_testable(n):
        z, p = goodness.energy_test(target.energies[codes], probs, target.energies)
        report.checks.append(
            Check("mean energy (final states)", z, p, level, "|z| of the mean of beta E = -log p + const")
        )
    emp = counts / counts.sum()
    report.empirical_probs = emp
    report.total_variation = 0.5 * float(np.abs(emp - probs).sum())
    _moment_z(report, final[:, cols], states, probs)
    if target.real:
        report.checks.append(_real_means_check(program, target.ref, final, beta, n, level))
    if stationarity:
        # chains started at exact draws must stay exact after k sweeps
        start = _exact_draws(program, target, n, rng)
        if mask is not None:
            start = np.where(to_host(mask), to_host(init), start)
        start = program.xp.asarray(start, dtype=program.dtype)
        for k in stationarity:
            ck = np.bincount(
                _codes(_final_states(program, method, n, k, beta, mask, start, rng)[:, cols], _radix(program)),
                minlength=probs.size,
            )
            stat, dof, p = chi_square(ck, probs, labels=labels)
            why = "one bin only (as for the joint test)" if dof == 0 else ""
            report.checks.append(
                Check(f"stationarity after {k} sweep{'s' if k > 1 else ''}", stat, p, level, f"dof {dof}", why)
            )
    _sampler_power(report, target, n, level, n_bins)
    return report


def _final_states(program, method, n, sweeps, beta, mask, init, rng):
    """The states of ``n`` chains after ``sweeps`` sweeps, on the host in float64 (burn-in
    = sweeps keeps no intermediate states: memory O(chains))."""
    run = sample(
        program,
        sweeps,
        chains=n,
        burn_in=sweeps,
        method=method,
        beta=beta,
        clamp=mask,
        init=init,
        seed=rng,
        record_energy=False,
    )
    return to_host(run.state).astype(np.float64)


def _exact_draws(program, target, n, rng):
    """``n`` full states whose enumerated units are drawn from the exact distribution."""
    cdf = np.cumsum(target.probs)
    u = to_host(rng.random(n))
    draw = np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), target.probs.size - 1)
    start = np.zeros((n, program.n_columns))
    start[:, target.cols] = target.states[draw]
    return start


def _joint_check(counts, probs, labels, n, level):
    """The chi-square test of the final states' counts against the exact probabilities."""
    stat, dof, p = chi_square(counts, probs, labels=labels)
    why = ""
    if dof == 0:
        top = float(probs.max())
        why = (
            f"one bin only: the most probable state holds {top:.5g} of the mass, and the other "
            f"{np.count_nonzero(probs) - 1} states expect {n * (1 - top):.3g} draws in all at "
            f"{n} chains"
        )
    return Check("joint chi-square (final states)", stat, p, level, f"dof {dof}", why)


def _rare_check(report, target, counts, n, level, min_expected):
    """The chi-square test of the states too rare for the joint test's bins (the tails);
    inconclusive, with advice on the chains it would take, when a sampler that never visits
    them would pass."""
    probs, rare = target.probs, target.rare(n)
    stat, dof, p = chi_square(counts, probs, labels=bin_states(probs, n, min_expected, rare=rare)[0])
    mass, k = float(probs[rare].sum()), int(rare.sum())
    why = ""
    if target.never_visiting_passes(n, level):
        why = (
            f"the {k} states expected < {min_expected:g} times each hold {mass:.3g} of the mass "
            f"({n * mass:.3g} draws in all): a sampler that never visits them would pass"
        )
        q = np.where(rare, 0.0, probs)
        try:
            need = target.chains_to_detect(level, alternative=q / q.sum())
            report.advice.append(
                f"{need} chains would reject a sampler that never visits these {k} states (probability {POWER:g})"
            )
        except ValueError:
            report.advice.append(
                f"these {k} states are too rare to test by sampling (more than {goodness.MAX_CHAINS} chains)"
            )
    return Check(
        f"rare states (expected < {min_expected:g} each)",
        stat,
        p,
        level,
        f"dof {dof}: {k} states, {mass:.3g} of the mass",
        why,
    )


def _moment_z(report, S, states, probs):
    """z-scores of single-unit means and pairwise products (reported, not tested)."""
    n = S.shape[0]
    weighted = states * probs[:, None]
    mean = weighted.sum(0)
    pair = weighted.T @ states
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(np.maximum((weighted * states).sum(0) - mean**2, 0))
        report.marginal_z = np.where(sd > 0, (S.mean(0) - mean) / (sd / np.sqrt(n)), 0.0)
        sd2 = np.sqrt(np.maximum((states**2 * probs[:, None]).T @ states**2 - pair**2, 0))
        iu = np.triu_indices(states.shape[1], 1)
        report.pair_z = np.where(sd2[iu] > 0, ((S.T @ S / n)[iu] - pair[iu]) / (sd2[iu] / np.sqrt(n)), 0.0)


def _real_means_check(program, ref, final, beta, n, level):
    """Sample means of the real-valued units against their exact means (largest |z|)."""
    z_max, worst = 0.0, ""
    marg = exact.marginals(ref, beta=beta)
    real_layers = [L for L in program.layers if not L.kind.discrete]
    for L in real_layers:
        for node in L.nodes:
            x = final[:, program.columns(node)]
            with np.errstate(divide="ignore", invalid="ignore"):
                z = (x.mean(0) - np.ravel(marg[node])) / (x.std(0) / np.sqrt(n))
            z = np.where(np.isfinite(z), z, np.inf)
            if np.max(np.abs(z)) > z_max:
                z_max, worst = float(np.max(np.abs(z))), str(node)
    n_real = sum(L.cols for L in real_layers)
    p_real = min(1.0, n_real * 2 * stats.norm.sf(z_max))
    why = "" if n >= 30 else f"{n} chains are too few for a z-test of a mean (at least 30)"
    return Check("real-valued unit means", z_max, p_real, level, f"largest |z| at {worst!r} ({n_real} units)", why)


def _power_of(target, n, level):
    """What the final-state tests of ``n`` chains, each at ``level``, detect with
    probability POWER: the machine-readable ``power`` of a sampler report."""
    probs = target.probs
    tv = goodness.detectable_tv(probs, n, level, POWER, target.min_expected)
    lo, hi = goodness.detectable_beta(
        probs, n, level, POWER, target.min_expected, family=target.family, energies=target.energies
    )
    n_bins = bin_states(probs, n, target.min_expected)[1]
    factors = [None if f is None else float(f) for f in (lo, hi)]
    return {
        "probability": POWER,
        "level": float(level),
        "total_variation": float(tv) if np.isfinite(tv) else None,
        "beta_factor": factors,
        "bins": int(n_bins),
    }


def _sampler_power(report, target, n, level, n_bins):
    report.power = _power_of(target, n, level)
    tv, (lo, hi) = report.power["total_variation"], report.power["beta_factor"]
    report.power_text.append(f"with probability >= {POWER:g}, each check at its level, this run rejects")
    if tv is not None:
        report.power_text.append(
            f"- final states at total variation >= {tv:.3g} from the exact distribution (over its {n_bins} bins)"
        )
    else:
        report.power_text.append(
            "- no distribution of the final states by its distance: the joint test has a single bin"
        )
    report.power_text.append("- " + _beta_text(lo, hi))
    ask = "ask for a target (detect_beta=0.97; --detect-beta 0.97) to get the number of chains"
    if report.verdict == "inconclusive" and not report.settings.get("clamp"):
        report.advice.append(
            f"verify a conditional distribution (clamp={{node: value}}; --clamp NODE=VALUE) where "
            f"the states of interest are probable, or {ask}"
        )
    elif report.verdict == "inconclusive" or (lo is None and hi is None):
        report.advice.append(ask)


def _chains_for(target, alpha, stationarity, beta_factor, tv):
    if beta_factor == 1:
        raise ValueError("verify: detect_beta must be a factor other than 1 (e.g. 0.97 or 1.03); got 1")
    # every check counted in the split: the level is never more generous than the run's
    level = alpha / (3 + len(stationarity) + target.real)
    return target.chains_to_detect(level, beta_factor=beta_factor, tv=tv)


_PLAN = dict(
    program=InstanceOf(Program),
    beta=BETA,
    clamp=InstanceOf(dict),
    alpha=Real(0.0, 1.0, closed="neither"),
    max_states=COUNT,
    reference=InstanceOf(Program),
)


@checked(beta_factor=Real(0.0, None, closed="neither"), tv=Real(0.0, 1.0, closed="neither"), **_PLAN)
def chains_to_detect(
    program,
    *,
    beta_factor=None,
    tv=None,
    beta=1.0,
    clamp=None,
    alpha=1e-3,
    stationarity=(1, 5, 50),
    max_states=2**16,
    reference=None,
):
    """The fewest chains with which :func:`verify` of a sampler rejects, with probability
    0.95, one drawing at ``beta * beta_factor`` -- or any final-state distribution at
    binned total variation >= ``tv`` (give one of the two). What ``verify(...,
    detect_beta=...)`` runs with; computed from the exact distribution alone.

    Raises ``ValueError`` when more than :data:`graphmrf.goodness.MAX_CHAINS` would be needed.

    Parameters
    ----------
    program : Program
        The model sampled.
    beta_factor : float, optional
        Detect a sampler at ``beta * beta_factor`` (not 1).
    tv : float, optional
        Detect any distribution this far in binned total variation.
    beta : float
        Inverse temperature of the sampler and the exact distribution.
    clamp : dict {node: value}, optional
        Units held fixed; the reference is the exact conditional distribution.
    alpha : float
        The run's false-positive rate, split over its checks.
    stationarity : sequence of int
        Sweep counts of the stationarity checks (they count in the split).
    max_states : int
        The most discrete states enumerated.
    reference : Program, optional
        The model whose exact distribution the samples are compared with.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If an argument is of the wrong type.
    ValueError
        If an argument breaks its rule (``alpha`` outside (0, 1), a negative ``beta``).
    EnumerationTooLargeError
        If the model has more than ``max_states`` states.
        Also unless exactly one of ``beta_factor`` and ``tv`` is given, when
        ``beta_factor`` is 1, or when more chains than the limit would be needed.

    Examples
    --------
    >>> import graphmrf as gm
    >>> chains_to_detect(gm.compile(gm.load(gm.models.path("lecture_bm.graphml"))), beta_factor=0.9)
    3888
    """
    if (beta_factor is None) == (tv is None):
        raise ValueError("chains_to_detect: give one of beta_factor and tv")
    target = _Target(program, reference, beta, clamp, max_states, 5.0)
    stationarity = tuple(stationarity) if not target.real else ()
    return _chains_for(target, alpha, stationarity, beta_factor, tv)


@checked(n_chains=COUNT, **_PLAN)
def power(
    program,
    n_chains=20000,
    *,
    beta=1.0,
    clamp=None,
    alpha=1e-3,
    stationarity=(1, 5, 50),
    max_states=2**16,
    reference=None,
):
    """What :func:`verify` of a sampler with ``n_chains`` chains would detect, without running it.

    Returns the ``power`` dict of its report: ``total_variation`` (the smallest binned
    total variation distance detected with probability 0.95, None when the joint test has
    one bin), ``beta_factor`` (the factors ``[f_low, f_high]`` of beta detected, None for a
    side where none within x0.5 to x1.5 is), the per-check ``level`` and the number of
    ``bins``. Computed from the exact distribution alone.

    Parameters
    ----------
    program : Program
        The model sampled.
    n_chains : int
        The chains of the planned run.
    beta : float
        Inverse temperature of the sampler and the exact distribution.
    clamp : dict {node: value}, optional
        Units held fixed; the reference is the exact conditional distribution.
    alpha : float
        The run's false-positive rate, split over its checks.
    stationarity : sequence of int
        Sweep counts of the stationarity checks (they count in the split).
    max_states : int
        The most discrete states enumerated.
    reference : Program, optional
        The model whose exact distribution the samples are compared with.

    Returns
    -------
    dict

    Raises
    ------
    TypeError
        If an argument is of the wrong type.
    ValueError
        If an argument breaks its rule (``alpha`` outside (0, 1), a negative ``beta``).
    EnumerationTooLargeError
        If the model has more than ``max_states`` states.

    Examples
    --------
    >>> import graphmrf as gm
    >>> p = power(gm.compile(gm.load(gm.models.path("lecture_bm.graphml"))), 20000)
    >>> [round(f, 3) for f in p["beta_factor"]], round(p["total_variation"], 4)
    ([0.956, 1.045], 0.0252)
    """
    target = _Target(program, reference, beta, clamp, max_states, 5.0)
    stationarity = tuple(stationarity) if not target.real else ()
    n = int(n_chains)
    checks = 1 + bool(target.rare(n).any()) + target.energy_testable(n) + len(stationarity) + target.real
    return _power_of(target, n, alpha / checks)


# ---------------------------------------------------------------------------- gradient estimators


@checked(k=COUNT, max_states=COUNT)
def cd_expectation(program, data, k=1, max_states=2**16):
    r"""Exact expectation of the CD-k gradient estimate of :func:`graphmrf.learn.contrastive_divergence`.

    CD-k is biased for the log-likelihood gradient by design; what it estimates without
    bias is

    .. math:: \frac1N \sum_n \Big( \langle -\partial_\theta E \rangle_{h \sim p(h|v_n)}
              - \sum_{s} \pi_k^{(n)}(s)\, \langle -\partial_\theta E \rangle_{h \sim p(h | v(s))} \Big),

    where :math:`\pi_k^{(n)}` is the distribution of the chain after ``k`` block-Gibbs
    sweeps (``program.blocks`` in order) from :math:`(v_n, h \sim p(h | v_n))`. It is
    propagated exactly over the enumerated joint states: a block's update replaces the
    block's values by a draw from the joint conditional given the rest, i.e.
    ``pi'(s) = p(s) pi(rest(s)) / p(rest(s))``. Cost: O(k x blocks x states).

    Parameters
    ----------
    program : Program
        Discrete units only, hidden units conditionally independent given the visible
        ones (an RBM; a Boltzmann machine without hidden-hidden couplings).
    data : array (N, visible columns)
        The batch.
    k : int
        Gibbs sweeps of the free chains.
    max_states : int
        The most joint states enumerated.

    Returns
    -------
    dict
        Keyed like ``program.params``: the expected gradient of the mean log-likelihood.

    Raises
    ------
    ModelError
        For real-valued units or hidden units that cannot be summed.
    ValueError
        For data rows that are not states of the visible units, or ``k < 1``.
    TypeError
        If ``k`` or ``max_states`` is not an integer.
    EnumerationTooLargeError
        If the model has more than ``max_states`` joint states.

    Examples
    --------
    >>> import graphmrf as gm, numpy as np
    >>> prog = gm.compile(gm.rbm(3, 2, seed=0, scale=1.0), dtype=np.float64)
    >>> g = cd_expectation(prog, np.array([[1, 0, 1]]), k=1)
    >>> sorted(g), g["v~h.weight"].shape
    (['h.bias', 'v.bias', 'v~h.weight'], (3, 2))
    """
    if any(not L.kind.discrete for L in program.layers):
        raise ModelError("cd_expectation: needs discrete units only (real-valued units cannot be enumerated)")
    summed = program.hidden_summable()
    if summed is None or not summed.any():
        raise ModelError(
            "cd_expectation: needs hidden units that are conditionally independent given the "
            "visible ones (an RBM); this model's hidden units are coupled or absent"
        )
    states, probs, cols = exact.joint(program, max_states=max_states)
    data = np.asarray(to_host(data), dtype=np.float64)
    nv = program.visible_columns.size
    if data.ndim != 2 or data.shape[1] != nv or data.shape[0] == 0:
        raise ValueError(f"cd_expectation: data must have shape (rows, {nv}) (the visible columns); got {data.shape}")
    where = {int(c): i for i, c in enumerate(cols)}
    vpos = [where[int(c)] for c in program.visible_columns]
    pi = np.zeros(probs.size)
    rows, counts = np.unique(data, axis=0, return_counts=True)
    for row, c in zip(rows, counts):
        match = np.all(states[:, vpos] == row, axis=1)
        if not match.any():
            raise ValueError(f"cd_expectation: data row {row.tolist()} is not a state of the visible units")
        w = probs * match
        pi += (c / data.shape[0]) * (w / w.sum() if w.sum() > 0 else match / match.sum())
    groups = []
    for block in program.blocks:
        inside = np.zeros(len(cols), dtype=bool)
        for part in block:
            cs = program.part_columns(part)
            inside[[where[c] for c in range(cs.start, cs.stop)]] = True
        _, g = np.unique(np.where(inside, 0.0, states), axis=0, return_inverse=True)
        g = np.ravel(g)
        groups.append((g, np.bincount(g, weights=probs)))
    for _ in range(k):
        for g, p_rest in groups:
            pi_rest = np.bincount(g, weights=pi, minlength=p_rest.size)
            pi = probs * np.divide(pi_rest, p_rest, out=np.zeros_like(p_rest), where=p_rest > 0)[g]
    full = np.zeros((probs.size, program.n_columns))
    full[:, cols] = states
    neg = program.sufficient_stats(
        program.xp.asarray(full, dtype=program.dtype),
        weights=program.xp.asarray(pi, dtype=program.dtype),
        summed=summed,
    )
    pos = learn.positive_phase(program, data, 0, draw_hidden=False).stats
    return {
        key: np.asarray(to_host(pos[key]), dtype=np.float64) - np.asarray(to_host(neg[key]), dtype=np.float64)
        for key in pos
    }


def _pcd(program, data, rng, chains, sweeps):
    """One PCD-1 estimate from persistent chains brought to the model by ``sweeps`` sweeps."""
    start = learn.negative_phase(program, program.random_state(chains, seed=rng), rng, sweeps=sweeps).state
    return learn.contrastive_divergence(program, data, rng, k=1, chains=start)[0]


class _Estimator(NamedTuple):
    make: object  # (n_chains, k) -> estimator(program, data, rng) -> gradient dict
    expects: str  # "cd": its own exact k-step expectation; "exact": the log-likelihood gradient
    k: int  # default sweeps (k of CD-k; burn-in of the free chains otherwise)
    summed_hidden: bool  # needs hidden units that can be summed (for CD-k's exact expectation)


#: The built-in gradient estimators, the one place that names graphmrf.learn's functions:
#: name -> (make(n_chains, k) -> plain ``estimator(program, data, rng)``, what it estimates
#: without bias, default k, whether it needs summable hidden units).
ESTIMATORS = {
    "cd-1": _Estimator(
        lambda chains, k: lambda p, d, rng: learn.contrastive_divergence(p, d, rng, k=1)[0], "cd", 1, True
    ),
    "cd-k": _Estimator(
        lambda chains, k: lambda p, d, rng: learn.contrastive_divergence(p, d, rng, k=k)[0], "cd", 5, True
    ),
    "pcd": _Estimator(lambda chains, k: lambda p, d, rng: _pcd(p, d, rng, chains, k), "exact", 100, True),
    "boltzmann": _Estimator(
        lambda chains, k: (
            lambda p, d, rng: learn.boltzmann_gradient(p, d, rng, chains=chains, sweeps=k, positive_sweeps=k)[0]
        ),
        "exact",
        100,
        False,
    ),
    # a belief net: the posterior by clamped Gibbs sampling (explaining away), then the delta rule
    # (a DBN's undirected top takes its model term from n_chains free chains, k sweeps from random)
    "neal": _Estimator(
        lambda chains, k: (
            lambda p, d, rng: belief.neal(p, d, rng, k=k, chains=p.random_state(chains, seed=rng), positive_sweeps=k)[0]
        ),
        "exact",
        100,
        False,
    ),
}


@checked(name=Options(*ESTIMATORS), n_chains=COUNT, n_sweeps=COUNT)
def gradient_estimator(name, n_chains=1000, n_sweeps=None):
    """The built-in gradient estimator ``name`` (a key of :data:`ESTIMATORS`) as a plain
    function ``estimator(program, data, rng) -> dict`` keyed like ``program.params``.

    Parameters
    ----------
    name : {"cd-1", "cd-k", "pcd", "boltzmann", "neal"}
        The estimator ("neal": Neal's rule for belief nets, :func:`graphmrf.belief.neal`).
    n_chains : int
        Free chains of "pcd" and "boltzmann".
    n_sweeps : int, optional
        k of "cd-k" (default 5); burn-in sweeps of the free chains of "pcd" and
        "boltzmann", posterior sweeps of "neal" (default 100).

    Returns
    -------
    function

    Raises
    ------
    ValueError
        If ``name`` is unknown or a count is below 1.
    TypeError
        If a count is not an integer.

    Examples
    --------
    >>> import graphmrf as gm, numpy as np
    >>> cd1 = gradient_estimator("cd-1")
    >>> g = cd1(gm.compile(gm.rbm(3, 2, seed=0)), np.array([[1.0, 0.0, 1.0]]), np.random.default_rng(0))
    >>> sorted(g)
    ['h.bias', 'v.bias', 'v~h.weight']
    """
    entry = ESTIMATORS[name]
    return entry.make(n_chains, n_sweeps or entry.k)


def _default_data(program, rng, rows=8, max_states=2**16):
    """``rows`` visible vectors drawn from the model's exact p(v)."""
    states, probs = exact.distribution(program, max_states=max_states)
    u = to_host(rng.random(rows))
    idx = np.minimum(np.searchsorted(np.cumsum(probs), u * probs.sum(), side="right"), probs.size - 1)
    return np.asarray(states, dtype=np.float64)[idx]


def _verify_gradient(
    program, method, data, replicates, n_chains, n_sweeps, alpha, seed, expected, max_states, min_replicates=10
):
    rng = program.generator(seed)
    if data is None:
        data = _default_data(program, rng, max_states=max_states)
    data = np.asarray(to_host(data), dtype=np.float64)
    n_chains = n_chains or 1000
    fn, expects, name, k, n_sweeps = _estimator(program, method, n_chains, n_sweeps)
    if expected is None:
        expected, against = _expectation(program, data, expects, k, max_states)
    else:
        against = "the given expectation"
    keys = sorted(expected)
    exp_vec = np.concatenate([np.ravel(np.asarray(to_host(expected[key]), dtype=np.float64)) for key in keys])
    labels = [
        f"{key}[{i}]" if np.size(expected[key]) > 1 else key for key in keys for i in range(int(np.size(expected[key])))
    ]

    # independent replicates of the estimator: their mean, its standard error, t-scores
    samples = np.empty((replicates, exp_vec.size))
    for r in range(replicates):
        g = fn(program, program.xp.asarray(data, dtype=program.dtype), rng)
        missing = set(keys) - set(g)
        if missing:
            raise ValueError(f"verify: the estimator returned no gradient for {sorted(missing)}")
        samples[r] = np.concatenate([np.ravel(np.asarray(to_host(g[key]), dtype=np.float64)) for key in keys])
    mean = samples.mean(0)
    se = samples.std(0, ddof=1) / np.sqrt(replicates)
    t = _TTest(exp_vec, se, replicates, alpha / 2)
    stat, p, worst = t(mean)
    # negative control: the same replicates with the sign of the most detectable entry flipped
    j = t.most_detectable()
    flipped = mean.copy()
    flipped[j] = -flipped[j]
    c_stat, c_p, _ = t(flipped)

    few = replicates < min_replicates
    controlled = c_p <= t.level
    why = f"{replicates} replicates are too few to estimate standard errors (at least {min_replicates})" if few else ""
    c_why = why
    if not why and not controlled:
        c_why = (
            f"not rejected: these replicates cannot tell the gradient from one with {labels[j]}'s "
            "sign flipped (use more replicates or rows of data)"
        )
        if p > t.level:  # a pass by a test that could not see the control is no pass
            why = "the negative control was not rejected, so this test had no power"
    report = Report(name, n_chains, n_sweeps or 0, 1.0, alpha, mode="gradient", z=t.scores(mean))
    report.settings = {"replicates": replicates, "rows": int(data.shape[0]), "against": against}
    report.settings["entries"] = int(exp_vec.size)
    detail = f"largest |t| at {labels[worst]} ({exp_vec.size} entries, t with {replicates - 1} dof)"
    report.checks.append(Check(f"gradient vs {against}", stat, p, t.level, detail, why))
    report.checks.append(
        Check(
            f"negative control: {labels[j]} sign flipped",
            c_stat,
            c_p,
            t.level,
            "must be rejected",
            c_why,
            must_reject=True,
        )
    )
    _gradient_power(report, t, se, exp_vec, few)
    return report


def _estimator(program, method, n_chains, n_sweeps):
    """(function, what it expects -- "exact" or "cd", name, k, sweeps) of a named estimator
    of :data:`ESTIMATORS` or a user's function (expected to be unbiased for the exact gradient)."""
    if not isinstance(method, str):
        return method, "exact", getattr(method, "__name__", "custom"), None, n_sweeps
    entry = ESTIMATORS[method]
    if entry.summed_hidden and program.hidden_summable() is None:
        raise ModelError(
            f"verify: {method!r} needs hidden units that are conditionally independent given the "
            "visible ones (an RBM); this model's hidden units are coupled: use 'boltzmann'"
        )
    n_sweeps = n_sweeps or entry.k
    k = 1 if method == "cd-1" else n_sweeps
    name = f"cd-{k}" if entry.expects == "cd" else method
    return gradient_estimator(method, n_chains, n_sweeps), entry.expects, name, k, n_sweeps


def _expectation(program, data, expects, k, max_states):
    """The exact expectation of an estimator and its description."""
    if expects == "exact":
        return exact.log_likelihood_grad(program, data, max_states=max_states), "the exact log-likelihood gradient"
    return cd_expectation(program, data, k=k, max_states=max_states), f"the exact {k}-step CD expectation"


class _TTest:
    """The largest |t| of an estimate against its expectation, Bonferroni over the entries
    that vary; an entry that never varies must equal its expectation (to 1e-9 relative)."""

    def __init__(self, expected, se, replicates, level):
        self.expected, self.se, self.level = expected, se, level
        self.free = se > 0
        self.m = int(self.free.sum()) or 1
        self.dof = replicates - 1

    def scores(self, estimate):
        free, exp = self.free, self.expected
        with np.errstate(divide="ignore", invalid="ignore"):
            same = np.abs(estimate - exp) <= 1e-9 * (1 + np.abs(exp))
            return np.where(free, (estimate - exp) / self.se, np.where(same, 0.0, np.inf))

    def __call__(self, estimate):
        """(largest |t|, its Bonferroni p-value, the entry)."""
        z = self.scores(estimate)
        worst = int(np.argmax(np.abs(z)))
        return float(abs(z[worst])), min(1.0, self.m * 2 * float(stats.t.sf(abs(z[worst]), self.dof))), worst

    def most_detectable(self):
        """The entry whose sign flip the test sees best: the largest |expected| / se."""
        if not self.free.any():
            return int(np.argmax(np.abs(self.expected)))
        with np.errstate(divide="ignore", invalid="ignore"):
            strength = np.where(self.free, np.abs(self.expected) / np.where(self.free, self.se, 1.0), 0.0)
        return int(np.argmax(strength))


def _gradient_power(report, t, se, exp_vec, few):
    """The smallest bias in one entry that the run rejects with probability POWER."""
    free = t.free
    crit = stats.t.isf(t.level / (2 * t.m), t.dof) + stats.norm.isf(1 - POWER) if not few else np.inf
    bias = crit * se
    scale = float(np.max(np.abs(exp_vec))) or 1.0
    report.power = {
        "probability": POWER,
        "level": t.level,
        "detectable_bias": float(np.max(bias[free])) if free.any() and np.isfinite(crit) else None,
        "largest_entry": scale,
    }
    if few:
        report.power_text.append("none: too few replicates")
    elif not free.any():
        report.power_text.append(
            "the estimates do not vary: any difference from the expectation (beyond 1e-9 relative) is rejected"
        )
    else:
        report.power_text.append(
            f"with probability >= {POWER:g} this run rejects a bias >= {np.max(bias[free]):.3g} "
            f"in any one entry ({100 * np.max(bias[free]) / scale:.3g} % of the largest |expected "
            f"entry|, {scale:.3g})"
        )
        report.power_text.append(f"(about {crit:.2f} of its standard errors, largest {np.max(se):.3g})")


# ---------------------------------------------------------------------------- AIS


def _verify_ais(program, method, n_chains, n_sweeps, replicates, alpha, seed, max_states, min_replicates=10):
    if program.directed:
        raise ModelError("verify: AIS is for undirected models (a directed net is normalised: log Z = 0)")
    rng = program.generator(seed)
    n_chains = n_chains or 100
    n_sweeps = n_sweeps or 1000
    exact_log_z = exact.log_partition(program, max_states=max_states)
    # independent runs, each error standardised by the run's own standard error
    z = np.empty(replicates)
    degenerate = 0
    for r in range(replicates):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ais.DegenerateWeightsWarning)
            if method == "ais":
                res = ais.log_partition(program, n_chains=n_chains, betas=n_sweeps, seed=rng)
            else:
                res = method(program, rng)
        degenerate += any(issubclass(w.category, ais.DegenerateWeightsWarning) for w in caught)
        err = float(res.log_z) - exact_log_z
        se = float(res.stderr)
        z[r] = err / se if se > 0 else (0.0 if abs(err) < 1e-9 else np.inf)
    name = method if isinstance(method, str) else getattr(method, "__name__", "custom")
    report = Report(name, n_chains, n_sweeps, 1.0, alpha, mode="ais", z=z)
    within = float(np.mean(np.abs(z) <= 3))
    report.settings = {
        "replicates": replicates,
        "exact_log_z": exact_log_z,
        "degenerate_runs": degenerate,
        "within_3_se": within,
    }
    # honest error bars make z standard normal: its mean 0 (no bias), its mean square 1
    level = alpha / 2
    few = replicates < min_replicates
    why = f"{replicates} runs are too few to judge the error bars (at least {min_replicates})" if few else ""
    mz = float(np.mean(z)) if np.isfinite(z).all() else np.inf
    t_mean = abs(mz) * np.sqrt(replicates)
    p_mean = float(2 * stats.norm.sf(t_mean))
    detail = f"mean {mz:+.3g} over {replicates} runs"
    report.checks.append(Check("mean of standardised errors (bias)", t_mean, p_mean, level, detail, why))
    ss = float(np.sum(z**2))
    p_ss = float(min(1.0, 2 * min(stats.chi2.sf(ss, replicates), stats.chi2.cdf(ss, replicates))))
    detail = f"{100 * within:.0f} % within 3 reported s.e.; {degenerate} runs warned of degenerate weights"
    report.checks.append(Check("mean square of standardised errors", ss / replicates, p_ss, level, detail, why))
    _ais_power(report, replicates, level, few)
    return report


def _ais_power(report, replicates, level, few):
    """The smallest understatement of the standard errors, and the smallest bias, that the
    run rejects with probability POWER."""
    if few:
        report.power_text.append("none: too few runs")
        return
    factor = np.sqrt(stats.chi2.isf(level / 2, replicates) / stats.chi2.ppf(1 - POWER, replicates))
    bias = (stats.norm.isf(level / 2) + stats.norm.isf(1 - POWER)) / np.sqrt(replicates)
    report.power = {
        "probability": POWER,
        "level": level,
        "stderr_understated_by": float(factor),
        "bias_in_stderrs": float(bias),
    }
    report.power_text.append(
        f"with probability >= {POWER:g} this run rejects standard errors too small by a factor "
        f">= {factor:.3g}, or a bias >= {bias:.3g} standard errors"
    )


# ---------------------------------------------------------------------------- the entry point


class _SweepCounts(Constraint):
    """A list or tuple of integers >= 1 (possibly empty)."""

    def kind_ok(self, value):
        return isinstance(value, (list, tuple))

    def admits(self, value):
        return isinstance(value, (list, tuple)) and all(Integer(1).admits(v) for v in value)

    def __str__(self):
        return "a list of integers >= 1"


_MODES = ("sampler", "gradient", "ais")


@checked(
    program=InstanceOf(Program),
    method=AnyOf(Options(*METHODS, *ESTIMATORS, "ais"), SAMPLER, Function()),
    mode=Options(*_MODES),
    n_chains=COUNT,
    n_sweeps=COUNT,
    beta=BETA,
    clamp=InstanceOf(dict),
    alpha=Real(0.0, 1.0, closed="neither"),
    seed=Seed(),
    stationarity=_SweepCounts(),
    max_states=COUNT,
    reference=InstanceOf(Program),
    detect_beta=Real(0.0, None, closed="neither"),
    detect_tv=Real(0.0, 1.0, closed="neither"),
    replicates=Integer(2),
    expected=InstanceOf(dict),
)
def verify(
    program,
    method="gibbs",
    *,
    mode=None,
    n_chains=None,
    n_sweeps=None,
    beta=1.0,
    clamp=None,
    alpha=1e-3,
    seed=None,
    stationarity=(1, 5, 50),
    max_states=2**16,
    reference=None,
    detect_beta=None,
    detect_tv=None,
    data=None,
    replicates=None,
    expected=None,
):
    """Check a sampler, a gradient estimator or AIS against exact enumeration; returns a :class:`Report`.

    Parameters
    ----------
    program : Program
        A model small enough to enumerate (at most ``max_states`` discrete states).
    method : str or function
        A sampler :func:`graphmrf.sample` accepts (or a sweep function); a gradient
        estimator "cd-1", "cd-k", "pcd", "boltzmann", "neal" (or a function
        ``estimator(program, data, rng) -> dict`` with ``mode="gradient"``); or "ais"
        (or a function ``(program, rng) -> result with .log_z, .stderr`` with
        ``mode="ais"``).
    mode : {"sampler", "gradient", "ais"}, optional
        Inferred from a named ``method``; needed for a function that is not a sampler.
    n_chains : int, optional
        Sampler: independent chains (default 20000, or the fewest that detect
        ``detect_beta``/``detect_tv``). Gradient: free chains of "pcd"/"boltzmann" (1000).
        AIS: runs per estimate (100).
    n_sweeps : int, optional
        Sampler: sweeps from a random start (100). Gradient: k of "cd-k" (5), burn-in of
        "pcd"/"boltzmann" (100). AIS: temperatures (1000).
    beta : float
        Inverse temperature of both the sampler and the exact distribution.
    clamp : dict {node: value}, optional
        Units held fixed; the reference is the exact conditional distribution.
    alpha : float
        Probability that a correct sampler (estimator) is rejected, split over the checks.
    stationarity : sequence of int
        Sweep counts after which chains started from exact draws must still be exact.
    reference : Program, optional
        The model whose exact distribution the samples are compared with (default: the
        sampled one). Negative controls sample a perturbed model against the original.
    detect_beta : float, optional
        A factor f != 1: pick the number of chains with which a sampler drawing at
        ``beta * f`` is rejected with probability >= 0.95.
    detect_tv : float, optional
        Pick the number of chains that detects a total variation distance ``detect_tv``.
    data : array (rows, visible columns), optional
        Gradient mode: the batch (default: 8 rows drawn from the model's exact p(v)).
    seed : int or Generator, optional
        Random generator of the run.
    max_states : int
        The most discrete states enumerated.
    replicates : int, optional
        Gradient mode: independent estimates (200); AIS mode: independent runs (20).
    expected : dict, optional
        Gradient mode: what the estimator should average to (default: the exact CD-k
        expectation for ``"cd-*"``, the exact log-likelihood gradient otherwise).

    Returns
    -------
    Report
        ``verdict`` is "pass", "fail" or "inconclusive"; ``power`` says what a pass
        rules out.

    Raises
    ------
    ValueError, TypeError
        For arguments that break their rules (named in the message).
    EnumerationTooLargeError
        When the model has more than ``max_states`` states.

    Examples
    --------
    A right sampler passes; a sampler of the wrong model (couplings 30 % too weak) fails:

    >>> import graphmrf as gm
    >>> g = gm.load(gm.models.path("lecture_bm.graphml"))
    >>> prog, wrong = gm.compile(g), gm.compile(g)
    >>> wrong.params["units[binary]~units[binary].weight"] *= 0.7
    >>> verify(prog, n_chains=4000, n_sweeps=30, seed=0).verdict
    'pass'
    >>> verify(wrong, n_chains=4000, n_sweeps=30, reference=prog, seed=0).verdict
    'fail'

    A gradient estimator against its exact expectation:

    >>> verify(gm.compile(gm.rbm(3, 2, seed=0, scale=1.0)), "cd-1", replicates=50, seed=0).verdict
    'pass'
    """
    if mode is None:
        if isinstance(method, str):
            mode = "gradient" if method in ESTIMATORS else ("ais" if method == "ais" else "sampler")
        else:
            mode = "sampler"
    elif isinstance(method, str):
        implied = "gradient" if method in ESTIMATORS else ("ais" if method == "ais" else "sampler")
        if implied != mode:
            raise ValueError(f"verify: method {method!r} is a {implied} method; got mode={mode!r}")
    if mode != "sampler":
        for name, value in (
            ("clamp", clamp),
            ("reference", reference),
            ("detect_beta", detect_beta),
            ("detect_tv", detect_tv),
        ):
            if value is not None:
                raise ValueError(f"verify: {name} applies to samplers only; got mode={mode!r}")
        if beta != 1.0:
            raise ValueError(f"verify: beta applies to samplers only; got beta={beta!r} with mode={mode!r}")
    if mode == "gradient":
        return _verify_gradient(
            program, method, data, replicates or 200, n_chains, n_sweeps, alpha, seed, expected, max_states
        )
    if mode == "ais":
        return _verify_ais(program, method, n_chains, n_sweeps, replicates or 20, alpha, seed, max_states)
    if data is not None or expected is not None or replicates is not None:
        raise ValueError("verify: data, replicates and expected apply to gradient and AIS modes only")
    return _verify_sampler(
        program,
        method,
        n_chains,
        n_sweeps or 100,
        beta,
        clamp,
        alpha,
        seed,
        tuple(stationarity),
        max_states,
        reference,
        detect_beta,
        detect_tv,
    )
