"""DDIM (Song et al. 2021) sampling of a DDPM-trained U-Net: the README's main job.

    python -m experiments.main --config=configs/ddim.py --workdir=runs/ddim

Training is DDPM's ε-prediction objective; sample grids use DDIM with 100 steps and η = 1
(its stochastic end; --config.sample.eta=0 gives the deterministic sampler). On the small
CPU demo model η = 1 gives recognisable garments in every grid cell while η = 0 leaves about a
fifth of them as noise-textured failures (benchmarks/RESULTS.md). Presets are those of
configs/ddpm.py (demo default, smoke, ring, cifar10).
The demo trains for 6000 steps (configs/ddpm.py's demo preset has 2500), about 13 minutes on
2 CPU cores, and writes runs/ddim/samples/step_XXXXXX.png at steps 3000 and 6000. The longer
run is what jax 0.12's faster CPU step buys inside the demo's 15 minutes: fmnist_fd 15.8
against 2500 steps' 31.9 (benchmarks/RESULTS.md).
"""

from configs import ddpm


def get_config(arg=None):
    config = ddpm.get_config(arg)
    with config.unlocked():
        config.sample.sampler = "ddim"
        config.sample.num_steps = 5 if arg == "smoke" else 100
        config.sample.eta = 1.0
        if arg in (None, "", "demo"):
            # 6000 steps of batch 16 scored better than 3000 of batch 32 in the same time
            # (fmnist_fd 15.8 against 17.9, RESULTS.md); the cosine schedule stretches along.
            config.train.num_steps = 6000
            config.train.sample_every = 3000
    return config
