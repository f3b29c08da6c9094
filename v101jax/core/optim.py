"""Optimisers and learning-rate schedules built from `config.optim` with optax."""

import optax

from v101jax.core.errors import ConfigError


def learning_rate_schedule(optim_cfg, num_steps: int) -> optax.Schedule:
    """The schedule named by `optim_cfg.schedule`.

    constant: the base rate (after an optional linear warm-up).
    warmup_cosine: linear warm-up to the base rate, cosine decay to base * end_lr_fraction at
      `decay_steps` (0 = num_steps).
    cosine_restarts: SGDR-style cosine cycles of `restart_period` steps, each starting with the
      warm-up.
    linear_decay: the base rate (after an optional warm-up), then for the last `decay_steps`
      (0 = the second half of num_steps) a linear decay to base * end_lr_fraction (Pix2Pix
      and CycleGAN: 100 epochs constant, 100 decaying to 0).
    """
    lr = optim_cfg.learning_rate
    warmup = optim_cfg.warmup_steps
    end = lr * optim_cfg.end_lr_fraction
    if optim_cfg.schedule == "constant":
        if warmup > 0:
            return optax.join_schedules(
                [optax.linear_schedule(0.0, lr, warmup), optax.constant_schedule(lr)],
                [warmup],
            )
        return optax.constant_schedule(lr)
    if optim_cfg.schedule == "warmup_cosine":
        decay_steps = optim_cfg.decay_steps or num_steps
        if decay_steps <= warmup:
            raise ConfigError(
                f"optim.decay_steps ({decay_steps}) must exceed optim.warmup_steps ({warmup})"
            )
        return optax.warmup_cosine_decay_schedule(0.0, lr, warmup, decay_steps, end)
    if optim_cfg.schedule == "cosine_restarts":
        period = optim_cfg.restart_period
        if period <= warmup:
            raise ConfigError(
                f"optim.restart_period ({period}) must exceed optim.warmup_steps ({warmup})"
            )
        num_cycles = max(1, -(-num_steps // period))
        return optax.sgdr_schedule(
            [
                {
                    "init_value": 0.0,
                    "peak_value": lr,
                    "warmup_steps": warmup,
                    "decay_steps": period,
                    "end_value": end,
                }
                for _ in range(num_cycles)
            ]
        )
    if optim_cfg.schedule == "linear_decay":
        decay_steps = optim_cfg.decay_steps or num_steps // 2
        start = num_steps - decay_steps
        if start < warmup or decay_steps < 1:
            raise ConfigError(
                f"optim.decay_steps ({decay_steps}) must be ≥ 1 and leave the warm-up "
                f"({warmup} steps) within train.num_steps ({num_steps})"
            )
        parts = [
            optax.constant_schedule(lr),
            optax.linear_schedule(lr, end, decay_steps),
        ]
        boundaries = [start]
        if warmup > 0:
            parts.insert(0, optax.linear_schedule(0.0, lr, warmup))
            boundaries.insert(0, warmup)
        return optax.join_schedules(parts, boundaries)
    raise ConfigError(
        f"optim.schedule={optim_cfg.schedule!r} is not one of: constant, warmup_cosine, "
        "cosine_restarts, linear_decay"
    )


def make_optimizer(optim_cfg, num_steps: int) -> optax.GradientTransformation:
    """Gradient clipping (global norm) followed by Adam/AdamW/RMSProp on the configured schedule.

    The learning rate is injected as a hyperparameter so it can be logged from the opt state.
    """
    schedule = learning_rate_schedule(optim_cfg, num_steps)
    if optim_cfg.name == "adam":
        opt = optax.inject_hyperparams(optax.adam)(
            learning_rate=schedule, b1=optim_cfg.b1, b2=optim_cfg.b2, eps=optim_cfg.eps
        )
    elif optim_cfg.name == "adamw":
        opt = optax.inject_hyperparams(optax.adamw)(
            learning_rate=schedule,
            b1=optim_cfg.b1,
            b2=optim_cfg.b2,
            eps=optim_cfg.eps,
            weight_decay=optim_cfg.weight_decay,
        )
    elif optim_cfg.name == "rmsprop":
        # WGAN (Arjovsky et al. 2017) trains with RMSProp; b2 is its squared-gradient decay.
        opt = optax.inject_hyperparams(optax.rmsprop)(
            learning_rate=schedule, decay=optim_cfg.b2, eps=optim_cfg.eps
        )
    else:
        raise ConfigError(
            f"optim.name={optim_cfg.name!r} is not one of: adam, adamw, rmsprop"
        )
    if optim_cfg.grad_clip_norm > 0:
        return optax.chain(optax.clip_by_global_norm(optim_cfg.grad_clip_norm), opt)
    return opt


def current_learning_rate(opt_state):
    """The learning rate that the last update used, read from the injected hyperparameters."""
    # Either the injected state itself or one element of a chain (itself a NamedTuple).
    candidates = (opt_state,) if hasattr(opt_state, "hyperparams") else tuple(opt_state)
    for s in candidates:
        if hasattr(s, "hyperparams"):
            return s.hyperparams["learning_rate"]
    raise ValueError("optimizer state has no injected learning rate")
