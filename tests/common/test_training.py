"""Warm-up schedule, dynamic padding with buckets, dev scoring with best weights, and --resume."""
import json
import os

import numpy as np
import pytest

from common.env import keras
from common.training import Batches, DevEvaluator, WarmupLinearDecay, fit, make_optimizer, pad_batch, \
    seed_everything


def test_warmup_then_linear_decay():
    schedule = WarmupLinearDecay(1.0, total_steps=100, warmup_steps=10)
    values = [float(schedule(s)) for s in (0, 5, 10, 55, 100, 120)]
    assert values == pytest.approx([0.1, 0.6, 1.0, 0.5, 0.0, 0.0])


def test_dynamic_padding_and_buckets():
    rng = np.random.default_rng(0)
    examples = [list(range(1, n + 1)) for n in rng.integers(5, 200, size=1000)]
    collate = lambda b: (pad_batch([np.array(e) for e in b]),)  # noqa: E731
    bucketed = Batches(examples, 16, collate, seed=1)
    plain = Batches(examples, 16, collate, bucket=False, seed=1)
    assert bucketed.padding_share() < 0.1 < plain.padding_share()
    (x,) = bucketed[0]
    assert x.shape[1] == max(len(examples[i]) for i in bucketed.batches[0])  # padded to its own longest
    seen = sorted(i for b in bucketed.batches for i in b)
    assert seen == list(range(1000))  # every example once per epoch
    first = [list(b) for b in bucketed.batches]
    bucketed.on_epoch_end()
    assert [list(b) for b in bucketed.batches] != first  # reshuffled
    bucketed.set_epoch(0)
    assert [list(b) for b in bucketed.batches] == first  # a function of (seed, epoch)


def regression_setup(seed=0):
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(64, 4)).astype("float32")
    ys = xs @ np.array([1.0, -2.0, 0.5, 3.0], "float32")
    examples = list(zip(xs, ys))
    batches = Batches(examples, 8, lambda b: (np.stack([x for x, _ in b]), np.stack([y for _, y in b])),
                      length=lambda e: 1, seed=seed)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer=keras.initializers.Zeros())(inputs))
    model.compile(optimizer=make_optimizer(0.05, total_steps=6 * len(batches)), loss="mse")
    evaluate = lambda: {"score": -float(model.evaluate(xs, ys, verbose=0))}  # noqa: E731
    return model, batches, evaluate


def test_evaluator_keeps_best_and_logs(tmp_path):
    model, batches, evaluate = regression_setup()
    fit(model, batches, 3, DevEvaluator(evaluate, str(tmp_path), key="score"), str(tmp_path))
    records = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[0]["best"] and all("dev_score" in r and "loss" in r for r in records)
    assert os.path.isfile(tmp_path / "model.weights.h5")
    assert os.listdir(tmp_path / "tensorboard")


def test_resume_continues_where_an_interrupted_run_stopped(tmp_path):
    model, batches, evaluate = regression_setup()
    fit(model, batches, 6, DevEvaluator(evaluate, str(tmp_path / "full"), key="score"), str(tmp_path / "full"))
    uninterrupted = model.get_weights()

    model, batches, evaluate = regression_setup()
    out = str(tmp_path / "resumed")
    fit(model, batches, 2, DevEvaluator(evaluate, out, key="score"), out)  # "interrupted" after epoch 2
    model, batches, evaluate = regression_setup()  # a new process
    fit(model, batches, 6, DevEvaluator(evaluate, out, key="score"), out, resume=True)
    for a, b in zip(uninterrupted, model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert [json.loads(line)["epoch"] for line in open(os.path.join(out, "metrics.jsonl"))] == list(range(1, 7))
