"""Config specs as the commands take them: `configs/NAME.py[:preset]` plus dotted overrides."""

import ast
import importlib

from v101jax.core.errors import ConfigError


def load_config(spec: str, overrides: dict | None = None, *, strict: bool = False):
    """Loads `configs/NAME.py[:preset]` and applies dotted overrides {"train.num_steps": 5}.

    `strict`: ConfigError for a field the config does not have (otherwise it is added) or a
    value of another type than the field's.
    """
    path, _, preset = spec.partition(":")
    module = importlib.import_module(path.replace("/", ".").removesuffix(".py"))
    config = module.get_config(preset or None)
    for key, value in (overrides or {}).items():
        node = config
        *parents, leaf = key.split(".")
        try:
            for p in parents:
                node = node[p]
            if strict and leaf not in node:
                raise KeyError(leaf)
            with config.unlocked():
                node[leaf] = value
        except (KeyError, TypeError) as e:
            if not strict:
                raise
            raise ConfigError(f"{key}={value!r} does not fit {spec}: {e}") from None
    return config


def parse_overrides(pairs) -> dict:
    """["train.num_steps=5", "model.dtype=bfloat16"] → {"train.num_steps": 5, ...}."""
    out = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        try:
            out[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[key] = text
    return out
