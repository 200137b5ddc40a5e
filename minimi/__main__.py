"""python -m minimi estimate X Y [options]"""
import sys

from .cli import main

sys.exit(main())
