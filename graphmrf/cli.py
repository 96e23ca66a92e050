"""Command line: ``graphmrf exact|sample|verify [MODEL]``, ``graphmrf models`` and
``graphmrf --version``.

``MODEL`` is a file written by :func:`graphmrf.save` or the name of a shipped model, with
or without its extension (``graphmrf models`` lists them); without one, the lecture's
2-visible/2-hidden Boltzmann machine is used.

Exit status: 0 done (and, for ``verify``, passed), 1 ``verify`` failed, 2 a bad argument,
file or model (one line on stderr, like argparse's own usage errors), 3 ``verify`` was
inconclusive (no check had the power to fail), 141 the reader of stdout went away
(``graphmrf exact | head -1``; 128 + SIGPIPE, as a shell reports a program killed by the
signal), quietly.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

from . import __version__, exact, models
from .compile import compile as compile_
from .errors import GraphMRFError, ModelError, ModelFileError
from .io import load
from .samplers import METHODS, sample
from .verify import EXIT_STATUS, verify

DEFAULT_MODEL = "lecture_bm.graphml"
MODEL_EXTENSIONS = (".graphml", ".npz")


def _resolve(name):
    """The path of model ``name``: an existing file, or a shipped model named with or
    without its extension ("explaining_away" finds "explaining_away.graphml")."""

    if os.path.isfile(name):
        return name
    shipped = models.names()
    for candidate in (name, *(name + ext for ext in MODEL_EXTENSIONS)):
        if candidate in shipped:
            return models.path(candidate)
    stems = ", ".join(os.path.splitext(f)[0] for f in shipped)
    raise ModelFileError(f"model {name!r}: no such file and not a shipped model (shipped: {stems})")


def _describe(prog, path):
    lines = [f"model    {path}", f"program  {prog}"]
    for L in prog.layers:
        vis = int(L.visible.sum())
        lines.append(f"  layer {L.name!r}: {L.n} {L.kind.name} units ({vis} visible), columns {L.sl.start}:{L.sl.stop}")
    lines.append(f"  {len(prog.blocks)} blocks of conditionally independent units")
    return "\n".join(lines)


def _open(args, quiet=False, **compile_options):
    """Load and compile the model named on the command line, and describe it (unless ``quiet``)."""

    path = _resolve(args.model)
    prog = compile_(load(path), **compile_options)
    if not quiet:
        print(_describe(prog, path))
    return prog


def cmd_exact(args):

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

    prog = _open(args, seed=args.seed)
    t0 = time.perf_counter()
    run = sample(
        prog,
        args.sweeps,
        chains=args.chains,
        burn_in=min(100, args.sweeps) if args.burn_in is None else args.burn_in,
        method=args.method,
        beta=args.beta,
        seed=args.seed,
        progress=args.progress,
    )
    dt = time.perf_counter() - t0
    units = sum(L.n for L in prog.layers)
    print(
        f"sampled  {args.chains} chains x {args.sweeps} sweeps ({args.method}, beta = {args.beta:g}) in {dt:.3f} s: "
        f"{units * args.chains * args.sweeps / dt:.3g} unit updates/s"
    )
    e = np.asarray(run.energy, dtype=np.float64)
    print(f"energy   mean over chains: first sweep {e[0].mean():.4f}, last sweep {e[-1].mean():.4f}")
    if run.samples.shape[0]:
        means = np.asarray(run.samples, dtype=np.float64).mean(axis=(0, 1))
        print("sample means E[s] after burn-in:")
        for node in prog.graph.nodes:
            print(f"  {node!s:>12}: {np.array2string(means[prog.columns(node)], precision=4, max_line_width=100)}")
    return 0


def _clamp_value(text):
    """``--clamp`` value: a number, or comma-separated numbers for a layer node."""
    parts = [t for t in text.replace(" ", "").split(",") if t]
    if not parts:
        raise ValueError("no value")
    vals = [float(t) for t in parts]
    if not all(math.isfinite(v) for v in vals):
        raise ValueError("not finite")
    return vals[0] if len(vals) == 1 and "," not in text else vals


def _clamp_item(text):
    """``NODE=VALUE`` (argparse type of ``--clamp``)."""
    node, sep, value = text.partition("=")
    if not sep or not node.strip():
        raise argparse.ArgumentTypeError(f"expected NODE=VALUE (e.g. house_jumps=1 or v=1,0,1); got {text!r}")
    try:
        return node.strip(), _clamp_value(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the value must be a number or comma-separated numbers") from None


def _clamp_dict(items, prog):
    """``{node: value}`` from ``--clamp`` items, nodes matched by their printed name."""

    by_name = {str(n): n for L in prog.layers for n in L.nodes}
    out = {}
    for name, value in items:
        if name not in by_name:
            raise ModelError(
                f"--clamp {name}: no node of that name in the model (nodes: {', '.join(map(str, by_name))})"
            )
        out[by_name[name]] = value
    return out


def _load_data(path):
    """A data file for the gradient mode: ``.npy`` (no pickles) or text (comma or
    whitespace separated), one visible vector per row."""

    try:
        if path.endswith(".npy"):
            data = np.load(path, allow_pickle=False)
        else:
            with open(path, encoding="utf-8") as f:
                head = f.read(4096)
            data = np.loadtxt(path, delimiter="," if "," in head else None, ndmin=2)
    except (OSError, ValueError) as exc:
        raise GraphMRFError(f"--data {path}: cannot be read as a table of numbers ({exc})") from None
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or not data.size:
        raise GraphMRFError(f"--data {path}: expected a non-empty table (rows, visible units); got shape {data.shape}")
    return data


def cmd_verify(args):

    prog = _open(args, quiet=args.json, seed=args.seed)
    options = dict(
        n_chains=args.chains, n_sweeps=args.sweeps, alpha=args.alpha, seed=args.seed, max_states=args.max_states
    )
    if args.method in _GRADIENT or args.method == "ais":
        if args.method in _GRADIENT:
            options.update(data=_load_data(args.data) if args.data else None)
        options.update(replicates=args.replicates)
        for flag, value in (
            ("--clamp", args.clamp),
            ("--detect-beta", args.detect_beta),
            ("--detect-tv", args.detect_tv),
        ):
            if value:
                raise GraphMRFError(f"verify: {flag} applies to samplers, not to --method {args.method}")
    else:
        options.update(
            beta=args.beta,
            clamp=_clamp_dict(args.clamp, prog) or None,
            detect_beta=args.detect_beta,
            detect_tv=args.detect_tv,
        )
    report = verify(prog, args.method, **options)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        ax = report.plot()
        ax.figure.savefig(args.plot, dpi=100)
        if not args.json:
            print(f"plot     {args.plot}")
    return EXIT_STATUS[report.verdict]


def _number(kind, low=None, high=None, open_low=False, open_high=False):
    """An argparse type: a finite number of ``kind`` within bounds, named in the error."""

    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}; got {text!r}"
            ) from None
        bad = (
            not math.isfinite(v)
            or (low is not None and (v < low or (open_low and v == low)))
            or (high is not None and (v > high or (open_high and v == high)))
        )
        if bad:
            lo = "" if low is None else f"{'>' if open_low else '>='} {low:g}"
            hi = "" if high is None else f"{'<' if open_high else '<='} {high:g}"
            raise argparse.ArgumentTypeError(f"must be {' and '.join(x for x in (lo, hi) if x)}; got {text!r}")
        return v

    return parse


def _factor(text):
    v = _number(float, 0, open_low=True)(text)
    if v == 1:
        raise argparse.ArgumentTypeError("must differ from 1 (e.g. 0.97 or 1.03)")
    return v


_GRADIENT = ("cd-1", "cd-k", "pcd", "boltzmann", "neal")

_VERIFY_EPILOG = """\
modes (by --method):
  a sampler (gibbs, sequential, ...)  many independent chains against the exact (conditional) distribution
  cd-1, cd-k, pcd, boltzmann, neal    a gradient estimator against its exact expectation (--data, --replicates)
  ais                                 AIS estimates of log Z: (estimate - exact) / standard error ~ N(0, 1)

every report states its false-positive rate and what a pass rules out (its power).

exit status:
  0  pass
  1  fail: a check rejected
  2  usage or library error
  3  inconclusive: no check could have told a correct method from a wrong one
     (e.g. a model so peaked that one state holds nearly all the mass: try --clamp)

examples:
  graphmrf verify explaining_away --clamp house_jumps=1
  graphmrf verify lecture_bm --detect-beta 0.97
  graphmrf verify lecture_bm --method metropolis --json
"""


def _sampler_parser(
    sub,
    name,
    help_,
    fn,
    *,
    chains,
    sweeps,
    methods=None,
    method_help="sampler (default gibbs)",
    chains_help=None,
    sweeps_help=None,
):
    """A subcommand that runs chains on a model: the options ``sample`` and ``verify`` share."""

    sp = sub.add_parser(name, help=help_)
    sp.add_argument(
        "model",
        nargs="?",
        default=DEFAULT_MODEL,
        help=f"model file or shipped model name, extension optional (default {DEFAULT_MODEL})",
    )
    sp.add_argument("--method", default="gibbs", choices=methods or sorted(METHODS), help=method_help)
    sp.add_argument(
        "--chains",
        type=_number(int, 1),
        default=chains,
        help=chains_help or f"independent chains, run as one batch (default {chains})",
    )
    sp.add_argument(
        "--sweeps",
        type=_number(int, 1),
        default=sweeps,
        help=sweeps_help or f"sweeps of every chain (default {sweeps})",
    )
    sp.add_argument("--beta", type=_number(float, 0), default=1.0, help="inverse temperature (default 1)")
    sp.add_argument("--seed", type=_number(int, 0), default=0, help="random seed (default 0)")
    sp.set_defaults(fn=fn)
    return sp


def _add_verify_parser(sub):

    ve = _sampler_parser(
        sub,
        "verify",
        "check a sampler, gradient estimator or AIS against exact enumeration",
        cmd_verify,
        chains=None,
        sweeps=None,
        methods=sorted(METHODS) + list(_GRADIENT) + ["ais"],
        method_help="what to verify: a sampler, a gradient estimator or ais (default gibbs)",
        chains_help=(
            "sampler: independent chains (default 20000, or picked by --detect-*); pcd/boltzmann: "
            "free chains (1000); ais: runs per estimate (100)"
        ),
        sweeps_help=(
            "sampler: sweeps from a random start (100); cd-k: k (5); pcd/boltzmann: burn-in sweeps "
            "(100); neal: posterior sweeps (100); ais: temperatures (1000)"
        ),
    )
    ve.description = (
        "Check a sampler, a gradient estimator or AIS against exact enumeration, with a stated "
        "false-positive rate and power."
    )
    ve.epilog = _VERIFY_EPILOG
    ve.formatter_class = argparse.RawDescriptionHelpFormatter
    ve.add_argument(
        "--clamp",
        action="append",
        type=_clamp_item,
        default=[],
        metavar="NODE=VALUE",
        help=("hold a node fixed and verify the exact conditional (repeatable; a layer takes comma-separated values)"),
    )
    ve.add_argument(
        "--alpha",
        type=_number(float, 0, 1, True, True),
        default=1e-3,
        help="false-positive rate of the whole check (default 0.001)",
    )
    target = ve.add_mutually_exclusive_group()
    target.add_argument(
        "--detect-beta",
        type=_factor,
        metavar="F",
        help=("pick the chains with which a sampler at beta x F is rejected with probability 0.95 (e.g. 0.97)"),
    )
    target.add_argument(
        "--detect-tv",
        type=_number(float, 0, 1, True, True),
        metavar="D",
        help="pick the chains that detect a total variation distance D with probability 0.95",
    )
    ve.add_argument(
        "--max-states",
        type=_number(int, 1),
        default=2**16,
        help="refuse models with more discrete states than this (default 65536)",
    )
    ve.add_argument(
        "--data",
        metavar="FILE",
        help=("gradient modes: the batch of visible vectors (.npy or text; default 8 rows drawn from the model)"),
    )
    ve.add_argument(
        "--replicates",
        type=_number(int, 2),
        help="gradient modes: independent estimates (default 200); ais: independent runs (20)",
    )
    ve.add_argument("--json", action="store_true", help="print the report as JSON (machine readable) instead of text")
    ve.add_argument("--plot", help="write the exact-vs-empirical plot to this PNG file")
    return ve


def cmd_models(args):

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

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the program's name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 done (``verify``: passed), 1 ``verify`` failed, 2 a bad
        argument, file or model, 3 ``verify`` inconclusive, 141 stdout closed.

    Examples
    --------
    >>> main(["models"])
    explaining_away.graphml  .../explaining_away.graphml
    ising3_periodic.graphml  .../ising3_periodic.graphml
    lecture_bm.graphml  .../lecture_bm.graphml
    0
    >>> main(["exact", "no_such_model"])  # the reason goes to stderr, in one line
    2
    """
    parser = argparse.ArgumentParser(
        prog="graphmrf", description="Graphical models of stochastic neurons: declare, compile, enumerate."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command")
    ex = sub.add_parser("exact", help="exact log Z, marginals and p(v) of a small model by enumeration")
    ex.add_argument(
        "model", nargs="?", default=DEFAULT_MODEL, help=f"model file or shipped model name (default {DEFAULT_MODEL})"
    )
    ex.add_argument("--beta", type=float, default=1.0, help="inverse temperature (default 1)")
    ex.add_argument("--max-states", type=int, default=2**27, help="refuse to enumerate more states than this")
    ex.set_defaults(fn=cmd_exact)
    sa = _sampler_parser(
        sub, "sample", "run MCMC chains on a model and summarise them", cmd_sample, chains=1000, sweeps=200
    )
    sa.add_argument(
        "--burn-in",
        type=int,
        default=None,
        help="sweeps before samples are kept (default: 100, or all the sweeps if fewer)",
    )
    sa.add_argument("--progress", action="store_true", default=None, help="show a progress bar")
    _add_verify_parser(sub)
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
