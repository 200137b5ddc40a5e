"""Data sets read from files the user names (nothing is downloaded). It stands on
minimi.engine alone (tests/test_layers.py)."""
