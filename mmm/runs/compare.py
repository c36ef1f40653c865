"""What changed between two runs, and why: figures with uncertainty, restated data, changed
assumptions, and an attribution of each channel's ROAS change.

``mmm compare RUN_A RUN_B`` writes these figures as comparison.json and comparison.html (:mod:`mmm.report.comparison`).

Per channel, ROAS and profit ROI of A and B are recomputed from each run's posterior,
data, config and scaling (they equal each run's summary). The difference B − A is taken
over pairs of draws, one from each posterior, drawn independently (the two fits are
separate posteriors); ``P(increase)`` is the share of pairs where B's figure is higher.

Attribution (controlled swaps). Write ``R(posterior, data, window, finance)`` for a
channel's posterior-mean ROAS. Starting from A's figure::

    A                = R(post_A, data_A,                      window_A, finance_A)
    revised history  = R(post_A, data_B on A's periods,       window_A, finance_A) − A
    new periods      = R(post_A, data_B,                      window_B, finance_A) − previous step
    assumptions      = R(post_A, data_B,                      window_B, finance_B) − previous step
    re-estimation    = B − R(post_A, data_B, window_B, finance_B)

Each step changes one input, keeping A's posterior (evaluated with A's scaling and model
spec) until the last, which swaps in B's posterior: what the new data taught the model, plus
any prior/model-option changes (those cannot be separated from re-estimation without another
fit). The parts sum exactly to B − A. "Revised history" uses B's values of the periods both
datasets share (restated values; periods dropped by a rolling window leave the window too).

Stability flag: a channel whose ROAS mean moved by more than the width of A's own interval.
Change flag: ``P(increase)`` or ``P(decrease)`` above ``change_probability`` (default 0.9).

Geo runs. Every run is a panel (national data: one geo), so two runs compare on their national
figures (sums over geos per draw); two geo runs also per (geo, channel): the same figures,
differences, ``P(increase)``, flags and attribution parts, from each run's per-geo draws
(``comparison.json["geo"]``, :func:`geo_changes`). A pair whose geo did not spend on the channel
in one run's window has no ROAS there: it is listed with a note instead of figures. The swap
chain evaluates A's posterior on B's panel, so it needs the same geos in both runs; restated
values are listed per (geo, date, column). A geo run and a national run are not compared.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.spec.config import Config, ConfigError
from mmm.runs.revisions import config_diff, data_revisions, periods, revision_columns
from mmm.analysis.effects import Effects, summarize
from mmm.data.panel_design import PanelScaling
from mmm.analysis.geo_effects import GeoEffects, compute_geo_effects
from mmm.data.panel import Panel
from mmm.runs.folder import Run, load_run

CHANGE_PROBABILITY = 0.9
METRICS = ("roas", "profit_roi")
STEPS = ("revised_history", "new_periods", "assumptions", "re_estimation")
STEP_LABELS = {"revised_history": "Revised history", "new_periods": "New periods",
               "assumptions": "Spec & assumptions", "re_estimation": "Re-estimation"}
METHOD = (
    "Each channel's ROAS change B − A is split by controlled swaps, one input at a time, keeping run A's "
    "posterior (with A's scaling and model spec): (1) revised history: A's posterior on B's values of A's "
    "periods; (2) new periods: A's posterior on B's data over B's window; (3) spec & assumptions: the same with "
    "B's finance inputs (value per KPI, margins); (4) re-estimation: B's own posterior minus step 3 — what the new "
    "and revised data taught the model, plus any prior or model-option change. The parts are differences of "
    "posterior means and sum exactly to the total change. Each part's interval: steps 1-3 re-evaluate the same "
    "draws of A's posterior (paired); re-estimation and the differences between A and B use independent pairs "
    "of draws from the two posteriors."
)


@dataclass
class RunInputs:
    """A run folder read back for re-evaluation: config, data (a panel; national: one geo), per-geo
    scaling and posterior."""

    run: Run
    config: Config
    data: Panel
    frame: pd.DataFrame  # data.csv as stored, in the config's column names
    scaling: PanelScaling
    posterior: xr.Dataset

    @classmethod
    def load(cls, path: str | Path) -> RunInputs:
        from mmm.analysis.pipeline import load

        run = load_run(path)
        data = load(run.config)
        frame = pd.read_csv(run.path / "data.csv")
        return cls(run=run, config=run.config, data=data, frame=frame, scaling=run.scaling,
                   posterior=run.posterior()["posterior"].to_dataset())

    @property
    def geo(self) -> bool:
        """True for a geo (panel) run: its data has a geo column."""
        return bool(self.config.data.geo)

    def evaluate(self, *, data: Panel | None = None, window: tuple[str, str] | None = None,
                 finance_from: Config | None = None) -> GeoEffects:
        """This run's posterior evaluated on other data / window / finance inputs (its own by default):
        per-geo figures, with the national ones (sums over geos per draw) as ``.national``."""
        config = self.config
        if window is not None:
            config = replace(config, window=window)
        if finance_from is not None:
            config = replace(config, finance=finance_from.finance)
        data = data if data is not None else self.data
        stacked = self.run.stacked()
        if stacked is None:
            return compute_geo_effects(self.posterior, config, data, self.scaling)
        from mmm.analysis.stacking import combine

        parts, weights, primary = stacked  # the figures of record: the candidates' mixture, as the fit made it
        return combine([compute_geo_effects(posterior, replace(candidate, window=config.window,
                                                               finance=config.finance), data, self.scaling)
                        for candidate, posterior in parts], weights, primary)

    def effects(self, **inputs: Any) -> Effects:
        """The national figures of :meth:`evaluate`."""
        return self.evaluate(**inputs).national


def compare(run_a: str | Path | RunInputs, run_b: str | Path | RunInputs, *,
            change_probability: float = CHANGE_PROBABILITY, seed: int = 0) -> dict[str, Any]:
    """The comparison of two runs as a JSON-ready dict (what ``comparison.json`` holds)."""
    a = run_a if isinstance(run_a, RunInputs) else RunInputs.load(run_a)
    b = run_b if isinstance(run_b, RunInputs) else RunInputs.load(run_b)
    _check_same_kind(a, b)
    interval = b.config.interval
    full_a, full_b = a.evaluate(), b.evaluate()
    effects_a, effects_b = full_a.national, full_b.national
    shared = [c for c in a.config.channel_names if c in b.config.channel_names]
    rng = np.random.default_rng(seed)
    n = min(len(effects_a.roas), len(effects_b.roas))
    pairs = (rng.permutation(len(effects_a.roas))[:n], rng.permutation(len(effects_b.roas))[:n])
    chain, attribution_note = _swap_chain(a, b, full_a, full_b)

    channels = {}
    for channel in shared:
        ka, kb = effects_a.channels.index(channel), effects_b.channels.index(channel)
        entry: dict[str, Any] = {"spend": {"a": float(effects_a.spend[ka]), "b": float(effects_b.spend[kb])}}
        for metric in METRICS:
            entry[metric] = change(effects_a.metric(metric)[:, ka], effects_b.metric(metric)[:, kb], pairs, interval)
        entry["flags"] = flags(entry["roas"], change_probability)
        if chain is not None:
            entry["attribution"] = {m: chain_parts([e.national.metric(m)[:, e.national.channels.index(channel)]
                                                    for e in chain], pairs, interval) for m in METRICS}
        channels[channel] = entry

    date, geo = a.config.data.date, a.config.data.geo
    keys_shared = date in b.frame.columns and (geo is None or geo in b.frame.columns)
    revisions = data_revisions(a.frame, b.frame, date, geo=geo) if keys_shared \
        else pd.DataFrame(columns=revision_columns(a.geo))
    span = periods(a.frame, b.frame, date) if keys_shared else {}
    geo_section = geo_changes(full_a, full_b, shared, pairs, interval, change_probability, chain) if a.geo else None
    return {
        "runs": {"a": _describe(a, effects_a), "b": _describe(b, effects_b)},
        "interval": interval,
        "change_probability": change_probability,
        "channels": channels,
        "channels_only_in_a": [c for c in a.config.channel_names if c not in shared],
        "channels_only_in_b": [c for c in b.config.channel_names if c not in shared],
        "flagged_changed": [c for c, e in channels.items() if e["flags"]["changed"]],
        "flagged_unstable": [c for c, e in channels.items() if e["flags"]["unstable"]],
        "data_revisions": revisions.to_dict(orient="records"),
        "data_revised_dates": sorted(set(revisions["date"])) if len(revisions) else [],
        "data_periods": span,
        "config_changes": config_diff(a.config, b.config),
        "scaling_same": a.scaling.to_dict() == b.scaling.to_dict(),
        "attribution_method": METHOD,
        "attribution_note": attribution_note,
        "geo": geo_section,
    }


def change(draws_a: np.ndarray, draws_b: np.ndarray, pairs: tuple[np.ndarray, np.ndarray],
           interval: float) -> dict[str, Any]:
    """A figure in A and B, and B − A over independent pairs of draws, with P(increase) and P(decrease)."""
    pick_a, pick_b = pairs
    diff = draws_b[pick_b] - draws_a[pick_a]
    return {"a": summarize(draws_a, interval), "b": summarize(draws_b, interval),
            "difference": summarize(diff, interval),
            "p_increase": float(np.mean(diff > 0)), "p_decrease": float(np.mean(diff < 0))}


def flags(roas: dict[str, Any], change_probability: float) -> dict[str, Any]:
    """Change flag (P(increase) or P(decrease) above ``change_probability``) and stability flag (the mean
    moved by more than the width of A's interval) of one ROAS :func:`change`."""
    width_a = roas["a"]["hi"] - roas["a"]["lo"]
    moved = roas["b"]["mean"] - roas["a"]["mean"]
    return {
        "changed": max(roas["p_increase"], roas["p_decrease"]) > change_probability,
        "direction": "up" if moved > 0 else "down",
        "unstable": abs(moved) > width_a,
        "moved_over_interval_width": float(abs(moved) / width_a) if width_a > 0 else float("inf"),
    }


def _check_same_kind(a: RunInputs, b: RunInputs) -> None:
    if a.geo != b.geo:
        panel, flat = (a, b) if a.geo else (b, a)
        raise ConfigError(f"{panel.run.path} is a geo (panel) run (data.geo: {panel.config.data.geo}, "
                          f"{panel.data.n_geos} geos) and {flat.run.path} is national: their models, scaling and "
                          f"posteriors differ in kind, so neither the differences per geo nor the attribution of "
                          f"the change can be computed. Compare two geo runs (e.g. a geo run and its `mmm refresh`) "
                          f"or two national runs.")


def _describe(inputs: RunInputs, effects: Effects) -> dict[str, Any]:
    manifest = inputs.run.manifest
    return {"run_id": inputs.run.path.name, "path": str(inputs.run.path), "created_at": manifest.get("created_at"),
            **({"n_geos": inputs.data.n_geos} if inputs.geo else {}),
            "data_start": inputs.data.dates[0].date().isoformat(), "data_end": inputs.data.dates[-1].date().isoformat(),
            "window": [effects.window[0].date().isoformat(), effects.window[1].date().isoformat()],
            "parent_run": manifest.get("parent_run"), "mode": (manifest.get("refresh") or {}).get("mode", "fit"),
            "diagnostics_ok": bool(inputs.run.summary.get("diagnostics", {}).get("ok"))}


def _swap_chain(a: RunInputs, b: RunInputs, full_a: GeoEffects, full_b: GeoEffects
                ) -> tuple[list[GeoEffects] | None, str | None]:
    """The five evaluations of the swap chain (see module doc), or None and why it cannot be computed."""
    if set(a.config.channel_names) != set(b.config.channel_names) or set(a.config.controls) != set(b.config.controls):
        return None, ("not computed: the runs model different channels or controls, so A's posterior cannot be "
                      "evaluated on B's data")
    only_a, only_b = [g for g in a.data.geos if g not in b.data.geos], [g for g in b.data.geos if g not in a.data.geos]
    if only_a or only_b:
        return None, (f"not computed: the runs model different geos (only in A: {', '.join(only_a) or 'none'}; "
                      f"only in B: {', '.join(only_b) or 'none'}), so A's posterior has no parameters for "
                      f"B's panel")
    data_b = b.data.select_geos(a.data.geos)  # A's posterior and scaling index geos in A's order
    window_a = tuple(d.date().isoformat() for d in full_a.national.window)
    window_b = tuple(d.date().isoformat() for d in full_b.national.window)
    overlap_start = max(a.data.dates[0], b.data.dates[0])
    overlap_end = min(a.data.dates[-1], b.data.dates[-1])
    if overlap_start > overlap_end:
        return None, "not computed: the two datasets share no periods"
    history_b = data_b.slice(start=overlap_start, end=overlap_end)
    clipped = (max(pd.Timestamp(window_a[0]), overlap_start).date().isoformat(),
               min(pd.Timestamp(window_a[1]), overlap_end).date().isoformat())
    return [full_a,
            a.evaluate(data=history_b, window=clipped),
            a.evaluate(data=data_b, window=window_b),
            a.evaluate(data=data_b, window=window_b, finance_from=b.config),
            full_b], None


def chain_parts(draws: list[np.ndarray], pairs: tuple[np.ndarray, np.ndarray], interval: float) -> dict[str, Any]:
    """One figure's attribution: its draws at the five points of the swap chain -> the parts of B − A.

    Each part's interval: steps 1-3 re-evaluate the same draws of A's posterior, so their per-draw
    changes are paired; re-estimation pairs B's draws with step 3's independently, as the
    differences B − A are.
    """
    pick_a, pick_b = pairs
    means = [float(d.mean()) for d in draws]
    parts = {step: means[i + 1] - means[i] for i, step in enumerate(STEPS)}
    step_draws = [draws[i + 1] - draws[i] for i in range(3)] + [draws[4][pick_b] - draws[3][pick_a]]
    intervals = {step: {k: summarize(d, interval)[k] for k in ("lo", "hi")}
                 for step, d in zip(STEPS, step_draws, strict=True)}
    return {"a": means[0], **parts, "b": means[-1], "total": means[-1] - means[0], "intervals": intervals}


def geo_changes(a: GeoEffects, b: GeoEffects, channels: list[str], pairs: tuple[np.ndarray, np.ndarray],
                interval: float, change_probability: float, chain: list[GeoEffects] | None) -> dict[str, Any]:
    """Per geo in both runs and per channel in both: spend, figures, differences, flags and attribution."""
    shared = [g for g in a.geos if g in b.geos]
    geos: dict[str, dict[str, Any]] = {}
    flagged = []
    for geo in shared:
        ga, gb = a.geos.index(geo), b.geos.index(geo)
        geos[geo] = {}
        for channel in channels:
            ka, kb = a.channels.index(channel), b.channels.index(channel)
            spend = {"a": float(a.spend[ga, ka]), "b": float(b.spend[gb, kb])}
            entry: dict[str, Any] = {"spend": spend}
            silent = [run for run, value in spend.items() if not value > 0]
            if silent:
                entry["note"] = (f"no spend in the window of run {' and '.join(r.upper() for r in silent)}: "
                                 f"ROAS is not defined there")
                geos[geo][channel] = entry
                continue
            for metric in METRICS:
                entry[metric] = change(a.by_geo[metric][:, ga, ka], b.by_geo[metric][:, gb, kb], pairs, interval)
            entry["flags"] = flags(entry["roas"], change_probability)
            if chain is not None:
                entry["attribution"] = {m: chain_parts([_draws(e, m, geo, channel) for e in chain], pairs, interval)
                                        for m in METRICS}
            if entry["flags"]["changed"]:
                flagged.append({"geo": geo, "channel": channel, "direction": entry["flags"]["direction"]})
            geos[geo][channel] = entry
    return {
        "n_geos": {"a": len(a.geos), "b": len(b.geos)},
        "geos_only_in_a": [g for g in a.geos if g not in b.geos],
        "geos_only_in_b": [g for g in b.geos if g not in a.geos],
        "national_is_sum_over_geos": True,
        "flagged_changed": flagged,
        "geos": geos,
    }


def _draws(effects: GeoEffects, metric: str, geo: str, channel: str) -> np.ndarray:
    return effects.by_geo[metric][:, effects.geos.index(geo), effects.channels.index(channel)]
