"""Errors a user can act on. Entry points print them as one line, without a traceback."""


class UserError(Exception):
    """Base class: bad config, missing data, unusable workdir or checkpoint."""


class ConfigError(UserError, ValueError):
    """A config field has a value the code cannot use; the message names the field."""


class DataError(UserError, FileNotFoundError):
    """A dataset is missing or unreadable; the message says how to get it."""


class CheckpointError(UserError):
    """A checkpoint cannot be restored into this config's state."""


class WorkdirError(UserError, OSError):
    """The workdir cannot be created or written."""


class NonFiniteLossError(UserError, FloatingPointError):
    """Training produced NaN/inf; the message names the step and the last good checkpoint."""


class WeightsError(UserError):
    """A pretrained weights file is missing, unreadable or does not fit its network."""


def require_non_negative(config, section: str, names) -> None:
    """A ConfigError naming the first of `config.SECTION.NAME` (for NAME in `names`, the
    weights of a loss) that is negative."""
    for name in names:
        value = config[section][name]
        if value < 0:
            raise ConfigError(f"{section}.{name}={value} must be ≥ 0")
