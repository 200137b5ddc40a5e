"""Critics T(x, y): networks that score pairs. Called on a batch they return the
score matrix S[i, j] = T(x_i, y_j) that the bounds read (SPEC §1)."""
from . import ops
from .layers import MLP
from .module import Module


class ConcatCritic(Module):
    """An MLP on the concatenation [x; y].

    critic(x, y) -> (Bx, By) scores for every pair, without a loop over pairs:
    the first layer splits as [x; y]·W = x·W_x + y·W_y, so it costs two small
    matmuls and one broadcast sum instead of a matmul over Bx·By rows.
    critic.pairs(x, y) -> (N,) scores of the aligned pairs (x_i, y_i).
    """

    def __init__(self, x_dim, y_dim, hidden=(256, 256), init="normal", last_bias=True,
                 rng=None):
        self.x_dim, self.y_dim = x_dim, y_dim
        self.mlp = MLP([x_dim + y_dim, *hidden, 1], init=init, last_bias=last_bias, rng=rng)

    def pairs(self, x, y):
        """x (N, x_dim), y (N, y_dim) -> (N,) scores T(x_i, y_i)."""
        return self.mlp(ops.concatenate([x, y], axis=1)).reshape(-1)

    def forward(self, x, y):
        """x (Bx, x_dim), y (By, y_dim) -> (Bx, By) scores T(x_i, y_j)."""
        _check_dims("ConcatCritic", x, y, self.x_dim, self.y_dim)
        first, rest = self.mlp.layers[0], self.mlp.layers[1:]
        hx = ops.matmul(x, first.weight[:self.x_dim])                       # (Bx, H)
        hy = ops.linear(y, first.weight[self.x_dim:], first.bias)           # (By, H)
        h = ops.pairwise_sum(hx, hy, relu=True)                             # (Bx·By, H)
        for layer in rest[:-1]:
            h = layer(h, relu=True)
        return rest[-1](h).reshape(x.shape[0], y.shape[0])


class SeparableCritic(Module):
    """T(x, y) = g(x)·h(y) with two MLPs: critic(x, y) = g(x) h(y)ᵀ, (Bx, By)."""

    def __init__(self, x_dim, y_dim, hidden=(256, 256), embed_dim=32, init="normal",
                 activation="relu", rng=None):
        self.x_dim, self.y_dim = x_dim, y_dim
        self.g = MLP([x_dim, *hidden, embed_dim], activation=activation, init=init, rng=rng)
        self.h = MLP([y_dim, *hidden, embed_dim], activation=activation, init=init, rng=rng)

    def pairs(self, x, y):
        """x (N, x_dim), y (N, y_dim) -> (N,) scores g(x_i)·h(y_i)."""
        return (self.g(x) * self.h(y)).sum(axis=1)

    def forward(self, x, y):
        """x (Bx, x_dim), y (By, y_dim) -> (Bx, By)."""
        _check_dims("SeparableCritic", x, y, self.x_dim, self.y_dim)
        return ops.matmul(self.g(x), self.h(y).T)


def one_hot_critic(n=16, rng=None):
    """The one-hot study's critic: Linear(2n→64), ReLU, Linear(64→1) without bias,
    PyTorch's uniform init, on concatenated pairs."""
    return ConcatCritic(n, n, hidden=(64,), init="uniform", last_bias=False, rng=rng)


def _check_dims(name, x, y, x_dim, y_dim):
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != x_dim or y.shape[1] != y_dim:
        raise ValueError(f"{name}: expected x (B, {x_dim}) and y (B, {y_dim}), "
                         f"got {x.shape} and {y.shape}")
