"""Optimizers (SGD, Adam) and gradient-norm clipping. Updates are in place, on raw arrays."""
import math

import numpy as np

from . import checks
from .backend import get_array_module, to_numpy


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: no parameters to optimize")
        self.lr = self._number("lr", lr, above=0)

    def _number(self, name, value, **limits):
        """A finite hyperparameter within limits; the error names the optimizer."""
        try:
            return checks.number(name, value, **limits)
        except ValueError as error:
            raise ValueError(f"{type(self).__name__}: {error}") from None

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def _grads(self):
        """(index, parameter, gradient) for parameters that received one."""
        return ((i, p, p.grad) for i, p in enumerate(self.params) if p.grad is not None)


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
        if len(betas) != 2:
            raise ValueError(f"Adam: betas must be two numbers, got {betas!r}")
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
        """Restore what state_dict() returned (same parameters, same order)."""
        total = sum(p.size for p in self.params)
        for key in ("m", "v"):
            if np.asarray(state[key]).shape != (total,):
                raise ValueError(f"Adam state: {key!r} has shape {np.asarray(state[key]).shape}, "
                                 f"expected ({total},) for these parameters")
        self.t = int(state["t"])
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
    """Scale all gradients together so that their joint L2 norm is at most max_norm.

    The scale min(1, max_norm / (norm + 1e-6)) is applied as an array, without a
    Python branch on the norm (no device-to-host sync on a GPU). Returns the
    norm before clipping (a 0-d array).
    """
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
