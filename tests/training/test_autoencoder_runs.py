"""The autoencoder configs' smoke presets through the loop (VAE, VQ-VAE, then the prior on that
VQ-VAE), the figure command's library, and the prior's error for a missing VQ-VAE workdir."""

import functools
import json
import os

import jax
import pytest

from benchmarks.common import load_config
from v101jax.algorithms import get_algorithm
from v101jax.core.errors import ConfigError
from v101jax.training.loop import example_batch, train_and_evaluate
from v101jax.training.visuals import write_figures


@pytest.fixture(scope="module")
def vqvae_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("vqvae")
    state = train_and_evaluate(load_config("configs/vqvae.py:smoke"), str(workdir))
    return workdir, state


def test_vae_smoke_trains_and_writes_all_figures(tmp_path):
    config = load_config("configs/vae.py:smoke")
    state = train_and_evaluate(config, str(tmp_path))
    assert int(state.step) == 2
    assert os.path.exists(tmp_path / "samples" / "step_000002.png")
    out = write_figures(config, state, str(tmp_path / "figures"), num_eval=64)
    assert sorted(out["pictures"]) == [
        "interpolations",
        "reconstructions",
        "samples",
        "traversals",
    ]
    for path in out["pictures"].values():
        assert os.path.getsize(path) > 0
    figures = json.loads((tmp_path / "figures" / "figures.json").read_text())
    assert figures["elbo"] <= figures["iwae"] + 5.0 and figures["iwae"] < 0
    assert figures["num_images"] == 64


def test_vqvae_smoke_trains(vqvae_run):
    workdir, state = vqvae_run
    assert int(state.step) == 2
    assert os.path.exists(workdir / "samples" / "step_000002.png")


def test_prior_trains_on_the_frozen_vqvae_and_samples_after_it_is_deleted(
    vqvae_run, tmp_path
):
    """The first stage is resolved once at start-up: its config goes into the prior's
    config.json and its parameters into the prior's checkpoints, so the trained prior
    samples after the VQ-VAE's workdir is gone."""
    import shutil

    import numpy as np

    from v101jax.training.export import export_samples

    vq_workdir, vq_state = vqvae_run
    first_stage = tmp_path / "vqvae_copy"
    shutil.copytree(vq_workdir, first_stage)
    config = load_config(
        "configs/vqvae_prior.py:smoke", {"prior.vqvae_workdir": str(first_stage)}
    )
    run = tmp_path / "prior"
    state = train_and_evaluate(config, str(run))
    assert int(state.step) == 2
    assert os.path.exists(run / "samples" / "step_000002.png")
    # The frozen VQ-VAE is the trained one, unchanged by the prior's steps.
    assert (
        state["vqvae_params"]["quantizer"]["codebook"]
        == vq_state.params["quantizer"]["codebook"]
    ).all()
    saved = json.loads((run / "config.json").read_text())
    assert saved["prior"]["vqvae"]["algorithm"] == "vqvae"

    shutil.rmtree(first_stage)
    out = export_samples(str(run), 3, out=str(tmp_path / "export.npz"))
    with np.load(out) as f:
        images = f["images"]
    assert images.shape == (3, 28, 28, 1) and len(np.unique(images)) > 10


def test_prior_without_a_vqvae_workdir_names_the_field(tmp_path):
    config = load_config(
        "configs/vqvae_prior.py:smoke", {"prior.vqvae_workdir": str(tmp_path / "none")}
    )
    with pytest.raises(ConfigError, match="prior.vqvae_workdir"):
        train_and_evaluate(config, str(tmp_path / "run"))


@pytest.mark.parametrize("spec", ["configs/ae.py:smoke", "configs/beta_vae.py:smoke"])
def test_other_autoencoder_smoke_presets_build_and_step(spec):
    """Same module as the VAE run above: tracing init and a step (no compile) checks the
    presets' fields without paying for another compiled run."""
    config = load_config(spec)
    algorithm = get_algorithm(config.algorithm)
    example = example_batch(config)
    state = jax.eval_shape(
        functools.partial(algorithm.init, config), jax.random.PRNGKey(0), example
    )
    new_state, metrics = jax.eval_shape(
        functools.partial(algorithm.train_step, config),
        state,
        example,
        jax.random.PRNGKey(1),
    )
    assert new_state.step.shape == () and metrics["loss"].shape == ()
    assert jax.eval_shape(
        functools.partial(algorithm.sample, config, num_samples=3),
        state,
        jax.random.PRNGKey(2),
    ).shape == (3, 28, 28, 1)
