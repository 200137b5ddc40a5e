"""Where a second BLAS thread starts to pay: the measurement behind backend.BLAS_CROSSOVER.

    python -m bench crossover [--rounds 6] [--json FILE]

Two tables, on an otherwise idle machine:

products   one float32 product of each shape that minimi's workloads run, alone and
           back to back, on one thread and on the CPUs': median µs, best of --rounds
steps      every `bench speed` step workload and the default estimate's number alone
           (subsamples=1, 1500 steps at most, 10,000 rows of 5+5 and of 1+1 columns) with
           the crossover set to each candidate, the candidates taking turns: best of
           --rounds (the estimates: of --rounds // 2)

A product alone, back to back, keeps OpenBLAS's threads spinning between products; in
a training step they go to sleep between products and wake for the next, so the step
table decides.
"""
import argparse
import statistics
import sys
import time

import numpy as np

import minimi as mm
from minimi import backend
from minimi.engine.files import write_json

from .steps import WORKLOADS, gaussian_10k
from .timing import machine, median_ms

SHAPES = [(256, 5, 128), (256, 128, 128), (256, 128, 32), (256, 32, 256), (64, 256, 256),
          (512, 256, 256), (2000, 32, 2000), (4096, 40, 256), (4096, 256, 256),
          (8192, 27, 32), (2048, 288, 64), (1024, 1024, 1024)]
CANDIDATES = {"never": 1 << 62, "2^26": 1 << 26, "2^24": 1 << 24, "2^22": 1 << 22,
              "2^20": 1 << 20, "always": 0}


def products(rounds):
    """[(m, k, n, µs on 1 thread, µs on the CPUs')]."""
    rng = np.random.default_rng(0)
    out = []
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        repeats = min(500, max(5, int(1e8 / (2 * m * k * n))))
        best = {}
        for _ in range(rounds):
            for threads in (1, backend.cpus()):
                with backend.blas_thread_count(threads):
                    us = 1e3 * median_ms(lambda: a @ b, repeats=repeats, warmup=2)
                best[threads] = min(best.get(threads, us), us)
        out.append((m, k, n, best[1], best[backend.cpus()]))
    return out


def _estimate(x, y):
    start = time.perf_counter()
    mm.estimate(x, y, subsamples=1, steps=1500, progress=lambda line: None)
    return 1e3 * (time.perf_counter() - start)


def steps(rounds):
    """{workload: {candidate: best ms}}."""
    rng = np.random.default_rng(0)
    work = {name: WORKLOADS[name](rng)[0] for name in WORKLOADS}
    x5, y5, _ = gaussian_10k()
    x1 = rng.standard_normal((10_000, 1))
    y1 = 0.6 * x1 + 0.8 * rng.standard_normal((10_000, 1))
    timed = {name: (lambda step=step, name=name: median_ms(
        step, repeats=9 if name.startswith("smallcnn") else 40, warmup=2))
        for name, step in work.items()}
    timed["estimate 5+5"] = lambda: _estimate(x5, y5)
    timed["estimate 1+1"] = lambda: _estimate(x1, y1)
    best = {name: {} for name in timed}
    saved = backend.BLAS_CROSSOVER
    try:
        for r in range(rounds):
            for name, run in timed.items():
                if name.startswith("estimate") and r >= max(1, rounds // 2):
                    continue
                for label, crossover in CANDIDATES.items():
                    backend.BLAS_CROSSOVER = crossover
                    ms = run()
                    best[name][label] = min(best[name].get(label, ms), ms)
            print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    finally:
        backend.BLAS_CROSSOVER = saved
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench crossover", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    cpus = backend.cpus()
    print(f"| product m×k×n | multiply-adds | 1 thread µs | {cpus} threads µs | ratio |")
    print("|---|---|---|---|---|")
    alone = products(args.rounds)
    for m, k, n, one, many in alone:
        print(f"| {m}×{k}×{n} | {m * k * n:,} | {one:.1f} | {many:.1f} | {many / one:.2f} |")
    best = steps(args.rounds)
    print("\n| workload (ms) | " + " | ".join(CANDIDATES) + " |")
    print("|---" * (len(CANDIDATES) + 1) + "|")
    for name, row in best.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.2f}" for c in CANDIDATES) + " |")
    if args.json:
        write_json(args.json, {"machine": machine(), "products": alone, "steps": best,
                               "candidates": CANDIDATES, "rounds": args.rounds,
                               "median_of_products": statistics.median([p[4] / p[3]
                                                                        for p in alone])})
