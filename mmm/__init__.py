"""mmm: Bayesian marketing mix modeling that marketing and finance can co-own.

    from mmm import load_config, fit
    result = fit(load_config("data/robyn_weekly/config.yaml"))
    result.roi_table()
"""

__version__ = "0.1.0"

from mmm.spec.config import Config, ConfigError  # noqa: E402
from mmm.data.load import DataError  # noqa: E402
from mmm.api import FittedMMM, fit, load, load_config, load_run, refresh  # noqa: E402

__all__ = ["Config", "ConfigError", "DataError", "FittedMMM", "fit", "load", "load_config", "load_run", "refresh"]
