"""What a run cost: its peak memory, on the accelerator when there is one."""

import resource

import jax


def peak_memory() -> dict:
    """{"peak_memory_mib": …, "memory": where it was measured}: the first local device's
    peak bytes in use where the device reports it (GPUs, TPUs), else this process's peak
    resident memory (the CPU backend keeps arrays in host memory; decoding workers of a
    streamed dataset are not counted)."""
    device = jax.local_devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "peak_bytes_in_use" in stats:
        return {
            "peak_memory_mib": stats["peak_bytes_in_use"] / 2**20,
            "memory": f"{device.platform} device",
        }
    # ru_maxrss is in KiB on Linux.
    return {
        "peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "memory": "host process",
    }
