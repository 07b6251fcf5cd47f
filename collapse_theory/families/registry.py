"""The registry: the one place that maps family names to family specs.

Built-in families are listed in :data:`BUILTIN` (module path and spec class; imported on first
use, so importing the package stays cheap). Other packages add families through the entry-point
group :data:`ENTRY_POINT_GROUP`, e.g. in their ``pyproject.toml``::

    [project.entry-points."collapse_theory.families"]
    robust-gaussian = "my_package.robust:RobustGaussianSpec"

and a session can add one with :func:`register_family`. ``ct.family``, ``SimConfig`` validation,
``SimConfig.from_dict`` (loading saved results) and the command line all look families up here.
"""

from __future__ import annotations

import importlib
from importlib import metadata

from collapse_theory.families.spec import ConfigError, FamilySpec, unknown_setting

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "register_family", "family_names", "spec_class", "family"]

BUILTIN: dict[str, str] = {
    "gaussian": "collapse_theory.families.gaussian:GaussianSpec",
    "categorical": "collapse_theory.families.categorical:CategoricalSpec",
    "kde": "collapse_theory.families.kde:KDESpec",
    "regression": "collapse_theory.families.regression:RegressionSpec",
    "poisson": "collapse_theory.families.poisson:PoissonSpec",
    "gmm": "collapse_theory.families.gmm:GMMSpec",
}
"""Built-in families: name -> ``module:SpecClass``."""

ENTRY_POINT_GROUP = "collapse_theory.families"

_registered: dict[str, type[FamilySpec]] = {}


def register_family(spec_cls: type[FamilySpec], *, replace: bool = False) -> type[FamilySpec]:
    """Register a family spec class under its ``name`` (usable as a class decorator).

    Args:
        spec_cls: a frozen-dataclass subclass of :class:`~collapse_theory.families.spec.FamilySpec`
            with a non-empty ``name``.
        replace: allow replacing a family of the same name (built-in or registered).

    Raises:
        ValueError: not a spec class, no name, or the name is taken and ``replace`` is False.

    """
    if not (isinstance(spec_cls, type) and issubclass(spec_cls, FamilySpec)):
        raise ValueError(f"register_family needs a FamilySpec subclass, got {spec_cls!r}")
    name = spec_cls.name
    if not isinstance(name, str) or not name:
        raise ValueError(f"{spec_cls.__name__}.name must be a non-empty string")
    if not replace and (name in _registered or name in BUILTIN):
        raise ValueError(f"a family named {name!r} is already registered (pass replace=True)")
    _registered[name] = spec_cls
    return spec_cls


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def family_names() -> tuple[str, ...]:
    """Every available family name: built-in first, then entry points and registered ones."""
    extra = sorted((set(_entry_points()) | set(_registered)) - set(BUILTIN))
    return (*BUILTIN, *extra)


def spec_class(name: str) -> type[FamilySpec]:
    """The spec class of family ``name``.

    Raises:
        ConfigError: no family has that name.

    """
    if not isinstance(name, str):
        raise ConfigError(f"family must be a name or a family spec, got {name!r}")
    if name in _registered:
        return _registered[name]
    if name in BUILTIN:
        module, _, attr = BUILTIN[name].partition(":")
        return getattr(importlib.import_module(module), attr)
    eps = _entry_points()
    if name in eps:
        cls = eps[name].load()
        if not (isinstance(cls, type) and issubclass(cls, FamilySpec)):
            raise ConfigError(f"entry point {name!r} of {ENTRY_POINT_GROUP} is not a FamilySpec class")
        return cls
    raise ConfigError(f"unknown family {name!r}; choose from {', '.join(family_names())}")


def family(name: str, **settings) -> FamilySpec:
    """A built-in (or registered) family with its settings: ``ct.family("gaussian", estimator="mle")``.

    The settings are checked against the run when it starts (some depend on the scenario and
    sample size); a name the family does not take is an error here.

    Raises:
        ConfigError: unknown family or setting.

    """
    cls = spec_class(name)
    known = cls.setting_names()
    for k in settings:
        if k not in known:
            raise ConfigError(unknown_setting(name, k, known))
    return cls(**settings)
