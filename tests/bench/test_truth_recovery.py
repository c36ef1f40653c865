"""The truth suite's representative case, fitted as a new user would (default config: candidate shapes
stacked), scored against the truth and against the prior-only figures of the same case.

The whole suite (14 worlds x 3 seeds) runs in bench/truth_suite.py, with its table in bench/results/ and
docs/truth-suite.md; this test keeps one world in CI: ``delayed_peak`` (effects peaking 2-4 weeks after the
spend, Hill curves of the data generator's own code, a price control, 156 weeks x 4 channels), seed 0.
Measured with 4 x (500 + 500): gate passed; 4 of 4 channels covered; the posterior medians' errors
are about 0.4x the prior medians' and the intervals about half the prior's width.
"""

from __future__ import annotations

import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.truth.scenarios import make  # noqa: E402
from bench.truth_suite import case_config, score_case  # noqa: E402


@pytest.mark.slow
@pytest.mark.candidates
def test_a_world_unlike_the_model_is_recovered_better_than_the_prior_says(tmp_path):
    from mmm import Config
    from mmm.analysis.pipeline import fit

    case = make("delayed_peak", 0)
    args = Namespace(draws=500, tune=500, chains=4, candidates="auto", model=None)
    config = Config.load(case_config(case, tmp_path, args))
    fitted = fit(config)
    table = score_case(case, fitted, fitted.prior_effects(), config.interval)
    print("\n" + table[["channel", "truth", "mean", "lo", "hi", "covered", "rel_error", "prior_median",
                        "prior_rel_error", "width_vs_prior"]].to_string(index=False))
    print("weights:", dict(zip([c.label for c in fitted.structure.candidates], fitted.structure.weights.round(2))))
    assert fitted.diagnostics.ok, fitted.diagnostics.problems  # the package's own gate
    assert table["covered"].sum() >= 3
    # coverage alone is met by a vague prior: the fit must be closer and narrower than the prior alone
    assert np.median(table["rel_error"]) <= 0.6 * np.median(table["prior_rel_error"])
    assert np.median(table["width_vs_prior"]) <= 0.8
