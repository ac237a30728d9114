"""The benchmarks' own logic: fixed padding, slopes and ratios, memory measurement (CPU, and GPU where visible),
per-item scores and resampled margins."""
import json
import os

import numpy as np
import pytest

from benchmarks import helpers, recompute
from benchmarks.__main__ import NAMES
from benchmarks.__main__ import main as benchmarks_main
from common.env import tf


def test_fixed_padding_pads_every_sequence_array_to_maxlen():
    def collate(batch):
        n = max(map(len, batch))
        ids = np.array([b + [0] * (n - len(b)) for b in batch])
        return [ids, np.ones((len(batch), n, 3))], (np.array([1, 2]), np.zeros((len(batch), 2)))

    (ids, features), (starts, pairs) = helpers.fixed_padding(collate, len, 10)([[5, 6, 7], [8]])
    assert ids.shape == (2, 10) and ids[0, :3].tolist() == [5, 6, 7] and not ids[:, 3:].any()
    assert features.shape == (2, 10, 3) and starts.shape == (2,) and pairs.shape == (2, 2)


def test_naive_span_search_agrees_with_the_vectorized_one():
    from reading_comprehension.spans import best_spans

    rng = np.random.default_rng(1)
    start, end = rng.normal(size=(3, 50)), rng.normal(size=(3, 50))
    for got, expected in zip(helpers.naive_best_spans(start, end, 7), best_spans(start, end, 7)):
        np.testing.assert_allclose(got, expected)


def test_summary_slopes_ratios_and_budget():
    gib = 2 ** 30
    memory = [{"maxlen": 256, "mode": mode, "batch_size": b, "peak_bytes": 2 * gib + per * b}
              for mode, per in (("none", 0.4 * gib), ("block", 0.05 * gib)) for b in (2, 4, 8)]
    times = [{"maxlen": 256, "mode": "none", "seconds_per_example": 0.5},
             {"maxlen": 256, "mode": "block", "seconds_per_example": 0.6}]
    summary = recompute.summarize(memory, times, 16 * gib)
    none, block = summary["256/none"], summary["256/block"]
    assert none["activation_mib_per_example"] == pytest.approx(0.4 * 1024)
    assert block["memory_saving_x"] == pytest.approx(8.0) and block["time_overhead"] == pytest.approx(0.2)
    assert none["largest_batch_in_budget"] == 35 and block["largest_batch_in_budget"] == 280


@pytest.fixture
def tiny_config(tmp_path):
    config = dict(recompute.BASE, vocab_size=100, hidden_size=32, num_hidden_layers=2,
                  num_attention_heads=2, intermediate_size=64)
    (tmp_path / "bert_config.json").write_text(json.dumps(config))
    return str(tmp_path)


@pytest.mark.trains
def test_memory_and_time_measurements(tiny_config):
    row = recompute.measure_memory("block", 16, 2, tiny_config)
    expected = "gpu" if tf.config.list_physical_devices("GPU") else "cpu_rss"
    assert row["memory"] == expected and row["peak_bytes"] > 0
    times = recompute.measure_time(["none", "block"], 16, 2, 2, tiny_config)
    assert [t["mode"] for t in times] == ["none", "block"] and all(t["step_seconds"] > 0 for t in times)


@pytest.mark.skipif(not tf.config.list_physical_devices("GPU"), reason="no GPU visible")
def test_gpu_peak_memory_is_read_from_the_device(tiny_config):
    small = recompute.measure_memory("none", 32, 2, tiny_config)
    large = recompute.measure_memory("none", 32, 16, tiny_config)
    assert small["memory"] == "gpu" and large["peak_bytes"] > small["peak_bytes"] > 0


def test_learning_tables_put_the_recorded_2020_row_before_ours():
    from benchmarks import learning

    recorded = learning.reference(os.path.join(learning.YARDSTICK, "results.json"))
    assert learning.reference(os.path.join(learning.YARDSTICK, "none.json")) == {}
    with open(os.path.join(learning.YARDSTICK, "results.json"), encoding="utf-8") as f:
        anchor = json.load(f)["ee"]["random"]["anchor"]
    assert recorded["event_extraction"]["random"] == {"dev_f1": anchor["dev_f1_per_epoch"],
                                                       "test_f1": anchor["test"]["f1"]}
    runs = [{"set": "yardstick", "regime": "random", "track": "event_extraction", "variant": variant, "seed": seed,
             "dev_f1": [0.5, best], "best_dev_f1": best, "test": {"f1": test}}
            for variant, seed, best, test in (("default", 42, 0.8, 0.9), ("default", 43, 0.6, 0.7),
                                              ("crf", 42, 0.4, 0.5))]
    summary = learning.summarize(runs)
    default = summary["yardstick"]["random"]["event_extraction"]["default"]
    assert default["test_f1_mean"] == pytest.approx(0.8) and default["dev_curve_mean"] == [0.5, 0.7]
    rows = [line for line in learning.tables(summary, {"yardstick": recorded}).splitlines() if line.startswith("| ")][1:]
    assert "2020 design (recorded)" in rows[0] and f"**{anchor['test']['f1']:.3f}**" in rows[0]
    assert rows[1].startswith("| default") and "0.800 (0.900, 0.700)" in rows[1] and rows[2].startswith("| crf")


@pytest.mark.parametrize("name", ["relation_extraction", "event_extraction", "reading_comprehension"])
def test_item_scores_add_up_to_the_official_f1_and_resampled_margins_bound_the_ensembles(name, sample_dir):
    from benchmarks.ensembles import f1_of_sums, item_scores, resampled_margins
    from common.data import find_data_files
    from tools.tracks import track

    t = track(name)
    gold = t.load(find_data_files(t.FILES, os.path.join(sample_dir, name))["dev"], report=False)

    def rows(keep):  # every item's gold where keep(i), nothing (or a wrong answer) elsewhere
        if name == "reading_comprehension":
            return {q.id: q.answers[0] if keep(i) else q.context[:3] for i, q in enumerate(gold)}
        key, field = ("text", "spo_list") if name == "relation_extraction" else ("id", "event_list")
        return [{key: g[key], field: g[field] if keep(i) else []} for i, g in enumerate(gold)]

    weaker, weak, right = rows(lambda i: i % 2), rows(lambda i: i % 3), rows(lambda i: True)
    scores, f1 = {}, {}
    for label, predicted in (("weaker", weaker), ("weak", weak), ("right", right)):
        scores[label] = item_scores(name, gold, predicted)
        f1[label] = f1_of_sums(scores[label].sum(0), len(gold))
        assert f1[label] == pytest.approx(t.score(gold, predicted)["f1"], abs=1e-3)
    assert t.score(gold, weaker)["f1"] < t.score(gold, weak)["f1"] < t.score(gold, right)["f1"]
    margin = 0.5 if name == "reading_comprehension" else 0.005
    better = resampled_margins([scores["weaker"], scores["weak"]], scores["right"], margin, draws=2000)
    assert better["over_best"][0] > 0 and better["target_met"] == 1.0
    worse = resampled_margins([scores["weak"], scores["right"]], scores["weaker"], margin, draws=2000)
    assert worse["over_mean"][1] < 0 and worse["target_met"] == 0.0
    same = resampled_margins([scores["weak"]] * 2, scores["weak"], margin, draws=2000)
    assert same["over_mean"] == [0.0, 0.0] == same["over_best"] and same["target_met"] == 1.0
    low, high = better["over_mean"]  # the whole test set's margin lies inside the resampled range
    assert low < f1["right"] - (f1["weaker"] + f1["weak"]) / 2 < high


def test_the_seeds_table_bolds_an_ensemble_where_the_target_holds_on_the_test_set():
    """At least the members' mean, and at least the best member minus 0.005 (reading comprehension 0.5 points)."""
    from benchmarks.ensembles import tables

    def row(members, ensemble):
        return {"members": members, "mean": float(np.mean(members)), "best": max(members), "ensemble": ensemble,
                "gain_over_mean": ensemble - float(np.mean(members)), "spread": max(members) - min(members),
                "averaged": ensemble, "votes": None}

    results = {"seeds": {"real": {"event_extraction": row([0.30, 0.29, 0.28], 0.296),  # best minus 0.004: met
                                  "relation_extraction": row([0.30, 0.20, 0.20], 0.294),  # best minus 0.006
                                  "reading_comprehension": row([26.0, 25.0, 24.0], 25.4)},  # best minus 0.6
                         "yardstick": {"reading_comprehension": row([90.0, 89.0, 80.0], 89.5)}}}
    ensembles = [line.split(" | ")[5] for line in tables(results, 3).splitlines() if line.startswith("| real")
                 or line.startswith("| yardstick")]
    assert ensembles == ["**0.296**", "0.294", "25.4", "**89.5**"]
    results["seeds"]["real"]["reading_comprehension"].update(snapshots=2, snapshots_dev={1: 30.0, 2: 31.5, 3: 31.0},
                                                             best_epochs_only=24.9)
    how = [line.split(" | ")[6] for line in tables(results, 3).splitlines() if line.startswith("| real")]
    assert how[2] == ("2 best epochs a member (dev: 1: 30.0, 2: 31.5, 3: 31.0; each member's best epoch alone: 24.9)")


def test_the_rules_table_names_the_rule_best_on_dev_and_its_test_f1_the_first_of_equal_ones():
    from benchmarks.ensembles import tables

    def rules(dev, test):
        return {rule: {"dev": d, "test": t} for rule, d, t in zip(("probabilities", "log-probabilities", "span"),
                                                                  dev, test)}

    def row(r):
        return {"members": [25.0, 24.0, 23.0], "mean": 24.0, "best": 25.0, "ensemble": 24.5, "gain_over_mean": 0.5,
                "spread": 2.0, "averaged": 24.5, "votes": None, "members_dev": [30.0, 29.0, 28.0], "rules": r}

    results = {"seeds": {"real": {"reading_comprehension": row(rules([29.0, 31.0, 30.0], [24.5, 23.0, 26.0]))},
                         "yardstick": {"reading_comprehension": row(rules([90.0, 90.0, 89.0], [88.0, 91.0, 87.0]))}}}
    lines = tables(results, 3).split("three ways to combine")[1].splitlines()
    last = [line.rstrip(" |").rsplit(" | ", 1)[1] for line in lines if line.startswith("| real")
            or line.startswith("| yardstick")]
    assert last == ["log-probabilities", "23.0", "probabilities", "88.0"]


def test_pooled_trios_share_one_draw_of_the_test_items_and_report_what_they_leave_undecided(tmp_path):
    from benchmarks.ensembles import f1_of_sums, pool, pooled
    from common.data import DataError

    rng, rc = np.random.default_rng(0), "reading_comprehension"

    def trio(member_f1, ensemble_f1, items=60):  # reading comprehension: each item's F1 in points
        scores = [rng.permutation(np.repeat([[100.0], [0.0]], [round(items * f / 100), items - round(items * f / 100)],
                                            axis=0)) for f in (*member_f1, ensemble_f1)]
        members = [float(f1_of_sums(s.sum(0), items)) for s in scores[:-1]]
        return {"members": members, "mean": float(np.mean(members)), "best": max(members),
                "ensemble": float(f1_of_sums(scores[-1].sum(0), items)), "seeds": [int(rng.integers(1e6))],
                "epochs": 6, "item_scores": {"members": [s.tolist() for s in scores[:-1]],
                                             "ensemble": scores[-1].tolist()}}

    same = trio([50, 50], 50)
    same["item_scores"]["members"] = [same["item_scores"]["ensemble"]] * 2
    alike = pooled(rc, [same, same], draws=500)
    assert alike["ensemble_over_best"] == 0.0 and alike["resampled"] == [0.0, 0.0] == [alike["standard_error"]] * 2
    assert alike["mean_meets_margin"] == 1.0 and alike["met"] == 2

    rows = [trio([40, 45, 50], 60), trio([40, 45, 50], 40), trio([30, 35, 40], 45)]
    cell = pooled(rc, rows, draws=2000)
    margins = [r["ensemble"] - r["best"] for r in rows]
    assert cell["ensemble_over_best"] == pytest.approx(np.mean(margins))
    assert cell["standard_error"] == pytest.approx(np.std(margins, ddof=1) / np.sqrt(3))
    assert cell["ensemble_over_mean"] == pytest.approx(np.mean([r["ensemble"] - r["mean"] for r in rows]))
    assert cell["met"] == 2 and cell["trios"] == 3
    low, high = cell["resampled"]
    assert low < cell["ensemble_over_best"] < high and 0 < cell["mean_meets_margin"] < 1
    far_under = pooled(rc, [trio([80, 80, 80], 20)] * 3, draws=500)  # 60 points under on every draw
    assert far_under["resampled"][1] < -30 and far_under["mean_meets_margin"] == 0.0
    with pytest.raises(ValueError, match="different test sets"):
        pooled(rc, [trio([50], 50, items=60), trio([50], 50, items=40)])

    old = {k: v for k, v in rows[0].items() if k != "item_scores"}  # recorded before rows kept item scores
    for name, doc in (("a", {"seeds": {"real": {"reading_comprehension": rows[0]}}}),
                      ("b", {"seeds": {"real": {"reading_comprehension": rows[1], "event_extraction": old}}}),
                      ("c", {"seeds": {"real": {"reading_comprehension": rows[0]}}})):
        os.makedirs(tmp_path / name)
        with open(tmp_path / name / "ensembles.json", "w") as f:
            json.dump(doc, f)
    cells, skipped = pool([str(tmp_path / n) for n in "abc"])
    assert list(cells) == [("real", "reading_comprehension", 6)] and cells[("real", "reading_comprehension", 6)][
        "ensemble_over_best"] == pytest.approx(np.mean(margins[:2]))
    assert len(skipped) == 2 and "without item scores" in skipped[0] and "pooled already" in skipped[1]
    (tmp_path / "run.log").write_text("epoch 1\n")
    for path, error in ((tmp_path / "run.log", "run.log:1: not valid JSON"), (tmp_path / "none", "none: no such file")):
        with pytest.raises(DataError, match=error):
            pool([str(path)])


@pytest.mark.parametrize("name", NAMES)
def test_each_benchmark_names_itself_in_its_usage_as_it_is_run(name, capsys):
    with pytest.raises(SystemExit) as done:
        benchmarks_main([name, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m benchmarks {name} ")


def test_the_ensembles_benchmark_refuses_fewer_than_one_kept_epoch_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        benchmarks_main(["ensembles", "--parts", "seeds", "--snapshots", "0", "--out", str(tmp_path)])
    assert done.value.code == 2
    assert "--snapshots must be at least 1, not 0" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
