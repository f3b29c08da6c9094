"""Score-based generative model with the sub-VP SDE (Song et al. 2021, eq. 31).

    python -m experiments.main --config=configs/score_sde_subvp.py --workdir=runs/score_sde_subvp

The VP drift with a smaller diffusion, g(t)² = β(t)(1 − exp(−2∫₀ᵗβ)), whose marginal std
1 − m(t)² stays below VP's: the paper's best likelihoods. Everything else, presets included,
is configs/score_sde_vp.py's.
"""

from configs.score_sde_base import get_score_sde_config


def get_config(arg=None):
    config = get_score_sde_config(arg, "subvp")
    config.lock()
    return config
