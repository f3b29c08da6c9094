"""The state and metrics every adversarial algorithm shares: a generator "gen" (optimiser
config.optim, its weights averaged by optim.ema_decay for sampling) and a discriminator "disc"
(config.d_optim, never averaged) in one MultiState whose step is the generator's."""

from v101jax.core import optim
from v101jax.core.train_state import MultiState, TrainState


def generator_and_discriminator(
    config, gen_model, gen_vars, disc_model, disc_vars, *, disc_updates_per_step=1
) -> MultiState:
    """G and D from their modules and `init` variables ("params" plus any mutable
    collections, kept as each network's model_state). D's learning-rate schedule spans
    train.num_steps · disc_updates_per_step updates (n_critic)."""
    num_steps = config.train.num_steps

    def create(model, variables, optim_config, num_updates, ema_decay, ema_warmup):
        return TrainState.create(
            apply_fn=model.apply,
            params=variables["params"],
            tx=optim.make_optimizer(optim_config, num_updates),
            model_state={k: v for k, v in variables.items() if k != "params"},
            ema_decay=ema_decay,
            ema_warmup=ema_warmup,
        )

    gen = create(
        gen_model,
        gen_vars,
        config.optim,
        num_steps,
        config.optim.ema_decay,
        config.optim.ema_warmup,
    )
    disc = create(
        disc_model,
        disc_vars,
        config.d_optim,
        num_steps * disc_updates_per_step,
        0.0,
        True,
    )
    return MultiState(networks={"gen": gen, "disc": disc}, primary="gen")


def step_metrics(
    d_metrics: dict, g_metrics: dict, gen: TrainState, disc: TrainState
) -> dict:
    """One step's metrics from D's and G's `gradient_step` metrics: each network's
    grad_norm as d_grad_norm / g_grad_norm, and both learning rates as of the step's end."""

    def named(metrics, prefix):
        metrics = dict(metrics)
        metrics.pop("learning_rate", None)
        if "grad_norm" in metrics:
            metrics[f"{prefix}_grad_norm"] = metrics.pop("grad_norm")
        return metrics

    return {
        **named(d_metrics, "d"),
        **named(g_metrics, "g"),
        "g_learning_rate": optim.current_learning_rate(gen.opt_state),
        "d_learning_rate": optim.current_learning_rate(disc.opt_state),
    }
