"""The first stage of latent diffusion: a KL-regularised autoencoder with latent maps.

    python -m experiments.main --config=configs/ldm_autoencoder.py --workdir=runs/ldm_autoencoder

A VAE (configs/vae.py's networks) whose encoder ends in a 1×1 convolution instead of a Dense
layer, so q(z|x) is a map: 28×28×1 → 7×7×4 with the default two stride-2 stages (factor
f = 4; `--config.model.channel_mult=(1,)` gives 14×14×4). Its KL weight is small
(`autoencoder.beta`, as LDM's 1e-6 on a summed reconstruction loss): the latents keep the
image's detail, the KL term only keeps their scale in check; latent diffusion then rescales
them to unit variance (configs/ldm.py, `ldm.scale_by_std`). The Gaussian likelihood with a
learned σ; evaluation reports reconstruction MSE, PSNR and SSIM.

LDM's PatchGAN term on the reconstructions is off here (the CPU demo):
`--config.autoencoder.adversarial_weight=0.5 --config.autoencoder.disc_start=N` turns it on
(LDM's KL-f4 autoencoder: weight 0.5 from step 50,001; hinge loss, adaptive weight).

Presets as configs/ae.py: (none) the CPU demo, smoke (tests), gpu; and cifar10 (CIFAR-10
through TFDS, 32×32×3 → 8×8×4, 50k steps at batch 128: the first stage of configs/ldm.py:cifar10).
"""

from configs import ae, base


def get_config(arg=None):
    config = ae.autoencoder_config("vae", "gpu" if arg == "cifar10" else arg)
    config.autoencoder.spatial = True
    config.autoencoder.latent_dim = 4  # latent channels
    config.autoencoder.beta = 1e-3
    config.autoencoder.likelihood = "gaussian"
    config.autoencoder.num_importance_samples = 8
    if arg == "smoke":
        config.autoencoder.latent_dim = 2
    elif arg == "cifar10":
        # CIFAR-10 through TFDS: 32×32×3 → 8×8×4 (f = 4, LDM's KL-f4 shape), widths 64/128.
        base.use_cifar10(config.data)
        config.model.channels = 64
        config.train.num_steps = 50_000
    config.lock()
    return config
