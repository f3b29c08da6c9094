"""Networks per family. Image diffusion uses v101jax.nn.unet.UNet."""
