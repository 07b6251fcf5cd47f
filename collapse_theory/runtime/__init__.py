"""How a run executes: the plan (chunks, segments, memory), the host loop that drives the
compiled programs, multi-process runs, checkpoints, the on-disk compile cache and progress.

The engine (:mod:`collapse_theory.engine`) compiles a family's programs; everything here is
family-agnostic.
"""
