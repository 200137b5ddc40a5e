"""Shared test setup: report which array backend the suite runs on; the `slow` mark."""
from minimi import backend


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: a statistical test that trains for seconds "
                                       "(the CuPy stand-in's pass leaves these out)")


def pytest_report_header(config):
    return f"minimi device: {backend.device()} (set MINIMI_DEVICE=gpu to run on CuPy)"
