"""The known-truth task suite's closed forms, each against an independent check:
Monte Carlo over scipy's densities, or numerical integration."""
import math

import numpy as np
import pytest
from scipy import integrate, stats

from bench.truth import distributions as D


def monte_carlo_mi(x, y, log_joint, log_px, log_py):
    """E[log p(x, y) − log p(x) − log p(y)] over the samples, and its standard error."""
    v = log_joint(np.hstack([x, y])) - log_px(x) - log_py(y)
    return v.mean(), v.std() / math.sqrt(len(v))


@pytest.mark.parametrize("task", [
    D.sparse_normal(2, 2, 1.0), D.sparse_normal(5, 3, 0.5), D.dense_normal(5, 5, 1.0),
    D.dense_normal(3, 2, 2.0), D.sparse_normal(5, 5, 10.0, pairs=5),
], ids=lambda t: t.name)
def test_normal_mi_by_monte_carlo(task):
    x, y = task.sample(100_000, np.random.default_rng(0))
    dx = task.dims[0]
    cov = np.cov(np.hstack([x, y]).T)
    np.testing.assert_allclose(cov, task.cov, atol=0.02)          # it samples its Σ
    mc, se = monte_carlo_mi(x, y, stats.multivariate_normal(cov=task.cov).logpdf,
                            stats.multivariate_normal(cov=task.cov[:dx, :dx]).logpdf,
                            stats.multivariate_normal(cov=task.cov[dx:, dx:]).logpdf)
    assert task.mi == pytest.approx(mc, abs=5 * se + 1e-3)


@pytest.mark.parametrize("make, mi", [
    (lambda: D.sparse_normal(25, 25, 1.5), 1.5), (lambda: D.dense_normal(25, 25, 0.5), 0.5),
    (lambda: D.dense_normal(2, 2, 3.0), 3.0), (lambda: D.sparse_normal(5, 5, 8.0, pairs=5), 8.0),
])
def test_constructions_hit_their_target_by_log_determinants(make, mi):
    task = make()      # built from ρ formulas; .mi comes from log-determinants
    assert task.mi == pytest.approx(mi, rel=1e-9)
    assert np.linalg.eigvalsh(task.cov).min() > 0


@pytest.mark.parametrize("nu, correlation_mi, dims", [
    (1, 0.0, (1, 1)), (2, 0.0, (1, 1)), (5, 0.0, (2, 2)), (2, 0.0, (2, 2)), (2, 1.0, (2, 2)),
    (5, 0.5, (3, 2)),
])
def test_student_mi_by_monte_carlo(nu, correlation_mi, dims):
    task = D.student(*dims, nu, correlation_mi)
    x, y = task.sample(200_000, np.random.default_rng(1))
    dx = dims[0]
    t = lambda cov: stats.multivariate_t(shape=cov, df=nu).logpdf  # noqa: E731
    mc, se = monte_carlo_mi(x, y, t(task.cov), t(task.cov[:dx, :dx]), t(task.cov[dx:, dx:]))
    assert task.mi == pytest.approx(mc, abs=5 * se + 1e-3)
    if not correlation_mi:
        assert task.mi > 0.01           # uncorrelated, yet dependent through the shared scale


def test_student_bivariate_nu2_value():
    assert D.student(1, 1, 2).mi == pytest.approx(0.08268, abs=1e-5)


@pytest.mark.parametrize("eps", [0.05, 0.25, 0.5, 0.75, 2.0])
def test_additive_uniform_mi_by_integration(eps):
    task = D.AdditiveUniform(eps)
    w = 2 * eps

    def density(y):    # the convolution of U(0, 1) with U(−ε, ε), by its definition
        return max(0.0, min(1.0, y + eps) - max(0.0, y - eps)) / w

    def integrand(y):
        f = density(y)
        return -f * math.log(f) if f > 0 else 0.0
    edges = sorted({-eps, eps, 1 - eps, 1 + eps})
    h_y = sum(integrate.quad(integrand, a, b)[0] for a, b in zip(edges[:-1], edges[1:]))
    assert task.mi == pytest.approx(h_y - math.log(w), abs=1e-7)
    x, y = task.sample(1000, np.random.default_rng(2))
    assert (np.abs(y - x) <= eps).all() and 0 <= x.min() and x.max() <= 1


@pytest.mark.parametrize("name", list(D.MAPS))
def test_maps_are_increasing_so_mi_is_unchanged(name):
    t = np.linspace(-6, 6, 100_001)   # (the normal CDF saturates at 1.0 beyond ~8.3)
    assert (np.diff(D.MAPS[name](t)) > 0).all()
    base = D.dense_normal(2, 2, 1.0)
    task = D.Mapped(base, name)
    assert task.mi == base.mi and task.name == f"{name}({base.name})"
    x, y = task.sample(50, np.random.default_rng(3))
    bx, by = base.sample(50, np.random.default_rng(3))
    np.testing.assert_allclose(x, D.MAPS[name](bx))
    np.testing.assert_allclose(y, D.MAPS[name](by))
