"""--ema: the averaged weights equal a numpy average of the raw ones; dev sees them; a resumed run equals an
uninterrupted one; off, training is what it was."""
import os

import numpy as np

from common.model_dir import read_metrics
from common.training import Trainer
from tests.common.test_training import regression


def test_ema_equals_a_numpy_average_of_the_recorded_raw_weights(tmp_path):
    model, optimizer, batches, evaluate = regression()
    trainer = Trainer(model, optimizer, batches, 1, evaluate, str(tmp_path), key="score", ema=0.9)
    average = [w.copy() for w in model.get_weights()]
    for i in range(5):
        trainer.step(batches[i])
        average = [0.9 * a + 0.1 * w for a, w in zip(average, model.get_weights())]
        for a, s in zip(average, trainer.average.shadow):
            np.testing.assert_allclose(s.numpy(), a, rtol=1e-6, atol=1e-6)
    assert not np.allclose(average[0], model.get_weights()[0])  # the average is not the raw weights


def test_dev_scores_and_saves_the_averaged_weights_and_training_goes_on_with_the_raw_ones(tmp_path):
    model, optimizer, batches, evaluate = regression(epochs=1)
    seen = []
    trainer = Trainer(model, optimizer, batches, 1, lambda: seen.append(model.get_weights()) or evaluate(),
                      str(tmp_path), key="score", ema=0.5)
    trainer.fit()
    shadow = [s.numpy() for s in trainer.average.shadow]
    for a, b in zip(seen[0], shadow):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not all(np.allclose(a, b) for a, b in zip(model.get_weights(), shadow))  # raw weights back
    model.load_weights(os.path.join(tmp_path, "model.weights.h5"))
    for a, b in zip(model.get_weights(), shadow):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_resume_with_ema_equals_the_uninterrupted_run(tmp_path):
    model, optimizer, batches, evaluate = regression()
    full = Trainer(model, optimizer, batches, 4, evaluate, str(tmp_path / "full"), key="score", ema=0.8)
    full.fit()
    expected = [s.numpy() for s in full.average.shadow] + model.get_weights()
    out = str(tmp_path / "resumed")
    model, optimizer, batches, evaluate = regression()
    trainer = Trainer(model, optimizer, batches, 4, evaluate, out, key="score", ema=0.8)
    state = {"epoch": 0, "step": 0, "loss_sum": 0.0, "loss_steps": 0, "best": -np.inf, "best_epoch": 0,
             "history": [], "seconds": 0.0}
    state = trainer._end_epoch(0, dict(state, **_train_epoch(trainer, batches, 0)))
    batches.set_epoch(1)
    for i in range(3):
        trainer.step(batches[i])
    trainer.save_resume_point(dict(state, step=3))
    model, optimizer, batches, evaluate = regression()  # a new process
    resumed = Trainer(model, optimizer, batches, 4, evaluate, out, key="score", ema=0.8)
    resumed.fit(resume=True)
    for a, b in zip(expected, [s.numpy() for s in resumed.average.shadow] + model.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert [r["epoch"] for r in read_metrics(out)] == [1, 2, 3, 4]


def _train_epoch(trainer, batches, epoch):
    batches.set_epoch(epoch)
    losses = [trainer.step(batches[i])[0] for i in range(len(batches))]
    return {"loss_sum": sum(losses), "loss_steps": len(losses)}


def test_without_ema_and_adversarial_the_weights_are_what_they_were(tmp_path):
    """--ema 0 and no --adversarial take the same path as before either option existed: bit-identical."""
    runs = []
    for options in ({}, {"ema": 0.0, "adversarial": None}):
        model, optimizer, batches, evaluate = regression(epochs=1)
        Trainer(model, optimizer, batches, 1, evaluate, str(tmp_path / str(len(runs))), key="score", **options).fit()
        runs.append(model.get_weights())
    assert all((a == b).all() for a, b in zip(*runs))
