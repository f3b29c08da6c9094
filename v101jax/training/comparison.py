"""The model-comparison table: each family's reference run, trained once and scored by one
evaluator, with the columns of the seed's table (Fréchet distance, IS, training time,
inference time per image, peak memory). experiments.compare runs it.

A preset is a list of `Entry`s. An entry names a config (with overrides) trained in its own
workdir ROOT/NAME, or, with `run`, reuses another entry's run with other sampler flags (DDIM
is DDPM's training sampled another way); `needs` names entries trained first (a two-stage
model's first stage, `row=False` when it is no row of its own); "{root}" in an override is
replaced by ROOT.
"""

import dataclasses
import os

from v101jax.core.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    config: str = ""
    overrides: tuple[str, ...] = ()
    sample: tuple[
        tuple[str, object], ...
    ] = ()  # experiments.sample flags, (name, value)
    sampler: str = ""  # the default sampler, as the table states it
    run: str = ""  # another entry whose run this row samples
    needs: tuple[str, ...] = ()
    row: bool = True


# The Fashion-MNIST CPU demos (about 15 minutes each on 2 cores; README, Algorithms).
CPU = (
    Entry("DCGAN", "configs/dcgan.py", sampler="G(z), one network evaluation"),
    Entry(
        "StyleGAN",
        "configs/stylegan.py",
        sampler="G(z) (mapping + synthesis), ψ = 1",
    ),
    Entry("DDPM", "configs/ddpm.py", sampler="ancestral, 1000 steps"),
    Entry(
        "DDIM",
        run="DDPM",
        sample=(("sampler", "ddim"), ("steps", 100), ("eta", 1.0)),
        sampler="DDIM, 100 steps, η = 1 (DDPM's network)",
    ),
    Entry("ldm_autoencoder", "configs/ldm_autoencoder.py", row=False),
    Entry(
        "LDM",
        "configs/ldm.py",
        overrides=("ldm.autoencoder_workdir={root}/ldm_autoencoder",),
        needs=("ldm_autoencoder",),
        sampler="DDIM, 50 steps, η = 1, on 7×7×4 latents, then the decoder",
    ),
)
# The published-size configs (CIFAR-10 through TFDS; days of GPU time for the diffusion rows).
GPU = (
    Entry("DCGAN", "configs/dcgan.py:cifar10", sampler="G(z)"),
    Entry("StyleGAN", "configs/stylegan.py:cifar10", sampler="G(z), ψ = 1"),
    Entry("DDPM", "configs/ddpm.py:cifar10", sampler="ancestral, 1000 steps"),
    Entry(
        "DDIM",
        run="DDPM",
        sample=(("sampler", "ddim"), ("steps", 100), ("eta", 0.0)),
        sampler="DDIM, 100 steps, η = 0 (DDPM's network)",
    ),
    Entry("ldm_autoencoder", "configs/ldm_autoencoder.py:cifar10", row=False),
    Entry(
        "LDM",
        "configs/ldm.py:cifar10",
        overrides=("ldm.autoencoder_workdir={root}/ldm_autoencoder",),
        needs=("ldm_autoencoder",),
        sampler="DDIM, 50 steps, on 8×8×4 latents",
    ),
)
# Two smoke runs: what the tests run.
SMOKE = (
    Entry("DDIM", "configs/ddim.py:smoke", sampler="DDIM, 5 steps"),
    Entry("DCGAN", "configs/dcgan.py:smoke", sampler="G(z)"),
)
PRESETS = {"cpu": CPU, "gpu": GPU, "smoke": SMOKE}

# The seed's table (FID on its datasets, for orientation only: README, Evaluation).
SEED_FID = {"DCGAN": 35.2, "StyleGAN": 8.9, "DDPM": 12.3, "DDIM": 13.1, "LDM": 7.8}


def preset(name: str) -> tuple[Entry, ...]:
    if name not in PRESETS:
        raise ConfigError(f"--preset={name!r} is not one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def training_order(entries) -> list[Entry]:
    """The entries that train (no `run`), each after the entries it needs."""
    by_name = {e.name: e for e in entries}
    order, seen = [], set()

    def visit(entry):
        if entry.name in seen:
            return
        seen.add(entry.name)
        for need in entry.needs:
            visit(by_name[need])
        if not entry.run:
            order.append(entry)

    for entry in entries:
        visit(by_name[entry.run] if entry.run else entry)
    return order


def overrides(entry: Entry, root: str) -> list[str]:
    return [o.replace("{root}", root) for o in entry.overrides]


def workdir(entries, entry: Entry, root: str) -> str:
    """The run a row reads: its own, or the one it reuses."""
    by_name = {e.name: e for e in entries}
    return os.path.join(root, by_name[entry.run].name if entry.run else entry.name)


COLUMNS = (
    "model",
    "sampler",
    "fd",
    "is",
    "train_s",
    "ms_per_image",
    "peak_memory_mib",
    "steps",
    "extractor",
)


def _cell(value, digits: int = 4) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def markdown_table(rows: list[dict]) -> str:
    """| model | sampler | Fréchet distance | IS | training | inference | peak memory | … |"""
    header = [
        "model",
        "sampler",
        "Fréchet distance",
        "IS",
        "training (s)",
        "inference (ms/image)",
        "peak memory (MiB)",
        "train steps",
        "features",
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    for r in rows:
        train = _cell(r["train_s"])
        if r.get("resumed"):
            train += " (last launch)"
        memory = f"{_cell(r['peak_memory_mib'])} ({r['memory']})"
        cells = [
            r["model"],
            r["sampler"],
            _cell(r["fd"]),
            _cell(r["is"]),
            train,
            _cell(r["ms_per_image"]),
            memory,
            str(r["steps"]),
            r["extractor"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(path: str, rows: list[dict]):
    """Fréchet distance against training time, one labelled point per model."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=120)
    for r in rows:
        ax.scatter([r["train_s"]], [r["fd"]])
        ax.annotate(
            r["model"],
            (r["train_s"], r["fd"]),
            textcoords="offset points",
            xytext=(4, 4),
        )
    ax.set_xlabel("training time (s)")
    ax.set_ylabel(f"Fréchet distance ({rows[0]['extractor']})" if rows else "")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
