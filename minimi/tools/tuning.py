"""Process settings that minimi's own commands make, and nothing else does.

tune_process() tunes the process for training speed; run_command(main) does that and
makes the output streams fit logs and pipes around a command's main().

`import minimi` changes nothing outside minimi. The commands (`python -m minimi`,
the `minimi` script, `python -m bench`) call `tune_process()` first; a script
that wants the same speed calls it too:

    import minimi
    minimi.tune_process()     # {'blas_idle_spin': 18, 'keep_freed_memory': True}

Two settings, each measured in docs/performance.md:

- OpenBLAS's idle threads spin for 2^28 cycles (~0.1 s) after every matrix product
  before they sleep; on a 2-core machine that takes a core from minimi's own
  threads (im2col, col2im, pooling). 2^18 cycles still bridges the critics'
  back-to-back products. A value the user set in OPENBLAS_THREAD_TIMEOUT wins.
- glibc returns large freed blocks to the OS at once, so each training step
  page-faults its im2col columns and activations in afresh; asking it to keep
  freed memory for reuse avoids that. MINIMI_MALLOC=system leaves glibc alone.

Both act on this process only: the environment is left as it was.
"""
import ctypes
import os
import platform
import sys

from .. import backend

BLAS_IDLE_SPIN = 18  # OpenBLAS's THREAD_TIMEOUT: threads spin 2^18 cycles before sleeping


def shorten_blas_spin(exponent=BLAS_IDLE_SPIN):
    """Make NumPy's OpenBLAS threads spin 2^exponent cycles when idle. Returns the
    exponent in force, or None when NumPy's BLAS is not an OpenBLAS that allows it."""
    user = os.environ.get("OPENBLAS_THREAD_TIMEOUT")
    for lib in backend.openblas_library():
        if not all(hasattr(lib, name) for name in
                   ("openblas_read_env", "openblas_thread_timeout", "blas_thread_shutdown_")):
            continue
        if user is None:
            # OpenBLAS reads its settings from the environment: set ours for the
            # moment it re-reads them, then put the environment back as it was
            os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(exponent)
            try:
                lib.openblas_read_env()
            finally:
                del os.environ["OPENBLAS_THREAD_TIMEOUT"]
            lib.blas_thread_shutdown_()  # its threads restart on the next product, with it
        return int(lib.openblas_thread_timeout())
    return None


def keep_freed_memory():
    """Ask glibc to keep freed memory for reuse instead of returning it to the OS.
    True when done; False elsewhere than glibc or with MINIMI_MALLOC=system."""
    if os.environ.get("MINIMI_MALLOC", "").strip().lower() == "system":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    ok = libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)  # glibc's maximum on 64-bit
    ok &= libc.mallopt(M_TRIM_THRESHOLD, 2 ** 31 - 1)
    ok &= libc.mallopt(M_TOP_PAD, 64 << 20)
    return bool(ok)


def tune_process():
    """Both settings above, for this process; returns what is in force."""
    return {"blas_idle_spin": shorten_blas_spin(), "keep_freed_memory": keep_freed_memory()}


def run_command(main):
    """How minimi's commands run main(): with the process tuned; with output line-buffered,
    so that progress reaches a log file as it is printed (a job killed at its time limit
    keeps every line); and ending quietly, status 141 (128 + SIGPIPE, as the shell
    reports it), when the reader closes the pipe early (`| head`)."""
    tune_process()
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(line_buffering=True)
    try:
        return main()
    except BrokenPipeError:
        # Python flushes standard output at exit: send that to /dev/null, not the pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
