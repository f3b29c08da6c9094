"""Train states: one network's (step, parameters, optimiser state, EMA, mutable state), the
shared gradient step, and the state of algorithms with several networks or frozen stages."""

from collections.abc import Callable
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

from v101jax.core import ema, optim


class TrainState(flax.struct.PyTreeNode):
    """One network's training state.

    Attributes:
      step: number of optimiser updates applied so far (int32 scalar).
      params: the network's parameters (float32).
      opt_state: the optax state.
      ema_params: exponential moving average of `params` (used for sampling).
      model_state: mutable collections such as batch statistics ({} when none).
      apply_fn: the network's `apply` (static).
      tx: the optax transformation (static).
      ema_decay: maximum EMA decay (static); 0 keeps ema_params equal to params.
      ema_warmup: whether the decay ramps up as (1 + t) / (10 + t) (static).
    """

    step: jax.Array
    params: Any
    opt_state: Any
    ema_params: Any
    model_state: Any
    apply_fn: Callable = flax.struct.field(pytree_node=False)
    tx: optax.GradientTransformation = flax.struct.field(pytree_node=False)
    ema_decay: float = flax.struct.field(pytree_node=False, default=0.0)
    ema_warmup: bool = flax.struct.field(pytree_node=False, default=True)

    @classmethod
    def create(
        cls, *, apply_fn, params, tx, model_state=None, ema_decay=0.0, ema_warmup=True
    ):
        return cls(
            step=jnp.zeros((), jnp.int32),
            params=params,
            opt_state=tx.init(params),
            # A copy, so that donating the state never donates one buffer twice.
            ema_params=jax.tree.map(jnp.copy, params),
            model_state={} if model_state is None else model_state,
            apply_fn=apply_fn,
            tx=tx,
            ema_decay=ema_decay,
            ema_warmup=ema_warmup,
        )

    def apply_gradients(self, grads, model_state=None) -> "TrainState":
        """One optimiser update, then the EMA update at the new step."""
        updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
        params = optax.apply_updates(self.params, updates)
        decay = ema.decay_at(self.step, self.ema_decay, self.ema_warmup)
        ema_params = optax.incremental_update(
            params, self.ema_params, step_size=1.0 - decay
        )
        return self.replace(
            step=self.step + 1,
            params=params,
            opt_state=opt_state,
            ema_params=ema_params,
            model_state=self.model_state if model_state is None else model_state,
        )

    def checkpoint_tree(self) -> dict:
        """The arrays a checkpoint holds (everything but the static fields)."""
        return flax.serialization.to_state_dict(self)

    def from_checkpoint_tree(self, tree: dict) -> "TrainState":
        return flax.serialization.from_state_dict(self, tree)


def fresh_optimizer_where(start, state: TrainState) -> TrainState:
    """`state` with a fresh optimiser state where `start` (a traced bool) holds: a new
    training phase's reset inside one compiled step (ProGAN's resolutions, progressive
    distillation's rounds)."""
    fresh = state.tx.init(state.params)
    opt_state = jax.tree.map(
        lambda f, o: jnp.where(start, f, o), fresh, state.opt_state
    )
    return state.replace(opt_state=opt_state)


def sampling_params(state: TrainState, use_ema: bool):
    """The parameters a sampler uses: the EMA average, or the raw parameters."""
    return state.ema_params if use_ema else state.params


def gradient_step(state: TrainState, loss_fn, *args, **kwargs):
    """One optimiser step of `state` on `loss_fn(params, *args, **kwargs) -> (loss, aux)`.

    loss → gradients → the optimiser's chain (global-norm clipping, then Adam/RMSProp on the
    schedule) → the EMA update, with the metrics every network logs. `aux` holds "scalars"
    (logged as they are) and optionally "model_state" (the network's new mutable collections,
    e.g. batch statistics, stored in the returned state).

    Returns:
      (new state, metrics, aux); metrics = aux["scalars"] plus grad_norm (before clipping)
      and learning_rate (the rate this update used).
    """
    (_, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        state.params, *args, **kwargs
    )
    return _apply(state, grads, aux)


def output_and_pullback(state: TrainState, forward, *args):
    """(output, forward's aux, pullback) of `forward(state.params, *args) -> (output, aux)`.

    A network's output computed once for two uses: first as a constant (a discriminator's
    update on the generator's images), then under a loss that trains the network
    (`gradient_step_on_output`), where the pullback maps d loss / d output to the parameter
    gradients without running the forward pass again. XLA does not merge two identical
    forward passes when one of them is differentiated, so a GAN step that runs G for D's
    update and again for its own spends a G forward more than it needs; the price is that
    G's activations stay alive through D's update.
    """
    output, pullback, aux = jax.vjp(
        lambda params: forward(params, *args), state.params, has_aux=True
    )
    return output, aux, pullback


def gradient_step_on_output(state: TrainState, pullback, output, loss_fn):
    """`gradient_step` for a loss of the network's output `loss_fn(output) -> (loss, aux)`,
    with `output` and `pullback` from `output_and_pullback`: the same update as
    gradient_step on loss_fn(forward(params)), for the parameters the output was computed
    with."""
    (_, aux), d_output = jax.value_and_grad(loss_fn, has_aux=True)(output)
    (grads,) = pullback(d_output)
    return _apply(state, grads, aux)


def _apply(state: TrainState, grads, aux):
    new_state = state.apply_gradients(grads, model_state=aux.get("model_state"))
    metrics = dict(aux["scalars"])
    metrics["grad_norm"] = optax.tree.norm(grads)
    metrics["learning_rate"] = optim.current_learning_rate(new_state.opt_state)
    return new_state, metrics, aux


class MultiState(flax.struct.PyTreeNode):
    """The state of an algorithm with several networks, or with a frozen first stage.

    Attributes:
      networks: name → TrainState of every trained network (G and D; two of each for
        CycleGAN; …).
      frozen: name → pytree of arrays that training does not change but sampling needs (a
        first stage's parameters, constants derived from it such as a latent scale).
      primary: the network whose step counter is the run's step (static).

    The checkpoint tree is one flat namespace: each network's tree and each frozen entry
    under its own name, so names must not repeat across the two dicts.
    """

    networks: dict
    frozen: dict = flax.struct.field(default_factory=dict)
    primary: str = flax.struct.field(pytree_node=False, default="")

    @property
    def step(self):
        return self.networks[self.primary].step

    @property
    def params(self) -> dict:
        """Every trained network's parameters (for counting and inspection)."""
        return {name: ts.params for name, ts in self.networks.items()}

    def __getitem__(self, name: str):
        return self.networks[name] if name in self.networks else self.frozen[name]

    def replace_networks(self, **networks) -> "MultiState":
        return self.replace(networks={**self.networks, **networks})

    def checkpoint_tree(self) -> dict:
        tree = {name: ts.checkpoint_tree() for name, ts in self.networks.items()}
        for name, value in self.frozen.items():
            tree[name] = flax.serialization.to_state_dict(value)
        return tree

    def from_checkpoint_tree(self, tree: dict) -> "MultiState":
        networks = {
            name: ts.from_checkpoint_tree(tree[name])
            for name, ts in self.networks.items()
        }
        frozen = {
            name: flax.serialization.from_state_dict(value, tree[name])
            for name, value in self.frozen.items()
        }
        return self.replace(networks=networks, frozen=frozen)
