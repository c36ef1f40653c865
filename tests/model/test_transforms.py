"""Tests for mmm.model.transforms: NumPy and PyTensor forms agree; each transform means what it says."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats

from mmm.spec.priors import Prior
from mmm.model.transforms import (
    ADSTOCKS,
    SATURATIONS,
    adstock_np,
    adstock_pt,
    adstock_with_split_np,
    carryover_curve,
    delayed_weights,
    geometric_weights,
    get_adstock,
    get_saturation,
    hill,
    logistic,
    payback_periods,
    weibull_weights,
)

TOL = dict(rtol=1e-8, atol=1e-8)
SEEDS = [0, 1, 2]
N_DRAWS, N_CHANNELS, MAX_LAG, N_PERIODS = 3, 4, 9, 40


def _compile(inputs, output):
    return pytensor.function(inputs, output, mode="FAST_COMPILE")


def _params_matrix(name):
    return pt.matrix(name, dtype="float64", shape=(None, N_CHANNELS))


# One compiled PyTensor graph per transform, shared across seeds (compiling dominates runtime).
@pytest.fixture(scope="module")
def pt_weights():
    a, b = _params_matrix("a"), _params_matrix("b")
    return {
        "geometric": _compile([a], geometric_weights(a, MAX_LAG, xp=pt)),
        "delayed": _compile([a, b], delayed_weights(a, b, MAX_LAG, xp=pt)),
        "weibull": _compile([a, b], weibull_weights(a, b, MAX_LAG, xp=pt)),
    }


def _random_params(rng, name):
    size = (N_DRAWS, N_CHANNELS)
    if name == "geometric":
        alpha = rng.uniform(0, 1, size)
        alpha[0, :] = [0.0, 1e-9, 0.5, 0.999999]  # extremes
        return (alpha,)
    if name == "delayed":
        alpha, theta = rng.uniform(0.01, 0.99, size), rng.uniform(0, 6, size)
        alpha[0, :], theta[0, :] = [1e-9, 0.999999, 0.01, 0.5], [0.0, 3.0, 30.0, 8.0]
        return alpha, theta
    shape, scale = rng.lognormal(0, 0.5, size), rng.lognormal(np.log(2), 0.5, size)
    shape[0, :], scale[0, :] = [0.1, 10.0, 3.0, 200.0], [0.05, 100.0, 1e4, 1e4]
    return shape, scale


NP_WEIGHTS = {"geometric": geometric_weights, "delayed": delayed_weights, "weibull": weibull_weights}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(NP_WEIGHTS))
def test_weights_numpy_and_pytensor_agree(pt_weights, name, seed):
    params = _random_params(np.random.default_rng(seed), name)
    expected = NP_WEIGHTS[name](*params, MAX_LAG)
    np.testing.assert_allclose(pt_weights[name](*params), expected, **TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(NP_WEIGHTS))
def test_weights_are_normalized_and_broadcast_over_draws(name, seed):
    params = _random_params(np.random.default_rng(seed), name)
    weights = NP_WEIGHTS[name](*params, MAX_LAG)
    assert weights.shape == (N_DRAWS, N_CHANNELS, MAX_LAG)
    assert np.all(np.isfinite(weights)) and np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-12)
    # A single draw gives the same row as in the batch; a scalar parameter gives (L,).
    np.testing.assert_allclose(NP_WEIGHTS[name](*(p[1] for p in params), MAX_LAG), weights[1])
    assert NP_WEIGHTS[name](*(p[1, 0] for p in params), MAX_LAG).shape == (MAX_LAG,)


def test_weights_match_their_textbook_formulas():
    lags = np.arange(MAX_LAG)
    geometric = 0.6**lags
    np.testing.assert_allclose(geometric_weights(0.6, MAX_LAG), geometric / geometric.sum())
    delayed = 0.7 ** ((lags - 2.5) ** 2)
    np.testing.assert_allclose(delayed_weights(0.7, 2.5, MAX_LAG), delayed / delayed.sum())
    weibull = np.diff(stats.weibull_min(1.7, scale=3.0).cdf(np.arange(MAX_LAG + 1)))
    np.testing.assert_allclose(weibull_weights(1.7, 3.0, MAX_LAG), weibull / weibull.sum(), rtol=1e-10)
    assert np.argmax(delayed_weights(0.5, 4.0, MAX_LAG)) == 4  # theta is the peak lag


def test_weight_gradients_are_finite_at_extreme_parameters():
    a, b = _params_matrix("a"), _params_matrix("b")
    probe = np.linspace(1.0, 2.0, MAX_LAG)  # non-uniform so the gradient is not identically 0
    grads = {
        "delayed": (delayed_weights(a, b, MAX_LAG, xp=pt) * probe).sum(),
        "weibull": (weibull_weights(a, b, MAX_LAG, xp=pt) * probe).sum(),
    }
    for name, objective in grads.items():
        f = _compile([a, b], pytensor.grad(objective, [a, b]))
        for seed in SEEDS:
            params = _random_params(np.random.default_rng(seed), name)
            for grad in f(*params):
                assert np.all(np.isfinite(grad)), name


def _random_spend(rng, n_periods=N_PERIODS):
    spend = rng.gamma(1.0, 1.0, (n_periods, N_CHANNELS))
    spend[rng.uniform(size=spend.shape) < 0.3] = 0.0  # dark periods
    spend[:3, 0] = 0.0
    return spend


def _naive_adstock(x, weights):
    out = np.zeros(np.broadcast_shapes(x.shape, weights.shape[:-1][:-1] + (1, weights.shape[-2])))
    for t in range(x.shape[-2]):
        for lag in range(weights.shape[-1]):
            if t - lag >= 0:
                out[..., t, :] += weights[..., lag] * x[..., t - lag, :]
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_adstock_numpy_and_pytensor_agree(seed):
    rng = np.random.default_rng(seed)
    spend = _random_spend(rng)
    weights = weibull_weights(*_random_params(rng, "weibull"), MAX_LAG)  # (D, K, L)
    x = pt.matrix("x", dtype="float64")
    w = pt.tensor("w", dtype="float64", shape=(None, None, MAX_LAG))
    f = _compile([x, w], adstock_pt(x, w))
    result = f(spend, weights)
    assert result.shape == (N_DRAWS, N_PERIODS, N_CHANNELS)
    np.testing.assert_allclose(result, adstock_np(spend, weights), **TOL)
    np.testing.assert_allclose(result, _naive_adstock(spend, weights), **TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_adstock_matches_naive_double_loop(seed):
    rng = np.random.default_rng(seed)
    spend = _random_spend(rng)
    weights = delayed_weights(*_random_params(rng, "delayed"), MAX_LAG)
    np.testing.assert_allclose(adstock_np(spend, weights), _naive_adstock(spend, weights), rtol=1e-12)
    by_chain = weights[None]  # (chain, draw, K, L): the matmul path keeps lead dims
    np.testing.assert_allclose(adstock_np(spend, by_chain), _naive_adstock(spend, weights)[None],
                               rtol=1e-12)
    batched_spend = np.stack([spend, 2 * spend, spend[::-1]])  # (D, T, K) with (D, K, L)
    np.testing.assert_allclose(adstock_np(batched_spend, weights), _naive_adstock(batched_spend, weights))


def test_geometric_alpha_zero_is_identity():
    spend = _random_spend(np.random.default_rng(3))
    weights = geometric_weights(np.zeros(N_CHANNELS), MAX_LAG)
    np.testing.assert_array_equal(adstock_np(spend, weights), spend)


def test_unit_pulse_reproduces_weights_and_mass_is_preserved():
    rng = np.random.default_rng(4)
    weights = geometric_weights(rng.uniform(0.1, 0.9, N_CHANNELS), MAX_LAG)
    pulse = np.zeros((20, N_CHANNELS))
    pulse[5] = 1.0
    response = adstock_np(pulse, weights)
    np.testing.assert_allclose(response[5 : 5 + MAX_LAG], weights.T)
    assert np.all(response[:5] == 0) and np.all(response[5 + MAX_LAG :] == 0)

    spend = np.concatenate([_random_spend(rng), np.zeros((MAX_LAG, N_CHANNELS))])
    np.testing.assert_allclose(adstock_np(spend, weights).sum(axis=0), spend.sum(axis=0))


def test_adstock_pt_accepts_shared_weights_and_needs_static_lags():
    spend = _random_spend(np.random.default_rng(5))
    weights = geometric_weights(np.full(N_CHANNELS, 0.5), MAX_LAG)  # (K, L) constant
    np.testing.assert_allclose(adstock_pt(spend, weights).eval(), adstock_np(spend, weights), **TOL)
    with pytest.raises(ValueError, match="number of lags"):
        adstock_pt(spend, pt.matrix("w", dtype="float64"))


def test_adstock_split_separates_same_period_part():
    rng = np.random.default_rng(6)
    spend = _random_spend(rng)
    weights = weibull_weights(*_random_params(rng, "weibull"), MAX_LAG)
    adstocked, same_period = adstock_with_split_np(spend, weights)
    assert same_period.shape == adstocked.shape == (N_DRAWS, N_PERIODS, N_CHANNELS)
    np.testing.assert_allclose(same_period, weights[:, None, :, 0] * spend)
    assert np.all(same_period <= adstocked + 1e-15)
    assert np.any(same_period < adstocked - 1e-3)  # there is carry-over to split off

    immediate_only = geometric_weights(np.zeros(N_CHANNELS), MAX_LAG)
    adstocked, same_period = adstock_with_split_np(spend, immediate_only)
    np.testing.assert_array_equal(same_period, adstocked)


@pytest.fixture(scope="module")
def pt_saturations():
    x = pt.tensor("x", dtype="float64", shape=(None, None, N_CHANNELS))
    a, b = _params_matrix("a"), _params_matrix("b")
    return {
        "hill": _compile([x, a, b], hill(x, a, b, xp=pt)),
        "logistic": _compile([x, a], logistic(x, a, xp=pt)),
    }


def _saturation_inputs(rng):
    x = rng.gamma(1.0, 1.5, (N_DRAWS, N_PERIODS, N_CHANNELS))
    x[:, :5] = 0.0
    x[:, 5, :] = [1e-300, 1e-12, 1e3, 1e8]
    half_saturation = rng.lognormal(0, 0.75, (N_DRAWS, N_CHANNELS))
    slope = rng.lognormal(0, 0.3, (N_DRAWS, N_CHANNELS))
    half_saturation[0], slope[0] = [1e-4, 1e4, 1.0, 0.5], [0.05, 8.0, 1.0, 20.0]
    return x, half_saturation, slope


@pytest.mark.parametrize("seed", SEEDS)
def test_saturations_numpy_and_pytensor_agree(pt_saturations, seed):
    x, half_saturation, slope = _saturation_inputs(np.random.default_rng(seed))
    np.testing.assert_allclose(
        pt_saturations["hill"](x, half_saturation, slope), hill(x, half_saturation, slope), **TOL
    )
    lam = np.random.default_rng(seed).gamma(2, 0.5, (N_DRAWS, N_CHANNELS))
    lam[0] = [1e-6, 1e-2, 10.0, 1e3]
    np.testing.assert_allclose(pt_saturations["logistic"](x, lam), logistic(x, lam), **TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_saturations_match_their_textbook_formulas(seed):
    rng = np.random.default_rng(seed)
    x = rng.gamma(1.0, 1.5, (N_PERIODS, N_CHANNELS))
    k, s, lam = rng.lognormal(0, 0.75, N_CHANNELS), rng.lognormal(0, 0.3, N_CHANNELS), rng.gamma(2, 0.5, N_CHANNELS)
    np.testing.assert_allclose(hill(x, k, s), x**s / (x**s + k**s), rtol=1e-12)
    np.testing.assert_allclose(logistic(x, lam), (1 - np.exp(-lam * x)) / (1 + np.exp(-lam * x)), rtol=1e-12)


@pytest.mark.parametrize("name", list(SATURATIONS))
def test_saturation_shape(name):
    grid = np.linspace(0, 4, 201)[:, None] * np.ones(N_CHANNELS)  # typical scaled spend: below float rounding to 1
    params = {"half_saturation": np.array([0.3, 1.0, 2.0, 5.0]), "slope": np.array([0.5, 1.0, 2.0, 4.0])}
    params = params if name == "hill" else {"lam": np.array([0.2, 1.0, 2.0, 4.0])}
    curve = get_saturation(name)(grid, params)
    assert np.all(curve[0] == 0.0)
    assert np.all(np.diff(curve, axis=0) > 0)
    assert np.all((curve >= 0) & (curve < 1))
    if name == "hill":
        at_half = hill(params["half_saturation"][None], params["half_saturation"], params["slope"])
        np.testing.assert_allclose(at_half, 0.5)


def test_hill_gradient_is_finite_where_spend_is_zero():
    x = pt.matrix("x", dtype="float64")
    k, s = pt.vector("k", dtype="float64"), pt.vector("s", dtype="float64")
    saturated = hill(x, k, s, xp=pt)
    f = _compile([x, k, s], [saturated, *pytensor.grad(saturated.sum(), [x, k, s])])
    spend = np.array([[0.0, 0.0, 1.0], [0.5, 0.0, 2.0], [0.0, 0.0, 0.0]])
    half_saturation, slope = np.array([1.0, 0.2, 3.0]), np.array([0.4, 1.0, 3.0])
    value, grad_x, grad_k, grad_s = f(spend, half_saturation, slope)
    assert np.all(value[spend == 0] == 0.0)
    for grad in (grad_x, grad_k, grad_s):
        assert np.all(np.isfinite(grad))
    # The gradient is the true one, not just finite: compare with central differences.
    h = 1e-6
    numeric_k = (hill(spend, half_saturation + h, slope) - hill(spend, half_saturation - h, slope)).sum(0) / (2 * h)
    np.testing.assert_allclose(grad_k, numeric_k, rtol=1e-5, atol=1e-9)


def test_transform_units_declare_names_priors_and_support():
    expected = {
        "geometric": ("alpha",),
        "delayed": ("alpha", "theta"),
        "weibull": ("shape", "scale"),
        "hill": ("half_saturation", "slope"),
        "logistic": ("lam",),
    }
    for name, unit in {**ADSTOCKS, **SATURATIONS}.items():
        assert unit.name == name
        assert unit.param_names == expected[name]
        assert set(unit.default_priors) == set(unit.param_support) == set(unit.param_names)
        assert all(isinstance(p, Prior) for p in unit.default_priors.values())
    assert ADSTOCKS["delayed"].default_priors["theta"] == Prior("HalfNormal", sigma=2)
    assert SATURATIONS["logistic"].default_priors["lam"] == Prior("Gamma", alpha=2, beta=2)


def test_adstock_units_match_the_functions():
    shape, scale = np.array([0.8, 2.0]), np.array([1.5, 4.0])
    np.testing.assert_array_equal(
        get_adstock("weibull").weights({"shape": shape, "scale": scale}, 6), weibull_weights(shape, scale, 6)
    )
    with pytest.raises(ValueError, match="delayed adstock needs parameters alpha, theta; missing theta"):
        get_adstock("delayed").weights({"alpha": 0.5}, 6)


def test_unknown_transform_names_are_clear():
    with pytest.raises(ValueError, match=r"unknown adstock 'exponential'.*delayed, geometric, weibull"):
        get_adstock("exponential")
    with pytest.raises(ValueError, match=r"unknown saturation 'tanh'.*hill, logistic"):
        get_saturation("tanh")


def test_payback_periods():
    assert np.all(payback_periods(geometric_weights(np.zeros(3), MAX_LAG), 0.9) == 0)
    weights = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    np.testing.assert_allclose(carryover_curve(weights), [[0.2, 0.5, 1.0], [0.6, 0.9, 1.0]])
    np.testing.assert_array_equal(payback_periods(weights, 0.5), [1, 0])
    np.testing.assert_array_equal(payback_periods(weights, 0.9), [2, 1])
    np.testing.assert_array_equal(payback_periods(weights, 1.0), [2, 2])
    # geometric 0.5 over many lags: cumulative 1 - 0.5**(l+1) first reaches 0.9 at l = 3.
    batched = geometric_weights(np.full((5, 2), 0.5), 30)
    assert payback_periods(batched, 0.9).shape == (5, 2)
    assert np.all(payback_periods(batched, 0.9) == 3)
    with pytest.raises(ValueError, match="share"):
        payback_periods(weights, 1.5)
