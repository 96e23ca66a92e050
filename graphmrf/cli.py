"""Command line: ``graphmrf exact|sample|verify [MODEL]``, ``graphmrf models`` and
``graphmrf --version``.

``MODEL`` is a file written by :func:`graphmrf.save` or the name of a shipped model
(``graphmrf models`` lists them); without one, the lecture's 2-visible/2-hidden
Boltzmann machine is used.

Exit status: 0 done (and, for ``verify``, passed), 1 ``verify`` failed, 2 a bad argument,
file or model (one line on stderr, like argparse's own usage errors), 141 the reader of
stdout went away (``graphmrf exact | head -1``; 128 + SIGPIPE, as a shell reports a
program killed by the signal), quietly.
"""

import argparse
import os
import sys
import time

import numpy as np

from . import __version__
from .errors import GraphMRFError, ModelFileError

DEFAULT_MODEL = "lecture_bm.graphml"


def _resolve(name):
    from . import models

    if os.path.exists(name):
        return name
    if name in models.names():
        return models.path(name)
    raise ModelFileError(f"model {name!r}: no such file and not a shipped model ({', '.join(models.names())})")


def _describe(prog, path):
    lines = [f"model    {path}", f"program  {prog}"]
    for L in prog.layers:
        vis = int(L.visible.sum())
        lines.append(f"  layer {L.name!r}: {L.n} {L.kind.name} units ({vis} visible), columns {L.sl.start}:{L.sl.stop}")
    lines.append(f"  {len(prog.blocks)} blocks of conditionally independent units")
    return "\n".join(lines)


def _open(args, **compile_options):
    """Load and compile the model named on the command line, and describe it."""
    from .compile import compile as compile_
    from .io import load

    path = _resolve(args.model)
    prog = compile_(load(path), **compile_options)
    print(_describe(prog, path))
    return prog


def cmd_exact(args):
    from . import exact

    prog = _open(args, dtype=np.float64)
    t0 = time.perf_counter()
    p = exact.plan(prog, max_states=args.max_states)
    log_z = exact.log_partition(prog, beta=args.beta, max_states=args.max_states)
    print(f"plan     {p.describe()}")
    print(f"log Z    {log_z:.10g}   (Z = {np.exp(log_z):.6g}, beta = {args.beta:g})")
    marg = exact.marginals(prog, beta=args.beta, max_states=args.max_states)
    print("marginals E[s]:")
    for node, m in marg.items():
        print(f"  {node!s:>12}: {np.array2string(np.asarray(m), precision=4, max_line_width=100)}")
    discrete = all(L.kind.discrete for L in prog.layers)
    n_joint = int(np.prod([float(L.kind.n_states(L.width)) ** L.n for L in prog.layers])) if discrete else 0
    if discrete and n_joint <= 64:
        print("joint table:")
        print(exact.table(prog, beta=args.beta))
    vis_discrete = all(L.kind.discrete for L in prog.layers if L.visible.any())
    if vis_discrete and prog.visible_columns.size <= 10 and prog.hidden_columns.size:
        states, probs = exact.distribution(prog, beta=args.beta, max_states=args.max_states)
        print("p(v), hidden units summed out:")
        for s, q in zip(states, probs):
            print(f"  v = {''.join(f'{int(x)}' if x >= 0 else '-' for x in s)}  p = {q:.4f}")
    print(f"time     {time.perf_counter() - t0:.3f} s")
    return 0


def cmd_sample(args):
    from .samplers import sample

    prog = _open(args, seed=args.seed)
    t0 = time.perf_counter()
    run = sample(prog, args.sweeps, chains=args.chains, burn_in=args.burn_in, method=args.method, beta=args.beta, seed=args.seed, progress=args.progress)
    dt = time.perf_counter() - t0
    units = sum(L.n for L in prog.layers)
    print(f"sampled  {args.chains} chains x {args.sweeps} sweeps ({args.method}, beta = {args.beta:g}) in {dt:.3f} s: {units * args.chains * args.sweeps / dt:.3g} unit updates/s")
    e = np.asarray(run.energy, dtype=np.float64)
    print(f"energy   mean over chains: first sweep {e[0].mean():.4f}, last sweep {e[-1].mean():.4f}")
    if run.samples.shape[0]:
        means = np.asarray(run.samples, dtype=np.float64).mean(axis=(0, 1))
        print("sample means E[s] after burn-in:")
        for node in prog.graph.nodes:
            print(f"  {node!s:>12}: {np.array2string(means[prog.columns(node)], precision=4, max_line_width=100)}")
    return 0


def cmd_verify(args):
    from .verify import verify

    prog = _open(args, seed=args.seed)
    report = verify(prog, args.method, n_chains=args.chains, n_sweeps=args.sweeps, beta=args.beta, alpha=args.alpha, seed=args.seed)
    print(report)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ax = report.plot()
        ax.figure.savefig(args.plot, dpi=100)
        print(f"plot     {args.plot}")
    return 0 if report.passed else 1


def cmd_models(args):
    from . import models

    for name in models.names():
        print(f"{name}  {models.path(name)}")
    return 0


#: exit status when stdout is closed under us: 128 + SIGPIPE, what a shell reports for a
#: program the signal killed (``yes | head -1``), so ``set -o pipefail`` scripts see it
EXIT_BROKEN_PIPE = 141
#: exit status for a bad argument, file or model (argparse uses 2 for usage errors too)
EXIT_ERROR = 2


def main(argv=None):
    """Run the command line; return the exit status (see the module docstring).

    Library errors (:class:`~graphmrf.errors.GraphMRFError`, and the ``ValueError`` and
    ``TypeError`` of argument checks) become one line on stderr and exit status 2, with no
    traceback; a closed stdout ends the run quietly with status 141.
    """
    parser = argparse.ArgumentParser(prog="graphmrf", description="Graphical models of stochastic neurons: declare, compile, enumerate.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command")
    ex = sub.add_parser("exact", help="exact log Z, marginals and p(v) of a small model by enumeration")
    ex.add_argument("model", nargs="?", default=DEFAULT_MODEL, help=f"model file or shipped model name (default {DEFAULT_MODEL})")
    ex.add_argument("--beta", type=float, default=1.0, help="inverse temperature (default 1)")
    ex.add_argument("--max-states", type=int, default=2**27, help="refuse to enumerate more states than this")
    ex.set_defaults(fn=cmd_exact)
    from .samplers import METHODS

    def sampler_parser(name, help_, chains, sweeps, fn):
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("model", nargs="?", default=DEFAULT_MODEL)
        sp.add_argument("--method", default="gibbs", choices=sorted(METHODS))
        sp.add_argument("--chains", type=int, default=chains)
        sp.add_argument("--sweeps", type=int, default=sweeps)
        sp.add_argument("--beta", type=float, default=1.0)
        sp.add_argument("--seed", type=int, default=0)
        sp.set_defaults(fn=fn)
        return sp

    sa = sampler_parser("sample", "run MCMC chains on a model and summarise them", 1000, 200, cmd_sample)
    sa.add_argument("--burn-in", type=int, default=100)
    sa.add_argument("--progress", action="store_true", default=None, help="show a progress bar")
    ve = sampler_parser("verify", "check a sampler against exact enumeration (chi-square, stationarity)", 20000, 100, cmd_verify)
    ve.add_argument("--alpha", type=float, default=1e-3, help="false-positive rate of the whole check")
    ve.add_argument("--plot", help="write the exact-vs-empirical plot to this PNG file")
    mo = sub.add_parser("models", help="list the models shipped with graphmrf")
    mo.set_defaults(fn=cmd_models)
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            args = parser.parse_args(["exact"])
        status = args.fn(args)
        sys.stdout.flush()  # a closed pipe shows here rather than at interpreter exit
        return status
    except BrokenPipeError:
        # the Python docs' recipe: point stdout at devnull so the final flush cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (GraphMRFError, ValueError, TypeError) as exc:
        print(f"graphmrf: {' '.join(str(exc).splitlines())}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
