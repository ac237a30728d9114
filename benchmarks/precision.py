"""fp32 against bf16 and fp16 mixed precision (and XLA), side by side in one process, same weights and data.

    python -m benchmarks precision [--parts speed quality] [--models base tiny] [--tracks ...] [--rounds 5]
                                     [--quality-epochs 12]

For each track and precision: training tokens/s and prediction examples/s (the
modes timed in turns, one step or one prediction pass of each per round, the
median over rounds: a loaded 2-core machine swings single timings by 2x), and
model FLOPs utilisation: the model's FLOPs per second over the peak of a large
matmul of the same precision measured in the same run. `jit` rows compile the
training step with XLA. Quality: dev F1 of the sample after the same training
(same seed, same epochs) in fp32 and in bf16. Results: outputs/bench/precision.json.
"""
import json
import os
import platform
import time

import numpy as np

from benchmarks.helpers import OUT, ROOT, TrackBench, argument_parser, base_bert_files, timed, train
from tools.tracks import NAMES as TRACKS
from pipeline import TINY_SETTINGS, embedded_default

MODES = {"fp32": ("fp32", False), "bf16": ("bf16", False), "fp16": ("fp16", False),
         "fp32+jit": ("fp32", True), "bf16+jit": ("bf16", True)}
DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def matmul_peak(precision, n=2048, repeats=5):
    """FLOP/s of an n x n matmul in `precision` (the best of `repeats`)."""
    from common.env import tf

    dtype = getattr(tf, DTYPES[precision])
    a = tf.random.normal((n, n), dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)
    matmul = tf.function(lambda x, y: tf.matmul(x, y))
    matmul(a, b).numpy()
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - started)
    return 2 * n ** 3 / best


def encoder_flops(config, tokens, length):
    """Forward FLOPs of the BERT encoder on `tokens` tokens of padded `length` (projections, feed-forward,
    attention scores and sums; the embeddings and heads are left out)."""
    h, i, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    return tokens * layers * (8 * h * h + 4 * h * i + 4 * length * h)


def measure_track(track, data_dir, bert_files, maxlen, rounds, batch_size, n_predict, modes, log=print):
    """{mode: {train_tokens_per_s, predict_examples_per_s, train_mfu, predict_mfu}} for one track."""
    from common.precision import set_precision
    from common.training import Batches, set_length_multiple

    config = bert_files.read_config()
    benches = {}
    for mode in modes:
        precision, jit = MODES[mode]
        set_precision(precision)
        benches[mode] = TrackBench(track, data_dir, bert_files, maxlen, head="span" if track == "event_extraction"
                                   else None)
    set_precision("fp32")
    weights = benches[modes[0]].model.get_weights()
    for b in benches.values():
        b.model.set_weights(weights)  # the same weights in every mode
    first = benches[modes[0]]
    set_length_multiple(32)  # the same padded lengths for every mode (XLA needs buckets)
    batches = Batches(first.examples, batch_size, first.collate, length=first.length, seed=0)
    steps = [batches[i] for i in range(min(rounds, len(batches)))]
    trainers = {mode: benches[mode].trainer(batches, jit=MODES[mode][1],
                                            loss_scale=MODES[mode][0] == "fp16") for mode in modes}
    for mode, trainer in trainers.items():
        for batch in steps:
            trainer.step(batch)  # trace, and compile every padded length XLA will see
    train_times = {mode: [] for mode in modes}
    tokens = []
    for batch in steps:
        ids = batch["Input-Token"]
        tokens.append(((ids > 0).sum(), ids.size, ids.shape[1]))
        for mode, trainer in trainers.items():
            _, seconds = timed(lambda: trainer.step(batch))
            train_times[mode].append(seconds)
    set_length_multiple(1)
    predictors = {mode: benches[mode].predictor(32) for mode in modes if not MODES[mode][1]}
    inputs = first.inputs[:n_predict]
    for p in predictors.values():
        p.predict(inputs[:32])  # trace
    predict_times = {mode: [] for mode in predictors}
    for _ in range(max(2, rounds // 2)):
        for mode, p in predictors.items():
            _, seconds = timed(lambda: p.predict(inputs))
            predict_times[mode].append(seconds)
    # FLOPs of a prediction pass: the encoder over every window, as the predictor pads them
    predict_flops = encoder_flops(config, *prediction_tokens(first, inputs))
    results = {}
    for mode in modes:
        real = np.mean([t[0] for t in tokens])
        step = float(np.median(train_times[mode]))
        flops = 3 * np.mean([encoder_flops(config, t[1], t[2]) for t in tokens])  # forward + backward
        entry = {"train_tokens_per_s": real / step, "train_step_seconds": step, "train_flops_per_s": flops / step}
        if mode in predict_times:
            seconds = float(np.median(predict_times[mode]))
            entry.update(predict_examples_per_s=len(inputs) / seconds, predict_flops_per_s=predict_flops / seconds)
        results[mode] = entry
        log(f"  {track} {mode:9s} train {entry['train_tokens_per_s']:8.0f} tok/s"
            + (f"  predict {entry['predict_examples_per_s']:7.1f} ex/s" if mode in predict_times else ""))
    return results


def prediction_tokens(bench, inputs):
    """(padded tokens, mean padded length) of the windows a Predictor runs for `inputs`, batches of 32."""
    from common.tokenization import tokenize
    from common.windows import split_windows

    lengths = []
    for x in inputs:
        if bench.track == "reading_comprehension":
            from reading_comprehension.spans import encode_question
            lengths += [len(w.token_ids) for w in encode_question(bench.tokenizer, x, 64, bench.maxlen)[1]]
        else:
            n = len(tokenize(bench.tokenizer, x).ids)
            lengths += [w.end - w.start + 2 for w in split_windows(n, bench.maxlen - 2)]
    padded = sum(len(chunk) * max(chunk) for chunk in (lengths[i:i + 32] for i in range(0, len(lengths), 32)))
    return padded, float(np.mean(lengths))


def quality(track, sample, tiny, epochs, out):
    """Dev F1 after the same training in fp32 and in bf16 (tiny BERT, sample data, same seed)."""

    scores = {}
    for precision in ("fp32", "bf16"):
        model_dir = os.path.join(out, "quality", track, precision)
        records = train(track, os.path.join(sample, track), tiny, model_dir,
                        dict(TINY_SETTINGS[track], epochs=epochs), ["--precision", precision])
        scores[precision] = max(r["dev_f1"] for r in records)
    return scores


def main(argv=None):

    p = argument_parser(__name__, __doc__)
    p.add_argument("--parts", nargs="+", choices=["speed", "quality"], default=["speed", "quality"])
    p.add_argument("--models", nargs="+", choices=["tiny", "base"], default=["base"])
    p.add_argument("--tracks", nargs="+", choices=TRACKS, default=list(TRACKS))
    p.add_argument("--modes", nargs="+", choices=[m for m in MODES if "jit" not in m], default=["fp32", "bf16", "fp16"])
    p.add_argument("--jit-tracks", nargs="*", choices=TRACKS, default=["relation_extraction"],
                   help="tracks also timed with XLA (fp32+jit, bf16+jit); compiling a base model takes minutes")
    p.add_argument("--rounds", type=int, default=5, help="timed steps of each mode, in turns")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--predict-examples", type=int, default=48)
    p.add_argument("--quality-epochs", type=int, default=12, help="0: skip the dev F1 comparison")
    p.add_argument("--out", default=OUT)
    args = p.parse_args(argv)
    from common.bert import BertFiles
    from common.precision import native_bf16
    sample, tiny = embedded_default(os.path.join(ROOT, "outputs"))
    files = {"tiny": BertFiles.from_dir(tiny), "base": base_bert_files(tiny, os.path.join(args.out, "base_bert"))}
    native, why = native_bf16()
    path = os.path.join(args.out, "precision.json")
    results = {"speed": {}, "quality": {}, "peak_flops_per_s": {}}
    if os.path.isfile(path):  # parts not run this time keep their earlier results
        with open(path, encoding="utf-8") as f:
            results.update(json.load(f))
    results.update({"machine": {"platform": platform.platform(), "processor": platform.processor(),
                                "cpus": os.cpu_count(), "native_bf16": native, "why": why},
                    "settings": vars(args)})
    if "speed" in args.parts:
        for precision in ("fp32", "bf16", "fp16"):
            results["peak_flops_per_s"][precision] = matmul_peak(precision)
            print(f"matmul peak {precision}: {results['peak_flops_per_s'][precision] / 1e9:.0f} GFLOP/s", flush=True)
    for model in args.models if "speed" in args.parts else []:
        for track in args.tracks:
            print(f"[{model}] {track}", flush=True)
            modes = args.modes + (["fp32+jit", "bf16+jit"] if track in args.jit_tracks else [])
            speed = measure_track(track, os.path.join(sample, track), files[model], args.maxlen, args.rounds,
                                  args.batch_size, args.predict_examples, modes)
            import gc
            from common.env import keras
            keras.backend.clear_session()  # free this track's models before the next one's
            gc.collect()
            for mode, entry in speed.items():
                peak = results["peak_flops_per_s"][MODES[mode][0]]
                entry["train_mfu"] = entry["train_flops_per_s"] / peak
                if "predict_flops_per_s" in entry:
                    entry["predict_mfu"] = entry["predict_flops_per_s"] / peak
                base = speed[modes[0]]
                entry["train_speedup"] = entry["train_tokens_per_s"] / base["train_tokens_per_s"]
                if "predict_examples_per_s" in entry and "predict_examples_per_s" in base:
                    entry["predict_speedup"] = entry["predict_examples_per_s"] / base["predict_examples_per_s"]
            results["speed"].setdefault(model, {})[track] = speed
    if "quality" in args.parts and args.quality_epochs:
        for track in args.tracks:
            results["quality"][track] = quality(track, sample, tiny, args.quality_epochs, args.out)
            print(f"quality {track}: {results['quality'][track]}", flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print_table(results)
    print(f"written: {path}")


def print_table(results):
    print(f"\n{'model':5s} {'track':22s} {'mode':9s} {'train tok/s':>11s} {'x':>5s} {'MFU':>5s} "
          f"{'predict ex/s':>12s} {'x':>5s} {'MFU':>5s}")
    for model, tracks in results["speed"].items():
        for track, modes in tracks.items():
            for mode, e in modes.items():
                predict = (f"{e['predict_examples_per_s']:12.1f} {e.get('predict_speedup', 1):5.2f} "
                           f"{e['predict_mfu']:5.0%}") if "predict_mfu" in e else ""
                print(f"{model:5s} {track:22s} {mode:9s} {e['train_tokens_per_s']:11.0f} {e['train_speedup']:5.2f} "
                      f"{e['train_mfu']:5.0%} {predict}")
    for track, scores in results["quality"].items():
        print(f"quality {track}: dev F1 fp32 {scores['fp32']}, bf16 {scores['bf16']}")


if __name__ == "__main__":
    main()
