"""Fast convolution for training: the same results as conv.py, for less memory traffic.

conv.py is the reference to read; everything here is tested equal to it in
float64, values and gradients (tests/engine/test_fast_ops.py). What makes these faster
on a CPU (the figures are in docs/performance.md):

- im2col and col2im split the batch across threads (backend.parallel_for):
  NumPy copies run on one core, and BLAS has threads of its own.
- col2im folds offset-major column gradients (one (N·OH·OW, C) product per
  kernel offset), so every `+=` runs over whole contiguous image rows, in blocks
  of images that stay in a core's cache.
- bias and ReLU are fused into the product's output buffer.
- conv2d_pool does conv, 2×2 max pooling, bias and ReLU as one op: im2col orders
  the rows by position in the pooling window, so the product's output is four
  contiguous blocks and pooling is three elementwise maxima; the bias and ReLU
  then touch a quarter of the entries (max(z) + b = max(z + b), and ReLU
  commutes with max).

The helpers gemm, im2col, col2im, image_order, max4 and unmax4 are module functions so
that profile.sections() can time each phase by wrapping them.
"""
from ... import backend
from ...backend import get_array_module, parallel_for
from ..tensor import Function
from .conv import check_conv, conv_inputs, out_size, windows
from .linalg import sum_rows


def gemm(a, b):
    """a @ b: every matrix product of this file, in one place to time; on the BLAS
    threads that pay off for its size (backend.matmul)."""
    return backend.matmul(a, b)


def im2col(x, KH, KW, stride, padding, pool=1):
    """Columns (N·OH·OW, KH·KW·C) of a padded NHWC image, one row per output pixel.

    pool=p orders the rows for p×p max pooling of the output: (p, p, N, OH//p, OW//p)
    (window position first; a trailing row or column that pooling drops is left
    out), so that each pooling window's p² outputs lie in p² contiguous blocks."""
    xp = get_array_module(x)
    N, IH, IW, C = x.shape
    source = x
    if padding:
        source = xp.zeros((N, IH + 2 * padding, IW + 2 * padding, C), dtype=x.dtype)
    OH, OW = out_size(IH, KH, stride, padding), out_size(IW, KW, stride, padding)
    PH, PW = OH // pool, OW // pool
    view = windows(source, KH, KW, stride, OH, OW)
    cols = xp.empty((pool, pool, N, PH, PW, KH, KW, C), dtype=x.dtype)

    def fill(a, b):  # padding and copy of images a..b, in one thread
        if padding:
            source[a:b, padding:padding + IH, padding:padding + IW] = x[a:b]
        for i in range(pool):
            for j in range(pool):
                cols[i, j, a:b] = view[a:b, i:PH * pool:pool, j:PW * pool:pool]
    parallel_for(N, fill, cols)
    return cols.reshape(-1, KH * KW * C), OH, OW


# col2im folds images in blocks whose padded gradient stays in a core's cache
FOLD_BLOCK_BYTES = 1 << 18


def col2im(gcols, x_shape, KH, KW, stride, padding, OH, OW):
    """The adjoint of im2col: add each column entry back to the pixel it came from.

    gcols (KH·KW, N·OH·OW, C) is offset-major: for each kernel offset one (OH, OW, C)
    block per image, so every `+=` below runs over whole contiguous image rows."""
    xp = get_array_module(gcols)
    N, IH, IW, C = x_shape
    gcols = gcols.reshape(KH, KW, N, OH, OW, C)
    gx = xp.zeros((N, IH + 2 * padding, IW + 2 * padding, C), dtype=gcols.dtype)

    def fold(a, b):
        for di in range(KH):
            for dj in range(KW):
                gx[a:b, di:di + stride * (OH - 1) + 1:stride,
                   dj:dj + stride * (OW - 1) + 1:stride] += gcols[di, dj, a:b]
    parallel_for(N, fold, gx, block=max(1, FOLD_BLOCK_BYTES // gx[0].nbytes))
    return gx[:, padding:padding + IH, padding:padding + IW] if padding else gx


def input_gradient(gy, W, x_shape, stride, padding, OH, OW):
    """The input gradient (N, H, W, C) from gy (N·OH·OW, OC) in image order: one
    (N·OH·OW, C) product per kernel offset (the layout col2im folds fastest), folded."""
    OC, C, KH, KW = W.shape
    gcols = gemm(gy, W.transpose(2, 3, 0, 1).reshape(KH * KW, OC, C))
    return col2im(gcols, x_shape, KH, KW, stride, padding, OH, OW)


def weight_gradient(cols, gy, W_shape):
    """The weight gradient (OC, C, KH, KW) from im2col's columns and gy in the same row
    order; colsᵀ·gy measured faster than gyᵀ·cols for the SmallCNN's shapes."""
    OC, C, KH, KW = W_shape
    return gemm(cols.T, gy).reshape(KH, KW, C, OC).transpose(3, 2, 0, 1)


class FusedConv2d(Function):
    """conv.Conv2d, then ReLU when relu=True, fused into the product's buffer."""

    def forward(self, x, W, b=None):
        OC, C, KH, KW = check_conv(x, W, self.stride, self.padding)
        self.cols, OH, OW = im2col(x, KH, KW, self.stride, self.padding)
        self.W, self.x_shape, self.OH, self.OW = W, x.shape, OH, OW
        y = gemm(self.cols, W.transpose(0, 2, 3, 1).reshape(OC, KH * KW * C).T)
        return self._bias_relu(y, b).reshape(x.shape[0], OH, OW, OC)

    def backward(self, gy):
        gy = self._relu_grad(gy.reshape(-1, self.W.shape[0]))
        gx = gW = None
        if self.needs_grad[0]:
            gx = input_gradient(gy, self.W, self.x_shape, self.stride, self.padding,
                                self.OH, self.OW)
        if self.needs_grad[1]:
            gW = weight_gradient(self.cols, gy, self.W.shape)
        return self._with_bias_grad(gx, gW, gy)

    # shared with FusedConv2dPool: the bias and fused ReLU, forward and backward
    def _bias_relu(self, y, b):
        """y (rows, OC) + b, then ReLU in place when relu=True (kept for the mask)."""
        if b is not None:
            y += b
        if self.relu:
            get_array_module(y).maximum(y, 0.0, out=y)
            self.y = y
        return y

    def _relu_grad(self, gy):
        return gy * (self.y > 0) if self.relu else gy

    def _with_bias_grad(self, gx, gW, gy):
        """(gx, gW), and the bias gradient (gy summed over rows) when there is a bias."""
        if len(self.needs_grad) == 2:
            return gx, gW
        return gx, gW, (sum_rows(gy) if self.needs_grad[2] else None)


class FusedConv2dPool(FusedConv2d):
    """relu(max_pool2d(conv2d(x, W, b))) as one op (relu only when relu=True), with
    max_pool2d's tie rule: ties go to the first position in row-major order."""

    def forward(self, x, W, b=None):
        OC, C, KH, KW = check_conv(x, W, self.stride, self.padding, pool=2, who="conv2d_pool")
        self.cols, OH, OW = im2col(x, KH, KW, self.stride, self.padding, pool=2)
        self.W, self.x_shape = W, x.shape
        N, PH, PW = x.shape[0], OH // 2, OW // 2
        # z (4, N·PH·PW, OC): each window's four outputs, one per block
        z = gemm(self.cols, W.transpose(0, 2, 3, 1).reshape(OC, -1).T).reshape(4, -1, OC)
        y, self.winners = max4(z)
        return self._bias_relu(y, b).reshape(N, PH, PW, OC)

    def backward(self, gy):
        N, PH, PW, OC = gy.shape
        gy = self._relu_grad(gy.reshape(-1, OC))
        gz = unmax4(gy, self.winners)                                # (4·N·PH·PW, OC)
        gx = gW = None
        if self.needs_grad[0]:
            gx = input_gradient(image_order(gz, N, PH, PW), self.W, self.x_shape, self.stride,
                                self.padding, 2 * PH, 2 * PW)
        if self.needs_grad[1]:
            gW = weight_gradient(self.cols, gz, self.W.shape)
        return self._with_bias_grad(gx, gW, gy)  # the bias was added after pooling


def image_order(gz, N, PH, PW):
    """Rows in pooling-window order (2, 2, N, PH, PW) -> image order (N, 2·PH, 2·PW)."""
    OC = gz.shape[-1]
    gz = gz.reshape(2, 2, N, PH, PW, OC).transpose(2, 3, 0, 4, 1, 5)
    return get_array_module(gz).ascontiguousarray(gz).reshape(-1, OC)


def max4(z):
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


def unmax4(gy, winners):
    """The adjoint of max4: gy (M, OC) to the winning positions, (4·M, OC)."""
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


# ---- public functions -------------------------------------------------------

def conv2d(x, weight, bias=None, stride=1, padding=0, relu=False):
    """conv.conv2d, then ReLU if relu=True.
    x (N, H, W, C), weight (OC, C, KH, KW), bias (OC,) -> (N, OH, OW, OC)."""
    inputs, stride, padding = conv_inputs("conv2d", x, weight, bias, stride, padding)
    return FusedConv2d.apply(*inputs, stride=stride, padding=padding, relu=bool(relu))


def conv2d_pool(x, weight, bias=None, stride=1, padding=0, relu=False):
    """conv2d, then 2×2 max pooling, then ReLU if relu=True, as one op.
    x (N, H, W, C), weight (OC, C, KH, KW), bias (OC,) -> (N, OH//2, OW//2, OC)."""
    inputs, stride, padding = conv_inputs("conv2d_pool", x, weight, bias, stride, padding)
    return FusedConv2dPool.apply(*inputs, stride=stride, padding=padding, relu=bool(relu))
