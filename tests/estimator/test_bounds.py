"""The bounds against an independent reading of docs/method.md §1–2 (bound_reference.py)."""
import math

import numpy as np
import pytest
from bound_reference import penalty, reference

import minimi as mm
from minimi import bounds
from minimi.backend import to_numpy

rng = np.random.default_rng(5)
ALL = [name for name in bounds.BOUNDS if name != "mine_ema"]
REGULARIZED = [bounds.regularized(name) for name in bounds.ORIGINALS]


def case(pairing, B):
    """(scores as NumPy, labels) for a pairing; scale 3 puts some scores past τ=2."""
    if pairing == "gaussian":
        return 3 * rng.standard_normal((B, B)), None
    if pairing == "onehot":
        return (3 * rng.standard_normal(B), 3 * rng.standard_normal(B)), None
    if pairing == "supervised":
        return 3 * rng.standard_normal((B, 4)), rng.integers(0, 4, B)
    labels = np.arange(B) % max(1, B // 3)  # every label appears at least twice
    return 3 * rng.standard_normal((B, B)), labels


def tensors(S, requires_grad=False):
    if isinstance(S, tuple):
        return tuple(mm.Tensor(s, requires_grad=requires_grad) for s in S)
    return mm.Tensor(S, requires_grad=requires_grad)


def applicable(name, pairing):
    return not (pairing == "onehot" and "infonce" in name)


GRID = [(name, pairing, B, params)
        for name in ALL
        for pairing in ("gaussian", "onehot", "supervised", "contrastive")
        for B in (2, 7, 16)
        for params in ({}, {"lam": 0.3, "target": -0.5, "tau": 2.0})
        if applicable(name, pairing)]


@pytest.mark.parametrize("name, pairing, B, params", GRID)
def test_value_and_objective_match_reference(name, pairing, B, params):
    params = {k: v for k, v in params.items() if k in bounds.parameters(name)}
    S, labels = case(pairing, B)
    result = bounds.BOUNDS[name](tensors(S), pairing, labels, **params)
    value, objective = reference(name, S, pairing, labels, **params)
    assert result.value == pytest.approx(value, rel=1e-10, abs=1e-12)
    assert result.objective.item() == pytest.approx(objective, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", [n for n in ALL if "tau" in bounds.parameters(n)])
def test_the_default_clip_is_the_papers_tau_of_10(name):
    """Scores spread well past ±10, every parameter left at its default: the clip at
    τ = 10 (and the paper's λ and C) of the reference."""
    S = 8 * np.random.default_rng(5).standard_normal((16, 16))
    assert (np.abs(S) > 10).sum() > 20
    result = bounds.BOUNDS[name](tensors(S), "gaussian")
    value, objective = reference(name, S, "gaussian")
    assert result.value == pytest.approx(value, rel=1e-10, abs=1e-12)
    assert result.objective.item() == pytest.approx(objective, rel=1e-10, abs=1e-12)


# mine_ema is left out: its gradient is not that of a function of S alone (see
# test_mine_ema_gradient_divides_by_the_moving_average)
@pytest.mark.parametrize("name, pairing", [
    (name, pairing) for name in ALL for pairing in ("gaussian", "onehot", "supervised", "contrastive")
    if applicable(name, pairing)])
def test_objective_gradient(name, pairing):
    S, labels = case(pairing, 6)
    inputs = list(S) if isinstance(S, tuple) else [S]

    def objective(*scores):
        scores = tuple(scores) if len(scores) == 2 else scores[0]
        return bounds.BOUNDS[name](scores, pairing, labels, **{}).objective

    assert mm.gradcheck(objective, inputs)


@pytest.mark.parametrize("name", REGULARIZED)
@pytest.mark.parametrize("pairing", ["gaussian", "supervised", "contrastive"])
def test_regularizer_gradient_is_minus_lambda_times_penalty_gradient(name, pairing):
    S, labels = case(pairing, 5)
    params = {"lam": 0.7, "target": 0.3}

    def grad(lam):
        x = mm.Tensor(S, requires_grad=True)
        bounds.BOUNDS[name](x, pairing, labels, **{**params, "lam": lam}).objective.backward()
        return to_numpy(x.grad)

    difference = grad(0.7) - grad(0.0)  # twin minus its base training gradient
    eps, fd = 1e-6, np.zeros_like(S)
    for index in np.ndindex(*S.shape):
        plus, minus = S.copy(), S.copy()
        plus[index] += eps
        minus[index] -= eps
        fd[index] = (penalty(name, plus, pairing, labels, **params)
                     - penalty(name, minus, pairing, labels, **params)) / (2 * eps)
    np.testing.assert_allclose(difference, -fd, rtol=1e-5, atol=1e-8)


# ---- identities (docs/method.md §2) ----------------------------------------------------------------

def test_identities_on_all_zero_scores():
    S = mm.Tensor(np.zeros((6, 6)))
    for name in ("mine", "smile", "infonce", "tuba"):
        assert bounds.BOUNDS[name](S).value == pytest.approx(0.0, abs=1e-15), name
    assert bounds.nwj(S).value == pytest.approx(-1 / math.e)
    assert bounds.js(S).objective.item() == pytest.approx(-2 * math.log(2))


@pytest.mark.parametrize("B", [2, 8, 64])
def test_infonce_never_exceeds_log_batch(B):
    for scale in (1.0, 10.0, 100.0):
        S = scale * rng.standard_normal((B, B)) + np.diag(np.full(B, 50.0))
        assert bounds.infonce(mm.Tensor(S)).value <= math.log(B) + 1e-12


@pytest.mark.parametrize("base", bounds.ORIGINALS)
def test_regularized_value_equals_base_value(base):
    S = 0.5 * rng.standard_normal((8, 8))  # inside ±τ, where the clipped twins agree too
    twin = bounds.regularized(base)
    assert bounds.BOUNDS[twin](mm.Tensor(S)).value == pytest.approx(
        bounds.BOUNDS[base](mm.Tensor(S)).value, rel=1e-12)


def test_js_reports_the_nwj_value_and_trains_on_the_js_objective():
    """By hand on a 2×2 matrix: S_J = (a, d), S_M = (b, c)."""
    a, b, c, d = 1.0, -0.5, 0.25, 2.0
    result = bounds.js(mm.Tensor(np.array([[a, b], [c, d]])))
    nwj_value = (a + d) / 2 - (math.exp(b - 1) + math.exp(c - 1)) / 2
    softplus = lambda t: math.log1p(math.exp(t))  # noqa: E731
    js_objective = -(softplus(-a) + softplus(-d)) / 2 - (softplus(b) + softplus(c)) / 2
    assert result.value == pytest.approx(nwj_value, rel=1e-12)
    assert result.objective.item() == pytest.approx(js_objective, rel=1e-12)


# ---- clipping -------------------------------------------------------------------------

def test_clipped_entries_get_no_gradient_from_smile_but_do_from_resmile():
    S = rng.standard_normal((4, 4))
    S[0, 1], S[2, 3] = 15.0, -12.0  # off-diagonal (marginal) entries beyond τ = 10
    grads = {}
    for name in ("smile", "resmile"):
        x = mm.Tensor(S, requires_grad=True)
        bounds.BOUNDS[name](x).objective.backward()
        grads[name] = to_numpy(x.grad)
    assert grads["smile"][0, 1] == 0.0 and grads["smile"][2, 3] == 0.0
    assert grads["resmile"][0, 1] < 0.0 and grads["resmile"][2, 3] != 0.0


# ---- float32 stability ---------------------------------------------------------------

def huge(pairing):
    S = np.array([[1e4, -1e4, 5.0], [1e4, -1e4, 0.0], [-1e4, 2.0, 1e4]], dtype=np.float32)
    if pairing == "onehot":
        return (mm.Tensor(S.diagonal().copy()), mm.Tensor(S[0].copy())), None
    if pairing == "supervised":
        return mm.Tensor(S), np.array([0, 1, 2])
    if pairing == "contrastive":
        return mm.Tensor(S), np.array([0, 0, 1])
    return mm.Tensor(S), None


@pytest.mark.parametrize("pairing", ["gaussian", "onehot", "supervised", "contrastive"])
def test_dv_family_and_regularizers_stay_finite_at_1e4_in_float32(pairing):
    scores, labels = huge(pairing)
    names = ["mine", "smile", "remine", "resmile", "smile_js", "mine_ema"]
    if pairing != "onehot":
        names += ["infonce", "reinfonce"]
    with np.errstate(over="raise", invalid="raise"):  # not even a warning
        for name in names:
            result = bounds.BOUNDS[name](scores, pairing, labels)
            assert result.objective.dtype == np.float32, name
            assert np.isfinite(result.value) and np.isfinite(result.objective.item()), name
            if result.penalty is not None:
                assert np.isfinite(result.penalty.item()), name
    # js and rejs train on softplus terms, which stay finite; they report the NWJ
    # value, which overflows like NWJ's
    with np.errstate(over="ignore"):
        for name in ("js", "rejs"):
            result = bounds.BOUNDS[name](scores, pairing, labels)
            assert np.isfinite(result.objective.item()), name
            assert result.penalty is None or np.isfinite(result.penalty.item()), name
            assert result.value == bounds.nwj(scores, pairing, labels).value


def test_nwj_and_tuba_overflow_exactly_where_the_formula_does():
    with np.errstate(over="ignore"):
        S = mm.Tensor(np.array([[0.0, 89.0], [0.0, 0.0]], dtype=np.float32))
        # exp(89) overflows float32 (max ≈ exp(88.72)); exp(89 − 1) does not
        assert bounds.tuba(S).value == -np.inf
        assert np.isfinite(bounds.nwj(S).value)
        S = mm.Tensor(np.array([[0.0, 90.0], [0.0, 0.0]], dtype=np.float32))
        assert bounds.nwj(S).value == -np.inf
        assert bounds.js(S).value == -np.inf and np.isfinite(bounds.js(S).objective.item())
        # the regularized twins clip their value's scores at τ
        assert np.isfinite(bounds.renwj(S).value) and np.isfinite(bounds.retuba(S).value)


# ---- MINE with a moving average ------------------------------------------------------------

def test_mine_ema_gradient_divides_by_the_moving_average():
    loss = bounds.make("mine_ema")
    S1, S2 = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    loss(mm.Tensor(S1))
    x = mm.Tensor(S2, requires_grad=True)
    result = loss(x)
    off = ~np.eye(5, dtype=bool)
    means = [np.exp(S[off]).mean() for S in (S1, S2)]
    ema = 0.9 * means[0] + 0.1 * means[1]
    assert math.exp(loss.state.log_ema) == pytest.approx(ema, rel=1e-12)
    result.objective.backward()
    expected = np.diag(np.full(5, 1 / 5)) - np.where(off, np.exp(S2) / (20 * ema), 0.0)
    np.testing.assert_allclose(to_numpy(x.grad), expected, rtol=1e-10)
    assert result.value == pytest.approx(bounds.mine(mm.Tensor(S2)).value)


# ---- statistical sanity: the true log density ratio as critic -------------------------

def test_true_critic_recovers_two_nats_on_a_20d_gaussian():
    d, mi, B = 20, 2.0, 64
    rho = math.sqrt(1 - math.exp(-2 * mi / d))
    r = np.random.default_rng(0)
    values = {"nwj": [], "tuba": [], "mine": [], "infonce": []}
    for _ in range(200):
        x = r.standard_normal((B, d))
        y = rho * x + math.sqrt(1 - rho ** 2) * r.standard_normal((B, d))
        # log p(y_j | x_i) − log p(y_j), summed over dimensions
        diff = y[None, :, :] - rho * x[:, None, :]
        ratio = (-(diff ** 2).sum(-1) / (2 * (1 - rho ** 2)) - d / 2 * math.log(1 - rho ** 2)
                 + (y ** 2).sum(-1)[None, :] / 2)
        values["nwj"].append(bounds.nwj(mm.Tensor(ratio + 1.0)).value)
        for name in ("tuba", "mine", "infonce"):
            values[name].append(bounds.BOUNDS[name](mm.Tensor(ratio)).value)
    for name in ("nwj", "tuba", "mine"):
        assert abs(np.mean(values[name]) - mi) < 0.1, (name, np.mean(values[name]))
    assert np.mean(values["infonce"]) < math.log(B)


# ---- validation and the registry ---------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: bounds.remine(mm.Tensor(np.zeros((3, 3))), lam=-1.0), "lam"),
    (lambda: bounds.smile(mm.Tensor(np.zeros((3, 3))), tau=0.0), "tau"),
    (lambda: bounds.remine(mm.Tensor(np.zeros((3, 3))), lam=float("inf")), "lam.*finite"),
    (lambda: bounds.renwj(mm.Tensor(np.zeros((3, 3))), target=float("nan")), "target.*finite"),
    (lambda: bounds.make("retuba", tau=float("inf")), "retuba: tau.*finite"),
    (lambda: bounds.make("mine_ema", momentum=1.0), "mine_ema: momentum must be less than 1"),
    (lambda: bounds.parse("rejs:lam=nan"), "rejs: lam.*finite"),
    (lambda: bounds.mine(mm.Tensor(np.zeros((3, 4)))), r"square.*\(3, 4\)"),
    (lambda: bounds.mine(mm.Tensor(np.zeros((1, 1)))), "empty marginal set"),
    (lambda: bounds.mine(mm.Tensor(np.zeros((3, 4))), "supervised", np.array([0, 1])),
     r"labels of shape \(2,\).*3 score rows"),
    (lambda: bounds.mine(mm.Tensor(np.zeros((3, 4))), "supervised", np.array([0, 1, 4])),
     r"\[0, 4\)"),
    (lambda: bounds.mine(mm.Tensor(np.zeros((3, 3))), "contrastive", np.array([0, 1, 1, 2])),
     r"labels of shape \(4,\)"),
    (lambda: bounds.mine(mm.Tensor(np.zeros((3, 3))), labels=np.array([0, 1, 1])),
     "without a pairing"),
    (lambda: bounds.mine(mm.Tensor(np.zeros((3, 3))), "diagonal"), "unknown pairing"),
    (lambda: bounds.mine((mm.Tensor(np.zeros(3)), mm.Tensor(np.zeros(0)))), "empty"),
    (lambda: bounds.infonce((mm.Tensor(np.zeros(3)), mm.Tensor(np.zeros(3)))), "InfoNCE"),
])
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_parameters_edges_are_allowed():
    """λ = 0 (λ ≥ 0) is the unregularized bound: the objective is the value, as the
    reference has it; any τ > 0 clips, 0.5 as the reference does."""
    S = rng.standard_normal((6, 6))
    result = bounds.remine(mm.Tensor(S), lam=0.0)
    value, objective = reference("remine", S, "gaussian", lam=0.0)
    assert objective == pytest.approx(value, rel=1e-12)
    assert result.objective.item() == pytest.approx(objective, rel=1e-10)
    clipped = bounds.smile(mm.Tensor(S), tau=0.5)
    assert clipped.value == pytest.approx(reference("smile", S, "gaussian", tau=0.5)[0],
                                          rel=1e-10)


def test_contrastive_batch_without_positives_is_its_own_error():
    with pytest.raises(bounds.NoPositivePairs):
        bounds.mine(mm.Tensor(np.zeros((3, 3))), "contrastive", np.array([0, 1, 2]))


def test_registry_twins_and_parameters():
    assert len(bounds.BOUNDS) == 14
    assert [bounds.regularized(n) for n in bounds.ORIGINALS] == [
        "remine", "resmile", "reinfonce", "renwj", "retuba", "rejs"]
    assert bounds.original("renwj") == "nwj"
    assert bounds.parameters("renwj") == {"lam": 1.0, "target": 1.0, "tau": 10.0}
    assert bounds.parameters("rejs") == {"lam": 1.0, "target": 1.0}
    assert bounds.parameters("mine") == {}
    with pytest.raises(ValueError, match="no regularized twin"):
        bounds.regularized("remine")
    with pytest.raises(ValueError, match="unknown bound 'mien'.*remine"):
        bounds.make("mien")
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) tau; valid: lam=1.0, target=0.0"):
        bounds.make("remine", tau=3.0)
    assert bounds.parse("renwj:target=0, lam=0.5") == ("renwj", {"target": 0.0, "lam": 0.5})
    with pytest.raises(ValueError, match="must be a number"):
        bounds.parse("remine:lam=big")


def test_make_binds_parameters():
    S = mm.Tensor(rng.standard_normal((4, 4)))
    loss = bounds.make("renwj", target=0.0, lam=0.5)
    assert loss(S).objective.item() == pytest.approx(
        bounds.renwj(S, target=0.0, lam=0.5).objective.item())


def test_mine_ema_floors_its_moving_average_at_1e_4():
    """A batch whose mean(exp(sm)) is e^−20 leaves the average at 1e-4, not below."""
    state = bounds.MovingAverage(momentum=0.9)
    assert math.exp(float(state.update(np.array(-20.0)))) == pytest.approx(1e-4, rel=1e-12)
    assert math.exp(float(state.update(np.array(0.0)))) == pytest.approx(0.9e-4 + 0.1,
                                                                         rel=1e-12)


def test_mine_ema_with_momentum_zero_uses_the_batch_alone():
    loss = bounds.make("mine_ema", momentum=0.0)       # log(0) must not be taken
    loss(mm.Tensor(rng.standard_normal((4, 4))))
    S = rng.standard_normal((4, 4))
    loss(mm.Tensor(S))
    off = ~np.eye(4, dtype=bool)
    assert math.exp(float(to_numpy(loss.state.log_ema))) == pytest.approx(np.exp(S[off]).mean())
