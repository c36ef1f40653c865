"""Stacking candidate specifications: out-of-sample weights and the combined (mixture) figures.

Each candidate (:mod:`mmm.spec.candidates`) is scored by PSIS-LOO: the leave-one-out predictive density
of every fitted observation, from the candidate's own posterior draws (Vehtari, Gelman & Gabry 2017,
via ``arviz_stats.loo``). Stacking (Yao, Vehtari, Simpson & Gelman 2018) then picks the weights w on
the simplex that maximize the combined predictive density of the observations left out:

    max_w  Σ_n log Σ_c w_c p(y_n | y_-n, M_c)

Unlike weights by ELPD alone (which go to the single best candidate as data grow, even when the
candidates are all wrong in different ways) the stacked mixture is the best predictive combination.
The combined posterior is the mixture Σ_c w_c p(θ | y, M_c): each of the combined draws is a draw of
candidate c with probability w_c, so every per-draw figure (ROAS, profit ROI, mROAS, immediate share,
contributions) carries the structural uncertainty into its interval.

LOO is approximate where an observation is very influential (Pareto k > 0.7); the share of such
observations is reported per candidate, and the weights are then less reliable.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from mmm.analysis.effects import Effects, summarize
from mmm.analysis.geo_effects import GeoEffects

PARETO_K_OK = 0.7


@dataclass(frozen=True)
class Score:
    """A candidate's PSIS-LOO score."""

    elpd: float  # expected log predictive density (sum over observations), KPI units
    se: float
    elpd_i: np.ndarray  # (N,) per observation
    share_high_k: float  # observations with Pareto k above PARETO_K_OK

    def to_dict(self) -> dict[str, float]:
        return {"elpd_loo": self.elpd, "se": self.se, "share_pareto_k_above_0.7": self.share_high_k}


def loo_score(log_lik: np.ndarray, chains: int) -> Score:
    """PSIS-LOO of ``log_lik`` (D, ...) per draw and observation, draws chain-major over ``chains``."""
    import arviz_stats
    import xarray as xr

    per_obs = np.asarray(log_lik, dtype=float).reshape(log_lik.shape[0], -1)
    draws = per_obs.reshape(chains, -1, per_obs.shape[1])
    tree = xr.DataTree.from_dict({
        "/posterior": xr.Dataset({"draw_index": (("chain", "draw"), np.zeros(draws.shape[:2]))}),
        "/log_likelihood": xr.Dataset({"kpi": (("chain", "draw", "obs"), draws)})})
    try:
        with warnings.catch_warnings():  # high Pareto k is reported per candidate (share_high_k), not warned
            warnings.simplefilter("ignore", UserWarning)
            loo = arviz_stats.loo(tree, pointwise=True, var_name="kpi")
    except (ValueError, FloatingPointError):  # too few draws to smooth the weights' tail (a tiny test fit)
        from scipy.special import logsumexp

        lppd = logsumexp(per_obs, axis=0) - np.log(per_obs.shape[0])  # in-sample: marked as unreliable
        return Score(elpd=float(lppd.sum()), se=float(np.sqrt(len(lppd)) * lppd.std()), elpd_i=lppd,
                     share_high_k=1.0)
    k = np.asarray(loo.pareto_k, dtype=float)
    return Score(elpd=float(loo.elpd), se=float(loo.se), elpd_i=np.asarray(loo.elpd_i, dtype=float),
                 share_high_k=float(np.mean(k > PARETO_K_OK)))


def stacking_weights(elpd_i: np.ndarray) -> np.ndarray:
    """Weights (C,) on the simplex maximizing Σ_n log Σ_c w_c exp(elpd_i[c, n]) (Yao et al. 2018)."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp, softmax

    lpd = np.asarray(elpd_i, dtype=float)
    if lpd.shape[0] == 1:
        return np.ones(1)
    lpd = lpd - lpd.max(axis=0, keepdims=True)  # per observation: the weights do not change

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        w = softmax(np.append(z, 0.0))  # the last candidate's logit fixed at 0: identified
        mix = logsumexp(lpd + np.log(w)[:, None], axis=0)  # (N,)
        resp = np.exp(lpd + np.log(w)[:, None] - mix[None, :])  # (C, N) responsibilities
        grad_w = resp.sum(axis=1) / w  # d/dw_c of Σ_n log mix_n
        grad_z = w * (grad_w - np.dot(w, grad_w))  # through the softmax
        return -float(mix.sum()), -grad_z[:-1]

    start = np.zeros(lpd.shape[0] - 1)
    best = minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 500, "gtol": 1e-10})
    w = softmax(np.append(best.x, 0.0))
    w[w < 1e-6] = 0.0
    return w / w.sum()


def mixture_picks(weights: np.ndarray, n_draws: list[int], total: int) -> list[np.ndarray]:
    """Which draws of each candidate form the ``total`` combined draws.

    Candidate c gets round(w_c x total) draws (largest remainders, so they add up), spread evenly
    over its own draws (chain-major, so every chain contributes): deterministic, no extra randomness.
    """
    weights = np.asarray(weights, dtype=float)
    exact = weights * total
    counts = np.floor(exact).astype(int)
    counts[np.argsort(-(exact - counts))[: total - counts.sum()]] += 1
    return [np.linspace(0, n - 1, c).round().astype(int) if c else np.zeros(0, dtype=int)
            for n, c in zip(n_draws, counts, strict=True)]


def mix_effects(parts: list[Effects], picks: list[np.ndarray]) -> Effects:
    """The national figures of the mixture: every per-draw field of each candidate at its picked draws."""
    first = parts[0]
    n_draws = first.roas.shape[0]
    mixed: dict[str, Any] = {}
    for f in fields(Effects):
        value = getattr(first, f.name)
        if isinstance(value, np.ndarray) and value.ndim >= 1 and f.name not in STATIC_FIELDS \
                and value.shape[0] == n_draws:
            mixed[f.name] = np.concatenate([getattr(p, f.name)[i] for p, i in zip(parts, picks, strict=True)])
    mixed["components"] = {name: np.concatenate([p.components[name][i] for p, i in zip(parts, picks, strict=True)])
                           for name in first.components}
    return replace(first, **mixed, chains=1)


STATIC_FIELDS = ("spend", "actual", "margins")  # per-channel or per-period, the same for every draw


def mix_geo_effects(parts: list[GeoEffects], picks: list[np.ndarray], primary: int) -> GeoEffects:
    """Per-geo and national figures of the mixture (:func:`mixture_picks`); the per-geo fit quality is the
    primary candidate's (:class:`Structure`)."""
    by_geo = {m: np.concatenate([p.by_geo[m][i] for p, i in zip(parts, picks, strict=True)])
              for m in parts[primary].by_geo}
    national = mix_effects([p.national for p in parts], picks)
    return replace(parts[primary], by_geo=by_geo, national=national, log_lik=None)


@dataclass
class Candidate:
    """One fitted candidate specification."""

    label: str
    variant: dict[str, str]
    fitted: Any  # mmm.analysis.pipeline.FittedModel
    score: Score

    @property
    def ok(self) -> bool:
        return bool(self.fitted.diagnostics.ok)


@dataclass
class Structure:
    """The candidates, their stacking weights, and which one's posterior the run keeps."""

    candidates: list[Candidate]
    weights: np.ndarray
    primary: int  # the candidate with the largest weight: its posterior backs curves and plans
    method: str = "stacking of PSIS-LOO predictive densities (Yao et al. 2018)"

    def posterior_file(self, k: int) -> str | None:
        """Where a run folder keeps candidate ``k``'s posterior: the primary's is the run's own, the others
        with weight have their own file, candidates without weight are not kept."""
        if k == self.primary:
            return "posterior.nc"
        return f"candidate-{k}.nc" if self.weights[k] > 0 else None

    def config_file(self, k: int) -> str | None:
        if k == self.primary:
            return "config.yaml"
        return f"candidate-{k}.yaml" if self.weights[k] > 0 else None

    def to_dict(self, interval: float) -> dict[str, Any]:
        rows = []
        for k, (c, w) in enumerate(zip(self.candidates, self.weights, strict=True)):
            eff = c.fitted.effects
            rows.append({
                "label": c.label, "variant": c.variant, "weight": float(w), "diagnostics_ok": c.ok,
                "posterior": self.posterior_file(k), "config": self.config_file(k),
                "included": bool(c.ok or not any(x.ok for x in self.candidates)), **c.score.to_dict(),
                # no wall times here: the same data, config and seed give the same summary (they are in the manifest)
                "roas": {ch: summarize(eff.roas[:, k], interval) for k, ch in enumerate(eff.channels)}})
        return {"method": self.method, "primary": self.candidates[self.primary].label, "candidates": rows}


def included(candidates: list[Candidate]) -> list[bool]:
    """Candidates that take part: those that passed the convergence gate (all, when none did)."""
    if not any(c.ok for c in candidates):
        return [True] * len(candidates)
    return [c.ok for c in candidates]


def stack(candidates: list[Candidate]) -> tuple[Structure, GeoEffects]:
    """Weights (candidates that failed the gate get none) and the combined per-geo and national figures."""
    take = included(candidates)
    weights = np.zeros(len(candidates))
    kept = [i for i, t in enumerate(take) if t]
    weights[kept] = stacking_weights(np.stack([candidates[i].score.elpd_i for i in kept]))
    structure = Structure(candidates=candidates, weights=weights, primary=int(np.argmax(weights)))
    return structure, combine([c.fitted.geo_effects for c in candidates], weights, structure.primary)


def combine(parts: list[GeoEffects], weights: np.ndarray, primary: int) -> GeoEffects:
    """The mixture of the candidates' figures with these weights (as many draws as the largest candidate);
    deterministic, so a run folder's candidates give back the figures the fit reported."""
    counts = [p.national.roas.shape[0] for p in parts]
    return mix_geo_effects(parts, mixture_picks(np.asarray(weights, dtype=float), counts, max(counts)), primary)
