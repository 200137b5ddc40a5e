"""Throwaway environments for the tools minimi is compared with, built once and reused.

minimi never depends on them: its benchmark and its tests run them in virtual
environments of their own, made with pip the first time.

BMI         the released bmi benchmark (MINIMI_BMI_ENV, default
            ~/.cache/minimi/bmi-0.1.3). bmi 0.1.3 needs JAX 0.4.30: newer JAX removed
            jax.core.pp_eqn_rules, which its tensorflow-probability imports.
TORCH_MIST  torch-mist with PyTorch for the CPU (MINIMI_TORCH_MIST_ENV, default
            ~/.cache/minimi/torch-mist-0.2.17; its size: docs/benchmarks.md), run
            through its own `mist` command (bench/truth/mist_command.py). torch-mist
            imports pandas without declaring it.
"""
import os
import subprocess
import sys


class Environment:
    """A virtual environment: where it lives, what pip puts in it (one list per pip
    call), and the arguments to its Python that say it works (exit status 0)."""

    def __init__(self, name, variable, folder, installs, check):
        self.name, self.variable, self.folder = name, variable, folder
        self.installs, self.check = installs, check

    def path(self):
        return os.environ.get(self.variable) or \
            os.path.join(os.path.expanduser("~"), ".cache", "minimi", self.folder)

    def python(self):
        """The environment's Python (it may not exist yet)."""
        return os.path.join(self.path(), "bin", "python")

    def ensure(self, log=None):
        """The Python of the environment, made if needed; a RuntimeError with pip's
        last words when it cannot be made (no index, say)."""
        folder, python = self.path(), self.python()
        if os.path.exists(python) and self.works(python):
            return python
        if log:
            log(f"building the {self.name} environment in {folder} (once; a few minutes)")
        made = subprocess.run([sys.executable, "-m", "venv", "--clear", folder],
                              capture_output=True, text=True)
        if made.returncode:
            raise RuntimeError(f"cannot create a virtual environment in {folder}: "
                               f"{made.stderr.strip()[-300:]}")
        for args in self.installs:
            pip = subprocess.run([python, "-m", "pip", "install", "--quiet", *args],
                                 capture_output=True, text=True)
            if pip.returncode:
                raise RuntimeError(f"cannot install {' '.join(args)} into {folder}: "
                                   f"{(pip.stderr or pip.stdout).strip()[-400:]}")
        if not self.works(python):
            raise RuntimeError(f"python {' '.join(self.check)} fails in {folder} after "
                               f"installing {'; '.join(' '.join(a) for a in self.installs)}")
        return python

    def works(self, python):
        return subprocess.run([python, *self.check], capture_output=True).returncode == 0


BMI = Environment("bmi", "MINIMI_BMI_ENV", "bmi-0.1.3",
                  [["benchmark-mi==0.1.3", "jax==0.4.30", "jaxlib==0.4.30"]],
                  ["-c", "import bmi.benchmark"])
TORCH_MIST = Environment(
    "torch-mist", "MINIMI_TORCH_MIST_ENV", "torch-mist-0.2.17",
    [["torch", "--index-url", "https://download.pytorch.org/whl/cpu"],
     ["torch-mist==0.2.17", "pandas"]],
    ["-m", "pip", "show", "--quiet", "torch-mist"])


def mist_executable(python):
    """The `mist` command beside an environment's Python."""
    return os.path.join(os.path.dirname(python), "mist")
