"""Regenerate the model files in this folder: ``python models/make.py``."""

import os

import networkx as nx

from graphmrf.builders import ising
from graphmrf.io import save

HERE = os.path.dirname(os.path.abspath(__file__))


def lecture_bm():
    """The lecture's 2-visible / 2-hidden Boltzmann machine (no biases)."""
    g = nx.Graph(name="lecture_bm")
    for name, visible in (("v1", True), ("v2", True), ("h1", False), ("h2", False)):
        g.add_node(name, kind="binary", visible=visible, bias=0.0)
    g.add_edge("v1", "h1", weight=2.0)
    g.add_edge("v2", "h2", weight=1.0)
    g.add_edge("h1", "h2", weight=-1.0)
    return g


def explaining_away():
    """Two independent causes of one effect (Hinton's truck / earthquake example)."""
    g = nx.DiGraph(name="explaining_away")
    g.add_node("truck", kind="binary", visible=False, bias=-10.0)
    g.add_node("earthquake", kind="binary", visible=False, bias=-10.0)
    g.add_node("house_jumps", kind="binary", visible=True, bias=-20.0)
    g.add_edge("truck", "house_jumps", weight=20.0)
    g.add_edge("earthquake", "house_jumps", weight=20.0)
    return g


def main():
    save(lecture_bm(), os.path.join(HERE, "lecture_bm.graphml"))
    save(ising(3, periodic=True, coupling=0.3, field=0.1), os.path.join(HERE, "ising3_periodic.graphml"))
    save(explaining_away(), os.path.join(HERE, "explaining_away.graphml"))


if __name__ == "__main__":
    main()
