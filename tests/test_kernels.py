"""The fused kernels (numba) against the NumPy path they stand for: the same uniforms give
the same states, and both sample the exact distribution."""

import numpy as np
import pytest
from zoo import family

import graphmrf as gm
from graphmrf import kernels

pytestmark = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed (the 'fast' extra)")
ALPHA = 1e-3


@pytest.mark.parametrize(
    "graph",
    [
        gm.ising(8, coupling=0.44),
        gm.ising(7, coupling=0.3, periodic=False, field=0.2),
        gm.ising(4, dims=3, coupling=0.2),
        gm.lattice((6, 5), kind="binary", periodic=False, coupling=-0.7, field=0.4),
        gm.lattice((6, 6), coupling=np.random.default_rng(0).normal(size=(2, 6, 6))),  # one coupling per bond
        gm.ising(5, coupling=0.5),  # odd periodic sides: greedy colours, the general kernel
    ],
    ids=["periodic", "open-field", "3d", "binary", "per-bond", "odd"],
)
def test_the_fused_lattice_update_follows_the_numpy_path(graph):
    """Same seed, same uniforms: the states agree site for site (the probabilities are
    computed by other float operations, so a uniform within an ulp of one could split
    them: at most 1 in 10^4 sites)."""
    prog = gm.compile(graph, seed=0)
    init = prog.random_state(4, seed=2)
    fused = gm.sample(prog, 15, chains=4, init=init, seed=3, record_energy=False).state
    with kernels.disabled():
        plain = gm.sample(prog, 15, chains=4, init=init, seed=3, record_energy=False).state
    assert np.mean(fused != plain) <= 1e-4


@pytest.mark.parametrize("name", ["lattice_open", "lattice_periodic", "lattice_odd", "lattice_3d"])
def test_the_fused_kernels_sample_the_exact_distribution(name):
    # lattice_open has one random coupling per bond (a small spin glass): it mixes slowly
    prog = gm.compile(family(name, seed=4))
    report = gm.verify(
        prog, "gibbs", n_chains=4000, n_sweeps=300 if name == "lattice_open" else 30, alpha=ALPHA, seed=0
    )
    assert report.passed, str(report)


def test_kernels_can_be_switched_off_and_are_on_by_default():
    assert kernels.enabled()
    with kernels.disabled():
        assert not kernels.enabled()
    assert kernels.enabled()


def test_checkerboard_colours_are_recognised():
    shape = (4, 6)
    parity = np.add.outer(np.arange(4), np.arange(6)).reshape(-1) % 2
    assert kernels.checkerboard_colour(shape, np.flatnonzero(parity == 1)) == 1
    assert kernels.checkerboard_colour(shape, np.flatnonzero(parity == 0)[:-1]) is None


@pytest.mark.parametrize("method", ["sequential", "random-scan"])
def test_the_fused_one_unit_sweep_follows_the_numpy_path(method):
    """A dense Boltzmann machine (visible and hidden layers, lateral couplings): the same
    uniforms in the same visit order give the same states (an ulp of a probability apart
    at most 1 site in 10^4)."""
    prog = gm.compile(gm.boltzmann(12, 6, seed=1, scale=0.6), seed=0)
    init = prog.random_state(50, seed=2)
    fused = gm.sample(prog, 10, chains=50, init=init, method=method, seed=3, record_energy=False).state
    with kernels.disabled():
        plain = gm.sample(prog, 10, chains=50, init=init, method=method, seed=3, record_energy=False).state
    assert np.mean(fused != plain) <= 1e-4


def test_fused_hopfield_recall_is_the_numpy_recall():
    """Zero-temperature descent (mode="max"): no uniforms, ties keep the unit; the fixed
    points reached are the NumPy path's."""
    rng = np.random.default_rng(0)
    xi = np.where(rng.random((4, 120)) < 0.5, -1.0, 1.0)
    prog = gm.compile(gm.memory.store(xi))
    probes = gm.memory.corrupt(np.repeat(xi, 10, axis=0), 0.15, rng)
    fused, sweeps = gm.memory.recall(prog, probes, np.random.default_rng(1))
    with kernels.disabled():
        plain, sweeps_plain = gm.memory.recall(prog, probes, np.random.default_rng(1))
    np.testing.assert_array_equal(fused, plain)
    assert np.mean(np.all(fused == np.repeat(xi, 10, axis=0), axis=1)) == 1.0


@pytest.mark.parametrize("method", ["sequential", "random-scan"])
def test_the_fused_one_unit_sweep_samples_the_exact_distribution(method):
    prog = gm.compile(family("bm", seed=3))
    report = gm.verify(prog, method, n_chains=4000, n_sweeps=30, alpha=ALPHA, seed=0)
    assert report.passed, str(report)
