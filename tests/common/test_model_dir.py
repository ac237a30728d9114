"""Model directories written before config.json (args.json beside the weights) still predict, or are refused in
one line saying what to re-run."""
import json
import shutil

import pytest

from tests.conftest import run


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
        result = run("reading_comprehension/predict.py", "--model-dir", str(directory), "--input", test,
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
