"""The executable cache's key covers the whole package's source, so editing a family recompiles."""

from collapse_theory.runtime import compile_cache


def test_source_hash_covers_families_and_engine():
    root, files = compile_cache._source_files()
    names = {f.relative_to(root).as_posix() for f in files}
    assert {"families/kde.py", "engine.py", "random/bits.py", "runtime/compile_cache.py"} <= names
