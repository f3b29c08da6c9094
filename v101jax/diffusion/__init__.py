"""Diffusion: noise schedules and their α/σ, the forward process and its posterior, the SDEs,
samplers, classifier-free guidance, and the denoiser the diffusion algorithms share."""
