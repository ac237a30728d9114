"""Train the DuReader_robust reading comprehension baseline, score dev each epoch, keep the best.

    python reading_comprehension/train.py --data-dir DATA --bert-dir BERT --output-dir OUT
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli, track  # noqa: E402
from reading_comprehension import track as reading_comprehension  # noqa: E402

if __name__ == "__main__":
    cli.run(lambda: track.train_main(reading_comprehension, __doc__))
