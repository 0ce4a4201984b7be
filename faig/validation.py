"""Types of setting values (an integer >= 1, a finite number, a percentage, a seed), for the settings of
methods and tools alike; each takes the text of a flag and raises ``argparse.ArgumentTypeError``, so a
parser names the flag in its one-line error. No torch import."""
import argparse
import math


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'{text} must be >= 1')
    return value


def finite_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number') from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f'{text} is not a finite number')
    return value


def percent(text):
    """A proportion of filters in percent: 0 < p <= 100."""
    value = finite_float(text)
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f'{text}: a proportion must be in (0, 100] percent')
    return int(value) if value.is_integer() else value


SEED_LIMIT = 2**32  # numpy's seeds: 0 <= seed < 2**32


def seed_int(text):
    """A random seed as numpy takes it: an integer in [0, 2**32 - 1]; negative or larger ones are refused
    (no silent mapping: ``--seed -1`` is an error, not another seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer') from None
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f'{text}: a seed must be an integer in [0, {SEED_LIMIT - 1}]')
    return value


def number(text):
    """A degradation parameter's value: an int when it is one (JPEG quality), else a float."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'not a number: {text!r}') from None
