"""One track end to end: train, score dev, predict the test file, validate the submission.

    python -m pipeline TRACK [--data-dir DIR] [--bert-dir DIR] [--out DIR] [--epochs N] ...

Without --data-dir and --bert-dir it runs on the embedded default: the sample
data of synthetic.sample_data and a tiny BERT of synthetic.tiny_bert, generated on
first use under outputs/, with settings that let the tiny model learn in minutes.
"""
import argparse
import glob
import os
import shlex
import subprocess
import sys

from common.data import DataError, find_data_files
from tools.tracks import NAMES as TRACKS, track

ROOT = os.path.dirname(os.path.abspath(__file__))
# settings of the embedded default: a tiny BERT learns from scratch, so a high learning rate
TINY_SETTINGS = {
    "relation_extraction": {"epochs": 12, "batch_size": 16, "maxlen": 128, "learning_rate": 1e-3},
    "event_extraction": {"epochs": 12, "batch_size": 16, "maxlen": 128, "learning_rate": 1e-3},
    "reading_comprehension": {"epochs": 12, "batch_size": 16, "maxlen": 128, "learning_rate": 1e-3},
}


def embedded_default(outputs):
    """Sample data and a tiny BERT under `outputs` (made once); returns (sample dir, BERT dir)."""
    from synthetic.sample_data import write_sample_data
    from synthetic.tiny_bert import texts_of_files, write_tiny_bert

    sample, bert = os.path.join(outputs, "sample_data"), os.path.join(outputs, "tiny_bert")
    if not os.path.isfile(os.path.join(sample, "done")):
        write_sample_data(sample)
        open(os.path.join(sample, "done"), "w").close()
        print(f"sample data written to {sample}")
    if not os.path.isfile(os.path.join(bert, "bert_model.ckpt.index")):
        write_tiny_bert(bert, texts_of_files(sorted(glob.glob(os.path.join(sample, "*", "*.json")))))
        print(f"tiny BERT written to {bert}")
    return sample, bert


def run(command):
    """Run a step; a failing step stops the pipeline with its exit code (its own message is already shown)."""
    print("+ " + " ".join(command), flush=True)
    code = subprocess.run(command, cwd=ROOT).returncode
    if code != 0:
        print(f"error: step failed (exit {code}): {' '.join(command)}", file=sys.stderr)
        sys.exit(code)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("track", choices=TRACKS)
    p.add_argument("--data-dir")
    p.add_argument("--bert-dir")
    p.add_argument("--out", help="model directory (default outputs/<track>)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--maxlen", type=int)
    p.add_argument("--learning-rate", type=float)
    p.add_argument("--recompute", action="store_true")
    p.add_argument("--precision")
    p.add_argument("--strategy")
    p.add_argument("--train-args", default="", help="more train.py arguments, as one string")
    args = p.parse_args(argv)
    outputs = os.path.join(ROOT, "outputs")
    settings = {}
    if not args.data_dir or not args.bert_dir:
        sample, bert = embedded_default(outputs)
        if not args.data_dir:
            args.data_dir = os.path.join(sample, args.track)
        if not args.bert_dir:
            args.bert_dir = bert
            settings = dict(TINY_SETTINGS[args.track])
    for key in settings.keys() | {"epochs", "batch_size", "maxlen", "learning_rate", "precision", "strategy"}:
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    out = args.out or os.path.join(outputs, args.track)
    try:
        test = find_data_files(track(args.track).FILES, args.data_dir, need=())["test"]
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    python = sys.executable
    command = [python, f"{args.track}/train.py", "--data-dir", args.data_dir, "--bert-dir", args.bert_dir,
               "--output-dir", out, "--overwrite"]
    for key, value in sorted(settings.items()):
        command += [f"--{key.replace('_', '-')}", str(value)]
    if args.recompute:
        command.append("--recompute")
    command += shlex.split(args.train_args)
    run(command)
    run([python, "-m", "tools.report", out])
    if not test:
        print(f"\n{args.track}: model in {out}; no test file under {args.data_dir}, so no submission was written "
              f"(put the test file there and run {args.track}/predict.py --model-dir {out} ...)")
        return
    submission = os.path.join(out, track(args.track).SUBMISSION)
    run([python, f"{args.track}/predict.py", "--model-dir", out, "--input", test, "--output", submission])
    run([python, "-m", "tools.validate", "--track", args.track, "--test", test, "--submission", submission])
    print(f"\n{args.track}: model in {out}, submission {submission}")


if __name__ == "__main__":
    main()
