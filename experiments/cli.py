"""Shared command-line plumbing: required flags, quiet logging and one-line errors for user
mistakes."""

import ast
import importlib.util
import logging as std_logging
import os
import re
import sys


def run(main, required=(), reads_saved_runs=False):
    """absl's app.run with required flags, quiet library logs (configure_logging) and user
    errors printed as one line (exit code 2), a mistyped config override's included.

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
        args = flags.FLAGS(argv)
    except (flags.Error, OSError, KeyError, AttributeError, TypeError, ValueError) as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        sys.exit(2)
    problem = _check_override_types(flags.FLAGS, argv)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    configure_logging()
    return args


def configure_logging():
    """Keeps the libraries' INFO logs (orbax, jax, clu, TensorFlow's C++ start-up lines) off
    the terminal unless --verbosity ≥ 1; this project's INFO lines and everyone's warnings
    stay. Call after flag parsing and before TensorFlow or jax run."""
    from absl import logging

    if logging.get_verbosity() >= 1:  # absl's DEBUG: the user asked for everything
        return
    # TensorFlow and XLA read it when their C++ logging starts: 1 drops INFO, keeps warnings.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    handler = logging.get_absl_handler()
    if not any(isinstance(f, _OwnInfoOnly) for f in handler.filters):
        handler.addFilter(_OwnInfoOnly(_project_dirs()))


class _OwnInfoOnly(std_logging.Filter):
    """Passes warnings and worse, and lower records logged from the project's own files."""

    def __init__(self, dirs: tuple[str, ...]):
        super().__init__()
        self.dirs = dirs

    def filter(self, record):
        return record.levelno >= std_logging.WARNING or os.path.abspath(
            record.pathname
        ).startswith(self.dirs)


def _project_dirs() -> tuple[str, ...]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dirs = [os.path.join(root, "experiments"), os.path.join(root, "configs")]
    spec = importlib.util.find_spec("v101jax")  # finds it without importing jax
    if spec is not None and spec.submodule_search_locations:
        dirs += list(spec.submodule_search_locations)
    return tuple(os.path.abspath(d) + os.sep for d in dirs)


def _check_override_types(flag_values, argv) -> str | None:
    """A message for the first --config.FIELD=VALUE whose value has another type than the
    field's default in the config file (tuples must stay tuples of the same element type),
    else None.

    config_flags reads a lone scalar given to a tuple field as a one-element tuple and does
    not check tuple elements, so `channel_mult=7` or `channel_mult=2.5` would pass.
    """
    from ml_collections import config_flags
    from ml_collections.config_flags import config_path
    from ml_collections.config_flags.config_flags import ConfigFileFlagParser

    for name in list(flag_values):
        flag = flag_values[name]
        # Config-file flags only: their defaults can be loaded again from the file.
        if not isinstance(flag.parser, ConfigFileFlagParser) or flag.value is None:
            continue
        overrides = config_flags.get_override_values(flag)
        if not overrides:
            continue
        defaults = _fresh_defaults(flag)
        if defaults is None:
            continue
        texts = _override_texts(argv, name)
        for path, value in overrides.items():
            try:
                default = config_path.get_value(path, defaults)
            except (AttributeError, KeyError, TypeError):
                continue
            problem = _type_problem(default, value, texts.get(path, []))
            if problem:
                return f"--{name}.{path}={_shown(texts.get(path), value)}: {path} {problem}"
    return None


def _fresh_defaults(flag):
    """The config file of a config-file flag loaded again, without the overrides; None when
    it does not load (that error is reported where the value is used)."""
    from ml_collections.config_flags import config_flags

    try:
        config = flag.parser.parse(config_flags.get_config_filename(flag))
        config.get("algorithm")  # a file that failed to load raises on first use
    except Exception:  # noqa: BLE001 - config files can raise anything
        return None
    return config


def _type_problem(default, value, texts) -> str | None:
    if default is None or value is None:
        return None
    if isinstance(default, (tuple, list)):
        if not isinstance(value, (tuple, list)) or (
            len(texts) == 1 and not _spells_a_sequence(texts[0])
        ):
            one = texts[0] if texts else "x"
            return (
                f"is a tuple (default {tuple(default)}), not a single value: write "
                f"{one}, for a one-element tuple, or the values separated by commas"
            )
        kinds = {type(v) for v in default}
        for v in value:
            if kinds and not any(_fits(v, k) for k in kinds):
                names = "/".join(sorted(k.__name__ for k in kinds))
                return (
                    f"holds {names} values (default {tuple(default)}), got "
                    f"{v!r} ({type(v).__name__})"
                )
        return None
    if not _fits(value, type(default)):
        return f"is {type(default).__name__} (default {default!r}), got {type(value).__name__}"
    return None


def _fits(value, kind: type) -> bool:
    # bool is an int subclass: keep them apart.
    if isinstance(value, bool) != (kind is bool):
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def _spells_a_sequence(text: str) -> bool:
    try:
        return isinstance(ast.literal_eval(text), (tuple, list))
    except (ValueError, SyntaxError):
        return "," in text


def _override_texts(argv, name: str) -> dict[str, list[str]]:
    """The command-line text of each `--name.field=value` (or `--name.field value`)."""
    texts = {}
    args = list(argv[1:])
    for i, arg in enumerate(args):
        if arg == "--":
            break
        for prefix in (f"--{name}.", f"-{name}."):
            if arg.startswith(prefix):
                field, eq, text = arg[len(prefix) :].partition("=")
                if not eq:
                    text = args[i + 1] if i + 1 < len(args) else ""
                texts.setdefault(field, []).append(text)
                break
    return texts


def _shown(texts, value) -> str:
    return texts[-1] if texts else str(value)


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
