"""Module: named parameters, train/eval, and checkpoints as .npz files."""
import zipfile

import numpy as np

from .. import backend
from .files import write_atomic
from .tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates (requires_grad=True)."""

    def __init__(self, data, dtype=None):
        super().__init__(data, requires_grad=True, dtype=dtype)


class Module:
    """Base class: attributes that are Parameters, Modules, or lists of Modules
    are found by `named_parameters()`, in the order they were assigned."""

    training = True

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):  # pragma: no cover - interface
        raise NotImplementedError

    def children(self):
        """(name, Module) pairs, with list members named by index ('layers.0')."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def named_parameters(self, prefix=""):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.children():
            yield from child.named_parameters(f"{prefix}{name}.")

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        self.training = mode
        for _, child in self.children():
            child.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def astype(self, dtype):
        """Convert every parameter (in place) to a floating-point dtype, e.g. float64 for
        a gradient check."""
        if np.dtype(dtype).kind != "f":
            raise ValueError(f"{type(self).__name__}.astype: parameters need a floating-point "
                             f"dtype, got {np.dtype(dtype)}")
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        return self

    # -- checkpoints ------------------------------------------------------------
    def state_dict(self):
        """{name: NumPy array copy} of every parameter."""
        return {name: backend.to_numpy(p.data).copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state, source="state_dict"):
        """Copy arrays into the parameters; every name must be there with its shape
        (`state` a dict {name: array}, as state_dict() returns)."""
        if not hasattr(state, "keys"):
            raise TypeError(f"{source}: must be a dict {{name: array}} as state_dict() "
                            f"returns, got {type(state).__name__}")
        params = dict(self.named_parameters())
        missing = [name for name in params if name not in state]
        unexpected = [name for name in state if name not in params]
        if missing or unexpected:
            raise ValueError(f"{source}: missing parameters {missing}, unexpected {unexpected}")
        values = {}
        for name, p in params.items():  # every array checked before any is written
            value = np.asarray(state[name])
            if value.shape != p.shape:
                raise ValueError(f"{source}: parameter {name!r} has shape {value.shape}, "
                                 f"the module expects {p.shape}")
            if value.dtype.kind != "f":
                raise ValueError(f"{source}: parameter {name!r} has dtype {value.dtype}, "
                                 "expected floating point")
            values[name] = value
        for name, p in params.items():  # in place: each stays on its device, in its dtype
            p.data[...] = backend.get_array_module(p.data).asarray(values[name])

    def save(self, path):
        """Write the state dict to `path` (.npz) atomically: temporary file, then rename."""
        state = self.state_dict()
        write_atomic(path, lambda f: np.savez(f, **state), mode="wb")

    def load(self, path):
        """Load a checkpoint written by save(); corrupt or mismatched files raise ValueError."""
        try:
            archive = np.load(path, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError(f"a single array ({archive.dtype} {archive.shape}), not an "
                                 ".npz of named parameters as Module.save writes")
            with archive:
                state = {name: archive[name] for name in archive.files}
        except FileNotFoundError:
            raise
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
            raise ValueError(f"checkpoint {path}: not a readable .npz file ({error})") from error
        self.load_state_dict(state, source=f"checkpoint {path}")
        return self
