"""What the streaming tests share: a small RGB data config and a run of batches."""

from configs import base
from v101jax.data import BatchIterator


def data_config(**fields):
    """configs/base.py's data section at 8×8 RGB with two decoding workers, plus `fields`."""
    cfg = base.get_base_config().data
    cfg.image_size, cfg.channels = 8, 3
    cfg.stream_workers = 2  # worker processes
    for k, v in fields.items():
        cfg[k] = v
    return cfg


def batches(dataset, steps: int, seed: int, **kw) -> list[dict]:
    """The first `steps` batches of 8 (random flips on) of `dataset`, the iterator closed."""
    it = BatchIterator(dataset, global_batch_size=8, seed=seed, random_flip=True, **kw)
    try:
        return [next(it) for _ in range(steps)]
    finally:
        it.close()
