"""Data sets read from files the user names (nothing is downloaded). It stands on
minimi.engine alone (tests/packaging/test_layers.py)."""
