"""Training the critic for minimi.estimate: the step loop, and beside it the rule that
keeps the best checkpoint and stops early.

    run = train(data, s, rng, progress, start)   # a Run: the critic at its best checkpoint

Before training and every `eval_every` steps the validation split is scored
(heldout.py, by the rule that is right at the bound's optimum); the best checkpoint
is kept. Patience counts validation scores in a row without a gain beyond noise: a
better checkpoint by less than GAIN_Z standard errors of the difference is kept, but
does not restart the count. A critic trained past that point only overfits.
"""
import dataclasses
import math
import time

import numpy as np

from .. import bounds
from ..critics import ConcatCritic, SeparableCritic
from ..engine.optim import Adam
from ..engine.tensor import Tensor
from . import heldout

# A new best checkpoint restarts the patience count only when it beats the old one by
# more than GAIN_Z standard errors of their difference on the validation rows: the
# validation score of a critic that has stopped learning drifts up by noise alone
# (docs/estimator.md shows it), and each such "gain" kept it training.
GAIN_Z = 1.0


@dataclasses.dataclass
class Checkpoint:
    """A critic's validation score and where it was taken."""
    value: float = -math.inf      # the validation estimate (nats)
    scores: object = None         # its heldout.RowScores; None before any trained step
    step: int = 0                 # 0: the untrained critic
    weights: dict = None          # the critic's state_dict() then


@dataclasses.dataclass
class Run:
    """What training left: the critic at its best checkpoint, and how it got there."""
    model: object                 # the critic, its best checkpoint's weights loaded
    loss: object                  # the bound it trained on (bounds.make)
    rule: str                     # how its critic is scored on held-out pairs
    best_step: int                # the step of the best checkpoint (0: none beat -inf)
    steps_run: int
    best_value: float             # the best checkpoint's validation estimate; None: none
    untrained_value: float        # the untrained critic's, on the same rows
    untrained_fit: float          # the untrained critic's on a sample of training rows
    since_best: int               # validation scores since the last gain beyond noise
    diverged_at: int              # the step the value or objective went NaN/inf, or None
    validation: list              # (step, validation estimate) pairs, step 0 untrained
    validation_scores: object     # the best checkpoint's heldout.RowScores
    curve: list                   # the training batch's value at every step


class Patience:
    """The early-stopping rule: `see` each validation score; `best` is the best
    checkpoint, and `done` once `patience` scores in a row brought no gain beyond noise."""

    def __init__(self, patience, rule, noise):
        self.patience, self.rule, self.noise = patience, rule, noise
        self.best, self.since_best = Checkpoint(), 0

    @property
    def done(self):
        return self.since_best >= self.patience

    def see(self, step, value, scores, model):
        if math.isfinite(value) and value > self.best.value:
            # any better checkpoint is kept; only a gain beyond noise buys more time
            gained = self.best.scores is None or value - self.best.value > \
                GAIN_Z * heldout.gain_stderr(scores, self.best.scores, self.rule, self.noise)
            self.best = Checkpoint(value, scores, step, model.state_dict())
            self.since_best = 0 if gained else self.since_best + 1
        else:
            self.since_best += 1


def make_critic(s, dx, dy):
    init = np.random.default_rng(s.seed + 1)
    if s.critic == "separable":
        return SeparableCritic(dx, dy, hidden=s.hidden, embed_dim=s.embed_dim, init="uniform",
                               activation=s.activation, rng=init)
    return ConcatCritic(dx, dy, hidden=s.hidden, init="uniform", rng=init)


def train(data, s, rng, progress, start):
    """Train a critic on data.splits['train'] (recipe.Prepared) with settings `s`; a Run."""
    loss = bounds.make(s.bound, **s.bound_params())
    xt, yt = (a.astype(np.float32) for a in data.splits["train"])  # on the host
    model = make_critic(s, xt.shape[1], yt.shape[1])
    opt = Adam(model.parameters(), lr=s.lr)
    batch_size = min(s.batch_size, len(xt))

    def validate():
        """(value, RowScores) of the validation split."""
        scores = data.scores(model, "val", s, rng)
        return scores.value(loss.held_out), scores

    # The untrained critic's score is the reference, not a candidate: on independent data
    # every trained checkpoint falls below it (training fits the training rows' noise)
    untrained = validate()[0]
    untrained_fit = data.scores(model, "train_sample", s, rng).value(loss.held_out)
    # for gain_stderr: the batches' rng is left alone
    patience = Patience(s.patience, loss.held_out, np.random.default_rng([s.seed, 2]))
    patience.best.weights = model.state_dict()
    validation, curve = [(0, finite(untrained))], []
    diverged_at, step, order = None, 0, np.empty(0, dtype=np.int64)
    while step < s.steps and not patience.done:
        step += 1
        if len(order) < batch_size:            # a fresh shuffle of the training rows
            order = rng.permutation(len(xt))
        idx, order = order[:batch_size], order[batch_size:]
        logged = step_once(model, loss, opt, xt[idx], yt[idx])
        curve.append(finite(logged["value"]))
        if not (math.isfinite(logged["value"]) and math.isfinite(logged["objective"])):
            diverged_at = step
            break
        if step % s.eval_every == 0 or step == s.steps:
            v, scores = validate()
            validation.append((step, finite(v)))
            patience.see(step, v, scores, model)
            if progress:
                best = patience.best
                rate = step / (time.perf_counter() - start)
                progress(f"step {step}/{s.steps}: train {logged['value']:.3f}, validation "
                         f"{v:.3f} nats (best {best.value:.3f} at step {best.step}), "
                         f"{rate:.0f} steps/s, at most {(s.steps - step) / rate:.0f}s left")
    best = patience.best
    model.load_state_dict(best.weights)
    return Run(model=model, loss=loss, rule=loss.held_out, best_step=best.step,
               steps_run=step, best_value=finite(best.value), untrained_value=finite(untrained),
               untrained_fit=finite(untrained_fit), since_best=patience.since_best,
               diverged_at=diverged_at, validation=validation, validation_scores=best.scores,
               curve=curve)


def step_once(model, loss, opt, x, y):
    """One step of Adam on a batch, ascending the bound's objective; its numbers
    ({'value', 'objective', ...}) in one device→host copy. Nothing is updated when the
    value or the objective is not finite."""
    result = loss(model(Tensor(x), Tensor(y)))
    logged = result.numbers()
    if math.isfinite(logged["value"]) and math.isfinite(logged["objective"]):
        opt.zero_grad()
        (-result.objective).backward()
        opt.step()
    return logged


def finite(v):
    return v if v is not None and math.isfinite(v) else None
