r"""Is my sampler right? Compare sampled states with the exact distribution.

The primary test runs many independent chains in one batch and keeps only each chain's
last state: those states are independent draws, so a chi-square goodness-of-fit test
against the exact joint distribution (over every discrete unit; real-valued units
integrated out) has its nominal false-positive rate, with no autocorrelation estimate.
Bins whose expected count is below 5 are merged. A sampler that has not mixed after
``n_sweeps`` fails the same way a wrong sampler does -- burn-in that is too short can only
raise the rejection rate.

A stationarity test, immune to slow mixing, starts the chains from *exact* samples and
checks that the distribution is still exact after 1, 5 and 50 sweeps. Single-unit
marginals and pairwise products are reported as z-scores, and real-valued units are
checked by their sample means. The tests share one false-positive rate ``alpha``,
Bonferroni-split among them.

>>> import graphmrf as gm
>>> prog = gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))
>>> report = verify(prog, n_chains=4000, n_sweeps=30, seed=0)
>>> report.passed
True
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from . import exact
from .backend import as_generator, to_host
from .errors import ModelError
from .samplers.clamp import clamp_mask
from .samplers.run import METHODS, sample

__all__ = ["verify", "chi_square", "Report", "Check"]


@dataclass
class Check:
    """One statistical check: its name, statistic, p-value and the level it is held to."""

    name: str
    statistic: float
    p_value: float
    level: float
    detail: str = ""

    @property
    def passed(self):
        return self.p_value > self.level


@dataclass
class Report:
    """The outcome of :func:`verify`; prints as a table, plots exact vs empirical."""

    method: str
    n_chains: int
    n_sweeps: int
    beta: float
    alpha: float
    checks: list = field(default_factory=list)
    total_variation: float = float("nan")
    exact_probs: np.ndarray = None
    empirical_probs: np.ndarray = None
    marginal_z: np.ndarray = None
    pair_z: np.ndarray = None

    @property
    def passed(self):
        return all(c.passed for c in self.checks)

    def __str__(self):
        lines = [
            f"verify: {self.method}, {self.n_chains} independent chains x {self.n_sweeps} sweeps, beta = {self.beta:g}, "
            f"false-positive rate {self.alpha:g} (Bonferroni-split over {len(self.checks)} checks)",
            f"  total variation distance (final states vs exact): {self.total_variation:.4f}",
        ]
        for c in self.checks:
            lines.append(f"  {'PASS' if c.passed else 'FAIL'}  {c.name:<34} statistic {c.statistic:10.3f}  p = {c.p_value:.3g} (level {c.level:.2g})  {c.detail}")
        if self.marginal_z is not None and self.marginal_z.size:
            lines.append(f"  largest |z| of single-unit means: {np.max(np.abs(self.marginal_z)):.2f}")
        if self.pair_z is not None and self.pair_z.size:
            lines.append(f"  largest |z| of pairwise products: {np.max(np.abs(self.pair_z)):.2f}")
        lines.append(f"  verdict: {'the sampler matches the exact distribution' if self.passed else 'REJECTED: the samples do not follow the exact distribution'}")
        return "\n".join(lines)

    def plot(self, ax=None):
        """Scatter of exact against empirical state probabilities (log-log)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4, 4))
        p, q = self.exact_probs, self.empirical_probs
        keep = (p > 0) & (q > 0)
        ax.loglog(p[keep], q[keep], ".", alpha=0.6)
        lo = min(p[keep].min(), q[keep].min())
        ax.plot([lo, 1], [lo, 1], "k--", lw=0.8)
        ax.set_xlabel("exact probability")
        ax.set_ylabel("empirical frequency")
        ax.set_title(f"{self.method}: TV = {self.total_variation:.3f}, {'pass' if self.passed else 'FAIL'}")
        return ax


def chi_square(counts, probs, min_expected=5.0):
    """Chi-square goodness of fit with sparse bins merged; returns (statistic, dof, p-value).

    Bins whose expected count ``n p`` is below ``min_expected`` are pooled into one bin
    (and that bin, if still sparse, into the smallest regular one).
    """
    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    n = counts.sum()
    exp_ = n * probs
    if np.any(counts[exp_ == 0] > 0):
        return np.inf, 0, 0.0
    sparse = exp_ < min_expected
    obs = list(counts[~sparse])
    ex = list(exp_[~sparse])
    if sparse.any():
        o, e = counts[sparse].sum(), exp_[sparse].sum()
        if e >= min_expected or not ex:
            obs.append(o)
            ex.append(e)
        else:
            i = int(np.argmin(ex))
            obs[i] += o
            ex[i] += e
    obs, ex = np.array(obs), np.array(ex)
    dof = obs.size - 1
    if dof < 1:
        return 0.0, 0, 1.0
    stat = float(np.sum((obs - ex) ** 2 / ex))
    return stat, dof, float(stats.chi2.sf(stat, dof))


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


def verify(
    program,
    method="gibbs",
    n_chains=20000,
    n_sweeps=100,
    beta=1.0,
    clamp=None,
    alpha=1e-3,
    seed=None,
    stationarity=(1, 5, 50),
    max_states=2**16,
    reference=None,
):
    """Check a sampler against exact enumeration; returns a :class:`Report`.

    Parameters
    ----------
    program : Program
        A model small enough to enumerate (at most ``max_states`` discrete states).
    method : str or sweep function
        Any sampler :func:`graphmrf.sample` accepts.
    n_chains, n_sweeps : int
        Independent chains, and sweeps each runs from a random start.
    beta : float
        Inverse temperature of both the sampler and the exact distribution.
    clamp : dict {node: value}, optional
        Units held fixed; the reference is the exact conditional distribution.
    alpha : float
        Probability that a correct sampler is rejected (split over the checks).
    stationarity : tuple of int
        Sweep counts after which chains started from exact draws must still be exact.
    reference : Program, optional
        The model whose exact distribution the samples are compared with (default: the
        sampled one). Negative controls sample a perturbed model against the original.
    """
    rng = as_generator(seed, program.backend)
    states, probs, cols = exact.joint(reference if reference is not None else program, beta=beta, max_states=max_states)
    radix = _radix(program)
    xp = program.xp
    init = None
    mask = None
    if clamp:
        init, mask = clamp_mask(program, program.random_state(n_chains, seed=rng), clamp)
        m = to_host(mask[0])[cols]
        vals = to_host(init[0])[cols]
        keep = np.all(states[:, m] == vals[m], axis=1)
        if not keep.any():
            raise ModelError("verify: the clamped values have probability zero")
        probs = np.where(keep, probs, 0.0)
        probs = probs / probs.sum()
    real_layers = [L for L in program.layers if not L.kind.discrete]
    n_tests = 1 + len(stationarity) + (1 if real_layers else 0)
    level = alpha / n_tests
    name = method if isinstance(method, str) else getattr(method, "__name__", "custom")
    report = Report(name, n_chains, n_sweeps, beta, alpha, exact_probs=probs)

    run = sample(program, n_sweeps, chains=n_chains, method=method, beta=beta, clamp=mask, init=init, seed=rng)
    final = to_host(run.state).astype(np.float64)
    codes = _codes(final[:, cols], radix)
    counts = np.bincount(codes, minlength=probs.size)
    stat, dof, p = chi_square(counts, probs)
    report.checks.append(Check("joint chi-square (final states)", stat, p, level, f"dof {dof}"))
    emp = counts / counts.sum()
    report.empirical_probs = emp
    report.total_variation = 0.5 * float(np.abs(emp - probs).sum())
    # single-unit means and pairwise products, reported as z-scores
    mean = probs @ states
    pair = (states * probs[:, None]).T @ states
    S = final[:, cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(np.maximum(mean * (1 - mean), 0) if np.all((states == 0) | (states == 1)) else np.maximum(probs @ states**2 - mean**2, 0))
        report.marginal_z = np.where(sd > 0, (S.mean(0) - mean) / (sd / np.sqrt(n_chains)), 0.0)
        emp_pair = S.T @ S / n_chains
        sd2 = np.sqrt(np.maximum((states**2 * probs[:, None]).T @ states**2 - pair**2, 0))
        iu = np.triu_indices(len(cols), 1)
        report.pair_z = np.where(sd2[iu] > 0, (emp_pair[iu] - pair[iu]) / (sd2[iu] / np.sqrt(n_chains)), 0.0)
    if real_layers:
        z_max, worst = 0.0, ""
        marg = exact.marginals(program, beta=beta)
        for L in real_layers:
            for node in L.nodes:
                cs = program.columns(node)
                x = final[:, cs]
                ref = np.ravel(marg[node])
                if L.declared:
                    ref = ref
                z = (x.mean(0) - ref) / (x.std(0) / np.sqrt(n_chains))
                if np.max(np.abs(z)) > z_max:
                    z_max, worst = float(np.max(np.abs(z))), str(node)
        n_real = sum(L.cols for L in real_layers)
        p_real = min(1.0, n_real * 2 * stats.norm.sf(z_max))
        report.checks.append(Check("real-valued unit means", z_max, p_real, level, f"largest |z| at {worst!r} ({n_real} units)"))
    if stationarity and not real_layers:
        cdf = np.cumsum(probs)
        u = to_host(rng.random(n_chains))
        draw = np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), probs.size - 1)
        start = np.zeros((n_chains, program.n_columns))
        start[:, cols] = states[draw]
        if mask is not None:
            start = np.where(to_host(mask), to_host(init), start)
        for k in stationarity:
            r = sample(program, k, chains=n_chains, method=method, beta=beta, clamp=mask, init=xp.asarray(start, dtype=program.dtype), seed=rng)
            fk = to_host(r.state).astype(np.float64)
            ck = np.bincount(_codes(fk[:, cols], radix), minlength=probs.size)
            stat, dof, p = chi_square(ck, probs)
            report.checks.append(Check(f"stationarity after {k} sweep{'s' if k > 1 else ''}", stat, p, level, f"dof {dof}"))
    return report
