"""Convert a Hugging Face CLIP folder's text tower and tokenizer to the .npz CLIPTextTransformer
loads.

    pip install safetensors   # or torch==2.13.0 for a folder with pytorch_model.bin only
    python -m experiments.convert_clip_text_weights \
        --hf_dir=clip-vit-base-patch32 --out=clip_text_b32.npz

The folder is a downloaded Hugging Face CLIP repository (e.g. openai/clip-vit-base-patch32,
`huggingface-cli download openai/clip-vit-base-patch32`) holding model.safetensors or
pytorch_model.bin, vocab.json and merges.txt; a CLIPModel, CLIPTextModel or
CLIPTextModelWithProjection checkpoint all work (the vision tower is dropped). model.safetensors
is read with `safetensors.numpy` when that package is installed, pytorch_model.bin with
`torch.load(weights_only=True)`. The output holds the text tower's parameters
("params/layers_0/self_attn/q_proj/kernel", …), the architecture as JSON and the tokenizer's
two files, all loaded with allow_pickle=False: v101jax.nn.clip_text.load_clip_text(path) and
load_clip_tokenizer(path).

--num_heads: the attention heads, which the weights' shapes do not fix (default width // 64,
right for every OpenAI CLIP text tower: 8 for ViT-B, 12 for ViT-L).
"""

import os

from absl import flags

from experiments import cli

_HF_DIR = flags.DEFINE_string(
    "hf_dir",
    None,
    "A Hugging Face CLIP folder: model.safetensors or pytorch_model.bin, vocab.json, "
    "merges.txt.",
)
_NUM_HEADS = flags.DEFINE_integer(
    "num_heads", None, "Attention heads (default: width // 64)."
)
_OUT = flags.DEFINE_string("out", None, "Output .npz.")

SAFETENSORS, TORCH = "model.safetensors", "pytorch_model.bin"


def read_state_dict(hf_dir: str) -> tuple[dict, str]:
    """(state dict of numpy arrays, the file it came from) for a Hugging Face folder:
    model.safetensors through safetensors.numpy when importable, else pytorch_model.bin
    through torch."""
    from v101jax.core.errors import WeightsError
    from v101jax.metrics import weights_io

    safetensors_path = os.path.join(hf_dir, SAFETENSORS)
    torch_path = os.path.join(hf_dir, TORCH)
    if os.path.isfile(safetensors_path):
        try:
            from safetensors.numpy import load_file
        except ImportError:
            load_file = None
        if load_file is not None:
            return load_file(safetensors_path), safetensors_path
        if not os.path.isfile(torch_path):
            raise WeightsError(
                f"{safetensors_path} needs the safetensors package: pip install safetensors"
            )
    if os.path.isfile(torch_path):
        return weights_io.read_torch_state_dict(torch_path), torch_path
    listed = sorted(os.listdir(hf_dir)) if os.path.isdir(hf_dir) else None
    raise WeightsError(
        f"{hf_dir} holds neither {SAFETENSORS} nor {TORCH} "
        + (
            f"(it holds {', '.join(listed[:8]) or 'nothing'})"
            if listed is not None
            else "(no such folder)"
        )
        + ": download a Hugging Face CLIP repository, e.g. openai/clip-vit-base-patch32"
    )


def main(argv):
    del argv
    import jax.numpy as jnp

    from v101jax.core.errors import ConfigError, WeightsError
    from v101jax.data.clip_tokenizer import CLIPTokenizer
    from v101jax.nn import clip_text

    hf_dir = _HF_DIR.value
    texts = {}
    for name in ("vocab.json", "merges.txt"):
        path = os.path.join(hf_dir, name)
        if not os.path.isfile(path):
            raise WeightsError(f"{hf_dir} lacks {name}, the CLIP tokenizer's file")
        with open(path, encoding="utf-8") as f:
            texts[name] = f.read()
    try:
        tokenizer = CLIPTokenizer.from_texts(texts["vocab.json"], texts["merges.txt"])
    except ConfigError as e:
        raise WeightsError(f"{hf_dir}: {e}") from None

    state, source = read_state_dict(hf_dir)
    try:
        params, architecture = clip_text.convert_hf_state_dict(
            state, num_heads=_NUM_HEADS.value, eos_id=tokenizer.eot_id
        )
    except ValueError as e:
        raise WeightsError(f"{source}: {e}") from None
    if len(tokenizer) > architecture["vocab_size"]:
        raise WeightsError(
            f"{hf_dir}: vocab.json has {len(tokenizer)} tokens, the text tower's embedding "
            f"{architecture['vocab_size']}"
        )
    clip_text.save_clip_text(
        _OUT.value,
        params,
        architecture,
        vocab_json=texts["vocab.json"],
        merges_txt=texts["merges.txt"],
    )
    # Fails here, not at the first prompt, if the file does not load or run.
    module, loaded = clip_text.load_clip_text(_OUT.value)
    # An empty caption: SOT, EOT and padding, ids every CLIP vocabulary has.
    ids = clip_text.load_clip_tokenizer(_OUT.value).encode_batch(
        [""], length=module.max_length
    )
    _, pooled, _ = module.apply({"params": loaded}, jnp.asarray(ids))
    if not bool(jnp.all(jnp.isfinite(pooled))):
        raise WeightsError(
            f"{_OUT.value}: the converted encoder gives non-finite codes"
        )
    print(
        f"wrote {os.path.abspath(_OUT.value)} ({clip_text.num_parameters(loaded):,} "
        f"parameters; {', '.join(f'{k}={v}' for k, v in architecture.items())})"
    )


if __name__ == "__main__":
    cli.run(main, required=("hf_dir", "out"))
