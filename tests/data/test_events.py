"""Event indicators on the data's calendar, organic columns through loading and scaling, and what is refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmm.analysis.pipeline import load
from mmm.data.events import event_matrix
from mmm.data.load import DataError, scale
from mmm.data.panel_design import PanelScaling
from mmm.data.synth import SynthSpec, generate
from mmm.data.synth_drivers import _period_of
from mmm.spec.config import Config
from mmm.spec.events import EventSpec


@pytest.mark.parametrize("freq", ["W-MON", "W-SUN", "D"])
def test_each_date_lands_in_the_period_that_holds_it(freq):
    dates = pd.date_range("2022-01-03" if freq != "W-SUN" else "2022-01-02", periods=120, freq=freq)
    days = pd.date_range(dates[0] - pd.Timedelta(days=20), dates[-1] + pd.Timedelta(days=20), freq="5D")
    event = EventSpec(name="e", dates=tuple(f"{d:%Y-%m-%d}" for d in days), before=1, after=2)
    matrix = event_matrix(dates, [event])
    assert matrix.shape == (120, 4)
    expected = np.zeros((120, 4))
    step = dates[1] - dates[0]
    for day in days:
        # a date before the data still reaches into it through its window (independent of the package's rule)
        t = _period_of(dates, day) if dates[0] <= day < dates[-1] + step else \
            int(np.floor((day - dates[0]) / step))
        for j, offset in enumerate(event.offsets):
            if 0 <= t + offset < 120:
                expected[t + offset, j] = 1.0
    np.testing.assert_array_equal(matrix, expected)


def test_an_event_limited_to_some_geos_is_zero_elsewhere():
    dates = pd.date_range("2023-01-02", periods=10, freq="W-MON")
    events = [EventSpec("north_only", ("2023-01-18",), geos=("north",)), EventSpec("all", ("2023-02-01",))]
    assert event_matrix(dates, events, "north")[:, 0].sum() == 1
    assert event_matrix(dates, events, "south")[:, 0].sum() == 0
    assert event_matrix(dates, events, "south")[:, 1].sum() == 1
    assert event_matrix(dates, events, None)[2, 0] == 1  # national data: every event


def _organic_case():
    result = generate(SynthSpec(seed=1, n_periods=60, n_channels=2, organic=True))
    return result, Config.from_dict({**result.config, "data": {**result.config["data"], "min_periods": 26}})


def test_organic_exposure_is_scaled_by_its_mean_and_stored():
    result, config = _organic_case()
    panel = load(config, result.data)
    scaling = PanelScaling.compute(panel)
    sends = result.data["newsletter_sends"].to_numpy()
    assert scaling.organic["newsletter"][0] == pytest.approx(sends.mean())
    assert PanelScaling.from_dict(scaling.to_dict()).organic["newsletter"][0] == pytest.approx(sends.mean())
    np.testing.assert_allclose(scale(panel.geo(0), scaling.geo(0))["organic"][:, 0], sends / sends.mean())


def test_bad_organic_data_is_refused_with_the_column_and_date():
    result, config = _organic_case()
    data = result.data.copy()
    data.loc[5, "newsletter_sends"] = -3
    with pytest.raises(DataError) as err:
        load(config, data)
    assert "newsletter_sends" in str(err.value) and f"{data.loc[5, 'date']:%Y-%m-%d}" in str(err.value)
    silent = result.data.assign(newsletter_sends=0.0)
    with pytest.raises(DataError, match="organic channel 'newsletter' has no exposure"):
        PanelScaling.compute(load(config, silent))
    scaling = PanelScaling.compute(load(config, result.data))
    plain = Config.from_dict({k: v for k, v in result.config.items() if k != "organic"})
    with pytest.raises(DataError, match="no constant for organic"):  # a refresh that adds an organic channel
        bare = PanelScaling.compute(load(plain, result.data))
        scale(load(config, result.data).geo(0), bare.geo(0))
    assert scaling.organic
