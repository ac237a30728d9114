"""Event extraction heads side by side (trigger, span, CRF, MEMM): training and prediction speed, memory.

    python -m benchmarks heads [--models tiny base] [--rounds 5]

speed:   training tokens/s and prediction examples/s of each head, same encoder weights and data,
         the heads timed in turns (one step or one prediction pass each per round, median over rounds)
memory:  activation memory per example of a training step with the real DuEE schema (217 classes)
         at maxlen 256: the slope of a fresh process's peak memory over batch size
What each head learns is measured by `python -m benchmarks learning`. Results: outputs/bench/heads.json.
"""
import argparse
import json
import os
import resource
import subprocess
import sys

import numpy as np

from benchmarks.helpers import BASE, OUT, ROOT, SCHEMAS, TrackBench, argument_parser, base_bert_files, timed
from event_extraction.heads import HEADS
from pipeline import embedded_default

TRACK = "event_extraction"


def speed(bert_files, data_dir, maxlen, rounds, batch_size, n_predict, log=print):
    from common.training import Batches

    benches = {head: TrackBench(TRACK, data_dir, bert_files, maxlen, head=head) for head in HEADS}
    first = benches[next(iter(HEADS))]
    for bench in benches.values():  # the same encoder weights under every head
        for w, v in zip(bench.encoder_weights, first.encoder_weights):
            w.assign(v)
    batches = {head: Batches(b.examples, batch_size, b.collate, length=b.length, seed=0) for head, b in benches.items()}
    trainers = {head: benches[head].trainer(batches[head]) for head in HEADS}
    for head, trainer in trainers.items():
        for i in range(rounds):
            trainer.step(batches[head][i])  # trace every length
    times, tokens = {h: [] for h in HEADS}, {h: [] for h in HEADS}
    for i in range(rounds):
        for head, trainer in trainers.items():
            tokens[head].append(int((batches[head][i]["Input-Token"] > 0).sum()))
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
        results[head] = {"train_tokens_per_s": float(np.median(np.array(tokens[head]) / np.array(times[head]))),
                         "predict_examples_per_s": float(len(inputs) / np.median(predict_times[head]))}
        log(f"  {head:7s} train {results[head]['train_tokens_per_s']:8.0f} tok/s  "
            f"predict {results[head]['predict_examples_per_s']:7.1f} ex/s")
    return results


def measure_memory(head, batch_size, maxlen, config_dir):
    """Peak resident memory of training steps (fresh process): the real DuEE schema, random batches."""
    from common.bert import BertFiles, build_bert
    from common.data import read_json_lines
    from common.training import Trainer, make_optimizer
    from common.windows import Window
    from event_extraction import events
    from event_extraction.track import Config

    config = Config(maxlen=maxlen, head=head, max_span_len=32, priors=[1e-5] * 3,
                    schema=[obj for _, obj in read_json_lines(os.path.join(SCHEMAS, "duee1_schema.json"))])
    classes, head_of = config.classes(), HEADS[head]
    bert_config = os.path.join(config_dir, "bert_config.json")
    with open(bert_config, encoding="utf-8") as f:
        vocab_size = json.load(f)["vocab_size"]
    model = head_of.build(build_bert(BertFiles(bert_config, None, None), load_weights=False), classes, config).train
    rng = np.random.default_rng(0)
    examples = []
    for _ in range(batch_size):  # an event every 40 tokens: its trigger, then 3 arguments
        ids = [2] + rng.integers(5, vocab_size, maxlen - 2).tolist() + [3]
        spans, event_spans = [], {}
        for s in range(5, maxlen - 40, 40):
            t = int(rng.integers(len(classes.types)))
            arguments = [(int(rng.choice(classes.type_classes[t])), s + 4 + 8 * k, s + 8 + 8 * k) for k in range(3)]
            event_spans[(t, s, s + 1)] = arguments
            spans += arguments
        tags, _ = events.tag_sequence(maxlen - 2, [(c, f - 1, l - 1) for c, f, l in spans])
        examples.append(events.Example(ids, spans, np.concatenate([[0], tags, [0]]).astype("int32"),
                                       Window(0, maxlen - 2, maxlen - 2), event_spans))
    trainer = Trainer(model, make_optimizer(1e-5, 100), None, 1, None, "/tmp", chief=False)
    batch = head_of.collate(head_of.rows(examples)[:batch_size], classes, config)
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
        log(f"  {head:7s} {rows[head]['activation_mib_per_example']:.1f} MiB per example")
    return rows


def main(argv=None):
    from common.bert import BertFiles

    p = argument_parser(__name__, __doc__)
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    p.add_argument("--parts", nargs="+", choices=["speed", "memory"], default=["speed", "memory"])
    p.add_argument("--models", nargs="+", choices=["tiny", "base"], default=["tiny", "base"])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--maxlen", type=int, default=128)
    p.add_argument("--predict-examples", type=int, default=64)
    p.add_argument("--memory-maxlen", type=int, default=256)
    p.add_argument("--memory-batch-sizes", type=int, nargs="+", default=None,
                   help="default 8 12 16: a peak that building the model does not hide (the CRF's 435 tags "
                        "need about 0.75 GiB per example at maxlen 256)")
    p.add_argument("--out", default=OUT)
    args = p.parse_args(argv)
    if args.child:
        head, batch, maxlen, config_dir = args.child
        print(json.dumps(measure_memory(head, int(batch), int(maxlen), config_dir)))
        return
    sample, tiny = embedded_default(os.path.join(ROOT, "outputs"))
    files = {"tiny": BertFiles.from_dir(tiny), "base": base_bert_files(tiny, os.path.join(args.out, "base_bert"))}
    path = os.path.join(args.out, "heads.json")
    results = {"speed": {}, "memory": {}}
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
        sizes = args.memory_batch_sizes or [8, 12, 16]
        results["memory"][model] = memory(config_dir, sizes, args.memory_maxlen)
    os.makedirs(args.out, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print(f"written: {path}")


if __name__ == "__main__":
    main()
