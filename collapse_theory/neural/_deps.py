"""The optional dependencies of the neural families, with an error that names the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require", "EXTRA"]

EXTRA = "pip install collapse-theory[neural]"

_PACKAGES = {"optax": "optax", "sklearn": "scikit-learn"}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise an ImportError that says how to install it.

    Args:
        module: the import name (``"optax"`` or ``"sklearn"``).

    Returns:
        The imported module.

    Raises:
        ImportError: the module is not installed; the message names the ``neural`` extra.

    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        pkg = _PACKAGES.get(module, module)
        raise ImportError(
            f"the neural families need {pkg}, which is not installed: {EXTRA} (or pip install {pkg})"
        ) from e
