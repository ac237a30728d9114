"""Train the DuIE 2.0 relation extraction baseline, score dev each epoch, keep the best.

    python relation_extraction/train.py --data-dir DATA --bert-dir BERT --output-dir OUT
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli, track  # noqa: E402
from relation_extraction import track as relation_extraction  # noqa: E402

if __name__ == "__main__":
    cli.run(lambda: track.train_main(relation_extraction, __doc__))
