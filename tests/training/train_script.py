"""Runs train_and_evaluate in a fresh process for the resume and multi-process tests.

    python tests/training/train_script.py CONFIG_SPEC WORKDIR OVERRIDES_JSON OUT_NPZ \
        [--kill_after_checkpoint=STEP]

Writes the final parameters (flattened, by path) to OUT_NPZ. With --kill_after_checkpoint the
process SIGKILLs itself right after checkpoint STEP is written, as a preempted job would die.
"""

import json
import os
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


def main():
    spec, workdir, overrides, out = sys.argv[1:5]
    kill_after = None
    for arg in sys.argv[5:]:
        if arg.startswith("--kill_after_checkpoint="):
            kill_after = int(arg.split("=", 1)[1])

    import jax
    import numpy as np
    from absl import logging

    logging.set_verbosity(logging.INFO)
    logging.set_stderrthreshold(logging.INFO)

    from benchmarks.common import load_config
    from v101jax.core import checkpoint, parallel
    from v101jax.training.loop import train_and_evaluate

    config = load_config(spec, json.loads(overrides))
    if kill_after is not None:
        save = checkpoint.Checkpointer.save

        def save_then_die(self, step, tree):
            save(self, step, tree)
            if step == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

        checkpoint.Checkpointer.save = save_then_die
    parallel.initialize_distributed(config.distributed)
    state = train_and_evaluate(config, workdir)
    leaves = jax.tree_util.tree_flatten_with_path(state.params)[0]
    host = {}
    for path, leaf in leaves:
        if not leaf.is_fully_addressable:
            leaf = leaf.addressable_data(0)
        host[jax.tree_util.keystr(path)] = np.asarray(leaf)
    host["__step__"] = np.asarray(int(state.step))
    np.savez(out, **host)


if __name__ == "__main__":
    main()
