"""A baseline that moves: recovery and cost, with and without ``model.baseline``, over seeds.

Two cases from the generator, whose moving baseline is deliberately not the model's form (an AR(1) with
weekly persistence 0.95 plus independent weekly shocks, where the model has a Hilbert-space GP or one
shock per period):

- ``national``: 156 weeks x 4 channels, ``baseline_drift`` 0.12 (sd of the drift, share of the KPI level);
  fitted as today (no moving baseline) and with ``model.baseline: {smooth: true}``;
- ``panel``: 10 geos x 104 weeks x 3 channels, ``baseline_drift`` 0.1 and ``common_shocks`` 0.04, the same
  weeks in every geo; fitted as today and with ``model.baseline: {shocks: true}``;
- ``panel20``: the panel case with 20 geos (how the error falls with more geos);
- ``panel40``: the same drift and shocks on 40 geos x 156 weeks x 4 channels (the cost at scale).

"Today" is no moving baseline at all; ``--baseline JSON`` fits another moving baseline than each case's.

Per fit it prints one ``RUN {json}`` line: the convergence gate, R², sampling seconds, and per channel the
true and fitted national ROAS (mean, 90% interval), coverage and the same-week (immediate) share against
its truth; then a summary per case and setting: ROAS MAPE, coverage, mean |immediate share error|, median
sampling seconds and the ratio of the moving baseline's sampling time to today's.

    python bench/moving_baseline.py [--seeds 0 1 2] [--draws 500 --tune 500 --chains 4] | tee bench/results/DATE-moving-baseline.log
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

from mmm.analysis.pipeline import fit
from mmm.data.synth import SynthSpec, generate
from mmm.spec.config import Config

CASES = {
    "national": (dict(n_periods=156, n_channels=4, baseline_drift=0.12), {"smooth": True}),
    "panel": (dict(n_periods=104, n_channels=3, controls=False, n_geos=10, baseline_drift=0.1, common_shocks=0.04),
              {"shocks": True}),
    "panel20": (dict(n_periods=104, n_channels=3, controls=False, n_geos=20, baseline_drift=0.1, common_shocks=0.04),
                {"shocks": True}),
    "panel40": (dict(n_periods=156, n_channels=4, controls=False, n_geos=40, baseline_drift=0.1, common_shocks=0.04),
                {"shocks": True}),
}


def one_fit(case: str, seed: int, moving: bool, fit_settings: dict, adaptation: str | None = None) -> dict:
    spec, baseline = CASES[case]
    result = generate(SynthSpec(seed=seed, **spec))
    # "today": no moving baseline at all (a panel's default now has shocks, so say so)
    model = {**result.config["model"], "baseline": baseline if moving else {"smooth": False, "shocks": False}}
    extra = {"adaptation": adaptation} if moving and adaptation else {}
    config = Config.from_dict({**result.config, "model": model, "fit": {**fit_settings, "seed": seed, **extra}})
    t0 = time.perf_counter()
    fitted = fit(config, result.data, reference=False)
    wall = time.perf_counter() - t0
    effects, truth = fitted.effects, result.truth["figures"]
    channels = {}
    for k, name in enumerate(effects.channels):
        roas = effects.roas[:, k]
        lo, hi = np.quantile(roas, [0.05, 0.95])
        true = truth[name]["roas"]
        channels[name] = {"true": round(true, 3), "mean": round(float(roas.mean()), 3), "lo": round(float(lo), 3),
                          "hi": round(float(hi), 3), "covered": bool(lo <= true <= hi),
                          "immediate": round(float(effects.immediate_share[:, k].mean()), 3),
                          "immediate_true": round(truth[name]["immediate_share"], 3)}
    return {"case": case, "seed": seed, "moving": moving, "ok": fitted.diagnostics.ok,
            "max_rhat": round(fitted.diagnostics.max_rhat, 4), "min_ess": round(fitted.diagnostics.min_ess_bulk),
            "problems": fitted.diagnostics.problems,
            "r2": round(effects.fit_quality()["r2"], 3), "sampling_s": round(fitted.fit.timings["sampling_s"], 2),
            "wall_s": round(wall, 1), "channels": channels}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--cases", nargs="+", choices=tuple(CASES), default=list(CASES))
    p.add_argument("--draws", type=int, default=500)
    p.add_argument("--tune", type=int, default=500)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--adaptation", choices=("diag", "low_rank"), default=None,
                   help="nutpie's mass-matrix adaptation for the moving-baseline fits (today's fits keep the default)")
    p.add_argument("--baseline", type=json.loads, default=None,
                   help="the moving baseline to fit instead of each case's own, as JSON, e.g. "
                        "'{\"smooth\": true, \"kernel\": \"matern32\"}'")
    args = p.parse_args()
    if args.baseline is not None:
        for case in args.cases:
            CASES[case] = (CASES[case][0], args.baseline)
    settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    print(f"fit: {settings}; seeds {args.seeds}", flush=True)
    runs = []
    for case in args.cases:
        for seed in args.seeds:
            for moving in (False, True):  # alternate, so drift on the machine hits both
                r = one_fit(case, seed, moving, settings, args.adaptation)
                runs.append(r)
                print("RUN " + json.dumps(r), flush=True)
    print()
    for case in args.cases:
        sampling = {}
        for moving in (False, True):
            rs = [r for r in runs if r["case"] == case and r["moving"] == moving]
            chans = [c for r in rs for c in r["channels"].values()]
            mape = np.mean([abs(c["mean"] / c["true"] - 1) for c in chans])
            cover = np.mean([c["covered"] for c in chans])
            imm = np.mean([abs(c["immediate"] - c["immediate_true"]) for c in chans])
            sampling[moving] = statistics.median(r["sampling_s"] for r in rs)
            label = f"{case}, {'moving baseline ' + json.dumps(CASES[case][1]) if moving else 'today (none)'}"
            print(f"{label}: ROAS MAPE {mape:.1%}, coverage {cover:.0%} of {len(chans)} channel-cases, "
                  f"|immediate share error| {imm:.3f}, R² {np.mean([r['r2'] for r in rs]):.3f}, "
                  f"gate passed {sum(r['ok'] for r in rs)}/{len(rs)}, median sampling {sampling[moving]:.1f} s")
        print(f"{case}: sampling time, moving / today = {sampling[True] / sampling[False]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
