"""The verification harness itself: its bins, its power, its false-positive rate, and
that a check which could not have failed is never reported as a pass."""

import json

import numpy as np
import pytest
from scipy import stats
from zoo import family

import graphmrf as gm
from graphmrf import goodness
from graphmrf.samplers import block_gibbs
from graphmrf.verify import cd_expectation, chains_to_detect, chi_square

CLAMPING_SAMPLERS = ["gibbs", "sequential", "random-scan", "metropolis"]


def _explaining_away():
    return gm.compile(gm.load(gm.models.path("explaining_away.graphml")))


def _lecture():
    return gm.compile(gm.load(gm.models.path("lecture_bm.graphml")))


def test_chi_square_merges_sparse_bins():
    probs = np.array([0.5, 0.3, 0.19, 0.005, 0.005])
    counts = np.array([50, 30, 19, 1, 0])
    stat, dof, p = chi_square(counts, probs)
    # the two sparse bins (expected 0.5 each) pool with each other and, still sparse, with the smallest bin
    ex = np.array([50, 30, 20])
    ob = np.array([50, 30, 20])
    assert dof == 2 and stat == pytest.approx(np.sum((ob - ex) ** 2 / ex)) and p == pytest.approx(1.0)
    assert chi_square([0, 5], [1.0, 0.0])[2] == 0.0  # a state of probability zero was sampled


def test_rare_states_are_cut_by_probability_quantiles_not_pooled():
    # two common states and 40 rare ones (expected about 3 draws each at n = 1000, 120 in all)
    probs = np.concatenate([[0.48, 0.4], np.linspace(2.9, 3.1, 40) / np.linspace(2.9, 3.1, 40).sum() * 0.12])
    labels, n_bins = goodness.bin_states(probs, 1000)
    assert n_bins == 2 + 20  # 40 rare states in bins of two (expected >= 5 each), most probable first
    rare = labels >= 2
    order = np.argsort(-probs[rare])
    assert np.all(np.diff(labels[rare][order]) >= 0)  # bins follow the exact probability
    assert all(1000 * probs[labels == b].sum() >= 5 for b in range(n_bins))
    # a sampler that never visits the rare states: its 120 missing draws are a certain rejection
    never = np.concatenate([np.round(1000 * probs[:2] / 0.88), np.zeros(40)])
    assert chi_square(never, probs)[2] < 1e-12
    r_labels, r_bins = goodness.bin_states(probs, 1000, rare=probs < 0.01)
    assert r_bins == 21 and np.all(r_labels[:2] == 20)  # the common states pooled in one bin
    assert chi_square(never, probs, labels=r_labels)[2] < 1e-12


def test_shipped_explaining_away_unclamped_is_inconclusive_never_pass():
    """The net puts 0.99991 of its mass on one state: every chi-square has one bin."""
    rep = gm.verify(_explaining_away(), n_chains=4000, n_sweeps=10, seed=0, stationarity=(1,))
    assert rep.verdict == "inconclusive" and not rep.passed and not rep.failed
    assert {c.status for c in rep.checks} == {"inconclusive"}
    assert "one bin only" in rep.checks[0].inconclusive and "never visits them would pass" in rep.checks[1].inconclusive
    text = str(rep)
    assert "PASS" not in text and "INCONCLUSIVE" in text and "clamp" in text
    assert rep.power["total_variation"] is None


@pytest.mark.parametrize("method", CLAMPING_SAMPLERS)
def test_explaining_away_posterior_given_the_observation_passes_with_stated_power(method):
    """Given house_jumps = 1 the causes explain each other away: p(truck xor earthquake) ~ 1."""
    rep = gm.verify(
        _explaining_away(), method, n_chains=4000, n_sweeps=20, clamp={"house_jumps": 1}, seed=1, stationarity=(1,)
    )
    assert rep.verdict == "pass", str(rep)
    joint = rep.checks[0]
    assert joint.name.startswith("joint") and joint.passed and joint.detail == "dof 1"
    assert rep.power["total_variation"] == pytest.approx(
        np.sqrt(goodness.noncentrality(1, rep.power["level"]) / (4 * 4000))
    )
    assert "total variation >=" in str(rep)


def test_stated_power_holds_by_simulation():
    """Draws from the lecture machine at beta x f_low (and f_high), the factors the report
    states for 4000 chains, are rejected by the joint or energy test about 95 % of the time
    (stated 0.95; the non-central approximation is good to about 1 %): over 1000 simulated
    runs the rate stays above 0.91 (4 standard deviations below 0.94) -- and a change half
    as large is rejected far less often, so the statement is tight."""
    prog = _lecture()
    rep = gm.verify(prog, n_chains=4000, n_sweeps=30, seed=0, stationarity=(1,))
    level = rep.power["level"]
    states, p, cols = gm.exact.joint(prog)
    full = np.zeros((p.size, prog.n_columns))
    full[:, cols] = states
    E = np.asarray(prog.energy(full), dtype=np.float64)
    labels, _ = goodness.bin_states(p, 4000)
    rng = np.random.default_rng(0)

    def rate(f, runs):
        q = goodness.tempered(p, f)
        hits = 0
        for _ in range(runs):
            c = rng.multinomial(4000, q)
            hits += (
                goodness.chi_square(c, p, labels=labels)[2] <= level
                or goodness.energy_test(np.repeat(E, c), p, E)[1] <= level
            )
        return hits / runs

    lo, hi = rep.power["beta_factor"]
    assert 0.85 < lo < 1 < hi < 1.15
    assert rate(lo, 1000) > 0.91 and rate(hi, 1000) > 0.91
    assert rate(1 - (1 - lo) / 2, 300) < 0.6


def test_a_target_picks_the_number_of_chains():
    prog = _lecture()
    rep = gm.verify(prog, n_sweeps=20, detect_beta=0.9, seed=1, stationarity=(1,))
    assert rep.passed and 500 < rep.n_chains < 20000
    assert rep.power["beta_factor"][0] >= 0.9  # the run detects beta x 0.9
    small = gm.verify(prog, n_chains=rep.n_chains // 2, n_sweeps=5, seed=0, stationarity=())
    assert small.power["beta_factor"][0] < 0.9  # half the chains would not
    assert gm.verify(prog, n_sweeps=20, detect_tv=0.05, seed=0, stationarity=(1,)).power["total_variation"] <= 0.05
    with pytest.raises(ValueError, match="n_chains or a target"):
        gm.verify(prog, n_chains=100, detect_beta=0.9)


def test_report_prints_plots_and_serialises(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    rep = gm.verify(gm.compile(family("lecture")), n_chains=2000, n_sweeps=20, seed=0, stationarity=(1,))
    text = str(rep)
    assert "joint chi-square" in text and "verdict: PASS" in text and "power:" in text and "beta x" in text
    ax = rep.plot()
    ax.figure.savefig(tmp_path / "r.png")
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["verdict"] == "pass" and d["checks"][0]["status"] == "pass" and d["power"]["beta_factor"][0] < 1


def test_arguments_are_checked():
    prog = _lecture()
    for kwargs, match in [
        (dict(n_chains=0), "n_chains must be an integer >= 1"),
        (dict(beta=float("nan")), "beta must be a finite real >= 0"),
        (dict(alpha=1.5), "alpha must be a real in"),
        (dict(stationarity=[0]), "stationarity must be a list of integers >= 1"),
        (dict(detect_beta=-1.0), "detect_beta must be"),
        (dict(mode="ais", method="gibbs"), "is a sampler method"),
        (dict(method="cd-1", clamp={"v1": 1}), "clamp applies to samplers only"),
    ]:
        with pytest.raises(ValueError, match=match):
            gm.verify(prog, **kwargs)
    with pytest.raises(TypeError, match="method must be"):
        gm.verify(prog, method=3)


# ---------------------------------------------------------------------------- gradient estimators


def test_cd_expectation_is_the_exact_k_step_expectation():
    """Against the k-th power of the visible-to-visible transition matrix T = A B,
    A[v, h] = p(h | v), B[h, v'] = p(v' | h), built by hand from sigmoids."""
    import itertools

    g = family("rbm", seed=5)
    prog = gm.compile(g, dtype=np.float64)
    W, b, c = g.edges["v", "h"]["weight"], g.nodes["v"]["bias"], g.nodes["h"]["bias"]
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    vis = np.array(list(itertools.product([0, 1], repeat=4)), float)
    hid = np.array(list(itertools.product([0, 1], repeat=3)), float)
    bern = lambda x, p: np.prod(np.where(x == 1, p, 1 - p))  # noqa: E731
    T = np.array([[bern(h, sig(c + v @ W)) for h in hid] for v in vis]) @ np.array(
        [[bern(v, sig(b + W @ h)) for v in vis] for h in hid]
    )
    data = np.array([[1, 0, 1, 1], [0, 1, 0, 0], [1, 0, 1, 1]], dtype=float)
    mask = prog.hidden_summable()
    full = np.column_stack([vis, np.zeros((16, 3))])
    pos = gm.learn.positive_phase(prog, data, 0, draw_hidden=False).stats
    for k in (1, 3):
        start = np.mean([(vis == v0).all(1).astype(float) for v0 in data], axis=0)
        neg = prog.sufficient_stats(full, weights=start @ np.linalg.matrix_power(T, k), summed=mask)
        got = cd_expectation(prog, data, k=k)
        for key in pos:
            np.testing.assert_allclose(got[key], pos[key] - neg[key], atol=1e-12)


def test_cd_estimators_match_their_expectation_and_a_wrong_k_is_rejected():
    """CD-1 and CD-3 pass against their own exact expectations; CD-2 held to CD-1's fails.
    200 replicates of 600 rows; false-positive rate 1e-3 (Bonferroni over 19 entries)."""
    prog = gm.compile(family("rbm", seed=5))
    data = np.repeat(np.array([[1, 0, 1, 1], [0, 1, 0, 0]], dtype=float), 300, axis=0)
    rep = gm.verify(prog, "cd-1", data=data, seed=0)
    assert rep.mode == "gradient" and rep.verdict == "pass", str(rep)
    assert rep.checks[1].must_reject and rep.checks[1].passed  # the sign-flip control was rejected
    assert rep.power["detectable_bias"] < 0.1 * rep.power["largest_entry"]
    assert gm.verify(prog, "cd-k", n_sweeps=3, data=data, seed=1).passed

    def cd2(program, data, rng):
        return gm.learn.contrastive_divergence(program, data, rng, k=2)[0]

    wrong = gm.verify(prog, cd2, mode="gradient", data=data, expected=cd_expectation(prog, data, k=1), seed=2)
    assert wrong.verdict == "fail", str(wrong)


def test_boltzmann_rule_matches_the_exact_gradient_and_a_flipped_sign_is_rejected():
    g = gm.boltzmann(3, 2, lateral=True, seed=1, scale=0.8)
    prog = gm.compile(g)
    data = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 1]])
    rep = gm.verify(prog, "boltzmann", n_chains=500, n_sweeps=30, data=data, replicates=40, seed=0)
    assert rep.verdict == "pass", str(rep)

    def flipped(program, data, rng):
        grad = gm.learn.boltzmann_gradient(program, data, rng, chains=500, sweeps=30, positive_sweeps=30)[0]
        grad["v.bias"] = -grad["v.bias"]
        return grad

    assert gm.verify(prog, flipped, mode="gradient", data=data, replicates=40, seed=1).verdict == "fail"
    # a deterministic estimator: no spread, so equality is the test (and the control is rejected)
    exact = gm.verify(
        prog,
        lambda program, data, rng: gm.learn.exact_gradient(program, data),
        mode="gradient",
        data=data,
        replicates=10,
        seed=0,
    )
    assert exact.verdict == "pass" and exact.checks[1].passed, str(exact)


def test_too_few_replicates_is_inconclusive():
    prog = gm.compile(family("rbm", seed=5))
    rep = gm.verify(prog, "cd-1", data=np.array([[1, 0, 1, 1]]), replicates=5, seed=0)
    assert rep.verdict == "inconclusive" and "too few" in rep.checks[0].inconclusive


# ---------------------------------------------------------------------------- AIS


def test_ais_error_bars_are_calibrated_and_a_shrunk_error_bar_is_rejected():
    """AIS on a small RBM: 20 standardised errors look N(0, 1). The same runs reporting a
    quarter of their standard error (z-scores x 4: sum of squares ~ 16 chi2(20)) fail."""
    prog = gm.compile(gm.rbm(6, 4, seed=0, scale=1.0))
    rep = gm.verify(prog, "ais", n_sweeps=100, seed=0)
    assert rep.mode == "ais" and rep.verdict == "pass", str(rep)
    assert rep.power["stderr_understated_by"] < 2.5

    def overconfident(program, rng):
        res = gm.ais.log_partition(program, n_chains=100, betas=100, seed=rng)
        return res._replace(stderr=res.stderr / 4)

    bad = gm.verify(prog, overconfident, mode="ais", seed=0)
    assert bad.verdict == "fail" and not bad.checks[1].passed, str(bad)


@pytest.mark.slow
def test_false_positive_rate_is_near_alpha():
    """Over 300 seeds a correct sampler is rejected at about the stated rate.

    At alpha = 0.05 the expected count is 15; the test fails if the count falls outside the
    binomial(300, 0.05) central 99.9% interval (or is far below it: Bonferroni is conservative
    only up to the correlation of the checks), so it has a false-positive rate below 1e-3.
    """
    prog = gm.compile(family("rbm", seed=2))
    alpha = 0.05
    rejected = sum(
        gm.verify(prog, n_chains=2000, n_sweeps=30, alpha=alpha, seed=s, stationarity=(1, 5)).failed for s in range(300)
    )
    lo, hi = stats.binom.ppf([0.0005, 0.9995], 300, alpha)
    assert lo <= rejected <= hi, rejected


@pytest.mark.slow
def test_a_sampler_at_beta_x_097_is_rejected_at_the_chains_verify_picks():
    """On the lecture's machine, verify(detect_beta=0.97) picks the chains; a block-Gibbs
    sampler drawing at 0.97 beta is then rejected in at least 38 of 40 seeds (95 %). The
    stated power is 0.95 for the final-state tests alone; the stationarity tests add more,
    so a correct power statement fails this test with probability well below 1e-3."""
    prog = _lecture()

    def cooler(program, state, rng, beta=1.0, clamp=None, energy=False):
        return block_gibbs(program, state, rng, beta=0.97 * beta, clamp=clamp, energy=energy)

    reports = [gm.verify(prog, cooler, detect_beta=0.97, seed=s) for s in range(40)]
    assert len({r.n_chains for r in reports}) == 1 and reports[0].power["beta_factor"][0] >= 0.97
    assert sum(r.failed for r in reports) >= 38, [r.n_chains for r in reports[:1]]


def test_the_models_readme_states_what_verify_power_computes():
    """models/README.md quotes the power of the default run on each shipped model."""
    import os

    from graphmrf.verify import power

    with open(os.path.join(os.path.dirname(__file__), "..", "models", "README.md"), encoding="utf-8") as fh:
        text = fh.read()
    for name, clamp, tv, lo, hi in [
        ("lecture_bm", None, "0.025", "0.956", "1.045"),
        ("ising3_periodic", None, "0.047", "0.983", "1.017"),
        ("explaining_away", {"house_jumps": 1}, "0.019", None, None),
        ("explaining_away", None, None, None, None),
    ]:
        p = power(gm.compile(gm.load(gm.models.path(name + ".graphml"))), 20000, clamp=clamp)
        assert (p["total_variation"] is None) == (tv is None) and (tv is None or f"{p['total_variation']:.3f}" == tv)
        assert p["beta_factor"] == [None, None] if lo is None else [f"{f:.3f}" for f in p["beta_factor"]] == [lo, hi]
        for figure in filter(None, (tv, lo, hi)):
            assert figure in text, figure
    net = gm.compile(gm.load(gm.models.path("explaining_away.graphml")))
    assert 3.2e6 < chains_to_detect(net, beta_factor=0.97, clamp={"house_jumps": 1}) < 3.6e6 and "3.4 million" in text
    assert 42000 < chains_to_detect(_lecture(), beta_factor=0.97) < 46000 and "44000" in text


def test_neals_rule_is_checked_against_the_exact_gradient_and_a_posterior_left_unsampled_is_caught():
    """Neal's rule with the posterior sampled agrees with the exact log-likelihood gradient
    of a tiny belief net, and of a tiny DBN (its top RBM's term from burnt-in free chains);
    with the hidden units left at their random start (no sweeps) the rule is biased and is
    rejected (false-positive rate 1e-3, fixed seeds)."""
    from graphmrf import belief

    prog = gm.compile(gm.sbn([4, 3, 2], seed=0, scale=1.0), dtype=np.float64)
    right = gm.verify(prog, "neal", mode="gradient", n_sweeps=50, replicates=50, seed=0)
    assert right.passed, str(right)
    dbn = gm.compile(gm.dbn([4, 3, 2], seed=0, scale=1.0), dtype=np.float64)
    top = gm.verify(dbn, "neal", mode="gradient", n_sweeps=50, n_chains=500, replicates=200, seed=0)
    assert top.passed and top.power["detectable_bias"] < 0.1, str(top)

    def unsampled(p, d, rng):
        return belief.neal(p, d, rng, positive_sweeps=0)[0]

    wrong = gm.verify(prog, unsampled, mode="gradient", replicates=50, seed=0)
    assert wrong.failed, str(wrong)
