"""examples/test_my_estimator.py (a complete pytest file testing a user's estimator) passes; CI runs it here."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_example_test_file_passes():
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/test_my_estimator.py"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "7 passed" in out.stdout and "collapse_theory false-failure budget" in out.stdout
