"""Hypothesis profiles for property tests of JAX code: ``dev``, ``ci`` and ``nightly``.

* ``dev``: few examples, for the edit-run loop; no deadline (a first example compiles).
* ``ci``: derandomized (the same examples every run: a failure is reproducible, a pass is not
  luck), no example database (nothing carried between runs), no deadline (compilation time is not
  the code's time), as JAX's own test suite does.
* ``nightly``: many examples, randomized, to find what the fixed CI examples miss.

Registering does not load a profile: pick one with ``pytest --hypothesis-profile=ci`` (the pytest
plugin registers these at start-up) or ``settings.load_profile("ci")``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

__all__ = ["PROFILES", "register_profiles"]

PROFILES: dict[str, dict] = {
    "dev": {"max_examples": 10, "deadline": None},
    "ci": {"max_examples": 25, "derandomize": True, "database": None, "deadline": None},
    "nightly": {
        "max_examples": 2000,
        "deadline": None,
        "database": None,
        "suppress_health_check": [HealthCheck.too_slow],
    },
}
"""The profiles' settings (hypothesis ``settings`` keyword arguments)."""


def register_profiles() -> tuple[str, ...]:
    """Register :data:`PROFILES` with hypothesis (idempotent); returns their names."""
    for name, kw in PROFILES.items():
        settings.register_profile(name, **kw)
    return tuple(PROFILES)
