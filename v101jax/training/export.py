"""Sampling from a run's newest checkpoint, exporting the samples (.npz + PNG grid) and
reading such an export back."""

import functools
import json
import os
import zipfile
import zlib

import jax
import ml_collections
import numpy as np

from v101jax.algorithms import get_algorithm
from v101jax.algorithms.contract import with_sample_options
from v101jax.core import parallel
from v101jax.core.checkpoint import abstract_train_state, restore_latest
from v101jax.core.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    WorkdirError,
)
from v101jax.training import images, sampling
from v101jax.training.loop import example_batch, run_keys
from v101jax.training.progress import log_progress


def load_run_config(
    workdir: str, defaults: ml_collections.ConfigDict | None = None
) -> ml_collections.ConfigDict:
    """The resolved config a run saved as WORKDIR/config.json; sections and fields of
    `defaults` (e.g. configs/base.py's) fill in what a run saved before they existed lacks,
    such as `eval`."""
    path = os.path.join(workdir, "config.json")
    if not os.path.exists(path):
        raise WorkdirError(f"{path} not found: is {workdir} a training workdir?")
    with open(path) as f:
        config = ml_collections.ConfigDict(json.load(f))
    for name, section in (defaults or {}).items():
        if name not in config:
            config[name] = section
        elif isinstance(section, ml_collections.ConfigDict):
            for field, value in section.items():
                if field not in config[name]:
                    config[name][field] = value
    algorithm = get_algorithm(config.algorithm)
    # Runs saved before their config held the first stage's: read it once more.
    config = algorithm.resolved(config)
    return config


def load_state(config, workdir: str):
    """The run's newest checkpointed train state (replicated over all devices)."""
    algorithm = get_algorithm(config.algorithm)
    init_key, _, _ = run_keys(config)
    sharding = parallel.replicated(parallel.make_mesh())
    abstract_state, abstract_tree = abstract_train_state(
        functools.partial(algorithm.init, config),
        init_key,
        example_batch(config),
        sharding,
    )
    state = restore_latest(
        os.path.join(workdir, "checkpoints"), abstract_state, abstract_tree
    )
    if state is None:
        raise CheckpointError(
            f"{workdir}/checkpoints holds no checkpoint to sample from"
        )
    return state


def export_samples(
    workdir: str,
    num_samples: int,
    *,
    sample_flags: dict | None = None,
    seed: int = 0,
    batch_size: int = 256,
    use_ema: bool = True,
    out: str | None = None,
    classes=None,
    defaults: ml_collections.ConfigDict | None = None,
) -> str:
    """Draws `num_samples` samples and writes them to `out` (.npz) and a PNG grid beside it.

    The .npz holds `images` (uint8 NHWC) or `points` (float32, 2-D data), and for
    class-conditional models `labels` (int32, the class each sample was drawn for: 0…K−1 in
    turn, or the blocks of `classes`). `classes` (a list of class indices) draws those
    classes in equal blocks and writes one grid per class (OUT_classK.png). An algorithm
    with the `figures` hook also gets each of its figures as OUT_NAME.png. `sample_flags`
    are the command's sampler flags (`steps`, `eta`, `guidance`, …; None = the run's), written
    into config.sample (contract.with_sample_options). `defaults` fills in the fields an
    older run's config.json lacks (load_run_config).
    """
    config, algorithm, state, options = _sampling_run(
        workdir, load_run_config(workdir, defaults), sample_flags, use_ema
    )
    # Conditional models: classes 0…K−1 in turn (or the blocks of `classes`), saved beside
    # the images as `labels` so that experiments.evaluate scores class accuracy.
    labels = sampling.class_labels(config, num_samples, classes)
    inputs = (
        sampling.default_inputs(config, num_samples)
        if labels is None
        else {"labels": labels}
    )
    chunks = sampling.sample_chunks(
        sampling.chunked_sampler(config),
        state,
        num_samples,
        batch_size,
        jax.random.PRNGKey(seed),
        inputs=inputs,
    )
    samples = np.concatenate(list(log_progress(chunks, num_samples)))
    out = _output_path(workdir, out, options, f"n{num_samples}")
    arrays = {} if labels is None else {"labels": labels}
    if samples.ndim == 4:
        arrays["images"] = images.to_uint8(samples)
    else:
        arrays["points"] = samples.astype(np.float32)
    np.savez_compressed(out, **arrays)
    stem = os.path.splitext(out)[0]
    shown = (
        None if inputs is None else {k: np.asarray(v)[:256] for k, v in inputs.items()}
    )
    images.save_png(
        stem + ".png", images.samples_to_picture(samples[:256], inputs=shown)
    )
    for k in classes or ():
        images.save_png(
            f"{stem}_class{k}.png",
            images.samples_to_picture(samples[labels == k][:256]),
        )
    if algorithm.figures is not None:
        figure_key = jax.random.fold_in(jax.random.PRNGKey(seed), 1)
        for name, picture in algorithm.figures(config, state, figure_key).items():
            images.save_png(f"{stem}_{name}.png", picture)
    return out


def _sampling_run(workdir, config, sample_flags, use_ema):
    """(`config`, the run's loaded config, with the sampler flags; algorithm; newest state;
    the flags given)."""
    algorithm = get_algorithm(config.algorithm)
    options = {k: v for k, v in (sample_flags or {}).items() if v is not None}
    config = with_sample_options(config, algorithm, **options)
    with config.unlocked():
        config.sample.use_ema = use_ema
    return config, algorithm, load_state(config, workdir), options


def _output_path(workdir, out, options, suffix: str) -> str:
    """`out` as an .npz path (default WORKDIR/samples/export_FLAGS_SUFFIX.npz), its folder
    made."""
    if out is None:
        tag = "_".join(f"{k}{v}" for k, v in sorted(options.items())) or "default"
        out = os.path.join(workdir, "samples", f"export_{tag}_{suffix}.npz")
    elif not out.endswith(".npz"):
        # np.savez would append .npz itself; X.png means X.npz with its grid X.png.
        out = os.path.splitext(out)[0] + ".npz"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    return out


def read_prompts_file(path: str) -> list[str]:
    """The prompts of a text file: one per line; blank lines and lines starting with # are
    skipped."""
    if not os.path.isfile(path):
        raise DataError(
            f"{path} not found (expected a text file with one prompt per line)"
        )
    with open(path, encoding="utf-8") as f:
        prompts = [line.strip() for line in f]
    prompts = [p for p in prompts if p and not p.startswith("#")]
    if not prompts:
        raise DataError(f"{path} holds no prompt (one per line; # starts a comment)")
    return prompts


def export_prompts(
    workdir: str,
    prompts,
    num_samples: int,
    *,
    sample_flags: dict | None = None,
    seed: int = 0,
    batch_size: int = 256,
    use_ema: bool = True,
    out: str | None = None,
    defaults: ml_collections.ConfigDict | None = None,
) -> tuple[str, list[dict]]:
    """Draws `num_samples` samples for each prompt of a text-conditional run and writes them:
    OUT.npz (`images` uint8 or `points`, `prompt_index` int32 per sample, `prompts`),
    OUT_promptI.png (one grid per prompt), OUT.png (a row of up to 8 samples per prompt) and
    OUT.json (each prompt's faithfulness scores, `prompt_scores`).

    Prompt i's samples use fold_in(PRNGKey(seed), i). A run that reads no prompts, or a
    prompt with words outside the run's vocabulary, is a ConfigError before any sampling.
    Returns (OUT.npz, the scores).
    """
    config = load_run_config(workdir, defaults)
    algorithm = get_algorithm(config.algorithm)
    if algorithm.prompt_inputs is None:
        raise ConfigError(
            f"{workdir} is a {config.algorithm} run, which reads no prompts (text-to-image "
            "runs do: configs/text_gan.py)"
        )
    prompts = list(prompts)
    # Every prompt is checked before the checkpoint is read.
    encoded = [algorithm.prompt_inputs(config, [p]) for p in prompts]
    config, algorithm, state, options = _sampling_run(
        workdir, config, sample_flags, use_ema
    )
    sampler = sampling.chunked_sampler(config)
    scorer = prompt_scorer(config)
    drawn, scores = [], []
    for i, (prompt, one) in enumerate(zip(prompts, encoded, strict=True)):
        inputs = {
            k: np.repeat(np.asarray(v), num_samples, axis=0) for k, v in one.items()
        }
        chunks = sampling.sample_chunks(
            sampler,
            state,
            num_samples,
            batch_size,
            jax.random.fold_in(jax.random.PRNGKey(seed), i),
            inputs=inputs,
        )
        samples = np.concatenate(list(chunks))
        drawn.append(samples)
        scores.append({"prompt": prompt, **scorer(samples, prompt)})
    out = _output_path(workdir, out, options, f"prompts{len(prompts)}_n{num_samples}")
    stem = os.path.splitext(out)[0]
    samples = np.concatenate(drawn)
    arrays = {
        "prompt_index": np.repeat(np.arange(len(prompts), dtype=np.int32), num_samples),
        "prompts": np.asarray(prompts),
    }
    if samples.ndim == 4:
        arrays["images"] = images.to_uint8(samples)
        rows = np.concatenate([d[:8] for d in drawn])
        images.save_png(
            stem + ".png",
            images.make_grid(images.to_uint8(rows), num_cols=min(8, num_samples)),
        )
    else:
        arrays["points"] = samples.astype(np.float32)
    np.savez_compressed(out, **arrays)
    for i, d in enumerate(drawn):
        images.save_png(f"{stem}_prompt{i}.png", images.samples_to_picture(d[:256]))
    with open(stem + ".json", "w") as f:
        json.dump(scores, f, indent=2)
    return out, scores


def prompt_scorer(config):
    """(samples, prompt) → the faithfulness scores of a run's data (metrics.faithfulness):
    class and attribute accuracy and R-precision (metrics.caption_encoder) on Fashion-MNIST,
    mode accuracy on rings; {} otherwise."""
    from v101jax.metrics import faithfulness

    source = config.data.source
    if source == "ring":
        return lambda samples, prompt: faithfulness.ring_faithfulness(
            samples, prompt, config.data.toy_std
        )
    if source != "fashion_mnist":
        return lambda samples, prompt: {}
    from v101jax.data import pipeline
    from v101jax.metrics import caption_encoder, extractors

    classifier = extractors.make_extractor("fashion_mnist_classifier")
    thresholds = pipeline.fashion_attribute_thresholds(config.data)

    def predict(samples):
        return np.argmax(np.asarray(classifier.apply(samples)["logits"]), axis=-1)

    def score(samples, prompt):
        # Padded samples (data.pad: GigaGAN's 32×32) are measured on the 28×28 garment
        # frame, as the attribute terciles were.
        samples = extractors.center_crop(np.asarray(samples), (28, 28))
        scores = faithfulness.fashion_faithfulness(samples, prompt, thresholds, predict)
        r_precision = caption_encoder.prompt_r_precision(samples, prompt)
        if r_precision is not None:
            scores["r_precision"] = r_precision
        return scores

    return score


_EXPECTED = (
    "an .npz with an `images` array (uint8 [N, H, W, C]), as experiments.sample writes"
)


def load_samples_file(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(images, labels or None) of an exported .npz: `images` uint8 [N, H, W, C] and optional
    `labels` (integers, one per image). Anything else is a DataError naming the file and what
    was expected."""
    if not os.path.isfile(path):
        raise DataError(f"{path} not found (expected {_EXPECTED})")
    try:
        f = np.load(path, allow_pickle=False)
        if isinstance(f, np.ndarray):
            raise DataError(
                f"{path} is a .npy array {f.dtype}{list(f.shape)}; expected {_EXPECTED}"
            )
        with f:
            if "images" not in f.files:
                raise DataError(
                    f"{path} holds {', '.join(f.files) or 'no arrays'}; expected {_EXPECTED}"
                )
            samples = f["images"]
            labels = f["labels"] if "labels" in f.files else None
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        # np.load reads a text file as a pickle (refused), a truncated zip as BadZipFile, ...
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(
            f"{path} is not a readable .npz ({reason}); expected {_EXPECTED}"
        ) from None
    if samples.dtype != np.uint8 or samples.ndim != 4:
        raise DataError(
            f"{path}: `images` is {samples.dtype}{list(samples.shape)}; expected {_EXPECTED}"
        )
    if labels is not None and (
        labels.shape != (len(samples),) or not np.issubdtype(labels.dtype, np.integer)
    ):
        raise DataError(
            f"{path}: `labels` is {labels.dtype}{list(labels.shape)}; expected one "
            f"integer class per image ([{len(samples)}])"
        )
    return samples, labels
