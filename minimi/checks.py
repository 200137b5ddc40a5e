"""Argument checks shared by the API and the command lines. Each error names the
argument and the value it got, so that a bad setting fails before any training.

    integer("steps", 3000, minimum=1)           # -> 3000
    number("lr", 5e-4, above=0)                 # finite and > 0
    number("momentum", 0.9, at_least=0, below=1)
"""
import math
import numbers


def integer(name, value, minimum=None):
    """An int (not a bool, not a float such as 3000.0) of at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def number(name, value, above=None, at_least=None, below=None, at_most=None):
    """A finite real number (int or float, not bool) within the given limits."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    for limit, ok, words in ((above, lambda v, t: v > t, "greater than"),
                             (at_least, lambda v, t: v >= t, "at least"),
                             (below, lambda v, t: v < t, "less than"),
                             (at_most, lambda v, t: v <= t, "at most")):
        if limit is not None and not ok(value, limit):
            raise ValueError(f"{name} must be {words} {limit:g}, got {value:g}")
    return value


def choice(name, value, options):
    """One of `options`; the error lists them."""
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}: choose one of {', '.join(map(str, options))}")
    return value
