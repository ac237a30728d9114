"""Ensembles at predict time: averaging is exact (one model, or N copies of one, predicts what that model does),
weights are checked, models that read text differently are refused naming both directories when averaged (a vote
needs only one schema)."""
import json
import shutil

import numpy as np
import pytest

from common.ensemble import OutputMemory, Voting, mean_weights, vote, weighted_mean
from tests.conftest import predict_here, run

TEST_FILES = {"relation_extraction": "test1_data.json", "event_extraction": "test1.json",
              "reading_comprehension": "test1.json"}


def submission(path):
    import zipfile

    if str(path).endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            return z.read(z.namelist()[0])
    return open(path, "rb").read()


@pytest.mark.trains
@pytest.mark.parametrize("track", ["relation_extraction", "event_extraction", "reading_comprehension"])
def test_an_ensemble_of_copies_of_one_model_predicts_what_the_model_does(trained, small_sample, tmp_path, track):
    model = str(trained(track))
    test = small_sample / track / TEST_FILES[track]  # texts of the sample data's kind, 32 of them
    ext = ".zip" if track == "relation_extraction" else ".json"
    outputs = {}
    for name, dirs in (("one", [model]), ("copies", [model] * 3 + ["--weights", "1", "2", "3"])):
        result = predict_here(track, "--model-dir", *dirs, "--input", str(test), "--output",
                     str(tmp_path / (name + ext)), "--precision", "fp32")
        assert result.returncode == 0, result.stderr[-3000:]
        outputs[name] = submission(tmp_path / (name + ext))
    assert outputs["copies"] == outputs["one"] and len(outputs["one"]) > 100
    if track == "relation_extraction":  # an ensemble directory whose copies vote: 2 of 3 keep what each predicts
        (tmp_path / "voting").mkdir()
        (tmp_path / "voting" / "ensemble.json").write_text(json.dumps(
            {"track": track, "members": [model] * 3, "weights": None, "thresholds": None, "votes": 2}))
        result = predict_here(track, "--model-dir", str(tmp_path / "voting"), "--input", str(test),
                     "--output", str(tmp_path / "voting.zip"), "--precision", "fp32")
        assert result.returncode == 0, result.stderr[-3000:]
        assert submission(tmp_path / "voting.zip") == outputs["one"]
        from common.options import ModelDirError
        from common.track import load_predictor
        from tools.tracks import track as track_named

        with pytest.raises(ModelDirError, match="ensemble.json: its members vote, so it cannot be averaged"):
            load_predictor(track_named(track), [str(tmp_path / "voting"), model])  # refused before any is built
    if track == "event_extraction":  # thresholds an ensemble directory sets: a key it lacks keeps the members' mean
        from common.options import ModelDirError
        from common.track import load_predictor
        from event_extraction import track as ee

        own = load_predictor(ee, model).thresholds
        for name, thresholds in (("older", {"threshold": 0.3}), ("unknown", {"subject_threshold": 0.3})):
            (tmp_path / name).mkdir()
            (tmp_path / name / "ensemble.json").write_text(json.dumps(
                {"track": track, "members": [model] * 2, "thresholds": thresholds}))
        assert set(own) == {"threshold", "argument_threshold"}
        assert load_predictor(ee, str(tmp_path / "older")).thresholds == {**own, "threshold": 0.3}
        with pytest.raises(ModelDirError, match=r"ensemble.json: \"thresholds\" should set \['argument_threshold', "
                                                r"'threshold'\]"):
            load_predictor(ee, str(tmp_path / "unknown"))
    if track == "reading_comprehension":  # copies combined by each rule; the rule an ensemble directory names
        from common.track import load_predictor
        from reading_comprehension import track as rc
        from tools.runs import ensemble_on_dev

        for rule in rc.COMBINE_RULES:
            (tmp_path / rule).mkdir()
            (tmp_path / rule / "ensemble.json").write_text(json.dumps(
                {"track": track, "members": [model] * 3, "weights": [1, 2, 3], "combine": rule}))
            result = predict_here(track, "--model-dir", str(tmp_path / rule), "--input", str(test),
                                  "--output", str(tmp_path / (rule + ".json")), "--precision", "fp32")
            assert result.returncode == 0, result.stderr[-3000:]
            assert submission(tmp_path / (rule + ".json")) == outputs["one"], rule
        assert load_predictor(rc, str(tmp_path / "span probabilities")).combine == "span probabilities"
        assert load_predictor(rc, str(tmp_path / "span probabilities"), combine="log-probabilities").combine == \
            "log-probabilities"  # predict.py --combine replaces the rule the directory names
        # averaged with a model of the default rule, the ensemble falls back to the default
        assert load_predictor(rc, [str(tmp_path / "span probabilities"), model]).combine is None
        # SEEDS=N's ensemble combines as predict.py --model-dir A B C does, choosing nothing on dev
        dev = str(small_sample / track / "dev.json")
        predictor, items, rows, choice = ensemble_on_dev(track, [model, model], dev,
                                                         precision="fp32")  # "auto" would leave bfloat16 set
        assert choice is None and predictor.combine is None
        alone = load_predictor(rc, model, precision="fp32")
        assert rows == rc.to_submission(items, alone.predict(rc.inputs(items))) and any(rows.values())
        for name, value, message in ((track, "mean", "'mean' is not one of probabilities, log-probabilities, span "
                                                         "probabilities"),
                                     ("event_extraction", "probabilities", "event_extraction ensembles have one way "
                                                                           "to combine their models")):
            result = predict_here(name, "--model-dir", model, "--combine", value, "--input", str(test),
                                  "--output", str(tmp_path / "refused.json"))
            assert result.returncode == 2 and result.stderr.strip() == f"error: --combine: {message}"


@pytest.mark.trains
def test_mixed_vocabularies_and_bad_weights_are_refused_in_one_line(trained, sample_dir, tmp_path):
    model = trained("event_extraction")
    other = tmp_path / "other vocab"
    shutil.copytree(model, other, ignore=shutil.ignore_patterns("report", "tensorboard", "resume"))
    with open(other / "vocab.txt", "a", encoding="utf-8") as f:  # one more token: another vocabulary
        f.write("[unused-extra]\n")
    config = json.load(open(other / "bert_config.json"))
    config["vocab_size"] += 1
    (other / "bert_config.json").write_text(json.dumps(config))
    test = str(sample_dir / "event_extraction" / "test1.json")
    result = run("event_extraction/predict.py", "--model-dir", str(model), str(other), "--input", test,
                 "--output", str(tmp_path / "s.json"))
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and str(model) in last and str(other) in last and "vocabulary" in last
    result = run("event_extraction/predict.py", "--model-dir", str(model), str(model), "--weights", "1",
                 "--input", test, "--output", str(tmp_path / "s.json"))
    assert result.returncode == 2 and "--weights: 1 weights for 2 model directories" in result.stderr
    for weights, message in ((["0", "0"], "--weights: all 0"), (["1", "inf"], "a weight is a finite number"),
                             (["-1", "1"], "a weight is a finite number")):  # refused before a model is built
        result = run("event_extraction/predict.py", "--model-dir", str(model), str(model), "--weights", *weights,
                     "--input", test, "--output", str(tmp_path / "s.json"))
        assert result.returncode == 2 and message in result.stderr.strip().splitlines()[-1], result.stderr[-2000:]
    result = run("event_extraction/predict.py", "--model-dir", str(model), str(model), "--votes", "1",
                 "--input", test, "--output", str(tmp_path / "s.json"))
    assert result.returncode == 2 and "--votes: event_extraction models do not vote" in result.stderr


@pytest.mark.trains
def test_models_that_vote_may_read_text_differently_but_must_share_the_schema(trained, small_sample, tmp_path):
    import zipfile

    model = trained("relation_extraction")
    test = str(small_sample / "relation_extraction" / "test1_data.json")

    def copy(name, change):
        other = tmp_path / name
        shutil.copytree(model, other, ignore=shutil.ignore_patterns("report", "tensorboard", "resume"))
        doc = json.load(open(other / "config.json"))
        change(doc["config"])
        (other / "config.json").write_text(json.dumps(doc))
        return str(other)

    def spos(path):
        with zipfile.ZipFile(path) as z:
            rows = [json.loads(line) for line in z.read(z.namelist()[0]).decode("utf-8").splitlines()]
        return [{json.dumps(spo, sort_keys=True, ensure_ascii=False) for spo in row["spo_list"]} for row in rows]

    shorter = copy("shorter", lambda c: c.update(maxlen=24, do_lower_case=not c["do_lower_case"]))
    outputs = {}
    for name, args in (("one", [model]), ("shorter", [shorter]), ("vote", [model, shorter, "--votes", "2"]),
                       ("averaged", [model, shorter])):
        outputs[name] = predict_here("relation_extraction", "--model-dir", *args, "--input", test, "--output",
                                     str(tmp_path / f"{name}.zip"), "--precision", "fp32")
    last = outputs["averaged"].stderr.strip().splitlines()[-1]
    assert outputs["averaged"].returncode == 2 and "maxlen" in last and "do_lower_case" in last and shorter in last
    assert all(outputs[n].returncode == 0 for n in ("one", "shorter", "vote")), outputs["vote"].stderr[-3000:]
    one, cut, voted = (spos(tmp_path / f"{n}.zip") for n in ("one", "shorter", "vote"))
    assert voted == [a & b for a, b in zip(one, cut)] and one != cut  # 24 tokens cut what the model sees

    other_schema = copy("other schema", lambda c: c.update(schema=c["schema"][:-1]))
    result = predict_here("relation_extraction", "--model-dir", model, other_schema, "--votes", "1", "--input", test,
                          "--output", str(tmp_path / "s.zip"))
    last = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 2 and last.startswith("error: ") and other_schema in last and "differ in schema" in last
    for votes, total in (("3", "2"), ("0", "2"), ("2", "1.5")):  # one check of the vote for every place it is given
        weights = ["--weights", "1", "0.5"] if total == "1.5" else []
        result = predict_here("relation_extraction", "--model-dir", model, shorter, "--votes", votes, *weights,
                              "--input", test, "--output", str(tmp_path / "s.zip"))
        assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == (
            f"error: --votes: {votes} is not above 0 and at most the members' total weight, {total}")


def test_weights_and_the_exact_mean():
    assert mean_weights(2).tolist() == [0.5, 0.5] and mean_weights(2, [1, 3]).tolist() == [0.25, 0.75]
    for weights in ([1], [1, -1], [1, float("inf")], [float("nan"), 1], [0, 0]):
        with pytest.raises(ValueError, match="need 2 finite non-negative weights, not all 0"):
            mean_weights(2, weights)
    x = np.random.default_rng(0).normal(size=(5, 7)).astype("float32")
    assert (weighted_mean([x, x, x], mean_weights(3)) == x).all()
    assert weighted_mean([x], [1.0]) is x
    mixed = weighted_mean([[x, 2 * x], [3 * x, 4 * x]], [0.5, 0.5])
    np.testing.assert_allclose(mixed[0], 2 * x, rtol=1e-6) and np.testing.assert_allclose(mixed[1], 3 * x, rtol=1e-6)


class Listing:
    """A stand-in predictor: its predictions are given."""

    def __init__(self, lists, note=None):
        self.lists, self.models, self.batch_size, self.note = lists, [object()], 32, note

    def predict(self, inputs, progress=None):
        return self.lists

    def warning(self):
        return self.note


def test_the_output_memory_calls_a_model_once_per_batch_while_it_lasts():
    calls = []

    def model(inputs):
        calls.append(inputs)
        return [inputs[0] * 2.0, inputs[0].sum(1)]

    ids = np.arange(6, dtype="int32").reshape(2, 3)
    memory = OutputMemory(limit=2 * (48 + 16))  # room for the outputs of two batches
    first, second = memory.remembered(model), memory.remembered(model)  # two models
    out = first([ids])
    out[0][0, 0] = -1  # a caller changing what it got changes nothing kept
    for a, b in zip(first([ids.copy()]), [ids * 2.0, ids.sum(1)]):  # the same content, another array
        np.testing.assert_array_equal(a, b)
    assert len(calls) == 1
    second([ids])  # another model is called for itself
    first([ids.astype("int64")])  # the same values in another dtype are another batch
    assert len(calls) == 3
    first([ids.astype("int64")])  # the limit was reached: called again, not kept
    first([np.ones((2, 3, 4), "float32")])
    first([np.ones((2, 3, 4), "float32")])  # features are not kept
    assert len(calls) == 6
    memory.close()
    first([ids])
    assert len(calls) == 7 and memory.kept == {}


def test_a_vote_keeps_what_members_of_enough_weight_predict():
    def key(element):
        return element.lower()

    lists = [[["A", "b"], []], [["a", "c"], ["x"]], [["B"], ["x", "x"]]]  # 3 members, 2 items each
    assert vote(lists, [1, 1, 1], 1, key) == [["A", "b", "c"], ["x"]]  # each kept once, as it first appeared
    assert vote(lists, [1, 1, 1], 2, key) == [["A", "b"], ["x"]]
    assert vote(lists, [1, 1, 1], 3, key) == [[], []]  # a member listing "x" twice votes once
    assert vote(lists, [3, 1, 1], 3, key) == [["A", "b"], []]  # the first member alone weighs 3
    one = Listing([["s", "t"], [], ["u"]], note="caps cut")
    copies = Voting([one, one, one], 3, key)  # N copies voting unanimously predict what the one does
    assert copies.predict(["1", "2", "3"]) == one.lists and copies.warning() == "caps cut"
    copies.batch_size = 8
    assert one.batch_size == 8
    for votes, weights in ((4, None), (0, None), (2, [1, 0.5, 0.4])):
        with pytest.raises(ValueError, match="votes must be above 0 and at most the members' total weight"):
            Voting([one, one, one], votes, key, weights)
    with pytest.raises(ValueError, match="3 finite non-negative weights"):
        Voting([one, one, one], 1, key, [1, 1, float("inf")])


@pytest.mark.trains
def test_a_model_directory_by_its_best_epochs_averages_them_as_directories_would(trained, small_sample, tmp_path,
                                                                                  monkeypatch):
    """predict.py --snapshots K: K kept copies of the best weights predict what the model does; a kept epoch of
    other weights averages as a second directory holding them; SEEDS=N's choice of the count on dev keeps the
    fewest of equal scores; a directory keeping fewer is refused in one line."""
    import h5py

    from common.track import load_predictor
    from reading_comprehension import track as rc
    from tools.runs import ensemble_on_dev

    name = "reading_comprehension"
    model = str(trained(name))
    test = str(small_sample / name / TEST_FILES[name])
    kept, other = tmp_path / "kept", tmp_path / "other"
    for directory in (kept, other):
        shutil.copytree(model, directory, ignore=shutil.ignore_patterns("report", "tensorboard", "resume"))
    (kept / "metrics.jsonl").write_text("".join(json.dumps({"epoch": e, "dev_f1": f}) + "\n"
                                                for e, f in enumerate([50.0, 40.0, 30.0], 1)))
    (kept / "snapshots").mkdir()
    for epoch in (2, 3):
        shutil.copyfile(kept / "model.weights.h5", kept / "snapshots" / f"epoch{epoch}.weights.h5")
    outputs = {}
    for label, extra in (("one", []), ("kept", ["--snapshots", "3"])):
        result = predict_here(name, "--model-dir", model if label == "one" else str(kept), *extra, "--input", test,
                              "--output", str(tmp_path / f"{label}.json"), "--precision", "fp32")
        assert result.returncode == 0, result.stderr[-3000:]
        outputs[label] = submission(tmp_path / f"{label}.json")
    assert outputs["kept"] == outputs["one"]
    dev = str(small_sample / name / "dev.json")
    import common.bert

    batches = {}  # each model's batches, by content

    def counted(model):
        call = predict_function(model)

        def count(inputs):
            batches.setdefault(id(count), []).append(b"".join(np.ascontiguousarray(x).tobytes() for x in inputs))
            return call(inputs)
        return count

    predict_function = common.bert.predict_function
    with monkeypatch.context() as patched:
        patched.setattr(common.bert, "predict_function", counted)
        predictor, items, rows, choice = ensemble_on_dev(name, [str(kept)] * 2, dev, precision="fp32", snapshots=3)
    # scored for 1, 2 and 3 epochs a member, each of the 6 models is called once on each batch of dev
    assert len([b for b in batches.values() if b]) == 6
    assert all(len(b) == len(set(b)) == len(next(iter(batches.values()))) > 0 for b in batches.values())
    assert choice["snapshots"] == 1 and len(set(choice["snapshots_dev_f1"].values())) == 1
    assert len(predictor.models) == 2 and choice["votes"] is None

    rng = np.random.default_rng(0)  # other weights: kept as epoch 2, and as the second directory's best
    with h5py.File(other / "model.weights.h5", "r+") as f:
        f.visititems(lambda path, item: item.write_direct(
            (item[()] + rng.normal(0, 0.5, item.shape)).astype(item.dtype)) if isinstance(item, h5py.Dataset)
            and item.dtype.kind == "f" else None)
    shutil.copyfile(other / "model.weights.h5", kept / "snapshots" / "epoch2.weights.h5")
    items = rc.load(test, report=False)
    by_epochs = load_predictor(rc, str(kept), precision="fp32", snapshots=2).predict(rc.inputs(items))
    by_directories = load_predictor(rc, [model, str(other)], precision="fp32").predict(rc.inputs(items))
    alone = load_predictor(rc, model, precision="fp32").predict(rc.inputs(items))
    assert by_epochs == by_directories and by_epochs != alone
    (tmp_path / "seeds").mkdir()  # an ensemble directory whose members average their 2 best epochs
    (tmp_path / "seeds" / "ensemble.json").write_text(json.dumps({"track": name, "members": [str(kept)],
                                                                  "snapshots": 2}))
    assert load_predictor(rc, str(tmp_path / "seeds"), precision="fp32").predict(rc.inputs(items)) == by_epochs

    for dirs, count, message in (([str(kept), model], "2", f"error: {model}: holds the weights of 1 of its best "
                                                            "epochs, not 2; train it with train.py --snapshots 2 (or more)"),
                                 ([str(kept)], "4", f"error: {kept}: holds the weights of 3 of its best epochs, not 4"),
                                 ([str(kept)], "0", "argument --snapshots: an integer, 1 or above")):
        result = predict_here(name, "--model-dir", *dirs, "--snapshots", count, "--input", test, "--output",
                              str(tmp_path / "refused.json"))
        assert result.returncode == 2 and message in result.stderr.strip().splitlines()[-1], result.stderr[-2000:]
    result = predict_here("relation_extraction", "--model-dir", model, "--snapshots", "2", "--votes", "1", "--input",
                          test, "--output", str(tmp_path / "refused.json"))
    assert result.returncode == 2 and "--snapshots 2 goes with averaging" in result.stderr
