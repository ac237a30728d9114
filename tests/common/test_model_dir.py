"""Model directories written before config.json (args.json beside the weights) still predict, or are refused in
one line saying what to re-run."""
import json
import shutil

import pytest

from tests.conftest import predict_here, run


def as_earlier_version(model, out, **changes):
    """A copy of a model directory as an earlier version wrote it: its settings in args.json (the run's
    arguments and the values train.py derived from the data), no config.json."""
    shutil.copytree(model, out, ignore=shutil.ignore_patterns("report", "tensorboard", "resume", "config.json"))
    doc = json.load(open(model / "config.json"))
    args = dict(doc["run"], **{k: v for k, v in doc["config"].items() if k != "schema"}, **changes)
    (out / "args.json").write_text(json.dumps(args))
    if "schema" in doc["config"]:
        (out / "schema.json").write_text("".join(json.dumps(s, ensure_ascii=False) + "\n"
                                                 for s in doc["config"]["schema"]), encoding="utf-8")
    return out


@pytest.mark.trains
def test_a_directory_with_args_json_predicts_what_it_did(trained, small_sample, tmp_path):
    model = trained("reading_comprehension")
    old = as_earlier_version(model, tmp_path / "old")
    test = str(small_sample / "reading_comprehension" / "test1.json")
    for name, directory in (("new", model), ("old", old)):
        result = predict_here("reading_comprehension", "--model-dir", str(directory), "--input", test,
                     "--output", str(tmp_path / f"{name}.json"), "--precision", "fp32")
        assert result.returncode == 0, result.stderr[-3000:]
    assert not (old / "config.json").exists()
    assert (tmp_path / "old.json").read_bytes() == (tmp_path / "new.json").read_bytes()


@pytest.mark.trains
def test_a_directory_of_a_head_that_is_gone_is_refused_in_one_line(trained, small_sample, tmp_path):
    old = as_earlier_version(trained("relation_extraction"), tmp_path / "old", head="tagging")
    result = run("relation_extraction/predict.py", "--model-dir", str(old), "--input",
                 str(small_sample / "relation_extraction" / "test1_data.json"), "--output", str(tmp_path / "s.zip"))
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert last.startswith("error: ") and "tagging head" in last and "train again" in last


def test_an_ensemble_directory_names_its_members_relative_to_itself_and_is_checked(tmp_path):
    from types import SimpleNamespace

    from common.model_dir import RUN_FILES, holds_run, load_model_dir, model_dirs_in, read_ensemble, write_ensemble
    from common.options import ModelDirError

    track = SimpleNamespace(NAME="event_extraction")
    seeds, folds = tmp_path / "seeds", tmp_path / "folds"
    write_ensemble(str(seeds), track.NAME, [str(seeds / "seed-42"), str(seeds / "seed-43")], {"threshold": 0.3},
                   chosen_on="dev")
    write_ensemble(str(folds), track.NAME, [str(folds / "fold-0" / "model"), str(seeds)], weights=[1, 2])
    assert json.load(open(seeds / "ensemble.json"))["members"] == ["seed-42", "seed-43"]
    assert holds_run(str(seeds)) and "ensemble.json" in RUN_FILES  # train.py into it needs --overwrite, which clears it
    moved = tmp_path / "moved"
    shutil.move(str(seeds), moved)  # a moved ensemble directory still finds its members
    assert read_ensemble(str(moved), track)["members"] == [str(moved / "seed-42"), str(moved / "seed-43")]
    assert read_ensemble(str(moved), track)["thresholds"] == {"threshold": 0.3}
    (moved / "ensemble.json").write_text(json.dumps({"track": track.NAME, "members": ["seed-42"]}))  # by hand
    assert read_ensemble(str(moved), track) == {"track": track.NAME, "members": [str(moved / "seed-42")],
                                                "weights": None, "thresholds": None, "votes": None, "combine": None,
                                                "snapshots": None, "chosen_on": None}
    write_ensemble(str(moved), track.NAME, [str(moved / "seed-42"), str(moved / "seed-43")], {"threshold": 0.3},
                   chosen_on="dev")
    shutil.move(str(moved), seeds)
    # an ensemble of ensembles stands for all their models
    assert model_dirs_in(str(folds), track) == [str(folds / "fold-0" / "model"), str(seeds / "seed-42"),
                                                str(seeds / "seed-43")]
    assert model_dirs_in(str(seeds / "seed-42"), track) == [str(seeds / "seed-42")]
    with pytest.raises(ModelDirError, match=r"seeds.*an ensemble directory \(ensemble.json\), not one model"):
        load_model_dir(str(seeds), track)
    bad = tmp_path / "bad"
    for doc, message in (({"track": "relation_extraction", "members": ["a"]}, "an ensemble of relation_extraction"),
                         ({"track": track.NAME, "members": []}, "should be a non-empty list"),
                         ({"track": track.NAME, "members": ["a", "b"], "weights": [1, -1]}, "non-negative"),
                         ({"track": track.NAME, "members": ["a", "b"], "weights": [1]}, "one finite non-negative"),
                         ({"track": track.NAME, "members": ["a", "b"], "weights": [1, float("inf")]}, "finite"),
                         ({"track": track.NAME, "members": ["a", "b"], "weights": [1, float("nan")]}, "finite"),
                         ({"track": track.NAME, "members": [".", "a"]}, "the ensemble is its own member"),
                         ({"track": track.NAME, "members": ["a"], "votes": 1}, "event_extraction models do not vote"),
                         ({"track": track.NAME, "members": ["a"], "thresholds": 0.3}, "should be null or an object"),
                         ({"track": track.NAME, "members": ["a"], "thresholds": {"threshold": "0.3"}}, "of numbers"),
                         ({"track": track.NAME, "members": ["a"], "snapshots": 0}, "1 or more; not 0"),
                         ({"track": track.NAME, "members": ["a"], "snapshots": 2.5}, "1 or more; not 2.5"),
                         ({"track": track.NAME, "members": ["a"], "snapshots": True}, "1 or more; not True"),
                         (["a"], "should hold a JSON object")):
        bad.mkdir(exist_ok=True)
        (bad / "ensemble.json").write_text(json.dumps(doc))
        with pytest.raises(ModelDirError, match=message) as caught:
            model_dirs_in(str(bad), track)
        assert str(bad / "ensemble.json") in str(caught.value)

    voting = SimpleNamespace(NAME="relation_extraction", vote_key=str)  # a track whose models may vote
    write_ensemble(str(bad), voting.NAME, [str(bad / "a"), str(bad / "b")], votes=2)
    assert read_ensemble(str(bad), voting)["votes"] == 2
    for doc, message in (({"votes": 3}, r"3 is not above 0 and at most the members' total weight, 2$"),
                         ({"votes": 0}, r"0 is not above 0 and at most the members' total weight, 2$"),
                         ({"votes": 3, "weights": [1, 1.5]}, r"3 is not above 0 .* total weight, 2.5$"),
                         ({"votes": "2"}, r"'2' is not a number$"), ({"votes": True}, r"True is not a number$"),
                         ({"votes": 2, "thresholds": {"subject_threshold": 0.5}}, r"goes with \"thresholds\" null")):
        (bad / "ensemble.json").write_text(json.dumps(dict({"track": voting.NAME, "members": ["a", "b"]}, **doc)))
        with pytest.raises(ModelDirError, match=message) as caught:
            read_ensemble(str(bad), voting)
        assert str(caught.value).startswith(f"{bad / 'ensemble.json'}: \"votes\"")

    combining = SimpleNamespace(NAME="reading_comprehension", COMBINE_RULES=("probabilities", "span probabilities"))
    (bad / "ensemble.json").write_text(json.dumps({"track": combining.NAME, "members": ["a", "b"],
                                                   "combine": "span probabilities"}))  # predict.py --combine's
    assert read_ensemble(str(bad), combining)["combine"] == "span probabilities"
    for named, doc, message in (
            (combining, {"combine": "mean"},
             r": 'mean' is not one of probabilities, span probabilities \(or null: probabilities\)$"),
            (combining, {"combine": ["probabilities"]}, r": \['probabilities'\] is not one of"),
            (track, {"combine": "probabilities"},
             ": event_extraction ensembles have one way to combine their models; leave it null$"),
            (voting, {"combine": "probabilities"}, ": relation_extraction ensembles have one way")):
        (bad / "ensemble.json").write_text(json.dumps(dict({"track": named.NAME, "members": ["a", "b"]}, **doc)))
        with pytest.raises(ModelDirError, match=r"ensemble.json: \"combine\"" + message):
            read_ensemble(str(bad), named)


def test_the_best_epochs_rank_by_dev_and_keep_the_earlier_of_equal_scores():
    from common.model_dir import best_epochs

    history = [{"epoch": e, "dev_f1": f} for e, f in enumerate([0.5, 0.9, 0.3, 0.7, 0.9], 1)]
    assert best_epochs(history, 1) == [2]  # the epoch model.weights.h5 holds: the first best
    assert best_epochs(history, 3) == [2, 5, 4] and best_epochs(history, 9) == [2, 5, 4, 1, 3]
    assert best_epochs([{"epoch": 1, "dev_score": -2.0}, {"epoch": 2, "dev_score": -1.0}], 1, "dev_score") == [2]


def test_snapshot_paths_name_the_kept_weights_or_say_what_is_missing(tmp_path):
    from common.model_dir import snapshot_paths
    from common.options import ModelDirError

    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps({"epoch": e, "dev_f1": f}) + "\n"
                                                    for e, f in enumerate([0.5, 0.9, 0.3, 0.7], 1)))
    assert snapshot_paths(str(tmp_path), 1) == [str(tmp_path / "model.weights.h5")]
    with pytest.raises(ModelDirError, match=r"holds the weights of 1 of its best epochs, not 2; train it with "
                                            r"train.py --snapshots 2 \(or more\)") as caught:
        snapshot_paths(str(tmp_path), 2)
    assert str(tmp_path) in str(caught.value)
    with pytest.raises(ModelDirError, match="not 5"):  # more than the run had epochs
        snapshot_paths(str(tmp_path), 5)
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "snapshots" / "epoch4.weights.h5").write_bytes(b"torn")
    with pytest.raises(ModelDirError, match=r"epoch4.weights.h5: unreadable weights file"):
        snapshot_paths(str(tmp_path), 2)
