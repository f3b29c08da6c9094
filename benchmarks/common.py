"""Shared helpers for benchmark scripts: config loading and timing."""

import importlib
import time

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


def time_calls(fn, *args, warmup: int = 1, repeats: int = 5):
    """(compile+first-call seconds, median seconds per call) of a jitted fn returning pytrees."""
    t0 = time.perf_counter()
    for _ in range(warmup):
        jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    times.sort()
    return first, times[len(times) // 2]


def device_name() -> str:
    d = jax.devices()[0]
    return f"{d.platform}:{getattr(d, 'device_kind', '')} x{jax.device_count()}"
