"""Classification losses composed from primitives: log_softmax and cross_entropy."""
from ..backend import get_array_module
from ..tensor import Tensor
from .elementwise import neg, sub
from .reduce import logsumexp, mean
from .shape import getitem


def log_softmax(x, axis=-1):
    """x − logsumexp(x) along axis: log-probabilities, stable for large logits."""
    return sub(x, logsumexp(x, axis=axis, keepdims=True))


def cross_entropy(logits, labels):
    """Mean negative log-likelihood of integer labels (N,) under logits (N, K)."""
    labels = labels.data if isinstance(labels, Tensor) else labels
    xp = get_array_module(logits.data)
    labels = xp.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be (N, K), got shape {logits.shape}")
    N, K = logits.shape
    if labels.shape != (N,):
        raise ValueError(f"cross_entropy: labels of shape {labels.shape} for logits of shape "
                         f"{logits.shape}: expected ({N},)")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"cross_entropy: labels must be integers, got dtype {labels.dtype}")
    if N and (int(labels.min()) < 0 or int(labels.max()) >= K):
        raise ValueError(f"cross_entropy: labels must lie in [0, {K}), got range "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    picked = getitem(log_softmax(logits, axis=1), (xp.arange(N), labels))
    return neg(mean(picked))
