"""What minimi.estimate returns: the estimate and everything needed to judge it."""
import dataclasses
import math


class DataWarning(UserWarning):
    """The data makes the estimate meaningless or misleading (constant or
    duplicated columns, a spread that float32 cannot hold)."""


@dataclasses.dataclass
class EstimateResult:
    """The estimate and everything needed to judge it. Numbers are in nats; `as_dict`
    gives them in bits too, and `summary()` (also `str()`) as one line."""
    # the number and its uncertainty
    mi: float                     # None unless status is 'ok'
    stderr: float                 # the test rows' bootstrap standard error
    rejected_mi: float            # a failed run's test estimate, kept for diagnosis
    unit: str                     # 'nats'
    train_mi: float               # the chosen critic on a sample of its training rows
    validation_mi: float          # ... on the validation rows that chose it
    validation_stderr: float
    ci_level: float
    ci: list                      # [low, high] at ci_level (high inf: no upper end);
    #                               interval.py says what it covers
    one_sided: str                # why the interval has no upper end, else None
    subsample_mi: list            # the estimates on disjoint parts of the rows
    trend: float                  # mi − mean(subsample_mi): how it rose with the rows
    trend_stderr: float           # ... its standard error
    neighbour_mi: float           # KSG on the same rows in few dimensions, else None
    neighbour_stderr: float       # ... a rough standard error (its rows' terms' spread)
    gaussian_mi: float            # the Gaussian copula on the same rows, else None
    gaussian_stderr: float
    flags: list                   # sentences: why the number needs a second look
    # whether it can be trusted
    status: str                   # 'ok', 'untrained', 'diverged', 'non_finite', 'degenerate'
    reason: str                   # why not 'ok'
    diverged_at_step: int
    settled: bool                 # validation had stopped improving
    warnings: list                # about the data (DataWarning's sentences)
    # how it was made
    best_step: int
    steps_run: int
    bound: str
    critic: str                   # 'separable' or 'concat' (critic='auto' resolved)
    hidden: list
    batch_size: int
    lr: float
    steps: int
    scoring: str                  # the held-out rule: 'dv' or 'infonce'
    pairs: str                    # all or sampled pairs, and how many per row
    marginals: str
    n_train: int
    n_validation: int
    n_test: int
    params: dict                  # the bound's parameters
    elapsed_s: float
    curve: list                   # the training batch's value at every step
    validation: list              # (step, validation estimate) pairs

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
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name not in ("curve", "validation")}
        for key in ("mi", "stderr", "train_mi", "rejected_mi", "validation_mi",
                    "validation_stderr", "neighbour_mi", "neighbour_stderr", "gaussian_mi",
                    "gaussian_stderr",
                    "trend", "trend_stderr"):
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
        if high == "∞":     # one-sided: a lower limit, and why there is no upper one
            head = (f"I(X;Y) is at least {low} {d['unit']} ({self.ci_level:.0%} interval "
                    f"{low} to ∞, estimate {d['mi']:.2f}; no upper end: {self.one_sided}) ")
        else:
            head = (f"I(X;Y) ≈ {d['mi']:.2f} {d['unit']}, {self.ci_level:.0%} interval "
                    f"{low} to {high} ")
        text = (head + f"({what}, best of {self.steps_run} steps at step {self.best_step}, "
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
