"""Benchmarks against the 2020 way of working, measured side by side in one run.

    python -m common.bench [predict] [train] [decode] [--models tiny base] [--tracks ...] [--data TRACK=DIR]
    python -m common.bench recompute [--budget-gb 16]     (see common.bench_recompute)
    python -m common.bench learning [--regimes ...]      (see common.bench_learning)
    python -m common.bench precision [--models base]     (see common.bench_precision)
    python -m common.bench heads [--models tiny base]    (see common.bench_heads)

predict: examples/s of each track's batched Predictor against one example per
    call (the 2020 loop: one model call per example, for relation extraction one
    more per sentence for its objects, for reading comprehension the double
    Python loop over start and end); same weights and inputs, outputs compared.
train:   real tokens/s of training with dynamic padding and length-bucketed
    batches against fixed padding to maxlen, and the padding share of each.
decode:  RC span search and EE Viterbi on 512-token inputs against naive loops.
strategy: a training step on one device against MirroredStrategy over that same device.
Models: "tiny" is the embedded default's tiny BERT, "base" a randomly initialized
BERT-base shape (12 layers, hidden 768). Results: outputs/bench/bench.json.
"""
import argparse
import json
import os
import platform
import sys
import time

import numpy as np

from common import env  # noqa: F401  (prepares TensorFlow before anything imports it)
from common import bench_recompute
from common.pipeline import ROOT, TRACKS, embedded_default



def base_bert_files(tiny_dir, out_dir):
    """A BERT-base-shaped config beside the tiny vocabulary; its weights stay random (never loaded)."""
    from common.bert import BertFiles

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(tiny_dir, "bert_config.json"), encoding="utf-8") as f:
        config = dict(bench_recompute.BASE, vocab_size=json.load(f)["vocab_size"])
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
    """A track's model, predictor factory and training examples, built from its public API."""

    def __init__(self, track, data_dir, bert_files, maxlen, seed=0, head=None, recompute=False):
        from common.bert import build_bert
        from common.tokenization import load_tokenizer

        self.track, self.maxlen, self.head = track, maxlen, head
        self.tokenizer = load_tokenizer(bert_files.vocab)
        bert = build_bert(bert_files, load_weights=bert_files.checkpoint is not None, recompute=recompute)
        getattr(self, "_setup_" + track)(data_dir, bert, np.random.default_rng(seed))

    def _setup_relation_extraction(self, data_dir, bert, rng):
        from common.data import find_data_files, load_duie, load_duie_schema
        from relation_extraction import spo

        files = find_data_files(self.track, data_dir)
        labels = spo.Labels.from_schema(load_duie_schema(files["schema"]))
        train, dev = load_duie(files["train"], report=False), load_duie(files["dev"], report=False)
        self.examples = spo.training_rows([ex for s in train for ex in spo.make_examples(
            self.tokenizer, s, labels, self.maxlen)])
        self.model, encoder, object_head = spo.build_models(bert, len(labels.pairs),
                                                            priors=spo.priors(self.examples, len(labels.pairs)))
        self.inputs = [s["text"] for s in dev]
        self._sparse_heads(encoder, object_head, rng)
        self.predictor = lambda batch_size: spo.Predictor(self.tokenizer, encoder, object_head, labels,
                                                          self.maxlen, batch_size=batch_size)
        self.model_calls = {"encoder": encoder, "object_head": object_head}  # Predictor attribute -> model
        self.length = lambda row: len(row[0].token_ids)
        self.collate = lambda rows: spo.collate(rows, len(labels.pairs))

    def _setup_event_extraction(self, data_dir, bert, rng):
        from common.data import find_data_files, load_duee, load_duee_schema
        from event_extraction import events

        files = find_data_files(self.track, data_dir)
        schema = load_duee_schema(files["schema"])
        classes = events.Classes.from_schema(schema)
        train, dev = load_duee(files["train"], schema, report=False), load_duee(files["dev"], report=False)
        self.examples = [ex for s in train for ex in events.make_examples(self.tokenizer, s, classes, self.maxlen)[0]]
        head = self.head or "span"
        max_span_len, max_spans = events.span_limits(self.examples)
        self.model, predict_model, transitions = events.build_model(
            bert, classes, head, max_span_len=max_span_len,
            prior=events.span_prior(self.examples, len(classes), max_span_len))
        self.inputs = [s["text"] for s in dev]
        self.predictor = lambda batch_size: events.Predictor(self.tokenizer, predict_model, classes, head, self.maxlen,
                                                             batch_size=batch_size, transitions=transitions,
                                                             max_span_len=max_span_len, max_spans=max_spans)
        self.model_calls = {"model": predict_model}
        self.length, self.collate = lambda e: len(e.token_ids), lambda b: events.collate(b, head)

    def _setup_reading_comprehension(self, data_dir, bert, rng):
        from common.data import find_data_files, load_dureader
        from reading_comprehension import spans

        files = find_data_files(self.track, data_dir)
        self.model, predict_model = spans.build_model(bert)
        train, dev = load_dureader(files["train"], report=False), load_dureader(files["dev"], report=False)
        self.inputs = dev
        self.predictor = lambda batch_size, search=spans.best_spans: spans.Predictor(
            self.tokenizer, predict_model, self.maxlen, batch_size=batch_size, span_search=search)
        self.model_calls = {"model": predict_model}
        self.examples = [w for q in train if q.found
                         for w in spans.encode_question(self.tokenizer, q, 64, self.maxlen)[1] if w.start > 0]
        self.length, self.collate = lambda w: len(w.token_ids), spans.collate

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
        search = {"search": naive_best_spans} if self.track == "reading_comprehension" else {}
        batched = self.predictor(batch_size)
        # one example per call: a huge batch size holds all windows of one text (and all its subjects) in one call
        traced, keras_predict = self.predictor(10 ** 6, **search), self.predictor(10 ** 6, **search)
        for name, model in self.model_calls.items():
            setattr(keras_predict, name, lambda x, m=model: m.predict(x, verbose=0))
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

    def trainer(self, batches, learning_rate=1e-4, loss_scale=False, jit=False, strategy=None):
        """A Trainer of this bench's training model (no directory written) for timing steps."""
        import tempfile
        from common.env import tf
        from common.training import Trainer, make_optimizer

        with (strategy or tf.distribute.get_strategy()).scope():
            optimizer = make_optimizer(learning_rate, 10 ** 6, loss_scale=loss_scale)
        return Trainer(self.model, optimizer, batches, 1, None, tempfile.mkdtemp(prefix="bench-"), chief=False,
                       jit=jit, strategy=strategy)

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


def bench_strategy(track, data_dir, bert_files, maxlen, batch_size, rounds=5):
    """Step time on one device against MirroredStrategy over that one device (the strategy's own cost),
    same weights and batches, timed in turns."""
    from common.env import tf
    from common.training import Batches

    mirrored = tf.distribute.MirroredStrategy(devices=[tf.config.list_logical_devices("CPU")[0].name])
    one = TrackBench(track, data_dir, bert_files, maxlen)
    with mirrored.scope():
        replicated = TrackBench(track, data_dir, bert_files, maxlen)
    replicated.model.set_weights(one.model.get_weights())
    batches = Batches(one.examples, batch_size, one.collate, length=one.length, seed=0)
    trainers = {"one": one.trainer(batches), "mirrored_1_device": replicated.trainer(batches, strategy=mirrored)}
    for trainer in trainers.values():
        for i in range(rounds):
            trainer.step(batches[i])  # trace every length
    times = {name: [] for name in trainers}
    for i in range(rounds):
        for name, trainer in trainers.items():
            times[name].append(timed(lambda: trainer.step(batches[i]))[1])
    result = {name: float(np.median(t)) for name, t in times.items()}
    result["overhead"] = result["mirrored_1_device"] / result["one"] - 1
    return result


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


def bench_decoding(length=512, rows=16, max_answer_len=64, seed=0):
    from bert4keras.snippets import ViterbiDecoder

    from common.data import load_duee_schema
    from event_extraction import events
    from reading_comprehension import spans

    rng = np.random.default_rng(seed)
    start, end = rng.normal(size=(2, rows, length)).astype("float32")  # log-probabilities are float32
    (fast, fast_time), (slow, slow_time) = (timed(lambda: spans.best_spans(start, end, max_answer_len)),
                                            timed(lambda: naive_best_spans(start, end, max_answer_len)))
    results = {"rc_span_search": {"windows": rows, "tokens": length, "max_answer_len": max_answer_len,
                                  "vectorized_ms_per_window": 1000 * fast_time / rows,
                                  "double_loop_ms_per_window": 1000 * slow_time / rows,
                                  "speedup": slow_time / fast_time,
                                  "identical": bool((fast[0] == slow[0]).all() and (fast[1] == slow[1]).all())}}

    classes = events.Classes.from_schema(load_duee_schema(os.path.join(ROOT, "common", "resources",
                                                                        "duee1_schema.json")))
    allowed = classes.allowed_transitions()
    trans = rng.normal(size=(classes.n_tags, classes.n_tags)).astype("float32")
    emissions = rng.normal(size=(rows, length, classes.n_tags)).astype("float32")
    (paths, _), fast_time = timed(lambda: events.viterbi(emissions, np.full(rows, length), trans, allowed))
    decoder = ViterbiDecoder(np.where(allowed, trans, -1e12), starts=[0])
    reference, slow_time = timed(lambda: [decoder.decode(e.copy()) for e in emissions])
    results["ee_viterbi"] = {"sequences": rows, "tokens": length, "tags": classes.n_tags,
                             "vectorized_ms_per_sequence": 1000 * fast_time / rows,
                             "bert4keras_ms_per_sequence": 1000 * slow_time / rows,
                             "speedup": slow_time / fast_time,
                             "identical": bool(all((p == r).all() for p, r in zip(paths, reference)))}
    return results


# ---------------------------------------------------------------- report

def print_table(results):
    for model, tracks in results.get("predict", {}).items():
        for track, r in tracks.items():
            print(f"predict  {model:4s} {track:22s} batched {r['batched_per_s']:7.1f}/s | one at a time: traced "
                  f"{r['one_at_a_time_per_s']:6.1f}/s x{r['speedup_vs_one_at_a_time']:.1f}, model.predict "
                  f"{r['one_at_a_time_keras_predict_per_s']:6.1f}/s x{r['speedup_vs_one_at_a_time_keras_predict']:.1f}"
                  f" | identical {r['identical_to_one_at_a_time']}, {r['identical_to_one_at_a_time_keras_predict']}")
    for model, tracks in results.get("train", {}).items():
        for track, r in tracks.items():
            b, f = r["bucketed"], r["fixed"]
            print(f"train    {model:4s} {track:22s} bucketed {b['tokens_per_s']:8.0f} tok/s (padding "
                  f"{b['padding_share']:.1%})  fixed {f['tokens_per_s']:8.0f} tok/s (padding "
                  f"{f['padding_share']:.1%})  x{r['speedup']:.2f}")
    for model, tracks in results.get("strategy", {}).items():
        for track, r in tracks.items():
            print(f"strategy {model:4s} {track:22s} one device {r['one'] * 1000:7.1f} ms/step, MirroredStrategy over "
                  f"the same device {r['mirrored_1_device'] * 1000:7.1f} ms/step ({r['overhead']:+.1%})")
    for name, r in results.get("decode", {}).items():
        times = [f"{k} {v:.2f}" for k, v in r.items() if k.endswith("_ms_per_window") or k.endswith("_ms_per_sequence")]
        print(f"decode   {name:27s} {'  '.join(times)}  x{r['speedup']:.1f}  identical {r['identical']}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["recompute"]:
        return bench_recompute.main(argv[1:])
    if argv[:1] == ["learning"]:
        from common import bench_learning
        return bench_learning.main(argv[1:])
    if argv[:1] == ["precision"]:
        from common import bench_precision
        return bench_precision.main(argv[1:])
    if argv[:1] == ["heads"]:
        from common import bench_heads
        return bench_heads.main(argv[1:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("parts", nargs="*", help="predict, train, decode, strategy (default: all four)")
    p.add_argument("--models", nargs="+", choices=["tiny", "base"], default=["tiny", "base"])
    p.add_argument("--tracks", nargs="+", choices=TRACKS, default=list(TRACKS))
    p.add_argument("--data", action="append", default=[], metavar="TRACK=DIR", help="a track's data directory")
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--examples", type=int, default=150, help="prediction examples, tiny model")
    p.add_argument("--base-examples", type=int, default=40, help="prediction examples, base-shaped model")
    p.add_argument("--batch-size", type=int, default=16, help="training batch size")
    p.add_argument("--base-train-steps", type=int, default=6, help="timed training steps, base-shaped model")
    p.add_argument("--out", default=os.path.join(ROOT, "outputs", "bench"))
    args = p.parse_args(argv)
    known = {"predict", "train", "decode", "strategy"}
    parts = args.parts or sorted(known)
    if set(parts) - known:
        p.error(f"unknown part(s) {sorted(set(parts) - known)}; choose from {', '.join(sorted(known))}, "
                "or one of recompute, learning, precision, heads alone")
    data_dirs = dict(d.split("=", 1) for d in args.data)
    sample, tiny = embedded_default(os.path.join(ROOT, "outputs"))
    from common.bert import BertFiles
    bert_files = {"tiny": BertFiles.from_dir(tiny), "base": base_bert_files(tiny, os.path.join(args.out, "base_bert"))}
    path = os.path.join(args.out, "bench.json")
    results = {}
    if os.path.isfile(path):  # parts not run this time keep their earlier results
        with open(path, encoding="utf-8") as f:
            results = json.load(f)
    results.update({"machine": {"platform": platform.platform(), "processor": platform.processor(),
                                "cpus": os.cpu_count(), "python": platform.python_version()},
                    "settings": vars(args)})
    for model in args.models:
        for track in args.tracks:
            if not {"predict", "train", "strategy"} & set(parts):
                break
            print(f"[{model}] {track}", file=sys.stderr, flush=True)
            bench = TrackBench(track, data_dirs.get(track, os.path.join(sample, track)), bert_files[model],
                               args.maxlen)
            if "predict" in parts:
                n = args.examples if model == "tiny" else args.base_examples
                results.setdefault("predict", {}).setdefault(model, {})[track] = bench.predict(n)
            if "train" in parts:
                results.setdefault("train", {}).setdefault(model, {})[track] = bench.train(
                    args.batch_size, None if model == "tiny" else args.base_train_steps)
            if "strategy" in parts:
                results.setdefault("strategy", {}).setdefault(model, {})[track] = bench_strategy(
                    track, data_dirs.get(track, os.path.join(sample, track)), bert_files[model], args.maxlen,
                    args.batch_size if model == "tiny" else 4)
    if "decode" in parts:
        results["decode"] = bench_decoding()
    os.makedirs(args.out, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print_table(results)
    print(f"written: {path}")


if __name__ == "__main__":
    main()
