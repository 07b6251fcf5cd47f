"""Real data that every installation has: scikit-learn's digits and the standard library's docstrings.

* :func:`digits`: the 1797 8x8 handwritten digits bundled with scikit-learn
  (``sklearn.datasets.load_digits``, no download), grey levels 0..16, split once into train and
  held-out images by a fixed permutation (numpy's PCG64 with seed 0, stable across versions).
* :func:`corpus`: English text from the docstrings of :data:`MODULES` (module, then its public
  functions and classes and their methods, in sorted order, as ``inspect.getdoc`` gives them),
  lowercased and reduced to :data:`ALPHABET`; it is cut into sequences of ``length`` characters
  and every tenth sequence is held out. The text is the same on every run of one Python version
  (docstrings change between versions; :func:`corpus` records ``sys.version`` and a checksum).

References:
    Alpaydin & Kaynak, "Optical recognition of handwritten digits", UCI (1998), the digits data.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import re
import sys
import warnings
from typing import NamedTuple

import numpy as np

from collapse_theory.neural._deps import require

__all__ = ["Digits", "Corpus", "digits", "corpus", "MODULES", "ALPHABET", "encode", "decode"]

GREY_LEVELS = 16
"""Digits pixels are counts 0..16 (the number of set bits in a 4x4 block of the 32x32 original)."""


class Digits(NamedTuple):
    """Train and held-out digits: images ``float32[N, 64]`` in 0..16 and labels ``int32[N]``."""

    train: np.ndarray
    train_labels: np.ndarray
    heldout: np.ndarray
    heldout_labels: np.ndarray


@functools.lru_cache(maxsize=4)
def digits(heldout: int = 297) -> Digits:
    """scikit-learn's digits, split by a fixed permutation (the last ``heldout`` images are held out).

    Args:
        heldout: number of held-out images (default 297, leaving 1500 to train).

    Returns:
        A :class:`Digits`.

    Raises:
        ImportError: scikit-learn is missing (the message names the ``neural`` extra).

    """
    datasets = require("sklearn.datasets")
    d = datasets.load_digits()
    x = np.asarray(d.data, np.float32)
    y = np.asarray(d.target, np.int32)
    perm = np.random.default_rng(0).permutation(x.shape[0])
    tr, ho = perm[:-heldout], perm[-heldout:]
    out = Digits(x[tr], y[tr], x[ho], y[ho])
    for a in out:
        a.setflags(write=False)
    return out


MODULES = (
    "argparse", "bisect", "calendar", "collections", "configparser", "contextlib", "copy", "csv",
    "dataclasses", "datetime", "difflib", "enum", "fnmatch", "fractions", "functools", "glob",
    "heapq", "inspect", "json", "logging", "numbers", "pathlib", "pprint", "random", "re", "sched",
    "shlex", "shutil", "statistics", "string", "tempfile", "textwrap", "typing", "warnings",
)  # fmt: skip
"""Pure-Python standard library modules whose docstrings make the corpus (about 0.3 MB of text)."""

ALPHABET = " abcdefghijklmnopqrstuvwxyz.,"
"""Tokens 0..28: space, the lowercase letters, full stop and comma; every other character becomes a space."""


def _docstrings(module) -> list[str]:
    out = [inspect.getdoc(module) or ""]
    for name, obj in inspect.getmembers(module):
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        out.append(inspect.getdoc(obj) or "")
        if inspect.isclass(obj):
            for mname in sorted(vars(obj)):
                m = vars(obj)[mname]
                if not mname.startswith("_") and inspect.isfunction(m):
                    out.append(inspect.getdoc(m) or "")
    return out


def normalize(text: str) -> str:
    """Lowercase, every character outside :data:`ALPHABET` to a space, runs of spaces to one."""
    text = text.lower()
    text = re.sub(f"[^{re.escape(ALPHABET)}]", " ", text)
    return re.sub(" +", " ", text).strip()


def encode(text: str) -> np.ndarray:
    """Token ids ``int32[len(text)]`` of a normalized text."""
    table = {c: i for i, c in enumerate(ALPHABET)}
    return np.asarray([table[c] for c in text], np.int32)


def decode(tokens) -> str:
    """The text of token ids."""
    return "".join(ALPHABET[int(t)] for t in np.asarray(tokens).ravel())


class Corpus(NamedTuple):
    """Sequences of tokens ``int32[N, length]`` to train on and held out, and where they came from."""

    train: np.ndarray
    heldout: np.ndarray
    python: str
    sha256: str


@functools.lru_cache(maxsize=4)
def corpus(length: int = 64, heldout_every: int = 10) -> Corpus:
    """The standard library's docstrings as token sequences (module docstring).

    Args:
        length: characters per sequence.
        heldout_every: sequence ``i`` is held out when ``i % heldout_every == heldout_every - 1``.

    Returns:
        A :class:`Corpus`; ``sha256`` is the checksum of the normalized text.

    """
    parts = []
    with warnings.catch_warnings():  # reading some members' docstrings warns (typing.io is deprecated)
        warnings.simplefilter("ignore")
        for name in MODULES:
            parts += _docstrings(importlib.import_module(name))
    text = normalize(" ".join(p for p in parts if p))
    tokens = encode(text)
    n = tokens.size // length
    seqs = tokens[: n * length].reshape(n, length)
    held = np.arange(n) % heldout_every == heldout_every - 1
    out = Corpus(seqs[~held], seqs[held], sys.version.split()[0], hashlib.sha256(text.encode()).hexdigest())
    out.train.setflags(write=False)
    out.heldout.setflags(write=False)
    return out
