"""The pytest plugin (entry point ``pytest11``): a run's false-failure budget, and calibration.

Installed with the package; disable it with ``-p no:collapse_theory``.

* **Budget.** Every statistical assertion books its false-failure rate in the
  :mod:`~collapse_theory.testing.ledger`. The plugin sums the rates per test and over the run
  (xdist workers included) and prints the total: by the union bound, the probability that a
  correct implementation fails the run somewhere, with the tests that spend most of it.
* **Calibration** (``--ct-calibrate N``): every test that takes the ``ct_seed`` fixture (an
  integer seed, 0 by default) is rerun over seeds 1..N with its assertions' rates inflated so
  that its total rate per run is ``--ct-calibrate-rate`` (default 0.05), and the plugin reports
  each test's measured failure rate with a 99 % Clopper-Pearson interval against its stated rate
  (:func:`~collapse_theory.testing.calibration.calibrate`). A test fails only if it fails
  significantly more often than it states (one-sided binomial p < 1e-3).
* **Hypothesis profiles** ``dev``, ``ci`` and ``nightly`` are registered
  (:mod:`~collapse_theory.testing.profiles`); choose one with ``--hypothesis-profile``.

Example:
    .. code-block:: python

        def test_my_estimator(ct_seed):
            r = ct.run(mine, "replace", samples=20, generations=5, chains=4000, seed=ct_seed)
            ct.testing.assert_closed_form(r.values["sigma2"][-1], "gaussian.replace.mle.mean_sigma2",
                                          M=20, n=5, sigma0=1.0, false_fail_rate=1e-6)

    ``pytest --ct-calibrate 200 -k my_estimator`` then reports how often it fails at rate 0.05.
"""

from __future__ import annotations

from typing import Any, cast

import pytest

from collapse_theory.testing import ledger
from collapse_theory.testing.profiles import register_profiles

register_profiles()

BUDGET_KEY = "ct_false_fail_budget"
CALIBRATION_KEY = "ct_calibration"
CALIBRATION_LEVEL = 1e-3
"""A calibrated test fails when P(Binomial(N, stated) >= failures) is below this."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """The plugin's options."""
    group = parser.getgroup("collapse_theory", "collapse_theory statistical testing")
    group.addoption(
        "--ct-calibrate",
        type=int,
        default=0,
        metavar="N",
        help="rerun every test taking the ct_seed fixture over N seeds at an inflated false-failure rate "
        "and report its measured failure rate against the stated one",
    )
    group.addoption(
        "--ct-calibrate-rate",
        type=float,
        default=0.05,
        metavar="RATE",
        help="the total false-failure rate per run that calibration inflates each test to (default 0.05)",
    )
    group.addoption(
        "--ct-budget-top",
        type=int,
        default=5,
        metavar="K",
        help="how many of the tests that spend most of the false-failure budget to list (default 5)",
    )


class _Tally:
    """The session's budget and calibration entries, collected from the reports (xdist workers too)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.budget: dict[str, tuple[int, float]] = {}
        self.calibration: dict[str, dict] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect the entries of a test's call report."""
        if report.when != "call":
            return
        for key, value in report.user_properties:
            value = cast(Any, value)
            if key == BUDGET_KEY:
                self.budget[report.nodeid] = (int(value[0]), float(value[1]))
            elif key == CALIBRATION_KEY:
                self.calibration[report.nodeid] = dict(value)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        """Print the run's false-failure budget and the calibration table."""
        tr = terminalreporter
        if self.budget:
            count = sum(v[0] for v in self.budget.values())
            total = sum(v[1] for v in self.budget.values())
            tr.write_sep("-", "collapse_theory false-failure budget")
            tr.write_line(
                f"{count} statistical assertions in {len(self.budget)} tests; total false-failure rate {total:.3g} "
                "(union bound: the probability that a correct implementation fails this run anywhere)"
            )
            top = sorted(self.budget.items(), key=lambda kv: -kv[1][1])[: self.config.getoption("ct_budget_top")]
            for nodeid, (k, rate) in top:
                tr.write_line(f"  {rate:.3g}  {k:4d} assertions  {nodeid}")
        if self.calibration:
            tr.write_sep("-", "collapse_theory calibration (measured vs stated false-failure rate)")
            for nodeid, c in sorted(self.calibration.items()):
                tr.write_line(
                    f"  {c['verdict']:>12}  {c['failures']:4d}/{c['runs']:<4d} = {c['failures'] / c['runs']:.3f} "
                    f"[{c['low']:.3f}, {c['high']:.3f}] vs stated {c['stated']:.3g}  {nodeid}"
                )


def pytest_configure(config: pytest.Config) -> None:
    """Register the session's tally and declare the fixture's marker."""
    config.pluginmanager.register(_Tally(config), "collapse_theory_tally")
    config.addinivalue_line("markers", "ct_seed(n): the default seed of the ct_seed fixture for this test")


@pytest.fixture
def ct_seed(request: pytest.FixtureRequest) -> int:
    """The seed of a statistical test: 0, or ``@pytest.mark.ct_seed(n)``; calibration reruns it over 1..N."""
    mark = request.node.get_closest_marker("ct_seed")
    return int(mark.args[0]) if mark is not None and mark.args else 0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Book the rates of the assertions the test calls in its user properties."""
    start = ledger.mark()
    try:
        return (yield)
    finally:
        booked = ledger.entries(start)
        if booked:
            item.user_properties.append((BUDGET_KEY, (len(booked), sum(e.rate for e in booked))))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    """Under ``--ct-calibrate N``, run a ``ct_seed`` test over N seeds instead of once."""
    n = pyfuncitem.config.getoption("ct_calibrate")
    if (
        not n
        or "ct_seed" not in pyfuncitem._fixtureinfo.argnames
        or getattr(pyfuncitem.obj, "is_hypothesis_test", False)
    ):
        return None
    from collapse_theory.testing.calibration import calibrate

    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {k: pyfuncitem.funcargs[k] for k in names}
    base = int(cast(Any, kwargs.get("ct_seed", 0)))

    def once(seed: int) -> None:
        pyfuncitem.obj(**{**kwargs, "ct_seed": seed})

    start = ledger.mark()
    once(base)  # the test at its stated rates and default seed, as a normal run (booked)
    stated = sum(e.rate for e in ledger.entries(start))
    if stated <= 0:
        return True  # no statistical assertion: nothing to calibrate
    res = calibrate(
        once,
        range(base + 1, base + 1 + n),
        target_rate=pyfuncitem.config.getoption("ct_calibrate_rate"),
        stated_rate=stated,
        name=pyfuncitem.nodeid,
    )
    pyfuncitem.user_properties.append(
        (
            CALIBRATION_KEY,
            {
                "runs": res.runs,
                "failures": res.failures,
                "stated": res.stated_rate,
                "low": res.interval[0],
                "high": res.interval[1],
                "p_high": res.p_too_high,
                "verdict": res.verdict(CALIBRATION_LEVEL),
            },
        )
    )
    if res.p_too_high < CALIBRATION_LEVEL:
        raise AssertionError(f"calibration: the test fails more often than it states: {res}")
    return True
