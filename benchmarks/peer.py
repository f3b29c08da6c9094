"""v101jax against PyTorch peers on the same U-Net, side by side in one process.

    python -m benchmarks.peer [--batches=16,64] [--samples=16,64] [--ddim_steps=50]
                              [--repeats=5] [--config=configs/ddim.py]

Times the demo U-Net (configs/ddim.py) and diffusers' `UNet2DModel` of the same shape
(widths 16/32/64, one residual block per level, attention at 7×7 and in the middle,
GroupNorm 8, time embedding 4·16: the same parameter count, which is printed for both) on
two jobs:

  train step   DDPM's ε loss, backward, global-norm clipping, Adam, EMA update, with the
               config's schedule, learning rate, clipping norm and EMA decay
  DDIM         `--ddim_steps` steps with η = 1 and x₀ clipped (diffusers' DDIMScheduler)

Each repeat runs v101jax once and the peer once, alternating, so that drift of a shared
machine falls on both; the table shows medians and v101jax's speed as a ratio (peer time ÷
v101jax time: above 1 means v101jax is faster). PyTorch and diffusers are a benchmark-only
extra, never a dependency of the package or its tests:

    make peer-setup      # .venv-peer: v101jax plus torch==2.13.0 and diffusers

`--peer=ddpm_pytorch` adds denoising-diffusion-pytorch's `Unet` (dim 16, multipliers 1/2/4)
when that package is installed; its layout differs (two blocks per level, linear attention),
so its parameter count is printed beside its times.
"""

import argparse
import functools
import os
import statistics
import time


def _timed(fn, repeats_out: list):
    t0 = time.perf_counter()
    fn()
    repeats_out.append(time.perf_counter() - t0)


# ------------------------------------------------------------------------------- v101jax
class JaxSide:
    """The demo config's train step (donated state, as in training) and DDIM sampler."""

    def __init__(self, config_path: str, ddim_steps: int):
        import jax
        import numpy as np

        from benchmarks.common import load_config
        from v101jax.algorithms import get_algorithm
        from v101jax.algorithms.contract import with_sample_options
        from v101jax.data import example_batch

        self.jax, self.np = jax, np
        self.config = load_config(config_path)
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

    def __init__(self, peer: str, config, ddim_steps: int):
        """Schedule, image shape, learning rate, clipping norm and EMA decay are the v101jax
        config's (a linear β schedule, as the demo's)."""
        import torch
        from diffusers import DDIMScheduler

        from v101jax.data import sample_shape

        self.torch = torch
        self.model = build_peer(peer)
        self.num_params = sum(p.numel() for p in self.model.parameters())
        d, o = config.diffusion, config.optim
        self.num_timesteps = d.num_timesteps
        height, width, channels = sample_shape(config.data)
        self.image_shape = (channels, height, width)
        self.grad_clip_norm, self.ema_decay = o.grad_clip_norm, o.ema_decay
        betas = torch.linspace(
            d.beta_start, d.beta_end, d.num_timesteps, dtype=torch.float64
        )
        self.alphas_cumprod = torch.cumprod(1 - betas, 0).float()
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
        self.generator = torch.Generator().manual_seed(0)
        self._batches = {}
        self._step_count = 0

    def _forward(self, x, t):
        out = self.model(x, t)
        return out.sample if hasattr(out, "sample") else out

    def prepare_train(self, batch_size: int):
        self._batches[batch_size] = (
            self.torch.rand(batch_size, *self.image_shape, generator=self.generator) * 2
            - 1
        )
        self.train_step(batch_size)

    def train_step(self, batch_size: int):
        torch = self.torch
        x0 = self._batches[batch_size]
        self.model.train()
        t = torch.randint(
            0, self.num_timesteps, (batch_size,), generator=self.generator
        )
        noise = torch.randn(x0.shape, generator=self.generator)
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

    def prepare_sample(self, num_samples: int):
        self.sample(num_samples)

    def sample(self, num_samples: int):
        torch = self.torch
        self.model.eval()
        with torch.inference_mode():
            x = torch.randn(num_samples, *self.image_shape, generator=self.generator)
            for t in self.scheduler.timesteps:
                eps = self._forward(x, t.expand(num_samples))
                x = self.scheduler.step(
                    eps, t, x, eta=1.0, generator=self.generator
                ).prev_sample


def build_peer(peer: str):
    """The PyTorch network: diffusers' UNet2DModel shaped as the demo U-Net, or
    denoising-diffusion-pytorch's Unet at the same widths."""
    if peer == "diffusers":
        from diffusers import UNet2DModel

        return UNet2DModel(
            sample_size=28,
            in_channels=1,
            out_channels=1,
            block_out_channels=(16, 32, 64),
            layers_per_block=1,
            down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D"),
            up_block_types=("AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
            norm_num_groups=8,
            attention_head_dim=64,  # one head, as the demo U-Net
        )
    if peer == "ddpm_pytorch":
        try:
            from denoising_diffusion_pytorch import Unet
        except ImportError:
            raise SystemExit(
                "--peer=ddpm_pytorch needs denoising-diffusion-pytorch: "
                ".venv-peer/bin/python -m pip install denoising_diffusion_pytorch"
            ) from None

        return Unet(dim=16, dim_mults=(1, 2, 4), channels=1)
    raise SystemExit(f"--peer={peer!r}: choose diffusers or ddpm_pytorch")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/ddim.py")
    parser.add_argument("--peer", default="diffusers", help="diffusers | ddpm_pytorch")
    parser.add_argument("--batches", default="16,64", help="train-step batch sizes")
    parser.add_argument("--samples", default="16,64", help="DDIM sample counts")
    parser.add_argument("--ddim_steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--jobs", default="train,ddim", help="train and/or ddim (comma-separated)"
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

    torch.manual_seed(0)
    jax_side = JaxSide(args.config, args.ddim_steps)
    torch_side = TorchSide(args.peer, jax_side.config, args.ddim_steps)
    print(
        f"machine: {os.cpu_count()} CPUs, jax {jax.__version__} ({jax.devices()[0].platform}), "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
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
        times = {"jax": [], "torch": []}
        for _ in range(args.repeats):
            for label, side in (("jax", jax_side), ("torch", torch_side)):
                run = side.train_step if train else side.sample
                # Both runtimes' worker threads spin for a while after their work; a pause
                # keeps one side's spinning threads off the other side's timing.
                time.sleep(0.3)
                _timed(functools.partial(run, n), times[label])
        jax_s, torch_s = (statistics.median(times[k]) for k in ("jax", "torch"))
        what = f"{name}, batch {n}" if train else f"{name}, {n} samples"
        rows.append((what, jax_s, torch_s))
        print(
            f"{what}: v101jax {_fmt(jax_s)}, {args.peer} {_fmt(torch_s)}, "
            f"ratio {torch_s / jax_s:.2f}",
            flush=True,
        )
    print(f"\n| work | v101jax | {args.peer} | ratio |\n| --- | --- | --- | --- |")
    for what, jax_s, torch_s in rows:
        print(f"| {what} | {_fmt(jax_s)} | {_fmt(torch_s)} | {torch_s / jax_s:.2f} |")


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


if __name__ == "__main__":
    main()
