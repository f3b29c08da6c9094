"""Images read when a batch asks for them, for datasets that do not fit in memory.

`LazyImages` stands where the in-memory pipeline holds an array of images: `len()`, `.ndim`,
`.shape` and indexing by an index array (or a slice, or an int) like [N, H, W, C] float32
in [-1, 1], but each lookup decodes only the requested images, split over `workers` worker
processes (0: in the calling thread). `BatchIterator` draws its indices from (seed, step) as
for arrays and prepares batches ahead in a background thread, so a streamed run sees exactly
the batches of an in-memory one, resumes exactly, and each process of a run decodes only its
own rows of every batch.

Worker processes, not threads: decoding a small JPEG is mostly Python-level work under the
GIL, and threads gained nothing on the CPU where this was measured while two processes nearly
doubled the rate (benchmarks/RESULTS.md). They start from a fork server, never by forking the
training process (whose XLA threads a fork would copy mid-flight).

Written here rather than with grain or tf.data: both bring their own shuffling, and keeping
the pipeline's index sampling is what makes streamed and in-memory runs identical; what
remains, decoding a list of files in parallel, is a process pool.
"""

import concurrent.futures
import math
import multiprocessing

import numpy as np


class _LazyArray:
    """An array of `len()` rows read when indexed: by an int, a slice, an index array or a
    mask, like numpy; subclasses give `shape`, `dtype` and `_rows(indices)`."""

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, int | np.integer):
            return self[np.asarray([key])][0]
        # Slices, index arrays and masks alike.
        indices = np.arange(len(self))[key].tolist()
        if not indices:
            return np.zeros((0,) + self.shape[1:], self.dtype)
        return self._rows(indices)

    def __array__(self, dtype=None, copy=None):
        """Every row at once (for code that needs the whole set, e.g. a small held-out
        split's reference statistics)."""
        del copy
        x = self[:]
        return x if dtype is None else x.astype(dtype)


class LazyImages(_LazyArray):
    """Images [N, H, W, C] as float32 in [-1, 1], each read by `read(i)` → uint8 [h, w, C]
    (already at the target size; a picklable callable when `workers` > 0), with `pad`
    pixels of −1 on every side."""

    def __init__(self, read, num_images: int, shape, *, pad: int = 0, workers: int = 0):
        self._read = read
        self._num_images = num_images
        self._image_shape = tuple(shape)
        self._pad = pad
        self._workers = max(0, workers)
        self._pool = None

    @property
    def shape(self) -> tuple[int, ...]:
        h, w, c = self._image_shape
        p = self._pad
        return (self._num_images, h + 2 * p, w + 2 * p, c)

    @property
    def dtype(self):
        return np.dtype(np.float32)

    def padded(self, pad: int) -> "LazyImages":
        """The same images with `pad` more pixels of −1 on every side."""
        return LazyImages(
            self._read,
            self._num_images,
            self._image_shape,
            pad=self._pad + pad,
            workers=self._workers,
        )

    def _rows(self, indices: list[int]) -> np.ndarray:
        if self._workers == 0:
            images = [self._read(i) for i in indices]
        else:
            if self._pool is None:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    self._workers, mp_context=multiprocessing.get_context("forkserver")
                )
            chunk = max(1, math.ceil(len(indices) / self._workers))
            images = list(self._pool.map(self._read, indices, chunksize=chunk))
        x = np.stack(images).astype(np.float32) / 127.5 - 1.0
        p = self._pad
        if p:
            x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), constant_values=-1.0)
        return x

    def close(self):
        """Stops the worker processes (they restart if the images are read again)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __getstate__(self):
        # The process pool does not travel; it restarts on use.
        return {**self.__dict__, "_pool": None}


class LazyLabels(_LazyArray):
    """Labels [N] int32, each read by `read(i)` → int when indexed (in the calling thread:
    a label is a small part of a record)."""

    def __init__(self, read, num_labels: int):
        self._read = read
        self._num_labels = num_labels

    @property
    def shape(self) -> tuple[int, ...]:
        return (self._num_labels,)

    @property
    def dtype(self):
        return np.dtype(np.int32)

    def _rows(self, indices: list[int]) -> np.ndarray:
        return np.asarray([self._read(i) for i in indices], np.int32)
