"""Lift experiments (geo tests, conversion lift studies) as likelihood terms of the model.

Config::

    experiments:
      - channel: tv
        start: 2023-03-06          # first period of the test (a date label of the data)
        end: 2023-04-03            # last period of the test
        incremental_kpi: 125000    # KPI caused by the channel's spend in [start, end], carry-over included
        se: 20000                  # its standard error (KPI units)
        spend: 90000               # optional: the test's spend (reported beside the model's)
        name: tv-geo-q1            # optional label
        geo: north                 # geo (panel) models only: the test ran in this geo alone

or ``experiments: path/to.csv`` with those columns (one row per experiment). A
lift may be given as a share of a baseline instead: ``lift: 0.08, lift_se: 0.015,
baseline_kpi: 1500000`` (incremental = lift × baseline, se = lift_se × baseline).

Each experiment e on channel k adds ``Normal(incremental_kpi_e | δ_e(θ), se_e)``
where δ_e is the model's counterfactual incremental KPI: the channel's response
with its actual spend minus the response with its spend zeroed **only inside
[start, end]**, through adstock *and* saturation, summed over the test and its
carry-over tail (the same definition as docs/figures.md's incremental KPI, on the
test window).

In a geo (panel) model an experiment may name a ``geo``: then δ_e is the counterfactual
in that geo alone (the usual geo lift test). Without one, the test is national: the
channel's spend is zeroed in every geo over the test and δ_e is the lift summed over
geos (:func:`add_likelihood`). Its NumPy twin on posterior draws, the model's lift of each test
per draw, is :func:`mmm.analysis.lift_tests.incremental_draws`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mmm.data.panel_design import PanelDesign
from mmm.model import media
from mmm.model.roas_prior import extended_spend, tail_length
from mmm.model.transforms import lag_stack
from mmm.spec.lift_tests import Experiment

OBS_VAR = "experiment_obs"
INCREMENTAL_VAR = "experiment_incremental"
SPEND_TOLERANCE = 0.10  # a test's stated spend may differ this much from the data's spend in its window


def check_against_data(config, dates: pd.DatetimeIndex, spend: pd.DataFrame | None = None, panel=None) -> None:
    """Every experiment must lie inside the data and hold at least one period; a stated test spend
    must match the channel's spend in the data over the test (within ``SPEND_TOLERANCE``).

    ``spend`` is the modeled market's (for a panel: summed over geos); ``panel``
    (:class:`mmm.data.panel.Panel`) is needed for tests that name a geo: the geo must be in
    the data, and the test's spend is that geo's.
    """
    from mmm.spec.config import ConfigError

    first, last = dates[0], dates[-1]
    for i, e in enumerate(getattr(config, "experiments", ())):
        at = f"{e.origin or f'{config.source}: experiments[{i}]'} ({e.label})"
        tested = spend  # the spend the test switched off: the modeled market's, or its geo's
        if e.geo is not None:
            geos = list(getattr(panel, "geos", None) or [])
            if e.geo not in geos:
                known = (f"the data's geos are {', '.join(geos[:12])}{' ...' if len(geos) > 12 else ''}" if geos
                         else "the data has no geo column")
                raise ConfigError(f"{at}: geo {e.geo!r} is not in the data ({known}); fix the geo name (as written "
                                  f"in the data's {getattr(config.data, 'geo', None) or 'geo'} column), or drop "
                                  f"`geo` for a test that ran in every geo")
            tested = panel.geo(e.geo).spend
        start, end = pd.Timestamp(e.start), pd.Timestamp(e.end)
        if start < first or end > last:
            raise ConfigError(f"{at}: dates {e.start}..{e.end} are outside the data ({first.date()}..{last.date()}); "
                              f"an experiment must lie inside the modeled periods — fix the dates or drop it")
        if not ((dates >= start) & (dates <= end)).any():
            raise ConfigError(f"{at}: no period of the data falls in {e.start}..{e.end}; use the data's period "
                              f"labels (e.g. the week-start dates) for start and end")
        if e.spend is not None and tested is not None:
            modeled = float(tested.loc[(dates >= start) & (dates <= end), e.channel].sum())
            if abs(modeled - e.spend) > SPEND_TOLERANCE * max(modeled, e.spend):
                if panel is None or panel.is_national:
                    market, fix = "the data", ("scale a regional test's lift up to the modeled market (and its "
                                               "spend), or fix the window")
                elif e.geo:
                    market, fix = f"geo {e.geo}", "check the geo and the window"
                else:
                    market, fix = "all geos together", "name the geo it ran in (`geo`), or fix the window"
                raise ConfigError(
                    f"{at}: the test's spend {e.spend:,.0f} differs from {e.channel}'s spend in {market} over "
                    f"{e.start}..{e.end} ({modeled:,.0f}) by more than {SPEND_TOLERANCE:.0%}. The model compares "
                    f"incremental_kpi with switching off *all* of that spend: {fix}")


# ---- the model side --------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentRows:
    """Lag-stack rows whose signed sums give every experiment's unit incremental.

    lags (..., R, K, L): for each experiment, the rows of its test and carry-over tail
    with actual spend, then the same rows with its channel zeroed in the test (leading
    dims: geos, each zeroed in the test); selector (E, R) holds +1/−1 on its rows;
    channel (E,) its channel position.
    """

    lags: np.ndarray
    selector: np.ndarray
    channel: np.ndarray
    observed: np.ndarray  # (E,) KPI units
    se: np.ndarray  # (E,) KPI units
    labels: list[str]


def experiment_rows(config, dates: pd.DatetimeIndex, spend: np.ndarray) -> ExperimentRows:
    """The rows of every experiment from ``spend`` (..., T, K) in model units (leading dims: geos)."""
    experiments = config.experiments
    names = config.channel_names
    tail = tail_length(config)
    spend = extended_spend(config, spend)
    max_lag = tail + 1
    actual_stack = lag_stack(spend, max_lag)
    blocks, spans = [], []
    for e in experiments:
        k = names.index(e.channel)
        mask = experiment_mask(e, dates, tail)
        rows = np.arange(np.flatnonzero(mask)[0], np.flatnonzero(mask)[-1] + tail + 1)
        counterfactual = spend.copy()
        counterfactual[..., mask, k] = 0.0
        blocks += [actual_stack[..., rows, :, :], lag_stack(counterfactual, max_lag)[..., rows, :, :]]
        spans.append(len(rows))
    lags = np.concatenate(blocks, axis=-3)
    selector = np.zeros((len(experiments), lags.shape[-3]))
    offset = 0
    for i, n in enumerate(spans):
        selector[i, offset:offset + n] = 1.0
        selector[i, offset + n:offset + 2 * n] = -1.0
        offset += 2 * n
    return ExperimentRows(lags=lags, selector=selector,
                          channel=np.array([names.index(e.channel) for e in experiments]),
                          observed=np.array([e.incremental_kpi for e in experiments]),
                          se=np.array([e.se for e in experiments]), labels=[e.label for e in experiments])


def experiment_mask(experiment: Experiment, dates: pd.DatetimeIndex, tail: int) -> np.ndarray:
    """(T + tail,) True on the periods of the test."""
    inside = np.asarray((dates >= pd.Timestamp(experiment.start)) & (dates <= pd.Timestamp(experiment.end)))
    return np.concatenate([inside, np.zeros(tail, dtype=bool)])


def unit_lift(config, rows: ExperimentRows, params: dict[str, Any]) -> Any:
    """(..., E) each test's lift per unit of its channel's coefficient, model units (PyTensor, in the model).

    The channel's saturated response with actual spend minus the one with its spend zeroed in the
    test, summed over the test and its carry-over tail; leading dims (geos) as in ``rows.lags``.
    """
    import pymc as pm
    import pytensor.tensor as pt

    model = pm.modelcontext(None)
    model.add_coord("experiment", rows.labels)
    model.add_coord("experiment_row", np.arange(rows.lags.shape[-3]))
    dims = ("experiment_row", "channel", "lag") if rows.lags.ndim == 3 else ("geo", "experiment_row", "channel", "lag")
    lags = pm.Data("experiment_lags", rows.lags, dims=dims)
    _, saturated = media.media_response(lags, config.channels, params, xp=pt, lagged=True)  # (..., R, K)
    per_channel = pt.tensordot(saturated, pt.as_tensor(rows.selector), axes=[[-2], [1]])  # (..., K, E)
    return per_channel[..., rows.channel, np.arange(len(rows.channel))]


def observe(incremental: Any, rows: ExperimentRows, scale: Any) -> None:
    """The likelihood terms: measured lift ~ Normal(model lift, se), in units of ``scale`` (KPI per unit).

    ``incremental`` (E,): the model's lift of each test in those units; ``scale`` a float or (E,).
    """
    import pymc as pm

    scale = np.broadcast_to(np.asarray(scale, dtype=float), rows.observed.shape)
    pm.Deterministic(INCREMENTAL_VAR, incremental * scale, dims="experiment")  # KPI units (pymc sampler keeps it)
    observed = pm.Data("experiment_incremental_kpi", rows.observed / scale, dims="experiment")
    pm.Normal(OBS_VAR, mu=incremental, sigma=rows.se / scale, observed=observed, dims="experiment")


def tested_geos(config, geos: list[str]) -> np.ndarray:
    """(E, G) 1 where experiment e switched its channel off in geo g: its own geo, or every geo."""
    return np.array([[1.0 if e.geo in (None, geo) else 0.0 for geo in geos] for e in config.experiments])


def add_likelihood(config, design: PanelDesign, params: dict[str, Any]) -> None:
    """One Normal term per lift test in the model in context (a geo test in its geo, a national one in all).

    ``params``: the media parameters with ``channel_coef`` per geo, (G, K) (the model's
    :func:`mmm.model.geo_terms.geo_terms`). Each term is in units of the tested market's KPI scale.
    """
    if not config.experiments:
        return
    rows = experiment_rows(config, design.dates, design.spend)  # lags (G, R, K, L)
    lift = unit_lift(config, rows, params)  # (G, E) per unit coefficient, model units
    by_geo = lift * params[media.COEF][:, rows.channel] * design.kpi_scale[:, None]  # KPI units
    weights = tested_geos(config, design.geos)
    scale = weights @ design.kpi_scale  # (E,) KPI units per model unit of the tested market
    observe((by_geo * weights.T).sum(axis=0) / scale, rows, scale)
