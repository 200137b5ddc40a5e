"""Reductions: sum, max, mean, and the stable log-sum-exp family.

`axis` is None (everything), an int or a tuple of ints; `keepdims` as in NumPy.
"""
import math

import numpy as np

from ...backend import get_array_module
from ..tensor import Function, reduced_size
from .elementwise import sub


def _keepdims_shape(shape, axis):
    """The shape a reduction over `axis` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _unreduce(gy, x_shape, axis):
    """gy of a reduction, reshaped so that it broadcasts against the input."""
    return gy.reshape(_keepdims_shape(x_shape, axis))


class Sum(Function):
    def forward(self, x):
        self.x_shape = x.shape
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        xp = get_array_module(gy)
        return xp.broadcast_to(_unreduce(gy, self.x_shape, self.axis), self.x_shape)


class Mean(Function):
    """sum / count: a primitive, not sum·(1/count), because the bounds call it on
    every term of every step and each op costs a graph node."""

    def forward(self, x):
        self.x_shape = x.shape
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        xp = get_array_module(gy)
        scale = 1.0 / reduced_size(self.x_shape, self.axis)
        return xp.broadcast_to(_unreduce(gy, self.x_shape, self.axis) * scale, self.x_shape)


class Max(Function):
    """max over axis; tied maxima share the gradient equally."""

    def forward(self, x):
        self.x = x
        self.y = x.max(axis=self.axis, keepdims=True)
        return self.y if self.keepdims else _drop_axes(self.y, x.ndim, self.axis)

    def backward(self, gy):
        mask = self.x == self.y
        weight = mask / mask.sum(axis=self.axis, keepdims=True)
        return _unreduce(gy, self.x.shape, self.axis) * weight.astype(gy.dtype, copy=False)


def _drop_axes(y, ndim, axis):
    """Squeeze the reduced axes of a keepdims result."""
    if axis is None:
        return y.reshape(())
    axes = tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))
    return y.squeeze(axis=axes)


class LogSumExp(Function):
    """log Σ exp(x) over axis, shifted by the max.

    A set of all −inf gives −inf (not NaN); entries of ±1e4 in float32 stay
    finite. The gradient is the softmax weights exp(x − y).
    """

    def forward(self, x):
        xp = get_array_module(x)
        m = x.max(axis=self.axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0.0).astype(x.dtype, copy=False)  # all −inf: shift by 0
        with np.errstate(divide="ignore"):  # log(0) = −inf is the right answer
            y = xp.log(xp.exp(x - m).sum(axis=self.axis, keepdims=True)) + m
        self.x, self.y = x, y
        return y if self.keepdims else _drop_axes(y, x.ndim, self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        y = xp.where(xp.isfinite(self.y), self.y, 0.0).astype(self.y.dtype, copy=False)
        weights = xp.exp(self.x - y)  # a row of all −inf gets weights exp(−inf) = 0
        return _unreduce(gy, self.x.shape, self.axis) * weights


# ---- public functions -------------------------------------------------------

def sum(x, axis=None, keepdims=False):
    """Σ x over `axis` (None: every axis; an int or a tuple), dropping it unless keepdims."""
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    """The largest entry over `axis` (as sum's); tied maxima share the gradient."""
    return Max.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """The mean over `axis` (as sum's)."""
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def logsumexp(x, axis=None, keepdims=False):
    """log(Σ exp(x)) over axis, computed stably."""
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


def logmeanexp(x, axis=None, keepdims=False):
    """log(mean(exp(x))) over axis = logsumexp − log(count)."""
    return sub(logsumexp(x, axis, keepdims), math.log(reduced_size(x.shape, axis)))
