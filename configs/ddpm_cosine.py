"""Improved DDPM's cosine noise schedule (Nichol & Dhariwal 2021) with v-prediction.

    python -m experiments.main --config=configs/ddpm_cosine.py --workdir=runs/ddpm_cosine

The cosine schedule destroys information more slowly than the linear one at low noise, and
v = α_t·ε − σ_t·x₀ (Salimans & Ho 2022) stays well-conditioned at both ends of the cosine
schedule, where ε-prediction's x₀ estimate divides by α_t → 0. Samples with DDIM (100 steps,
η = 1). Presets are those of configs/ddpm.py (demo default, smoke, ring, cifar10); cifar10
has DDPM's network sizes with Nichol & Dhariwal's T = 4000.
"""

from configs import ddpm


def get_config(arg=None):
    config = ddpm.get_config(arg)
    with config.unlocked():
        config.diffusion.beta_schedule = "cosine"
        config.diffusion.prediction = "v"
        config.sample.sampler = "ddim"
        config.sample.num_steps = 5 if arg == "smoke" else 100
        config.sample.eta = 1.0
        if arg == "cifar10":
            config.diffusion.num_timesteps = 4000
    return config
