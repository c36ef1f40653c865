"""Calibration benchmark: how much one lift experiment helps a season-confounded channel, across seeds.

Usage: ``python bench/calibration.py [SEED ...]`` (default seeds 0 1 2). Per seed it fits the
scenario of tests/analysis/test_calibration_fit.py without and with a true experiment (15% SE) and with a
wrong one (3x the truth, 1% SE), and prints display's ROAS mean, 90% interval and width, the
narrowing, whether the truth is covered, the conflict z of each experiment and the wall times.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from mmm.spec.config import Config
from mmm.api import fit
from mmm.data.synth import ChannelTruth, SynthSpec, generate
from mmm.data.synth_truth import true_figures

FIT = {"draws": 400, "tune": 400, "chains": 2}


def scenario(seed: int):
    return generate(SynthSpec(seed=seed, n_periods=130, channels=[
        ChannelTruth("tv", pattern="flighted", level=50_000, target_roas=1.4),
        ChannelTruth("search", pattern="always_on", level=30_000, target_roas=4.0),
        ChannelTruth("display", pattern="seasonal", level=20_000, target_roas=2.2, season_amplitude=1.0,
                     season_jitter=0.05),
    ]))


def display(fitted) -> tuple[float, float, float]:
    draws = fitted.effects.roas[:, fitted.effects.channels.index("display")]
    lo, hi = np.quantile(draws, [0.05, 0.95])
    return float(draws.mean()), float(lo), float(hi)


def main(seeds: list[int]) -> None:
    for seed in seeds:
        synth = scenario(seed)
        dates = synth.data["date"]
        start, end = dates.iloc[60].date().isoformat(), dates.iloc[65].date().isoformat()
        lift = true_figures(synth.data, synth.truth, window=(start, end))["display"]["incremental_kpi"]
        truth = synth.truth["figures"]["display"]["roas"]
        base = {**synth.config, "fit": {**FIT, "seed": seed}}
        test = {"channel": "display", "start": start, "end": end}
        rows = {}
        t = time.perf_counter()
        rows["none"] = none = fit(Config.from_dict(base), synth.data)
        times = {"none": time.perf_counter() - t}
        for label, value, se in (("true", lift, 0.15 * lift), ("wrong", 3 * lift, 0.03 * lift)):
            t = time.perf_counter()
            rows[label] = fit(Config.from_dict({**base, "experiments": [{**test, "incremental_kpi": value,
                                                                         "se": se}]}), synth.data, reference=none)
            times[label] = time.perf_counter() - t
        print(f"seed {seed}: display true ROAS {truth:.2f}, corr(spend, expected KPI) "
              f"{np.corrcoef(synth.data['display_spend'], synth.truth['mu'])[0, 1]:.2f}")
        width0 = None
        for label, fitted in rows.items():
            m, lo, hi = display(fitted)
            width0 = width0 or hi - lo
            z = fitted.experiment_checks()[0].z if fitted.config.experiments else float("nan")
            print(f"  {label:6s} mean {m:5.2f}  90% [{lo:5.2f}, {hi:5.2f}]  width {hi - lo:5.2f} "
                  f"(narrowing {1 - (hi - lo) / width0:+.0%})  covered {lo <= truth <= hi}  |err| {abs(m - truth):.2f}"
                  f"  conflict z {z:+.2f}  diagnostics ok {fitted.diagnostics.ok}  {times[label]:.1f}s")


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1:]] or [0, 1, 2])
