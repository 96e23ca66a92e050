r"""Mixing diagnostics that refuse to lie: autocorrelation time, effective sample size, R-hat.

``integrated_autocorr_time`` estimates ``tau = 1 + 2 sum_t rho(t)`` per chain with Sokal's
adaptive window (the smallest ``M`` with ``M >= c tau(M)``), from an FFT autocorrelation
averaged over chains. A chain shorter than ``min_factor * tau`` gives an unreliable estimate,
and the function raises :class:`ChainTooShortError` carrying the estimate instead of
returning it quietly.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> a, n = 0.9, 200000
>>> x = np.empty(n); x[0] = 0.0
>>> noise = rng.normal(size=n)
>>> for t in range(1, n): x[t] = a * x[t - 1] + noise[t]
>>> tau = integrated_autocorr_time(x[None, :, None])[0]
>>> bool(abs(tau - (1 + a) / (1 - a)) < 3.0)   # AR(1): tau = (1 + a) / (1 - a) = 19, s.e. about 0.8
True
"""

import numpy as np

from .errors import ChainTooShortError

__all__ = ["integrated_autocorr_time", "effective_sample_size", "split_rhat", "ChainTooShortError"]


def _autocorr(x):
    """Normalised autocorrelation along axis 1 of x (chains, steps, dims), averaged over chains."""
    n = x.shape[1]
    x = x - x.mean(axis=1, keepdims=True)
    m = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, n=m, axis=1)
    acf = np.fft.irfft(f * np.conj(f), n=m, axis=1)[:, :n].real
    acf = acf.mean(axis=0)  # (steps, dims)
    var = acf[0]
    out = np.zeros_like(acf)
    ok = var > 0
    out[:, ok] = acf[:, ok] / var[ok]
    return out, ok


def integrated_autocorr_time(samples, c=5.0, min_factor=50.0, quiet=False):
    """Integrated autocorrelation time of each coordinate of ``samples``.

    Parameters
    ----------
    samples : array (chains, steps, dims)
        Draws of several chains in step order (e.g. ``run.samples.transpose(1, 0, 2)``).
    c : float
        Sokal's window constant.
    min_factor : float
        Refuse (raise) when ``steps < min_factor * tau`` for some coordinate.
    quiet : bool
        Warn-free mode: return the estimate even when the chains are too short.

    Returns
    -------
    tau : array (dims,)
        Constant coordinates get ``tau = 1``.

    Raises
    ------
    ValueError
        If ``samples`` is not three-dimensional.
    ChainTooShortError
        If ``steps < min_factor * tau`` for some coordinate (unless ``quiet``); the error
        carries the estimate as ``tau``.

    Examples
    --------
    Independent draws have ``tau`` near 1; a short random walk is refused.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> np.round(integrated_autocorr_time(rng.normal(size=(4, 1000, 2))), 1).tolist()
    [1.2, 1.1]
    >>> walk = np.cumsum(rng.normal(size=(4, 100, 1)), axis=1)
    >>> integrated_autocorr_time(walk)
    Traceback (most recent call last):
    ...
    graphmrf.errors.ChainTooShortError: chains of 100 steps are shorter than 50 autocorrelation times ...
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"samples: expected shape (chains, steps, dims); got {x.shape}")
    n = x.shape[1]
    rho, ok = _autocorr(x)
    taus = 2.0 * np.cumsum(rho, axis=0) - 1.0  # tau(M) for each window M
    m = np.arange(n)[:, None]
    window = m >= c * taus
    idx = np.where(window.any(axis=0), np.argmax(window, axis=0), n - 1)
    tau = taus[idx, np.arange(x.shape[2])]
    tau = np.where(ok, tau, 1.0)
    if not quiet and np.any(n < min_factor * tau):
        worst = float(np.max(tau))
        raise ChainTooShortError(
            f"chains of {n} steps are shorter than {min_factor:g} autocorrelation times (largest tau = {worst:.1f}); "
            "run longer chains or pass quiet=True to accept a rough estimate",
            tau,
        )
    return tau


def effective_sample_size(samples, **kw):
    """``chains * steps / tau`` per coordinate (see :func:`integrated_autocorr_time`).

    Parameters
    ----------
    samples : array (chains, steps, dims)
        Draws of several chains in step order.
    **kw
        ``c``, ``min_factor`` and ``quiet``, passed to :func:`integrated_autocorr_time`.

    Returns
    -------
    array (dims,)
        The number of independent draws the chains are worth, per coordinate.

    Raises
    ------
    ChainTooShortError
        If the chains are too short for the autocorrelation time (unless ``quiet=True``).

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.random.default_rng(0).normal(size=(4, 1000, 2))
    >>> np.round(effective_sample_size(draws), -2).tolist()
    [3500.0, 3700.0]
    """
    x = np.asarray(samples)
    return x.shape[0] * x.shape[1] / integrated_autocorr_time(x, **kw)


def split_rhat(samples):
    r"""Gelman-Rubin R-hat on split chains, per coordinate (near 1 when chains agree).

    Each chain is cut in half (so a drift within a chain shows too), and with ``W`` the
    mean within-chain variance and ``B / n`` the variance of the chain means,

    .. math:: \hat R = \sqrt{\frac{(n - 1) W / n + B / n}{W}}.

    Values above about 1.01 say that the chains have not mixed (Vehtari et al. 2021).

    Parameters
    ----------
    samples : array (chains, steps, dims)
        Draws of several chains in step order.

    Returns
    -------
    array (dims,)
        R-hat; 1 for a coordinate constant within every chain.

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.random.default_rng(0).normal(size=(4, 1000, 1))
    >>> round(float(split_rhat(draws)[0]), 3)
    1.0
    >>> draws[:2] += 3  # two chains stuck elsewhere
    >>> bool(split_rhat(draws)[0] > 1.5)
    True
    """
    x = np.asarray(samples, dtype=np.float64)
    half = x.shape[1] // 2
    x = np.concatenate([x[:, :half], x[:, half : 2 * half]], axis=0)
    n = x.shape[1]
    means = x.mean(axis=1)
    W = x.var(axis=1, ddof=1).mean(axis=0)
    B = n * means.var(axis=0, ddof=1)
    var = (n - 1) / n * W + B / n
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.sqrt(var / W)
    return np.where(W > 0, r, 1.0)
