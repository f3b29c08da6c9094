"""Shared command-line plumbing: required flags and one-line errors for user mistakes."""

import sys


def run(main, required=()):
    """absl's app.run with required flags, printing user errors as one line (exit code 2)."""
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

    app.run(guarded, flags_parser=_parse_flags)


def _parse_flags(argv):
    """absl's parser, with config-file and override errors reduced to one line."""
    from absl import flags

    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        msg = str(e).strip().splitlines()
        print(f"error: {msg[-1] if msg else e}", file=sys.stderr)
        sys.exit(2)
