"""Shared fixtures: the sample data and a tiny BERT, made once per test session."""
import fcntl
import glob
import os
import shutil
import subprocess
import sys

import pytest

# xdist's workers share the cores: each process (and every script it runs) gets its share of them as TensorFlow's
# op threads, which runs the suite faster than every process spreading over all of them
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS",
                          str(max(1, len(os.sched_getaffinity(0)) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))

from common import env  # noqa: E402,F401  (prepares TensorFlow before anything imports it)
from synthetic.hard_data import write_hard_data
from synthetic.sample_data import write_sample_data
from synthetic.tiny_bert import texts_of_files, write_tiny_bert


# the slowest test files on 2 cores (the rest follow in their own order): started first, so that the two
# processes do not end waiting on one long file. Each track's end-to-end file trains the model the others share
# (`trained`), so it comes before the files that only read one: a process never idles on the lock of a model the
# other is training.
LONGEST_FIRST = ["tests/tools/test_runs.py", "tests/common/test_multiworker.py", "tests/common/test_reliability.py",
                 "tests/event_extraction/test_event_extraction_e2e.py", "tests/common/test_distribute.py",
                 "tests/relation_extraction/test_relation_extraction_e2e.py",
                 "tests/reading_comprehension/test_reading_comprehension_e2e.py", "tests/common/test_precision.py",
                 "tests/relation_extraction/test_learning.py", "tests/synthetic/test_yardstick.py",
                 "tests/common/test_checkpoints.py", "tests/common/test_ensemble.py"]


def pytest_collection_modifyitems(items):
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory, worker_id):
    """A directory every process of this test session sees (the xdist workers' common parent)."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if worker_id != "master" else base) / "shared"
    root.mkdir(exist_ok=True)
    return root


def shared(root, name, make):
    """root/name, made by make(path) once per test session by whichever process comes first (the others wait
    on a file lock), then reused by every test file in every process."""
    path, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            if path.exists():
                shutil.rmtree(path)
            make(path)
            done.touch()
    return path


@pytest.fixture(scope="session")
def sample_dir(shared_root):
    return shared(shared_root, "sample", lambda p: write_sample_data(str(p)))


@pytest.fixture(scope="session")
def small_sample(shared_root):
    """Smaller sample data sets (96 training items per track): for tests that train but need no floor."""
    return shared(shared_root, "small_sample", lambda p: write_sample_data(str(p), sizes=(96, 32, 32)))


@pytest.fixture(scope="session")
def hard_dir(shared_root):
    """The hard LIC-format data (synthetic.hard_data), at the learning benchmark's sizes."""
    return shared(shared_root, "hard", lambda p: write_hard_data(str(p)))


@pytest.fixture(scope="session")
def tiny_bert_dir(sample_dir, hard_dir, shared_root):
    """A tiny random BERT whose vocabulary covers the sample and the hard data."""
    files = sorted(glob.glob(os.path.join(sample_dir, "*", "*.json")) + glob.glob(os.path.join(hard_dir, "*", "*.json")))
    return shared(shared_root, "tiny_bert", lambda p: write_tiny_bert(str(p), texts_of_files(files)))


# the models the test files share, trained once per session: (track, epochs, train.py options)
MODELS = {"relation_extraction": ("relation_extraction", 6),
          "event_extraction": ("event_extraction", 2, "--precision", "bf16"),
          "reading_comprehension": ("reading_comprehension", 1)}


@pytest.fixture(scope="session")
def trained(shared_root, sample_dir, tiny_bert_dir):
    """trained(name) -> the model directory of MODELS[name] on the sample data (trained once per session)."""
    def model(name):
        track, epochs, *extra = MODELS[name]
        return shared(shared_root, f"model-{name}",
                      lambda p: train_on_sample(track, sample_dir, tiny_bert_dir, p, epochs, *extra))
    return model


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


def predict_here(track, *args):
    """Run `track`'s predict.py with `args` in this process, as `run` would in a new one (its exit code, stdout and
    stderr), without importing TensorFlow again: for tests about what a model directory predicts. Each track's
    end-to-end test runs predict.py as a user does, through `run`."""
    import contextlib
    import io
    import runpy

    from common.env import keras

    script = f"{track}/predict.py"  # from the repo root, as `run` takes it
    saved = sys.argv, list(sys.path), keras.mixed_precision.global_policy()  # the script sets them
    out, err, code = io.StringIO(), io.StringIO(), 0
    sys.argv = [script, *map(str, args)]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else int(e.code is not None)
    finally:
        sys.argv, sys.path[:] = saved[0], saved[1]
        keras.mixed_precision.set_global_policy(saved[2])
    return subprocess.CompletedProcess([script, *args], code, out.getvalue(), err.getvalue())


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
