"""This package vs PyMC-Marketing's MMM on the same synthetic national dataset.

Both fit ``mmm.data.synth`` data (156 weeks x 4 channels, geometric adstock + logistic
saturation in the truth) with the same chains, draws and tune, nutpie for both,
in one run. PyMC-Marketing uses its defaults (GeometricAdstock(l_max=8) +
LogisticSaturation, yearly seasonality of order 2, its default priors), with
the synthetic controls plus a time index as control columns (its quickstart's
way to give it a trend). Prints wall time (fit call), ESS/s of the ROAS
figures, ROAS error against the truth, and the ratios.

ROAS for PyMC-Marketing: channel contribution in original units summed over the
data, per draw, divided by spend. It does not extend past the last date, so the
truth's carry-over tail after the data (up to 7 weeks) is missing from it; the
script reports that tail's share of the true return so the comparison stays fair.

Needs the optional extra ``bench`` (pip install 'mmm[bench]', which installs
pymc-marketing). PyMC-Marketing 1.3 pins pymc<6.4, so run it in its own venv if
your main one has pymc 6.4.

    python bench/vs_pymc_marketing.py --draws 1000 --tune 1000 --chains 4
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def ess_per_s(roas: np.ndarray, chains: int, seconds: float) -> float:
    import arviz_stats as azs
    import xarray as xr

    draws = roas.reshape(chains, -1, roas.shape[-1])
    ess = azs.ess(xr.Dataset({"roas": (("chain", "draw", "channel"), draws)}), method="bulk")["roas"].values
    return float(ess.min()) / seconds


def fit_mmm(result, args) -> dict:
    from mmm.spec.config import Config
    from mmm.api import fit

    config = Config.from_dict({**result.config, "fit": {"draws": args.draws, "tune": args.tune,
                                                        "chains": args.chains, "seed": args.seed}})
    t0 = time.perf_counter()
    fitted = fit(config, result.data)
    wall = time.perf_counter() - t0
    roas = fitted.effects.roas
    return {"wall_s": wall, "sampling_s": fitted.fit.timings["sampling_s"], "channels": fitted.effects.channels,
            "roas": roas, "ess_per_s": ess_per_s(roas, args.chains, wall)}


def fit_pymc_marketing(result, args) -> dict:
    from pymc_marketing.mmm import MMM, GeometricAdstock, LogisticSaturation

    data = result.data.copy()
    data["date"] = np.asarray(data["date"], dtype="datetime64[ns]")
    data["t"] = np.arange(len(data), dtype=float)
    channels = list(result.config["channels"])
    spend_columns = [result.config["channels"][c]["spend"] for c in channels]
    controls = list(result.config["controls"]) + ["t"]
    model = MMM(adstock=GeometricAdstock(l_max=8), saturation=LogisticSaturation(), date_column="date",
                channel_columns=spend_columns, control_columns=controls, yearly_seasonality=2)
    x = data[["date", *spend_columns, *controls]]
    y = data[result.config["data"]["kpi"]].rename("y")
    t0 = time.perf_counter()
    model.build_model(x, y)
    model.add_original_scale_contribution_variable(var=["channel_contribution"])
    model.fit(x, y, chains=args.chains, draws=args.draws, tune=args.tune, nuts_sampler="nutpie",
              random_seed=args.seed, progressbar=False)
    wall = time.perf_counter() - t0
    contribution = model.idata["posterior"]["channel_contribution_original_scale"]  # (chain, draw, date, channel)
    per_draw = contribution.sum("date").stack(sample=("chain", "draw")).transpose("sample", ...).values
    roas = per_draw / data[spend_columns].sum().to_numpy()[None, :]
    return {"wall_s": wall, "channels": channels, "roas": roas, "ess_per_s": ess_per_s(roas, args.chains, wall)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--periods", type=int, default=156)
    parser.add_argument("--channels", type=int, default=4)
    args = parser.parse_args()
    try:
        import pymc_marketing  # noqa: F401
    except ImportError:
        raise SystemExit("pymc-marketing is not installed: pip install 'mmm[bench]' (in a venv with pymc<6.4)")
    from mmm.data.synth import SynthSpec, generate

    result = generate(SynthSpec(seed=args.seed, n_periods=args.periods, n_channels=args.channels))
    truth = result.truth["figures"]
    rows = {}
    for name, run in (("mmm", fit_mmm), ("pymc-marketing", fit_pymc_marketing)):
        out = run(result, args)
        true = np.array([truth[c]["roas"] for c in out["channels"]])
        inside = np.array([truth[c]["in_window_share"] for c in out["channels"]])
        mean = out["roas"].mean(axis=0)
        lo, hi = np.quantile(out["roas"], [0.05, 0.95], axis=0)
        rows[name] = {"wall_s": round(out["wall_s"], 1), "min_roas_ess_per_s": round(out["ess_per_s"], 2),
                      "roas_mape_vs_truth": round(float(np.mean(np.abs(mean / true - 1))), 3),
                      "roas_mape_vs_truth_inside_data": round(float(np.mean(np.abs(mean / (true * inside) - 1))), 3),
                      "roas_90pct_covered": f"{int(((lo <= true) & (true <= hi)).sum())}/{len(true)}",
                      "roas_mean": dict(zip(out["channels"], np.round(mean, 3).tolist())),
                      "roas_true": dict(zip(out["channels"], np.round(true, 3).tolist()))}
        print(json.dumps({name: rows[name]}), flush=True)
    a, b = rows["mmm"], rows["pymc-marketing"]
    print(json.dumps({"ratios": {
        "wall_s_pymc_marketing_over_mmm": round(b["wall_s"] / a["wall_s"], 2),
        "roas_ess_per_s_mmm_over_pymc_marketing": round(a["min_roas_ess_per_s"] / max(b["min_roas_ess_per_s"], 1e-9), 2)}}))


if __name__ == "__main__":
    main()
