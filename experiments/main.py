"""Train any registered algorithm from a config.

    python -m experiments.main --config=configs/ddim.py --workdir=runs/ddim \
        [--config.train.num_steps=2000 --config.model.channels=64 ...]

Re-running the same command on the same workdir resumes from its newest checkpoint.
"""

from absl import app, flags
from ml_collections import config_flags

from experiments import cli

_CONFIG = config_flags.DEFINE_config_file(
    "config",
    None,
    "Experiment config file, optionally with a preset: configs/ddim.py:smoke",
    lock_config=True,
)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Directory for checkpoints, logs and samples."
)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    from v101jax.core import parallel
    from v101jax.training.loop import train_and_evaluate

    config = cli.config_value(_CONFIG)
    parallel.initialize_distributed(config.distributed)
    train_and_evaluate(config, _WORKDIR.value)


if __name__ == "__main__":
    cli.run(main, required=("config", "workdir"))
