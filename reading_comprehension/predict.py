"""Answer every question of a DuReader_robust test file and write the JSON submission.

    python reading_comprehension/predict.py --model-dir OUT --input test1.json --output submission.json
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo root

from common import cli, track  # noqa: E402
from reading_comprehension import track as reading_comprehension  # noqa: E402

if __name__ == "__main__":
    cli.run(lambda: track.predict_main(reading_comprehension, __doc__))
