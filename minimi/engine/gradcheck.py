"""Check backward() against central differences, in float64.

    from minimi.engine import gradcheck
    gradcheck(lambda x, w: (x @ w).relu(), [x_array, w_array])

The output is contracted with a random cotangent u, so one backward pass gives
the vector-Jacobian product uᵀJ for every input. Inputs with up to
`max_entries` entries are checked entry by entry; larger ones along a random
direction v, comparing (f(x+εv) − f(x−εv)) / 2ε with ⟨grad, v⟩.
"""
import numpy as np

from .. import backend
from . import checks
from .module import Module
from .tensor import Tensor, no_grad


class GradcheckError(AssertionError):
    """A gradient disagrees with its finite difference; the message says where."""


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0, max_entries=512):
    """Raise GradcheckError unless fn's backward matches finite differences.

    fn: takes one Tensor per input and returns a Tensor (any shape).
    inputs: a list (or tuple) of arrays or numbers, one per argument of fn; they are
    copied as float64 onto the active device.
    eps > 0 is the step; atol, rtol ≥ 0 the tolerance; inputs with up to max_entries
    (≥ 0) entries are checked entry by entry. Returns True so that it reads well in an
    assert.
    """
    checks.function("fn", fn, who="gradcheck", takes="one Tensor per input")
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"gradcheck: inputs must be a list of arrays, one per argument of "
                        f"fn (gradcheck(fn, [x]) for one), got {type(inputs).__name__}")
    _check_settings(eps, atol, rtol, seed, max_entries)
    arrays = [backend.to_device(backend.to_numpy(a), dtype=np.float64) for a in inputs]
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]

    def run(values, record):
        if record:
            return fn(*tensors)
        return fn(*[Tensor(v) for v in values])

    return _check(run, arrays, lambda: [t.grad for t in tensors], eps, atol, rtol, seed,
                  max_entries)


def gradcheck_module(module, fn, *, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0, max_entries=512):
    """The same check for every parameter of a module: fn() runs the module and
    returns a Tensor. The module is converted to float64 first (in place)."""
    if not isinstance(module, Module):
        raise TypeError(f"gradcheck_module: module must be a minimi Module, got {module!r}")
    checks.function("fn", fn, who="gradcheck_module", takes="no arguments")
    _check_settings(eps, atol, rtol, seed, max_entries)
    module.astype(np.float64)
    params = module.parameters()

    def run(values, record):
        for p, v in zip(params, values):
            p.data = v
        return fn()

    module.zero_grad()
    arrays = [p.data for p in params]
    ok = _check(run, arrays, lambda: [p.grad for p in params], eps, atol, rtol, seed,
                max_entries)
    for p, a in zip(params, arrays):  # a direction check left shifted arrays in place of these
        p.data = a
    return ok


def _check_settings(eps, atol, rtol, seed, max_entries):
    checks.number("eps", eps, above=0, who="gradcheck")
    for name, value in (("atol", atol), ("rtol", rtol)):
        checks.number(name, value, at_least=0, who="gradcheck")
    checks.integer("seed", seed, minimum=0, who="gradcheck")
    checks.integer("max_entries", max_entries, minimum=0, who="gradcheck")


def _check(run, arrays, analytic, eps, atol, rtol, seed, max_entries):
    """run(values, record) evaluates the function at `values` (recording a graph
    when record=True); analytic() returns the gradients backward left."""
    rng = np.random.default_rng(seed)
    xp = backend.xp_of()
    out = run(arrays, True)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    if out.dtype != np.float64:
        raise GradcheckError(f"gradcheck: float64 inputs gave a {out.dtype} output")
    u = xp.asarray(rng.standard_normal(out.shape))

    def f(values):
        with no_grad():
            return float((run(values, False).data * u).sum())

    if out.requires_grad:
        out.backward(u)
    grads = analytic()
    for k, a in enumerate(arrays):
        grad = grads[k] if grads[k] is not None else xp.zeros_like(a)
        if a.size <= max_entries:
            _check_entries(f, arrays, k, grad, eps, atol, rtol)
        else:
            _check_direction(f, arrays, k, grad, rng, eps, atol, rtol)
    return True


def _check_entries(f, arrays, k, grad, eps, atol, rtol):
    a = arrays[k]
    for index in np.ndindex(*a.shape):
        saved = float(a[index])
        a[index] = saved + eps
        plus = f(arrays)
        a[index] = saved - eps
        minus = f(arrays)
        a[index] = saved
        _compare((plus - minus) / (2 * eps), float(grad[index]), atol, rtol,
                 f"argument {k} (shape {a.shape}) at index {index}")


def _check_direction(f, arrays, k, grad, rng, eps, atol, rtol):
    a = arrays[k]
    v = backend.get_array_module(a).asarray(rng.standard_normal(a.shape))
    shifted = list(arrays)
    shifted[k] = a + eps * v
    plus = f(shifted)
    shifted[k] = a - eps * v
    minus = f(shifted)
    _compare((plus - minus) / (2 * eps), float((grad * v).sum()), atol, rtol,
             f"argument {k} (shape {a.shape}) along a random direction")


def _compare(expected, received, atol, rtol, where):
    if not abs(expected - received) <= atol + rtol * abs(expected):
        raise GradcheckError(f"gradient of {where}: expected {expected:.8g} "
                             f"(central difference), received {received:.8g} (backward), "
                             f"difference {abs(expected - received):.3g}")
