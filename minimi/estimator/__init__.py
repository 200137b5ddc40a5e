"""Estimating I(X; Y) from paired samples: minimi.estimate and its parts.

    settings.py   Settings: every setting and its default, once
    inputs.py     the arrays checked, their columns mapped, degenerate data found
    heldout.py    scoring a critic on held-out rows (the reported number)
    recipe.py     estimate(): prepare, train, judge; the same on disjoint parts
    training.py   the critic's step loop and the early-stopping rule
    interval.py   the interval from those estimates, and its checks
    neighbours.py KSG's second opinion in few dimensions
    copula.py     the Gaussian copula's second opinion in any dimension
    result.py     EstimateResult, DataWarning

It stands on the engine, the bounds and the critics, never on minimi.tools
(tests/packaging/test_layers.py).
"""
from .recipe import estimate
from .result import DataWarning, EstimateResult
from .settings import Settings

__all__ = ["estimate", "EstimateResult", "DataWarning", "Settings"]
