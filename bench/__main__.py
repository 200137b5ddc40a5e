"""python -m bench <benchmark> [options]; `python -m bench --help` lists them."""
import importlib
import sys

# name: (module, function, what it does)
BENCHMARKS = {
    "onehot": ("paper.onehot", "main", "one-hot study: MINE drift, NWJ explosion (paper Figs. 1-3, 5)"),
    "cstar": ("paper.cstar", "main", "ReMINE with different C* (paper Fig. 4)"),
    "gaussian": ("paper.gaussian", "main", "20-D Gaussian staircase, all bounds (paper Fig. 7)"),
    "slb": ("paper.cifar", "main", "supervised benchmark on CIFAR (paper Table 2); needs --data"),
    "clb": ("paper.cifar", "main_clb", "contrastive benchmark on CIFAR (paper Table 2); needs --data"),
    "lambda": ("paper.cifar", "main_lambda", "CLB over a λ grid and its figure (paper Fig. 6)"),
    "tasks": ("truth.tasks", "main", "every bound on distributions with known MI (Beyond Normal)"),
    "bmi": ("truth.bmi_tasks", "main", "minimi beside bmi's KSG and neural estimators, on bmi's tasks"),
    "crossfit": ("truth.crossfit", "main",
                 "k-fold cross-fitting against today's split on 1-D and heavy-tailed tasks"),
    "report": ("report", "main", "rebuild summaries and figures from the run files; --html: "
                                 "one page of them all"),
    "speed": ("speed.steps", "main",
              "training-step time of the critics and the SmallCNN (forward, backward, Adam)"),
    "load": ("speed.load", "main",
             "the training steps and the default estimate idle and beside CPU-bound processes"),
    "crossover": ("speed.crossover", "main",
                  "where a second BLAS thread starts to pay: products and steps per crossover"),
    "scale": ("speed.scale", "main",
              "the default estimate's time and memory from 10^4 to 10^6 rows and 3072 columns"),
    "col2im": ("speed.col2im", "main", "conv2d input gradient: strided-slice adds against np.add.at"),
}


def usage():
    lines = ["usage: python -m bench <benchmark> [options]   (each has --help)", "", "benchmarks:"]
    lines += [f"  {name:10} {what}" for name, (_, _, what) in BENCHMARKS.items()]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] not in BENCHMARKS:
        print(f"unknown benchmark {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module, function, _ = BENCHMARKS[argv[0]]
    from .grid.commandline import BadInput
    try:
        getattr(importlib.import_module(f"bench.{module}"), function)(argv[1:])
    except BadInput as error:  # found before any training: say it plainly
        print(f"python -m bench {argv[0]}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from minimi.tools.tuning import run_command

    # tuned as the speed figures were measured; line-buffered logs; `--list | head` quiet
    sys.exit(run_command(main))
