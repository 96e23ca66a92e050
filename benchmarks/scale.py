"""Declaring and compiling at scale: a lattice as one layer, and a lattice declared unit by unit.

Cases (issue 14, "a lattice is a layer"):
  * ``gm.ising(4096)`` periodic and open (16.8 M sites), ``gm.ising(256, dims=3)`` (16.8 M sites),
    ``gm.potts(2048, 3)`` (4.2 M sites of 3 columns): one layer node with a stencil coupling --
    the target is under a second to declare and compile, with memory near the state's size;
  * ``gm.ising(512, units=True)``: 262 144 site nodes and 524 288 edges of a networkx graph, each
    validated -- the target is a compile under 2 s.

Columns: ``declare`` (the builder), ``compile`` (best of ``--repeat``, warm), ``first`` (declare
and compile in a fresh process, the first thing it does after ``import graphmrf``), ``peak``
(tracemalloc's peak during one compile), ``rss`` (the fresh process's peak resident memory
during that first compile, over what was resident before it; Linux), ``state`` (one float32
chain: 4 bytes per column) and the reference ``floor``: for a lattice layer, writing one float32
per column once (``np.ones``: the least a compile that keeps per-site parameters can cost); for
the graph of units, one pass of networkx over its nodes and edges with their data (the least a
validation that reads every edge can cost).

``--quick`` runs 512^2, 64^3, Potts 256^2 and 128^2 units; ``--repeat`` sets the timed compiles
per case. Run from the repository root: ``python3 benchmarks/scale.py`` (about a minute; ``--quick``: a
few seconds). The checkout the script lives in is the one measured.
"""

import argparse
import collections
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # measure this checkout's graphmrf

import graphmrf as gm  # noqa: E402

# (name, builder call as text, sites, one node per site)
FULL = [
    ("ising 4096^2 periodic", "gm.ising(4096, periodic=True)", 4096**2, False),
    ("ising 4096^2 open", "gm.ising(4096, periodic=False)", 4096**2, False),
    ("ising 256^3 periodic", "gm.ising(256, dims=3)", 256**3, False),
    ("potts 2048^2 q=3", "gm.potts(2048, 3, field=[0.0, 0.1, 0.2])", 2048**2, False),
    ("ising 512^2 units", "gm.ising(512, units=True)", 512**2, True),
]
QUICK = [
    ("ising 512^2 periodic", "gm.ising(512, periodic=True)", 512**2, False),
    ("ising 512^2 open", "gm.ising(512, periodic=False)", 512**2, False),
    ("ising 64^3 periodic", "gm.ising(64, dims=3)", 64**3, False),
    ("potts 256^2 q=3", "gm.potts(256, 3, field=[0.0, 0.1, 0.2])", 256**2, False),
    ("ising 128^2 units", "gm.ising(128, units=True)", 128**2, True),
]

FRESH = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import graphmrf as gm

def status(field):  # kB in /proc/self/status (Linux; ru_maxrss would carry the parent's peak over exec)
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith(field)).split()[1])

t0 = time.perf_counter()
g = {call}
t1 = time.perf_counter()
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak resident memory starts again from what is resident now
    before = status("VmRSS:")
except OSError:
    before = None
t2 = time.perf_counter()
prog = gm.compile(g, seed=0)
t3 = time.perf_counter()
rss = None if before is None else (status("VmHWM:") - before) * 1024
print(json.dumps(dict(declare=t1 - t0, compile=t3 - t2, rss=rss)))
"""


def best(fn, repeat):
    """The best wall time of ``repeat`` calls, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        out = None
        gc.collect()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def floor(graph, columns, units, repeat):
    """The reference: one float32 write per column, or one networkx pass over the graph."""
    if units:

        def read():  # every node and edge with its attributes, consumed in C
            collections.deque(graph.nodes(data=True), maxlen=0)
            collections.deque(graph.edges(data=True), maxlen=0)

        return best(read, repeat)[0]
    return best(lambda: np.ones(columns, dtype=np.float32), repeat)[0]


def peak(graph):
    """tracemalloc's peak (bytes) over one compile."""
    gc.collect()
    tracemalloc.start()
    prog = gm.compile(graph, seed=0)
    top = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del prog
    return top


def fresh(call):
    """Declare and compile in a new process: its times and its peak-memory growth."""
    code = FRESH.format(root=ROOT, call=call)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--repeat", type=int, default=3, help="timed compiles per case")
    parser.add_argument("--no-fresh", action="store_true", help="skip the first call in a fresh process")
    args = parser.parse_args(argv)
    gm.compile(gm.ising(8), seed=0)  # the kind's functions derived once, before any timing
    gm.compile(gm.ising(8, units=True), seed=0)
    mb = 2.0**20
    head = (
        f"{'case':24s} {'sites':>9s} {'declare':>8s} {'compile':>8s} {'first':>8s} {'peak':>8s} {'rss':>8s} "
        f"{'state':>8s} {'peak/st':>7s} {'floor':>8s} {'comp/fl':>7s}"
    )
    print(head)
    print(f"{'':24s} {'':>9s} {'s':>8s} {'s':>8s} {'s':>8s} {'MB':>8s} {'MB':>8s} {'MB':>8s} {'':>7s} {'s':>8s}")
    for name, call, sites, units in QUICK if args.quick else FULL:
        t_declare, graph = best(lambda call=call: eval(call), 1 if units else args.repeat)  # our own text
        t_compile, prog = best(lambda graph=graph: gm.compile(graph, seed=0), args.repeat)
        columns = prog.n_columns
        state = columns * 4
        del prog
        top = peak(graph)
        t_floor = floor(graph, columns, units, args.repeat)
        first = None if args.no_fresh else fresh(call)
        shown_first = "-" if first is None else f"{first['declare'] + first['compile']:8.3f}"
        shown_rss = "-" if first is None or first["rss"] is None else f"{first['rss'] / mb:8.1f}"
        print(
            f"{name:24s} {sites:9d} {t_declare:8.3f} {t_compile:8.3f} {shown_first:>8s} {top / mb:8.1f} "
            f"{shown_rss:>8s} {state / mb:8.1f} {top / state:7.2f} {t_floor:8.3f} {t_compile / t_floor:7.2f}",
            flush=True,
        )
        del graph
        gc.collect()


if __name__ == "__main__":
    main()
