"""The benchmarks: side-by-side measurements, each printing its table and writing its JSON under outputs/bench/.

    python -m benchmarks speed [predict] [train] [decode] [strategy] [tricks]   speed of prediction, training, decoders
    python -m benchmarks recompute                                      activation memory and time per recompute mode
    python -m benchmarks precision                                      fp32 / bf16 / fp16 speed and learning
    python -m benchmarks heads                                          event extraction heads: speed, memory, learning
    python -m benchmarks learning                                       learning curves against the 2020 design
    python -m benchmarks ensembles                                      seeds, k-fold, thresholds; an ensemble's cost

`python -m benchmarks NAME --help` gives each one's options.
"""
import importlib
import sys

NAMES = ("speed", "recompute", "precision", "heads", "learning", "ensembles")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if not argv or argv[0] not in NAMES:
        print(__doc__, file=sys.stderr)
        return 2
    return importlib.import_module(f"benchmarks.{argv[0]}").main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
