"""Latent diffusion: with an identity first stage it is pixel diffusion step for step; the
latent scale gives unit-variance training latents; the first stage's round trip survives the
scaling; a run resumes exactly and samples after the autoencoder's workdir is gone."""

import functools
import shutil
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.common import load_config
from tests.algorithms.translation_data import (  # noqa: F401 - autouse fixture
    fast_compiling_keys,
    fast_compiling_keys_fixture,
    tiny_fashion_mnist,
)
from v101jax.algorithms import autoencoder, diffusion, latent_diffusion
from v101jax.core.errors import ConfigError
from v101jax.core.train_state import MultiState
from v101jax.data import load_dataset
from v101jax.training.export import load_run_config, load_state
from v101jax.training.loop import example_batch, train_and_evaluate


def _leaves(state):
    return [np.asarray(x) for x in jax.tree.leaves(state.checkpoint_tree())]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A smoke autoencoder (latent maps) and a 4-step smoke LDM on top of it, checkpointed
    at steps 2 and 4."""
    root = tmp_path_factory.mktemp("ldm")
    data_dir = root / "fashion"
    data_dir.mkdir()
    tiny_fashion_mnist(data_dir)
    data = {"data.fashion_mnist_dir": str(data_dir)}
    with fast_compiling_keys():
        ae_config = load_config("configs/ldm_autoencoder.py:smoke", data)
        train_and_evaluate(ae_config, str(root / "ae"))
        config = load_config(
            "configs/ldm.py:smoke",
            {
                **data,
                "ldm.autoencoder_workdir": str(root / "ae"),
                "ldm.scale_examples": 40,
                "train.num_steps": 4,
            },
        )
        state = train_and_evaluate(config, str(root / "ldm"))
    return root, config, state


def test_identity_first_stage_is_pixel_diffusion(monkeypatch):
    """The LDM step and sampler on an identity codec equal the pixel algorithm's, bitwise:
    the same loss, keys and updates; only the arrays they run on differ."""
    config = load_config("configs/ddpm.py:smoke")
    batch = example_batch(config, 8)
    batch["x"] = jax.random.uniform(jax.random.PRNGKey(3), batch["x"].shape) * 2 - 1
    rng = jax.random.PRNGKey(1)
    pixel = diffusion.init(config, jax.random.PRNGKey(0), batch)
    state = MultiState(networks={"denoiser": pixel}, frozen={}, primary="denoiser")
    monkeypatch.setattr(latent_diffusion, "to_latents", lambda c, s, x: x)
    monkeypatch.setattr(latent_diffusion, "from_latents", lambda c, s, z: z)
    monkeypatch.setattr(latent_diffusion, "autoencoder_config", lambda c: c)
    monkeypatch.setattr(
        latent_diffusion,
        "first_stage_module",
        lambda c: types.SimpleNamespace(latent_shape=lambda c: batch["x"].shape[1:]),
    )

    want, want_metrics = jax.jit(functools.partial(diffusion.train_step, config))(
        pixel, batch, rng
    )
    got, got_metrics = jax.jit(functools.partial(latent_diffusion.train_step, config))(
        state, batch, rng
    )
    assert float(got_metrics["loss"]) == float(want_metrics["loss"])
    for x, y in zip(
        jax.tree.leaves(want.params),
        jax.tree.leaves(got["denoiser"].params),
        strict=True,
    ):
        np.testing.assert_array_equal(x, y)
    key = jax.random.PRNGKey(5)
    np.testing.assert_array_equal(
        latent_diffusion.sample(config, state, key, 3),
        diffusion.sample(config, pixel, key, 3),
    )


def test_latent_scale_gives_unit_variance_training_latents(runs):
    root, config, state = runs
    resolved = load_run_config(str(root / "ldm"), config)
    ae_config = resolved.ldm.autoencoder
    ae_state = load_state(ae_config, str(root / "ae"))
    images = load_dataset(config.data)["x"][:40]
    z = np.asarray(autoencoder.encode(ae_config, ae_state, jnp.asarray(images)))
    assert z.shape[1:] == (14, 14, 2)  # smoke: one stage, 2 latent channels
    scale = float(state["latent_scale"])
    assert scale == pytest.approx(1.0 / z.std(), rel=1e-4)
    assert (z * scale).std() == pytest.approx(1.0, rel=1e-4)

    # The round trip undoes the scale: the LDM's view of the first stage reconstructs what
    # the autoencoder itself does.
    ldm_recon = latent_diffusion.from_latents(
        resolved, state, latent_diffusion.to_latents(resolved, state, images)
    )
    ae_recon = autoencoder.reconstruct(ae_config, ae_state, images)
    np.testing.assert_allclose(ldm_recon, ae_recon, atol=1e-5)
    figures = latent_diffusion.evaluate(
        resolved,
        state,
        {"x": images, "label": np.zeros(40, np.int32)},
        jax.random.PRNGKey(0),
    )
    # experiments.reconstruct passes images alone: the same figures (unconditional model).
    alone = latent_diffusion.evaluate(
        resolved, state, {"x": images}, jax.random.PRNGKey(0)
    )
    assert set(alone) == set(figures)
    mse = float(jnp.mean((ae_recon - images) ** 2))
    assert float(figures["first_stage_mse"]) == pytest.approx(mse, rel=1e-5)
    assert np.isfinite(float(figures["latent_loss"]))


def test_resumes_exactly_and_samples_without_the_autoencoder(runs, tmp_path):
    root, config, straight = runs
    resumed_dir = tmp_path / "resumed"
    shutil.copytree(root / "ldm", resumed_dir)
    shutil.rmtree(resumed_dir / "checkpoints" / "4")
    moved = tmp_path / "ae_moved"
    shutil.move(root / "ae", moved)  # the resume must not read the first stage again
    try:
        with fast_compiling_keys():
            resumed = train_and_evaluate(
                load_run_config(str(resumed_dir), config), str(resumed_dir)
            )
            for x, y in zip(_leaves(straight), _leaves(resumed), strict=True):
                np.testing.assert_array_equal(x, y)
            run_config = load_run_config(str(resumed_dir), config)
            state = load_state(run_config, str(resumed_dir))
            images = jax.jit(
                functools.partial(latent_diffusion.sample, run_config),
                static_argnums=2,
            )(state, jax.random.PRNGKey(0), 4)
    finally:
        shutil.move(moved, root / "ae")
    assert images.shape == (4, 28, 28, 1)
    assert np.all(np.isfinite(images)) and np.abs(images).max() <= 1.0


def test_refuses_vector_latents_and_clipping(tmp_path):
    data_dir = tmp_path / "fashion"
    data_dir.mkdir()
    tiny_fashion_mnist(data_dir)
    data = {"data.fashion_mnist_dir": str(data_dir)}
    vae = load_config("configs/vae.py:smoke", {**data, "train.num_steps": 1})
    train_and_evaluate(vae, str(tmp_path / "vae"))
    config = load_config(
        "configs/ldm.py:smoke",
        {**data, "ldm.autoencoder_workdir": str(tmp_path / "vae")},
    )
    with pytest.raises(ConfigError, match="vector latents"):
        latent_diffusion.resolve_autoencoder(config)
    with pytest.raises(ConfigError, match="ldm.autoencoder_workdir"):
        latent_diffusion.resolve_autoencoder(
            load_config("configs/ldm.py:smoke", {"ldm.autoencoder_workdir": ""})
        )
    clipped = load_config("configs/ldm.py:smoke", {"sample.clip_x0": True})
    with pytest.raises(ConfigError, match="sample.clip_x0"):
        latent_diffusion.init(clipped, jax.random.PRNGKey(0), example_batch(clipped))


ROTATION = np.pi / 6


def _rotating_first_stage(monkeypatch):
    """E(x) = 3·R x, D(u) = Rᵀ u / 3 with R a rotation by 30°, for 2-D points."""
    rotation = jnp.array(
        [
            [np.cos(ROTATION), -np.sin(ROTATION)],
            [np.sin(ROTATION), np.cos(ROTATION)],
        ],
        jnp.float32,
    )
    stage = types.SimpleNamespace(
        latent_shape=lambda c: (2,),
        encode=lambda c, s, x: 3.0 * x @ rotation.T,
        decode=lambda c, s, u: u @ rotation / 3.0,
    )
    monkeypatch.setattr(latent_diffusion, "autoencoder_config", lambda c: c)
    monkeypatch.setattr(latent_diffusion, "frozen_autoencoder", lambda c, s: None)
    monkeypatch.setattr(latent_diffusion, "first_stage_module", lambda c: stage)


def _train_on_the_ring(config):
    """Latent diffusion on the ring of 8 Gaussians (under `_rotating_first_stage`) for
    config.train.num_steps steps: (state, last loss, measured latent scale)."""
    from v101jax.data import BatchIterator

    with config.unlocked():
        config.ldm = {"scale_by_std": True, "scale_examples": 5000}
    data = load_dataset(config.data, seed=0)
    batches = BatchIterator(data, global_batch_size=config.data.batch_size, seed=0)
    net = diffusion.init(config, jax.random.PRNGKey(0), next(batches))
    state = MultiState(
        networks={"denoiser": net},
        frozen={"latent_scale": jnp.ones(())},
        primary="denoiser",
    )
    scale = latent_diffusion.latent_scale(config, state)
    state = state.replace(frozen={"latent_scale": jnp.asarray(scale, jnp.float32)})
    step = jax.jit(functools.partial(latent_diffusion.train_step, config))
    key = jax.random.PRNGKey(1)
    for _ in range(config.train.num_steps):
        state, metrics = step(state, next(batches), key)
    batches.close()
    return state, float(metrics["loss"]), scale


def test_learns_the_ring_through_a_rotating_and_scaling_first_stage(monkeypatch):
    """Learning test: a first stage E(x) = 3·R x, D(u) = Rᵀ u / 3 (R a rotation) on the
    ring of 8 Gaussians; the measured latent scale, the DDPM step on latents and the decoded
    samples must together reproduce the ring's modes by the bar of the pixel-space test. A
    decoder that skips the 1/scale (samples 4× too small) or the inverse rotation (modes
    moved by 30°) fails it."""
    from tests.algorithms.test_diffusion_learning import mode_statistics, passes

    _rotating_first_stage(monkeypatch)
    config = load_config("configs/ddpm.py:ring")
    state, loss, scale = _train_on_the_ring(config)
    # Per-coordinate std of the ring (radius 2, σ 0.1) is √(2 + σ²); the encoder triples it.
    assert scale == pytest.approx(1.0 / (3.0 * np.sqrt(2.0 + 0.1**2)), rel=0.03)
    samples = np.asarray(
        jax.jit(functools.partial(latent_diffusion.sample, config), static_argnums=2)(
            state, jax.random.PRNGKey(2), 2000
        )
    )
    stats = mode_statistics(samples, config.data.toy_std)
    assert passes(samples, config.data.toy_std), (stats, loss)


def test_labels_through_cross_attention_pick_the_mode_in_latent_space(monkeypatch):
    """Conditional learning test: labels (the ring's modes) enter the denoiser only as a
    one-token sequence it cross-attends to; ≥ 90% of guided samples of label k decode to
    within 3σ of mode k, and the unconditional half alone (w = −1) fails that bar."""
    from v101jax.algorithms.contract import with_sample_options
    from v101jax.data import toy

    _rotating_first_stage(monkeypatch)
    config = load_config(
        "configs/cfg.py:ring",
        {"conditioning.label_path": "cross_attention", "train.num_steps": 800},
    )
    state, loss, _ = _train_on_the_ring(config)
    net = state["denoiser"].params
    assert any("CrossAttention" in k for k in net) and "Embed_0" in net
    labels = np.arange(1000, dtype=np.int32) % 8

    def on_requested_mode(w):
        sampled = with_sample_options(
            config, latent_diffusion.ALGORITHM, sampler="ddim", steps=50, guidance=w
        )
        samples = latent_diffusion.sample(
            sampled,
            state,
            jax.random.PRNGKey(2),
            len(labels),
            inputs={"labels": labels},
        )
        nearest, within = toy.mode_assignment(
            np.asarray(samples), toy.ring_centers(), config.data.toy_std
        )
        return float(np.mean((nearest == labels) & within))

    guided = on_requested_mode(config.sample.guidance)
    assert guided >= 0.9, (guided, loss)
    assert on_requested_mode(-1.0) < 0.5


def test_a_vqvae_first_stage_diffuses_its_continuous_latents_unscaled(tmp_path):
    """With a VQ-VAE below, the diffused latents are its encoder outputs z_e (scale 1, as
    LDM's VQ models), and decoding quantises them: the round trip is the VQ-VAE's own."""
    from v101jax.algorithms import vqvae

    data_dir = tmp_path / "fashion"
    data_dir.mkdir()
    tiny_fashion_mnist(data_dir)
    data = {"data.fashion_mnist_dir": str(data_dir)}
    vq_config = load_config("configs/vqvae.py:smoke", data)
    train_and_evaluate(vq_config, str(tmp_path / "vq"))
    config = load_config(
        "configs/ldm.py:smoke",
        {**data, "ldm.autoencoder_workdir": str(tmp_path / "vq")},
    )
    state = train_and_evaluate(config, str(tmp_path / "ldm"))
    assert float(state["latent_scale"]) == 1.0
    resolved = load_run_config(str(tmp_path / "ldm"), config)
    vq_config = resolved.ldm.autoencoder
    vq_state = load_state(vq_config, str(tmp_path / "vq"))
    images = jnp.asarray(load_dataset(config.data)["x"][:8])
    z = latent_diffusion.to_latents(resolved, state, images)
    assert z.shape[1:] == vqvae.latent_shape(vq_config)
    np.testing.assert_allclose(
        latent_diffusion.from_latents(resolved, state, z),
        vqvae.reconstruct(vq_config, vq_state, images),
        atol=1e-5,
    )


def test_cifar10_presets_fit_together(tmp_path):
    """The published-size pair: the first stage's 8×8×4 latents under the CIFAR-10 U-Net
    (built abstractly from the first stage's config.json; no data or checkpoint needed)."""
    ae_config = load_config("configs/ldm_autoencoder.py:cifar10")
    (tmp_path / "ae").mkdir()
    (tmp_path / "ae" / "config.json").write_text(ae_config.to_json_best_effort())
    config = load_config(
        "configs/ldm.py:cifar10", {"ldm.autoencoder_workdir": str(tmp_path / "ae")}
    )
    config = latent_diffusion.resolve_autoencoder(config)
    state = jax.eval_shape(
        lambda key: latent_diffusion.init(config, key, example_batch(config, 2)),
        jax.random.PRNGKey(0),
    )
    first = state["denoiser"].params["Conv_0"]["kernel"]
    assert first.shape == (3, 3, 4, 128)  # 4 latent channels in, width 128
    samples = jax.eval_shape(
        lambda s, key: latent_diffusion.sample(config, s, key, 2),
        state,
        jax.random.PRNGKey(1),
    )
    assert samples.shape == (2, 32, 32, 3)


def test_adaptive_weight_is_the_ratio_of_last_layer_gradient_norms():
    def grads(last, other):
        return {
            "net": {
                "decoder": {"Conv_0": {"kernel": other}, "Conv_2": {"kernel": last}},
                "encoder": {"Conv_0": {"kernel": other}},
            }
        }

    rec = grads(jnp.array([3.0, 4.0]), jnp.array([100.0]))  # last-layer norm 5
    adv = grads(jnp.array([0.0, 2.0]), jnp.array([-7.0]))  # last-layer norm 2
    assert float(autoencoder.adaptive_weight(rec, adv)) == pytest.approx(5 / (2 + 1e-4))
    tiny = grads(jnp.array([0.0, 0.0]), jnp.array([1.0]))
    assert float(autoencoder.adaptive_weight(rec, tiny)) == 1e4  # clipped


def test_patchgan_first_stage_starts_at_disc_start_and_serves_latent_diffusion(
    tmp_path,
):
    """LDM's autoencoder with its PatchGAN term: before disc_start neither the adversarial
    term nor D's loss acts; from it on both do. Latent diffusion takes its autoencoder."""
    data_dir = tmp_path / "fashion"
    data_dir.mkdir()
    tiny_fashion_mnist(data_dir)
    data = {"data.fashion_mnist_dir": str(data_dir)}
    ae_config = load_config(
        "configs/ldm_autoencoder.py:smoke",
        {**data, "autoencoder.adversarial_weight": 0.5, "autoencoder.disc_start": 1},
    )
    batch = {"x": jnp.asarray(load_dataset(ae_config.data)["x"][:8])}
    state = autoencoder.init(ae_config, jax.random.PRNGKey(0), batch)
    assert set(state.networks) == {"ae", "disc"}
    step = jax.jit(functools.partial(autoencoder.train_step, ae_config))
    state, before = step(state, batch, jax.random.PRNGKey(1))
    assert float(before["adaptive_weight"]) == 0.0 and float(before["d_loss"]) == 0.0
    disc_before = state["disc"].params
    state, after = step(state, batch, jax.random.PRNGKey(1))
    assert float(after["adaptive_weight"]) > 0.0 and float(after["d_loss"]) > 0.0
    moved = jax.tree.map(
        lambda a, b: float(jnp.abs(a - b).max()), disc_before, state["disc"].params
    )
    assert max(jax.tree.leaves(moved)) > 0.0

    train_and_evaluate(ae_config, str(tmp_path / "ae"))
    config = load_config(
        "configs/ldm.py:smoke",
        {**data, "ldm.autoencoder_workdir": str(tmp_path / "ae")},
    )
    ldm = train_and_evaluate(config, str(tmp_path / "ldm"))
    ae_params = jax.tree.leaves(ldm["ae_params"])
    assert int(ldm.step) == 2 and all(np.all(np.isfinite(p)) for p in ae_params)
