"""Memory and time of recompute modes on a BERT-base-shaped model, each configuration in a fresh process.

    python -m benchmarks recompute [--maxlens 256 512] [--batch-sizes 256:2,4,8 512:1,2,4] [--budget-gb 16]

For no recompute, bert4keras's per-layer recompute and block recompute it
measures peak memory (CPU: the process's peak resident set; GPU: TensorFlow's
peak device memory), the activation memory per example (the slope of peak
memory over batch size, which removes the fixed cost of weights, optimizer
state and runtime), train step time per example, the ratios against no
recompute, and the largest batch that fits a memory budget.
Results: outputs/bench/recompute.json.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

from benchmarks.helpers import BASE, OUT, ROOT, argument_parser

MODES = {"none": False, "layer": "layer", "block": "block"}

def gpu_peak_bytes():
    """Peak device memory of the first GPU since the last reset, or None without a GPU."""
    from common.env import tf
    if not tf.config.list_physical_devices("GPU"):
        return None
    return tf.config.experimental.get_memory_info("GPU:0")["peak"]


def training_model(mode, maxlen, batch_size, config_dir, precision="fp32"):
    """(model, x, y): the BERT of `config_dir` with a small head, compiled, and one random batch."""
    from common.bert import BertFiles, build_bert
    from common.env import keras, tf
    from common.precision import set_precision

    set_precision(precision)
    config = os.path.join(config_dir, "bert_config.json")
    with open(config, encoding="utf-8") as f:
        vocab_size = json.load(f)["vocab_size"]
    bert = build_bert(BertFiles(config, None, None), recompute=MODES[mode], load_weights=False)
    model = keras.Model(bert.model.inputs, keras.layers.Dense(2, dtype="float32", name="head")(bert.model.output))
    optimizer = keras.optimizers.Adam(1e-5)
    if precision == "fp16":
        optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, loss=lambda y, p: tf.reduce_mean(tf.square(p)))
    rng = np.random.default_rng(0)
    x = [rng.integers(1, vocab_size, (batch_size, maxlen)).astype("int32"), np.zeros((batch_size, maxlen), "int32")]
    return model, x, np.zeros((batch_size, maxlen, 2), "float32")


def measure_memory(mode, maxlen, batch_size, config_dir, precision="fp32"):
    """Peak memory of training steps in this (fresh) process."""
    from common.env import tf

    model, x, y = training_model(mode, maxlen, batch_size, config_dir, precision)
    model.train_on_batch(x, y)  # trace and create the optimizer state
    if tf.config.list_physical_devices("GPU"):
        tf.config.experimental.reset_memory_stats("GPU:0")
    model.train_on_batch(x, y)
    gpu = gpu_peak_bytes()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    return {"mode": mode, "maxlen": maxlen, "batch_size": batch_size,
            "peak_bytes": gpu if gpu is not None else peak_rss, "memory": "gpu" if gpu is not None else "cpu_rss"}


def measure_time(modes, maxlen, batch_size, rounds, config_dir, precision="fp32"):
    """Step time of every mode, measured in turns (one step of each mode per round) so that the
    machine's drifts hit all modes alike; the median per mode."""
    models = {mode: training_model(mode, maxlen, batch_size, config_dir, precision) for mode in modes}
    for model, x, y in models.values():
        model.train_on_batch(x, y)  # trace
    times = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode, (model, x, y) in models.items():
            started = time.perf_counter()
            model.train_on_batch(x, y)
            times[mode].append(time.perf_counter() - started)
    return [{"mode": mode, "maxlen": maxlen, "batch_size": batch_size, "step_seconds": float(np.median(t)),
             "seconds_per_example": float(np.median(t)) / batch_size} for mode, t in times.items()]


def run_child(precision, *args):
    command = [sys.executable, "-m", "benchmarks.recompute", "--precision", precision, "--child", *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def summarize(memory_rows, time_rows, budget_bytes):
    """Per (maxlen, mode): activation memory per example (slope of peak over batch size), time per
    example (at the largest batch), ratios against no recompute, and the largest batch in the budget."""
    summary = {}
    for maxlen in sorted({r["maxlen"] for r in memory_rows}):
        for mode in MODES:
            points = sorted((r["batch_size"], r["peak_bytes"]) for r in memory_rows
                            if r["maxlen"] == maxlen and r["mode"] == mode)
            if len(points) < 2:
                continue
            slope, intercept = np.polyfit(*np.array(points, float).T, 1)
            timed = [r for r in time_rows if r["maxlen"] == maxlen and r["mode"] == mode]
            summary[f"{maxlen}/{mode}"] = {
                "maxlen": maxlen, "mode": mode, "activation_mib_per_example": slope / 2 ** 20,
                "fixed_mib": intercept / 2 ** 20,
                "seconds_per_example": timed[0]["seconds_per_example"] if timed else None,
                "largest_batch_in_budget": int(np.floor((budget_bytes - intercept) / slope + 1e-6)) if slope > 0
                else None}
        base = summary.get(f"{maxlen}/none")
        for mode in ("layer", "block"):
            s = summary.get(f"{maxlen}/{mode}")
            if base and s:
                s["memory_saving_x"] = base["activation_mib_per_example"] / s["activation_mib_per_example"]
                if s["seconds_per_example"] and base["seconds_per_example"]:
                    s["time_overhead"] = s["seconds_per_example"] / base["seconds_per_example"] - 1
    return summary


def main(argv=None):
    p = argument_parser(__name__, __doc__)
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    p.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    p.add_argument("--batch-sizes", nargs="+", default=["256:2,4,8", "512:1,2,4"], metavar="MAXLEN:B,B,B",
                   help="batch sizes per maxlen (at least two each, for the slope); time is taken at the largest")
    p.add_argument("--rounds", type=int, default=4, help="timed steps per mode, taken in turns")
    p.add_argument("--budget-gb", type=float, default=16.0)
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    p.add_argument("--out", default=OUT)
    args = p.parse_args(argv)
    if args.child:  # memory MODE MAXLEN BATCH DIR | time MAXLEN BATCH ROUNDS DIR MODE...
        kind, rest = args.child[0], args.child[1:]
        if kind == "memory":
            result = measure_memory(rest[0], int(rest[1]), int(rest[2]), rest[3], args.precision)
        else:
            result = measure_time(rest[4:], int(rest[0]), int(rest[1]), int(rest[2]), rest[3], args.precision)
        print(json.dumps(result))
        return
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bert_config.json"), "w", encoding="utf-8") as f:
        json.dump(BASE, f, indent=2)
    memory_rows, time_rows = [], []
    for spec in args.batch_sizes:
        maxlen, sizes = spec.split(":")
        batches = [int(b) for b in sizes.split(",")]
        for batch in batches:
            for mode in args.modes:
                r = run_child(args.precision, "memory", mode, maxlen, batch, args.out)
                memory_rows.append(r)
                print(f"maxlen {r['maxlen']:4d} batch {r['batch_size']:3d} {r['mode']:6s} peak "
                      f"{r['peak_bytes'] / 2 ** 30:6.2f} GiB ({r['memory']})", flush=True)
        for r in run_child(args.precision, "time", maxlen, max(batches), args.rounds, args.out, *args.modes):
            time_rows.append(r)
            print(f"maxlen {r['maxlen']:4d} batch {r['batch_size']:3d} {r['mode']:6s} "
                  f"{r['step_seconds']:6.2f} s/step (median of {args.rounds}, modes in turns)", flush=True)
    summary = summarize(memory_rows, time_rows, args.budget_gb * 2 ** 30)
    print(f"\n{'maxlen/mode':14s} {'act MiB/ex':>10s} {'saving':>7s} {'s/ex':>7s} {'overhead':>8s} "
          f"{'batch in ' + str(args.budget_gb) + ' GB':>14s}")
    for key, s in summary.items():
        print(f"{key:14s} {s['activation_mib_per_example']:10.1f} {s.get('memory_saving_x', 1):6.1f}x "
              f"{s['seconds_per_example'] or float('nan'):7.3f} {s.get('time_overhead', 0):+8.1%} "
              f"{s['largest_batch_in_budget'] if s['largest_batch_in_budget'] is not None else '-':>14}")
    name = "recompute.json" if args.precision == "fp32" else f"recompute-{args.precision}.json"
    with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
        json.dump({"memory": memory_rows, "time": time_rows, "summary": summary, "settings": vars(args)}, f,
                  indent=2)
    print(f"written: {os.path.join(args.out, name)}")


if __name__ == "__main__":
    main()
