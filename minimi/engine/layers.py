"""Layers and networks: Linear, MLP, Conv2d and the SmallCNN of the CIFAR benchmarks."""
import math

import numpy as np

from ..backend import DEFAULT_DTYPE
from . import checks, ops
from .module import Module, Parameter
from .ops import fast_conv

INITS = ("uniform", "normal")
ACTIVATIONS = {"relu": ops.relu, "tanh": ops.tanh, "sigmoid": ops.sigmoid,
               "softplus": ops.softplus}


def _rng(rng, who):
    """Initial weights always come from a NumPy generator (the same on CPU and GPU):
    `rng` is one, or a seed (int), or None for a fresh one."""
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        if rng is not None and rng < 0:
            raise ValueError(f"{who}: rng must be a seed of at least 0, got {rng}")
        return np.random.default_rng(rng)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{who}: rng must be a seed (int), a numpy.random.Generator or "
                        f"None, got {rng!r}")
    return rng


def init_weight(shape, fan_in, init, rng):
    """'uniform': U(±1/√fan_in), PyTorch's default; 'normal': N(0, 0.05²), Keras's random_normal."""
    if init == "uniform":
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape)
    if init == "normal":
        return rng.normal(0.0, 0.05, shape)
    raise ValueError(f"unknown init {init!r}: choose one of {', '.join(INITS)}")


class Linear(Module):
    """y = x @ weight + bias. weight (in, out), bias (out,).

    in_features and out_features are at least 1 (a layer of width 0 has no weights to
    learn); a batch of 0 rows is fine. init='uniform' draws weight and bias from
    U(±1/√in) (PyTorch's default); init='normal' draws weight from N(0, 0.05²) with a
    zero bias (Keras's). rng: a seed, a numpy.random.Generator or None.
    """

    def __init__(self, in_features, out_features, bias=True, init="uniform", rng=None,
                 dtype=DEFAULT_DTYPE):
        for name, size in (("in_features", in_features), ("out_features", out_features)):
            checks.integer(name, size, minimum=1, who="Linear")
        checks.flag("bias", bias, who="Linear")
        checks.choice("init", init, INITS, who="Linear")
        rng = _rng(rng, "Linear")
        self.weight = Parameter(init_weight((in_features, out_features), in_features, init, rng),
                                dtype=dtype)
        if bias:
            b = (init_weight((out_features,), in_features, init, rng) if init == "uniform"
                 else np.zeros(out_features))
            self.bias = Parameter(b, dtype=dtype)
        else:
            self.bias = None

    def forward(self, x, relu=False):
        """x (N, in) -> (N, out); relu=True fuses the activation into the same op."""
        return ops.linear(x, self.weight, self.bias, relu=relu)


class MLP(Module):
    """Linear layers of `sizes` (e.g. [20, 256, 256, 32]: input, hidden..., output;
    each at least 1) with an activation between them and none after the last. ReLU
    is fused into its Linear."""

    def __init__(self, sizes, activation="relu", init="uniform", last_bias=True, rng=None,
                 dtype=DEFAULT_DTYPE):
        sizes = checks.sizes("sizes", sizes, least=2, who="MLP")
        checks.choice("activation", activation, tuple(ACTIVATIONS), who="MLP")
        checks.flag("last_bias", last_bias, who="MLP")
        rng = _rng(rng, "MLP")
        last = len(sizes) - 2
        self.layers = [Linear(a, b, bias=(i < last or last_bias), init=init, rng=rng, dtype=dtype)
                       for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
        self.activation = activation

    def forward(self, x):
        """x (N, sizes[0]) -> (N, sizes[-1])."""
        for layer in self.layers[:-1]:
            if self.activation == "relu":
                x = layer(x, relu=True)
            else:
                x = ACTIVATIONS[self.activation](layer(x))
        return self.layers[-1](x)


class Conv2d(Module):
    """k×k convolution on NHWC images; weight (OC, C, k, k), PyTorch's uniform init.
    Channels, kernel and stride are at least 1, padding at least 0."""

    def __init__(self, in_channels, out_channels, kernel=3, stride=1, padding=1, rng=None,
                 dtype=DEFAULT_DTYPE):
        for name, value, minimum in (("in_channels", in_channels, 1),
                                     ("out_channels", out_channels, 1), ("kernel", kernel, 1),
                                     ("stride", stride, 1), ("padding", padding, 0)):
            checks.integer(name, value, minimum=minimum, who="Conv2d")
        rng = _rng(rng, "Conv2d")
        fan_in = in_channels * kernel * kernel
        self.weight = Parameter(init_weight((out_channels, in_channels, kernel, kernel), fan_in,
                                            "uniform", rng), dtype=dtype)
        self.bias = Parameter(init_weight((out_channels,), fan_in, "uniform", rng), dtype=dtype)
        self.stride, self.padding = stride, padding

    def forward(self, x, relu=False, pool=False):
        """x (N, H, W, C) -> (N, OH, OW, OC); pool=True: 2×2 max pooling of that, before
        the ReLU, as one op -> (N, OH//2, OW//2, OC). Runs the fast ops (ops/fast_conv.py),
        which equal relu(max_pool2d(conv2d(x))) of the reference ops."""
        conv = fast_conv.conv2d_pool if pool else fast_conv.conv2d
        return conv(x, self.weight, self.bias, self.stride, self.padding, relu=relu)


class SmallCNN(Module):
    """Three conv3×3–ReLU–maxpool blocks (32, 64, 128 channels), Linear(2048→256)–ReLU,
    then a linear head: head='logits' is Linear(256→num_classes); head='embedding'
    is Linear(256→256), a 256-d embedding.

    Both heads end linear, as ResNet-18's fc layer does in the paper: embeddings
    after a ReLU would all be ≥ 0, and so would every Gram entry Z Zᵀ, which caps
    several bounds below log K and makes C = 0 unreachable for lme-regularized ones.

    Input: float32 images (N, 32, 32, C), channels last; num_classes and in_channels
    at least 1.
    """

    HEADS = ("logits", "embedding")

    def __init__(self, num_classes=10, head="logits", in_channels=3, rng=None,
                 dtype=DEFAULT_DTYPE):
        checks.choice("head", head, self.HEADS, who="SmallCNN")
        checks.integer("num_classes", num_classes, minimum=1, who="SmallCNN")
        checks.integer("in_channels", in_channels, minimum=1, who="SmallCNN")
        rng = _rng(rng, "SmallCNN")
        channels = [in_channels, 32, 64, 128]
        self.convs = [Conv2d(a, b, rng=rng, dtype=dtype) for a, b in zip(channels, channels[1:])]
        self.fc = Linear(128 * 4 * 4, 256, rng=rng, dtype=dtype)
        self.head = Linear(256, num_classes if head == "logits" else 256, rng=rng, dtype=dtype)

    def forward(self, x):
        """x (N, 32, 32, C) -> (N, num_classes) logits or (N, 256) embeddings."""
        if x.ndim != 4 or x.shape[1:3] != (32, 32):
            raise ValueError(f"SmallCNN: expected images (N, 32, 32, C) channels-last, "
                             f"got shape {x.shape}")
        for conv in self.convs:
            x = conv(x, relu=True, pool=True)  # relu(max_pool2d(conv(x))), one op
        x = self.fc(x.reshape(x.shape[0], -1), relu=True)
        return self.head(x)
