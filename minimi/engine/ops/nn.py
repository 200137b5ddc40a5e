"""Classification losses composed from primitives: log_softmax and cross_entropy."""
from ...backend import get_array_module, to_numpy
from ..tensor import Tensor
from .elementwise import neg, sub
from .reduce import logsumexp, mean
from .shape import getitem


def log_softmax(x, axis=-1):
    """x − logsumexp(x) along axis: log-probabilities, stable for large logits."""
    return sub(x, logsumexp(x, axis=axis, keepdims=True))


def class_labels(labels, rows, classes=None, who="labels"):
    """Integer labels (rows,) as a checked host (NumPy) array: shape, integer dtype
    and, given `classes`, the range [0, classes).

    The check runs on the host: labels already on a GPU come back once for it (a
    sync), so training loops pass the host labels they have anyway."""
    labels = to_numpy(labels.data if isinstance(labels, Tensor) else labels)
    if labels.shape != (rows,):
        raise ValueError(f"{who}: labels of shape {labels.shape} for {rows} score rows: "
                         f"expected ({rows},)")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{who}: labels must be integers, got dtype {labels.dtype}")
    if classes is not None and rows and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"{who}: labels must lie in [0, {classes}), got "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    return labels


def cross_entropy(logits, labels):
    """Mean negative log-likelihood of integer labels (N,) under logits (N, K)."""
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be (N, K), got shape {logits.shape}")
    N, K = logits.shape
    labels = class_labels(labels, N, K, "cross_entropy")
    xp = get_array_module(logits.data)
    picked = getitem(log_softmax(logits, axis=1), (xp.arange(N), xp.asarray(labels)),
                     unique=True)
    return neg(mean(picked))
