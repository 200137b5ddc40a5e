"""A throwaway environment holding the released bmi benchmark, built once and reused.

minimi never depends on bmi: its benchmark and its tests run bmi in a virtual
environment of its own (MINIMI_BMI_ENV, default ~/.cache/minimi/bmi-0.1.3), made
with pip the first time. bmi 0.1.3 needs JAX 0.4.30: newer JAX removed
jax.core.pp_eqn_rules, which its tensorflow-probability imports.
"""
import os
import subprocess
import sys

REQUIREMENTS = ["benchmark-mi==0.1.3", "jax==0.4.30", "jaxlib==0.4.30"]


def env_dir():
    return os.environ.get("MINIMI_BMI_ENV") or \
        os.path.join(os.path.expanduser("~"), ".cache", "minimi", "bmi-0.1.3")


def ensure(log=None):
    """The Python of an environment where `import bmi` works, made if needed; a
    RuntimeError with pip's last words when it cannot be made (no index, say)."""
    folder = env_dir()
    python = os.path.join(folder, "bin", "python")
    if os.path.exists(python) and _imports_bmi(python):
        return python
    if log:
        log(f"building the bmi environment in {folder} (once; a few minutes)")
    made = subprocess.run([sys.executable, "-m", "venv", "--clear", folder],
                          capture_output=True, text=True)
    if made.returncode:
        raise RuntimeError(f"cannot create a virtual environment in {folder}: "
                           f"{made.stderr.strip()[-300:]}")
    pip = subprocess.run([python, "-m", "pip", "install", "--quiet", *REQUIREMENTS],
                         capture_output=True, text=True)
    if pip.returncode or not _imports_bmi(python):
        raise RuntimeError(f"cannot install {' '.join(REQUIREMENTS)}: "
                           f"{(pip.stderr or pip.stdout).strip()[-400:]}")
    return python


def _imports_bmi(python):
    return subprocess.run([python, "-c", "import bmi.benchmark"], capture_output=True).returncode == 0
