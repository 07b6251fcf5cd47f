"""Compiled programs cached on disk across processes, without changing JAX's global settings.

A second process running the same configuration loads its compiled programs from disk instead
of tracing and compiling them (compile time ~0.1 s instead of seconds). Two layers:

* **Serialized executables** of the engine's programs (``programs/<key>.pkl``): the key hashes
  the program's shape (family spec with every setting, scenario, shapes, chunk, dtype), the
  devices (platform, kind, ids), JAX and jaxlib versions, ``XLA_FLAGS``, the JAX options that
  change tracing, and the source of this package, so any change recompiles. A user's own
  estimator (``ct.estimator``) is never cached this way (its functions have no stable identity).
  An unreadable entry is deleted and the program recompiled, and so is one that loads but fails
  when run (XLA:CPU executables can deserialize with symbols missing, ``NOT_FOUND: Function ...
  not found``): the engine runs each loaded program once on its smallest inputs before using it.
* **JAX's persistent compilation cache** (``jax/``) for everything compiled inside :func:`scoped`:
  a user estimator's programs. Built-in programs are compiled outside it, because an executable
  that JAX loaded from its cache serializes without its functions (measured: such an entry failed
  with ``NOT_FOUND: Function wrapped_broadcast not found`` when the next process ran it).

What this changes in JAX, exactly:

* Only while the engine compiles its programs (inside :func:`scoped`, on that thread), the JAX
  options ``jax_compilation_cache_dir`` (set to :func:`cache_dir`) and
  ``jax_persistent_cache_min_compile_time_secs`` (set to 0, so that every program is cached)
  are set through JAX's thread-local configuration context managers. On leaving, JAX's
  cache object is reset (``jax._src.compilation_cache.reset_cache``) so that later
  compilations of the user's own functions do not see the directory. Global JAX settings are
  never changed.
* Nothing at all when the user configured a cache (``jax_compilation_cache_dir`` is set: their
  cache is used as configured), disabled it (``jax_enable_compilation_cache=False``), or set
  ``COLLAPSE_THEORY_NO_COMPILE_CACHE=1``, or when some other code already opened a cache.

The executables are written and read under the same conditions (so a test suite that configures
its own JAX cache writes nothing to the home directory). The directory is
``$COLLAPSE_THEORY_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/collapse_theory``, else
``~/.cache/collapse_theory``. Cached executables are trusted code (loading one runs it): the
directory is created with mode 0700; do not share it with users you do not trust.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "cache_dir",
    "scoped",
    "enabled",
    "program_key",
    "load_programs",
    "store_programs",
    "discard_programs",
    "OPT_OUT",
]

OPT_OUT = "COLLAPSE_THEORY_NO_COMPILE_CACHE"
_TRACING_OPTIONS = (
    "jax_enable_x64",
    "jax_default_matmul_precision",
    "jax_numpy_dtype_promotion",
    "jax_default_prng_impl",
)


def cache_dir() -> Path:
    """Where the engine's compiled programs are cached (``jax/`` and ``programs/`` below it)."""
    explicit = os.environ.get("COLLAPSE_THEORY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "collapse_theory"


def _folder(name: str) -> Path:
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    (root / name).mkdir(exist_ok=True, mode=0o700)
    return root / name


def _allowed() -> bool:
    from jax._src import config

    if os.environ.get(OPT_OUT, "").strip() not in ("", "0"):
        return False
    return config.compilation_cache_dir.value is None and bool(config.enable_compilation_cache.value)


def enabled() -> bool:
    """Whether :func:`scoped` will point JAX at the cache (see the module docstring)."""
    from jax._src import compilation_cache as cc

    return _allowed() and cc._cache is None and not cc._cache_initialized


def _source_files() -> tuple[Path, tuple[Path, ...]]:
    """The package's root folder and its Python sources (what the executable cache's key hashes)."""
    root = Path(__file__).resolve().parent.parent  # collapse_theory/, not only runtime/
    return root, tuple(sorted(root.rglob("*.py")))


@functools.lru_cache(maxsize=1)
def _source_hash() -> str:
    root, files = _source_files()
    h = hashlib.sha256()
    for f in files:
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def program_key(parts: tuple, devices: tuple) -> str | None:
    """The executable cache's key for a program (None when the cache is off)."""
    try:
        if not _allowed():
            return None
        import jax
        import jaxlib

        env = (
            jax.__version__,
            jaxlib.__version__,
            os.environ.get("XLA_FLAGS", ""),
            tuple(str(jax.config.values.get(k)) for k in _TRACING_OPTIONS),
            tuple((d.platform, d.device_kind, d.id, d.process_index) for d in devices),
            _source_hash(),
        )
    except (ImportError, AttributeError, OSError):
        return None
    return hashlib.sha256(repr((parts, env)).encode()).hexdigest()


def load_programs(key: str | None, devices: tuple) -> dict | None:
    """The cached executables (name -> ``jax.stages.Compiled``) and extras, or None."""
    if key is None:
        return None
    path = cache_dir() / "programs" / f"{key}.pkl"
    if not path.exists():
        return None
    try:
        from jax.experimental import serialize_executable as se

        with open(path, "rb") as fh:
            saved = pickle.load(fh)  # noqa: S301 - our own, private (0700) cache
        client = devices[0].client
        out = {}
        for k, (blob, in_tree, out_tree) in saved["programs"].items():
            out[k] = se.deserialize_and_load(
                blob, in_tree, out_tree, backend=client, execution_devices=list(devices)
            )  # one at a time: loading executables concurrently is not safe (NOT_FOUND symbols)
        return out | {"extras": saved["extras"]}
    except Exception:  # noqa: BLE001 - a stale or corrupt entry: recompile
        with contextlib.suppress(OSError):
            path.unlink()
        return None


def discard_programs(key: str | None) -> None:
    """Delete a cached entry that loaded but does not run (the engine then recompiles)."""
    if key is not None:
        with contextlib.suppress(OSError):
            (cache_dir() / "programs" / f"{key}.pkl").unlink()


def store_programs(key: str | None, programs: dict, extras: dict) -> None:
    """Save executables (name -> ``jax.stages.Compiled``); silently skipped where impossible."""
    if key is None:
        return
    try:
        from jax.experimental import serialize_executable as se

        folder = _folder("programs")
        data = pickle.dumps({"programs": {k: se.serialize(c) for k, c in programs.items()}, "extras": extras})
        tmp = folder / f"{key}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, folder / f"{key}.pkl")
    except Exception:  # noqa: BLE001 - not serialisable here, or no room: just do not cache
        return


@contextlib.contextmanager
def scoped() -> Iterator[None]:
    """Use the persistent cache for the compilations inside the block (a no-op when not :func:`enabled`)."""
    try:
        on = enabled()
    except (ImportError, AttributeError):  # JAX internals moved: compile without the cache
        on = False
    if not on:
        yield
        return
    from jax._src import compilation_cache as cc
    from jax._src import config

    try:
        path = _folder("jax")
    except OSError:  # read-only home: compile without the cache
        yield
        return
    try:
        with config.compilation_cache_dir(str(path)), config.persistent_cache_min_compile_time_secs(0.0):
            yield
    finally:
        cc.reset_cache()
