"""Input pipelines: dataset sources and the deterministic, resumable batch iterator."""

from v101jax.data.pipeline import (
    BatchIterator,
    batch_spec,
    example_batch,
    is_paired,
    is_unpaired,
    load_dataset,
    num_classes,
    real_images,
    sample_shape,
)

__all__ = [
    "BatchIterator",
    "batch_spec",
    "example_batch",
    "is_paired",
    "is_unpaired",
    "load_dataset",
    "num_classes",
    "real_images",
    "sample_shape",
]
