"""Candidate specifications: the structural choices a fit is uncertain about, as variants of one config.

Which curve shape, which carry-over shape and how much the baseline may move are themselves uncertain;
a single specification hides that uncertainty in its intervals. ``model.candidates`` names the variants
fitted beside the config as written; :mod:`mmm.analysis.stacking` weighs them out of sample and combines
their figures::

    model:
      candidates: auto            # default: the config, plus one variant per choice below
      candidates: none            # one specification: the config as written
      candidates:                 # or the variants, each changing one or more choices
        - {saturation: hill}
        - {adstock: delayed}
        - {baseline: smooth}
        - {media_effect: time_varying}
        - {saturation: hill, adstock: delayed}

A variant sets every media channel's saturation or adstock (reach-and-frequency channels keep their
frequency curve), dropping priors written for parameters the new transform does not have; ``baseline:
smooth`` adds the smooth moving component, ``baseline: still`` removes it (a panel's shocks stay as
configured); ``media_effect: time_varying`` scales every paid channel's effect by a smooth multiplier
over time (:mod:`mmm.model.media_effect`), ``steady`` removes it. ``auto`` flips each choice to its usual
alternative: logistic ↔ Hill saturation, geometric ↔ delayed adstock, no smooth baseline ↔ smooth, and a
time-varying media effect → steady (the other way is opt-in: list ``{media_effect: time_varying}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mmm.spec.errors import ConfigError
from mmm.spec.sections import MEDIA_EFFECT_PRIORS, MEDIA_EFFECTS
from mmm.spec.transforms import ADSTOCK_SPECS, SATURATION_SPECS

BASELINE_VARIANTS = ("smooth", "still")
VARIANT_KEYS = ("saturation", "adstock", "baseline", "media_effect")


def parse_candidates(raw: Any, source: str) -> str | tuple[Mapping[str, str], ...]:
    """``model.candidates`` checked: "auto", "none", or a tuple of variant mappings."""
    if raw is None or raw == "auto":
        return "auto"
    if raw is False or raw == "none":
        return "none"
    where = f"{source}: model.candidates"
    if isinstance(raw, str) or not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where} must be auto, none, or a list of variants such as [{{saturation: hill}}, "
                          f"{{adstock: delayed}}, {{baseline: smooth}}]; got {raw!r}")
    variants = []
    for i, variant in enumerate(raw):
        if not isinstance(variant, Mapping) or not variant:
            raise ConfigError(f"{where}[{i}] must be a mapping of {', '.join(VARIANT_KEYS)}; got {variant!r}")
        unknown = sorted(set(variant) - set(VARIANT_KEYS))
        if unknown:
            raise ConfigError(f"{where}[{i}]: unknown key(s) {', '.join(unknown)}; a variant sets "
                              f"{', '.join(VARIANT_KEYS)}")
        for key, choices in (("saturation", SATURATION_SPECS), ("adstock", ADSTOCK_SPECS),
                             ("baseline", BASELINE_VARIANTS), ("media_effect", MEDIA_EFFECTS)):
            if key in variant and variant[key] not in choices:
                raise ConfigError(f"{where}[{i}].{key} must be one of {', '.join(choices)}; got {variant[key]!r}")
        variants.append(dict(variant))
    if len({tuple(sorted(v.items())) for v in variants}) < len(variants):
        raise ConfigError(f"{where} lists the same variant twice; list each once")
    return tuple(variants)


def as_written(candidates: str | tuple[Mapping[str, str], ...]) -> str | list[dict[str, str]]:
    """``model.candidates`` as a resolved config.yaml writes it."""
    return candidates if isinstance(candidates, str) else [dict(v) for v in candidates]


def variants_of(config) -> list[dict[str, str]]:
    """The variants fitted beside ``config`` (empty for one specification)."""
    chosen = config.model.candidates
    if chosen == "none":
        return []
    if chosen != "auto":
        return [dict(v) for v in chosen]
    media = [c for c in config.channels if not c.frequency] or list(config.channels)
    saturation = "logistic" if all(c.saturation == "hill" for c in media) else "hill"
    adstock = "geometric" if all(c.adstock == "delayed" for c in media) else "delayed"
    variants = [{"saturation": saturation}, {"adstock": adstock},
                {"baseline": "still" if config.model.baseline.smooth else "smooth"}]
    if config.model.media_effect == "time_varying":  # the other way (a time-varying effect beside a steady
        # one) is opt-in: as a default candidate it took the weight on panels and trend breaks with worse
        # figures (docs/model-candidates.md)
        variants.append({"media_effect": "steady"})
    return variants


def uses_time_varying_media(media_effect: str, candidates) -> bool:
    """Whether a spec with ``model.media_effect`` and ``model.candidates`` (parsed, or as a resolved
    config.yaml writes them), or a candidate it lists, has a time-varying media effect."""
    if media_effect == "time_varying":
        return True
    return not isinstance(candidates, str) and any(v.get("media_effect") == "time_varying" for v in candidates)


def check_time_varying_media(model, experiments: tuple, source: str) -> None:
    """A time-varying media effect, written or as a listed candidate, with what it cannot combine with yet."""
    used = uses_time_varying_media(model.media_effect, model.candidates)
    written = sorted(set(model.priors) & set(MEDIA_EFFECT_PRIORS))
    if written and not used:
        raise ConfigError(f"{source}: model.priors.{written[0]} is a prior of the time-varying media effect, but "
                          "neither model.media_effect nor a listed candidate is time_varying; remove the prior or "
                          "set model.media_effect: time_varying")
    if used and experiments:
        raise ConfigError(f"{source}: lift tests (`experiments`) with a time-varying media effect are not available "
                          "yet: a test measures the effect at its own dates, which the multiplier moves; remove "
                          "media_effect: time_varying (or that candidate), or the experiments")


def label(variant: Mapping[str, str]) -> str:
    """A candidate's name in tables: "as configured", or what the variant sets."""
    if not variant:
        return "as configured"
    return ", ".join(f"{value.replace('_', '-')} {key.replace('_', ' ')}" for key, value in variant.items())


def apply_variant(config, variant: Mapping[str, str]):
    """``config`` with the variant's choices; a choice the config already makes leaves it as it is."""
    channels = tuple(_channel_variant(c, variant) for c in config.channels)
    model = config.model
    if "baseline" in variant:
        model = replace(model, baseline=replace(model.baseline, smooth=variant["baseline"] == "smooth"))
    steadied = variant.get("media_effect") == "steady" and model.media_effect == "time_varying"
    if "media_effect" in variant:
        model = replace(model, media_effect=variant["media_effect"])
    out = replace(config, channels=channels, model=model)
    if steadied and model.candidates == "auto":
        # auto does not flip a steady effect back to time-varying: list the set, so that this candidate's
        # config (the run's, when it is the primary) refits the same candidates
        out = replace(out, model=replace(model, candidates=(*variants_of(out), {"media_effect": "time_varying"})))
    return out


def _channel_variant(channel, variant: Mapping[str, str]):
    if channel.frequency:  # its saturation acts on frequency, its own curve: left as configured
        return channel
    adstock = variant.get("adstock", channel.adstock)
    saturation = variant.get("saturation", channel.saturation)
    if (adstock, saturation) == (channel.adstock, channel.saturation):
        return channel
    kept = set(ADSTOCK_SPECS[adstock].param_names) | set(SATURATION_SPECS[saturation].param_names) | {"coef"}
    priors = {p: prior for p, prior in channel.priors.items() if p in kept}
    return replace(channel, adstock=adstock, saturation=saturation, priors=priors)
