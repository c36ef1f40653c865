"""``mmm design-test`` against the truth: does the test it ranks first teach more than the one it ranks last,
and is its expected interval after the test the one a refit with the result gives?

Per seed: synthetic data (104 weeks, 3 channels; the truth from the generator's own loops), a fit, the ranked
national candidate tests (2 and 8 periods), then for the first- and last-ranked test: its result simulated
from the *true* lift plus readout noise (the test's own standard error), and a refit with that result as an
``experiments:`` entry. Printed per seed: each test's channel, the channel's ROAS error before and after the
refit (and the reduction) -- of the posterior mean, and the posterior's expected error E|ROAS - truth| -- the expected 90% ROAS width after the test against the refit's width. Acceptance
(issue 17): the first-ranked test reduces its channel's error more than the last-ranked on at least 4 of 5
seeds, and its expected width is within 25% of the refit's.

Two kinds of world (``--worlds``):

- ``drawn`` (default): each seed draws its own truth, fixed before any run was made: per channel (tv, search,
  social, with their built-in spend patterns) a true ROAS log-uniform on [0.5, 6], geometric carry-over with
  alpha uniform on [0.1, 0.7], and a *Hill* curve (half-saturation log-uniform on [0.5, 2] times the mean
  spend, slope uniform on [0.8, 2.5]) while the model fits its logistic curve: five worlds, misspecified on
  purpose.
- ``builtin``: the generator's built-in channels, the same truth on every seed (search's ROAS 4.0 on a
  logistic curve the model shares), only the noise and spend paths differ: one world, five noise draws.

    python bench/design_test_truth.py [--seeds 0 1 2 3 4] [--worlds drawn|builtin] [--out bench/results/NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mmm.analysis.experiment_design import Candidate, lift_draws
from mmm.api import fit
from mmm.data.synth import BUILTIN_CHANNELS, ChannelTruth, SynthSpec, generate
from mmm.data.synth_truth import true_figures
from mmm.runs.experiment_choice import design_tests
from mmm.spec.config import Config

FIT = {"draws": 1000, "tune": 1000, "chains": 2, "seed": 1}
WEEKS = [2, 8]
READOUTS = 2000


def drawn_world(seed: int) -> SynthSpec:
    """A truth of this seed's own (see the module's docstring); the model is told logistic curves."""
    rng = np.random.default_rng(10_000 + seed)
    channels = []
    for name in ("tv", "search", "social"):
        pattern, level = BUILTIN_CHANNELS[name][:2]
        channels.append(ChannelTruth(
            name, pattern=pattern, level=level, target_roas=float(np.exp(rng.uniform(np.log(0.5), np.log(6.0)))),
            adstock="geometric", adstock_params={"alpha": float(rng.uniform(0.1, 0.7))}, saturation="hill",
            saturation_params={"half_saturation": float(np.exp(rng.uniform(np.log(0.5), np.log(2.0)))),
                               "slope": float(rng.uniform(0.8, 2.5))}))
    return SynthSpec(seed=seed, n_periods=104, channels=channels)


def one_seed(seed: int, folder: Path, worlds: str = "drawn") -> dict:
    spec = drawn_world(seed) if worlds == "drawn" else SynthSpec(seed=seed, n_periods=104, n_channels=3)
    result = generate(spec)
    data = result.data.assign(date=result.data["date"].dt.strftime("%Y-%m-%d"))
    data.to_csv(folder / "data.csv", index=False)
    channels = {name: {**ch, "saturation": "logistic"} for name, ch in result.config["channels"].items()}
    raw = {**result.config, "data": {**result.config["data"], "path": "data.csv"}, "fit": FIT, "channels": channels,
           "model": {**(result.config.get("model") or {}), "candidates": "none"}}
    fitted = fit(Config.from_dict(raw, base_dir=folder))
    run = fitted.save(folder / "run", report=False)
    ranked = design_tests(run, weeks=WEEKS, seed=seed).table
    truth = result.truth["figures"]
    rng = np.random.default_rng(1000 + seed)
    out = {"seed": seed, "worlds": worlds, "gate": bool(fitted.fit.diagnostics.ok), "tests": [],
           "true_roas": {c: truth[c]["roas"] for c in fitted.effects.channels}}
    for position in (0, len(ranked) - 1):
        row = ranked.iloc[position]
        channel = row["channel"]
        true_lift = true_figures(result.data, result.truth, window=(row["start"], row["end"]))[channel]["incremental_kpi"]
        observed = float(true_lift + row["se"] * rng.standard_normal())
        experiment = {"channel": channel, "start": row["start"], "end": row["end"], "incremental_kpi": observed,
                      "se": float(row["se"]), "name": "simulated"}
        refit = fit(Config.from_dict({**raw, "experiments": [experiment]}, base_dir=folder))
        k = fitted.effects.channels.index(channel)
        # the same update on the run's draws, for this result: what the analysis predicts the refit gives
        test = Candidate(channel, int(row["weeks"]), None if pd.isna(row["geo"]) else row["geo"])
        lift = lift_draws(fitted.fit.idata["posterior"].to_dataset(), fitted.config, fitted.data, fitted.scaling,
                          [test])[:, 0]
        predicted = conditional_width(lift, fitted.effects.roas[:, k], observed, float(row["se"]))
        before, after = fitted.effects.roas[:, k], refit.effects.roas[:, k]
        predicted_mean = float(weighted(lift, before, np.array([observed]), float(row["se"]))[0])
        # many readouts of the same test (the update on the draws stands in for a refit of each): how often, and by
        # how much, the point figure's error falls
        readouts = true_lift + float(row["se"]) * rng.standard_normal(READOUTS)
        point_errors = np.abs(weighted(lift, before, readouts, float(row["se"])) - truth[channel]["roas"])
        lo, hi = np.quantile(after, [0.05, 0.95])
        true_roas = truth[channel]["roas"]
        error_before = abs(before.mean() - true_roas) / true_roas  # the point figure's error
        error_after = abs(after.mean() - true_roas) / true_roas
        expected_before = np.abs(before - true_roas).mean() / true_roas  # the posterior's: E|ROAS - truth|
        expected_after = np.abs(after - true_roas).mean() / true_roas
        out["tests"].append({
            "rank": int(row["rank"]), "channel": channel, "weeks": int(row["weeks"]), "se": float(row["se"]),
            "true_roas": truth[channel]["roas"], "true_lift": true_lift, "observed": observed,
            "error_before": error_before, "error_after": error_after, "reduction": error_before - error_after,
            "expected_error_before": expected_before, "expected_error_after": expected_after,
            "expected_reduction": expected_before - expected_after,
            "expected_width_after": float(row["width_after"]), "width_now": float(row["width_now"]),
            "predicted_width_for_result": predicted, "predicted_mean_for_result": predicted_mean,
            "refit_mean": float(after.mean()), "expected_rank_error_reduction": float(row["error_reduction"]),
            "readout_reductions": np.round((abs(before.mean() - truth[channel]["roas"]) - point_errors)
                                           / truth[channel]["roas"], 4).tolist(),
            "refit_width": float(hi - lo), "refit_gate": bool(refit.fit.diagnostics.ok)})
    return out


def weighted(lift: np.ndarray, roas: np.ndarray, readouts: np.ndarray, se: float) -> np.ndarray:
    """(R,) the posterior mean of ``roas`` after each readout: the draws weighted by Normal(readout | lift, se)."""
    log_w = -0.5 * ((readouts[:, None] - lift[None, :]) / se) ** 2
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    return (w @ roas) / w.sum(axis=1)


def conditional_width(lift: np.ndarray, roas: np.ndarray, observed: float, se: float) -> float:
    """The 90% width of ``roas`` after a test read ``observed``: the draws weighted by Normal(observed | lift, se)."""
    log_w = -0.5 * ((observed - lift) / se) ** 2
    w = np.exp(log_w - log_w.max())
    order = np.argsort(roas)
    cumulative = np.cumsum(w[order]) / w.sum()
    return float(roas[order][np.searchsorted(cumulative, 0.95)] - roas[order][np.searchsorted(cumulative, 0.05)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--worlds", choices=("drawn", "builtin"), default="drawn")
    parser.add_argument("--out", type=Path, help="write OUT.json (raw figures) and OUT.log (this output)")
    args = parser.parse_args(argv)
    lines, seeds = [], []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    t0 = time.perf_counter()
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            r = one_seed(seed, Path(tmp), args.worlds)
        seeds.append(r)
        first, last = r["tests"]
        a, b = np.array(first["readout_reductions"]), np.array(last["readout_reductions"])
        r["p_first_beats_last"] = float((a[:, None] > b[None, :]).mean())
        truths = ", ".join(f"{c} {v:.2f}" for c, v in r["true_roas"].items())
        say(f"seed {seed} ({args.worlds} world: true ROAS {truths}; gate {'ok' if r['gate'] else 'FAIL'}): over {READOUTS} readouts of each test, the "
            f"first-ranked cuts the point error by {a.mean():+.1%} on average, the last-ranked by {b.mean():+.1%}; "
            f"P(first cuts more) {r['p_first_beats_last']:.2f}")
        for t in (first, last):
            say(f"  rank {t['rank']}: {t['channel']} {t['weeks']} periods, se {t['se']:,.0f}: ROAS error of the mean "
                f"{t['error_before']:.1%} -> {t['error_after']:.1%} (reduction {t['reduction']:+.1%}), expected "
                f"error E|ROAS - truth| {t['expected_error_before']:.1%} -> {t['expected_error_after']:.1%} "
                f"(reduction {t['expected_reduction']:+.1%}); 90% width "
                f"{t['width_now']:.2f} -> expected {t['expected_width_after']:.2f}, for this result "
                f"{t['predicted_width_for_result']:.2f}, refit {t['refit_width']:.2f} (ratios "
                f"{t['expected_width_after'] / t['refit_width']:.2f}, "
                f"{t['predicted_width_for_result'] / t['refit_width']:.2f}; refit gate "
                f"{'ok' if t['refit_gate'] else 'FAIL'}); mean for this result {t['predicted_mean_for_result']:.2f}, "
                f"refit {t['refit_mean']:.2f}; the ranking's expected point-error cut "
                f"{t['expected_rank_error_reduction']:+.1%}")
    wins = sum(r["tests"][0]["reduction"] > r["tests"][1]["reduction"] for r in seeds)
    expected_wins = sum(r["tests"][0]["expected_reduction"] > r["tests"][1]["expected_reduction"] for r in seeds)
    ratios = [r["tests"][0]["expected_width_after"] / r["tests"][0]["refit_width"] for r in seeds]
    say(f"first-ranked reduces its channel's ROAS error more than last-ranked: {wins} of {len(seeds)} seeds on "
        f"the posterior mean's error, {expected_wins} of {len(seeds)} on the posterior's expected error")
    say(f"first-ranked expected width / refit width: {', '.join(f'{x:.2f}' for x in ratios)} "
        f"(within 25%: {sum(abs(x - 1) <= 0.25 for x in ratios)} of {len(ratios)})")
    chances = [r["p_first_beats_last"] for r in seeds]
    say(f"P(first-ranked cuts the point error more than last-ranked), per seed: "
        f"{', '.join(f'{x:.2f}' for x in chances)}; expected number of seeds of {len(seeds)} where it does: "
        f"{sum(chances):.1f}")
    conditional = [t["predicted_width_for_result"] / t["refit_width"] for r in seeds for t in r["tests"]]
    say(f"every test's width predicted for its result / refit width: {', '.join(f'{x:.2f}' for x in conditional)} "
        f"(within 25%: {sum(abs(x - 1) <= 0.25 for x in conditional)} of {len(conditional)})")
    say(f"wall time {time.perf_counter() - t0:.0f} s")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(seeds, separators=(",", ":")) + "\n")
        args.out.with_suffix(".log").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
