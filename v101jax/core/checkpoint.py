"""Checkpoints with orbax's CheckpointManager: keep the last N, restore the newest good one.

A checkpoint holds `state.checkpoint_tree()` (a nested dict of arrays). Restores go into an
abstract target built from `jax.eval_shape`, with the shardings the run uses. Before restoring,
the stored shapes are compared with the target so that a checkpoint of another model is
reported as such (and never overwritten) instead of failing deep inside orbax.
"""

import os

import jax
import orbax.checkpoint as ocp
from absl import logging

from v101jax.core.errors import CheckpointError


class Checkpointer:
    """Saves and restores checkpoint trees under `directory/<step>`."""

    def __init__(self, directory: str, *, max_to_keep: int):
        self.directory = os.path.abspath(directory)
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(
                max_to_keep=max_to_keep, create=True, enable_async_checkpointing=False
            ),
            # Named so that a manager opened on an existing directory can read item metadata.
            item_handlers=ocp.StandardCheckpointHandler(),
        )

    def all_steps(self) -> list[int]:
        return sorted(self._manager.all_steps())

    def save(self, step: int, tree) -> None:
        if step in self._manager.all_steps():
            return
        self._manager.save(step, args=ocp.args.StandardSave(tree), force=True)
        self._manager.wait_until_finished()

    def restore(self, step: int, abstract_tree):
        """Restores checkpoint `step` into `abstract_tree` (ShapeDtypeStructs with shardings)."""
        self._check_shapes(step, abstract_tree)
        return self._manager.restore(step, args=ocp.args.StandardRestore(abstract_tree))

    def restore_latest(self, abstract_tree):
        """(step, tree) of the newest checkpoint that restores, or (None, None) when none exist.

        A checkpoint that fails to load (partial write, corrupt file) is skipped with a warning and
        the previous one is tried; one whose shapes differ from `abstract_tree` raises
        CheckpointError, since older ones of the same run would differ too.
        """
        for step in reversed(self.all_steps()):
            try:
                return step, self.restore(step, abstract_tree)
            except CheckpointError:
                raise
            except Exception as e:  # noqa: BLE001 - orbax raises many types for bad files
                logging.warning(
                    "checkpoint %s/%d could not be restored (%s: %s); trying the previous one",
                    self.directory,
                    step,
                    type(e).__name__,
                    str(e).splitlines()[0][:200],
                )
        return None, None

    def _check_shapes(self, step: int, abstract_tree) -> None:
        try:
            stored = self._manager.item_metadata(step)
        except Exception as e:
            raise OSError(f"checkpoint metadata unreadable: {e}") from e
        stored = getattr(stored, "tree", stored)
        if stored is None:
            raise OSError("checkpoint has no metadata")
        want = _shapes(abstract_tree)
        have = _shapes(stored)
        for path in sorted(set(want) | set(have)):
            if want.get(path) != have.get(path):
                raise CheckpointError(
                    f"checkpoint {self.directory}/{step} does not match this config's model: "
                    f"{path or '<root>'} is {_fmt(have.get(path))} in the checkpoint but "
                    f"{_fmt(want.get(path))} here. Use another --workdir or the config it was "
                    "trained with."
                )

    def close(self) -> None:
        self._manager.close()


def sharding_function(sharding):
    """`sharding` if it is a function of an array (its ShapeDtypeStruct), else the function
    that gives that one Sharding to every array."""
    return sharding if callable(sharding) else (lambda _: sharding)


def abstract_train_state(init_fn, init_key, example, sharding):
    """(abstract state, abstract checkpoint tree with `sharding`) without allocating params.

    `sharding`: one Sharding for every array, or a function of an array's ShapeDtypeStruct
    giving its Sharding (parallel.state_sharding).
    """
    sharding_of = sharding_function(sharding)
    abstract_state = jax.eval_shape(init_fn, init_key, example)
    abstract_tree = jax.tree.map(
        lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding_of(s)),
        abstract_state.checkpoint_tree(),
    )
    return abstract_state, abstract_tree


def restore_latest(directory: str, abstract_state, abstract_tree, keep: int = 3):
    """The newest good checkpoint under `directory` as a state, or None when there is none."""
    if not os.path.isdir(directory):
        return None
    ckpt = Checkpointer(directory, max_to_keep=keep)
    try:
        step, tree = ckpt.restore_latest(abstract_tree)
    finally:
        ckpt.close()
    if tree is None:
        return None
    logging.info("restored step %d from %s", step, directory)
    return abstract_state.from_checkpoint_tree(tree)


def _shapes(tree) -> dict:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {
        "/".join(_key_name(k) for k in path): tuple(getattr(leaf, "shape", ()))
        for path, leaf in leaves
    }


def _key_name(k) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def _fmt(shape) -> str:
    return "absent" if shape is None else str(tuple(shape))
