"""GAN-CLS / GAN-INT (Reed et al. 2016): a text-conditional GAN with a matching-aware D.

    python -m experiments.main --config=configs/text_gan.py --workdir=runs/text_gan
    python -m experiments.sample --workdir=runs/text_gan --prompt="a small dark ankle boot"

Trains on Fashion-MNIST with captions written from each image's class and measured size and
brightness (data.captions="templates": "a small dark ankle boot", "this coat is bright", …;
v101jax.data.captions). G and D each read the caption with a small transformer (config.text)
trained from scratch by their own losses; G concatenates the projected caption code to z, D
tiles it over its last feature map. gan.interpolation_weight = 0 turns GAN-INT off (GAN-CLS
alone); gan.wrong_weight = 0 drops the mismatched-caption term (a plain conditional GAN).

Presets: (none) CPU demo on Fashion-MNIST, smoke, ring (captions name the ring's modes:
"the north east mode"; the learning test).

The CPU demo (3000 steps, batch 64) took 9.5 minutes on 2 cores with tests beside it:
fmnist_fd 47.9 and class accuracy 0.79 on 1000 samples of held-out captions; the prompts'
class is followed for 7 of 10 classes, brightness better than size, but each caption gets
nearly one image whatever z is (recall 0; benchmarks/RESULTS.md).

Reed et al.'s defaults (reedscot/icml2016): Adam 2e-4, β₁ 0.5, batch 64, a 128-wide
projection of the text embedding, ½/½ weights of the two fake terms, β = ½.
"""

import ml_collections

from configs import base, gan_base


def text_gan_base_config():
    """The fields every text-to-image config shares (configs/gigagan.py builds on them)."""
    config = base.get_base_config()
    config.algorithm = "text_gan"
    config.data.captions = "templates"
    config.data.caption_length = 12

    m = config.model
    m.name = "dcgan"  # mlp (2-D data) | dcgan (images)
    m.channels = 32  # dcgan: width of G's last and D's first feature map
    m.hidden = 128  # mlp width
    m.num_layers = 3  # mlp hidden layers (G and D)
    m.latent_dim = 64  # size of z ~ N(0, I)
    m.spectral_norm = False  # spectral normalisation of every D body layer
    # Group size of D's minibatch std-dev feature (0 = off). 4 scored worse in the demo
    # (fmnist_fd 54.0 against 47.9, benchmarks/RESULTS.md): a batch's captions differ, so
    # its spread hides G's drawing one image per caption.
    m.minibatch_std = 0
    # G's batch norm at sampling: the sample batch's statistics (True) or running averages.
    m.batch_stats_at_sampling = True

    config.text = t = ml_collections.ConfigDict()
    # The caption vocabulary (special tokens first); () = filled from the data when a run
    # starts, and saved in its config.json.
    t.vocabulary = ()
    t.width = 64  # text encoder width (each of G and D has its own encoder)
    t.num_layers = 2  # transformer blocks; 0 = position-aware bag of embeddings
    t.num_heads = 2
    t.code_dim = (
        128  # the projected caption code (Linear → LeakyReLU 0.2), as the paper
    )
    t.encoder = "own"  # own (the transformer above) | clip (a frozen CLIP text tower)
    t.clip_weights = ""  # clip: the .npz of experiments.convert_clip_text_weights
    t.clip_length = 32  # clip: CLIP tokens per caption (SOT, pieces, EOT, padding)

    gan_base.use_adversarial_optimizers(config)
    config.gan = g = ml_collections.ConfigDict()
    g.loss = "non_saturating"  # minimax | non_saturating | lsgan | hinge | wasserstein
    g.wrong_weight = (
        0.5  # weight of (real image, wrong caption); 1 − it of (fake, right)
    )
    g.interpolation_weight = 1.0  # GAN-INT: weight of G's loss on interpolated captions
    g.interpolation_beta = 0.5  # β of the interpolation β·φ(t₁) + (1 − β)·φ(t₂)
    g.r1_gamma = 0.0  # γ of the R1 penalty on real images with their captions; 0 = off
    # MSGAN's mode-seeking term (Mao et al. 2019; not GAN-CLS's): λ / (d_images / d_z) on
    # pairs of one caption with two z; 0 = off. 1 quadrupled one caption's spread in the
    # demo but raised fmnist_fd from 54 to 78 (with minibatch_std 4; RESULTS.md).
    g.mode_seeking_weight = 0.0
    # The upsampler's L1 to the real image its source was pooled from (text_upsampler
    # only; configs/gigagan_upsampler.py); 0 = off.
    g.reconstruction_weight = 0.0

    config.train.checkpoint_every = 1000
    config.train.sample_every = 1000
    return config


def get_config(arg=None):
    config = text_gan_base_config()
    m, t = config.model, config.text
    if arg in (None, "", "demo"):
        config.data.batch_size = 64
        config.train.num_steps = 3000
        config.train.log_every = 100
    elif arg == "smoke":
        base.apply_smoke_training(config)
        m.channels = 8
        m.latent_dim = 16
        m.minibatch_std = 2
        t.width = 16
        t.num_layers = 1
        t.code_dim = 16
    elif arg == "ring":
        # Captions name one of the ring's 8 modes: the condition is only in the text.
        config.data.source = "ring"
        config.data.toy_std = 0.1
        config.data.batch_size = 128
        m.name = "mlp"
        m.hidden = 64
        m.latent_dim = 4
        t.width = 32
        t.num_layers = 1
        t.code_dim = 32
        config.optim.learning_rate = 1e-3
        config.d_optim.learning_rate = 1e-3
        config.optim.ema_decay = 0.99
        config.train.num_steps = 2000
        config.train.log_every = 200
        config.train.num_sample_images = 2000
    else:
        raise ValueError(f"unknown preset {arg!r}; choose one of: demo, smoke, ring")
    config.lock()
    return config
