"""python -m minimi doctor [--device cpu|gpu]: does minimi work here, on this device?

Prints the versions, the active device, the BLAS and its threads, the rate of a
1024³ float32 matrix product on the device, one float64 gradient check there and
one training step of a critic; exits 1 when a check fails. About ten seconds.
"""
import argparse
import platform
import sys

import numpy as np

from .. import __version__, backend, bounds
from ..critics import SeparableCritic
from ..engine import ops
from ..engine.gradcheck import GradcheckError, gradcheck
from ..engine.optim import Adam
from ..engine.tensor import Tensor
from .profile import median_ms


def gemm_gflops(n=1024, repeats=5):
    """GFLOP/s of an n³ float32 matrix product on the active device (median of repeats)."""
    rng = np.random.default_rng(0)
    a, b = (backend.to_device(rng.standard_normal((n, n)).astype(np.float32)) for _ in range(2))
    return 2 * n ** 3 / median_ms(lambda: a @ b, repeats=repeats, warmup=1) / 1e6


def gradient_check():
    """A float64 check of softplus, matmul and logsumexp on the active device."""
    rng = np.random.default_rng(1)
    return gradcheck(lambda x, w: ops.logsumexp(ops.softplus(x @ w), axis=1),
                     [rng.standard_normal((6, 4)), rng.standard_normal((4, 5))])


def training_step():
    """One Adam step of a separable critic with ReMINE: (value, moved) on the device."""
    rng = np.random.default_rng(2)
    critic = SeparableCritic(3, 3, hidden=(16,), embed_dim=8, activation="softplus", rng=0)
    before = critic.state_dict()
    opt = Adam(critic.parameters(), lr=1e-2)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    result = bounds.remine(critic(Tensor(x), Tensor(x + rng.standard_normal((32, 3)))))
    (-result.objective).backward()
    opt.step()
    moved = any(not np.array_equal(before[k], v) for k, v in critic.state_dict().items())
    return result.numbers()["value"], moved


def run(out=print):
    """Print the report line by line; True when every check passed."""
    import PIL
    import scipy
    info = {**backend.device_info(), **backend.blas_info()}
    out(f"minimi {__version__}, Python {platform.python_version()}, NumPy {np.__version__}, "
        f"SciPy {scipy.__version__}, Pillow {PIL.__version__}")
    out(f"CuPy: {info['cupy'] or 'not installed'}"
        + (f"; GPU: {info['gpu']}" if info.get("gpu") else ""))
    out(f"device: {info['device']} (MINIMI_DEVICE or --device)")
    out(f"BLAS: {info.get('blas')} ({info.get('blas_kernel') or '?'} kernel), "
        f"{info.get('blas_threads') or '?'} threads "
        f"{info['threads_env'] or ''}".rstrip())
    out(f"BLAS idle threads spin {info['blas_idle_spin']} (minimi's commands shorten it: "
        "minimi.tune_process)")
    fixed = backend.fixed_threads()
    out(f"minimi's threads now: {backend.threads()} for im2col, col2im, pooling and products "
        f"of {backend.BLAS_CROSSOVER:,} multiply-adds or more, 1 for smaller products "
        + (f"(fixed by MINIMI_THREADS={fixed})" if fixed else
           f"(the {backend.cpus()} CPUs this process may use, less "
           f"{backend.busy_elsewhere():.1f} busy with other work)"))
    ok = True
    out(f"matrix product 1024³ float32 on {info['device']}: {gemm_gflops():.0f} GFLOP/s")
    try:
        gradient_check()
        out("gradient check (float64, softplus · matmul · logsumexp): passed")
    except GradcheckError as error:
        ok = False
        out(f"gradient check: FAILED: {error}")
    value, moved = training_step()
    step_ok = np.isfinite(value) and moved
    ok &= bool(step_ok)
    out(f"one training step (separable critic, ReMINE, Adam): value {value:.4f}, "
        f"{'parameters updated' if moved else 'parameters DID NOT MOVE'}: "
        f"{'passed' if step_ok else 'FAILED'}")
    out("all checks passed" if ok else "SOME CHECKS FAILED")
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minimi doctor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=backend.DEVICES,
                        help="check this device (default: $MINIMI_DEVICE or cpu)")
    args = parser.parse_args(argv)
    try:
        previous = backend.use_device(args.device) if args.device else backend.device()
    except (ValueError, RuntimeError) as error:
        print(f"minimi doctor: error: {error}", file=sys.stderr)
        return 2
    try:
        return 0 if run() else 1
    finally:
        backend.use_device(previous)
