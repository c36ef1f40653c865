"""Budget optimization speed: 8 channels, 1000 posterior draws, 13-week plan; then a geo
run's plans: 10 geos x 5 channels x 1000 draws, by geo (50 cells) and national.

The posterior is the synthetic truth with independent lognormal spread per draw
(sd 0.2 on every media parameter), so no fit is needed; the optimizer sees exactly
the shapes a fitted posterior gives (D draws x K channels, or x G geos). Prints, per
objective: wall time of one optimization (both starts), SLSQP iterations, and the
checks that matter (spend = budget, channel outcomes sum to the total).

    python bench/optimize_speed.py [--draws 1000] [--channels 8] [--repeat 3] [--geos 10 --geo-channels 5]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--geos", type=int, default=10, help="geos of the geo case (0: skip it)")
    parser.add_argument("--geo-channels", type=int, default=5)
    args = parser.parse_args()
    national(args)
    if args.geos:
        geo(args)


def spread(posterior, names, sd: float = 0.2, seed: int = 0):
    """Independent lognormal noise per draw on each named parameter (adstock alphas kept below 1)."""
    rng = np.random.default_rng(seed)
    for name in names:
        values = posterior[name].values * np.exp(rng.normal(0.0, sd, posterior[name].shape))
        if name.endswith("_alpha"):
            values = np.clip(values, 0.01, 0.95)
        posterior[name] = posterior[name].copy(data=values)
    return posterior


def national(args) -> None:
    from mmm.model import media
    from mmm.spec.config import Config
    from mmm.data.load import load_data
    from mmm.data.panel_design import series_scaling
    from mmm.planning.optimize import ChannelBounds, PlanModel, optimize, optimize_to_target
    from mmm.data.synth import ChannelTruth, SynthSpec, generate
    from mmm.model.truth import truth_posterior

    kinds = [("geometric", "logistic"), ("weibull", "hill"), ("delayed", "hill"), ("geometric", "hill")]
    channels = [ChannelTruth(f"ch{k}", pattern=("always_on", "flighted", "pulsed", "seasonal")[k % 4],
                             level=10_000.0 * (1 + k), adstock=kinds[k % 4][0], saturation=kinds[k % 4][1],
                             max_lag=8 + (k % 3) * 2, target_roas=0.6 + 0.5 * k)
                for k in range(args.channels)]
    result = generate(SynthSpec(seed=1, channels=channels, n_periods=156))
    config = Config.from_dict(result.config)
    data = load_data(result.data, config.roles())
    scaling = series_scaling(data)
    posterior = spread(truth_posterior(result.truth, config, data, n_draws=args.draws),
                       [name for name, *_ in media.parameter_layout(config.channels)])

    print(f"{args.channels} channels, {args.draws} draws, 13-week plan; os.cpu_count()={os.cpu_count()}, "
          f"affinity={len(os.sched_getaffinity(0))} cores")
    t0 = time.perf_counter()
    model = PlanModel(posterior, config, data, scaling, periods=13)
    print(f"plan model (carry-in, adstock of the plan per draw): {time.perf_counter() - t0:.3f} s")
    budget = model.run_rate.sum() * 1.2
    bounds = {"ch0": ChannelBounds(locked=True), "ch3": ChannelBounds(max=0.1 * budget),
              "ch5": ChannelBounds(min_change=-0.3, max_change=0.5)}
    for objective in ("mean", "profit", "cvar:0.1"):
        for label, b in (("no bounds", None), ("bounds", bounds)):
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                res = optimize(model, budget, objective=objective, bounds=b)
                times.append(time.perf_counter() - t)
            totals = res.plan.totals()
            table = res.plan.channel_table()
            gap = abs(table["incremental_value_mean"].sum() - totals["incremental_value"]["mean"]) / abs(
                totals["incremental_value"]["mean"])
            iters = "+".join(str(s["iterations"]) for s in res.starts)
            print(f"optimize {objective:<9} {label:<9}: best {min(times):6.3f} s, median {np.median(times):6.3f} s "
                  f"(SLSQP iterations {iters}); spend/budget - 1 = {res.plan.budget / budget - 1:+.1e}; "
                  f"channel sum vs total {gap:.1e}; gain vs current mix "
                  f"{(res.plan.total_value.mean() / res.current.total_value.mean() - 1):+.1%}")
    t = time.perf_counter()
    target = optimize_to_target(model, "profit_roi", 0.3)
    print(f"target mode (profit ROI 0.3 by bisection): {time.perf_counter() - t:.2f} s -> budget "
          f"{target.budget:,.0f} (reached {target.target['reached']:.3f})")


def geo(args) -> None:
    """A geo run's plans: the national budget split over geos, and by geo (every (geo, channel) cell)."""
    from mmm.model import media
    from mmm.spec.config import Config
    from mmm.data.panel import load_panel
    from mmm.data.panel_design import PanelScaling
    from mmm.planning.geo_plan import GeoPlanModel
    from mmm.model.truth import truth_geo_posterior
    from mmm.planning.optimize import optimize
    from mmm.data.synth import SynthSpec, generate

    result = generate(SynthSpec(seed=1, n_periods=104, n_channels=args.geo_channels, controls=False,
                                n_geos=args.geos))
    config = Config.from_dict(result.config)
    panel = load_panel(result.data, config.roles())
    names = [name for name, *_ in media.parameter_layout(config.channels)] + ["channel_coef_geo_sd"]
    posterior = spread(truth_geo_posterior(result.truth, config, panel, n_draws=args.draws), names)
    print(f"\ngeo run: {args.geos} geos x {args.geo_channels} channels ({args.geos * args.geo_channels} cells), "
          f"{args.draws} draws, 13-week plan")
    t0 = time.perf_counter()
    model = GeoPlanModel(posterior, config, panel, PanelScaling.compute(panel), periods=13)
    print(f"geo plan model (one plan model per geo, cells side by side): {time.perf_counter() - t0:.3f} s")
    budget = model.run_rate.sum() * 1.2
    for objective in ("mean", "profit", "cvar:0.1"):
        for label, target in (("national", model), ("by geo", model.cells)):
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                res = optimize(target, budget, objective=objective)
                times.append(time.perf_counter() - t)
            view = model.national_view(res)
            gap = np.abs(view.plan.value - model.per_geo(view.plan.cells.value).sum(axis=1)).max()
            iters = "+".join(str(s["iterations"]) for s in res.starts)
            print(f"optimize {objective:<9} {label:<9}: best {min(times):6.3f} s, median {np.median(times):6.3f} s "
                  f"(SLSQP iterations {iters}); spend/budget - 1 = {view.plan.budget / budget - 1:+.1e}; "
                  f"national - sum over geos {gap:.1e}; gain vs current mix "
                  f"{(view.plan.total_value.mean() / view.current.total_value.mean() - 1):+.1%}")


if __name__ == "__main__":
    main()
