"""Summaries of the CIFAR benchmarks: the paper's Table 2 layout and Fig. 6.

Built from the run files alone (python -m bench report), so a grid spread over
many machines is summarized in one place.
"""
import math

import numpy as np
from scipy import stats

from minimi import bounds
from minimi.tools.plot import PALETTE, Figure

from ..grid import commandline, records, summaries
from ..grid.summaries import finite_mean

ORIGINALS = list(bounds.ORIGINALS)
GRID = (0.1, 0.01, 0.001)  # docs/method.md §3: Table 2 chooses λ from this grid only

# The paper's Table 2 as (MI original, MI regularized, accuracy original, accuracy regularized).
PAPER_TABLE = {
    ("slb", "cifar10"): {"mine": (2.300, 2.298, .850, .856), "smile": (2.297, 2.300, .854, .853),
                         "infonce": (2.301, 2.302, .845, .845), "nwj": (2.297, 2.294, .859, .862),
                         "tuba": (2.297, 2.300, .862, .859), "js": (1.944, 2.000, .838, .842)},
    ("slb", "cifar100"): {"mine": (4.597, 4.603, .610, .610), "smile": (4.595, 4.602, .601, .606),
                          "infonce": (4.594, 4.599, .589, .593), "nwj": (4.572, 4.586, .558, .599),
                          "tuba": (4.495, 4.603, .543, .611), "js": (4.088, 4.240, .591, .598)},
    ("clb", "cifar10"): {"mine": (2.233, 2.240, .812, .823), "smile": (0.000, 2.065, .100, .830),
                         "infonce": (1.705, 1.739, .830, .826), "nwj": (0.000, 1.910, .100, .831),
                         "tuba": (0.000, 1.358, .100, .830), "js": (1.552, 1.556, .837, .832)},
    ("clb", "cifar100"): {"mine": (4.634, 4.563, .522, .540), "smile": (0.000, 4.677, .012, .585),
                          "infonce": (4.112, 4.115, .576, .585), "nwj": (0.000, 4.065, .010, .521),
                          "tuba": (0.000, 2.731, .010, .490), "js": (3.253, 3.393, .451, .463)},
}

def half_width(values, confidence=0.95):
    """Student-t half-width of the mean's confidence interval (n − 1 degrees of freedom)."""
    n = len(values)
    if n < 2:
        return float("nan")
    return float(stats.t.ppf(0.5 + confidence / 2, n - 1) * np.std(values, ddof=1) / math.sqrt(n))


def cell(values):
    """(mean, half-width) of the finite values, or None."""
    values = [v for v in values if v is not None]
    return (float(np.mean(values)), half_width(values)) if values else None


def _text(c, bold=False, mark=False, diverged=0, seeds=0):
    if c is None:
        return "—"
    mean, hw = c
    text = f"{mean:.3f}" + (f" ± {hw:.3f}" if math.isfinite(hw) else "")
    text = f"**{text}**" if bold else text
    text += " †" if mark else ""
    return text + (f" ‡{diverged}/{seeds}" if diverged else "")


def compare(a, b, target=None):
    """(bold a, bold b, intervals disjoint) for two (mean, half-width) cells: the mean
    closer to `target` wins (MI: closer to log K), or the larger one (accuracy)."""
    if a is None or b is None:
        return a is not None, b is not None, False
    disjoint = all(map(math.isfinite, (a[1], b[1]))) and abs(a[0] - b[0]) > a[1] + b[1]
    if target is None:
        return a[0] >= b[0], b[0] > a[0], disjoint
    da, db = abs(a[0] - target), abs(b[0] - target)
    return da <= db, db < da, disjoint


def report(out, benchmark):
    runs = summaries.runs_to_report(out, benchmark)
    if not runs:
        return None
    lines = [f"# {'Supervised' if benchmark == 'slb' else 'Contrastive'} learning benchmark "
             "(paper Table 2)", "",
             "Cells: mean ± 95% Student-t half-width over seeds. MI: mean training value over the "
             "last epoch, negatives clipped to 0. A diverged run counts as the paper counts it: "
             "MI 0 and the accuracy of the diverged network (NaN outputs: chance); ‡k/n: k of "
             "the n seeds diverged. Bold: the better of original and regularized (MI: closer "
             "to log K; accuracy: higher); † where the two intervals do not overlap. For a "
             f"regularized loss the λ of the grid {{{', '.join(f'{v:g}' for v in GRID)}}} "
             "whose mean MI is closest to log K is shown; runs with other λ (the ablation has "
             "its own experiment) are listed below the table. Paper: the authors' ResNet-18 "
             "numbers (Table 2).", ""]
    for setting in sorted({r["setting"] for r in runs}):
        lines += _table(benchmark, setting, [r for r in runs if r["setting"] == setting])
    return summaries.write_summary(out, benchmark, lines, runs)


def _table(benchmark, setting, runs):
    config = runs[0]["config"]
    true_mi = config["true_mi"]
    by_loss = {}
    for r in runs:
        by_loss.setdefault((r["loss_name"], r["loss_params"].get("lam"),
                            r["loss_params"].get("target")), []).append(r)

    def cells(name, target=None):
        """(MI cell, accuracy cell, λ, diverged, seeds) of a loss; for a regularized one
        the λ of the grid whose mean MI is closest to log K."""
        options = [(key[1], group) for key, group in by_loss.items()
                   if key[0] == name and key[2] == target and (key[1] is None or key[1] in GRID)]
        if not options:
            return None, None, None, 0, 0
        lam, group = min(options, key=lambda o: abs(
            np.mean([r["final"]["mi_estimate"] for r in o[1]]) - true_mi))
        return (cell([r["final"]["mi_estimate"] for r in group]),
                cell([r["final"]["test_accuracy"] for r in group]), lam,
                sum(r["status"] == "diverged" for r in group), len(group))

    paper = PAPER_TABLE.get((benchmark, config["dataset"]), {})
    lines = [f"## {setting}", "",
             f"{config['dataset']}, {config['classes']} classes (true MI log K = {true_mi:.4f}), "
             f"SmallCNN, {config['epochs']} epochs, batch {config['batch_size']}, "
             f"train subset {config['train_subset'] or 'all'}; seeds "
             f"{sorted({r['seed'] for r in runs})}.", "",
             "| loss | MI original | MI regularized | accuracy original | accuracy regularized | "
             "λ | paper MI | paper accuracy |", "|---|---|---|---|---|---|---|---|"]
    shown = set()
    for name in ORIGINALS:
        mi_a, acc_a, _, div_a, n_a = cells(name)
        mi_b, acc_b, lam, div_b, n_b = cells(bounds.regularized(name))
        shown |= {(name, None, None), (bounds.regularized(name), lam, None)}
        bold_mi, bold_acc = compare(mi_a, mi_b, true_mi), compare(acc_a, acc_b)
        p = paper.get(name)
        lines.append(f"| {name} | {_text(mi_a, bold_mi[0], bold_mi[2] and bold_mi[0], div_a, n_a)}"
                     f" | {_text(mi_b, bold_mi[1], bold_mi[2] and bold_mi[1], div_b, n_b)} | "
                     f"{_text(acc_a, bold_acc[0], bold_acc[2] and bold_acc[0], div_a, n_a)} | "
                     f"{_text(acc_b, bold_acc[1], bold_acc[2] and bold_acc[1], div_b, n_b)} | "
                     f"{'—' if lam is None else f'{lam:g}'} | "
                     f"{f'{p[0]:.3f} → {p[1]:.3f}' if p else '—'} | "
                     f"{f'{p[2]:.3f} → {p[3]:.3f}' if p else '—'} |")
    # renwj with the authors' C = 0 (and any other spec) as rows of their own
    for spec in sorted({(n, t) for n, _, t in by_loss if t is not None}, key=str):
        mi, acc, lam, div, n = cells(*spec)
        if mi is None:
            continue
        shown.add((spec[0], lam, spec[1]))
        label = commandline.loss_label(spec[0], {"target": spec[1]})
        lines.append(f"| {label} | | {_text(mi, diverged=div, seeds=n)} | | "
                     f"{_text(acc, diverged=div, seeds=n)} | {'—' if lam is None else f'{lam:g}'}"
                     " | | |")
    diverged = [f"{r['loss']} seed {r['seed']} at step {r['diverged_at_step']} (last finite "
                f"weights: accuracy {records.shown(r['final'].get('last_finite_test_accuracy'))})"
                for r in runs if r["status"] == "diverged"]
    lines += ["", "Diverged runs: " + ("; ".join(diverged) if diverged else "none") + "."]
    others = sorted({r["loss"] for key, group in by_loss.items() if key not in shown
                     for r in group})
    if others:
        lines.append("Runs not in the table (λ outside the grid, or not the chosen λ): "
                     + ", ".join(others) + ".")
    return lines + [""]


def spec_without_lam(run):
    """The loss spec a λ-grid line stands for: 'renwj:target=0' for every λ."""
    return commandline.loss_label(run["loss_name"], {k: v for k, v in run["loss_params"].items()
                                                     if k != "lam"})


def lambda_figure(out):
    """Fig. 6: MI and test accuracy of CLB against λ, a row of panels per setting
    (data set), a line per loss spec (renwj and renwj:target=0 apart)."""
    # a log axis: λ = 0 (allowed, but not a point of this figure) is left out
    runs = [r for r in summaries.load_runs(out, "lambda") if (r["loss_params"].get("lam") or 0) > 0]
    if not runs:
        print(f"lambda: no runs under {out}/lambda")
        return None
    # CIFAR-10 above CIFAR-100, as in the paper
    settings = sorted({r["setting"] for r in runs},
                      key=lambda st: (next(r["config"]["classes"] for r in runs
                                           if r["setting"] == st), st))
    # Pillow's default font has no Greek letters: the figure spells out "lambda"
    fig = Figure(rows=len(settings), cols=2, panel_size=(480, 320),
                 title="CLB: regularization strength lambda (mean over seeds)")
    for row, setting in enumerate(settings):
        group = [r for r in runs if r["setting"] == setting]
        specs = sorted({spec_without_lam(r) for r in group})
        for col, (key, label, unit) in enumerate((("mi_estimate", "MI", "nats"),
                                                  ("test_accuracy", "test accuracy",
                                                   "fraction correct"))):
            ax = fig.panel(row, col, title=f"{group[0]['config']['dataset']} ({setting}): {label}",
                           xlabel="log10 lambda", ylabel=unit)
            for spec, color in zip(specs, PALETTE):
                lines = [r for r in group if spec_without_lam(r) == spec]
                lams = sorted({r["loss_params"]["lam"] for r in lines})
                means = [finite_mean([r["final"][key] for r in lines
                                      if r["loss_params"]["lam"] == lam]) for lam in lams]
                ax.line([math.log10(lam) for lam in lams], means,
                        color=color, label=spec)
            if key == "mi_estimate":
                ax.hline(group[0]["config"]["true_mi"], label="log K")
    path = fig.save(f"{out}/lambda/lambda.png")
    print(f"lambda: figure {path}")
    return path
