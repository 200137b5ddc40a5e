"""Data sets read from files the user names (nothing is downloaded)."""
