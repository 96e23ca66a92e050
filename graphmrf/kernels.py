r"""Fused kernels for the sweeps NumPy cannot fuse, compiled by numba when it is installed.

A checkerboard update of a lattice reads four (six) neighbours, computes a probability
and draws, for every site of one colour: as NumPy array operations that is a dozen passes
over the lattice; fused, it is one. The kernels here do exactly what the NumPy path of
:func:`graphmrf.conditionals.update_part` does -- the same uniforms (drawn by the caller,
in the same order), the same float operations in the same order -- so a run with or
without numba gives the same states, up to the last bit of a ``tanh`` (the NumPy path is
the reference, and a test holds them together). Install the ``fast`` extra
(``pip install "graphmrf[fast]"``) to get them; everything works without.

Kernels:

* :func:`checkerboard` and :func:`checkerboard_table` -- Gibbs update of one colour of a
  2-D or 3-D lattice layer of spin or binary sites (one coupling for every bond, or one per
  bond; periodic or open);
* :func:`sequential` -- a one-unit-at-a-time sweep (Gibbs, or zero-temperature descent:
  Hopfield recall) of a dense model of two-valued units.

The lattice kernels take their uniforms as an array, or draw them themselves from a NumPy
``Generator`` whose bit generator is PCG64 (NumPy's default) or SFC64: the kernel steps a
copy of the bit generator's state with the same recurrence, maps each 64-bit word to
uniforms as :func:`graphmrf.backend.uniform_into` does, and hands the state back, so the
numbers, and the generator's state afterwards, are exactly those of filling the array
first -- without writing and re-reading it (the draw was half the cost of an update).

>>> import numpy as np, graphmrf as gm
>>> prog = gm.compile(gm.ising(8, coupling=0.3), seed=0)
>>> a = gm.sample(prog, 5, chains=2, seed=1).state
>>> with disabled():
...     b = gm.sample(prog, 5, chains=2, seed=1).state
>>> bool((a == b).mean() > 0.99)
True
"""

import contextlib

import numpy as np
import scipy.sparse

from .backend import uniform_words

try:  # an optional extra: the NumPy path is the always-available reference
    import numba
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic
except ImportError:  # pragma: no cover - depends on the environment
    numba = None

__all__ = [
    "AVAILABLE",
    "enabled",
    "disabled",
    "draws_from",
    "raw_words",
    "checkerboard",
    "checkerboard_table",
    "sequential",
    "logistic_noise",
]

#: Whether numba is installed here (the kernels are compiled at their first use).
AVAILABLE = numba is not None
_state = {"on": AVAILABLE}


def _jit_helper(fn):
    """A function the kernels call: compiled by numba when it is there."""
    return numba.njit(cache=True, nogil=True, inline="always")(fn) if numba is not None else fn


# ---------------------------------------------------------------------------------------------
# NumPy's PCG64 and SFC64, stepped inside a kernel

_ARRAY, _SFC64, _PCG64 = 0, 1, 2  # where a kernel's uniforms come from
_BITS = {"SFC64": _SFC64, "PCG64": _PCG64}
_MASK64 = (1 << 64) - 1
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645  # PCG's default 128-bit multiplier, as NumPy's PCG64
_MULT_HI, _MULT_LO = np.uint64(_PCG_MULT >> 64), np.uint64(_PCG_MULT & _MASK64)
_U1, _U3, _U8, _U11, _U24, _U40, _U58, _U63, _U64 = (np.uint64(k) for k in (1, 3, 8, 11, 24, 40, 58, 63, 64))
_LOW32 = np.uint64(0xFFFFFFFF)
_STEP24, _STEP53 = 2.0**-24, 2.0**-53
_NO_ARRAY = np.zeros((1, 1))

if numba is not None:

    @intrinsic
    def _mulhi(typingctx, a, b):
        """The high word of the 128-bit product of two uint64 (one machine multiply)."""
        sig = types.uint64(types.uint64, types.uint64)

        def codegen(context, builder, signature, args):
            wide = ir.IntType(128)
            product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
            return builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))

        return sig, codegen

else:  # pragma: no cover - depends on the environment
    _mulhi = None


@_jit_helper
def _next_word(algo, g0, g1, g2, g3):
    """The bit generator's next 64-bit word and its new state ``(g0, g1, g2, g3)``: SFC64's
    ``(a, b, c, counter)``, or PCG64's 128-bit state and increment as high and low words
    (the state times the multiplier plus the increment, then XSL-RR of the new state)."""
    if algo == _SFC64:
        out = g0 + g1 + g3
        g3 = g3 + _U1
        g0 = g1 ^ (g1 >> _U11)
        g1 = g2 + (g2 << _U3)
        g2 = ((g2 << _U24) | (g2 >> _U40)) + out
        return out, g0, g1, g2, g3
    lo = g1 * _MULT_LO
    hi = _mulhi(g1, _MULT_LO) + g1 * _MULT_HI + g0 * _MULT_LO
    new_lo = lo + g3
    hi = hi + g2 + (_U1 if new_lo < lo else np.uint64(0))
    x = hi ^ new_lo
    rot = hi >> _U58
    return (x >> rot) | (x << ((_U64 - rot) & _U63)), hi, new_lo, g2, g3


@_jit_helper
def _draw(algo, wide, U, c, k, g0, g1, g2, g3, word, half):
    """The next uniform (as a float64, exactly): ``U[c, k]``, or made from the generator's
    words as :func:`graphmrf.backend.uniform_into` makes them -- two float32 per word, its
    low half first (``half``: the high half of ``word`` is still to be used), or one
    float64 per word (``wide``). Returns it with the new state."""
    if algo == _ARRAY:
        return np.float64(U[c, k]), g0, g1, g2, g3, word, half
    # through int64 (the values fit): x86 has no direct conversion of an unsigned 64-bit integer
    if half:
        return np.float64(np.int64(word >> _U40)) * _STEP24, g0, g1, g2, g3, word, False
    word, g0, g1, g2, g3 = _next_word(algo, g0, g1, g2, g3)
    if wide:
        return np.float64(np.int64(word >> _U11)) * _STEP53, g0, g1, g2, g3, word, False
    return np.float64(np.int64((word & _LOW32) >> _U8)) * _STEP24, g0, g1, g2, g3, word, True


def draws_from(rng, size, dtype):
    """True when the lattice kernels can draw, themselves, exactly the ``size`` uniforms of
    ``dtype`` that :func:`graphmrf.backend.uniform_into` would put in an array: numba is
    installed, ``rng`` is a NumPy Generator on PCG64 or SFC64, and the draw is a fixed map
    of its 64-bit words (:func:`graphmrf.backend.uniform_words`).

    Parameters
    ----------
    rng : Generator
    size : int
        How many uniforms one kernel call uses.
    dtype : dtype
        The state's type (float32 or float64).

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> draws_from(np.random.default_rng(0), 10_000, np.float32) == AVAILABLE
    True
    >>> draws_from(np.random.Generator(np.random.MT19937(0)), 10_000, np.float32)
    False
    """
    bg = getattr(rng, "bit_generator", None)
    return AVAILABLE and type(bg).__name__ in _BITS and uniform_words(rng, size, dtype) is not None


@contextlib.contextmanager
def _uniform_source(uniforms, dtype, size):
    """``(U, algo, words)`` for a kernel: the array itself, or a Generator's state as four
    words, written back to its bit generator (under its lock) when the kernel returns."""
    if not isinstance(uniforms, np.random.Generator):
        yield np.asarray(uniforms), _ARRAY, np.zeros(4, np.uint64)
        return
    if not draws_from(uniforms, size, dtype):
        raise ValueError(
            f"uniforms: the kernels draw from a Generator on PCG64 or SFC64, {size} float32 (at least "
            f"4096) or float64 at a time; got {type(uniforms.bit_generator).__name__}, {size} {np.dtype(dtype)}"
        )
    bg = uniforms.bit_generator
    with bg.lock:
        full = bg.state
        algo, words = _generator_words(full)
        yield _NO_ARRAY, algo, words
        bg.state = _with_words(full, algo, words)


def _generator_words(full):
    """A PCG64 or SFC64 state dict as ``(algo, four uint64 words)`` (see :func:`_next_word`)."""
    inner = full["state"]
    algo = _BITS[full["bit_generator"]]
    if algo == _SFC64:
        return algo, np.array(inner["state"], dtype=np.uint64)
    s, inc = inner["state"], inner["inc"]
    return algo, np.array([s >> 64, s & _MASK64, inc >> 64, inc & _MASK64], dtype=np.uint64)


def _with_words(full, algo, words):
    """The state dict ``full`` with the generator's state set from ``words``."""
    inner = full["state"]
    inner["state"] = words if algo == _SFC64 else (int(words[0]) << 64) | int(words[1])
    return full


def _fill_words(algo, g, out):
    """``out`` filled with the bit generator's next words, its state ``g`` advanced."""
    g0, g1, g2, g3 = g[0], g[1], g[2], g[3]
    for k in range(out.shape[0]):
        out[k], g0, g1, g2, g3 = _next_word(algo, g0, g1, g2, g3)
    g[0], g[1], g[2], g[3] = g0, g1, g2, g3


_fill_words_jit = None


def raw_words(state, n):
    """The next ``n`` 64-bit words of a PCG64 or SFC64 bit generator whose state dict is
    ``state`` (what its ``random_raw(n)`` returns), and the state dict after them: for a
    caller that holds the bit generator's lock across a draw and its bookkeeping
    (``random_raw`` takes the lock itself).

    Parameters
    ----------
    state : dict
        ``bit_generator.state`` of a PCG64 or SFC64 bit generator.
    n : int
        How many words.

    Returns
    -------
    words : uint64 array (n,)
    state : dict
        The state after them (the other entries as given).

    Raises
    ------
    RuntimeError
        If numba is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> bg = np.random.PCG64(3)
    >>> if AVAILABLE:
    ...     words, after = raw_words(bg.state, 4)
    ... else:  # what it gives (numba is not installed here)
    ...     words, after = np.random.PCG64(3).random_raw(4), None
    >>> bool((words == bg.random_raw(4)).all())
    True
    """
    global _fill_words_jit
    if not AVAILABLE:
        raise RuntimeError("kernels: numba is not installed; install the 'fast' extra")
    if _fill_words_jit is None:
        _fill_words_jit = numba.njit(cache=True, nogil=True)(_fill_words)
    algo, g = _generator_words(state)
    out = np.empty(n, dtype=np.uint64)
    _fill_words_jit(algo, g, out)
    return out, _with_words(state, algo, g)


def enabled():
    """True when the fused kernels are used (numba installed, and not :func:`disabled`).

    Returns
    -------
    bool

    Examples
    --------
    >>> enabled() == AVAILABLE
    True
    >>> with disabled():
    ...     enabled()
    False
    """
    return _state["on"]


@contextlib.contextmanager
def disabled():
    """Within this block every sweep takes the NumPy reference path (for comparisons).

    Yields
    ------
    None
        The previous setting comes back when the block ends, even on an error.

    Examples
    --------
    >>> import graphmrf as gm
    >>> prog = gm.compile(gm.ising(6, coupling=0.3), seed=0)
    >>> with disabled():
    ...     run = gm.sample(prog, 3, chains=2, seed=1)
    >>> run.state.shape, enabled() == AVAILABLE
    ((2, 36), True)
    """
    before = _state["on"]
    _state["on"] = False
    try:
        yield
    finally:
        _state["on"] = before


def _compile(fn):
    # serial: a parallel region waits for threads, and on a machine shared with other work
    # that wait costs more than the loop (115 ns against 3.7 ns per update, measured)
    return numba.njit(cache=True, nogil=True)(fn) if AVAILABLE else None


def _checker(S, sites, U, algo, g, wide, J, per_bond, bias, slope, lo, hi, shape, strides, periodic):
    """One colour of a lattice: ``S`` (chains, sites) updated in place at ``sites`` (row-major
    indices, ascending) with uniforms ``U`` (chains, len(sites)), or drawn from the generator
    state ``g`` (see :func:`_draw`); ``J`` (ndim, sites) per bond
    or (1,) shared; ``bias`` (len(sites),), the colour's own biases. The input is summed
    axis by axis, next neighbour then previous one, as :func:`graphmrf.couplings.neighbour_sum`
    does, and the logit is ``slope * (x + bias)``."""
    chains = S.shape[0]
    m = sites.shape[0]
    nd = shape.shape[0]
    half = S.dtype.type(0.5)
    one = S.dtype.type(1.0)
    g0, g1, g2, g3 = g[0], g[1], g[2], g[3]
    word, odd = np.uint64(0), False
    for c in range(chains):
        for k in range(m):
            i = sites[k]
            x = S.dtype.type(0.0)
            for a in range(nd):  # axis by axis, in the order neighbour_sum adds them
                side = shape[a]
                stride = strides[a]
                coord = (i // stride) % side
                # next neighbour along axis a: the bond of site i
                if coord + 1 < side:
                    jn = i + stride
                    bn = i
                    has_n = True
                else:
                    jn = i - (side - 1) * stride
                    bn = i
                    has_n = periodic
                # previous neighbour: the bond of that site
                if coord > 0:
                    jp = i - stride
                    has_p = True
                else:
                    jp = i + (side - 1) * stride
                    has_p = periodic
                if per_bond:
                    jb_n = J[a, bn]
                    jb_p = J[a, jp]
                else:
                    jb_n = J[0, 0]
                    jb_p = J[0, 0]
                if has_n:
                    x += jb_n * S[c, jn]
                if has_p:
                    x += jb_p * S[c, jp]
            z = (x + bias[k]) * slope
            p = (np.tanh(z * half) + one) * half
            u, g0, g1, g2, g3, word, odd = _draw(algo, wide, U, c, k, g0, g1, g2, g3, word, odd)
            S[c, i] = hi if u < p else lo
    g[0], g[1], g[2], g[3] = g0, g1, g2, g3


def _checker_2d(S, U, algo, g, wide, table, lo, hi, L0, L1, colour, periodic):
    """A checkerboard colour of a 2-D lattice with one coupling and one bias for every site:
    the probability of ``hi`` is ``table[deg, n]`` for a site with ``deg`` neighbours of
    which ``n`` are at ``hi``. Rows in order, so the colour's uniforms are read in order.
    Interior sites run without boundary tests, the first and last column of each row take
    the general form. Indices are unsigned: a signed index makes numba test it for a
    negative value at every read (3.1 against 1.35 ns per site, measured). Uniforms as in
    :func:`_checker`."""
    one = np.uint64(1)
    two = np.uint64(2)
    rows = np.uint64(L0)
    cols = np.uint64(L1)
    t4 = table[4]
    g0, g1, g2, g3 = g[0], g[1], g[2], g[3]
    word, odd = np.uint64(0), False
    for c in range(S.shape[0]):
        s = S[c]
        k = np.uint64(0)
        for r in range(L0):
            r = np.uint64(r)
            has_up = periodic or r > 0
            has_dn = periodic or r + one < rows
            up = (r - one if r > 0 else rows - one) * cols
            dn = (r + one if r + one < rows else np.uint64(0)) * cols
            row = r * cols
            j = (r + np.uint64(colour)) % two
            if has_up and has_dn:
                if j == 0 and cols > one:
                    u, g0, g1, g2, g3, word, odd = _draw(algo, wide, U, c, k, g0, g1, g2, g3, word, odd)
                    _site_2d(s, u, table, lo, hi, row, up, dn, True, True, j, cols, periodic)
                    k += one
                    j = two
                while j + one < cols:  # the interior: four neighbours
                    n = (s[up + j] == hi) + (s[dn + j] == hi) + (s[row + j - one] == hi) + (s[row + j + one] == hi)
                    u, g0, g1, g2, g3, word, odd = _draw(algo, wide, U, c, k, g0, g1, g2, g3, word, odd)
                    s[row + j] = hi if u < t4[n] else lo
                    k += one
                    j += two
            while j < cols:
                u, g0, g1, g2, g3, word, odd = _draw(algo, wide, U, c, k, g0, g1, g2, g3, word, odd)
                _site_2d(s, u, table, lo, hi, row, up, dn, has_up, has_dn, j, cols, periodic)
                k += one
                j += two
    g[0], g[1], g[2], g[3] = g0, g1, g2, g3


@_jit_helper
def _site_2d(s, u, table, lo, hi, row, up, dn, has_up, has_dn, j, cols, periodic):
    """One site of :func:`_checker_2d` in its general form (any boundary), with uniform ``u``."""
    one = np.uint64(1)
    deg = 0
    n = 0
    if has_up:
        n += s[up + j] == hi
        deg += 1
    if has_dn:
        n += s[dn + j] == hi
        deg += 1
    if j > 0:
        n += s[row + j - one] == hi
        deg += 1
    elif periodic:
        n += s[row + cols - one] == hi
        deg += 1
    if j + one < cols:
        n += s[row + j + one] == hi
        deg += 1
    elif periodic:
        n += s[row] == hi
        deg += 1
    s[row + j] = hi if u < table[deg, n] else lo


def _checker_3d(S, U, algo, g, wide, table, lo, hi, L0, L1, L2, colour, periodic):
    """The 3-D form of :func:`_checker_2d`: rows of the last axis in order, each with its
    four neighbouring rows (the planes before and after, the rows before and after);
    interior runs of a row with all four take six neighbours without tests. Uniforms as in
    :func:`_checker`."""
    one = np.uint64(1)
    two = np.uint64(2)
    p0, p1, n2 = np.uint64(L0), np.uint64(L1), np.uint64(L2)
    plane = p1 * n2
    t6 = table[6]
    g0, g1, g2, g3 = g[0], g[1], g[2], g[3]
    word, odd = np.uint64(0), False
    for c in range(S.shape[0]):
        s = S[c]
        k = np.uint64(0)
        for a in range(L0):
            a = np.uint64(a)
            has_a0 = periodic or a > 0
            has_a1 = periodic or a + one < p0
            a0 = (a - one if a > 0 else p0 - one) * plane
            a1 = (a + one if a + one < p0 else np.uint64(0)) * plane
            for b in range(L1):
                b = np.uint64(b)
                has_b0 = periodic or b > 0
                has_b1 = periodic or b + one < p1
                b0 = (b - one if b > 0 else p1 - one) * n2
                b1 = (b + one if b + one < p1 else np.uint64(0)) * n2
                here = a * plane + b * n2
                rows = (a0 + b * n2, a1 + b * n2, a * plane + b0, a * plane + b1)
                has = (has_a0, has_a1, has_b0, has_b1)
                j = (a + b + np.uint64(colour)) % two
                if has_a0 and has_a1 and has_b0 and has_b1:
                    if j == 0 and n2 > one:
                        u, g0, g1, g2, g3, word, odd = _draw(algo, wide, U, c, k, g0, g1, g2, g3, word, odd)
                        _site_3d(s, u, table, lo, hi, here, rows, has, j, n2, periodic)
                        k += one
                        j = two
                    r0, r1, r2, r3 = rows
                    while j + one < n2:
                        n = (s[r0 + j] == hi) + (s[r1 + j] == hi) + (s[r2 + j] == hi) + (s[r3 + j] == hi)
                        n += (s[here + j - one] == hi) + (s[here + j + one] == hi)
                        u, g0, g1, g2, g3, word, odd = _draw(algo, wide, U, c, k, g0, g1, g2, g3, word, odd)
                        s[here + j] = hi if u < t6[n] else lo
                        k += one
                        j += two
                while j < n2:
                    u, g0, g1, g2, g3, word, odd = _draw(algo, wide, U, c, k, g0, g1, g2, g3, word, odd)
                    _site_3d(s, u, table, lo, hi, here, rows, has, j, n2, periodic)
                    k += one
                    j += two
    g[0], g[1], g[2], g[3] = g0, g1, g2, g3


@_jit_helper
def _site_3d(s, u, table, lo, hi, here, rows, has, j, n2, periodic):
    """One site of :func:`_checker_3d` in its general form (any boundary), with uniform ``u``."""
    one = np.uint64(1)
    deg = 0
    n = 0
    for q in range(4):
        if has[q]:
            n += s[rows[q] + j] == hi
            deg += 1
    if j > 0:
        n += s[here + j - one] == hi
        deg += 1
    elif periodic:
        n += s[here + n2 - one] == hi
        deg += 1
    if j + one < n2:
        n += s[here + j + one] == hi
        deg += 1
    elif periodic:
        n += s[here] == hi
        deg += 1
    s[here + j] = hi if u < table[deg, n] else lo


_checker_jit = None
_table_jit = {}
_tables = {}  # probability tables, by (J, b, beta, lo, hi, ndim, dtype)


def checkerboard_colour(shape, sites):
    """The colour (0 or 1) when ``sites`` are exactly one parity class of the lattice's
    checkerboard (the sum of the coordinates, mod 2), else None. One pass over the sites."""
    if len(shape) not in (2, 3) or not sites.size:
        return None
    parity = np.zeros(shape, dtype=np.int8)
    for axis, k in enumerate(shape):
        parity ^= (np.arange(k, dtype=np.int8) % 2).reshape([k if a == axis else 1 for a in range(len(shape))])
    flat = parity.reshape(-1)
    colour = int(flat[int(sites[0])])
    if sites.size != int(np.count_nonzero(flat == colour)) or np.any(flat[sites] != colour):
        return None
    return colour


def probability_table(coupling, bias, beta, values, ndim):
    """``table[deg, n]``: the probability of ``values[1]`` at a site with ``deg`` neighbours
    of which ``n`` hold ``values[1]``, for one coupling ``J`` and one bias ``b``:
    ``sigmoid(beta (hi - lo) (J (n hi + (deg - n) lo) + b))``."""
    lo, hi = values
    deg = np.arange(2 * ndim + 1)[:, None]
    n = np.arange(2 * ndim + 1)[None, :]
    x = coupling * (n * hi + (deg - n) * lo) + bias
    return 1.0 / (1.0 + np.exp(-beta * (hi - lo) * x))


def checkerboard_table(state, uniforms, coupling, bias, beta, values, shape, colour, periodic):
    """Gibbs update of one colour of a 2-D or 3-D lattice with one coupling for every bond
    and one bias for every site, in place: the probability of ``hi`` at a site with ``deg``
    neighbours, ``n`` of them at ``hi``, is ``sigmoid(beta (hi - lo) (J (n hi + (deg - n) lo) + b))``,
    read from a table (:func:`probability_table`), not an exponential per site.

    Sites of the colour are updated in row-major order, site ``k`` of the colour reading
    ``uniforms[:, k]``, or drawing it, in that order, from a Generator (:func:`draws_from`).

    Parameters
    ----------
    state : array (chains, sites), float32 or float64, row-major
        The lattice's sites, updated in place.
    uniforms : array (chains, sites of the colour), or Generator
        One uniform per updated site; or the Generator whose bit generator (PCG64 or SFC64)
        the kernel draws them from, exactly as :func:`graphmrf.backend.uniform_into` would
        fill that array, advancing it as far.
    coupling : float
        ``J``, the coupling of every bond.
    bias : float
        ``b``, the bias of every site.
    beta : float
        The inverse temperature.
    values : (lo, hi)
        The two values of a site.
    shape : tuple of int
        The lattice's sides (2 or 3 of them).
    colour : {0, 1}
        Which parity class of sites (sum of the coordinates mod 2) to update.
    periodic : bool
        Whether the lattice wraps around.

    Raises
    ------
    RuntimeError
        If numba is not installed (check :data:`AVAILABLE`).
    ValueError
        If ``uniforms`` is a Generator the kernel cannot draw from (:func:`draws_from`), or
        the lattice is not 2-D or 3-D (:func:`checkerboard` takes any).

    Examples
    --------
    Spins all down, ``J = 0.5``: a site turns up with probability ``sigmoid(-4) = 0.018``,
    so a uniform of 0.01 turns it and one of 0.5 does not.

    >>> import numpy as np
    >>> state = -np.ones((2, 16))
    >>> uniforms = np.repeat([[0.01], [0.5]], 8, axis=1)
    >>> if AVAILABLE:
    ...     checkerboard_table(state, uniforms, 0.5, 0.0, 1.0, (-1, 1), (4, 4), 0, True)
    ... else:  # what it does (numba is not installed here)
    ...     state[0].reshape(4, 4)[(np.add.outer(np.arange(4), np.arange(4)) % 2) == 0] = 1
    >>> state[0].reshape(4, 4), float(state[1].max())
    (array([[ 1., -1.,  1., -1.],
           [-1.,  1., -1.,  1.],
           [ 1., -1.,  1., -1.],
           [-1.,  1., -1.,  1.]]), -1.0)
    """
    if not AVAILABLE:
        raise RuntimeError("kernels: numba is not installed; install the 'fast' extra")
    nd = len(shape)
    if nd not in (2, 3):
        raise ValueError(f"shape: the table kernel takes a 2-D or 3-D lattice; got {tuple(shape)}")
    if nd not in _table_jit:
        _table_jit[nd] = _compile(_checker_2d if nd == 2 else _checker_3d)
    dt = state.dtype.type
    lo, hi = values
    key = (coupling, bias, beta, lo, hi, nd, state.dtype)
    table = _tables.get(key)
    if table is None:
        if len(_tables) > 64:  # a few models at a few temperatures; an annealing run makes many
            _tables.clear()
        table = _tables[key] = probability_table(coupling, bias, beta, (lo, hi), nd).astype(state.dtype)
    size = state.shape[0] * ((state.shape[1] + 1 - colour) // 2)  # colour 0 takes the odd site out
    with _uniform_source(uniforms, state.dtype, size) as (U, algo, words):
        _table_jit[nd](
            state,
            U,
            algo,
            words,
            state.dtype == np.float64,
            table,
            dt(lo),
            dt(hi),
            *shape,
            colour,
            bool(periodic),
        )


def checkerboard(state, sites, uniforms, coupling, bias, slope, values, shape, periodic):
    """Gibbs update of the lattice sites ``sites`` (one colour) of ``state``, in place.

    The logit of a site is ``slope * (x + bias)`` with ``x`` the sum of its neighbours'
    values times their bonds' couplings; it becomes ``hi`` when its uniform is below
    ``sigmoid(logit)``. One pass over the colour's sites.

    Parameters
    ----------
    state : array (chains, sites), float32 or float64, row-major
        The lattice's sites, updated in place.
    sites : int array
        The colour's sites, ascending.
    uniforms : array (chains, len(sites)), or Generator
        One uniform per updated site, in the order of ``sites``; or the Generator the
        kernel draws them from, as :func:`checkerboard_table` does.
    coupling : array
        One coupling for every bond (size 1), or ``(ndim, *shape)`` per bond.
    bias : array (len(sites),)
        The biases of the colour's sites.
    slope : float
        The logit's slope (``beta * (hi - lo)`` for units with values lo, hi).
    values : (lo, hi)
        The two values of a site.
    shape : tuple
        The lattice's sides.
    periodic : bool
        Whether the lattice wraps around.

    Raises
    ------
    RuntimeError
        If numba is not installed (check :data:`AVAILABLE`).
    ValueError
        If ``uniforms`` is a Generator the kernel cannot draw from (:func:`draws_from`).

    Examples
    --------
    Uniforms of 0 turn every site of the colour up (its probability is above 0):

    >>> import numpy as np
    >>> state = -np.ones((1, 9))
    >>> sites = np.array([0, 2, 4, 6, 8])
    >>> if AVAILABLE:
    ...     checkerboard(state, sites, np.zeros((1, 5)), np.array([1.0]), np.zeros(5), 2.0, (-1, 1), (3, 3), False)
    ... else:  # what it does (numba is not installed here)
    ...     state[:, sites] = 1
    >>> state
    array([[ 1., -1.,  1., -1.,  1., -1.,  1., -1.,  1.]])
    """
    global _checker_jit
    if not AVAILABLE:
        raise RuntimeError("kernels: numba is not installed; install the 'fast' extra")
    if _checker_jit is None:
        _checker_jit = _compile(_checker)
    dt = state.dtype.type
    J = np.ascontiguousarray(coupling, dtype=state.dtype).reshape(len(shape) if coupling.size > 1 else 1, -1)
    shape = np.asarray(shape, dtype=np.int64)
    strides = np.ones(shape.size, dtype=np.int64)
    for a in range(shape.size - 2, -1, -1):
        strides[a] = strides[a + 1] * shape[a + 1]
    with _uniform_source(uniforms, state.dtype, state.shape[0] * len(sites)) as (U, algo, words):
        _checker_jit(
            state,
            sites,
            U,
            algo,
            words,
            state.dtype == np.float64,
            J,
            coupling.size > 1,
            np.ascontiguousarray(bias, dtype=state.dtype),
            dt(slope),
            dt(values[0]),
            dt(values[1]),
            shape,
            strides,
            bool(periodic),
        )


def _descent(S, X, order, J, bias, slope, lo, hi):
    """Zero-temperature one-unit-at-a-time sweep, chain by chain: the input of every unit
    is kept in ``X[c]`` (``s J`` at the start, one matrix product of the caller's), and a
    unit that changes adds its row of ``J`` times the change (a vectorised loop over the
    units). Near a fixed point few units change, so a sweep costs little more than the
    product."""
    chains, n = S.shape
    for c in range(chains):
        s = S[c]
        x = X[c]
        for t in range(order.shape[0]):
            i = order[t]
            z = slope[i] * (x[i] + bias[i])
            old = s[i]
            new = hi[i] if z > 0 else (lo[i] if z < 0 else old)
            if new != old:
                d = new - old
                for j in range(n):
                    x[j] += d * J[i, j]
                s[i] = new


_BLOCK = 8  # units per block of a sweep (measured: 8 beats 4, 16, 32 and 64 at 100 units)


@_jit_helper
def _metropolis_unit(s, x, nz, a, b, lo, hi, accepted):
    """One unit of a Metropolis sweep in every chain: the other value ``lo + hi - s``
    proposed, taken when ``nz = log(1 - u)`` is below the log acceptance ratio
    ``a (x + b)`` for a move up, its negative for a move down (the move's sign times it:
    no branch, so the loop over the chains vectorises); ``accepted`` counts the moves."""
    inv = 1 / (hi - lo)
    for c in range(s.shape[0]):
        old = s[c]
        other = lo + hi - old
        take = nz[c] < a * (x[c] + b) * ((other - old) * inv)
        s[c] = other if take else old
        accepted[c] += take


def _unit_blocks(St, order, noise, J, bias, slope, lo, hi, metropolis, accepted):
    """One-unit-at-a-time sweep, every chain at once, the visits taken in blocks of
    ``_BLOCK``: one matrix product gives the inputs of a block's units from the current
    state (``J[block] St``, unit-major ``St`` (units, chains)), then its units are drawn in
    turn, each change corrected into the inputs of the block's later units. At a
    temperature where many units change, the products do the work at the matrix-product
    rate, where a unit-by-unit update would add a row of ``J`` per change.

    Gibbs: a unit takes its upper value when its logit ``z`` exceeds the visit's logistic
    noise ``noise[t]`` (no exponential in the loop). Metropolis (``metropolis``): the unit
    proposes its other value and takes it when ``noise[t] = log(1 - u)`` is below the log
    acceptance ratio, ``z`` for a move up and ``-z`` for a move down; ``accepted`` counts
    the moves per chain."""
    n, chains = St.shape
    visits = order.shape[0]
    change = np.empty(chains, St.dtype)
    for start in range(0, visits, _BLOCK):
        stop = min(start + _BLOCK, visits)
        block = order[start:stop]
        rows = np.empty((stop - start, n), St.dtype)
        for a in range(stop - start):
            rows[a] = J[block[a]]
        X = np.dot(rows, St)  # the block's inputs, (block, chains)
        for a in range(stop - start):
            i = block[a]
            s, x, nz = St[i], X[a], noise[start + a]
            if metropolis:
                for c in range(chains):
                    change[c] = s[c]
                _metropolis_unit(s, x, nz, slope[i], bias[i], lo[i], hi[i], accepted)
                for c in range(chains):
                    change[c] = s[c] - change[c]
            else:
                for c in range(chains):
                    new = hi[i] if slope[i] * (x[c] + bias[i]) > nz[c] else lo[i]
                    change[c] = new - s[c]
                    s[c] = new
            for later in range(a + 1, stop - start):
                w = rows[later, i]
                if w != 0:
                    xl = X[later]
                    for c in range(chains):
                        xl[c] += w * change[c]


def _sparse_units(St, order, noise, indptr, indices, data, bias, slope, lo, hi, mode, accepted, x):
    """One-unit-at-a-time sweep of a model with sparse couplings (CSR rows ``indptr``,
    ``indices``, ``data``), every chain at once on the unit-major state ``St`` (units,
    chains): a visit sums its few neighbours' rows into ``x`` and decides for every chain
    (vectorised over the chains). ``mode``: 0 Gibbs, 1 Metropolis, 2 zero-temperature
    descent, with the noise and the rules of :func:`_unit_blocks` and :func:`_descent`."""
    chains = St.shape[1]
    for t in range(order.shape[0]):
        i = order[t]
        x[:] = 0
        for k in range(indptr[i], indptr[i + 1]):
            w = data[k]
            src = St[indices[k]]
            for c in range(chains):
                x[c] += w * src[c]
        s, nz = St[i], noise[t if mode != 2 else 0]
        a, b, down, up = slope[i], bias[i], lo[i], hi[i]
        if mode == 0:  # one loop per rule: each vectorises over the chains
            for c in range(chains):
                s[c] = up if a * (x[c] + b) > nz[c] else down
        elif mode == 1:
            _metropolis_unit(s, x, nz, a, b, down, up, accepted)
        else:
            for c in range(chains):
                z = a * (x[c] + b)
                s[c] = up if z > 0 else (down if z < 0 else s[c])


def logistic_noise(uniforms):
    """The uniforms of a sweep as logistic noise, in their layout (visits, chains):
    ``u < sigmoid(z)`` exactly when ``log(u / (1 - u)) < z``, so a one-unit update compares
    its logit with the noise instead of taking an exponential (NumPy's vectorised logarithms
    cost a fraction of one scalar ``exp`` per visit). In floating point the two tests part
    only at a rounding boundary, or at u = 0 (probability 2**-24 in float32) with a logit
    below about -17, where a float32 sigmoid rounds to 0 and the noise is -inf.

    Parameters
    ----------
    uniforms : array (visits, chains)
        Uniforms on [0, 1).

    Returns
    -------
    array (visits, chains), C order

    Examples
    --------
    >>> import numpy as np
    >>> u = np.array([[0.5, 0.25], [0.0, 0.75]], dtype=np.float64)
    >>> logistic_noise(u).round(4).tolist()
    [[0.0, -1.0986], [-inf, 1.0986]]
    """
    noise = np.subtract(1, uniforms)
    np.divide(uniforms, noise, out=noise)  # one logarithm, not log(u) - log1p(-u): two
    with np.errstate(divide="ignore"):  # u = 0: noise -inf, and every logit exceeds it, as u < sigmoid(z)
        return np.log(noise, out=noise)


_sequential_jit = {}


def sequential(state, order, uniforms, coupling_matrix, bias, slope, lo, hi, mode="sample"):
    """One sweep of one-unit-at-a-time Gibbs sampling (``mode="sample"``), single-site
    Metropolis (``"metropolis"``: the other value proposed, accepted with probability
    ``min(1, exp(-beta dE))``) or zero-temperature descent (``"max"``: a unit goes to its
    more probable value, a tie keeps it) of a dense model of two-valued units, in place.

    Sampling takes the visits in blocks, every chain at once: one matrix product gives a
    block's inputs, and each change is corrected into the inputs of the block's later
    units. Descent runs chain by chain, keeping every unit's input and adding a row of
    the couplings per change: near a fixed point, few.

    Parameters
    ----------
    state : array (chains, units)
        Row-major or column-major (sampling works on a column-major state in place).
    order : int array
        The units in the order they are visited.
    uniforms : array (len(order), chains), (2 len(order), chains), or None
        The uniform of visit ``t`` for chain ``c`` at ``[t, c]``; for ``"metropolis"``
        two rows per visit, the proposal's (a two-valued unit has one choice: unused) and
        the acceptance's, as :func:`graphmrf.samplers.metropolis_sweep` draws them; None
        for ``"max"``.
    coupling_matrix : array (units, units), or a scipy sparse matrix
        Symmetric, zero diagonal: unit ``i``'s input is ``sum_j J_ij s_j``. A sparse one
        takes a kernel that sums each visited unit's few neighbours, every chain at once.
    bias, slope, lo, hi : arrays (units,)
        Per unit: the logit is ``slope (x + bias)`` and the values are ``lo``, ``hi``.
    mode : {"sample", "metropolis", "max"}
        Gibbs sampling, Metropolis, or zero-temperature descent.

    Returns
    -------
    array (chains,) or None
        For ``"metropolis"``, the number of accepted moves per chain.

    Raises
    ------
    RuntimeError
        If numba is not installed.

    Examples
    --------
    Hopfield recall: three mutually excitatory spins, one flipped, fall back together.

    >>> import numpy as np
    >>> J = np.ones((3, 3)) - np.eye(3)
    >>> s = np.array([[1.0, -1.0, 1.0]])
    >>> if AVAILABLE:
    ...     sequential(s, np.arange(3), None, J, np.zeros(3), np.full(3, 2.0), -np.ones(3), np.ones(3), mode="max")
    ... else:  # what it does (numba is not installed here)
    ...     s[0, 1] = 1.0
    >>> s
    array([[1., 1., 1.]])
    """
    if not AVAILABLE:
        raise RuntimeError("kernels: numba is not installed; install the 'fast' extra")
    if not _sequential_jit:
        fast = {"contract", "arcp", "nsz"}
        _sequential_jit["max"] = numba.njit(cache=True, nogil=True, fastmath=fast)(_descent)
        _sequential_jit["blocks"] = numba.njit(cache=True, nogil=True, fastmath=fast)(_unit_blocks)
        _sequential_jit["sparse"] = numba.njit(cache=True, nogil=True, fastmath=fast)(_sparse_units)
    dt = state.dtype
    order = np.asarray(order, dtype=np.int64)
    per_unit = [np.ascontiguousarray(a, dtype=dt) for a in (bias, slope, lo, hi)]
    if scipy.sparse.issparse(coupling_matrix):
        return _sparse_sequential(state, order, uniforms, coupling_matrix, per_unit, mode)
    J = np.ascontiguousarray(coupling_matrix, dtype=dt)
    accepted = None
    if mode == "max":
        work = state if state.flags.c_contiguous else np.ascontiguousarray(state)
        X = work @ J  # every unit's input, all chains at once (BLAS)
        _sequential_jit["max"](work, X, order, J, *per_unit)
    else:  # unit-major, a unit's chains side by side: a column-major state as it is
        work = state.T if state.T.flags.c_contiguous else np.ascontiguousarray(state.T)
        accepted = np.zeros(state.shape[0], dtype=dt)
        noise = _visit_noise(uniforms, mode, state)
        _sequential_jit["blocks"](work, order, noise, J, *per_unit, mode == "metropolis", accepted)
        work = work.T
    if not np.may_share_memory(work, state):  # a copy was made for the kernel
        state[...] = work
    return accepted if mode == "metropolis" else None


def _visit_noise(uniforms, mode, state):
    """What a visit compares with, (visits, chains): the logistic noise of Gibbs; for
    Metropolis ``log(1 - u)`` of the acceptance's uniforms (rows: the proposal's draw -- one
    choice for a two-valued unit, unused -- then the acceptance's, per visit); a row of zeros
    for descent."""
    if mode == "sample":
        return logistic_noise(uniforms)
    if mode == "metropolis":
        return np.log1p(-uniforms[1::2])
    return np.zeros((1, state.shape[0]), dtype=state.dtype)


def _sparse_sequential(state, order, uniforms, J, per_unit, mode):
    """:func:`sequential` with sparse couplings: the kernel :func:`_sparse_units` on the
    unit-major state (a column-major state in place)."""
    dt = state.dtype
    J = scipy.sparse.csr_matrix(J, dtype=dt)
    work = state.T if state.T.flags.c_contiguous else np.ascontiguousarray(state.T)
    noise = _visit_noise(uniforms, mode, state)
    accepted = np.zeros(state.shape[0], dtype=dt)
    code = {"sample": 0, "metropolis": 1, "max": 2}[mode]
    x = np.empty(state.shape[0], dtype=dt)
    indptr, indices = J.indptr.astype(np.int64), J.indices.astype(np.int64)
    _sequential_jit["sparse"](work, order, noise, indptr, indices, J.data, *per_unit, code, accepted, x)
    if not np.may_share_memory(work, state):
        state[...] = work.T
    return accepted if mode == "metropolis" else None
