"""DDIM (Song et al. 2021) sampling of a DDPM-trained U-Net: the README's main job.

    python -m experiments.main --config=configs/ddim.py --workdir=runs/ddim

Training is DDPM's ε-prediction objective; sample grids use DDIM with 100 steps and η = 1
(its stochastic end; --config.sample.eta=0 gives the deterministic sampler). On the small
CPU demo model η = 1 gives recognisable garments in every grid cell while η = 0 leaves about a
fifth of them as noise-textured failures (benchmarks/RESULTS.md). Presets are those of
configs/ddpm.py (demo default, smoke, ring, cifar10).
The demo trains for about 15 minutes on 2 CPU cores and writes
runs/ddim/samples/step_XXXXXX.png.
"""

from configs import ddpm


def get_config(arg=None):
    config = ddpm.get_config(arg)
    with config.unlocked():
        config.sample.sampler = "ddim"
        config.sample.num_steps = 5 if arg == "smoke" else 100
        config.sample.eta = 1.0
    return config
