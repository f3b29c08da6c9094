"""Network weights as flat .npz files ("Block/Conv_0/kernel" → array), loaded without pickle.

A pretrained extractor must load exactly into its module: every expected array present,
every shape equal. Mismatches raise WeightsError naming the array and both shapes, so a wrong
or truncated file is reported where it is loaded, not as an XLA shape error later.
"""

import hashlib
import os

import flax.traverse_util
import jax
import numpy as np

from v101jax.core.errors import WeightsError


def flatten(tree: dict) -> dict[str, np.ndarray]:
    return {
        "/".join(k): np.asarray(v)
        for k, v in flax.traverse_util.flatten_dict(tree).items()
    }


def save_npz(path: str, variables: dict, metadata: dict | None = None) -> None:
    """Writes `variables` (a nested dict of arrays) and string `metadata` to `path`."""
    arrays = flatten(jax.device_get(variables))
    for key, value in (metadata or {}).items():
        arrays[f"__meta__/{key}"] = np.asarray(str(value))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.savez_compressed(path, **arrays)


def read_torch_state_dict(path: str) -> dict[str, np.ndarray]:
    """A PyTorch state dict file as numpy arrays, read with `torch.load(weights_only=True)`,
    which refuses arbitrary pickled code (the conversion commands' one use of torch)."""
    try:
        import torch
    except ImportError:
        raise WeightsError(
            "the conversion reads a PyTorch file and needs torch: pip install torch==2.13.0"
        ) from None
    if not os.path.isfile(path):
        raise WeightsError(f"{path}: no such file")
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.numpy() for k, v in state_dict.items()}


def save_arrays(path: str, arrays: dict[str, np.ndarray]) -> None:
    """Writes flat `arrays` ("conv1_1/kernel" → array) to the .npz `path` (uncompressed)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.savez(path, **arrays)


def file_digest(path: str) -> str:
    """First 16 hex digits of the file's SHA-256: names the weights in cached statistics."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def load_npz(
    path: str, expected: dict, *, what: str, hint: str = ""
) -> tuple[dict, dict]:
    """Loads `path` into the structure of `expected` (arrays or ShapeDtypeStructs).

    Returns (variables, metadata). Raises WeightsError when the file is missing, holds
    arrays of other shapes, or lacks arrays the network needs.
    """
    if not path or not os.path.exists(path):
        raise WeightsError(
            f"{what} weights file {path or '(none given)'} not found. {hint}"
        )
    try:
        with np.load(path, allow_pickle=False) as f:
            stored = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise WeightsError(
            f"{what} weights file {path} is not a readable .npz: {e}"
        ) from None
    metadata = {
        k.split("/", 1)[1]: str(v)
        for k, v in stored.items()
        if k.startswith("__meta__/")
    }
    shapes = {
        "/".join(k): tuple(v.shape)
        for k, v in flax.traverse_util.flatten_dict(expected).items()
    }
    missing = sorted(set(shapes) - set(stored))
    if missing:
        raise WeightsError(
            f"{what} weights file {path} lacks {len(missing)} arrays, e.g. "
            f"{', '.join(missing[:3])}. {hint}"
        )
    for key, shape in shapes.items():
        if tuple(stored[key].shape) != shape:
            raise WeightsError(
                f"{what} weights file {path}: {key} has shape {tuple(stored[key].shape)}, "
                f"the network needs {shape}. {hint}"
            )
    flat = {tuple(k.split("/")): stored[k].astype(np.float32) for k in shapes}
    return flax.traverse_util.unflatten_dict(flat), metadata
