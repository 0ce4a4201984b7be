"""One error type for bad user input, and the CLI wrapper and argument parser that print it as one line."""
import argparse
import functools
import os
import sys


class InputError(Exception):
    """Bad user input (missing file, wrong image format, inconsistent folders, ...).

    The message names the offending file first so that the CLI can print it as a
    single line: ``error: <file>: <problem>``.
    """


class WriteError(InputError):
    """An output could not be written (disk full, no permission, ...): partial work is kept for ``--resume``."""


class PeerError(InputError):
    """An error that another process of a torchrun group met (rank 0 prints it)."""


def report_error(exc):
    """Print an InputError as one line, once: under torchrun rank 0 speaks for the group, and the first
    process of each other machine repeats it there (``LOCAL_RANK`` 0: each node's terminal shows why the run
    stopped); another rank speaks only for what it alone met (``[rank r] error: ...``)."""
    if not isinstance(exc, InputError) or getattr(exc, 'reported', False):
        return
    exc.reported = True
    rank = os.environ.get('RANK', '0')
    if rank == '0' or os.environ.get('LOCAL_RANK', '0') == '0':
        print(f'error: {one_line(exc)}', file=sys.stderr, flush=True)
    elif not isinstance(exc, PeerError):
        print(f'[rank {rank}] error: {one_line(exc)}', file=sys.stderr, flush=True)


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
            report_error(exc)
            sys.exit(2)

    return wrapper


class Parser(argparse.ArgumentParser):
    """argparse with the project's one-line error form: ``error: <flag>: <problem>``, exit 2."""

    def error(self, message):
        message = message[len('argument '):] if message.startswith('argument ') else message
        self.exit(2, f'error: {message} (see {self.prog} --help)\n')
