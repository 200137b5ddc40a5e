"""Convolution and pooling on channels-last images.

Images inside minimi are NHWC, (N, H, W, C): the layout in which im2col
columns come straight out of a strided view of the image and the matmul output
is already the next layer's input. Weights keep the usual (OC, C, KH, KW).
"""
from ..backend import get_array_module, parallel_for, scatter_add
from ..profile import section
from ..tensor import Function
from .linalg import sum_rows
from .reduce import mean

# How the input gradient folds column gradients back into the image: "slices"
# adds into a strided slice once per kernel offset; "add_at" scatters all of
# them with one np.add.at.
# `python -m bench col2im` measures both; slices won by 20x or more on this
# project's machines.
COL2IM = "slices"


def _out_size(n, k, stride, padding):
    return (n + 2 * padding - k) // stride + 1


def im2col(x, KH, KW, stride, padding, pool=1):
    """Columns (N·OH·OW, KH·KW·C) of a padded NHWC image, one row per output pixel.

    pool=p orders the rows for p×p max pooling of the output: (p, p, N, OH//p, OW//p)
    (window position first; a trailing row or column that pooling drops is left
    out), so that each pooling window's p² outputs lie in p² contiguous blocks.
    The copy out of the window view is the expensive part; it runs in threads
    over the batch (parallel_for)."""
    xp = get_array_module(x)
    N, H, W, C = x.shape
    source = x
    if padding:
        source = xp.zeros((N, H + 2 * padding, W + 2 * padding, C), dtype=x.dtype)
    OH, OW = _out_size(H, KH, stride, padding), _out_size(W, KW, stride, padding)
    PH, PW = OH // pool, OW // pool
    # a strided view (N, OH, OW, KH, KW, C) of the padded image: window (i, j) starts at
    # pixel (stride·i, stride·j), and each kernel offset is a contiguous run of C.
    # (CuPy's sliding_window_view would sync with the host twice per call; this does not.)
    sN, sH, sW, sC = source.strides
    windows = xp.lib.stride_tricks.as_strided(
        source, (N, OH, OW, KH, KW, C), (sN, stride * sH, stride * sW, sH, sW, sC))
    cols = xp.empty((pool, pool, N, PH, PW, KH, KW, C), dtype=x.dtype)

    def fill(a, b):
        if padding:
            source[a:b, padding:padding + H, padding:padding + W] = x[a:b]
        for i in range(pool):
            for j in range(pool):
                cols[i, j, a:b] = windows[a:b, i:PH * pool:pool, j:PW * pool:pool]
    parallel_for(N, fill, cols)
    return cols.reshape(-1, KH * KW * C), OH, OW


# col2im folds images in blocks whose padded gradient stays in a core's cache
# (on the SmallCNN's layers 1.3-1.6x faster than one block per thread)
FOLD_BLOCK_BYTES = 1 << 18


def col2im(gcols, x_shape, KH, KW, stride, padding, OH, OW):
    """The adjoint of im2col: add each column entry back to the pixel it came from.

    gcols (KH·KW, N·OH·OW, C) is offset-major: for each kernel offset one (OH, OW, C)
    block per image, so every `+=` below runs over whole contiguous image rows."""
    xp = get_array_module(gcols)
    N, H, W, C = x_shape
    gcols = gcols.reshape(KH, KW, N, OH, OW, C)
    gx = xp.zeros((N, H + 2 * padding, W + 2 * padding, C), dtype=gcols.dtype)
    if COL2IM == "add_at":
        i = xp.arange(KH)[:, None, None, None] + (xp.arange(OH) * stride)[None, None, :, None]
        j = xp.arange(KW)[None, :, None, None] + (xp.arange(OW) * stride)[None, None, None, :]
        # gx[:, i, j] has shape (N, KH, KW, OH, OW, C)
        scatter_add(gx, (slice(None), i, j), gcols.transpose(2, 0, 1, 3, 4, 5))
    else:
        def fold(a, b):
            for di in range(KH):
                for dj in range(KW):
                    gx[a:b, di:di + stride * (OH - 1) + 1:stride,
                       dj:dj + stride * (OW - 1) + 1:stride] += gcols[di, dj, a:b]
        parallel_for(N, fold, gx, block=max(1, FOLD_BLOCK_BYTES // gx[0].nbytes))
    return gx[:, padding:padding + H, padding:padding + W] if padding else gx


def _check_conv(x, W, stride, padding, pool=1):
    """W's shape (OC, C, KH, KW), once x (N, H, W, C) and W fit together."""
    if x.ndim != 4 or W.ndim != 4 or x.shape[3] != W.shape[1]:
        raise ValueError(f"conv2d: input {x.shape} (N, H, W, C) and weight {W.shape} "
                         "(OC, C, KH, KW) need matching C")
    KH, KW = W.shape[2:]
    if _out_size(x.shape[1], KH, stride, padding) < pool or \
            _out_size(x.shape[2], KW, stride, padding) < pool:
        pooling = f" and {pool}x{pool} pooling" if pool > 1 else ""
        raise ValueError(f"conv2d: kernel {KH}x{KW} does not fit input {x.shape} "
                         f"with padding {padding}{pooling}")
    return W.shape


def _input_gradient(gy, W, x_shape, stride, padding, OH, OW):
    """The input gradient (N, H, W, C) from gy (N·OH·OW, OC) in image order: one
    (N·OH·OW, C) product per kernel offset (the layout col2im folds fastest), folded."""
    OC, C, KH, KW = W.shape
    with section("gemm"):
        gcols = get_array_module(gy).matmul(gy, W.transpose(2, 3, 0, 1).reshape(KH * KW, OC, C))
    with section("col2im"):
        return col2im(gcols, x_shape, KH, KW, stride, padding, OH, OW)


def _weight_gradient(cols, gy, W_shape):
    """The weight gradient (OC, C, KH, KW) from im2col's columns and gy in the same row order."""
    OC, C, KH, KW = W_shape
    with section("gemm"):  # colsᵀ·gy measured faster than gyᵀ·cols for these shapes
        return (cols.T @ gy).reshape(KH, KW, C, OC).transpose(3, 2, 0, 1)


class Conv2d(Function):
    """y[n, i, j, o] = b[o] + Σ_{c,di,dj} x_pad[n, s·i+di, s·j+dj, c] · W[o, c, di, dj],
    then ReLU when relu=True."""

    def forward(self, x, W, b=None):
        OC, C, KH, KW = _check_conv(x, W, self.stride, self.padding)
        N = x.shape[0]
        with section("im2col"):
            self.cols, OH, OW = im2col(x, KH, KW, self.stride, self.padding)
        self.W = W
        self.x_shape, self.OH, self.OW = x.shape, OH, OW
        Wm = W.transpose(0, 2, 3, 1).reshape(OC, KH * KW * C)  # (OC, KH·KW·C)
        with section("gemm"):
            y = self.cols @ Wm.T
        return self._bias_relu(y, b).reshape(N, OH, OW, OC)

    def backward(self, gy):
        gy = self._relu_grad(gy.reshape(-1, self.W.shape[0]))
        gx = gW = None
        if self.needs_grad[0]:
            gx = _input_gradient(gy, self.W, self.x_shape, self.stride, self.padding,
                                 self.OH, self.OW)
        if self.needs_grad[1]:
            gW = _weight_gradient(self.cols, gy, self.W.shape)
        return self._with_bias_grad(gx, gW, gy)

    # shared with Conv2dPool: the bias and fused ReLU, forward and backward
    def _bias_relu(self, y, b):
        """y (rows, OC) + b, then ReLU in place when relu=True (kept for the mask)."""
        if b is not None:
            y += b
        if self.relu:  # fused: one pass instead of a separate op and its temporaries
            get_array_module(y).maximum(y, 0.0, out=y)
            self.y = y
        return y

    def _relu_grad(self, gy):
        return gy * (self.y > 0) if self.relu else gy

    def _with_bias_grad(self, gx, gW, gy):
        """(gx, gW), and the bias gradient (gy summed over rows) when there is a bias."""
        if len(self.needs_grad) == 2:
            return gx, gW
        gb = None
        if self.needs_grad[2]:
            with section("gemm"):
                gb = sum_rows(gy)
        return gx, gW, gb


class Conv2dPool(Conv2d):
    """2×2 max pooling of a convolution, then ReLU when relu=True:
    y = relu(max_pool2d(conv2d(x, W, b))), with max_pool2d's tie rule.

    The same result as the three ops in a row, for less memory traffic: im2col orders
    the rows by pooling-window position, so the GEMM's output is four contiguous
    blocks and pooling is three elementwise maxima; the bias and ReLU then touch a
    quarter of the entries (max(z) + b = max(z + b), and ReLU commutes with max).
    """

    def forward(self, x, W, b=None):
        OC, C, KH, KW = _check_conv(x, W, self.stride, self.padding, pool=2)
        with section("im2col"):
            self.cols, OH, OW = im2col(x, KH, KW, self.stride, self.padding, pool=2)
        self.W, self.x_shape = W, x.shape
        N, PH, PW = x.shape[0], OH // 2, OW // 2
        with section("gemm"):
            # z (4, N·PH·PW, OC): each window's four outputs, one per block
            z = (self.cols @ W.transpose(0, 2, 3, 1).reshape(OC, -1).T).reshape(4, -1, OC)
        with section("pooling"):
            y, self.winners = _max4(z)
        return self._bias_relu(y, b).reshape(N, PH, PW, OC)

    def backward(self, gy):
        N, PH, PW, OC = gy.shape
        gy = self._relu_grad(gy.reshape(-1, OC))
        with section("pooling"):
            gz = _unmax4(gy, self.winners)                                # (4·N·PH·PW, OC)
        gx = gW = None
        if self.needs_grad[0]:
            with section("col2im"):  # back to image order (N, 2·PH, 2·PW)
                gz_image = gz.reshape(2, 2, N, PH, PW, OC).transpose(2, 3, 0, 4, 1, 5)
                gz_image = get_array_module(gz).ascontiguousarray(gz_image).reshape(-1, OC)
            gx = _input_gradient(gz_image, self.W, self.x_shape, self.stride, self.padding,
                                 2 * PH, 2 * PW)
        if self.needs_grad[1]:
            gW = _weight_gradient(self.cols, gz, self.W.shape)
        return self._with_bias_grad(gx, gW, gy)  # the bias was added after pooling


def _max4(z):
    """Max over the four positions of each 2×2 window, z (4, M, OC) in row-major window
    order -> (M, OC), and the three comparisons that say which won (ties go to the
    first position in row-major order)."""
    xp = get_array_module(z)
    M, OC = z.shape[1:]
    y = xp.empty((M, OC), dtype=z.dtype)
    winners = xp.empty((3, M, OC), dtype=bool)        # right on top, right below, bottom
    top = xp.empty((M, OC), dtype=z.dtype)

    def pool(a, b):
        xp.greater(z[1, a:b], z[0, a:b], out=winners[0, a:b])
        xp.greater(z[3, a:b], z[2, a:b], out=winners[1, a:b])
        xp.maximum(z[0, a:b], z[1, a:b], out=top[a:b])
        xp.maximum(z[2, a:b], z[3, a:b], out=y[a:b])
        xp.greater(y[a:b], top[a:b], out=winners[2, a:b])
        xp.maximum(top[a:b], y[a:b], out=y[a:b])
    parallel_for(M, pool, z)
    return y, winners


def _unmax4(gy, winners):
    """The adjoint of _max4: gy (M, OC) to the winning positions, (4·M, OC)."""
    xp = get_array_module(gy)
    M, OC = gy.shape
    gz = xp.empty((4, M, OC), dtype=gy.dtype)

    def unpool(a, b):
        top, bottom = gz[0, a:b], gz[2, a:b]          # scratch, overwritten last
        xp.multiply(gy[a:b], winners[2, a:b], out=bottom)
        xp.subtract(gy[a:b], bottom, out=top)
        xp.multiply(bottom, winners[1, a:b], out=gz[3, a:b])
        xp.subtract(bottom, gz[3, a:b], out=gz[2, a:b])
        xp.multiply(top, winners[0, a:b], out=gz[1, a:b])
        xp.subtract(top, gz[1, a:b], out=gz[0, a:b])
    parallel_for(M, unpool, gy)
    return gz.reshape(4 * M, OC)


class MaxPool2d(Function):
    """Non-overlapping k×k max pooling (stride k); trailing rows/columns are dropped.
    Ties go to the first entry in row-major order.

    2×2 (the common case) takes the max of column pairs, then of row pairs, and
    keeps the two comparisons as booleans for backward; other k take the max of
    the k² strided slices and keep the winning slice's index. Either is far
    faster than a reshape-and-max.
    """

    def forward(self, x):
        k = self.kernel
        N, H, W, C = x.shape
        OH, OW = H // k, W // k
        if OH < 1 or OW < 1:
            raise ValueError(f"max_pool2d: kernel {k} does not fit input {x.shape} (N, H, W, C)")
        self.x_shape = x.shape
        with section("pooling"):
            return self._forward2(x, OH, OW) if k == 2 else self._forward_k(x, OH, OW)

    def backward(self, gy):
        with section("pooling"):
            return self._backward2(gy) if self.kernel == 2 else self._backward_k(gy)

    # 2×2: two pairwise maxima over strided views, in threads over the batch
    def _forward2(self, x, OH, OW):
        xp = get_array_module(x)
        N, _, _, C = x.shape
        pairs = x[:, :2 * OH, :2 * OW].reshape(N, 2 * OH, OW, 2 * C)  # columns 2j, 2j+1 side by side
        y = xp.empty((N, OH, OW, C), dtype=x.dtype)
        self.right = xp.empty((N, 2 * OH, OW, C), dtype=bool)
        self.bottom = xp.empty((N, OH, OW, C), dtype=bool)

        def pool(a, b):
            left, right = pairs[a:b, ..., :C], pairs[a:b, ..., C:]
            xp.greater(right, left, out=self.right[a:b])
            rows = xp.maximum(left, right)                              # (b−a, 2·OH, OW, C)
            xp.greater(rows[:, 1::2], rows[:, 0::2], out=self.bottom[a:b])
            xp.maximum(rows[:, 0::2], rows[:, 1::2], out=y[a:b])
        parallel_for(N, pool, x)
        return y

    def _backward2(self, gy):
        xp = get_array_module(gy)
        N, OH, OW, C = gy.shape
        even = self.x_shape[1:3] == (2 * OH, 2 * OW)
        gx = xp.empty(self.x_shape, dtype=gy.dtype) if even else xp.zeros(self.x_shape, gy.dtype)
        # the dropped edge of an odd size keeps its 0; the rest is written below
        gpairs = gx[:, :2 * OH, :2 * OW].reshape(N, 2 * OH, OW, 2 * C) if even else \
            xp.empty((N, 2 * OH, OW, 2 * C), dtype=gy.dtype)

        def unpool(a, b):
            grows = xp.empty((b - a, 2 * OH, OW, C), dtype=gy.dtype)
            xp.multiply(gy[a:b], self.bottom[a:b], out=grows[:, 1::2])
            xp.subtract(gy[a:b], grows[:, 1::2], out=grows[:, 0::2])   # where the top row won
            xp.multiply(grows, self.right[a:b], out=gpairs[a:b, ..., C:])
            xp.subtract(grows, gpairs[a:b, ..., C:], out=gpairs[a:b, ..., :C])
        parallel_for(N, unpool, gx)
        if not even:
            gx[:, :2 * OH, :2 * OW] = gpairs.reshape(N, 2 * OH, 2 * OW, C)
        return gx

    # general k: max over the k² strided slices, remembering the winner
    def _forward_k(self, x, OH, OW):
        xp = get_array_module(x)
        k = self.kernel
        parts = [x[:, di:OH * k:k, dj:OW * k:k] for di in range(k) for dj in range(k)]
        y = parts[0].copy()
        self.argmax = xp.zeros(y.shape, dtype=xp.uint8)
        for index, part in enumerate(parts[1:], start=1):
            xp.copyto(self.argmax, index, where=part > y)
            xp.maximum(y, part, out=y)
        return y

    def _backward_k(self, gy):
        xp = get_array_module(gy)
        k = self.kernel
        _, OH, OW, _ = gy.shape
        gx = xp.zeros(self.x_shape, dtype=gy.dtype)
        for index in range(k * k):
            di, dj = divmod(index, k)
            xp.multiply(gy, self.argmax == index, out=gx[:, di:OH * k:k, dj:OW * k:k])
        return gx


# ---- public functions -------------------------------------------------------

def conv2d(x, weight, bias=None, stride=1, padding=0, relu=False):
    """2-D convolution (cross-correlation), then ReLU if relu=True.
    x (N, H, W, C), weight (OC, C, KH, KW), bias (OC,) -> (N, OH, OW, OC)
    with OH = (H + 2·padding − KH) // stride + 1."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=int(stride), padding=int(padding), relu=bool(relu))


def conv2d_pool(x, weight, bias=None, stride=1, padding=0, relu=False):
    """conv2d, then 2×2 max pooling, then ReLU if relu=True, as one op.
    x (N, H, W, C), weight (OC, C, KH, KW), bias (OC,) -> (N, OH//2, OW//2, OC)."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2dPool.apply(*inputs, stride=int(stride), padding=int(padding), relu=bool(relu))


def max_pool2d(x, kernel=2):
    """k×k max pooling with stride k. x (N, H, W, C) -> (N, H//k, W//k, C)."""
    return MaxPool2d.apply(x, kernel=int(kernel))


def global_avg_pool2d(x):
    """Mean over the spatial axes. x (N, H, W, C) -> (N, C)."""
    return mean(x, axis=(1, 2))
