"""RBM training speed: one epoch of CD-1 and of PCD-1, 784 visible x 500 hidden, float32.

10,000 binary training vectors (noisy copies of 20 random prototypes, generated here),
mini-batches of 100, shuffled. Contenders, each run once per round, rounds interleaved
(ratios: best of each, and the range of the per-round ratios), all warmed up by a first run:
  * the floors (``floors.CD1Floor``): CD-1 and PCD-1 in preallocated float32 buffers, in-place
    sigmoid written out, SFC64's raw bits as uniforms, the weight gradient of both phases as one
    matrix product -- four products per batch. The CD-1 floor and ``gm.fit`` are first checked
    against the exact expected CD-1 update of a small RBM (enumeration of h0 and v1);
  * graphmrf ``gm.fit`` (rule "cd" and "pcd", k = 1, 100 persistent chains, no monitors);
  * scikit-learn's BernoulliRBM (its only rule, PCD-1), ``fit`` for one pass (``n_iter=1``);
  * learnergy's RBM on the CPU (torch, threads pinned like BLAS), ``fit`` for one epoch on a
    TensorDataset -- as its documentation runs it; its fit also computes the reconstruction
    error and a pseudo-likelihood per batch, which cannot be turned off.
GFLOP/s counts the CD-1 epoch's five products of batch x 784 x 500 (what the textbook algorithm
does; the floor's stacked gradient does the same arithmetic in one product), against this
machine's float32 matrix-product rate, 1024^2 products timed in the same rounds.

``--threads`` pins BLAS (and torch) threads; ``--quick`` runs 2,000 examples and 3 rounds.
"""

import argparse
import logging
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import floors  # noqa: E402
from floors import Rounds, report, timer  # noqa: E402

import graphmrf as gm  # noqa: E402

NV, NH, BATCH = 784, 500, 100


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    proto = rng.random((20, NV)) < 0.3
    X = proto[rng.integers(0, 20, n)]
    flip = rng.random((n, NV)) < 0.05
    return np.where(flip, ~X, X).astype(np.float32)


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _bits(n):
    return ((np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.float64)


def expected_cd1(W, b, c, rows):
    """The exact expected CD-1 update (lr = 1) over ``rows``: h0 ~ p(h | v0), v1 ~ p(v | h0),
    ph1 = p(h | v1), by enumerating h0 and v1."""
    nv, nh = W.shape
    H, V = _bits(nh), _bits(nv)
    gW, gb, gc = np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)
    for v0 in rows:
        ph0 = _sig(v0 @ W + c)
        p_h0 = np.prod(np.where(H == 1, ph0, 1 - ph0), axis=1)  # (2^nh,)
        pv = _sig(H @ W.T + b)  # (2^nh, nv)
        p_v1 = np.prod(np.where(V[None] == 1, pv[:, None], 1 - pv[:, None]), axis=2)  # (2^nh, 2^nv)
        q = p_h0 @ p_v1  # p(v1) after one step from v0
        ph1 = _sig(V @ W + c)
        gW += np.outer(v0, ph0) - (V * q[:, None]).T @ ph1
        gb += v0 - q @ V
        gc += ph0 - q @ ph1
    return gW / len(rows), gb / len(rows), gc / len(rows)


def check_cd1():
    """One CD-1 step with lr = 1 on 20,000 rows (4 patterns, 5,000 copies each) of a 5 x 3 RBM
    with strong weights: the batch-mean update of the floor and of gm.fit must match the exact
    expectation within 5 standard errors (each entry a mean of terms in [-1, 1], SE <= 1/sqrt(n))."""
    nv, nh, n = 5, 3, 20000
    rng = np.random.default_rng(7)
    W, b, c = rng.normal(0, 1.5, (nv, nh)), rng.normal(0, 1, nv), rng.normal(0, 1, nh)
    pats = (rng.random((4, nv)) < 0.5).astype(np.float64)
    X = np.repeat(pats, n // 4, axis=0).astype(np.float32)
    exact = np.concatenate([a.ravel() for a in expected_cd1(W, b, c, pats)])
    tol = 5 / np.sqrt(n)
    fl = floors.CD1Floor(W, b, c, n, seed=3)
    fl.step(X, 1.0)
    d_floor = np.concatenate(
        [(fl.W - W.astype(np.float32)).ravel(), fl.b - b.astype(np.float32), fl.c - c.astype(np.float32)]
    )
    prog = gm.compile(gm.rbm(nv, nh, seed=0), seed=0)
    prog.params["v~h.weight"][...], prog.params["v.bias"][...], prog.params["h.bias"][...] = W, b, c
    before = {k: v.copy() for k, v in prog.params.items()}
    gm.fit(prog, X, epochs=1, lr=1.0, rule="cd", k=1, batch_size=n, monitors=(), seed=4)
    d_gm = np.concatenate([(prog.params[k] - before[k]).ravel() for k in ("v~h.weight", "v.bias", "h.bias")])
    e_f, e_g = np.abs(d_floor - exact).max(), np.abs(d_gm - exact).max()
    dev = f"floor {e_f:.4f}, graphmrf {e_g:.4f} (bound {tol:.4f})"
    return e_f < tol and e_g < tol, f"largest deviation from the exact expected CD-1 update: {dev}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 examples, 3 rounds")
    ap.add_argument("--threads", type=int, default=1, help="BLAS/torch threads for every contender (default 1)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5, quick 3)")
    args = ap.parse_args()
    args.rounds = args.rounds or (3 if args.quick else 5)
    floors.pin_threads(args.threads)
    t0 = time.perf_counter()
    print(f"graphmrf {gm.__version__}; {floors.machine(args.threads)}")
    N = 2000 if args.quick else 10000
    X = data(N)
    flops = N * 5 * 2 * NV * NH  # CD-1: five (batch x 784 x 500) matrix products per batch
    print(f"one epoch of CD-1 on {N} examples is {flops / 1e9:.1f} GFLOP")
    t = time.perf_counter()
    ok, msg = check_cd1()
    print(f"check ({time.perf_counter() - t:.1f} s): {'ok' if ok else 'FAILED'} -- {msg}")
    if not ok:
        raise SystemExit("the CD-1 floor or gm.fit disagrees with the exact expected update")

    prog = gm.compile(gm.rbm(NV, NH, seed=0), seed=0)  # compiled once, outside the timing
    W0, b0, c0 = (np.asarray(prog.params[k]).copy() for k in ("v~h.weight", "v.bias", "h.bias"))
    cd, pcd = floors.CD1Floor(W0, b0, c0, BATCH), floors.CD1Floor(W0, b0, c0, BATCH, persistent=True)
    contenders = {
        "floor CD-1": timer(lambda: cd.epoch(X, 0.01, BATCH)),
        "floor PCD-1": timer(lambda: pcd.epoch(X, 0.01, BATCH)),
    }
    for rule in ("cd", "pcd"):
        p = gm.compile(gm.rbm(NV, NH, seed=0), seed=0)
        contenders[f"graphmrf {rule.upper()}-1"] = timer(
            lambda p=p, rule=rule: gm.fit(
                p, X, epochs=1, lr=0.01, rule=rule, k=1, batch_size=BATCH, chains=BATCH, monitors=(), seed=0
            )
        )
    try:
        from sklearn.neural_network import BernoulliRBM

        skl = BernoulliRBM(n_components=NH, batch_size=BATCH, n_iter=1, learning_rate=0.01, random_state=0)
        contenders["scikit-learn BernoulliRBM (PCD-1)"] = timer(lambda: skl.fit(X))
    except ImportError:
        print("scikit-learn: not installed")
    try:
        import torch
        from learnergy.models.bernoulli import RBM as LRBM

        logging.disable(logging.INFO)  # learnergy logs every epoch
        torch.set_num_threads(args.threads)
        torch.manual_seed(0)
        lmodel = LRBM(n_visible=NV, n_hidden=NH, steps=1, learning_rate=0.01, use_gpu=False)
        dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.zeros(N))
        contenders["learnergy RBM (CD-1, torch CPU)"] = timer(lambda: lmodel.fit(dataset, batch_size=BATCH, epochs=1))
    except Exception as exc:  # not installed, or its API moved
        print(f"learnergy: not run ({type(exc).__name__}: {str(exc)[:80]})")

    product = floors.MatmulRate(np.float32)
    contenders["_product"] = product  # timed in the same rounds: the rate under the same load
    r = Rounds(contenders, args.rounds)
    peak = product.rate(r, "_product")
    print(f"\nfloat32 matrix product (1024^2), best of the run: {peak:.1f} GFLOP/s")

    def gflops(k):
        rate = flops / r.best(k) / 1e9
        return f"{rate:6.1f} GFLOP/s ({rate / peak:.0%} of the product rate)"

    print(f"one epoch, {N} examples, batches of {BATCH}:")
    report(r, N, "samples/s", floor="floor CD-1", ours="graphmrf CD-1", extra=gflops, peers=())
    for rule in ("PCD-1",):
        print(f"  graphmrf {rule} vs floor {rule}: {floors.fmt_ratio(r.ratio(f'floor {rule}', f'graphmrf {rule}'))}")
    for peer in ("scikit-learn BernoulliRBM (PCD-1)", "learnergy RBM (CD-1, torch CPU)"):
        if peer in r.names and r.times[peer]:
            ours = "graphmrf PCD-1" if "PCD" in peer else "graphmrf CD-1"
            print(f"  {ours} vs {peer} (its time / ours): {floors.fmt_ratio(r.ratio(peer, ours))}")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
