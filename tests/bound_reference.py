"""An independent float64 NumPy/scipy reading of docs/method.md §1–2, written with loops.

reference(name, S, pairing, labels, **params) -> (value, objective) as floats.
"""
import math

import numpy as np
from scipy.special import logsumexp

DEFAULTS = {"lam": 1.0, "tau": 10.0}
TARGETS = {"remine": 0.0, "resmile": 0.0, "reinfonce": 0.0, "renwj": 1.0, "retuba": 0.0,
           "rejs": 1.0}


def lme(v):
    return logsumexp(v) - math.log(len(v))


def softplus(v):
    return np.logaddexp(0.0, v)


def entries(S, pairing, labels):
    """(joint list, marginal list, InfoNCE normalizer or None) by plain loops."""
    if pairing == "onehot":
        return np.asarray(S[0], float).ravel(), np.asarray(S[1], float).ravel(), None
    if pairing == "gaussian":
        B = len(S)
        J = [S[i][i] for i in range(B)]
        M = [S[i][j] for i in range(B) for j in range(B) if i != j]
        m = np.mean([logsumexp(S[i]) - math.log(B) for i in range(B)])
        return np.array(J), np.array(M), m
    if pairing == "supervised":
        B, K = S.shape
        J = [S[i][labels[i]] for i in range(B)]
        M = [S[i][k] for i in range(B) for k in range(K)]
        m = np.mean([logsumexp(S[i]) - math.log(K) for i in range(B)])
        return np.array(J), np.array(M), m
    if pairing == "contrastive":
        B = len(S)
        J, M, rows, weights = [], [], [], []
        for i in range(B):
            others = [j for j in range(B) if j != i]
            positives = [j for j in others if labels[j] == labels[i]]
            J += [S[i][j] for j in positives]
            M += [S[i][j] for j in others]
            rows.append(logsumexp([S[i][j] for j in others]) - math.log(B - 1))
            weights.append(len(positives))
        m = float(np.dot(rows, weights) / np.sum(weights))
        return np.array(J), np.array(M), m
    raise ValueError(pairing)


def reference(name, S, pairing, labels=None, **params):
    J, M, m = entries(S, pairing, labels)
    lam = params.get("lam", DEFAULTS["lam"])
    tau = params.get("tau", DEFAULTS["tau"])
    C = params.get("target", TARGETS.get(name))
    clip = lambda v: np.clip(v, -tau, tau)  # noqa: E731
    clip_joint = pairing in ("supervised", "contrastive")
    nwj_value = J.mean() - np.exp(M - 1).mean()
    js_objective = -softplus(-J).mean() - softplus(M).mean()
    smile_value = (clip(J) if clip_joint else J).mean() - lme(clip(M))
    table = {  # name: (value, training objective before any penalty, g)
        "mine": (J.mean() - lme(M), None, None),
        "smile": (smile_value, None, None),
        "infonce": (J.mean() - m if m is not None else None, None, None),
        "nwj": (nwj_value, None, None),
        "tuba": (1 + J.mean() - np.exp(M).mean(), None, None),
        "js": (nwj_value, js_objective, None),
        "remine": (J.mean() - lme(M), None, lme(M)),
        "resmile": (smile_value, None, lme(M)),
        "reinfonce": (J.mean() - m if m is not None else None, None, m),
        "renwj": (clip(J).mean() - np.exp(clip(M) - 1).mean(), None, lme(M)),
        "retuba": (1 + clip(J).mean() - np.exp(clip(M)).mean(), None, lme(M)),
        "rejs": (nwj_value, js_objective, softplus(M).mean()),
        "smile_js": (J.mean() - lme(clip(M)), js_objective, None),
        "mine_ema": (J.mean() - lme(M), None, None),
    }
    value, objective, g = table[name]
    objective = value if objective is None else objective
    if g is not None:
        objective = objective - lam * (g - C) ** 2
    return value, objective


def penalty(name, S, pairing, labels=None, **params):
    """λ(g − C)² alone, for the finite-difference check of the regularizers."""
    J, M, m = entries(S, pairing, labels)
    lam, C = params.get("lam", 1.0), params.get("target", TARGETS[name])
    g = {"rejs": softplus(M).mean(), "reinfonce": m}.get(name, lme(M))
    return lam * (g - C) ** 2
