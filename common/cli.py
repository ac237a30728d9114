"""What every track's train.py and predict.py share: their arguments, their set-up, their errors.

TensorFlow is imported only once a run starts (TrainingSession), so that --help answers at once.
"""
import argparse
import contextlib
import math
import os
import sys

from common.data import DataError
from common.options import (PRECISIONS, SCHEDULES, STRATEGIES, CheckpointError, ModelDirError, PrecisionError,
                            StrategyError, TrainingError)


def adversarial_kind(value):
    """--adversarial: "none" is None, as config.json recorded a run without it before "none" existed (such
    runs resume)."""
    if value not in ("none", "fgm"):
        raise argparse.ArgumentTypeError(f"choose from none, fgm (not {value!r})")
    return None if value == "none" else value


# below, a window holds a few characters: most triggers, entities and answers are cut, and the data checks that
# follow would blame the data
MIN_MAXLEN = 16


def check_windows(maxlen, stride):
    """DataError unless --maxlen and --stride make windows: at least MIN_MAXLEN tokens, starts 1 to maxlen - 2 apart."""
    if maxlen < MIN_MAXLEN:
        raise DataError(f"--maxlen {maxlen}: a window needs at least {MIN_MAXLEN} tokens ([CLS], [SEP] and text; "
                        "the official data are read with 128 to 512)")
    if stride is not None and not 0 < stride <= maxlen - 2:
        raise DataError(f"--stride {stride} must be between 1 and --maxlen - 2 ({maxlen - 2})")


def weight(value):
    """--weights: a finite number, 0 or above."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not (math.isfinite(number) and number >= 0):
        raise argparse.ArgumentTypeError(f"a weight is a finite number, 0 or above (not {value!r})")
    return number


def integer_from(low):
    """An argparse type: an integer, `low` or above (a batch size of -1 predicted nothing, without a word)."""
    def parse(value):
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if number < low:
            raise argparse.ArgumentTypeError(f"an integer, {low} or above (not {value!r})")
        return number
    return parse


def train_parser(description, track):
    """train.py's parser: the options every train.py has (the track's DEFAULTS set its epochs, batch size, maxlen,
    learning rate, schedule, and its FILES the data files it reads), then the track's own (its add_arguments)."""
    defaults = track.DEFAULTS
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    data = p.add_argument_group("data (--data-dir finds the official file names; the others override)")
    data.add_argument("--data-dir", type=os.path.expanduser,
                      help="directory with the official train/dev/test (and schema) files")
    data.add_argument("--train", type=os.path.expanduser)
    data.add_argument("--dev", type=os.path.expanduser)
    data.add_argument("--test", type=os.path.expanduser, help="optional: predicted after training")
    if "schema" in track.FILES:
        data.add_argument("--schema", type=os.path.expanduser)
    p.add_argument("--bert-dir", required=True, type=os.path.expanduser,
                   help="a BERT folder: Hugging Face (config.json, model.safetensors or tf_model.h5, vocab.txt) or "
                        "Google TF1 (bert_config.json, bert_model.ckpt.*, vocab.txt)")
    p.add_argument("--word-level", action="store_true", help="jieba pre-tokenization for word-level vocabularies")
    p.add_argument("--output-dir", required=True, type=os.path.expanduser, help="model directory to write")
    p.add_argument("--overwrite", action="store_true", help="replace the run an existing --output-dir holds")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from its last resume point (same settings)")
    p.add_argument("--save-every", type=float, default=10.0, metavar="MINUTES",
                   help="minutes between resume points inside an epoch (0: after every step); one is also "
                        "saved at every epoch's end and on SIGTERM/SIGINT")
    recipe = p.add_argument_group("recipe")
    recipe.add_argument("--epochs", type=integer_from(1), default=defaults["epochs"])
    recipe.add_argument("--batch-size", type=integer_from(1), default=defaults["batch_size"],
                        help="the global batch (split over replicas under --strategy)")
    recipe.add_argument("--maxlen", type=int, default=defaults["maxlen"],
                        help="tokens per window, [CLS] and [SEP] included")
    recipe.add_argument("--stride", type=int, default=None, help="tokens between window starts (default: half a window)")
    recipe.add_argument("--learning-rate", type=float, default=defaults["learning_rate"])
    recipe.add_argument("--schedule", choices=SCHEDULES, default=defaults["schedule"],
                        help="learning-rate schedule (default %(default)s)")
    recipe.add_argument("--warmup", type=float, default=0.1, help="share of steps with linear warm-up")
    recipe.add_argument("--clip-norm", type=float, default=1.0, help="global gradient-norm clipping (0: off)")
    recipe.add_argument("--seed", type=int, default=42)
    recipe.add_argument("--ema", type=float, default=defaults["ema"], metavar="DECAY",
                        help="keep an exponential moving average of the weights, over about 1 / (1 - DECAY) steps: "
                             "dev is scored and the best epoch saved with it (0: off; default %(default)g)")
    recipe.add_argument("--snapshots", type=integer_from(1), default=1, metavar="K",
                        help="keep the weights of the K best dev epochs, not only the best one's, for an ensemble to "
                             "average (pipeline.py --seeds; predict.py --snapshots); K weights files (default 1)")
    recipe.add_argument("--adversarial", type=adversarial_kind, metavar="{none,fgm}",
                        default=defaults.get("adversarial"),
                        help="fgm: a second pass per step with the token embeddings perturbed along their gradient, "
                             "both passes' gradients applied (about twice the step time); none: off (default "
                             f"{defaults.get('adversarial') or 'none'})")
    recipe.add_argument("--adv-epsilon", type=float, default=defaults.get("adv_epsilon", 1.0),
                        help="the perturbation's norm (--adversarial; default %(default)g)")
    if hasattr(track, "threshold_grid"):
        recipe.add_argument("--thresholds", choices=["dev", "fixed"], default="dev",
                            help="dev: after training, choose the decoding thresholds that score best on dev (one "
                                 "pass of the best model), saved in the model directory; fixed: keep --threshold")
    device = p.add_argument_group("devices")
    device.add_argument("--strategy", choices=STRATEGIES, default="auto",
                        help="auto: all GPUs when there are two or more, else one device; multiworker: TF_CONFIG")
    device.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="fp32, bf16 or fp16 mixed precision (float32 weights), or auto (the default: bf16 "
                             "where the device runs it natively, else fp32)")
    device.add_argument("--jit", action="store_true",
                        help="compile the training step with XLA (lengths padded to multiples of 32, so it "
                             "compiles once per length bucket)")
    device.add_argument("--recompute", nargs="?", const="block", default=False, choices=["block", "layer"],
                        help="keep only each transformer block's input and recompute the block in the backward pass "
                             "(much less activation memory, some more time; same numbers); 'layer': bert4keras's "
                             "per-layer scheme")
    track.add_arguments(p)
    return p


def predict_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model-dir", required=True, nargs="+", type=os.path.expanduser,
                   help="a directory written by train.py; several: an ensemble, their outputs averaged before "
                        "decoding (each model loaded once)")
    p.add_argument("--weights", type=weight, nargs="+", help="the ensemble's weights, one per --model-dir "
                                                             "(default: equal; not all 0)")
    p.add_argument("--votes", type=float, help="the models vote instead of averaging (relation extraction): "
                                               "every model predicts at its own thresholds and an SPO is kept "
                                               "where models of total weight (1 each by default) at least VOTES "
                                               "predict it")
    p.add_argument("--combine", help="how the ensemble combines its models (reading comprehension: the average of "
                                     "their start and end \"probabilities\" (default), of their \"log-probabilities\""
                                     ", or of their \"span probabilities\")")
    p.add_argument("--snapshots", type=integer_from(1), metavar="K",
                   help="each model directory by its K best dev epochs, averaged (kept by train.py --snapshots K "
                        "or more; default: an ensemble directory's own count, else 1)")
    p.add_argument("--input", required=True, type=os.path.expanduser, help="the official test file")
    p.add_argument("--output", required=True, type=os.path.expanduser, help="submission file to write")
    p.add_argument("--batch-size", type=integer_from(1), default=32)
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="compute precision, whatever the model was trained in (default auto: bf16 where the "
                        "device runs it natively, else fp32)")
    p.add_argument("--use-unfinished", action="store_true",
                   help="predict with the best weights so far of a run that has not finished")
    return p


def check_output(args, inputs=("input",)):
    """--output may not be one of the input files, a directory, or under a file."""
    from common.files import same_file

    for name in inputs:
        path = getattr(args, name, None)
        if path and same_file(path, args.output):
            raise DataError(f"--output {args.output} is the --{name} file; writing it would destroy the input")
    if os.path.isdir(args.output):
        raise DataError(f"--output {args.output} is a directory; give the submission's file name")
    above = os.path.dirname(os.path.abspath(args.output))
    while not os.path.exists(above):  # the directories made for it
        above = os.path.dirname(above)
    if not os.path.isdir(above):
        raise DataError(f"--output {args.output}: {above} is a file, not a directory")


ERRORS = (DataError, CheckpointError, ModelDirError, StrategyError, PrecisionError, TrainingError, FileNotFoundError,
          PermissionError)


def run(main):
    """Run `main()`, turning the project's input errors into one line and exit code 2.

    Under multiworker, a worker that fails before the model is built tells the others why at their
    next meeting (TrainingSession), so that every worker stops with the same reason.
    """
    try:
        return main()
    except ERRORS as e:
        message = f"error: {e}"
        if TrainingSession.active is not None:
            TrainingSession.active.tell_others(str(e))
    except MemoryError:
        message = "error: out of memory; lower --batch-size or --maxlen, or pass --recompute"
    except KeyboardInterrupt:  # Ctrl-C: a line, not a traceback through TensorFlow
        print("interrupted (Ctrl-C)", file=sys.stderr)
        sys.exit(130)
    except Exception as e:
        if not _lost_worker(e):
            raise
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        print(f"error: another worker stopped or cannot be reached, so training cannot go on (TensorFlow: {first})",
              file=sys.stderr)
        sys.exit(1)
    print(message, file=sys.stderr)
    sys.exit(2)


def _lost_worker(error):
    """A TensorFlow error of the collective ops that a worker gone away leaves behind."""
    return TrainingSession.multiworker and type(error).__module__.startswith("tensorflow") and type(error).__name__ in (
        "UnavailableError", "DeadlineExceededError", "AbortedError", "CancelledError", "InternalError")


class TrainingSession:
    """The steps every train.py takes around its track's own part.

        session = TrainingSession(args, track)        # strategy made, files found, checkpoint and --maxlen
                                                      # checked, precision set, output dir checked and locked
        ... load and encode data (session.files) ...
        with session.model_scope(): build the model; optimizer = session.optimizer(total_steps)
        best = session.fit(model, optimizer, batches, evaluate, on_best, schema_path)

    Under --strategy multiworker the workers meet twice before training: once the set-up is checked
    (the chief alone decides on the output directory: fresh, --resume or --overwrite, and locks it; the
    others never touch it), and before the model is built; at each meeting every worker learns the
    others' errors, so that all stop with the first one instead of waiting for a worker that is gone.
    """
    active = None  # the session whose workers have a meeting ahead
    multiworker = False

    def __init__(self, args, track):
        from common.distribute import exchange, first_error, is_chief, make_strategy
        from common.precision import resolve_precision, set_precision
        from common.training import seed_everything

        self.args, self.track, self.lock = args, track, None
        self.strategy = make_strategy(args.strategy)  # first: under multiworker the workers meet here
        self.chief = is_chief(self.strategy)
        TrainingSession.multiworker = getattr(self.strategy, "cluster_resolver", None) is not None
        try:
            self._check_set_up()
            failure = None
        except ERRORS as e:
            failure = e
        reason = first_error(exchange(self.strategy, {"error": failure and str(failure)}))
        if failure:
            raise failure
        if reason:
            raise StrategyError(f"stopped because {reason}")
        TrainingSession.active = self
        args.precision = resolve_precision(args.precision)
        set_precision(args.precision)
        if args.jit:
            from common.training import set_length_multiple
            set_length_multiple(32)
        seed_everything(args.seed)

    def _check_set_up(self):
        from common.bert import BertFiles
        from common.data import find_data_files
        from common.model_dir import RunLock, prepare_model_dir

        a = self.args
        self.files = find_data_files(self.track.FILES, a.data_dir, {r: getattr(a, r, None) for r in self.track.FILES})
        self.bert_files = BertFiles.from_dir(a.bert_dir)
        check_windows(a.maxlen, a.stride)
        self.bert_files.check_maxlen(a.maxlen)
        if not 0 <= a.ema < 1:
            raise DataError(f"--ema {a.ema}: the decay must be in [0, 1) (0: off)")
        for name, allowed, what in (("learning_rate", lambda v: 0 < v < math.inf, "a number above 0"),
                                    ("warmup", lambda v: 0 <= v <= 1, "a share of steps, in [0, 1]"),
                                    ("clip_norm", lambda v: 0 <= v < math.inf, "0 (off) or a number above"),
                                    ("save_every", lambda v: 0 <= v < math.inf, "0 or more minutes"),
                                    ("adv_epsilon", lambda v: 0 < v < math.inf, "a number above 0"),
                                    # options of several tracks' heads (None: the head's default)
                                    ("head_lr_multiplier", lambda v: 0 < v < math.inf, "a number above 0"),
                                    ("threshold", lambda v: 0 < v < 1, "a probability between 0 and 1"),
                                    ("argument_threshold", lambda v: 0 < v < 1, "a probability between 0 and 1")):
            value = getattr(a, name, None)
            if value is not None and not allowed(value):  # NaN is allowed by none
                raise DataError(f"--{name.replace('_', '-')} {value:g}: must be {what}")
        if self.chief:  # refuse a directory of another run now, before minutes of encoding; write it before training
            self.lock = RunLock(a.output_dir)
            prepare_model_dir(a.output_dir, self.bert_files, self.track, self.run_record(), resume=a.resume,
                              overwrite=a.overwrite, write=False)

    def tell_others(self, error):
        """Meet the other workers at the meeting they wait at, carrying this worker's error."""
        from common.distribute import exchange

        TrainingSession.active = None
        exchange(self.strategy, {"error": error})

    @contextlib.contextmanager
    def model_scope(self):
        """The strategy's scope, once every worker has its data ready (or has told why it has not)."""
        from common.distribute import exchange, first_error

        TrainingSession.active = None
        reason = first_error(exchange(self.strategy, {"error": None}))
        if reason:
            raise StrategyError(f"stopped because {reason}")
        with self.strategy.scope():
            yield

    def run_record(self):
        """The run's arguments, as config.json records them beside the Config."""
        return dict(vars(self.args))

    def optimizer(self, total_steps):
        from common.training import make_optimizer

        a = self.args
        return make_optimizer(a.learning_rate, total_steps, a.schedule, a.warmup, a.clip_norm,
                              loss_scale=a.precision == "fp16")

    def fit(self, model, optimizer, batches, evaluate, on_best=None, config=None, key="f1", before_finish=None):
        """Write the model directory (the chief), train, call `before_finish(best)` (the chief), mark the
        directory finished; the best epoch's record."""
        from common.model_dir import finish_model_dir, prepare_model_dir
        from common.training import Trainer

        a = self.args
        if self.chief:
            prepare_model_dir(a.output_dir, self.bert_files, self.track, self.run_record(), config, resume=a.resume,
                              overwrite=a.overwrite)
        trainer = Trainer(model, optimizer, batches, a.epochs, evaluate, a.output_dir, key=key, on_best=on_best,
                          strategy=self.strategy, chief=self.chief, save_every=a.save_every,
                          jit=getattr(a, "jit", False), ema=a.ema, adversarial=a.adversarial,
                          adv_epsilon=a.adv_epsilon, snapshots=a.snapshots)
        best = trainer.fit(resume=a.resume)
        if self.chief:
            if before_finish:
                before_finish(best)
            finish_model_dir(a.output_dir)
            self.lock.release()
        return best


def require_learnable(train_count, dev_gold, what, train_path, dev_path):
    """Stop before training when the data cannot teach or score anything."""
    if not train_count:
        raise DataError(f"{train_path}: no {what} to learn from (empty file, or none matches the schema); "
                        "check that this is the right file for this track")
    if not dev_gold:
        raise DataError(f"{dev_path}: no gold {what} in the dev file, so dev scores would be 0 every epoch and the "
                        "best epoch meaningless; give a dev file with annotations")


def warn_if_unlearned(best, key, *warnings):
    """Say so when training ended without learning anything dev can see (and any other warnings)."""
    for line in warnings:
        if line:
            print(line, file=sys.stderr)
    if best and not best.get(f"dev_{key}"):
        print(f"warning: dev {key} is 0 at every epoch: the model learned nothing dev can see; check that train "
              "and dev are of this track, or train longer or with another --learning-rate",
              file=sys.stderr)
