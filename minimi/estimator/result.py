"""What minimi.estimate returns: the estimate and everything needed to judge it."""
import math


class DataWarning(UserWarning):
    """The data makes the estimate meaningless or misleading (constant or
    duplicated columns, a spread that float32 cannot hold)."""


class EstimateResult:
    """The estimate and everything needed to judge it.

    mi, stderr (nats, test split; None unless status is 'ok'), status, reason
    (why not ok), settled, warnings, best_step, steps_run, train_mi, curve
    (per-step training values), validation ((step, value) pairs), scoring
    (the held-out rule), pairs (all or sampled), rejected_mi (the test estimate
    of a failed run, kept for diagnosis), settings.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    @property
    def flagged(self):
        """True when the number needs a second look: not settled, or data warnings."""
        return self.status == "ok" and (not self.settled or bool(self.warnings))

    def as_dict(self, bits=False):
        """Every field but the curves, in nats or bits; non-finite numbers are None."""
        scale = 1 / math.log(2) if bits else 1.0
        out = {k: v for k, v in self.__dict__.items() if k not in ("curve", "validation")}
        for key in ("mi", "stderr", "train_mi", "rejected_mi"):
            out[key] = _scaled(out[key], scale)
        out["unit"] = "bits" if bits else "nats"
        out["validation"] = [[s, _scaled(v, scale)] for s, v in self.validation]
        return out

    def summary(self, bits=False):
        """One line: the estimate with its flags, or why there is none."""
        d = self.as_dict(bits)
        what = f"{self.bound}, {self.critic} critic"
        if self.status != "ok":
            return f"I(X;Y) could not be estimated: {self.reason} ({what})"
        text = (f"I(X;Y) ≈ {d['mi']:.2f} ± {d['stderr']:.2f} {d['unit']} ({what}, "
                f"best of {self.steps_run} steps at step {self.best_step}, "
                + ("rank-Gaussian" if self.marginals == "rank" else self.marginals)
                + " marginals)")
        if not self.settled:
            text += (" [not settled: the validation estimate was still rising at the last "
                     "step; try more steps]")
        for note in self.warnings:
            text += f" [warning: {note}]"
        return text

    __str__ = summary


def _scaled(v, scale):
    return None if v is None or not math.isfinite(v) else v * scale
