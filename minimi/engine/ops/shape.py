"""Shape primitives: reshape, transpose, broadcast, indexing, concatenate, stack, diagonal."""
import numpy as np

from ...backend import get_array_module, scatter_add
from ..tensor import Function, Tensor, sum_to


class Reshape(Function):
    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.x_shape)


class Transpose(Function):
    """Permute axes (reverse them when axes is None)."""

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return gy.transpose()
        return gy.transpose(np.argsort(self.axes))


class BroadcastTo(Function):
    def forward(self, x):
        self.x_shape = x.shape
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.x_shape)


def _may_repeat(index):
    """Only integer arrays can select an entry twice (slices and masks cannot)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(hasattr(p, "dtype") and p.dtype.kind in "iu" and p.ndim > 0 for p in parts)


class GetItem(Function):
    """x[index] with slices, integer arrays or boolean masks.

    Integer arrays may repeat an entry, so their backward adds with scatter_add,
    unless the caller knows each entry is picked at most once (unique=True).
    """

    unique = False

    def forward(self, x):
        self.x_shape, self.x_dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, gy):
        gx = get_array_module(gy).zeros(self.x_shape, dtype=self.x_dtype)
        if _may_repeat(self.index) and not self.unique:
            scatter_add(gx, self.index, gy)
        else:
            gx[self.index] = gy
        return gx


class Concatenate(Function):
    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        return tuple(xp.split(gy, np.cumsum(self.sizes)[:-1].tolist(), axis=self.axis))


class Stack(Function):
    def forward(self, *xs):
        return get_array_module(*xs).stack(xs, axis=self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        return tuple(xp.take(gy, i, axis=self.axis) for i in range(gy.shape[self.axis]))


class Diagonal(Function):
    """The diagonal of the last two axes (with an offset), batched over the rest."""

    def forward(self, x):
        self.x_shape, self.x_dtype = x.shape, x.dtype
        return get_array_module(x).diagonal(x, self.offset, -2, -1)

    def backward(self, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(self.x_shape, dtype=self.x_dtype)
        k = gy.shape[-1]
        rows = xp.arange(k) + max(-self.offset, 0)
        cols = xp.arange(k) + max(self.offset, 0)
        gx[..., rows, cols] = gy
        return gx


# ---- public functions -------------------------------------------------------

def reshape(x, *shape):
    """x with a new shape of as many entries: reshape(x, 2, 3) or reshape(x, (2, 3)); one
    -1 is inferred."""
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Reshape.apply(x, shape=tuple(shape))


def transpose(x, *axes):
    """x with its axes reversed, or in the order given (the axes, or one tuple of them)."""
    axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    return Transpose.apply(x, axes=tuple(a % x.ndim for a in axes) if axes else None)


def broadcast_to(x, shape):
    """x repeated to `shape` by NumPy's broadcasting rules; the gradient sums back."""
    return BroadcastTo.apply(x, shape=tuple(shape))


def getitem(x, index, unique=False):
    """x[index]; Tensors inside the index are used by value (no gradient), and
    index arrays move to x's device (NumPy indices on a CuPy tensor). unique=True
    promises that integer indices pick no entry twice (a cheaper backward)."""
    xp = get_array_module(x.data)

    def part(i):
        if isinstance(i, Tensor):
            i = i.data
        if isinstance(i, list) or (hasattr(i, "dtype") and get_array_module(i) is not xp):
            i = xp.asarray(i)
        return i
    index = tuple(part(i) for i in index) if isinstance(index, tuple) else part(index)
    return GetItem.apply(x, index=index, unique=bool(unique))


def _joined(op, tensors, axis, new_axis):
    """The tensors and the axis (made non-negative) of concatenate/stack, checked: the
    errors name the op, the axis and every shape."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    shapes = [tuple(t.shape) for t in tensors]
    ndim = len(shapes[0]) + new_axis
    if not isinstance(axis, int) or not -ndim <= axis < ndim:
        raise ValueError(f"{op}: axis {axis!r} is out of range for shapes {shapes} "
                         f"(the result has {ndim} dimensions)")
    axis %= ndim
    others = [s[:axis] + s[axis + 1:] for s in shapes] if not new_axis else shapes
    if len(set(map(len, shapes))) > 1 or len(set(others)) > 1:
        raise ValueError(f"{op}: shapes {shapes} do not match"
                         + ("" if new_axis else f" outside axis {axis}"))
    return tensors, axis


def concatenate(tensors, axis=0):
    """Join a list of one or more tensors along an existing `axis`; their shapes agree on
    every other axis."""
    tensors, axis = _joined("concatenate", tensors, axis, new_axis=0)
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """Join a list of one or more tensors of one shape along a new `axis`."""
    tensors, axis = _joined("stack", tensors, axis, new_axis=1)
    return Stack.apply(*tensors, axis=axis)


def diagonal(x, offset=0):
    """The diagonal of the last two axes: shape (..., k)."""
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {x.shape}")
    return Diagonal.apply(x, offset=offset)
