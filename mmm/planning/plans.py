"""Budget planning from a fitted model: the plan model, its inputs (bounds, plans) and what plan.json states.

Python use::

    from mmm.api import plan_model, write_plan
    from mmm.planning.plans import load_bounds
    from mmm.planning.optimize import optimize

    model = plan_model("reports/my-run", periods=13)            # a run folder, or a fitted model
    result = optimize(model, 1_500_000, bounds=load_bounds("bounds.csv", model.channels), objective="cvar:0.1")
    result.plan.channel_table()                                  # spend, value, profit, ROAS, mROAS per channel
    write_plan("reports/my-plan", model, result)                 # plan.csv, plan.json, plan.html

Inputs are matched to the run's channels by *name*; a file naming an unknown channel is an
error that names the file and lists the run's channels. A run of national data (a panel of one
geo) plans on that geo's :class:`~mmm.planning.outcome.PlanModel`; a run of several geos plans
per (geo, channel) on those models side by side (:mod:`mmm.planning.geo_plan`): bounds and plan
files may then name geos, and the plan folder adds its per-geo files (:mod:`mmm.planning.geo_outputs`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mmm.spec.config import ConfigError
from mmm.planning.optimize import ChannelBounds, OptimizedPlan, PlanModel, PlanOutcome, ScenarioComparison
from mmm.planning.tables import CVAR_ALPHA, flighting_table, plan_table

BOUND_KEYS = ("min", "max", "min_change", "max_change", "locked")
TRUE_WORDS, FALSE_WORDS = {"true", "yes", "y", "1", "locked"}, {"false", "no", "n", "0", ""}


# ----------------------------------------------------------------------------- building the model


def plan_model(fitted: Any, **options: Any) -> PlanModel:
    """A :class:`~mmm.planning.outcome.PlanModel` from a fitted model (:class:`mmm.FittedMMM`); for several
    geos a :class:`~mmm.planning.geo_plan.GeoPlanModel` (its ``.cells`` plan by geo). A run folder's:
    :func:`mmm.api.plan_model`.

    ``options`` go to :class:`~mmm.planning.outcome.PlanModel` (``periods``, ``flighting``, ``lookback``, ``max_draws``).
    """
    model = plan_model_of(fitted.posterior, fitted.config, fitted.data, fitted.scaling, **options)
    model.run_id = "(in memory)"
    model.diagnostics_ok = bool(fitted.diagnostics.ok)
    return model


def plan_model_of(posterior: Any, config: Any, panel: Any, scaling: Any, **options: Any) -> PlanModel:
    """The plan model of a posterior: the one geo's, or for several geos their (geo, channel) cells with
    national = their sum."""
    from mmm.model.geo_terms import geo_posterior

    if panel.n_geos > 1:
        from mmm.planning.geo_plan import GeoPlanModel

        return GeoPlanModel(posterior, config, panel, scaling, **options)
    return PlanModel(geo_posterior(posterior, config, 0, 1), config, panel.geo(0), scaling.geo(0), **options)


# ----------------------------------------------------------------------------- bounds files


def load_bounds(path: str | Path, channels: Sequence[str],
                geos: Sequence[str] | None = None) -> dict[str | tuple[str, str], ChannelBounds]:
    """Per-channel limits from a CSV (one row per channel) or YAML (channel -> limits) file.

    Keys/columns: ``channel`` (CSV), ``min``, ``max`` (currency over the plan periods),
    ``min_change``, ``max_change`` (vs the current run-rate: -0.2 or "-20%"), ``locked`` (true/false).
    Empty cells mean "no limit". For a geo run (``geos`` given), an optional ``geo`` column (YAML:
    ``geos: {geo: {channel: limits}}``) bounds one geo's spend on the channel (by-geo plans); such
    rows come back keyed ``(geo, channel)``, the others by channel.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"bounds file {path} not found")
    if path.suffix.lower() in (".yaml", ".yml"):
        raw = yaml.safe_load(path.read_text()) or {}
        per_geo: Any = {}
        if isinstance(raw, Mapping) and raw and set(raw) <= {"channels", "geos"}:
            raw, per_geo = raw.get("channels") or {}, raw.get("geos") or {}
        if not isinstance(raw, Mapping) or not isinstance(per_geo, Mapping):
            raise ConfigError(f"{path}: expected a mapping channel -> limits (min, max, min_change, max_change, "
                              f"locked), optionally under `channels:` beside `geos: {{geo: {{channel: limits}}}}`")
        rows = [(f"key {name!r}", None, str(name), spec if isinstance(spec, Mapping) else _bad_yaml(path, name))
                for name, spec in raw.items()]
        rows += [(f"geos: {geo}: {name}", str(geo), str(name),
                  spec if isinstance(spec, Mapping) else _bad_yaml(path, name))
                 for geo, limits in per_geo.items()
                 for name, spec in (limits.items() if isinstance(limits, Mapping) else _bad_yaml(path, geo))]
    else:
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
            raise ConfigError(f"{path}: not a readable CSV ({err}); write one row per channel with a header "
                              f"channel,{','.join(BOUND_KEYS)}") from None
        table.columns = [str(c).strip() for c in table.columns]
        if "channel" not in table.columns:
            raise ConfigError(f"{path}: no `channel` column; the header must be channel plus any of "
                              f"{', '.join(BOUND_KEYS)}")
        rows = [(f"row {i + 2}", str(r.pop("geo", "")).strip() or None, str(r.pop("channel")).strip(), r)
                for i, r in enumerate(table.to_dict("records"))]
    out: dict[str | tuple[str, str], ChannelBounds] = {}
    for where, geo, name, spec in rows:
        unknown_keys = sorted(set(spec) - set(BOUND_KEYS))
        if unknown_keys:
            raise ConfigError(f"{path}: {where}: unknown column/key(s) {', '.join(unknown_keys)}; use "
                              f"{', '.join(BOUND_KEYS)}")
        if name not in channels:
            raise ConfigError(f"{path}: {where}: unknown channel {name!r}; the run's channels are "
                              f"{', '.join(channels)}. Channels are matched by name.")
        _check_geo(path, where, geo, geos)
        target = (geo, name) if geo else name
        if target in out:
            raise ConfigError(f"{path}: {where}: channel {name!r}{f' in geo {geo!r}' if geo else ''} appears twice; "
                              f"give one row per {'geo and ' if geo else ''}channel")
        values = {key: _bound_value(path, where, key, spec.get(key)) for key in BOUND_KEYS if key in spec}
        out[target] = ChannelBounds(**{k: v for k, v in values.items() if v is not None})
    return out


def _check_geo(path: Path, where: str, geo: str | None, geos: Sequence[str] | None) -> None:
    if geo is None:
        return
    if geos is None:
        raise ConfigError(f"{path}: {where}: names geo {geo!r}, but the run is national (its data has no geo "
                          "column); drop the geo column")
    if geo not in geos:
        raise ConfigError(f"{path}: {where}: unknown geo {geo!r}; the run's geos are {', '.join(geos)}. "
                          "Geos are matched by name, as in the data's geo column.")


def _bad_yaml(path: Path, name: Any) -> None:
    raise ConfigError(f"{path}: channel {name!r} must map to limits (min, max, min_change, max_change, locked)")


def _bound_value(path: Path, where: str, key: str, value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return False if key == "locked" else None
    if key == "locked":
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise ConfigError(f"{path}: {where}: locked must be true or false; got {value!r}")
    text = str(value).strip().replace(",", "").replace("\u2212", "-")
    percent = text.endswith("%")
    try:
        number = float(text.rstrip("%")) / (100.0 if percent else 1.0)
    except ValueError:
        raise ConfigError(f"{path}: {where}: {key} must be a number (e.g. 250000, or -0.2 / -20% for changes); "
                          f"got {value!r}") from None
    if percent and key in ("min", "max"):
        raise ConfigError(f"{path}: {where}: {key} is an amount in currency; use min_change/max_change for "
                          f"a % of the current run-rate")
    if not math.isfinite(number) or (key in ("min", "max") and number < 0) or (key.endswith("change")
                                                                               and number < -1):
        raise ConfigError(f"{path}: {where}: {key} = {value!r} is out of range (amounts >= 0, changes >= -100%)")
    return number


# ----------------------------------------------------------------------------- scenario files


def load_plans(path: str | Path, channels: Sequence[str],
               geos: Sequence[str] | None = None) -> dict[str, dict[str | tuple[str, str], float]]:
    """User plans from a CSV: long (``plan,channel,spend``) or wide (``plan`` plus one column per channel).

    Spend is currency over the plan periods. Every plan must give every channel (0 to cut one).
    For a geo run (``geos`` given), an optional ``geo`` column gives a plan per (geo, channel):
    such a plan must give every geo and channel, and comes back keyed ``(geo, channel)``; a plan
    without geos is national (split over geos by the plan model's rule).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"plans file {path} not found")
    try:
        table = pd.read_csv(path, skipinitialspace=True, dtype={"geo": str})
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise ConfigError(f"{path}: not a readable CSV ({err})") from None
    table.columns = [str(c).strip() for c in table.columns]
    if "plan" not in table.columns:
        raise ConfigError(f"{path}: no `plan` column; write plan,channel,spend rows or plan plus one column per "
                          f"channel ({', '.join(channels)})")
    table["plan"] = table["plan"].astype(str).str.strip()
    table["geo"] = table["geo"].fillna("").str.strip() if "geo" in table.columns else ""
    records = []  # (row, plan, geo, channel, spend)
    if {"channel", "spend"} <= set(table.columns):
        extra = sorted(set(table.columns) - {"plan", "geo", "channel", "spend"})
        if extra:
            raise ConfigError(f"{path}: unexpected column(s) {', '.join(extra)} in a plan,channel,spend file")
        records = [(i, r["plan"], r["geo"], str(r["channel"]).strip(), r["spend"])
                   for i, r in enumerate(table.to_dict("records"))]
    else:
        unknown = sorted(set(table.columns) - {"plan", "geo"} - set(channels))
        if unknown:
            raise ConfigError(f"{path}: unknown channel column(s) {', '.join(unknown)}; the run's channels are "
                              f"{', '.join(channels)}")
        records = [(i, r["plan"], r["geo"], c, r[c]) for i, r in enumerate(table.to_dict("records"))
                   for c in channels if c in r]
    plans: dict[str, dict[str | tuple[str, str], float]] = {}
    for i, name, geo, channel, value in records:
        where = f"row {i + 2}"
        if channel not in channels:
            raise ConfigError(f"{path}: {where}: unknown channel {channel!r}; the run's channels are "
                              f"{', '.join(channels)}")
        _check_geo(path, where, geo or None, geos)
        key = (geo, channel) if geo else channel
        if key in plans.setdefault(name, {}):
            raise ConfigError(f"{path}: {where}: plan {name!r} gives {_label(key)} twice")
        plans[name][key] = _spend(path, i, value, _label(key))
    for name, plan in plans.items():
        by_geo = [key for key in plan if isinstance(key, tuple)]
        if by_geo and len(by_geo) < len(plan):
            raise ConfigError(f"{path}: plan {name!r} gives a geo on some rows and none on others; give every row "
                              "a geo (a plan per geo) or none (a national plan)")
        wanted = [(g, c) for g in geos or () for c in channels] if by_geo else list(channels)
        missing = [_label(key) for key in wanted if key not in plan]
        if missing:
            raise ConfigError(f"{path}: plan {name!r} gives no spend for {', '.join(missing[:8])}"
                              f"{' ...' if len(missing) > 8 else ''}; give every {'geo and ' if by_geo else ''}"
                              "channel (0 to cut one)")
    if not plans:
        raise ConfigError(f"{path}: no plans in the file")
    return plans


def _label(key: str | tuple[str, str]) -> str:
    return f"{key[1]} in geo {key[0]}" if isinstance(key, tuple) else str(key)


def _spend(path: Path, i: int, value: Any, channel: str) -> float:
    try:
        number = float(str(value).replace(",", ""))
    except ValueError:
        number = float("nan")
    if not math.isfinite(number) or number < 0:
        raise ConfigError(f"{path}: row {i + 2}: spend of {channel} must be a non-negative amount; got {value!r}")
    return number


# ----------------------------------------------------------------------------- outputs


def inputs(model: PlanModel) -> dict[str, Any]:
    return {"run": getattr(model, "run_id", None), "periods": model.periods, "period": model.period_word,
            "start": model.dates[0].date().isoformat(), "end": model.dates[-1].date().isoformat(),
            "flighting": model.flighting_name, "flighting_notes": model.flighting_notes,
            "current_run_rate_from": {"start": model.current_window[0], "end": model.current_window[1],
                                      "periods": model.lookback},
            "carry_in_periods": model.history_periods, "carry_over_tail_periods": model.tail_periods,
            "draws": model.n_draws, "interval": model.interval, "currency": model.currency,
            "value_per_kpi": model.value_per_kpi, "margins": dict(zip(model.channels, map(float, model.margins))),
            "diagnostics_ok": getattr(model, "diagnostics_ok", True),
            **({"exposure_cost_per_unit": {c: {"cost_per_unit": float(v), "basis": (
                "spend / exposure over the last fitted quarter; planned spend buys exposure at this cost")}
                for c, v in model.cost_per_unit.items()}} if getattr(model, "cost_per_unit", None) else {}),
            **({"frequency_held": {c: {"frequency": v, "basis": (
                "reach-weighted average frequency over the lookback; planned spend buys reach at the cost per "
                "unit of reach above, at this frequency")} for c, v in model.held_frequency.items()}}
               if getattr(model, "held_frequency", None) else {})}


def plan_summary(model: PlanModel, result: OptimizedPlan) -> dict[str, Any]:
    """plan.json: inputs, bounds, the optimized plan and the current mix with intervals, and how they compare."""
    bounds = {c: {"lower": float(lo), "upper": None if not np.isfinite(hi) else float(hi), "locked": c in result.locked}
              for c, lo, hi in zip(model.channels, result.lower, result.upper)}
    return {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": {**inputs(model), "budget": result.budget, "objective": str(result.objective),
                   "objective_label": result.objective.label, "bounds": bounds},
        "target": result.target,
        "plans": {"optimized": result.plan.to_dict(CVAR_ALPHA), "current mix": result.current.to_dict(CVAR_ALPHA)},
        "comparison": {"p_optimized_beats_current_mix": result.p_beats_current,
                       "profit_gain_mean": float((result.plan.total_profit - result.current.total_profit).mean())},
        "optimizer": {"method": "SLSQP on budget shares, exact gradients over draws", "starts": result.starts,
                      "wall_s": result.wall_s},
    }


def scenario_summary(model: PlanModel, comparison: ScenarioComparison) -> dict[str, Any]:
    return {"created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "inputs": inputs(model),
            "plans": {o.name: o.to_dict(CVAR_ALPHA) for o in comparison.outcomes},
            "pairs": comparison.pairwise().to_dict("records")}


def is_by_geo(model: PlanModel) -> bool:
    """True for the plan model of a run of several geos (its outcomes have per-geo figures)."""
    return getattr(model, "geos", None) is not None


def plan_curves(model: PlanModel, outcomes: Sequence[PlanOutcome], points: int = 25) -> pd.DataFrame:
    """Each channel's response over the plan periods, from 0 to beyond the largest planned spend."""
    frames = []
    for k, channel in enumerate(model.channels):
        top = max([model.run_rate[k] * 2.0] + [o.spend[k] * 1.5 for o in outcomes]) or 1.0
        frames.append(model.response_curve(channel, np.linspace(0.0, top, points)))
    return pd.concat(frames, ignore_index=True)


def default_out_dir(run_dir: str | Path | None, kind: str) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    base = Path(run_dir) if run_dir is not None else Path("reports") / "run"
    return base.parent / f"{base.name}-{kind}-{stamp}"


__all__ = ["plan_model", "plan_model_of", "load_bounds", "load_plans", "plan_table", "plan_summary",
           "scenario_summary"]
