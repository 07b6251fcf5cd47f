"""Data workflows (scenarios) as kernels over fixed-shape pools.

A :class:`Scenario` is ``(init, step, params)``: ``state = init(C)``,
``state = step(key, chains, state, t, n_t)`` for generation ``t`` (whose sample of ``n_t`` points
fits model ``t + 1``), and ``params(state)`` the current model. See :mod:`.workflows`.
"""

from collapse_theory.scenarios.workflows import (
    SCENARIOS as SCENARIOS,
)
from collapse_theory.scenarios.workflows import (
    Scenario as Scenario,
)
from collapse_theory.scenarios.workflows import (
    build_scenario as build_scenario,
)
