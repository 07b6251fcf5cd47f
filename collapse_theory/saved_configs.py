"""Reading saved configurations: the flat files of version 0.1.0 and user families' entries.

:meth:`collapse_theory.SimConfig.from_dict` hands a saved dict here. Version 0.1.0 wrote one flat
configuration with every family's settings at their defaults; a default of another family is
dropped, anything else that the family does not take is an error. A user family cannot be rebuilt
from a file (its functions are not saved): its spec is an :class:`UnavailableSpec`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from collapse_theory.families import registry
from collapse_theory.families.spec import ConfigError, FamilySpec, RunContext, unknown_setting

__all__ = ["read", "UnavailableSpec"]

# Defaults of the single flat configuration of versions up to 0.1.0 (results saved by them load).
_LEGACY_DEFAULTS: dict[str, Any] = {
    "estimator": None,
    "kernel": "exact",
    "dim": 1,
    "mean": None,
    "cov_diag": None,
    "cov": None,
    "probs": None,
    "smoothing": 1.0,
    "real_fraction": 0.5,
    "mixing": "split",
    "real_weight": None,
    "sampling_variance": 1.0,
    "truncate": None,
    "temperature": 1.0,
    "top_p": 1.0,
    "rounding": "nearest",
    "accumulation": "naive",
    "truth": None,
    "bandwidth": None,
    "noise_sd": 1.0,
    "design": "fixed",
    "rate": 1.0,
    "components": 2,
    "em_iterations": 100,
    "em_tol": 1e-6,
    "em_init": "quantile",
    "var_floor": 1e-6,
    "prior": None,
}


def _tuples(v):
    if isinstance(v, list):
        return tuple(_tuples(x) for x in v)
    return v


def read(d: dict, run_settings: Sequence[str]) -> tuple[FamilySpec, dict]:
    """Split a saved configuration into the family's spec and the run-level settings.

    Args:
        d: the dict of :meth:`~collapse_theory.SimConfig.to_dict` (or a 0.1.0 file's).
        run_settings: the names of the run-level settings.

    Returns:
        ``(spec, run)``: the family spec and the run-level keyword arguments of ``SimConfig``.

    Raises:
        ConfigError: no family name, an unknown family, or a setting that the family does not take.

    """
    d = {k: _tuples(v) for k, v in d.items()}
    family = d.pop("family", None)
    if not isinstance(family, str):
        raise ConfigError(f"a saved configuration needs a family name, got {family!r}")
    run = {k: d.pop(k) for k in run_settings if k in d}
    if run.get("samples") == "inf":
        run["samples"] = math.inf
    if run.get("samples_schedule") is not None and run.get("samples") == 100:
        run["samples"] = None  # 0.1.0 stored its default next to a schedule
    if run.get("scenario", "replace") != "fresh":
        for k in ("real_fraction", "mixing"):
            if run.get(k) == _LEGACY_DEFAULTS[k]:
                run[k] = None
    if d.get("user_family"):
        return UnavailableSpec(family, d), run
    spec_cls = registry.spec_class(family)
    known = spec_cls.setting_names()
    settings = spec_cls.from_legacy({k: v for k, v in d.items() if k in known})
    for k, v in d.items():
        if k in known:
            continue
        sentinel = object()
        if _LEGACY_DEFAULTS.get(k, sentinel) == v or spec_cls.legacy.get(k, sentinel) == v:
            continue
        raise ConfigError(unknown_setting(family, k, known) + f"; saved value {v!r}")
    return spec_cls(**settings), run


@dataclasses.dataclass(frozen=True, eq=False)
class UnavailableSpec(FamilySpec):
    """The spec of a user family loaded from a saved result: its settings, but not its functions."""

    user = True
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    name: str = ""  # type: ignore[misc]
    saved: dict | None = None

    def settings(self) -> dict:
        """The settings as saved."""
        return dict(self.saved or {})

    def validated(self, run: RunContext) -> FamilySpec:
        """A saved user family cannot run again: its functions were not saved."""
        raise ConfigError(f"{self.name!r} is a user family loaded from a saved result; pass its ct.estimator to run it")
