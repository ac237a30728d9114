"""What competitors climb with: ensembles of seeds, k-fold, thresholds chosen on dev; and what an ensemble costs.

    python -m benchmarks ensembles [--parts seeds kfold thresholds speed] [--sets yardstick real] [--real-dir DIR]
                                   [--tracks ...] [--regime pretrained] [--seeds 42 43 44] [--folds 5]
                                   [--epochs 6] [--snapshots K]

seeds       per set and track: the default recipe trained with each seed (the learning benchmark's runs, reused
            when recorded), each member's test F1 and that of their ensemble as pipeline --seeds makes it
            (at its members' mean thresholds, or a vote chosen on dev), the averaged ensemble's at the
            members' mean thresholds (predict.py --model-dir A B C) and at thresholds chosen again for it on dev;
            how far the test set decides the target: the test items drawn again with replacement, the 95%
            range of the ensemble's margins over its members' mean and best, and the share of draws meeting it;
            reading comprehension: dev and test F1 of each rule to combine start and end distributions (SEEDS=N
            and predict.py average probabilities, the first); its members keep their SEEDS_SNAPSHOTS best
            epochs, as SEEDS=N's do (any track: --snapshots K, as TRAIN_ARGS="--snapshots K" does), and
            where they keep more than one, the ensemble of their best epochs alone is scored beside SEEDS=N's;
kfold       per set and track: tools.kfold's out-of-fold F1 and the test F1 of the K-fold ensemble, beside the
            single model trained on the train file alone (the seeds part's first seed), each fold model's
            and, where the models may vote, each vote's;
thresholds  the same single models: test F1 with the thresholds chosen on dev (what predict.py uses) against
            the fixed ones they trained with;
speed       prediction time and memory of an ensemble of N models against one (tiny and BERT-base-shaped,
            random weights, the sample data), each measurement in a fresh process: the time ratio
            t(N) / (N x t(1)), the weights held after building, the activations' peak during prediction.
Results: outputs/bench/ensembles.json and ensembles.md.

    python -m benchmarks ensembles --pool RUN [RUN ...] [--out DIR]

takes together, instead of measuring, the seeds rows of earlier runs (their --out directories) per set, track and
training length (trios on one test set): how many meet the target, the mean margins, the standard error over the
trios, and how far the mean margin over the best member moves when trios and test items are drawn again.
Results: DIR/pooled.json and pooled.md.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks.helpers import OUT, ROOT, argument_parser, base_bert_files
from benchmarks.learning import REGIMES, SETTINGS, YARDSTICK, lic_layout, run_one, test_files
from tools.tracks import NAMES as TRACKS, track

PARTS = ("seeds", "kfold", "thresholds", "speed")


def fmt(name, value):
    return "" if value is None else f"{value:.1f}" if name == "reading_comprehension" else f"{value:.3f}"


def signed(name, value):
    return f"{value:+.1f}" if name == "reading_comprehension" else f"{value:+.3f}"


def predict_test(name, model_dirs, data_dir, out, thresholds=None, predictor=None):
    """Test F1 of one model or an ensemble (in this process, or `predictor`); thresholds: a setting that
    replaces the models'."""
    from common.track import load_predictor

    t = track(name)
    test, gold = test_files(data_dir)
    items = t.load(test, report=False, require_items=True)
    predictor = predictor or load_predictor(t, model_dirs, 32, "auto")
    if thresholds:
        predictor.thresholds = thresholds
    return scored_submission(name, items, predictor.predict(t.inputs(items)), gold, out)


def scored_submission(name, items, predictions, gold, out):
    """The official F1 of `predictions` for the test `items`, written to `out` as a submission."""
    from tools.validate import score

    t = track(name)
    t.write_submission(out, t.to_submission(items, predictions))
    return score(name, gold, out)["f1"]


def member_runs(name, set_name, regime, data, berts, seeds, epochs, work, timeout, kept):
    """The default recipe's run of each seed, keeping its `kept` best epochs (the learning benchmark's directory:
    reused when recorded)."""
    runs = []
    extra = ["--snapshots", str(kept)] if kept > 1 else []
    for seed in seeds:
        out_dir = os.path.join(work, "learning", "runs", set_name, regime, name, f"default-s{seed}")
        settings = dict(SETTINGS[name], learning_rate=REGIMES[regime]["learning_rate"])
        runs.append(run_one(name, data[name], berts[regime], out_dir, settings, extra, seed, epochs, timeout))
        runs[-1]["dir"] = out_dir
    return runs


def seeds_part(name, set_name, runs, data_dir, work, snapshots):
    """The members' test F1 and their ensemble's as pipeline --seeds makes it (averaged at the members' mean
    thresholds, or a vote where one scores higher on dev; each member's 1 to `snapshots` best epochs, the count
    chosen on dev); the averaged ensemble's at the members' mean
    thresholds and, for comparison, at thresholds chosen again for it on dev; where the models may vote, each
    vote's; the ensemble's margins over its members on resampled test sets (resampled_margins)."""
    import dataclasses

    from common.data import find_data_files
    from common.ensemble import ensemble, vote
    from common.model_dir import load_model_dir
    from common.track import load_predictor, tune_thresholds
    from tools.runs import ensemble_on_dev

    members, dirs, t = [r["test"]["f1"] for r in runs], [r["dir"] for r in runs], track(name)
    out = os.path.join(work, "ensembles", set_name, name)
    os.makedirs(out, exist_ok=True)
    dev = find_data_files(t.FILES, data_dir)["dev"]
    predictor, dev_items, dev_rows, choice = ensemble_on_dev(name, dirs, dev, snapshots=snapshots)
    chosen = predict_test(name, dirs, data_dir, os.path.join(out, "ensemble_" + t.SUBMISSION), predictor=predictor)
    voting = choice if choice and "dev_f1" in choice else None
    voted = voting and voting["votes"]
    # where no vote was chosen, the ensemble is the averaged one, already scored
    averaged_predictor = ensemble(predictor.predictors) if voted else predictor
    mean_thresholds = averaged_predictor.thresholds if getattr(averaged_predictor, "thresholds", None) else None
    averaged = predict_test(name, dirs, data_dir, os.path.join(out, "averaged_" + t.SUBMISSION),
                            predictor=averaged_predictor) if voted else chosen
    result = {"members": members, "mean": float(np.mean(members)), "best": max(members), "ensemble": chosen,
              "averaged": averaged, "thresholds": mean_thresholds, "gain_over_mean": chosen - float(np.mean(members)),
              "spread": max(members) - min(members), "votes": voted}
    if choice and "snapshots" in choice:  # each member by its best epochs: beside the ensemble of its best alone
        result.update(snapshots=choice["snapshots"], snapshots_dev=choice["snapshots_dev_f1"])
        result["best_epochs_only"] = chosen if choice["snapshots"] == 1 else predict_test(
            name, dirs, data_dir, os.path.join(out, "best_epochs_" + t.SUBMISSION))
    test, gold = test_files(data_dir)
    gold_items = t.load(gold, report=False)
    ensemble_scores = item_scores(name, gold_items, t.read_predictions(os.path.join(out, "ensemble_" + t.SUBMISSION)))
    if abs(f1_of_sums(ensemble_scores.sum(0), len(gold_items)) - chosen) > 1e-3:  # say, texts repeated in a test file
        raise RuntimeError(f"{gold}: the per-item scores do not add up to the official F1, {chosen}; not resampled")
    member_scores = [item_scores(name, gold_items, t.read_predictions(os.path.join(d, "test_predictions.json")))
                     for d in dirs]
    result["resampled"] = resampled_margins(member_scores, ensemble_scores, target_margin(name))
    # what --pool needs to take this trio with others on the same test set
    result.update(seeds=[r["seed"] for r in runs], epochs=runs[0]["epochs"],
                  item_scores={"members": [s.tolist() for s in member_scores], "ensemble": ensemble_scores.tolist()})
    if mean_thresholds:  # the earlier rule: thresholds chosen again for the averaged ensemble on dev
        config = dataclasses.replace(load_model_dir(dirs[0], t)[1], **mean_thresholds)
        _, tuning, _ = tune_thresholds(t, averaged_predictor, config, dev_items)
        result["rechosen"] = predict_test(name, dirs, data_dir, os.path.join(out, "rechosen_" + t.SUBMISSION),
                                          predictor=averaged_predictor)
        result["rechosen_thresholds"], result["rechosen_dev"] = tuning["setting"], tuning["dev_f1"]
        result["averaged_dev"] = tuning["fixed_dev_f1"]
    if voting:
        result["vote_dev"] = voting["dev_f1"]
        members_only = load_predictor(t, dirs, 32, "auto", votes=1)
        items = t.load(test, report=False, require_items=True)
        lists = members_only.member_predictions(t.inputs(items))
        result["vote_test"] = {}
        for k in voting["dev_f1"]:
            result["vote_test"][k] = scored_submission(name, items, vote(lists, members_only.weights, k, t.vote_key),
                                                       gold, os.path.join(out, f"vote_{k}_" + t.SUBMISSION))
    if hasattr(t, "COMBINE_RULES"):
        result["rules"] = combination_rules(name, predictor, dev_items, data_dir, out)
        result["members_dev"] = [max(r["dev_f1"]) for r in runs]
    return result


def item_scores(name, gold, rows):
    """Per test item, what the official metric adds up: [correct, predicted, gold] (relation and event extraction,
    whose F1 comes from the totals) or [the question's F1 in points] (reading comprehension, whose F1 is the mean)."""
    if name == "reading_comprehension":
        from reading_comprehension.dureader import f1

        return np.array([[100 * f1(q.answers, rows.get(q.id, ""))] for q in gold], "float64")
    if name == "relation_extraction":
        from relation_extraction.duie import counts
        key = "text"
    else:
        from event_extraction.duee import counts
        key = "id"
    by_key = {r[key]: r for r in rows}
    return np.array([np.sum(list(counts([g], [by_key[g[key]]] if g[key] in by_key else []).values()) or [[0, 0, 0]],
                            axis=0) for g in gold], "float64")


def f1_of_sums(sums, n):
    """F1 from item scores summed over n items (last axis: [correct, predicted, gold], or [F1 in points])."""
    if sums.shape[-1] == 1:
        return sums[..., 0] / n
    correct, predicted, gold = np.moveaxis(sums, -1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(predicted + gold > 0, 2 * correct / (predicted + gold), 0.0)
    return np.nan_to_num(f1)


def target_margin(name):
    """How far under its best member an ensemble may score and meet the target (F1; reading comprehension in
    points)."""
    return 0.5 if name == "reading_comprehension" else 0.005


def meets_target(name, r):
    """Whether a seeds row's ensemble scores at least its members' mean and its best minus the margin."""
    return r["ensemble"] >= r["mean"] - 1e-9 and r["ensemble"] >= r["best"] - target_margin(name) - 1e-9


def resampled_f1(rng, scores, draws, batch=1000):
    """The test items drawn again with replacement `draws` times, in batches: per batch, the F1 of each array of
    `scores` (each (models, items, k), item scores as item_scores gives them; one draw of items for all of them)
    on each draw, (batch, models)."""
    n = scores[0].shape[1]
    for start in range(0, draws, batch):
        counts = rng.multinomial(n, np.full(n, 1 / n), size=min(batch, draws - start))  # (batch, items)
        yield [f1_of_sums(np.einsum("di,mik->dmk", counts, s), n) for s in scores]


def resampled_margins(member_scores, ensemble_scores, margin, draws=10000, seed=0):
    """The ensemble's margins over its members' mean and over its best member when the test items are drawn
    again with replacement (`draws` times; item scores as item_scores gives them): the 2.5th and 97.5th
    percentiles of each, and the share of draws where the ensembles' target holds (at least the mean, and at
    least the best member minus `margin`: README, "Ensembles, k-fold and thresholds")."""
    scores = np.stack([*member_scores, ensemble_scores])  # (members + 1, items, k)
    f1 = np.concatenate([f1[0] for f1 in resampled_f1(np.random.default_rng(seed), [scores], draws)])
    over_mean, over_best = f1[:, -1] - f1[:, :-1].mean(1), f1[:, -1] - f1[:, :-1].max(1)
    return {"over_mean": np.percentile(over_mean, [2.5, 97.5]).tolist(),
            "over_best": np.percentile(over_best, [2.5, 97.5]).tolist(),
            "target_met": float(np.mean((over_mean >= -1e-9) & (over_best >= -margin - 1e-9)))}


def pooled(name, rows, draws=10000, seed=0):
    """The seeds rows of one cell of track `name` (trios on one test set, each with the item scores seeds_part
    records) taken together: how many meet the target; the means over them of the best member's and the
    ensemble's margins over the members' mean, and of the ensemble's over its best member with its standard error
    over the trios (the seeds' share of the uncertainty); then that mean when the trios (with replacement) and the
    test items are drawn again, `draws` times, one draw of items for every trio as they share the test set: its
    95% range, and the share of draws where it is at least minus the target's margin (what seeds and test set
    together leave undecided)."""
    scores = [np.stack([*map(np.asarray, r["item_scores"]["members"]), np.asarray(r["item_scores"]["ensemble"])])
              for r in rows]  # each (members + 1, items, k)
    if len({s.shape[1:] for s in scores}) > 1:
        raise ValueError(f"the trios of one cell hold different test sets: {sorted({s.shape[1] for s in scores})} "
                         "items")
    over_best = np.array([r["ensemble"] - r["best"] for r in rows])
    trios, rng, drawn = len(rows), np.random.default_rng(seed), []
    for f1 in resampled_f1(rng, scores, draws):  # each (batch, members + 1)
        margins = np.stack([f[:, -1] - f[:, :-1].max(1) for f in f1], axis=1)  # (batch, trios)
        picked = rng.integers(0, trios, size=margins.shape)
        drawn.append(np.take_along_axis(margins, picked, axis=1).mean(1))
    drawn = np.concatenate(drawn)
    return {"trios": trios, "met": sum(meets_target(name, r) for r in rows),
            "best_over_mean": float(np.mean([r["best"] - r["mean"] for r in rows])),
            "ensemble_over_mean": float(np.mean([r["ensemble"] - r["mean"] for r in rows])),
            "ensemble_over_best": float(over_best.mean()),
            "standard_error": float(over_best.std(ddof=1) / np.sqrt(trios)) if trios > 1 else None,
            "resampled": np.percentile(drawn, [2.5, 97.5]).tolist(),
            "mean_meets_margin": float(np.mean(drawn >= -target_margin(name) - 1e-9))}


def pool(paths):
    """The seeds rows of earlier runs (each path: a run's --out directory or its ensembles.json), grouped into
    cells by set, track and epochs and taken together (pooled): ({(set, track, epochs): pooled(...)}, skipped),
    skipped listing each row left out and why (recorded before rows kept item scores, or a trio seen before)."""
    from common.data import DataError
    from common.files import read_json

    cells, seen, skipped = {}, set(), []
    for path in paths:
        path = os.path.join(path, "ensembles.json") if os.path.isdir(path) else path
        if not os.path.isfile(path):
            raise DataError(f"{path}: no such file (give runs' --out directories, or their ensembles.json)")
        results = read_json(path, "ensembles")
        if not isinstance(results, dict) or not isinstance(results.get("seeds", {}), dict):
            raise DataError(f"{path}: not this benchmark's results (an object with \"seeds\")")
        for set_name, rows in results.get("seeds", {}).items():
            for name, r in rows.items():
                where = f"{path}: {set_name} {name}"
                if "item_scores" not in r:
                    skipped.append(f"{where}: recorded without item scores (run its seeds part again with the "
                                   "same --out: the trained models are reused)")
                elif (set_name, name, r["epochs"], tuple(r["seeds"])) in seen:
                    skipped.append(f"{where}: seeds {r['seeds']} at {r['epochs']} epochs, pooled already")
                else:
                    seen.add((set_name, name, r["epochs"], tuple(r["seeds"])))
                    cells.setdefault((set_name, name, r["epochs"]), []).append(r)
    return {cell: pooled(cell[1], rows) for cell, rows in sorted(cells.items())}, skipped


def pool_table(cells, skipped):
    def signed4(name, value):  # these means are finer than a run's F1
        return f"{value:+.1f}" if name == "reading_comprehension" else f"{value:+.4f}"

    lines = ["\nEnsembles of seeds taken together, per set, track and training length (test F1; reading "
             "comprehension in points): trios meeting the target; the means over the trios of the best member's and "
             "the ensemble's margins over the members' mean and of the ensemble's over its best member (standard "
             "error over the trios); the trios and the test items drawn again 10,000 times, the 95% range of that "
             "mean and the share of draws where it is at least minus the target's margin (0.005; reading "
             "comprehension 0.5):\n",
             "| set | track | epochs | trios | target met | best over the mean | ensemble over the mean | "
             "ensemble over the best (standard error) | resampled: 95% range | at least minus the margin |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (set_name, name, epochs), c in cells.items():
        error = "" if c["standard_error"] is None else f" ({signed4(name, c['standard_error'])[1:]})"
        lines.append(f"| {set_name} | {name} | {epochs} | {c['trios']} | {c['met']} | "
                     f"{signed4(name, c['best_over_mean'])} | {signed4(name, c['ensemble_over_mean'])} | "
                     f"{signed4(name, c['ensemble_over_best'])}{error} | "
                     f"{' to '.join(signed4(name, v) for v in c['resampled'])} | {100 * c['mean_meets_margin']:.0f}% |")
    lines += [f"\nLeft out: {s}" for s in skipped]
    return "\n".join(lines) + "\n"


def combination_rules(name, predictor, dev_items, data_dir, out):
    """Reading comprehension: {rule: {"dev": F1, "test": F1}} of each way the ensemble of `predictor` may
    combine its members' start and end distributions (the track's COMBINE_RULES), dev (`dev_items`) and the test
    file each decoded under all of them from one pass of the members."""
    t = track(name)
    test, gold = test_files(data_dir)
    items = t.load(test, report=False, require_items=True)
    dev_answers = predictor.predict(t.inputs(dev_items), rules=t.COMBINE_RULES)
    answers = predictor.predict(t.inputs(items), rules=t.COMBINE_RULES)
    return {rule: {"dev": t.score(dev_items, t.to_submission(dev_items, d))["f1"], "test": scored_submission(
        name, items, a, gold, os.path.join(out, f"rule_{rule.replace(' ', '_')}_" + t.SUBMISSION))}
        for rule, d, a in zip(t.COMBINE_RULES, dev_answers, answers)}


def best_on_dev(rules):
    """The rule of `rules` ({rule: {"dev": F1, ...}}, in the track's order) scoring best on dev; of equal ones, the
    first."""
    return max(rules, key=lambda rule: (rules[rule]["dev"], -list(rules).index(rule)))


def thresholds_part(name, run, data_dir, work):
    from common.model_dir import read_tuning

    tuning = read_tuning(run["dir"])
    if not tuning:
        return None
    out = os.path.join(work, "ensembles", "thresholds", os.path.basename(os.path.dirname(run["dir"])))
    os.makedirs(out, exist_ok=True)
    fixed = predict_test(name, [run["dir"]], data_dir, os.path.join(out, "fixed_" + track(name).SUBMISSION),
                         tuning["fixed"])
    return {"tuned": run["test"]["f1"], "fixed": fixed, "setting": tuning["setting"], "fixed_setting": tuning["fixed"],
            "dev_tuned": tuning["dev_f1"], "dev_fixed": tuning["fixed_dev_f1"]}


def kfold_part(name, set_name, data_dir, bert_dir, regime, folds, epochs, work, single_f1):
    """tools.kfold's out-of-fold F1 and its submission's test F1 (the K-fold ensemble), each fold model's test F1
    at the thresholds chosen out of fold and, where the track's models may vote, each vote's."""
    from common.ensemble import vote
    from common.track import load_predictor
    from tools.validate import score

    out = os.path.join(work, "ensembles", "kfold", set_name, name)
    settings = dict(SETTINGS[name], learning_rate=REGIMES[regime]["learning_rate"], epochs=epochs, seed=42)
    command = [sys.executable, "-m", "tools.kfold", name, "--folds", str(folds), "--data-dir", data_dir, "--bert-dir",
               bert_dir, "--out", out] + [x for k, v in settings.items() for x in (f"--{k.replace('_', '-')}", str(v))]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    with open(os.path.join(out, "kfold.json"), encoding="utf-8") as f:
        summary = json.load(f)
    t, (test, gold) = track(name), test_files(data_dir)
    found = {"out_of_fold": summary["out_of_fold_f1"], "ensemble_test": score(name, gold, summary["submission"])["f1"],
             "single_test": single_f1}
    items = t.load(test, report=False, require_items=True)
    lists = [load_predictor(t, os.path.join(out, f"fold-{i}", "model"), 32, "auto").predict(t.inputs(items))
             for i in range(folds)]
    found["members"] = [scored_submission(name, items, p, gold, os.path.join(out, f"fold_{i}_" + t.SUBMISSION))
                        for i, p in enumerate(lists)]
    if hasattr(t, "vote_key"):
        found["vote_test"] = {k: scored_submission(name, items, vote(lists, [1] * folds, k, t.vote_key), gold,
                                                   os.path.join(out, f"vote_{k}_" + t.SUBMISSION))
                              for k in range(1, folds + 1)}
    return found


# ---------------------------------------------------------------- speed and memory

def measure(name, bert_dir, vocab_dir, data_dir, n, maxlen, examples):
    """In this (fresh) process: build n models of `name` (random weights; `bert_dir` holds the config, `vocab_dir`
    the vocabulary), then predict `examples` items with their ensemble: seconds per pass (after a first,
    traced one), resident memory the models' weights took, and the most prediction added to it."""
    import threading

    from common.bert import BertFiles, build_bert
    from common.data import find_data_files
    from common.ensemble import ensemble
    from common.tokenization import load_tokenizer
    from common.track import track_args

    t = track(name)
    bert_files = BertFiles(os.path.join(bert_dir, "bert_config.json"), None, os.path.join(vocab_dir, "vocab.txt"))
    tokenizer = load_tokenizer(bert_files.vocab)
    data = t.prepare(track_args(t, maxlen=maxlen), find_data_files(t.FILES, data_dir), tokenizer, bert_files)
    inputs = t.inputs(data.dev)[:examples]
    before = rss()
    predictors = [t.build(data.config, build_bert(bert_files, load_weights=False), tokenizer)[1] for _ in range(n)]
    predictor = predictors[0] if n == 1 else ensemble(predictors)
    predictor.predict(inputs[:8])  # trace
    built, highest, done = rss(), [0], threading.Event()

    def sample():  # the resident memory while predicting, every 5 ms
        while not done.wait(0.005):
            highest[0] = max(highest[0], rss())

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    predictor.predict(inputs)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return {"seconds": seconds, "weights_mib": (built - before) / 2 ** 20,
            "activations_mib": max(0, highest[0] - built) / 2 ** 20}


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def speed_part(n, models, log=print):
    from pipeline import embedded_default

    sample, tiny = embedded_default(os.path.join(ROOT, "outputs"))
    results = {}
    for model, (bert_dir, maxlen, count) in models.items():
        for name in TRACKS:
            row = {}
            for members in (1, n):
                command = [sys.executable, "-m", "benchmarks.ensembles", "--child", name, bert_dir, tiny,
                           os.path.join(sample, name), str(members), str(maxlen), str(count)]
                result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
                if result.returncode != 0:
                    raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
                row[members] = json.loads(result.stdout.strip().splitlines()[-1])
            one, many = row[1], row[n]
            results.setdefault(model, {})[name] = {
                "one": one, "ensemble": many, "time_ratio": many["seconds"] / (n * one["seconds"]),
                "weights_ratio": many["weights_mib"] / max(one["weights_mib"], 1e-9),
                "activations_ratio": many["activations_mib"] / max(one["activations_mib"], 1e-9)}
            r = results[model][name]
            log(f"  {model:5s} {name:22s} t({n}) / ({n} x t(1)) = {r['time_ratio']:.2f}; weights x{r['weights_ratio']:.1f}; "
                f"activations x{r['activations_ratio']:.2f}", flush=True)
    return results


def resampled_cells(name, resampled):
    if not resampled:
        return " | | "
    low_high = [" to ".join(signed(name, v) for v in resampled[k]) for k in ("over_mean", "over_best")]
    return (f"{low_high[0]} | {low_high[1]} | "
            f"{100 * resampled['target_met']:.0f}%")


def tables(results, n):
    lines = []
    if results.get("seeds"):
        lines += ["\nEnsembles of seeds (test F1; reading comprehension in points). \"ensemble\" is what SEEDS=N "
                  "submits, \"chosen on dev\" how it combines (reading comprehension: how many of each member's best "
                  "epochs, and the ensemble of their best alone); then the averaged ensemble at its members' mean "
                  "thresholds and at thresholds chosen again for it on dev, and each vote (kept where K members "
                  "predict); the test items drawn again with replacement 10,000 times, the 95% range of the "
                  "ensemble's margins over its members' mean and best, and the share of draws where the target "
                  "(at least the mean, and the best minus 0.005; reading comprehension 0.5) holds; the ensemble in "
                  "bold where the target holds on the test set itself:\n",
                  "| set | track | members | mean | best | ensemble | chosen on dev | gain over the mean | "
                  "member spread | averaged | averaged, thresholds chosen again on dev | votes K = 1, 2, ... | "
                  "resampled: over the mean | over the best | target met |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for set_name, rows in results["seeds"].items():
            for name, r in rows.items():
                how = f"vote of {r['votes']:g}" if r.get("votes") else "averaged" if "vote_dev" in r else ""
                if r.get("snapshots"):
                    how += (f"{r['snapshots']} best epoch{'s' if r['snapshots'] > 1 else ''} a member (dev: "
                            + ", ".join(f"{k}: {fmt(name, v)}" for k, v in r["snapshots_dev"].items())
                            + f"; each member's best epoch alone: {fmt(name, r['best_epochs_only'])})")
                ensemble = f"**{fmt(name, r['ensemble'])}**" if meets_target(name, r) else fmt(name, r["ensemble"])
                lines.append(f"| {set_name} | {name} | {', '.join(fmt(name, v) for v in r['members'])} | "
                             f"{fmt(name, r['mean'])} | {fmt(name, r['best'])} | {ensemble} | "
                             f"{how} | {signed(name, r['gain_over_mean'])} | "
                             f"{fmt(name, r['spread'])} | "
                             f"{fmt(name, r['averaged'])} | {fmt(name, r.get('rechosen'))} | "
                             f"{', '.join(fmt(name, v) for v in r.get('vote_test', {}).values())} | "
                             + resampled_cells(name, r.get("resampled")) + " |")
    rules = [(set_name, r) for set_name, rows in results.get("seeds", {}).items() for r in rows.values()
             if "rules" in r]
    if rules:
        lines += ["\nReading comprehension: three ways to combine the members' start and end distributions, decoded "
                  "from the same members (F1 in points; the members' best dev F1 and their test F1):\n",
                  "| set | split | members | averaged probabilities (predict.py --model-dir A B C) | averaged "
                  "log-probabilities | averaged span probabilities | best on dev (dev: the rule; test: its F1) |",
                  "|---|---|---|---|---|---|---|"]
        for set_name, r in rules:
            best = best_on_dev(r["rules"])
            for split, members in (("dev", r["members_dev"]), ("test", r["members"])):
                lines.append(f"| {set_name} | {split} | {', '.join(f'{v:.1f}' for v in members)} | "
                             + " | ".join(f"{rule[split]:.1f}" for rule in r["rules"].values())
                             + f" | {best if split == 'dev' else format(r['rules'][best]['test'], '.1f')} |")
    if results.get("kfold"):
        lines += ["\nk-fold (test F1; the fold models at the thresholds chosen out of fold, and each vote of them, "
                  "kept where K fold models predict):\n",
                  "| set | track | out-of-fold F1 | k-fold ensemble, test | single model (train file only), test | "
                  "fold models, test | votes K = 1, 2, ... |", "|---|---|---|---|---|---|---|"]
        for set_name, rows in results["kfold"].items():
            for name, r in rows.items():
                lines.append(f"| {set_name} | {name} | {fmt(name, r['out_of_fold'])} | **{fmt(name, r['ensemble_test'])}** "
                             f"| {fmt(name, r['single_test'])} | {', '.join(fmt(name, v) for v in r['members'])} | "
                             f"{', '.join(fmt(name, v) for v in r.get('vote_test', {}).values())} |")
    if results.get("thresholds"):
        lines += ["\nThresholds chosen on dev against the fixed ones (same models; test F1, dev F1):\n",
                  "| set | track | seed | fixed: test | chosen: test | fixed: dev | chosen: dev | chosen |",
                  "|---|---|---|---|---|---|---|---|"]
        for set_name, rows in results["thresholds"].items():
            for key, r in rows.items():
                name, seed = key.rsplit(":", 1)
                lines.append(f"| {set_name} | {name} | {seed} | {fmt(name, r['fixed'])} | {fmt(name, r['tuned'])} | "
                             f"{fmt(name, r['dev_fixed'])} | {fmt(name, r['dev_tuned'])} | "
                             f"{', '.join(f'{v:g}' for v in r['setting'].values())} |")
    if results.get("speed"):
        lines += [f"\nAn ensemble of {n} against one model (prediction, one process):\n",
                  f"| model | track | t({n}) / ({n} x t(1)) | weights held | activations at the peak |",
                  "|---|---|---|---|---|"]
        for model, rows in results["speed"].items():
            for name, r in rows.items():
                lines.append(f"| {model} | {name} | {r['time_ratio']:.2f} | {r['weights_ratio']:.1f}x one model's | "
                             f"{r['activations_ratio']:.2f}x one model's |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        name, bert_dir, vocab_dir, data_dir, n, maxlen, examples = argv[1:8]
        print(json.dumps(measure(name, bert_dir, vocab_dir, data_dir, int(n), int(maxlen), int(examples))))
        return 0
    p = argument_parser(__name__, __doc__)
    p.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    p.add_argument("--sets", nargs="+", choices=["yardstick", "real"], default=["yardstick"])
    p.add_argument("--real-dir")
    p.add_argument("--tracks", nargs="+", choices=TRACKS, default=list(TRACKS))
    p.add_argument("--regime", choices=list(REGIMES), default="pretrained")
    p.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--members", type=int, default=3, help="the speed part's ensemble size")
    p.add_argument("--snapshots", type=int, help="the seeds part's members keep and average their 1 to K best "
                                                 "epochs, the count chosen on dev (default: as SEEDS=N does)")
    p.add_argument("--timeout", type=int, default=14400)
    p.add_argument("--out", default=OUT)
    p.add_argument("--pool", nargs="+", metavar="RUN",
                   help="instead of measuring: take together the seeds rows of earlier runs (their --out directories "
                        "or ensembles.json files); writes pooled.json and pooled.md under --out")
    args = p.parse_args(argv)
    if args.pool:
        try:
            cells, skipped = pool(args.pool)
        except ValueError as e:  # a file that is not a run's results, or trios of one cell on two test sets
            p.error(str(e))
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "pooled.json"), "w", encoding="utf-8") as f:
            json.dump({"cells": [{"set": k[0], "track": k[1], "epochs": k[2], **c} for k, c in cells.items()],
                       "left_out": skipped}, f, indent=1, ensure_ascii=False)
        markdown = pool_table(cells, skipped)
        with open(os.path.join(args.out, "pooled.md"), "w", encoding="utf-8") as f:
            f.write(markdown)
        print(markdown)
        return 0
    if "real" in args.sets and not args.real_dir:
        p.error("--sets real needs --real-dir")
    if args.snapshots is not None and args.snapshots < 1:
        p.error(f"--snapshots must be at least 1, not {args.snapshots}")
    results = {}
    for set_name in args.sets if {"seeds", "kfold", "thresholds"} & set(args.parts) else ():
        data, berts, _ = lic_layout(YARDSTICK if set_name == "yardstick" else args.real_dir)
        for name in args.tracks:
            if name not in data or args.regime not in berts:
                continue
            kept = args.snapshots or getattr(track(name), "SEEDS_SNAPSHOTS", 1)  # as SEEDS=N keeps by default
            runs = member_runs(name, set_name, args.regime, data, berts, args.seeds, args.epochs, args.out,
                               args.timeout, kept)
            if "seeds" in args.parts:
                results.setdefault("seeds", {}).setdefault(set_name, {})[name] = seeds_part(
                    name, set_name, runs, data[name], args.out, kept)
                print(f"[{set_name}] {name} seeds: {results['seeds'][set_name][name]}", flush=True)
            if "thresholds" in args.parts:
                for run in runs:
                    found = thresholds_part(name, run, data[name], args.out)
                    if found:
                        results.setdefault("thresholds", {}).setdefault(set_name, {})[f"{name}:{run['seed']}"] = found
            if "kfold" in args.parts:
                results.setdefault("kfold", {}).setdefault(set_name, {})[name] = kfold_part(
                    name, set_name, data[name], berts[args.regime], args.regime, args.folds, args.epochs, args.out,
                    runs[0]["test"]["f1"])
                print(f"[{set_name}] {name} kfold: {results['kfold'][set_name][name]}", flush=True)
    if "speed" in args.parts:
        from pipeline import embedded_default
        _, tiny = embedded_default(os.path.join(ROOT, "outputs"))
        base = os.path.join(args.out, "base_config")
        base_bert_files(tiny, base)
        results["speed"] = speed_part(args.members, {"tiny": (tiny, 128, 64), "base": (base, 128, 16)})
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "ensembles.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)
    markdown = tables(results, args.members)
    with open(os.path.join(args.out, "ensembles.md"), "w", encoding="utf-8") as f:
        f.write(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
