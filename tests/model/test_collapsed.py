"""The moving baseline integrated out of the density (mmm.model.collapsed): the marginal against the plain
multivariate normal, and the draws put back against the Gaussian conditional, both computed here with SciPy
and NumPy from the model's own covariance."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.stats import multivariate_normal

from mmm.data.panel_design import PanelScaling, build_panel_design
from mmm.data.synth import SynthSpec, generate
from mmm.model import baseline
from mmm.model.build import build_model
from mmm.model.collapsed import draw_collapsed
from mmm.spec.config import Config

N_PERIODS, HOLDOUT_TRAIN = 60, 52
CASES = {  # name: (geos, model.baseline, fitted periods, the variables integrated out)
    "national smooth": (1, {"smooth": True, "n_basis": 10}, HOLDOUT_TRAIN, (baseline.COEFS,)),
    "panel shocks": (3, {"shocks": True}, HOLDOUT_TRAIN, (baseline.SHOCKS,)),
    "panel smooth": (3, {"smooth": True, "shocks": False, "n_basis": 10}, HOLDOUT_TRAIN, (baseline.COEFS,)),
    # without a holdout the smooth basis is orthogonal to the shocks' projection: both are integrated out
    "panel both": (3, {"smooth": True, "shocks": True, "n_basis": 8}, N_PERIODS, (baseline.COEFS, baseline.SHOCKS)),
    # with one it is not, and the smooth coefficients are sampled
    "panel both, holdout": (3, {"smooth": True, "shocks": True, "n_basis": 8}, HOLDOUT_TRAIN, (baseline.SHOCKS,)),
}


def _setup(case: str):
    from mmm.analysis.pipeline import load

    n_geos, moving, n_train, names = CASES[case]
    result = generate(SynthSpec(n_periods=N_PERIODS, n_channels=2, controls=False, seed=3, n_geos=n_geos))
    config = Config.from_dict({**result.config, "model": {**result.config["model"], "baseline": moving}})
    panel = load(config, result.data)
    design = build_panel_design(panel, PanelScaling.compute(panel), 2)

    def model(**extra):
        return build_model(config, design, n_train=n_train, **extra)

    return config, design, model, n_train, names


def _movement_basis(config, design, values: dict, names, n_train: int) -> np.ndarray:
    """B (T, k) of the collapsed movement u = B z, z ~ N(0, I_k), stacked over the collapsed variables, from
    the baseline's terms (written out here for the shocks, so a change to their definition in the model shows)."""
    options = config.model.baseline
    parts = []
    for name in names:
        if name == baseline.COEFS:
            phi, omega = baseline.design_basis(design.time, design.fourier, options.n_basis, config.model.trend)
            parts.append(phi * baseline.spectral_scale(np.asarray(values[baseline.AMPLITUDE]),
                                                       np.asarray(values[baseline.LENGTHSCALE]), omega))
            continue
        # shocks: one per fitted period, projected off the intercept, trend and season over those periods
        fixed, pinv = baseline.shock_projection(design.time[:n_train], design.fourier[:n_train], config.model.trend)
        shocks = np.zeros((design.n_periods, n_train))
        shocks[:n_train] = float(values[baseline.SHOCK_SD]) * (np.eye(n_train) - fixed @ pinv)
        parts.append(shocks)
    return np.hstack(parts)


def _plain_pieces(plain, point):
    """The plain model's residual from everything but the collapsed movement (its coefficients at 0) and sigma."""
    observed = plain["kpi_obs"]
    mu, sigma = observed.owner.inputs[2], observed.owner.inputs[3]
    outputs = plain.replace_rvs_by_values([mu, sigma, *plain.free_RVs])
    values = plain.compile_fn(outputs, inputs=plain.value_vars, on_unused_input="ignore")(point)
    mu, sigma = np.asarray(values[0]), np.asarray(values[1]).ravel()
    kpi = plain["kpi"].get_value()
    return kpi - mu, sigma, {rv.name: v for rv, v in zip(plain.free_RVs, values[2:], strict=True)}


def _stacked_covariance(covariance: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    n_geos, n_periods = len(sigma), covariance.shape[0]
    return np.kron(np.ones((n_geos, n_geos)), covariance) + np.diag(np.repeat(sigma ** 2, n_periods))


@pytest.mark.parametrize("case", list(CASES))
def test_the_marginal_density_is_the_plain_model_integrated_over_the_movement(case):
    """log p(kpi | rest) with the movement integrated out equals the multivariate normal with the movement's
    covariance added to every geo's noise (and shared across geos)."""
    config, design, model, n_train, names = _setup(case)
    plain, collapsed = model(), model(collapse_baseline=True)
    free = {rv.name for rv in collapsed.free_RVs}
    assert not free & set(names) and set(names) <= {rv.name for rv in plain.free_RVs}
    assert (baseline.COEFS in free) == (config.model.baseline.smooth and baseline.COEFS not in names)
    logp_plain, logp_collapsed = plain.compile_logp(), collapsed.compile_logp()
    rng = np.random.default_rng(1)
    for _ in range(3):
        point = {k: v + rng.normal(0.0, 0.3, np.shape(v)) for k, v in collapsed.initial_point().items()}
        plain_point = {**point, **{n: np.zeros(plain.initial_point()[n].size) for n in names}}
        residual, sigma, values = _plain_pieces(plain, plain_point)
        fitted = _movement_basis(config, design, values, names, n_train)[:n_train]
        joint = multivariate_normal(np.zeros(residual.size),
                                    _stacked_covariance(fitted @ fitted.T, sigma)).logpdf(residual.ravel())
        independent = sum(multivariate_normal(np.zeros(n_train), s ** 2 * np.eye(n_train)).logpdf(r)
                          for r, s in zip(residual, sigma, strict=True))
        prior_at_zero = fitted.shape[1] * multivariate_normal(0.0, 1.0).logpdf(0.0)
        expected = logp_plain(plain_point) - prior_at_zero - independent + joint
        assert logp_collapsed(point) == pytest.approx(expected, rel=1e-9, abs=1e-7)


@pytest.mark.parametrize(("case", "centered"), [("national smooth", True), ("panel shocks", True),
                                                ("panel shocks", False), ("panel smooth", False),
                                                ("panel smooth", True), ("panel both", True)])
def test_the_draws_put_back_follow_the_gaussian_conditional(case, centered):
    """At one parameter point repeated 4000 times, the drawn movement on the fitted periods has the conditional
    mean and spread of u given the residuals: E = C' S_y^-1 r, Cov = C - C' S_y^-1 C (stacked over geos). With
    the level form, the point is given as the posterior reports it (the intercept)."""
    config, design, model, n_train, names = _setup(case)
    plain, collapsed = model(), model(collapse_baseline=True, centered_baseline=centered)
    point = {k: v + np.random.default_rng(2).normal(0.0, 0.2, np.shape(v)) for k, v in plain.initial_point().items()}
    point.update({n: np.zeros_like(point[n]) for n in names})
    residual, sigma, values = _plain_pieces(plain, point)
    reported = {n: v for n, v in values.items() if n not in names}
    if centered:  # the posterior holds the intercept; the sampled level is recovered from it
        assert "level" in {rv.name for rv in collapsed.free_RVs}
    n_draws = 4000
    posterior = xr.Dataset({n: xr.DataArray(np.broadcast_to(np.asarray(v), (1, n_draws, *np.shape(v))).copy(),
                                            dims=("chain", "draw", *[f"{n}_{i}" for i in range(np.ndim(v))]))
                            for n, v in reported.items()})
    drawn = draw_collapsed(collapsed, posterior, seed=5)
    stacked = np.hstack([drawn[n].values.reshape(n_draws, -1) for n in names])

    basis = _movement_basis(config, design, values, names, n_train)
    fitted = basis[:n_train]
    n_geos = residual.shape[0]
    stacked_cov = _stacked_covariance(fitted @ fitted.T, sigma)
    sizes = np.cumsum([0, *(drawn[n].values[0, 0].size for n in names)])
    parts = [slice(sizes[i], sizes[i + 1]) for i in range(len(names))]
    # the whole movement, and each part on its own when there are several (the split is conditional too)
    for part in [slice(None), *(parts if len(parts) > 1 else [])]:
        movement = stacked[:, part] @ fitted[:, part].T  # (draws, fitted periods)
        own = fitted[:, part] @ fitted[:, part].T
        cross = np.tile(own, (1, n_geos))  # Cov(this part of u, stacked kpi)
        mean = cross @ np.linalg.solve(stacked_cov, residual.ravel())
        spread = np.sqrt(np.diag(own - cross @ np.linalg.solve(stacked_cov, cross.T)))
        error = movement.mean(axis=0) - mean
        assert np.all(np.abs(error) < 5 * spread / np.sqrt(n_draws) + 1e-9), (part, np.max(np.abs(error) / spread))
        np.testing.assert_allclose(movement.std(axis=0), spread, rtol=0.1)
        if part == slice(None):  # the data moved the movement: the check has teeth
            assert np.abs(mean).max() > 3 * spread.max() / np.sqrt(n_draws)


@pytest.mark.parametrize("tiny", [False, True])
def test_the_fused_smooth_marginal_has_the_gradient_of_its_value(tiny):
    """The closed-form gradient of the fused op against finite differences and against PyTensor's own gradient
    of the plain Cholesky formula, and numba against NumPy; ``tiny`` puts some spectral scales where W s^2 G is
    negligible (long length scales; the rows summed directly), too small for finite differences."""
    import pytensor
    import pytensor.tensor as pt
    from pytensor.gradient import verify_grad

    from mmm.model.collapsed import SMOOTH_MARGINAL

    rng = np.random.default_rng(4)
    basis = rng.normal(size=(40, 9))
    gram = basis.T @ basis
    scale = 0.1 * np.exp(-0.4 * np.arange(9))
    if tiny:
        scale[5:] = [1e-7, 1e-9, 1e-12, 1e-30]
    projected, weight = rng.normal(size=9), np.array(150.0)

    if not tiny:
        verify_grad(lambda p, s, w: SMOOTH_MARGINAL(p, gram, s, w), [projected, scale, weight], rng=rng,
                    eps=1e-7, abs_tol=1e-6, rel_tol=1e-5)
    p, s, w = pt.dvector(), pt.dvector(), pt.dscalar()
    gain = SMOOTH_MARGINAL(p, gram, s, w)
    outputs = [gain, *pt.grad(gain, [p, s, w])]
    numpy_values = pytensor.function([p, s, w], outputs, mode="FAST_COMPILE")(projected, scale, weight)
    chol = pt.linalg.cholesky(pt.eye(len(scale)) + w * (s[:, None] * gram * s[None, :]))
    whitened = pt.linalg.solve_triangular(chol, s * p, lower=True)
    plain = 0.5 * pt.sqr(whitened).sum() - pt.log(pt.diag(chol)).sum()
    plain_values = pytensor.function([p, s, w], [plain, *pt.grad(plain, [p, s, w])])(projected, scale, weight)
    for a, b in zip(numpy_values, plain_values, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    numba_values = pytensor.function([p, s, w], outputs, mode="NUMBA")(projected, scale, weight)
    for a, b in zip(numpy_values, numba_values, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    k = len(scale)  # the value against the plain formula
    precision = np.eye(k) + weight * (scale[:, None] * gram * scale[None, :])
    b = scale * projected
    expected = 0.5 * b @ np.linalg.solve(precision, b) - 0.5 * np.linalg.slogdet(precision)[1]
    assert float(numpy_values[0]) == pytest.approx(expected, rel=1e-12)
    assert not np.isfinite(float(pytensor.function([p, s, w], gain)(projected, scale, np.array(np.nan))))
