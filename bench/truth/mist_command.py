"""torch-mist as a bmi external estimator, through torch-mist's own command line.

    python bench/truth/mist_command.py --mist MIST SAMPLE_CSV DIM_X DIM_Y
                                 [--seed S] [--result FILE.json]

MIST is the `mist` command of the torch-mist environment (bench/truth/bmi_env.py). It runs
with the settings of torch-mist's README call, `estimate_mi(data=(x, y),
estimator="smile", hidden_dims=[128], max_iterations=1000)` (its batch of 128 set
too, since `mist`'s own default is 64), on a copy of the sample with the column
names it reads (x_1.., y_1.. for bmi's X0.., Y0..). Standard library only: PyTorch
runs in torch-mist's process, never in this one.

bmi reads standard output with standard error merged in, so whatever `mist` prints
goes to torch_mist.log beside FILE.json and the one number alone to standard
output; a failure prints why and exits 1. --result keeps the number and the
seconds from `mist` reading the data to its estimate (without the seconds that
starting it and importing PyTorch take).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

SETTINGS = ["mi_estimator=smile", "params.hidden_dims=[128]", "estimation.max_iterations=1000",
            "estimation.batch_size=128"]
CALL = ('estimate_mi(data=(x, y), estimator="smile", hidden_dims=[128], max_iterations=1000) '
        "as `mist " + " ".join(SETTINGS) + "`")
STARTS, DONE = "Instantiating the Data", "Estimated mi:"


def renamed_header(header, dim_x, dim_y):
    """torch-mist's column names for bmi.utils.save_sample's header line, or a
    ValueError naming what was found."""
    want = [f"X{i}" for i in range(dim_x)] + [f"Y{i}" for i in range(dim_y)]
    found = header.strip().split(",")
    if found != want:
        raise ValueError(f"columns {found[:6]}..., expected {want[:6]}... "
                         f"(bmi.utils.save_sample with {dim_x} x and {dim_y} y columns)")
    return ",".join([f"x_{i + 1}" for i in range(dim_x)] + [f"y_{i + 1}" for i in range(dim_y)])


def run_mist(mist, sample, seed, folder, log):
    """(estimate, seconds from reading the data to the estimate): `mist` on `sample`,
    its output written to `log` as it comes."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")       # its lines arrive when printed
    process = subprocess.Popen(
        [mist, "data=csv", f"data.filepath={sample}", f"seed={seed}", *SETTINGS,
         f"hydra.run.dir={folder}", "hydra.output_subdir=null",
         "hydra/job_logging=disabled", "hydra/hydra_logging=disabled"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = mi = seconds = None
    for line in process.stdout:
        log.write(line)
        if STARTS in line:
            started = time.perf_counter()
        elif line.startswith(DONE):
            mi = float(line[len(DONE):])
            seconds = time.perf_counter() - started if started else None
    if process.wait() or mi is None:
        raise RuntimeError(f"mist exited {process.returncode} without '{DONE}'")
    return mi, seconds


def main(argv):
    parser = argparse.ArgumentParser(prog="mist_command.py")
    parser.add_argument("--mist", required=True)
    parser.add_argument("sample")
    parser.add_argument("dim_x", type=int)
    parser.add_argument("dim_y", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--result")
    args = parser.parse_args(argv)
    log_path = os.path.join(os.path.dirname(os.path.abspath(args.result or args.sample)),
                            "torch_mist.log")
    try:
        with tempfile.TemporaryDirectory(prefix="minimi-mist-") as folder, \
                open(log_path, "a") as log, open(args.sample) as sample:
            copy = os.path.join(folder, "sample.csv")
            with open(copy, "w") as f:
                f.write(renamed_header(sample.readline(), args.dim_x, args.dim_y) + "\n")
                f.writelines(sample)
            mi, seconds = run_mist(args.mist, copy, args.seed, folder, log)
    except (OSError, ValueError, RuntimeError) as error:
        print(f"torch-mist failed: {error} (its output: {log_path})")
        sys.exit(1)
    if args.result:             # written whole or not at all, as minimi's --result is
        with open(args.result + ".tmp", "w") as f:
            json.dump({"mi": mi, "elapsed_s": None if seconds is None else round(seconds, 3),
                       "call": CALL}, f)
        os.replace(args.result + ".tmp", args.result)
    print(repr(mi))


if __name__ == "__main__":
    main(sys.argv[1:])
