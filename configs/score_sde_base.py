"""Shared fields and presets of the score-based SDE configs (not a runnable experiment itself).

`get_score_sde_config(arg, sde_name)` builds configs/score_sde_{vp,subvp,ve}.py: the `sde`
section, the sampler fields, and the sizes of configs/ddpm.py's presets (demo, smoke, ring,
cifar10) through its `_apply_preset`.
"""

from configs import base, ddpm


def get_score_sde_config(arg, sde_name: str):
    config = base.get_base_config()
    config.algorithm = "score_sde"

    config.sde = sde = base.ml_collections.ConfigDict()
    sde.name = sde_name  # vp | subvp | ve
    sde.beta_min = 0.1  # vp, subvp: β(0)
    sde.beta_max = 20.0  # vp, subvp: β(1)
    sde.sigma_min = 0.01  # ve: σ(0)
    # ve: σ(1), the largest distance between training points (the paper's technique 1):
    # 50 for CIFAR-10; Fashion-MNIST in [-1, 1] is of the same size.
    sde.sigma_max = 50.0
    sde.train_eps = 1e-5  # DSM draws t ~ U(train_eps, 1)
    # em/pc/ode stop at t = sampling_eps: score_sde uses 1e-3 for vp/subvp, 1e-5 for ve.
    sde.sampling_eps = 1e-5 if sde_name == "ve" else 1e-3
    sde.likelihood_eps = (
        1e-5  # the likelihood ODE starts at this t (score_sde's default)
    )
    # Network input x/sqrt(1 + σ(t)²): keeps the VE SDE's input O(1); vp/subvp need none.
    sde.scale_input = sde_name == "ve"

    s = config.sample
    s.sampler = "pc"  # em | pc | ode
    s.num_steps = 100  # em, pc: steps of the time grid from 1 to sde.sampling_eps
    s.predictor = "reverse_diffusion"  # pc: reverse_diffusion | em (Euler–Maruyama)
    s.corrector_steps = 1  # pc: Langevin steps per grid time; 0 = predictor only
    s.snr = 0.16  # pc: Langevin signal-to-noise ratio r (step = 2α(r‖z‖/‖score‖)²)
    s.ode_solver = "tsit5"  # ode and likelihood: tsit5 | dopri5 (diffrax, adaptive)
    s.ode_rtol = 1e-5  # ode and likelihood: relative tolerance (score_sde's)
    s.ode_atol = 1e-5  # ode and likelihood: absolute tolerance
    s.hutchinson = "rademacher"  # likelihood: divergence probes, rademacher | gaussian

    ddpm.add_class_conditioning(config)
    ddpm._apply_preset(config, arg)
    if arg == "smoke":
        s.num_steps = 3
        s.ode_rtol = s.ode_atol = 1e-2
    elif arg == "ring":
        # The ring's largest pairwise distance is its diameter, 4 (plus the modes' spread).
        sde.sigma_max = 5.0
        s.num_steps = 500
    elif arg == "cifar10":
        # DDPM++ cont. (vp, subvp) and NCSN++ cont. (ve) of the paper, as far as our U-Net
        # goes: width 128, mult (1, 2, 2, 2), 4 residual blocks per level, attention at 16x16,
        # dropout 0.1, Adam 2e-4 with 5000 warm-up steps, gradient clipping at 1, batch 128,
        # 1.3M steps. What differs: no FIR resampling, BigGAN-style residual blocks, skip
        # rescaling or progressive growing of inputs/outputs, sinusoidal rather than random
        # Fourier time features (NCSN++), and the network predicts ε rather than scaling its
        # output by 1/σ.
        config.model.num_res_blocks = 4
        config.optim.ema_decay = 0.999 if sde_name == "ve" else 0.9999
        config.optim.grad_clip_norm = 1.0
        config.train.num_steps = 1_300_000
        s.num_steps = 1000
    return config
