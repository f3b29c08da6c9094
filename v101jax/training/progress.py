"""Progress of long work done in chunks (sampling for export or evaluation): one log line
per chunk, e.g. `sampled 250/1000 (12.3 images/s, ETA 0:01:01)`."""

import math
import time
from collections.abc import Callable, Iterable, Iterator

from absl import logging


class Progress:
    """Counts work done towards `total`; its rate and ETA are measured from construction."""

    def __init__(
        self,
        total: int,
        *,
        label: str = "done",
        unit: str = "items",
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.total, self.label, self.unit = total, label, unit
        self.done, self.rate = 0, 0.0
        self._clock = clock
        self._start = clock()

    def add(self, n: int) -> str:
        """Counts `n` more done; returns the progress line."""
        self.done += n
        elapsed = self._clock() - self._start
        self.rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / self.rate if self.rate > 0 else math.nan
        return (
            f"{self.label} {self.done}/{self.total} "
            f"({_rate(self.rate)} {self.unit}/s, ETA {hms(eta)})"
        )


def log_progress(
    chunks: Iterable,
    total: int,
    *,
    label: str = "sampled",
    unit: str = "samples",
    clock: Callable[[], float] = time.perf_counter,
) -> Iterator:
    """Passes `chunks` through, logging a Progress line per chunk (counted by its len).

    The clock starts at the first chunk requested, so the first one's compilation counts.
    """
    progress = Progress(total, label=label, unit=unit, clock=clock)
    for chunk in chunks:
        logging.info("%s", progress.add(len(chunk)))
        yield chunk


def hms(seconds: float) -> str:
    """H:MM:SS of a duration; "?" when it is unknown (not finite)."""
    if not math.isfinite(seconds):
        return "?"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h:d}:{m:02d}:{s:02d}"


def _rate(rate: float) -> str:
    return f"{rate:.3g}" if rate < 1000 else f"{rate:.0f}"
