"""ACGAN (Odena et al. 2017): conditional G, D with an auxiliary classifier head.

    python -m experiments.main --config=configs/acgan.py --workdir=runs/acgan

D maximises L_S + L_C (source and class log-likelihoods, the class term on real and
generated images); G maximises L_C − L_S. gan.aux_weight scales both class terms. Logs
train/d_class_loss, train/g_class_loss and train/real_class_accuracy.

Presets: (none) CPU demo on Fashion-MNIST, smoke, ring, cifar10.

The CPU demo (3000 steps, batch 64) took 8 minutes on 2 CPU cores with one other job beside it
(6.1-7.7 steps/s); its grid shows the asked-for class in nearly every cell, each class in few
variants: class accuracy 0.93 but recall 0.01, fmnist_fd 65.5 on 1000 samples
(benchmarks/RESULTS.md).
"""

from configs import gan_base


def get_config(arg=None):
    config = gan_base.get_gan_base_config()
    config.gan.conditioning = "acgan"
    gan_base.apply_image_preset(config, arg)
    if arg in (None, "", "demo"):
        config.train.num_steps = 3000  # the measured demo
    elif arg == "smoke":
        config.data.batch_size = 10
        config.gan.diversity_samples = 10
        config.train.num_sample_images = 10
    config.lock()
    return config
