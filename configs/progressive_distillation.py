"""Progressive distillation (Salimans & Ho 2022) of a trained diffusion model's DDIM sampler.

    python -m experiments.main --config=configs/ddim.py --workdir=runs/ddim_v \\
        --config.diffusion.prediction=v
    python -m experiments.main --config=configs/progressive_distillation.py \\
        --workdir=runs/distilled --config.distill.teacher_workdir=runs/ddim_v

The teacher must predict v or x₀ (the paper's section 4). Its config is copied into
`distill.teacher` when training starts and its network fields (model, diffusion,
conditioning) become this run's; its EMA parameters start both the frozen teacher and the
student. Each round halves the sampler: teacher_steps → teacher_steps/2 → … → final_steps,
distill.steps_per_round train steps each, the student promoted to teacher between rounds.
Samples are the current student's DDIM (η = 0) over its trailing timesteps.

Presets (`--config=configs/progressive_distillation.py:NAME`):
  (none)   CPU demo on Fashion-MNIST: 64 → 1 steps in six rounds of 400 steps (batch 16).
  ring     the 2-D ring (teacher: configs/ddpm.py:ring with v-prediction): 16 → 4 steps in
           two rounds of 1000 steps.
  smoke    two rounds of two steps; used by the tests.
"""

from configs import base, ddpm


def get_config(arg=None):
    config = base.get_base_config()
    config.algorithm = "progressive_distillation"
    # The network fields are replaced by the teacher's when training starts; these make the
    # config complete before that (and are what `init` builds when no teacher is loaded).
    ddpm.add_diffusion_fields(config)
    config.diffusion.prediction = "v"
    config.sample.num_steps = 0  # 0: the current round's student steps
    config.sample.eta = 0.0

    config.distill = d = base.ml_collections.ConfigDict()
    d.teacher_workdir = (
        "runs/ddim_v"  # the trained teacher's workdir (v or x0 prediction)
    )
    # The teacher's resolved config, copied from distill.teacher_workdir at start-up.
    d.teacher = base.ml_collections.ConfigDict()
    d.teacher_steps = (
        64  # DDIM steps of the first round's teacher (the student takes half)
    )
    d.final_steps = (
        1  # the last round's student steps; teacher_steps / final_steps = 2^rounds
    )
    d.steps_per_round = (
        400  # train steps of each round (the last runs to train.num_steps)
    )
    # The x-space loss weight: max(SNR, 1) (the paper's "truncated SNR") or SNR + 1.
    d.weighting = "truncated_snr"
    d.reset_optimizer = True  # fresh Adam state (and schedule) at each round's start

    o = config.optim
    o.learning_rate = 2e-4
    # Constant, then linear to end_lr_fraction over the second half of each round (the
    # optimiser and its schedule restart with every round).
    o.schedule = "linear_decay"
    o.ema_decay = 0.995
    o.ema_warmup = True

    if arg in (None, "", "demo"):
        config.data.batch_size = 16
        config.train.log_every = 100
        config.train.checkpoint_every = 400
        config.train.sample_every = 400
        # Each round's student is scored as the round ends (1,000 samples, shipped classifier).
        config.eval.every_steps = d.steps_per_round
    elif arg == "ring":
        config.data.source = "ring"
        config.data.toy_std = 0.1
        config.data.batch_size = 256
        config.sample.clip_x0 = False  # the ring has radius 2
        d.teacher_workdir = "runs/ddpm_ring_v"
        d.teacher_steps = 16
        d.final_steps = 4
        d.steps_per_round = 1000
        o.learning_rate = 1e-3
        o.ema_decay = 0.99
        config.train.log_every = 200
        config.train.checkpoint_every = 1000
        config.train.sample_every = 1000
        config.train.num_sample_images = 2000
    elif arg == "smoke":
        base.apply_smoke_training(config)
        d.teacher_workdir = ""
        d.teacher_steps = 4
        d.final_steps = 1
        d.steps_per_round = 2
        config.diffusion.num_timesteps = 50
        config.optim.ema_decay = 0.9
    else:
        raise ValueError(f"unknown preset {arg!r}; choose one of: demo, ring, smoke")
    rounds = (d.teacher_steps // d.final_steps).bit_length() - 1
    config.train.num_steps = rounds * d.steps_per_round
    config.lock()
    return config
