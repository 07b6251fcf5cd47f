"""The testing toolkit: statistically honest, property-based tests of any stochastic estimator.

Every statistical assertion takes a false-failure rate (the probability that a correct
implementation fails it), derives its threshold from it, books it in a ledger that the pytest
plugin sums over a run, and returns an :class:`AssertionResult` (statistic, threshold, p-value,
rate, and the discrepancy detectable with 80 % power at this n); on failure it raises
``AssertionError`` with that report. Nothing here uses an ad hoc tolerance.

* Laws: :func:`assert_same_law` (two families or two sample sets; joint laws by projections),
  :func:`assert_exact_law` (probability-integral transform), :func:`assert_ks`,
  :func:`assert_two_sample_ks`.
* Moments: :func:`assert_mean`, :func:`assert_log_moment`, :func:`assert_closed_form` (the theory
  registry), :func:`assert_unbiased`, :func:`assert_variance`, :func:`assert_bounded`.
* Trends: :func:`assert_rate` (a fitted slope in a derived band), :func:`assert_collapse`,
  :func:`assert_grows`, :func:`assert_trend`.
* Design: :func:`required_chains`, :func:`detectable_discrepancy`, :func:`ks_distance`
  (and :func:`.power.power`).
* Contracts: :func:`check_family`, :func:`check_estimator`, declared properties
  (:func:`declare`, :class:`Unbiased`, :class:`ClosedForm`, :class:`SameLaw`,
  :class:`Collapses`, :class:`Bounded`, :class:`Equivariance`).
* Calibration: :func:`calibrate` (a test's failure rate over many seeds), :func:`assert_calibrated`,
  :func:`assert_binomial`.
* Compilation: :func:`count_compilations`. Hypothesis: :mod:`.strategies`, :func:`register_profiles`.
* The pytest plugin (:mod:`.pytest_plugin`, entry point ``pytest11``): the session's false-failure
  budget and ``--ct-calibrate N``.
"""

from collapse_theory.testing.assertions import (
    assert_closed_form,
    assert_log_moment,
    assert_mean,
    assert_unbiased,
    assert_variance,
    z_threshold,
)
from collapse_theory.testing.calibration import CalibrationResult, assert_binomial, assert_calibrated, calibrate
from collapse_theory.testing.compiles import CompileCount, count_compilations
from collapse_theory.testing.conformance import CheckResult, ConformanceReport, check_family
from collapse_theory.testing.estimator_checks import CHECKS, check_estimator
from collapse_theory.testing.laws import assert_exact_law, assert_ks, assert_same_law, assert_two_sample_ks
from collapse_theory.testing.power import detectable_discrepancy, ks_distance, required_chains
from collapse_theory.testing.profiles import register_profiles
from collapse_theory.testing.properties import (
    Bounded,
    ClosedForm,
    Collapses,
    Equivariance,
    SameLaw,
    Unbiased,
    declare,
    declared_properties,
)
from collapse_theory.testing.result import AssertionResult
from collapse_theory.testing.trends import assert_bounded, assert_collapse, assert_grows, assert_rate, assert_trend

__all__ = [
    "AssertionResult",
    "Bounded",
    "CHECKS",
    "CalibrationResult",
    "CheckResult",
    "ClosedForm",
    "Collapses",
    "CompileCount",
    "ConformanceReport",
    "Equivariance",
    "SameLaw",
    "Unbiased",
    "assert_binomial",
    "assert_bounded",
    "assert_calibrated",
    "assert_closed_form",
    "assert_collapse",
    "assert_exact_law",
    "assert_grows",
    "assert_ks",
    "assert_log_moment",
    "assert_mean",
    "assert_rate",
    "assert_same_law",
    "assert_trend",
    "assert_two_sample_ks",
    "assert_unbiased",
    "assert_variance",
    "calibrate",
    "check_estimator",
    "check_family",
    "count_compilations",
    "declare",
    "declared_properties",
    "detectable_discrepancy",
    "ks_distance",
    "register_profiles",
    "required_chains",
    "z_threshold",
]
