"""The table of ops, and the Tensor operators and methods that call them.

Each primitive lives with its backward in one of: elementwise.py, reduce.py,
shape.py, linalg.py (matmul; linear and pairwise_sum with fused bias and ReLU),
conv.py (the reference conv2d and max_pool2d). nn.py holds compositions
(log_softmax, cross_entropy) and the label check. fast_conv.py holds the fused,
threaded convolutions the SmallCNN trains with, tested equal to conv.py; its
conv2d_pool (conv, 2×2 max pool, ReLU as one op) is in the table below.
"""
from ..tensor import Tensor
from . import fast_conv
from .conv import conv2d, global_avg_pool2d, max_pool2d
from .elementwise import (abs_, add, clip, div, exp, log, maximum, minimum, mul, neg, pow, relu,
                          sigmoid, softplus, sqrt, sub, tanh)
from .fast_conv import conv2d_pool
from .linalg import linear, matmul, pairwise_sum
from .nn import class_labels, cross_entropy, log_softmax
from .reduce import logmeanexp, logsumexp, max, mean, sum
from .shape import broadcast_to, concatenate, diagonal, getitem, reshape, stack, transpose

__all__ = [
    "abs_", "add", "broadcast_to", "class_labels", "clip", "concatenate", "conv2d", "conv2d_pool",
    "cross_entropy",
    "diagonal", "div", "exp", "getitem", "global_avg_pool2d", "linear", "log", "log_softmax",
    "logmeanexp", "logsumexp", "matmul", "max", "max_pool2d", "maximum", "mean", "minimum",
    "mul", "neg", "pairwise_sum", "pow", "relu", "reshape", "sigmoid", "softplus", "sqrt",
    "stack", "sub",
    "sum", "tanh", "transpose",
]

# Operators: derived ones swap their arguments (b - a is sub(b, a)).
Tensor.__add__ = add
Tensor.__radd__ = lambda self, other: add(other, self)
Tensor.__sub__ = sub
Tensor.__rsub__ = lambda self, other: sub(other, self)
Tensor.__mul__ = mul
Tensor.__rmul__ = lambda self, other: mul(other, self)
Tensor.__truediv__ = div
Tensor.__rtruediv__ = lambda self, other: div(other, self)
Tensor.__neg__ = neg
Tensor.__pow__ = pow
Tensor.__rpow__ = lambda self, base: exp(mul(self, log(Tensor.constant(base, self))))
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
Tensor.__getitem__ = getitem
Tensor.__abs__ = abs_

# Methods, named as in NumPy.
Tensor.exp = exp
Tensor.log = log
Tensor.sqrt = sqrt
Tensor.abs = abs_
Tensor.tanh = tanh
Tensor.relu = relu
Tensor.sigmoid = sigmoid
Tensor.softplus = softplus
Tensor.clip = clip
Tensor.sum = sum
Tensor.mean = mean
Tensor.max = max
Tensor.logsumexp = logsumexp
Tensor.logmeanexp = logmeanexp
Tensor.reshape = reshape
Tensor.transpose = transpose
Tensor.T = property(lambda self: transpose(self))
Tensor.broadcast_to = broadcast_to
Tensor.diagonal = diagonal
