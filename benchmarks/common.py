"""Shared helpers for benchmark scripts: config loading and timing."""

import ast
import importlib

import jax


def load_config(spec: str, overrides: dict | None = None):
    """Loads `configs/NAME.py[:preset]` and applies dotted overrides {"train.num_steps": 5}."""
    path, _, preset = spec.partition(":")
    module = importlib.import_module(path.replace("/", ".").removesuffix(".py"))
    config = module.get_config(preset or None)
    for key, value in (overrides or {}).items():
        node = config
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        with config.unlocked():
            node[leaf] = value
    return config


def device_name() -> str:
    d = jax.devices()[0]
    return f"{d.platform}:{getattr(d, 'device_kind', '')} x{jax.device_count()}"


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


def peak_memory_mb() -> float | None:
    """Peak device memory in MiB where the backend reports it (GPU/TPU), else None."""
    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 2**20
