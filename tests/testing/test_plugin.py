"""The pytest plugin, run in a subprocess on a small test file: the budget (with xdist) and calibration."""

import subprocess
import sys
import textwrap

TESTS = textwrap.dedent(
    """
    import numpy as np
    import collapse_theory as ct


    def test_calibrated(ct_seed):
        x = np.random.default_rng(ct_seed).normal(size=50)
        ct.testing.assert_mean(x, 0.0, false_fail_rate=1e-4)


    def test_dependent_samples(ct_seed):
        # AR(1) with rho = 0.8: the t-test's SE is 3x too small, so it fails far more often than stated
        r = np.random.default_rng(ct_seed)
        e = r.normal(size=400)
        x = np.empty(400)
        x[0] = e[0] / 0.6
        for i in range(1, 400):
            x[i] = 0.8 * x[i - 1] + e[i]
        ct.testing.assert_mean(x, 0.0, false_fail_rate=1e-4)


    def test_two_assertions():
        x = np.random.default_rng(0).normal(size=(2, 100))
        ct.testing.assert_mean(x[0], 0.0, 1e-4, 2)
        ct.testing.assert_ks(x[1], lambda v: 0.5 * (1 + __import__("scipy").special.erf(v / 2**0.5)), 1e-4, 2)


    def test_deterministic():
        assert 1 + 1 == 2
    """
)


def pytest_run(tmp_path, *args):
    (tmp_path / "test_sample.py").write_text(TESTS)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_sample.py", *args]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_budget_is_summed_over_xdist_workers(tmp_path):
    out = pytest_run(tmp_path, "-n", "2")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "collapse_theory false-failure budget" in out.stdout
    assert "4 statistical assertions in 3 tests; total false-failure rate 0.0003" in out.stdout


def test_calibration_reports_measured_rates_and_fails_a_miscalibrated_test(tmp_path):
    out = pytest_run(tmp_path, "--ct-calibrate", "100")
    text = out.stdout
    assert out.returncode == 1, text + out.stderr  # the dependent-samples test fails calibration
    assert "collapse_theory calibration" in text
    lines = {line.split()[-1]: line for line in text.splitlines() if "test_sample.py::" in line and "[" in line}
    assert "consistent" in lines["test_sample.py::test_calibrated"]
    assert "too high" in lines["test_sample.py::test_dependent_samples"]
    assert "FAILED test_sample.py::test_dependent_samples" in text and "fails more often than it states" in text
    assert "1 failed, 3 passed" in text  # test_two_assertions and test_deterministic run once, as usual
