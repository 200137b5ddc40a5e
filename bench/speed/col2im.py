"""col2im: `+=` into strided slices per kernel offset against one np.add.at.

    python -m bench col2im [--json FILE]

Times conv2d's input-gradient fold on the SmallCNN's three layer shapes at
batch 128, on the active device (MINIMI_DEVICE): fast_conv.col2im (strided
slices, threads, cache-sized blocks of images), which minimi uses, against one
scatter-add of every column entry (add_at below, kept here only to compare).
"""
import argparse

import numpy as np

from minimi import backend
from minimi.engine.files import write_json
from minimi.engine.ops import fast_conv

from .timing import machine, median_ms

# (name, NHWC input) of the SmallCNN's 3x3 convolutions (padding 1) at batch 128
SHAPES = [("conv1", (128, 32, 32, 3)), ("conv2", (128, 16, 16, 32)), ("conv3", (128, 8, 8, 64))]


def add_at(gcols, x_shape, KH, KW, stride, padding, OH, OW):
    """fast_conv.col2im's result by one np.add.at (cupyx.scatter_add on a GPU)."""
    xp = backend.get_array_module(gcols)
    N, H, W, C = x_shape
    gcols = gcols.reshape(KH, KW, N, OH, OW, C)
    gx = xp.zeros((N, H + 2 * padding, W + 2 * padding, C), dtype=gcols.dtype)
    i = xp.arange(KH)[:, None, None, None] + (xp.arange(OH) * stride)[None, None, :, None]
    j = xp.arange(KW)[None, :, None, None] + (xp.arange(OW) * stride)[None, None, None, :]
    backend.scatter_add(gx, (slice(None), i, j), gcols.transpose(2, 0, 1, 3, 4, 5))
    return gx[:, padding:padding + H, padding:padding + W] if padding else gx


def measure(fold, x_shape, repeats):
    rng = np.random.default_rng(0)
    N, H, W, C = x_shape
    gcols = backend.to_device(rng.standard_normal((9, N * H * W, C)).astype(np.float32))
    return median_ms(lambda: fold(gcols, x_shape, 3, 3, 1, 1, H, W), repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench col2im", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    rows = []
    print(f"{'layer':8}{'input':>22}{'slices ms':>12}{'add_at ms':>12}")
    for name, x_shape in SHAPES:
        slices = measure(fast_conv.col2im, x_shape, args.repeats)
        scatter = measure(add_at, x_shape, args.repeats)
        rows.append({"layer": name, "input": x_shape, "slices_ms": slices, "add_at_ms": scatter})
        print(f"{name:8}{str(x_shape):>22}{slices:12.2f}{scatter:12.2f}")
    print(f"minimi uses the strided slices (numpy {np.__version__}, device {backend.device()})")
    if args.json:
        write_json(args.json, {"machine": machine(), "col2im": rows})


if __name__ == "__main__":
    main()
