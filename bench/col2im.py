"""col2im: `+=` into strided slices per kernel offset against one np.add.at.

    python -m bench col2im [--json FILE]

Times conv2d's input gradient, with each way, on the SmallCNN's three layer
shapes at batch 128, on the active device (MINIMI_DEVICE); conv.COL2IM keeps
the faster.
"""
import argparse

import numpy as np

from minimi import backend
from minimi.ops import conv

from .runner import write_json
from .timing import machine, median_ms

# (name, NHWC input) of the SmallCNN's 3x3 convolutions (padding 1) at batch 128
SHAPES = [("conv1", (128, 32, 32, 3)), ("conv2", (128, 16, 16, 32)), ("conv3", (128, 8, 8, 64))]


def measure(mode, x_shape, repeats):
    rng = np.random.default_rng(0)
    N, H, W, C = x_shape
    gcols = backend.to_device(rng.standard_normal((9, N * H * W, C)).astype(np.float32))
    previous, conv.COL2IM = conv.COL2IM, mode
    try:
        return median_ms(lambda: conv.col2im(gcols, x_shape, 3, 3, 1, 1, H, W), repeats)
    finally:
        conv.COL2IM = previous


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench col2im", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    rows = []
    print(f"{'layer':8}{'input':>22}{'slices ms':>12}{'add_at ms':>12}")
    for name, x_shape in SHAPES:
        slices = measure("slices", x_shape, args.repeats)
        add_at = measure("add_at", x_shape, args.repeats)
        rows.append({"layer": name, "input": x_shape, "slices_ms": slices, "add_at_ms": add_at})
        print(f"{name:8}{str(x_shape):>22}{slices:12.2f}{add_at:12.2f}")
    print(f"in use: conv.COL2IM = {conv.COL2IM!r}  (numpy {np.__version__}, device "
          f"{backend.device()})")
    if args.json:
        write_json(args.json, {"machine": machine(), "col2im": rows, "in_use": conv.COL2IM})


if __name__ == "__main__":
    main()
