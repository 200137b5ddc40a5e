"""minimi: neural mutual-information estimation from scratch, on NumPy or CuPy.

    import minimi as mm
    x = mm.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    x.grad  # array([2., 4.], dtype=float32)

The tree, one layer on the next (each package's docstring says what it holds):

    backend.py   NumPy or CuPy: the one file that imports cupy (the engine's floor)
    engine/      Tensor, ops, Module, layers, optimizers, gradcheck
    bounds/      the MI bounds and which scores are joint or marginal
    critics.py   the critics T(x, y)
    estimator/   minimi.estimate: prepare, train, judge, the interval
    data/        data sets read from files the user names (CIFAR)
    tools/       the minimi command, doctor, plots, tables, bmi adapter, tuning, profile

`minimi.ops` is the engine's table of ops, here for short.
"""
from . import backend
from .critics import ConcatCritic, SeparableCritic, one_hot_critic
from .engine import ops
from .engine.gradcheck import GradcheckError, gradcheck, gradcheck_module
from .engine.layers import MLP, Conv2d, Linear, SmallCNN
from .engine.module import Module, Parameter
from .engine.ops import *  # noqa: F401,F403 - the public table of ops
from .engine.optim import SGD, Adam, clip_grad_norm
from .engine.tensor import Function, Tensor, is_grad_enabled, no_grad, sum_to
from .estimator import DataWarning, EstimateResult, Settings, estimate
from .tools.tuning import tune_process

__version__ = "0.1.0"
