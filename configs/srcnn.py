"""SRCNN (Dong, Loy, He & Tang 2016): three convolutions on the bicubic-upsampled luminance.

    python -m experiments.main --config=configs/srcnn.py --workdir=runs/srcnn
    python -m experiments.upscale --workdir=runs/srcnn --inputs=bundled --out=runs/srcnn/x3

9-5-5 with 64/32 filters and ReLU, MSE, on Y (BT.601) crops of 33×33 every 14 pixels (the
paper's sub-images) at ×3 (`--config.data.downscale=2|4` for the other scales). The paper
trains with SGD at 1e-4 (1e-5 on the last layer) for about 10⁸ updates; here Adam at 1e-3
decays by cosine to 1e-5 over a run of minutes, which reaches its PSNR gain far sooner.

Presets: (none) CPU demo, 6000 steps at batch 32; smoke (the tests').
"""

from configs import sr_base


def get_config(arg=None):
    config = sr_base.get_sr_base_config("srcnn")
    data = config.data
    data.image_size = 33
    data.crop_stride = 14
    data.channels = (
        1  # Y only; Cb and Cr are upsampled bicubically by experiments.upscale
    )
    data.batch_size = 32
    config.sr.widths = (64, 32)
    config.sr.kernels = (9, 5, 5)
    sr_base.apply_demo_or_smoke(config, arg)
    config.lock()
    return config
