"""Dataset loading from `config.data` and the deterministic, resumable batch iterator.

A dataset is a dict of numpy arrays, or, for sources larger than memory (data.streaming:
image folders, TFDS sets in ArrayRecord format), of arrays read as they are indexed
(v101jax.data.streaming). The batch for
global step s is a pure function of (seed, s): epoch e = s // steps_per_epoch is shuffled with
`default_rng([seed, e])`, so a resumed run sees exactly the batches it would have seen, and
each process takes only its own contiguous slice of every global batch.
"""

import os
import queue
import threading

import numpy as np
from absl import logging

from v101jax.core.errors import ConfigError, DataError
from v101jax.data import (
    captions,
    edges,
    fashion_mnist,
    folders,
    photos,
    streaming,
    tfds_records,
    tokenizer,
    toy,
)

TOY_SOURCES = ("ring", "grid", "moons")
# Paired sources: batches {"source": input image, "target": its image in the other domain,
# "label"}, for image-to-image translation.
# photo_pairs: "source" a low-resolution crop (1/data.downscale of the target's size).
PAIRED_SOURCES = ("fashion_edges", "paired_folder", "photo_pairs")
# Crops of photos (v101jax.data.photos): photos for style transfer, photo_pairs for SR.
PHOTO_SOURCES = ("photos", "photo_pairs")
# Unpaired sources: batches {"a": images of domain A, "b": images of domain B}, drawn
# independently of each other (CycleGAN's data).
UNPAIRED_SOURCES = ("fashion_domains", "unpaired_folder", "tfds_domains")
# Sources whose images take data.image_size and data.channels.
SIZED_SOURCES = (
    "tfds",
    "image_folder",
    "paired_folder",
    "unpaired_folder",
    "tfds_domains",
) + PHOTO_SOURCES
# Sources that data.streaming reads batch by batch instead of whole.
STREAMING_SOURCES = ("image_folder", "tfds")
SOURCES = (
    ("fashion_mnist", "tfds", "digits", "image_folder", "photos")
    + PAIRED_SOURCES
    + UNPAIRED_SOURCES
    + TOY_SOURCES
)
# data.captions="templates": the sources whose examples get templated captions
# (v101jax.data.captions); "files": an image folder's caption files (v101jax.data.folders);
# "tfds": a TFDS set's text feature (data.tfds_caption_key; COCO captions and the like).
CAPTIONED_SOURCES = ("fashion_mnist", "ring")
CAPTION_MODES = ("none", "templates", "files", "tfds")


def sample_shape(data_cfg) -> tuple[int, ...]:
    """Shape of one example (without batch axis) for `data_cfg.source`: of a paired source,
    the shape of its target images (what a model generates); data.pad included."""
    source = data_cfg.source
    pad = data_cfg.pad
    if pad < 0 or (pad and source in TOY_SOURCES + PHOTO_SOURCES):
        raise ConfigError(
            f"data.pad={pad} must be ≥ 0, and 0 for 2-D points and photo crops "
            f"(data.source={source!r})"
        )
    if source in ("fashion_mnist", "fashion_edges", "fashion_domains"):
        size, channels = 28, 1
    elif source == "digits":
        size, channels = 8, 1
    elif source in TOY_SOURCES:
        return (2,)
    elif source in SIZED_SOURCES:
        size, channels = data_cfg.image_size, data_cfg.channels
    else:
        raise ConfigError(f"data.source={source!r} is not one of: {', '.join(SOURCES)}")
    return (size + 2 * pad, size + 2 * pad, channels)


def _stored_shape(data_cfg) -> tuple[int, int, int]:
    """A sized source's images as read, before data.pad: image_size² × channels."""
    return (data_cfg.image_size, data_cfg.image_size, data_cfg.channels)


def pad_images(images, pad: int):
    """[N, H, W, C] images with `pad` pixels of background (−1) on every side (streamed
    images are padded as each batch is read)."""
    if not pad:
        return images
    if isinstance(images, streaming.LazyImages):
        return images.padded(pad)
    return np.pad(
        images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=-1.0
    )


# Classes of the built-in sources; a TFDS set declares its own in data.num_classes.
_NUM_CLASSES = {
    "fashion_mnist": 10,
    "fashion_edges": 10,
    "fashion_domains": 2,  # the two domains
    "unpaired_folder": 2,
    "tfds_domains": 2,
    "paired_folder": 1,  # no labels: 0 throughout
    "image_folder": 1,
    "photos": 1,
    "photo_pairs": 1,
    "digits": 10,
    "ring": 8,
    "grid": 25,
    "moons": 2,
}


def num_classes(data_cfg) -> int:
    """Label classes of `data_cfg.source` (a class-conditional model's K).

    TFDS sets take `data.num_classes`; 0 there (unknown) is a ConfigError, since a
    conditional model would otherwise be built for a guessed number of classes.
    """
    source = data_cfg.source
    if source in _NUM_CLASSES:
        return _NUM_CLASSES[source]
    sample_shape(data_cfg)  # validates the name
    if data_cfg.num_classes < 1:
        raise ConfigError(
            f"data.source={source!r} ({data_cfg.tfds_name}): set data.num_classes to the "
            "number of label classes for a class-conditional model"
        )
    return data_cfg.num_classes


def is_paired(data_cfg) -> bool:
    """Whether `data_cfg.source` gives (source, target) image pairs."""
    return data_cfg.source in PAIRED_SOURCES


def is_unpaired(data_cfg) -> bool:
    """Whether `data_cfg.source` gives two unpaired image domains {"a", "b"}."""
    return data_cfg.source in UNPAIRED_SOURCES


def batch_spec(data_cfg) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """The keys of `data_cfg.source`'s batches, each with its per-example shape and dtype.

    Single-image sources give {"x": an image [H, W, C] or a 2-D point, "label": int32},
    with data.captions also "captions" (int32 [templates or data.captions_per_image,
    data.caption_length]: one token sequence per caption) and "description" (int32: what
    they say, v101jax.data.captions);
    paired sources {"source": the input image, "target": the image it maps to, "label":
    int32}; unpaired two-domain sources {"a": an image of domain A, "b": one of domain B},
    so the loop builds example batches from this and never names keys itself.
    """
    shape = sample_shape(data_cfg)
    if has_captions(data_cfg):
        if data_cfg.captions in ("files", "tfds"):
            k = data_cfg.captions_per_image
        elif data_cfg.source == "ring":
            k = len(captions.RING_TEMPLATES)
        else:
            k = captions.FASHION_TEMPLATES
        return {
            "x": (shape, np.float32),
            "label": ((), np.int32),
            "captions": ((k, data_cfg.caption_length), np.int32),
            "description": ((), np.int32),
        }
    if is_paired(data_cfg):
        return {
            "source": (source_shape(data_cfg), np.float32),
            "target": (shape, np.float32),
            "label": ((), np.int32),
        }
    if is_unpaired(data_cfg):
        return {"a": (shape, np.float32), "b": (shape, np.float32)}
    return {"x": (shape, np.float32), "label": ((), np.int32)}


def has_captions(data_cfg) -> bool:
    """Whether batches carry captions (data.captions); a ConfigError for a mode or source
    without them."""
    mode = data_cfg.get("captions", "none")
    if mode not in CAPTION_MODES:
        raise ConfigError(
            f"data.captions={mode!r} is not one of: {', '.join(CAPTION_MODES)}"
        )
    if mode == "none":
        return False
    if mode in ("files", "tfds"):
        wanted = {"files": "image_folder", "tfds": "tfds"}[mode]
        if data_cfg.source != wanted:
            raise ConfigError(
                f"data.captions={mode!r} reads the captions of data.source={wanted!r}, "
                f"not {data_cfg.source!r}"
            )
        if data_cfg.get("streaming", False):
            raise ConfigError(
                f"data.captions={mode!r} reads the set whole: set data.streaming=False"
            )
        if data_cfg.captions_per_image < 1:
            raise ConfigError(
                f"data.captions_per_image={data_cfg.captions_per_image} must be ≥ 1"
            )
        return True
    if data_cfg.source not in CAPTIONED_SOURCES:
        raise ConfigError(
            f"data.captions={mode!r} writes captions for data.source in "
            f"{', '.join(CAPTIONED_SOURCES)}, not {data_cfg.source!r}"
        )
    return True


def caption_vocabulary(data_cfg) -> tuple[str, ...]:
    """The tokenizer vocabulary of a captioned source (what text.vocabulary is set to): of
    caption files, every word of the train split's captions, whatever data.split says."""
    has_captions(data_cfg)
    if data_cfg.captions in ("files", "tfds"):
        return tokenizer.build_vocabulary(
            c for own in _caption_lines(data_cfg, "train") for c in own
        )
    return captions.vocabulary(data_cfg.source)


def _caption_lines(data_cfg, split: str) -> list[list[str]]:
    """Each image's captions in split `split` of a source with its own captions (an image
    folder's caption files, a TFDS set's text feature), in the images' order."""
    if data_cfg.captions == "files":
        return folders.read_captions(os.path.join(_folder_root(data_cfg), split))
    return _tfds_captions(data_cfg, split)


def caption_tokenizer(data_cfg) -> tokenizer.Tokenizer:
    return tokenizer.Tokenizer(caption_vocabulary(data_cfg), data_cfg.caption_length)


def _with_captions(data_cfg, dataset: dict) -> dict:
    """`dataset` with "captions" and "description" (see batch_spec). Fashion-MNIST's
    attribute levels are cut at the train split's per-class terciles, whatever the split."""
    tok = caption_tokenizer(data_cfg)
    labels = dataset["label"]
    if data_cfg.captions in ("files", "tfds"):
        lines = _caption_lines(data_cfg, data_cfg.split)
        _warn_long_captions(lines, data_cfg.caption_length)
        tokens, description = captions.file_captions(
            lines, data_cfg.captions_per_image, tok
        )
    elif data_cfg.source == "ring":
        tokens, description = captions.ring_captions(labels, tok)
    else:
        images = np.round((dataset["x"] + 1.0) * 127.5).astype(np.uint8)
        thresholds = fashion_attribute_thresholds(data_cfg)
        tokens, description = captions.fashion_captions(images, labels, thresholds, tok)
    return {**dataset, "captions": tokens, "description": description}


def _warn_long_captions(lines, length: int) -> None:
    long = [c for own in lines for c in own if len(tokenizer.words(c)) > length]
    if long:
        logging.warning(
            "%d captions have more than data.caption_length=%d words and are cut, e.g. %r",
            len(long),
            length,
            long[0],
        )


def fashion_attribute_thresholds(data_cfg) -> np.ndarray:
    """[K, A, 2] per-class terciles of the train split's attributes (captions.attribute_levels)."""
    images, labels = fashion_mnist.load(data_cfg.fashion_mnist_dir, "train")
    return captions.attribute_thresholds(
        captions.measure_attributes(images), labels, len(captions.FASHION_NOUNS)
    )


def source_shape(data_cfg) -> tuple[int, ...]:
    """Shape of a paired source's input images: the targets' shape, except photo_pairs'
    low-resolution crops (1/data.downscale of the size)."""
    shape = sample_shape(data_cfg)
    if data_cfg.source != "photo_pairs":
        return shape
    scale = data_cfg.downscale
    if scale < 2 or shape[0] % scale:
        raise ConfigError(
            f"data.downscale={scale} must be ≥ 2 and divide data.image_size={shape[0]}"
        )
    return (shape[0] // scale, shape[1] // scale, shape[2])


def real_images(data_cfg, dataset: dict[str, np.ndarray]) -> np.ndarray:
    """The real images of a loaded dataset that samples are compared with (the reference set
    of the Fréchet distance, autoencoder inputs): a paired source's targets, both domains of
    an unpaired one (A then B), else "x"."""
    if is_paired(data_cfg):
        return dataset["target"]
    if is_unpaired(data_cfg):
        return np.concatenate([dataset["a"], dataset["b"]])
    return dataset["x"]


def example_batch(data_cfg, batch_size: int) -> dict[str, np.ndarray]:
    """Zeros shaped like a batch of `batch_size` examples of `data_cfg.source`."""
    return {
        key: np.zeros((batch_size,) + shape, dtype)
        for key, (shape, dtype) in batch_spec(data_cfg).items()
    }


def load_dataset(data_cfg, *, seed: int = 0) -> dict[str, np.ndarray]:
    """`data_cfg.source` as arrays (`load_unpadded`), its images padded by data.pad."""
    dataset = load_unpadded(data_cfg, seed=seed)
    return {
        k: pad_images(v, data_cfg.pad) if v.ndim == 4 else v for k, v in dataset.items()
    }


def load_unpadded(data_cfg, *, seed: int = 0) -> dict[str, np.ndarray]:
    """Loads `data_cfg.source` as arrays with the keys of `batch_spec`: {"x": float32 in
    [-1, 1], "label": int32}, for paired sources {"source", "target", "label"}, for unpaired
    ones {"a", "b"} (whose lengths may differ).

    Images are NHWC; toy sets are [N, 2] points (not rescaled). `fashion_edges` pairs each
    Fashion-MNIST image (target) with its binary Sobel edge map (source, v101jax.data.edges),
    computed at load time for the whole split at once (seconds). `fashion_domains` splits
    Fashion-MNIST by class: A holds the images of class data.domain_classes[0], B those of
    data.domain_classes[1] (default sneaker ↔ ankle boot).

    The user's own data (v101jax.data.folders): `paired_folder` reads pix2pix's side-by-side
    A | B files from data.folder/{split}/ (source = A and target = B, or the reverse with
    data.direction = "BtoA"); `unpaired_folder` CycleGAN's data.folder/{split}A/ and
    {split}B/; `tfds_domains` a TFDS set with splits {split}A and {split}B (cycle_gan/*, e.g.
    cycle_gan/horse2zebra). All three are resized to data.image_size with data.channels.
    """
    source = data_cfg.source
    sample_shape(data_cfg)  # validates the name
    if has_captions(data_cfg):
        plain = data_cfg.copy_and_resolve_references()
        plain.captions = "none"
        return _with_captions(data_cfg, load_unpadded(plain, seed=seed))
    # .get: configs saved before these fields existed read whole, as they were trained.
    streamed = data_cfg.get("streaming", False)
    workers = data_cfg.get("stream_workers", 0)
    if streamed and source not in STREAMING_SOURCES:
        raise ConfigError(
            f"data.streaming reads {', '.join(STREAMING_SOURCES)}; data.source={source!r} "
            "is read whole (set data.streaming=False)"
        )
    if workers < 0:
        raise ConfigError(f"data.stream_workers={workers} must be ≥ 0")
    if source == "fashion_mnist":
        images, labels = fashion_mnist.load(data_cfg.fashion_mnist_dir, data_cfg.split)
        return {"x": _uint8_to_unit(images), "label": labels}
    if source == "fashion_edges":
        images, labels = fashion_mnist.load(data_cfg.fashion_mnist_dir, data_cfg.split)
        return {
            "source": edges.edge_maps(images),
            "target": _uint8_to_unit(images),
            "label": labels,
        }
    if source == "fashion_domains":
        images, labels = fashion_mnist.load(data_cfg.fashion_mnist_dir, data_cfg.split)
        a, b = _domain_classes(data_cfg)
        return {
            "a": _uint8_to_unit(images[labels == a]),
            "b": _uint8_to_unit(images[labels == b]),
        }
    if source == "digits":
        return _load_digits(data_cfg.split)
    if source == "tfds" and (streamed or tfds_records.is_array_record(data_cfg)):
        # ArrayRecord sets are read record by record (TFDS reads them no other way); read
        # whole unless streamed.
        dataset = _tfds_streamed(data_cfg, data_cfg.split)
        if streamed:
            return dataset
        whole = {k: np.asarray(v) for k, v in dataset.items()}
        dataset["x"].close()
        return whole
    if source == "tfds":
        images, labels = _tfds_images(data_cfg, data_cfg.split)
        return {"x": _uint8_to_unit(images), "label": labels}
    if source == "tfds_domains":
        a, b = (_tfds_images(data_cfg, f"{data_cfg.split}{d}")[0] for d in "AB")
        return {"a": _uint8_to_unit(a), "b": _uint8_to_unit(b)}
    if source in ("image_folder", "paired_folder", "unpaired_folder"):
        return _load_folder(data_cfg)
    if source in PHOTO_SOURCES:
        return _load_photo_crops(data_cfg)
    make = {
        "ring": toy.ring_of_gaussians,
        "grid": toy.grid_of_gaussians,
        "moons": toy.two_moons,
    }
    # The test split is drawn from a different seed than the train split.
    split_seed = {"train": 0, "test": 1}.get(data_cfg.split)
    if split_seed is None:
        raise ConfigError(
            f"data.split={data_cfg.split!r}: toy sets have splits train, test"
        )
    points, labels = make[source](
        data_cfg.num_points, std=data_cfg.toy_std, seed=seed * 2 + split_seed
    )
    return {"x": points, "label": labels}


def _domain_classes(data_cfg) -> tuple[int, int]:
    classes = tuple(data_cfg.domain_classes)
    if (
        len(classes) != 2
        or classes[0] == classes[1]
        or not all(0 <= c < len(fashion_mnist.CLASS_NAMES) for c in classes)
    ):
        raise ConfigError(
            f"data.domain_classes={classes}: give two different Fashion-MNIST classes "
            f"(0 … {len(fashion_mnist.CLASS_NAMES) - 1}) for domains A and B"
        )
    return classes


def _uint8_to_unit(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 127.5 - 1.0


def _load_digits(split: str):
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (
        digits.images.astype(np.float32)[..., None] / 16.0 * 2.0 - 1.0
    )  # 0..16 → [-1, 1]
    labels = digits.target.astype(np.int32)
    # sklearn ships one set; hold out every fifth image as the test split.
    test = np.arange(len(labels)) % 5 == 0
    if split not in ("train", "test"):
        raise ConfigError(f"data.split={split!r}: digits has splits train, test")
    keep = test if split == "test" else ~test
    return {"x": images[keep], "label": labels[keep]}


def _folder_root(data_cfg) -> str:
    if not data_cfg.folder:
        raise ConfigError(
            f"data.source={data_cfg.source!r}: set data.folder to the dataset's root folder"
        )
    return data_cfg.folder


def _load_folder(data_cfg):
    _folder_root(data_cfg)
    shape = _stored_shape(data_cfg)
    if data_cfg.source == "image_folder":
        path = os.path.join(data_cfg.folder, data_cfg.split)
        if data_cfg.streaming:
            read, n = folders.image_reader(path, shape)
            images = streaming.LazyImages(
                read, n, shape, workers=data_cfg.stream_workers
            )
            return {"x": images, "label": np.zeros(n, np.int32)}
        images, _ = folders.read_image_folder(path, shape)
        return {"x": _uint8_to_unit(images), "label": np.zeros(len(images), np.int32)}
    if data_cfg.source == "unpaired_folder":
        a, b = folders.read_domains(data_cfg.folder, data_cfg.split, shape)
        return {"a": _uint8_to_unit(a), "b": _uint8_to_unit(b)}
    if data_cfg.direction not in ("AtoB", "BtoA"):
        raise ConfigError(f"data.direction={data_cfg.direction!r}: choose AtoB or BtoA")
    a, b = folders.read_aligned_pairs(
        os.path.join(data_cfg.folder, data_cfg.split), shape
    )
    source, target = (a, b) if data_cfg.direction == "AtoB" else (b, a)
    return {
        "source": _uint8_to_unit(source),
        "target": _uint8_to_unit(target),
        "label": np.zeros(len(source), np.int32),
    }


def _load_photo_crops(data_cfg) -> dict[str, np.ndarray]:
    """Crops of data.photo_set's photos (v101jax.data.photos): {"x"} for photos, the
    degraded crops as "source" and the crops as "target" for photo_pairs."""
    source_shape(data_cfg)  # validates data.downscale
    scale = data_cfg.downscale if data_cfg.source == "photo_pairs" else 1
    high, low = photos.photo_crops(
        photos.photo_set(data_cfg, data_cfg.split),
        data_cfg.image_size,
        data_cfg.crop_stride,
        data_cfg.channels,
        scale,
        # .get: runs saved before the field existed kept every crop.
        data_cfg.get("min_crop_std", 0.0),
    )
    labels = np.zeros(len(high), np.int32)
    if low is None:
        return {"x": _uint8_to_unit(high), "label": labels}
    return {
        "source": _uint8_to_unit(low),
        "target": _uint8_to_unit(high),
        "label": labels,
    }


def _tfds_streamed(data_cfg, split: str) -> dict:
    """TFDS split `split` (ArrayRecord) as {"x": LazyImages, "label": LazyLabels or zeros}."""
    builder_dir, n, channels, labelled = tfds_records.prepared_split(data_cfg, split)
    shape = _stored_shape(data_cfg)
    _check_tfds_channels(data_cfg, channels)
    images = streaming.LazyImages(
        tfds_records.ImageReader(builder_dir, split, shape),
        n,
        shape,
        workers=data_cfg.stream_workers,
    )
    labels = (
        streaming.LazyLabels(tfds_records.LabelReader(builder_dir, split), n)
        if labelled
        else np.zeros(n, np.int32)
    )
    return {"x": images, "label": labels}


# What a TFDS load's DataError suggests instead.
TFDS_OTHERWISE = "data.source=fashion_mnist"


def _check_tfds_channels(data_cfg, channels: int):
    if channels != data_cfg.channels:
        raise ConfigError(
            f"data.channels={data_cfg.channels} but {data_cfg.tfds_name} images have "
            f"{channels}"
        )


def _tfds_captions(data_cfg, split: str) -> list[list[str]]:
    """Each example's captions in TFDS split `split`, in the set's order (the order
    `_tfds_images` reads): the strings under data.tfds_caption_key. Images are not decoded.
    A DataError names a missing key and the examples without a caption."""
    keys = data_cfg.tfds_caption_key.split("/")
    with tfds_records.whole_split(
        data_cfg, split, otherwise=TFDS_OTHERWISE, decode_images=False
    ) as (tfds, dataset):
        spec = dataset.element_spec
        for depth, key in enumerate(keys):
            if not isinstance(spec, dict) or key not in spec:
                have = sorted(spec) if isinstance(spec, dict) else []
                raise DataError(
                    f"data.tfds_caption_key={data_cfg.tfds_caption_key!r}: "
                    f"{'/'.join(keys[: depth + 1])!r} is not a feature of {data_cfg.tfds_name!r}"
                    f" (there: {', '.join(have)})"
                )
            spec = spec[key]

        def pick(example):
            for key in keys:
                example = example[key]
            return example

        lines, empty = [], []
        for i, text in enumerate(tfds.as_numpy(dataset.map(pick))):
            own = [
                t.decode("utf-8").strip() if isinstance(t, bytes) else str(t).strip()
                for t in np.atleast_1d(text)
            ]
            own = [t for t in own if t]
            if not own:
                empty.append(i)
            lines.append(own)
    if empty:
        raise DataError(
            f"{data_cfg.tfds_name!r} split {split!r}: {len(empty)} examples have no caption "
            f"under {data_cfg.tfds_caption_key!r} (the first: {empty[:5]})"
        )
    return lines


def _tfds_images(data_cfg, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(uint8-valued images [N, size, size, channels], int32 labels) of TFDS split `split`."""
    with tfds_records.whole_split(data_cfg, split, otherwise=TFDS_OTHERWISE) as (
        tfds,
        dataset,
    ):
        # Only the image and the label: other features (a caption sequence's ragged
        # lengths) would stop the whole split from batching.
        dataset = dataset.map(
            lambda ex: {k: v for k, v in ex.items() if k in ("image", "label")}
        )
        image_spec = dataset.element_spec["image"]
        if image_spec.shape.is_fully_defined():  # one batch of the whole split
            examples = tfds.as_numpy(dataset.batch(max(1, len(dataset))))
            data = next(iter(examples))
            images, labels = data["image"], data.get("label")
        else:  # images of different sizes (cycle_gan/*): one at a time
            images, labels = [], []
            for example in tfds.as_numpy(dataset):
                images.append(example["image"])
                labels.append(example.get("label", 0))
    shape = _stored_shape(data_cfg)
    _check_tfds_channels(data_cfg, image_spec.shape[-1])
    images = folders.resize_images(images, shape)
    # Sets without class labels (CelebA) get label 0 throughout.
    labels = (
        np.zeros(len(images), np.int32)
        if labels is None
        else np.asarray(labels).astype(np.int32)
    )
    return images, labels


class BatchIterator:
    """Yields this process's slice of the global batch for steps start_step, start_step + 1, …

    Batches hold the dataset's keys ({"x": [local_batch, ...], "label": [local_batch]}, a
    paired source's "source"/"target"/"label", an unpaired one's "a"/"b"), as numpy arrays;
    with `independent` each array follows its own shuffle (seeded [seed, its index among the
    sorted keys, epoch]), else all share one. With
    `steps_per_call` K > 1 each item stacks K consecutive steps: [K, local_batch, ...].
    Preparation (and `transform`, e.g. the transfer to devices) runs `prefetch` items ahead in
    a background thread.
    """

    def __init__(
        self,
        dataset,
        *,
        global_batch_size: int,
        seed: int,
        start_step: int = 0,
        process_index: int = 0,
        process_count: int = 1,
        steps_per_call: int = 1,
        random_flip: bool = False,
        independent: bool = False,
        prefetch: int = 2,
        transform=None,
    ):
        self.dataset = dataset
        lengths = {k: len(v) for k, v in dataset.items()}
        if not independent and len(set(lengths.values())) != 1:
            raise DataError(f"dataset arrays differ in length: {lengths}")
        # `independent` (unpaired domains): every array is shuffled on its own, with its own
        # epochs, so the A and B images that meet in a batch change from epoch to epoch.
        self.independent = independent
        self.num_examples = min(lengths.values())
        if global_batch_size > self.num_examples:
            raise ConfigError(
                f"data.batch_size={global_batch_size} exceeds the dataset size "
                f"{self.num_examples}"
                + (f" (of the smallest array: {lengths})" if independent else "")
            )
        if global_batch_size % process_count:
            raise ConfigError(
                f"data.batch_size={global_batch_size} must divide evenly over {process_count} "
                "processes"
            )
        self.global_batch_size = global_batch_size
        self.local_batch_size = global_batch_size // process_count
        self.steps_per_epoch = self.num_examples // global_batch_size
        self.seed = seed
        self.process_index = process_index
        self.steps_per_call = steps_per_call
        self.random_flip = random_flip
        # Applied in the background thread too, e.g. the host-to-device transfer.
        self.transform = transform or (lambda item: item)
        self._step = start_step
        self._perms = {}  # stream → (epoch, permutation) of the last epoch it used
        self._queue = queue.Queue(maxsize=max(1, prefetch))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, daemon=True)
        self._thread.start()

    def indices(self, step: int, key: str | None = None) -> np.ndarray:
        """Dataset indices of this process's examples at global step `step` (of array `key`
        when the arrays are shuffled independently)."""
        if self.independent:
            if key is None:
                raise ValueError("independently shuffled arrays: name the array's key")
            stream = sorted(self.dataset).index(key)
            num_examples = len(self.dataset[key])
            seed = [self.seed, stream]
        else:
            stream, num_examples, seed = None, self.num_examples, [self.seed]
        steps_per_epoch = num_examples // self.global_batch_size
        epoch, pos = divmod(step, steps_per_epoch)
        # One tuple per stream, swapped atomically: safe across threads.
        cached_epoch, perm = self._perms.get(stream, (None, None))
        if epoch != cached_epoch:
            perm = np.random.default_rng(seed + [epoch]).permutation(num_examples)
            self._perms[stream] = (epoch, perm)
        start = (
            pos * self.global_batch_size + self.process_index * self.local_batch_size
        )
        return perm[start : start + self.local_batch_size]

    def batch_at(self, step: int) -> dict[str, np.ndarray]:
        if self.independent:
            batch = {k: v[self.indices(step, k)] for k, v in self.dataset.items()}
        else:
            idx = self.indices(step)
            batch = {k: v[idx] for k, v in self.dataset.items()}
        if self.random_flip:
            # One mask for every image array of the batch ([B, H, W, C]): a paired source's
            # input and target are mirrored together. Labels and 2-D points are left alone.
            rng = np.random.default_rng([self.seed, step, self.process_index, 1])
            flip = (rng.random(self.local_batch_size) < 0.5)[:, None, None, None]
            for k, v in batch.items():
                if v.ndim == 4:
                    batch[k] = np.where(flip, v[:, :, ::-1], v)
        return batch

    def _make(self, step: int):
        if self.steps_per_call == 1:
            return self.batch_at(step)
        items = [self.batch_at(step + i) for i in range(self.steps_per_call)]
        return {k: np.stack([b[k] for b in items]) for k in items[0]}

    def _fill(self):
        step = self._step
        try:
            while not self._stop.is_set():
                self._put(self.transform(self._make(step)))
                step += self.steps_per_call
        except Exception as e:  # noqa: BLE001 - re-raised in the consumer by __next__
            self._put(e)

    def _put(self, item):
        """Blocks until the consumer takes `item` or close() is called."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self):
        return self

    def __next__(self):
        item = self._queue.get()
        if isinstance(item, Exception):
            raise item
        return item

    def close(self):
        """Stops the background thread and waits for it: a thread still inside a device
        transfer when the interpreter exits aborts the process. Streamed images' worker
        processes stop too."""
        self._stop.set()
        self._thread.join(timeout=60)
        for array in self.dataset.values():
            if isinstance(array, streaming.LazyImages):
                array.close()
