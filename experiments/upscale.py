"""Upscale photos with a trained super-resolution run and score them as the SR papers do.

    python -m experiments.upscale --workdir=runs/srcnn --inputs=bundled --out=runs/srcnn/x3
    python -m experiments.upscale --workdir=runs/espcn --inputs=Set5/ --out=set5_x3/
    python -m experiments.upscale --workdir=runs/srgan --inputs=small/ --low_res --out=big/

--inputs: "bundled" (the five held-out bundled photos), a folder of images or one image
file. Ground-truth photos are degraded as the run's training crops were (bicubic at the
run's data.downscale, 8-bit), then upscaled by bicubic interpolation and by the network;
PSNR/SSIM on Y (BT.601) with `scale` border pixels cropped are printed per image and on
average (a folder holding Set5 or Set14 gives the paper-comparable table). --low_res treats
the inputs as low-resolution images: upscaled only, nothing scored.

Writes NAME.png and NAME_bicubic.png per image, comparison.png (bicubic | network | ground
truth, centre crops) and scores.json under --out.
"""

from absl import flags

from experiments import cli

_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Super-resolution run directory (config.json, checkpoints/)."
)
_INPUTS = flags.DEFINE_string(
    "inputs", None, '"bundled", a folder of images, or an image file.'
)
_OUT = flags.DEFINE_string("out", None, "Output folder.")
_LOW_RES = flags.DEFINE_bool(
    "low_res", False, "Inputs are low-resolution: upscale them, score nothing."
)
_EMA = flags.DEFINE_bool("ema", True, "Use EMA parameters (--noema for the raw ones).")
_DEFAULTS = cli.define_defaults_flag()


def main(argv):
    del argv
    from v101jax.training.upscale import score_table, upscale_photos

    result = upscale_photos(
        _WORKDIR.value,
        _INPUTS.value,
        _OUT.value,
        low_res=_LOW_RES.value,
        use_ema=_EMA.value,
        defaults=cli.optional_config(_DEFAULTS),
    )
    if not _LOW_RES.value:
        print(f"×{result['scale']}, scored on {result['scored_on']}:")
        print(score_table(result))
    speed = result["images_per_second"]
    if speed:
        print(f"network: {speed:.2f} images/s (compilation excluded)")
    print(
        f"wrote {len(result['images'])} images, comparison.png and scores.json to {_OUT.value}"
    )


if __name__ == "__main__":
    cli.run(main, required=("workdir", "inputs", "out"), reads_saved_runs=True)
