"""Summaries of the CIFAR benchmarks: the paper's Table 2 layout and Fig. 6.

Built from the run files alone (python -m bench report), so a grid spread over
many machines is summarized in one place.
"""
import math

import numpy as np
from scipy import stats

from minimi import bounds
from minimi.plot import PALETTE, Figure

from . import runner
from .runner import finite_mean

ORIGINALS = list(bounds.ORIGINALS)

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


def _text(c, bold=False, mark=False):
    if c is None:
        return "—"
    mean, hw = c
    text = f"{mean:.3f}" + (f" ± {hw:.3f}" if math.isfinite(hw) else "")
    text = f"**{text}**" if bold else text
    return text + (" †" if mark else "")


def _compare(a, b):
    """(bold a, bold b, intervals disjoint): the larger mean wins."""
    if a is None or b is None:
        return a is not None, b is not None, False
    disjoint = all(map(math.isfinite, (a[1], b[1]))) and abs(a[0] - b[0]) > a[1] + b[1]
    return a[0] >= b[0], b[0] > a[0], disjoint


def report(out, benchmark):
    runs = runner.load_runs(out, benchmark)
    if not runs:
        print(f"{benchmark}: no runs under {out}/{benchmark}")
        return None
    lines = [f"# {'Supervised' if benchmark == 'slb' else 'Contrastive'} learning benchmark "
             "(paper Table 2)", "",
             "Cells: mean ± 95% Student-t half-width over seeds. MI: mean training value over the "
             "last epoch, negatives clipped to 0 (diverged runs count as 0). Bold: the better of "
             "original and regularized; † where the two intervals do not overlap. For a "
             "regularized loss run with several λ, the λ whose mean MI is closest to log K is "
             "shown. Paper: the authors' ResNet-18 numbers (Table 2).", ""]
    for setting in sorted({r["setting"] for r in runs}):
        lines += _table(benchmark, setting, [r for r in runs if r["setting"] == setting])
    runner.write_text(f"{out}/{benchmark}/summary.md", "\n".join(lines) + "\n")
    print(f"{benchmark}: summary {out}/{benchmark}/summary.md")
    return f"{out}/{benchmark}/summary.md"


def _table(benchmark, setting, runs):
    config = runs[0]["config"]
    true_mi = config["true_mi"]
    by_loss = {}
    for r in runs:
        by_loss.setdefault((r["loss_name"], r["loss_params"].get("lam"),
                            r["loss_params"].get("target")), []).append(r)

    def cells(name, target=None):
        """(MI cell, accuracy cell, λ) of a loss, the λ chosen by MI closest to log K."""
        options = [(key[1], group) for key, group in by_loss.items()
                   if key[0] == name and key[2] == target]
        if not options:
            return None, None, None
        lam, group = min(options, key=lambda o: abs(
            np.mean([r["final"]["mi_estimate"] for r in o[1]]) - true_mi))
        return (cell([r["final"]["mi_estimate"] for r in group]),
                cell([r["final"]["test_accuracy"] for r in group]), lam)

    paper = PAPER_TABLE.get((benchmark, config["dataset"]), {})
    lines = [f"## {setting}", "",
             f"{config['dataset']}, {config['classes']} classes (true MI log K = {true_mi:.4f}), "
             f"SmallCNN, {config['epochs']} epochs, batch {config['batch_size']}, "
             f"train subset {config['train_subset'] or 'all'}; seeds "
             f"{sorted({r['seed'] for r in runs})}.", "",
             "| loss | MI original | MI regularized | accuracy original | accuracy regularized | "
             "λ | paper MI | paper accuracy |", "|---|---|---|---|---|---|---|---|"]
    for name in ORIGINALS:
        mi_a, acc_a, _ = cells(name)
        mi_b, acc_b, lam = cells(bounds.regularized(name))
        bold_mi = _compare(mi_a, mi_b)
        bold_acc = _compare(acc_a, acc_b)
        p = paper.get(name)
        lines.append(f"| {name} | {_text(mi_a, bold_mi[0], bold_mi[2] and bold_mi[0])} | "
                     f"{_text(mi_b, bold_mi[1], bold_mi[2] and bold_mi[1])} | "
                     f"{_text(acc_a, bold_acc[0], bold_acc[2] and bold_acc[0])} | "
                     f"{_text(acc_b, bold_acc[1], bold_acc[2] and bold_acc[1])} | "
                     f"{'—' if lam is None else f'{lam:g}'} | "
                     f"{f'{p[0]:.3f} → {p[1]:.3f}' if p else '—'} | "
                     f"{f'{p[2]:.3f} → {p[3]:.3f}' if p else '—'} |")
    extra = [key for key in by_loss if key[0] not in ORIGINALS and
             key[0] not in [bounds.regularized(n) for n in ORIGINALS] or key[2] is not None]
    for name, lam, target in sorted(extra, key=str):
        group = by_loss[(name, lam, target)]
        lines.append(f"| {group[0]['loss']} | {_text(cell([r['final']['mi_estimate'] for r in group]))}"
                     f" | | {_text(cell([r['final']['test_accuracy'] for r in group]))} | | | | |")
    diverged = [f"{r['loss']} seed {r['seed']} at step {r['diverged_at_step']}"
                for r in runs if r["status"] == "diverged"]
    lines += ["", "Diverged runs: " + ("; ".join(diverged) if diverged else "none") + ".", ""]
    return lines


def spec_without_lam(run):
    """The loss spec a λ-grid line stands for: 'renwj:target=0' for every λ."""
    return runner.loss_label(run["loss_name"], {k: v for k, v in run["loss_params"].items()
                                                 if k != "lam"})


def lambda_figure(out):
    """Fig. 6: MI and test accuracy of CLB against λ, a row of panels per setting
    (data set), a line per loss spec (renwj and renwj:target=0 apart)."""
    # a log axis: λ = 0 (allowed, but not a point of this figure) is left out
    runs = [r for r in runner.load_runs(out, "lambda") if (r["loss_params"].get("lam") or 0) > 0]
    if not runs:
        return None
    settings = sorted({r["setting"] for r in runs})
    # Pillow's default font has no Greek letters: the figure spells out "lambda"
    fig = Figure(rows=len(settings), cols=2, panel_size=(480, 320),
                 title="CLB: regularization strength lambda (mean over seeds)")
    for row, setting in enumerate(settings):
        group = [r for r in runs if r["setting"] == setting]
        specs = sorted({spec_without_lam(r) for r in group})
        for col, (key, label) in enumerate((("mi_estimate", "MI (nats)"),
                                            ("test_accuracy", "test accuracy"))):
            ax = fig.panel(row, col, title=f"{group[0]['config']['dataset']} ({setting}): {label}",
                           xlabel="log10 lambda", ylabel=label.split()[-1])
            for spec, color in zip(specs, PALETTE):
                lines = [r for r in group if spec_without_lam(r) == spec]
                lams = sorted({r["loss_params"]["lam"] for r in lines})
                means = [finite_mean([r["final"][key] for r in lines
                                      if r["loss_params"]["lam"] == lam]) for lam in lams]
                ax.line([math.log10(lam) for lam in lams], means,
                        color=color, label=spec)
            if key == "mi_estimate":
                ax.hline(group[0]["config"]["true_mi"], label="log K")
    return fig.save(f"{out}/lambda/lambda.png")
