"""python -m minimi <command> [options]: estimate, doctor."""
import sys

from .cli import main

sys.exit(main())
