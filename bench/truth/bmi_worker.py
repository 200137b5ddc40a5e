"""Runs inside the bmi environment (bench/truth/bmi_env.py), never inside minimi's: bmi's
own harness on bmi's own tasks, one estimator at a time.

    <bmi env python> bench/truth/bmi_worker.py PLAN.json
    <bmi env python> bench/truth/bmi_worker.py --catalogue     # bmi's tasks, their dims and MI

PLAN.json holds {"commands": {"minimi": [...], "torch-mist": [...]}, "folder": DIR,
"units": [{"key", "task", "samples", "seed", "estimator", "options"}, ...]}. Each
unit: task.sample(samples, seed), the sample written by bmi.utils.save_sample, then
bmi.benchmark.run_estimator with the estimator, as bmi's own pipeline does. minimi
and torch-mist run as bmi runs any external estimator: a command given the sample's
path and dimensions, whose standard output (standard error merged in) must be one
number; each also keeps its result in a JSON file, passed on as `command_result`.
One line per finished unit on standard output, `RESULT <json>`; everything else
this process prints (JAX) goes to standard error. Standard library and bmi only:
no minimi, no bench.
"""
import json
import os
import sys


def command_estimator(head, options, result_path):
    """bmi's ExternalEstimator running `head` + [SAMPLE_CSV, DIM_X, DIM_Y] + `options`,
    a command that keeps its result in `result_path`."""
    from bmi.estimators.external.external_estimator import ExternalEstimator

    class Command(ExternalEstimator):
        def _build_command(self, path, dim_x, dim_y):
            return [*head, str(path), str(dim_x), str(dim_y), *options]

        def parameters(self):
            return {}
    estimator = Command()
    estimator.result_path = result_path
    return estimator


def bmi_estimator(name, seed, commands, folder, options=()):
    """bmi's estimator `name` with its defaults (the neural ones quiet and seeded), or
    one of the commands (minimi, torch-mist) as bmi runs any external estimator."""
    import bmi.estimators as E

    if name in ("minimi", "torch-mist"):
        result = os.path.join(folder, f"{name}_result.json")
        # minimi: a flagged number is printed and kept with its flags in --result
        own = [*options, "--accept-flagged"] if name == "minimi" else []
        return command_estimator(commands[name], [*own, "--seed", str(seed), "--result", result],
                                 result)
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
        estimator = bmi_estimator(unit["estimator"], unit["seed"], plan["commands"], folder,
                                  unit.get("options", ()))
        kept = getattr(estimator, "result_path", None)
        if kept and os.path.exists(kept):
            os.remove(kept)
        run = run_estimator(estimator, unit["estimator"], sample_path, task.id, seed=unit["seed"])
        command_result = None
        if kept and os.path.exists(kept):
            with open(kept) as f:
                command_result = json.load(f)
        line = {"key": unit["key"], "truth": float(task.mutual_information),
                "run": run.dict(), "command_result": command_result}
        real_stdout.write("RESULT " + json.dumps(line) + "\n")
        real_stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
