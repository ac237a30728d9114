"""Build a bert4keras BERT from a checkpoint in Google's TF1 layout or in Hugging Face's, with clear errors.

Google: `bert_config.json`, `bert_model.ckpt.*`, `vocab.txt` (Google's releases, RoBERTa-wwm-ext's
TF1 release, the tiny BERT of synthetic.tiny_bert). Hugging Face (a hub folder, e.g.
hfl/chinese-roberta-wwm-ext): `config.json`, `model.safetensors` (or `tf_model.h5`, or
`pytorch_model.bin` where PyTorch is installed), `vocab.txt`, optionally `tokenizer_config.json`; a
model's folder in the Hugging Face cache (models--ORG--NAME) stands for the snapshot its refs/main names.
Both go through one loader: every tensor under its Google name (common.checkpoints), checked by name
and shape against what the model needs.
"""
import json
import os
from dataclasses import dataclass

from common.checkpoints import HF_WEIGHTS, read_do_lower_case, read_hf_config
from common.options import RECOMPUTE_MODES, CheckpointError

GOOGLE, HF = "google", "hf"
LAYOUTS = ("a Google-format BERT directory holds bert_config.json, bert_model.ckpt.* and vocab.txt; a Hugging "
           "Face one config.json, model.safetensors (or tf_model.h5) and vocab.txt")


@dataclass(frozen=True)
class BertFiles:
    config: str           # bert_config.json (Google) or config.json (Hugging Face)
    checkpoint: str       # Google: the prefix DIR/bert_model.ckpt; Hugging Face: the weights file; None: none
    vocab: str
    layout: str = GOOGLE
    do_lower_case: bool = True

    @classmethod
    def from_dir(cls, bert_dir):
        """The files of a BERT directory in either layout, found by their names and checked."""
        if not bert_dir or not os.path.isdir(bert_dir):
            raise CheckpointError(f"{bert_dir}: no such directory; pass --bert-dir with a BERT checkpoint ({LAYOUTS})")
        bert_dir = _hub_snapshot(bert_dir)
        join = lambda name: os.path.join(bert_dir, name)  # noqa: E731
        if os.path.isfile(join("bert_config.json")) or not os.path.isfile(join("config.json")):
            files = cls(join("bert_config.json"), _find_checkpoint(bert_dir), join("vocab.txt"),
                        do_lower_case=read_do_lower_case(bert_dir))
        else:
            weights = next((join(n) for n in HF_WEIGHTS if os.path.isfile(join(n))), None)
            if weights is None:
                raise CheckpointError(f"{bert_dir}: config.json but no weights; a Hugging Face BERT folder holds "
                                      f"{', '.join(HF_WEIGHTS[:-1])} or {HF_WEIGHTS[-1]} beside it")
            files = cls(join("config.json"), weights, join("vocab.txt"), HF, read_do_lower_case(bert_dir))
        files.check()
        return files

    def check(self, require_checkpoint=True):
        """Raise CheckpointError unless the files exist and agree with each other."""
        if not os.path.isfile(self.config):
            raise CheckpointError(f"{self.config}: missing; {LAYOUTS}")
        if not self.vocab or not os.path.isfile(self.vocab):
            raise CheckpointError(f"{self.vocab}: missing vocab.txt; {LAYOUTS}")
        if require_checkpoint and self.layout == GOOGLE and (
                not self.checkpoint or not os.path.isfile(self.checkpoint + ".index")):
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
        """The Google-format config (a Hugging Face config.json is mapped to it)."""
        if self.layout == HF:
            return read_hf_config(self.config)
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

    def values(self, names=None):
        """{Google name: array} of the checkpoint's encoder tensors (only those among `names` if given)."""
        from common.checkpoints import hf_to_google, read_google_checkpoint, read_hf_tensors

        if self.layout == HF:
            values = hf_to_google(read_hf_tensors(self.checkpoint))
        else:
            values = read_google_checkpoint(self.checkpoint, names)
        return {k: v for k, v in values.items() if names is None or k in names}


def _hub_snapshot(bert_dir):
    """`bert_dir`, or where it is a model's folder in the Hugging Face cache (models--ORG--NAME, holding
    refs/ and snapshots/), the snapshot refs/main names, as transformers' from_pretrained would load."""
    snapshots = os.path.join(bert_dir, "snapshots")
    if not os.path.isdir(snapshots) or os.path.isfile(os.path.join(bert_dir, "config.json")):
        return bert_dir
    try:
        with open(os.path.join(bert_dir, "refs", "main"), encoding="utf-8") as f:
            revision = f.read().strip()
    except OSError:
        revision = None
    found = sorted(os.listdir(snapshots))
    if revision in found:
        return os.path.join(snapshots, revision)
    if len(found) == 1:
        return os.path.join(snapshots, found[0])
    if not found:
        raise CheckpointError(f"{bert_dir}: a Hugging Face cache folder without a snapshot; download the model again")
    raise CheckpointError(f"{bert_dir}: a Hugging Face cache folder with {len(found)} snapshots and no refs/main "
                          f"naming one of them; pass one of {snapshots}/{{{', '.join(found)}}}")


def _find_checkpoint(bert_dir):
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
    from bert4keras.layers import LayerNormalization
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
    transformer = build_transformer_model(return_keras_model=False, **{**config, **kwargs})
    for layer in transformer.model._flatten_layers():
        if recompute == "layer":
            layer.recompute = True
        if isinstance(layer, LayerNormalization) and "layer_norm_eps" in config:
            layer.epsilon = config["layer_norm_eps"]  # bert4keras builds 1e-12, BERT's own
    if load_weights:
        load_checkpoint(transformer, files, config)
    return transformer


def load_checkpoint(transformer, files, config):
    """Set the encoder's weights from the checkpoint, after checking every tensor it needs by name and shape."""
    from common.checkpoints import pt_name_of_google
    from common.env import K

    needed = {}  # Google name -> the weight it sets
    for layer_name, names in transformer.variable_mapping().items():
        name = transformer.prefixed(layer_name)
        if name in transformer.layers:
            needed.update(zip(names, transformer.layers[name].trainable_weights))
    values = files.values(set(needed))
    missing = [n for n in needed if n not in values]
    if missing:
        shown = [pt_name_of_google(n)[0] if files.layout == HF else n for n in missing]
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        what = "tensor" if files.layout == HF else "variable"
        raise CheckpointError(f"{files.checkpoint}: lacks {what} {shown[0]}{more}; is this a BERT checkpoint for "
                              f"{config.get('num_hidden_layers')} layers?")
    for name, weight in needed.items():
        if tuple(values[name].shape) != tuple(weight.shape):
            raise CheckpointError(f"{files.checkpoint}: tensor {name} has shape {tuple(values[name].shape)}, "
                                  f"{os.path.basename(files.config)} asks for {tuple(weight.shape)}")
    K.batch_set_value([(weight, values[name]) for name, weight in needed.items()])


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
