"""Which periods a fit reads and how it reads the config for them: the holdout, the window, the data's
frequency and the scaling constants. Prior checks use the same functions, so they show what a fit will use."""

from __future__ import annotations

from dataclasses import replace

from mmm.data.load import MMMData
from mmm.data.panel import Panel
from mmm.data.panel_design import PanelScaling
from mmm.spec.config import Config, ConfigError


def as_fitted(config: Config, panel: Panel) -> tuple[Config, int]:
    """``config`` as a fit of ``panel`` reads it, and the periods that enter the likelihood: the carry-over
    no config wrote in the data's periods (:meth:`Config.for_frequency`), and with a holdout and no written
    window end, a window that ends at the last fitted period (the figures describe the fitted periods; the
    holdout only tests the fit). Prior checks use it too, so they show the priors a fit will use."""
    config = config.for_frequency(panel.freq)
    n_train = training_periods(config, panel.national())
    if n_train < panel.n_periods and config.window[1] is None:
        config = replace(config, window=(config.window[0], panel.dates[n_train - 1].date().isoformat()))
    return config, n_train


def fitted_scaling(panel: Panel, n_train: int) -> PanelScaling:
    """The scaling constants of a fit: from the periods that enter the likelihood (not the holdout)."""
    return PanelScaling.compute(panel.slice(panel.dates[n_train - 1]))


def training_periods(config: Config, data: MMMData) -> int:
    """Periods that enter the likelihood: all but ``holdout.periods`` final ones."""
    n_train = data.n_periods - config.holdout_periods
    minimum = 26 if data.freq == "W" else 90
    if config.holdout_periods and n_train < minimum:
        raise ConfigError(f"{config.source}: holdout.periods={config.holdout_periods} leaves {n_train} periods to fit; "
                          f"keep at least {minimum} (shorten the holdout)")
    return n_train
