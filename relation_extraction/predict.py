"""Predict SPOs for a DuIE test file and write the zip the leaderboard takes.

    python relation_extraction/predict.py --model-dir OUT --input test1_data.json --output submission.zip
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli, track  # noqa: E402
from relation_extraction import track as relation_extraction  # noqa: E402

if __name__ == "__main__":
    cli.run(lambda: track.predict_main(relation_extraction, __doc__))
