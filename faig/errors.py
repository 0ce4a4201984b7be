"""One error type for bad user input, and the CLI wrapper and argument parser that print it as one line."""
import argparse
import contextlib
import functools
import os
import re
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


MEMORY_WORDS = ('not enough memory', "can't allocate memory", 'out of memory', 'DefaultCPUAllocator')


def out_of_memory(exc):
    """Whether ``exc`` is an allocation that failed: numpy's MemoryError, torch's OutOfMemoryError (CUDA) or the
    RuntimeError of torch's CPU allocator ("DefaultCPUAllocator: not enough memory", "can't allocate memory")."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == 'OutOfMemoryError' or (
        isinstance(exc, RuntimeError) and any(word in str(exc) for word in MEMORY_WORDS))


def memory_detail(exc):
    """How much could not be allocated, in a few words (the allocator's message is a paragraph)."""
    asked = re.search(r'allocate (\d+) bytes|allocate ([\d.]+ [KMGT]i?B)', str(exc))
    if asked and asked.group(1):
        return f'{int(asked.group(1)) / 2 ** 20:,.0f} MiB could not be allocated'
    if asked:
        return f'{asked.group(2)} could not be allocated'
    return 'an allocation failed'


@contextlib.contextmanager
def memory_guard(what, hint):
    """Running out of memory inside the block becomes ``<what>: not enough memory (...); <hint>`` (an
    InputError: one line, and the run's partial state is removed as for any bad input)."""
    try:
        yield
    except Exception as exc:  # (MemoryError is an Exception)
        if not out_of_memory(exc):
            raise
        raise InputError(f'{what}: not enough memory ({memory_detail(exc)}); {hint}') from None


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
        except Exception as exc:  # memory ran out where no step named its input: still one line
            if not out_of_memory(exc):
                raise
            report_error(InputError(f'{os.path.basename(sys.argv[0])}: not enough memory ({memory_detail(exc)}); '
                                    'use smaller images or settings that need less memory (see --help)'))
            sys.exit(2)

    return wrapper


class Parser(argparse.ArgumentParser):
    """argparse with the project's one-line error form: ``error: <flag>: <problem>``, exit 2."""

    def error(self, message):
        message = message[len('argument '):] if message.startswith('argument ') else message
        self.exit(2, f'error: {message} (see {self.prog} --help)\n')
