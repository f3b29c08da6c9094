"""Input pipelines: dataset sources and the deterministic, resumable batch iterator."""

from v101jax.data.pipeline import BatchIterator, load_dataset, sample_shape

__all__ = ["BatchIterator", "load_dataset", "sample_shape"]
