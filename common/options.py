"""The choices of the options every train.py and predict.py share, and the errors they turn into one line.

Free of TensorFlow, so that `--help` and a mistyped option answer at once.
"""

SCHEDULES = ("constant", "warmup-constant", "warmup-linear")
STRATEGIES = ("auto", "one", "mirrored", "multiworker")
PRECISIONS = ("fp32", "bf16", "fp16", "auto")
RECOMPUTE_MODES = (False, "block", "layer")


class CheckpointError(ValueError):
    """A BERT directory or file that cannot be used, with what to do about it."""


class StrategyError(ValueError):
    """A strategy that cannot run here, with what to do about it."""


class PrecisionError(ValueError):
    """A precision that cannot be used here."""


class TrainingError(RuntimeError):
    """Training cannot go on (a non-finite loss), with what to do about it."""


class ModelDirError(ValueError):
    """A model directory that cannot be used as asked, with what to do about it."""
