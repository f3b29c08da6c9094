"""SRGAN's wiring: the generator starts from a trained SRResNet run (and refuses one of
another shape), the content loss reads the configured layer at the configured scale, the
adversarial term pushes D's score of G's output up, and the smoke configs train from the
command line (experiments.upscale, shared with super_resolution, is tested there)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import srgan as srgan_config
from tests.training.commands import run_module
from v101jax.algorithms import first_stage, get_algorithm, srgan, super_resolution
from v101jax.core.errors import ConfigError
from v101jax.data import example_batch, load_dataset
from v101jax.perceptual import features


def _smoke(**srgan_fields):
    config = srgan_config.get_config("smoke")
    with config.unlocked():
        for k, v in srgan_fields.items():
            config.srgan[k] = v
    return config


def _batch(config, n=8):
    data = load_dataset(config.data)
    return {k: jnp.asarray(v[:n]) for k, v in data.items()}


@pytest.fixture(scope="module")
def srresnet_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("srresnet")
    done = run_module(
        "experiments.main",
        "--config=configs/srgan.py:srresnet_smoke",
        f"--workdir={workdir}",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return workdir


def test_generator_starts_from_the_srresnet_run(srresnet_run):
    config = _smoke(generator_workdir=str(srresnet_run))
    algorithm = get_algorithm("srgan")
    config = algorithm.first_stage.resolve(config)
    assert config.srgan.generator.algorithm == "super_resolution"
    fresh = algorithm.init(config, jax.random.PRNGKey(0), example_batch(config.data, 2))
    loaded = algorithm.first_stage.load(config, fresh)
    expected = first_stage.restore(
        config.srgan.generator, str(srresnet_run), super_resolution.init
    )
    for got, want in zip(
        jax.tree.leaves(loaded["gen"].params),
        jax.tree.leaves(expected.params),
        strict=True,
    ):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert any(
        not np.array_equal(np.asarray(a), np.asarray(b))
        for a, b in zip(
            jax.tree.leaves(loaded["gen"].params),
            jax.tree.leaves(fresh["gen"].params),
            strict=True,
        )
    )
    wider = _smoke(generator_workdir=str(srresnet_run))
    with wider.unlocked():
        wider.sr.num_blocks = 2
    with pytest.raises(ConfigError, match="sr.num_blocks"):
        algorithm.first_stage.resolve(wider)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_content_loss_is_the_scaled_feature_mse_of_the_configured_layer(scale):
    config = _smoke(content_layer="relu2_2", feature_scale=scale)
    batch = _batch(config)
    state = srgan.init(config, jax.random.PRNGKey(0), batch)
    rng = np.random.default_rng(0)
    images = jnp.asarray(
        np.clip(batch["target"] + rng.normal(0, 0.2, batch["target"].shape), -1, 1),
        jnp.float32,
    )
    got = float(srgan.content_loss(config, state, images, batch["target"]))
    phi = features.feature_network(config.perceptual, ("relu2_2",))
    a = np.asarray(phi.apply(images)["relu2_2"], np.float64)
    b = np.asarray(phi.apply(batch["target"])["relu2_2"], np.float64)
    assert got == pytest.approx(np.mean((scale * (a - b)) ** 2), rel=1e-4)
    pixel = _smoke(content="mse")
    got = float(srgan.content_loss(pixel, state, images, batch["target"]))
    want = np.mean((np.asarray(images) - np.asarray(batch["target"])) ** 2)
    assert got == pytest.approx(want, rel=1e-5)


def test_adversarial_term_raises_the_discriminators_score_of_the_output():
    config = _smoke(content_weight=0.0, adversarial_weight=1.0)
    with config.unlocked():
        config.optim.learning_rate = 1e-3
    batch = _batch(config)
    state = srgan.init(config, jax.random.PRNGKey(0), batch)

    def mean_logit(state):
        gen, disc = state["gen"], state["disc"]
        images, _ = srgan.super_resolution.forward(
            gen, gen.params, batch["source"], train=True
        )
        logits, _ = srgan._disc_forward(disc, disc.params, images)
        return float(jnp.mean(logits))

    before = mean_logit(state)
    step = jax.jit(functools.partial(srgan.generator_step, config))
    for _ in range(5):
        gen, _ = step(state, batch)
        state = state.replace_networks(gen=gen)
    assert mean_logit(state) > before + 0.05


def test_srgan_trains_from_the_command_line(srresnet_run, tmp_path):
    workdir = tmp_path / "srgan"
    done = run_module(
        "experiments.main",
        "--config=configs/srgan.py:smoke",
        f"--workdir={workdir}",
        f"--config.srgan.generator_workdir={srresnet_run}",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (
        "d_loss" in done.stderr
        and "content_loss" in (workdir / "metrics.json").read_text()
    )


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_srresnet_upsamples_by_its_scale_with_sub_pixel_stages(scale):
    from v101jax.models import superres

    net = superres.SRResNet(out_channels=3, scale=scale, channels=8, num_blocks=1)
    x = jnp.zeros((2, 5, 7, 3))
    variables = net.init(jax.random.PRNGKey(0), x)
    assert net.apply(variables, x).shape == (2, 5 * scale, 7 * scale, 3)
    assert "batch_stats" in variables
    assert superres.upsampling_factors(scale) == {2: (2,), 3: (3,), 4: (2, 2)}[scale]
    with pytest.raises(ValueError, match="not 5"):
        superres.upsampling_factors(5)
