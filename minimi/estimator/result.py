"""What minimi.estimate returns: the estimate and everything needed to judge it."""
import math


class DataWarning(UserWarning):
    """The data makes the estimate meaningless or misleading (constant or
    duplicated columns, a spread that float32 cannot hold)."""


class EstimateResult:
    """The estimate and everything needed to judge it.

    mi (nats; None unless status is 'ok'), ci ([low, high] at ci_level; interval.py
    says what it covers), flags (sentences: why the number and its interval need a
    second look), stderr (the test rows' bootstrap), subsample_mi (the estimates on
    disjoint parts of the rows), neighbour_mi (KSG's estimate on the same rows in
    few dimensions, a second opinion; None elsewhere), gaussian_mi (the Gaussian-copula
    estimate on the same rows, a second opinion in any dimension; None on discrete
    data or too few rows per column), validation_mi, status, reason
    (why not ok), settled, warnings, best_step, steps_run, train_mi, curve (per-step
    training values), validation ((step, value) pairs), scoring (the held-out rule), pairs
    (all or sampled), rejected_mi (the test estimate of a failed run, kept for
    diagnosis), critic, hidden, batch_size, lr (what trained: critic='auto' and the
    critic's defaults resolved).
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    @property
    def flag_reasons(self):
        """Why the number needs a second look: the interval's flags, not settled, data
        warnings (empty when it does not, or when there is no number)."""
        if self.status != "ok":
            return []
        unsettled = [] if self.settled else [
            "not settled: the validation estimate was still rising at the last step; try "
            "more steps"]
        return (list(self.flags) + unsettled
                + [f"warning: {note}" for note in self.warnings])

    @property
    def flagged(self):
        """True when the number and its interval need a second look (flag_reasons)."""
        return bool(self.flag_reasons)

    def as_dict(self, bits=False):
        """Every field but the curves, in nats or bits; non-finite numbers are None;
        with `flagged` and `flag_reasons`."""
        scale = 1 / math.log(2) if bits else 1.0
        out = {k: v for k, v in self.__dict__.items() if k not in ("curve", "validation")}
        for key in ("mi", "stderr", "train_mi", "rejected_mi", "validation_mi",
                    "validation_stderr", "neighbour_mi", "gaussian_mi"):
            out[key] = _scaled(out.get(key), scale)
        for key in ("ci", "subsample_mi"):
            out[key] = None if out.get(key) is None else [_scaled(v, scale) for v in out[key]]
        out["unit"] = "bits" if bits else "nats"
        out["validation"] = [[s, _scaled(v, scale)] for s, v in self.validation]
        out["flagged"], out["flag_reasons"] = self.flagged, self.flag_reasons
        return out

    def summary(self, bits=False):
        """One line: the estimate with its flags, or why there is none."""
        d = self.as_dict(bits)
        what = f"{self.bound}, {self.critic} critic"
        if self.status != "ok":
            return f"I(X;Y) could not be estimated: {self.reason} ({what})"
        low, high = (f"{v:.2f}" if v is not None else "∞"
                     for v in (d["ci"] if d.get("ci") else (math.nan, math.nan)))
        text = (f"I(X;Y) ≈ {d['mi']:.2f} {d['unit']}, {self.ci_level:.0%} interval "
                f"{low} to {high} ({what}, best of {self.steps_run} steps at step "
                f"{self.best_step}, "
                + ("rank-Gaussian" if self.marginals == "rank" else self.marginals)
                + " marginals)")
        reasons = self.flag_reasons
        if reasons:
            text += " [FLAGGED, the number and its interval cannot be trusted: " + \
                "; ".join(reasons) + "]"
        return text

    __str__ = summary


def _scaled(v, scale):
    return None if v is None or not math.isfinite(v) else v * scale
