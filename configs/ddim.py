"""DDIM (Song et al. 2021) sampling of a DDPM-trained U-Net: the README's main job.

    python -m experiments.main --config=configs/ddim.py --workdir=runs/ddim

Training is DDPM's ε-prediction objective; sample grids use the deterministic DDIM sampler
(η = 0) with 50 steps. Presets are those of configs/ddpm.py (demo default, smoke, cifar10).
The demo trains for about 15 minutes on 2 CPU cores and writes
runs/ddim/samples/step_XXXXXX.png.
"""

from configs import ddpm


def get_config(arg=None):
    config = ddpm.get_config(arg)
    with config.unlocked():
        config.sample.sampler = "ddim"
        config.sample.num_steps = 5 if arg == "smoke" else 50
        config.sample.eta = 0.0
    return config
