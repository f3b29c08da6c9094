"""ESPCN (Shi et al. 2016): convolutions in low-resolution space and a sub-pixel shuffle.

    python -m experiments.main --config=configs/espcn.py --workdir=runs/espcn
    python -m experiments.upscale --workdir=runs/espcn --inputs=bundled --out=runs/espcn/x3

5×5/64 → 3×3/32 with tanh (not ReLU, as some ports have it), then 3×3 to r² channels and the
pixel shuffle; MSE on Y (BT.601). Crops: the paper's 17×17 low-resolution sub-images (51×51
at ×3), every 27 pixels. The paper decays its rate from 1e-2 to 1e-4; here Adam 1e-3 falls by
cosine to 1e-5.

Presets: (none) CPU demo, 6000 steps at batch 32; smoke (the tests').
"""

from configs import sr_base


def get_config(arg=None):
    config = sr_base.get_sr_base_config("espcn")
    data = config.data
    data.image_size = 51  # 17 × 3
    data.crop_stride = 27
    data.channels = 1
    data.batch_size = 32
    config.sr.widths = (64, 32)
    config.sr.kernels = (5, 3, 3)
    sr_base.apply_demo_or_smoke(config, arg)
    config.lock()
    return config
