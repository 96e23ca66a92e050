"""Imputation of missing visible values by clamped sampling."""

import numpy as np
import pytest
from zoo import family

import graphmrf as gm


def exact_conditional_mean(prog, row):
    """E[v_i | observed] by enumeration of the visible distribution."""
    states, probs = gm.exact.distribution(prog)
    obs = ~np.isnan(row)
    match = np.all(states[:, obs] == row[obs], axis=1)
    p = probs[match] / probs[match].sum()
    return p @ states[match]


@pytest.mark.parametrize("name", ["rbm", "bm", "rbm_softmax"])
def test_imputed_values_are_the_exact_conditional_means(name):
    """Each imputed mean lies within 5 standard errors of E[v_i | v_obs] (chains are
    independent; the standard error uses each chain's time average with tau <= 20 sweeps,
    a conservative bound for these small models)."""
    prog = gm.compile(family(name, seed=2), seed=0)
    states, _ = gm.exact.distribution(prog)
    row = states[3].copy()
    L = prog.layers[0]
    miss = np.zeros(row.size, bool)
    miss[: L.width] = True  # the first visible unit (all its columns)
    miss[-L.width :] = True  # and the last
    row[miss] = np.nan
    filled = gm.impute(prog, row[None, :], n_sweeps=600, burn_in=100, chains_per_row=400, seed=1)[0]
    ref = exact_conditional_mean(prog, row)
    se = np.sqrt(np.maximum(ref * (1 - ref), 1e-12) * 20 / (400 * 500))
    assert np.all(np.abs(filled[miss] - ref[miss]) < 5 * se[miss] + 1e-9), (filled[miss], ref[miss])
    np.testing.assert_array_equal(filled[~miss], row[~miss])


def test_a_missing_entry_never_influences_its_own_prediction():
    """A5: whatever the hidden truth behind a NaN, the imputation is the same."""
    prog = gm.compile(family("rbm", seed=1), seed=0)
    a = np.array([[1.0, np.nan, 0.0, 1.0]])
    out1 = gm.impute(prog, a, n_sweeps=50, burn_in=10, seed=3)
    out2 = gm.impute(prog, a.copy(), n_sweeps=50, burn_in=10, seed=3)
    np.testing.assert_array_equal(out1, out2)


def test_bad_shapes_and_partial_softmax_units_are_refused():
    prog = gm.compile(family("rbm_softmax", seed=0))
    with pytest.raises(ValueError, match=r"X: expected shape \(examples, 6\) \(the visible columns\); got \(1, 5\)"):
        gm.impute(prog, np.zeros((1, 5)))
    row = np.array([[1.0, 0.0, np.nan, 0.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match=r"softmax units take one-hot rows .*, or a whole unit of NaN \(missing\)"):
        gm.impute(prog, row, n_sweeps=5, burn_in=1)
    with pytest.raises(ValueError, match=r"impute: burn_in must be smaller than n_sweeps"):
        gm.impute(prog, np.array([[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]]), n_sweeps=5, burn_in=5)
