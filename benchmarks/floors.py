"""Plain NumPy floors and the timing harness shared by the benchmarks.

A *floor* is the fastest plain NumPy (or SciPy) program we can write for one benchmark's exact
workload: preallocated buffers, in-place float32 arithmetic, ``1/(1+exp(-x))`` written out
(``scipy.special.expit`` costs about 4x more per float32 element), the fastest uniform draw
NumPy offers, and whatever layout suits the workload best. A floor is allowed every trick a
NumPy programmer who only needs this one workload would use; graphmrf, which is general, is
measured against it. Each benchmark script checks its floors (its ``check_*`` functions, run
before the timing) against what graphmrf computes -- the same distribution statistics against
exact enumeration, the same expected update, or the same result outright -- so that a floor
cannot be fast by being wrong.

The harness runs every contender (floor, graphmrf, peers) once per round, the rounds
interleaved in rotating order, so that load on the machine hits all of them alike; it reports
the best time of each and, for every ratio, the range of the per-round ratios. Peers that
need their own interpreter (thrml/JAX, pgmpy) run as persistent worker processes that time
one run per request, so they take part in the same rounds.
"""

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time

import numpy as np

F32 = np.float32


# ---------------------------------------------------------------------------------------------
# the machine: thread pinning, load, matrix-product rate


def pin_threads(n):
    """Limit BLAS/OpenMP threads to ``n`` here (threadpoolctl) and in the peers' processes
    (environment variables read at their start; JAX's XLA CPU client and torch too).
    Returns the environment for subprocesses."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        env[var] = str(n)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "")
        + f" --xla_cpu_multi_thread_eigen={'true' if n > 1 else 'false'}"
        + f" intra_op_parallelism_threads={n}"
    ).strip()
    env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def machine(threads):
    """One line on what the run shares the machine with."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (
        f"numpy {np.__version__}; {os.cpu_count()} cores, BLAS threads pinned to {threads}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min) at the start"
    )


class MatmulRate:
    """The matrix-product rate as a contender of the rounds (name it with a leading ``_`` so
    that :func:`report` leaves it out): ``repeat`` n x n products per round, the fastest of
    them counted, so that the rate a workload is set against is sampled all through the run,
    under the same load. ``rate(rounds, name)`` is the best GFLOP/s seen."""

    def __init__(self, dtype=np.float32, n=1024, repeat=5):
        self.a = np.random.default_rng(0).random((n, n)).astype(dtype)
        self.out = np.empty_like(self.a)
        self.n, self.repeat = n, repeat

    def __call__(self):
        best = np.inf
        for _ in range(self.repeat):
            t = time.perf_counter()
            np.matmul(self.a, self.a, out=self.out)
            best = min(best, time.perf_counter() - t)
        return best

    def rate(self, rounds, name):
        return 2 * self.n**3 / rounds.best(name) / 1e9


# ---------------------------------------------------------------------------------------------
# the fastest float32 uniforms NumPy offers


class Uniforms:
    """float32 uniforms on [0, 1) at the cost of the raw bits: SFC64 (the fastest of NumPy's
    bit generators) gives 64 random bits per call of its raw output, split into two 32-bit
    words, each mapped as NumPy's own float32 draw maps it, ``(w >> 8) * 2**-24``. About
    1.5x faster than ``Generator(PCG64).random(dtype=float32)``."""

    def __init__(self, seed):
        self.bits = np.random.SFC64(seed)

    def __call__(self, out):
        n = out.size
        words = self.bits.random_raw((n + 1) // 2).view(np.uint32)[:n]
        np.right_shift(words, 8, out=words)
        flat = out.reshape(-1)
        flat[...] = words.view(np.int32)
        flat *= F32(2.0**-24)
        return out


# ---------------------------------------------------------------------------------------------
# timing: interleaved rounds, ratio ranges


def timer(fn):
    """A contender that is timed here."""

    def run():
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    return run


class Rounds:
    """Times of every contender over interleaved rounds (the order rotates each round), after
    ``warmup`` untimed runs of each."""

    def __init__(self, contenders, rounds, warmup=1):
        self.names = list(contenders)
        self.times = {k: [] for k in self.names}
        self.failed = {}
        for _ in range(warmup):  # a peer's worker has warmed up already (its first call)
            for k in self.names:
                if not isinstance(contenders[k], Peer):
                    self._one(contenders, k, record=False)
        for r in range(rounds):
            order = self.names[r % len(self.names) :] + self.names[: r % len(self.names)]
            for k in order:
                self._one(contenders, k)

    def _one(self, contenders, k, record=True):
        if k in self.failed:
            return
        try:
            t = contenders[k]()
        except PeerError as exc:
            self.failed[k] = str(exc)
            return
        if record:
            self.times[k].append(t)

    def best(self, k):
        return min(self.times[k]) if self.times[k] else np.nan

    def ratio(self, slow, fast):
        """(best-of ratio, min, max) of t[slow] / t[fast] over the rounds both ran."""
        a, b = self.times[slow], self.times[fast]
        n = min(len(a), len(b))
        if n == 0:
            return np.nan, np.nan, np.nan
        r = np.asarray(a[:n]) / np.asarray(b[:n])
        return self.best(slow) / self.best(fast), float(r.min()), float(r.max())


def fmt_ratio(r):
    best, lo, hi = r
    if not np.isfinite(best):
        return "-"
    return f"{best:5.2f}x ({lo:.2f}-{hi:.2f})"


def report(r, work, unit, floor="floor", ours="graphmrf", extra=None, peers=None):
    """Print the rounds as a table: best time, rate, and each contender's speed relative to
    the floor (floor time per unit of work over its own: above 1 is faster than the floor),
    best-of and the range of the per-round ratios; then graphmrf against each peer.
    ``work`` is a number, or a dict of what each contender did per run (a peer run on a
    different batch compares per unit of work). ``extra(name) -> str`` adds a column;
    ``peers`` names the contenders graphmrf is set against (default: all but the floor)."""
    if not isinstance(work, dict):
        work = dict.fromkeys(r.names, work)
    n = len(r.times[floor])
    print(f"  {'':<40}{'best s':>9}{unit:>16}   speed vs floor: best (range over {n} rounds)")
    per = {k: r.best(k) / work[k] for k in r.names if r.times[k] and not k.startswith("_")}

    def rel(a, b):  # per-unit time ratio, best-of and per round
        ra, rb = np.asarray(r.times[a]) / work[a], np.asarray(r.times[b]) / work[b]
        m = min(len(ra), len(rb))
        return per[a] / per[b], float((ra[:m] / rb[:m]).min()), float((ra[:m] / rb[:m]).max())

    for k in r.names:
        if k.startswith("_"):
            continue
        if not r.times[k]:
            print(f"  {k:<40}  {r.failed.get(k, 'did not run')}")
            continue
        col = "floor" if k == floor else fmt_ratio(rel(floor, k))
        print(f"  {k:<40}{r.best(k):9.4f}{work[k] / r.best(k):16.4g}   {col:<24}{extra(k) if extra else ''}")
        if k in r.failed:
            print(f"  {'':<40}  (after {len(r.times[k])} rounds: {r.failed[k]})")
    for k in r.names if peers is None else peers:
        if k not in (floor, ours) and not k.startswith("_") and k in per and ours in per:
            print(f"  {ours} vs {k} (its time / ours): {fmt_ratio(rel(k, ours))}")


# ---------------------------------------------------------------------------------------------
# peers in their own processes, timed one run per request


class PeerError(RuntimeError):
    """A peer's worker process failed or broke the request protocol; the message says how."""


_WORKER_LOOP = r"""
import json, sys, time
spec = json.loads(sys.stdin.readline())
t0 = time.perf_counter()
info, run = setup(spec)
info["build"] = time.perf_counter() - t0
t0 = time.perf_counter()
run()
info["first"] = time.perf_counter() - t0
print(json.dumps(info), flush=True)
for line in sys.stdin:
    t0 = time.perf_counter()
    run()
    print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)
"""


class Peer:
    """A peer library in a worker process: ``setup(spec) -> (info, run)`` is defined by
    ``body``; the worker builds, calls ``run`` once (compilation, warm-up), then times one
    ``run`` per request. The whole life of the worker is bounded by ``limit`` seconds."""

    def __init__(self, body, spec, limit, env, python=None):
        self.deadline = time.monotonic() + limit
        self.limit = limit
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [python or sys.executable, "-c", body + _WORKER_LOOP],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
            env=env,
        )
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()
        self.info = self._read()

    def _read(self):
        left = self.deadline - time.monotonic()
        if left <= 0 or not self.sel.select(timeout=left):
            self.close()
            raise PeerError(f"stopped: over its {self.limit:.0f} s limit (build, compile and runs)")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self.err.seek(0)
            lines = [ln for ln in self.err.read().splitlines() if ln.strip()]
            msg = ([ln for ln in lines if "Error" in ln] or lines or [f"exit {self.proc.returncode}"])[-1]
            if self.proc.returncode is not None and self.proc.returncode < 0:
                msg = f"killed by signal {-self.proc.returncode} (out of memory?)"
            self.close()
            raise PeerError("failed: " + msg.strip()[:150])
        return json.loads(line)

    def __call__(self):
        if self.proc.poll() is not None:
            raise PeerError("stopped")
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return self._read()["seconds"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def start_peer(name, body, spec, limit, env, needs):
    """A :class:`Peer`, or an error line when its library is missing or it fails to start."""
    import importlib.util

    for mod in needs:
        if importlib.util.find_spec(mod) is None:
            return None, f"{name}: not installed (bash benchmarks/setup_env.sh, then run with .bench-venv/bin/python)"
    try:
        return Peer(body, spec, limit, env), None
    except PeerError as exc:
        return None, f"{name}: {exc}"


# ---------------------------------------------------------------------------------------------
# floors: Gibbs sampling


class IsingFloor:
    """Checkerboard Gibbs on an L x L periodic Ising lattice (J = 1, no field) at ``beta``.

    The lattice is kept as its two colours, each an array (chains, L, L/2) of {0, 1} bytes
    (spin = 2 s - 1), updated in place: site (i, j) is black when i + j is even, and the
    black site of row i at column 2k + (i % 2) is ``black[:, i, k]`` (white likewise at
    2k + 1 - i % 2). A black site's neighbours are the white sites (i +- 1, k), (i, k) and
    (i, k - 1) on even rows, (i, k + 1) on odd rows -- sums of shifted views, no copies.
    With k = the number of up neighbours, the field is 2k - 4 and
    p(up) = 1 / (1 + exp(-2 beta (2k - 4))); a unit goes up when u (1 + exp(...)) < 1,
    which is u < p without the division.
    """

    def __init__(self, L, chains, beta, seed=0):
        if L % 2 or L < 4:
            raise ValueError(f"L: the half-lattice floor needs an even L >= 4; got {L}")
        rng = np.random.default_rng(seed)
        self.colour = [(rng.random((chains, L, L // 2)) < 0.5).astype(np.uint8) for _ in range(2)]
        self.count = np.empty((chains, L, L // 2), np.uint8)
        self.x = np.empty((chains, L, L // 2), F32)
        self.u = np.empty_like(self.x)
        self.uniforms = Uniforms(seed + 1)
        self.a, self.c = F32(-4 * beta), F32(8 * beta)  # -2 beta (2k - 4) = a k + c
        self.L = L

    def _up_neighbours(self, other, first):
        """Count of up neighbours of every site of one colour; rows of parity ``first``
        take their fourth neighbour at k - 1, the others at k + 1."""
        n = self.count
        np.add(other[:, :-2], other[:, 2:], out=n[:, 1:-1])
        np.add(other[:, -1], other[:, 1], out=n[:, 0])
        np.add(other[:, -2], other[:, 0], out=n[:, -1])
        n += other
        a, oa = n[:, first::2], other[:, first::2]
        a[:, :, 1:] += oa[:, :, :-1]
        a[:, :, 0] += oa[:, :, -1]
        b, ob = n[:, 1 - first :: 2], other[:, 1 - first :: 2]
        b[:, :, :-1] += ob[:, :, 1:]
        b[:, :, -1] += ob[:, :, 0]
        return n

    def sweep(self, n=1):
        x, u = self.x, self.u
        for _ in range(n):
            for c in (0, 1):
                k = self._up_neighbours(self.colour[1 - c], c)
                np.multiply(k, self.a, out=x)
                x += self.c
                np.exp(x, out=x)
                x += 1
                x *= self.uniforms(u)
                np.less(x, 1, out=self.colour[c].view(bool))

    def spins(self):
        """The lattice as +-1 spins, shape (chains, L, L)."""
        L = self.L
        s = np.empty((self.colour[0].shape[0], L, L), F32)
        for i in range(L):
            p = i % 2
            s[:, i, p::2] = self.colour[0][:, i]
            s[:, i, 1 - p :: 2] = self.colour[1][:, i]
        return 2 * s - 1


def ising_stats(spins):
    """Energy per site and squared magnetisation per chain, spins (chains, L, L) of +-1."""
    e = -(spins * (np.roll(spins, 1, 1) + np.roll(spins, 1, 2))).sum(axis=(1, 2)) / spins[0].size
    m2 = spins.mean(axis=(1, 2)) ** 2
    return e, m2


class RBMGibbsFloor:
    """Block Gibbs on a binary RBM, float32, in place: h ~ p(h | v), then v ~ p(v | h), each
    a matrix product into a preallocated buffer, ``u (1 + exp(-x)) < 1`` written out."""

    def __init__(self, W, b, c, chains, seed=0):
        self.W, self.b, self.c = (np.asarray(a, F32) for a in (W, b, c))
        self.nb, self.nc = -self.b, -self.c
        rng = np.random.default_rng(seed)
        nv, nh = self.W.shape
        self.v = (rng.random((chains, nv)) < 0.5).astype(F32)
        self.h = np.zeros((chains, nh), F32)
        self.xv, self.uv = np.empty((chains, nv), F32), np.empty((chains, nv), F32)
        self.xh, self.uh = np.empty((chains, nh), F32), np.empty((chains, nh), F32)
        self.uniforms = Uniforms(seed + 1)

    @staticmethod
    def _draw(x, minus_bias, u, out, uniforms):
        # x holds -(input without bias): p = 1 / (1 + exp(x - bias))
        x += minus_bias
        np.exp(x, out=x)
        x += 1
        x *= uniforms(u)
        np.less(x, 1, out=out)

    def sweep(self, n=1):
        for _ in range(n):
            np.matmul(self.v, self.W, out=self.xh)
            np.negative(self.xh, out=self.xh)
            self._draw(self.xh, self.nc, self.uh, self.h, self.uniforms)
            np.matmul(self.h, self.W.T, out=self.xv)
            np.negative(self.xv, out=self.xv)
            self._draw(self.xv, self.nb, self.uv, self.v, self.uniforms)


class SequentialFloor:
    """Single-site (systematic-scan) Gibbs on a dense binary Boltzmann machine
    ``p(s) ~ exp(b.s + s.W.s / 2)``, every chain at once, one unit at a time.

    The sigmoid comparison is moved to the noise: u < 1/(1 + exp(-x)) exactly when
    x > log(u / (1 - u)), the logistic variate of u (one logarithm). The whole sweep's
    logistic variates are drawn in one vectorised pass, so the per-unit work is one
    matrix-vector product for the unit's input (bias folded in as a column of ones) and one
    comparison written straight into the unit's row of the unit-major state (units,
    chains). (Incremental field updates cost more here: at this temperature about half the
    chains change at every step; so does the blocked form of graphmrf's kernel written in
    NumPy -- a product per block of 4 to 32 units, then each change corrected into the
    block's later units -- measured 1.1-1.9x this floor's time at 100 units, 1000 chains.)"""

    def __init__(self, W, b, chains, seed=0):
        n = len(b)
        self.Wb = np.zeros((n, n + 1), F32)  # [W | b]: the input of unit i is Wb[i] @ [s; 1]
        self.Wb[:, :n] = W
        self.Wb[:, n] = b
        self.S = np.ones((n + 1, chains), F32)
        rng = np.random.default_rng(seed)
        self.S[:n] = rng.random((n, chains)) < 0.5
        self.noise = np.empty((n, chains), F32)
        self.tmp = np.empty((n, chains), F32)
        self.x = np.empty(chains, F32)
        self.uniforms = Uniforms(seed + 1)
        self.n = n

    def set_state(self, state):
        self.S[: self.n] = np.asarray(state, F32).T

    def state(self):
        return self.S[: self.n].T

    def sweep(self, sweeps=1):
        noise, tmp, x, S, Wb = self.noise, self.tmp, self.x, self.S, self.Wb
        for _ in range(sweeps):
            self.uniforms(noise)
            np.subtract(1, noise, out=tmp)
            np.divide(noise, tmp, out=noise)
            with np.errstate(divide="ignore"):  # u = 0 gives -inf: always on, as u < p
                np.log(noise, out=noise)  # logistic variates
            for i in range(self.n):
                np.matmul(Wb[i], S, out=x)
                np.greater(x, noise[i], out=S[i])


class HopfieldRecallFloor:
    """Zero-temperature asynchronous dynamics of a Hopfield network (spins, no bias): each
    unit in turn set to sign(W_i . s), a tie (zero input) keeping its value.

    Units are taken in blocks of ``block`` (in the sweep's order): one matrix product gives
    the inputs of a block's units in every chain from the current state, then the units are
    updated one at a time, each update corrected into the inputs of the block's later units
    by a rank-one term on the chains where it changed (``2 s_new W[block, i]``). The
    products do the bulk of the work at the matrix-product rate; the per-unit work touches
    only the block. State unit-major (units, chains), so a unit's row is contiguous (the
    transposes in and out are part of the timing)."""

    def __init__(self, W, block=64):
        self.W = np.asarray(W, F32)
        self.block = block

    def run(self, probes, order):
        """``probes`` (chains, n) of +-1; ``order``: a sequence of unit orders, one per sweep.
        Returns the final states (chains, n)."""
        W, B = self.W, self.block
        S = np.ascontiguousarray(np.asarray(probes, F32).T)
        for perm in order:
            perm = np.asarray(perm)
            for k in range(0, len(perm), B):
                units = perm[k : k + B]
                Wb = W[units]  # (B, n): rows of the block's units
                X = Wb @ S  # their inputs, (B, chains)
                for j, i in enumerate(units):
                    s = S[i]
                    flip = np.flatnonzero(X[j] * s < 0)  # input against the spin: it turns
                    if flip.size:
                        s[flip] = -s[flip]
                        X[j + 1 :, flip] += np.outer(Wb[j + 1 :, i], 2 * s[flip])
        return S.T


# ---------------------------------------------------------------------------------------------
# floors: training


class CD1Floor:
    """CD-1 (or PCD-1) on a binary RBM, float32, preallocated: per mini-batch three matrix
    products for the sampling and one for the weight gradient of both phases at once,
    ``[v0; v1]^T [ph0; -ph1] lr/n`` (inner size 2 x batch); the biases from the same stacked
    arrays. CD-1: h0 ~ p(h | v0), v1 ~ p(v | h0), ph1 = p(h = 1 | v1) (Hinton's recipe, as
    ``gm.fit(rule="cd")``). PCD-1 (``persistent=True``): the negative chains' h is kept from
    the last batch's draw from ph1 (as scikit-learn's BernoulliRBM does), ``batch`` chains."""

    def __init__(self, W, b, c, batch, seed=0, persistent=False):
        self.W = np.array(W, F32)
        self.b, self.c = np.array(b, F32), np.array(c, F32)
        nv, nh = self.W.shape
        self.V = np.empty((2 * batch, nv), F32)  # [v0; v1]
        self.P = np.empty((2 * batch, nh), F32)  # [ph0; ph1], then scaled to [ph0; -ph1] lr / n
        self.h0 = np.empty((batch, nh), F32)
        self.xv, self.uv = np.empty((batch, nv), F32), np.empty((batch, nv), F32)
        self.uh = np.empty((batch, nh), F32)
        self.gW = np.empty((nv, nh), F32)
        self.sign = np.empty(2 * batch, F32)
        self.uniforms = Uniforms(seed + 1)
        self.rng = np.random.default_rng(seed)
        self.persistent = persistent
        if persistent:  # the chains' hidden units, drawn at random to start
            self.h0[...] = self.rng.random((batch, nh)) < 0.5

    @staticmethod
    def _sigmoid(x):
        np.negative(x, out=x)
        np.exp(x, out=x)
        x += 1
        np.reciprocal(x, out=x)

    def step(self, v0, lr):
        n = v0.shape[0]
        V, P = self.V[: 2 * n], self.P[: 2 * n]
        V[:n] = v0
        ph0, ph1, v1 = P[:n], P[n:], V[n:]
        np.matmul(v0, self.W, out=ph0)
        ph0 += self.c
        self._sigmoid(ph0)
        h0 = self.h0[:n]
        if not self.persistent:
            np.less(self.uniforms(self.uh[:n]), ph0, out=h0)
        xv = self.xv[:n]
        np.matmul(h0, self.W.T, out=xv)
        xv += self.b
        np.negative(xv, out=xv)
        np.exp(xv, out=xv)
        xv += 1
        xv *= self.uniforms(self.uv[:n])
        np.less(xv, 1, out=v1)  # u (1 + exp(-x)) < 1: u < p(v = 1 | h0)
        np.matmul(v1, self.W, out=ph1)
        ph1 += self.c
        self._sigmoid(ph1)
        if self.persistent:
            np.less(self.uniforms(self.uh[:n]), ph1, out=h0)
        ph1 *= -1
        P *= F32(lr / n)  # [ph0; -ph1] lr / n
        np.matmul(V.T, P, out=self.gW)
        self.W += self.gW
        sign = self.sign[: 2 * n]
        sign[:n], sign[n:] = lr / n, -lr / n
        self.b += sign @ V
        self.c += P.sum(axis=0)

    def epoch(self, X, lr, batch):
        order = self.rng.permutation(len(X))  # shuffled mini-batches, as gm.fit draws them
        for i in range(0, len(X), batch):
            self.step(X[order[i : i + batch]], lr)


# ---------------------------------------------------------------------------------------------
# floors: exact enumeration


def _bits(n_states, n):
    """Every state of n binary units, (n_states, n) float64, first unit most significant."""
    idx = np.arange(n_states)
    return ((idx[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.float64)


class DenseExactFloor:
    """log Z and all marginals of ``p(s) ~ exp(b.s + s.W.s/2)``, s in {0,1}^n, float64.

    A state splits into a high part (the first n - k units, rows r) and a low part (the last
    k, columns l): ``p ~ e_hi[r] e_lo[l] exp(g[r] . s_lo[l])`` with ``e_hi``, ``e_lo`` the
    parts' own terms and ``g = S_hi W_hl`` the cross factor, all built once. No exp per
    state: a block of rows' ``exp(g . s_lo)`` over every low state is built by doubling --
    each low unit in turn, the table so far copied times ``exp(g_j)`` (one multiply per
    state) -- then ``Z`` and the masses of rows and columns (the marginals) are matrix-vector
    products with ``e_lo`` and ``e_hi``. Exponents are shifted by the parts' maxima; the
    cross factor is bounded (checked) so nothing overflows.
    """

    def __init__(self, W, b, k=14, rows=8):
        n = len(b)
        self.n, self.k = n, min(k, n)
        self.h = n - self.k
        W, b = np.asarray(W, np.float64), np.asarray(b, np.float64)
        lo, hi = _bits(2**self.k, self.k), _bits(2**self.h, self.h)
        self.lo, self.hi = lo, hi
        a_lo = lo @ b[self.h :] + 0.5 * np.einsum("ij,ij->i", lo @ W[self.h :, self.h :], lo)
        a_hi = hi @ b[: self.h] + 0.5 * np.einsum("ij,ij->i", hi @ W[: self.h, : self.h], hi)
        g = hi @ W[: self.h, self.h :]  # (2^h, k)
        if np.abs(g).sum(axis=1).max() > 600:
            raise ValueError("DenseExactFloor: cross terms beyond e^600 would overflow the doubling tables")
        self.m = a_hi.max() + a_lo.max()
        self.e_hi, self.e_lo = np.exp(a_hi - a_hi.max()), np.exp(a_lo - a_lo.max())
        self.eg = np.exp(g)
        self.rows = min(rows, 2**self.h)
        self.E = np.empty((self.rows, 2**self.k))

    def _blocks(self):
        """Yield (first row, rows, table exp(g[r] . s_lo[l]))."""
        k = self.k
        for r in range(0, 2**self.h, self.rows):
            R = min(self.rows, 2**self.h - r)
            E, eg = self.E[:R], self.eg[r : r + R]
            E[:, 0] = 1.0
            w = 1
            for j in range(k - 1, -1, -1):  # the last unit is the least significant digit
                np.multiply(E[:, :w], eg[:, j, None], out=E[:, w : 2 * w])
                w *= 2
            yield r, R, E

    def log_partition(self):
        z = 0.0
        for r, R, E in self._blocks():
            z += self.e_hi[r : r + R] @ (E @ self.e_lo)
        return self.m + np.log(z)

    def marginals(self):
        """(log Z, marginals (n,))."""
        row_mass, col = np.empty(2**self.h), np.zeros(2**self.k)
        for r, R, E in self._blocks():
            e = self.e_hi[r : r + R]
            row_mass[r : r + R] = e * (E @ self.e_lo)
            col += e @ E
        col *= self.e_lo
        z = row_mass.sum()
        return self.m + np.log(z), np.concatenate([row_mass @ self.hi, col @ self.lo]) / z


class RBMExactFloor:
    """log Z of a binary RBM (visible b, hidden c, weights W (nv, nh)), float64, enumerating
    the 2^nh hidden states with the visible units summed analytically:
    ``log Z = logsumexp_h [c.h + sum_i softplus(b_i + W_i . h)]``.

    No transcendental per (state, visible unit): with the hidden states split into a high and
    a low half, ``exp(b + W h) = E_hi[i, r] * E_lo[i, l]`` from two small unit-major tables,
    so the sum of softplus terms is ``sum_i log(1 + E_hi E_lo)`` = the log of products of
    ``1 + E_hi E_lo`` over groups of units: one multiply and one add per element, the
    products by in-place halvings of contiguous blocks (2^folds units to a group, few enough
    that no product can overflow, from a bound on the inputs), one log per group."""

    def __init__(self, W, b, c, chunk=256):
        W, b, c = (np.asarray(a, np.float64) for a in (W, b, c))
        nv, nh = W.shape
        self.h = nh // 2
        k = nh - self.h
        lo, hi = _bits(2**k, k), _bits(2**self.h, self.h)
        bound = np.abs(b) + np.abs(W).sum(axis=1)  # |input| of each visible unit, any h
        per = float(np.log1p(np.exp(bound)).max())  # the largest log(1 + e^x) of any unit
        self.folds = 0
        while self.folds < 4 and 2 ** (self.folds + 1) * per < 600:  # float64 ends near e^709
            self.folds += 1
        pad = (-nv) % 2**self.folds  # padded units have E = 0: a factor of exactly 1
        self.E_lo = np.zeros((nv + pad, 2**k))
        self.E_hi = np.zeros((nv + pad, 2**self.h))
        self.E_lo[:nv] = np.exp(W[:, self.h :] @ lo.T + b[:, None])
        self.E_hi[:nv] = np.exp(W[:, : self.h] @ hi.T)
        self.c_lo, self.c_hi = lo @ c[self.h :], hi @ c[: self.h]
        self.chunk = min(chunk, 2**k)
        self.buf = np.empty((nv + pad, self.chunk))
        self.lw = np.empty((2**self.h, 2**k))

    def log_partition(self):
        E_lo, E_hi, t, lw, C = self.E_lo, self.E_hi, self.buf, self.lw, self.chunk
        for r in range(E_hi.shape[1]):
            for j in range(0, E_lo.shape[1], C):
                np.multiply(E_hi[:, r, None], E_lo[:, j : j + C], out=t)
                t += 1
                w = t.shape[0]
                for _ in range(self.folds):
                    w //= 2
                    t[:w] *= t[w : 2 * w]
                np.log(t[:w], out=t[:w])
                t[:w].sum(axis=0, out=lw[r, j : j + C])
        lw += self.c_hi[:, None]
        lw += self.c_lo
        m = lw.max()
        return m + np.log(np.exp(lw - m).sum())
