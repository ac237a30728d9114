"""Build a bert4keras BERT from a Google-format checkpoint, with clear errors.

A Google-format directory holds `bert_config.json`, `bert_model.ckpt.*` and
`vocab.txt` (BERT, RoBERTa-wwm-ext and the tiny BERT of synthetic.tiny_bert alike).
"""
import json
import os
from dataclasses import dataclass

from common.options import RECOMPUTE_MODES, CheckpointError  # noqa: F401  (raised by the functions here)

@dataclass(frozen=True)
class BertFiles:
    config: str
    checkpoint: str  # the prefix, as TensorFlow names it: DIR/bert_model.ckpt
    vocab: str

    @classmethod
    def from_dir(cls, bert_dir, config=None, checkpoint=None, vocab=None):
        """Find the three files in `bert_dir`; explicit paths take precedence."""
        if bert_dir and not os.path.isdir(bert_dir):
            raise CheckpointError(f"{bert_dir}: no such directory; pass --bert-dir with "
                                  "bert_config.json, bert_model.ckpt.* and vocab.txt")
        join = lambda name: os.path.join(bert_dir, name) if bert_dir else None  # noqa: E731
        files = cls(config or join("bert_config.json"),
                    checkpoint or _find_checkpoint(bert_dir),
                    vocab or join("vocab.txt"))
        files.check()
        return files

    def check(self, require_checkpoint=True):
        """Raise CheckpointError unless the files exist and agree with each other."""
        for path, what in ((self.config, "bert_config.json"), (self.vocab, "vocab.txt")):
            if not path or not os.path.isfile(path):
                raise CheckpointError(f"{path}: missing {what}; a Google-format BERT "
                                      "directory holds bert_config.json, bert_model.ckpt.* and vocab.txt")
        if require_checkpoint and (not self.checkpoint or not os.path.isfile(self.checkpoint + ".index")):
            raise CheckpointError(f"{self.checkpoint}.index: missing checkpoint; expected "
                                  "bert_model.ckpt.index and bert_model.ckpt.data-* beside bert_config.json")
        config = self.read_config()
        try:
            with open(self.vocab, encoding="utf-8") as f:
                vocab_size = sum(1 for line in f if line.strip())
        except UnicodeDecodeError:
            raise CheckpointError(f"{self.vocab}: not UTF-8 text; a BERT vocab.txt is UTF-8, one token per line") \
                from None
        if vocab_size != config.get("vocab_size"):
            raise CheckpointError(
                f"{self.vocab}: {vocab_size} tokens but {self.config} says vocab_size="
                f"{config.get('vocab_size')}; use the vocab.txt that came with this checkpoint")

    def read_config(self):
        try:
            with open(self.config, encoding="utf-8") as f:
                config = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CheckpointError(f"{self.config}: not valid JSON ({e})") from None
        if not isinstance(config, dict) or "hidden_size" not in config:
            raise CheckpointError(f"{self.config}: not a BERT config (no hidden_size)")
        return config

    def check_maxlen(self, maxlen):
        """A window of `maxlen` tokens must fit the checkpoint's position embeddings."""
        limit = self.read_config().get("max_position_embeddings", 512)
        if maxlen > limit:
            raise CheckpointError(f"--maxlen {maxlen} is longer than this BERT's max_position_embeddings "
                                  f"({limit}, {self.config}); use --maxlen {limit} or less (long texts are read "
                                  "in overlapping windows, so nothing is lost)")


def _find_checkpoint(bert_dir):
    if not bert_dir:
        return None
    prefixes = sorted(name[:-len(".index")] for name in os.listdir(bert_dir) if name.endswith(".index"))
    if "bert_model.ckpt" in prefixes or not prefixes:
        return os.path.join(bert_dir, "bert_model.ckpt")
    return os.path.join(bert_dir, prefixes[0])


def build_bert(files, recompute=False, load_weights=True, **kwargs):
    """Return the bert4keras Transformer for `files` (`.model` is the Keras model).

    recompute: False; "block" (or True) to keep only each transformer block's
    input for the backward pass and recompute the block there (common.recompute);
    "layer" for bert4keras's own per-layer scheme. False and "block" build the
    same layers and give the same numbers; "layer" builds bert4keras's plain
    graph, so a model trained with it is rebuilt with it. `load_weights=False`
    builds the architecture only, for a model directory whose weights come next.
    """
    from common.recompute import BlockBERT
    from bert4keras.models import build_transformer_model

    recompute = "block" if recompute is True else recompute
    if recompute not in RECOMPUTE_MODES:
        raise ValueError(f"recompute must be one of {RECOMPUTE_MODES}, got {recompute!r}")
    config = files.read_config()
    if recompute == "layer":
        kwargs.setdefault("model", "bert")
    else:
        kwargs.setdefault("model", BlockBERT)
        kwargs["recompute"] = recompute == "block"
    transformer = build_transformer_model(config_path=files.config, return_keras_model=False, **kwargs)
    if recompute == "layer":
        for layer in transformer.model.layers:
            layer.recompute = True
    if load_weights:
        _check_checkpoint(transformer, files.checkpoint, config)
        transformer.load_weights_from_checkpoint(files.checkpoint)
    return transformer


def _check_checkpoint(transformer, checkpoint, config):
    """Compare the variables the model needs with those in the checkpoint."""
    from common.env import tf

    try:
        stored = dict(tf.train.list_variables(checkpoint))
    except Exception as e:  # TensorFlow's own message is long; keep its first line
        raise CheckpointError(f"{checkpoint}: cannot read checkpoint ({str(e).splitlines()[0]})") from None
    for layer_name, names in transformer.variable_mapping().items():
        name = transformer.prefixed(layer_name)
        if name not in transformer.layers:
            continue
        for weight, var in zip(transformer.layers[name].trainable_weights, names):
            if var not in stored:
                raise CheckpointError(
                    f"{checkpoint}: lacks variable {var}; is this a Google-format BERT "
                    f"checkpoint for {config.get('num_hidden_layers')} layers?")
            expected, found = tuple(weight.shape), tuple(stored[var])
            if found != expected:
                raise CheckpointError(f"{checkpoint}: variable {var} has shape {found}, "
                                      f"bert_config.json asks for {expected}")



def predict_function(model):
    """A traced `model(inputs, training=False)` that accepts any batch size and length once traced.

    Keras's predict_on_batch retraces for every new padded length; one input
    signature with unknown dimensions avoids that.
    """
    from common.env import tf

    signature = [tf.TensorSpec(t.shape, t.dtype) for t in model.inputs]
    traced = tf.function(lambda *xs: model(list(xs), training=False), input_signature=signature)

    def call(inputs):
        outputs = traced(*inputs)
        return [o.numpy() for o in outputs] if isinstance(outputs, (list, tuple)) else outputs.numpy()
    return call
