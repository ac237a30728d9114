"""Several models: seeds (pipeline --seeds) resume between members and give the same submission, which predict.py
gives again from the ensemble directory; k-fold trains each fold once, scores out of fold, chooses thresholds
there and submits the folds' ensemble; thresholds."""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from common.model_dir import CONFIG, MARKER, WEIGHTS
from common.options import ModelDirError
from common.track import choose_thresholds
from tests.conftest import predict_here, run
from tools.kfold import fold_units, write_fold_data
from tools.runs import ROOT, chosen_votes, run_record, train_member
from tools.tracks import track
from tools.validate import validate

TRACK = "event_extraction"


def recipe(small_sample, tiny_bert_dir, epochs=2, name=TRACK):
    return ["--data-dir", str(small_sample / name), "--bert-dir", str(tiny_bert_dir), "--epochs", str(epochs),
            "--batch-size", "8", "--maxlen", "64", "--learning-rate", "2e-3", "--precision", "fp32"]


SHORT_RUN = ["--ema", "0"]  # 24-48 steps: the default weight average (0.95, ~20 steps) would lag a run this short


@pytest.mark.trains
def test_seeds_killed_between_members_resume_to_the_same_submission(small_sample, tiny_bert_dir, tmp_path):
    full = tmp_path / "full"
    args = ["-m", "pipeline", TRACK, *recipe(small_sample, tiny_bert_dir), "--train-args", " ".join(SHORT_RUN), "--seeds", "2"]
    result = run(*args, "--out", str(full))
    assert result.returncode == 0, result.stderr[-3000:]
    seeds = json.load(open(full / "seeds.json"))
    assert len(seeds["members"]) == 2 and 0.3 <= seeds["ensemble_dev_f1"] <= 1
    test = small_sample / TRACK / "test1.json"
    assert validate(TRACK, str(test), str(full / "submission.json")) == ([], 32)
    # the ensemble decodes at its members' mean thresholds, each chosen on dev for its model; OUT is an ensemble
    # directory: predict.py --model-dir OUT predicts as the submission was made, reading the thresholds
    # ensemble.json names (at 1.0 nothing fires) or, where it names none, the members'
    ensemble = json.load(open(full / "ensemble.json"))
    assert ensemble["members"] == ["seed-42", "seed-43"] and ensemble["thresholds"] is None
    configs = [json.load(open(full / member / "config.json")) for member in ensemble["members"]]
    chosen = configs[0]["thresholds"]["setting"]
    assert seeds["thresholds"] == {k: pytest.approx((configs[0]["config"][k] + configs[1]["config"][k]) / 2)
                                   for k in chosen}
    strict = tmp_path / "strict"
    strict.mkdir()
    (strict / "ensemble.json").write_text(json.dumps(dict(ensemble, members=[str(full / "seed-42"),
                                                                             str(full / "seed-43")],
                                                          thresholds={"threshold": 1.0})))
    for directory, output in ((full, "again.json"), (strict, "strict.json")):
        result = predict_here(TRACK, "--model-dir", str(directory), "--input", str(test), "--output",
                              str(tmp_path / output))
        assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "again.json").read_bytes() == (full / "submission.json").read_bytes()
    events = [len(json.loads(line)["event_list"]) for name in ("again.json", "strict.json")
              for line in open(tmp_path / name)]
    assert sum(events[:32]) > 0 and sum(events[32:]) == 0
    report = run("-m", "tools.report", str(full))  # the ensemble's dev predictions against its members' dev file
    assert report.returncode == 0, report.stderr[-3000:]
    assert f"F1 {seeds['ensemble_dev_f1']:.4f}**" in (full / "report" / "report.md").read_text()
    one = run(*args[:-2], "--out", str(full))  # without --seeds 2: one model into it, refused
    assert one.returncode == 2 and one.stderr.strip() == (
        f"error: {full}: holds the members of a --seeds run (seed-S/), not one model; choose another --out "
        "(make: OUT=DIR) for this run, or delete the directory")
    # killed between the members: the first finished, the second never started
    resumed = tmp_path / "resumed"
    shutil.copytree(full / "seed-42", resumed / "seed-42")
    result = run(*args, "--out", str(resumed))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "seed-42: finished, kept" in result.stdout
    assert (resumed / "submission.json").read_bytes() == (full / "submission.json").read_bytes()


@pytest.mark.trains
def test_reading_comprehension_seeds_average_each_members_best_epochs_and_resume_to_the_same_submission(
        small_sample, tiny_bert_dir, tmp_path):
    """SEEDS=N for reading comprehension: each member keeps its SEEDS_SNAPSHOTS best epochs (the others' weights
    removed), the count dev chose is saved, predict.py --model-dir OUT predicts the submission again, and a run
    killed between members ends with the same submission."""
    from common.model_dir import best_epochs, read_metrics

    name, full = "reading_comprehension", tmp_path / "full"
    args = ["-m", "pipeline", name, *recipe(small_sample, tiny_bert_dir, 4, name), "--maxlen", "128",
            "--train-args", "--ema 0", "--seeds", "2"]
    result = run(*args, "--out", str(full))
    assert result.returncode == 0, result.stderr[-3000:]
    kept = track(name).SEEDS_SNAPSHOTS
    for member in ("seed-42", "seed-43"):
        epochs = best_epochs(read_metrics(str(full / member)), kept)
        assert sorted(os.listdir(full / member / "snapshots")) == sorted(f"epoch{e}.weights.h5" for e in epochs)
        assert json.load(open(full / member / "config.json"))["run"]["snapshots"] == kept
    seeds = json.load(open(full / "seeds.json"))
    scores = seeds["chosen_on_dev"]["snapshots_dev_f1"]
    chosen = max(range(1, kept + 1), key=lambda k: (scores[str(k)], -k))  # of equal scores, the fewest
    assert seeds["chosen_on_dev"]["snapshots"] == chosen and seeds["ensemble_dev_f1"] == scores[str(chosen)]
    assert json.load(open(full / "ensemble.json"))["snapshots"] == (None if chosen == 1 else chosen)
    test = small_sample / name / "test1.json"
    assert validate(name, str(test), str(full / "submission.json")) == ([], len(track(name).load(str(test),
                                                                                                  report=False)))
    result = predict_here(name, "--model-dir", str(full), "--input", str(test), "--output", str(tmp_path / "again.json"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "again.json").read_bytes() == (full / "submission.json").read_bytes()
    resumed = tmp_path / "resumed"  # killed between the members: the first finished, the second never started
    shutil.copytree(full / "seed-42", resumed / "seed-42")
    result = run(*args, "--out", str(resumed))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "seed-42: finished, kept" in result.stdout
    assert (resumed / "submission.json").read_bytes() == (full / "submission.json").read_bytes()


@pytest.mark.trains
def test_kfold_trains_each_fold_once_and_submits_the_folds_ensemble(small_sample, tiny_bert_dir, tmp_path):
    out = tmp_path / "kfold"
    args = ["-m", "tools.kfold", TRACK, "--folds", "2", "--out", str(out), *recipe(small_sample, tiny_bert_dir, 6), *SHORT_RUN]
    first = run(*args, "--fold", "0")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "folds 1 not finished yet" in first.stdout and not (out / "kfold.json").exists()
    second = run(*args)  # every fold: the finished one is kept, and the last to finish writes the results
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count("finished, kept") == 1 and "fold-1/model --overwrite" in second.stdout
    result = json.load(open(out / "kfold.json"))
    assert 0.2 <= result["out_of_fold_f1"] <= 1 and result["out_of_fold_f1"] >= result["out_of_fold_f1_fixed"]
    report = run("-m", "tools.report", str(out))  # the out-of-fold predictions against every held-out fold
    assert report.returncode == 0, report.stderr[-3000:]
    assert f"F1 {result['out_of_fold_f1']:.4f}**" in (out / "report" / "report.md").read_text()
    for i in (0, 1):  # the thresholds chosen out of fold, saved in every fold; train.py got the recipe whole
        config = json.load(open(out / f"fold-{i}" / "model" / "config.json"))
        assert config["config"]["threshold"] == result["thresholds"]["threshold"]
        assert (config["run"]["batch_size"], config["run"]["maxlen"]) == (8, 64)
    folds = [[json.loads(line)["id"] for line in open(out / f"fold-{i}" / "data" / "dev.json")] for i in (0, 1)]
    everything = [json.loads(line)["id"] for name in ("train.json", "dev.json")
                  for line in open(small_sample / TRACK / name)]
    assert sorted(folds[0] + folds[1]) == sorted(everything) and not set(folds[0]) & set(folds[1])
    test = small_sample / TRACK / "test1.json"
    assert validate(TRACK, str(test), str(out / "submission.json")) == ([], 32)
    ensemble = json.load(open(out / "ensemble.json"))  # predict.py --model-dir OUT: the folds' ensemble
    assert ensemble["members"] == ["fold-0/model", "fold-1/model"] and ensemble["thresholds"] == result["thresholds"]


@pytest.mark.trains
def test_kfold_votes_where_asked_each_fold_at_the_thresholds_chosen_out_of_fold(small_sample, tiny_bert_dir,
                                                                                 tmp_path):
    name, out = "relation_extraction", tmp_path / "kfold"
    for refused, message in ((["event_extraction", "--votes", "1"], "event_extraction models do not vote"),
                             ([name, "--votes", "3"],
                              "--votes: 3 is not above 0 and at most the members' total weight, 2")):
        result = run("-m", "tools.kfold", *refused, "--folds", "2", "--data-dir", "x", "--bert-dir", "y", "--out",
                     str(out))
        assert result.returncode == 2 and message in result.stderr and not out.exists()
    # make relation_extraction FOLDS=2 VOTES=1 ...: the pipeline hands the recipe to tools.kfold, which hands
    # train.py what it does not take itself
    result = run("-m", "pipeline", name, "--folds", "2", "--votes", "1", "--out", str(out),
                 *recipe(small_sample, tiny_bert_dir, 6, name), "--train-args", " ".join(SHORT_RUN))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2-fold ensemble (a vote of at least 1)" in result.stdout
    ensemble = json.load(open(out / "ensemble.json"))
    assert (ensemble["votes"], ensemble["thresholds"]) == (1, None)
    chosen = json.load(open(out / "kfold.json"))["thresholds"]
    for i in (0, 1):
        config = json.load(open(out / f"fold-{i}" / "model" / "config.json"))
        assert all(config["config"][k] == v for k, v in chosen.items())
        assert (config["run"]["batch_size"], config["run"]["ema"]) == (8, 0)
    # the submission is the union of the fold models' SPOs, each fold at its own (out-of-fold) thresholds
    test, union = small_sample / name / "test1_data.json", tmp_path / "union.json"
    folds = [str(out / f"fold-{i}" / "model") for i in (0, 1)]
    result = predict_here(name, "--model-dir", *folds, "--votes", "1", "--input", str(test), "--output", str(union))
    assert result.returncode == 0, result.stderr[-3000:]
    with zipfile.ZipFile(out / "submission.zip") as z:
        assert [z.read(n) for n in z.namelist()] == [union.read_bytes()]
    assert sum(len(json.loads(line)["spo_list"]) for line in open(union)) > 0
    # run again without --votes: the trained folds are kept, and the ensemble averages at the same thresholds
    summary = json.load(open(out / "kfold.json"))
    again = run("-m", "tools.kfold", name, "--folds", "2", "--out", str(out),
                *recipe(small_sample, tiny_bert_dir, 6, name), *SHORT_RUN)  # the same settings: the folds are kept
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("finished, kept") == 2 and "(averaged)" in again.stdout
    assert json.load(open(out / "kfold.json")) == dict(summary, votes=None)
    assert summary["fixed_thresholds"] == {"subject_threshold": 0.4, "object_threshold": 0.4}
    ensemble = json.load(open(out / "ensemble.json"))
    assert (ensemble["votes"], ensemble["thresholds"]) == (None, chosen)


def test_thresholds_chosen_by_score_then_nearest_the_current_setting():
    grid = [{"t": 0.2}, {"t": 0.3}, {"t": 0.5}, {"t": 0.6}]
    assert choose_thresholds(grid, [0.1, 0.4, 0.3, 0.4], {"t": 0.5}) == 3  # 0.6 is nearer 0.5 than 0.3
    assert choose_thresholds(grid, [0.1, 0.4, 0.4, 0.4], {"t": 0.5}) == 2  # the current setting itself
    pairs = [{"a": a, "b": b} for a in (0.3, 0.5) for b in (0.3, 0.5)]
    scores, current = [0.9, 0.1, 0.2, 0.5], {"a": 0.5, "b": 0.5}
    assert choose_thresholds(pairs, scores, current) == 0  # together: the best pair
    # in turn: a with b at 0.5 (0.5 scores 0.5 against 0.1), then b with a at 0.5
    assert choose_thresholds(pairs, scores, current, ("a", "b")) == 3
    assert choose_thresholds(pairs, [0.1, 0.2, 0.9, 0.5], current, ("a", "b")) == 2
    assert choose_thresholds(grid, [0.1, 0.4, 0.3, 0.4], {"t": 0.5}, ("t", "absent")) == 3  # keys the grid lacks


def test_a_vote_replaces_the_average_only_where_it_scores_higher_on_dev():
    assert chosen_votes({1: 0.65, 2: 0.61, 3: 0.48}, 0.60) == 1
    assert chosen_votes({1: 0.5, 2: 0.61, 3: 0.61}, 0.60) == 2  # of equal scores, the fewest votes
    assert chosen_votes({1: 0.5, 2: 0.60}, 0.60) is None  # a tie keeps the average


def test_a_member_directory_is_kept_only_for_the_settings_it_was_trained_with(tmp_path, capsys):
    name, data, bert = "relation_extraction", tmp_path / "data", tmp_path / "bert"
    data.mkdir(), bert.mkdir()
    arguments = ["--data-dir", str(data), "--bert-dir", str(bert), "--epochs", "2", "--precision", "fp32"]
    member = tmp_path / "seed-42"
    member.mkdir()
    record = run_record(name, str(member), arguments)  # as train.py records it (the e2e tests keep real members)
    (member / CONFIG).write_text(json.dumps({"track": name, "config": {}, "run": record}))
    (member / WEIGHTS).write_text("")

    def never(command):
        raise AssertionError(f"trained again: {command}")

    # the same data and BERT by another path, another precision: the same member
    same = ["--data-dir", str(data) + "/.", "--bert-dir", str(bert), "--epochs", "2", "--precision", "bf16"]
    train_member(name, str(member), same, run=never)
    assert f"{member}: finished, kept" in capsys.readouterr().out
    anew = []  # --overwrite asks for it anew, whatever the member holds
    train_member(name, str(member), arguments + ["--epochs", "3", "--overwrite"], run=anew.append)
    assert len(anew) == 1 and anew[0].count("--overwrite") == 1 and anew[0][-1] == "--overwrite"
    other_bert = tmp_path / "bert-large"
    other_bert.mkdir()
    for changed, message in ((["--epochs", "3"], "--epochs 2 -> 3"), (["--seed", "7"], "--seed 42 -> 7"),
                             (["--bert-dir", str(other_bert)], f"--bert-dir {str(bert)!r} -> {str(other_bert)!r}")):
        with pytest.raises(ModelDirError, match="trained with other settings") as refused:
            train_member(name, str(member), arguments + changed, run=never)
        assert message in str(refused.value) and str(member) in str(refused.value)
    (member / MARKER).write_text("{}")  # interrupted: resumed with its settings only
    with pytest.raises(ModelDirError, match="--epochs 2 -> 3"):
        train_member(name, str(member), arguments + ["--epochs", "3"], run=never)
    resumed = []
    train_member(name, str(member), arguments, run=resumed.append)
    assert resumed and resumed[0][-1] == "--overwrite"  # no resume point yet: train.py starts the member anew
    # the BERT directory it was trained with is not here (a shared directory mounted elsewhere): taken as the same
    bert.rename(tmp_path / "moved")
    train_member(name, str(member), ["--data-dir", str(data), "--bert-dir", str(other_bert), "--epochs", "2"],
                 run=resumed.append)
    assert len(resumed) == 2


def test_kfold_refuses_fold_data_of_another_cut(small_sample, tmp_path):
    t, out = track("event_extraction"), tmp_path / "kfold"
    files = {"train": str(small_sample / t.NAME / "train.json"), "dev": str(small_sample / t.NAME / "dev.json"),
             "schema": str(small_sample / t.NAME / "event_schema.json")}
    folds, cut = fold_units(t, files, 2)
    data = write_fold_data(t, files, folds, cut, 0, str(out))
    assert write_fold_data(t, files, folds, cut, 0, str(out)) == data  # the same cut: kept
    for k, seed, message in ((3, 0, "fold 0 of 2 folds (--fold-seed 0); this run cuts 3 folds (--fold-seed 0)"),
                             (2, 1, "fold 0 of 2 folds (--fold-seed 0); this run cuts 2 folds (--fold-seed 1)")):
        other_folds, other = fold_units(t, files, k, seed)
        with pytest.raises(ModelDirError) as refused:
            write_fold_data(t, files, other_folds, other, 0, str(out))
        assert message in str(refused.value) and "choose another --out" in str(refused.value)
    shorter = dict(files, train=str(tmp_path / "train.json"))
    with open(files["train"], encoding="utf-8") as f:
        (tmp_path / "train.json").write_text("".join(f.readlines()[:-1]), encoding="utf-8")
    with pytest.raises(ModelDirError, match="of other train\\+dev data"):
        write_fold_data(t, shorter, *fold_units(t, shorter, 2), 0, str(out))
    (out / "fold-0" / "data" / "done").write_text("")  # an earlier version's marker: cannot tell, kept
    assert write_fold_data(t, shorter, *fold_units(t, shorter, 2), 0, str(out)) == data


@pytest.mark.trains
def test_the_pipeline_reads_relative_paths_from_the_directory_it_is_run_in(small_sample, tiny_bert_dir, tmp_path):
    name = "relation_extraction"
    shutil.copytree(small_sample / name, tmp_path / "data")
    shutil.copytree(tiny_bert_dir, tmp_path / "bert")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "pipeline.py"), name, "--data-dir", "data",
                             "--bert-dir", "bert", "--out", "runs/re", "--epochs", "1", "--batch-size", "16",
                             "--maxlen", "64", "--precision", "fp32"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    submission = tmp_path / "runs" / "re" / "submission.zip"
    assert validate(name, str(tmp_path / "data" / "test1_data.json"), str(submission))[0] == []
    assert not os.path.exists(os.path.join(ROOT, "runs", "re"))


@pytest.mark.parametrize("name", ["reading_comprehension", "relation_extraction"])
def test_kfold_names_the_malformed_file_it_was_given(name, small_sample, tmp_path):
    # before cutting train+dev into folds: an error names the user's file and line, not the fold's copy of it
    t = track(name)
    for role in ("dev", "schema"):
        if role in t.FILES:
            shutil.copy(small_sample / name / t.FILES[role][0], tmp_path / t.FILES[role][0])
    train = tmp_path / t.FILES["train"][0]
    if name == "reading_comprehension":
        train.write_text('{"data": [{"title": "no paragraphs"}]}')
        where = f"{train}:1: data[0]: missing key 'paragraphs'"
    else:
        with open(small_sample / name / t.FILES["train"][0], encoding="utf-8") as f:
            train.write_text("".join(f.readlines()[:3]) + '{"spo_list": []}\n', encoding="utf-8")
        where = f"{train}:4: missing key 'text'"
    result = run("-m", "tools.kfold", name, "--folds", "2", "--data-dir", str(tmp_path), "--bert-dir", "x",
                 "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and result.stderr.strip() == f"error: {where}"
    assert not (tmp_path / "out").exists()


def test_kfold_refuses_more_folds_than_train_and_dev_hold_units(small_sample, tmp_path):
    from common.data import DataError
    from tools.kfold import fold_units

    t = track("relation_extraction")
    files = {role: str(small_sample / t.NAME / t.FILES[role][0]) for role in ("train", "dev")}
    folds, _ = fold_units(t, files, 128)  # 96 + 32 sentences: one each
    assert sorted(len(f) for f in folds) == [1] * 128
    with pytest.raises(DataError, match=r"hold 128 units \(sentences, paragraphs\) together; --folds 129 needs at "
                                        "least 129, one per fold"):  # an empty fold failed only when its turn came
        fold_units(t, files, 129)


def test_an_out_directory_holds_one_kind_of_run(tmp_path):
    from common.options import ModelDirError
    from tools.runs import check_out

    for kind in ("model", "seeds", "folds"):
        check_out(str(tmp_path / "new"), kind)  # nothing there yet
    model, seeds, folds = (tmp_path / n for n in ("model", "seeds", "folds"))
    for directory, name in ((model, "config.json"), (seeds, "seed-42/training.json"), (folds, "kfold.json")):
        (directory / name).parent.mkdir(parents=True)
        (directory / name).write_text("{}")
    (seeds / "seed-of-another-kind").mkdir()  # not a member's name
    for directory, kind in ((model, "model"), (seeds, "seeds"), (folds, "folds")):
        check_out(str(directory), kind)  # the same kind: kept or resumed
    for directory, kind, message in ((seeds, "model", "holds the members of a --seeds run (seed-S/), not one model"),
                                     (model, "seeds", "holds one model, not the members of a --seeds run"),
                                     (seeds, "folds", "holds the members of a --seeds run (seed-S/), not the folds"),
                                     (folds, "model", "holds the folds of a k-fold run (fold-I/), not one model")):
        with pytest.raises(ModelDirError, match=re.escape(f"{directory}: {message}")):
            check_out(str(directory), kind)
    with pytest.raises(ModelDirError, match=re.escape(f"{model / 'config.json'}: a file, not a directory")):
        check_out(str(model / "config.json"), "model")


def test_train_args_give_the_first_seed_of_a_seeds_run():
    from pipeline import _first_seed

    assert _first_seed(["--ema", "0", "--seed=7", "--head", "crf"]) == (7, ["--ema", "0", "--head", "crf"])
    assert _first_seed(["--seed", "3"]) == (3, []) and _first_seed(["--ema", "0"]) == (42, ["--ema", "0"])


@pytest.mark.parametrize("arguments, message", [
    (["--seeds", "0"], "argument --seeds: an integer, 1 or above"),
    (["--folds", "-2"], "argument --folds: an integer, 0 or above"),
    (["--folds", "1"], "--folds 1: k-fold takes 2 folds or more"),
    (["--seeds", "2", "--folds", "3"], "--seeds N or --folds K, not both"),
])
def test_the_pipeline_refuses_a_count_of_seeds_or_folds_naming_it(arguments, message, capsys, tmp_path):
    from pipeline import main

    with pytest.raises(SystemExit):
        main(["relation_extraction", "--out", str(tmp_path / "out"), *arguments])
    assert message in capsys.readouterr().err and not os.path.exists(tmp_path / "out")


def test_the_pipeline_keeps_a_finished_model_and_resumes_an_interrupted_one(tmp_path, monkeypatch, capsys):
    """make TRACK run again: one model is a run of one member, so its hours of training are not thrown away."""
    import pipeline
    import tools.runs

    name, data, bert, out = "relation_extraction", tmp_path / "data", tmp_path / "bert", tmp_path / "out"
    data.mkdir(), bert.mkdir(), out.mkdir()
    arguments = ["--data-dir", str(data), "--bert-dir", str(bert)]
    (out / CONFIG).write_text(json.dumps({"track": name, "config": {}, "run": run_record(name, str(out), arguments)}))
    (out / WEIGHTS).write_text("")
    steps = []
    monkeypatch.setattr(tools.runs, "run_step", steps.append)
    monkeypatch.setattr(pipeline, "run_step", steps.append)
    pipeline.main([name, *arguments, "--out", str(out)])
    assert "finished, kept" in capsys.readouterr().out and not any("train.py" in " ".join(s) for s in steps)
    (out / MARKER).write_text("{}")  # interrupted at a resume point
    (out / "resume").mkdir()
    (out / "resume" / "state.json").write_text("{}")
    pipeline.main([name, *arguments, "--out", str(out)])
    trained = [s for s in steps if "train.py" in " ".join(s)]
    assert len(trained) == 1 and trained[0][-1] == "--resume" and "--overwrite" not in trained[0]


def test_a_seeds_run_of_reading_comprehension_saves_the_default_way_to_combine(small_sample, tmp_path, monkeypatch,
                                                                                 capsys):
    """Reading comprehension: SEEDS=N's ensemble.json names no rule, so predict.py --model-dir OUT averages the
    members' probabilities, as predict.py --model-dir A B C does; its members keep their SEEDS_SNAPSHOTS best
    epochs, and the count chosen on dev is saved."""
    import pipeline
    import tools.runs
    from common.model_dir import read_ensemble
    from reading_comprehension import dureader

    name, out = "reading_comprehension", tmp_path / "out"
    gold = dureader.load(str(small_sample / name / "dev.json"), report=False)
    trained, asked = [], []
    monkeypatch.setattr(tools.runs, "train_member", lambda track, member, arguments: trained.append(arguments))
    monkeypatch.setattr(tools.runs, "best_dev", lambda member: (30.0, None))
    choice = {"votes": None, "snapshots": 2, "snapshots_dev_f1": {1: 90.0, 2: 100.0, 3: 95.0}}
    monkeypatch.setattr(tools.runs, "ensemble_on_dev", lambda track, members, dev, snapshots: (
        asked.append(snapshots), (None, gold, {q.id: q.answers[0] for q in gold}, choice))[1])
    pipeline.train_seeds(name, str(out), 2, ["--data-dir", str(small_sample / name)])
    kept = track(name).SEEDS_SNAPSHOTS
    assert kept > 1 and asked == [kept]
    assert all(a[a.index("--snapshots") + 1] == str(kept) for a in trained) and len(trained) == 2
    saved = read_ensemble(str(out), track(name))
    assert saved["combine"] is None and saved["chosen_on"] == "dev" and saved["votes"] is None
    assert saved["snapshots"] == 2
    assert json.load(open(out / "seeds.json"))["ensemble_dev_f1"] == 100.0
    printed = capsys.readouterr().out
    assert "ensemble of 2 seeds: dev F1 100.0000 averaged, each member by its 2 best epochs\n" in printed
    assert "dev F1 by the count of best epochs a member: 1: 90.0000, 2: 100.0000, 3: 95.0000" in printed


def test_a_seeds_run_keeps_the_snapshots_its_recipe_asks_for(small_sample, tmp_path, monkeypatch):
    """--train-args "--snapshots K" overrides the track's SEEDS_SNAPSHOTS; where dev keeps 1, ensemble.json says
    null (each member's best epoch)."""
    import pipeline
    import tools.runs
    from common.model_dir import read_ensemble
    from reading_comprehension import dureader

    name, out = "reading_comprehension", tmp_path / "out"
    gold = dureader.load(str(small_sample / name / "dev.json"), report=False)
    trained = []
    monkeypatch.setattr(tools.runs, "train_member", lambda track, member, arguments: trained.append(arguments))
    monkeypatch.setattr(tools.runs, "best_dev", lambda member: (30.0, None))
    monkeypatch.setattr(tools.runs, "ensemble_on_dev", lambda track, members, dev, snapshots: (
        None, gold, {q.id: q.answers[0] for q in gold}, {"votes": None, "snapshots": 1,
                                                          "snapshots_dev_f1": dict.fromkeys(range(1, snapshots + 1), 1.0)}))
    pipeline.train_seeds(name, str(out), 2, ["--data-dir", str(small_sample / name), "--snapshots", "5"])
    assert all(a.count("--snapshots") == 1 and a[a.index("--snapshots") + 1] == "5" for a in trained)
    trained.clear()
    pipeline.train_seeds(name, str(out), 1, ["--data-dir", str(small_sample / name), "--snapshots=2"])
    assert trained == [["--data-dir", str(small_sample / name), "--snapshots=2", "--seed", "42"]]
    assert read_ensemble(str(out), track(name))["snapshots"] is None


def test_the_pipeline_expands_a_leading_tilde_that_make_quoted(tmp_path, monkeypatch, capsys):
    """make quotes DATA_DIR, BERT_DIR and OUT (paths may hold spaces), so the shell leaves DATA_DIR="~/data" as it
    is: the pipeline reads it as the home folder's, as the README's example writes it."""
    import pipeline

    monkeypatch.setenv("HOME", str(tmp_path))
    name = "relation_extraction"
    data, bert, out = tmp_path / "my data", tmp_path / "bert", tmp_path / "out"
    data.mkdir(), bert.mkdir(), out.mkdir()
    arguments = ["--data-dir", str(data), "--bert-dir", str(bert)]
    (out / CONFIG).write_text(json.dumps({"track": name, "config": {}, "run": run_record(name, str(out), arguments)}))
    (out / WEIGHTS).write_text("")
    steps = []
    monkeypatch.setattr(pipeline, "run_step", steps.append)
    pipeline.main([name, "--data-dir", "~/my data", "--bert-dir", "~/bert", "--out", "~/out"])
    assert f"{out}: finished, kept" in capsys.readouterr().out  # the same run, so no setting is refused
    assert steps and steps[0][-1] == str(out)  # the report of ~/out


def test_ctrl_c_stops_a_step_in_one_line_and_leaves_the_step_to_stop_itself(tmp_path):
    """Ctrl-C reaches every process of the terminal's group: the step (train.py) stops as it must (saving a resume
    point) and the run above it reports one line, not a KeyboardInterrupt traceback, as it waits."""
    script = tmp_path / "steps.py"
    script.write_text(
        "import sys\nfrom tools.runs import run_step\n"
        # the step interrupts its parent, then finishes: the parent waits for it, untouched
        "run_step([sys.executable, '-c', 'import os, signal; os.kill(os.getppid(), signal.SIGINT)'])\n"
        "print('went on')\n"
        "run_step([sys.executable, '-c', 'import os, signal; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.kill(os.getpid(), signal.SIGINT)'])\n"  # a step that Ctrl-C stops
        "print('not reached')\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 130 and "went on" in result.stdout and "not reached" not in result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("interrupted (Ctrl-C): ")
    assert "Traceback" not in result.stderr
