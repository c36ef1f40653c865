"""``summary.json``: the machine-readable figures of a run (docs/file-schemas.md, plus extras)."""

from __future__ import annotations

from typing import Any

from mmm.spec.config import Config
from mmm.data.load import MMMData
from mmm.analysis.effects import Effects, summarize
from mmm.model.sample import FitResult

MARGIN_DEFAULT_NOTE = "default (not given: profit ROI assumes 100% margin)"


def build_summary(config: Config, data: MMMData, fit: FitResult, effects: Effects, wall_s: float,
                  cost_per_unit: dict[str, float] | None = None) -> dict[str, Any]:
    """``cost_per_unit``: for channels modelled from exposure, the recent cost per unit a plan uses."""
    finance = config.finance
    channels = {}
    p_profitable = effects.p_profitable
    for k, name in enumerate(effects.channels):
        entry: dict[str, Any] = {"spend": float(effects.spend[k])}
        for metric in effects.channel_metrics():
            entry[metric] = summarize(effects.metric(metric)[:, k], effects.interval)
        entry["p_profitable"] = float(p_profitable[k])
        if effects.has_present_value:
            entry["p_profitable_npv"] = float((effects.profit_roi_npv[:, k] > effects.hurdle_rate).mean())
        entry["gross_margin"] = finance.margin_for(name)
        entry["mroas_break_even"] = float(effects.mroas_break_even[k])  # (1 + hurdle) / margin
        if name in (cost_per_unit or {}):  # the effect follows exposure; ROAS stays on spend
            entry["exposure"] = {"column": config.channel(name).exposure, "cost_per_unit": cost_per_unit[name]}
        if finance.clv is not None and config.data.kpi_type == "count":
            entry["roas_clv"] = summarize(effects.incremental_kpi[:, k] * finance.clv / effects.spend[k],
                                          effects.interval)
            # the next unit on the same basis: each extra customer valued at the CLV, not the first purchase
            mroas_clv = effects.mroas[:, k] * finance.clv / finance.value_per_kpi
            entry["mroas_clv"] = summarize(mroas_clv, effects.interval)
            entry["marginal_profit_roi_clv"] = summarize(mroas_clv * effects.channel_margins[k] - 1.0,
                                                         effects.interval)
        channels[name] = entry
    notes = list(data.notes)
    if finance.gross_margin is None:
        notes.append("No gross margin was given: profit ROI is computed at 100% margin (ROAS - 1). "
                     "Set finance.gross_margin to get profit after cost of goods.")
    return {
        "interval": effects.interval,
        "window": {"start": effects.window[0].date().isoformat(), "end": effects.window[1].date().isoformat()},
        "kpi": config.data.kpi,
        "kpi_type": config.data.kpi_type,
        "currency": finance.currency,
        "n_periods": data.n_periods,
        "freq": data.freq,
        "finance": {
            "currency": finance.currency,
            "gross_margin": finance.margin,
            "gross_margin_source": finance.gross_margin_source or MARGIN_DEFAULT_NOTE,
            "gross_margin_by_channel": dict(finance.gross_margin_by_channel),
            "gross_margin_by_channel_source": dict(finance.gross_margin_by_channel_source),
            "value_per_kpi": finance.value_per_kpi,
            "value_per_kpi_source": finance.value_per_kpi_source,
            "hurdle_rate": finance.hurdle_rate,
            "clv": finance.clv,
            "clv_source": finance.clv_source,
            "discount_rate": finance.discount_rate,
            "discount_rate_source": finance.discount_rate_source,
        },
        "totals": effects.totals(),
        "contribution_totals": effects.contribution_totals(),
        "channels": channels,
        **({"components": component_summary(config, effects)} if effects.components else {}),
        "diagnostics": fit.diagnostics.to_dict(),
        "fit_quality": effects.fit_quality(),
        "fit": {**{k: fit.sampler[k] for k in ("sampler", "chains", "draws", "tune", "seed")}, "wall_s": wall_s},
        "notes": notes,
    }


def component_summary(config: Config, effects: Effects) -> dict[str, Any]:
    """Events, organic channels and treatments: each one's contribution over W and share of the expected KPI,
    with what it is measured against (an event: its periods; organic: no exposure; a treatment: its
    reference level)."""
    out = effects.component_totals()
    for event in config.events:
        out[event.name]["against"] = "no event"
        out[event.name]["columns"] = event.columns()
    for organic in config.organic:
        out[organic.name]["against"] = "no organic exposure"
        out[organic.name]["column"] = organic.column
    for treatment in config.treatments:
        out[treatment.name]["against"] = f"{treatment.column} at reference {treatment.reference}"
        out[treatment.name]["column"] = treatment.column
    return out
