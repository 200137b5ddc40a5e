"""Argument checks shared by the engine, the API and the command lines. Each error
names the argument and the value it got (and, with `who`, the class or function
that took it), so that a bad argument fails where it is given, before any training.

    integer("steps", 3000, minimum=1)                    # -> 3000
    number("lr", 5e-4, above=0)                          # finite and > 0
    number("momentum", 0.9, at_least=0, below=1)
    sizes("sizes", [20, 256, 1], who="MLP")              # -> (20, 256, 1)
    integer("in_features", 0, minimum=1, who="Linear")   # ValueError: Linear: in_features ...
"""
import math
import numbers


def _named(who, name):
    return f"{who}: {name}" if who else name


def integer(name, value, minimum=None, who=None):
    """An int (not a bool, not a float such as 3000.0) of at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{_named(who, name)} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{_named(who, name)} must be at least {minimum}, got {value}")
    return int(value)


def number(name, value, above=None, at_least=None, below=None, at_most=None, who=None,
           infinite=False):
    """A real number (int or float, not bool) within the given limits; finite unless
    `infinite` allows ±inf. NaN never passes."""
    name = _named(who, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not infinite):
        raise ValueError(f"{name} must be a {'' if infinite else 'finite '}number, got {value}")
    for limit, ok, words in ((above, lambda v, t: v > t, "greater than"),
                             (at_least, lambda v, t: v >= t, "at least"),
                             (below, lambda v, t: v < t, "less than"),
                             (at_most, lambda v, t: v <= t, "at most")):
        if limit is not None and not ok(value, limit):
            raise ValueError(f"{name} must be {words} {limit:g}, got {value:g}")
    return value


def choice(name, value, options, who=None):
    """One of `options` (names); the error lists them. A value that is not a str where
    the options are names (a list, a number) is named as such."""
    options = tuple(options)
    if all(isinstance(o, str) for o in options) and not isinstance(value, str):
        raise ValueError(f"{_named(who, name)} must be a name, one of "
                         f"{', '.join(options)}; got {value!r}")
    if value not in options:
        raise ValueError(f"{_named(who, 'unknown')} {name} {value!r}: choose one of "
                         f"{', '.join(map(str, options))}")
    return value


def sizes(name, value, minimum=1, least=0, who=None):
    """A sequence of at least `least` integers, each at least `minimum` (layer sizes);
    returned as a tuple. A bare number or a string is not a sequence here."""
    label = _named(who, name)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{label} must be a sequence of sizes such as (128, 128), "
                         f"got {value!r}")
    value = tuple(value)
    if len(value) < least:
        raise ValueError(f"{label} needs at least {least} size{'s' * (least > 1)}, "
                         f"got {value!r}")
    for i, size in enumerate(value):
        integer(f"{name}[{i}]", size, minimum=minimum, who=who)
    return value


def flag(name, value, who=None):
    """A bool (True/False), not a string such as 'false' that would read as true."""
    if not isinstance(value, bool):
        raise ValueError(f"{_named(who, name)} must be True or False, got {value!r}")
    return value


def function(name, value, who=None, takes="its arguments"):
    """A callable."""
    if not callable(value):
        raise TypeError(f"{_named(who, name)} must be a function taking {takes}, "
                        f"got {value!r}")
    return value
