"""collapse_theory: exact, fast, tested simulation of model collapse, checked against theory.

The driver is handed a family (``ct.family(name, ...)`` for a built-in one, ``ct.estimator(...)``
for your own) and runs it under a scenario::

    import collapse_theory as ct
    r = ct.run(ct.family("gaussian", estimator="mle"), "replace", samples=20, generations=50, chains=20000)
    r.summary("sigma2").mean

Importing the package does not import sympy or matplotlib, and does not change JAX's global
configuration (x64 is enabled only inside float64 simulations, by a context manager).
"""

from collapse_theory.config import ConfigError as ConfigError
from collapse_theory.config import SimConfig as SimConfig
from collapse_theory.engine import run as run
from collapse_theory.engine import simulate as simulate
from collapse_theory.families.registry import family as family
from collapse_theory.families.registry import family_names as family_names
from collapse_theory.families.registry import register_family as register_family
from collapse_theory.families.spec import FamilySpec as FamilySpec
from collapse_theory.families.user import estimator as estimator
from collapse_theory.results import SimulationResult as SimulationResult
from collapse_theory.results import load as load
from collapse_theory.sweeps import sweep as sweep

__version__ = "0.1.0"

__all__ = [
    "testing",
    "ConfigError",
    "FamilySpec",
    "SimConfig",
    "SimulationResult",
    "estimator",
    "family",
    "family_names",
    "load",
    "register_family",
    "run",
    "simulate",
    "sweep",
    "__version__",
]


def __getattr__(name: str):
    """``ct.testing``: the testing toolkit, imported on first use (it imports scipy and hypothesis)."""
    if name == "testing":
        import importlib

        return importlib.import_module("collapse_theory.testing")
    raise AttributeError(f"module 'collapse_theory' has no attribute {name!r}")
