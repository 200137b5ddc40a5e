"""Convolution and pooling on channels-last images: the plain reference versions.

Images inside minimi are NHWC, (N, H, W, C): the layout in which im2col columns
come straight out of a strided view of the image. Weights keep the usual
(OC, C, KH, KW). This file is what to read (and what the gradient checks
exercise); fast_conv.py holds the fused, threaded versions that the SmallCNN
trains with, tested equal to these.
"""
from ...backend import get_array_module
from .. import checks
from ..tensor import Function
from .reduce import mean


def out_size(n, k, stride, padding):
    return (n + 2 * padding - k) // stride + 1


def check_conv(x, W, stride, padding, pool=1, who="conv2d"):
    """W's shape (OC, C, KH, KW), once x (N, H, W, C) and W are known to fit together;
    the errors name the op `who`."""
    if x.ndim != 4 or W.ndim != 4 or x.shape[3] != W.shape[1]:
        raise ValueError(f"{who}: input {x.shape} (N, H, W, C) and weight {W.shape} "
                         "(OC, C, KH, KW) need matching C")
    KH, KW = W.shape[2:]
    if out_size(x.shape[1], KH, stride, padding) < pool or \
            out_size(x.shape[2], KW, stride, padding) < pool:
        pooling = f" and {pool}x{pool} pooling" if pool > 1 else ""
        raise ValueError(f"{who}: kernel {KH}x{KW} does not fit input {x.shape} "
                         f"with padding {padding}{pooling}")
    return W.shape


def pad(x, padding):
    """x (N, IH, IW, C) with `padding` zeros around each image."""
    if not padding:
        return x
    N, IH, IW, C = x.shape
    out = get_array_module(x).zeros((N, IH + 2 * padding, IW + 2 * padding, C), dtype=x.dtype)
    out[:, padding:padding + IH, padding:padding + IW] = x
    return out


def windows(x, KH, KW, stride, OH, OW):
    """A strided view (N, OH, OW, KH, KW, C) of x: window (i, j) starts at pixel
    (stride·i, stride·j). No copy; CuPy's sliding_window_view would sync with the host."""
    sN, sH, sW, sC = x.strides
    return get_array_module(x).lib.stride_tricks.as_strided(
        x, (x.shape[0], OH, OW, KH, KW, x.shape[3]), (sN, stride * sH, stride * sW, sH, sW, sC))


class Conv2d(Function):
    """y[n, i, j, o] = b[o] + Σ_{di,dj,c} x_pad[n, s·i+di, s·j+dj, c] · W[o, c, di, dj]

    as one matrix product: a row of columns per output pixel (its window,
    flattened as (KH, KW, C)) times the weight flattened the same way."""

    def forward(self, x, W, b=None):
        OC, C, KH, KW = check_conv(x, W, self.stride, self.padding)
        N, IH, IW, _ = x.shape
        OH, OW = (out_size(n, k, self.stride, self.padding) for n, k in ((IH, KH), (IW, KW)))
        cols = windows(pad(x, self.padding), KH, KW, self.stride, OH, OW)
        self.cols = cols.reshape(N * OH * OW, KH * KW * C)           # the copy: im2col
        self.W, self.x_shape = W, x.shape
        y = self.cols @ W.transpose(2, 3, 1, 0).reshape(KH * KW * C, OC)
        if b is not None:
            y = y + b
        return y.reshape(N, OH, OW, OC)

    def backward(self, gy):
        OC, C, KH, KW = self.W.shape
        N, OH, OW, _ = gy.shape
        gy = gy.reshape(N * OH * OW, OC)
        gx = gW = gb = None
        if self.needs_grad[0]:
            # each column entry goes back to the pixel it was copied from: one strided
            # add per kernel offset (overlapping windows add up)
            gcols = (gy @ self.W.transpose(0, 2, 3, 1).reshape(OC, KH * KW * C))
            gcols = gcols.reshape(N, OH, OW, KH, KW, C)
            _, IH, IW, _ = self.x_shape
            s, p = self.stride, self.padding
            gx = get_array_module(gy).zeros((N, IH + 2 * p, IW + 2 * p, C), dtype=gy.dtype)
            for di in range(KH):
                for dj in range(KW):
                    gx[:, di:di + s * (OH - 1) + 1:s, dj:dj + s * (OW - 1) + 1:s] += \
                        gcols[:, :, :, di, dj]
            gx = gx[:, p:p + IH, p:p + IW]
        if self.needs_grad[1]:                                        # colsᵀ · gy
            gW = (self.cols.T @ gy).reshape(KH, KW, C, OC).transpose(3, 2, 0, 1)
        if len(self.needs_grad) == 3 and self.needs_grad[2]:
            gb = gy.sum(axis=0)
        return (gx, gW) if len(self.needs_grad) == 2 else (gx, gW, gb)


class MaxPool2d(Function):
    """y[n, i, j, c] = max over the k×k window at (k·i, k·j); stride k, and trailing
    rows/columns that fill no window are dropped. Ties go to the first entry in
    row-major order: that entry alone gets the gradient."""

    def forward(self, x):
        xp = get_array_module(x)
        k = self.kernel
        N, IH, IW, C = x.shape
        OH, OW = IH // k, IW // k
        if OH < 1 or OW < 1:
            raise ValueError(f"max_pool2d: kernel {k} does not fit input {x.shape} (N, H, W, C)")
        # the k² strided slices of x, one per window position; keep the winner's index
        parts = [x[:, di:OH * k:k, dj:OW * k:k] for di in range(k) for dj in range(k)]
        y = parts[0].copy()
        self.argmax = xp.zeros(y.shape, dtype=xp.uint8)
        for index, part in enumerate(parts[1:], start=1):
            xp.copyto(self.argmax, index, where=part > y)
            xp.maximum(y, part, out=y)
        self.x_shape = x.shape
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        k = self.kernel
        _, OH, OW, _ = gy.shape
        gx = xp.zeros(self.x_shape, dtype=gy.dtype)
        for index in range(k * k):
            di, dj = divmod(index, k)
            gx[:, di:OH * k:k, dj:OW * k:k] = gy * (self.argmax == index)
        return gx


# ---- public functions -------------------------------------------------------

def conv_inputs(op, x, weight, bias, stride, padding):
    """(inputs, stride, padding) of a convolution op, each checked; errors name `op`."""
    stride = checks.integer(f"{op}: stride", stride, minimum=1)
    padding = checks.integer(f"{op}: padding", padding, minimum=0)
    if bias is None:
        return (x, weight), stride, padding
    OC = weight.shape[0] if getattr(weight, "ndim", 0) else None
    if getattr(bias, "shape", None) != (OC,):
        raise ValueError(f"{op}: bias of shape {getattr(bias, 'shape', None)} for weight "
                         f"{getattr(weight, 'shape', None)}: expected ({OC},)")
    return (x, weight, bias), stride, padding


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D convolution (cross-correlation).
    x (N, H, W, C), weight (OC, C, KH, KW), bias (OC,) -> (N, OH, OW, OC)
    with OH = (H + 2·padding − KH) // stride + 1."""
    inputs, stride, padding = conv_inputs("conv2d", x, weight, bias, stride, padding)
    return Conv2d.apply(*inputs, stride=stride, padding=padding)


def max_pool2d(x, kernel=2):
    """k×k max pooling with stride k. x (N, H, W, C) -> (N, H//k, W//k, C)."""
    return MaxPool2d.apply(x, kernel=checks.integer("max_pool2d: kernel", kernel, minimum=1))


def global_avg_pool2d(x):
    """Mean over the spatial axes. x (N, H, W, C) -> (N, C)."""
    return mean(x, axis=(1, 2))
