"""Before fitting, the data's scale is checked against the media priors (mmm.analysis.scale_check)."""

from __future__ import annotations

import numpy as np
import pytest

from mmm.analysis.pipeline import load
from mmm.analysis.scale_check import regression_roas, scale_check
from mmm.data.synth import ChannelTruth, SynthSpec, generate
from mmm.model.roas_prior import window_mask
from mmm.spec.config import Config


@pytest.fixture(scope="module")
def synth():
    return generate(SynthSpec(seed=3, n_periods=156, controls=False, channels=[
        ChannelTruth("tv", pattern="flighted", level=50_000, target_roas=2.0),
        ChannelTruth("search", pattern="flighted", level=30_000, target_roas=1.0)]))


def check(synth, frame=None, **model):
    config = Config.from_dict({**synth.config, "model": model})
    return config, scale_check(config, load(config, synth.data if frame is None else frame))


def test_typical_data_with_the_default_prior_raise_nothing(synth):
    _, result = check(synth)
    assert result.notes == []
    median, lo, hi = result.prior_share
    # every channel at the auto median brings 15% in all; the sum of skewed priors has a higher median
    assert 0.15 < median < 0.25
    assert lo < median < hi


def test_priors_that_leave_media_almost_nothing_are_named(synth):
    _, result = check(synth, media_roas_scale=0.02)  # a business-units median far below these data's ROAS
    assert result.prior_share[0] < 0.02
    assert any("paid media bring" in n and "model.media_roas_scale" in n for n in result.notes)
    # the regression sees the channels' real size, far above what the prior allows
    assert any(n.startswith("tv: a simple regression") for n in result.notes)


def test_spend_in_other_units_is_named_under_the_auto_median(synth):
    frame = synth.data.copy()
    for column in ("tv_spend", "search_spend"):  # spend scaled to 0..1, as in PyMC-Marketing's example
        frame[column] = frame[column] / frame[column].max()
    _, result = check(synth, frame)
    assert any("unusual for money spent on media" in n and "units" in n for n in result.notes)


def test_the_regression_finds_roas_of_linear_additive_data(synth):
    """A linear world without saturation or carry-over beyond the check's own: the check's ROAS is the truth."""
    rng = np.random.default_rng(0)
    frame = synth.data.copy()
    tv, search = frame["tv_spend"].to_numpy(), frame["search_spend"].to_numpy()

    def carried(x):
        out = np.zeros_like(x)
        for t in range(len(x)):
            out[t] = 0.5 * x[t] + (0.5 * out[t - 1] if t else 0.0)
        return out

    frame["revenue"] = 800_000 + 2.0 * carried(tv) + 1.0 * carried(search) + rng.normal(0, 1_000, len(frame))
    config = Config.from_dict(synth.config)
    national = load(config, frame).national()
    inside = window_mask(config, national.dates)[:national.n_periods]
    found = regression_roas(config, national, inside)
    carried_share = {c: carried(frame[f"{c}_spend"].to_numpy()).sum() / frame[f"{c}_spend"].sum()
                     for c in ("tv", "search")}
    assert found["tv"] == pytest.approx(2.0 * carried_share["tv"], rel=0.03)
    assert found["search"] == pytest.approx(1.0 * carried_share["search"], rel=0.05)


def test_validate_prints_the_warnings(synth, tmp_path, capsys):
    import yaml

    from mmm.cli.main import main

    synth.data.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({**synth.config, "model": {"media_roas_scale": 0.02}}))
    assert main(["validate", str(tmp_path / "config.yaml")]) == 0
    assert "warning: the media priors imply that paid media bring" in capsys.readouterr().out


def test_with_a_holdout_the_check_uses_the_prior_the_fit_will_use(synth):
    """The auto median is worked out over the fitted periods, as a fit works it out, not over the holdout."""
    from mmm.analysis.fitted_periods import as_fitted
    from mmm.data.panel_design import PanelScaling, build_panel_design
    from mmm.model.roas_prior import resolve_media_scale

    config = Config.from_dict({**synth.config, "holdout": {"periods": 52}})
    panel = load(config, synth.data)
    fitted, n_train = as_fitted(config, panel)
    assert n_train == 104 and fitted.window[1] == str(panel.dates[103].date())

    def median(c):
        return resolve_media_scale(c, build_panel_design(panel, PanelScaling.compute(panel), c.design)).model.roas_median

    p1 = scale_check(config, panel).prior_range["tv"][0]  # the LogNormal's 1% point: median x exp(-2.326 sigma)
    assert p1 == pytest.approx(median(fitted) * np.exp(-2.3263 * fitted.model.media_roas_sigma), rel=1e-3)
    assert abs(median(fitted) / median(config) - 1) > 0.01  # the whole file's median would differ
