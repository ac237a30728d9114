"""Event extraction heads side by side: span against CRF (and MEMM), speed, memory and dev F1.

    python -m benchmarks heads [--models tiny base] [--rounds 5] [--quality-epochs 6]

speed:   training tokens/s and prediction examples/s of each head, same encoder weights and data,
         the heads timed in turns (one step or one prediction pass each per round, median over rounds)
memory:  activation memory per example of a training step with the real DuEE schema (217 classes)
         at maxlen 256: the slope of a fresh process's peak memory over batch size
quality: dev F1 of each head trained on the sample data and on the hard data (overlapping
         arguments, common.hard_data), same seed and epochs
Results: outputs/bench/heads.json.
"""
import argparse
import json
import os
import resource
import subprocess
import sys

import numpy as np

from common import env  # noqa: F401
from benchmarks.helpers import BASE, OUT, ROOT, SCHEMAS, TrackBench, base_bert_files, timed, train
from pipeline import TINY_SETTINGS, embedded_default

HEADS = ("span", "crf", "memm")
TRACK = "event_extraction"


def speed(bert_files, data_dir, maxlen, rounds, batch_size, n_predict, log=print):
    from common.training import Batches

    benches = {head: TrackBench(TRACK, data_dir, bert_files, maxlen, head=head) for head in HEADS}
    encoder = [w for w in benches["span"].model.weights if not w.name.startswith(("span", "emissions", "crf", "memm"))]
    values = [w.numpy() for w in encoder]
    for bench in benches.values():  # the same encoder weights under every head
        names = {w.name: w for w in bench.model.weights}
        for w, v in zip(encoder, values):
            names[w.name].assign(v)
    first = benches["span"]
    batches = {head: Batches(b.examples, batch_size, b.collate, length=b.length, seed=0) for head, b in benches.items()}
    trainers = {head: benches[head].trainer(batches[head]) for head in HEADS}
    for head, trainer in trainers.items():
        for i in range(rounds):
            trainer.step(batches[head][i])  # trace every length
    times, tokens = {h: [] for h in HEADS}, []
    for i in range(rounds):
        tokens.append(int((batches["span"][i]["Input-Token"] > 0).sum()))
        for head, trainer in trainers.items():
            _, seconds = timed(lambda: trainer.step(batches[head][i]))
            times[head].append(seconds)
    predictors = {head: b.predictor(32) for head, b in benches.items()}
    inputs = first.inputs[:n_predict]
    for p in predictors.values():
        p.predict(inputs[:32])
    predict_times = {h: [] for h in HEADS}
    for _ in range(max(2, rounds // 2)):
        for head, p in predictors.items():
            _, seconds = timed(lambda: p.predict(inputs))
            predict_times[head].append(seconds)
    results = {}
    for head in HEADS:
        results[head] = {"train_tokens_per_s": float(np.mean(tokens) / np.median(times[head])),
                         "predict_examples_per_s": float(len(inputs) / np.median(predict_times[head]))}
        log(f"  {head:5s} train {results[head]['train_tokens_per_s']:8.0f} tok/s  "
            f"predict {results[head]['predict_examples_per_s']:7.1f} ex/s")
    return results


def measure_memory(head, batch_size, maxlen, config_dir):
    """Peak resident memory of training steps (fresh process): the real DuEE schema, random batches."""
    from common.bert import BertFiles, build_bert
    from common.data import load_duee_schema
    from common.training import Trainer, make_optimizer
    from event_extraction import events

    classes = events.Classes.from_schema(load_duee_schema(os.path.join(SCHEMAS, "duee1_schema.json")))
    config = os.path.join(config_dir, "bert_config.json")
    with open(config, encoding="utf-8") as f:
        vocab_size = json.load(f)["vocab_size"]
    model = events.build_model(build_bert(BertFiles(config, None, None), load_weights=False), classes, head,
                               max_span_len=32, prior=1e-5)[0]
    rng = np.random.default_rng(0)
    examples = []
    for _ in range(batch_size):
        ids = [2] + rng.integers(5, vocab_size, maxlen - 2).tolist() + [3]
        spans = [(int(rng.integers(len(classes))), s, s + int(rng.integers(1, 6))) for s in range(5, maxlen - 10, 40)]
        tags, _ = events.tag_sequence(maxlen - 2, [(c, f - 1, l - 1) for c, f, l in spans])
        examples.append(events.Example(ids, spans, np.concatenate([[0], tags, [0]]).astype("int32"), False, False))
    trainer = Trainer(model, make_optimizer(1e-5, 100), None, 1, None, "/tmp", chief=False)
    batch = events.collate(examples, head)
    trainer.step(batch)
    trainer.step(batch)
    return {"head": head, "batch_size": batch_size, "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def memory(config_dir, batch_sizes, maxlen, log=print):
    rows = {}
    for head in HEADS:
        points = []
        for b in batch_sizes:
            command = [sys.executable, "-m", "benchmarks.heads", "--child", head, str(b), str(maxlen), config_dir]
            result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
            points.append((b, json.loads(result.stdout.strip().splitlines()[-1])["peak_bytes"]))
        slope = float(np.polyfit(*np.array(points, float).T, 1)[0])
        rows[head] = {"points": points, "activation_mib_per_example": slope / 2 ** 20}
        log(f"  {head:5s} {rows[head]['activation_mib_per_example']:.1f} MiB per example")
    return rows


def quality(data_dir, bert_dir, epochs, out, settings, label):

    scores = {}
    for head in HEADS:
        model_dir = os.path.join(out, "heads_quality", label, head)
        records = train(TRACK, data_dir, bert_dir, model_dir, dict(settings, epochs=epochs), ["--head", head])
        best = max(records, key=lambda r: r["dev_f1"])
        scores[head] = {"dev_f1": best["dev_f1"], "dev_recall": best["dev_recall"], "epoch": best["epoch"]}
        print(f"  {label} {head:5s} dev F1 {best['dev_f1']:.4f} (recall {best['dev_recall']:.4f})", flush=True)
    return scores


def main(argv=None):
    from common.bert import BertFiles
    from synthetic.hard_data import write_hard_data

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    p.add_argument("--parts", nargs="+", choices=["speed", "memory", "quality"], default=["speed", "memory", "quality"])
    p.add_argument("--models", nargs="+", choices=["tiny", "base"], default=["tiny", "base"])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--predict-examples", type=int, default=64)
    p.add_argument("--memory-maxlen", type=int, default=256)
    p.add_argument("--memory-batch-sizes", type=int, nargs="+", default=None,
                   help="default: 8 16 32 for the tiny model, 8 12 16 for the base-shaped one (a peak that "
                        "building the model does not hide)")
    p.add_argument("--quality-epochs", type=int, default=6, help="0: skip the dev F1 comparison")
    p.add_argument("--out", default=OUT)
    args = p.parse_args(argv)
    if args.child:
        head, batch, maxlen, config_dir = args.child
        print(json.dumps(measure_memory(head, int(batch), int(maxlen), config_dir)))
        return
    sample, tiny = embedded_default(os.path.join(ROOT, "outputs"))
    files = {"tiny": BertFiles.from_dir(tiny), "base": base_bert_files(tiny, os.path.join(args.out, "base_bert"))}
    path = os.path.join(args.out, "heads.json")
    results = {"speed": {}, "memory": {}, "quality": {}}
    if os.path.isfile(path):  # parts not run this time keep their earlier results
        with open(path, encoding="utf-8") as f:
            results.update(json.load(f))
    results["settings"] = vars(args)
    for model in args.models:
        if "speed" in args.parts:
            print(f"[{model}] speed", flush=True)
            results["speed"][model] = speed(files[model], os.path.join(sample, TRACK), args.maxlen, args.rounds,
                                            args.batch_size if model == "tiny" else 4, args.predict_examples)
        if "memory" not in args.parts:
            continue
        config_dir = os.path.dirname(files[model].config)
        if model == "base":
            config_dir = os.path.join(args.out, "heads_base_config")
            os.makedirs(config_dir, exist_ok=True)
            with open(os.path.join(config_dir, "bert_config.json"), "w", encoding="utf-8") as f:
                json.dump(BASE, f)
        print(f"[{model}] memory (maxlen {args.memory_maxlen}, real schema)", flush=True)
        sizes = args.memory_batch_sizes or ([8, 16, 32] if model == "tiny" else [8, 12, 16])
        results["memory"][model] = memory(config_dir, sizes, args.memory_maxlen)
    if "quality" in args.parts and args.quality_epochs:
        hard = os.path.join(args.out, "learning", "data")
        if not os.path.isdir(os.path.join(hard, TRACK)):
            write_hard_data(hard)
        print("quality", flush=True)
        settings = dict(TINY_SETTINGS[TRACK])
        results["quality"]["sample"] = quality(os.path.join(sample, TRACK), tiny, args.quality_epochs, args.out,
                                               settings, "sample")
        hard_bert = os.path.join(args.out, "learning", "tiny_bert")
        results["quality"]["hard"] = quality(os.path.join(hard, TRACK), hard_bert if os.path.isdir(hard_bert) else tiny,
                                             args.quality_epochs, args.out, settings, "hard")
    os.makedirs(args.out, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print(f"written: {path}")


if __name__ == "__main__":
    main()
