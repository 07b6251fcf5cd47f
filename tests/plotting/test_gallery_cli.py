"""``collapse-theory figures``: names, errors, PDF + PNG files, cached second run with identical bytes."""

import pytest

from collapse_theory import sweeps as sweep_mod
from collapse_theory.cli import main
from collapse_theory.plotting import gallery

NAMES = [
    "curse-gaussian-drift", "curse-gmm-generations", "curse-tails", "cot-gaussian-workflows", "cot-kde-workflows",
    "cot-regression-workflows", "cot-discrete-collapse", "cot-cardinality-proportion", "fresh-data-fraction",
    "collapse-probability", "error-decomposition", "verify-summary",
    "curse-vae-digits", "curse-vae-latents", "curse-lm-perplexity", "curse-lm-histograms",
]  # fmt: skip


def test_the_twelve_names(capsys):
    assert list(gallery.FIGURES) == NAMES
    assert main(["figures", "--out", "unused", "--list"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == NAMES


def test_unknown_name_is_one_line(capsys, tmp_path):
    assert main(["figures", "--out", str(tmp_path), "--only", "curse-drift"]) == 2
    err = capsys.readouterr().err
    assert "unknown figure 'curse-drift'" in err and "curse-gaussian-drift" in err


@pytest.fixture
def tiny(monkeypatch):
    rec = (0, 1, 2, 5, 10)
    monkeypatch.setattr(gallery, "G1", gallery.G1 | {"generations": 10, "chains": 64, "record": rec})
    monkeypatch.setattr(gallery, "DRIFT_M", (10, 20))


def test_figure_files_cached_rerun_identical(tiny, tmp_path, monkeypatch, capsys):
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["figures", "--out", str(out), "--only", "curse-gaussian-drift", "--cache", str(cache), "--quiet"]
    assert main([*argv, "--style", "icml-full"]) == 0
    pdf, png = out / "curse-gaussian-drift.pdf", out / "curse-gaussian-drift.png"
    first = pdf.read_bytes(), png.read_bytes()
    assert first[0].startswith(b"%PDF") and first[1].startswith(b"\x89PNG")
    assert b"/Type3" not in first[0]

    def boom(*a, **k):
        raise AssertionError("a cached cell was run again")

    monkeypatch.setattr(sweep_mod, "run_cell", boom)
    assert main([*argv, "--style", "icml-full"]) == 0
    assert (pdf.read_bytes(), png.read_bytes()) == first  # same data -> same files
    assert (cache / "theory.json").is_file()
