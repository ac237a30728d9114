"""Train the DuEE 1.0 event extraction baseline, score dev each epoch, keep the best.

    python event_extraction/train.py --data-dir DATA --bert-dir BERT --output-dir OUT [--head trigger|pointer|span|crf|memm]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli, track  # noqa: E402
from event_extraction import track as event_extraction  # noqa: E402

if __name__ == "__main__":
    cli.run(lambda: track.train_main(event_extraction, __doc__))
