"""Matrix multiplication: batched, broadcasting, with 1-D operands as in NumPy."""
from ... import backend
from ...backend import get_array_module
from ..tensor import Function, sum_to


def _matmul(a, b):
    """a @ b for 2-D arrays; an outer product (inner dimension 1) is done by
    broadcasting: BLAS's gemm runs it several times slower (docs/performance.md)."""
    if a.ndim == 2 and b.ndim == 2 and a.shape[1] == 1:
        return a * b
    return backend.matmul(a, b)


def sum_rows(g):
    """g.sum(axis=0) of a tall 2-D array, as a matrix-vector product (faster than a
    column-wise sum: docs/performance.md)."""
    return backend.matmul(get_array_module(g).ones(g.shape[0], dtype=g.dtype), g)


class MatMul(Function):
    """a @ b. A 1-D a is a row vector, a 1-D b a column vector (then squeezed)."""

    def forward(self, a, b):
        inner_a = a.shape[-1] if a.ndim else None
        inner_b = (b.shape[0] if b.ndim == 1 else b.shape[-2]) if b.ndim else None
        if a.ndim == 0 or b.ndim == 0 or inner_a != inner_b:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                             f"(inner dimensions {inner_a} and {inner_b})")
        self.a, self.b = a, b
        return backend.matmul(a, b)

    def backward(self, gy):
        xp = get_array_module(gy)
        a, b = self.a, self.b
        if a.ndim == 1 and b.ndim == 1:
            return (gy * b if self.needs_grad[0] else None,
                    gy * a if self.needs_grad[1] else None)
        a2 = a[None, :] if a.ndim == 1 else a  # (1, n)
        b2 = b[:, None] if b.ndim == 1 else b  # (n, 1)
        g2 = gy
        if a.ndim == 1:
            g2 = xp.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = xp.expand_dims(g2, -1)
        ga = gb = None
        if self.needs_grad[0]:  # gy · bᵀ, summed over broadcast batch dims
            ga = sum_to(backend.matmul(g2, xp.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if self.needs_grad[1]:  # aᵀ · gy
            gb = sum_to(backend.matmul(xp.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return ga, gb


def matmul(a, b):
    """a @ b by NumPy's rules: 1-D operands, leading batch dimensions that broadcast; the
    inner dimensions must agree (the error names both shapes)."""
    return MatMul.apply(a, b)


class Linear(Function):
    """y = x @ W + b, optionally followed by ReLU in the same pass.

    x (N, I), W (I, O), b (O,) or absent. Fusing bias and ReLU into the matmul's
    output buffer saves two passes over (N, O) in forward and one in backward.
    """

    def forward(self, x, W, b=None):
        if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[0]:
            raise ValueError(f"linear: input {x.shape} and weight {W.shape} do not align "
                             "(expected (N, I) and (I, O))")
        if b is not None and b.shape != W.shape[1:]:  # (N, O) + (N,) would broadcast if N = O
            raise ValueError(f"linear: bias {b.shape} for weight {W.shape}: expected "
                             f"({W.shape[1]},)")
        y = backend.matmul(x, W)
        if b is not None:
            y += b
        if self.relu:
            get_array_module(y).maximum(y, 0.0, out=y)
            self.y = y
        self.x, self.W = x, W
        return y

    def backward(self, gy):
        if self.relu:
            gy = gy * (self.y > 0)
        gx = _matmul(gy, self.W.T) if self.needs_grad[0] else None
        gW = backend.matmul(self.x.T, gy) if self.needs_grad[1] else None
        gb = sum_rows(gy) if len(self.needs_grad) == 3 and self.needs_grad[2] else None
        return (gx, gW) if len(self.needs_grad) == 2 else (gx, gW, gb)


def linear(x, weight, bias=None, relu=False):
    """x @ weight + bias, then ReLU if relu=True. x (N, I), weight (I, O), bias (O,)."""
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Linear.apply(*inputs, relu=bool(relu))


class PairwiseSum(Function):
    """y[i·B + j] = a[i] + c[j] for every pair, optionally then ReLU.

    a (A, H), c (B, H) -> (A·B, H): the first layer of a concat critic on all
    pairs, [x_i; y_j]·W = x_i·W_x + y_j·W_y, without materializing the pairs.
    """

    def forward(self, a, c):
        if a.ndim != 2 or c.ndim != 2 or a.shape[1] != c.shape[1]:
            raise ValueError(f"pairwise_sum: shapes {a.shape} and {c.shape}: expected "
                             "(A, H) and (B, H)")
        y = a[:, None, :] + c[None, :, :]
        if self.relu:
            get_array_module(y).maximum(y, 0.0, out=y)
            self.y = y
        self.A, self.B = a.shape[0], c.shape[0]
        return y.reshape(self.A * self.B, a.shape[1])

    def backward(self, gy):
        g = gy.reshape(self.A, self.B, -1)
        if self.relu:
            g = g * (self.y > 0)
        return (g.sum(axis=1) if self.needs_grad[0] else None,
                g.sum(axis=0) if self.needs_grad[1] else None)


def pairwise_sum(a, c, relu=False):
    """All-pairs sum a[i] + c[j], flattened to (A·B, H); ReLU if relu=True."""
    return PairwiseSum.apply(a, c, relu=bool(relu))
