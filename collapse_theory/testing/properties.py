"""Properties a family declares, which :func:`~collapse_theory.testing.check_estimator` then checks.

Statistical properties run the family through the engine and test a claim at the share of the
false-failure budget that ``check_estimator`` gives them:

* :class:`Unbiased`: ``E metric`` after one generation is the truth's value;
* :class:`ClosedForm`: ``E metric`` at some generations is a registered closed form;
* :class:`SameLaw`: the law of metrics matches a reference family's;
* :class:`Collapses`: ``log metric`` decreases over generations (under replace);
* :class:`Bounded`: ``E metric`` stays below a bound (under accumulate).

:class:`Equivariance` is deterministic: the fit commutes with a transformation of the data
(``fit(a + b x) = a + b fit(x)`` for a location-scale family), checked in float64 up to rounding.

A family declares properties with :func:`declare` (any spec: ``ct.estimator(...)`` or
``ct.family(...)``), or a spec class may define a ``properties()`` method; the built-in 1-D
Gaussian and categorical families declare theirs here (:func:`declared_properties`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from collapse_theory.testing.result import AssertionResult

__all__ = [
    "Unbiased",
    "ClosedForm",
    "SameLaw",
    "Collapses",
    "Bounded",
    "Equivariance",
    "declare",
    "declared_properties",
]

_DECLARED: dict[int, tuple[Any, tuple]] = {}


@dataclasses.dataclass(frozen=True)
class Unbiased:
    """``E metric`` of one fit to ``samples`` points of the truth is ``value`` (default: the truth's metric)."""

    metric: str
    value: float | None = None
    samples: int | None = None
    chains: int = 20000
    statistical = True

    @property
    def name(self) -> str:
        """The check's name in the report."""
        return f"declared: {self.metric} is unbiased"

    def check(self, family, *, samples: int, seed: int, rate: float) -> AssertionResult:
        """Run one generation and t-test the mean of ``metric``."""
        from collapse_theory.testing.assertions import assert_unbiased

        return assert_unbiased(
            family,
            self.value,
            metric=self.metric,
            samples=self.samples or samples,
            chains=self.chains,
            seed=seed,
            false_fail_rate=rate,
            raise_on_failure=False,
        )


@dataclasses.dataclass(frozen=True)
class ClosedForm:
    """``E metric`` at ``generations`` is the registered result ``result_id``.

    ``params`` are the result's parameters; ``M`` and ``n`` (the generation) are filled in when the
    result takes them and ``params`` does not give them.
    """

    metric: str
    result_id: str
    params: Mapping[str, float] = dataclasses.field(default_factory=dict)
    scenario: str = "replace"
    generations: tuple[int, ...] = (1, 4)
    samples: int | None = None
    chains: int = 20000
    statistical = True

    @property
    def name(self) -> str:
        """The check's name in the report."""
        return f"declared: E {self.metric} = {self.result_id}"

    def check(self, family, *, samples: int, seed: int, rate: float) -> AssertionResult:
        """Run the generations and t-test the mean of ``metric`` at each (Bonferroni)."""
        from collapse_theory.engine import run
        from collapse_theory.testing.assertions import assert_closed_form
        from collapse_theory.testing.laws import combine
        from collapse_theory.theory import registry

        m = self.samples or samples
        gens = tuple(sorted(self.generations))
        r = run(
            family,
            self.scenario,
            samples=m,
            generations=max(gens),
            chains=self.chains,
            seed=seed,
            record=gens,
        )
        names = registry.get(self.result_id).param_names
        items = []
        for i, g in enumerate(gens):
            p: dict[str, Any] = dict(self.params)
            if "M" in names:
                p.setdefault("M", m)
            if "n" in names:
                p.setdefault("n", g)
            items.append(
                assert_closed_form(
                    r.values[self.metric][i],
                    self.result_id,
                    false_fail_rate=rate / len(gens),
                    what=f"E {self.metric} at generation {g}",
                    raise_on_failure=False,
                    **p,
                )
            )
        return combine(items, self.name)


@dataclasses.dataclass(frozen=True)
class SameLaw:
    """The law of ``metric`` at ``generations`` is the ``reference`` family's (two-sample KS)."""

    reference: Any
    metric: str | tuple[str, ...] | None = None
    scenario: str = "replace"
    generations: int | tuple[int, ...] = 4
    samples: int | None = None
    chains: int = 20000
    statistical = True

    @property
    def name(self) -> str:
        """The check's name in the report."""
        return f"declared: same law as {self.reference.label()}"

    def check(self, family, *, samples: int, seed: int, rate: float) -> AssertionResult:
        """Run both families and compare laws."""
        from collapse_theory.testing.laws import assert_same_law

        return assert_same_law(
            family,
            self.reference,
            scenario=self.scenario,
            samples=self.samples or samples,
            generations=self.generations,
            metric=self.metric,
            chains=self.chains,
            seed=seed,
            false_fail_rate=rate,
            raise_on_failure=False,
        )


@dataclasses.dataclass(frozen=True)
class Collapses:
    """Under replace, ``log metric`` decreases by at least ``at_least`` per generation over ``generations``."""

    metric: str = "sigma2"
    generations: tuple[int, ...] = (0, 4, 8)
    at_least: float = 0.0
    samples: int | None = None
    chains: int = 20000
    statistical = True

    @property
    def name(self) -> str:
        """The check's name in the report."""
        return f"declared: {self.metric} collapses under replace"

    def check(self, family, *, samples: int, seed: int, rate: float) -> AssertionResult:
        """Run replace and test the per-chain slope of ``log metric``."""
        from collapse_theory.engine import run
        from collapse_theory.testing.trends import assert_collapse

        gens = tuple(sorted(self.generations))
        r = run(
            family,
            "replace",
            samples=self.samples or samples,
            generations=max(gens),
            chains=self.chains,
            seed=seed,
            record=gens,
        )
        return assert_collapse(r, self.metric, at_least=self.at_least, false_fail_rate=rate, raise_on_failure=False)


@dataclasses.dataclass(frozen=True)
class Bounded:
    """Under ``scenario`` (accumulate), ``E metric <= bound`` at every generation in ``generations``."""

    metric: str
    bound: float
    scenario: str = "accumulate"
    generations: tuple[int, ...] = (4, 16)
    samples: int | None = None
    chains: int = 20000
    statistical = True

    @property
    def name(self) -> str:
        """The check's name in the report."""
        return f"declared: E {self.metric} <= {self.bound:g} under {self.scenario}"

    def check(self, family, *, samples: int, seed: int, rate: float) -> AssertionResult:
        """Run the scenario and test the bound at every recorded generation (Bonferroni)."""
        from collapse_theory.engine import run
        from collapse_theory.testing.trends import assert_bounded

        gens = tuple(sorted(self.generations))
        m = self.samples or samples
        r = run(
            family,
            self.scenario,
            samples=m,
            generations=max(gens),
            chains=self.chains,
            seed=seed,
            record=gens,
        )
        return assert_bounded(
            r.values[self.metric], self.bound, false_fail_rate=rate, what=self.name, raise_on_failure=False
        )


@dataclasses.dataclass(frozen=True)
class Equivariance:
    """``fit(points(x, g)) == params(fit(x), g)`` for every ``g`` in ``group`` (float64, up to rounding).

    ``points(x, g)`` maps ONE chain's points (leading axis = slots) and ``params(p, g)`` ONE chain's
    parameters, as in ``ct.estimator``; the check vmaps them over chains.
    """

    points: Callable
    params: Callable
    group: Sequence[Any]
    label: str = "equivariance"
    statistical = False

    @property
    def name(self) -> str:
        """The check's name in the report."""
        return f"declared: {self.label}"

    @classmethod
    def location_scale(cls, params: Callable, group: Sequence[tuple[float, float]] = ((3.0, 2.0), (-1.5, 0.25))):
        """Location-scale equivariance for 1-D points: ``x -> a + b x`` and ``params(p, (a, b))``."""
        return cls(
            points=lambda x, g: g[0] + g[1] * x, params=params, group=tuple(group), label="location-scale equivariance"
        )


def declare(family, *properties):
    """Declare properties of ``family`` for :func:`~collapse_theory.testing.check_estimator`; returns ``family``.

    Example:
        >>> import collapse_theory as ct
        >>> from collapse_theory.testing import declare, Unbiased
        >>> ref = declare(ct.family("gaussian", estimator="unbiased"), Unbiased("sigma2", 1.0))

    """
    old = _DECLARED.get(id(family), (family, ()))[1]
    _DECLARED[id(family)] = (family, old + tuple(properties))
    return family


def declared_properties(spec) -> tuple:
    """The properties declared for ``spec`` (by :func:`declare`, a ``properties()`` method, or built in)."""
    out = _DECLARED.get(id(spec), (None, ()))[1]
    if callable(getattr(spec, "properties", None)):
        out = out + tuple(spec.properties())
    return out + _builtin(spec)


def _builtin(spec) -> tuple:
    """What the 1-D Gaussian (unbiased, mle) and categorical (mle) families promise."""
    name = getattr(spec, "name", "")
    if name == "gaussian":
        plain = (
            spec.dim == 1
            and spec.estimator in ("unbiased", "mle")
            and spec.kernel in ("exact", "sample")
            and spec.truth is None
            and spec.sampling_variance == 1.0
            and spec.truncate is None
        )
        if not plain or spec.mean is None:
            return ()
        var = spec.cov[0][0] if spec.cov is not None else spec.cov_diag[0]
        sd = math.sqrt(var)
        props: list = [
            ClosedForm("log_sigma2", f"gaussian.replace.{spec.estimator}.mean_log_sigma2", {"sigma0": sd}),
            _GAUSSIAN_LOCATION_SCALE,
        ]
        if spec.estimator == "unbiased":
            props.insert(0, Unbiased("sigma2", var))
        return tuple(props)
    if name == "categorical" and spec.probs is not None and getattr(spec, "estimator", "mle") == "mle":
        h0 = 1.0 - sum(p * p for p in spec.probs)
        return (ClosedForm("heterozygosity", "wf.replace.mean_heterozygosity", {"H0": h0}),)
    return ()


def _gaussian_params(p, g):
    import jax.numpy as jnp

    a, b = g
    return p._replace(mu=a + b * p.mu, log_sigma=p.log_sigma + jnp.log(jnp.abs(b)))


_GAUSSIAN_LOCATION_SCALE = Equivariance.location_scale(_gaussian_params)
"""The 1-D Gaussian's fit commutes with x -> a + b x: (mu, log sigma) -> (a + b mu, log sigma + log |b|)."""
