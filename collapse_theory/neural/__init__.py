"""Neural and count-based estimators on real data: the Curse of Recursion's VAE and language-model chains.

Both are written with the public :func:`collapse_theory.estimator` API and run by ``ct.run``
like any family::

    from collapse_theory.neural import ngram_estimator, vae_estimator

    lm = ngram_estimator(order=3, smoothing="kneser-ney")     # jax only
    r = ct.run(lm, "fresh", real_fraction=0.1, samples=2763, generations=20, chains=64)
    vae = vae_estimator()                                     # needs collapse-theory[neural]
    r = ct.run(vae, "replace", samples=200, generations=10, chains=64)

The n-gram model needs nothing beyond the core dependencies; the VAE needs optax and
scikit-learn (``pip install collapse-theory[neural]``), imported only when it is built.
Importing :mod:`collapse_theory` never imports this subpackage.
"""

from __future__ import annotations

from collapse_theory.neural._deps import EXTRA as EXTRA
from collapse_theory.neural.ngram import ngram_estimator as ngram_estimator
from collapse_theory.neural.vae import vae_estimator as vae_estimator

__all__ = ["EXTRA", "ngram_estimator", "vae_estimator"]
