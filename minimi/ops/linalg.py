"""Matrix multiplication: batched, broadcasting, with 1-D operands as in NumPy."""
from ..backend import get_array_module
from ..tensor import Function, sum_to


class MatMul(Function):
    """a @ b. A 1-D a is a row vector, a 1-D b a column vector (then squeezed)."""

    def forward(self, a, b):
        inner_a = a.shape[-1] if a.ndim else None
        inner_b = (b.shape[0] if b.ndim == 1 else b.shape[-2]) if b.ndim else None
        if a.ndim == 0 or b.ndim == 0 or inner_a != inner_b:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                             f"(inner dimensions {inner_a} and {inner_b})")
        self.a, self.b = a, b
        return a @ b

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
            ga = sum_to(g2 @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_grad[1]:  # aᵀ · gy
            gb = sum_to(xp.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return ga, gb


def matmul(a, b):
    return MatMul.apply(a, b)
