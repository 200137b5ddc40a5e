"""Array backend: NumPy on the CPU, CuPy on a GPU. The only file that imports cupy.

Everything else asks `get_array_module(array)` for `xp` and allocates with the
input's dtype, so the NumPy tests exercise exactly the code that runs on CuPy.

Choose the device with `MINIMI_DEVICE=cpu|gpu` (default cpu) or `use_device()`.
"""
import os
import time

import numpy as np

try:  # cupy is optional: only GPU users install it (pip install cupy-cuda12x)
    import cupy as cp
    import cupyx
except ImportError:  # pragma: no cover - depends on the machine
    cp = None
    cupyx = None

DEVICES = ("cpu", "gpu")
CUPY_FLOOR = 14  # CuPy 13 needs NumPy < 2.3, which minimi's NumPy may not be
DEFAULT_DTYPE = np.float32  # train in float32; gradient checks use float64

_device = None


def _major(version):
    """The major version number of a version string ('14.0.1' -> 14; unreadable -> 0)."""
    head = version.split(".")[0]
    return int(head) if head.isdigit() else 0


def _check_device(name):
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}: choose one of {', '.join(DEVICES)} "
                         "(argument or MINIMI_DEVICE)")
    if name == "gpu":
        if cp is None:
            raise RuntimeError(f"device 'gpu' needs CuPy {CUPY_FLOOR} or newer: pip install "
                               f"'cupy-cuda12x>={CUPY_FLOOR}' (or set MINIMI_DEVICE=cpu)")
        if _major(cp.__version__) < CUPY_FLOOR:
            raise RuntimeError(f"device 'gpu': CuPy {cp.__version__} is installed; minimi needs "
                               f"CuPy {CUPY_FLOOR} or newer (CuPy 13 requires NumPy < 2.3): "
                               f"pip install -U 'cupy-cuda12x>={CUPY_FLOOR}'")
        try:
            count = cp.cuda.runtime.getDeviceCount()
        except Exception as error:  # CUDA driver missing or broken
            raise RuntimeError(f"device 'gpu': CuPy is installed but CUDA fails: {error}") from error
        if count == 0:
            raise RuntimeError("device 'gpu': CuPy is installed but no CUDA device is visible")
    return name


def gpu_available():
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        _check_device("gpu")
    except RuntimeError:
        return False
    return True


def device():
    """The active device name, 'cpu' or 'gpu' (from MINIMI_DEVICE on first use)."""
    global _device
    if _device is None:
        _device = _check_device(os.environ.get("MINIMI_DEVICE", "cpu").strip().lower() or "cpu")
    return _device


def use_device(name):
    """Make `name` ('cpu' or 'gpu') the active device; returns the previous one."""
    global _device
    previous = device()
    _device = _check_device(name)
    return previous


def xp_of(name=None):
    """The array module of a device (the active one by default)."""
    return cp if (name or device()) == "gpu" else np


def get_array_module(*arrays):
    """numpy or cupy, whichever owns the arrays (numpy for Python scalars)."""
    if cp is not None:
        return cp.get_array_module(*arrays)
    return np


def to_device(array, name=None, dtype=None):
    """Copy a NumPy array (or anything array-like) onto a device (the active one by default)."""
    xp = xp_of(name)
    return xp.asarray(array, dtype=dtype)


def to_numpy(array):
    """A NumPy array with the same values (copies from the GPU when needed)."""
    if cp is not None and isinstance(array, cp.ndarray):
        return cp.asnumpy(array)
    return np.asarray(array)


def random_generator(seed=None, name=None):
    """A seeded generator on a device: numpy.random.Generator or cupy.random.Generator.

    Both offer .standard_normal, .random and .integers. CuPy's has no
    .permutation or .choice: minimi draws indices on the host, with NumPy.
    """
    if (name or device()) == "gpu":
        return cp.random.default_rng(seed)
    return np.random.default_rng(seed)


def synchronize():
    """Wait until the active device has finished its queued work (a no-op on the CPU).
    Timings of GPU work are meaningless without it: kernels launch asynchronously."""
    if device() == "gpu":
        cp.cuda.Device().synchronize()


def device_info():
    """{'device', 'cupy', 'gpu'}: the active device, CuPy's version and the GPU's name."""
    info = {"device": device(), "cupy": getattr(cp, "__version__", None)}
    if device() == "gpu":
        try:
            props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
            name = props.get("name", b"")
            info["gpu"] = name.decode() if isinstance(name, bytes) else str(name)
        except Exception:  # the stand-in, or a driver without the call
            info["gpu"] = "unknown"
    return info


def blas_info():
    """The BLAS that NumPy uses: its name and version, the kernel it chose for this CPU,
    its thread count, its idle spin, and the thread variables that were set."""
    info = {"threads_env": {k: os.environ.get(k) for k in
                            ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                             "OPENBLAS_CORETYPE")
                            if os.environ.get(k)}}
    blas = _blas_controllers()
    info["blas"] = (" ".join(f"{c.internal_api} {c.version or ''}".strip() for c in blas)
                    or "unknown")
    info["blas_kernel"] = " ".join(getattr(c, "architecture", None) or "?" for c in blas) or None
    info["blas_threads"] = blas_threads()
    spin = openblas_call("openblas_thread_timeout")
    info["blas_idle_spin"] = ("unknown (not OpenBLAS)" if spin is None else
                              "2^28 cycles, OpenBLAS's default" if spin == 0 else
                              f"2^{min(max(spin, 4), 30)} cycles")  # OpenBLAS's limits
    return info


def _blas_controllers():
    """threadpoolctl's handles of the BLAS libraries loaded in this process (NumPy's)."""
    import threadpoolctl  # here, not at import: a Tensor user does not need it
    return threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers


def openblas_library():
    """ctypes handles of the OpenBLAS libraries this process has loaded (NumPy's)."""
    return [c.dynlib for c in _blas_controllers() if c.internal_api == "openblas"]


def openblas_call(*names):
    """The int result of the first of `names` that NumPy's OpenBLAS exports (None if none)."""
    for lib in openblas_library():
        for name in names:
            if hasattr(lib, name):
                return int(getattr(lib, name)())
    return None


def blas_threads():
    """How many threads NumPy's BLAS uses for a product now (None if no BLAS is found)."""
    counts = [c.num_threads for c in _blas_controllers()]
    return max(counts) if counts else None


_fixed_counts = []  # the counts of the blas_thread_count blocks we are in, innermost last


class blas_thread_count:
    """A context manager in which NumPy's BLAS runs its products on `n` threads, in
    this process, minimi's included (their size rule still gives a small product one
    thread); the count in force before comes back at its end. float32 products round
    differently on another thread count, so a fixed count gives the same numbers bit for
    bit on any number of cores (of the same CPU) and under any load:

        with backend.blas_thread_count(1):
            minimi.estimate(x, y)
    """

    def __init__(self, n):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"blas_thread_count: n must be a positive int, got {n!r}")
        self.n = n

    def __enter__(self):
        import threadpoolctl
        self._limits = threadpoolctl.threadpool_limits(limits=self.n, user_api="blas")
        _fixed_counts.append(self.n)
        return self

    def __exit__(self, *exc):
        _fixed_counts.pop()
        self._limits.restore_original_limits()


# ---- BLAS threads chosen per product ---------------------------------------------------
# Every thread of a multi-threaded product must finish before it returns. A small product
# gains less from a second thread than waking it costs; and where other processes keep
# the CPUs busy, the product waits for a thread the OS has given away, for a time slice
# each time: 10-100x slower (docs/performance.md, "Threads"). So minimi's products ask for
# threads by their size and by the CPUs that other processes leave free.

BLAS_CROSSOVER = 1 << 24  # multiply-adds (m·k·n) below which a product runs on one thread
LOAD_WINDOW = 0.25        # seconds between two readings of the CPUs' load

_blas = None              # (get, set) of NumPy's OpenBLAS thread count; False: none


def _blas_calls():
    """(get, set) ctypes functions of the thread count of NumPy's OpenBLAS, or None. The
    library is found by threadpoolctl; its functions are called directly: ~1 µs a call."""
    global _blas
    if _blas is None:
        _blas = False
        for c in _blas_controllers():
            if c.internal_api != "openblas":
                continue
            for prefix in ("", "scipy_"):           # NumPy's wheels prefix and suffix them
                for suffix in ("", "64_", "_64"):
                    get = getattr(c.dynlib, f"{prefix}openblas_get_num_threads{suffix}", None)
                    put = getattr(c.dynlib, f"{prefix}openblas_set_num_threads{suffix}", None)
                    if get is not None and put is not None and not _blas:
                        _blas = (get, put)
    return _blas or None


def fixed_threads():
    """The thread count the user fixed, or None: the innermost blas_thread_count block,
    else MINIMI_THREADS."""
    if _fixed_counts:
        return _fixed_counts[-1]
    value = os.environ.get("MINIMI_THREADS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"MINIMI_THREADS={value!r}: give a positive whole number of threads "
                         "(or unset it to let minimi choose)")
    return int(value)


_load = {"time": None, "cpu": None, "mine": None, "others": 0.0}
_clock, _own_cpu = time.monotonic, time.process_time  # names the tests can replace


def _cpu_seconds(allowed):
    """Seconds the CPUs in `allowed` have run anything since boot (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            lines = f.read().split("\n")
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for line in lines[1:]:
        if not line.startswith("cpu"):
            break
        fields = line.split()
        if allowed is None or int(fields[0][3:]) in allowed:
            # user nice system idle iowait irq softirq steal: busy = all but idle and iowait
            total += sum(int(v) for v in fields[1:9]) - int(fields[4]) - int(fields[5])
    return total / ticks


def busy_elsewhere():
    """How many of this process's CPUs other processes kept busy over the last
    LOAD_WINDOW seconds (0.0 on an idle machine; the 1-minute load average at first)."""
    now = _clock()
    if _load["time"] is not None and now - _load["time"] < LOAD_WINDOW:
        return _load["others"]
    try:
        allowed = os.sched_getaffinity(0)
    except AttributeError:
        allowed = None
    cpu, mine = _cpu_seconds(allowed), _own_cpu()
    if cpu is None:
        others = 0.0   # no /proc/stat: assume the CPUs are ours
    elif _load["time"] is None:
        others = os.getloadavg()[0]
    else:
        others = max(0.0, (cpu - _load["cpu"]) - (mine - _load["mine"])) / (now - _load["time"])
    _load.update(time=now, cpu=cpu, mine=mine, others=others)
    return others


def free_threads(most=None):
    """How many threads pay off now: the count the user fixed (fixed_threads), or else
    the CPUs this process may use (cpus) less those other processes keep busy, a CPU
    counting as free when 70% of it is; at least 1 and at most `most`."""
    n = fixed_threads()
    if n is None:
        n = int(cpus() - busy_elsewhere() + 0.3)
    return max(1, n if most is None else min(n, most))


def product_threads(work, most=None):
    """BLAS threads for a product of `work` multiply-adds: one below BLAS_CROSSOVER,
    else free_threads(most)."""
    return 1 if work < BLAS_CROSSOVER else free_threads(most)


def matmul(a, b):
    """a @ b, on as many BLAS threads as pay off for its size now (product_threads);
    the BLAS's own count, which caps it, is back in force when it returns. On a GPU,
    or without OpenBLAS, plain a @ b."""
    calls = _blas_calls() if isinstance(a, np.ndarray) else None
    if calls is None:
        return a @ b
    m = a.shape[-2] if a.ndim > 1 else 1
    n = b.shape[-1] if b.ndim > 1 else 1
    get, put = calls
    outside = get()
    threads = product_threads(max(a.size * n, b.size * m), most=outside)
    if threads == outside:
        return a @ b
    put(threads)
    try:
        return a @ b
    finally:
        put(outside)


def scatter_add(target, indices, values):
    """target[indices] += values, adding every repeated index (in place).

    Plain `target[idx] += v` keeps only one of the repeated writes, on both
    NumPy and CuPy; these two calls add them all.
    """
    if cp is not None and isinstance(target, cp.ndarray):
        cupyx.scatter_add(target, indices, values)
    else:
        np.add.at(target, indices, values)
    return target


# ---- CPU threads for memory-bound work ------------------------------------------------
# NumPy runs elementwise work and copies on one core and releases the GIL while
# it does; splitting the batch across threads uses the other cores. BLAS has
# threads of its own, so this is only for the work around the matmuls.

_pool, _pool_workers = None, 0
PARALLEL_MIN_SIZE = 1 << 18  # below this many entries, threads cost more than they save


def threads():
    """How many threads `parallel_for` uses on the CPU: MINIMI_THREADS, or by default the
    CPUs this process may run on (a SLURM job's --cpus-per-task, taskset; not the
    machine's count) that other processes leave free (free_threads)."""
    return free_threads()


def cpus():
    """How many CPUs this process may run on (taskset, a SLURM job's --cpus-per-task),
    not the machine's count."""
    try:
        n = len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # macOS and Windows have no affinity call
        n = os.cpu_count() or 1
    # SLURM binds a job's tasks to its CPUs only where its task/affinity plugin is on;
    # its --cpus-per-task is in the environment either way
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "").strip()
    return min(n, int(slurm)) if slurm.isdigit() and int(slurm) > 0 else n


def parallel_for(n, body, array, block=None):
    """Run body(start, stop) over contiguous chunks of range(n) covering it.

    On the CPU, work on arrays of at least PARALLEL_MIN_SIZE entries is split
    across threads, and each thread's share into chunks of at most `block` (so
    that a chunk's data stays in the core's cache); on a GPU (CuPy) it is one
    call, body(0, n).
    """
    if cp is not None and isinstance(array, cp.ndarray):
        body(0, n)
        return

    def run(a, b):
        step = block or (b - a)
        for start in range(a, b, step):
            body(start, min(b, start + step))
    workers = 1 if array.size < PARALLEL_MIN_SIZE else min(threads(), n)
    if workers < 2:
        run(0, n)
        return
    global _pool, _pool_workers
    if _pool is None or _pool_workers < workers:
        from concurrent.futures import ThreadPoolExecutor
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="minimi")
        _pool_workers = workers
    bounds = [n * k // workers for k in range(workers + 1)]
    futures = [_pool.submit(run, a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    for future in futures:
        future.result()  # re-raises an exception from a chunk
