"""A variational autoencoder on scikit-learn's digits, recursively trained: the Curse of Recursion's VAE chain.

Each generation trains a small VAE (MLP encoder and decoder, a ``latent``-dimensional Gaussian
latent, a Binomial(16, p) likelihood per pixel, so samples are 8x8 images in grey levels 0..16
like the real digits) on the previous generation's samples. :func:`vae_estimator` writes the
single chain with the public :func:`collapse_theory.estimator` API; ``ct.run`` runs it over
chains one after another (``batching="map"``: the layers are plain matmuls, whose last bit
XLA:CPU would let depend on the chunk size under ``vmap``), under every scenario (``replace``,
``accumulate``, ``fresh``).

``fit`` is a deterministic function of the weighted point set: full-batch Adam for ``steps``
steps with a fixed cosine schedule from a fixed initialization, and the reparameterization
noise of point ``x`` at step ``s`` drawn from a key derived from ``(s, hash(x))``. So the fit is
seeded, reproducible, invariant to the order of the points (up to rounding), and a point of
weight 2 is exactly two copies of it.

Generation 0 (the truth) is the VAE fit to all 1500 training digits; ``real(key, n)`` draws
``n`` training digits without replacement. Metrics (per chain, from the fitted VAE alone; sample
metrics use a fixed key, the same for every generation and chain):

* ``heldout_nll``: the negative ELBO on the 297 held-out real digits, nats per image (an upper
  bound on their negative log-likelihood; ``elbo_draws`` noise draws per image);
* ``pixel_var``: the variance across ``eval_samples`` samples, averaged over pixels (grey levels^2);
* ``classes``: how many digit classes the fixed classifier
  (:func:`~collapse_theory.neural.classifier.digit_classifier`) finds in at least 2 % of the
  samples, and ``class_perplexity``, the exponential of the entropy of its predicted classes;
* ``latent_var``: the total variance of the samples' latent means under the generation-0 encoder.

References:
    Shumailov et al., "AI models collapse when trained on recursively generated data",
    Nature 631 (2024), Fig. 7 and the VAE experiments of its supplement (MNIST there; the 8x8
    digits here). Kingma & Welling, "Auto-encoding variational Bayes", ICLR 2014.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from collapse_theory.families.spec import ConfigError
from collapse_theory.families.user import Estimator, estimator
from collapse_theory.neural import classifier, data, mlp
from collapse_theory.neural._deps import require

__all__ = ["VAEParams", "vae_estimator", "elbo", "decode_mean", "encode_mean", "sample", "PIXELS"]

PIXELS = 64
N_LEVELS = data.GREY_LEVELS
_HASH = np.random.default_rng(1).integers(1, 2**32, PIXELS, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
"""Odd multipliers of a point's grey levels: its hash, from which its noise keys are derived."""
CLASS_SHARE = 0.02


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class VAEParams:
    """Encoder layers ``64 -> hidden -> 2 latent`` (means, log variances) and decoder ``latent -> hidden -> 64`` logits."""

    encoder: tuple
    decoder: tuple

    def __repr__(self) -> str:
        def widths(layers):
            return "-".join(str(w.shape[-2]) for w, _ in layers) + f"-{layers[-1][0].shape[-1]}"

        return f"VAEParams(encoder {widths(self.encoder)}, decoder {widths(self.decoder)})"


def encode(params: VAEParams, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Latent means and log variances ``[N, latent]`` of images ``x [N, 64]`` (grey levels)."""
    h = mlp.apply(params.encoder, x / N_LEVELS)
    d = h.shape[-1] // 2
    return h[..., :d], h[..., d:]


def encode_mean(params: VAEParams, x: jax.Array) -> jax.Array:
    """Latent means ``[N, latent]`` of images ``x [N, 64]``."""
    return encode(params, x)[0]


def decode_mean(params: VAEParams, z: jax.Array) -> jax.Array:
    """Expected grey levels ``16 sigmoid(logits)`` ``[N, 64]`` of latent codes ``z [N, latent]``."""
    return N_LEVELS * jax.nn.sigmoid(mlp.apply(params.decoder, z))


def _log_lik(logits: jax.Array, x: jax.Array) -> jax.Array:
    log_c = gammaln(N_LEVELS + 1.0) - gammaln(x + 1.0) - gammaln(N_LEVELS + 1.0 - x)
    ll = log_c + x * jax.nn.log_sigmoid(logits) + (N_LEVELS - x) * jax.nn.log_sigmoid(-logits)
    return jnp.sum(ll, axis=-1)


def elbo(params: VAEParams, x: jax.Array, eps: jax.Array) -> jax.Array:
    """The evidence lower bound ``[N]`` (nats) of images ``x [N, 64]`` with noise ``eps [N, latent]``."""
    mu, logvar = encode(params, x)
    z = mu + jnp.exp(0.5 * logvar) * eps
    kl = 0.5 * jnp.sum(mu**2 + jnp.exp(logvar) - 1.0 - logvar, axis=-1)
    return _log_lik(mlp.apply(params.decoder, z), x) - kl


def _point_keys(key, x: jax.Array) -> jax.Array:
    """One key per image, from its grey levels only (so equal images get equal noise)."""
    h = jnp.sum(jnp.round(x).astype(jnp.uint32) * jnp.asarray(_HASH), axis=-1, dtype=jnp.uint32)
    return jax.vmap(lambda v: jax.random.fold_in(key, v))(h)


def _noise(keys: jax.Array, step, latent: int, dtype) -> jax.Array:
    return jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, step), (latent,), dtype))(keys)


def sample(key, params: VAEParams, n: int) -> jax.Array:
    """``n`` images ``[n, 64]``: ``z ~ N(0, I)``, each pixel ~ Binomial(16, sigmoid(decoder(z)))."""
    kz, kx = jax.random.split(key)
    w = params.decoder[0][0]
    z = jax.random.normal(kz, (n, w.shape[0]), w.dtype)
    p = jax.nn.sigmoid(mlp.apply(params.decoder, z))
    u = jax.random.uniform(kx, (n, PIXELS, N_LEVELS), p.dtype)
    return jnp.sum(u < p[..., None], axis=-1).astype(p.dtype)


@dataclasses.dataclass(frozen=True)
class _Settings:
    hidden: int
    latent: int
    steps: int
    learning_rate: float
    eval_samples: int
    elbo_draws: int


def _make_fit(s: _Settings):
    optax = require("optax")
    init = (
        mlp.init(jax.random.key(0), (PIXELS, s.hidden, 2 * s.latent)),
        mlp.init(jax.random.key(1), (s.latent, s.hidden, PIXELS)),
    )
    schedule = optax.cosine_decay_schedule(s.learning_rate, s.steps, alpha=0.1)
    opt = optax.adam(schedule)
    noise_key = jax.random.key(2)

    def fit(points, weights):
        dtype = points.dtype
        p0 = jax.tree_util.tree_map(lambda a: a.astype(dtype), VAEParams(*init))
        w = weights / jnp.maximum(jnp.sum(weights), 1e-30)
        keys = _point_keys(noise_key, points)

        def loss(p, eps):
            return -jnp.sum(w * elbo(p, points, eps)) / PIXELS

        def step(carry, t):
            p, st = carry
            val, g = jax.value_and_grad(loss)(p, _noise(keys, t, s.latent, dtype))
            upd, st = opt.update(g, st, p)
            return (optax.apply_updates(p, upd), st), val

        (p, _), losses = jax.lax.scan(step, (p0, opt.init(p0)), jnp.arange(s.steps))
        return p, {"train_loss": losses[-1] * PIXELS}

    return fit


def _make_metrics(s: _Settings, truth: VAEParams):
    d = data.digits()
    clf = classifier.digit_classifier()
    eval_key, sample_key = jax.random.key(3), jax.random.key(4)

    def metrics(p):
        dtype = p.decoder[0][0].dtype
        x = jnp.asarray(d.heldout, dtype)
        keys = _point_keys(eval_key, x)
        bound = jnp.mean(jnp.stack([elbo(p, x, _noise(keys, i, s.latent, dtype)) for i in range(s.elbo_draws)]))
        xs = sample(sample_key, p, s.eval_samples)
        share = jnp.mean(jax.nn.one_hot(classifier.predict(clf, xs), 10, dtype=dtype), axis=0)
        entropy = -jnp.sum(jnp.where(share > 0, share * jnp.log(jnp.where(share > 0, share, 1.0)), 0.0))
        truth_d = jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype), truth)
        z0 = encode_mean(truth_d, xs)
        return {
            "heldout_nll": -bound,
            "pixel_var": jnp.mean(jnp.var(xs, axis=0)),
            "classes": jnp.sum(share >= CLASS_SHARE).astype(dtype),
            "class_perplexity": jnp.exp(entropy),
            "latent_var": jnp.sum(jnp.var(z0, axis=0)),
        }

    return metrics


@functools.lru_cache(maxsize=8)
def vae_estimator(
    *,
    hidden: int = 32,
    latent: int = 2,
    steps: int = 300,
    learning_rate: float = 2e-2,
    eval_samples: int = 256,
    elbo_draws: int = 4,
) -> Estimator:
    """The recursive VAE on digits as a user estimator (module docstring); one object per setting.

    Args:
        hidden: width of the encoder's and decoder's hidden layer.
        latent: latent dimension.
        steps: full-batch Adam steps per fit.
        learning_rate: the initial learning rate (cosine decay to a tenth of it over ``steps``).
        eval_samples: samples drawn for the sample metrics.
        elbo_draws: noise draws per held-out image for ``heldout_nll``.

    Returns:
        An :class:`~collapse_theory.families.user.Estimator` for ``ct.run``; generation 0 is the
        VAE fit to all training digits (trained here, once per setting and process).

    Raises:
        ImportError: optax or scikit-learn is missing (the message names the ``neural`` extra).
        ConfigError: a setting out of range.

    """
    for k, v in dict(
        hidden=hidden, latent=latent, steps=steps, eval_samples=eval_samples, elbo_draws=elbo_draws
    ).items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigError(f"vae_estimator: {k} must be a positive integer, got {v!r}")
    if not learning_rate > 0:
        raise ConfigError(f"vae_estimator: learning_rate must be positive, got {learning_rate!r}")
    s = _Settings(hidden, latent, steps, float(learning_rate), eval_samples, elbo_draws)
    fit = _make_fit(s)
    d = data.digits()
    train = jnp.asarray(d.train)
    truth, _ = jax.jit(fit)(train, jnp.ones(train.shape[0], train.dtype))
    truth = jax.tree_util.tree_map(np.asarray, truth)

    def real(key, n):
        if n > train.shape[0]:
            raise ConfigError(f"the VAE chain draws real digits without replacement: samples <= {train.shape[0]}")
        return train[jax.random.permutation(key, train.shape[0])[:n]]

    return estimator(
        sample=sample,
        fit=fit,
        truth=truth,
        metrics=_make_metrics(s, truth),
        name="vae-digits",
        real=real,
        fit_info=True,
        min_samples=2,
        batching="map",
        details={**dataclasses.asdict(s), "data": "sklearn load_digits, 1500 train / 297 held out", "batching": "map"},
    )
