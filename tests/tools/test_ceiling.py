"""tools.ceiling: the score a perfect model reaches under a track's encoding, and its errors in one line."""
import json

import pytest

from common import cli
from tools.ceiling import main


def ceiling_of(capsys, *argv):
    main(list(argv) + ["--json"])
    return json.loads(capsys.readouterr().out)


def test_windows_too_short_for_both_ends_of_an_spo_lower_the_ceiling(capsys, sample_dir, tiny_bert_dir):
    data = sample_dir / "relation_extraction"
    common = ["relation_extraction", "--data", str(data / "train_data.json"), "--schema", str(data / "schema.json"),
              "--bert-dir", str(tiny_bert_dir)]
    whole = ceiling_of(capsys, *common, "--maxlen", "256")
    cut = ceiling_of(capsys, *common, "--maxlen", "32")
    assert whole == {"precision": 1.0, "recall": 1.0, "f1": 1.0}  # the sample's SPOs all fit its encoding
    assert cut["precision"] == 1.0 and cut["recall"] < 1.0  # lost, never invented


@pytest.mark.parametrize("options, message", [(["--maxlen", "2"], "error: --maxlen 2: a window needs at least 16"),
                                              (["--stride", "0"], "error: --stride 0 must be between 1 and"),
                                              (["--bert-dir", "nowhere"], "error: nowhere: no such directory")])
def test_bad_settings_are_refused_in_one_line(capsys, sample_dir, tiny_bert_dir, options, message):
    data = sample_dir / "event_extraction"
    argv = ["event_extraction", "--data", str(data / "train.json"), "--schema", str(data / "event_schema.json"),
            "--bert-dir", str(tiny_bert_dir), *options]
    with pytest.raises(SystemExit) as stopped:
        cli.run(lambda: main(argv))  # as `python -m tools.ceiling` runs it
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(message)


def test_the_ceiling_reads_text_with_the_checkpoints_casing(capsys, monkeypatch, sample_dir, tiny_bert_dir, tmp_path):
    """A cased checkpoint (tokenizer_config.json: do_lower_case false) is tokenized cased, as train.py does."""
    import shutil

    import common.tokenization

    bert = tmp_path / "cased"
    shutil.copytree(tiny_bert_dir, bert)
    (bert / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    casings, load = [], common.tokenization.load_tokenizer
    monkeypatch.setattr(common.tokenization, "load_tokenizer",
                        lambda vocab, word_level=False, lower_case=True: casings.append(lower_case) or load(
                            vocab, word_level, lower_case))
    data = sample_dir / "event_extraction"
    for folder in (tiny_bert_dir, bert):
        ceiling_of(capsys, "event_extraction", "--data", str(data / "dev.json"), "--schema",
                   str(data / "event_schema.json"), "--bert-dir", str(folder))
    assert casings == [True, False]
