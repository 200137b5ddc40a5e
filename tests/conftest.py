"""Shared test setup: report which array backend the suite runs on."""
from minimi import backend


def pytest_report_header(config):
    return f"minimi device: {backend.device()} (set MINIMI_DEVICE=gpu to run on CuPy)"
