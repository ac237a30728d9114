"""Hugging Face and Google checkpoints load into our builder and give the reference implementation's hidden states.

The reference is transformers' own TFBertModel (a test-only dependency, see requirements-test.txt):
a small random BERT, saved by transformers in each form the hub holds, or written from its weights
under the PyTorch names transformers itself gives them; transformers loads each file back to its own
output (so the file is what the hub would serve), and our builder must agree with it to 1e-5.
"""
import json
import os

import numpy as np
import pytest

from common import env  # noqa: F401
from common.bert import BertFiles, build_bert
from common.checkpoints import read_google_checkpoint
from common.convert_checkpoint import convert
from common.options import CheckpointError
from tests.conftest import run, train_on_sample

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [chr(0x4e00 + i) for i in range(45)]
IDS = np.array([[2, 7, 9, 11, 30, 41, 3, 0, 0], [2, 5, 6, 8, 10, 12, 14, 16, 3]], "int32")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """{variant: HF folder}, the reference hidden states of IDS, and the base model's directory."""
    from transformers import BertConfig, TFBertForMaskedLM, TFBertModel
    from transformers.modeling_tf_pytorch_utils import TransposeType, convert_tf_weight_name_to_pt_weight_name
    from safetensors.numpy import save_file
    from common.env import tf

    root = tmp_path_factory.mktemp("hf")
    config = BertConfig(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64)
    tf.random.set_seed(0)
    masked_lm = TFBertForMaskedLM(config)
    masked_lm(IDS)
    for w in masked_lm.weights:  # LayerNorm and biases away from their 1 / 0 start, so every tensor matters
        w.assign(w + tf.random.normal(w.shape, stddev=0.05))
    base = TFBertModel(config)
    base(IDS)
    shared = {w.name.split("/", 1)[1]: w for w in masked_lm.bert.weights}  # all of it but the pooler
    for w in base.bert.weights:
        if w.name.split("/", 1)[1] in shared:
            w.assign(shared[w.name.split("/", 1)[1]])
    mask = (IDS > 0).astype("int32")
    expected = base(IDS, attention_mask=mask, training=False).last_hidden_state.numpy()

    def folder(name):
        path = root / name
        path.mkdir()
        (path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
        return path

    def pt_tensors(model, strip_prefix=False, old_layer_norm=False):
        tensors = {}
        for w in model.weights:
            name, transpose = convert_tf_weight_name_to_pt_weight_name(w.name, tf_weight_shape=w.shape)
            value = w.numpy().T if transpose == TransposeType.SIMPLE else w.numpy()
            name = name[len("bert."):] if strip_prefix else name
            if old_layer_norm and "LayerNorm" in name:
                name = name.replace(".weight", ".gamma").replace(".bias", ".beta")
            tensors[name] = np.ascontiguousarray(value)
        return tensors

    variants = {}
    for name, safe in (("tf_safetensors", True), ("tf_h5", False)):
        variants[name] = folder(name)
        base.save_pretrained(variants[name], safe_serialization=safe)
    variants["tf_h5_masked_lm"] = folder("tf_h5_masked_lm")
    masked_lm.save_pretrained(variants["tf_h5_masked_lm"], safe_serialization=False)
    for name, tensors in (("pt_bert_model", pt_tensors(base, strip_prefix=True)),
                          ("pt_masked_lm", pt_tensors(masked_lm)),
                          ("pt_old_layer_norm_names", pt_tensors(masked_lm, old_layer_norm=True))):
        variants[name] = folder(name)
        config.save_pretrained(variants[name])
        save_file(tensors, str(variants[name] / "model.safetensors"), metadata={"format": "pt"})
    return variants, expected, mask


def hidden_states(files):
    bert = build_bert(files)
    return bert.model.predict([IDS, np.zeros_like(IDS)], verbose=0)


@pytest.mark.parametrize("variant", ["tf_safetensors", "tf_h5", "tf_h5_masked_lm", "pt_bert_model", "pt_masked_lm",
                                     "pt_old_layer_norm_names"])
def test_every_hub_form_loads_to_the_reference_output(reference, variant):
    from transformers import TFBertModel

    variants, expected, mask = reference
    real = mask.astype(bool)
    again = TFBertModel.from_pretrained(variants[variant])(IDS, attention_mask=mask, training=False)
    np.testing.assert_allclose(again.last_hidden_state.numpy()[real], expected[real], atol=1e-5)  # a real hub file
    files = BertFiles.from_dir(str(variants[variant]))
    assert files.layout == "hf"
    np.testing.assert_allclose(hidden_states(files)[real], expected[real], atol=1e-5)


def test_conversion_both_ways(reference, tmp_path, tiny_bert_dir):
    variants, expected, mask = reference
    real = mask.astype(bool)
    convert(str(variants["pt_masked_lm"]), str(tmp_path / "google"), "google")
    files = BertFiles.from_dir(str(tmp_path / "google"))
    assert files.layout == "google"
    np.testing.assert_allclose(hidden_states(files)[real], expected[real], atol=1e-5)
    # Google -> Hugging Face -> Google: the encoder's tensors come back identical
    convert(str(tiny_bert_dir), str(tmp_path / "hf"), "hf")
    convert(str(tmp_path / "hf"), str(tmp_path / "back"), "google")
    original = read_google_checkpoint(str(tiny_bert_dir / "bert_model.ckpt"))
    back = read_google_checkpoint(str(tmp_path / "back" / "bert_model.ckpt"))
    encoder = {k for k in original if k.startswith("bert/")}
    assert set(back) == encoder
    for name in encoder:
        np.testing.assert_array_equal(back[name], original[name])
    from transformers import TFBertModel  # the converted folder is a real hub folder too
    TFBertModel.from_pretrained(str(tmp_path / "hf"))
    result = run("-m", "common.convert_checkpoint", str(tiny_bert_dir), str(tmp_path / "hf"), "--to", "hf")
    assert result.returncode == 2 and "not empty" in result.stderr
    (tmp_path / "a file").write_text("")
    result = run("-m", "common.convert_checkpoint", str(tiny_bert_dir), str(tmp_path / "a file"), "--to", "hf")
    assert result.returncode == 2 and result.stderr.strip() == (f"error: {tmp_path / 'a file'}: a file, not a "
                                                                 "directory; convert into a new directory")


@pytest.mark.trains
def test_bad_folders_give_one_line_errors(reference, tmp_path, sample_dir):
    variants, _, _ = reference
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_text((variants["pt_bert_model"] / "config.json").read_text())
    with pytest.raises(CheckpointError, match="config.json but no weights"):
        BertFiles.from_dir(str(partial))
    config = json.loads((variants["pt_bert_model"] / "config.json").read_text())
    for model_type in ("electra", "roformer"):
        (partial / "config.json").write_text(json.dumps(dict(config, model_type=model_type)))
        (partial / "model.safetensors").write_bytes((variants["pt_bert_model"] / "model.safetensors").read_bytes())
        (partial / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
        with pytest.raises(CheckpointError, match=f"model_type '{model_type}' is not a BERT"):
            BertFiles.from_dir(str(partial))
    from safetensors.numpy import load_file, save_file
    (partial / "config.json").write_text(json.dumps(config))
    tensors = load_file(str(variants["pt_bert_model"] / "model.safetensors"))
    del tensors["encoder.layer.1.output.dense.weight"]
    save_file(tensors, str(partial / "model.safetensors"))
    with pytest.raises(CheckpointError, match="lacks tensor encoder.layer.1.output.dense.weight;"):
        build_bert(BertFiles.from_dir(str(partial)))
    os.remove(partial / "model.safetensors")
    (partial / "pytorch_model.bin").write_bytes(b"not read")
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(CheckpointError, match="needs PyTorch.*model.safetensors"):
            build_bert(BertFiles.from_dir(str(partial)))
    result = run("relation_extraction/train.py", "--bert-dir", str(partial), "--output-dir", str(tmp_path / "o"),
                 "--data-dir", str(sample_dir / "relation_extraction"), "--epochs", "1", "--maxlen", "64")
    assert result.returncode == 2 and result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("error: ") and "pytorch_model.bin" in result.stderr


def test_do_lower_case_comes_from_tokenizer_config(reference, tmp_path):
    variants, _, _ = reference
    assert BertFiles.from_dir(str(variants["pt_bert_model"])).do_lower_case
    (variants["pt_bert_model"] / "tokenizer_config.json").write_text('{"do_lower_case": false}')
    try:
        assert not BertFiles.from_dir(str(variants["pt_bert_model"])).do_lower_case
    finally:
        os.remove(variants["pt_bert_model"] / "tokenizer_config.json")


@pytest.mark.trains
@pytest.mark.parametrize("track", ["event_extraction"])  # the encoder is built and loaded the same in every track
def test_training_from_a_hub_folder_equals_training_from_the_google_folder(track, small_sample, tiny_bert_dir,
                                                                          tmp_path):
    convert(str(tiny_bert_dir), str(tmp_path / "hf"), "hf")
    google = train_on_sample(track, small_sample, tiny_bert_dir, tmp_path / "google", 1)
    hub = train_on_sample(track, small_sample, tmp_path / "hf", tmp_path / "hub", 1)
    scores = [[{k: v for k, v in json.loads(line).items() if k.startswith("dev_")} for line in open(d / "metrics.jsonl")]
              for d in (google, hub)]
    assert scores[0] == scores[1] and scores[0][0]
    assert json.load(open(hub / "bert_config.json")) == json.load(open(google / "bert_config.json"))
