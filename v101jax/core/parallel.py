"""Data parallelism over a device mesh, single- or multi-process, with an optional axis of
sharded parameters.

One `Mesh` of axes (`data`, `fsdp`) spans every device of every process; `fsdp` has
distributed.fsdp devices (1 = plain data parallelism). Batches are sharded on their leading
axis over both axes. The train state is replicated, except that with fsdp > 1 every state
array of at least distributed.fsdp_min_size elements (parameters, their EMA and optimiser
moments alike) is split along its largest axis that fsdp divides (`state_sharding`); XLA
gathers a layer's weights where the step needs them (ZeRO-3/FSDP). Each process feeds only
its own slice of the global batch (`jax.make_array_from_process_local_data`).
"""

import importlib.util
import os

import jax
import numpy as np
from absl import logging
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from v101jax.core.errors import ConfigError

DATA_AXIS = "data"
FSDP_AXIS = "fsdp"


def detected_cluster(environ=None) -> str | None:
    """The multi-process environment this process runs in, as jax.distributed.initialize()
    would detect it without arguments, or None: "slurm" (a job step of more than one task),
    "openmpi" (mpirun with more than one rank) or "cloud_tpu" (libtpu installed: a TPU VM,
    whose workers the TPU metadata lists; a single-host VM is a cluster of one)."""
    env = os.environ if environ is None else environ
    slurm = ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_PROCID", "SLURM_LOCALID")
    if all(k in env for k in slurm) and int(env.get("SLURM_NTASKS", "1")) > 1:
        return "slurm"
    if "OMPI_MCA_orte_hnp_uri" in env and int(env.get("OMPI_COMM_WORLD_SIZE", "1")) > 1:
        return "openmpi"
    if "TPU_SKIP_MDS_QUERY" not in env and importlib.util.find_spec("libtpu"):
        return "cloud_tpu"
    return None


def initialize_distributed(dist_cfg, environ=None) -> None:
    """Starts jax.distributed when the run has more than one process.

    distributed.num_processes > 1: from the explicit fields (local multi-process runs);
    0 (the default): jax.distributed.initialize() with no arguments when `detected_cluster`
    finds SLURM, Open MPI or a Cloud TPU VM, which fill in the fields themselves, else one
    process; 1: one process whatever the environment.
    """
    kwargs = {}
    if dist_cfg.num_processes < 0:
        raise ConfigError(
            f"distributed.num_processes={dist_cfg.num_processes}: 0 (detect), 1 or more"
        )
    if dist_cfg.num_processes > 1:
        if not dist_cfg.coordinator_address:
            raise ConfigError(
                "distributed.coordinator_address (host:port of process 0) is required when "
                "distributed.num_processes > 1"
            )
        kwargs = {
            "coordinator_address": dist_cfg.coordinator_address,
            "num_processes": dist_cfg.num_processes,
            "process_id": dist_cfg.process_id,
        }
        source = "the distributed fields"
    elif dist_cfg.num_processes == 0:
        source = detected_cluster(environ)
        if source is None:
            return
    else:
        return
    # Collectives between CPU devices of different processes go through gloo; the setting
    # does not affect GPU/TPU. (No backend query here: that would initialise XLA too early.)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(**kwargs)
    logging.info(
        "jax.distributed (%s): process %d of %d, %d local / %d global devices",
        source,
        jax.process_index(),
        jax.process_count(),
        jax.local_device_count(),
        jax.device_count(),
    )


def make_mesh(devices=None, fsdp: int = 1) -> Mesh:
    """A (data, fsdp) mesh over `devices` (default: all devices of all processes), `fsdp`
    consecutive devices along the sharded-parameter axis."""
    devices = jax.devices() if devices is None else list(devices)
    if fsdp < 1 or len(devices) % fsdp:
        raise ConfigError(
            f"distributed.fsdp={fsdp} must be ≥ 1 and divide the {len(devices)} devices"
        )
    return Mesh(np.asarray(devices).reshape(-1, fsdp), (DATA_AXIS, FSDP_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh, leading_unsharded_axes: int = 0) -> NamedSharding:
    """Shards axis `leading_unsharded_axes` of each array over all devices (both axes)."""
    return NamedSharding(
        mesh, P(*([None] * leading_unsharded_axes), (DATA_AXIS, FSDP_AXIS))
    )


def state_sharding(mesh: Mesh, min_size: int):
    """The sharding of each state array, as a function of its shape (for
    `abstract_train_state` and jit): split along the largest axis the fsdp axis divides when
    it has at least `min_size` elements and fsdp > 1, replicated otherwise."""
    n = mesh.shape[FSDP_AXIS]
    repl = replicated(mesh)

    def sharding_of(leaf) -> NamedSharding:
        shape = tuple(leaf.shape)
        if n == 1 or int(np.prod(shape)) < min_size:
            return repl
        divisible = [i for i, d in enumerate(shape) if d % n == 0]
        if not divisible:
            return repl
        axis = max(divisible, key=lambda i: shape[i])
        spec = [None] * len(shape)
        spec[axis] = FSDP_AXIS
        return NamedSharding(mesh, P(*spec))

    return sharding_of


def check_batch_size(global_batch_size: int, mesh: Mesh) -> int:
    """Returns the per-process batch size; a clear error when the batch does not divide."""
    num_devices = mesh.devices.size
    if global_batch_size % num_devices:
        raise ConfigError(
            f"data.batch_size={global_batch_size} must be divisible by the number of devices "
            f"({num_devices})"
        )
    return global_batch_size // jax.process_count()


def global_batch(local_batch, sharding: NamedSharding):
    """Assembles per-process numpy batches into global jax.Arrays sharded by `sharding`."""
    return jax.tree.map(
        lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)),
        local_batch,
    )
