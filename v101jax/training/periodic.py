"""When periodic actions (log, sample, checkpoint) fire."""


def is_time(step: int, every: int, total: int, *, last: bool = True) -> bool:
    """True at every `every`-th step, and at the final step `total` when `last`.

    Steps count completed updates (1 … total). `every` ≤ 0 disables the action (even at the end).
    """
    if every <= 0:
        return False
    return step % every == 0 or (last and step == total)
