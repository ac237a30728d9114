"""Speed against the 2020 way of working, measured side by side in one run.

    python -m benchmarks speed [predict] [train] [decode] [strategy] [tricks] [--models tiny base] [--tracks ...]

predict: examples/s of each track's batched Predictor against one example per
    call (the 2020 loop: one model call per example, for relation extraction one
    more per sentence for its objects, for reading comprehension the double
    Python loop over start and end); same weights and inputs, outputs compared.
train:   real tokens/s of training with dynamic padding and length-bucketed
    batches against fixed padding to maxlen, and the padding share of each.
decode:  RC span search and EE Viterbi on 512-token inputs against naive loops.
strategy: a training step on one device against MirroredStrategy over that same device.
tricks: a training step without tricks against one with --ema 0.999 and one with --adversarial fgm.
Models: "tiny" is the embedded default's tiny BERT, "base" a randomly initialized
BERT-base shape (12 layers, hidden 768). Results: outputs/bench/bench.json.
"""
import json
import os
import platform
import sys

import numpy as np

from benchmarks.helpers import OUT, ROOT, SCHEMAS, TrackBench, argument_parser, base_bert_files, naive_best_spans, timed
from tools.tracks import NAMES as TRACKS
from pipeline import embedded_default



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


def bench_tricks(track, data_dir, bert_files, maxlen, batch_size, rounds=5):
    """Step time without tricks, with --ema and with --adversarial fgm: one model each, the same starting weights
    and batches, timed in turns."""
    from common.training import Batches

    modes = {"plain": {}, "ema": {"ema": 0.999}, "fgm": {"adversarial": "fgm"}}
    benches = {name: TrackBench(track, data_dir, bert_files, maxlen) for name in modes}
    start = benches["plain"].model.get_weights()
    batches = Batches(benches["plain"].examples, batch_size, benches["plain"].collate, length=benches["plain"].length,
                      seed=0)
    trainers = {}
    for name, options in modes.items():
        benches[name].model.set_weights(start)
        trainers[name] = benches[name].trainer(batches, **options)
        for i in range(rounds):
            trainers[name].step(batches[i])  # trace every length
    times = {name: [] for name in trainers}
    for i in range(rounds):
        for name, trainer in trainers.items():
            times[name].append(timed(lambda: trainer.step(batches[i]))[1])
    result = {name: float(np.median(t)) for name, t in times.items()}
    result.update({f"{name}_overhead": result[name] / result["plain"] - 1 for name in ("ema", "fgm")})
    return result


def bench_decoding(length=512, rows=16, max_answer_len=64, seed=0):
    from bert4keras.snippets import ViterbiDecoder

    from event_extraction import duee, events
    from event_extraction.decoding import viterbi
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

    classes = events.Classes.from_schema(duee.load_schema(os.path.join(SCHEMAS, "duee1_schema.json")))
    allowed = classes.allowed_transitions()
    trans = rng.normal(size=(classes.n_tags, classes.n_tags)).astype("float32")
    emissions = rng.normal(size=(rows, length, classes.n_tags)).astype("float32")
    (paths, _), fast_time = timed(lambda: viterbi(emissions, np.full(rows, length), trans, allowed))
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
    for model, tracks in results.get("tricks", {}).items():
        for track, r in tracks.items():
            print(f"tricks   {model:4s} {track:22s} step {r['plain'] * 1000:7.1f} ms; --ema {r['ema'] * 1000:7.1f} ms "
                  f"({r['ema_overhead']:+.1%}); --adversarial fgm {r['fgm'] * 1000:7.1f} ms ({r['fgm_overhead']:+.1%})")


def main(argv=None):
    p = argument_parser(__name__, __doc__)
    p.add_argument("parts", nargs="*", help="predict, train, decode, strategy, tricks (default: all)")
    p.add_argument("--models", nargs="+", choices=["tiny", "base"], default=["tiny", "base"])
    p.add_argument("--tracks", nargs="+", choices=TRACKS, default=list(TRACKS))
    p.add_argument("--data", action="append", default=[], metavar="TRACK=DIR", help="a track's data directory")
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--examples", type=int, default=150, help="prediction examples, tiny model")
    p.add_argument("--base-examples", type=int, default=40, help="prediction examples, base-shaped model")
    p.add_argument("--batch-size", type=int, default=16, help="training batch size")
    p.add_argument("--base-train-steps", type=int, default=6, help="timed training steps, base-shaped model")
    p.add_argument("--out", default=OUT)
    args = p.parse_args(argv)
    known = {"predict", "train", "decode", "strategy", "tricks"}
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
            if not {"predict", "train", "strategy", "tricks"} & set(parts):
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
            if "tricks" in parts:
                results.setdefault("tricks", {}).setdefault(model, {})[track] = bench_tricks(
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
