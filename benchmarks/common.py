"""Shared helpers for benchmark scripts: config loading and timing."""

import jax

from v101jax.core.config_spec import load_config, parse_overrides  # noqa: F401


def device_name() -> str:
    d = jax.devices()[0]
    return f"{d.platform}:{getattr(d, 'device_kind', '')} x{jax.device_count()}"


def peak_memory_mb() -> float | None:
    """Peak device memory in MiB where the backend reports it (GPU/TPU), else None."""
    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return None if peak is None else peak / 2**20


def xla_flops(cost) -> float | None:
    """The flop count of an XLA `cost_analysis()` result (None where it gives none)."""
    if isinstance(cost, (list, tuple)):  # older JAX: one dict per program
        cost = cost[0] if cost else None
    flops = (cost or {}).get("flops")
    return float(flops) if flops and flops > 0 else None
