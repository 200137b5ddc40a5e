"""python -m bench <benchmark> [options]; `python -m bench --help` lists them."""
import importlib
import sys

BENCHMARKS = {
    "speed": "training-step time of the critics and the SmallCNN (forward, backward, Adam)",
    "col2im": "conv2d input gradient: strided-slice adds against np.add.at",
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in BENCHMARKS:
        if argv and argv[0] not in ("-h", "--help"):
            print(f"unknown benchmark {argv[0]!r}", file=sys.stderr)
        print("usage: python -m bench <benchmark> [options]\n\nbenchmarks:")
        for name, what in BENCHMARKS.items():
            print(f"  {name:12} {what}")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    importlib.import_module(f"bench.{argv[0]}").main(argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
