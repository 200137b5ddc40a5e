"""Elementwise primitives, each forward beside its vector-Jacobian product.

Binary ops broadcast; their backward undoes it with `sum_to`. Constants are
Python floats so float32 stays float32 under NumPy 2.
"""
import numpy as np

from ...backend import get_array_module
from .. import checks
from ..tensor import Function, sum_to


def _both(fn, gx, gy_):
    """The pair of gradients of a binary op, summed back to each input's shape."""
    a, b = fn.inputs
    return (sum_to(gx, a.shape) if fn.needs_grad[0] else None,
            sum_to(gy_, b.shape) if fn.needs_grad[1] else None)


# ---- arithmetic -----------------------------------------------------------

class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return _both(self, gy, gy)


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return _both(self, gy, -gy)


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        return _both(self, gy * self.b, gy * self.a)


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        ga = gy / self.b
        return _both(self, ga, -ga * self.a / self.b)  # d(a/b)/db = -a/b²


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """x ** p for a constant exponent p (a tensor exponent is exp(p·log x))."""

    def forward(self, x):
        self.x = x
        return x ** self.p

    def backward(self, gy):
        return gy * self.p * self.x ** (self.p - 1)


# ---- unary functions ------------------------------------------------------

class Exp(Function):
    def forward(self, x):
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    def forward(self, x):
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.x


class Sqrt(Function):
    def forward(self, x):
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy):
        return gy / (2.0 * self.y)


class Abs(Function):
    def forward(self, x):
        self.x = x
        return abs(x)

    def backward(self, gy):
        return gy * get_array_module(gy).sign(self.x)


class Tanh(Function):
    def forward(self, x):
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, gy):
        return gy * (1.0 - self.y * self.y)


class Relu(Function):
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def _sigmoid(x):
    """1/(1+e^-x) without overflow: only exp(-|x|) is ever computed."""
    xp = get_array_module(x)
    e = xp.exp(-abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Sigmoid(Function):
    def forward(self, x):
        self.y = _sigmoid(x)
        return self.y

    def backward(self, gy):
        return gy * self.y * (1.0 - self.y)


class Softplus(Function):
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|): finite for any finite x.

    The derivative sigmoid(x) is 1 − e^-softplus(x) = −expm1(−y): from the output,
    with no overflow (y ≥ 0) and in fewer passes than the sigmoid (softplus is the
    separable critic's activation: these passes were a third of its training step)."""

    def forward(self, x):
        xp = get_array_module(x)
        e = xp.abs(x)
        xp.negative(e, out=e)
        xp.exp(e, out=e)                    # e^-|x|, in (0, 1]
        y = xp.log1p(e)
        y += xp.maximum(x, 0.0)
        self.y = y
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        s = xp.negative(self.y)
        xp.expm1(s, out=s)                  # −sigmoid(x)
        s *= gy
        return xp.negative(s, out=s)


class Clip(Function):
    """min(max(x, lo), hi); the gradient is exactly 0 outside [lo, hi]."""

    def forward(self, x):
        self.mask = (x >= self.lo) & (x <= self.hi)
        return get_array_module(x).clip(x, self.lo, self.hi)

    def backward(self, gy):
        return gy * self.mask


class Maximum(Function):
    """Elementwise max; at ties each side gets half the gradient."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).maximum(a, b)

    def backward(self, gy):
        wa = ((self.a > self.b) + 0.5 * (self.a == self.b)).astype(gy.dtype, copy=False)
        return _both(self, gy * wa, gy * (1.0 - wa))


class Minimum(Function):
    """Elementwise min; at ties each side gets half the gradient."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return get_array_module(a).minimum(a, b)

    def backward(self, gy):
        wa = ((self.a < self.b) + 0.5 * (self.a == self.b)).astype(gy.dtype, copy=False)
        return _both(self, gy * wa, gy * (1.0 - wa))


# ---- public functions ---------------------------------------------------
# Each takes Tensors or numbers whose shapes broadcast together (NumPy's rules); numbers
# become constants of the first Tensor's dtype, so float32 stays float32.

def add(a, b):
    return Add.apply(a, b)


def sub(a, b):
    return Sub.apply(a, b)


def mul(a, b):
    return Mul.apply(a, b)


def div(a, b):
    return Div.apply(a, b)


def neg(x):
    return Neg.apply(x)


def pow(x, p):
    """x ** p; p a number (constant exponent) or a Tensor (then exp(p·log x))."""
    if isinstance(p, (int, float, np.number)):
        return Pow.apply(x, p=float(p) if not float(p).is_integer() else int(p))
    return exp(mul(p, log(x)))


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def abs_(x):
    return Abs.apply(x)


def tanh(x):
    return Tanh.apply(x)


def relu(x):
    return Relu.apply(x)


def sigmoid(x):
    return Sigmoid.apply(x)


def softplus(x):
    return Softplus.apply(x)


def clip(x, lo, hi):
    """Clamp x to [lo, hi] (numbers, lo ≤ hi; ±inf leaves that side open, NaN is
    refused); zero gradient outside the range."""
    lo, hi = (checks.number(name, v, who="clip", infinite=True)
              for name, v in (("lo", lo), ("hi", hi)))
    if lo > hi:
        raise ValueError(f"clip: lo={lo} is above hi={hi}")
    return Clip.apply(x, lo=lo, hi=hi)


def maximum(a, b):
    return Maximum.apply(a, b)


def minimum(a, b):
    return Minimum.apply(a, b)
