"""Runs inside the bmi environment (bench/bmi_env.py), never inside minimi's: bmi's
own harness on bmi's own tasks, one estimator at a time.

    <bmi env python> bench/bmi_worker.py PLAN.json
    <bmi env python> bench/bmi_worker.py --catalogue     # bmi's tasks, their dims and MI

PLAN.json holds {"minimi_command": [...], "folder": DIR, "units": [{"key", "task",
"samples", "seed", "estimator", "options"}, ...]}. Each unit: task.sample(samples, seed), the
sample written by bmi.utils.save_sample, then bmi.benchmark.run_estimator with the
estimator, as bmi's own pipeline does. minimi runs as bmi runs any external
estimator: a command given the sample's path and dimensions, whose standard output
(standard error merged in) must be one number. One line per finished unit on
standard output, `RESULT <json>`; everything else this process prints (JAX) goes
to standard error. Standard library and bmi only: no minimi, no bench.
"""
import json
import os
import sys


def bmi_estimator(name, seed, minimi_command, folder, options=()):
    """bmi's estimator `name` with its defaults (the neural ones quiet and seeded)."""
    import bmi.estimators as E
    from bmi.estimators.external.external_estimator import ExternalEstimator

    if name == "minimi":
        class Minimi(ExternalEstimator):
            result_path = os.path.join(folder, "minimi_result.json")

            def _build_command(self, path, dim_x, dim_y):
                # a flagged number is printed and kept with its flags in --result
                return [*minimi_command, str(path), str(dim_x), str(dim_y), *options,
                        "--seed", str(seed), "--accept-flagged", "--result", self.result_path]

            def parameters(self):
                return {}
        return Minimi()
    if name == "ksg":
        return E.KSGEnsembleFirstEstimator()
    if name == "cca":
        return E.CCAMutualInformationEstimator()
    neural = {"bmi-infonce": E.InfoNCEEstimator, "bmi-nwj": E.NWJEstimator,
              "bmi-dv": E.DonskerVaradhanEstimator, "bmi-mine": E.MINEEstimator}
    return neural[name](verbose=False, seed=seed)


def main(plan_path):
    # python put this script's folder first on the path: bench's modules must not
    # shadow bmi's
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    real_stdout = sys.stdout
    sys.stdout = sys.stderr                      # whatever bmi or JAX prints stays off our lines
    import bmi.utils
    from bmi.benchmark import BENCHMARK_TASKS, run_estimator

    if plan_path == "--catalogue":
        tasks = [{"task": t.id, "dims": [t.dim_x, t.dim_y], "truth": float(t.mutual_information)}
                 for t in BENCHMARK_TASKS.values()]
        real_stdout.write("RESULT " + json.dumps(tasks) + "\n")
        return
    with open(plan_path) as f:
        plan = json.load(f)
    folder = plan["folder"]
    sample_path, drawn = os.path.join(folder, "sample.csv"), None
    for unit in plan["units"]:
        task = BENCHMARK_TASKS[unit["task"]]
        if drawn != (unit["task"], unit["samples"], unit["seed"]):
            x, y = task.sample(unit["samples"], seed=unit["seed"])
            bmi.utils.save_sample(sample_path, x, y)
            drawn = (unit["task"], unit["samples"], unit["seed"])
        estimator = bmi_estimator(unit["estimator"], unit["seed"], plan["minimi_command"], folder,
                                  unit.get("options", ()))
        kept = getattr(estimator, "result_path", None)
        if kept and os.path.exists(kept):
            os.remove(kept)
        run = run_estimator(estimator, unit["estimator"], sample_path, task.id, seed=unit["seed"])
        minimi_result = None
        if kept and os.path.exists(kept):
            with open(kept) as f:
                minimi_result = json.load(f)
        line = {"key": unit["key"], "truth": float(task.mutual_information),
                "run": run.dict(), "minimi_result": minimi_result}
        real_stdout.write("RESULT " + json.dumps(line) + "\n")
        real_stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
