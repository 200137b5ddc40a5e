"""The engine: a small reverse-mode autodiff over NumPy (or CuPy) arrays, readable on
its own.

    tensor.py    Tensor, Function, backward
    ops/         the primitives, each forward beside its backward
    module.py    Module, Parameter, checkpoints
    layers.py    Linear, MLP, Conv2d, SmallCNN
    optim.py     SGD, Adam, clip_grad_norm
    gradcheck.py central differences in float64
    checks.py    argument checks; files.py atomic writes (checkpoints need them)

Beneath it, and part of its layer, is minimi/backend.py: NumPy or CuPy, devices, threads
and NumPy's BLAS. It is the one file of minimi that imports cupy, at the path the
project's rule names. The engine imports nothing else of minimi: the MI code (bounds,
critics, estimator) and the tools stand on it, never the reverse (tests/packaging
checks).
"""
