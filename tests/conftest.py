"""Test configuration: a deterministic hypothesis profile (as JAX core's setup_hypothesis) and a
persistent compilation cache in the test process (tests only; the library changes no global)."""

import os
import tempfile

import jax
from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=25)
settings.load_profile("ci")

jax.config.update("jax_compilation_cache_dir", os.path.join(tempfile.gettempdir(), "collapse_theory_jax_cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
