"""The smallest grids the tests run through the real benchmark code: a one-hot grid of
five steps and a CIFAR one of three epochs (with its checkpoint's path)."""
import os

from bench.paper import onehot

CIFAR_TINY = ["--epochs", "3", "--batch-size", "20", "--seed", "0", "--no-report",
              "--losses", "mine"]


def tiny(out, *extra, losses="mine,nwj"):
    """A one-hot grid of 5 steps, batch 8, into `out`."""
    onehot.main(["--out", str(out), "--seed", "0", "--steps", "5", "--batch-size", "8",
                 "--losses", losses, "--no-report", *extra])


def ckpt(out):
    """The checkpoint of CIFAR_TINY's one run under `out`."""
    return os.path.join(out, "slb", "cifar10_sub10000_e3_b20", "mine", "seed0.ckpt.npz")
