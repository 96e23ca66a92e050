r"""Goodness of fit of independent draws to an exact distribution, and the power of the tests.

Two tests: Pearson's chi-square over bins that keep the tail, and a z-test of the mean
energy (the statistic a wrong temperature moves first).

**Bins.** A state whose expected count ``n p_s`` reaches ``min_expected`` (5) is a bin of
its own. The others -- the *rare* states -- are not pooled into one bin (which would test
only their total): they are taken in order of decreasing exact probability and cut into
consecutive bins of expected count >= ``min_expected`` each, i.e. bins by quantiles of the
exact probability, so a sampler that under-visits the least probable states shows in the
last bins. A remainder too small for a bin joins the last rare bin (or, when there is none,
the least probable common bin).

**Power.** Under an alternative ``q`` the statistic is approximately non-central
chi-square with ``dof`` degrees of freedom and non-centrality

.. math:: \lambda = n \sum_b \frac{(q_b - p_b)^2}{p_b},

so the test at level ``level`` detects ``q`` with probability >= 0.95 when
``lambda >= lambda*(dof, level)`` (:func:`noncentrality`). By Cauchy-Schwarz
``sum_b (q_b - p_b)^2 / p_b >= (sum_b |q_b - p_b|)^2 = 4 TV^2``, so *every* ``q`` whose binned
total variation distance from ``p`` is at least ``sqrt(lambda* / 4n)`` is detected
(:func:`detectable_tv`); a sampler drawing at ``beta * f`` instead of ``beta`` draws from
``q ~ p^f`` (all units discrete), which gives :func:`detectable_beta`.

**Mean energy.** ``z = (mean E - <E>_p) / (sd_p(E) / sqrt(n))``, normal when enough draws
fall off the most probable energy (:func:`energy_testable`); under ``q`` the mean is
normal with mean ``<E>_q`` and variance ``var_q(E) / n``, which gives its power.

>>> import numpy as np
>>> p = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
>>> labels, n_bins = bin_states(p, 100)
>>> labels.tolist(), n_bins  # the two rare states expect 1 draw in all: they join the 0.19 bin
([0, 1, 2, 2, 2], 3)
>>> round(detectable_tv(p, 10000, level=1e-3), 4)
0.0282
"""

import numpy as np
from scipy import optimize, stats

__all__ = [
    "bin_states",
    "chi_square",
    "energy_test",
    "energy_testable",
    "noncentrality",
    "detectable_tv",
    "detectable_beta",
    "detection_power",
    "tempered",
    "chains_to_detect",
    "MAX_CHAINS",
    "MIN_OFF_MODE",
]

#: the largest number of chains :func:`chains_to_detect` proposes
MAX_CHAINS = 2**24
#: draws expected off the most probable energy for the mean-energy z-test to be normal
MIN_OFF_MODE = 100.0


def bin_states(probs, n, min_expected=5.0, rare=None):
    """Bin of each state for a chi-square test of ``n`` draws; returns ``(labels, n_bins)``.

    ``labels[s]`` is the bin of state ``s`` (-1 for states of probability zero). With
    ``rare`` (a boolean mask) given, only those states are binned (by the rule above, with
    expected counts ``n p_s``) and every other state of positive probability forms one
    bin, labelled ``n_bins - 1``.

    Parameters
    ----------
    probs : array (states,)
        The exact probability of each state.
    n : int
        Draws.
    min_expected : float
        The smallest expected count of a bin.
    rare : bool array (states,), optional
        Bin only these states (the rare-states test).

    Returns
    -------
    labels : int array (states,)
    n_bins : int

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
    >>> bin_states(p, 10000)  # every state expects 50 draws or more: a bin each
    (array([0, 1, 2, 3, 4]), 5)
    >>> bin_states(p, 100)  # the two rare states expect one draw together: they join the last bin
    (array([0, 1, 2, 2, 2]), 3)
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.full(probs.size, -1, dtype=np.int64)
    positive = probs > 0
    expected = n * probs
    if rare is None:
        common = positive & (expected >= min_expected)
        sparse = positive & ~common
    else:
        sparse = positive & np.asarray(rare, dtype=bool)
        common = positive & ~sparse
    order_c = np.flatnonzero(common)
    order_c = order_c[np.argsort(-probs[order_c], kind="stable")]
    n_bins = 0
    if rare is None:
        labels[order_c] = np.arange(order_c.size)
        n_bins = order_c.size
    order_s = np.flatnonzero(sparse)
    order_s = order_s[np.argsort(-probs[order_s], kind="stable")]
    if order_s.size:
        which, n_rare = _cut(expected[order_s], min_expected)
        if n_rare:
            labels[order_s] = n_bins + which
            n_bins += n_rare
        elif rare is None and order_c.size:  # too few draws for a bin of their own: join the least probable common bin
            labels[order_s] = n_bins - 1
        elif rare is not None:  # too few for a bin: they join the pooled common states
            order_c = np.concatenate([order_c, order_s])
        else:
            labels[order_s] = n_bins
            n_bins += 1
    if rare is not None and order_c.size:
        labels[order_c] = n_bins
        n_bins += 1
    return labels, n_bins


def _cut(expected, min_expected):
    """Cut consecutive states into bins of expected count >= ``min_expected`` each (every
    state expects less than that): a bin closes at the first state that brings its total
    there, and a remainder too small for a bin joins the last one. Returns (bin of each
    state, number of bins); a loop over bins, not states."""
    cum = np.cumsum(expected)
    ends, base = [], 0.0
    while True:
        i = int(np.searchsorted(cum, base + min_expected * (1 - 1e-12)))
        if i >= cum.size:
            break
        ends.append(i)
        base = cum[i]
    which = np.searchsorted(np.asarray(ends, dtype=np.int64), np.arange(cum.size))
    return np.minimum(which, max(len(ends) - 1, 0)), len(ends)


def _binned(values, labels, n_bins):
    keep = labels >= 0
    return np.bincount(labels[keep], weights=np.asarray(values, dtype=np.float64)[keep], minlength=n_bins)


def chi_square(counts, probs, min_expected=5.0, labels=None):
    """Pearson's chi-square test of ``counts`` against ``probs``; returns ``(statistic, dof, p)``.

    The bins are those of :func:`bin_states` unless ``labels`` is given. A state of
    probability zero that was drawn gives ``(inf, dof, 0.0)``; a test left with one bin
    has no degrees of freedom and returns ``(0.0, 0, 1.0)`` -- it cannot fail, and callers
    must report it as inconclusive.

    Parameters
    ----------
    counts : array (states,)
        How often each state was drawn.
    probs : array (states,)
        The exact probability of each state.
    min_expected : float
        The smallest expected count of a bin.
    labels : int array (states,), optional
        The bins (from :func:`bin_states`).

    Returns
    -------
    statistic : float
    dof : int
    p_value : float

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
    >>> rng = np.random.default_rng(0)
    >>> right = np.bincount(rng.choice(5, 1000, p=p), minlength=5)
    >>> hot = np.bincount(rng.choice(5, 1000, p=tempered(p, 0.5)), minlength=5)  # twice the temperature
    >>> bool(chi_square(right, p)[2] > 0.01), bool(chi_square(hot, p)[2] < 1e-10)
    (True, True)
    """
    counts = np.asarray(counts, dtype=np.float64)
    probs = np.asarray(probs, dtype=np.float64)
    n = counts.sum()
    if labels is None:
        labels, n_bins = bin_states(probs, n, min_expected)
    else:
        n_bins = int(labels.max()) + 1 if labels.size else 0
    if np.any(counts[labels < 0] > 0):
        return np.inf, max(n_bins - 1, 0), 0.0
    obs = _binned(counts, labels, n_bins)
    ex = n * _binned(probs, labels, n_bins) / max(_binned(probs, labels, n_bins).sum(), 1e-300)
    dof = n_bins - 1
    if dof < 1:
        return 0.0, 0, 1.0
    stat = float(np.sum((obs - ex) ** 2 / ex))
    return stat, dof, float(stats.chi2.sf(stat, dof))


def _moments(probs, energies):
    # sums, not BLAS dot products: a 1-d dot spins up BLAS threads and is far slower here
    mu = float(np.sum(probs * energies))
    return mu, float(np.sqrt(max(np.sum(probs * (energies - mu) ** 2), 0.0)))


def energy_testable(probs, energies, n):
    """Whether ``n`` draws are enough for the mean-energy z-test: at least
    ``MIN_OFF_MODE`` of them expected off the most probable energy value.

    Parameters
    ----------
    probs : array (states,)
        The exact probability of each state.
    energies : array (states,)
        The energy of each state.
    n : int
        Draws.

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
    >>> E = -np.log(p)
    >>> energy_testable(p, E, 100), energy_testable(p, E, 1000)
    (False, True)
    """
    probs = np.asarray(probs, dtype=np.float64)
    e = np.asarray(energies, dtype=np.float64)
    scale = max(float(np.max(np.abs(e[probs > 0]))), 1.0) if np.any(probs > 0) else 1.0
    _, level_of = np.unique(np.round(e / (1e-9 * scale)), return_inverse=True)
    top = float(np.max(np.bincount(np.ravel(level_of), weights=probs)))
    return n * (1.0 - top) >= MIN_OFF_MODE


def energy_test(energies_drawn, probs, energies):
    """z-test of the mean energy of the draws against the exact ``<E>``; returns ``(|z|, p)``.

    ``z = (mean E - <E>_p) / (sd_p(E) / sqrt(n))``, two-sided; a distribution of one energy
    gives ``(0, 1)`` when every draw has it and ``(inf, 0)`` otherwise.

    Parameters
    ----------
    energies_drawn : array (n,)
        The energy of each draw.
    probs : array (states,)
        The exact probability of each state.
    energies : array (states,)
        The energy of each state.

    Returns
    -------
    abs_z : float
    p_value : float

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
    >>> E = -np.log(p)
    >>> drawn = E[np.random.default_rng(0).choice(5, 1000, p=p)]
    >>> bool(energy_test(drawn, p, E)[1] > 0.01)
    True
    """
    mu, sd = _moments(np.asarray(probs, dtype=np.float64), np.asarray(energies, dtype=np.float64))
    x = np.asarray(energies_drawn, dtype=np.float64)
    if sd == 0:
        return (0.0, 1.0) if np.allclose(x, mu) else (np.inf, 0.0)
    z = (x.mean() - mu) / (sd / np.sqrt(x.size))
    return float(abs(z)), float(2 * stats.norm.sf(abs(z)))


def noncentrality(dof, level, power=0.95):
    """The non-centrality ``lambda*`` at which a chi-square test with ``dof`` degrees of
    freedom at false-positive rate ``level`` rejects with probability ``power``.

    Parameters
    ----------
    dof : int
        Degrees of freedom.
    level : float
        False-positive rate of each test.
    power : float
        The detection probability asked for.

    Returns
    -------
    float
        ``inf`` when ``dof < 1``.

    Examples
    --------
    >>> round(noncentrality(1, 0.05), 1)  # about (1.96 + 1.645)^2
    13.0
    """
    if dof < 1:
        return np.inf
    crit = stats.chi2.isf(level, dof)
    f = lambda lam: stats.ncx2.sf(crit, dof, lam) - power  # noqa: E731
    hi = 4.0 * (crit + dof + 10.0)
    while f(hi) < 0:
        hi *= 2
    return float(optimize.brentq(f, 1e-9, hi, xtol=1e-6))


def detectable_tv(probs, n, level, power=0.95, min_expected=5.0):
    """The smallest total variation distance between binned distributions that a
    chi-square test of ``n`` draws at ``level`` detects with probability ``power``
    (``inf`` when the test has no degrees of freedom).

    ``sqrt(lambda* / 4n)``, from ``sum_b (q_b - p_b)^2 / p_b >= 4 TV^2``: it shrinks like
    ``1 / sqrt(n)``.

    Parameters
    ----------
    probs : array (states,)
        The exact probability of each state.
    n : int
        Draws.
    level : float
        False-positive rate of each test.
    power : float
        The detection probability asked for.
    min_expected : float
        The smallest expected count of a bin.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
    >>> round(detectable_tv(p, 10000, level=1e-3), 4), round(detectable_tv(p, 40000, level=1e-3), 4)
    (0.0282, 0.0141)
    """
    _, n_bins = bin_states(probs, n, min_expected)
    lam = noncentrality(n_bins - 1, level, power)
    return float(np.sqrt(lam / (4.0 * n))) if np.isfinite(lam) else np.inf


def tempered(probs, factor):
    """``p^f`` renormalised: the distribution of a sampler that draws at ``beta * f``
    when ``probs`` is the exact distribution at ``beta`` (every unit discrete).

    Parameters
    ----------
    probs : array (states,)
        The exact probability of each state.
    factor : float
        ``f``: below 1 a hotter sampler (flatter), above 1 a colder one.

    Returns
    -------
    numpy.ndarray (states,)

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
    >>> np.round(tempered(p, 2.0), 4).tolist()
    [0.6646, 0.2393, 0.096, 0.0001, 0.0001]
    """
    probs = np.asarray(probs, dtype=np.float64)
    out = np.zeros_like(probs)
    pos = probs > 0
    lw = factor * np.log(probs[pos])
    w = np.exp(lw - lw.max())
    out[pos] = w / w.sum()
    return out


def _tests(probs, n, min_expected, with_rare):
    """The bins of the joint test and, when asked and there are rare states, of the
    rare-states test: a list of (labels, n_bins)."""
    out = [bin_states(probs, n, min_expected)]
    if with_rare:
        rare = (probs > 0) & (n * probs < min_expected)
        if rare.any():
            out.append(bin_states(probs, n, min_expected, rare=rare))
    return out


class _Battery:
    """The tests of ``n`` draws from ``probs``, each at ``level``, set up once (bins,
    critical values, energy moments) so that the power against many alternatives is cheap."""

    def __init__(self, probs, n, level, min_expected=5.0, with_rare=True, energies=None):
        self.probs, self.n = probs, n
        self.chi2 = []
        for labels, n_bins in _tests(probs, n, min_expected, with_rare):
            if n_bins >= 2:
                pb = _binned(probs, labels, n_bins)
                self.chi2.append((labels, n_bins, float(stats.chi2.isf(level, n_bins - 1)), pb, pb > 0))
        self.energy = None
        if energies is not None and energy_testable(probs, energies, n):
            mu, sd = _moments(probs, energies)
            if sd > 0:
                self.energy = (np.asarray(energies, dtype=np.float64), mu, sd, float(stats.norm.isf(level / 2)))

    def power(self, q):
        """The largest of the tests' powers against ``q`` (a lower bound on theirs together)."""
        q = np.asarray(q, dtype=np.float64)
        best = 0.0
        if self.energy is not None:
            e, mu, sd, zc = self.energy
            mq, sq = _moments(q, e)
            d, sq = np.sqrt(self.n) * (mq - mu), max(sq, 1e-300)
            best = float(stats.norm.cdf((-zc * sd - d) / sq) + stats.norm.sf((zc * sd - d) / sq))
        for labels, n_bins, crit, pb, keep in self.chi2:
            qb = _binned(q, labels, n_bins)
            lam = self.n * float(np.sum((qb[keep] - pb[keep]) ** 2 / pb[keep]))
            best = max(best, float(stats.ncx2.sf(crit, n_bins - 1, max(lam, 1e-12))))
        return best


def detection_power(probs, alternative, n, level, min_expected=5.0, with_rare=True, energies=None):
    """Probability that one of the tests of ``n`` draws at ``level`` each rejects
    ``alternative``: the largest of the joint chi-square's, the rare-states chi-square's
    and (with ``energies``, the energy of each state) the mean-energy test's powers -- a
    lower bound on the power of the tests together.

    Parameters
    ----------
    probs : array (states,)
        The exact probability of each state.
    alternative : array (states,)
        The distribution the draws come from.
    n : int
        Draws.
    level : float
        False-positive rate of each test.
    min_expected : float
        The smallest expected count of a bin.
    with_rare : bool
        Include the rare-states chi-square test.
    energies : array (states,), optional
        The energy of each state (adds the mean-energy test).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
    >>> round(detection_power(p, tempered(p, 0.8), 1000, 1e-3, energies=-np.log(p)), 2)
    0.86
    """
    probs = np.asarray(probs, dtype=np.float64)
    return _Battery(probs, n, level, min_expected, with_rare, energies).power(alternative)


def detectable_beta(
    probs, n, level, power=0.95, min_expected=5.0, family=None, with_rare=True, largest=0.5, energies=None
):
    """The smallest relative changes of beta, down and up, that the tests detect with
    probability ``power``; returns ``(f_low, f_high)`` (e.g. (0.96, 1.04)) with ``None``
    for a side where no factor within ``1 -/+ largest`` is detected (to 0.1 %).

    ``family(f)`` gives the distribution at ``beta * f`` (default :func:`tempered`).

    Parameters
    ----------
    probs : array (states,)
        The exact probability of each state.
    n : int
        Draws.
    level : float
        False-positive rate of each test.
    power : float
        The detection probability asked for.
    min_expected : float
        The smallest expected count of a bin.
    family : callable, optional
        ``f -> q``: the distribution of a sampler at ``beta * f``.
    with_rare : bool
        Include the rare-states chi-square test.
    largest : float
        The largest relative change searched.
    energies : array (states,), optional
        The energy of each state (adds the mean-energy test).

    Returns
    -------
    (float or None, float or None)

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
    >>> low, high = detectable_beta(p, 10000, 1e-3, energies=-np.log(p))
    >>> round(float(low), 2), round(float(high), 2)
    (0.92, 1.09)
    """
    probs = np.asarray(probs, dtype=np.float64)
    family = family or (lambda f: tempered(probs, f))
    battery = _Battery(probs, n, level, min_expected, with_rare, energies)
    out = []
    for sign in (-1, 1):

        def ok(r):
            return battery.power(family(1 + sign * r)) >= power  # noqa: B023 (called at once, within the iteration)

        grid = np.geomspace(1e-4, largest, 24)
        hit = next((i for i, r in enumerate(grid) if ok(r)), None)
        if hit is None:
            out.append(None)
            continue
        lo, hi = (grid[hit - 1] if hit else 0.0), grid[hit]
        while hi - lo > 1e-3 * hi:
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if ok(mid) else (mid, hi)
        out.append(float(1 + sign * hi))
    return tuple(out)


def chains_to_detect(
    probs,
    level,
    *,
    beta_factor=None,
    tv=None,
    alternative=None,
    power=0.95,
    min_expected=5.0,
    family=None,
    energies=None,
    max_chains=MAX_CHAINS,
):
    """The fewest draws with which the test detects one target with probability ``power``:
    a sampler at ``beta * beta_factor``, any binned distribution at total variation
    >= ``tv``, or the distribution ``alternative``.

    Raises ``ValueError`` when more than ``max_chains`` draws would be needed.

    Parameters
    ----------
    probs : array (states,)
        The exact probability of each state.
    level : float
        False-positive rate of each test.
    beta_factor : float, optional
        Detect a sampler at ``beta * beta_factor``.
    tv : float, optional
        Detect every binned distribution this far in total variation.
    alternative : array (states,), optional
        Detect this distribution.
    power : float
        The detection probability asked for.
    min_expected : float
        The smallest expected count of a bin.
    family : callable, optional
        ``f -> q`` for ``beta_factor`` (default :func:`tempered`).
    energies : array (states,), optional
        The energy of each state (adds the mean-energy test).
    max_chains : int
        The most draws proposed.

    Returns
    -------
    int
        Within 0.5 % of the fewest.

    Raises
    ------
    ValueError
        Unless exactly one target is given, or when more than ``max_chains`` draws would
        be needed.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
    >>> chains_to_detect(p, 1e-3, tv=0.05)
    3184
    >>> chains_to_detect(p, 1e-3, tv=1e-6, max_chains=1000)
    Traceback (most recent call last):
    ...
    ValueError: chains_to_detect: detecting a total variation distance of 1e-06 with probability 0.95 ...
    """
    if sum(x is not None for x in (beta_factor, tv, alternative)) != 1:
        raise ValueError("chains_to_detect: give exactly one of beta_factor, tv and alternative")
    probs = np.asarray(probs, dtype=np.float64)
    if tv is not None:

        def ok(n):
            return detectable_tv(probs, n, level, power, min_expected) <= tv

        what = f"a total variation distance of {tv:g}"
    else:
        if beta_factor is not None:
            q = (family or (lambda f: tempered(probs, f)))(beta_factor)
            what = f"beta x {beta_factor:g}"
        else:
            q = np.asarray(alternative, dtype=np.float64)
            what = "the alternative"

        def ok(n):
            return _Battery(probs, n, level, min_expected, True, energies).power(q) >= power

    n = 64
    while not ok(n):
        if n >= max_chains:
            raise ValueError(
                f"chains_to_detect: detecting {what} with probability {power:g} at false-positive "
                f"rate {level:.3g} needs more than {max_chains} chains on this distribution"
            )
        n = min(2 * n, max_chains)
    lo = n // 2
    while n - lo > max(1, n // 200):  # within 0.5 %: the binning makes power a step function of n
        mid = (lo + n) // 2
        if ok(mid):
            n = mid
        else:
            lo = mid
    return int(n)
