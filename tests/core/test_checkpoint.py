"""Checkpointer: newest-first restore, shape checks, fallback past corrupt steps, retention."""

import glob
import logging
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from v101jax.core.checkpoint import Checkpointer
from v101jax.core.errors import CheckpointError


def _tree(value: float, w_shape=(3, 2)) -> dict:
    """A small checkpoint tree whose every array is filled with (a function of) `value`."""
    return {
        "step": jnp.array(int(value), jnp.int32),
        "params": {
            "w": jnp.full(w_shape, value, jnp.float32),
            "b": jnp.arange(2, dtype=jnp.float32) + value,
        },
        "opt_state": [jnp.full((2,), -value, jnp.float32)],
    }


def _abstract(tree) -> dict:
    sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    return jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), tree
    )


def _assert_tree_is(tree, value: float):
    assert int(tree["step"]) == int(value)
    np.testing.assert_array_equal(
        tree["params"]["w"], np.full((3, 2), value, np.float32)
    )
    np.testing.assert_array_equal(
        tree["params"]["b"], np.array([value, value + 1], np.float32)
    )
    np.testing.assert_array_equal(
        tree["opt_state"][0], np.full((2,), -value, np.float32)
    )


@pytest.fixture
def ckpt(tmp_path):
    c = Checkpointer(str(tmp_path / "ckpt"), max_to_keep=3)
    yield c
    c.close()


def test_restore_latest_returns_the_newest_step(ckpt):
    ckpt.save(10, _tree(1.0))
    ckpt.save(20, _tree(2.0))
    assert ckpt.all_steps() == [10, 20]
    step, tree = ckpt.restore_latest(_abstract(_tree(0.0)))
    assert step == 20
    _assert_tree_is(tree, 2.0)


def test_restore_of_an_older_step(ckpt):
    ckpt.save(10, _tree(1.0))
    ckpt.save(20, _tree(2.0))
    _assert_tree_is(ckpt.restore(10, _abstract(_tree(0.0))), 1.0)


def test_restore_latest_without_checkpoints_returns_none(ckpt):
    assert ckpt.all_steps() == []
    assert ckpt.restore_latest(_abstract(_tree(0.0))) == (None, None)


def test_saving_an_existing_step_again_keeps_the_first(ckpt):
    ckpt.save(5, _tree(1.0))
    ckpt.save(5, _tree(7.0))
    _, tree = ckpt.restore_latest(_abstract(_tree(0.0)))
    _assert_tree_is(tree, 1.0)


def test_shape_mismatch_raises_checkpoint_error_naming_the_path(ckpt):
    ckpt.save(1, _tree(1.0))
    ckpt.save(2, _tree(2.0))
    with pytest.raises(CheckpointError) as info:
        ckpt.restore_latest(_abstract(_tree(0.0, w_shape=(4, 2))))
    message = str(info.value)
    assert "params/w" in message
    assert "(3, 2)" in message and "(4, 2)" in message
    assert "params/b" not in message


def test_missing_leaf_raises_checkpoint_error_naming_it(ckpt):
    ckpt.save(1, _tree(1.0))
    target = _tree(0.0)
    target["params"]["extra"] = jnp.zeros((5,))
    with pytest.raises(
        CheckpointError, match=r"params/extra is absent in the checkpoint"
    ):
        ckpt.restore_latest(_abstract(target))


def _delete_array_data(step_dir):
    paths = glob.glob(os.path.join(step_dir, "**", "d", "*"), recursive=True)
    assert paths
    for p in paths:
        os.remove(p)


def _overwrite_array_data(step_dir):
    paths = glob.glob(os.path.join(step_dir, "**", "d", "*"), recursive=True)
    assert paths
    for p in paths:
        with open(p, "wb") as f:
            f.write(b"not a chunk" * 8)


def _delete_metadata(step_dir):
    os.remove(os.path.join(step_dir, "_METADATA"))


def _empty_item_dir(step_dir):
    shutil.rmtree(step_dir)
    os.makedirs(step_dir)


# orbax's failed read can leave a callback for its closed event loop; that noise is not ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    "corrupt",
    [_delete_array_data, _overwrite_array_data, _delete_metadata, _empty_item_dir],
)
def test_corrupt_newest_step_falls_back_to_the_previous_with_a_warning(
    ckpt, caplog, corrupt
):
    ckpt.save(1, _tree(1.0))
    ckpt.save(2, _tree(2.0))
    corrupt(os.path.join(ckpt.directory, "2", "default"))
    with caplog.at_level(logging.WARNING, logger="absl"):
        step, tree = ckpt.restore_latest(_abstract(_tree(0.0)))
    assert step == 1
    _assert_tree_is(tree, 1.0)
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "absl" and r.levelno == logging.WARNING
    ]
    assert any(f"{ckpt.directory}/2 could not be restored" in m for m in warnings), (
        warnings
    )


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_all_steps_corrupt_returns_none(ckpt):
    ckpt.save(1, _tree(1.0))
    ckpt.save(2, _tree(2.0))
    for step in (1, 2):
        _delete_array_data(os.path.join(ckpt.directory, str(step), "default"))
    assert ckpt.restore_latest(_abstract(_tree(0.0))) == (None, None)


def test_max_to_keep_is_honoured(tmp_path):
    directory = tmp_path / "ckpt"
    c = Checkpointer(str(directory), max_to_keep=2)
    try:
        for step in (1, 2, 3, 4):
            c.save(step, _tree(float(step)))
        assert c.all_steps() == [3, 4]
        on_disk = sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit())
        assert on_disk == [3, 4]
        _assert_tree_is(c.restore(3, _abstract(_tree(0.0))), 3.0)
    finally:
        c.close()


def test_a_reopened_checkpointer_restores_the_newest_step(tmp_path):
    directory = str(tmp_path / "ckpt")
    writer = Checkpointer(directory, max_to_keep=3)
    writer.save(1, _tree(1.0))
    writer.save(2, _tree(2.0))
    writer.close()
    reader = Checkpointer(directory, max_to_keep=3)
    try:
        step, tree = reader.restore_latest(_abstract(_tree(0.0)))
        assert step == 2
        _assert_tree_is(tree, 2.0)
    finally:
        reader.close()


def test_a_reopened_checkpointer_reports_a_shape_mismatch(tmp_path):
    directory = str(tmp_path / "ckpt")
    writer = Checkpointer(directory, max_to_keep=3)
    writer.save(1, _tree(1.0))
    writer.close()
    reader = Checkpointer(directory, max_to_keep=3)
    try:
        with pytest.raises(CheckpointError, match="params/w"):
            reader.restore_latest(_abstract(_tree(0.0, w_shape=(4, 2))))
    finally:
        reader.close()
