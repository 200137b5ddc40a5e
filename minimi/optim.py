"""Optimizers (SGD, Adam) and gradient-norm clipping. Updates are in place, on raw arrays."""
import math

from .backend import get_array_module


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: no parameters to optimize")
        if lr <= 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive, got {lr}")
        self.lr = float(lr)

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
        self.momentum, self.weight_decay = float(momentum), float(weight_decay)
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

    weight_decay adds wd·p to g first (L2, not AdamW).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        self.beta1, self.beta2 = map(float, betas)
        self.eps, self.weight_decay = float(eps), float(weight_decay)
        self.m = [None] * len(self.params)
        self.v = [None] * len(self.params)
        self.t = 0

    def step(self):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step_size = self.lr / (1.0 - b1 ** self.t)
        root_correction = 1.0 / math.sqrt(1.0 - b2 ** self.t)
        for i, p, g in self._grads():
            xp = get_array_module(g)
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.m[i] is None:
                self.m[i], self.v[i] = xp.zeros_like(p.data), xp.zeros_like(p.data)
            m, v = self.m[i], self.v[i]
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            denom = xp.sqrt(v)
            denom *= root_correction
            denom += self.eps
            p.data -= step_size * (m / denom)

    def state_dict(self):
        """Moments and step count, for checkpoints of long runs."""
        return {"t": self.t, "m": self.m, "v": self.v}

    def load_state_dict(self, state):
        self.t, self.m, self.v = state["t"], list(state["m"]), list(state["v"])


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
