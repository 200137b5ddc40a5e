"""The MI bounds of Choi & Lee (2022) and their regularized twins.

    from minimi import bounds
    result = bounds.remine(scores)            # scores: (B, B) Tensor, Gaussian pairing
    result.value, result.objective            # the MI estimate; what training ascends
    bounds.infonce(logits, pairing="supervised", labels=y)
    loss = bounds.make("renwj", target=0.0)   # a callable with its parameters bound

Formulas: estimators.py. Which scores are joint or marginal: pairings.py.

It stands on minimi.engine and imports nothing else of minimi (tests/packaging/test_layers.py).
"""
import inspect

from ..engine import checks
from .estimators import (Bound, MovingAverage, check_parameters, infonce, js, mine, mine_ema, nwj,
                         reinfonce, rejs, remine, renwj, resmile, retuba, smile, smile_js, tuba)
from .pairings import (PAIRINGS, AllPairs, Contrastive, NoPositivePairs, Selection, Separate,
                       Supervised, make_pairing, off_diagonal)

BOUNDS = {
    "mine": mine, "smile": smile, "infonce": infonce, "nwj": nwj, "tuba": tuba, "js": js,
    "remine": remine, "resmile": resmile, "reinfonce": reinfonce, "renwj": renwj,
    "retuba": retuba, "rejs": rejs,
    "mine_ema": mine_ema, "smile_js": smile_js,
}
ORIGINALS = ("mine", "smile", "infonce", "nwj", "tuba", "js")
# How a critic a bound trained is scored on held-out pairs (estimator/heldout.py): the
# optimal critic of every bound is log r + c, which DV scores right whatever c is, but
# InfoNCE's, log r + c(x): c(x) cancels only within a row, so its family is scored by row.
ROW_SCORED = ("infonce", "reinfonce")
_TWINS = {name: "re" + name for name in ORIGINALS}


def regularized(name):
    """The regularized twin of an original bound: regularized('nwj') == 'renwj'."""
    if name not in _TWINS:
        raise ValueError(f"{name!r} has no regularized twin: the twins are of "
                         f"{', '.join(ORIGINALS)}")
    return _TWINS[name]


def original(name):
    """The bound a regularized one is built on: original('renwj') == 'nwj'."""
    for base, twin in _TWINS.items():
        if twin == name:
            return base
    raise ValueError(f"{name!r} is not a regularized bound: those are "
                     f"{', '.join(_TWINS.values())}")


def held_out_rule(name):
    """How estimator/heldout.py scores a critic that bound `name` trained: 'infonce'
    (row by row) or 'dv'."""
    _known(name)
    return "infonce" if name in ROW_SCORED else "dv"


def parameters(name):
    """{parameter: default} that a bound accepts beyond scores/pairing/labels."""
    _known(name)
    skip = {"scores", "pairing", "labels", "state"}
    return {p.name: p.default for p in inspect.signature(BOUNDS[name]).parameters.values()
            if p.name not in skip}


def checked(name, **params):
    """`params` of bound `name` as floats, each checked; an unknown name or parameter, or
    a bad value, is a ValueError that names it (and lists the valid parameters)."""
    valid = parameters(name)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(f"{name}: unknown parameter(s) {', '.join(unknown)}; valid: "
                         f"{', '.join(f'{k}={v}' for k, v in valid.items()) or 'none'}")
    try:
        return check_parameters(**params)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def make(name, **params):
    """A callable loss(scores, pairing=None, labels=None) -> Bound with `params`
    bound; unknown parameters are an error listing the valid ones. mine_ema's
    moving average lives in the callable (its `.state`); `.held_out` is the rule
    that scores its critic on held-out pairs."""
    params = checked(name, **params)
    fn = BOUNDS[name]
    if name == "mine_ema":
        state = MovingAverage(params.pop("momentum", 0.9))

        def loss(scores, pairing=None, labels=None):
            return fn(scores, pairing, labels, state=state)
        loss.state = state
    else:
        def loss(scores, pairing=None, labels=None):
            return fn(scores, pairing, labels, **params)
    loss.name, loss.params, loss.held_out = name, dict(params), held_out_rule(name)
    return loss


def parse(spec):
    """'renwj:target=0,lam=0.1' -> ('renwj', {'target': 0.0, 'lam': 0.1}), checked."""
    name, _, rest = spec.strip().partition(":")
    _known(name)
    params = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, text = item.partition("=")
        if not eq:
            raise ValueError(f"{spec!r}: parameter {item!r} needs the form name=value")
        if key.strip() in params:
            raise ValueError(f"{spec!r}: parameter {key.strip()} is given twice")
        try:
            params[key.strip()] = float(text)
        except ValueError:
            raise ValueError(f"{spec!r}: parameter {key.strip()} must be a number, "
                             f"got {text!r}") from None
    checked(name, **params)
    return name, params


def _known(name):
    checks.choice("bound", name, tuple(BOUNDS))


__all__ = ["AllPairs", "BOUNDS", "Bound", "Contrastive", "MovingAverage", "NoPositivePairs",
           "ORIGINALS", "PAIRINGS", "Selection", "Separate", "Supervised", "check_parameters",
           "checked", "held_out_rule", "make", "make_pairing", "off_diagonal", "original", "parameters",
           "parse",
           "regularized", *BOUNDS]
