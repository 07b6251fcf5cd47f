"""Same data, same files: pinned PDF/PNG metadata."""

import hashlib

from collapse_theory.plotting import new_figure, save_figure, style


def _draw(tmp, stem):
    with style("neurips"):
        fig, axes = new_figure(1, 2)
        axes[0].plot([1, 2, 3], [3, 1, 2], marker="o")
        axes[1].fill_between([1, 2, 3], [1, 2, 3], [2, 3, 4])
        axes[1].set_title(r"$\hat\sigma_n^2$")
        return save_figure(fig, tmp / stem)


def test_outputs_are_byte_identical(tmp_path):
    a = _draw(tmp_path, "a")
    b = _draw(tmp_path, "b")
    for x, y in zip(a, b, strict=True):
        assert hashlib.sha256(x.read_bytes()).digest() == hashlib.sha256(y.read_bytes()).digest(), x.suffix
    assert b"CreationDate" not in a[0].read_bytes()
