"""How a run starts jax.distributed: from the explicit fields, from a detected cluster
environment (SLURM, Open MPI, Cloud TPU; mocked here) when the fields are left empty, or
not at all."""

import ml_collections
import pytest

from v101jax.core import parallel
from v101jax.core.errors import ConfigError

SLURM = {
    "SLURM_JOB_ID": "77",
    "SLURM_STEP_NODELIST": "node[1-2]",
    "SLURM_NTASKS": "2",
    "SLURM_PROCID": "1",
    "SLURM_LOCALID": "0",
}


def _fields(num_processes, address="", process_id=0):
    return ml_collections.ConfigDict(
        {
            "num_processes": num_processes,
            "process_id": process_id,
            "coordinator_address": address,
        }
    )


@pytest.fixture
def calls(monkeypatch):
    """The keyword arguments of every jax.distributed.initialize call (none is made)."""
    made = []
    monkeypatch.setattr(
        parallel.jax.distributed, "initialize", lambda **kw: made.append(kw)
    )
    monkeypatch.setattr(parallel.jax.config, "update", lambda *a: None)
    monkeypatch.setattr(parallel.importlib.util, "find_spec", lambda name: None)
    return made


def test_detection_reads_the_cluster_environments(calls):
    assert parallel.detected_cluster(SLURM) == "slurm"
    assert parallel.detected_cluster({**SLURM, "SLURM_NTASKS": "1"}) is None
    assert parallel.detected_cluster({k: SLURM[k] for k in list(SLURM)[:2]}) is None
    ompi = {"OMPI_MCA_orte_hnp_uri": "x", "OMPI_COMM_WORLD_SIZE": "4"}
    assert parallel.detected_cluster(ompi) == "openmpi"
    assert parallel.detected_cluster({"PATH": "/bin"}) is None


def test_cloud_tpu_is_detected_by_libtpu(monkeypatch):
    monkeypatch.setattr(
        parallel.importlib.util,
        "find_spec",
        lambda name: object() if name == "libtpu" else None,
    )
    assert parallel.detected_cluster({}) == "cloud_tpu"
    assert parallel.detected_cluster({"TPU_SKIP_MDS_QUERY": "1"}) is None


def test_empty_fields_in_a_cluster_initialise_without_arguments(calls):
    parallel.initialize_distributed(_fields(0), environ=SLURM)
    assert calls == [{}]


def test_empty_fields_alone_and_one_process_never_initialise(calls):
    parallel.initialize_distributed(_fields(0), environ={})
    parallel.initialize_distributed(_fields(1), environ=SLURM)
    assert calls == []


def test_explicit_fields_are_passed_on_and_checked(calls):
    parallel.initialize_distributed(_fields(2, "10.0.0.1:1234", 1), environ=SLURM)
    assert calls == [
        {"coordinator_address": "10.0.0.1:1234", "num_processes": 2, "process_id": 1}
    ]
    with pytest.raises(ConfigError, match="coordinator_address"):
        parallel.initialize_distributed(_fields(2), environ={})
    with pytest.raises(ConfigError, match="num_processes=-1"):
        parallel.initialize_distributed(_fields(-1), environ={})


@pytest.mark.parametrize(
    "script",
    ["launch/slurm.sbatch", "launch/tpu_pod.sh", "launch/local_multiprocess.sh"],
)
def test_launch_scripts_parse(script):
    import os
    import subprocess

    from tests.training.commands import ROOT

    result = subprocess.run(
        ["bash", "-n", os.path.join(ROOT, script)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
