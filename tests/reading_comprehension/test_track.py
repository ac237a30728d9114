"""reading_comprehension/track.py: its train.py options are checked before anything is read."""
import pytest

from common import cli
from reading_comprehension import track


@pytest.mark.parametrize("options, message", [
    (["--max-question-len", "0"], "argument --max-question-len: an integer, 1 or above (not '0')"),
    (["--max-answer-len", "0"], "argument --max-answer-len: an integer, 1 or above (not '0')"),
    (["--negative-share", "nan"], "--negative-share must be between 0 and 1"),
    (["--maxlen", "64"], "--maxlen 64 leaves too few context tokens after a question of --max-question-len 64")])
def test_options_out_of_range_are_refused_in_one_line(capsys, options, message):
    parser = cli.train_parser(None, track)
    with pytest.raises(SystemExit) as exit_:  # by the parser or by check_arguments
        track.check_arguments(parser, parser.parse_args(["--bert-dir", "b", "--output-dir", "o", *options]))
    assert exit_.value.code == 2 and capsys.readouterr().err.strip().splitlines()[-1].split("error: ")[1].startswith(message)
    track.check_arguments(parser, parser.parse_args(["--bert-dir", "b", "--output-dir", "o"]))  # the defaults pass
