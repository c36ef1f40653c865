"""Google Meridian's simulated geo panels and Robyn's demo: fitted with and without what issue 15 added.

- ``meridian_rf``: ``geo_media_rf.csv`` (20 geos x 156 weeks): Channel0-2 from impressions, Channel3 with
  reach and frequency. "before": Channel3 from its impressions as plain exposure, no moving baseline.
  "after": reach x frequency (``channels.Channel3: {spend, reach, frequency}``) and the panel default of
  per-period shocks shared by the geos.
- ``meridian_all``: ``geo_all_channels.csv`` (40 geos x 156 weeks): Channel0-4 from impressions, an organic
  channel and a promotion. "before": paid media and controls only, no moving baseline. "after":
  ``organic``, ``treatments`` and the panel default of shared shocks.
- ``robyn``: the bundled demo. "before": the demo config as it was (newsletter as a control, no holidays);
  "after": the demo config (newsletter organic, German holidays, the two one-off events).

Every fit keeps the last 13 weeks out of the likelihood (``holdout.periods: 13``) and predicts them with
the actual spend: it prints in-sample R², the holdout's R², MAPE and the share of held-out weeks inside the
90% interval of the expected KPI, the package's convergence gate, and the national ROAS per channel.
The KPI of the Meridian sets is conversions, valued at their mean revenue per conversion. The data are
read from ``../shared/data/`` (public datasets others wrote; see their SOURCE.md).

    python bench/meridian_panels.py [--cases meridian_rf meridian_all robyn] [--settings before after] \
        [--draws 500 --tune 500 --chains 4]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mmm.analysis.pipeline import fit
from mmm.spec.config import Config

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


BEFORE = {"model": {"baseline": {"shocks": False}}}  # what a panel was fitted with before issue 15


def meridian_config(csv: Path, channels: dict, controls: list[str], extra: dict) -> dict:
    value = float(pd.read_csv(csv, usecols=["revenue_per_conversion"])["revenue_per_conversion"].mean())
    return {"name": csv.stem, "data": {"path": str(csv), "date": "time", "kpi": "conversions", "kpi_type": "count",
                                       "geo": "geo", "population": "population"},
            "channels": channels, "controls": controls,
            "finance": {"value_per_kpi": {"value": value, "source": "mean revenue_per_conversion of the data"}},
            **extra}


def cases() -> dict[str, dict[str, dict]]:
    paid = {f"Channel{i}": {"spend": f"Channel{i}_spend", "exposure": f"Channel{i}_impression"} for i in range(5)}
    rf_csv, all_csv = SHARED / "meridian" / "geo_media_rf.csv", SHARED / "meridian" / "geo_all_channels.csv"
    rf_controls = ["competitor_activity_score_control", "sentiment_score_control"]
    rf_before = {c: paid[c] for c in ("Channel0", "Channel1", "Channel2", "Channel3")}
    rf_after = {**rf_before, "Channel3": {"spend": "Channel3_spend", "reach": "Channel3_reach",
                                          "frequency": "Channel3_frequency"}}
    all_controls = ["competitor_sales_control", "sentiment_score_control"]
    demo = yaml.safe_load((ROOT / "data" / "robyn_weekly" / "config.yaml").read_text())
    demo["data"]["path"] = str(ROOT / "data" / "robyn_weekly" / demo["data"]["path"])
    demo["events"][0]["calendar"] = str(ROOT / "data" / "robyn_weekly" / demo["events"][0]["calendar"])
    before_demo = {k: v for k, v in demo.items() if k not in ("events", "organic")}
    before_demo["controls"] = ["competitor_sales_B", "newsletter"]
    return {
        "meridian_rf": {"before": meridian_config(rf_csv, rf_before, rf_controls, BEFORE),
                        "after": meridian_config(rf_csv, rf_after, rf_controls, {})},
        "meridian_all": {"before": meridian_config(all_csv, paid, all_controls, BEFORE),
                         "after": meridian_config(all_csv, paid, all_controls, {
                             "organic": {"Organic0": "Organic_channel0_impression"},
                             "treatments": {"promo": {"column": "Promo", "reference": 0}}})},
        "robyn": {"before": before_demo, "after": demo},
    }


def one_fit(name: str, setting: str, raw: dict, fit_settings: dict) -> dict:
    config = Config.from_dict({**raw, "holdout": {"periods": 13}, "fit": fit_settings}, base_dir=ROOT)
    t0 = time.perf_counter()
    fitted = fit(config, reference=False)
    wall = time.perf_counter() - t0
    quality = fitted.effects.fit_quality()
    held = quality.get("holdout", {})
    roas = {c: [round(float(np.mean(fitted.effects.roas[:, k])), 3),
                *(round(float(v), 3) for v in np.quantile(fitted.effects.roas[:, k], [0.05, 0.95]))]
            for k, c in enumerate(fitted.effects.channels)}
    out = {"case": name, "setting": setting, "ok": fitted.diagnostics.ok,
           "max_rhat": round(fitted.diagnostics.max_rhat, 4), "divergences": fitted.diagnostics.divergences,
           "problems": fitted.diagnostics.problems,
           "r2": round(quality["r2"], 4), "holdout_r2": round(held.get("r2", float("nan")), 4),
           "holdout_mape": round(held.get("mape", float("nan")), 4),
           "holdout_inside90": round(held.get("share_inside_mean_interval", float("nan")), 3),
           "wall_s": round(wall, 1), "roas": roas}
    frequency = fitted.optimal_frequency() if fitted.data.frequency else {}
    out["optimal_frequency"] = {c: [round(float(v.mean()), 2), *(round(float(q), 2) for q in np.quantile(v, [0.05, 0.95]))]
                                for c, v in frequency.items()}
    components = fitted.effects.component_totals()
    out["components"] = {c: round(v["share"]["mean"], 4) for c, v in components.items() if v["kind"] != "event"}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["robyn", "meridian_rf", "meridian_all"])
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--settings", nargs="+", choices=("before", "after"), default=["before", "after"])
    args = parser.parse_args()
    settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains, "seed": 1}
    table = cases()
    rows = []
    for name in args.cases:
        for setting in args.settings:
            row = one_fit(name, setting, table[name][setting], settings)
            rows.append(row)
            print("RUN " + json.dumps(row), flush=True)
    print(f"\n{'case':14s}{'setting':8s}{'gate':>6s}{'R-hat':>8s}{'div':>5s}{'R² in':>8s}{'R² out':>8s}"
          f"{'MAPE out':>10s}{'in 90%':>8s}{'wall s':>8s}")
    for r in rows:
        print(f"{r['case']:14s}{r['setting']:8s}{'pass' if r['ok'] else 'FAIL':>6s}{r['max_rhat']:8.3f}"
              f"{r['divergences']:5d}{r['r2']:8.3f}{r['holdout_r2']:8.3f}{r['holdout_mape']:10.3f}"
              f"{r['holdout_inside90']:8.2f}{r['wall_s']:8.0f}")


if __name__ == "__main__":
    main()
