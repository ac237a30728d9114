"""What the benchmarks share: the BERT-base shape, timing, a track's model and data built from its public
API (TrackBench), the 2020 way's fixed padding and span search, and running a track's train.py."""
import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time

import numpy as np

from tools.tracks import track

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "outputs", "bench")
SCHEMAS = os.path.join(ROOT, "synthetic", "resources")

BASE = {"vocab_size": 21128, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
        "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 2,
        "initializer_range": 0.02}



def argument_parser(module_name, doc):
    """The parser of the benchmark module `module_name`, its usage line as the benchmark is run."""
    return argparse.ArgumentParser(prog=f"python -m benchmarks {module_name.rsplit('.', 1)[-1]}", description=doc,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def base_bert_files(tiny_dir, out_dir):
    """A BERT-base-shaped config beside the tiny vocabulary; its weights stay random (never loaded)."""
    from common.bert import BertFiles

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(tiny_dir, "bert_config.json"), encoding="utf-8") as f:
        config = dict(BASE, vocab_size=json.load(f)["vocab_size"])
    config_path = os.path.join(out_dir, "bert_config.json")
    with open(config_path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    return BertFiles(config_path, None, os.path.join(tiny_dir, "vocab.txt"))


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def sparse_head(layer, features, rng, positive=0.02):
    """Random sigmoid-head weights that fire at about `positive` of the positions in `features`
    (what the layer sees on real inputs), as a trained pointer head does. A fresh head fires at
    about half of them, and a deep random BERT gives all positions of a text nearly the same
    vector, so the weights act on the part of `features` that varies between positions."""
    kernel, bias = layer.get_weights()
    x = features.reshape(-1, features.shape[-1])
    centered = x - x.mean(0)
    w = rng.normal(size=kernel.shape)
    logits = centered @ w
    w /= logits.std(0, keepdims=True) + 1e-12
    b = -np.quantile(centered @ w, 1 - positive, axis=0) - x.mean(0) @ w
    layer.set_weights([w.astype("float32"), b.astype("float32")])


# ---------------------------------------------------------------- one track, one model

class TrackBench:
    """A track's training model, Predictor and training rows, made through its contract (common/track.py)."""

    def __init__(self, name, data_dir, bert_files, maxlen, seed=0, head=None, recompute=False):
        from common.bert import build_bert
        from common.data import find_data_files
        from common.tokenization import load_tokenizer
        from common.track import track_args

        self.track, self.maxlen, self.head = name, maxlen, head
        t = track(name)
        self.tokenizer = load_tokenizer(bert_files.vocab)
        options = dict(maxlen=maxlen, seed=seed, recompute=recompute, **({"head": head} if head else {}))
        with contextlib.redirect_stdout(io.StringIO()):  # the data summary
            data = t.prepare(track_args(t, **options), find_data_files(t.FILES, data_dir), self.tokenizer, bert_files)
        bert = build_bert(bert_files, load_weights=bert_files.checkpoint is not None, recompute=recompute)
        self.encoder_weights = bert.model.weights
        self.model, self.base_predictor = t.build(data.config, bert, self.tokenizer)
        self.examples, self.collate, self.length = data.rows, data.collate, data.length
        self.inputs = t.inputs(data.dev)
        if name == "relation_extraction":
            self._sparse_heads(*self.base_predictor.models[0], np.random.default_rng(seed))

    def predictor(self, batch_size, run=None):
        """The Predictor at `batch_size`, its models called through `run` (default: traced functions)."""
        from common.ensemble import with_run

        return with_run(self.base_predictor, run, batch_size)

    def _sparse_heads(self, encoder, object_head, rng):
        from common.env import keras
        from common.training import pad_batch

        ids = pad_batch([self.tokenizer.encode(t, maxlen=self.maxlen)[0] for t in self.inputs[:32]])
        inputs = [ids, np.zeros_like(ids)]
        subject = encoder.get_layer("subject")
        sparse_head(subject, keras.Model(encoder.inputs, subject.input).predict(inputs, verbose=0), rng)
        hidden = encoder.predict(inputs, verbose=0)[0]
        lengths = (ids > 0).sum(1)
        starts = rng.integers(1, lengths - 1)
        subjects = np.stack([starts, np.minimum(starts + 2, lengths - 2)], 1).astype("int32")
        objects = object_head.get_layer("objects")
        sparse_head(objects, keras.Model(object_head.inputs, objects.input).predict([hidden, subjects], verbose=0),
                    rng)

    # ------------------------------------------------------------ prediction

    def predict(self, n_examples, batch_size=32):
        """Batched Predictor against one example per call, through our traced function and through
        Keras's model.predict (what the 2020 code called per example); outputs must agree."""
        inputs = self.inputs[:n_examples]
        batched = self.predictor(batch_size)
        # one example per call: a huge batch size holds all windows of one text (and all its subjects) in one call
        traced = self.predictor(10 ** 6)
        keras_predict = self.predictor(10 ** 6, run=lambda m: (lambda x: m.predict(x, verbose=0)))
        if self.track == "reading_comprehension":
            traced.span_search = keras_predict.span_search = naive_best_spans
        batched.predict(inputs[:batch_size]), traced.predict(inputs[:2]), keras_predict.predict(inputs[:2])  # trace
        result = {"examples": len(inputs)}
        fast, fast_time = timed(lambda: batched.predict(inputs))
        result["batched_per_s"] = len(inputs) / fast_time
        for name, predictor in (("one_at_a_time", traced), ("one_at_a_time_keras_predict", keras_predict)):
            slow, slow_time = timed(lambda: [predictor.predict([x]) for x in inputs])
            if self.track == "reading_comprehension":
                slow = {k: v for answers in slow for k, v in answers.items()}
                same = sum(fast[q.id] == slow[q.id] for q in inputs)
            else:
                same = sum(a == b[0] for a, b in zip(fast, slow))
            result.update({f"{name}_per_s": len(inputs) / slow_time, f"speedup_vs_{name}": slow_time / fast_time,
                           f"identical_to_{name}": f"{same}/{len(inputs)}"})
        return result

    # ------------------------------------------------------------ training

    def trainer(self, batches, learning_rate=1e-4, loss_scale=False, jit=False, strategy=None, **tricks):
        """A Trainer of this bench's training model (no directory written) for timing steps."""
        import tempfile
        from common.env import tf
        from common.training import Trainer, make_optimizer

        with (strategy or tf.distribute.get_strategy()).scope():
            optimizer = make_optimizer(learning_rate, 10 ** 6, loss_scale=loss_scale)
        return Trainer(self.model, optimizer, batches, 1, None, tempfile.mkdtemp(prefix="bench-"), chief=False,
                       jit=jit, strategy=strategy, **tricks)

    def train(self, batch_size, steps=None):
        """Tokens/s and padding share, dynamic padding with buckets against fixed padding to maxlen."""
        from common.training import Batches

        weights = self.model.get_weights()
        results = {}
        for mode in ("bucketed", "fixed"):
            self.model.set_weights(weights)
            collate = self.collate if mode == "bucketed" else fixed_padding(self.collate, self.length, self.maxlen)
            batches = Batches(self.examples, batch_size, collate, length=self.length, bucket=mode == "bucketed")
            n = min(steps or len(batches), len(batches))
            trainer = self.trainer(batches)
            for i in range(min(3, n)):  # trace
                trainer.step(batches[i])
            _, seconds = timed(lambda: [trainer.step(batches[i]) for i in range(n)])
            chosen = batches.batches[:n]
            real = sum(batches.lengths[b].sum() for b in chosen)
            padded = sum(len(b) * (batches.lengths[b].max() if mode == "bucketed" else self.maxlen) for b in chosen)
            results[mode] = {"steps": n, "tokens_per_s": real / seconds, "padding_share": 1 - real / padded}
        results["speedup"] = results["bucketed"]["tokens_per_s"] / results["fixed"]["tokens_per_s"]
        return results


def fixed_padding(collate, length, maxlen):
    """`collate`, with every (batch, length, ...) array padded on to `maxlen` (the 2020 way)."""
    from common.env import tf

    def pad(array, n):
        if not isinstance(array, np.ndarray) or array.ndim < 2 or array.shape[1] != n:
            return array
        return np.pad(array, [(0, 0), (0, maxlen - n)] + [(0, 0)] * (array.ndim - 2))

    def padded(batch):
        n = max(length(e) for e in batch)
        return tf.nest.map_structure(lambda a: pad(a, n), collate(batch))
    return padded


# ---------------------------------------------------------------- decoding alone

def naive_best_spans(start_scores, end_scores, max_answer_len):
    """The 2020 double loop over start and end positions (reference for the vectorized band)."""
    starts, ends, scores = [], [], []
    for start_row, end_row in zip(start_scores, end_scores):
        best = (0, 0, -np.inf)
        for i in range(len(start_row)):
            for j in range(i, min(len(start_row), i + max_answer_len)):
                if start_row[i] + end_row[j] > best[2]:
                    best = (i, j, start_row[i] + end_row[j])
        starts.append(best[0]), ends.append(best[1]), scores.append(best[2])
    return np.array(starts), np.array(ends), np.array(scores)


def train(track, data_dir, bert_dir, model_dir, settings, extra=(), timeout=None):
    """Run `track`'s train.py into `model_dir` with `settings` (option name -> value) and `extra`
    arguments, replacing what the directory held; its per-epoch records."""
    from common.model_dir import read_metrics

    command = [sys.executable, f"{track}/train.py", "--data-dir", data_dir, "--bert-dir", bert_dir,
               "--output-dir", model_dir, "--overwrite"]
    for key, value in settings.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    command += list(extra)
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return read_metrics(model_dir)


