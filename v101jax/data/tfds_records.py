"""TFDS datasets: read whole (`whole_split`, the one place the data code calls `tfds.load`), or
record by record for data.streaming (sets larger than host memory).

TFDS's ArrayRecord format is random-access (`tfds.data_source`): record i can be read without
the ones before it, which is what the pipeline's (seed, step) index sampling needs. The reader
asks TFDS for the image's encoded bytes (`SkipDecoding`) and decodes them with PIL in the
worker process: TFDS's own decoding runs TensorFlow ops, and a PNG decodes to the same pixels
either way (a JPEG may differ by a grey level where the two libjpeg builds round differently;
streamed and whole reads of an ArrayRecord set both use PIL, so they agree). The label is read from the same record without touching the image.

Readers are plain objects holding the prepared dataset's folder; each process (the training
process, every decoding worker) opens the source on first use, since an open source does not
travel between processes.
"""

import contextlib
import io

import numpy as np
from PIL import Image

from v101jax.core.errors import ConfigError, DataError, UserError
from v101jax.data import folders


def import_tfds(data_cfg):
    """The tensorflow_datasets module, or a DataError saying that the set needs it."""
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise DataError(
            f"TFDS set {data_cfg.tfds_name!r} needs tensorflow-datasets: {e}"
        ) from e
    return tfds


@contextlib.contextmanager
def whole_split(data_cfg, split: str, *, otherwise: str, decode_images: bool = True):
    """Yields (tfds, the tf.data dataset of `tfds.load(data.tfds_name, split=split)`) from
    data.tfds_data_dir, downloading only where data.tfds_download allows; its "image"
    feature left encoded unless `decode_images`. A failure while loading it or reading it
    inside the block (TFDS raises assertion, network and registry errors alike, and reads
    lazily) is a DataError naming the set, the split and what to use `otherwise`; the
    project's own errors raised in the block pass through."""
    tfds = import_tfds(data_cfg)
    try:
        yield (
            tfds,
            tfds.load(
                data_cfg.tfds_name,
                split=split,
                data_dir=data_cfg.tfds_data_dir or None,
                download=data_cfg.tfds_download,
                decoders=None
                if decode_images
                else {"image": tfds.decode.SkipDecoding()},
            ),
        )
    except UserError:
        raise
    except Exception as e:  # any of TFDS's many error types: see the docstring
        first_line = (str(e).splitlines() or [""])[0][:200]
        raise DataError(
            f"TFDS could not load {data_cfg.tfds_name!r} split {split!r} "
            f"({type(e).__name__}: {first_line}); without internet, "
            f"prepare it elsewhere and set data.tfds_data_dir, or use {otherwise}"
        ) from e


def _open_source(builder_dir: str, split: str):
    import tensorflow_datasets as tfds

    builder = tfds.builder_from_directory(builder_dir)
    return builder.as_data_source(
        split=split, decoders={"image": tfds.decode.SkipDecoding()}
    )


class _RecordReader:
    def __init__(self, builder_dir: str, split: str):
        self.builder_dir, self.split = builder_dir, split
        self._source = None

    def record(self, i: int) -> dict:
        if self._source is None:
            self._source = _open_source(self.builder_dir, self.split)
        return self._source[int(i)]

    def __getstate__(self):
        return {**self.__dict__, "_source": None}


class ImageReader(_RecordReader):
    """read(i): record i's image as uint8 [H, W, C] of `shape` (converted and resized as
    folder images are, v101jax.data.folders)."""

    def __init__(self, builder_dir: str, split: str, shape):
        super().__init__(builder_dir, split)
        self.shape = tuple(shape)

    def __call__(self, i: int) -> np.ndarray:
        encoded = self.record(i)["image"]
        with Image.open(io.BytesIO(encoded)) as im:
            im = im.convert("L" if self.shape[2] == 1 else "RGB")
        return folders.to_array(im, self.shape)


class LabelReader(_RecordReader):
    """read(i): record i's class label."""

    def __call__(self, i: int) -> int:
        return int(self.record(i)["label"])


def is_array_record(data_cfg) -> bool:
    """Whether TFDS set data.tfds_name is prepared in data.tfds_data_dir as ArrayRecord
    files (False too where TFDS does not know it: the whole-set reader reports that)."""
    try:
        import tensorflow_datasets as tfds

        builder = tfds.builder(
            data_cfg.tfds_name, data_dir=data_cfg.tfds_data_dir or None
        )
        return builder.is_prepared() and _format_name(builder) == "array_record"
    except Exception:  # noqa: BLE001 - any failure here means "read it the usual way"
        return False


def _format_name(builder) -> str:
    file_format = builder.info.file_format
    return str(getattr(file_format, "value", file_format))


def prepared_split(data_cfg, split: str):
    """(the prepared dataset's folder, its number of examples in `split`, its image
    channels, whether it has labels) for TFDS set data.tfds_name in ArrayRecord format.

    A set TFDS has not prepared, or prepared as TFRecord files (read whole, not record by
    record), is a ConfigError naming the command that prepares it.
    """
    tfds = import_tfds(data_cfg)
    name = data_cfg.tfds_name
    prepare = f"prepare it with `tfds build {name} --file_format=array_record" + (
        f" --data_dir={data_cfg.tfds_data_dir}`" if data_cfg.tfds_data_dir else "`"
    )
    try:
        builder = tfds.builder(name, data_dir=data_cfg.tfds_data_dir or None)
    except Exception as e:  # an unknown name, a missing folder: TFDS raises many types
        raise DataError(
            f"TFDS has no dataset {name!r} ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:200]}); {prepare}"
        ) from e
    if not builder.is_prepared():
        raise ConfigError(
            f"data.streaming reads prepared TFDS sets; {name!r} is not prepared in "
            f"{builder.data_dir}: {prepare}"
        )
    if _format_name(builder) != "array_record":
        raise ConfigError(
            f"data.streaming reads TFDS's ArrayRecord format, and {name!r} in "
            f"{builder.data_dir} is stored as {_format_name(builder)}: "
            f"{prepare}, or set data.streaming=False to read it whole"
        )
    features = builder.info.features
    if "image" not in features:
        raise ConfigError(f"TFDS set {name!r} has no 'image' feature")
    if split not in builder.info.splits:
        raise ConfigError(
            f"data.split={split!r}: {name} has splits {', '.join(builder.info.splits)}"
        )
    return (
        str(builder.data_dir),
        builder.info.splits[split].num_examples,
        features["image"].shape[-1],
        "label" in features,
    )
