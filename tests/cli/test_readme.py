"""The README's test command is the one .ci/run executes, and the documented commands parse."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    cmd = re.search(r"TEST_COMMAND='(.+)'", ci).group(1)
    assert cmd.replace(".venv-ci", ".venv-test") in readme or cmd in readme


def test_schedule_parser_is_safe():
    import pytest

    from collapse_theory.scenarios.schedule import ScheduleError, evaluate_schedule

    assert list(evaluate_schedule("3*(t+1)**2", 4)) == [3, 12, 27, 48]
    assert list(evaluate_schedule("floor(10*sqrt(t+1))", 3)) == [10, 14, 17]
    for bad in ("t.__class__", "open('x')", "lambda: 1", "[t]", "t if t else 2", "9**9**9"):
        with pytest.raises(ScheduleError):
            evaluate_schedule(bad, 3)


def test_readme_theory_example_runs(capsys):
    import json
    import shlex

    from collapse_theory.cli import main

    readme = (ROOT / "README.md").read_text()
    line = next(x for x in readme.splitlines() if x.startswith("collapse-theory theory eval"))
    assert main(shlex.split(line.split("#")[0])[1:]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["value"] - 0.758860) < 1e-6  # digest section 2.1, M = 10, n = 5
