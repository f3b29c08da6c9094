"""Classifier-free guidance (Ho & Salimans 2022) on a class-conditional DDPM.

    python -m experiments.main --config=configs/cfg.py --workdir=runs/cfg
    python -m experiments.sample --workdir=runs/cfg --labels=0,5,9 --guidance=3 --num_samples=48

The U-Net adds a label embedding to its time embedding; in training each label becomes the
null label with probability p_uncond, so the one network is both the conditional and the
unconditional model. Samples use ε̃ = (1 + w)·ε(x, c) − w·ε(x, ∅) with w = sample.guidance, via
DDIM (100 steps, η = 1) as configs/ddim.py. Grids hold 100 samples, one class per column.

Presets are those of configs/ddpm.py: demo (default; Fashion-MNIST, the same 0.69M-parameter
U-Net plus a 10-row label embedding), smoke, ring (labels are the 8 modes) and cifar10
(DDPM's CIFAR-10 network with p_uncond = 0.1, the value Ho & Salimans used with w ∈ [0, 4]).
"""

from configs import ddpm


def get_config(arg=None):
    config = ddpm.get_config(arg)
    with config.unlocked():
        config.conditioning.class_conditional = True
        config.conditioning.p_uncond = 0.1
        config.sample.guidance = 1.0
        if arg == "ring":
            config.sample.guidance = 2.0
            config.train.num_sample_images = 2000
        else:
            config.sample.sampler = "ddim"
            config.sample.num_steps = 5 if arg == "smoke" else 100
            config.sample.eta = 1.0
            if arg != "smoke":
                config.train.num_sample_images = 100  # 10×10: one class per column
    return config
