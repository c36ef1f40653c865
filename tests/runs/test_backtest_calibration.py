"""Backtest calibration with fitted parents (slow): 4 runs fitted on 104 weeks of synthetic data, each
predicting the next 5 quarters from their actual spend (20 quarter-splits, horizons 1 to 5 quarters).

The 90% interval of a quarter's predicted total KPI must hold the actual total in 80-97% of the splits, and the
periods' 90% and 50% intervals their actual KPI about as often as they say. The parents' convergence gate is
printed, not asserted: this checks the forecast's calibration, which an unconverged posterior would show as
too-wide intervals (over-coverage), and the bound above catches that.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mmm.analysis.forecast import score
from mmm.api import fit
from mmm.data.synth import SynthSpec, generate
from mmm.runs.backtest import backtest
from mmm.spec.config import Config

pytestmark = pytest.mark.slow

HISTORY, QUARTER, QUARTERS, PARENTS = 104, 13, 5, 4
FIT = {"draws": 500, "tune": 500, "chains": 2, "seed": 1}


def test_fitted_parents_forecast_quarters_with_calibrated_intervals(tmp_path):
    inside_total, inside, inside_50, widths, gates = [], [], [], [], []
    for p in range(PARENTS):
        result = generate(SynthSpec(seed=100 + p, n_periods=HISTORY + QUARTER * QUARTERS, n_channels=3))
        folder = tmp_path / f"p{p}"
        folder.mkdir()
        data = result.data.assign(date=result.data["date"].dt.strftime("%Y-%m-%d"))
        data.iloc[:HISTORY].to_csv(folder / "history.csv", index=False)
        data.to_csv(folder / "later.csv", index=False)
        raw = {**result.config, "data": {**result.config["data"], "path": "history.csv"}, "fit": FIT,
               "model": {**(result.config.get("model") or {}), "candidates": "none"}}
        fitted = fit(Config.from_dict(raw, base_dir=folder))
        gates.append(fitted.fit.diagnostics.ok)
        run = fitted.save(folder / "q0", report=False)
        fc = backtest(run, folder / "later.csv").forecast
        for q in range(QUARTERS):
            part = slice(q * QUARTER, (q + 1) * QUARTER)
            s = score(replace(fc, dates=fc.dates[part], actual=fc.actual[:, part], expected=fc.expected[..., part],
                              predictive=fc.predictive[..., part]))
            inside_total.append(s["total_inside_interval"])
            inside.append(s["coverage"])
            inside_50.append(s["coverage_50"])
            widths.append((s["predicted_total"]["hi"] - s["predicted_total"]["lo"]) / s["actual_total"])
    print(f"\n{len(inside_total)} quarter-splits: quarter totals inside their 90% interval "
          f"{np.mean(inside_total):.2f}; periods inside 90% {np.mean(inside):.3f}, inside 50% {np.mean(inside_50):.3f}; 90% interval of the "
          f"total {np.mean(widths):.1%} of it on average; parents passing the gate {sum(gates)}/{PARENTS}")
    assert len(inside_total) >= 20
    assert 0.80 <= np.mean(inside_total) <= 0.97
    assert 0.80 <= np.mean(inside) <= 0.97  # 260 periods
    assert 0.40 <= np.mean(inside_50) <= 0.60
