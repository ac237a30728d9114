"""python tests/common/distributed_step.py TRACK DATA_DIR BERT_DIR [HEAD] [--tricks], with LIC_LOGICAL_CPUS=2: one
training step of a track's model under MirroredStrategy over 2 logical CPUs against the same step on one device
(--tricks: with --ema and --adversarial fgm); prints the largest differences."""
import json
import sys

import numpy as np

from common.env import keras, tf
from common.training import Trainer
from tests.conftest import build_track


def build(track, bert_dir, data_dir, head):
    """(training model, a global batch of 5 rows of different lengths), through the track's contract."""
    options = {"head": head} if track == "event_extraction" else {}
    model, _, batch = build_track(track, data_dir, bert_dir, rows=5, **options)
    return model, batch


def main():
    tricks = "--tricks" in sys.argv
    track, directory, bert_dir, *rest = [a for a in sys.argv[1:] if a != "--tricks"]
    head = rest[0] if rest else "span"
    options = {"ema": 0.9, "adversarial": "fgm", "adv_epsilon": 0.5} if tricks else {}
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    assert len(devices) == 2, devices
    results = {}
    for name, strategy in (("one", tf.distribute.get_strategy()), ("mirrored", tf.distribute.MirroredStrategy(devices))):
        with strategy.scope():
            model, batch = build(track, bert_dir, directory, head)
            optimizer = keras.optimizers.SGD(0.5)  # plain SGD: the update is the gradient itself
        if name == "one":
            start = model.get_weights()
        else:
            model.set_weights(start)
        trainer = Trainer(model, optimizer, None, 1, None, "/tmp", strategy=strategy, chief=False, **options)
        loss, _, _ = trainer.step(batch)
        averaged = [s.numpy() for s in trainer.average.shadow] if tricks else []
        results[name] = (loss, [w.numpy() for w in model.trainable_weights] + averaged)
    (loss_one, after_one), (loss_mirrored, after_mirrored) = results["one"], results["mirrored"]
    start = [w for w, v in zip(start, model.weights) if v.trainable]
    # weights: elementwise, relative tolerance 1e-5; updates: their global relative difference
    weights_close = all(np.allclose(b, a, rtol=1e-5, atol=1e-6) for a, b in zip(after_one, after_mirrored))
    update_diff = float(np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(after_one, after_mirrored)))
                        / np.sqrt(sum(np.sum((a - s) ** 2) for a, s in zip(after_one, start))))
    print(json.dumps({"loss_one": loss_one, "loss_mirrored": loss_mirrored, "rows": len(batch["Input-Token"]),
                      "weights_close": weights_close, "update_rel_diff": update_diff}))


if __name__ == "__main__":
    main()
