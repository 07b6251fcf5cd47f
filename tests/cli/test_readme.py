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
    assert abs(out["value"] - 0.758860) < 1e-6  # docs/derivations.md, 'Gaussian, replace, fixed M': M = 10, n = 5


def _readme_commands(prefixes: tuple[str, ...]) -> list[list[str]]:
    import shlex

    text = (ROOT / "README.md").read_text().replace("\\\n", " ")
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(prefixes):
            out.append(shlex.split(line.split(" #")[0])[1:])
    return out


def test_readme_simulate_and_decompose_examples_run(tmp_path, capsys):
    """Every documented ``simulate``/``decompose`` example runs (shrunk to 64 chains, 3 generations)."""
    from collapse_theory.cli import main

    cmds = _readme_commands(("collapse-theory simulate", "collapse-theory decompose"))
    assert len(cmds) >= 15
    families = {c[1] for c in cmds if c[0] == "simulate"}
    assert families == {"gaussian", "categorical", "kde", "regression", "poisson", "gmm"}
    for argv in cmds:
        argv = [a if a != "decompose-out" else str(tmp_path) for a in argv]
        shrink = ["--chains", "64", "--generations", "3", "--record", "1,3", "--quiet"]
        if "--samples" in argv and argv[argv.index("--samples") + 1] == "1000":
            shrink += ["--samples", "200"]  # EM on 1000 points x 64 chains is slow to no purpose here
        assert main(argv + shrink) == 0, argv
        capsys.readouterr()
