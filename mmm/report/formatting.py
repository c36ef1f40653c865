"""Number formats, embedded figures and the template environment shared by every page the package writes
(run report, plan, comparison, backtest)."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from matplotlib.figure import Figure

from mmm.report import plots
from mmm.report.provenance import MISSING, is_number as _is_number

TEMPLATE_DIR = Path(__file__).parent / "templates"


def png_data(fig: Figure) -> str:
    buffer = io.BytesIO()
    # no Software/date metadata: the same run folder renders to the same bytes
    fig.savefig(buffer, format="png", dpi=plots.DPI, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def format_amount(value: Any) -> str:
    """Money or KPI amounts: thousands separators, decimals only for small amounts."""
    if not _is_number(value):
        return MISSING
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def format_ratio(value: Any) -> str:
    return f"{value:,.2f}" if _is_number(value) else MISSING


def format_share(value: Any, digits: int = 0) -> str:
    return f"{value * 100:.{digits}f}%" if _is_number(value) else MISSING


def format_with_interval(stats: Any, fmt) -> str:
    """``{"mean": 2.3, "lo": 1.8, "hi": 2.9}`` -> ``"2.30 (1.80 to 2.90)"``."""
    if not isinstance(stats, Mapping):
        return MISSING
    point = fmt(stats.get("mean"))
    if _is_number(stats.get("lo")) and _is_number(stats.get("hi")):
        return f"{point} ({fmt(stats['lo'])} to {fmt(stats['hi'])})"
    return point


def template_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a wiring error fails loudly, not as a blank cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
