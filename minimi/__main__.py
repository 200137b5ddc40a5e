"""python -m minimi <command> [options]: estimate, bmi, doctor."""
import sys

from .tools.cli import console

sys.exit(console())
