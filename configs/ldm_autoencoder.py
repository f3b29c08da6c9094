"""The first stage of latent diffusion: a KL-regularised autoencoder with latent maps.

    python -m experiments.main --config=configs/ldm_autoencoder.py --workdir=runs/ldm_autoencoder

A VAE (configs/vae.py's networks) whose encoder ends in a 1×1 convolution instead of a Dense
layer, so q(z|x) is a map: 28×28×1 → 7×7×4 with the default two stride-2 stages (factor
f = 4; `--config.model.channel_mult=(1,)` gives 14×14×4). Its KL weight is small
(`autoencoder.beta`, as LDM's 1e-6 on a summed reconstruction loss): the latents keep the
image's detail, the KL term only keeps their scale in check; latent diffusion then rescales
them to unit variance (configs/ldm.py, `ldm.scale_by_std`). The Gaussian likelihood with a
learned σ; evaluation reports reconstruction MSE, PSNR and SSIM.

Presets as configs/ae.py: (none) the CPU demo, smoke (tests), gpu.
"""

from configs import ae


def get_config(arg=None):
    config = ae.autoencoder_config("vae", arg)
    config.autoencoder.spatial = True
    config.autoencoder.latent_dim = 4  # latent channels
    config.autoencoder.beta = 1e-3
    config.autoencoder.likelihood = "gaussian"
    config.autoencoder.num_importance_samples = 8
    if arg == "smoke":
        config.autoencoder.latent_dim = 2
    config.lock()
    return config
