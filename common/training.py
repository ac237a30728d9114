"""Training helpers shared by the tracks: seeding, optimizer, batching, dev scoring, resume."""
import json
import math
import os
import random
import sys
import time

import numpy as np
from tqdm import tqdm

from common.env import tf, keras
from bert4keras.snippets import sequence_padding


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak` over `warmup_steps`, then linear decay to 0 at `total_steps`.

    Step 0 (the first update) already gets peak / warmup_steps, not 0.
    """

    def __init__(self, peak, total_steps, warmup_steps):
        self.peak, self.total_steps, self.warmup_steps = peak, max(1, total_steps), max(1, warmup_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warm = (step + 1) / self.warmup_steps
        decay = (self.total_steps - step) / max(1, self.total_steps - self.warmup_steps)
        return self.peak * tf.maximum(0.0, tf.minimum(warm, decay))

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps}


def make_optimizer(learning_rate, total_steps, warmup_ratio=0.1):
    """Adam with linear warm-up and decay, gradients clipped to norm 1 (as BERT fine-tuning does)."""
    schedule = WarmupLinearDecay(learning_rate, total_steps, int(total_steps * warmup_ratio))
    return keras.optimizers.Adam(schedule, global_clipnorm=1.0)


def pad_batch(sequences, dtype="int32", value=0):
    """Pad a list of arrays to the longest one of this batch (dynamic padding)."""
    return sequence_padding(sequences, value=value).astype(dtype)


class Batches(keras.utils.Sequence):
    """Batches of examples padded to their own longest example.

    examples: anything with a length; `length(example)` gives its token count.
    collate(list of examples) -> what model.fit takes for one batch ((inputs,) or (inputs, targets)).
    With `bucket=True`, examples of similar length share a batch (less padding);
    batches are shuffled every epoch, the order a function of (seed, epoch) so
    that a resumed run sees the batches an uninterrupted one would have.
    """

    def __init__(self, examples, batch_size, collate, length=len, shuffle=True, bucket=True, seed=0):
        super().__init__()
        self.examples, self.batch_size, self.collate = list(examples), batch_size, collate
        self.lengths = np.array([length(e) for e in self.examples])
        self.shuffle, self.bucket, self.seed = shuffle, bucket, seed
        self.set_epoch(0)

    def on_epoch_end(self):
        self.set_epoch(self.epoch + 1)

    def set_epoch(self, epoch):
        self.epoch, rng = epoch, np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.examples)) if self.shuffle else np.arange(len(self.examples))
        if self.bucket:  # sort by length inside chunks of 50 batches: similar lengths, still random
            chunk = self.batch_size * 50
            order = np.concatenate([c[np.argsort(self.lengths[c], kind="stable")]
                                    for c in np.array_split(order, max(1, math.ceil(len(order) / chunk)))])
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.shuffle:
            rng.shuffle(batches)
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return self.collate([self.examples[j] for j in self.batches[i]])

    def padding_share(self):
        """Share of padding tokens over one pass (for reports and benchmarks)."""
        real = sum(self.lengths[b].sum() for b in self.batches)
        padded = sum(len(b) * self.lengths[b].max() for b in self.batches)
        return 1 - real / padded if padded else 0.0


def progress(iterable, desc, total=None):
    """tqdm on a terminal or when asked (PROGRESS=1); quiet in logs and tests."""
    disable = not (sys.stderr.isatty() or os.environ.get("PROGRESS") == "1")
    return tqdm(iterable, desc=desc, total=total, disable=disable, leave=False)


class DevEvaluator(keras.callbacks.Callback):
    """After every epoch: score dev, keep the best weights, log, and save a resume point.

    evaluate() -> dict of metrics that holds `key` (higher is better).
    In output_dir: model.weights.h5 (best epoch), metrics.jsonl, tensorboard/,
    and resume/ (weights, optimizer state and epoch of the last finished epoch).
    """

    def __init__(self, evaluate, output_dir, key="f1", on_best=None):
        super().__init__()
        self.evaluate, self.output_dir, self.key, self.on_best = evaluate, output_dir, key, on_best
        self.best = -math.inf
        self.writer = tf.summary.create_file_writer(os.path.join(output_dir, "tensorboard"))

    def on_epoch_end(self, epoch, logs=None):
        metrics = self.evaluate()
        score = float(metrics[self.key])
        improved = score > self.best
        if improved:
            self.best = score
            self.model.save_weights(os.path.join(self.output_dir, "model.weights.h5"))
            if self.on_best:
                self.on_best(metrics)
        record = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()},
                  **{f"dev_{k}": v for k, v in metrics.items()}, "best": improved}
        with open(os.path.join(self.output_dir, "metrics.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        with self.writer.as_default():
            for k, v in record.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "epoch":
                    tf.summary.scalar(k, float(v), step=epoch + 1)
        shown = ", ".join(f"{k} {v}" for k, v in metrics.items())
        print(f"epoch {epoch + 1}: dev {shown}{'  (best so far, saved)' if improved else ''}", flush=True)
        save_resume_point(self.model, self.output_dir, epoch + 1, self.best)


def _resume_dir(output_dir):
    return os.path.join(output_dir, "resume")


def read_resume_state(output_dir):
    path = os.path.join(_resume_dir(output_dir), "state.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save_resume_point(model, output_dir, epochs_done, best):
    directory = _resume_dir(output_dir)
    os.makedirs(directory, exist_ok=True)
    tf.train.Checkpoint(model=model, optimizer=model.optimizer).write(os.path.join(directory, "last"))
    with open(os.path.join(directory, "state.json"), "w", encoding="utf-8") as f:
        json.dump({"epochs_done": epochs_done, "best": best}, f)


def restore_resume_point(model, output_dir):
    """Restore weights and optimizer state of the last finished epoch; returns its state (None if none)."""
    state = read_resume_state(output_dir)
    if not state:
        print(f"--resume: no resume point in {output_dir}; starting from epoch 1", file=sys.stderr)
        return None
    model.optimizer.build(model.trainable_variables)  # create slots so they can be restored
    tf.train.Checkpoint(model=model, optimizer=model.optimizer).read(
        os.path.join(_resume_dir(output_dir), "last")).assert_consumed()
    print(f"--resume: continuing after epoch {state['epochs_done']} (best dev {state['best']:.4f})")
    return state


def fit(model, batches, epochs, evaluator, output_dir, resume=False):
    """model.fit with dev scoring after every epoch and, with `resume`, from the last finished epoch.

    Returns the metrics record (metrics.jsonl) of the best epoch.
    """
    state = restore_resume_point(model, output_dir) if resume else None
    initial_epoch = state["epochs_done"] if state else 0
    if state:
        evaluator.best = state["best"]
        batches.set_epoch(initial_epoch)
    else:  # a fresh run: forget an earlier run's log and resume point
        for path in (os.path.join(output_dir, "metrics.jsonl"), os.path.join(_resume_dir(output_dir), "state.json")):
            if os.path.exists(path):
                os.remove(path)
    if initial_epoch >= epochs:
        print(f"all {epochs} epochs already done in {output_dir}")
    else:
        started = time.time()
        # shuffle=False: Batches shuffles itself, reproducibly per epoch
        model.fit(batches, epochs=epochs, initial_epoch=initial_epoch, callbacks=[evaluator], shuffle=False,
                  verbose=1 if sys.stdout.isatty() else 2)
        print(f"trained in {time.time() - started:.0f}s; model directory: {output_dir}")
    with open(os.path.join(output_dir, "metrics.jsonl"), encoding="utf-8") as f:
        return max((json.loads(line) for line in f), key=lambda r: r[f"dev_{evaluator.key}"])
