"""python -m minimi doctor: a setup check that says what it checked and fails loudly."""
import pytest

from minimi import backend
from minimi.engine.gradcheck import GradcheckError
from minimi.tools import cli, doctor


def test_doctor_reports_and_passes(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for text in ("NumPy", "CuPy:", "device:", "BLAS:", "BLAS idle threads spin 2^", "GFLOP/s",
                 "gradient check (float64", "one training step", "all checks passed"):
        assert text in out, text


def test_doctor_exits_1_when_a_check_fails(capsys, monkeypatch):
    def broken():
        raise GradcheckError("argument 0, index (1, 2): expected 1.0, received 2.0")
    monkeypatch.setattr(doctor, "gradient_check", broken)
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "gradient check: FAILED: argument 0" in out and "SOME CHECKS FAILED" in out


def test_doctor_on_a_named_device_leaves_the_active_one_alone(capsys):
    active = backend.device()
    assert cli.main(["doctor", "--device", "cpu"]) == 0 and backend.device() == active
    assert "device: cpu" in capsys.readouterr().out


def test_bad_device_and_unknown_command_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["doctor", "--device", "tpu"])
    assert exit_info.value.code == 2 and "invalid choice: 'tpu'" in capsys.readouterr().err
    assert cli.main(["unknown"]) == 2 and "unknown command 'unknown'" in capsys.readouterr().err
