"""The supervised (SLB) and contrastive (CLB) benchmarks on CIFAR (paper Table 2, Fig. 6).

    python -m bench slb --data DIR [--dataset cifar10|cifar100] [--losses ...] [...]
    python -m bench clb --data DIR [...]
    python -m bench lambda --data DIR     # Fig. 6: CLB, regularized losses over the λ grid

SLB: SmallCNN logits L = f(x), T(x, y) = L[y]; the true MI is H(Y) = log K.
CLB: SmallCNN 256-d embeddings Z, scores the Gram matrix Z Zᵀ; distinct samples
with the same label are joint pairs; test accuracy is 1-nearest neighbour over
all training embeddings by dot product. Table MI: the mean of the per-step
training values over the last epoch, negatives clipped to 0.

The paper trains ResNet-18 on 224-pixel images; minimi trains its SmallCNN on
32×32 images (a documented deviation, SPEC §3).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

import minimi as mm
from minimi import bounds
from minimi.data.cifar import CifarError, balanced_subset, batches, load_cifar, to_float

from . import runner
from .cifar_report import lambda_figure, report

ORIGINALS = list(bounds.ORIGINALS)
# SPEC §2: every benchmark also runs renwj with the authors' C = 0 as its own row
ALL_LOSSES = ",".join(ORIGINALS + [bounds.regularized(n) for n in ORIGINALS]) + \
    ",renwj:target=0"
LAMBDAS = [0.1, 0.01, 0.001]
# Paper profile (SPEC §3): (epochs, batch size) per benchmark and data set, 5 seeds.
PAPER = {("slb", "cifar10"): (40, 10), ("slb", "cifar100"): (100, 100),
         ("clb", "cifar10"): (100, 10), ("clb", "cifar100"): (150, 100)}
# Quick profile: sized so that the twelve losses (and renwj:target=0) with one
# seed on CIFAR-10 take about 20–25 minutes on 2 cores (94–103 s per run).
QUICK = {"train_subset": 10000, "epochs": 10, "batch_size": 128, "seeds": 1, "lams": [0.01]}
HOW_TO_GET = ("CIFAR is not downloaded by minimi. Get cifar-10-python.tar.gz or "
              "cifar-100-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, unpack "
              "it, and pass the folder (or its parent) with --data DIR or MINIMI_DATA.")


# ---- scoring ----------------------------------------------------------------------------

def scores_of(model, images, benchmark):
    """SLB: logits (B, K); CLB: the Gram matrix Z Zᵀ (B, B) of the embeddings."""
    out = model(mm.Tensor(images))
    return out if benchmark == "slb" else out @ out.T


def embed(model, images, chunk=500):
    """Network outputs for many images, without a graph, as NumPy float32."""
    with mm.no_grad():
        return np.concatenate([model(mm.Tensor(to_float(images[s:s + chunk]))).numpy()
                               for s in range(0, len(images), chunk)])


def nearest_neighbour_labels(test, train, train_labels, chunk=500):
    """Label of the training embedding with the largest dot product, per test row;
    memory stays at chunk × len(train)."""
    return np.concatenate([train_labels[np.argmax(test[s:s + chunk] @ train.T, axis=1)]
                           for s in range(0, len(test), chunk)])


def batch_accuracy(scores, labels, benchmark):
    """Free accuracy on a training batch: argmax of the logits (SLB) or the label of
    the nearest other sample in the batch (CLB)."""
    S = scores.numpy()
    if benchmark == "slb":
        return float((S.argmax(axis=1) == labels).mean())
    S = S.copy()
    np.fill_diagonal(S, -np.inf)
    return float((labels[S.argmax(axis=1)] == labels).mean())


def test_metrics(model, data, train_idx, benchmark, loss_name, params):
    """(test accuracy, test MI): the bound on the whole test set (CLB: on blocks of
    2000 test images, averaged; the 10000² Gram matrix alone would be 400 MB)."""
    test = embed(model, data.test_images)
    if benchmark == "slb":
        accuracy = float((test.argmax(axis=1) == data.test_labels).mean())
        blocks = [(test, data.test_labels)]
    else:
        train = embed(model, data.train_images[train_idx])
        predicted = nearest_neighbour_labels(test, train, data.train_labels[train_idx])
        accuracy = float((predicted == data.test_labels).mean())
        blocks = [(test[s:s + 2000] @ test[s:s + 2000].T, data.test_labels[s:s + 2000])
                  for s in range(0, len(test), 2000)]
    pairing = "supervised" if benchmark == "slb" else "contrastive"
    values = []
    with np.errstate(over="ignore"):
        for S, labels in blocks:
            try:
                values.append(bounds.make(loss_name, **params)(mm.Tensor(S.astype(np.float64)),
                                                                pairing, labels).value)
            except bounds.NoPositivePairs:
                continue
    return accuracy, (float(np.mean(values)) if values else None)


# ---- one run ----------------------------------------------------------------------------------

def train(run, data, benchmark, name, params, seed, epochs, batch_size, lr, train_subset,
          checkpoint, log=print):
    """Train one SmallCNN with one loss; resumes from `checkpoint` when it exists."""
    rng = np.random.default_rng(seed)
    train_idx = (balanced_subset(data.train_labels, train_subset, np.random.default_rng(seed))
                 if train_subset else np.arange(len(data.train_labels)))
    images, labels = data.train_images[train_idx], data.train_labels[train_idx]
    model = mm.SmallCNN(num_classes=data.num_classes,
                        head="logits" if benchmark == "slb" else "embedding",
                        rng=np.random.default_rng(1000 + seed))
    opt = mm.Adam(model.parameters(), lr=lr)
    loss = bounds.make(name, **params)
    pairing = "supervised" if benchmark == "slb" else "contrastive"
    state = {"epoch": 0, "step": 0, "epochs": {"mi": [], "objective": [], "accuracy": [],
                                               "skipped": []}, "last_epoch_values": []}
    if os.path.exists(checkpoint + ".json"):
        state = resume(checkpoint, model, opt, rng)
        log(f"resumed {run.path} from its checkpoint after epoch {state['epoch']}")
    step, start, seen = state["step"], time.perf_counter(), 0
    per_epoch = len(labels) // batch_size
    for epoch in range(state["epoch"], epochs):
        values, objectives, accuracies, skipped = [], [], [], 0
        for x, y in batches(images, labels, batch_size, rng):
            scores = scores_of(model, x, benchmark)
            try:
                result = loss(scores, pairing, y)
            except bounds.NoPositivePairs:  # SPEC §1: a batch without a joint pair is skipped
                skipped += 1
                continue
            value, objective = result.value, result.objective.item()
            if not (math.isfinite(value) and math.isfinite(objective)):
                run.status, run.diverged_at_step = "diverged", step
                log(f"[{benchmark} {name} seed{seed}] diverged at step {step} (epoch {epoch + 1})")
                return finish(run, model, data, train_idx, benchmark, name, params, state,
                              diverged=True)
            values.append(value)
            objectives.append(objective)
            accuracies.append(batch_accuracy(scores, y, benchmark))
            opt.zero_grad()
            (-result.objective).backward()
            opt.step()
            step += 1
            seen += len(y)
        state["epochs"]["mi"].append(float(np.mean(values)) if values else None)
        state["epochs"]["objective"].append(float(np.mean(objectives)) if objectives else None)
        state["epochs"]["accuracy"].append(float(np.mean(accuracies)) if accuracies else None)
        state["epochs"]["skipped"].append(skipped)
        state.update(epoch=epoch + 1, step=step, last_epoch_values=values)
        save_checkpoint(checkpoint, model, opt, rng, state)
        rate = seen / (time.perf_counter() - start)
        left = (epochs - epoch - 1) * per_epoch * batch_size / rate if rate else float("nan")
        log(f"[{benchmark} {runner.loss_label(name, params)} seed{seed}] epoch {epoch + 1}/{epochs}: "
            f"objective {state['epochs']['objective'][-1]:.3f}, MI {state['epochs']['mi'][-1]:.3f}"
            f", batch accuracy {state['epochs']['accuracy'][-1]:.3f}, {rate:.0f} images/s, "
            f"{left:.0f}s left")
    return finish(run, model, data, train_idx, benchmark, name, params, state, diverged=False)


def finish(run, model, data, train_idx, benchmark, name, params, state, diverged):
    """The run's final numbers; per-epoch curves go to run.curves. A diverged run
    reports MI 0 (as the paper does) and the accuracy its network then gives."""
    accuracy, test_mi = test_metrics(model, data, train_idx, benchmark, name, params)
    run.curves = {f"epoch_{k}": v for k, v in state["epochs"].items()}
    last = state["last_epoch_values"]
    return {"mi_estimate": 0.0 if diverged or not last else max(0.0, float(np.mean(last))),
            "test_accuracy": accuracy, "test_mi_estimate": None if diverged else test_mi,
            "epochs_run": state["epoch"], "steps_run": state["step"]}


def save_checkpoint(path, model, opt, rng, state):
    """Weights and Adam moments (.npz) and the rest (.json), each written atomically."""
    arrays = {f"param/{k}": v for k, v in model.state_dict().items()}
    arrays.update({f"adam/{k}": np.asarray(v) for k, v in opt.state_dict().items()})
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.npz.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, f"{path}.npz")
    runner.write_json(f"{path}.json", {**state, "rng": rng.bit_generator.state})


def resume(path, model, opt, rng):
    with open(f"{path}.json") as f:
        state = json.load(f)
    with np.load(f"{path}.npz") as archive:
        model.load_state_dict({k[6:]: archive[k] for k in archive.files if k.startswith("param/")},
                              source=f"checkpoint {path}.npz")
        opt.load_state_dict({k[5:]: archive[k] for k in archive.files if k.startswith("adam/")})
    rng.bit_generator.state = state.pop("rng")
    return state


# ---- command line --------------------------------------------------------------------------

def main(argv=None, benchmark="slb"):
    parser = argparse.ArgumentParser(prog=f"python -m bench {benchmark}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    runner.common_arguments(parser, ALL_LOSSES)
    parser.add_argument("--data", default=os.environ.get("MINIMI_DATA"),
                        help="CIFAR folder or its parent (default: $MINIMI_DATA)")
    parser.add_argument("--dataset", choices=("cifar10", "cifar100"), default="cifar10")
    parser.add_argument("--labels", choices=("fine", "coarse"), default="fine",
                        help="CIFAR-100 label set (default: fine)")
    parser.add_argument("--epochs", type=runner.positive(int))
    parser.add_argument("--batch-size", type=runner.positive(int))
    parser.add_argument("--lr", type=runner.positive(float), default=1e-3)
    parser.add_argument("--lam", type=runner.number_list,
                        help="λ for the regularized losses: one value or a grid like "
                             "0.1,0.01,0.001 (default: the grid in the paper profile, 0.01 quick)")
    parser.add_argument("--train-subset", type=int,
                        help="train on a class-balanced subset of N images (quick: 10000)")
    parser.add_argument("--device", choices=("cpu", "gpu"), help="default: $MINIMI_DEVICE or cpu")
    args = parser.parse_args(argv)
    if args.device:
        mm.backend.use_device(args.device)
    if not args.data:
        print(f"python -m bench {benchmark}: no --data. {HOW_TO_GET}", file=sys.stderr)
        raise SystemExit(2)
    try:
        data = load_cifar(args.data, args.dataset, args.labels)
    except (CifarError, ValueError) as error:
        print(f"python -m bench {benchmark}: {error}", file=sys.stderr)
        raise SystemExit(2)
    paper = args.profile == "paper"
    epochs_default, batch_default = PAPER[(benchmark, args.dataset)] if paper else \
        (QUICK["epochs"], QUICK["batch_size"])
    epochs, batch_size = args.epochs or epochs_default, args.batch_size or batch_default
    subset = args.train_subset if args.train_subset is not None else \
        (0 if paper else QUICK["train_subset"])
    lams = args.lam or (LAMBDAS if paper else QUICK["lams"])
    seeds = runner.seeds_from(args, 5 if paper else QUICK["seeds"])
    losses = []
    for name, params in runner.parse_losses(args.losses):
        if "lam" in bounds.parameters(name) and "lam" not in params:
            losses += [(name, {**params, "lam": lam}) for lam in lams]
        else:
            losses.append((name, params))
    setting = f"{data.name}{'-coarse' if args.labels == 'coarse' else ''}_" \
              f"{'full' if not subset else f'sub{subset}'}_e{epochs}_b{batch_size}"
    print(f"{benchmark}: {data!r}; {len(losses)} losses x seeds {seeds}; {epochs} epochs, batch "
          f"{batch_size}, train subset {subset or 'all'}, Adam lr {args.lr} (setting {setting})")
    for name, params in losses:
        for seed in seeds:
            path = runner.run_path(args.out, benchmark, setting, name, params, seed)
            if runner.should_skip(path, args.force):
                continue
            config = {"dataset": data.name, "labels": args.labels, "classes": data.num_classes,
                      "true_mi": math.log(data.num_classes), "epochs": epochs,
                      "batch_size": batch_size, "lr": args.lr, "train_subset": subset,
                      "network": "SmallCNN", "profile": args.profile,
                      "params": bounds.make(name, **params).params}
            run = runner.Run(args.out, benchmark, setting, name, params, seed, config, epochs)
            final = train(run, data, benchmark, name, params, seed, epochs, batch_size, args.lr,
                          subset, path[:-len(".json")] + ".ckpt")
            run.finish(final)
            for ext in (".ckpt.npz", ".ckpt.json"):
                if os.path.exists(path[:-len(".json")] + ext):
                    os.remove(path[:-len(".json")] + ext)
    if not args.no_report:
        report(args.out, benchmark)


def main_clb(argv=None):
    main(argv, benchmark="clb")


def main_lambda(argv=None):
    """Fig. 6: CLB with the six regularized losses over a λ grid, then the figure."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a.startswith("--losses") for a in argv):
        argv += ["--losses", ",".join(bounds.regularized(n) for n in ORIGINALS)]
    if not any(a.startswith("--lam") for a in argv):
        argv += ["--lam", "1,0.1,0.01,0.001"]
    main(argv + ["--no-report"], benchmark="clb")
    out = argv[argv.index("--out") + 1] if "--out" in argv else "results"
    report(out, "clb")
    print(f"lambda: figure {lambda_figure(out)}")
