"""Critics T(x, y): networks that score pairs. Called on a batch they return the
score matrix S[i, j] = T(x_i, y_j) that the bounds read (docs/method.md §1).

Both critics split into a per-row part and a cheap combination, so scoring many
pairs never recomputes a row's part:

    fx, fy = critic.features(x, y)      # once per row
    critic.combine(fx, fy)              # (Bx, By): every pair
    critic.combine_pairs(fx, fy)        # (N,): the aligned pairs (x_i, y_i)

It stands on minimi.engine alone (tests/packaging/test_layers.py).
"""
from .engine import checks, ops
from .engine.layers import MLP
from .engine.module import Module


class Critic(Module):
    """critic(x, y) -> (Bx, By) scores T(x_i, y_j); critic.pairs(x, y) -> (N,) T(x_i, y_i)."""

    def forward(self, x, y):
        """x (Bx, x_dim), y (By, y_dim) -> (Bx, By)."""
        if x.ndim != 2 or y.ndim != 2 or x.shape[1] != self.x_dim or y.shape[1] != self.y_dim:
            raise ValueError(f"{type(self).__name__}: expected x (B, {self.x_dim}) and "
                             f"y (B, {self.y_dim}), got {x.shape} and {y.shape}")
        return self.combine(*self.features(x, y))

    def pairs(self, x, y):
        """x (N, x_dim), y (N, y_dim) -> (N,) scores of the aligned pairs."""
        return self.combine_pairs(*self.features(x, y))

    @property
    def floats_per_pair(self):
        """Floats that combine() holds at once per scored pair (sizes scoring blocks)."""
        return 1


class ConcatCritic(Critic):
    """An MLP on the concatenation [x; y].

    The first layer splits as [x; y]·W = x·W_x + y·W_y: every pair then costs one
    broadcast sum instead of a matmul over Bx·By concatenated rows.
    """

    def __init__(self, x_dim, y_dim, hidden=(256, 256), init="normal", last_bias=True,
                 rng=None):
        """x_dim, y_dim: the columns of x and y (at least 1); hidden: at least one layer."""
        self.x_dim, self.y_dim = _dims(x_dim, y_dim, "ConcatCritic")
        hidden = checks.sizes("hidden", hidden, least=1, who="ConcatCritic")
        self.mlp = MLP([x_dim + y_dim, *hidden, 1], init=init, last_bias=last_bias, rng=rng)

    def features(self, x, y):
        """x·W_x (Bx, H) and y·W_y + b (By, H): the first layer before its ReLU."""
        first = self.mlp.layers[0]
        return (ops.matmul(x, first.weight[:self.x_dim]),
                ops.linear(y, first.weight[self.x_dim:], first.bias))

    @property
    def floats_per_pair(self):
        return max(layer.weight.shape[1] for layer in self.mlp.layers)

    def _rest(self, h):
        for layer in self.mlp.layers[1:-1]:
            h = layer(h, relu=True)
        return self.mlp.layers[-1](h)

    def combine(self, fx, fy):
        """(Bx, H), (By, H) -> (Bx, By)."""
        h = ops.pairwise_sum(fx, fy, relu=True)                   # (Bx·By, H)
        return self._rest(h).reshape(fx.shape[0], fy.shape[0])

    def combine_pairs(self, fx, fy):
        """(N, H), (N, H) -> (N,)."""
        return self._rest(ops.relu(fx + fy)).reshape(-1)


class SeparableCritic(Critic):
    """T(x, y) = g(x)·h(y) with two MLPs: critic(x, y) = g(x) h(y)ᵀ, (Bx, By)."""

    def __init__(self, x_dim, y_dim, hidden=(256, 256), embed_dim=32, init="normal",
                 activation="relu", rng=None):
        """x_dim, y_dim, embed_dim at least 1; hidden may be () (g and h linear)."""
        self.x_dim, self.y_dim = _dims(x_dim, y_dim, "SeparableCritic")
        hidden = checks.sizes("hidden", hidden, who="SeparableCritic")
        checks.integer("embed_dim", embed_dim, minimum=1, who="SeparableCritic")
        self.g = MLP([x_dim, *hidden, embed_dim], activation=activation, init=init, rng=rng)
        self.h = MLP([y_dim, *hidden, embed_dim], activation=activation, init=init, rng=rng)

    def features(self, x, y):
        """The embeddings g(x) (Bx, E) and h(y) (By, E)."""
        return self.g(x), self.h(y)

    def combine(self, fx, fy):
        """(Bx, E), (By, E) -> (Bx, By)."""
        return ops.matmul(fx, fy.T)

    def combine_pairs(self, fx, fy):
        """(N, E), (N, E) -> (N,)."""
        return (fx * fy).sum(axis=1)


def _dims(x_dim, y_dim, who):
    return (checks.integer("x_dim", x_dim, minimum=1, who=who),
            checks.integer("y_dim", y_dim, minimum=1, who=who))


def one_hot_critic(n=16, rng=None):
    """The one-hot study's critic: Linear(2n→64), ReLU, Linear(64→1) without bias,
    PyTorch's uniform init, on concatenated pairs."""
    return ConcatCritic(n, n, hidden=(64,), init="uniform", last_bias=False, rng=rng)
