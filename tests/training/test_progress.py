"""The chunk progress reporter's counts, rate and ETA, on a fake clock."""

import logging

import numpy as np

from v101jax.training.progress import Progress, hms, log_progress


class FakeClock:
    """Returns the given times in turn."""

    def __init__(self, *times):
        self.times = list(times)

    def __call__(self):
        return self.times.pop(0)


def test_counts_rate_and_eta():
    progress = Progress(
        1000, label="sampled", unit="images", clock=FakeClock(0, 20, 40)
    )
    assert progress.add(250) == "sampled 250/1000 (12.5 images/s, ETA 0:01:00)"
    assert progress.add(250) == "sampled 500/1000 (12.5 images/s, ETA 0:00:40)"
    assert progress.done == 500 and progress.rate == 12.5


def test_no_elapsed_time_gives_an_unknown_eta():
    progress = Progress(10, clock=FakeClock(5, 5))
    assert progress.add(1) == "done 1/10 (0 items/s, ETA ?)"


def test_log_progress_passes_chunks_through_and_logs_one_line_each(caplog):
    chunks = [np.zeros((4, 2)), np.zeros((4, 2)), np.zeros((2, 2))]
    clock = FakeClock(100, 102, 104, 105)
    with caplog.at_level(logging.INFO):
        out = list(log_progress(iter(chunks), 10, unit="images", clock=clock))
    assert [len(c) for c in out] == [4, 4, 2]
    messages = [r.getMessage() for r in caplog.records if "sampled" in r.getMessage()]
    assert messages == [
        "sampled 4/10 (2 images/s, ETA 0:00:03)",
        "sampled 8/10 (2 images/s, ETA 0:00:01)",
        "sampled 10/10 (2 images/s, ETA 0:00:00)",
    ]


def test_hms():
    assert hms(3725.9) == "1:02:05"
    assert hms(0) == "0:00:00"
    assert hms(float("nan")) == "?"
