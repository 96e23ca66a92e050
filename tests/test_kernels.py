"""The fused kernels (numba) against the NumPy path they stand for: the same uniforms give
the same states, and both sample the exact distribution."""

import networkx as nx
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
        gm.ising(64, coupling=0.44),  # 4 x 2048 uniforms a colour: the kernel draws them itself
        gm.lattice((48, 48), coupling=np.random.default_rng(1).normal(size=(2, 48, 48))),
    ],
    ids=["periodic", "open-field", "3d", "binary", "per-bond", "odd", "drawn-in-kernel", "per-bond-drawn"],
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


def _words_after(rng):
    return rng.bit_generator.random_raw(3).tolist()


@pytest.mark.parametrize("bits", ["PCG64", "SFC64"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "shape, periodic", [((64, 64), True), ((65, 63), False), ((16, 16, 17), True), ((15, 17, 17), False)]
)
def test_the_kernels_draw_exactly_the_uniforms_of_the_array(bits, dtype, shape, periodic):
    """Bit for bit: the Generator handed to a kernel gives the states, and is left in the
    state, of drawing the colour's uniforms into an array first (odd colour sizes leave
    half a word, as uniform_into does)."""
    n = int(np.prod(shape))
    init = np.where(np.random.default_rng(0).random((3, n)) < 0.5, 1.0, -1.0).astype(dtype)
    parity = np.indices(shape).sum(axis=0).reshape(-1) % 2
    per_bond = np.random.default_rng(1).normal(size=(len(shape), n))
    bias = np.random.default_rng(2).normal(size=n)
    for general in (False, True):
        a, b = init.copy(), init.copy()
        ra, rb = (np.random.Generator(getattr(np.random, bits)(5)) for _ in range(2))
        for _sweep in range(2):
            for colour in (0, 1):
                sites = np.flatnonzero(parity == colour)
                assert kernels.draws_from(rb, 3 * sites.size, dtype)
                u = gm.backend.uniform_into(ra, np.empty((3, sites.size), dtype))
                if general:
                    for state, source in ((a, u), (b, rb)):
                        args = (per_bond, bias[sites], 0.8, (-1, 1), shape, periodic)
                        kernels.checkerboard(state, sites, source, *args)
                else:
                    for state, source in ((a, u), (b, rb)):
                        kernels.checkerboard_table(state, source, 0.4, 0.1, 0.7, (-1, 1), shape, colour, periodic)
        assert np.array_equal(a, b) and not np.array_equal(a, init)
        assert _words_after(ra) == _words_after(rb)


def test_the_kernels_draw_only_where_the_stream_is_a_map_of_whole_words():
    pcg = np.random.default_rng(0)
    assert kernels.draws_from(pcg, 4096, np.float32) and kernels.draws_from(pcg, 1, np.float64)
    assert not kernels.draws_from(pcg, 4095, np.float32)  # NumPy's buffered 32-bit draw
    for other in (np.random.MT19937(0), np.random.Philox(0)):
        assert not kernels.draws_from(np.random.Generator(other), 10_000, np.float64)
    state = -np.ones((1, 64 * 64))
    with pytest.raises(ValueError, match="MT19937, 2048 float64"):
        kernels.checkerboard_table(
            state, np.random.Generator(np.random.MT19937(0)), 0.4, 0.0, 1.0, (-1, 1), (64, 64), 0, True
        )
    assert (state == -1).all()


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


@pytest.mark.parametrize("method", ["sequential", "random-scan", "metropolis"])
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


@pytest.mark.parametrize("method", ["sequential", "random-scan", "metropolis"])
def test_the_fused_one_unit_sweep_samples_the_exact_distribution(method):
    prog = gm.compile(family("bm", seed=3))
    report = gm.verify(prog, method, n_chains=4000, n_sweeps=30, alpha=ALPHA, seed=0)
    assert report.passed, str(report)


def test_a_bias_changed_between_steps_reaches_the_lattice_kernel():
    """Chains stepped by the caller between its own parameter updates (as in PCD): the
    one-bias test is made again at every step, and a field set on half the sites after the
    first step shows at the next (p(up) = sigmoid(2 * 8) at those sites: all up but for
    about 1 site in 10^7; the others keep the free lattice's symmetry)."""
    prog = gm.compile(gm.ising(64, coupling=0.1), seed=0)
    sampler = gm.samplers.Gibbs()
    state = sampler.init(prog, prog.random_state(4, seed=1))
    state, _ = sampler.step(prog, state, np.random.default_rng(2))
    prog.params["s.bias"][::2] = 8.0
    state, _ = sampler.step(prog, state, np.random.default_rng(3))
    spins = gm.samplers.position(state)
    assert (spins[:, ::2] == 1).all()
    assert abs(float(spins[:, 1::2].mean())) < 0.5
    # and gm.sample, whose run keeps its one-bias answer, asks again in the next run
    prog.params["s.bias"][...] = 0.0
    run = gm.sample(prog, 3, chains=4, init=spins, seed=4, record_energy=False)
    assert abs(float(run.state[:, ::2].mean())) < 0.5


def test_fused_metropolis_counts_the_moves_the_numpy_path_counts():
    """float64 and float32 (4096 chains: NumPy's float32 draw taken from raw words), the
    acceptance rates and the states of one sweep: the same."""
    from graphmrf.samplers.metropolis import metropolis_sweep

    for dtype, chains in ((np.float64, 30), (np.float32, 4096)):
        prog = gm.compile(gm.boltzmann(10, 4, seed=2, scale=0.8), seed=0, dtype=dtype)
        init = prog.random_state(chains, seed=1)
        fused, info = metropolis_sweep(prog, init, np.random.default_rng(5))
        with kernels.disabled():
            plain, info_plain = metropolis_sweep(prog, init, np.random.default_rng(5))
        assert np.mean(fused != plain) <= 1e-4
        assert np.abs(info.accepted - info_plain.accepted).max() <= 1 / 14
        assert 0.2 < float(info.accepted.mean()) < 0.9


@pytest.mark.parametrize("method", ["sequential", "random-scan", "metropolis", "descent"])
def test_the_sparse_one_unit_kernel_follows_the_numpy_path(method):
    """A lattice declared unit by unit (a sparse lateral coupling) and an irregular sparse
    graph with a field: the same states as the NumPy path (an ulp of a probability apart
    at most 1 site in 10^4)."""
    rng = np.random.default_rng(0)
    irregular = nx.gnm_random_graph(40, 80, seed=1)
    for graph in (gm.ising(12, units=True, coupling=0.4), _units_graph(irregular, rng)):
        prog = gm.compile(graph, seed=0)
        init = prog.random_state(64, seed=2)
        if method == "descent":
            fused, _ = gm.samplers.gibbs.sequential_gibbs(prog, init, 3, mode="max")
            with kernels.disabled():
                plain, _ = gm.samplers.gibbs.sequential_gibbs(prog, init, 3, mode="max")
        else:
            fused = gm.sample(prog, 10, chains=64, init=init, method=method, seed=3, record_energy=False).state
            with kernels.disabled():
                plain = gm.sample(prog, 10, chains=64, init=init, method=method, seed=3, record_energy=False).state
        assert np.mean(fused != plain) <= 1e-4 and not np.array_equal(fused, init)


def _units_graph(graph, rng):
    """Binary units on the nodes of ``graph``, a random coupling on every edge, a field."""
    g = nx.Graph()
    for v in graph.nodes:
        g.add_node(v, kind="binary", bias=float(rng.normal(0, 0.5)))
    for a, b in graph.edges:
        g.add_edge(a, b, weight=float(rng.normal(0, 0.8)))
    return g


@pytest.mark.parametrize("method", ["sequential", "metropolis"])
def test_the_sparse_one_unit_kernel_samples_the_exact_distribution(method):
    prog = gm.compile(_units_graph(nx.cycle_graph(9), np.random.default_rng(5)))
    report = gm.verify(prog, method, n_chains=4000, n_sweeps=30, alpha=ALPHA, seed=0)
    assert report.passed, str(report)


@pytest.mark.parametrize(
    "graph",
    [
        gm.ising(50, dims=1, coupling=0.3),
        gm.lattice((4, 4, 4, 4), periodic=True, coupling=0.3),
        nx.compose(gm.lattice((8, 8), name="a"), gm.lattice((6, 6), name="b")),  # a lattice's columns not a row
    ],
    ids=["1d", "4d", "two-lattices"],
)
def test_lattices_the_table_kernel_does_not_take_follow_the_numpy_path(graph):
    """1-D and 4-D lattices take the general kernel, two lattices in one state the NumPy
    path, each drawing exactly what the NumPy path draws: the same states."""
    prog = gm.compile(graph, seed=0)
    init = prog.random_state(3, seed=1)
    fused = gm.sample(prog, 4, chains=3, init=init, seed=0, record_energy=False).state
    with kernels.disabled():
        plain = gm.sample(prog, 4, chains=3, init=init, seed=0, record_energy=False).state
    np.testing.assert_array_equal(fused, plain)


def test_a_sampler_of_the_users_may_change_the_parameters_between_its_steps():
    """gm.sample keeps a lattice's one-bias answer for a run only for its own samplers: a
    user's step that sets a field of +5 on the left half and -5 on the right after the
    first sweep gets it (p = sigmoid(+-10 - 0.8) at most: every spin follows its field but
    for about 1 in 10^4)."""
    prog = gm.compile(gm.ising(16, coupling=0.2), seed=0)
    gibbs = gm.samplers.Gibbs()
    sweeps = []

    def step(program, state, rng):
        sweeps.append(1)
        if len(sweeps) == 2:
            field = program.params["s.bias"].reshape(16, 16)
            field[:, :8], field[:, 8:] = 5.0, -5.0
        return gibbs.step(program, state, rng)

    run = gm.sample(prog, 5, chains=4, method=gm.samplers.Sampler(gibbs.init, step, "mine"), seed=1)
    spins = run.state.reshape(4, 16, 16)
    assert float(spins[:, :, :8].mean()) > 0.99 and float(spins[:, :, 8:].mean()) < -0.99
