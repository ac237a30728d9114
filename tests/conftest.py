"""Shared fixtures: the sample data and a tiny BERT, made once per test session."""
import glob
import os
import subprocess
import sys

import pytest

from common import env  # noqa: F401  (prepares TensorFlow before anything imports it)
from synthetic.hard_data import write_hard_data
from synthetic.sample_data import write_sample_data
from synthetic.tiny_bert import texts_of_files, write_tiny_bert


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    write_sample_data(str(out))
    return out


@pytest.fixture(scope="session")
def hard_dir(tmp_path_factory):
    """The hard LIC-format data (synthetic.hard_data), at the learning benchmark's sizes."""
    out = tmp_path_factory.mktemp("hard")
    write_hard_data(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_bert_dir(sample_dir, hard_dir, tmp_path_factory):
    """A tiny random BERT whose vocabulary covers the sample and the hard data."""
    out = tmp_path_factory.mktemp("tiny_bert")
    files = sorted(glob.glob(os.path.join(sample_dir, "*", "*.json")) + glob.glob(os.path.join(hard_dir, "*", "*.json")))
    write_tiny_bert(str(out), texts_of_files(files))
    return out


@pytest.fixture(scope="session")
def tokenizer(tiny_bert_dir):
    from common.tokenization import load_tokenizer
    return load_tokenizer(os.path.join(tiny_bert_dir, "vocab.txt"))


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def run(*args):
    """Run a script of the repo (train.py, predict.py) as a user would; the CompletedProcess."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True)


def build_track(name, data_dir, bert_dir, rows=16, **options):
    """(training model, Predictor, a batch of the first `rows` training rows) of a track, built through its
    contract (prepare, then build) under the current precision policy and strategy; maxlen 64 unless given."""
    import contextlib
    import io

    from common.bert import BertFiles, build_bert
    from common.data import find_data_files
    from common.tokenization import load_tokenizer
    from common.track import track_args
    from tools.tracks import track

    t, bert_files = track(name), BertFiles.from_dir(str(bert_dir))
    tokenizer = load_tokenizer(bert_files.vocab)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        data = t.prepare(track_args(t, **dict({"maxlen": 64}, **options)), find_data_files(t.FILES, str(data_dir)),
                         tokenizer, bert_files)
    model, predictor = t.build(data.config, build_bert(bert_files), tokenizer)
    return model, predictor, data.collate(data.rows[:rows])


def train_on_sample(track, sample_dir, tiny_bert_dir, out, epochs, *extra):
    """Train `track` on its sample data with the tiny BERT (the embedded default's settings); `out`."""
    result = run(f"{track}/train.py", "--data-dir", str(sample_dir / track), "--bert-dir", str(tiny_bert_dir),
                 "--output-dir", str(out), "--epochs", str(epochs), "--batch-size", "16", "--maxlen", "128",
                 "--learning-rate", "1e-3", "--overwrite", *extra)
    assert result.returncode == 0, result.stderr[-3000:]
    return out
