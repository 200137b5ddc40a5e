"""`import minimi` leaves the process alone; tune_process() is the one explicit change,
and it works: OpenBLAS's idle threads stop spinning, the environment is untouched."""
import json
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _python(code, **env):
    """The JSON that `python -c code` prints, run from the repository root."""
    clean = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_THREAD_TIMEOUT",)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={**clean, **env}).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_changes_nothing_outside_minimi():
    result = _python(
        "import json, os, sys, threading\n"
        "env = dict(os.environ); threads = threading.active_count()\n"
        "import minimi\n"
        "print(json.dumps({'env_same': env == dict(os.environ),\n"
        "                  'scipy': sorted(m for m in sys.modules if m.startswith('scipy'))[:3],\n"
        "                  'threads_started': threading.active_count() - threads,\n"
        "                  'spin': minimi.backend.blas_info()['blas_idle_spin']}))")
    assert result["env_same"]
    assert result["scipy"] == []
    assert result["threads_started"] == 0
    assert "OpenBLAS's default" in result["spin"] or "unknown" in result["spin"]


IDLE_CPU = (
    "import json, time, numpy as np\n"
    "a = np.ones((512, 512), np.float32)\n"
    "def idle_cpu():  # CPU time this process burns while its main thread sleeps after a product\n"
    "    a @ a; start = time.process_time(); time.sleep(0.05)\n"
    "    return time.process_time() - start\n"
    "import os, minimi\n"
    "before = min(idle_cpu() for _ in range(3))\n"
    "tuned = minimi.tune_process() if {tune} else None\n"
    "after = min(idle_cpu() for _ in range(3))\n"
    "print(json.dumps({{'before': before, 'after': after, 'tuned': tuned,\n"
    "                  'threads': minimi.backend.blas_threads(),\n"
    "                  'env': os.environ.get('OPENBLAS_THREAD_TIMEOUT'),\n"
    "                  'spin': minimi.backend.blas_info()['blas_idle_spin']}}))")


def test_tune_process_stops_the_idle_spin_and_leaves_the_environment():
    result = _python(IDLE_CPU.format(tune=True))
    if result["tuned"]["blas_idle_spin"] is None or (result["threads"] or 1) < 2:
        pytest.skip("NumPy's BLAS is not a multi-threaded OpenBLAS here")
    assert result["tuned"]["blas_idle_spin"] == 18 and result["spin"] == "2^18 cycles"
    assert result["env"] is None                      # read by OpenBLAS, then put back
    # OpenBLAS's default: its idle threads spin ~0.1 s after each product, burning CPU
    # while this process sleeps; with 2^18 cycles they sleep within a millisecond
    assert result["before"] > 0.03
    assert result["after"] < 0.015


def test_a_spin_the_user_set_wins():
    result = _python(IDLE_CPU.format(tune=True), OPENBLAS_THREAD_TIMEOUT="10")
    if result["tuned"]["blas_idle_spin"] is None:
        pytest.skip("NumPy's BLAS is not OpenBLAS here")
    assert result["tuned"]["blas_idle_spin"] == 10 and result["env"] == "10"


def test_threads_default_to_the_cpus_this_process_may_use(monkeypatch):
    from minimi import backend
    monkeypatch.delenv("MINIMI_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert backend.threads() == 1
    monkeypatch.setenv("MINIMI_THREADS", "3")
    assert backend.threads() == 3


def test_the_commands_tune_the_process():
    """The `minimi` command (cli.console, also behind python -m minimi) runs with the
    shorter spin; the environment stays clean."""
    result = _python(
        "import sys, json, os\n"
        "sys.argv = ['minimi', '--help']\n"
        "from minimi import backend\n"
        "from minimi.tools import cli\n"
        "cli.console()\n"
        "print(json.dumps({'spin': backend.blas_info()['blas_idle_spin'],"
        " 'env': os.environ.get('OPENBLAS_THREAD_TIMEOUT')}))")
    if "unknown" in result["spin"]:
        pytest.skip("NumPy's BLAS is not OpenBLAS here")
    assert result == {"spin": "2^18 cycles", "env": None}


def test_a_killed_command_has_already_logged_its_header(tmp_path):
    """Standard output to a file is line-buffered in minimi's commands: a job killed at
    its time limit keeps every line it printed (a SLURM log)."""
    log = tmp_path / "slurm.out"
    with open(log, "w") as out:
        job = subprocess.Popen([sys.executable, "-m", "bench", "onehot", "--steps", "10000000",
                                "--seed", "0", "--batch-size", "8", "--losses", "mine",
                                "--out", str(tmp_path / "results"), "--no-report"],
                               cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                               env={k: v for k, v in os.environ.items()
                                    if k != "PYTHONUNBUFFERED"})
        try:
            for _ in range(1200):                      # until the first progress line
                if "step 500/" in log.read_text() or job.poll() is not None:
                    break
                time.sleep(0.05)
        finally:
            job.kill()
            job.wait()
    text = log.read_text()
    assert "step 500/" in text
    assert text.index("onehot: profile quick") < text.index("step 500/")   # header first


def test_a_closed_pipe_ends_a_listing_quietly():
    job = subprocess.Popen([sys.executable, "-m", "bench", "onehot", "--list", "--seeds", "400"],
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    job.stdout.readline()
    job.stdout.close()                                   # like `| head -1`
    err = job.stderr.read().decode()
    assert job.wait(timeout=60) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err
