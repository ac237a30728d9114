"""BERT weights in Google's TF1 layout and in Hugging Face's, read into one naming (Google's) and written in either.

Google: bert_config.json, bert_model.ckpt.{index,data-*}, vocab.txt.
Hugging Face: config.json, model.safetensors (PyTorch names, or TensorFlow names when saved from
TensorFlow), tf_model.h5 or pytorch_model.bin, vocab.txt, optionally tokenizer_config.json. Its
tensors may carry a "bert." prefix (BertForMaskedLM, BertForPreTraining), old LayerNorm names
(gamma/beta) and tensors no encoder needs (position_ids, the pooler of a TF file, the MLM and NSP heads).
"""
import json
import os
import re

import numpy as np

from common.options import CheckpointError

HF_WEIGHTS = ("model.safetensors", "tf_model.h5", "pytorch_model.bin")
BERT_MODEL_TYPES = ("bert",)
# Hugging Face activations -> bert4keras's
ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu"}
# the config fields the builder reads
CONFIG_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                 "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
                 "type_vocab_size", "initializer_range", "layer_norm_eps")
# PyTorch module path -> Google scope, for the parts of an encoder (the "bert." prefix and the layer number aside)
_PT_SCOPES = [("embeddings.word_embeddings", "embeddings/word_embeddings"),
              ("embeddings.position_embeddings", "embeddings/position_embeddings"),
              ("embeddings.token_type_embeddings", "embeddings/token_type_embeddings"),
              ("embeddings.LayerNorm", "embeddings/LayerNorm"),
              ("attention.self.query", "attention/self/query"), ("attention.self.key", "attention/self/key"),
              ("attention.self.value", "attention/self/value"), ("attention.output.dense", "attention/output/dense"),
              ("attention.output.LayerNorm", "attention/output/LayerNorm"),
              ("intermediate.dense", "intermediate/dense"), ("output.dense", "output/dense"),
              ("output.LayerNorm", "output/LayerNorm"), ("pooler.dense", "pooler/dense")]


def read_hf_config(path):
    """A Hugging Face config.json as the Google-format config the builder takes; non-BERT models refused."""
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None
    model_type = config.get("model_type", "bert")
    if model_type not in BERT_MODEL_TYPES:
        raise CheckpointError(f"{path}: model_type {model_type!r} is not a BERT; this builder reads BERT-shaped "
                              f"checkpoints ({', '.join(BERT_MODEL_TYPES)}), e.g. bert-base-chinese, "
                              "hfl/chinese-roberta-wwm-ext, hfl/chinese-macbert-base")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise CheckpointError(f"{path}: position_embedding_type {config['position_embedding_type']!r}; only "
                              "absolute position embeddings are built")
    missing = [k for k in CONFIG_FIELDS[:5] if k not in config]
    if missing:
        raise CheckpointError(f"{path}: not a BERT config (no {', '.join(missing)})")
    if config.get("hidden_act", "gelu") not in ACTIVATIONS:
        raise CheckpointError(f"{path}: hidden_act {config['hidden_act']!r} is not one of {', '.join(ACTIVATIONS)}")
    google = {k: config[k] for k in CONFIG_FIELDS if k in config}
    google["hidden_act"] = ACTIVATIONS[config.get("hidden_act", "gelu")]
    if google.get("layer_norm_eps") == 1e-12:
        del google["layer_norm_eps"]  # BERT's own, which the builder uses anyway
    return google


def read_do_lower_case(bert_dir):
    """do_lower_case of the directory's tokenizer_config.json (True without one, as Chinese BERTs are)."""
    path = os.path.join(bert_dir, "tokenizer_config.json")
    if not os.path.isfile(path):
        return True
    try:
        with open(path, encoding="utf-8") as f:
            return bool(json.load(f).get("do_lower_case", True))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: not valid JSON ({e})") from None


# ---------------------------------------------------------------- reading

def google_name_of_pt(name):
    """(Google name, transpose) of a PyTorch-named tensor of a BERT encoder, or None for one it does not need."""
    name = name[len("bert."):] if name.startswith("bert.") else name
    layer = re.match(r"encoder\.layer\.(\d+)\.(.*)", name)
    prefix, rest = (f"bert/encoder/layer_{layer.group(1)}/", layer.group(2)) if layer else ("bert/", name)
    for pt, google in _PT_SCOPES:
        if rest.startswith(pt + ".") and (layer is None) == pt.startswith(("embeddings", "pooler")):
            leaf = rest[len(pt) + 1:]
            if "LayerNorm" in pt:
                leaf = {"weight": "gamma", "gamma": "gamma", "bias": "beta", "beta": "beta"}.get(leaf)
            elif "embeddings" in pt:
                leaf = "" if leaf == "weight" else None
            else:
                leaf = {"weight": "kernel", "bias": "bias"}.get(leaf)
            if leaf is None:
                return None
            return prefix + google + ("/" + leaf if leaf else ""), leaf == "kernel"
    return None


def google_name_of_tf(name):
    """The Google name of a TensorFlow-named (TFBertModel) tensor of a BERT encoder, or None."""
    found = re.search(r"(?:^|/)bert/((?:embeddings|encoder|pooler)/.*?)(?::0)?$", name)
    if not found or "mlm___cls" in name.split("/")[0]:
        return None
    scope = found.group(1)
    scope = re.sub(r"^encoder/layer_\._(\d+)/", r"encoder/layer_\1/", scope)
    scope = re.sub(r"^(embeddings/(?:word|position|token_type)_embeddings)/(?:weight|embeddings)$", r"\1", scope)
    return "bert/" + scope


def read_hf_tensors(path):
    """{name: array} of a Hugging Face weights file (safetensors, TF h5, or PyTorch through torch)."""
    if path.endswith(".safetensors"):
        from safetensors import SafetensorError
        from safetensors.numpy import load_file
        try:
            return load_file(path)
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"{path}: cannot read ({str(e).splitlines()[0]})") from None
    if path.endswith(".h5"):
        import h5py
        tensors = {}
        try:
            with h5py.File(path, "r") as f:
                f.visititems(lambda n, obj: tensors.__setitem__(n, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        except OSError as e:
            raise CheckpointError(f"{path}: cannot read ({str(e).splitlines()[0]})") from None
        return tensors
    try:
        import torch
    except ImportError:
        raise CheckpointError(f"{path}: reading pytorch_model.bin needs PyTorch, which is not installed; pip install "
                              "torch, or take the model.safetensors of the same model (most hub models have one; "
                              "else convert it once where PyTorch is: python -m common.convert_checkpoint)") from None
    return {k: v.float().numpy() for k, v in torch.load(path, map_location="cpu", weights_only=True).items()}


def hf_to_google(tensors):
    """The encoder's tensors of a Hugging Face file under Google names (kernels as (in, out))."""
    values = {}
    tf_named = any(":0" in name or "/" in name for name in tensors)
    for name, value in tensors.items():
        if tf_named:
            google, transpose = google_name_of_tf(name), False
        else:
            found = google_name_of_pt(name)
            google, transpose = found if found else (None, False)
        if google is not None:
            values[google] = np.ascontiguousarray(value.T if transpose else value).astype("float32")
    return values


def read_google_checkpoint(prefix, names=None):
    """{name: array} of a Google-format checkpoint (only `names` if given: a pretraining checkpoint also
    holds the optimizer's slots)."""
    from common.env import tf
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as e:  # TensorFlow's own message is long; keep its first line
        raise CheckpointError(f"{prefix}: cannot read checkpoint ({str(e).splitlines()[0]})") from None
    stored = reader.get_variable_to_shape_map()
    return {name: reader.get_tensor(name) for name in stored if names is None or name in names}


# ---------------------------------------------------------------- writing

def write_google_checkpoint(prefix, values):
    """bert_model.ckpt.{index,data-*} holding `values` {Google name: array}."""
    from common.env import tf

    names = sorted(values)
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[np.asarray(values[n]) for n in names])


def pt_name_of_google(name):
    """(PyTorch name as BertModel saves it, transpose) of a Google-named encoder tensor; None for another
    (the pretraining heads, an optimizer's slots)."""
    layer = re.match(r"bert/encoder/layer_(\d+)/(.*)", name)
    if not layer and not name.startswith("bert/"):
        return None
    prefix, rest = (f"encoder.layer.{layer.group(1)}.", layer.group(2)) if layer else ("", name[len("bert/"):])
    leaves = {"kernel": "weight", "bias": "bias", "gamma": "weight", "beta": "bias"}
    for pt, google in _PT_SCOPES:
        if rest == google and google.endswith("_embeddings"):
            return prefix + pt + ".weight", False
        leaf = rest[len(google) + 1:] if rest.startswith(google + "/") else None
        if leaf in leaves:
            return prefix + pt + "." + leaves[leaf], leaf == "kernel"
    return None


def write_hf_model(out_dir, config, values, vocab_path, do_lower_case=True):
    """config.json, model.safetensors (PyTorch names, as the hub's files), vocab.txt, tokenizer_config.json."""
    import shutil
    from safetensors.numpy import save_file

    os.makedirs(out_dir, exist_ok=True)
    hf_config = dict({k: v for k, v in config.items() if k in CONFIG_FIELDS}, model_type="bert",
                     architectures=["BertModel"], position_embedding_type="absolute")
    hf_config["hidden_act"] = {v: k for k, v in ACTIVATIONS.items() if k != "gelu_pytorch_tanh"}[config["hidden_act"]]
    hf_config.setdefault("layer_norm_eps", 1e-12)
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(hf_config, f, indent=2)
    tensors = {}
    for name, value in values.items():
        found = pt_name_of_google(name)  # the pretraining heads and optimizer slots stay behind
        if found:
            tensors[found[0]] = np.ascontiguousarray(value.T if found[1] else value)
    save_file(tensors, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    shutil.copyfile(vocab_path, os.path.join(out_dir, "vocab.txt"))
    write_tokenizer_config(out_dir, do_lower_case)


def write_tokenizer_config(out_dir, do_lower_case):
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"do_lower_case": do_lower_case, "tokenizer_class": "BertTokenizer"}, f, indent=2)
