"""The speed summary: `python -m bench report` turns each `bench speed --json` file kept
in <out>/speed/ (one per machine or date, any name ending .json) into a table in
<out>/speed/summary.md: per workload its step time, GFLOP/s, its ratio to the same run's
1024³ matmul and the target, then the default estimate's seconds and the interval's cost."""
import glob
import json
import os

from minimi.engine.files import write_text

from ..grid.commandline import BadInput
from .steps import PARTS


def read_speed(path):
    """One `bench speed --json` file, or BadInput naming it and what it lacks."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as error:
        raise BadInput(f"{path}: not a readable `bench speed --json` file ({error})") from None
    lacking = [k for k in ("machine", "gemm1024_ms", "workloads") if k not in data]
    if lacking:
        raise BadInput(f"{path}: not a `bench speed --json` file (no {', '.join(lacking)})")
    return data


def report(out):
    files = sorted(glob.glob(os.path.join(out, "speed", "*.json")))
    if not files:
        print(f"speed: no `bench speed --json` files under {out}/speed")
        return None
    lines = ["# Training-step speed and the estimate's time (`python -m bench speed`)", "",
             "Medians after warm-up (forward, backward, Adam), float32; × gemm: the step's time "
             "over a plain 1024³ float32 matmul timed in the same run (the machine's practical "
             "limit), against the target where there is one. One table per stored run.", ""]
    for path in files:
        lines += _table(os.path.basename(path), read_speed(path))
    path = os.path.join(out, "speed", "summary.md")
    write_text(path, "\n".join(lines) + "\n")
    print(f"speed: summary {path}")
    return path


def _table(name, data):
    m = data["machine"]
    commit = m.get("commit") or "not recorded"
    lines = [f"## {name}", "",
             f"{m.get('cpu') or m.get('processor')}, {m.get('cpu_count')} cores, device "
             f"{m.get('device')}, numpy {m.get('numpy')}, {m.get('blas')} ({m.get('blas_kernel')} "
             f"kernel, {m.get('blas_threads')} threads); commit `{commit}`; gemm1024 "
             f"{data['gemm1024_ms']:.2f} ms.", "",
             "| workload | ms per step | GFLOP/s | × gemm | target | " +
             " | ".join(f"{p} ms" for p in PARTS) + " | peak memory MB |",
             "|---" * (6 + len(PARTS)) + "|"]
    for workload, r in data["workloads"].items():
        target = r.get("target_ratio")
        verdict = "" if target is None else \
            f"≤ {target:g}: {'met' if r['ratio_to_gemm'] <= target else 'MISSED'}"
        parts = r.get("breakdown_ms") or {}
        lines.append(f"| {workload} | {r['ms']:.2f} | {r['gflops']:.1f} | "
                     f"{r['ratio_to_gemm']:.3f} | {verdict} | " +
                     " | ".join(f"{parts.get(p, 0):.2f}" for p in PARTS) +
                     f" | {r['peak_rss_mb']:.0f} |")
    e = data.get("estimate_10k")
    if e:
        error = "—" if e["error"] is None else f"{e['error']:+.3f}"
        lines += ["", f"estimate_10k (5+5-D Gaussian, 10,000 rows, I = 1 nat): "
                      f"{e['seconds_median']:.2f} s with the interval, "
                      f"{e['number_alone_seconds_median']:.2f} s the number alone "
                      f"({e['interval_cost_ratio']:.2f}×, target ≤ {e['target_cost_ratio']:g}×); "
                      f"error {error} nats, status {e['status']}."]
    t = data.get("estimate_tasks")
    if t:
        with_interval = sum(r["seconds"] for r in t["runs"])
        alone = sum(r["number_alone_seconds"] for r in t["runs"])
        lines += ["", f"estimate_tasks ({len(t['runs'])} estimates at 5000 rows): "
                      f"{with_interval:.1f} s with the interval, {alone:.1f} s the number alone: "
                      f"{t['total_ratio']:.2f}× in total, {t['median_ratio']:.2f}× per estimate "
                      f"(median); the truth in {sum(bool(r['covered']) for r in t['runs'])} of "
                      f"{len(t['runs'])} intervals."]
    return lines + [""]
