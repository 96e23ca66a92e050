"""The one module that knows NumPy from CuPy.

A :class:`Backend` holds the array namespace (``xp``), the sparse-matrix module, a
random-generator factory and the way back to host memory. Everything else asks the
Program for its backend. CuPy is imported only here, and only when asked for.
"""

import numpy as np
import scipy.sparse

from .errors import BackendUnavailableError

__all__ = [
    "Backend",
    "get_backend",
    "as_generator",
    "to_host",
    "uniform_into",
    "uniform_rows",
    "uniform_words",
    "random_into",
    "logsumexp",
]


class Backend:
    """An array backend: ``name``, ``xp`` (array module), ``sparse`` (scipy-like).

    Made by :func:`get_backend`, which keeps one per name; a Program's is ``program.backend``.

    Parameters
    ----------
    name : {"numpy", "cupy"}
        The backend's name.
    xp : module
        The array namespace (``numpy`` or ``cupy``).
    sparse : module
        The sparse-matrix module (``scipy.sparse`` or ``cupyx.scipy.sparse``).

    Examples
    --------
    >>> b = get_backend("numpy")
    >>> b, b.xp.__name__, b.device
    (Backend('numpy'), 'numpy', 'cpu')
    """

    def __init__(self, name, xp, sparse):
        self.name, self.xp, self.sparse = name, xp, sparse

    def __repr__(self):
        return f"Backend({self.name!r})"

    @property
    def device(self):
        """A human-readable description of where arrays live."""
        if self.name == "numpy":
            return "cpu"
        dev = self.xp.cuda.Device()
        props = self.xp.cuda.runtime.getDeviceProperties(dev.id)
        return f"cuda:{dev.id} ({props['name'].decode()})"

    def asarray(self, a, dtype=None):
        """``a`` as an array of this backend (no copy when it is one already of ``dtype``).

        Parameters
        ----------
        a : array-like
            Numbers, a NumPy array, or (on CuPy) a CuPy array.
        dtype : dtype, optional
            The element type; by default ``a``'s.

        Returns
        -------
        array

        Examples
        --------
        >>> get_backend("numpy").asarray([1, 2], dtype="float32")
        array([1., 2.], dtype=float32)
        """
        return self.xp.asarray(a, dtype=dtype)

    def generator(self, seed=None):
        """A random generator of this backend from ``seed`` (int, None or a Generator).

        Parameters
        ----------
        seed : None, int or Generator
            See :func:`as_generator`.

        Returns
        -------
        Generator
            ``numpy.random.Generator`` or CuPy's.

        Raises
        ------
        TypeError
            If ``seed`` is none of these.

        Examples
        --------
        >>> rng = get_backend("numpy").generator(0)
        >>> float(rng.random()) == float(np.random.default_rng(0).random())
        True
        """
        return as_generator(seed, self)


_NUMPY = Backend("numpy", np, scipy.sparse)
_CACHE = {"numpy": _NUMPY}


def get_backend(name="numpy"):
    """Return the backend called ``name`` ("numpy" or "cupy").

    CuPy is imported at the first request for it, and the backend kept.

    Parameters
    ----------
    name : {"numpy", "cupy"} or Backend
        The backend's name; a Backend is returned as it is.

    Returns
    -------
    Backend

    Raises
    ------
    ValueError
        If ``name`` is neither "numpy" nor "cupy".
    BackendUnavailableError
        If CuPy is not installed or no GPU is visible; the message says which.

    Examples
    --------
    >>> get_backend(), get_backend("numpy") is get_backend()
    (Backend('numpy'), True)
    >>> get_backend("jax")
    Traceback (most recent call last):
    ...
    ValueError: backend: unknown backend 'jax'; expected 'numpy' or 'cupy'
    """
    if isinstance(name, Backend):
        return name
    if name in _CACHE:
        return _CACHE[name]
    if name != "cupy":
        raise ValueError(f"backend: unknown backend {name!r}; expected 'numpy' or 'cupy'")
    try:
        import cupy
        import cupyx.scipy.sparse as cusparse
    except ImportError as exc:
        raise BackendUnavailableError(
            "backend 'cupy': CuPy is not installed; install the GPU extra (pip install 'graphmrf[gpu]')"
        ) from exc
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver errors have several types
        raise BackendUnavailableError(f"backend 'cupy': no usable CUDA device ({exc})") from exc
    if n == 0:
        raise BackendUnavailableError("backend 'cupy': CuPy is installed but no GPU is visible")
    _CACHE["cupy"] = Backend("cupy", cupy, cusparse)
    return _CACHE["cupy"]


def as_generator(seed, backend=_NUMPY):
    """Normalise ``seed`` (None, int, or a Generator of the backend) to a Generator.

    The global random state is never touched. An existing Generator is returned as is,
    so two calls that share it draw different numbers.

    Parameters
    ----------
    seed : None, int or Generator
        ``None`` seeds from the operating system, an int reproducibly; a Generator of the
        backend is used as it is.
    backend : str or Backend
        Whose generator to make.

    Returns
    -------
    Generator

    Raises
    ------
    TypeError
        If ``seed`` is none of these (a float, a legacy ``RandomState``).

    Examples
    --------
    >>> g = as_generator(3)
    >>> float(g.random()) == float(as_generator(3).random())
    True
    """
    backend = get_backend(backend)
    xp = backend.xp
    if isinstance(seed, xp.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer)):
        if backend.name == "numpy":
            return np.random.default_rng(seed)
        return xp.random.default_rng(seed)
    raise TypeError(f"seed: expected None, an int or a {backend.name} Generator; got {type(seed).__name__}")


# bit generators whose raw output is 64 random bits (MT19937's raw output is 32 bits)
_RAW64 = tuple(getattr(np.random, n) for n in ("PCG64", "PCG64DXSM", "SFC64", "Philox") if hasattr(np.random, n))
_F32_STEP = np.float32(2.0**-24)
_FEW = 4096  # below this many, the three passes cost more than NumPy's own float32 draw


def uniform_into(rng, out):
    """Fill ``out`` with uniforms on [0, 1) from ``rng``; return ``out``.

    float32 on NumPy: the mapping NumPy's own float32 draw uses, ``(r >> 8) * 2**-24``
    from 32-bit words ``r``, but with the words taken two at a time from the generator's
    64-bit output -- the sampler's hottest draw, about 1.7x faster than
    ``rng.random(dtype=np.float32)`` (whose word at a time goes through a buffered path).
    Every other case (float64, CuPy, a generator with 32-bit raw output, fewer than
    4096 values) is ``rng.random(out=out)``.

    Parameters
    ----------
    rng : Generator
        NumPy's or CuPy's.
    out : array
        The array to fill (any shape, C or Fortran order).

    Returns
    -------
    array
        ``out``.

    Examples
    --------
    >>> import numpy as np
    >>> u = uniform_into(np.random.default_rng(0), np.empty(100_000, np.float32))
    >>> bool(u.min() >= 0 and u.max() < 1), round(float(u.mean()), 2)
    (True, 0.5)
    """
    bg = getattr(rng, "bit_generator", None)
    if isinstance(out, np.ndarray) and out.flags.f_contiguous and not out.flags.c_contiguous:
        uniform_into(rng, out.T)  # column-major: fill its (contiguous) transpose
        return out
    if (
        out.dtype != np.float32
        or not isinstance(out, np.ndarray)
        or not isinstance(bg, _RAW64)
        or not out.flags.c_contiguous
        or out.size < _FEW
    ):
        try:
            return rng.random(dtype=out.dtype, out=out)
        except TypeError:  # a generator without out=
            out[...] = rng.random(out.shape, dtype=out.dtype)
            return out
    n = out.size
    words = bg.random_raw((n + 1) // 2).view(np.uint32)[:n]
    np.right_shift(words, 8, out=words)  # 24 random bits: exactly representable in float32
    flat = out.reshape(-1)
    flat[...] = words.view(np.int32)
    flat *= _F32_STEP
    return out


def uniform_words(rng, size, dtype):
    """How :func:`uniform_into` makes ``size`` uniforms of ``dtype`` from ``rng``'s 64-bit
    words, where it is a fixed map of them: ``"pairs"`` (float32: each word gives two,
    ``(w >> 8) * 2**-24`` of its low 32-bit half, then of its high half; an odd count leaves
    the last high half unused), ``"single"`` (float64: each word gives one,
    ``(w >> 11) * 2**-53``, as NumPy's ``random`` does), or None (NumPy's buffered
    32-bit draw, a generator without 64-bit output, CuPy). A kernel that draws the words
    itself can then make exactly the same numbers.

    Parameters
    ----------
    rng : Generator
        NumPy's or CuPy's.
    size : int
        How many uniforms one call fills.
    dtype : dtype
        Their type.

    Returns
    -------
    {"pairs", "single", None}

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> uniform_words(rng, 10_000, np.float32), uniform_words(rng, 10, np.float32), uniform_words(rng, 10, np.float64)
    ('pairs', None, 'single')
    >>> w = np.random.default_rng(0).bit_generator.random_raw(1)[0]
    >>> float(uniform_into(np.random.default_rng(0), np.empty(1))[0]) == float(w >> 11) * 2.0**-53
    True
    """
    if not isinstance(rng, np.random.Generator) or not isinstance(rng.bit_generator, _RAW64):
        return None
    if np.dtype(dtype) == np.float64:
        return "single"
    if np.dtype(dtype) == np.float32 and size >= _FEW:
        return "pairs"
    return None


def uniform_rows(rng, out):
    """Fill ``out`` (rows, n) with the uniforms :func:`uniform_into` would draw into its
    rows one after another; return ``out``.

    A sweep that visits units one at a time draws one row per visit; drawing the whole
    sweep's rows at once saves a call per visit. It is one call wherever the stream is the
    same: NumPy's own draw (rows shorter than the fast float32 path's minimum, float64,
    or a generator with 32-bit output) continues its stream from call to call, and the fast
    float32 path takes whole 64-bit words, so rows of an even length join seamlessly; rows
    of an odd length each leave half a word behind, and are drawn row by row.

    Parameters
    ----------
    rng : Generator
        NumPy's or CuPy's.
    out : array (rows, n), C order
        The array to fill.

    Returns
    -------
    array
        ``out``.

    Examples
    --------
    >>> import numpy as np
    >>> a = uniform_rows(np.random.default_rng(0), np.empty((3, 1000), np.float32))
    >>> b = np.empty((3, 1000), np.float32)
    >>> rng = np.random.default_rng(0)
    >>> for row in b:
    ...     _ = uniform_into(rng, row)
    >>> bool((a == b).all())
    True
    """
    n = out.shape[-1]
    fast = out.dtype == np.float32 and isinstance(getattr(rng, "bit_generator", None), _RAW64)
    if not isinstance(out, np.ndarray) or not out.flags.c_contiguous or (fast and n >= _FEW and n % 2):
        for row in out:
            uniform_into(rng, row)
        return out
    if fast and n < _FEW:  # each row NumPy's own draw, which continues from call to call
        return random_into(rng, out)
    return uniform_into(rng, out)


def random_into(rng, out):
    """``rng.random(dtype=out.dtype, out=out)``: NumPy's own uniform draw, the same numbers
    and the same generator state after, but for at least 4096 float32 from a generator
    with 64-bit output taken from the raw words in one call (NumPy draws float32 a 32-bit
    half word at a time through a buffer, about twice as slow).

    Parameters
    ----------
    rng : Generator
        NumPy's or CuPy's.
    out : array, C order
        The array to fill.

    Returns
    -------
    array
        ``out``.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.random.default_rng(0), np.random.default_rng(0)
    >>> x = random_into(a, np.empty((3, 2000), np.float32))
    >>> bool((x == b.random((3, 2000), dtype=np.float32)).all()), a.random() == b.random()
    (True, True)
    """
    fast = (
        out.dtype == np.float32
        and isinstance(out, np.ndarray)
        and out.flags.c_contiguous
        and out.size >= _FEW
        and isinstance(getattr(rng, "bit_generator", None), _RAW64)
    )
    return _buffered_float32(rng, out) if fast else rng.random(dtype=out.dtype, out=out)


def _buffered_float32(rng, out):
    """``rng.random(dtype=np.float32, out=out)``, the same numbers and the same state after,
    from the raw 64-bit words. NumPy's float32 draw takes 32-bit words, each 64-bit word's
    low half and then its high half, the high half kept in the bit generator between calls
    (``has_uint32``, ``uinteger``). Here the words of a PCG64 or SFC64 generator are made
    in one call (:func:`graphmrf.kernels.raw_words`) under the generator's lock, with the
    kept half read and set in the same hold, so a thread sharing the generator cannot come
    between; other generators, or no numba, take NumPy's own draw."""
    from . import kernels  # (it imports this module)

    bg = rng.bit_generator
    if not kernels.AVAILABLE or type(bg).__name__ not in ("PCG64", "SFC64"):
        return rng.random(dtype=np.float32, out=out)
    flat = out.reshape(-1)
    with bg.lock:
        held = bg.state
        first = int(held["has_uint32"])
        if first:  # the half word left by the last draw comes first
            flat[0] = np.float32((int(held["uinteger"]) >> 8) * 2.0**-24)
        rest = flat.size - first
        words, after = kernels.raw_words(held, (rest + 1) // 2)
        halves = words.view(np.uint32)
        last = int(halves[-1]) if rest else int(held["uinteger"])  # NumPy keeps it even once used
        halves = halves[:rest]
        np.right_shift(halves, 8, out=halves)
        flat[first:] = halves.view(np.int32)
        flat[first:] *= _F32_STEP
        after["has_uint32"] = rest % 2  # an odd count leaves the last word's high half for the next draw
        after["uinteger"] = last
        bg.state = after
    return out


def to_host(a):
    """Return ``a`` as a NumPy array (copying from the GPU when needed).

    Parameters
    ----------
    a : array-like
        A NumPy or CuPy array, a number, or anything ``numpy.asarray`` reads.

    Returns
    -------
    numpy.ndarray
        ``a`` itself when it is one already.

    Examples
    --------
    >>> to_host([1, 2]), to_host(3.0)
    (array([1, 2]), array(3.))
    """
    if isinstance(a, np.ndarray) or np.isscalar(a):
        return np.asarray(a)
    get = getattr(a, "get", None)
    if get is not None:
        return get()
    return np.asarray(a)


def logsumexp(a, axis=-1, xp=np):
    """``log sum exp(a)`` along ``axis``, shifted by the maximum so that nothing overflows
    (an all ``-inf`` slice gives ``-inf``); the one log-sum-exp of the library, for NumPy
    and CuPy arrays alike.

    Parameters
    ----------
    a : array
        The values, on NumPy or CuPy.
    axis : int
        The axis summed over.
    xp : module
        ``a``'s array namespace (``numpy`` or ``cupy``).

    Returns
    -------
    array
        ``a``'s shape without ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(logsumexp(np.array([1000.0, 1000.0]))), 6), float(logsumexp(np.array([-np.inf, -np.inf])))
    (1000.693147, -inf)
    """
    m = xp.max(a, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return xp.squeeze(m, axis=axis) + xp.log(xp.sum(xp.exp(a - m), axis=axis))
