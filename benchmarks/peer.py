"""v101jax against PyTorch peers on the same U-Net, side by side in one process.

    python -m benchmarks.peer [--batches=16,64] [--samples=16,64] [--ddim_steps=50]
                              [--repeats=5] [--config=configs/ddim.py]
                              [--set model.dtype=bfloat16]

Times a config's U-Net (default the demo's, configs/ddim.py) and diffusers' `UNet2DModel`
built to the same shape from the same config fields (widths, residual blocks per level,
attention resolutions and the middle block's attention, GroupNorm groups, time embedding
4·channels). For the demo that is the same parameter count, 686,769; both counts are printed.
Two jobs:

  train step   DDPM's ε loss, backward, global-norm clipping, Adam, EMA update, with the
               config's schedule, learning rate, clipping norm and EMA decay
  DDIM         `--ddim_steps` steps with η = 1 and x₀ clipped (diffusers' DDIMScheduler)

Each repeat runs v101jax once and the peer once, alternating, so that drift of a shared
machine falls on both; the table shows medians and v101jax's speed as a ratio (peer time ÷
v101jax time: above 1 means v101jax is faster).

On a GPU (when JAX's default device is one and PyTorch sees CUDA) both sides run there, and
both use TF32 for float32 convolutions and matrix products (XLA's default on that hardware;
PyTorch is told to match). `model.dtype=bfloat16` runs the peer under `torch.autocast`
(bfloat16 compute, float32 parameters, as v101jax). The train-step rows then also give model
FLOPs utilisation: the step's FLOPs from XLA's cost analysis × steps/s ÷ the chip's
dense peak for the compute dtype (known chips in `PEAK_TFLOPS`, or `--peak_tflops`). The same
FLOP count is used for the peer, which runs the same network.
`bash benchmarks/gpu_protocol.sh` runs the GPU protocol (demo and CIFAR-10 U-Nets, batch 128,
float32 and bfloat16). PyTorch and diffusers are a benchmark-only extra, never a dependency of
the package or its tests:

    make peer-setup      # .venv-peer: v101jax plus torch==2.13.0 and diffusers

`--peer=ddpm_pytorch` times denoising-diffusion-pytorch's `Unet` instead (dim and multipliers
from the config's channels and channel_mult) when that package is installed; its layout
differs (two blocks per level, linear attention), so its parameter count differs too, and
both are printed.
"""

import argparse
import functools
import os
import statistics
import time

# Dense (no sparsity) tensor-core peaks in TFLOP/s by compute dtype, from NVIDIA's datasheets
# for the SXM parts; float32 work runs on the tensor cores as TF32. Matched against the
# device kind JAX reports.
PEAK_TFLOPS = {
    "H100": {"float32": 494.7, "bfloat16": 989.4},
    "H200": {"float32": 494.7, "bfloat16": 989.4},
    "A100": {"float32": 156.0, "bfloat16": 312.0},
}


def _timed(run, n: int, count: int, repeats_out: list):
    """Appends the seconds of `count` back-to-back calls of run(n)."""
    t0 = time.perf_counter()
    for _ in range(count):
        run(n)
    repeats_out.append(time.perf_counter() - t0)


# ------------------------------------------------------------------------------- v101jax
class JaxSide:
    """The demo config's train step (donated state, as in training) and DDIM sampler."""

    def __init__(self, config_path: str, ddim_steps: int, overrides: dict):
        import jax
        import numpy as np

        from benchmarks.common import load_config
        from v101jax.algorithms import get_algorithm
        from v101jax.algorithms.contract import with_sample_options
        from v101jax.data import example_batch

        self.jax, self.np = jax, np
        self.config = load_config(config_path, overrides)
        self.alg = get_algorithm(self.config.algorithm)
        self.sample_config = with_sample_options(
            self.config, self.alg, sampler="ddim", steps=ddim_steps, eta=1.0
        )
        self.example_batch = example_batch
        # Sampling reads parameters only: a state of its own, never donated.
        self.sample_state = jax.jit(functools.partial(self.alg.init, self.config))(
            jax.random.PRNGKey(0), example_batch(self.config.data, 2)
        )
        self.num_params = sum(p.size for p in jax.tree.leaves(self.sample_state.params))
        self._step = jax.jit(
            functools.partial(self.alg.train_step, self.config), donate_argnums=(0,)
        )
        self._states = {}
        self._samplers = {}

    def prepare_train(self, batch_size: int):
        jax, np = self.jax, self.np
        batch = self.example_batch(self.config.data, batch_size)
        batch = {
            "x": np.random.default_rng(0)
            .uniform(-1, 1, batch["x"].shape)
            .astype(np.float32)
        }
        state = jax.jit(functools.partial(self.alg.init, self.config))(
            jax.random.PRNGKey(0), batch
        )
        self._states[batch_size] = [state, batch]
        self.train_step(batch_size)  # compile

    def train_step(self, batch_size: int):
        entry = self._states[batch_size]
        state, metrics = self._step(entry[0], entry[1], self.jax.random.PRNGKey(1))
        self.jax.block_until_ready(metrics)
        entry[0] = state

    def train_step_flops(self, batch_size: int) -> float | None:
        """Model FLOPs of one train step: XLA's cost analysis of the step's HLO as lowered,
        before backend passes. The compiled program's count is no use on a GPU, where the
        convolutions become cuDNN custom calls that the analysis does not count (it gave
        0.6 of the 6.6 GFLOP of the demo's batch-16 step)."""
        entry = self._states[batch_size]
        from benchmarks.common import xla_flops

        return xla_flops(
            self._step.lower(
                entry[0], entry[1], self.jax.random.PRNGKey(1)
            ).cost_analysis()
        )

    def prepare_sample(self, num_samples: int):
        fn = self.jax.jit(
            functools.partial(
                self.alg.sample, self.sample_config, num_samples=num_samples
            )
        )
        self._samplers[num_samples] = fn
        self.sample(num_samples)  # compile

    def sample(self, num_samples: int):
        self.jax.block_until_ready(
            self._samplers[num_samples](self.sample_state, self.jax.random.PRNGKey(2))
        )


# ------------------------------------------------------------------------------- PyTorch
class TorchSide:
    """The same jobs in PyTorch: DDPM training step and diffusers' DDIM sampling loop."""

    def __init__(self, peer: str, config, ddim_steps: int, device: str):
        """Network shape, schedule, image shape, learning rate, clipping norm, EMA decay and
        compute dtype are the v101jax config's (a linear β schedule, as the demo's)."""
        import torch
        from diffusers import DDIMScheduler

        from v101jax.data import sample_shape

        self.torch = torch
        self.device = torch.device(device)
        if self.device.type == "cuda":
            # XLA runs float32 convolutions and matrix products as TF32 on this hardware;
            # PyTorch's matrix products default to full float32.
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True
        if config.model.dtype not in ("float32", "bfloat16"):
            raise SystemExit(f"model.dtype={config.model.dtype!r}: float32 or bfloat16")
        self.autocast = functools.partial(
            torch.autocast,
            self.device.type,
            dtype=torch.bfloat16,
            enabled=config.model.dtype == "bfloat16",
        )
        self.model = build_peer(peer, config).to(self.device)
        self.num_params = sum(p.numel() for p in self.model.parameters())
        d, o = config.diffusion, config.optim
        self.num_timesteps = d.num_timesteps
        height, width, channels = sample_shape(config.data)
        self.image_shape = (channels, height, width)
        self.grad_clip_norm, self.ema_decay = o.grad_clip_norm, o.ema_decay
        betas = torch.linspace(
            d.beta_start, d.beta_end, d.num_timesteps, dtype=torch.float64
        )
        self.alphas_cumprod = torch.cumprod(1 - betas, 0).float().to(self.device)
        self.ema = [p.detach().clone() for p in self.model.parameters()]
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=o.learning_rate, betas=(o.b1, o.b2), eps=o.eps
        )
        self.scheduler = DDIMScheduler(
            num_train_timesteps=d.num_timesteps,
            beta_schedule="linear",
            beta_start=d.beta_start,
            beta_end=d.beta_end,
            clip_sample=config.sample.clip_x0,
        )
        self.scheduler.set_timesteps(ddim_steps)
        self.generator = torch.Generator(self.device).manual_seed(0)
        self._batches = {}
        self._step_count = 0

    def _forward(self, x, t):
        with self.autocast():
            out = self.model(x, t)
        out = out.sample if hasattr(out, "sample") else out
        return out.float()

    def _sync(self):
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()

    def _random(self, fn, *args, **kwargs):
        return fn(*args, generator=self.generator, device=self.device, **kwargs)

    def prepare_train(self, batch_size: int):
        torch = self.torch
        self._batches[batch_size] = (
            self._random(torch.rand, batch_size, *self.image_shape) * 2 - 1
        )
        self.train_step(batch_size)

    def train_step(self, batch_size: int):
        torch = self.torch
        x0 = self._batches[batch_size]
        self.model.train()
        t = self._random(torch.randint, 0, self.num_timesteps, (batch_size,))
        noise = self._random(torch.randn, x0.shape)
        ac = self.alphas_cumprod[t].view(-1, 1, 1, 1)
        x_t = ac.sqrt() * x0 + (1 - ac).sqrt() * noise
        loss = torch.mean((self._forward(x_t, t) - noise) ** 2)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip_norm)
        self.optimizer.step()
        self._step_count += 1
        decay = min(self.ema_decay, (1 + self._step_count) / (10 + self._step_count))
        with torch.no_grad():
            torch._foreach_lerp_(self.ema, list(self.model.parameters()), 1 - decay)
        self._sync()

    def prepare_sample(self, num_samples: int):
        self.sample(num_samples)

    def sample(self, num_samples: int):
        torch = self.torch
        self.model.eval()
        with torch.inference_mode():
            x = self._random(torch.randn, num_samples, *self.image_shape)
            # A 0-d timestep, as diffusers' DDIMPipeline passes it: the U-Net moves it to
            # the samples' device and broadcasts it over the batch.
            for t in self.scheduler.timesteps:
                eps = self._forward(x, t)
                x = self.scheduler.step(
                    eps, t, x, eta=1.0, generator=self.generator
                ).prev_sample
        self._sync()


def build_peer(peer: str, config):
    """The PyTorch network of the config's U-Net shape: diffusers' UNet2DModel, or
    denoising-diffusion-pytorch's Unet at the same widths."""
    from v101jax.data import sample_shape

    m = config.model
    if m.name != "unet":
        raise SystemExit(f"model.name={m.name!r}: benchmarks.peer compares U-Nets")
    height, width, channels = sample_shape(config.data)
    widths = tuple(m.channels * mult for mult in m.channel_mult)
    if peer == "diffusers":
        from diffusers import UNet2DModel

        # Level i works at height / 2^i (rounded up, as a stride-2 SAME convolution).
        sizes = [-(-height // 2**i) for i in range(len(widths))]
        attends = [size in m.attention_resolutions for size in sizes]
        return UNet2DModel(
            sample_size=(height, width),
            in_channels=channels,
            out_channels=channels,
            block_out_channels=widths,
            layers_per_block=m.num_res_blocks,
            down_block_types=tuple(
                "AttnDownBlock2D" if a else "DownBlock2D" for a in attends
            ),
            up_block_types=tuple(
                "AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attends)
            ),
            norm_num_groups=m.num_groups,
            dropout=m.dropout,
            # diffusers takes one head width for every attention block: the middle block's
            # (the deepest width) split into the config's heads.
            attention_head_dim=widths[-1] // m.num_heads,
        )
    if peer == "ddpm_pytorch":
        try:
            from denoising_diffusion_pytorch import Unet
        except ImportError:
            raise SystemExit(
                "--peer=ddpm_pytorch needs denoising-diffusion-pytorch: "
                ".venv-peer/bin/python -m pip install denoising_diffusion_pytorch"
            ) from None

        return Unet(dim=m.channels, dim_mults=tuple(m.channel_mult), channels=channels)
    raise SystemExit(f"--peer={peer!r}: choose diffusers or ddpm_pytorch")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/ddim.py")
    parser.add_argument(
        "--set", nargs="*", default=[], help="dotted config overrides key=value"
    )
    parser.add_argument("--peer", default="diffusers", help="diffusers | ddpm_pytorch")
    parser.add_argument("--batches", default="16,64", help="train-step batch sizes")
    parser.add_argument("--samples", default="16,64", help="DDIM sample counts")
    parser.add_argument("--ddim_steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--steps_per_repeat",
        type=int,
        default=0,
        help="train steps run back to back per timed repeat (0: 1 on CPU, 10 on a GPU, "
        "where one step is too short to time alone)",
    )
    parser.add_argument(
        "--jobs", default="train,ddim", help="train and/or ddim (comma-separated)"
    )
    parser.add_argument(
        "--peak_tflops",
        type=float,
        default=0.0,
        help="the chip's peak for the compute dtype (0: PEAK_TFLOPS by device kind)",
    )
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        raise SystemExit(
            "benchmarks.peer needs PyTorch and diffusers: run `make peer-setup` and use "
            ".venv-peer/bin/python -m benchmarks.peer"
        ) from None
    import jax

    from benchmarks.common import device_name, parse_overrides

    torch.manual_seed(0)
    jax_side = JaxSide(args.config, args.ddim_steps, parse_overrides(args.set))
    on_gpu = jax.devices()[0].platform == "gpu"
    if on_gpu and not torch.cuda.is_available():
        raise SystemExit("JAX runs on a GPU but PyTorch sees no CUDA device")
    torch_side = TorchSide(
        args.peer, jax_side.config, args.ddim_steps, "cuda" if on_gpu else "cpu"
    )
    dtype = jax_side.config.model.dtype
    peak = args.peak_tflops or _peak_tflops(jax.devices()[0], dtype)
    inner = args.steps_per_repeat or (10 if on_gpu else 1)
    print(
        f"machine: {os.cpu_count()} CPUs, {device_name()}, jax {jax.__version__}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads, "
        f"{torch_side.device}), compute {dtype}"
        + (f", peak {peak:g} TFLOP/s" if peak else "")
    )
    print(
        f"parameters: v101jax {jax_side.num_params:,}, {args.peer} {torch_side.num_params:,}"
    )
    jobs = []
    if "train" in args.jobs:
        jobs += [("train step", b) for b in map(int, args.batches.split(","))]
    if "ddim" in args.jobs:
        jobs += [
            (f"DDIM {args.ddim_steps} steps", n)
            for n in map(int, args.samples.split(","))
        ]
    rows = []
    for name, n in jobs:
        train = name == "train step"
        for side in (jax_side, torch_side):
            (side.prepare_train if train else side.prepare_sample)(n)
            if on_gpu:  # autotuning (cuDNN's benchmark mode) and clocks settle
                for _ in range(3):
                    (side.train_step if train else side.sample)(n)
        k = inner if train else 1
        times = {"jax": [], "torch": []}
        for _ in range(args.repeats):
            for label, side in (("jax", jax_side), ("torch", torch_side)):
                run = side.train_step if train else side.sample
                if not on_gpu:
                    # The CPU runtimes' worker threads spin for a while after their work;
                    # a pause keeps one side's spinning threads off the other's timing.
                    time.sleep(0.3)
                _timed(run, n, k, times[label])
        jax_s, torch_s = (statistics.median(times[key]) / k for key in ("jax", "torch"))
        flops = jax_side.train_step_flops(n) if train and peak else None
        what = f"{name}, batch {n}" if train else f"{name}, {n} samples"
        mfu = (
            (flops / jax_s / (peak * 1e12), flops / torch_s / (peak * 1e12))
            if flops
            else None
        )
        rows.append((what, jax_s, torch_s, mfu))
        print(
            f"{what}: v101jax {_fmt(jax_s)}, {args.peer} {_fmt(torch_s)}, "
            f"ratio {torch_s / jax_s:.2f}"
            + (
                f", {flops / 1e9:.1f} GFLOP/step, MFU {mfu[0]:.1%} / {mfu[1]:.1%}"
                if mfu
                else ""
            ),
            flush=True,
        )
    with_mfu = any(row[3] for row in rows)
    extra = " v101jax MFU | peer MFU |" if with_mfu else ""
    print(
        f"\n| work | v101jax | {args.peer} | ratio |{extra}\n"
        f"| --- | --- | --- | --- |{' --- | --- |' if with_mfu else ''}"
    )
    for what, jax_s, torch_s, mfu in rows:
        cells = ""
        if with_mfu:
            cells = f" {mfu[0]:.1%} | {mfu[1]:.1%} |" if mfu else " | |"
        print(
            f"| {what} | {_fmt(jax_s)} | {_fmt(torch_s)} | {torch_s / jax_s:.2f} |{cells}"
        )


def _peak_tflops(device, dtype: str) -> float:
    """PEAK_TFLOPS's entry for the device kind JAX reports ("NVIDIA H100 80GB HBM3"), else 0."""
    kind = getattr(device, "device_kind", "")
    for chip, peaks in PEAK_TFLOPS.items():
        if chip in kind:
            return peaks[dtype]
    return 0.0


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


if __name__ == "__main__":
    main()
