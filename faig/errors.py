"""One error type for bad user input, and the CLI wrapper that prints it as one line."""
import functools
import sys


class InputError(Exception):
    """Bad user input (missing file, wrong image format, inconsistent folders, ...).

    The message names the offending file first so that the CLI can print it as a
    single line: ``error: <file>: <problem>``.
    """


class WriteError(InputError):
    """An output could not be written (disk full, no permission, ...): partial work is kept for ``--resume``."""


def one_line(exc):
    """The last non-empty line of an exception message.

    DataLoader workers re-raise errors with the worker traceback prepended; the
    user-facing message is its last line.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__
    prefix = f'{InputError.__name__}: '
    return text[len(prefix):] if text.startswith(prefix) else text


def cli(main):
    """Run ``main`` and turn an :class:`InputError` into ``error: ...`` and exit status 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except InputError as exc:
            print(f'error: {one_line(exc)}', file=sys.stderr)
            sys.exit(2)

    return wrapper
