"""python -m minimi <command> [options]: estimate, bmi, doctor."""
import sys

from .cli import console

sys.exit(console())
