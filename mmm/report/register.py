"""The assumptions register and the spend/KPI reconciliation of a run folder.

Both read only the run folder's own files (``config.yaml``, ``summary.json``,
``data.csv``, ``fit.csv``), so they can be rebuilt at any time:

- :func:`assumptions_register` lists every finance input and every prior the
  model used, with its value, its source/owner as written in the config, and
  whether it was ``set`` in the config or left at the package ``default``.
- :func:`reconcile` checks that the spend the figures were computed on equals
  the input data's spend over the same window, per channel, and reports the
  fitted KPI total beside the actual total. A spend that disagrees raises
  :class:`ReconciliationError`: the run folder was edited or is corrupt.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mmm.spec.sections import (DEFAULT_BASELINE_PRIORS, DEFAULT_MEDIA_ROAS_SCALE, DEFAULT_MEDIA_ROAS_SIGMA,
                               DEFAULT_MEDIA_SHARE, DEFAULT_MODEL_PRIORS, DEFAULT_ORGANIC_COEF, MEDIA_EFFECT_PRIORS,
                               REACH_FREQUENCY_PRIORS, FinanceSpec)
from mmm.spec.priors import Prior, PriorError
from mmm.spec.candidates import uses_time_varying_media
from mmm.model.transforms import ADSTOCKS, SATURATIONS

SET, DEFAULT = "set", "default"
SPEND_RTOL = 1e-9  # modelled spend is the input data's sum: anything beyond rounding noise is an edit
KPI_INPUT_RTOL = 1e-9  # fit.csv's actual KPI is the input data's KPI column
KPI_FIT_WARN_RTOL = 0.02  # fitted vs actual KPI total: a gap above this is flagged, never fatal
REFIT = "the run folder was edited or is corrupt; refit"

# finance input -> (label, package default); currency and hurdle_rate carry no source key in the config
FINANCE_INPUTS: dict[str, tuple[str, Any]] = {
    "gross_margin": ("Gross margin", FinanceSpec.gross_margin),
    "value_per_kpi": ("Value per KPI unit", FinanceSpec.value_per_kpi),
    "clv": ("Customer lifetime value (CLV)", FinanceSpec.clv),
    "hurdle_rate": ("Hurdle rate", FinanceSpec.hurdle_rate),
    "discount_rate": ("Discount rate (annual)", FinanceSpec.discount_rate),
    "currency": ("Currency", FinanceSpec.currency),
}
DEFAULT_SOURCES = ("default", "kpi is revenue")  # sources that say the package filled the value in
MODEL_PRIOR_LABELS = {
    "intercept": "Intercept (baseline level)",
    "trend": "Trend (change per year)",
    "fourier": "Seasonality (Fourier terms)",
    "control_coef": "Control coefficients (per SD of the control)",
    "sigma": "Noise SD (sigma)",
    "nu": "Student-t degrees of freedom (nu)",
    "event_coef": "Event effects (share of the KPI, per event period)",
    "media_effect_amplitude": "Time-varying media effect: spread (log scale)",
    "media_effect_lengthscale": "Time-varying media effect: length scale (years)",
}


class ReconciliationError(ValueError):
    """Modelled spend (or the KPI copy in fit.csv) disagrees with the run's input data.

    ``result`` holds the full reconciliation (as :func:`reconcile` would have returned it).
    """

    def __init__(self, message: str, result: dict[str, Any] | None = None):
        super().__init__(message)
        self.result = result


# ---------------------------------------------------------------- assumptions register


def assumptions_register(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """One row per assumption of the run: finance inputs, then model priors, then channel priors.

    Each row has ``section`` ("finance", "model prior", "channel prior"), ``item``
    (a label), ``key`` (where it lives in config.yaml), ``value`` (raw value),
    ``display`` (the value as text; priors in written form such as
    ``Beta(alpha=2, beta=2)``), ``source`` (source/owner as written, or where
    the default comes from) and ``status`` (``"set"`` or ``"default"``).

    Finance values come from ``config.yaml``; ``summary.json``'s ``finance``
    block fills keys the config lacks and gives the value used for a margin
    left unset. A finance value is ``default`` when its source is missing or
    says default and the value is the package default; a value that differs
    from the package default is always ``set``. A prior is ``set`` when it
    differs from the package default (``DEFAULT_MODEL_PRIORS``, the transform's
    ``default_priors``); priors the model does not use (trend when
    ``model.trend`` is false, seasonality of order 0, control coefficients
    without controls, nu without a Student-t likelihood) are left out.
    """
    run_dir = Path(run_dir)
    config = _read_yaml(run_dir / "config.yaml")
    summary = _read_json(run_dir / "summary.json", required=False) or {}
    rows = _finance_rows(config.get("finance") or {}, summary.get("finance") or {})
    rows += _model_prior_rows(config)
    rows += _baseline_rows(config, n_geos=int((summary.get("geo") or {}).get("n_geos", 1)))
    rows += _channel_prior_rows(config, summary.get("media_prior") or {})
    rows += _driver_rows(config)
    rows += _experiment_rows(config)
    return rows


def _driver_rows(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Events (their dates and windows), organic channels (their column and coefficient prior) and treatments
    (their reference level): what each contribution is measured against."""
    rows = []
    for i, event in enumerate(config.get("events") or []):
        dates = list(event.get("dates") or [])
        window = f", window -{event.get('before', 0)}..+{event.get('after', 0)} periods"
        where = f" in {', '.join(event['geos'])}" if event.get("geos") else ""
        rows.append({"section": "model", "item": f"event: {event.get('name')}", "key": f"events[{i}]",
                     "value": event, "display": f"{len(dates)} date(s), {dates[0] if dates else '?'}"
                     f"{' .. ' + dates[-1] if len(dates) > 1 else ''}{window}{where}",
                     "source": "config (events)", "status": SET})
    for name, entry in (config.get("organic") or {}).items():
        entry = {"column": entry} if isinstance(entry, str) else (entry or {})
        written = (entry.get("priors") or {}).get("coef")
        prior = _prior(written, f"organic.{name}.priors.coef") if written else DEFAULT_ORGANIC_COEF
        rows.append({"section": "model prior", "item": f"organic {name}: most it adds per period (share of the KPI)",
                     "key": f"organic.{name}.priors.coef", "value": prior.to_dict(), "display": prior_text(prior),
                     "source": "config" if prior != DEFAULT_ORGANIC_COEF else "package default",
                     "status": SET if prior != DEFAULT_ORGANIC_COEF else DEFAULT})
    for name, entry in (config.get("treatments") or {}).items():
        entry = {"column": entry} if isinstance(entry, str) else (entry or {})
        reference = entry.get("reference", "min")
        rows.append({"section": "model", "item": f"treatment {name}: reference level of {entry.get('column')}",
                     "key": f"treatments.{name}.reference", "value": reference, "display": str(reference),
                     "source": "config" if "reference" in entry else "package default (min)",
                     "status": SET if "reference" in entry else DEFAULT})
    return rows


def _finance_rows(config_finance: Mapping[str, Any], summary_finance: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, (label, default) in FINANCE_INPUTS.items():
        in_config = key in config_finance
        value = config_finance[key] if in_config else summary_finance.get(key, default)
        source_key = f"{key}_source"
        written = config_finance.get(source_key) if source_key in config_finance else summary_finance.get(source_key)
        source = str(written).strip() if written not in (None, "") else ""
        says_default = not source or source.lower().startswith(DEFAULT_SOURCES)
        status = DEFAULT if says_default and _same(value, default) else SET
        used = value
        if value is None and key == "gross_margin":
            # not given: profit ROI used the summary's margin (100%), and the report says so
            used = summary_finance.get("gross_margin", 1.0)
            source = str(summary_finance.get("gross_margin_source") or "default (not given: 100% margin assumed)")
        if not source:
            source = "package default" if status == DEFAULT else "config (no source recorded)"
        rows.append({"section": "finance", "item": label, "key": f"finance.{key}", "value": used,
                     "display": _finance_text(key, used), "source": source, "status": status})
        if key == "gross_margin":  # per-channel margins override it for their channel
            by_channel = config_finance.get("gross_margin_by_channel") or {}
            by_source = config_finance.get("gross_margin_by_channel_source") or {}
            for channel, margin in by_channel.items():
                rows.append({"section": "finance", "item": f"{label}, {channel}", "channel": channel,
                             "key": f"finance.gross_margin.{channel}", "value": margin,
                             "display": _finance_text(key, margin),
                             "source": str(by_source.get(channel) or "config (no source recorded)"), "status": SET})
    return rows


def _model_prior_rows(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    model = config.get("model") or {}
    written = model.get("priors") or {}
    seasonality = model.get("seasonality")
    order = seasonality.get("order", 2) if isinstance(seasonality, Mapping) else seasonality
    used = {
        "intercept": True,
        "trend": model.get("trend", True) is not False,
        "fourier": bool(order if order is not None else 2),
        "control_coef": bool(config.get("controls")) or bool(config.get("treatments")),
        "sigma": True,
        "nu": model.get("likelihood", "normal") == "student_t",
        "event_coef": bool(config.get("events")),
        **dict.fromkeys(MEDIA_EFFECT_PRIORS, uses_time_varying_media(model.get("media_effect", "steady"),
                                                                     model.get("candidates") or "auto")),
    }
    rows = []
    for name, default in DEFAULT_MODEL_PRIORS.items():
        if not used.get(name, True):
            continue
        key = f"model.priors.{name}"
        prior = _prior(written[name], key) if name in written else default
        status = DEFAULT if prior == default else SET
        rows.append({"section": "model prior", "item": MODEL_PRIOR_LABELS.get(name, name), "key": key,
                     "value": prior.to_dict(), "display": prior_text(prior),
                     "source": f"config ({key})" if status == SET else "package default", "status": status})
    return rows


BASELINE_LABELS = {"amplitude": "moving baseline: size (share of the KPI)",
                   "lengthscale": "moving baseline: length scale (years)",
                   "shock_sd": "per-period shocks shared by geos: sd (share of the KPI)"}


def _baseline_rows(config: Mapping[str, Any], n_geos: int = 1) -> list[dict[str, Any]]:
    """The moving baseline's components and priors, when ``model.baseline`` is on (shocks ``auto``: with
    several geos)."""
    baseline = (config.get("model") or {}).get("baseline") or {}
    written = baseline.get("shocks")
    smooth, shocks = bool(baseline.get("smooth")), written is True or (written == "auto" and n_geos > 1)
    if not (smooth or shocks):
        return []
    parts = [p for p, on in (("a smooth time-varying component", smooth),
                             ("one shock per period shared by all geos", shocks)) if on]
    rows = [{"section": "model", "item": "baseline that moves", "key": "model.baseline",
             "value": {"smooth": smooth, "shocks": shocks}, "display": " + ".join(parts),
             "source": "config (model.baseline)" if smooth or written is True else "package default (panels)",
             "status": SET if smooth or written is True else DEFAULT}]
    written = baseline.get("priors") or {}
    for name, default in DEFAULT_BASELINE_PRIORS.items():
        if name == "shock_sd" and not shocks or name != "shock_sd" and not smooth:
            continue
        key = f"model.baseline.priors.{name}"
        prior = _prior(written[name], key) if name in written else default
        status = DEFAULT if prior == default else SET
        rows.append({"section": "model prior", "item": BASELINE_LABELS[name], "key": key, "value": prior.to_dict(),
                     "display": prior_text(prior), "source": f"config ({key})" if status == SET else "package default",
                     "status": status})
    return rows


def _channel_prior_rows(config: Mapping[str, Any], media_prior: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Per channel its effect-size prior (the ROAS prior the model used, or its coefficient prior), then its
    transforms' priors. ``media_prior``: ``summary.json["media_prior"]``, for the default ROAS prior's median
    as worked out from the data."""
    model = config.get("model") or {}
    median, sigma, default_set, default_source = _default_media_prior(model, media_prior or {})
    rows = []
    for channel, entry in (config.get("channels") or {}).items():
        entry = {"spend": entry} if isinstance(entry, str) else (entry or {})
        written = entry.get("priors") or {}
        adstock = ADSTOCKS[entry.get("adstock", "geometric")]
        saturation = SATURATIONS[entry.get("saturation", "logistic")]
        key = f"channels.{channel}.priors.coef"
        reach_frequency = bool(entry.get("frequency"))
        # which prior sets the channel's effect, in mmm.model.roas_prior.roas_prior's order
        roas_key, roas_written = f"channels.{channel}.roas_prior", entry.get("roas_prior")
        if roas_written is None and not ("coef" in written or reach_frequency):
            roas_key, roas_written = "model.roas_prior", model.get("roas_prior")
        if roas_written is not None:
            # the coefficient follows from this prior on ROAS (mmm.model.roas_prior)
            prior = _prior(roas_written, roas_key)
            rows.append({"section": "channel prior", "channel": str(channel), "item": f"{channel}: ROAS prior",
                         "key": roas_key, "value": prior.to_dict(), "display": roas_prior_text(prior),
                         "source": f"config ({roas_key})", "status": SET})
        elif "coef" in written:
            prior = _prior(written["coef"], key)
            rows.append(_prior_row(channel, "coef", "media coefficient", prior, key, SET))
        elif reach_frequency:  # a coefficient prior whose median means the default ROAS median at half saturation
            rows.append({
                "section": "channel prior", "channel": str(channel), "item": f"{channel}: media coefficient",
                "key": key, "value": None,
                "display": f"LogNormal scaled to the channel's spend: its median means ROAS {median} at half "
                           f"saturation, log-sd {sigma:g}",
                "source": default_source, "status": default_set})
        else:
            rows.append({
                "section": "channel prior", "channel": str(channel), "item": f"{channel}: ROAS prior",
                "key": f"channels.{channel}.roas_prior", "value": None,
                "display": f"LogNormal on ROAS, median {median}, log-sd {sigma:g}",
                "source": default_source, "status": default_set})
        frequency_curve = bool(entry.get("frequency")) and saturation.name == "hill"
        for transform, kind in ((adstock, "adstock"), (saturation, "saturation")):
            for param in transform.param_names:
                default = transform.default_priors[param]
                if frequency_curve and param in REACH_FREQUENCY_PRIORS:  # its curve acts on frequency
                    default = REACH_FREQUENCY_PRIORS[param]
                key = f"channels.{channel}.priors.{param}"
                prior = _prior(written[param], key) if param in written else default
                status = DEFAULT if prior == default else SET
                rows.append(_prior_row(channel, param, f"{transform.name} {kind}: {param}", prior, key, status))
    return rows


def _default_media_prior(model: Mapping[str, Any], media_prior: Mapping[str, Any]) -> tuple[str, float, str, str]:
    """The default ROAS prior (``model.media_roas_scale`` / ``media_share`` / ``media_roas_sigma``): its median in
    words, its log-sd, status and source. The median of ``auto`` is shown as worked out from the data when
    ``media_prior`` (``summary.json``) gives it, with its rule."""
    scale = model.get("media_roas_scale", DEFAULT_MEDIA_ROAS_SCALE)
    share = model.get("media_share", DEFAULT_MEDIA_SHARE)
    sigma = model.get("media_roas_sigma", DEFAULT_MEDIA_ROAS_SIGMA)
    if scale == "auto":
        rule = f"{float(share) * 100:.3g}% of the KPI's value from paid media (model.media_share)"
        worked_out = media_prior.get("median_roas")
        median = f"{float(worked_out):.3g} (auto: {rule})" if worked_out is not None else f"auto: {rule}"
    else:
        median = f"{float(scale):g}"
    changed = [key for key, value, default in (("media_roas_scale", scale, DEFAULT_MEDIA_ROAS_SCALE),
                                               ("media_share", share, DEFAULT_MEDIA_SHARE),
                                               ("media_roas_sigma", sigma, DEFAULT_MEDIA_ROAS_SIGMA))
               if not _same(value, default)]
    source = f"config ({', '.join(f'model.{k}' for k in changed)})" if changed else "package default"
    return median, float(sigma), SET if changed else DEFAULT, source


def _experiment_rows(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each lift test the model was calibrated with: what was measured, when, and how precisely."""
    rows = []
    for i, e in enumerate(config.get("experiments") or []):
        label = e.get("name") or f"{e['channel']} {e['start']}..{e['end']}"
        spend = f"; test spend {float(e['spend']):,.0f}" if e.get("spend") is not None else ""
        rows.append({"section": "experiment", "channel": str(e["channel"]), "item": f"{label}: measured lift",
                     "key": f"experiments[{i}]", "value": dict(e),
                     "display": f"incremental KPI {float(e['incremental_kpi']):,.0f} ± {float(e['se']):,.0f} (SE), "
                                f"{e['start']} to {e['end']}, carry-over included{spend}",
                     "source": f"config (experiments[{i}])", "status": SET})
    return rows


def roas_prior_text(prior: Prior) -> str:
    """A ROAS prior in written form with the quantiles finance reads, e.g. ``LogNormal(...): median 2, 90% below 5``."""
    dist = prior.scipy()
    return f"{prior_text(prior)}: median {dist.median():.3g}, 10% below {dist.ppf(0.1):.3g}, 90% below {dist.ppf(0.9):.3g}"


def _prior_row(channel: str, param: str, label: str, prior: Prior, key: str, status: str) -> dict[str, Any]:
    return {"section": "channel prior", "channel": str(channel), "item": f"{channel}: {label}", "key": key,
            "value": prior.to_dict(), "display": prior_text(prior),
            "source": f"config ({key})" if status == SET else "package default", "status": status}


def prior_text(prior: Prior) -> str:
    """A prior in written form, e.g. ``Beta(alpha=2, beta=2)``."""
    def number(v: Any) -> str:
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(number(x) for x in v) + "]"
        return f"{float(v):g}" if isinstance(v, (int, float)) else str(v)

    spec = prior.to_dict()
    args = ", ".join(f"{k}={number(v)}" for k, v in spec.items() if k != "dist")
    return f"{spec['dist']}({args})"


def _prior(spec: Any, key: str) -> Prior:
    try:
        return Prior.parse(spec, f"config.yaml: {key}")
    except PriorError as err:
        raise ValueError(f"{err}; {REFIT}") from None


def _same(value: Any, default: Any) -> bool:
    if value is None or default is None:
        return value is None and default is None
    if isinstance(default, str) or isinstance(value, str):
        return str(value) == str(default)
    try:
        return float(value) == float(default)
    except (TypeError, ValueError):
        return False


def _finance_text(key: str, value: Any) -> str:
    if value is None:
        return "not given"
    if key == "currency":
        return str(value)
    if key in ("gross_margin", "hurdle_rate", "discount_rate") and isinstance(value, (int, float)):
        return f"{float(value):.1%}"
    if isinstance(value, (int, float)):
        return f"{float(value):,.6g}"
    return str(value)


# ---------------------------------------------------------------- reconciliation


def reconcile(run_dir: str | os.PathLike[str], *, kpi_warn_rtol: float = KPI_FIT_WARN_RTOL) -> dict[str, Any]:
    """Check modelled totals against the run's input data, and return every comparison.

    Returns ``{"ok", "window": {"start", "end", "n_periods"}, "spend": [...], "kpi": [...],
    "warnings": [...]}``. Each row has ``item``, ``modelled``, ``input`` (the two
    totals), ``modelled_label``/``input_label`` (what they are), ``difference``
    (modelled − input), ``relative_difference`` (÷ |input|), ``ok`` and
    ``severity`` (``"fail"`` rows raise; ``"warn"`` rows only flag).

    - spend, per channel: ``summary.json`` ``channels[c].spend`` vs the sum of
      ``data.csv``'s spend column (``config.yaml`` ``channels[c].spend``) over the
      summary's window (inclusive); relative tolerance 1e-9, severity ``fail``.
    - KPI: ``fit.csv``'s actual total vs ``data.csv``'s KPI column over the window
      (tolerance 1e-9, ``fail``: the same numbers copied twice), and the fitted
      total (``fit.csv`` ``fitted_mean``) vs the actual total (``warn`` when the
      gap exceeds ``kpi_warn_rtol``; a model's fit is never a reason to refuse).

    Raises
    ------
    ReconciliationError
        A ``fail`` row disagrees, or a file the check needs is missing or lacks a
        column; the message names the channel (or KPI), both totals and the fix.
    """
    run_dir = Path(run_dir)
    config = _read_yaml(run_dir / "config.yaml")
    summary = _read_json(run_dir / "summary.json", required=True)
    data_cfg = config.get("data") or {}
    date_col, kpi_col = data_cfg.get("date"), data_cfg.get("kpi")
    data = _read_data(run_dir / "data.csv", date_col)
    window = summary.get("window") or {}
    start = pd.Timestamp(window["start"]) if window.get("start") else data[date_col].min()
    end = pd.Timestamp(window["end"]) if window.get("end") else data[date_col].max()
    in_window = (data[date_col] >= start) & (data[date_col] <= end)

    channels_cfg = config.get("channels") or {}
    channels_sum = summary.get("channels") or {}
    problems: list[str] = []
    for name in channels_sum:
        if name not in channels_cfg:
            problems.append(f"channel {name!r} is in summary.json but not in config.yaml; {REFIT}")
    spend_rows = []
    for name, entry in channels_cfg.items():
        column = entry if isinstance(entry, str) else (entry or {}).get("spend")
        if name not in channels_sum or not _is_number((channels_sum.get(name) or {}).get("spend")):
            problems.append(f"channel {name!r}: summary.json has no modelled spend; {REFIT}")
            continue
        if column not in data.columns:
            problems.append(f"channel {name!r}: data.csv has no spend column {column!r}; {REFIT}")
            continue
        modelled = float(channels_sum[name]["spend"])
        total = float(pd.to_numeric(data.loc[in_window, column], errors="coerce").sum(min_count=1))
        row = _row(f"spend: {name}", modelled, total, SPEND_RTOL, "fail",
                   "summary.json spend", f"data.csv {column}", channel=str(name), column=str(column))
        spend_rows.append(row)
        if not row["ok"]:
            problems.append(
                f"channel {name!r}: modelled spend {modelled:,.6f} (summary.json) differs from the input "
                f"data total {total:,.6f} (data.csv column {column!r}, {start.date()}..{end.date()}) by "
                f"{row['difference']:+,.6g}; {REFIT}")

    kpi_rows, warnings = [], []
    input_kpi = None
    if kpi_col in data.columns:
        input_kpi = float(pd.to_numeric(data.loc[in_window, kpi_col], errors="coerce").sum(min_count=1))
    else:
        problems.append(f"KPI: data.csv has no KPI column {kpi_col!r}; {REFIT}")
    fit_path = run_dir / "fit.csv"
    if fit_path.is_file():
        fit = pd.read_csv(fit_path)
        missing = [c for c in ("date", "actual", "fitted_mean") if c not in fit.columns]
        if missing:
            problems.append(f"KPI: fit.csv lacks column(s) {missing}; {REFIT}")
        else:
            fit_w = fit.loc[(pd.to_datetime(fit["date"]) >= start) & (pd.to_datetime(fit["date"]) <= end)]
            actual = float(fit_w["actual"].sum(min_count=1))
            fitted = float(fit_w["fitted_mean"].sum(min_count=1))
            if input_kpi is not None:
                row = _row(f"KPI ({kpi_col}): actual in fit.csv vs input data", actual, input_kpi, KPI_INPUT_RTOL,
                           "fail", "fit.csv actual", f"data.csv {kpi_col}")
                kpi_rows.append(row)
                if not row["ok"]:
                    problems.append(
                        f"KPI {kpi_col!r}: actual total {actual:,.6f} (fit.csv) differs from the input data "
                        f"total {input_kpi:,.6f} (data.csv, {start.date()}..{end.date()}); {REFIT}")
            row = _row(f"KPI ({kpi_col}): fitted vs actual", fitted, actual, kpi_warn_rtol, "warn",
                       "fit.csv fitted_mean", "fit.csv actual")
            kpi_rows.append(row)
            if not row["ok"]:
                warnings.append(f"fitted {kpi_col} total {fitted:,.2f} differs from the actual total {actual:,.2f} "
                                f"by {row['relative_difference']:+.2%} (more than {kpi_warn_rtol:.0%}); "
                                "check the fit before trusting the figures")
    else:
        warnings.append("fit.csv is not in the run folder: fitted vs actual KPI total not shown")

    result = {
        "ok": not problems,
        "window": {"start": start.date().isoformat(), "end": end.date().isoformat(),
                   "n_periods": int(in_window.sum())},
        "spend": spend_rows,
        "kpi": kpi_rows,
        "warnings": warnings,
        "problems": problems,
    }
    if problems:
        raise ReconciliationError(f"reconciliation failed for run folder {run_dir}:\n- " + "\n- ".join(problems),
                                  result)
    return result


def _row(item: str, modelled: float, input_total: float, rtol: float, severity: str, modelled_label: str,
         input_label: str, **extra: Any) -> dict[str, Any]:
    difference = modelled - input_total
    relative = difference / abs(input_total) if input_total else (0.0 if difference == 0 else math.inf)
    ok = bool(math.isfinite(modelled) and math.isfinite(input_total)
              and abs(difference) <= rtol * max(abs(modelled), abs(input_total)))
    return {"item": item, **extra, "modelled": modelled, "input": input_total, "modelled_label": modelled_label,
            "input_label": input_label, "difference": difference, "relative_difference": relative,
            "tolerance": rtol, "ok": ok, "severity": severity}


# ---------------------------------------------------------------- files


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path.name} not found in run folder {path.parent}; {REFIT}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ValueError(f"{path} is not valid YAML ({err}); {REFIT}") from None
    if not isinstance(raw, Mapping):
        raise ValueError(f"{path} is not a config mapping; {REFIT}")
    return dict(raw)


def _read_json(path: Path, *, required: bool) -> dict[str, Any] | None:
    if not path.is_file():
        if required:
            raise FileNotFoundError(f"{path.name} not found in run folder {path.parent}; {REFIT}")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); {REFIT}") from None


def _read_data(path: Path, date_col: str | None) -> pd.DataFrame:
    if not path.is_file():
        raise ReconciliationError(f"data.csv not found in run folder {path.parent}: the input totals cannot be "
                                  f"checked; {REFIT}")
    data = pd.read_csv(path)
    if not date_col or date_col not in data.columns:
        raise ReconciliationError(f"{path} has no date column {date_col!r} (config.yaml data.date); {REFIT}")
    data[date_col] = pd.to_datetime(data[date_col])
    return data


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
