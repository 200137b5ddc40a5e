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
32×32 images (a documented deviation, docs/method.md §3).
"""
import argparse
import math
import os
import time

import numpy as np

import minimi as mm
from minimi import bounds
from minimi.data.cifar import CifarError, balanced_subset, batches, load_cifar, to_device_float
from minimi.engine.files import dumps, write_atomic

from ..grid import commandline, planning, records
from .cifar_report import GRID, lambda_figure, report

ORIGINALS = list(bounds.ORIGINALS)
# docs/method.md §2: every benchmark also runs renwj with the authors' C = 0 as its own row
ALL_LOSSES = ",".join(ORIGINALS + [bounds.regularized(n) for n in ORIGINALS]) + \
    ",renwj:target=0"
LAMBDAS = list(GRID)  # Table 2's λ grid (docs/method.md §3)
# Paper profile (docs/method.md §3): (epochs, batch size) per benchmark and data set, 5 seeds.
PAPER = {("slb", "cifar10"): (40, 10), ("slb", "cifar100"): (100, 100),
         ("clb", "cifar10"): (100, 10), ("clb", "cifar100"): (150, 100)}
# Quick profile: sized so that the twelve losses (and renwj:target=0) with one seed on
# CIFAR-10 run in well under an hour on 2 cores (the time: docs/benchmarks.md).
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
        return np.concatenate([model(mm.Tensor(to_device_float(images[s:s + chunk]))).numpy()
                               for s in range(0, len(images), chunk)])


def nearest_neighbour_labels(test, train, train_labels, chunk=500):
    """Label of the training embedding with the largest dot product, per test row;
    memory stays at chunk × len(train)."""
    return np.concatenate([train_labels[np.argmax(test[s:s + chunk] @ train.T, axis=1)]
                           for s in range(0, len(test), chunk)])


def batch_accuracy(scores, labels, benchmark):
    """Free accuracy on a training batch, as a 0-d array on the scores' device (the
    loop fetches it with the step's other numbers): argmax of the logits (SLB) or
    the label of the nearest other sample in the batch (CLB)."""
    xp = mm.backend.get_array_module(scores.data)
    S, y = scores.data, xp.asarray(labels)
    if benchmark == "slb":
        return (S.argmax(axis=1) == y).mean()
    S = S.copy()
    i = xp.arange(len(y))
    S[i, i] = -math.inf
    return (y[S.argmax(axis=1)] == y).mean()


def accuracy_of(test, train, data, train_idx, benchmark):
    """Test accuracy from network outputs: argmax of the logits (SLB), or the label of
    the training embedding with the largest dot product (CLB)."""
    if benchmark == "slb":
        predicted = test.argmax(axis=1)
    else:
        predicted = nearest_neighbour_labels(test, train, data.train_labels[train_idx])
    return float((predicted == data.test_labels).mean())


def diverged_accuracy(data, train_idx, benchmark, width):
    """The accuracy of a diverged network as the paper reports it (the authors kept
    training on NaN): every output NaN, so each argmax picks its first entry."""
    test = np.full((len(data.test_labels), width), np.nan, dtype=np.float32)
    train = np.full((len(train_idx), width), np.nan, dtype=np.float32)
    return accuracy_of(test, train, data, train_idx, benchmark)


def test_metrics(model, data, train_idx, benchmark, loss_name, params):
    """(test accuracy, test MI): the bound on the whole test set (CLB: on blocks of
    2000 test images, averaged; the 10000² Gram matrix alone would be 400 MB)."""
    test = embed(model, data.test_images)
    train = embed(model, data.train_images[train_idx]) if benchmark == "clb" else None
    accuracy = accuracy_of(test, train, data, train_idx, benchmark)
    if benchmark == "slb":
        blocks = [(test, data.test_labels)]
    else:
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
    """Train one SmallCNN with one loss; resumes from `checkpoint` when it exists
    (plan() has already checked that it was made with this run's config)."""
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
    if os.path.exists(checkpoint):
        state = resume(checkpoint, model, opt, rng)
        run.start -= state.get("elapsed_s", 0.0)  # elapsed_s counts every attempt's epochs
        log(f"resumed {run.path} from its checkpoint after epoch {state['epoch']}")
    step, start, seen = state["step"], time.perf_counter(), 0
    per_epoch = len(labels) // batch_size
    for epoch in range(state["epoch"], epochs):
        values, objectives, accuracies, skipped = [], [], [], 0
        for x, y in batches(images, labels, batch_size, rng):
            scores = scores_of(model, x, benchmark)
            try:
                result = loss(scores, pairing, y)
            except bounds.NoPositivePairs:  # no joint pair: skipped (docs/method.md §1)
                skipped += 1
                continue
            step += 1
            logged = result.numbers(accuracy=batch_accuracy(scores, y, benchmark))
            if not (math.isfinite(logged["value"]) and math.isfinite(logged["objective"])):
                run.diverged(step, f"NaN/inf in epoch {epoch + 1}")
                return finish(run, model, data, train_idx, benchmark, name, params, state,
                              diverged=True)
            values.append(logged["value"])
            objectives.append(logged["objective"])
            accuracies.append(logged["accuracy"])
            opt.zero_grad()
            (-result.objective).backward()
            opt.step()
            seen += len(y)
        state["epochs"]["mi"].append(float(np.mean(values)) if values else None)
        state["epochs"]["objective"].append(float(np.mean(objectives)) if objectives else None)
        state["epochs"]["accuracy"].append(float(np.mean(accuracies)) if accuracies else None)
        state["epochs"]["skipped"].append(skipped)
        state.update(epoch=epoch + 1, step=step, last_epoch_values=values,
                     elapsed_s=time.perf_counter() - run.start)
        save_checkpoint(checkpoint, model, opt, rng, state, run.config)
        rate = seen / (time.perf_counter() - start)
        left = (epochs - epoch - 1) * per_epoch * batch_size / rate if rate else float("nan")
        last = {k: records.shown(v[-1]) for k, v in state["epochs"].items()}
        log(f"[{benchmark} {commandline.loss_label(name, params)} seed{seed}] epoch "
            f"{epoch + 1}/{epochs}: objective {last['objective']}, MI {last['mi']}, batch "
            f"accuracy {last['accuracy']}, {rate:.0f} images/s, {left:.0f}s left")
    return finish(run, model, data, train_idx, benchmark, name, params, state, diverged=False)


def finish(run, model, data, train_idx, benchmark, name, params, state, diverged):
    """The run's final numbers; per-epoch curves go to run.curves.

    A diverged run counts as the paper counts it (the authors kept training on NaN):
    MI 0 and the accuracy of a network whose outputs are NaN (chance). The accuracy
    of the last finite weights is kept beside it, and the step in run.diverged_at_step."""
    accuracy, test_mi = test_metrics(model, data, train_idx, benchmark, name, params)
    run.curves = {f"epoch_{k}": v for k, v in state["epochs"].items()}
    last = state["last_epoch_values"]
    final = {"mi_estimate": max(0.0, float(np.mean(last))) if last else 0.0,
             "test_accuracy": accuracy, "test_mi_estimate": test_mi,
             "last_finite_test_accuracy": accuracy,
             "epochs_run": state["epoch"], "steps_run": state["step"]}
    if diverged:
        chance = diverged_accuracy(data, train_idx, benchmark, model.head.weight.shape[1])
        final.update(mi_estimate=0.0, test_accuracy=chance, test_mi_estimate=None)
    return final


def save_checkpoint(path, model, opt, rng, state, config):
    """Weights, Adam moments and the loop's state in one .npz, written atomically:
    a kill at any point leaves the previous checkpoint or this one, never a mix."""
    arrays = {f"param/{k}": v for k, v in model.state_dict().items()}
    arrays.update({f"adam/{k}": np.asarray(v) for k, v in opt.state_dict().items()})
    arrays["state"] = np.array(dumps({**state, "rng": rng.bit_generator.state,
                                      "config": config}))
    write_atomic(path, lambda f: np.savez(f, **arrays), mode="wb")


def resume(path, model, opt, rng):
    arrays, state = planning.read_checkpoint(path)
    model.load_state_dict({k[6:]: v for k, v in arrays.items() if k.startswith("param/")},
                          source=f"checkpoint {path}")
    opt.load_state_dict({k[5:]: v for k, v in arrays.items() if k.startswith("adam/")})
    rng.bit_generator.state = state.pop("rng")
    state.pop("config")
    return state


def check_checkpoints(todo, force):
    """Before any training: a checkpoint is resumed only when it was made with its
    run's config; under --force every checkpoint of the runs to do is discarded."""
    problems = []
    for planned in todo:
        path = planned.checkpoint
        if not os.path.exists(path):
            continue
        if force:
            os.remove(path)
            continue
        try:
            _, state = planning.read_checkpoint(path)
        except commandline.BadInput as error:
            problems.append(str(error))
            continue
        differ = planning.config_differences(state.get("config", {}), planned.config)
        if differ:
            problems.append(f"{path}: checkpoint made with other settings: "
                            f"{planning.differences_text(differ)}; --force starts the run afresh")
    if problems:
        raise commandline.BadInput("\n".join(problems))


# ---- command line --------------------------------------------------------------------------

# experiment: (what it trains, default losses, default λ grid or None for the profile's)
EXPERIMENTS = {
    "slb": ("slb", ALL_LOSSES, None),
    "clb": ("clb", ALL_LOSSES, None),
    # Fig. 6: CLB with the regularized losses over λ, its own folder (never in Table 2)
    "lambda": ("clb", ",".join(bounds.regularized(n) for n in ORIGINALS) + ",renwj:target=0",
               [1.0, 0.1, 0.01, 0.001]),
}


def main(argv=None, experiment="slb"):
    benchmark, default_losses, default_lams = EXPERIMENTS[experiment]
    parser = argparse.ArgumentParser(prog=f"python -m bench {experiment}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commandline.common_arguments(parser, default_losses)
    parser.add_argument("--data", default=os.environ.get("MINIMI_DATA"),
                        help="CIFAR folder or its parent (default: $MINIMI_DATA)")
    parser.add_argument("--dataset", choices=("cifar10", "cifar100"), default="cifar10")
    parser.add_argument("--labels", choices=("fine", "coarse"), default="fine",
                        help="CIFAR-100 label set (default: fine)")
    parser.add_argument("--epochs", type=commandline.positive(int))
    parser.add_argument("--batch-size", type=commandline.positive(int))
    parser.add_argument("--lr", type=commandline.positive(float), default=1e-3)
    lam_default = ",".join(f"{v:g}" for v in default_lams) if default_lams else \
        "0.1,0.01,0.001 in the paper profile, 0.01 quick"
    parser.add_argument("--lam", type=commandline.number_list,
                        help=f"λ for the regularized losses: one value or a grid "
                             f"(default: {lam_default})")
    parser.add_argument("--train-subset", type=commandline.non_negative_int,
                        help="train on a class-balanced subset of N images, 0 for all "
                             "(default: 10000 quick, all paper)")
    parser.add_argument("--device", choices=("cpu", "gpu"), help="default: $MINIMI_DEVICE or cpu")
    args = commandline.parse_args(parser, argv)
    if args.lam and min(args.lam) < 0:
        parser.error(f"--lam: λ must be ≥ 0, got {min(args.lam):g}")
    planning.check_out(args.out, create=False)  # made once the data and sizes are checked
    if args.device:
        mm.backend.use_device(args.device)
    if not args.data:
        raise commandline.BadInput(f"no --data. {HOW_TO_GET}")
    try:
        data = load_cifar(args.data, args.dataset, args.labels)
    except (CifarError, ValueError) as error:
        raise commandline.BadInput(str(error)) from None
    paper = args.profile == "paper"
    epochs_default, batch_default = PAPER[(benchmark, args.dataset)] if paper else \
        (QUICK["epochs"], QUICK["batch_size"])
    epochs, batch_size = args.epochs or epochs_default, args.batch_size or batch_default
    subset = args.train_subset if args.train_subset is not None else \
        (0 if paper else QUICK["train_subset"])
    images = min(subset, len(data.train_labels)) if subset else len(data.train_labels)
    if batch_size > images:
        raise commandline.BadInput(f"--batch-size {batch_size} is larger than the {images} "
                                   "training images (lower it, or raise --train-subset)")
    if benchmark == "clb" and batch_size < 2:
        raise commandline.BadInput("--batch-size: the contrastive benchmark needs at least 2 "
                                   "images per batch (pairs of them are the samples)")
    lams = args.lam or default_lams or (LAMBDAS if paper else QUICK["lams"])
    seeds = commandline.seeds_from(args, 5 if paper else QUICK["seeds"])
    losses = []
    for name, params in commandline.parse_losses(args.losses):
        if "lam" in bounds.parameters(name) and "lam" not in params:
            losses += [(name, {**params, "lam": lam}) for lam in lams]
        else:
            losses.append((name, params))
    setting = f"{data.name}{'-coarse' if args.labels == 'coarse' else ''}_" \
              f"{'full' if not subset else f'sub{subset}'}_e{epochs}_b{batch_size}"
    grid = [(setting, name, params, seed,
             {"dataset": data.name, "labels": args.labels, "classes": data.num_classes,
              "true_mi": math.log(data.num_classes), "epochs": epochs,
              "batch_size": batch_size, "lr": args.lr, "train_subset": subset,
              "network": "SmallCNN", "profile": args.profile,
              "params": bounds.make(name, **params).params})
            for name, params in losses for seed in seeds]
    todo = planning.plan(args.out, experiment, grid, args)  # makes --out, after every check
    if args.list:
        return
    check_checkpoints(todo, args.force)
    print(f"{experiment}: {data!r}; {len(losses)} losses x seeds {seeds}; {epochs} epochs, batch "
          f"{batch_size}, train subset {subset or 'all'}, Adam lr {args.lr} (setting {setting}): "
          f"{len(todo)} of {len(grid)} runs to do")
    for planned in todo:
        run = records.Run(planned, steps=epochs * (images // batch_size))
        checkpoint = planned.checkpoint
        run.finish(train(run, data, benchmark, planned.name, planned.params, planned.seed,
                         epochs, batch_size, args.lr, subset, checkpoint))
        if os.path.exists(checkpoint):
            os.remove(checkpoint)
    if args.no_report:
        return
    if experiment == "lambda":
        lambda_figure(args.out)                 # Fig. 6
    else:
        report(args.out, experiment)            # Table 2


def main_clb(argv=None):
    main(argv, experiment="clb")


def main_lambda(argv=None):
    main(argv, experiment="lambda")
