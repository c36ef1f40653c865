"""The prior predictive check as a figure and as files (:mod:`mmm.analysis.prior_check` computes it)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mmm.analysis.prior_check import PriorCheck
from mmm.atomic import write_atomically, write_text_atomically
from mmm.report.plots import channel_colors, interval_label


def prior_check_figure(check: PriorCheck) -> Figure:
    """The prior ROAS and share of expected KPI per channel, and the expected KPI under the priors
    against the observed KPI."""
    e = check.effects
    colors = channel_colors(e.channels)
    fig = Figure(figsize=(11, 7.5), dpi=100, layout="constrained")
    grid = fig.add_gridspec(2, 2)
    label = interval_label(e.interval)
    for ax, metric, title in ((fig.add_subplot(grid[0, 0]), "roas", "Prior ROAS (value per unit spent)"),
                              (fig.add_subplot(grid[0, 1]), "contribution_share",
                               "Prior share of expected KPI")):
        rows = check.table[check.table["channel"].isin(e.channels)]
        y = np.arange(len(rows))[::-1]
        med, lo, hi = (rows[f"{metric}_{s}"].to_numpy() for s in ("median", "lo", "hi"))
        ax.hlines(y, lo, hi, colors=[colors[c] for c in rows["channel"]], linewidth=6, alpha=0.6)
        ax.plot(med, y, "o", color="black", markersize=4)
        ax.set_yticks(y, rows["channel"])
        ax.set_xscale("log" if metric == "roas" else "linear")
        ax.set_title(f"{title}: median and {label}")
        if metric == "roas":
            ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    ax = fig.add_subplot(grid[1, :])
    ax.fill_between(check.kpi["date"], check.kpi["prior_lo"], check.kpi["prior_hi"], color="#0072B2", alpha=0.25,
                    label=f"expected KPI under the priors ({label})")
    ax.plot(check.kpi["date"], check.kpi["prior_median"], color="#0072B2", linewidth=1, label="prior median")
    ax.plot(check.kpi["date"], check.kpi["actual"], color="#222222", linewidth=1, label="observed KPI")
    ax.set_title("Does the prior allow the KPI we actually see?")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def write_prior_check(check: PriorCheck, out_dir: str | Path, *, force: bool = False) -> dict[str, Path]:
    """``prior_check.csv``, ``prior_check_kpi.csv`` and ``prior_check.png`` in ``out_dir`` (atomic), and the
    lift-test and per-geo tables when the check has them."""
    out_dir = Path(out_dir)
    paths = {"table": out_dir / "prior_check.csv", "kpi": out_dir / "prior_check_kpi.csv",
             "plot": out_dir / "prior_check.png"}
    if check.experiments is not None:
        paths["experiments"] = out_dir / "prior_check_experiments.csv"
    if check.by_geo is not None:
        paths["by_geo"] = out_dir / "prior_check_by_geo.csv"
    existing = [p.name for p in paths.values() if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{out_dir}: {', '.join(existing)} already exist(s); choose another --out or "
                              f"pass --force to replace them")
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomically(paths["table"], check.table.to_csv(index=False, lineterminator="\n"))
    write_text_atomically(paths["kpi"], check.kpi.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d"))
    if check.experiments is not None:
        write_text_atomically(paths["experiments"], check.experiments.to_csv(index=False, lineterminator="\n"))
    if check.by_geo is not None:
        write_text_atomically(paths["by_geo"], check.by_geo.to_csv(index=False, lineterminator="\n"))
    buffer = io.BytesIO()
    prior_check_figure(check).savefig(buffer, format="png")
    write_atomically(paths["plot"], lambda handle: handle.write(buffer.getvalue()))
    return paths
