"""The training loop every track shares: schedules, batches, steps under a tf.distribute strategy,
dev scoring with best-weights saving, and step-level resume points that survive kills.

A track builds a training model whose loss is in `model.losses` (add_loss, with
the global-batch normalisation of common.losses), a `Batches` of its examples and
an `evaluate()` returning dev metrics, then calls `Trainer(...).fit()`.

Kills and preemption: a resume point (weights, optimizer, learning-rate step,
dropout counters, position in the epoch, the epochs' records) is committed
atomically every `save_every` minutes, at the end of every epoch, and when
SIGTERM or SIGINT arrives (the current step finishes first). metrics.jsonl is
rewritten from the committed records, so it never holds a torn or repeated epoch.
`fit(resume=True)` continues from the committed step with the batches an
uninterrupted run would have seen.
"""
import json
import math
import os
import random
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from tqdm import tqdm

from common.distribute import exchange, first_error, own_rows, replica_slices
from common.env import keras, tf
from common.files import link_atomically, read_json, save_atomically, write_json, write_text
from common.losses import global_sum
from common.model_dir import METRICS, RESUME, RESUME_STATE, SNAPSHOTS, WEIGHTS, best_epochs, snapshot_file
from common.options import SCHEDULES, StrategyError, TrainingError
from bert4keras.snippets import sequence_padding

def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


class Schedule(keras.optimizers.schedules.LearningRateSchedule):
    """The learning rate at each step: `constant`; `warmup-constant` (linear warm-up over
    `warmup_steps`, then `peak`); `warmup-linear` (warm-up, then linear decay to 0 at `total_steps`).

    Step 0 (the first update) already gets peak / warmup_steps, not 0.
    """

    def __init__(self, kind, peak, total_steps, warmup_steps):
        if kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {kind!r}; choose from {', '.join(SCHEDULES)}")
        self.kind, self.peak = kind, peak
        self.total_steps, self.warmup_steps = max(1, total_steps), max(1, warmup_steps)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        rate = tf.constant(1.0)
        if self.kind != "constant":
            rate = tf.minimum(rate, (step + 1) / self.warmup_steps)
        if self.kind == "warmup-linear":
            decay = (self.total_steps - step) / max(1, self.total_steps - self.warmup_steps)
            rate = tf.maximum(0.0, tf.minimum(rate, decay))
        return self.peak * rate

    def get_config(self):
        return {"kind": self.kind, "peak": self.peak, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps}


def make_optimizer(learning_rate, total_steps, schedule="warmup-linear", warmup=0.1, clip_norm=1.0,
                   loss_scale=False):
    """Adam on `schedule`; gradients (summed over replicas) clipped to global norm `clip_norm` (0: off);
    `loss_scale` wraps it in dynamic loss scaling (float16 training)."""
    optimizer = keras.optimizers.Adam(Schedule(schedule, learning_rate, total_steps, int(total_steps * warmup)),
                                      global_clipnorm=clip_norm or None)
    return keras.mixed_precision.LossScaleOptimizer(optimizer) if loss_scale else optimizer


def current_learning_rate(optimizer):
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    rate = inner.learning_rate  # the schedule, or (under a distribution strategy) the variable holding its value
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        rate = rate(inner.iterations)
    return float(tf.convert_to_tensor(rate).numpy())


_length_multiple = 1


def set_length_multiple(multiple):
    """Pad every batch to a multiple of `multiple` tokens (XLA compiles once per padded length)."""
    global _length_multiple
    _length_multiple = multiple


def padded_length(longest):
    """The length a batch whose longest example has `longest` tokens is padded to."""
    return -(-longest // _length_multiple) * _length_multiple


def pad_batch(sequences, dtype="int32", value=0):
    """Pad a list of arrays to the longest one of this batch (dynamic padding)."""
    return sequence_padding(sequences, length=padded_length(max(len(s) for s in sequences)),
                            value=value).astype(dtype)


class Batches:
    """An epoch's batches of examples, each padded to its own longest example.

    collate(list of examples) -> dict of numpy arrays keyed by the training model's input names.
    `length(example)` gives its token count. With `bucket=True`, examples of similar length
    share a batch (less padding). `resample(examples, rng)`, if given, draws the rows of each
    epoch from the examples (one sampled subject per sentence, a share of negative windows).
    Order and samples are functions of (seed, epoch), so a resumed run sees the batches an
    uninterrupted one would have.
    """

    def __init__(self, examples, batch_size, collate, length=len, shuffle=True, bucket=True, seed=0,
                 resample=None):
        self.examples, self.batch_size, self.collate, self.length = list(examples), batch_size, collate, length
        self.shuffle, self.bucket, self.seed, self.resample = shuffle, bucket, seed, resample
        self.set_epoch(0)

    def set_epoch(self, epoch):
        self.epoch, rng = epoch, np.random.default_rng([self.seed, epoch])
        self.rows = self.resample(self.examples, rng) if self.resample else self.examples
        self.lengths = np.array([self.length(e) for e in self.rows], int)
        order = rng.permutation(len(self.rows)) if self.shuffle else np.arange(len(self.rows))
        if self.bucket and len(order):  # sort by length inside chunks of 50 batches: similar lengths, still random
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
        return self.collate([self.rows[j] for j in self.batches[i]])

    def padding_share(self):
        """Share of padding tokens over one pass (for reports and benchmarks)."""
        real = sum(self.lengths[b].sum() for b in self.batches)
        padded = sum(len(b) * self.lengths[b].max() for b in self.batches)
        return 1 - real / padded if padded else 0.0


def _progress_enabled():
    return sys.stderr.isatty() or os.environ.get("PROGRESS") == "1"


def progress(iterable, desc, total=None):
    """tqdm on a terminal or when asked (PROGRESS=1); quiet in logs and tests."""
    return tqdm(iterable, desc=desc, total=total, disable=not _progress_enabled(), leave=False)


class StopRequests:
    """SIGTERM and SIGINT ask the loop to stop after the current step; a second SIGINT stops at once."""

    def __init__(self):
        self.signal = None
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal = signum
        print(f"\n{signal.Signals(signum).name}: stopping after this step (a resume point follows)",
              file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


class Trainer:
    """Epochs of steps, dev scoring after each, best weights kept, resume points committed atomically.

    model: training model (its inputs a dict, its loss in model.losses); optimizer: from make_optimizer;
    batches: Batches; evaluate() -> dict of dev metrics holding `key` (higher is better);
    on_best(metrics): called (on the chief) after the best weights so far are saved.
    snapshots: the count of best epochs whose weights are kept (common.model_dir.snapshot_paths), 1: the best.
    strategy: the tf.distribute strategy the model and optimizer were built under; only the
    chief (`chief=True`) writes files the user sees.
    """

    def __init__(self, model, optimizer, batches, epochs, evaluate, output_dir, key="f1", on_best=None,
                 strategy=None, chief=True, save_every=10.0, jit=False, ema=0.0, adversarial=None, adv_epsilon=1.0,
                 snapshots=1):
        self.model, self.optimizer, self.batches, self.epochs = model, optimizer, batches, epochs
        self.snapshots = snapshots
        self.evaluate, self.output_dir, self.key, self.on_best = evaluate, output_dir, key, on_best
        self.strategy = strategy or tf.distribute.get_strategy()
        self.chief, self.save_every = chief, save_every
        self.loss_scale = isinstance(optimizer, keras.mixed_precision.LossScaleOptimizer)
        self.average = self.adversarial = None
        if ema:
            from common.averaging import WeightAverage
            with self.strategy.scope():
                self.average = WeightAverage(model.trainable_variables, ema)
        if adversarial == "fgm":
            from common.adversarial import AdversarialEmbeddings
            self.adversarial = AdversarialEmbeddings(model, adv_epsilon)
        self.step_function = None  # traced at the first step, for any batch size and length
        self.replica_step = tf.function(self._replica_step, jit_compile=True) if jit else self._replica_step
        self.writer = tf.summary.create_file_writer(os.path.join(output_dir, "tensorboard")) if chief else None

    # ------------------------------------------------------------ one step

    def _gradients(self, inputs, variables):
        """(loss, its unscaled gradients) of one forward and backward pass."""
        with tf.GradientTape() as tape:
            self.model(inputs, training=True)
            loss = tf.add_n([tf.cast(part, tf.float32) for part in self.model.losses])
            scaled = self.optimizer.get_scaled_loss(loss) if self.loss_scale else loss
        gradients = tape.gradient(scaled, variables)
        return loss, self.optimizer.get_unscaled_gradients(gradients) if self.loss_scale else gradients

    def _replica_step(self, inputs, flags):
        variables = self.model.trainable_variables
        loss, gradients = self._gradients(inputs, variables)
        if self.adversarial:  # FGM: a second pass with the token embeddings perturbed along their gradient
            k = next(i for i, v in enumerate(variables) if v is self.adversarial.embeddings)
            self.adversarial.delta = self.adversarial.perturbation(gradients[k])
            _, second = self._gradients(inputs, variables)
            self.adversarial.delta = None
            gradients = [a if b is None else b if a is None else tf.convert_to_tensor(a) + tf.convert_to_tensor(b)
                         for a, b in zip(gradients, second)]
        self.optimizer.apply_gradients(zip(gradients, variables))  # sums over replicas, then clips
        return global_sum(tf.stack([loss, *tf.unstack(flags)]))  # the global loss and flags, on every replica

    def _distributed_step(self, inputs, flags, bounds):
        def replica_step(inputs, flags):  # every replica gets the global batch and trains on its rows of it
            return self.replica_step(own_rows(inputs, bounds), flags)

        values = self.strategy.experimental_local_results(self.strategy.run(replica_step, args=(inputs, flags)))
        if self.average:
            self.average.update()
        return values[0][0], values[0][1:]

    def step(self, batch, stop=False, save=False):
        """One optimizer step on one global batch: (loss, a worker asked to stop, a worker asked to save)."""
        n = self.strategy.num_replicas_in_sync
        if self.step_function is None:  # one signature with unknown sizes: traced once, whatever the batches
            with self.strategy.scope():  # slots made here, not in the step: a step that makes variables traces twice
                self.optimizer.build(self.model.trainable_variables)
            signature = ({k: tf.TensorSpec([None] * np.ndim(v), tf.as_dtype(np.asarray(v).dtype))
                          for k, v in batch.items()}, tf.TensorSpec([2], tf.float32), tf.TensorSpec([n + 1], tf.int32))
            self.step_function = tf.function(self._distributed_step, input_signature=signature)
        slices = replica_slices(len(next(iter(batch.values()))), n)
        bounds = tf.constant([s.start for s in slices] + [slices[-1].stop], tf.int32)
        flags = tf.constant([float(stop), float(save)])
        loss, flags = self.step_function({k: tf.convert_to_tensor(v) for k, v in batch.items()}, flags, bounds)
        flags = flags.numpy()
        return float(loss), bool(flags[0] > 0), bool(flags[1] > 0)

    # ------------------------------------------------------------ resume points

    def _checkpoint(self):
        if self.average:
            return tf.train.Checkpoint(model=self.model, optimizer=self.optimizer, average=self.average.shadow)
        return tf.train.Checkpoint(model=self.model, optimizer=self.optimizer)

    def save_resume_point(self, state):
        """Write the checkpoint under a new name, then commit state.json naming it (atomic rename)."""
        directory = os.path.join(self.output_dir, RESUME)
        state = dict(state, saves=state.get("saves", 0) + 1)
        name = f"ckpt-{state['saves']}"
        if self.chief:
            os.makedirs(directory, exist_ok=True)
            self._checkpoint().write(os.path.join(directory, name))
            write_json(os.path.join(self.output_dir, RESUME_STATE), dict(state, checkpoint=name))
            for other in os.listdir(directory):  # earlier checkpoints (and one torn by a kill)
                if other.startswith("ckpt-") and not other.startswith(name + "."):
                    os.remove(os.path.join(directory, other))
        else:  # every worker takes part in writing; only the chief's copy is kept
            with tempfile.TemporaryDirectory() as tmp:
                self._checkpoint().write(os.path.join(tmp, name))
        return state

    def restore_resume_point(self):
        """The committed state (weights and optimizer restored), or None if there is none."""
        path = os.path.join(self.output_dir, RESUME_STATE)
        if not os.path.isfile(path):
            print(f"--resume: no resume point in {self.output_dir}; starting from the beginning", file=sys.stderr)
            return None
        state = read_json(path, "resume point")
        with self.strategy.scope():
            self.optimizer.build(self.model.trainable_variables)  # slots must exist to be restored
        self._checkpoint().read(os.path.join(self.output_dir, RESUME, state["checkpoint"])).assert_consumed()
        print(f"--resume: continuing at epoch {state['epoch'] + 1}, step {state['step']} "
              f"(best dev {self.key} so far {state['best']:.4f})", flush=True)
        return state

    # ------------------------------------------------------------ epochs

    def fit(self, resume=False):
        """Train to the last epoch; returns the best epoch's record (as in metrics.jsonl)."""
        state = self.restore_resume_point() if resume else None
        state = state or {"epoch": 0, "step": 0, "loss_sum": 0.0, "loss_steps": 0, "best": -math.inf,
                          "best_epoch": 0, "history": [], "seconds": 0.0}
        starts = {tuple(m["start"]) for m in exchange(self.strategy, {"start": [state["epoch"], state["step"]]})}
        if len(starts) > 1:  # a worker that cannot read the chief's resume point would train other steps
            raise StrategyError(f"the workers would start from different points (epoch, step) {sorted(starts)}: "
                                f"--resume needs {self.output_dir} to be one directory every worker reads")
        if self.chief:  # the committed records only: no torn or repeated line from an earlier run
            self._write_metrics(state["history"])
        if state["epoch"] >= self.epochs:
            print(f"all {self.epochs} epochs already done in {self.output_dir}")
        started, first_epoch = time.time(), state["epoch"]
        with StopRequests() as stops, ThreadPoolExecutor(1) as prefetch:
            for epoch in range(first_epoch, self.epochs):
                self.batches.set_epoch(epoch)
                state = self._train_epoch(epoch, state, stops, prefetch)
                state = self._end_epoch(epoch, state)
        if first_epoch < self.epochs:
            print(f"trained in {time.time() - started:.0f}s; model directory: {self.output_dir}", flush=True)
        history = state["history"]
        return max(history, key=lambda r: r[f"dev_{self.key}"]) if history else None

    def _train_epoch(self, epoch, state, stops, prefetch):
        n, first = len(self.batches), state["step"]
        last_save, epoch_started = time.monotonic(), time.monotonic()
        bar = tqdm(total=n, initial=first, desc=f"epoch {epoch + 1}/{self.epochs}", disable=not _progress_enabled(),
                   leave=False)
        upcoming = prefetch.submit(self.batches.__getitem__, first) if first < n else None
        for i in range(first, n):
            batch = upcoming.result()
            upcoming = prefetch.submit(self.batches.__getitem__, i + 1) if i + 1 < n else None
            save_due = time.monotonic() - last_save >= 60 * self.save_every
            loss, stop, save = self.step(batch, stop=stops.signal is not None, save=save_due)
            if not math.isfinite(loss):
                raise TrainingError(f"the training loss is {loss} at epoch {epoch + 1}, step {i + 1}; lower "
                                    "--learning-rate, keep --clip-norm on, or train in --precision fp32")
            state.update(step=i + 1, loss_sum=state["loss_sum"] + loss, loss_steps=state["loss_steps"] + 1)
            bar.update(1)
            bar.set_postfix(loss=f"{state['loss_sum'] / state['loss_steps']:.4f}")
            if stop or save:
                state["seconds"] = state.get("seconds", 0.0) + time.monotonic() - epoch_started
                epoch_started = time.monotonic()
                state = self.save_resume_point(state)
                last_save = time.monotonic()
            if stop:
                bar.close()
                name = signal.Signals(stops.signal).name if stops.signal else "another worker stopped"
                print(f"stopped ({name}) at epoch {epoch + 1}, step {i + 1}/{n}; resume point saved in "
                      f"{os.path.join(self.output_dir, RESUME)}: run the same command with --resume to continue",
                      file=sys.stderr, flush=True)
                sys.exit(128 + (stops.signal or signal.SIGTERM))
        bar.close()
        state["seconds"] = state.get("seconds", 0.0) + time.monotonic() - epoch_started
        return state

    def _end_epoch(self, epoch, state):
        raw = self.average.swap_in() if self.average else None  # --ema: dev scores the averaged weights
        try:  # every worker scores dev; the chief saves. A worker that fails here tells the others why
            metrics = self.evaluate()
            score = float(metrics[self.key])
            improved = score > state["best"]
            best_weights = os.path.join(self.output_dir, WEIGHTS)
            if improved and self.chief:
                save_atomically(best_weights, self.model.save_weights, suffix=".weights.h5")
                if self.on_best:
                    self.on_best(metrics)
            ranked = state["history"] + [{"epoch": epoch + 1, f"dev_{self.key}": score}]
            if self.snapshots > 1 and self.chief and epoch + 1 in best_epochs(ranked, self.snapshots,
                                                                              f"dev_{self.key}"):
                kept = snapshot_file(self.output_dir, epoch + 1)
                if improved:  # the best epoch's weights are on disk already: link them rather than write them again
                    link_atomically(best_weights, kept)
                else:
                    save_atomically(kept, self.model.save_weights, suffix=".weights.h5")
            failure = None
        except Exception as e:
            failure = e
        if raw is not None:
            self.average.swap_out(raw)
        reason = first_error(exchange(self.strategy, {"error": failure and f"{type(failure).__name__}: {failure}"}))
        if failure:
            raise failure
        if reason:
            raise StrategyError(f"stopped because {reason}")
        record = {"epoch": epoch + 1, "loss": state["loss_sum"] / max(1, state["loss_steps"]),
                  "learning_rate": current_learning_rate(self.optimizer), "train_seconds": round(state["seconds"], 1),
                  **{f"dev_{k}": v for k, v in metrics.items()}, "best": improved}
        history = state["history"] + [record]
        state = dict(state, epoch=epoch + 1, step=0, loss_sum=0.0, loss_steps=0, history=history, seconds=0.0,
                     best=max(state["best"], score), best_epoch=epoch + 1 if improved else state["best_epoch"])
        state = self.save_resume_point(state)
        if self.chief:
            self._write_metrics(history)
            self._drop_snapshots(history)
            with self.writer.as_default():
                for k, v in record.items():
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "epoch":
                        tf.summary.scalar(k, float(v), step=epoch + 1)
                self.writer.flush()
        shown = ", ".join(f"{k} {v}" for k, v in metrics.items())
        print(f"epoch {epoch + 1}: loss {record['loss']:.4f}, dev {shown}"
              f"{'  (best so far, saved)' if improved else ''}", flush=True)
        return state

    def _drop_snapshots(self, history):
        """Remove the kept weights of epochs no longer among the best (once the records saying so are committed;
        a kill in between leaves one file more, removed at the next epoch's end)."""
        directory = os.path.join(self.output_dir, SNAPSHOTS)
        if self.snapshots < 2 or not os.path.isdir(directory):
            return
        kept = {os.path.basename(snapshot_file(self.output_dir, e))
                for e in best_epochs(history, self.snapshots, f"dev_{self.key}")}
        for name in os.listdir(directory):
            if name not in kept:
                os.remove(os.path.join(directory, name))

    def _write_metrics(self, history):
        write_text(os.path.join(self.output_dir, METRICS),
                   "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in history))
