"""Which data column plays which role: what a spec names and the loader reads."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChannelColumns:
    """The columns of one media channel.

    Attributes
    ----------
    spend
        Spend per period, in currency.
    exposure
        Optional impressions, clicks or GRPs per period (the reach of a reach-and-frequency channel).
    frequency
        Average frequency per period of a reach-and-frequency channel.
    """

    spend: str
    exposure: str | None = None
    frequency: str | None = None  # reach-and-frequency channels: average frequency; ``exposure`` is the reach


@dataclass(frozen=True)
class DataRoles:
    """Which column plays which role.

    Attributes
    ----------
    date
        Period start (or end) date; daily or weekly, any weekday anchor.
    kpi
        The outcome (revenue, or a count such as conversions).
    channels
        Channel name -> its columns, in the user's order (the order of every output).
    controls
        Non-media drivers (price, promotions, events), centred and scaled for the model.
    geo
        Region column of a panel with one row per (geo, date); None for national data.
    organic
        Organic channel name -> its exposure column (media without spend), in the user's order.
    """

    date: str
    kpi: str
    channels: dict[str, ChannelColumns]
    controls: tuple[str, ...] = ()
    geo: str | None = None
    organic: dict[str, str] = field(default_factory=dict)
