"""minimi: neural mutual-information estimation from scratch, on NumPy or CuPy.

    import minimi as mm
    x = mm.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    x.grad  # array([2., 4.], dtype=float32)
"""
from . import backend, ops
from .critics import ConcatCritic, SeparableCritic, one_hot_critic
from .estimator import DataWarning, EstimateResult, Settings, estimate
from .gradcheck import GradcheckError, gradcheck, gradcheck_module
from .layers import MLP, Conv2d, Linear, SmallCNN
from .module import Module, Parameter
from .ops import *  # noqa: F401,F403 - the public table of ops
from .optim import SGD, Adam, clip_grad_norm
from .tensor import Function, Tensor, is_grad_enabled, no_grad, sum_to
from .tuning import tune_process

__version__ = "0.1.0"
