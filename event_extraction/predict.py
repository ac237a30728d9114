"""Predict events for a DuEE test file and write the JSON-lines submission.

    python event_extraction/predict.py --model-dir OUT --input test1.json --output submission.json
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli, track  # noqa: E402
from event_extraction import track as event_extraction  # noqa: E402

if __name__ == "__main__":
    cli.run(lambda: track.predict_main(event_extraction, __doc__))
