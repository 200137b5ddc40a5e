"""Optimizers (SGD, Adam) and gradient-norm clipping. Updates are in place, on raw arrays."""
import math

import numpy as np

from ..backend import get_array_module, to_numpy
from . import checks
from .module import Module
from .tensor import Tensor


class Optimizer:
    """params: the Tensors to update (module.parameters()), each requiring a gradient;
    lr > 0."""

    def __init__(self, params, lr):
        self.params = _tensors(params, type(self).__name__)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: no parameters to optimize")
        self.lr = self._number("lr", lr, above=0)

    def _number(self, name, value, **limits):
        """A finite hyperparameter within limits; the error names the optimizer."""
        return checks.number(name, value, who=type(self).__name__, **limits)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def _grads(self):
        """(index, parameter, gradient) for parameters that received one."""
        for i, p in enumerate(self.params):
            if p.grad is not None:
                if p.grad.shape != p.data.shape:  # a grad set by hand: it would broadcast
                    raise ValueError(f"{type(self).__name__}: parameter {i} {p.data.shape} "
                                     f"has a gradient of shape {p.grad.shape}")
                yield i, p, p.grad


def _tensors(params, who):
    """The parameters as a list, each a Tensor that requires a gradient."""
    if isinstance(params, Module):
        raise TypeError(f"{who}: params must be the module's parameters: pass "
                        f"module.parameters(), got the {type(params).__name__} itself")
    if isinstance(params, (Tensor, str, bytes)) or not hasattr(params, "__iter__"):
        raise TypeError(f"{who}: params must be a list of Tensors (module.parameters()), "
                        f"got {params!r}")
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor) or not p.requires_grad:
            raise TypeError(f"{who}: params[{i}] must be a Tensor with requires_grad=True "
                            f"(a Parameter), got {p!r}")
    return params


class SGD(Optimizer):
    """p ← p − lr·(g + wd·p), with optional momentum: v ← μ·v + g; p ← p − lr·v."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum = self._number("momentum", momentum, at_least=0)
        self.weight_decay = self._number("weight_decay", weight_decay, at_least=0)
        self.velocity = [None] * len(self.params)

    def step(self):
        for i, p, g in self._grads():
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                v = self.velocity[i]
                if v is None:
                    v = self.velocity[i] = g.copy()
                else:
                    v *= self.momentum
                    v += g
                g = v
            p.data -= self.lr * g


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba), as PyTorch computes it:

        m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²
        p ← p − lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + eps)

    weight_decay adds wd·p to g first (L2, not AdamW). Parameters without a
    gradient are skipped, moments included. Each parameter's moments are made on
    its first update, like it (device, dtype); after `module.astype(...)` they
    follow the parameter's new dtype.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be two numbers (β1, β2) such as (0.9, 0.999), "
                             f"got {betas!r}")
        self.beta1, self.beta2 = (self._number(f"betas[{k}]", b, at_least=0, below=1)
                                  for k, b in enumerate(betas))
        self.eps = self._number("eps", eps, above=0)
        self.weight_decay = self._number("weight_decay", weight_decay, at_least=0)
        self.t = 0
        self.m = [None] * len(self.params)
        self.v = [None] * len(self.params)

    def step(self):
        self.t += 1
        step_size = self.lr / (1.0 - self.beta1 ** self.t)
        root_correction = 1.0 / math.sqrt(1.0 - self.beta2 ** self.t)
        for i, p, g in self._grads():
            m, v = self._moments(i, p)
            self._update(p.data, g, m, v, step_size, root_correction)

    def _moments(self, i, p):
        """(m, v) of parameter i, made (zeros) or cast to its dtype as needed."""
        xp = get_array_module(p.data)
        if self.m[i] is None:
            self.m[i], self.v[i] = xp.zeros_like(p.data), xp.zeros_like(p.data)
        elif self.m[i].shape != p.shape:
            raise ValueError(f"Adam: parameter {i} changed shape from {self.m[i].shape} to "
                             f"{p.shape} since its last update; make a new optimizer")
        elif self.m[i].dtype != p.data.dtype:  # module.astype(...) since the last update
            self.m[i], self.v[i] = self.m[i].astype(p.data.dtype), self.v[i].astype(p.data.dtype)
        return self.m[i], self.v[i]

    def _update(self, p, g, m, v, step_size, root_correction):
        """One Adam update of the arrays p, m, v in place."""
        xp = get_array_module(g)
        if self.weight_decay:
            g = g + self.weight_decay * p
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * (g * g)
        denominator = xp.sqrt(v)
        denominator *= root_correction
        denominator += self.eps
        p -= step_size * (m / denominator)

    def state_dict(self):
        """{'t', 'm', 'v'}: the step count and the moments of all parameters, in order,
        as flat NumPy arrays (zeros for a parameter not yet updated)."""
        def flat(moments):
            return np.concatenate([np.zeros(p.size, dtype=p.data.dtype) if a is None
                                   else to_numpy(a).reshape(-1)
                                   for p, a in zip(self.params, moments)])
        return {"t": self.t, "m": flat(self.m), "v": flat(self.v)}

    def load_state_dict(self, state):
        """Restore what state_dict() returned (same parameters, same order): a dict of
        't' (the step count, an integer ≥ 0), 'm' and 'v' (finite, v ≥ 0). Everything
        is checked before anything is written."""
        if not hasattr(state, "keys"):
            raise TypeError(f"Adam state: must be a dict with 't', 'm' and 'v' (as "
                            f"state_dict() returns), got {type(state).__name__}")
        missing = [key for key in ("t", "m", "v") if key not in state]
        if missing:
            raise ValueError(f"Adam state: missing {', '.join(map(repr, missing))}; "
                             f"state_dict() gives 't', 'm' and 'v'")
        t = state["t"]
        t = t.item() if isinstance(t, np.ndarray) and t.shape == () else t  # from an .npz
        t = checks.integer("Adam state: 't'", t, minimum=0)
        total = sum(p.size for p in self.params)
        for key in ("m", "v"):
            flat = np.asarray(state[key])
            if flat.shape != (total,):
                raise ValueError(f"Adam state: {key!r} has shape {flat.shape}, "
                                 f"expected ({total},) for these parameters")
            if flat.dtype.kind != "f" or not np.isfinite(flat).all() or \
                    (key == "v" and (flat < 0).any()):
                raise ValueError(f"Adam state: {key!r} must hold finite floats"
                                 f"{' ≥ 0' if key == 'v' else ''}; it does not")
        self.t = t
        for key, moments in (("m", self.m), ("v", self.v)):
            flat, start = np.asarray(state[key]), 0
            for i, p in enumerate(self.params):
                part = flat[start:start + p.size].reshape(p.shape)
                moments[i] = get_array_module(p.data).asarray(part.astype(p.data.dtype))
                start += p.size

    @property
    def moments(self):
        """[(m, v)] per parameter, shaped like it (None before its first update)."""
        return list(zip(self.m, self.v))


def clip_grad_norm(params, max_norm):
    """Scale all gradients together so that their joint L2 norm is at most max_norm
    (a finite number > 0). params: Tensors (module.parameters()).

    The scale min(1, max_norm / (norm + 1e-6)) is applied as an array, without a
    Python branch on the norm (no device-to-host sync on a GPU). Returns the
    norm before clipping (a 0-d array).
    """
    params = _tensors(params, "clip_grad_norm")
    max_norm = checks.number("max_norm", max_norm, above=0, who="clip_grad_norm")
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    xp = get_array_module(grads[0])
    norm = xp.sqrt(sum((g * g).sum() for g in grads))
    scale = xp.minimum(max_norm / (norm + 1e-6), 1.0).astype(grads[0].dtype)
    for p in params:
        if p.grad is not None:
            p.grad = p.grad * scale
    return norm
