"""Kills, preemption, misuse and bad input: nothing silently costs a result (issue cases 1-15)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import predict_here, run, write_lines
from tools.runs import ROOT

pytestmark = pytest.mark.trains  # trains models: not in make test-fast

TRACK = "relation_extraction"


@pytest.fixture(scope="module")
def small_re(sample_dir, tmp_path_factory):
    """The relation extraction sample cut to 320 train and 40 dev sentences (20 steps an epoch at batch 16)."""
    out = tmp_path_factory.mktemp("small_re")
    source = sample_dir / TRACK
    for name, n in (("train_data.json", 320), ("dev_data.json", 40), ("test1_data.json", 40)):
        lines = (source / name).read_text(encoding="utf-8").splitlines()[:n]
        (out / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "schema.json").write_text((source / "schema.json").read_text(encoding="utf-8"), encoding="utf-8")
    return out


def train_command(data, bert, out, *extra, epochs=2):
    return [sys.executable, f"{TRACK}/train.py", "--data-dir", str(data), "--bert-dir", str(bert),
            "--output-dir", str(out), "--epochs", str(epochs), "--batch-size", "16", "--maxlen", "64",
            "--learning-rate", "1e-3", *extra]


def final_weights(out):
    """The model variables of the last resume point (the state after the last step)."""
    from common.env import tf

    with open(os.path.join(out, "resume", "state.json")) as f:
        state = json.load(f)
    reader = tf.train.load_checkpoint(os.path.join(out, "resume", state["checkpoint"]))
    names = sorted(n for n in reader.get_variable_to_shape_map() if n.startswith("model/") and "OPTIMIZER" not in n)
    return {n: reader.get_tensor(n) for n in names}, state


def wait_for(path, process, timeout=120):
    started = time.time()
    while not os.path.exists(path):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.time() - started < timeout, f"{path} did not appear"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def uninterrupted(small_re, tiny_bert_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    result = subprocess.run(train_command(small_re, tiny_bert_dir, out, "--overwrite"), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_sigterm_saves_a_resume_point_and_resume_matches_an_uninterrupted_run(small_re, tiny_bert_dir, uninterrupted,
                                                                               tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen(train_command(small_re, tiny_bert_dir, out), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for(out / "metrics.jsonl", process)  # the loop has started
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert "resume point saved" in stderr and "--resume" in stderr and "Traceback" not in stderr
    state = json.load(open(out / "resume" / "state.json"))
    assert state["epoch"] < 2
    # an unfinished directory: predict refuses it, unless asked
    test = str(small_re / "test1_data.json")
    result = run(f"{TRACK}/predict.py", "--model-dir", str(out), "--input", test, "--output", str(tmp_path / "s.zip"))
    if os.path.exists(out / "model.weights.h5"):
        assert result.returncode == 2 and "still running or did not finish" in result.stderr
        result = predict_here(TRACK, "--model-dir", str(out), "--input", test, "--output", str(tmp_path / "s.zip"),
                              "--use-unfinished")
        assert result.returncode == 0, result.stderr[-3000:]
    else:
        assert result.returncode == 2 and "has not finished an epoch" in result.stderr
    result = subprocess.run(train_command(small_re, tiny_bert_dir, out, "--resume"), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"continuing at epoch {state['epoch'] + 1}, step {state['step']}" in result.stdout
    expected, _ = final_weights(uninterrupted)
    got, final_state = final_weights(out)
    assert final_state["epoch"] == 2 and got.keys() == expected.keys()
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-4, atol=1e-5, err_msg=name)
    assert [json.loads(line)["epoch"] for line in open(out / "metrics.jsonl")] == [1, 2]
    assert not os.path.exists(out / "training.json")  # finished


def test_kill_9_at_any_moment_then_resume_gives_the_same_weights(small_re, tiny_bert_dir, uninterrupted, tmp_path):
    out = tmp_path / "run"
    rng = np.random.default_rng(0)
    kills = 0
    for attempt in range(6):
        extra = ["--save-every", "0"] + (["--resume"] if attempt else [])
        process = subprocess.Popen(train_command(small_re, tiny_bert_dir, out, *extra), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        try:
            wait_for(out / "metrics.jsonl", process)
            time.sleep(rng.uniform(0.5, 3.0))  # mid-step, mid-save, mid-evaluation
            if process.poll() is not None:
                break
            process.kill()
            kills += 1
        finally:
            process.kill()
            process.communicate()
        weights = out / "model.weights.h5"
        assert not weights.exists() or weights.stat().st_size > 0  # never a torn weights file
        os.remove(out / "metrics.jsonl")  # so that wait_for sees the next run start
    assert kills >= 2
    result = subprocess.run(train_command(small_re, tiny_bert_dir, out, "--resume"), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    expected, _ = final_weights(uninterrupted)
    got, state = final_weights(out)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-4, atol=1e-5, err_msg=name)
    assert [json.loads(line)["epoch"] for line in open(out / "metrics.jsonl")] == [1, 2]


def test_a_directory_of_another_run_is_refused_then_replaced_cleanly(small_re, tiny_bert_dir, uninterrupted, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    for name in os.listdir(uninterrupted):  # another run's directory
        if os.path.isfile(uninterrupted / name):
            (out / name).write_bytes((uninterrupted / name).read_bytes())
    result = subprocess.run(train_command(small_re, tiny_bert_dir, out, epochs=1), capture_output=True, text=True)
    assert result.returncode == 2 and "holds another run" in result.stderr and "--overwrite" in result.stderr
    # --overwrite removes the old weights before anything new is written: a kill in the first epoch leaves none
    process = subprocess.Popen(train_command(small_re, tiny_bert_dir, out, "--overwrite", epochs=1),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(out / "training.json", process)
        assert not (out / "model.weights.h5").exists()
    finally:
        process.kill()
        process.communicate()
    result = run(f"{TRACK}/predict.py", "--model-dir", str(out), "--input", str(small_re / "test1_data.json"),
                 "--output", str(tmp_path / "s.zip"))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_two_runs_into_one_directory_exactly_one_proceeds(small_re, tiny_bert_dir, tmp_path):
    import socket

    out = tmp_path / "run"
    runs = [subprocess.Popen(train_command(small_re, tiny_bert_dir, out, epochs=1), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.communicate()[1]) for p in runs]
    assert sorted(code for code, _ in results) == [0, 2], results
    refused = next(err for code, err in results if code == 2).strip().splitlines()[-1]
    assert "another run is writing here" in refused or "holds another run" in refused, refused
    # a run that is writing: the second is refused, naming it
    writing = subprocess.Popen(train_command(small_re, tiny_bert_dir, tmp_path / "second", epochs=1),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(tmp_path / "second" / "training.json", writing)
        result = subprocess.run(train_command(small_re, tiny_bert_dir, tmp_path / "second", "--overwrite", epochs=1),
                                capture_output=True, text=True)
        assert result.returncode == 2, result.stderr[-2000:]
        assert f"another run is writing here (pid {writing.pid} on {socket.gethostname()}" in result.stderr
    finally:
        writing.kill()
        writing.communicate()
    # killed: its lock is stale (its pid is gone), so the next run takes over
    result = subprocess.run(train_command(small_re, tiny_bert_dir, tmp_path / "second", "--overwrite", epochs=1),
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_run_lock_stale_and_live_holders(tmp_path):
    from common.model_dir import ModelDirError, RunLock

    lock = RunLock(str(tmp_path))
    with pytest.raises(ModelDirError, match=f"pid {os.getpid()} on"):
        RunLock(str(tmp_path))  # held, here and alive
    lock.release()
    assert not (tmp_path / ".lock").exists()
    (tmp_path / ".lock").write_text(json.dumps({"pid": 1, "host": "elsewhere", "started": "then"}))
    with pytest.raises(ModelDirError, match="pid 1 on elsewhere"):
        RunLock(str(tmp_path))  # another host's, touched just now: alive
    os.utime(tmp_path / ".lock", (time.time() - 600, time.time() - 600))
    RunLock(str(tmp_path), stale_after=180).release()  # another host's, untouched for 10 minutes: stale


def test_model_directory_checks_at_predict_time(uninterrupted, small_re, tiny_bert_dir, tmp_path, sample_dir):
    test = str(sample_dir / TRACK / "test1_data.json")

    def predict(model_dir, track=TRACK):
        return run(f"{track}/predict.py", "--model-dir", str(model_dir), "--input", test,
                   "--output", str(tmp_path / "s.zip"))

    def copy(name):
        d = tmp_path / name
        d.mkdir()
        for f in os.listdir(uninterrupted):
            if os.path.isfile(uninterrupted / f):
                (d / f).write_bytes((uninterrupted / f).read_bytes())
        return d

    vocab = copy("vocab")
    (vocab / "vocab.txt").write_text("\n".join((vocab / "vocab.txt").read_text().splitlines()[:-3]) + "\n")
    result = predict(vocab)
    assert result.returncode == 2 and "vocab.txt" in result.stderr and "vocab_size" in result.stderr
    truncated = copy("truncated")
    data = (truncated / "model.weights.h5").read_bytes()
    (truncated / "model.weights.h5").write_bytes(data[:len(data) // 3])
    result = predict(truncated)
    assert result.returncode == 2 and "model.weights.h5: unreadable weights file" in result.stderr
    result = predict(uninterrupted, "event_extraction")
    assert result.returncode == 2 and "a model of relation_extraction, not event_extraction" in result.stderr
    result = run(f"{TRACK}/predict.py", "--model-dir", str(uninterrupted), "--input", test, "--output", test)
    assert result.returncode == 2 and "would destroy the input" in result.stderr
    (tmp_path / "a file").write_text("")
    (tmp_path / "dir.zip").mkdir()
    for output, message in ((tmp_path / "a file" / "s.zip", f"{tmp_path / 'a file'} is a file, not a directory"),
                            (tmp_path / "dir.zip", "is a directory; give the submission's file name")):
        result = run(f"{TRACK}/predict.py", "--model-dir", str(uninterrupted), "--input", test, "--output", str(output))
        assert result.returncode == 2 and message in result.stderr.strip().splitlines()[-1], result.stderr[-2000:]
    result = subprocess.run(train_command(small_re, tiny_bert_dir, tmp_path / "a file" / "m"), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].endswith(
        "m: cannot create the directory (Not a directory: " + str(tmp_path / "a file" / "m") + "); choose another "
        "--output-dir")
    empty = write_lines(tmp_path / "empty.json", [])
    result = run(f"{TRACK}/predict.py", "--model-dir", str(uninterrupted), "--input", empty,
                 "--output", str(tmp_path / "e.zip"))
    assert result.returncode == 2 and "holds no sentence" in result.stderr
    assert all("Traceback" not in r.stderr for r in [result])


def test_bad_training_input_gets_one_line_naming_the_file(small_re, tiny_bert_dir, sample_dir, tmp_path):
    def train(*args):
        result = subprocess.run(train_command(small_re, tiny_bert_dir, tmp_path / "m", "--overwrite", *args),
                                capture_output=True, text=True, timeout=300)
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        return result

    gbk = tmp_path / "gbk.json"
    gbk.write_bytes('{"text": "张三的妻子是李四", "spo_list": []}\n'.encode("gbk"))
    result = train("--train", str(gbk))
    assert result.returncode == 2 and f"{gbk}:1: not UTF-8" in result.stderr and "iconv -f GBK" in result.stderr
    empty = write_lines(tmp_path / "empty.json", [])
    result = train("--train", empty)
    assert result.returncode == 2 and f"{empty}: no SPOs to learn from" in result.stderr
    assert not (tmp_path / "m" / "training.json").exists()  # refused before anything was written
    no_gold = write_lines(tmp_path / "dev.json", [json.dumps({"text": "张三的妻子是李四"}, ensure_ascii=False)])
    result = train("--dev", no_gold)
    assert result.returncode == 2 and "no gold SPOs in the dev file" in result.stderr
    result = train("--train", str(sample_dir / "event_extraction" / "train.json"))  # another track's data
    assert result.returncode == 2 and "no SPOs to learn from" in result.stderr
    result = train("--maxlen", "1024")
    assert result.returncode == 2 and "max_position_embeddings" in result.stderr


@pytest.mark.parametrize("option, value, message", [
    ("--learning-rate", "nan", "must be a number above 0"), ("--learning-rate", "0", "must be a number above 0"),
    ("--warmup", "2", "a share of steps, in [0, 1]"), ("--clip-norm", "-1", "0 (off) or a number above"),
    ("--save-every", "inf", "0 or more minutes"), ("--adv-epsilon", "-0.5", "must be a number above 0"),
    ("--maxlen", "2", "a window needs at least 16 tokens"), ("--head-lr-multiplier", "0", "must be a number above 0"),
    ("--threshold", "1", "a probability between 0 and 1"), ("--epochs", "0", "an integer, 1 or above (not '0')")])
def test_a_recipe_value_out_of_range_is_refused_before_anything_is_written(small_re, tiny_bert_dir, tmp_path, option,
                                                                           value, message):
    result = subprocess.run(train_command(small_re, tiny_bert_dir, tmp_path / "m", option, value),
                            capture_output=True, text=True, timeout=300)
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 2 and message in last and (last.startswith(f"error: {option} {value}: ") or
                                                           f"error: argument {option}: " in last), last
    assert not (tmp_path / "m").exists()


def test_make_takes_paths_with_spaces_and_a_data_dir_without_test_file(small_re, tiny_bert_dir, tmp_path):
    data = tmp_path / "data with space"
    data.mkdir()
    for name in ("train_data.json", "dev_data.json", "schema.json"):  # no test file yet
        (data / name).write_bytes((small_re / name).read_bytes())
    out = tmp_path / "model dir"
    result = subprocess.run(["make", "-s", TRACK, f"DATA_DIR={data}", f"BERT_DIR={tiny_bert_dir}", f"OUT={out}",
                             "EPOCHS=1", "MAXLEN=64", "TRAIN_ARGS=--ema=0"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no submission was written" in result.stdout and (out / "model.weights.h5").exists()
    assert json.load(open(out / "config.json"))["run"]["ema"] == 0  # one option, no space: still train.py's


def test_make_clean_keeps_trained_models(tmp_path):
    """make clean removes what is made again on demand (the sample data, the tiny BERT), never a trained model."""
    shutil.copy(os.path.join(ROOT, "Makefile"), tmp_path)
    outputs = tmp_path / "outputs"
    for made in ("sample_data", "tiny_bert", "relation_extraction-seeds/seed-42"):
        (outputs / made).mkdir(parents=True)
    (outputs / "relation_extraction-seeds" / "seed-42" / "model.weights.h5").write_bytes(b"hours of training")
    result = subprocess.run(["make", "-s", "-C", str(tmp_path), "clean"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(outputs)) == ["relation_extraction-seeds"]
    assert "kept in outputs/ (delete by hand): relation_extraction-seeds" in result.stdout
