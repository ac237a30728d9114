"""--strategy multiworker: two training processes on 127.0.0.1 sharing one output directory."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import predict_here

pytestmark = pytest.mark.trains  # trains models: not in make test-fast


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Workers:
    """Two training processes on 127.0.0.1 under --strategy multiworker, sharing one --output-dir."""

    def __init__(self, sample_dir, tiny_bert_dir, tmp_path, out, *extra, epochs=1):
        track = "relation_extraction"
        lines = open(sample_dir / track / "train_data.json", encoding="utf-8").readlines()
        train = tmp_path / "train_data.json"
        if not train.exists():  # a few batches an epoch: quick, and a SIGTERM still lands inside an epoch
            train.write_text("".join(lines[:64]), encoding="utf-8")
        self.addresses = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
        self.command = [sys.executable, f"{track}/train.py", "--train", str(train),
                        "--dev", str(sample_dir / track / "dev_data.json"),
                        "--schema", str(sample_dir / track / "schema.json"), "--bert-dir", str(tiny_bert_dir),
                        "--output-dir", str(out), "--epochs", str(epochs), "--batch-size", "16", "--maxlen", "64",
                        "--learning-rate", "1e-3", "--strategy", "multiworker", *extra]
        self.logs, self.processes = tmp_path, {}

    def start(self, index):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": {"worker": self.addresses},
                                                    "task": {"type": "worker", "index": index}}))
        env.pop("LIC_LOGICAL_CPUS", None)
        log = open(self.logs / f"worker{index}-{len(self.processes)}.log", "w+")
        self.processes[index] = (subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, text=True,
                                                  env=env), log)

    def wait_for(self, index, text, timeout=300):
        """Block until worker `index` has printed `text`."""
        process, log = self.processes[index]
        deadline = time.time() + timeout
        while time.time() < deadline:
            log.seek(0)
            if text in log.read():
                return
            assert process.poll() is None, self.output(index)
            time.sleep(0.2)
        raise AssertionError(f"worker {index} did not print {text!r}:\n{self.output(index)}")

    def output(self, index):
        log = self.processes[index][1]
        log.seek(0)
        return log.read()

    def finish(self, timeout=600):
        """{worker index: exit code}, once both ended."""
        codes = {}
        for index, (process, _) in self.processes.items():
            try:
                codes[index] = process.wait(timeout=timeout)
            finally:
                process.kill()
        return codes


def share_one_dir(sample_dir, tiny_bert_dir, tmp_path, first, epochs):
    """Train with worker `first` started, and up, before the other; the output directory, once both ended."""
    out = tmp_path / f"worker{first}-first"
    workers = Workers(sample_dir, tiny_bert_dir, tmp_path, out, epochs=epochs)
    workers.start(first)
    workers.wait_for(first, "waiting for the other workers")  # the first is up before the second starts
    time.sleep(5)
    workers.start(1 - first)
    codes = workers.finish()
    assert codes == {0: 0, 1: 0}, workers.output(0)[-3000:] + workers.output(1)[-3000:]
    return out


@pytest.fixture(scope="module")
def chief_first(sample_dir, tiny_bert_dir, tmp_path_factory):
    """2 epochs, the chief started first: an uninterrupted run, which the resume test compares with."""
    return share_one_dir(sample_dir, tiny_bert_dir, tmp_path_factory.mktemp("multiworker"), 0, epochs=2)


@pytest.mark.parametrize("first", [0, 1])
def test_multiworker_workers_share_one_output_dir_whichever_starts_first(chief_first, sample_dir, tiny_bert_dir,
                                                                         tmp_path, first):
    """The chief alone decides on the directory: a worker never refuses it because the chief is filling it."""
    epochs = 2 if first == 0 else 1  # the chief-first run is also the resume test's 2-epoch reference
    out = chief_first if first == 0 else share_one_dir(sample_dir, tiny_bert_dir, tmp_path, first, epochs=epochs)
    assert (out / "model.weights.h5").exists() and not (out / "training.json").exists() and not (out / ".lock").exists()
    assert [json.loads(line)["epoch"] for line in open(out / "metrics.jsonl")] == list(range(1, epochs + 1))
    test = sample_dir / "relation_extraction" / "test1_data.json"
    result = predict_here("relation_extraction", "--model-dir", str(out), "--input", str(test),
                          "--output", str(tmp_path / "s.zip"))
    assert result.returncode == 0, result.stderr[-3000:]
    from tools.validate import validate
    assert validate("relation_extraction", str(test), str(tmp_path / "s.zip")) == ([], 150)


def test_multiworker_a_worker_that_fails_tells_the_other_why(sample_dir, tiny_bert_dir, tmp_path):
    out = tmp_path / "model"
    (out / "resume").mkdir(parents=True)  # another run's resume point: the chief refuses the directory
    workers = Workers(sample_dir, tiny_bert_dir, tmp_path, out)
    workers.start(0)
    workers.start(1)
    codes = workers.finish()
    assert codes[0] == 2 and codes[1] != 0
    for index in (0, 1):
        last = workers.output(index).strip().splitlines()[-1]
        assert last.startswith("error: ") and "holds another run" in last, workers.output(index)[-2000:]
    assert "stopped because worker 0: " in workers.output(1)


def test_multiworker_resume_after_sigterm_to_one_worker_gives_the_uninterrupted_weights(chief_first, sample_dir,
                                                                                         tiny_bert_dir, tmp_path):
    import h5py

    interrupted = Workers(sample_dir, tiny_bert_dir, tmp_path, tmp_path / "cut", epochs=2)
    for index in (0, 1):
        interrupted.start(index)
    interrupted.wait_for(0, "epoch 1: loss")
    interrupted.processes[1][0].send_signal(signal.SIGTERM)
    assert interrupted.finish() == {0: 128 + signal.SIGTERM, 1: 128 + signal.SIGTERM}, interrupted.output(0)[-3000:]
    state = json.load(open(tmp_path / "cut" / "resume" / "state.json"))
    assert (state["epoch"], state["step"]) != (2, 0)  # stopped inside the run
    resumed = Workers(sample_dir, tiny_bert_dir, tmp_path, tmp_path / "cut", "--resume", epochs=2)
    for index in (0, 1):
        resumed.start(index)
    assert resumed.finish() == {0: 0, 1: 0}, resumed.output(0)[-3000:] + resumed.output(1)[-3000:]

    def weights(directory):
        found = {}
        with h5py.File(directory / "model.weights.h5", "r") as f:
            f.visititems(lambda n, obj: found.__setitem__(n, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        return found

    whole, cut = weights(chief_first), weights(tmp_path / "cut")
    assert whole.keys() == cut.keys() and len(whole) > 10
    for name in whole:
        np.testing.assert_allclose(cut[name], whole[name], rtol=1e-4, atol=1e-6)
    records = [[json.loads(line) for line in open(d / "metrics.jsonl")] for d in (chief_first, tmp_path / "cut")]
    assert [r["dev_f1"] for r in records[0]] == [r["dev_f1"] for r in records[1]]
