"""Schedules, dynamic padding with buckets, the training loop: best weights, records, step-level resume."""
import json
import os

import numpy as np
import pytest

from common.env import keras, tf
from common.losses import global_mean
from common.model_dir import read_metrics
from common.training import Batches, Schedule, Trainer, TrainingError, make_optimizer, pad_batch, seed_everything


def test_schedules():
    values = lambda kind: [float(Schedule(kind, 1.0, 100, 10)(s)) for s in (0, 5, 10, 55, 100, 120)]  # noqa: E731
    assert values("warmup-linear") == pytest.approx([0.1, 0.6, 1.0, 0.5, 0.0, 0.0])
    assert values("warmup-constant") == pytest.approx([0.1, 0.6, 1.0, 1.0, 1.0, 1.0])
    assert values("constant") == pytest.approx([1.0] * 6)
    with pytest.raises(ValueError, match="unknown schedule"):
        Schedule("cosine", 1.0, 100, 10)


def test_dynamic_padding_and_buckets():
    rng = np.random.default_rng(0)
    examples = [list(range(1, n + 1)) for n in rng.integers(5, 200, size=1000)]
    collate = lambda b: {"x": pad_batch([np.array(e) for e in b])}  # noqa: E731
    bucketed = Batches(examples, 16, collate, seed=1)
    plain = Batches(examples, 16, collate, bucket=False, seed=1)
    assert bucketed.padding_share() < 0.1 < plain.padding_share()
    assert bucketed[0]["x"].shape[1] == max(len(examples[i]) for i in bucketed.batches[0])  # its own longest
    assert sorted(i for b in bucketed.batches for i in b) == list(range(1000))  # every example once per epoch
    first = [list(b) for b in bucketed.batches]
    bucketed.set_epoch(1)
    assert [list(b) for b in bucketed.batches] != first  # reshuffled
    bucketed.set_epoch(0)
    assert [list(b) for b in bucketed.batches] == first  # a function of (seed, epoch)


def test_resample_draws_rows_per_epoch_reproducibly():
    sample = lambda examples, rng: [e for e in examples if rng.random() < 0.5]  # noqa: E731
    batches = Batches(list(range(100)), 10, lambda b: {"x": np.array(b)}, length=lambda e: 1, seed=3, resample=sample)
    epoch0 = sorted(batches.rows)
    batches.set_epoch(1)
    assert sorted(batches.rows) != epoch0
    batches.set_epoch(0)
    assert sorted(batches.rows) == epoch0


def regression(seed=0, epochs=4, schedule="warmup-linear"):
    """A linear model trained by the Trainer: (model, optimizer, batches, evaluate)."""
    seed_everything(seed)
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(64, 4)).astype("float32")
    ys = xs @ np.array([1.0, -2.0, 0.5, 3.0], "float32")
    batches = Batches(list(zip(xs, ys)), 8, lambda b: {"x": np.stack([x for x, _ in b]), "y": np.stack([y for _, y in b])},
                      length=lambda e: 1, seed=seed)
    x, y = keras.Input((4,), name="x"), keras.Input((), name="y")
    prediction = keras.layers.Dense(1, kernel_initializer="zeros", name="dense")(x)
    model = keras.Model([x, y], prediction)
    model.add_loss(keras.layers.Lambda(lambda t: global_mean(tf.square(t[0][:, 0] - t[1])))([prediction, y]))
    optimizer = make_optimizer(0.05, epochs * len(batches), schedule)
    evaluate = lambda: {"score": -float(np.mean((model.predict([xs, ys], verbose=0)[:, 0] - ys) ** 2))}  # noqa: E731
    return model, optimizer, batches, evaluate


def test_trainer_keeps_the_best_weights_and_logs(tmp_path):
    model, optimizer, batches, evaluate = regression()
    best = Trainer(model, optimizer, batches, 4, evaluate, str(tmp_path), key="score").fit()
    records = read_metrics(str(tmp_path))
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert records[0]["best"] and all("dev_score" in r and "loss" in r and "learning_rate" in r for r in records)
    assert best == max(records, key=lambda r: r["dev_score"])
    assert records[-1]["loss"] < records[0]["loss"]
    assert os.path.isfile(tmp_path / "model.weights.h5") and os.listdir(tmp_path / "tensorboard")
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp-")]  # atomic writes leave no temporary file


def test_snapshots_keep_the_weights_of_the_k_best_epochs(tmp_path):
    """--snapshots 3: the weights of the 3 best dev epochs stay (of equal scores the earlier), the best one's being
    model.weights.h5's (a hard link to it); an epoch that falls out of the 3 is removed, and no temporary file stays."""
    model, optimizer, batches, evaluate = regression(epochs=5)
    scores, weights = iter([0.5, 0.9, 0.3, 0.7, 0.9, 0.2]), {}

    def scripted():
        weights[len(weights) + 1] = model.get_weights()
        return {"score": next(scores)}

    Trainer(model, optimizer, batches, 5, scripted, str(tmp_path), key="score", snapshots=3).fit()
    assert sorted(os.listdir(tmp_path / "snapshots")) == ["epoch2.weights.h5", "epoch4.weights.h5",
                                                          "epoch5.weights.h5"]
    for epoch, path in [(2, "model.weights.h5"), (2, "snapshots/epoch2.weights.h5"), (4, "snapshots/epoch4.weights.h5"),
                        (5, "snapshots/epoch5.weights.h5")]:
        model.load_weights(str(tmp_path / path))
        for a, b in zip(weights[epoch], model.get_weights()):
            np.testing.assert_array_equal(a, b)
    assert not any(weights[1][0] == weights[2][0])  # the epochs trained different weights
    assert os.path.samefile(tmp_path / "model.weights.h5", tmp_path / "snapshots" / "epoch2.weights.h5")  # one copy
    model, optimizer, batches, evaluate = regression(epochs=5)
    Trainer(model, optimizer, batches, 5, evaluate, str(tmp_path / "one"), key="score").fit()
    assert not os.path.exists(tmp_path / "one" / "snapshots")  # the default keeps the best alone


@pytest.mark.parametrize("stop_at", [(0, 3), (1, 0), (2, 5)])
def test_resume_from_a_step_gives_the_uninterrupted_weights(tmp_path, stop_at):
    model, optimizer, batches, evaluate = regression()
    Trainer(model, optimizer, batches, 4, evaluate, str(tmp_path / "full"), key="score", snapshots=2).fit()
    uninterrupted = model.get_weights()

    # the same run, its resume point committed at (epoch, step) and the process gone
    out = str(tmp_path / "resumed")
    model, optimizer, batches, evaluate = regression()
    trainer = Trainer(model, optimizer, batches, 4, evaluate, out, key="score", snapshots=2)
    state = {"epoch": 0, "step": 0, "loss_sum": 0.0, "loss_steps": 0, "best": -np.inf, "best_epoch": 0,
             "history": [], "seconds": 0.0}
    for epoch in range(stop_at[0] + 1):
        batches.set_epoch(epoch)
        steps = stop_at[1] if epoch == stop_at[0] else len(batches)
        for i in range(steps):
            loss, _, _ = trainer.step(batches[i])
            state.update(step=i + 1, loss_sum=state["loss_sum"] + loss, loss_steps=state["loss_steps"] + 1)
        if epoch < stop_at[0]:
            state = trainer._end_epoch(epoch, state)
    trainer.save_resume_point(state)
    with open(os.path.join(out, "metrics.jsonl"), "a") as f:  # a torn line, as a kill while writing leaves
        f.write('{"epoch": 9, "dev_sc')
    os.makedirs(os.path.join(out, "snapshots"), exist_ok=True)  # kept weights a kill left behind
    for name in ("epoch9.weights.h5", ".tmp-epoch3.weights.h5-x.weights.h5"):
        open(os.path.join(out, "snapshots", name), "w").close()

    model, optimizer, batches, evaluate = regression()  # a new process
    Trainer(model, optimizer, batches, 4, evaluate, out, key="score", snapshots=2).fit(resume=True)
    for a, b in zip(uninterrupted, model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert [r["epoch"] for r in read_metrics(out)] == [1, 2, 3, 4]  # no repeated and no torn record
    kept = sorted(os.listdir(os.path.join(out, "snapshots")))
    assert kept == sorted(os.listdir(tmp_path / "full" / "snapshots")) and len(kept) == 2
    for name in kept:  # the same epochs' weights as the uninterrupted run's
        model.load_weights(os.path.join(out, "snapshots", name))
        resumed = model.get_weights()
        model.load_weights(str(tmp_path / "full" / "snapshots" / name))
        for a, b in zip(model.get_weights(), resumed):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_non_finite_loss_stops_with_a_clear_error(tmp_path):
    model, optimizer, batches, evaluate = regression()
    batches.collate = lambda b: {"x": np.full((len(b), 4), np.nan, "float32"), "y": np.zeros(len(b), "float32")}
    with pytest.raises(TrainingError, match="loss is nan at epoch 1, step 1"):
        Trainer(model, optimizer, batches, 1, evaluate, str(tmp_path), key="score").fit()


def test_clip_norm_off_and_on():
    assert make_optimizer(1e-3, 10, clip_norm=0).global_clipnorm is None
    assert make_optimizer(1e-3, 10, clip_norm=1.0).global_clipnorm == 1.0
    assert isinstance(make_optimizer(1e-3, 10, loss_scale=True), keras.mixed_precision.LossScaleOptimizer)


def test_metrics_records_are_json_lines(tmp_path):
    model, optimizer, batches, evaluate = regression(epochs=1)
    Trainer(model, optimizer, batches, 1, evaluate, str(tmp_path), key="score").fit()
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["epoch"] == 1
