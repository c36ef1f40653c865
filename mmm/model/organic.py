"""Organic media: channels without spend, driven by their exposure through adstock and saturation.

The same response as paid media (:mod:`mmm.model.media`), with its own variables: ``organic_coef``
(dim ``organic``) and ``organic_<kind>_<param>`` (dim ``organic``, or ``organic_<kind>`` when the
organic channels use several kinds). One definition for the PyTensor model and the NumPy figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mmm.model import media
from mmm.spec.sections import OrganicSpec

PREFIX = "organic_"
COEF = "organic_coef"


def var_name(media_name: str) -> str:
    """The organic variable behind a media variable name (``channel_coef`` -> ``organic_coef``)."""
    return COEF if media_name == media.COEF else PREFIX + media_name


def dim_name(media_dim: str) -> str:
    """``channel`` -> ``organic``, ``channel_hill`` -> ``organic_hill``."""
    return "organic" + media_dim[len("channel"):]


def parameter_layout(organic: Sequence[OrganicSpec]) -> list[tuple[str, str, str, list[int], str]]:
    """Every organic variable: (variable name, param, dim, organic positions, media variable name)."""
    return [(var_name(name), param, dim_name(dim), idx, name)
            for name, param, dim, idx in media.parameter_layout(organic)]


def variable_names(organic: Sequence[OrganicSpec]) -> list[str]:
    return [name for name, *_ in parameter_layout(organic)]


def media_params(values: Mapping[str, Any], organic: Sequence[OrganicSpec]) -> dict[str, Any]:
    """The organic variables under the media names :mod:`mmm.model.media` reads."""
    return {media_name: values[name] for name, _, _, _, media_name in parameter_layout(organic)}


def contributions(inputs: Any, organic: Sequence[OrganicSpec], values: Mapping[str, Any], xp: Any, *,
                  lagged: bool = False) -> Any:
    """(..., T, O) contributions in model units from scaled exposure (..., T, O), or its lag stack."""
    return media.contributions(inputs, organic, media_params(values, organic), xp=xp, lagged=lagged)
