"""Every registered algorithm against the contract (v101jax/algorithms/contract.py), and the one
route from a command's sampler flag to config.sample."""

import dataclasses
import importlib

import pytest

from benchmarks.common import load_config
from tests import config_files
from v101jax import algorithms
from v101jax.algorithms import contract
from v101jax.core.errors import ConfigError


@pytest.mark.parametrize("name", sorted(algorithms.REGISTRY))
def test_registered_algorithm_follows_the_contract(name):
    algorithm = algorithms.get_algorithm(name)
    assert algorithm.name == name
    assert contract.contract_violations(algorithm) == []


@pytest.mark.parametrize("name", sorted(algorithms.REGISTRY))
def test_a_module_function_named_like_a_hook_is_declared(name):
    """Capabilities are declared, never probed: a module that defines `evaluate` (say) but
    leaves it out of its Algorithm would silently lose held-out metrics."""
    algorithm = algorithms.get_algorithm(name)
    module = importlib.import_module(f"v101jax.algorithms.{name}")
    for hook in contract.HOOKS:
        if callable(getattr(module, hook, None)):
            assert getattr(algorithm, hook) is getattr(module, hook), hook


def test_contract_violations_are_found():
    def sample_without_inputs(config, state, rng, num_samples):
        return None

    def phase(config, step):
        return 0

    good = algorithms.get_algorithm("vqvae")
    assert contract.contract_violations(
        dataclasses.replace(good, sample=sample_without_inputs)
    ) == ["sample has no keyword-only inputs=None"]
    problems = contract.contract_violations(dataclasses.replace(good, phase=phase))
    assert any("train_step lacks phase=" in p for p in problems), problems
    assert contract.contract_violations(
        dataclasses.replace(good, evaluate=lambda cfg, batch: None)
    )


def test_command_configs_are_the_configs_without_an_algorithm():
    for spec in config_files.COMMAND_CONFIGS:
        assert "algorithm" not in load_config(spec)


@pytest.mark.parametrize("spec", config_files.TRAINING_CONFIGS)
def test_every_config_defines_the_sample_fields_its_algorithm_reads(spec):
    config = load_config(spec)
    algorithm = algorithms.get_algorithm(config.algorithm)
    missing = [f for f in algorithm.sample_options if f not in config.sample]
    assert not missing, missing


def test_a_sampler_flag_goes_into_config_sample_only_where_the_algorithm_reads_it():
    ddim = load_config("configs/ddim.py:smoke")
    diffusion = algorithms.get_algorithm("diffusion")
    changed = contract.with_sample_options(ddim, diffusion, steps=7, eta=0.0)
    assert changed.sample.num_steps == 7 and changed.sample.eta == 0.0
    assert ddim.sample.num_steps == 5  # the given config is left as it was
    unchanged = contract.with_sample_options(ddim, diffusion, steps=None)
    assert unchanged.sample.num_steps == 5

    gan = load_config("configs/dcgan.py:smoke")
    with pytest.raises(ConfigError) as info:
        contract.with_sample_options(gan, algorithms.get_algorithm("gan"), steps=10)
    assert str(info.value) == (
        "--steps is not an option of algorithm 'gan' (its sampler takes no flags)"
    )
    prior = load_config("configs/vqvae_prior.py:smoke")
    with pytest.raises(ConfigError, match="its sampler takes --temperature"):
        contract.with_sample_options(
            prior, algorithms.get_algorithm("vqvae_prior"), guidance=2.0
        )
