"""Autoencoders (AE) and variational autoencoders (VAE, β-VAE) under the algorithm contract.

`config.autoencoder.kind` picks the model:
  ae   a deterministic encoder; loss = reconstruction error (MSE for the Gaussian likelihood,
       BCE for the Bernoulli one), averaged over pixels.
  vae  a Gaussian encoder q(z|x) = N(μ, diag σ²) (Kingma & Welling 2014); loss = −ELBO per
       image in nats, −E_q[log p(x|z)] + β·KL(q(z|x) ‖ N(0, I)) with the closed-form KL and
       the reparameterisation z = μ + σ·ε; β > 1 is β-VAE (Higgins et al. 2017); the KL weight
       can ramp linearly from 0 to β over `kl_warmup_steps` (Bowman et al. 2016).

Likelihoods (`config.autoencoder.likelihood`), for images x ∈ [-1, 1]:
  bernoulli  the decoder outputs logits; the targets are the intensities (x + 1) / 2 ∈ [0, 1]
             (the usual "BCE" on grey-level images: log p(x|z) = −BCE ≤ 0).
  gaussian   the decoder outputs means; a learned per-channel log σ (VAE) or a fixed σ = 1
             (AE: the loss is the MSE).
With `config.autoencoder.spatial` the latent is a map [h, w, latent_dim] (h, w = the image size
halved per stage of model.channel_mult) instead of a vector: latent diffusion's first stage.
With `autoencoder.adversarial_weight` > 0 a PatchGAN discriminator (Pix2Pix's, on the image
alone) judges the reconstructions from step `disc_start` on, as in LDM's autoencoder: hinge
loss for D; for the autoencoder −E D(x̂) with LDM's adaptive weight λ = ‖∇L_rec‖ / ‖∇L_adv‖
(gradients at the decoder's last layer, clipped to [0, 10⁴]) times adversarial_weight. The
state is then a MultiState {"ae", "disc"}.
Evaluation: `elbo` and the importance-weighted bound `iwae_log_likelihood` (Burda et al. 2016)
per image in nats, and `bits_per_dim`.
"""

import functools
import math

import jax
import jax.numpy as jnp
import optax

from v101jax.algorithms.contract import Algorithm, check_no_inputs
from v101jax.core import optim, precision, train_state
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import MultiState, TrainState, gradient_step
from v101jax.data import sample_shape
from v101jax.gan import losses as gan_losses
from v101jax.metrics import image_quality
from v101jax.models.autoencoder import Autoencoder, latent_grid_shape

KINDS = ("ae", "vae")
LIKELIHOODS = ("bernoulli", "gaussian")
# Running statistics of AE latents, used to sample from a plain AE.
LATENT_STATS_DECAY = 0.99


def _validate(config):
    cfg = config.autoencoder
    if cfg.kind not in KINDS:
        raise ConfigError(f"autoencoder.kind={cfg.kind!r} is not one of: ae, vae")
    if cfg.likelihood not in LIKELIHOODS:
        raise ConfigError(
            f"autoencoder.likelihood={cfg.likelihood!r} is not one of: bernoulli, gaussian"
        )
    if cfg.beta < 0:
        raise ConfigError(f"autoencoder.beta={cfg.beta} must be ≥ 0")
    if cfg.kl_warmup_steps < 0:
        raise ConfigError(
            f"autoencoder.kl_warmup_steps={cfg.kl_warmup_steps} must be ≥ 0"
        )
    if cfg.latent_dim < 1:
        raise ConfigError(f"autoencoder.latent_dim={cfg.latent_dim} must be ≥ 1")
    if cfg.num_importance_samples < 1:
        raise ConfigError(
            f"autoencoder.num_importance_samples={cfg.num_importance_samples} must be ≥ 1"
        )
    if len(sample_shape(config.data)) != 3:
        raise ConfigError(
            f"data.source={config.data.source!r}: autoencoders need images"
        )
    if cfg.get("adversarial_weight", 0.0) < 0 or cfg.get("disc_start", 0) < 0:
        raise ConfigError(
            f"autoencoder.adversarial_weight={cfg.adversarial_weight} and "
            f"autoencoder.disc_start={cfg.disc_start} must be ≥ 0"
        )


def stage_widths(model_cfg) -> tuple[int, ...]:
    """Encoder stage widths: model.channels × each of model.channel_mult."""
    return tuple(model_cfg.channels * m for m in model_cfg.channel_mult)


def latent_shape(config) -> tuple[int, ...]:
    """Shape of one latent: (latent_dim,), or (h, w, latent_dim) for spatial latents."""
    d = config.autoencoder.latent_dim
    if not config.autoencoder.get("spatial", False):
        return (d,)
    grid = latent_grid_shape(sample_shape(config.data), len(config.model.channel_mult))
    return (*grid, d)


def make_model(config) -> Autoencoder:
    _validate(config)
    return Autoencoder(
        image_shape=sample_shape(config.data),
        channels=stage_widths(config.model),
        latent_dim=config.autoencoder.latent_dim,
        flatten=len(latent_shape(config)) == 1,
        gaussian_encoder=config.autoencoder.kind == "vae",
        dtype=precision.compute_dtype(config.model.dtype),
    )


def is_adversarial(config) -> bool:
    return config.autoencoder.get("adversarial_weight", 0.0) > 0


def make_discriminator(config):
    from v101jax.models.pix2pix import PatchDiscriminator

    return PatchDiscriminator(
        channels=config.model.channels,
        num_strided=config.autoencoder.disc_layers,
        dtype=precision.compute_dtype(config.model.dtype),
    )


def network(state) -> TrainState:
    """The autoencoder's own TrainState (of a MultiState when it trains with a D)."""
    return state["ae"] if isinstance(state, MultiState) else state


def init(config, rng, example_batch) -> TrainState | MultiState:
    """Builds the autoencoder, its optimiser and EMA; params = {"net", "log_scale"}; with an
    adversarial term also the PatchGAN and its optimiser (a MultiState {"ae", "disc"})."""
    ae = _init_autoencoder(config, rng, example_batch)
    if not is_adversarial(config):
        return ae
    disc_model = make_discriminator(config)
    x = example_batch["x"]
    disc = TrainState.create(
        apply_fn=disc_model.apply,
        params=disc_model.init(jax.random.fold_in(rng, 1), None, x, train=False)[
            "params"
        ],
        tx=optim.make_optimizer(config.optim, config.train.num_steps),
    )
    return MultiState(networks={"ae": ae, "disc": disc}, primary="ae")


def _init_autoencoder(config, rng, example_batch) -> TrainState:
    model = make_model(config)
    net = model.init(rng, example_batch["x"])["params"]
    channels = sample_shape(config.data)[-1]
    params = {"net": net, "log_scale": jnp.zeros((channels,), jnp.float32)}
    d = config.autoencoder.latent_dim
    latent_stats = {
        "latent_mean": jnp.zeros((d,), jnp.float32),
        "latent_var": jnp.ones((d,), jnp.float32),
    }
    return TrainState.create(
        apply_fn=model.apply,
        params=params,
        tx=optim.make_optimizer(config.optim, config.train.num_steps),
        model_state=latent_stats,
        ema_decay=config.optim.ema_decay,
        ema_warmup=config.optim.ema_warmup,
    )


# ---------------------------------------------------------------------------------------------
# Distributions


def reparameterize(rng, mean, log_var):
    """z = μ + σ·ε, ε ~ N(0, I), σ = exp(½ log σ²): differentiable in μ and log σ²."""
    eps = jax.random.normal(rng, mean.shape, mean.dtype)
    return mean + jnp.exp(0.5 * log_var) * eps


def _latent_axes(z):
    return tuple(range(1, z.ndim))  # every axis but the batch: vector or map latents


def kl_standard_normal(mean, log_var):
    """KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1), per example [B]."""
    return 0.5 * jnp.sum(
        mean**2 + jnp.exp(log_var) - log_var - 1.0, axis=_latent_axes(mean)
    )


def gaussian_log_density(z, mean, log_var):
    """log N(z; μ, diag σ²) per example [B], summed over the latent's axes."""
    return -0.5 * jnp.sum(
        math.log(2 * math.pi) + log_var + (z - mean) ** 2 / jnp.exp(log_var),
        axis=_latent_axes(z),
    )


def log_likelihood(likelihood: str, decoder_out, x, log_scale):
    """log p(x | z) per example [B], summed over pixels, in nats.

    bernoulli: decoder_out are logits, targets t = (x + 1)/2: Σ t·log σ(l) + (1−t)·log σ(−l).
    gaussian: decoder_out are means, per-channel log σ = log_scale [C].
    """
    axes = tuple(range(1, x.ndim))
    if likelihood == "bernoulli":
        targets = (x + 1.0) / 2.0
        return -jnp.sum(
            optax.sigmoid_binary_cross_entropy(decoder_out, targets), axis=axes
        )
    return jnp.sum(
        -0.5 * math.log(2 * math.pi)
        - log_scale
        - 0.5 * ((x - decoder_out) / jnp.exp(log_scale)) ** 2,
        axis=axes,
    )


def decoder_mean(likelihood: str, decoder_out):
    """The decoder's mean image in [-1, 1]: 2σ(logits) − 1 (Bernoulli) or the clipped mean."""
    if likelihood == "bernoulli":
        return 2.0 * jax.nn.sigmoid(decoder_out) - 1.0
    return jnp.clip(decoder_out, -1.0, 1.0)


def kl_weight(step, beta: float, warmup_steps: int):
    """β·min(1, step / warmup_steps) (linear KL annealing), β when warmup_steps = 0."""
    if warmup_steps <= 0:
        return jnp.asarray(beta, jnp.float32)
    ramp = jnp.minimum(1.0, jnp.asarray(step, jnp.float32) / warmup_steps)
    return beta * ramp


def bits_per_dim(nats, config):
    """Negative log-likelihood per image in nats → bits per dimension.

    For the Gaussian likelihood the density of x ∈ [-1, 1] is moved to the 8-bit scale
    u = 127.5·(x + 1) (log p_u = log p_x − D·log 127.5) so the figure is comparable with the
    literature's bits/dim; the Bernoulli likelihood is a probability already.
    """
    dims = math.prod(sample_shape(config.data))
    if config.autoencoder.likelihood == "gaussian":
        nats = nats + dims * math.log(127.5)
    return nats / (dims * math.log(2.0))


# ---------------------------------------------------------------------------------------------
# Losses and bounds


def _apply(apply_fn, params, method, *args):
    return apply_fn({"params": params["net"]}, *args, method=method)


def loss_fn(params, apply_fn, config, batch, rng, step):
    """The training loss and its scalars.

    Returns:
      (loss, aux) with aux = {"scalars": {...}, "latents": z or μ [B, d], "recon": the
      mean reconstruction in [-1, 1]}.
    """
    cfg = config.autoencoder
    x = batch["x"]
    if cfg.kind == "ae":
        z = _apply(apply_fn, params, Autoencoder.encode, x)
        out = _apply(apply_fn, params, Autoencoder.decode, z)
        if cfg.likelihood == "bernoulli":
            loss = jnp.mean(optax.sigmoid_binary_cross_entropy(out, (x + 1.0) / 2.0))
        else:
            loss = jnp.mean((out - x) ** 2)
        recon = decoder_mean(cfg.likelihood, out)
        mse = jnp.mean((recon - x) ** 2)
        scalars = {"loss": loss, "recon_mse": mse}
        return loss, {"scalars": scalars, "latents": z, "recon": recon}
    mean, log_var = _apply(apply_fn, params, Autoencoder.encode, x)
    z = reparameterize(rng, mean, log_var)
    out = _apply(apply_fn, params, Autoencoder.decode, z)
    rec = log_likelihood(cfg.likelihood, out, x, params["log_scale"])  # [B]
    kl = kl_standard_normal(mean, log_var)  # [B]
    weight = kl_weight(step, cfg.beta, cfg.kl_warmup_steps)
    loss = jnp.mean(-rec + weight * kl)
    recon = decoder_mean(cfg.likelihood, out)
    scalars = {
        "loss": loss,
        "elbo": jnp.mean(rec - kl),
        "recon_nll": -jnp.mean(rec),
        "kl": jnp.mean(kl),
        "kl_weight": weight,
        "recon_mse": jnp.mean((recon - x) ** 2),
    }
    return loss, {"scalars": scalars, "latents": mean, "recon": recon}


def _last_decoder_layer(tree):
    """The decoder's last convolution (its output layer) in a params-shaped tree."""
    decoder = tree["net"]["decoder"]
    last = max((k for k in decoder if k.startswith("Conv_")), key=lambda k: int(k[5:]))
    return decoder[last]


def adaptive_weight(rec_grads, adv_grads, max_weight: float = 1e4):
    """LDM's λ = ‖∇L_rec‖ / (‖∇L_adv‖ + 10⁻⁴) at the decoder's last layer, clipped to
    [0, max_weight] and held constant (no gradient through it)."""
    rec = optax.tree.norm(_last_decoder_layer(rec_grads))
    adv = optax.tree.norm(_last_decoder_layer(adv_grads))
    return jax.lax.stop_gradient(jnp.clip(rec / (adv + 1e-4), 0.0, max_weight))


def train_step(config, state, batch, rng):
    """One optimiser step (and one of the discriminator, when there is one). Keys:
    fold_in(rng, step)."""
    if is_adversarial(config):
        return _adversarial_step(config, state, batch, rng)
    step_key = jax.random.fold_in(rng, state.step)
    new_state, metrics, aux = gradient_step(
        state,
        functools.partial(loss_fn, apply_fn=state.apply_fn, config=config),
        batch=batch,
        rng=step_key,
        step=state.step,
    )
    return _with_latent_stats(state, new_state, aux["latents"]), metrics


def _adversarial_step(config, state: MultiState, batch, rng):
    cfg = config.autoencoder
    ae, disc = state["ae"], state["disc"]
    step_key = jax.random.fold_in(rng, ae.step)
    on = (ae.step >= cfg.disc_start).astype(jnp.float32)  # LDM's disc_start

    def rec_loss(params):
        return loss_fn(params, ae.apply_fn, config, batch, step_key, ae.step)

    def adv_loss(params):
        # The same reconstruction (same key) as the reconstruction loss's, judged by D.
        _, aux = rec_loss(params)
        logits = disc.apply_fn({"params": disc.params}, None, aux["recon"], train=True)
        return gan_losses.generator_loss("hinge", logits.reshape(len(logits), -1))

    (_, aux), rec_grads = jax.value_and_grad(rec_loss, has_aux=True)(ae.params)
    g_adv, adv_grads = jax.value_and_grad(adv_loss)(ae.params)
    weight = adaptive_weight(rec_grads, adv_grads) * cfg.adversarial_weight * on
    grads = jax.tree.map(lambda r, a: r + weight * a, rec_grads, adv_grads)
    new_ae = ae.apply_gradients(grads)
    metrics = dict(aux["scalars"])
    metrics.update(
        g_adversarial_loss=g_adv,
        adaptive_weight=weight,
        grad_norm=optax.tree.norm(grads),
        learning_rate=optim.current_learning_rate(new_ae.opt_state),
    )

    recon = jax.lax.stop_gradient(aux["recon"])

    def disc_loss(params):
        score = lambda x: disc.apply_fn({"params": params}, None, x, train=True)
        real, fake = score(batch["x"]), score(recon)
        loss = gan_losses.discriminator_loss("hinge", real, fake) * on
        return loss, {
            "scalars": {"d_loss": loss, "d_real": real.mean(), "d_fake": fake.mean()}
        }

    new_disc, d_metrics, _ = gradient_step(disc, disc_loss)
    metrics.update(
        d_loss=d_metrics["d_loss"],
        d_real=d_metrics["d_real"],
        d_fake=d_metrics["d_fake"],
        d_grad_norm=d_metrics["grad_norm"],
    )
    new_ae = _with_latent_stats(ae, new_ae, aux["latents"])
    return state.replace_networks(ae=new_ae, disc=new_disc), metrics


def _with_latent_stats(state: TrainState, new_state: TrainState, latents):
    # Running moments of the (mean) latents, per latent channel (over the batch and, for
    # maps, the positions): a plain AE samples from N(mean, diag var).
    z = jax.lax.stop_gradient(latents)
    axes = tuple(range(z.ndim - 1))
    stats = state.model_state
    model_state = {
        "latent_mean": optax.incremental_update(
            jnp.mean(z, axes), stats["latent_mean"], 1 - LATENT_STATS_DECAY
        ),
        "latent_var": optax.incremental_update(
            jnp.var(z, axes), stats["latent_var"], 1 - LATENT_STATS_DECAY
        ),
    }
    return new_state.replace(model_state=model_state)


def sampling_params(config, state):
    return train_state.sampling_params(network(state), config.sample.use_ema)


def elbo(config, params, apply_fn, x, rng):
    """One-sample ELBO per image [B] in nats: log p(x|z) − KL(q(z|x) ‖ p(z)), z ~ q(z|x)."""
    mean, log_var = _apply(apply_fn, params, Autoencoder.encode, x)
    z = reparameterize(rng, mean, log_var)
    out = _apply(apply_fn, params, Autoencoder.decode, z)
    rec = log_likelihood(config.autoencoder.likelihood, out, x, params["log_scale"])
    return rec - kl_standard_normal(mean, log_var)


def iwae_log_likelihood(config, params, apply_fn, x, rng, num_samples: int):
    """The importance-weighted bound L_k ≤ log p(x) per image [B] in nats (Burda et al. 2016):

    L_k = log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x).
    L_1 is the ELBO in expectation and L_k grows with k towards log p(x). The k decoder passes
    run one after another (lax.map) to bound memory.
    """
    mean, log_var = _apply(apply_fn, params, Autoencoder.encode, x)
    zeros = jnp.zeros_like(mean)

    def log_weight(key):
        z = reparameterize(key, mean, log_var)
        out = _apply(apply_fn, params, Autoencoder.decode, z)
        rec = log_likelihood(config.autoencoder.likelihood, out, x, params["log_scale"])
        log_prior = gaussian_log_density(z, zeros, zeros)
        return rec + log_prior - gaussian_log_density(z, mean, log_var)

    weights = jax.lax.map(log_weight, jax.random.split(rng, num_samples))  # [k, B]
    return jax.scipy.special.logsumexp(weights, axis=0) - math.log(num_samples)


def evaluate(config, state: TrainState, batch, rng):
    """Per-batch figures for a held-out batch: reconstruction MSE/PSNR and, for a VAE, the
    ELBO and importance-weighted bound (nats per image) and their bits/dim. Averages over the
    batch; jit-able.
    """
    params = sampling_params(config, state)
    x = batch["x"]
    recon = reconstruct(config, state, x)
    mse = jnp.mean((recon - x) ** 2, axis=(1, 2, 3))
    figures = {
        "recon_mse": jnp.mean(mse),
        "psnr": jnp.mean(image_quality.psnr(recon, x, data_range=2.0)),
        "ssim": jnp.mean(image_quality.ssim(recon, x, data_range=2.0)),
    }
    if config.autoencoder.kind == "vae":
        elbo_key, iwae_key = jax.random.split(rng)
        apply_fn = network(state).apply_fn
        e = elbo(config, params, apply_fn, x, elbo_key)
        k = config.autoencoder.num_importance_samples
        iw = iwae_log_likelihood(config, params, apply_fn, x, iwae_key, k)
        figures.update(
            elbo=jnp.mean(e),
            iwae=jnp.mean(iw),
            elbo_bits_per_dim=bits_per_dim(-jnp.mean(e), config),
            iwae_bits_per_dim=bits_per_dim(-jnp.mean(iw), config),
        )
    return figures


# ---------------------------------------------------------------------------------------------
# Encode / decode / sample (images in [-1, 1])


def encode(config, state: TrainState, x):
    """Latents [B, d] (or [B, h, w, d]) of images: z for an AE, the posterior mean μ for a
    VAE."""
    out = _apply(
        network(state).apply_fn, sampling_params(config, state), Autoencoder.encode, x
    )
    return out[0] if config.autoencoder.kind == "vae" else out


def decode(config, state: TrainState, z):
    """Mean images in [-1, 1] of latents z [B, d] (or [B, h, w, d])."""
    out = _apply(
        network(state).apply_fn, sampling_params(config, state), Autoencoder.decode, z
    )
    return decoder_mean(config.autoencoder.likelihood, out)


def reconstruct(config, state: TrainState, x):
    return decode(config, state, encode(config, state, x))


def latent_prior(config, state: TrainState):
    """(mean, std) [d] of the distribution `sample` draws latents from (per channel of a
    latent map): N(0, I) for a VAE, the running moments of the encoder's latents for an AE."""
    d = config.autoencoder.latent_dim
    if config.autoencoder.kind == "vae":
        return jnp.zeros((d,)), jnp.ones((d,))
    stats = network(state).model_state
    return stats["latent_mean"], jnp.sqrt(stats["latent_var"])


def sample(config, state: TrainState, rng, num_samples: int, *, inputs=None):
    """Decodes latents from `latent_prior` (VAE: z ~ N(0, I)) to mean images [N, H, W, C];
    unconditional (`inputs` must be None)."""
    check_no_inputs(config, inputs)
    mean, std = latent_prior(config, state)
    eps = jax.random.normal(rng, (num_samples,) + latent_shape(config))
    return decode(config, state, mean + std * eps)


ALGORITHM = Algorithm(
    name="autoencoder",
    init=init,
    train_step=train_step,
    sample=sample,
    evaluate=evaluate,
    encode=encode,
    decode=decode,
    latent_prior=latent_prior,
)
