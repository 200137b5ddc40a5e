"""The variational MI bounds and their regularized twins (docs/method.md §2).

Every function takes the critic's scores and a pairing (see pairings.py) and
returns a `Bound`: `.value` is the MI estimate that is reported, `.objective`
the Tensor that training ascends. A regularized twin reports its base's value
and ascends  objective − λ·(g − C)²,  g a statistic of the marginal scores.

Notation: sj = S_J, sm = S_M (1-D Tensors), lme = log-mean-exp, τ = clip.
"""
import math

from ..backend import get_array_module, to_numpy
from ..engine import checks, ops
from ..engine.tensor import Tensor, no_grad
from .pairings import Selection, make_pairing


class Bound:
    """value = offset + first − second (as a Tensor and, lazily, a Python float).

    first/second are the two terms people plot; objective is what training
    maximizes (the value itself unless the bound trains on something else).
    """

    def __init__(self, first, second, offset=0.0, objective=None):
        self.first, self.second, self.offset = first, second, offset
        self.value_tensor = first - second + offset if offset else first - second
        self.objective = self.value_tensor if objective is None else objective
        self.penalty = None

    value = property(lambda self: self.value_tensor.item(), doc="the MI estimate (nats)")
    first_term = property(lambda self: self.first.item(), doc="mean joint score")
    second_term = property(lambda self: self.second.item(), doc="the marginal term")

    def numbers(self, **extra):
        """{'value', 'objective', 'first', 'second', **extra} as Python floats, fetched
        from the device in one copy: a training loop that logs them all, and any
        other 0-d Tensors or arrays it passes as `extra`, syncs once per step."""
        parts = {"value": self.value_tensor, "objective": self.objective,
                 "first": self.first, "second": self.second, **extra}
        xp = get_array_module(self.value_tensor.data)
        host = to_numpy(xp.stack([(v.data if isinstance(v, Tensor) else v).astype(xp.float64)
                                  for v in parts.values()]))
        return dict(zip(parts, map(float, host)))

    def regularized(self, lam, g, target):
        """The same value; objective − λ·(g − C)² (docs/method.md §2)."""
        self.penalty = lam * (g - target) ** 2
        self.objective = self.objective - self.penalty
        return self

    def __repr__(self):
        return f"Bound(value={self.value:.4f}, first={self.first_term:.4f}, " \
               f"second={self.second_term:.4f})"


def _select(scores, pairing, labels):
    if isinstance(scores, Selection):
        return scores
    return make_pairing(pairing, labels, scores).select(scores)


# What each parameter may be: λ ≥ 0, τ > 0, C any number; all finite.
LIMITS = {"lam": ("lam (λ)", {"at_least": 0}), "tau": ("tau (τ, the clip)", {"above": 0}),
          "target": ("target (C)", {}), "momentum": ("momentum", {"at_least": 0, "below": 1})}


def check_parameters(**params):
    """Every parameter a finite number within its LIMITS; returns them as floats."""
    return {key: checks.number(LIMITS[key][0], value, **LIMITS[key][1])
            for key, value in params.items()}


def _clip(x, tau):
    return ops.clip(x, -tau, tau)


def _lme(x):
    return ops.logmeanexp(x)


# ---- MINE (Donsker–Varadhan) -------------------------------------------------------
# The DV constant is free: T + c gives the same value, so both terms can drift.
# ReMINE pins the second term lme(S_M) at C.

def mine(scores, pairing=None, labels=None):
    """V = mean(sj) − lme(sm)."""
    s = _select(scores, pairing, labels)
    return Bound(s.joint.mean(), _lme(s.marginal))


def remine(scores, pairing=None, labels=None, lam=1.0, target=0.0):
    """V as mine; O = V − λ(lme(sm) − C)²."""
    check_parameters(lam=lam, target=target)
    s = _select(scores, pairing, labels)
    bound = mine(s)
    return bound.regularized(lam, bound.second, target)


# ---- SMILE (clipped DV) ----------------------------------------------------------
# SMILE's clip zeroes the gradient of scores beyond ±τ; ReSMILE's regularizer is
# unclipped, so it still moves them.

def smile(scores, pairing=None, labels=None, tau=10.0):
    """V = mean(sj') − lme(clip(sm)); sj' = clip(sj) in the supervised/contrastive pairings."""
    check_parameters(tau=tau)
    s = _select(scores, pairing, labels)
    joint = _clip(s.joint, tau) if s.clip_joint_in_smile else s.joint
    return Bound(joint.mean(), _lme(_clip(s.marginal, tau)))


def resmile(scores, pairing=None, labels=None, lam=1.0, target=0.0, tau=10.0):
    """V as smile; O = V − λ(lme(sm) − C)², sm unclipped."""
    check_parameters(lam=lam, target=target, tau=tau)
    s = _select(scores, pairing, labels)
    return smile(s, tau=tau).regularized(lam, _lme(s.marginal), target)


# ---- InfoNCE -----------------------------------------------------------------------

def infonce(scores, pairing=None, labels=None):
    """V = mean(sj) − m, m = mean over rows of (logsumexp(row) − log(row length))."""
    s = _select(scores, pairing, labels)
    return Bound(s.joint.mean(), s.nce_normalizer())


def reinfonce(scores, pairing=None, labels=None, lam=1.0, target=0.0):
    """V as infonce; O = V − λ(m − C)²."""
    check_parameters(lam=lam, target=target)
    s = _select(scores, pairing, labels)
    bound = infonce(s)
    return bound.regularized(lam, bound.second, target)


# ---- NWJ ------------------------------------------------------------------------------
# exp is not shielded: at small batches the second term overflows, as the paper shows.

def nwj(scores, pairing=None, labels=None):
    """V = mean(sj) − mean(exp(sm − 1))."""
    s = _select(scores, pairing, labels)
    return Bound(s.joint.mean(), ops.exp(s.marginal - 1.0).mean())


def renwj(scores, pairing=None, labels=None, lam=1.0, target=1.0, tau=10.0):
    """V = mean(clip(sj)) − mean(exp(clip(sm) − 1)); O = V − λ(lme(sm) − C)², C = 1.

    C = 1 is the paper's eq. 15; the authors' code uses 0 (target=0)."""
    check_parameters(lam=lam, target=target, tau=tau)
    s = _select(scores, pairing, labels)
    bound = Bound(_clip(s.joint, tau).mean(), ops.exp(_clip(s.marginal, tau) - 1.0).mean())
    return bound.regularized(lam, _lme(s.marginal), target)


# ---- TUBA (a(y) = 1) -------------------------------------------------------------------

def tuba(scores, pairing=None, labels=None):
    """V = 1 + mean(sj) − mean(exp(sm))."""
    s = _select(scores, pairing, labels)
    return Bound(s.joint.mean(), ops.exp(s.marginal).mean(), offset=1.0)


def retuba(scores, pairing=None, labels=None, lam=1.0, target=0.0, tau=10.0):
    """V = 1 + mean(clip(sj)) − mean(exp(clip(sm))); O = V − λ(lme(sm) − C)²."""
    check_parameters(lam=lam, target=target, tau=tau)
    s = _select(scores, pairing, labels)
    bound = Bound(_clip(s.joint, tau).mean(), ops.exp(_clip(s.marginal, tau)).mean(), offset=1.0)
    return bound.regularized(lam, _lme(s.marginal), target)


# ---- JS (trains on the Jensen–Shannon objective, reports NWJ) -------------------------

def _js_objective(s):
    return -ops.softplus(-s.joint).mean() - ops.softplus(s.marginal).mean()


def js(scores, pairing=None, labels=None):
    """V = NWJ value; O = −mean(softplus(−sj)) − mean(softplus(sm))."""
    s = _select(scores, pairing, labels)
    bound = nwj(s)
    bound.objective = _js_objective(s)
    return bound


def rejs(scores, pairing=None, labels=None, lam=1.0, target=1.0):
    """V = NWJ value; O = JS objective − λ(mean(softplus(sm)) − C)², C = 1."""
    check_parameters(lam=lam, target=target)
    s = _select(scores, pairing, labels)
    return js(s).regularized(lam, ops.softplus(s.marginal).mean(), target)


# ---- beyond the paper ----------------------------------------------------------------------

def smile_js(scores, pairing=None, labels=None, tau=10.0):
    """Song & Ermon's SMILE: V = mean(sj) − lme(clip(sm)), trained on the JS objective."""
    check_parameters(tau=tau)
    s = _select(scores, pairing, labels)
    return Bound(s.joint.mean(), _lme(_clip(s.marginal, tau)), objective=_js_objective(s))


class MovingAverage:
    """MINE-EMA's state: an exponential moving average of mean(exp(sm)), kept as
    its logarithm (so that large scores cannot overflow it) in a 0-d array on the
    scores' device (so that updating it never waits for the device)."""

    def __init__(self, momentum=0.9, floor=1e-4):
        self.momentum = check_parameters(momentum=momentum)["momentum"]
        self.log_momentum = math.log(self.momentum) if self.momentum > 0 else -math.inf
        self.log_rest, self.log_floor = math.log1p(-self.momentum), math.log(floor)
        self.log_ema = None

    def update(self, log_mean):
        """Fold in log(mean(exp(sm))) of one batch (a 0-d array); returns log(ema)."""
        xp = get_array_module(log_mean)
        if self.log_ema is None:
            log_ema = log_mean
        else:   # log(m·ema + (1 − m)·mean), computed in logs
            log_ema = xp.logaddexp(self.log_momentum + self.log_ema, self.log_rest + log_mean)
        self.log_ema = xp.maximum(log_ema, self.log_floor)
        return self.log_ema


def mine_ema(scores, pairing=None, labels=None, state=None, momentum=0.9):
    """V as mine; the second term's gradient is ∇mean(exp(sm)) / ema (Belghazi et al.).

    O = mean(sj) − exp(lme(sm) − log ema): its gradient is ∇mean(sj) −
    ∇mean(exp(sm)) / ema, computed without ever forming exp of a score. Pass the
    same `state` (a MovingAverage) every step; without one the average is this
    batch alone.
    """
    s = _select(scores, pairing, labels)
    state = MovingAverage(momentum) if state is None else state
    bound = mine(s)
    with no_grad():
        log_ema = state.update(bound.second.data)
    bound.objective = bound.first - ops.exp(bound.second - log_ema)
    return bound
