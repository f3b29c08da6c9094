"""GAN-CLS / GAN-INT: the matching-aware loss, mismatched captions, the text encoder's
padding, the learning test (the condition only in the text) and the commands."""

import functools
import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.common import load_config
from tests.training.commands import run_module
from v101jax.algorithms import text_gan
from v101jax.core.errors import ConfigError
from v101jax.data import captions, load_dataset, toy
from v101jax.gan import losses
from v101jax.nn.text import TextEncoder
from v101jax.training.export import export_prompts
from v101jax.training.loop import fuse_steps


def _softplus(x):
    return math.log1p(math.exp(x))


def test_matching_aware_loss_against_hand_values():
    rr, rw, fr = [1.0, -2.0], [0.5, 3.0], [-1.0, 2.0]
    args = [jnp.asarray(v) for v in (rr, rw, fr)]
    # Cross-entropy: −log σ(s) for the real pair, −log(1 − σ(s)) for the two fake pairs.
    expected = (
        (_softplus(-1.0) + _softplus(2.0)) / 2
        + 0.5 * (_softplus(0.5) + _softplus(3.0)) / 2
        + 0.5 * (_softplus(-1.0) + _softplus(2.0)) / 2
    )
    got = losses.matching_aware_discriminator_loss("non_saturating", *args)
    assert float(got) == pytest.approx(expected, rel=1e-6)
    # Hinge with w = 0.25: max(0, 1 − s) real, max(0, 1 + s) fake.
    expected = (0.0 + 3.0) / 2 + 0.25 * (1.5 + 4.0) / 2 + 0.75 * (0.0 + 3.0) / 2
    got = losses.matching_aware_discriminator_loss("hinge", *args, wrong_weight=0.25)
    assert float(got) == pytest.approx(expected, rel=1e-6)
    # LSGAN: ½(s − 1)² real, ½s² fake; only the first example has a mismatched caption.
    expected = (0.0 + 4.5) / 2 + 0.5 * 0.125 + 0.5 * (0.5 + 2.0) / 2
    got = losses.matching_aware_discriminator_loss(
        "lsgan", *args, wrong_valid=jnp.array([True, False])
    )
    assert float(got) == pytest.approx(expected, rel=1e-6)
    # No mismatched caption at all: the term is 0 and the gradient stays finite.
    none = jnp.array([False, False])

    def loss(rw):
        return losses.matching_aware_discriminator_loss(
            "non_saturating", args[0], rw, args[2], wrong_valid=none
        )

    assert float(loss(args[1])) == pytest.approx(
        (_softplus(-1.0) + _softplus(2.0)) / 2
        + 0.5 * (_softplus(-1.0) + _softplus(2.0)) / 2
    )
    grad = jax.grad(loss)(args[1])
    assert np.all(np.isfinite(grad)) and np.all(grad == 0)
    # The plain GAN loss is the real half plus the fake half.
    assert float(losses.discriminator_loss("hinge", args[0], args[2])) == pytest.approx(
        float(losses.real_loss("hinge", args[0]) + losses.fake_loss("hinge", args[2]))
    )


def test_mismatched_captions_are_never_the_images_own_description():
    rng = np.random.default_rng(0)
    description = jnp.asarray(rng.integers(0, 4, 32), jnp.int32)
    picked = np.zeros((32, 32), int)
    for seed in range(200):
        j, valid = text_gan.mismatched_indices(description, jax.random.PRNGKey(seed))
        j, valid = np.asarray(j), np.asarray(valid)
        assert valid.all()
        assert np.all(np.asarray(description)[j] != np.asarray(description))
        picked[np.arange(32), j] += 1
    # Drawn uniformly among the other descriptions' examples: every candidate turns up.
    other = np.asarray(description)[None, :] != np.asarray(description)[:, None]
    assert np.all(picked[other] > 0) and np.all(picked[~other] == 0)
    same = jnp.zeros((8,), jnp.int32)
    _, valid = text_gan.mismatched_indices(same, jax.random.PRNGKey(0))
    assert not np.asarray(valid).any()
    # Batch captions: the wrong ones come from other descriptions' examples.
    batch = {
        "captions": jnp.arange(32 * 3 * 4, dtype=jnp.int32).reshape(32, 3, 4) + 2,
        "description": description,
    }
    right, wrong, _ = text_gan._batch_captions(batch, jax.random.PRNGKey(3))
    owner = lambda c: np.argwhere(
        np.all(np.asarray(batch["captions"]) == np.asarray(c), -1)
    )
    for i in range(32):
        assert owner(right[i])[0][0] == i
        assert (
            np.asarray(description)[owner(wrong[i])[0][0]] != np.asarray(description)[i]
        )


def test_text_encoder_ignores_padding():
    encoder = TextEncoder(
        vocab_size=20, width=16, num_layers=2, num_heads=2, max_length=12
    )
    tokens = jnp.array([[2, 5, 7, 0, 0, 0, 0, 0], [3, 4, 0, 0, 0, 0, 0, 0]], jnp.int32)
    longer = jnp.pad(tokens, ((0, 0), (0, 4)))
    params = encoder.init(jax.random.PRNGKey(0), tokens)
    h, pooled, mask = encoder.apply(params, tokens)
    h2, pooled2, mask2 = encoder.apply(params, longer)
    np.testing.assert_allclose(pooled, pooled2, atol=1e-5)
    np.testing.assert_allclose(h[0, :3], h2[0, :3], atol=1e-5)
    assert mask.sum() == mask2.sum() == 5
    # Pooled = the mean of the real tokens' features.
    np.testing.assert_allclose(pooled[1], h[1, :2].mean(0), atol=1e-5)
    # A real token does change the code.
    _, pooled3, _ = encoder.apply(params, tokens.at[1, 2].set(9))
    assert np.abs(pooled3[1] - pooled[1]).max() > 1e-3


def _train(config, steps, chunk=100):
    data = load_dataset(config.data)
    b = config.data.batch_size
    rng = np.random.default_rng(0)
    state = jax.jit(functools.partial(text_gan.init, config))(
        jax.random.PRNGKey(0), {k: v[:b] for k, v in data.items()}
    )
    step = jax.jit(fuse_steps(functools.partial(text_gan.train_step, config)))
    metrics = {}
    for _ in range(steps // chunk):
        idx = rng.integers(0, len(data["x"]), (chunk, b))
        state, metrics = step(
            state, {k: v[idx] for k, v in data.items()}, jax.random.PRNGKey(1)
        )
    return state, {k: float(v) for k, v in metrics.items()}


def test_samples_land_on_the_mode_the_prompt_names_and_follow_a_swap():
    """The ring's modes are named only in the captions (no labels reach the networks):
    each direction's samples must land on its mode, and the same noise with two prompts
    swapped must swap the modes. A model that ignores the text puts 1/8 there."""
    config = text_gan.resolve_config(load_config("configs/text_gan.py:ring"))
    state, metrics = _train(config, 800)
    assert metrics["d_match_accuracy"] > 0.6  # D tells its own caption from another's
    n = 400
    sample = jax.jit(functools.partial(text_gan.sample, config, num_samples=n))
    key = jax.random.PRNGKey(5)

    def modes(prompt):
        points = np.asarray(
            sample(state, key, inputs=text_gan.prompt_inputs(config, [prompt] * n))
        )
        nearest, within = toy.mode_assignment(
            points, toy.ring_centers(), config.data.toy_std
        )
        return nearest, within

    accuracy = []
    for m, name in enumerate(captions.RING_DIRECTIONS):
        nearest, within = modes(captions.ring_caption(m, m % 3))
        accuracy.append(np.mean((nearest == m) & within))
    assert min(accuracy) > 0.5 and np.mean(accuracy) > 0.8, accuracy
    north, _ = modes("the north mode")
    south, _ = modes("the south mode")
    # Same z, swapped prompts: each noise vector's point moves to the other named mode.
    assert np.mean(north == 2) > 0.8 and np.mean(south == 6) > 0.8


def test_sample_refuses_missing_or_misshapen_tokens_and_unknown_words():
    config = text_gan.resolve_config(load_config("configs/text_gan.py:ring"))
    state, _ = _train(config, 0)
    with pytest.raises(ConfigError, match="draws from captions"):
        text_gan.sample(config, state, jax.random.PRNGKey(0), 4)
    with pytest.raises(ConfigError, match=r"\[4, 12\]"):
        text_gan.sample(
            config,
            state,
            jax.random.PRNGKey(0),
            4,
            inputs={"tokens": jnp.zeros((4, 5), jnp.int32)},
        )
    with pytest.raises(ConfigError, match="'northwards'"):
        text_gan.prompt_inputs(config, ["go northwards"])
    bad = load_config("configs/text_gan.py:ring")
    with bad.unlocked():
        bad.data.captions = "none"
    with pytest.raises(ConfigError, match="data.captions"):
        text_gan.init(bad, jax.random.PRNGKey(0), {})


def test_training_command_and_prompts(tmp_path):
    workdir = str(tmp_path / "run")
    train = run_module(
        "experiments.main", "--config=configs/text_gan.py:smoke", f"--workdir={workdir}"
    )
    assert train.returncode == 0, train.stderr[-3000:]
    with open(os.path.join(workdir, "config.json")) as f:
        saved = json.load(f)
    assert saved["text"]["vocabulary"][:2] == ["<pad>", "<unk>"]
    assert "ankle" in saved["text"]["vocabulary"]
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# garments\na small dark ankle boot\n\nthis dress is bright\n")
    out = str(tmp_path / "p.npz")
    result = run_module(
        "experiments.sample",
        f"--workdir={workdir}",
        "--prompt=a coat",
        f"--prompts={prompts}",
        "--num_samples=6",
        f"--out={out}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with np.load(out) as f:
        assert f["images"].shape == (18, 28, 28, 1)
        assert f["prompts"].tolist() == [
            "a coat",
            "a small dark ankle boot",
            "this dress is bright",
        ]
        assert f["prompt_index"].tolist() == [0] * 6 + [1] * 6 + [2] * 6
    for i in range(3):
        assert os.path.exists(str(tmp_path / f"p_prompt{i}.png"))
    with open(str(tmp_path / "p.json")) as f:
        scores = json.load(f)
    assert set(scores[1]) == {
        "prompt",
        "class_accuracy",
        "size_accuracy",
        "brightness_accuracy",
        "r_precision",
    }
    assert set(scores[0]) == {"prompt", "class_accuracy", "r_precision"}
    assert all(0 <= s["class_accuracy"] <= 1 for s in scores)
    assert all(0 <= s["r_precision"] <= 1 for s in scores)
    # Prompts are checked before the checkpoint is read; a run without text refuses them.
    with pytest.raises(ConfigError, match="'purple'"):
        export_prompts(workdir, ["a coat", "a purple coat"], 2)
    other = tmp_path / "dcgan"
    other.mkdir()
    (other / "config.json").write_text(
        load_config("configs/dcgan.py:smoke").to_json_best_effort()
    )
    with pytest.raises(ConfigError, match="reads no prompts"):
        export_prompts(str(other), ["a coat"], 2)
