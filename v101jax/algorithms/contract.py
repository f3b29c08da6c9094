"""The algorithm contract: what every registered algorithm provides, and what it may declare.

Required (pure functions; `config` is static, bound with functools.partial before jax.jit):

  init(config, rng, example_batch) -> state
  train_step(config, state, batch, rng) -> (state, metrics)          # + phase= when phased
  sample(config, state, rng, num_samples, *, inputs=None) -> samples  # + phase= when phased

`inputs` is a dict of arrays a sample is conditioned on, each with a leading [num_samples]
axis: `labels` (int32) today; source images, text tokens or style images for the families that
need them. Sampler knobs (sampler, steps, η, guidance, temperature, …) are read from
`config.sample` only; `sample_options` names the fields an algorithm reads, so a command's
flag that it does not read is refused (`with_sample_options`).

Optional capabilities are declared as fields of `Algorithm`, never probed with hasattr:

  num_sample_classes(config) -> int        K when inputs["labels"] takes 0…K−1, else absent/0
  sampling_inputs(config, num_samples, held_out) -> dict | None
      what a grid or an evaluation feeds `sample`; `held_out(n)` returns the first n
      examples of the held-out split as a batch (for source images, captions), loaded on
      first use
  translation_inputs(config, source, target_domain) -> dict
      the `inputs` that translate the images `source` [N, H, W, C] (in [-1, 1]) into
      `target_domain` (None = the algorithm's default; an int for CycleGAN's and StarGAN's
      domains): what experiments.translate feeds `sample`. Declared by image-to-image
      algorithms only; a domain the algorithm has not is a ConfigError
  evaluate(config, state, batch, rng) -> dict of scalars
      held-out metrics (PSNR/SSIM, ELBO, …) of one batch; averaged over the held-out split and
      logged beside the sample metrics
  phase(config, step) -> int
      the training phase of a step (ProGAN's resolution); the loop compiles one train_step per
      phase (called with phase=p) and switches at the boundaries. The checkpoint tree has one
      shape in every phase, so a run resumes in any phase
  first_stage: FirstStage
      a frozen first stage (the VQ-VAE under its prior, the autoencoder under latent diffusion)
      resolved once at start-up, outside jit; see FirstStage
  encode(config, state, x) -> z, decode(config, state, z) -> images
      an autoencoder's latents, for reconstructions and interpolations (experiments.reconstruct)
  latent_prior(config, state) -> (mean, std)
      the distribution vector latents are sampled from (latent traversals)
  resolve_config(config) -> config
      fills in fields derived from the data (a text model's vocabulary, `text.vocabulary`),
      called once before config.json is written (and on an older run's config when it is
      read back), so a finished run carries them; unchanged when already filled
  prompt_inputs(config, prompts) -> dict
      the `inputs` that draw one sample per prompt (a list of strings): what the sample
      command's --prompt feeds `sample`. Declared by text-conditional algorithms; a prompt
      the run cannot read (an unknown word) is a ConfigError
  figures(config, state, rng) -> dict of name → uint8 picture [H, W, C]
      extra figures of a trained generator (StyleGAN's style-mixing grids and w
      interpolations); experiments.sample writes each beside its grid as OUT_NAME.png
"""

import dataclasses
import inspect
from collections.abc import Callable

from v101jax.core.errors import ConfigError
from v101jax.core.inputs import take_inputs


@dataclasses.dataclass(frozen=True)
class FirstStage:
    """A frozen first stage that a second-stage algorithm trains on top of.

    resolve(config) -> config: fills the first stage's resolved config into this config (e.g.
      `prior.vqvae` from `prior.vqvae_workdir/config.json`); the loop calls it once before
      writing config.json, so later commands read it from this run's own config.json. It may
      open files; it returns `config` unchanged when it is already resolved.
    load(config, state) -> state: the fresh `state` with the first stage's parameters (and
      constants derived from them) filled in; called only when a run starts from scratch, never
      on resume, so a finished second stage needs no first-stage files.
    required: whether the algorithm needs it (False: an optional starting point, such as
      SRGAN's pre-trained generator; resolve and load then leave a config without one as
      it is).
    """

    resolve: Callable
    load: Callable
    required: bool = True


@dataclasses.dataclass(frozen=True)
class Algorithm:
    """One registered algorithm: the three required functions and its declared hooks."""

    name: str
    init: Callable
    train_step: Callable
    sample: Callable
    # config.sample fields that `sample` reads besides use_ema.
    sample_options: tuple[str, ...] = ()
    num_sample_classes: Callable | None = None
    sampling_inputs: Callable | None = None
    translation_inputs: Callable | None = None
    evaluate: Callable | None = None
    phase: Callable | None = None
    first_stage: FirstStage | None = None
    encode: Callable | None = None
    decode: Callable | None = None
    latent_prior: Callable | None = None
    resolve_config: Callable | None = None
    prompt_inputs: Callable | None = None
    figures: Callable | None = None

    def classes(self, config) -> int:
        """K of a class-conditional config (labels 0…K−1), else 0."""
        return self.num_sample_classes(config) if self.num_sample_classes else 0

    def phase_of(self, config, step: int):
        """The phase of `step` (None for an algorithm without phases)."""
        return None if self.phase is None else self.phase(config, step)

    def resolved(self, config):
        """`config` with its first stage's config and its data-derived fields filled in
        (FirstStage.resolve, then resolve_config): what a run saves as config.json."""
        if self.first_stage is not None:
            config = self.first_stage.resolve(config)
        if self.resolve_config is not None:
            config = self.resolve_config(config)
        return config


# Flags of the sample, evaluate and translate commands → the config.sample field they set.
SAMPLE_FLAGS = {
    "sampler": "sampler",
    "steps": "num_steps",
    "eta": "eta",
    "spacing": "timestep_spacing",
    "guidance": "guidance",
    "temperature": "temperature",
    "truncation": "truncation_psi",
}


def with_sample_options(config, algorithm: Algorithm, **flags):
    """A copy of `config` with the given command-line sampler flags (SAMPLE_FLAGS names;
    None = not given) written into config.sample: the one route from flag to sampler.

    A flag the algorithm's sampler does not read is a ConfigError naming the flag and the
    algorithm.
    """
    config = config.copy_and_resolve_references()
    given = {k: v for k, v in flags.items() if v is not None}
    for flag, value in given.items():
        if flag not in SAMPLE_FLAGS:
            raise ValueError(f"unknown sampler flag {flag!r}")
        field = SAMPLE_FLAGS[flag]
        if field not in algorithm.sample_options:
            reads = ", ".join(
                f"--{f}"
                for f, v in SAMPLE_FLAGS.items()
                if v in algorithm.sample_options
            )
            raise ConfigError(
                f"--{flag} is not an option of algorithm {algorithm.name!r} "
                f"({'its sampler takes ' + reads if reads else 'its sampler takes no flags'})"
            )
        with config.unlocked():
            config.sample[field] = type(config.sample[field])(value)
    return config


def check_no_inputs(config, inputs) -> None:
    """ConfigError when an unconditional algorithm's `sample` is given inputs."""
    take_inputs(config, inputs)


# The required functions and their leading positional parameters.
REQUIRED = {
    "init": ("config", "rng", "example_batch"),
    "train_step": ("config", "state", "batch", "rng"),
    "sample": ("config", "state", "rng", "num_samples"),
}
HOOKS = {
    "num_sample_classes": ("config",),
    "sampling_inputs": ("config", "num_samples", "held_out"),
    "translation_inputs": ("config", "source", "target_domain"),
    "evaluate": ("config", "state", "batch", "rng"),
    "phase": ("config", "step"),
    "encode": ("config", "state", "x"),
    "decode": ("config", "state", "z"),
    "latent_prior": ("config", "state"),
    "resolve_config": ("config",),
    "prompt_inputs": ("config", "prompts"),
    "figures": ("config", "state", "rng"),
}


def contract_violations(algorithm: Algorithm) -> list[str]:
    """What `algorithm` does wrong against the contract (empty when it conforms)."""
    problems = []

    def positional(fn):
        return [
            p.name
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]

    for name, params in {**REQUIRED, **HOOKS}.items():
        fn = getattr(algorithm, name)
        if fn is None:
            if name in REQUIRED:
                problems.append(f"{name} is missing")
            continue
        if not callable(fn):
            problems.append(f"{name} is not callable")
            continue
        if tuple(positional(fn)[: len(params)]) != params:
            problems.append(
                f"{name}{inspect.signature(fn)} does not start with ({', '.join(params)})"
            )
    sample_kw = inspect.signature(algorithm.sample).parameters
    if (
        "inputs" not in sample_kw
        or sample_kw["inputs"].kind != inspect.Parameter.KEYWORD_ONLY
    ):
        problems.append("sample has no keyword-only inputs=None")
    for fn_name in ("train_step", "sample"):
        has_phase = "phase" in inspect.signature(getattr(algorithm, fn_name)).parameters
        if has_phase != (algorithm.phase is not None):
            problems.append(
                f"{fn_name} {'takes' if has_phase else 'lacks'} phase= but the algorithm "
                f"{'declares no' if has_phase else 'declares a'} phase hook"
            )
    if algorithm.first_stage is not None:
        for part in ("resolve", "load"):
            if not callable(getattr(algorithm.first_stage, part)):
                problems.append(f"first_stage.{part} is not callable")
    if (algorithm.encode is None) != (algorithm.decode is None):
        problems.append("encode and decode come together")
    return problems
