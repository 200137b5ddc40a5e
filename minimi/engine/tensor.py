"""The engine: Tensor, the graph of Functions, and reverse-mode backward.

A `Function` is one primitive. `forward` works on raw arrays (NumPy or CuPy)
and saves what `backward` needs; `backward(gy)` returns one gradient per input
(None where an input needs none). Everything else in minimi is either such a
primitive (in `minimi/engine/ops/`) or a composition of them.
"""
import contextlib
import math

from .. import backend

_grad_enabled = True

# None, or a callable timer(name, method, *args) that runs method(*args) and times it
# under name ('MatMul.forward'): profile.sections() sets it, so that ops are timed
# where the engine calls them and the kernels hold no timers.
timer = None


@contextlib.contextmanager
def no_grad():
    """Inside this block no graph is recorded (evaluation, optimizer updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled():
    return _grad_enabled


def _as_array(data, dtype=None):
    """An array on the active device. Python numbers and lists, and integer or
    boolean arrays, become the default dtype (float32); float arrays keep theirs."""
    if isinstance(data, Tensor):
        data = data.data
    keeps_dtype = hasattr(data, "dtype") and data.dtype.kind == "f"
    xp = backend.xp_of()
    if backend.get_array_module(data) is not xp:  # NumPy data on a GPU run, or the reverse
        data = backend.to_numpy(data)
    data = xp.asarray(data)
    if data.dtype == object or data.dtype.kind in "USV":  # astype: None -> NaN, '1' -> 1.0
        raise TypeError(f"Tensor: the data is not numbers ({data.dtype} values "
                        f"{backend.to_numpy(data).ravel()[:4].tolist()}...)")
    if dtype is not None:
        return data.astype(dtype, copy=False)
    return data if keeps_dtype else data.astype(backend.DEFAULT_DTYPE)


def sum_to(g, shape):
    """Undo broadcasting: sum g (shape S) down to `shape`, which broadcasts to S."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


class Function:
    """A primitive op: subclasses define forward(*arrays) and backward(gy)."""

    inputs = ()
    needs_grad = ()

    def __init__(self, **params):
        self.__dict__.update(params)

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the op on Tensors (numbers become constants of the first Tensor's dtype)."""
        fn = cls(**params)
        like = next((t for t in inputs if isinstance(t, Tensor)), None)
        tensors = tuple(t if isinstance(t, Tensor) else Tensor.constant(t, like) for t in inputs)
        arrays = tuple(t.data for t in tensors)
        y = fn.forward(*arrays) if timer is None else \
            timer(f"{fn.name}.forward", fn.forward, *arrays)
        out = Tensor(y, _wrap=True)
        if _grad_enabled and any(t.requires_grad for t in tensors):
            fn.inputs = tensors
            fn.needs_grad = tuple(t.requires_grad for t in tensors)
            out.requires_grad = True
            out._fn = fn
        return out

    def forward(self, *xs):  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, gy):  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def name(self):
        return type(self).__name__


def _check_requires_grad(requires_grad, data):
    if requires_grad not in (True, False):   # "no" would read as True
        raise TypeError(f"Tensor: requires_grad must be True or False, got {requires_grad!r}")
    if requires_grad and data.dtype.kind != "f":
        raise TypeError(f"Tensor: only floating-point data can require a gradient, "
                        f"got {data.dtype}")


class Tensor:
    """An array with an optional gradient.

    `data` is a NumPy or CuPy array; `grad` (an array of the same shape) is set
    on leaves that require grad after `backward()`. Operators and methods are
    attached in `minimi/engine/ops/__init__.py`.

    Tensor(data, requires_grad=False, dtype=None): data is numbers (an array, a list,
    a scalar; text or None is a TypeError), put on the active device; integer and bool
    data become float32 unless `dtype` says otherwise; only floating-point data can
    require a gradient. Any shape, empty ones included.
    """

    __array_priority__ = 1000  # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad=False, dtype=None, _wrap=False):
        if _wrap:  # an op's output: the engine made it right
            self.data = data
        else:
            self.data = _as_array(data, dtype)
            _check_requires_grad(requires_grad, self.data)
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._fn = None
        self._freed = False

    @classmethod
    def constant(cls, value, like=None):
        """A Tensor that needs no gradient, with `like`'s dtype (float32 by default)."""
        if isinstance(value, Tensor):
            return value
        dtype = like.data.dtype if like is not None else backend.DEFAULT_DTYPE
        if isinstance(value, (int, float)):
            xp = backend.get_array_module(like.data) if like is not None else backend.xp_of()
            return cls(xp.asarray(value, dtype=dtype), _wrap=True)
        return cls(value, dtype=dtype)

    # -- plain properties ------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({backend.to_numpy(self.data)!r}{grad})"

    def item(self):
        """The value of a one-element tensor as a Python float."""
        return float(self.data.reshape(()))

    def numpy(self):
        """The data as a NumPy array (copied from the GPU when needed)."""
        return backend.to_numpy(self.data)

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor(self.data, _wrap=True)

    def zero_grad(self):
        self.grad = None

    # -- reverse mode ------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) · grad into every leaf's .grad.

        grad defaults to 1 for a one-element tensor. The graph is freed as it is
        walked unless retain_graph=True.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad "
                               "(no input had requires_grad=True, or it was built under no_grad)")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward() without a gradient needs a one-element tensor, "
                                 f"got shape {self.shape}")
            grad = backend.get_array_module(self.data).ones_like(self.data)
        else:
            grad = _as_array(grad, self.data.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(): gradient of shape {grad.shape} for a tensor "
                                 f"of shape {self.shape}")
        grads = {id(self): grad}
        for node in reversed(_topological_order(self)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            fn = node._fn
            if fn is None:
                if node._freed:
                    raise RuntimeError("backward() through a graph that was already freed: "
                                       "pass retain_graph=True to the first backward()")
                # a leaf: a first gradient is copied so that no two leaves ever share
                # an array (nor a leaf and an op's saved input)
                if node.grad is None:
                    node.grad = g.copy()
                else:
                    node.grad += g
                continue
            gxs = fn.backward(g) if timer is None else timer(f"{fn.name}.backward", fn.backward, g)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            for x, gx in zip(fn.inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                if gx.shape != x.shape:
                    raise AssertionError(f"{fn.name}.backward returned a gradient of shape "
                                         f"{gx.shape} for an input of shape {x.shape}")
                previous = grads.get(id(x))
                grads[id(x)] = gx if previous is None else previous + gx
            if not retain_graph:
                node._fn = None
                node._freed = True
                fn.inputs = ()


def _topological_order(root):
    """Nodes that require grad, each after all of its inputs (iterative DFS)."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node._fn is not None:
            stack.extend((x, False) for x in node._fn.inputs
                         if x.requires_grad and id(x) not in visited)
    return order


def reduced_size(shape, axis):
    """How many entries a reduction over `axis` (None, int or tuple) combines."""
    if axis is None:
        return math.prod(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    return math.prod(shape[a] for a in axes)
