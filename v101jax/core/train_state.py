"""The train state of one network: step, parameters, optimiser state, EMA and mutable state."""

from collections.abc import Callable
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

from v101jax.core import ema


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
