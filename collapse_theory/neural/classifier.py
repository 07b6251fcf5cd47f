"""The fixed digit classifier that counts the classes among a VAE's samples.

A multinomial logistic regression trained once on the training digits with scikit-learn's lbfgs
(deterministic), then applied in JAX from its coefficients, so metrics stay traceable.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from collapse_theory.neural import data
from collapse_theory.neural._deps import require

__all__ = ["Classifier", "digit_classifier", "predict"]


class Classifier(NamedTuple):
    """Logistic-regression weights ``float64[64, 10]``, biases ``float64[10]`` and held-out accuracy."""

    weights: np.ndarray
    bias: np.ndarray
    accuracy: float


@functools.lru_cache(maxsize=2)
def digit_classifier(c: float = 1.0) -> Classifier:
    """Train the classifier on :func:`~collapse_theory.neural.data.digits`'s training images (pixels / 16).

    Args:
        c: inverse L2 regularization strength (scikit-learn's ``C``).

    Returns:
        A :class:`Classifier`; ``accuracy`` is measured on the held-out digits.

    """
    linear_model = require("sklearn.linear_model")
    d = data.digits()
    model = linear_model.LogisticRegression(C=c, max_iter=5000, tol=1e-8)
    model.fit(d.train / data.GREY_LEVELS, d.train_labels)
    acc = float(np.mean(model.predict(d.heldout / data.GREY_LEVELS) == d.heldout_labels))
    return Classifier(np.asarray(model.coef_.T, np.float64), np.asarray(model.intercept_, np.float64), acc)


def predict(clf: Classifier, x: jax.Array) -> jax.Array:
    """Predicted digit classes ``int32[N]`` of images ``x [N, 64]`` in grey levels 0..16."""
    logits = (x / data.GREY_LEVELS) @ jnp.asarray(clf.weights, x.dtype) + jnp.asarray(clf.bias, x.dtype)
    return jnp.argmax(logits, axis=-1).astype(jnp.int32)
