"""Input pipelines: dataset sources and the deterministic, resumable batch iterator."""

from v101jax.data.pipeline import (
    BatchIterator,
    batch_spec,
    example_batch,
    image_key,
    is_paired,
    load_dataset,
    num_classes,
    sample_shape,
)

__all__ = [
    "BatchIterator",
    "batch_spec",
    "example_batch",
    "image_key",
    "is_paired",
    "load_dataset",
    "num_classes",
    "sample_shape",
]
