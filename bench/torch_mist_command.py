"""Runs inside the torch-mist environment (bench/bmi_env.py), never inside minimi's:
torch-mist's estimate_mi as a bmi external estimator.

    <torch-mist env python> bench/torch_mist_command.py SAMPLE_CSV DIM_X DIM_Y
                            [--seed S] [--result FILE.json]

The call is the one torch-mist's README gives, with its default estimator:
estimate_mi(data=(x, y), estimator="smile", hidden_dims=[128], max_iterations=1000).
bmi reads standard output with standard error merged in, so whatever PyTorch or
torch-mist prints goes to FILE.json's folder (torch_mist.log) and the one number
alone to standard output. --result keeps the number and the seconds the estimate
took in this process (without the ~3 s that importing PyTorch takes). Standard
library, NumPy and torch-mist only: no minimi, no bench.
"""
import argparse
import json
import os
import sys
import time

ESTIMATOR = dict(estimator="smile", hidden_dims=[128], max_iterations=1000)
CALL = "estimate_mi(data=(x, y), " + ", ".join(f"{k}={v!r}" for k, v in ESTIMATOR.items()) + ")"


def read_sample(path, dim_x, dim_y):
    """x (n, dim_x), y (n, dim_y) of a CSV written by bmi.utils.save_sample."""
    import numpy as np
    with open(path) as f:
        header = f.readline().strip().split(",")
    want = [f"X{i}" for i in range(dim_x)] + [f"Y{i}" for i in range(dim_y)]
    if header != want:
        raise ValueError(f"{path}: columns {header[:6]}..., expected {want[:6]}... "
                         f"(bmi.utils.save_sample with {dim_x} x and {dim_y} y columns)")
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    return data[:, :dim_x], data[:, dim_x:]


def main(argv):
    parser = argparse.ArgumentParser(prog="torch_mist_command.py")
    parser.add_argument("sample")
    parser.add_argument("dim_x", type=int)
    parser.add_argument("dim_y", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--result")
    args = parser.parse_args(argv)
    log_path = os.path.join(os.path.dirname(os.path.abspath(args.result or args.sample)),
                            "torch_mist.log")
    out = os.dup(1)                    # the number goes here; all else to the log
    with open(log_path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    start = time.perf_counter()
    try:
        import torch
        from torch_mist import estimate_mi
        imported = time.perf_counter()
        x, y = read_sample(args.sample, args.dim_x, args.dim_y)
        torch.manual_seed(args.seed)
        mi = estimate_mi(data=(x, y), verbose=False, **ESTIMATOR)
        mi = float(mi[0] if isinstance(mi, tuple) else mi)
    except Exception as error:         # bmi keeps what the command said
        os.write(out, f"torch-mist failed: {type(error).__name__}: {error} "
                      f"(the whole output: {log_path})\n".encode())
        sys.exit(1)
    done = time.perf_counter()
    if args.result:
        with open(args.result, "w") as f:
            json.dump({"mi": mi, "elapsed_s": round(done - imported, 3),
                       "import_s": round(imported - start, 3),
                       "call": CALL}, f)
    os.write(out, f"{mi!r}\n".encode())


if __name__ == "__main__":
    main(sys.argv[1:])
