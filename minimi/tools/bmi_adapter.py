"""minimi as an estimator of the bmi benchmark (Czyż et al., `pip install benchmark-mi`),
without minimi depending on bmi.

    from bmi.benchmark import run_estimator
    from minimi.tools.bmi_adapter import BmiEstimator
    run_estimator(BmiEstimator(bound="remine"), "minimi", sample_path, task_id)

bmi asks an estimator for `estimate_with_info(x, y)` and reads `mi_estimate`,
`time_in_seconds` and `additional_information` from what it returns; an exception
is recorded as a failed run with its message. So a result that may be wrong is an
exception here, never a number: no estimate (diverged, untrained, ...), and, unless
accept_flagged=True, a flagged estimate (result.flag_reasons: a failed check of the
interval, not settled, a data warning).
"""
import time
import warnings

from ..estimator import DataWarning, Settings, estimate


class NoEstimate(RuntimeError):
    """minimi gave no number it stands behind; the message says why, and `result` is
    the whole estimate (status, flags, interval) for whoever wants to look."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


class BmiResult:
    """What bmi reads from an estimate: mi_estimate (nats), time_in_seconds and
    additional_information (minimi's status, standard error, steps, warnings)."""

    def __init__(self, mi_estimate, time_in_seconds, additional_information):
        self.mi_estimate = mi_estimate
        self.time_in_seconds = time_in_seconds
        self.additional_information = additional_information


def checked_estimate(x, y, settings, accept_flagged=False, device=None, progress=None):
    """minimi.estimate with its warnings held back (bmi reads standard error as part of
    the answer); a result that is not a number to stand behind raises NoEstimate."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in a diverging run
        result = estimate(x, y, settings, device=device, progress=progress)
    if result.status != "ok":
        raise NoEstimate(f"no estimate: {result.reason}", result)
    if result.flagged and not accept_flagged:
        raise NoEstimate(f"the estimate {result.mi:.4f} is flagged "
                         f"({'; '.join(result.flag_reasons)}); pass "
                         "accept_flagged=True (--accept-flagged) to take it anyway", result)
    return result


class BmiEstimator:
    """An estimator object for bmi's harness: BmiEstimator(**settings) with the settings
    of minimi.estimate (minimi.Settings), plus accept_flagged and device."""

    def __init__(self, settings=None, accept_flagged=False, device=None, **changes):
        self.settings = Settings.of(settings, **changes).check()
        self.accept_flagged, self.device = bool(accept_flagged), device

    def estimate_with_info(self, x, y):
        start = time.perf_counter()
        result = checked_estimate(x, y, self.settings, self.accept_flagged, self.device)
        info = {k: result.as_dict()[k] for k in
                ("status", "stderr", "settled", "warnings", "best_step", "steps_run", "bound",
                 "critic", "marginals")}
        return BmiResult(result.mi, time.perf_counter() - start, info)

    def estimate(self, x, y):
        return self.estimate_with_info(x, y).mi_estimate

    def parameters(self):
        """The settings, as a dict (bmi keeps an estimator's parameters with its runs)."""
        return {**vars(self.settings), "accept_flagged": self.accept_flagged}
