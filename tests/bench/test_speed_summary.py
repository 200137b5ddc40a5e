"""The summary of stored `bench speed --json` files: from a real (tiny) speed run, and
its verdicts from a file of known figures."""
import json

import pytest

from bench import report
from bench.grid import records
from bench.grid.commandline import BadInput
from bench.speed import steps


def test_a_real_speed_run_is_summarised_with_its_machine_and_commit(tmp_path):
    (tmp_path / "speed").mkdir()
    steps.main(["--only", "separable_b64", "--repeats", "3",
                "--json", str(tmp_path / "speed" / "here.json")])
    report.main(["--out", str(tmp_path), "speed"])
    summary = (tmp_path / "speed" / "summary.md").read_text()
    data = json.loads((tmp_path / "speed" / "here.json").read_text())
    assert data["machine"]["commit"] == records.source_commit()
    assert f"commit `{records.source_commit() or 'not recorded'}`" in summary
    row = next(line for line in summary.splitlines() if line.startswith("| separable_b64 |"))
    assert row.split("|")[2].strip() == f"{data['workloads']['separable_b64']['ms']:.2f}"


def test_each_workload_is_judged_against_its_target(tmp_path):
    (tmp_path / "speed").mkdir()
    parts = {p: 0.0 for p in steps.PARTS}
    workload = {"gflops": 1.0, "breakdown_ms": parts, "peak_rss_mb": 50.0}
    (tmp_path / "speed" / "a.json").write_text(json.dumps({
        "machine": {"cpu": "Test CPU", "cpu_count": 2, "commit": "abc"}, "gemm1024_ms": 10.0,
        "workloads": {"separable_b64": {**workload, "ms": 1.2, "ratio_to_gemm": 0.12,
                                        "target_ratio": 0.1},
                      "concat_b64": {**workload, "ms": 17.0, "ratio_to_gemm": 1.7,
                                     "target_ratio": 1.7},
                      "separable_b512": {**workload, "ms": 5.0, "ratio_to_gemm": 0.5,
                                         "target_ratio": None}},
        "estimate_10k": None, "estimate_tasks": None}))
    report.main(["--out", str(tmp_path), "speed"])
    summary = (tmp_path / "speed" / "summary.md").read_text()
    cells = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
             for line in summary.splitlines() if line.startswith(("| sep", "| con"))}
    assert cells["separable_b64"][3] == "≤ 0.1: MISSED"
    assert cells["concat_b64"][3] == "≤ 1.7: met"           # at the target is met
    assert cells["separable_b512"][3] == ""
    assert "Test CPU, 2 cores" in summary and "commit `abc`" in summary


def test_a_file_that_is_not_a_speed_run_is_named(tmp_path):
    (tmp_path / "speed").mkdir()
    (tmp_path / "speed" / "notes.json").write_text('{"workloads": {}}')
    with pytest.raises(BadInput, match=r"notes.json: not a `bench speed --json` file "
                                       r"\(no machine, gemm1024_ms\)"):
        report.main(["--out", str(tmp_path), "speed"])
