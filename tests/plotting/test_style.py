"""Venue bundles: exact widths in the saved PDF, fonts embedded as TrueType, rcParams restored, no import side effects."""

import re
import subprocess
import sys

import matplotlib as mpl
import pytest

from collapse_theory.plotting import new_figure, save_figure, style
from collapse_theory.plotting.style import TEX_PT_PER_IN, VENUES, rc_params

# Each venue's width in TeX points, from its style file / author guide (not from the code under test).
EXPECTED_PT = {
    "neurips": 397.48,  # \textwidth 5.5in
    "iclr": 397.48,  # \textwidth 5.5in
    "icml": 234.88,  # \columnwidth 3.25in
    "icml-full": 487.82,  # \textwidth 6.75in
    "jmlr": 433.62,  # 6in
    "nature": 253.23,  # 89 mm
    "nature-double": 520.69,  # 183 mm
}


def _mediabox(pdf: bytes) -> tuple[float, float]:
    m = re.search(rb"/MediaBox \[\s*([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert m, "no MediaBox"
    return float(m.group(3)) - float(m.group(1)), float(m.group(4)) - float(m.group(2))


@pytest.mark.parametrize("name", sorted(EXPECTED_PT))
def test_bundle_width_matches_venue_in_points(name, tmp_path):
    assert VENUES[name].width_pt == pytest.approx(EXPECTED_PT[name], abs=0.01)
    with style(name):
        fig, axes = new_figure(1, 2)
        axes[0].plot([1, 2], [1, 4])
        axes[0].set_xlabel(r"generation $n$")
        axes[1].set_ylabel(r"$\|\hat\mu_n-\mu_0\|^2$")
        (pdf,) = save_figure(fig, tmp_path / name, ["pdf"])
    w_bp, h_bp = _mediabox(pdf.read_bytes())  # PDF points are 1/72 in
    assert w_bp / 72 * TEX_PT_PER_IN == pytest.approx(EXPECTED_PT[name], abs=0.05)
    assert h_bp / w_bp == pytest.approx(0.618 / 2, rel=0.01)  # golden ratio per panel, two columns


def test_pdf_fonts_are_truetype_not_type3(tmp_path):
    with style("neurips"):
        fig, axes = new_figure()
        axes[0].plot([1, 10], [1, 100])
        axes[0].set_yscale("log")
        axes[0].set_ylabel(r"$\mathbb{E}[\log\hat\sigma_n^2]$ and $W_2^2$")
        axes[0].set_title("title")
        (pdf,) = save_figure(fig, tmp_path / "f", ["pdf"])
    data = pdf.read_bytes()
    assert b"/Type3" not in data
    assert b"/FontFile2" in data  # embedded TrueType (Type 42)


def test_style_restores_user_rcparams():
    before = dict(mpl.rcParams)
    with mpl.rc_context({"font.size": 13.0, "axes.prop_cycle": mpl.cycler(color=["r"])}):
        with style("nature"):
            assert mpl.rcParams["font.size"] == VENUES["nature"].base
            assert mpl.rcParams["pdf.fonttype"] == 42
        assert mpl.rcParams["font.size"] == 13.0
    assert dict(mpl.rcParams) == before


def test_every_font_key_is_set_so_themes_cannot_leak():
    rc = rc_params("icml")
    for k in ("font.family", "font.serif", "font.sans-serif", "mathtext.fontset", "font.size", "legend.fontsize"):
        assert k in rc
    assert rc["text.usetex"] in (False, True) and rc["savefig.bbox"] == "standard"


def test_unknown_style_is_one_line():
    with pytest.raises(ValueError, match="unknown style 'acm'; choose from neurips"):
        with style("acm"):
            pass


def test_import_selects_no_backend_and_keeps_rcparams():
    code = (
        "import matplotlib as mpl\n"
        "def rc(): return {k: mpl.rcParams[k] for k in mpl.rcParams if k != 'backend'}  # reading 'backend' resolves it\n"
        "b = rc()\n"
        "import collapse_theory.plotting, collapse_theory.plotting.gallery, collapse_theory.plotting.figures.curse\n"
        "print(rc() == b, mpl.rcParams._get_backend_or_none())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "None"]
