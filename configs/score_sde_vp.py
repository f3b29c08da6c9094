"""Score-based generative model with the variance-preserving SDE (Song et al. 2021).

    python -m experiments.main --config=configs/score_sde_vp.py --workdir=runs/score_sde_vp
    python -m experiments.sample --workdir=runs/score_sde_vp --sampler=ode

DDPM's process in continuous time: dx = −½β(t)x dt + sqrt(β(t)) dw, β from 0.1 to 20. Trained
by σ²-weighted denoising score matching with an ε-predicting U-Net; grids are drawn with the
predictor–corrector sampler (reverse diffusion + one Langevin step, 100 steps). Presets
(`:NAME`) are those of configs/ddpm.py: demo (default; Fashion-MNIST on 2 CPU cores, about
15 minutes for 2500 steps), smoke (seconds; used by the tests), ring (2-D MLP), cifar10
(DDPM++ cont. sizes, see configs/score_sde_base.py).
"""

from configs.score_sde_base import get_score_sde_config


def get_config(arg=None):
    config = get_score_sde_config(arg, "vp")
    config.lock()
    return config
