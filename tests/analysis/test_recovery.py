"""Parameter recovery: on synthetic data with known truth, ROAS intervals cover the truth.

156 weeks x 4 channels, noise like real data (6% of mean KPI), media ~20% of
KPI, one always-on, one flighted, one pulsed and one seasonality-correlated
channel. Each seed must pass the package's convergence gate, cover the true ROAS
with its 90% interval for at least 3 of 4 channels, and beat the prior-only
intervals on a proper interval score. The test prints every figure, the prior's
beside it, and the ROAS point-estimate MAPE (measured 25-37%, no better than the
prior means' 30-41% on two seeds; the flighted tv channel's interval misses the
truth low on two of three seeds: the work of the model issues that follow).
"""

from __future__ import annotations

import numpy as np
import pytest

from mmm.spec.config import Config
from mmm.api import fit
from mmm.data.synth import SynthSpec, generate

SEEDS = (0, 1, 2)


ALPHA = 0.1  # 90% intervals


def interval_score(lo: float, hi: float, true: float) -> float:
    """Gneiting & Raftery's interval score: the width, plus 2/alpha times any miss (lower is better).

    A proper score: a vague interval pays its width, a narrow one that misses pays for the miss.
    """
    return (hi - lo) + 2 / ALPHA * (max(lo - true, 0.0) + max(true - hi, 0.0))


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_roas_intervals_cover_the_truth(seed):
    result = generate(SynthSpec(seed=seed, n_periods=156, n_channels=4))
    # target_accept 0.95: under the heavy-tailed default ROAS prior seed 2 left 1 divergence at 0.9
    config = Config.from_dict({**result.config, "fit": {"draws": 500, "tune": 500, "chains": 4, "seed": seed,
                                                        "target_accept": 0.95}})
    fitted = fit(config, result.data)
    prior = fitted._prior_figures(2000)  # the same figures from the priors alone: what a vague fit would show
    truth = result.truth["figures"]
    covered, errors, scores, prior_scores = [], [], [], []
    print(f"\nseed {seed}: diagnostics ok={fitted.diagnostics.ok} {fitted.diagnostics.problems}")
    for k, channel in enumerate(fitted.effects.channels):
        draws, prior_draws = fitted.effects.roas[:, k], prior.roas[:, k]
        lo, hi = np.quantile(draws, [ALPHA / 2, 1 - ALPHA / 2])
        prior_lo, prior_hi = np.quantile(prior_draws, [ALPHA / 2, 1 - ALPHA / 2])
        true = truth[channel]["roas"]
        covered.append(lo <= true <= hi)
        errors.append(abs(draws.mean() / true - 1))
        scores.append(interval_score(lo, hi, true))
        prior_scores.append(interval_score(prior_lo, prior_hi, true))
        print(f"  {channel:8s} true ROAS {true:5.2f}  posterior mean {draws.mean():5.2f}  90% [{lo:5.2f}, {hi:5.2f}]"
              f"  {'covered' if covered[-1] else 'MISSED'}; prior 90% [{prior_lo:5.2f}, {prior_hi:5.2f}];"
              f" interval score {scores[-1]:5.2f} vs prior {prior_scores[-1]:5.2f}")
    ratio = sum(scores) / sum(prior_scores)
    print(f"  ROAS MAPE of posterior means: {np.mean(errors):.1%}; interval score / prior's: {ratio:.2f}")
    assert fitted.diagnostics.ok, fitted.diagnostics.problems  # the package's own gate (R-hat <= 1.01, ESS, divergences)
    assert sum(covered) >= 3, f"seed {seed}: only {sum(covered)} of 4 channels covered"
    # coverage alone is met by a vague prior: the intervals must beat the prior's on a proper score
    # (measured 0.57-0.70 over the seeds), and the point estimates must not be far off
    assert ratio < 0.8, f"seed {seed}: intervals score {ratio:.2f} of the prior's"
    assert np.mean(errors) < 0.45, f"seed {seed}: ROAS MAPE {np.mean(errors):.0%}"
