"""StyleGAN (Karras et al. 2019; StyleGAN2's modulated convolution with model.style) under the
contract.

Networks: v101jax.models.stylegan's mapping + synthesis generator, ProGAN's discriminator at
the full resolution. One train_step is one D update and one G update:

  style mixing      every generated batch draws z₁, z₂; with probability
                    stylegan.style_mixing (0.9) an example takes the styles of layers below a
                    crossover drawn uniformly from 1 … num_ws − 1 from w₁ and the rest from
                    w₂, else w₁ throughout (per example; the papers draw one crossover per
                    batch)
  loss              stylegan.loss = "logistic" (the papers' FFHQ loss), non-saturating:
                    L_D = softplus(D(G(z))) + softplus(−D(x)), L_G = softplus(−D(G(z)));
                    or "wgan_gp" (StyleGAN's CelebA-HQ loss, ProGAN's): the critic loss with
                    gradient penalty λ stylegan.gradient_penalty and drift
                    stylegan.drift, L_G = −D(G(z))
  R1                γ/2 · E‖∇D(x)‖² on reals (stylegan.r1_gamma), lazily: on steps where
                    step % stylegan.r1_interval == 0 only, weighted by the interval so the
                    average strength is γ (StyleGAN2 §B; the term is added to that step's D
                    loss rather than taken as a separate update); with either loss, 0 = off
  path length       optional (stylegan.pl_weight > 0, StyleGAN2 §3.2): on steps where
                    step % stylegan.pl_interval == 0, the G loss adds
                    interval · weight · (‖J_wᵀ y‖ − a)², y ~ N(0, I)/√(H·W), a an
                    exponential mean of the lengths (decay stylegan.pl_decay) kept in G's
                    model state
  w_avg             the mapping network's mean w, β = stylegan.w_avg_beta (0.995), updated
                    from every G step's w₁ batch

Sampling: w = mapping(z), truncated towards w_avg by ψ = sample.truncation_psi in the first
sample.truncation_cutoff layers (0 = all), G's EMA weights unless sample.use_ema is off. The
`figures` hook draws the style-mixing grids (coarse and fine styles from other latents, as in
the paper's figure 3) and interpolations in w space; experiments.sample writes them.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from v101jax.algorithms.contract import Algorithm, check_no_inputs
from v101jax.algorithms.progan import validate_resolutions
from v101jax.core.errors import ConfigError, require_non_negative
from v101jax.core.train_state import MultiState, gradient_step, sampling_params
from v101jax.data import sample_shape
from v101jax.gan import losses, pair
from v101jax.models.progan import ProDiscriminator
from v101jax.models.stylegan import STYLES, StyleGenerator
from v101jax.nn.style import mix_styles
from v101jax.training import images as image_utils

LOSSES = ("logistic", "wgan_gp")
FIGURE_SOURCES = 6  # rows and columns of the style-mixing grids
INTERPOLATION_STEPS = 8


def make_networks(config):
    m, s = config.model, config.stylegan
    gen = StyleGenerator(
        widths=tuple(m.widths),
        channels=sample_shape(config.data)[-1],
        w_dim=m.w_dim,
        mapping_layers=m.mapping_layers,
        mapping_lr=m.mapping_lr,
        w_avg_beta=s.w_avg_beta,
        style=m.style,
    )
    disc = ProDiscriminator(widths=tuple(m.widths), group_size=m.minibatch_std)
    return gen, disc


def num_ws(config) -> int:
    return 2 * len(config.model.widths)


def validate(config):
    """ConfigError naming the field for values StyleGAN cannot use."""
    s, m = config.stylegan, config.model
    validate_resolutions(config, "StyleGAN")
    if m.style not in STYLES:
        raise ConfigError(f"model.style={m.style!r} is not one of: {', '.join(STYLES)}")
    if m.mapping_layers < 1 or m.w_dim < 1 or m.mapping_lr <= 0:
        raise ConfigError(
            f"model.mapping_layers={m.mapping_layers} and model.w_dim={m.w_dim} must be "
            f"≥ 1 and model.mapping_lr={m.mapping_lr} > 0"
        )
    if s.loss not in LOSSES:
        raise ConfigError(
            f"stylegan.loss={s.loss!r} is not one of: {', '.join(LOSSES)}"
        )
    if not 0.0 <= s.style_mixing <= 1.0:
        raise ConfigError(f"stylegan.style_mixing={s.style_mixing} must be in [0, 1]")
    if not 0.0 <= s.w_avg_beta < 1.0:
        raise ConfigError(f"stylegan.w_avg_beta={s.w_avg_beta} must be in [0, 1)")
    require_non_negative(
        config, "stylegan", ("r1_gamma", "pl_weight", "gradient_penalty", "drift")
    )
    for name in ("r1_interval", "pl_interval"):
        if s[name] < 1:
            raise ConfigError(f"stylegan.{name}={s[name]} must be ≥ 1")
    validate_sampling(config)


def validate_sampling(config):
    cutoff = config.sample.truncation_cutoff
    if not 0 <= cutoff <= num_ws(config):
        raise ConfigError(
            f"sample.truncation_cutoff={cutoff} must be in 0 … {num_ws(config)} (the "
            "generator's style layers; 0 truncates all)"
        )


def init(config, rng, example_batch) -> MultiState:
    """G (mapping, synthesis, w_avg in its "stats"), D, their optimisers and G's EMA."""
    validate(config)
    gen_model, disc_model = make_networks(config)
    g_key, d_key, noise_key = jax.random.split(rng, 3)
    x = example_batch["x"]
    z = jnp.zeros((x.shape[0], config.model.latent_dim), jnp.float32)
    gen_vars = dict(gen_model.init({"params": g_key, "noise": noise_key}, z))
    # The path lengths' running mean, beside the mapping network's w_avg.
    gen_vars["path_length"] = {"mean": jnp.zeros((), jnp.float32)}
    return pair.generator_and_discriminator(
        config, gen_model, gen_vars, disc_model, disc_model.init(d_key, x)
    )


def _gen_apply(gen, params, stats, method, *args, rngs=None, mutable=False, **kw):
    """G's `method` at `params` with the "stats" collection `stats` (w_avg)."""
    variables = {"params": params, "stats": stats}
    return gen.apply_fn(
        variables,
        *args,
        method=method,
        rngs=rngs,
        mutable=["stats"] if mutable else False,
        **kw,
    )


def mixed_styles(config, gen, params, stats, key, batch_size: int, *, update=False):
    """Per-layer styles [B, num_ws, w_dim] with style mixing, and the new "stats" (w_avg
    updated by w₁'s batch when `update`)."""
    m, s = config.model, config.stylegan
    z_key, z2_key, mix_key, cross_key = jax.random.split(key, 4)
    z1 = jax.random.normal(z_key, (batch_size, m.latent_dim), jnp.float32)
    z2 = jax.random.normal(z2_key, (batch_size, m.latent_dim), jnp.float32)
    w1, new = _gen_apply(
        gen, params, stats, "mapping", z1, update_w_avg=update, mutable=True
    )
    w2 = _gen_apply(gen, params, stats, "mapping", z2)
    layers = num_ws(config)
    crossover = jnp.where(
        jax.random.uniform(mix_key, (batch_size,)) < s.style_mixing,
        jax.random.randint(cross_key, (batch_size,), 1, layers),
        layers,
    )
    return mix_styles(w1, w2, crossover, layers), new["stats"]


def path_length_penalty(synthesize, ws, key, pl_mean, decay: float):
    """(penalty (‖J_wᵀ y‖ − a)² averaged over the batch, the lengths' new exponential mean a).

    ‖J_wᵀ y‖ of each example: y ~ N(0, I)/√(H·W) over the image, the gradient of Σ g(w)·y with
    respect to that example's styles, its squared entries summed over w_dim and averaged over
    the layers, then the square root (StyleGAN2's pl_lengths).
    """
    images = synthesize(ws)
    h, w = images.shape[1:3]
    y = jax.random.normal(key, images.shape, images.dtype) / np.sqrt(h * w)
    grads = jax.grad(lambda v: jnp.sum(synthesize(v) * y))(ws)
    lengths = jnp.sqrt(jnp.mean(jnp.sum(jnp.square(grads), axis=2), axis=1))
    new_mean = pl_mean + decay * (jnp.mean(lengths) - pl_mean)
    penalty = jnp.mean(jnp.square(lengths - jax.lax.stop_gradient(new_mean)))
    return penalty, new_mean


def train_step(config, state: MultiState, batch, rng):
    """One D update (stylegan.loss + lazy R1), then one G update (+ optional path length),
    both on freshly mixed styles.

    Keys: fold_in(rng, step) split into D's styles and noise, the gradient penalty's
    interpolation weights, G's styles and noise, and the path-length projection.
    """
    s = config.stylegan
    gen, disc = state["gen"], state["disc"]
    step = state.step
    stats, pl_mean = gen.model_state["stats"], gen.model_state["path_length"]["mean"]
    keys = jax.random.split(jax.random.fold_in(rng, step), 6)
    d_style_key, d_noise_key, gp_key, g_style_key, g_noise_key, pl_key = keys
    real = batch["x"]
    b = real.shape[0]

    def synthesize(params, ws, key):
        return _gen_apply(gen, params, stats, "synthesis", ws, rngs={"noise": key})

    def score(params, x):
        return disc.apply_fn({"params": params}, x)

    d_ws, _ = mixed_styles(config, gen, gen.params, stats, d_style_key, b)
    fake = jax.lax.stop_gradient(synthesize(gen.params, d_ws, d_noise_key))
    r1_step = step % s.r1_interval == 0

    def d_loss_fn(params):
        if s.loss == "wgan_gp":
            adversarial, scalars = losses.progressive_critic_loss(
                lambda v: score(params, v),
                real,
                fake,
                gp_key,
                gradient_weight=s.gradient_penalty,
                drift=s.drift,
            )
        else:
            real_scores, fake_scores = score(params, real), score(params, fake)
            adversarial = losses.discriminator_loss(
                "non_saturating", real_scores, fake_scores
            )
            scalars = {
                "d_real": jnp.mean(real_scores),
                "d_fake": jnp.mean(fake_scores),
            }
        if s.r1_gamma > 0:
            r1 = jax.lax.cond(
                r1_step,
                lambda: losses.r1_penalty(lambda v: score(params, v), real),
                lambda: jnp.zeros((), jnp.float32),
            )
        else:
            r1 = jnp.zeros((), jnp.float32)
        loss = adversarial + 0.5 * s.r1_gamma * s.r1_interval * r1
        scalars["d_loss"] = loss
        if s.r1_gamma > 0:
            # R1 of the last regularised step is what a log line should show.
            scalars["r1_penalty"] = r1
        return loss, {"scalars": scalars}

    disc, d_metrics, _ = gradient_step(disc, d_loss_fn)
    pl_step = step % s.pl_interval == 0

    def g_loss_fn(params):
        ws, new_stats = mixed_styles(
            config, gen, params, stats, g_style_key, b, update=True
        )
        new_state = {
            "stats": jax.tree.map(jax.lax.stop_gradient, new_stats),
            "path_length": {"mean": pl_mean},
        }
        adversarial = losses.generator_loss(
            "wasserstein" if s.loss == "wgan_gp" else "non_saturating",
            score(disc.params, synthesize(params, ws, g_noise_key)),
        )
        loss = adversarial
        scalars = {"g_loss": adversarial}
        if s.pl_weight > 0:

            def with_penalty():
                return path_length_penalty(
                    functools.partial(synthesize, params, key=g_noise_key),
                    ws,
                    pl_key,
                    pl_mean,
                    s.pl_decay,
                )

            def without():
                return jnp.zeros((), jnp.float32), pl_mean

            penalty, new_mean = jax.lax.cond(pl_step, with_penalty, without)
            loss = loss + s.pl_interval * s.pl_weight * penalty
            new_state["path_length"] = {"mean": jax.lax.stop_gradient(new_mean)}
            scalars["path_length_penalty"] = penalty
            scalars["pl_mean"] = new_mean
        return loss, {"scalars": scalars, "model_state": new_state}

    gen, g_metrics, _ = gradient_step(gen, g_loss_fn)
    metrics = pair.step_metrics(d_metrics, g_metrics, gen, disc)
    return state.replace_networks(gen=gen, disc=disc), metrics


def styles(config, state: MultiState, z, *, psi=None):
    """Per-layer styles [N, num_ws, w_dim] of latents z [N, latent_dim], truncated by ψ
    (default sample.truncation_psi) in the first sample.truncation_cutoff layers."""
    gen = state["gen"]
    params = sampling_params(gen, config.sample.use_ema)
    stats = gen.model_state["stats"]
    w = _gen_apply(gen, params, stats, "mapping", z)
    ws = jnp.repeat(w[:, None], num_ws(config), axis=1)
    psi = config.sample.truncation_psi if psi is None else psi
    cutoff = config.sample.truncation_cutoff or num_ws(config)
    return _gen_apply(gen, params, stats, "truncated", ws, psi, cutoff)


def synthesize(config, state: MultiState, ws, rng):
    """Images [N, H, W, C] of per-layer styles ws, noise from `rng`."""
    gen = state["gen"]
    params = sampling_params(gen, config.sample.use_ema)
    return _gen_apply(
        gen, params, gen.model_state["stats"], "synthesis", ws, rngs={"noise": rng}
    )


def sample(config, state: MultiState, rng, num_samples: int, *, inputs=None):
    """G(z), z ~ N(0, I), with truncation (sample.truncation_psi, truncation_cutoff) and no
    style mixing; NHWC in [-1, 1] (unclipped)."""
    check_no_inputs(config, inputs)
    validate_sampling(config)
    z_key, noise_key = jax.random.split(rng)
    z = jax.random.normal(z_key, (num_samples, config.model.latent_dim), jnp.float32)
    return synthesize(config, state, styles(config, state, z), noise_key)


def _render(config, state, ws, rng) -> np.ndarray:
    """Images of styles ws [N, num_ws, w_dim] as uint8, all with the same noise (each image
    synthesised as a batch of one under vmap, with one key), compiled once per figure."""

    def render(state, ws):
        one = functools.partial(synthesize, config, state, rng=rng)
        return jax.vmap(lambda w: one(w[None])[0])(ws)

    return image_utils.to_uint8(np.asarray(jax.jit(render)(state, ws)))


def style_mixing_grid(config, state, rng, from_columns) -> np.ndarray:
    """The paper's figure 3: a top row of column sources, a left column of row sources, and
    in cell (i, j) the image whose styles come from column source j in the layers where
    `from_columns` [num_ws] is True and from row source i elsewhere; one noise for all."""
    n = FIGURE_SOURCES
    z_key, noise_key = jax.random.split(rng)
    z = jax.random.normal(z_key, (2 * n, config.model.latent_dim), jnp.float32)
    ws = styles(config, state, z)
    rows, cols = ws[:n], ws[n:]
    mask = jnp.asarray(from_columns)[None, None, :, None]
    cells = jnp.where(mask, cols[None], rows[:, None])  # [row, column, L, D]
    pictures = _render(
        config,
        state,
        jnp.concatenate([ws, cells.reshape((-1,) + ws.shape[1:])]),
        noise_key,
    )
    row_images, col_images = pictures[:n], pictures[n : 2 * n]
    cell_images = pictures[2 * n :].reshape((n, n) + pictures.shape[1:])
    blank = np.full_like(row_images[:1], 255)
    top = np.concatenate([blank, col_images])
    body = np.concatenate([row_images[:, None], cell_images], axis=1)
    grid = np.concatenate([top[None], body]).reshape((-1,) + pictures.shape[1:])
    return image_utils.make_grid(grid, num_cols=n + 1)


def w_interpolation_grid(config, state, rng) -> np.ndarray:
    """One row per pair of latents: images of (1 − t)·w_a + t·w_b (after truncation), t from
    0 to 1; one noise for all."""
    n, steps = FIGURE_SOURCES, INTERPOLATION_STEPS
    z_key, noise_key = jax.random.split(rng)
    z = jax.random.normal(z_key, (2 * n, config.model.latent_dim), jnp.float32)
    ws = styles(config, state, z)
    t = jnp.linspace(0.0, 1.0, steps)[None, :, None, None]
    path = ws[:n, None] + t * (ws[n:, None] - ws[:n, None])  # [n, steps, L, D]
    pictures = _render(config, state, path.reshape((-1,) + ws.shape[1:]), noise_key)
    return image_utils.make_grid(pictures, num_cols=steps)


def figures(config, state: MultiState, rng) -> dict:
    """{"style_mixing_coarse", "style_mixing_fine", "w_interpolation"} → uint8 pictures.
    Coarse styles are those of the 4×4 and 8×8 levels (the first four layers), fine the
    rest."""
    validate_sampling(config)
    layers = num_ws(config)
    coarse = np.arange(layers) < min(4, layers // 2)
    keys = jax.random.split(rng, 3)
    return {
        "style_mixing_coarse": style_mixing_grid(config, state, keys[0], coarse),
        "style_mixing_fine": style_mixing_grid(config, state, keys[1], ~coarse),
        "w_interpolation": w_interpolation_grid(config, state, keys[2]),
    }


ALGORITHM = Algorithm(
    name="stylegan",
    init=init,
    train_step=train_step,
    sample=sample,
    sample_options=("truncation_psi",),
    figures=figures,
)
