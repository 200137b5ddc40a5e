"""Layers, critics and SmallCNN: values, end-to-end gradient checks, init, learning."""
import numpy as np
import pytest

import minimi as mm
from minimi.backend import to_numpy

rng = np.random.default_rng(11)


def T(a, dtype=np.float64):
    return mm.Tensor(np.asarray(a, dtype=dtype))


def test_concat_critic_matrix_equals_the_mlp_on_every_concatenated_pair():
    critic = mm.ConcatCritic(3, 2, hidden=(8, 8), rng=0).astype(np.float64)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((5, 2))
    S = to_numpy(critic(T(x), T(y)).data)
    assert S.shape == (4, 5)
    for i in range(4):
        for j in range(5):
            pair = T(np.concatenate([x[i], y[j]])[None])
            assert S[i, j] == pytest.approx(to_numpy(critic.mlp(pair).data)[0, 0], rel=1e-12)
    np.testing.assert_allclose(to_numpy(critic.pairs(T(x[:2]), T(y[:2])).data), S[[0, 1], [0, 1]])


def test_separable_critic_is_a_dot_product_of_embeddings():
    critic = mm.SeparableCritic(3, 2, hidden=(8,), embed_dim=4, rng=0).astype(np.float64)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((5, 2))
    gx, hy = to_numpy(critic.g(T(x)).data), to_numpy(critic.h(T(y)).data)
    np.testing.assert_allclose(to_numpy(critic(T(x), T(y)).data), gx @ hy.T, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(critic.pairs(T(x[:3]), T(y[:3])).data),
                               np.sum(gx[:3] * hy[:3], axis=1), rtol=1e-12)


def test_one_hot_critic_layout():
    critic = mm.one_hot_critic(16, rng=0)
    names = {name: p.shape for name, p in critic.named_parameters()}
    assert names == {"mlp.layers.0.weight": (32, 64), "mlp.layers.0.bias": (64,),
                     "mlp.layers.1.weight": (64, 1)}


def test_critic_rejects_wrong_dimensions():
    with pytest.raises(ValueError, match=r"x \(B, 3\).*\(4, 2\)"):
        mm.ConcatCritic(3, 2)(T(np.ones((4, 2))), T(np.ones((4, 2))))


@pytest.mark.parametrize("make", [
    lambda: mm.ConcatCritic(3, 2, hidden=(6, 5), rng=1),
    lambda: mm.SeparableCritic(3, 2, hidden=(6,), embed_dim=4, rng=1),
], ids=["concat", "separable"])
def test_critic_gradients_end_to_end(make):
    critic = make()
    x, y = T(rng.standard_normal((4, 3))), T(rng.standard_normal((4, 2)))
    assert mm.gradcheck_module(critic, lambda: mm.logsumexp(critic(x, y), axis=1))


def test_small_cnn_gradients_end_to_end():
    cnn = mm.SmallCNN(num_classes=3, in_channels=1, rng=2)
    images = T(rng.standard_normal((2, 32, 32, 1)))
    labels = np.array([0, 2])
    # large parameters are checked along a random direction, small ones entry by entry;
    # a small step keeps the thousands of ReLU/max-pool kinks from being crossed
    assert mm.gradcheck_module(cnn, lambda: mm.cross_entropy(cnn(images), labels),
                               max_entries=40, eps=1e-7)


def test_small_cnn_heads_and_input_check():
    images = T(np.zeros((2, 32, 32, 3)), np.float32)
    assert mm.SmallCNN(num_classes=7, rng=0)(images).shape == (2, 7)
    assert mm.SmallCNN(head="embedding", rng=0)(images).shape == (2, 256)
    names = [name for name, _ in mm.SmallCNN(head="embedding", rng=0).named_parameters()]
    assert names[-2:] == ["head.weight", "head.bias"]
    with pytest.raises(ValueError, match=r"\(N, 32, 32, C\).*\(2, 3, 32, 32\)"):
        mm.SmallCNN(rng=0)(T(np.zeros((2, 3, 32, 32))))
    with pytest.raises(ValueError, match="unknown head"):
        mm.SmallCNN(head="both")


def test_embeddings_and_their_gram_entries_can_be_negative():
    """CLB's scores are Z Zᵀ: after a ReLU every entry of Z, and of Z Zᵀ, would be ≥ 0
    whatever the weights. The linear head can centre a batch's embeddings (bias =
    −their mean); then every Gram row sums to 0, so some entries are negative."""
    images = T(np.random.default_rng(4).standard_normal((16, 32, 32, 3)), np.float32)
    cnn = mm.SmallCNN(head="embedding", rng=5)
    cnn.head.bias.data[...] -= cnn(images).data.mean(axis=0)     # on the device
    Z = cnn(images).numpy()
    gram = Z @ Z.T
    assert (Z < 0).mean() > 0.2 and gram.min() < 0
    np.testing.assert_allclose(gram.sum(axis=1), 0.0, atol=1e-4 * np.abs(gram).max())


def test_linear_initializations():
    uniform = mm.Linear(400, 300, init="uniform", rng=0)
    bound = 1 / np.sqrt(400)
    w = to_numpy(uniform.weight.data)
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.abs(to_numpy(uniform.bias.data)).max() <= bound
    normal = mm.Linear(400, 300, init="normal", rng=0)
    assert np.std(to_numpy(normal.weight.data)) == pytest.approx(0.05, rel=0.02)
    assert not to_numpy(normal.bias.data).any()
    assert mm.Linear(3, 2, bias=False).bias is None
    with pytest.raises(ValueError, match="unknown init 'xavier'"):
        mm.Linear(3, 2, init="xavier")


def test_same_seed_same_weights():
    a, b = mm.MLP([3, 5, 1], rng=4), mm.MLP([3, 5, 1], rng=4)
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(to_numpy(p.data), to_numpy(q.data))


def test_module_naming_and_modes():
    cnn = mm.SmallCNN(rng=0)
    names = [name for name, _ in cnn.named_parameters()]
    assert names[:2] == ["convs.0.weight", "convs.0.bias"] and names[-1] == "head.bias"
    assert len(names) == 10
    cnn.eval()
    assert not cnn.training and not cnn.convs[2].training
    cnn.train()
    assert cnn.fc.training


def test_mlp_fits_xor():
    x = T([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    target = np.array([0, 1, 1, 0])
    mlp = mm.MLP([2, 16, 2], activation="tanh", rng=0)
    opt = mm.Adam(mlp.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        mm.cross_entropy(mlp(x), target).backward()
        opt.step()
    np.testing.assert_array_equal(to_numpy(mlp(x).data).argmax(axis=1), target)


def _pattern_images(n, classes, seed):
    """Noisy images whose class is a bright 8x8 patch at a class-dependent place."""
    r = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    images = 0.5 * r.standard_normal((n, 32, 32, 3)).astype(np.float32)
    for k in range(classes):
        row, col = divmod(k, 2)
        images[labels == k, 4 + 16 * row:12 + 16 * row, 4 + 16 * col:12 + 16 * col, :] += 1.5
    return images, labels


@pytest.mark.slow
def test_small_cnn_learns_a_class_dependent_pattern():
    images, labels = _pattern_images(128, 4, seed=0)
    cnn = mm.SmallCNN(num_classes=4, rng=0)
    opt = mm.Adam(cnn.parameters(), lr=1e-3)
    order = np.random.default_rng(1)
    accuracy = 0.0
    # stop once it has learned: past that, confident logits give subnormal gradients,
    # which make a CPU's float arithmetic many times slower (docs/performance.md)
    for step in range(1, 201):
        batch = order.choice(128, 32, replace=False)
        opt.zero_grad()
        mm.cross_entropy(cnn(mm.Tensor(images[batch])), labels[batch]).backward()
        opt.step()
        if step % 10 == 0:
            with mm.no_grad():
                predicted = to_numpy(cnn(mm.Tensor(images)).data).argmax(axis=1)
            accuracy = (predicted == labels).mean()
            if accuracy >= 0.95:
                break
    assert accuracy >= 0.95, f"accuracy {accuracy:.2f} after {step} steps"
