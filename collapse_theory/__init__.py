"""collapse_theory: exact, fast, tested simulation of model collapse, checked against theory.

Importing the package does not import sympy or matplotlib, and does not change JAX's global
configuration (x64 is enabled only inside float64 simulations, by a context manager).
"""

from collapse_theory.config import ConfigError as ConfigError
from collapse_theory.config import SimConfig as SimConfig
from collapse_theory.engine import simulate as simulate
from collapse_theory.results import SimulationResult as SimulationResult
from collapse_theory.results import load as load

__version__ = "0.1.0"

__all__ = ["ConfigError", "SimConfig", "SimulationResult", "load", "simulate", "__version__"]
