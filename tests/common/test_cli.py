"""The options every train.py shares take their defaults from the track's DEFAULTS; predict.py's are checked as parsed."""
import pytest

from common.track import track_args
from tools.tracks import track


@pytest.mark.parametrize("name, adversarial, epsilon", [("relation_extraction", "fgm", 0.3),
                                                        ("event_extraction", None, 1.0),
                                                        ("reading_comprehension", "fgm", 0.3)])
def test_the_adversarial_defaults_are_each_tracks(name, adversarial, epsilon):
    args = track_args(track(name))
    assert (args.adversarial, args.adv_epsilon) == (adversarial, epsilon)


def test_adversarial_none_is_recorded_as_a_run_without_it_was_and_a_wrong_value_is_refused(capsys):
    from common import cli

    t = track("reading_comprehension")
    parser = cli.train_parser("", t)
    required = ["--bert-dir", "b", "--output-dir", "o"]
    # None, not "none": config.json of a run without FGM has held None, and a resume compares the two
    assert parser.parse_args(required + ["--adversarial", "none"]).adversarial is None
    assert parser.parse_args(required + ["--adversarial", "fgm"]).adversarial == "fgm"
    with pytest.raises(SystemExit):
        parser.parse_args(required + ["--adversarial", "pgd"])
    assert "--adversarial: choose from none, fgm (not 'pgd')" in capsys.readouterr().err


@pytest.mark.parametrize("options, message", [(["--batch-size", "0"], "--batch-size: an integer, 1 or above (not '0')"),
                                              (["--batch-size", "-1"], "--batch-size: an integer, 1 or above"),
                                              (["--weights", "1", "nan"], "--weights: a weight is a finite number")])
def test_predict_refuses_a_batch_size_under_1_and_a_weight_that_is_not_finite(capsys, options, message):
    from common import cli

    parser = cli.predict_parser("")
    required = ["--model-dir", "a", "b", "--input", "t", "--output", "s"]
    assert parser.parse_args(required + ["--batch-size", "8", "--weights", "1", "0"]).weights == [1.0, 0.0]
    with pytest.raises(SystemExit):  # a batch size of -1 predicted nothing, without a word
        parser.parse_args(required + options)
    assert message in capsys.readouterr().err


def test_ctrl_c_ends_a_command_in_one_line(capsys):
    from common import cli

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as stopped:
        cli.run(interrupted)
    assert stopped.value.code == 130 and capsys.readouterr().err == "interrupted (Ctrl-C)\n"


def test_every_path_option_reads_a_leading_tilde_as_the_home_folder(tmp_path, monkeypatch):
    """A quoted "~/data/dev.json" reaches a command unexpanded (the shell expands only a bare ~): each command
    expands it, as pipeline.py does make's quoted DATA_DIR."""
    from common import cli
    from tools import report, validate

    monkeypatch.setenv("HOME", str(tmp_path))
    home = str(tmp_path)
    train = cli.train_parser("", track("event_extraction")).parse_args(
        ["--data-dir", "~/d", "--train", "~/t", "--dev", "~/v", "--test", "~/x", "--schema", "~/s", "--bert-dir",
         "~/b", "--output-dir", "~/o"])
    assert [train.data_dir, train.train, train.dev, train.test, train.schema, train.bert_dir, train.output_dir] == [
        f"{home}/{name}" for name in "dtvxsbo"]
    predict = cli.predict_parser("").parse_args(["--model-dir", "~/a", "~/b", "--input", "~/t", "--output", "~/s"])
    assert [*predict.model_dir, predict.input, predict.output] == [f"{home}/{name}" for name in "abts"]
    calls = []
    monkeypatch.setattr(validate, "validate", lambda *args: calls.append(args) or ([], 0))
    monkeypatch.setattr(report, "report_model_dir", lambda *args: calls.append(args) or "r")
    validate.main(["--track", "relation_extraction", "--test", "~/t", "--submission", "~/s"])
    report.main(["~/m", "--dev", "~/v", "--predictions", "~/p", "--out", "~/o"])
    assert calls == [("relation_extraction", f"{home}/t", f"{home}/s"),
                     (f"{home}/m", f"{home}/v", f"{home}/p", f"{home}/o", 20)]
