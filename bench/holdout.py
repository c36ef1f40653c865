"""Out of sample: a rolling-origin holdout of the baseline settings, scored on the held-out KPI.

For each dataset and origin, the model is fitted on every period up to the origin and forecasts the next
13 with the actual spend and controls (``holdout: {periods: 13}`` on the data cut 13 periods after the
origin: those periods stay out of the likelihood but are predicted). Origins are the starts of the last
``--origins`` non-overlapping 13-period blocks. Settings (``model.baseline``):

- ``plain``: no moving baseline, ``{smooth: false, shocks: false}`` (the default before this benchmark);
- ``smooth``: ``{smooth: true, shocks: false}``;
- panels only: ``shocks`` (``{smooth: false, shocks: true}``) and ``smooth+shocks``.

Each setting names both keys, so what it means does not follow the package's defaults.

The forecast is the posterior predictive of the national KPI per held-out period: per draw, the expected
KPI (``effects.mu``, a sum over geos in KPI units) plus each geo's noise, ``sigma_g`` (model units) times
that geo's KPI scale (``scaling.kpi``), drawn Normal or Student-t (``nu``) as the likelihood is, summed over
geos; ``--noise-reps`` noise draws per posterior draw. A period the fit did not see has no shock in
``effects.mu`` (its expected value), so its shared shock is drawn here: ``baseline_shock_sd`` (model units)
times a standard normal, the same in every geo, times the summed KPI scales. Scores per forecast:

- ``crps``: the sample CRPS (energy form, E|X - y| - E|X - X'| / 2), mean over the 13 periods, KPI units;
  ``crps_rel`` divides it by the mean held-out KPI, to pool datasets;
- ``cover50`` / ``cover90``: share of the 13 actuals inside the central 50% / 90% predictive interval;
  ``width90_rel``: mean 90% width / mean held-out KPI;
- ``bias_sum_pct``: predicted mean of the 13-period sum minus the actual sum, % of the actual sum;
- in sample: R² of the posterior-mean fit, ``cover90_in`` (the same predictive on the fitted periods: a
  check that the noise is built right), the package's gate (``diagnostics.ok``), max R-hat, wall seconds.

Datasets (public, or the package's own generator):

- ``robyn``: the bundled demo, ``data/robyn_weekly/config.yaml`` (Meta Robyn's simulated weekly data, 208 weeks);
- ``pymc``: PyMC-Marketing's ``data/mmm_example.csv`` (179 weeks; x1, x2 are unitless spend in [0, 1], so
  ``model.media_roas_scale`` is set to 3000, the order of ROAS in those units, instead of a currency ROAS of 3);
- ``synth``: ``mmm.data.synth``, 156 weeks x 4 channels, ``baseline_drift`` 0.12 (as bench/moving_baseline.py);
- ``synth-panel``: 10 geos x 104 weeks x 3 channels, ``baseline_drift`` 0.1, ``common_shocks`` 0.04 (idem);
- ``meridian``: Google Meridian's simulated ``geo_media.csv``, the ``--meridian-geos`` most populous geos,
  conversions (count) valued at the mean ``revenue_per_conversion``, four channels on impressions with
  ROAS on spend, two controls; ``media_roas_scale`` 3 / value per conversion, so the default coefficient
  prior means a *value* ROAS of 3 as docs/config.md says (the package applies the scale to KPI per
  currency: conversions per dollar here).

Fits run one at a time, at ``nice`` 10. Every finished fit is appended to the CSV at once; with
``--resume`` the (dataset, setting, origin) already in the CSV are skipped and the tables cover them all.
A fit that raises is recorded with its error and the run goes on.

    python bench/holdout.py [--datasets robyn pymc synth synth-panel meridian] [--origins 3] \\
        [--draws 300 --tune 300 --chains 2] [--out bench/results/2026-12-06-holdout] [--resume]
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import statistics
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mmm.analysis.forecast import crps as sample_crps  # E|X - y| - E|X - X'| / 2 from sorted samples
from mmm.analysis.pipeline import fit
from mmm.data.synth import SynthSpec, generate
from mmm.spec.config import Config

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
HORIZON = 13
MIN_FITTED = 52  # a year at least: the seasonality needs one (and data.min_periods is 52 weekly)
# every setting names both keys: the package's default changes (a panel gets shocks unless told otherwise since
# docs/baseline-choice.md), and "plain" must stay the model without a moving baseline
NATIONAL_SETTINGS = {"plain": {"smooth": False, "shocks": False}, "smooth": {"smooth": True, "shocks": False}}
PANEL_SETTINGS = {**NATIONAL_SETTINGS, "shocks": {"smooth": False, "shocks": True},
                  "smooth+shocks": {"smooth": True, "shocks": True}}
FIELDS = ["dataset", "kind", "n_geos", "setting", "origin", "n_train", "last_fitted", "holdout_start", "holdout_end",
          "crps", "crps_rel", "cover50", "cover90", "width90_rel", "bias_sum_pct", "mean_kpi", "r2_in",
          "cover90_in", "gate_ok", "max_rhat", "min_ess", "divergences", "sampling_s", "wall_s", "error"]


# ---- datasets: (raw config dict, base dir, data frame, date column) --------------------------------------

def robyn(args):
    path = REPO / "data" / "robyn_weekly" / "config.yaml"
    raw = yaml.safe_load(path.read_text())
    frame = pd.read_csv(path.parent / raw["data"]["path"])
    return raw, path.parent, frame, raw["data"]["date"]


def pymc(args):
    path = SHARED / "pymc-marketing" / "mmm_example.csv"
    frame = pd.read_csv(path)
    raw = {"name": "pymc-marketing-mmm-example",
           "data": {"path": str(path), "date": "date_week", "kpi": "y", "kpi_type": "revenue"},
           "channels": {"x1": "x1", "x2": "x2"}, "controls": ["event_1", "event_2"],
           "model": {"media_roas_scale": 3000.0},
           "finance": {"currency": "USD", "gross_margin": 0.6}}
    return raw, path.parent, frame, "date_week"


def synth(args):
    result = generate(SynthSpec(seed=0, n_periods=156, n_channels=4, baseline_drift=0.12))
    return result.config, REPO, result.data, result.config["data"]["date"]


def synth_panel(args):
    result = generate(SynthSpec(seed=0, n_periods=104, n_channels=3, controls=False, n_geos=10,
                                baseline_drift=0.1, common_shocks=0.04))
    return result.config, REPO, result.data, result.config["data"]["date"]


def meridian(args):
    path = SHARED / "meridian" / "geo_media.csv"
    frame = pd.read_csv(path)
    geos = frame.groupby("geo")["population"].first().sort_values(ascending=False).index[:args.meridian_geos]
    frame = frame[frame["geo"].isin(geos)].reset_index(drop=True)
    value = float(frame["revenue_per_conversion"].mean())
    raw = {"name": f"meridian-geo-media-{len(geos)}geos",
           "data": {"path": str(path), "date": "time", "kpi": "conversions", "kpi_type": "count",
                    "geo": "geo", "population": "population"},
           "channels": {f"Channel{i}": {"spend": f"Channel{i}_spend", "exposure": f"Channel{i}_impression"}
                        for i in range(4)},
           "controls": ["competitor_activity_score_control", "sentiment_score_control"],
           "model": {"media_roas_scale": 3.0 / value},
           "finance": {"currency": "USD", "gross_margin": 0.6, "value_per_kpi": value}}
    return raw, path.parent, frame, "time"


DATASETS = {"robyn": robyn, "pymc": pymc, "synth": synth, "synth-panel": synth_panel, "meridian": meridian}


# ---- scores --------------------------------------------------------------------------------------------

def predictive(result, rng: np.random.Generator, reps: int) -> np.ndarray:
    """(draws x reps, T) posterior predictive of the national KPI: mu + each geo's noise in KPI units."""
    mu = result.effects.mu  # (D, T), chain-major draws, summed over geos
    posterior = result.posterior
    sigma_da = posterior["sigma"]
    geos = [str(g) for g in sigma_da.coords["geo"].values]
    if geos != [str(g) for g in result.scaling.geos]:
        raise ValueError(f"sigma geos {geos} are not the scaling's {list(result.scaling.geos)}")
    sigma = np.asarray(sigma_da.transpose("chain", "draw", "geo").values, dtype=float).reshape(-1, len(geos))
    scale = sigma * np.asarray(result.scaling.kpi, dtype=float)[None, :]  # (D, G) KPI units
    if sigma.shape[0] != mu.shape[0]:
        raise ValueError(f"{sigma.shape[0]} sigma draws against {mu.shape[0]} mu draws")
    student = result.config.model.likelihood == "student_t"
    nu = np.asarray(posterior["nu"].values, dtype=float).reshape(-1) if student else None
    out = []
    n_periods = mu.shape[1]
    shock_scale = unseen_shock_scale(result, scale.shape[0])  # (D, T) KPI units, 0 on fitted periods
    for _ in range(reps):
        shape = (mu.shape[0], len(geos), n_periods)
        z = (rng.standard_t(nu[:, None, None], size=shape) if student else rng.standard_normal(shape))
        out.append(mu + (z * scale[:, :, None]).sum(axis=1) + shock_scale * rng.standard_normal(mu.shape))
    return np.concatenate(out, axis=0)


def unseen_shock_scale(result, n_draws: int) -> np.ndarray:
    """(D, T) sd of a new shared shock in KPI units (national sum) on each period the fit did not see; 0 where
    it saw the period or the model has no shocks."""
    from mmm.model.baseline import SHOCK_SD, SHOCKS

    posterior, dates = result.posterior, result.effects.dates
    if SHOCK_SD not in posterior.data_vars:
        return np.zeros((n_draws, len(dates)))
    shocks = posterior[SHOCKS]
    fitted = pd.DatetimeIndex(shocks.coords[shocks.dims[-1]].values)
    unseen = ~pd.DatetimeIndex(dates).isin(fitted)
    sd = np.asarray(posterior[SHOCK_SD].transpose("chain", "draw").values, dtype=float).reshape(-1)
    return (sd * float(np.sum(result.scaling.kpi)))[:, None] * unseen[None, :]


def scores(result, rng: np.random.Generator, reps: int) -> dict:
    effects = result.effects
    n_train = effects.n_train
    samples = predictive(result, rng, reps)
    actual = effects.actual
    held, pred = actual[n_train:], samples[:, n_train:]
    mean_kpi = float(held.mean())
    crps = float(sample_crps(pred, held).mean())
    q = np.quantile(pred, [0.05, 0.25, 0.75, 0.95], axis=0)
    q_in = np.quantile(samples[:, :n_train], [0.05, 0.95], axis=0)
    pred_sum = float(effects.mu[:, n_train:].sum(axis=1).mean())
    return {"crps": crps, "crps_rel": crps / mean_kpi,
            "cover50": float(np.mean((held >= q[1]) & (held <= q[2]))),
            "cover90": float(np.mean((held >= q[0]) & (held <= q[3]))),
            "width90_rel": float((q[3] - q[0]).mean() / mean_kpi),
            "bias_sum_pct": 100.0 * (pred_sum / float(held.sum()) - 1.0), "mean_kpi": mean_kpi,
            "r2_in": float(effects.fit_quality()["r2"]),
            "cover90_in": float(np.mean((actual[:n_train] >= q_in[0]) & (actual[:n_train] <= q_in[1])))}


# ---- one forecast ----------------------------------------------------------------------------------------

def one_fit(name: str, loaded, setting: str, baseline: dict, origin: int, fit_settings: dict,
            reps: int) -> dict:
    raw, base_dir, frame, date_col = loaded
    dates = pd.DatetimeIndex(sorted(pd.to_datetime(frame[date_col]).unique()))
    cut = frame[pd.to_datetime(frame[date_col]) <= dates[origin + HORIZON - 1]].reset_index(drop=True)
    geo_col = raw["data"].get("geo")
    row = {"dataset": name, "kind": "panel" if geo_col else "national",
           "n_geos": int(cut[geo_col].nunique()) if geo_col else 1, "setting": setting, "origin": origin,
           "n_train": origin, "last_fitted": dates[origin - 1].date().isoformat(),
           "holdout_start": dates[origin].date().isoformat(),
           "holdout_end": dates[origin + HORIZON - 1].date().isoformat(), "error": ""}
    model = {**(raw.get("model") or {}), "baseline": baseline}
    config_raw = {**raw, "model": model, "holdout": {"periods": HORIZON},
                  "fit": {**fit_settings, "seed": 1}}
    config_raw.pop("window", None)
    t0 = time.perf_counter()
    try:
        config = Config.from_dict(config_raw, base_dir=base_dir, source=f"<{name}>")
        result = fit(config, cut, reference=False)
        row["wall_s"] = round(time.perf_counter() - t0, 1)
        if result.effects.n_train != origin or len(result.effects.dates) != origin + HORIZON:
            raise ValueError(f"fitted {result.effects.n_train} of {len(result.effects.dates)} periods, "
                             f"expected {origin} of {origin + HORIZON}")
        actual = cut.groupby(pd.to_datetime(cut[date_col]))[raw["data"]["kpi"]].sum().to_numpy(dtype=float)
        if not np.allclose(actual, result.effects.actual, rtol=1e-9):
            raise ValueError("the fit's national KPI is not the data's")
        diag = result.diagnostics
        row.update(scores(result, np.random.default_rng(origin), reps))
        row.update(gate_ok=bool(diag.ok), max_rhat=round(float(diag.max_rhat), 4),
                   min_ess=round(float(diag.min_ess_bulk)), divergences=int(diag.divergences),
                   sampling_s=round(float(result.fit.timings["sampling_s"]), 1))
    except Exception as err:  # record and go on
        row["wall_s"] = round(time.perf_counter() - t0, 1)
        row["error"] = f"{type(err).__name__}: {err}".replace("\n", " ")[:500]
        traceback.print_exc(file=sys.stderr)
    return row


# ---- output ----------------------------------------------------------------------------------------------

class Log:
    def __init__(self, path: Path, append: bool):
        self.file = path.open("a" if append else "w")

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.file.write(text + "\n")
        self.file.flush()


def number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def row_line(r: dict) -> str:
    if r["error"]:
        return f"{r['dataset']:12s} {r['setting']:14s} origin {r['origin']:>3}: ERROR {r['error']}"
    return (f"{r['dataset']:12s} {r['setting']:14s} origin {r['origin']:>3} ({r['holdout_start']}..{r['holdout_end']}): "
            f"CRPS/mean {number(r['crps_rel']):.4f}, cover50 {number(r['cover50']):.2f}, "
            f"cover90 {number(r['cover90']):.2f}, width90/mean {number(r['width90_rel']):.3f}, "
            f"13-wk bias {number(r['bias_sum_pct']):+.1f}%, R² {number(r['r2_in']):.3f}, "
            f"in-sample cover90 {number(r['cover90_in']):.2f}, gate {'ok' if str(r['gate_ok']) == 'True' else 'FAIL'}, "
            f"max R-hat {number(r['max_rhat']):.3f}, wall {number(r['wall_s']):.0f} s")


def summarize(rows: list[dict], settings_order: list[str]) -> list[str]:
    lines = []
    header = (f"{'dataset':12s} {'setting':14s} {'n':>2} {'CRPS/mean':>9} {'vs plain':>8} {'cover50':>7} {'cover90':>7} "
              f"{'w90/mean':>8} {'|bias|%':>7} {'R² in':>6} {'gate':>5} {'maxRhat':>7} {'wall s':>6} {'samp s':>6}")

    def block(rs: list[dict], label: str, setting: str, plain: dict) -> str:
        ok = [r for r in rs if not r["error"]]
        if not ok:
            return f"{label:12s} {setting:14s} {0:>2}  (all {len(rs)} failed: {rs[0]['error'][:80] if rs else ''})"
        f = lambda k: np.mean([number(r[k]) for r in ok])  # noqa: E731
        ratios = [number(r["crps_rel"]) / number(plain[(r["dataset"], r["origin"])]["crps_rel"])
                  for r in ok if (r["dataset"], r["origin"]) in plain]
        vs = f"{math.exp(np.mean(np.log(ratios))):.3f}" if ratios else "-"
        gate = f"{sum(str(r['gate_ok']) == 'True' for r in ok)}/{len(ok)}"
        failed = f"  ({len(rs) - len(ok)} failed)" if len(rs) > len(ok) else ""
        return (f"{label:12s} {setting:14s} {len(ok):>2} {f('crps_rel'):>9.4f} {vs:>8} {f('cover50'):>7.2f} "
                f"{f('cover90'):>7.2f} {f('width90_rel'):>8.3f} "
                f"{np.mean([abs(number(r['bias_sum_pct'])) for r in ok]):>7.1f} {f('r2_in'):>6.3f} {gate:>5} "
                f"{max(number(r['max_rhat']) for r in ok):>7.3f} "
                f"{statistics.median(number(r['wall_s']) for r in ok):>6.0f} "
                f"{statistics.median(number(r['sampling_s']) for r in ok):>6.0f}{failed}")

    plain = {(r["dataset"], r["origin"]): r for r in rows if r["setting"] == "plain" and not r["error"]}
    lines.append("Per dataset (mean over origins; 'vs plain': geometric mean of CRPS / plain's CRPS on the same "
                 "origins; |bias|%: mean |13-week sum bias|; gate: fits passing the package's gate; wall, samp: median seconds of the fit call and of sampling)")
    lines.append(header)
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        for setting in settings_order:
            rs = [r for r in rows if r["dataset"] == dataset and r["setting"] == setting]
            if rs:
                lines.append(block(rs, dataset, setting, plain))
    for kind in ("national", "panel"):
        kind_rows = [r for r in rows if r["kind"] == kind]
        if not kind_rows:
            continue
        lines.append("")
        lines.append(f"Pooled, {kind} datasets ({', '.join(dict.fromkeys(r['dataset'] for r in kind_rows))}): "
                     "every forecast counts once")
        lines.append(header)
        for setting in settings_order:
            rs = [r for r in kind_rows if r["setting"] == setting]
            if rs:
                lines.append(block(rs, "pooled", setting, plain))
    return lines


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


def write_rows(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k, "") for k in FIELDS})
    tmp.replace(path)


def code_version() -> str:
    """The checkout's commit, and whether mmm/ or data/ differ from it (the package can change between runs)."""
    import subprocess

    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" + uncommitted changes in mmm/ or data/" if git("status", "--porcelain", "mmm", "data") else "")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", choices=tuple(DATASETS), default=list(DATASETS))
    p.add_argument("--origins", type=int, default=3, help="the last N non-overlapping 13-period blocks")
    p.add_argument("--settings", nargs="+", choices=tuple(PANEL_SETTINGS), default=list(PANEL_SETTINGS),
                   help="(shocks settings run on panels only)")
    p.add_argument("--draws", type=int, default=300)
    p.add_argument("--tune", type=int, default=300)
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--noise-reps", type=int, default=4, help="noise draws per posterior draw")
    p.add_argument("--meridian-geos", type=int, default=5)
    p.add_argument("--out", default=str(REPO / "bench" / "results" / "2026-12-06-holdout"),
                   help="writes OUT.csv (raw rows) and OUT.log (this output)")
    p.add_argument("--resume", action="store_true", help="keep OUT.csv's rows, skip what they cover, append to OUT.log")
    p.add_argument("--summary-only", action="store_true", help="print the tables of OUT.csv and exit")
    args = p.parse_args()
    os.nice(10)
    out_csv, out_log = Path(args.out + ".csv"), Path(args.out + ".log")
    rows = read_rows(out_csv) if (args.resume or args.summary_only) else []
    log = Log(out_log, append=args.resume or args.summary_only)
    if not args.summary_only:
        settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
        log(f"holdout.py: datasets {args.datasets}, last {args.origins} blocks of {HORIZON} periods, fit {settings}, "
            f"{args.noise_reps} noise draws per posterior draw, {os.cpu_count()} cores, "
            f"started {time.strftime('%Y-%m-%d %H:%M:%S')}, code {code_version()}")
        done = {(r["dataset"], r["setting"], int(r["origin"])) for r in rows}
        for name in args.datasets:
            loaded = DATASETS[name](args)
            raw, _, frame, date_col = loaded
            n_periods = pd.to_datetime(frame[date_col]).nunique()
            geo = raw["data"].get("geo")
            choices = PANEL_SETTINGS if geo else NATIONAL_SETTINGS
            origins = [n_periods - HORIZON * k for k in range(args.origins, 0, -1)]
            short = [o for o in origins if o < MIN_FITTED]
            if short:
                log(f"{name}: origins {short} skipped: fewer than {MIN_FITTED} fitted periods")
                origins = [o for o in origins if o >= MIN_FITTED]
            log(f"{name}: {n_periods} periods, {frame[geo].nunique() if geo else 1} geo(s), origins (periods fitted) "
                f"{origins}")
            for origin in origins:
                for setting in [s for s in args.settings if s in choices]:  # alternate settings per origin
                    if (name, setting, origin) in done:
                        continue
                    r = one_fit(name, loaded, setting, choices[setting], origin, settings, args.noise_reps)
                    rows.append(r)
                    write_rows(out_csv, rows)
                    log(row_line(r))
        log(f"finished {time.strftime('%Y-%m-%d %H:%M:%S')}")
    log("")
    for line in summarize(rows, list(PANEL_SETTINGS)):
        log(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
