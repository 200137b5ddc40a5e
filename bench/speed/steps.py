"""Training-step speed: forward, backward and Adam, median after warm-up.

    python -m bench speed [--json FILE] [--repeats N]

Workloads (float32):
  separable_b64   separable critic 20→256→256→32 per side, InfoNCE, B=64
  separable_b512  the same at B=512
  concat_b64      concat critic 40→256→256→1 on all 64·64 pairs, MINE
  smallcnn_b128   SmallCNN on 128 images 32×32×3, cross-entropy
  estimate_10k    the whole default minimi.estimate on 10,000 rows of a 5+5-D Gaussian
                  with I = 1 nat: seconds (median of --estimate-runs calls), its error
                  and interval; and the number alone (subsamples=1), timed alternately:
                  the interval's cost (target: at most 2× the number alone)
  estimate_tasks  the same two on each quick task of `bench tasks` × seeds 0 and 1 at
                  5000 rows (minutes): the interval's cost over 14 data sets,
                  in total and per estimate

Each is also given as a ratio to a plain NumPy float32 1024³ matmul timed in
the same run (`gemm1024_ms`): the machine's practical limit. Targets from the
issue: separable_b64 ≤ 0.10×, concat_b64 ≤ 1.7×, smallcnn_b128 ≤ 8×.
"""
import argparse
import math
import resource
import statistics
import sys
import time

import numpy as np

import minimi as mm
from minimi import bounds
from minimi.engine.files import write_json
from minimi.tools import profile

from .timing import machine, median_ms

TARGETS = {"separable_b64": 0.10, "concat_b64": 1.7, "smallcnn_b128": 8.0}


def _mlp_flops(sizes, rows):
    """Multiply-adds ×2 of an MLP's forward pass on `rows` inputs."""
    return 2 * rows * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def _critic_step(critic, bound, B, rng):
    """One Adam step of a critic on a fixed batch of 20-D pairs, ascending `bound`."""
    opt = mm.Adam(critic.parameters(), lr=5e-4)
    x = mm.Tensor(rng.standard_normal((B, 20)).astype(np.float32))
    y = mm.Tensor(rng.standard_normal((B, 20)).astype(np.float32))

    def step():
        opt.zero_grad()
        (-bound(critic(x, y)).objective).backward()
        opt.step()
    return step


def separable(B, rng):
    critic = mm.SeparableCritic(20, 20, hidden=(256, 256), embed_dim=32, rng=0)
    # forward ≈ two MLPs and the score matmul; backward ≈ 2× forward
    flops = 3 * (2 * _mlp_flops([20, 256, 256, 32], B) + 2 * B * B * 32)
    return _critic_step(critic, bounds.infonce, B, rng), flops


def concat(B, rng):
    critic = mm.ConcatCritic(20, 20, hidden=(256, 256), rng=0)
    flops = 3 * _mlp_flops([40, 256, 256, 1], B * B)  # as if every pair ran the whole MLP
    return _critic_step(critic, bounds.mine, B, rng), flops


def smallcnn(B, rng):
    cnn = mm.SmallCNN(num_classes=10, rng=0)
    opt = mm.Adam(cnn.parameters(), lr=1e-3)
    images = mm.Tensor(rng.standard_normal((B, 32, 32, 3)).astype(np.float32))
    labels = rng.integers(0, 10, B)

    def step():
        opt.zero_grad()
        mm.cross_entropy(cnn(images), labels).backward()
        opt.step()
    conv = sum(2 * B * hw * hw * 9 * c_in * c_out
               for hw, c_in, c_out in ((32, 3, 32), (16, 32, 64), (8, 64, 128)))
    fc = _mlp_flops([2048, 256, 10], B)
    flops = 3 * (conv + fc) - 2 * B * 32 * 32 * 9 * 3 * 32  # no input gradient for the images
    return step, flops


def gaussian_10k():
    """The fixed data of estimate_10k: y = ρx + sqrt(1−ρ²)ε per coordinate, I = 1 nat."""
    rng = np.random.default_rng(0)
    rho = math.sqrt(1.0 - math.exp(-2.0 * 1.0 / 5))
    x = rng.standard_normal((10_000, 5))
    return x, rho * x + math.sqrt(1.0 - rho ** 2) * rng.standard_normal((10_000, 5)), 1.0


def both_ways(x, y, seed=0):
    """{'interval': (seconds, result), 'alone': (...)}: the default estimate and the
    number alone (subsamples=1) on the same rows, one after the other."""
    out = {}
    for name, changes in (("interval", {}), ("alone", {"subsamples": 1})):
        start = time.perf_counter()
        result = mm.estimate(x, y, seed=seed, **changes)
        out[name] = (time.perf_counter() - start, result)
    return out


def estimate_10k(runs):
    """{'interval': (median seconds, result), 'alone': (...)} of the default estimate
    on gaussian_10k() and of the number alone, run alternately."""
    x, y, _ = gaussian_10k()
    timed = [both_ways(x, y) for _ in range(runs)]
    return {name: (statistics.median(t[name][0] for t in timed), timed[-1][name][1])
            for name in ("interval", "alone")}


def estimate_tasks(seeds=(0, 1), rows=5000):
    """The interval's cost over many data sets, not one: [(task, seed, seconds with
    the interval, seconds alone, covered)] on the quick tasks of `bench tasks`."""
    from ..truth.tasks import quick_tasks
    out = []
    for task in quick_tasks():
        for seed in seeds:
            x, y = task.sample(rows, np.random.default_rng(seed))
            timed = both_ways(x, y, seed)
            (seconds, result), alone = timed["interval"], timed["alone"][0]
            covered = result.ci is not None and result.ci[0] <= task.mi <= result.ci[1]
            out.append((task.name, seed, seconds, alone, covered))
    return out


WORKLOADS = {
    "separable_b64": lambda rng: separable(64, rng),
    "separable_b512": lambda rng: separable(512, rng),
    "concat_b64": lambda rng: concat(64, rng),
    "smallcnn_b128": lambda rng: smallcnn(128, rng),
}


GEMM_FLOPS = 2 * 1024 ** 3
PARTS = ("gemm", "im2col", "col2im", "pooling", "other")


# ops whose whole time is matrix products (their bias and ReLU work included)
MATMUL_OPS = ("MatMul", "Linear")


def breakdown(step):
    """{part: ms} of one more step (minimi/tools/profile.py): 'gemm' is every matrix product
    (the fast convolutions' products, and the whole time of the matmul and linear
    ops), 'im2col', 'col2im' and 'pooling' the fast convolutions' phases, 'other' the
    rest of the step: elementwise work, the bound, Adam, the engine."""
    with profile.sections() as seconds:
        start = time.perf_counter()
        step()
        mm.backend.synchronize()
        total = time.perf_counter() - start
    parts = {part: 1e3 * seconds.get(part, 0.0) for part in PARTS[:-1]}
    parts["gemm"] += 1e3 * sum(s for name, s in seconds.items()
                               if name.split(".")[0] in MATMUL_OPS)
    parts["other"] = 1e3 * total - sum(parts.values())
    parts["step"] = 1e3 * total
    return parts


def peak_rss_mb():
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per workload")
    parser.add_argument("--only", help="comma-separated workloads (default: all)")
    parser.add_argument("--estimate-runs", type=int, default=3,
                        help="calls of estimate_10k; the median is reported (3)")
    args = parser.parse_args(argv)
    estimates = ("estimate_10k", "estimate_tasks")
    names = args.only.split(",") if args.only else [*WORKLOADS, *estimates]
    unknown = [n for n in names if n not in WORKLOADS and n not in estimates]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}: choose from "
                     f"{', '.join([*WORKLOADS, *estimates])}")
    rng = np.random.default_rng(0)
    # the reference matmul runs where the workloads run (MINIMI_DEVICE)
    a = mm.backend.to_device(rng.standard_normal((1024, 1024)).astype(np.float32))
    b = mm.backend.to_device(rng.standard_normal((1024, 1024)).astype(np.float32))
    gemm = median_ms(lambda: a @ b, repeats=max(args.repeats, 10))
    info = machine()
    print(f"device {info['device']}{' (' + info['gpu'] + ')' if info.get('gpu') else ''}, "
          f"numpy {info['numpy']}, BLAS {info.get('blas')} ({info.get('blas_threads')} threads, "
          f"idle spin {info['blas_idle_spin']}), {info['cpu_count']} cpus; "
          f"gemm1024 {gemm:.2f} ms", file=sys.stderr)
    print(f"{'workload':16}{'ms':>9}{'GFLOP/s':>9}{'× gemm':>9}{'target':>9}  ")
    results = {}
    for name in [n for n in names if n in WORKLOADS]:
        step, flops = WORKLOADS[name](rng)
        repeats = max(5, args.repeats // 3) if name.startswith("smallcnn") else args.repeats
        ms = median_ms(step, repeats=repeats, warmup=3)
        results[name] = {"ms": ms, "gflops": flops / ms / 1e6, "ratio_to_gemm": ms / gemm,
                         "gemm_gflops": GEMM_FLOPS / gemm / 1e6, "breakdown_ms": breakdown(step),
                         "target_ratio": TARGETS.get(name), "peak_rss_mb": peak_rss_mb()}
        target = TARGETS.get(name)
        verdict = "" if target is None else ("met" if ms / gemm <= target else "MISSED")
        print(f"{name:16}{ms:9.2f}{flops / ms / 1e6:9.1f}{ms / gemm:9.3f}"
              f"{'' if target is None else f'{target:9.2f}'}  {verdict}")
    if results:
        print(f"\nwhere one instrumented step's time goes (ms; the GEMM reference runs at "
              f"{GEMM_FLOPS / gemm / 1e6:.0f} GFLOP/s)")
        print(f"{'workload':16}" + "".join(f"{part:>10}" for part in PARTS) + f"{'step':>10}")
        for name, r in results.items():
            parts = r["breakdown_ms"]
            print(f"{name:16}" + "".join(f"{parts[part]:10.2f}" for part in PARTS) +
                  f"{parts['step']:10.2f}")
    estimate = None
    if "estimate_10k" in names:
        timed = estimate_10k(args.estimate_runs)
        (seconds, result), (alone, number) = timed["interval"], timed["alone"]
        error = None if result.mi is None else result.mi - gaussian_10k()[2]
        estimate = {"seconds_median": seconds, "runs": args.estimate_runs, "mi": result.mi,
                    "ci": result.ci, "flagged": result.flagged, "true_mi": 1.0, "error": error,
                    "status": result.status, "steps_run": result.steps_run,
                    "best_step": result.best_step, "number_alone_seconds_median": alone,
                    "number_alone_mi": number.mi,
                    "interval_cost_ratio": seconds / alone, "target_cost_ratio": 2.0,
                    "target_abs_error": 0.05}
        covered = result.ci is not None and result.ci[0] <= 1.0 <= result.ci[1]
        ok = error is not None and abs(error) <= 0.05 and covered and seconds <= 2 * alone
        print(f"estimate_10k: {seconds:.2f} s with the interval, {alone:.2f} s the number "
              f"alone (subsamples=1; medians of {args.estimate_runs}, alternating): "
              f"{seconds / alone:.1f}×; {result.summary()}; error "
              f"{'—' if error is None else f'{error:+.3f}'} nats; target |error| ≤ 0.05, the "
              f"truth in the interval, ≤ 2× the time: {'met' if ok else 'MISSED'}")
    tasks = None
    if "estimate_tasks" in names:
        runs = estimate_tasks()
        ratios = [with_interval / alone for _, _, with_interval, alone, _ in runs]
        total = sum(r[2] for r in runs) / sum(r[3] for r in runs)
        tasks = {"runs": [dict(zip(("task", "seed", "seconds", "number_alone_seconds",
                                    "covered"), r)) for r in runs],
                 "total_ratio": total, "median_ratio": statistics.median(ratios),
                 "target_cost_ratio": 2.0}
        print(f"estimate_tasks: the {len(runs)} estimates of the quick tasks × seeds 0, 1 at "
              f"5000 rows took {sum(r[2] for r in runs):.1f} s with the interval and "
              f"{sum(r[3] for r in runs):.1f} s the number alone: {total:.2f}× in total, per "
              f"estimate {statistics.median(ratios):.2f}× median ({min(ratios):.2f}× to "
              f"{max(ratios):.2f}×); the truth in {sum(r[4] for r in runs)} of {len(runs)} "
              f"intervals; target ≤ 2× in total: {'met' if total <= 2.0 else 'MISSED'}")
    print(f"peak resident memory {peak_rss_mb():.0f} MB (whole process)")
    if args.json:
        write_json(args.json, {"machine": info, "gemm1024_ms": gemm, "workloads": results,
                               "estimate_10k": estimate, "estimate_tasks": tasks})


if __name__ == "__main__":
    main()
