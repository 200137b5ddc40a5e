"""python -m bench tasks through its real code path, at tiny sizes."""
import json
import math
import os

import pytest
from PIL import Image

from bench.grid import commandline, planning, records
from bench.truth import tasks

TINY = ["--samples", "300", "--steps", "40", "--seed", "0"]


def test_tasks_write_run_files_a_table_and_a_figure(tmp_path):
    tasks.main(["--out", str(tmp_path), *TINY, "--jobs", "1", "--losses", "remine,infonce",
                "--tasks", "normal-sparse-2x2-1nats,additive-uniform-eps0.1"])
    folder = tmp_path / "tasks" / "normal-sparse-2x2-1nats_n300" / "remine"
    run = planning.read_run(str(folder / "seed0.json"))
    assert run["config"]["truth"] == pytest.approx(1.0) and run["config"]["steps"] == 40
    final = run["final"]
    assert final["error"] == pytest.approx(final["mi"] - 1.0) and final["steps_run"] <= 40
    assert run["status"] == final["estimate_status"] == "ok"
    summary = (tmp_path / "tasks" / "summary.md").read_text()
    assert "| normal-sparse-2x2-1nats | 1.000 |" in summary
    assert "| additive-uniform-eps0.1 | 1.709 |" in summary and "| remine |" in summary
    image = Image.open(tmp_path / "tasks" / "estimates_n300_rank.png")
    assert image.size == (3 * 420, 2 * 320 + 30)


def test_run_files_are_the_same_bit_for_bit_under_any_jobs_and_blas_threads(tmp_path,
                                                                            monkeypatch):
    """Every estimate runs on one BLAS thread, whatever --jobs and the thread count of the
    process that starts the grid: one process set to two BLAS threads (whose products
    would round otherwise on some CPUs) and two worker processes write the same numbers."""
    monkeypatch.setattr(tasks.minimi.backend, "cpus", lambda: 2)  # a worker's 1 thread anywhere
    argv = [*TINY, "--losses", "mine,nwj", "--tasks", "student-nu1-2x2-uncorrelated",
            "--no-report"]
    with tasks.minimi.backend.blas_thread_count(2):
        tasks.main(["--out", str(tmp_path / "one"), "--jobs", "1", *argv])
    tasks.main(["--out", str(tmp_path / "two"), "--jobs", "2", *argv])
    for loss in ("mine", "nwj"):
        path = os.path.join("tasks", "student-nu1-2x2-uncorrelated_n300", loss, "seed0.json")
        a, b = (planning.read_run(str(tmp_path / k / path)) for k in ("one", "two"))
        a["final"].pop("seconds"), b["final"].pop("seconds")
        assert a["final"] == b["final"] and a["curves"] == b["curves"]
        assert a["config"] == b["config"]
        assert a["versions"]["blas_threads"] == b["versions"]["blas_threads"] == 1


def test_a_run_made_under_other_estimator_defaults_is_not_reused(tmp_path, monkeypatch):
    """The config records every default of minimi.estimate the grid does not set per
    run: after a default changes, the old run file is named, not reused."""
    argv = ["--out", str(tmp_path), *TINY, "--jobs", "1", "--losses", "infonce",
            "--tasks", "normal-sparse-2x2-1nats", "--no-report"]
    tasks.main(argv)
    changed = tasks.minimi.Settings(patience=3)
    monkeypatch.setattr(tasks.minimi, "Settings", lambda: changed)
    with pytest.raises(commandline.BadInput,
                       match="seed0.json: made with other settings: estimator"):
        tasks.main(argv)


def test_a_loss_parameter_the_estimator_cannot_pass_is_refused(tmp_path):
    with pytest.raises(commandline.BadInput, match="mine_ema:momentum"):
        tasks.main(["--out", str(tmp_path), *TINY, "--losses", "mine_ema:momentum=0.5"])
    with pytest.raises(commandline.BadInput, match="unknown task"):
        tasks.main(["--out", str(tmp_path), *TINY, "--tasks", "normal-42x42"])


def _run(tmp_path, task, loss, error, status="ok", settled=True, seed=0, made_by=None):
    planned = planning.Planned(0, str(tmp_path), "tasks", f"{task}_n100", loss, {}, seed,
                               {"task": task, "truth": 1.0, "samples": 100, "marginals": "rank"})
    run = records.Run(planned, steps=1)
    run.status = status
    run.made_by = made_by or {}
    run.finish({"mi": None if error is None else 1.0 + error, "error": error,
                "settled": settled, "truth": 1.0})


def test_the_table_bolds_close_estimates_and_counts_failures(tmp_path):
    _run(tmp_path, "normal-dense-5x5-1nats", "mine", 0.05)
    _run(tmp_path, "normal-dense-5x5-1nats", "mine", 0.07, seed=1)
    _run(tmp_path, "normal-dense-5x5-1nats", "nwj", None, status="diverged")
    _run(tmp_path, "normal-dense-5x5-1nats", "nwj", -0.3, settled=False, seed=1)
    _run(tmp_path, "normal-dense-5x5-1nats", "nwj", 0.2, seed=2)
    summary = open(tasks.report(str(tmp_path))).read()
    assert "| normal-dense-5x5-1nats | 1.000 | **+0.06 ± 0.01** | **-0.05 ± 0.35** ~ ✗1 |" \
        in summary
    # |the mean error| and the mean |error| per estimate: alike for mine (0.05, 0.07);
    # for nwj (−0.3, +0.2) 0.05 against 0.25
    assert "| mine | 0.060 | 0.060 | 1/1 | 0 | 0 |" in summary
    assert "| nwj | 0.050 | 0.250 | 1/1 | diverged 1 | 1 |" in summary
    with open(tmp_path / "tasks" / "normal-dense-5x5-1nats_n100" / "nwj" / "seed0.json") as f:
        assert json.load(f)["final"]["mi"] is None


def test_runs_made_on_other_cpus_or_blas_threads_are_reported_together_and_said(tmp_path):
    _run(tmp_path, "normal-dense-5x5-1nats", "mine", 0.05)
    _run(tmp_path, "normal-dense-5x5-1nats", "nwj", 0.05)
    summary = open(tasks.report(str(tmp_path))).read()
    assert "kind of machine" not in summary                       # one machine: no note
    _run(tmp_path, "normal-dense-5x5-1nats", "mine", 0.07, seed=1,
         made_by={"cpu": "Other CPU", "blas_kernel": "Sandybridge", "blas_threads": 4})
    summary = open(tasks.report(str(tmp_path))).read()
    assert "| mine | 0.060 | 0.060 | 1/1 |" in summary               # averaged as one run's seeds
    here = records.versions()
    assert (f"2 on {here['cpu']}, {here['blas_kernel']} kernel, {here['blas_threads']} BLAS "
            "thread(s); 1 on Other CPU, Sandybridge kernel, 4 BLAS thread(s)") in summary


def _children(pid):
    """PIDs of a process's children (Linux /proc)."""
    found = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found |= {int(p) for p in f.read().split()}
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"   # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux's /proc")
def test_workers_end_when_their_parent_is_killed(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parent = subprocess.Popen([sys.executable, "-m", "bench", "tasks", "--out", str(tmp_path),
                               "--samples", "2000", "--seeds", "20", "--jobs", "2",
                               "--losses", "mine", "--tasks", "normal-sparse-2x2-1nats",
                               "--no-report"], cwd=root, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        workers = set()
        while len(workers) < 2 and time.time() < deadline and parent.poll() is None:
            time.sleep(0.2)
            workers = {p for p in _children(parent.pid) if _alive(p)}
        assert len(workers) >= 2, "the workers did not start"
        time.sleep(1.0)                                    # they are computing now
    finally:
        parent.send_signal(signal.SIGKILL)                 # as a scheduler kills a job
        parent.wait()
    deadline = time.time() + 20
    while any(_alive(p) for p in workers) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in workers)


def _interval_run(tmp_path, loss, seed, ci, flagged, truth=1.0, answers=False):
    planned = planning.Planned(0, str(tmp_path), "tasks", "normal-dense-5x5-1nats_n100", loss, {},
                               seed, {"task": "normal-dense-5x5-1nats", "family": "normal",
                                      "truth": truth, "samples": 100, "marginals": "rank"})
    run = records.Run(planned, steps=1)
    run.status = "ok" if ci else "diverged"
    mi = None if ci is None else ci[0] + 0.05 if ci[1] is None else sum(ci) / 2
    run.finish({"mi": mi, "error": None if mi is None else mi - truth, "settled": True,
                "truth": truth, "ci": ci, "flagged": flagged,
                "covered": None if ci is None else
                ci[0] <= truth <= (math.inf if ci[1] is None else ci[1]),
                **({"one_sided": None if ci is None or ci[1] is not None else "rises"}
                   if answers else {})})


def test_the_coverage_table_counts_hits_flags_and_unflagged_misses(tmp_path):
    """Six MINE runs: covered ×2, covered and flagged, missed, missed and flagged ×2
    (widths 0.2, 0.1, 0.4, 0.1, 0.3, 0.1: median 0.15); one NWJ run without an
    estimate."""
    for seed, (ci, flagged) in enumerate([([0.9, 1.1], False), ([0.95, 1.05], False),
                                          ([0.8, 1.2], True), ([1.1, 1.2], False),
                                          ([0.5, 0.8], True), ([0.6, 0.7], True)]):
        _interval_run(tmp_path, "mine", seed, ci, flagged)
    _interval_run(tmp_path, "nwj", 0, None, False)
    summary = open(tasks.report(str(tmp_path))).read()
    assert "| MINE | 100 | 6 | 6 | 3/6 (50%) | 2/3 (67%) | 0.15 | 3/6 | 1 |" in summary
    assert "| NWJ | 100 | 1 | 0 | — | — | — | 1/1 | 0 |" in summary


def test_an_interval_without_an_upper_end_counts_as_infinitely_wide(tmp_path):
    """At the log n limit the interval is [low, ∞) (null in the run file): it covers
    any truth above low, and its width enters the median as ∞, not as an error."""
    for seed, (ci, flagged) in enumerate([([0.9, 1.1], False), ([0.95, None], True),
                                          ([1.2, None], True)]):
        _interval_run(tmp_path, "mine", seed, ci, flagged)
    summary = open(tasks.report(str(tmp_path))).read()
    assert "| MINE | 100 | 3 | 3 | 2/3 (67%) | 1/1 (100%) | inf | 2/3 | 0 |" in summary


def test_the_answers_table_tells_two_sided_one_sided_and_flagged_apart(tmp_path):
    """Seven InfoNCE runs, truth 1: two-sided holding it ×2, two-sided ending below it (a
    miss with neither), one-sided holding it, one-sided whose low end is above it,
    flagged (one-sided), no estimate. Runs from before one-sided answers (no
    `one_sided` in the file) are left out of the table."""
    for seed, (ci, flagged) in enumerate([([0.9, 1.1], False), ([0.8, 1.0], False),
                                          ([0.7, 0.9], False), ([0.7, None], False),
                                          ([1.1, None], False), ([0.5, None], True),
                                          (None, False)]):
        _interval_run(tmp_path, "infonce", seed, ci, flagged, answers=True)
    _interval_run(tmp_path, "infonce", 9, [2.0, 3.0], False)          # older: left out
    summary = open(tasks.report(str(tmp_path))).read()
    row = "| 7 | 3 | 2/3 (67%) | 2 | 1/2 (50%) | 2 | 4/7 (57%) | 1 |"
    assert f"| InfoNCE | 100 {row}" in summary
    assert f"| normal | 100 {row}" in summary
    assert "| **all** |" not in summary          # one group: no total row
