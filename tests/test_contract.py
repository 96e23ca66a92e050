"""The public API's one contract: a call does what its docstring says, or raises a
GraphMRFError (or ValueError/TypeError) naming the argument, the rule and the value.

One regression test per case found at the edges (the hardening issue), plus the peer bugs
of USER_NEEDS.md section 2 that had no test that would fail.
"""

import warnings

import numpy as np
import pytest

import graphmrf as gm
from graphmrf import exact


def _rbm(**kw):
    return gm.compile(gm.rbm(4, 3, seed=0, scale=0.5), **kw)


# ---------------------------------------------------------------- data outside the support
@pytest.mark.parametrize(
    "data, message",
    [
        (
            np.array([[0, 2, 0, 2]] * 3),
            r"data: column 1 \(node 'v', unit 1\) holds 2 in row 0; binary units take values in \[0, 1\]",
        ),
        (np.full((3, 4), 255.0), r"holds 255 in row 0; binary units take values in \[0, 1\]"),
        (np.array([[0, 1, np.inf, 0]]), r"column 2 \(node 'v', unit 2\) holds inf in row 0"),
    ],
)
def test_training_data_outside_the_binary_range_is_refused(data, message):
    prog = _rbm()
    before = {k: v.copy() for k, v in prog.params.items()}
    with pytest.raises(ValueError, match=message):
        gm.fit(prog, data, epochs=1, rule="cd", monitors=())
    assert all(np.array_equal(before[k], v) for k, v in prog.params.items())


def test_zero_one_data_on_spin_units_is_refused():
    prog = gm.compile(gm.rbm(3, 2, visible="spin", seed=0))
    with pytest.raises(
        ValueError, match=r"column 0 \(node 'v', unit 0\) holds 0 in row 0; spin units take values in \{-1, 1\}"
    ):
        gm.fit(prog, np.array([[0, 1, 1]]), epochs=1, monitors=())


def test_fractional_binary_data_are_probabilities_for_training_but_not_for_exact_likelihoods():
    prog = _rbm(dtype=np.float64)
    gm.fit(prog, np.full((4, 4), 0.5), epochs=1, rule="cd", monitors=())  # mean-field input: fine
    with pytest.raises(ValueError, match=r"holds 0.5 in row 0; binary units take values in \{0, 1\}"):
        exact.log_likelihood(prog, np.full((4, 4), 0.5))


def test_softmax_data_must_be_one_hot_or_missing_whole():
    prog = gm.compile(gm.rbm(2, 2, visible="softmax", categories=3, seed=0))
    gm.fit(prog, np.array([[1, 0, 0, np.nan, np.nan, np.nan]]), epochs=1, rule="cd", monitors=())
    with pytest.raises(ValueError, match=r"softmax units take one-hot rows .*or a whole unit of NaN"):
        gm.fit(prog, np.array([[1, 0, 0, 0, np.nan, 1]]), epochs=1, rule="cd", monitors=())


# ---------------------------------------------------------------- beta and init
@pytest.mark.parametrize("beta", [float("nan"), float("inf"), -float("inf"), -0.5])
def test_beta_must_be_finite_and_non_negative_everywhere(beta):
    prog = _rbm()
    pattern = r"beta must be a finite real >= 0"
    with pytest.raises(ValueError, match=pattern):
        gm.sample(prog, 2, chains=3, beta=beta)
    with pytest.raises(ValueError, match=pattern):
        exact.log_partition(prog, beta=beta)
    with pytest.raises(ValueError, match=pattern):
        exact.marginals(prog, beta=beta)
    with pytest.raises(ValueError, match="betas must be a sequence of at least 1 items, each a finite real >= 0"):
        gm.samplers.anneal(prog, prog.random_state(2, seed=0), 0, [0.5, beta])
    with pytest.raises(
        ValueError,
        match=(
            r"Tempering: ladder must be a sequence of at least 2 items, each a finite real >= 0.0|Tempering: "
            r"ladder must be strictly increasing"
        ),
    ):
        gm.samplers.Tempering([beta, 1.0])


def test_beta_zero_samples_every_state_uniformly():
    """beta = 0 is allowed: every unit is then a fair coin whatever the weights."""
    prog = gm.compile(gm.rbm(3, 2, seed=0, scale=3.0))
    run = gm.sample(prog, 1, chains=40000, beta=0.0, seed=0)
    # 5 binary units, 40000 draws each: the mean is 0.5 within 5 standard errors (p < 1e-5)
    assert np.all(np.abs(run.state.mean(axis=0) - 0.5) < 5 * 0.5 / np.sqrt(40000))
    assert exact.log_partition(prog, beta=0.0) == pytest.approx(5 * np.log(2), abs=1e-12)


def test_tempering_ladders_must_increase():
    _rbm()
    with pytest.raises(ValueError, match="strictly increasing"):
        gm.samplers.Tempering([1.0, 0.5])
    with pytest.raises(ValueError, match="end at 1"):
        gm.samplers.Tempering([0.5, 2.0])


@pytest.mark.parametrize("bad", [0.5, 2.0, np.nan])
def test_init_states_outside_the_support_are_refused(bad):
    prog = _rbm()
    init = prog.random_state(3, seed=0)
    init[1, 2] = bad
    with pytest.raises(
        ValueError, match=r"init: column 2 \(node 'v', unit 2\) holds .* in row 1; binary units take values in \{0, 1\}"
    ):
        gm.sample(prog, 2, chains=3, init=init)
    with pytest.raises(ValueError, match=r"persistent: column 2"):
        gm.fit(prog, np.zeros((2, 4)), epochs=1, persistent=init, monitors=())


# ---------------------------------------------------------------- seeds
def test_the_programs_seed_is_honoured_by_every_sampling_function():
    """Two programs compiled with one seed agree; two calls on one program differ (S1)."""

    def runs(prog):
        X = np.array([[1, 0, np.nan, 1]])
        return [
            gm.sample(prog, 3, chains=4).state,
            gm.sample(prog, 3, chains=4).state,
            gm.impute(prog, X, n_sweeps=20, burn_in=5, chains_per_row=2),
            gm.fit(prog, np.eye(4)[:3], epochs=2, rule="pcd", chains=5, monitors=()).persistent,
            gm.ais.log_partition(prog, n_chains=10, betas=20).log_weights,
            gm.verify(prog, "gibbs", n_chains=500, n_sweeps=2, stationarity=()).empirical_probs,
            [c.statistic for c in gm.verify(prog, "pcd", replicates=10, n_chains=50).checks],
        ]

    a = runs(_rbm(seed=7))
    b = runs(_rbm(seed=7))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], a[1])


# ---------------------------------------------------------------- counts and names
@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda p: gm.sample(p, 5, chains=0), ValueError, r"sample: chains must be an integer >= 1; got 0"),
        (lambda p: gm.sample(p, 0), ValueError, r"sample: n_sweeps must be an integer >= 1; got 0"),
        (lambda p: gm.sample(p, 5, thin=2.5), TypeError, r"sample: thin must be an integer >= 1; got 2.5"),
        (lambda p: gm.sample(p, 5, method="gibs"), ValueError, r"sample: method must be one of 'gibbs'"),
        (
            lambda p: gm.fit(p, np.zeros((4, 4)), batch_size=0),
            ValueError,
            r"fit: batch_size must be None or an integer >= 1; got 0",
        ),
        (lambda p: gm.fit(p, np.zeros((4, 4)), epochs=-1), ValueError, r"fit: epochs must be an integer >= 1; got -1"),
        (
            lambda p: gm.fit(p, np.zeros((4, 4)), monitors="weight_norm"),
            TypeError,
            r"fit: monitors must be a list of names",
        ),
        (
            lambda p: gm.fit(p, np.zeros((4, 4)), monitors=["weight_nrom"]),
            ValueError,
            r"fit: monitors must be a list of names",
        ),
        (
            lambda p: gm.fit(p, np.zeros((4, 4)), momentum=1.0),
            ValueError,
            r"fit: momentum must be a real in \[0.0, 1.0\); got 1.0",
        ),
        (
            lambda p: gm.fit(p, np.zeros((4, 4)), lr=-0.1),
            ValueError,
            r"fit: lr must be a finite real > 0.0 or a function; got -0.1",
        ),
        (
            lambda p: gm.fit(p, np.zeros((4, 4)), lr=lambda e: float("nan"), monitors=()),
            ValueError,
            r"fit: epoch 1: lr must be a finite real > 0.0; got nan",
        ),
        (
            lambda p: gm.fit(p, np.zeros((4, 4)), rule="CD"),
            ValueError,
            r"fit: rule must be one of 'exact', 'pcd', 'cd' or a function; got 'CD'",
        ),
        (
            lambda p: gm.fit(p, np.zeros((4, 4)), seed=-1),
            ValueError,
            r"fit: seed must be None, an integer >= 0 or a random Generator; got -1",
        ),
        (lambda p: gm.fit(p, np.zeros((0, 4)), monitors=()), ValueError, r"fit: data has no rows"),
        (
            lambda p: gm.impute(p, np.zeros((1, 4)), chains_per_row=0),
            ValueError,
            r"impute: chains_per_row must be an integer >= 1; got 0",
        ),
        (
            lambda p: exact.log_likelihood(p, np.zeros((1, 4)), reduce="sum"),
            ValueError,
            r"log_likelihood: reduce must be one of 'mean', 'none'; got 'sum'",
        ),
        (lambda p: gm.sample(gm.rbm(2, 2), 5), TypeError, r"sample: program must be a Program; got "),
    ],
)
def test_arguments_are_checked_with_a_message_naming_them(call, error, message):
    with pytest.raises(error, match=message):
        call(_rbm())


def test_options_after_the_first_arguments_are_keyword_only():
    prog = _rbm()
    with pytest.raises(TypeError, match="positional"):
        gm.sample(prog, 5, 10)
    with pytest.raises(TypeError, match="positional"):
        gm.fit(prog, np.zeros((2, 4)), 3)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: gm.rbm(-3, 2), r"rbm: n_visible must be an integer >= 1; got -3"),
        (
            lambda: gm.dbn([784, -1]),
            r"dbn: sizes must be a sequence of at least 2 items, each an integer >= 1; got \[784, -1\]",
        ),
        (lambda: gm.boltzmann(3, -1), r"boltzmann: n_hidden must be an integer >= 0; got -1"),
        (lambda: gm.ising(0), r"ising: L must be an integer >= 1; got 0"),
        (
            lambda: gm.rbm(3, 2, visible="bianry"),
            r"rbm: visible must be one of 'binary', 'spin', 'gaussian', 'softmax'; got 'bianry'",
        ),
    ],
)
def test_builders_refuse_bad_sizes_with_a_model_error(build, message):
    with pytest.raises(gm.ModelError, match=message):
        build()


@pytest.mark.parametrize("weight", ["1.0x", 1 + 2j, None, [1, "a"]])
def test_a_weight_that_is_not_a_real_number_names_its_edge(weight):
    import networkx as nx

    g = nx.Graph()
    g.add_node("a", kind="binary")
    g.add_node("b", kind="binary")
    g.add_edge("a", "b", weight=weight)
    with pytest.raises(gm.ModelError, match=r"edge \('a', 'b'\): weight must be a real number or an array of them"):
        gm.compile(g)


# ---------------------------------------------------------------- peer bugs (USER_NEEDS.md section 2)
def test_s5_user_blocks_that_leave_units_out_are_refused():
    prog = _rbm()
    v_only = [prog.blocks[0]]
    with pytest.raises(
        gm.ModelError, match=r"blocks: units of 'h' are in no block; every unit must be in exactly one block"
    ):
        gm.samplers.block_gibbs(prog, prog.random_state(2, seed=0), 0, blocks=v_only)
    with pytest.raises(gm.ModelError, match=r"blocks: a block holds two units coupled by v~h.weight"):
        gm.samplers.block_gibbs(prog, prog.random_state(2, seed=0), 0, blocks=[prog.blocks[0] + prog.blocks[1]])


def test_g4_a_short_last_mini_batch_is_averaged_over_its_own_rows():
    """One epoch over 7 rows in batches of 3 (3, 3, 1) with the exact rule equals three
    exact-gradient steps on those batches, each a mean over its own rows (no padding)."""
    X = gm.datasets.bars_and_stripes(3)[:7]
    prog = gm.compile(gm.rbm(9, 3, seed=0, scale=0.3), dtype=np.float64)
    ref = gm.compile(gm.rbm(9, 3, seed=0, scale=0.3), dtype=np.float64)
    rng = np.random.default_rng(5)
    gm.fit(prog, X, epochs=1, lr=0.2, rule="exact", batch_size=3, seed=rng, monitors=())
    order = np.random.default_rng(5).permutation(7)
    for b0 in range(0, 7, 3):
        g = gm.learn.exact_gradient(ref, X[order[b0 : b0 + 3]])
        for k, v in ref.params.items():
            v += 0.2 * g[k]
    for k in ref.params:
        np.testing.assert_allclose(prog.params[k], ref.params[k], rtol=1e-12, atol=1e-14)


def test_g4_all_ones_data_drive_visible_biases_up_not_toward_zero():
    """With all-ones data the clamped phase of every batch is exactly 1 for each visible
    unit, so each CD step adds lr (1 - <v>_free) >= 0 to the visible biases: they never
    fall (a zero-padded short batch would pull them down)."""
    prog = gm.compile(gm.rbm(5, 3, seed=0, scale=0.1), dtype=np.float64)
    seen = [prog.params["v.bias"].copy()]
    gm.fit(
        prog,
        np.ones((10, 5)),
        epochs=20,
        lr=0.1,
        rule="cd",
        batch_size=4,
        seed=0,
        monitors=(),
        callbacks=[lambda p, h: seen.append(p.params["v.bias"].copy())],
    )
    assert np.all(np.diff(np.array(seen), axis=0) >= 0)
    assert np.all(seen[-1] > 0.5)


def test_n2_log_likelihood_of_a_saturated_model_stays_finite():
    """Biases of +-40 make p(v) 1 - 1e-17 for the favoured row and e^-40 for others:
    float64 log-likelihoods stay finite and exact (no log(0))."""
    prog = gm.compile(gm.rbm(3, 2, seed=0, scale=0.0), dtype=np.float64)
    prog.params["v.bias"][...] = [40.0, -40.0, 40.0]
    ll = exact.log_likelihood(prog, np.array([[1, 0, 1], [0, 1, 0]]), reduce="none")
    np.testing.assert_allclose(
        ll, [-3 * np.log1p(np.exp(-40.0)), -120 - 3 * np.log1p(np.exp(-40.0))], rtol=1e-12, atol=1e-15
    )
    pll = exact.pseudo_log_likelihood(prog, np.array([[0, 1, 0]]))
    assert np.isfinite(pll["total"]) and pll["total"] == pytest.approx(-120.0, rel=1e-12)


def test_a4_a_monitor_that_raises_is_not_swallowed():
    def broken(program, data):
        raise gm.EnumerationTooLargeError("broken monitor", 1, 0)

    with pytest.raises(gm.EnumerationTooLargeError, match="broken monitor"):
        gm.fit(_rbm(), np.zeros((2, 4)), epochs=1, monitors=("log_likelihood", broken))


def test_a4_a_monitor_dropped_because_the_model_is_too_large_warns():
    prog = gm.compile(gm.boltzmann(30, 10, seed=0))
    with pytest.warns(
        gm.train.MonitorWarning, match="'log_likelihood' monitor is dropped: the model is too large to enumerate"
    ):
        hist = gm.fit(
            prog, np.zeros((2, 30)), epochs=1, rule="pcd", chains=4, monitors=("log_likelihood", "weight_norm")
        )
    assert "log_likelihood" not in hist and len(hist["weight_norm"]) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gm.fit(_rbm(), np.zeros((2, 4)), epochs=1, monitors=("log_likelihood",))


# ---------------------------------------------------------------- silent zeros
def test_sufficient_stats_of_integer_states_are_the_float_averages():
    # the weights 1/n once took the state's integer dtype and truncated to 0: all-zero statistics
    prog = gm.compile(gm.rbm(2, 1, seed=0, scale=0.0), dtype=np.float64)
    for dtype in (np.int64, np.int8, bool):
        stats = prog.sufficient_stats(np.array([[1, 0, 1], [1, 1, 1]], dtype=dtype))
        assert stats["v~h.weight"].tolist() == [[1.0], [0.5]]
        assert stats["v.bias"].tolist() == [1.0, 0.5]


def test_reconstruction_error_refuses_a_machine_without_whole_visible_layers():
    # it once returned 0.0: visible units sharing a layer with hidden ones were never reconstructed
    prog = gm.compile(gm.load(gm.models.path("lecture_bm")))
    with pytest.raises(gm.ModelError, match=r"reconstruction_error: layer 'units\[binary\]' mixes visible and hidden"):
        gm.monitors.reconstruction_error(prog, np.zeros((2, 2)))


def test_the_phases_of_the_boltzmann_rule_check_their_data_and_states():
    prog = _rbm()
    with pytest.raises(ValueError, match=r"data: column 1 \(node 'v', unit 1\) holds 2"):
        gm.learn.positive_phase(prog, np.array([[0, 2, 0, 1]]), 0)
    with pytest.raises(ValueError, match=r"data: column 1 \(node 'v', unit 1\) holds 2"):
        gm.learn.boltzmann_gradient(prog, np.array([[0, 2, 0, 1]]), 0, sweeps=1)
    with pytest.raises(ValueError, match=r"state: column 0 .* holds 3"):
        gm.learn.negative_phase(prog, np.full((2, 7), 3.0), 0)


@pytest.mark.parametrize(
    "data, message",
    [
        (np.zeros((3, 2)), r"data: expected shape \(examples, 4\) \(the visible columns\); got \(3, 2\)"),
        (np.full((3, 4), 255.0), r"holds 255 in row 0; binary units take values in \[0, 1\]"),
    ],
)
def test_ais_and_the_reconstruction_monitor_check_their_data(data, message):
    # AIS once raised NumPy's IndexError and accepted 255; the monitor returned a number
    prog = _rbm()
    with pytest.raises(ValueError, match=message):
        gm.ais.log_partition(prog, n_chains=10, betas=10, data=data)
    with pytest.raises(ValueError, match=message):
        gm.monitors.reconstruction_error(prog, data)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda p: gm.fit(p), r"^fit: missing a required argument: 'data'$"),
        (lambda p: gm.sample(p, 3, chainz=2), r"^sample: got an unexpected keyword argument 'chainz'$"),
        (
            lambda p: gm.sample(p, 3, 4),
            r"^sample: too many positional arguments; it takes program, n_sweeps by position, the options after "
            r"them by name$",
        ),
    ],
)
def test_a_call_that_does_not_bind_names_the_function(call, message):
    # Python's own message ("missing a required argument: 'data'") named no function once @checked wrapped it
    with pytest.raises(TypeError, match=message):
        call(_rbm())


def test_a_clamped_value_outside_the_support_is_named():
    with pytest.raises(gm.ModelError, match=r"clamp: node 'v': binary units take the values \{0, 1\}; got 2$"):
        gm.sample(_rbm(), 3, chains=2, clamp={"v": [1, 0, 2, 0]})


def test_a_burn_in_longer_than_the_run_is_refused():
    # it once returned no samples without a word
    with pytest.raises(ValueError, match=r"sample: burn_in must be <= n_sweeps \(4\); got 10"):
        gm.sample(_rbm(), 4, chains=2, burn_in=10)
    assert gm.sample(_rbm(), 4, chains=2, burn_in=4).state.shape == (2, 7)


def test_ais_and_the_reconstruction_monitor_take_missing_ratings():
    # the data check once refused NaN there, though fit takes NaN as missing
    prog = gm.compile(gm.rbm(5, 3, visible="softmax", categories=3, seed=0), dtype=np.float64)
    X = np.eye(3)[np.random.default_rng(0).integers(0, 3, size=(20, 5))].reshape(20, 15)
    X[:, 3:6] = np.nan  # the second item never rated
    X[::2, 9:12] = np.nan
    est = gm.ais.log_partition(prog, n_chains=50, betas=50, data=X, seed=0)
    assert abs(est.log_z - gm.exact.log_partition(prog)) < 5 * est.stderr + 0.05
    err = gm.monitors.reconstruction_error(prog, X)
    assert 0.0 < err < 1.0
    # data that are all missing once gave log Z = nan: the base model then has zero biases
    binary = _rbm(dtype=np.float64)
    est = gm.ais.log_partition(binary, n_chains=50, betas=50, data=np.full((3, 4), np.nan), seed=0)
    assert np.isfinite(est.log_z) and abs(est.log_z - gm.exact.log_partition(binary)) < 5 * est.stderr + 0.05


@pytest.mark.parametrize(
    "value, accepted",
    [
        (0.0, True),
        (-0.0, True),
        (1.0, True),
        (0.5, True),
        (np.nextafter(1.0, 2.0), False),
        (-1e-300, False),
        (np.nan, False),
        (np.inf, False),
        (-np.inf, False),
        (2.0, False),
    ],
)
def test_the_quick_data_check_agrees_with_the_full_one_at_the_edges(value, accepted):
    # a [0, 1] block is proven valid by its min and max before any mask is built: never wrongly
    prog = _rbm(dtype=np.float64)
    data = np.full((3, 4), 0.25)
    data[1, 2] = value
    if accepted:
        gm.support.check_data(prog, data)
    else:
        with pytest.raises(ValueError, match=r"data: column 2 \(node 'v', unit 2\) holds"):
            gm.support.check_data(prog, data)


def test_dbm_pretraining_draws_from_the_programs_generator():
    from graphmrf import deep_boltzmann as db

    X = (np.random.default_rng(0).random((20, 6)) < 0.5).astype(float)
    runs = []
    for _ in range(2):
        prog = gm.compile(gm.dbm([6, 4, 3], seed=0), seed=5)
        db.pretrain(prog, X, epochs=2, progress=False, monitors=())
        runs.append(prog.params["h1~h2.weight"].copy())
    np.testing.assert_array_equal(runs[0], runs[1])
