"""The backend-aware checks: they run on the backend named by ``pytest --backend``
(NumPy by default; ``--backend cupy`` reruns them on a GPU), so the same statistical
standards hold wherever the arrays live.

* exact vs sampled: block Gibbs on the backend against exact enumeration;
* a training step: PCD with many long chains against the exact gradient;
* AIS: log Z within its standard error of the exact value;
* the float32 contract: float32 states, energies, samples and gradients on the backend,
  float64 exact sums on the host.
"""

import numpy as np
import pytest
from zoo import family

import graphmrf as gm
from graphmrf.backend import to_host

ALPHA = 1e-3


def test_block_gibbs_on_the_backend_matches_the_exact_distribution(backend):
    prog = gm.compile(family("rbm", seed=3), backend=backend)
    report = gm.verify(prog, "gibbs", n_chains=4000, n_sweeps=30, alpha=ALPHA, seed=0)
    assert report.passed, str(report)


def test_a_pcd_step_on_the_backend_is_the_exact_gradient_with_long_chains(backend):
    """50,000 chains after 30 sweeps of a 4x3 RBM: every statistic lies in [0, 1], so its
    standard error is at most 0.5 / sqrt(5e4) = 0.0022; the bound 0.015 is 6.7 of them
    (a false alarm over the entries has p < 1e-9)."""
    prog = gm.compile(family("rbm", seed=2), backend=backend, dtype=np.float64)
    v = np.random.default_rng(0).integers(0, 2, (8, 4)).astype(float)
    exact = gm.learn.exact_gradient(prog, v)
    g, _ = gm.learn.contrastive_divergence(
        prog, prog.xp.asarray(v), prog.generator(1), k=30, chains=prog.random_state(50000, seed=5)
    )
    for k in g:
        assert np.abs(to_host(g[k]) - exact[k]).max() < 0.015, k


def test_ais_on_the_backend_is_within_its_standard_error_of_exact(backend):
    prog = gm.compile(gm.rbm(6, 4, seed=0, scale=0.5), backend=backend)
    res = gm.ais.log_partition(prog, n_chains=200, betas=300, seed=0)
    # 4.5 standard errors (and a floor for a tiny error bar): a false alarm below 1e-5
    assert abs(res.log_z - gm.exact.log_partition(prog)) < 4.5 * res.stderr + 1e-3


def test_the_float32_contract_holds_on_the_backend(backend):
    prog = gm.compile(gm.rbm(5, 3, seed=0), backend=backend)
    xp = prog.xp
    assert prog.dtype == np.float32 and all(v.dtype == np.float32 for v in prog.params.values())
    run = gm.sample(prog, 3, chains=4, seed=0)
    assert run.samples.dtype == np.float32 and run.energy.dtype == np.float32 and isinstance(run.state, xp.ndarray)
    assert prog.free_energy(run.state).dtype == np.float32
    g, chains = gm.learn.contrastive_divergence(prog, run.state[:, :5], prog.generator(0))
    assert all(v.dtype == np.float32 for v in g.values()) and chains.dtype == np.float32
    gm.fit(prog, to_host(run.state[:, :5]), epochs=1, rule="cd", monitors=())
    assert all(v.dtype == np.float32 for v in prog.params.values())
    assert isinstance(gm.exact.log_partition(prog), float)  # exact sums: float64 on the host
    assert prog.float64().dtype == np.float64 and prog.float64().backend.name == "numpy"


@pytest.mark.gpu
def test_cupy_programs_sample_and_train_like_numpy_ones_statistically():
    """On a GPU: the same model compiled on both backends gives exact-vs-sampled passes
    and one log Z; the numbers differ draw by draw (other generators), not in law."""
    g = family("bm", seed=1)
    for backend in ("numpy", "cupy"):
        prog = gm.compile(g, backend=backend)
        assert gm.verify(prog, "gibbs", n_chains=4000, n_sweeps=40, alpha=ALPHA, seed=0).passed
    assert gm.exact.log_partition(gm.compile(g, backend="cupy")) == pytest.approx(
        gm.exact.log_partition(gm.compile(g)), rel=1e-6
    )


@pytest.mark.parametrize("bit_generator", ["PCG64", "SFC64", "Philox", "MT19937"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 3, 1000, 1024, 1025, 4095, 4096, 4097, 5000])
def test_uniform_rows_draws_what_row_by_row_draws_would(bit_generator, dtype, n):
    """Rows of NumPy's buffered float32 draw (4 x 1024 and more drawn from whole words at
    once), of the fast path and of float64 continue the stream exactly, and leave the bit
    generator in the state row-by-row draws leave it."""
    from graphmrf.backend import uniform_into, uniform_rows

    def generator():
        rng = np.random.Generator(getattr(np.random, bit_generator)(7))
        rng.random(3, dtype=np.float32)  # a half word left in the buffer: the rows must carry on from it
        return rng

    rng = generator()
    expected = np.empty((4, n), dtype)
    for row in expected:
        uniform_into(rng, row)
    state = str(rng.bit_generator.state)
    after = rng.random()
    rng = generator()
    got = uniform_rows(rng, np.empty((4, n), dtype))
    assert np.array_equal(got, expected)
    assert str(rng.bit_generator.state) == state
    assert rng.random() == after  # and leave the stream where row-by-row draws leave it
