"""The interval's parts in worker processes, beside the estimate on all rows.

The estimate on all rows and those on its parts are independent trainings (own split,
seed and critic). Threads in one process cannot run them side by side: the GIL
serialises most of a training step. Worker processes can. Each is a fresh Python
that runs main() below, not a fork (a forked CuPy or
OpenBLAS is unsafe) and not multiprocessing's spawn (which re-runs the caller's script,
so a script without an `if __name__ == "__main__":` guard would start itself again).
A worker runs its products on one BLAS thread and ends with this process. Used only on
the CPU, where this process may use two or more CPUs and the user fixed no thread
count (workers_for); docs/performance.md has the measurements.

The parent sends (tag, x, y, settings) jobs as pickles on the worker's standard input;
the worker sends back pickled messages on its standard output: ("line", text) for
each progress line, then ("result", index, result) or ("error", index, text).
"""
import contextlib
import ctypes
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import traceback

from .. import backend

PR_SET_PDEATHSIG = 1  # prctl's option: a signal for this process when its parent dies


def die_with_parent(parent):
    """In a worker: end when the parent process ends (killed, or at a time limit), so
    that no orphan computes for nobody."""
    try:  # Linux: the kernel sends SIGKILL when the parent dies
        ctypes.CDLL("libc.so.6").prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before the call above
        os._exit(1)


def _watch_parent(parent):
    """Elsewhere than Linux: poll for the parent's end."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


_in_turn = []  # the in_turn blocks we are in


@contextlib.contextmanager
def in_turn():
    """A block in which minimi.estimate trains the parts in this process, one after
    another, as it did before workers (the benchmarks compare the two):

        with minimi.estimator.workers.in_turn():
            minimi.estimate(x, y)
    """
    _in_turn.append(True)
    try:
        yield
    finally:
        _in_turn.pop()


def workers_for(parts):
    """How many worker processes the parts get: none on a GPU, with fewer than two
    CPUs, inside in_turn(), or where the user fixed the thread count (MINIMI_THREADS,
    blas_thread_count: this process's threads are all it should take, as under `bench
    tasks --jobs`); else one per CPU beside this process's, at most one a part."""
    if (backend.device() != "cpu" or not parts or _in_turn
            or backend.fixed_threads() is not None):
        return 0
    return max(0, min(len(parts), backend.cpus() - 1))


# a worker's program (-m would run this file a second time beside its imported copy)
WORKER = "import sys; from minimi.estimator.workers import main; main(int(sys.argv[1]))"


class Worker:
    """One worker process and the thread that reads its messages."""

    def __init__(self, progress):
        # this process's import path, and the CPU whatever MINIMI_DEVICE says (workers run
        # only where this call trains on the CPU: use_device may have overridden it)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
                   MINIMI_DEVICE="cpu")
        self.process = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.results, self.progress = {}, progress
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                message = pickle.load(self.process.stdout)
            except (EOFError, pickle.UnpicklingError):
                return
            if message[0] == "line":
                if self.progress is not None:
                    self.progress(message[1])
            else:
                self.results[message[1]] = message

    def send(self, jobs):
        """jobs: [(index, tag, x, y, settings)]; the worker runs them in turn. Sent from
        a thread: the pipe takes them only as fast as the starting worker reads."""
        def write():
            with contextlib.suppress(BrokenPipeError):   # a dead worker: collect says so
                pickle.dump(jobs, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                self.process.stdin.close()
        self.sender = threading.Thread(target=write, daemon=True)
        self.sender.start()

    def collect(self):
        """{index: result} once the worker has ended; a RuntimeError with the worker's
        traceback when a job failed or the worker died."""
        self.process.wait()
        self.sender.join()
        self.reader.join()
        out = {}
        for index, message in sorted(self.results.items()):
            if message[0] == "error":
                raise RuntimeError(f"an interval part failed in its worker process:\n"
                                   f"{message[2]}")
            out[index] = message[2]
        if self.process.returncode:
            raise RuntimeError(f"an interval part's worker process exited "
                               f"{self.process.returncode} before it finished")
        return out


@contextlib.contextmanager
def side_by_side(n_workers, progress):
    """Yields run(jobs) -> a function that waits for the results: jobs [(tag, x, y,
    settings)] spread over n_workers worker processes, which start at once."""
    pool = [Worker(progress) for _ in range(n_workers)]

    def run(jobs):
        for w, worker in enumerate(pool):
            worker.send([(i, *job) for i, job in enumerate(jobs) if i % n_workers == w])

        def results():
            merged = {}
            for worker in pool:
                merged.update(worker.collect())
            missing = [i for i in range(len(jobs)) if i not in merged]
            if missing:
                raise RuntimeError(f"interval parts {missing} came back from no worker process")
            return [merged[i] for i in range(len(jobs))]
        return results
    try:
        yield run
    finally:
        for worker in pool:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()


def main(parent):
    """In a worker: run the jobs from standard input, messages to standard output."""
    die_with_parent(parent)
    from .recipe import estimate_once
    out = sys.stdout.buffer
    sys.stdout = sys.stderr          # a stray print must not corrupt the message stream
    lock = threading.Lock()

    def send(message):
        with lock:
            pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
    jobs = pickle.load(sys.stdin.buffer)
    with backend.blas_thread_count(1):
        for index, tag, x, y, settings in jobs:
            try:
                result = estimate_once(x, y, settings, lambda line: send(("line", tag + line)),
                                       warn=False)
                send(("result", index, result))
            except Exception:
                send(("error", index, traceback.format_exc()))
