"""Which scores are joint samples and which are marginal ones (docs/method.md §1).

A pairing turns a critic's output into a `Selection`: the joint scores S_J,
the marginal scores S_M (both 1-D Tensors) and InfoNCE's normalizer m. Each
experiment's rule lives here once; the bounds never index a score matrix.

| pairing      | scores             | S_J                       | S_M                    | InfoNCE rows          |
|--------------|--------------------|---------------------------|------------------------|-----------------------|
| AllPairs     | (B, B)             | diagonal                  | off-diagonal, B(B−1)   | full rows, log B      |
| Separate     | (joint, marginal)  | the joint vector          | the marginal vector    | —                     |
| Supervised   | (B, K) logits      | L[i, y_i]                 | all B·K entries        | rows over K, log K    |
| Contrastive  | (B, B) Gram        | off-diagonal, same label  | all off-diagonal       | rows j≠i, log(B−1),   |
|              |                    |                           |                        | weighted by positives |
"""
import functools
import math

import numpy as np

from ..backend import get_array_module
from ..engine import ops


class NoPositivePairs(ValueError):
    """A contrastive batch in which no two samples share a label: training skips such a
    batch (docs/method.md §1)."""


class Selection:
    """S_J, S_M and InfoNCE's normalizer of one batch, each computed on first use
    (InfoNCE never needs S_M; most bounds never need the normalizer)."""

    def __init__(self, pairing, scores):
        self.pairing, self.scores = pairing, scores
        self.clip_joint_in_smile = pairing.clip_joint_in_smile

    @functools.cached_property
    def joint(self):
        """S_J, a 1-D Tensor."""
        return self.pairing.joint(self)

    @functools.cached_property
    def marginal(self):
        """S_M, a 1-D Tensor."""
        return self.pairing.marginal(self)

    def nce_normalizer(self):
        """m = weighted mean over rows of (logsumexp(row) − log(row length))."""
        return self.pairing.nce_normalizer(self)


def _square(scores, who):
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"{who}: needs a square (B, B) score matrix, got shape {scores.shape}")
    if scores.shape[0] < 2:
        raise ValueError(f"{who}: a batch of {scores.shape[0]} has an empty marginal set "
                         "(no off-diagonal entries); use a batch of at least 2")
    return scores.shape[0]


def _full_rows(S):
    """InfoNCE's m when every row counts in full: mean_i logsumexp(S[i]) − log(row length)."""
    return ops.logsumexp(S, axis=1).mean() - math.log(S.shape[1])


def off_diagonal(S):
    """The B(B−1) entries S[i, j], i ≠ j, of a square (B, B) Tensor (or array), row by
    row. Dropping the first of the B² entries leaves B−1 runs of B+1, each ending on
    a diagonal entry: reshapes and one slice, so no mask (a mask would make CuPy
    sync with the host to size its result) and a slice's plain gradient."""
    B = S.shape[0]
    return S.reshape(-1)[1:].reshape(B - 1, B + 1)[:, :B].reshape(-1)


def _labels(labels, rows, who, classes=None):
    """Checked host labels (see ops.class_labels)."""
    if labels is None:
        raise ValueError(f"{who}: needs labels")
    return ops.class_labels(labels, rows, classes, who)


class AllPairs:
    """Gaussian experiments: S[i, j] = T(x_i, y_j); pairs (x_i, y_i) are joint."""

    name = "gaussian"
    clip_joint_in_smile = False

    def select(self, scores):
        _square(scores, "gaussian pairing")
        return Selection(self, scores)

    def joint(self, s):
        return ops.diagonal(s.scores)

    def marginal(self, s):
        return off_diagonal(s.scores)

    def nce_normalizer(self, selection):
        return _full_rows(selection.scores)


class Separate:
    """One-hot study: scores = (joint vector, marginal vector) from separate draws."""

    name = "onehot"
    clip_joint_in_smile = False

    def select(self, scores):
        if not isinstance(scores, (tuple, list)) or len(scores) != 2:
            raise ValueError("onehot pairing: scores must be a pair (joint scores, marginal scores)")
        joint, marginal = scores
        if joint.size == 0 or marginal.size == 0:
            raise ValueError(f"onehot pairing: empty score vector (joint {joint.size}, "
                             f"marginal {marginal.size} entries)")
        return Selection(self, scores)

    def joint(self, s):
        return s.scores[0].reshape(-1)

    def marginal(self, s):
        return s.scores[1].reshape(-1)

    def nce_normalizer(self, selection):
        raise ValueError("InfoNCE needs a score matrix; the onehot pairing has separate "
                         "joint and marginal vectors")


class Supervised:
    """Supervised benchmark: logits L (B, K) = f(x), T(x, y) = L[·, y]."""

    name = "supervised"
    clip_joint_in_smile = True

    def __init__(self, labels):
        self.labels = labels

    def select(self, scores):
        if scores.ndim != 2:
            raise ValueError(f"supervised pairing: needs logits (B, K), got shape {scores.shape}")
        xp = get_array_module(scores.data)
        B, K = scores.shape
        labels = _labels(self.labels, B, "supervised pairing", classes=K)
        selection = Selection(self, scores)
        selection.rows, selection.labels = xp.arange(B), xp.asarray(labels)
        return selection

    def joint(self, s):
        return ops.getitem(s.scores, (s.rows, s.labels), unique=True)   # one entry per row

    def marginal(self, s):
        return s.scores.reshape(-1)

    def nce_normalizer(self, selection):
        return _full_rows(selection.scores)


class Contrastive:
    """Contrastive benchmark: S = Z Zᵀ; distinct samples with the same label are joint."""

    name = "contrastive"
    clip_joint_in_smile = True

    def __init__(self, labels):
        self.labels = labels

    def select(self, scores):
        B = _square(scores, "contrastive pairing")
        xp = get_array_module(scores.data)
        labels = _labels(self.labels, B, "contrastive pairing")
        # which pairs are joint follows from the host labels: no device sync
        positive = (labels[:, None] == labels[None, :]) & ~np.eye(B, dtype=bool)
        if not positive.any():
            raise NoPositivePairs(f"contrastive pairing: no two of the {B} samples share a "
                                  "label (no joint pair); such a batch is skipped")
        count = positive.sum(axis=1)
        selection = Selection(self, scores)
        selection.joint_index = xp.asarray(np.flatnonzero(positive))   # into S.reshape(-1)
        selection.row_weights = xp.asarray(count / count.sum(), dtype=scores.dtype)
        return selection

    def joint(self, s):
        return ops.getitem(s.scores.reshape(-1), s.joint_index, unique=True)

    def marginal(self, s):
        return off_diagonal(s.scores)

    def nce_normalizer(self, selection):
        B = selection.scores.shape[0]
        rows = selection.marginal.reshape(B, B - 1)          # row i without S[i, i]
        lse = ops.logsumexp(rows, axis=1) - math.log(B - 1)
        return (lse * selection.row_weights).sum()           # a row's weight: its positives


PAIRINGS = {"gaussian": AllPairs, "onehot": Separate, "supervised": Supervised,
            "contrastive": Contrastive}


def make_pairing(pairing=None, labels=None, scores=None):
    """A pairing object from a name, an object, or (pairing=None) the scores' form:
    a pair of vectors is 'onehot', anything else 'gaussian'."""
    if pairing is None:
        if labels is not None:
            raise ValueError("labels given without a pairing: say pairing='supervised' or "
                             "'contrastive'")
        pairing = "onehot" if isinstance(scores, (tuple, list)) else "gaussian"
    if not isinstance(pairing, str):
        return pairing
    if pairing not in PAIRINGS:
        raise ValueError(f"unknown pairing {pairing!r}: choose one of {', '.join(PAIRINGS)}")
    if pairing in ("supervised", "contrastive"):
        return PAIRINGS[pairing](labels)
    if labels is not None:
        raise ValueError(f"the {pairing} pairing takes no labels")
    return PAIRINGS[pairing]()
