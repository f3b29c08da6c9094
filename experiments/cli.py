"""Shared command-line plumbing: required flags and one-line errors for user mistakes."""

import re
import sys


def run(main, required=(), reads_saved_runs=False):
    """absl's app.run with required flags, printing user errors as one line (exit code 2).

    `reads_saved_runs`: the command loads a workdir's config.json, where a field missing from
    an older run is reported with the --defaults hint instead of a traceback.
    """
    from absl import app, flags

    for name in required:
        flags.mark_flag_as_required(name)

    def guarded(argv):
        from v101jax.core.errors import UserError

        try:
            return main(argv)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(2)
        except AttributeError as e:
            # ml_collections reports a missing field as AttributeError("'name'"): from a run
            # saved before the field existed, a user matter, not a bug to trace.
            field = re.fullmatch(r"\"'(\w+)'\"", str(e))
            if not reads_saved_runs or field is None:
                raise
            print(
                f"error: config field {field.group(1)!r} is missing: a run saved before the "
                "field existed needs --defaults=configs/NAME.py (the config it was trained "
                "from) to fill in the fields it lacks",
                file=sys.stderr,
            )
            sys.exit(2)

    app.run(guarded, flags_parser=_parse_flags)


def _parse_flags(argv):
    """absl's parser, with config-file and override errors reduced to one line."""
    from absl import flags

    try:
        return flags.FLAGS(argv)
    except (flags.Error, OSError, KeyError, AttributeError, TypeError, ValueError) as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        sys.exit(2)


def _one_line(e: Exception) -> str:
    """A readable single line from config_flags' multi-line (sometimes repr'd) messages."""
    text = str(e).replace("\\n", "\n").replace("\\'", "'")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return type(e).__name__
    if isinstance(e, OSError) or "Traceback" in text:
        # The innermost cause comes last.
        return f"cannot load config file: {lines[-1]}"
    if isinstance(e, (KeyError, AttributeError)):
        return "unknown config field " + " ".join(ln.strip("'\"") for ln in lines)
    return " ".join(lines)


def config_value(config_flag):
    """The parsed config of a config_flags flag, with loading errors as one-line UserErrors.

    config_flags defers some loading errors (OSError for a missing file) to the first use of
    the value.
    """
    from v101jax.core.errors import ConfigError

    try:
        config = config_flag.value
        # A file that failed to load yields a placeholder that raises on first attribute use.
        config.get("algorithm")
        return config
    except (OSError, KeyError, AttributeError, TypeError, ValueError) as e:
        raise ConfigError(_one_line(e)) from None


def define_defaults_flag():
    """--defaults: the config file that fills in fields an older run's config.json lacks."""
    from ml_collections import config_flags

    return config_flags.DEFINE_config_file(
        "defaults",
        None,
        "The config file the run was trained from (configs/NAME.py[:preset]); its fields "
        "fill in those that a run saved before they existed lacks.",
        lock_config=False,
    )


def optional_config(config_flag):
    """config_value of a config-file flag, or None where the flag was not given."""
    return None if config_flag.value is None else config_value(config_flag)
