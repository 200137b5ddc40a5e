"""Distributions whose mutual information is known in closed form, after the
constructions of Czyż et al., "Beyond Normal" (NeurIPS 2023), written here from
their definitions.

    task = sparse_normal(5, 5, mi=1.0)
    x, y = task.sample(5000, np.random.default_rng(0))      # (5000, 5) each
    task.mi                                                  # 1.0 nats, exactly

MI is unchanged by an invertible map of each coordinate, so `Mapped(task, name)`
keeps its base's MI while its marginals change completely.
"""
import math

import numpy as np
from scipy import special


class Task:
    """A joint distribution of (X, Y) with a known I(X; Y) in nats."""

    name, family, mi, dims = "", "", 0.0, (1, 1)

    def sample(self, n, rng):  # pragma: no cover - interface
        raise NotImplementedError


# ---- multivariate normal ---------------------------------------------------------------------

def gaussian_mi(cov, dx):
    """I(X; Y) of a joint Gaussian with covariance `cov`, X the first dx coordinates:
    ½ (log|Σ_XX| + log|Σ_YY| − log|Σ|)."""
    logdet = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
    return 0.5 * (logdet(cov[:dx, :dx]) + logdet(cov[dx:, dx:]) - logdet(cov))


class Normal(Task):
    family = "normal"

    def __init__(self, name, cov, dx):
        self.name, self.cov, self.dims = name, np.asarray(cov, float), (dx, len(cov) - dx)
        self.mi = gaussian_mi(self.cov, dx)
        self.chol = np.linalg.cholesky(self.cov)

    def sample(self, n, rng):
        z = rng.standard_normal((n, len(self.cov))) @ self.chol.T
        return z[:, :self.dims[0]], z[:, self.dims[0]:]


def sparse_normal(dx, dy, mi, pairs=None):
    """Unit variances; only `pairs` coordinate pairs (x_i, y_i) are correlated, each
    with ρ such that the total is `mi`: I = −(k/2)·log(1 − ρ²). Default: one
    interacting pair per 5 coordinates, at least one."""
    k = pairs or max(1, min(dx, dy) // 5)
    rho = math.sqrt(1.0 - math.exp(-2.0 * mi / k))
    cov = np.eye(dx + dy)
    for i in range(k):
        cov[i, dx + i] = cov[dx + i, i] = rho
    return Normal(f"normal-sparse-{dx}x{dy}-{_nats(mi)}" if pairs is None else
                  f"normal-{k}pairs-{dx}x{dy}-{_nats(mi)}", cov, dx)


def dense_normal(dx, dy, mi, within=0.3):
    """Every coordinate correlated with every other: correlation `within` inside X and
    inside Y, b between them, b chosen for `mi`. The cross-covariance b·11ᵀ has one
    canonical correlation, b·sqrt(dx·dy / ((1 + (dx−1)·within)(1 + (dy−1)·within)))."""
    spread = math.sqrt((1 + (dx - 1) * within) * (1 + (dy - 1) * within) / (dx * dy))
    b = math.sqrt(1.0 - math.exp(-2.0 * mi)) * spread
    cov = np.full((dx + dy, dx + dy), b)
    cov[:dx, :dx] = cov[dx:, dx:] = within
    np.fill_diagonal(cov, 1.0)
    return Normal(f"normal-dense-{dx}x{dy}-{_nats(mi)}", cov, dx)


# ---- invertible maps of each coordinate ------------------------------------------------------

MAPS = {
    "uniform": special.ndtr,                                  # the normal CDF: U(0, 1) marginals
    "halfcube": lambda t: t * np.sqrt(np.abs(t)),             # t·|t|^(1/2)
    "asinh": np.arcsinh,
    # increasing: its derivative is 1 + 0.3 cos t + 0.3 cos(3t + 0.3) ≥ 0.4
    "wiggly": lambda t: t + 0.3 * np.sin(t) + 0.1 * np.sin(3 * t + 0.3),
}


class Mapped(Task):
    """A task seen through one of MAPS, applied to every coordinate of X and of Y."""

    def __init__(self, base, map_name):
        self.base, self.map = base, MAPS[map_name]
        self.name, self.family = f"{map_name}({base.name})", f"{base.family}, mapped"
        self.mi, self.dims = base.mi, base.dims

    def sample(self, n, rng):
        x, y = self.base.sample(n, rng)
        return self.map(x), self.map(y)


# ---- multivariate Student t -------------------------------------------------------------------

def _t_term(nu, d):
    """The part of a d-dimensional Student-t's entropy that depends on ν and d only,
    less the (νπ)^(d/2) factor that cancels in the MI."""
    return (special.gammaln(nu / 2) - special.gammaln((nu + d) / 2)
            + (nu + d) / 2 * (special.digamma((nu + d) / 2) - special.digamma(nu / 2)))


class Student(Task):
    """(X, Y) = Z·sqrt(ν/U), Z ~ N(0, Σ), U ~ χ²_ν: heavy tails, and MI
    I_gauss(Σ) + t(ν, dx) + t(ν, dy) − t(ν, dx + dy) > 0 even when Σ is diagonal."""

    family = "student-t"

    def __init__(self, name, cov, dx, nu):
        self.name, self.cov, self.nu = name, np.asarray(cov, float), nu
        self.dims = (dx, len(cov) - dx)
        dy = self.dims[1]
        self.mi = gaussian_mi(self.cov, dx) + _t_term(nu, dx) + _t_term(nu, dy) - \
            _t_term(nu, dx + dy)
        self.chol = np.linalg.cholesky(self.cov)

    def sample(self, n, rng):
        z = rng.standard_normal((n, len(self.cov))) @ self.chol.T
        z *= np.sqrt(self.nu / rng.chisquare(self.nu, n))[:, None]
        return z[:, :self.dims[0]], z[:, self.dims[0]:]


def student(dx, dy, nu, correlation_mi=0.0):
    """Student-t with identity dispersion (uncorrelated, MI from the shared scale
    alone) or with a sparse Gaussian part of `correlation_mi` nats."""
    cov = np.eye(dx + dy) if not correlation_mi else sparse_normal(dx, dy, correlation_mi).cov
    what = "uncorrelated" if not correlation_mi else f"corr{_nats(correlation_mi)}"
    return Student(f"student-nu{nu}-{dx}x{dy}-{what}", cov, dx, nu)


# ---- additive uniform noise ----------------------------------------------------------------------

class AdditiveUniform(Task):
    """X ~ U(0, 1), Y = X + N, N ~ U(−ε, ε). With w = 2ε: h(Y | X) = log w, and
    h(Y) = w/2 for w ≤ 1 (two linear ramps of length w around a flat top),
    1/(2w) + log w for w ≥ 1; so I = w/2 − log w, or 1/(2w)."""

    family = "additive noise"

    def __init__(self, eps):
        self.eps, self.dims = eps, (1, 1)
        w = 2 * eps
        self.mi = w / 2 - math.log(w) if w <= 1 else 1 / (2 * w)
        self.name = f"additive-uniform-eps{eps:g}"

    def sample(self, n, rng):
        x = rng.random((n, 1))
        return x, x + rng.uniform(-self.eps, self.eps, (n, 1))


def _nats(mi):
    return f"{mi:g}nats"
