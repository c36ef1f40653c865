"""Quarterly refresh on synthetic data: refit vs update, wall time and agreement with the full-data fit.

Prints, for the default synthetic case split into 130 + 26 weeks: the wall time of the first fit,
of a refit (same scaling) and of an update (previous posterior as prior, 26 weeks in the
likelihood), and per channel the ROAS mean and 90% interval of refit and update with the
ratio of their interval widths. Run: ``python bench/refresh_speed.py [--channels 4] [--chains 4]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mmm.spec.config import Config
from mmm.api import fit
from mmm.api import refresh
from mmm.data.synth import SynthSpec, generate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        result = generate(SynthSpec(n_periods=156, n_channels=args.channels, seed=args.seed))
        result.data.iloc[:130].to_csv(root / "q1.csv", index=False)
        result.data.to_csv(root / "q2.csv", index=False)
        config = Config.from_dict(result.config, base_dir=root).with_fit(draws=args.draws, tune=args.draws,
                                                                         chains=args.chains)
        t0 = time.perf_counter()
        fit(config, root / "q1.csv").save(root / "q1", report=False)
        t1 = time.perf_counter()
        refit = refresh(root / "q1", root / "q2.csv", mode="refit")
        t2 = time.perf_counter()
        update = refresh(root / "q1", root / "q2.csv", mode="update")
        t3 = time.perf_counter()
    print(f"{args.channels} channels, {args.chains} x ({args.draws} + {args.draws}), 130 + 26 weeks")
    print(f"first fit + save: {t1 - t0:.1f} s; refit: {t2 - t1:.1f} s; update: {t3 - t2:.1f} s")
    for name, r in (("refit", refit), ("update", update)):
        d = r.fitted.diagnostics
        print(f"{name:>6} diagnostics: max R-hat {d.max_rhat:.3f}, min ESS {d.min_ess_bulk:.0f}, "
              f"{d.divergences} divergences")
    full, upd = refit.fitted.roi_table().set_index("channel"), update.fitted.roi_table().set_index("channel")
    print(f"{'channel':>8} {'refit ROAS (90%)':>24} {'update ROAS (90%)':>24} {'width ratio':>11}")
    for channel in full.index:
        f, u = full.loc[channel], upd.loc[channel]
        ratio = (u.roas_hi - u.roas_lo) / (f.roas_hi - f.roas_lo)
        print(f"{channel:>8} {f.roas_mean:8.2f} ({f.roas_lo:5.2f}-{f.roas_hi:5.2f})   "
              f"{u.roas_mean:8.2f} ({u.roas_lo:5.2f}-{u.roas_hi:5.2f})   {ratio:11.2f}")


if __name__ == "__main__":
    main()
